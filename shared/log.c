/*
 * log.c: one line per event on stderr, as logfmt text or JSON for roomd,
 * or as "roomctl: what went wrong" for a command-line tool.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shared.h"

/*
 * Messages are formatted into fixed buffers on the stack, so logging never
 * allocates: the x* allocators log before aborting when memory runs out.
 */
#define LOG_MSG_MAX 4096
/* Worst case every byte becomes \u00XX (6 bytes), plus time and level. */
#define LOG_LINE_MAX (LOG_MSG_MAX * 6 + 128)

static const char *log_progname = "roomd";
static enum log_level log_min = LOG_LEVEL_INFO;
static enum log_format log_fmt = LOG_FORMAT_TEXT;

static const char *const log_level_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};

/* Set the program name, the lowest level printed and the line format. */
void
log_init(const char *progname, enum log_level level, enum log_format format)
{
	if (progname != NULL)
		log_progname = progname;
	log_min = level;
	log_fmt = format;
}

/* Parse debug|info|warn|error; return 0, or -1 leaving *out alone. */
int
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof log_level_names / sizeof log_level_names[0];
	    i++) {
		if (strcmp(s, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* Parse text|json; return 0, or -1 leaving *out alone. */
int
log_format_parse(const char *s, enum log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = LOG_FORMAT_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

/* Return whether a message at this level would be printed. */
int
log_enabled(enum log_level level)
{
	return level >= log_min;
}

/*
 * Append msg to out escaped for the line format, so that nothing a client
 * sent can end the line early or forge another field or line. Text escapes
 * control bytes as \xNN; JSON uses \u00XX and replaces invalid UTF-8 with
 * U+FFFD so the line always parses. The CLI format escapes control bytes
 * only: its line has no fields to forge.
 */
static size_t
log_escape(char *out, size_t off, size_t size, const char *msg)
{
	const unsigned char *s = (const unsigned char *)msg;
	size_t n = strlen(msg), i = 0, len;
	int json = (log_fmt == LOG_FORMAT_JSON);
	int cli = (log_fmt == LOG_FORMAT_CLI);
	char esc[8];
	const char *e;

	while (i < n) {
		unsigned char c = s[i];

		e = NULL;
		len = 1;
		switch (c) {
		case '"':
			e = cli ? NULL : "\\\"";
			break;
		case '\\':
			e = cli ? NULL : "\\\\";
			break;
		case '\n':
			e = "\\n";
			break;
		case '\r':
			e = "\\r";
			break;
		case '\t':
			e = "\\t";
			break;
		default:
			if (c < 0x20 || (!json && c == 0x7f)) {
				snprintf(esc, sizeof esc,
				    json ? "\\u%04x" : "\\x%02x", c);
				e = esc;
			} else if (json && c >= 0x80) {
				len = utf8_seq_len(s + i, n - i);
				if (len == 0) {
					e = "\\ufffd";
					len = 1;
				}
			}
			break;
		}
		if (e != NULL) {
			size_t elen = strlen(e);

			if (off + elen >= size)
				break;
			memcpy(out + off, e, elen);
		} else {
			if (off + len >= size)
				break;
			memcpy(out + off, s + i, len);
		}
		off += (e != NULL) ? strlen(e) : len;
		i += len;
	}
	return off;
}

/* Format and write one line; errno is preserved for the caller. */
static void
log_vlog(enum log_level level, const char *fmt, va_list ap, int with_errno)
{
	char msg[LOG_MSG_MAX], line[LOG_LINE_MAX], ts[32];
	int saved = errno, n;
	size_t off, mlen;
	struct timespec tv;
	struct tm tm;

	if (!log_enabled(level)) {
		errno = saved;
		return;
	}

	n = vsnprintf(msg, sizeof msg, fmt, ap);
	if (n < 0)
		snprintf(msg, sizeof msg, "(bad log format '%s')", fmt);
	mlen = strlen(msg);
	if (with_errno && mlen < sizeof msg - 1)
		snprintf(msg + mlen, sizeof msg - mlen, ": %s",
		    strerror(saved));
	if (n >= (int)sizeof msg)
		memcpy(msg + sizeof msg - 4, "...", 4);

	clock_gettime(CLOCK_REALTIME, &tv);
	gmtime_r(&tv.tv_sec, &tm);
	n = (int)strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof ts - (size_t)n, ".%03ldZ",
	    tv.tv_nsec / 1000000);

	if (log_fmt == LOG_FORMAT_CLI) {
		/* No time or level: one "roomctl: what went wrong" line. */
		n = snprintf(line, sizeof line, "%s: ", log_progname);
		off = log_escape(line, (size_t)n, sizeof line - 1, msg);
		line[off++] = '\n';
		goto out;
	}
	if (log_fmt == LOG_FORMAT_JSON)
		n = snprintf(line, sizeof line,
		    "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts,
		    log_level_names[level]);
	else
		n = snprintf(line, sizeof line, "time=%s level=%s msg=\"", ts,
		    log_level_names[level]);
	off = log_escape(line, (size_t)n, sizeof line - 3, msg);
	if (log_fmt == LOG_FORMAT_JSON)
		line[off++] = '"', line[off++] = '}';
	else
		line[off++] = '"';
	line[off++] = '\n';
out:
	/* One write per line so lines from several processes do not mix. */
	if (write(STDERR_FILENO, line, off) < 0) {
		/* Nowhere left to report it. */
	}
	errno = saved;
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_DEBUG, fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_INFO, fmt, ap, 0);
	va_end(ap);
}

/* Log a warning followed by ": strerror(errno)". */
void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_WARN, fmt, ap, 1);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_WARN, fmt, ap, 0);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_ERROR, fmt, ap, 0);
	va_end(ap);
}

/* Log at error level with strerror(errno) appended, then exit 1. */
void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_ERROR, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

/* Log at error level, then exit 1. */
void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_ERROR, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
