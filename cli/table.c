/* table.c owns roomctl's human output: aligned tables, times and durations. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "roomctl.h"

/* Columns are separated by this many blanks. */
#define TABLE_GAP 2

/*
 * Copy a cell with control characters shown as \xNN: titles, metadata and
 * event data come from clients, and must not drive the operator's terminal.
 */
static char *
table_escape(const char *s)
{
	struct buf b;

	buf_init(&b);
	if (s == NULL)
		s = "-";
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			buf_printf(&b, "\\x%02x", (unsigned char)*s);
		else
			buf_addc(&b, *s);
	}
	return buf_detach(&b);
}

/* Display width of a UTF-8 string: one column per code point. */
static size_t
table_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	}
	return w;
}

static void
table_addv(struct table *t, va_list ap)
{
	size_t i, base;

	base = t->nrows * t->ncols;
	t->cells = xrealloc(t->cells, (base + t->ncols) * sizeof *t->cells);
	for (i = 0; i < t->ncols; i++)
		t->cells[base + i] = table_escape(va_arg(ap, const char *));
	t->nrows++;
}

/* Start a table of ncols columns with the given ncols header strings. */
void
table_init(struct table *t, size_t ncols, ...)
{
	va_list ap;

	memset(t, 0, sizeof *t);
	t->ncols = ncols;
	va_start(ap, ncols);
	table_addv(t, ap);
	va_end(ap);
}

/* Add a row of exactly ncols strings (NULL shows as "-"); they are copied. */
void
table_add(struct table *t, ...)
{
	va_list ap;

	va_start(ap, t);
	table_addv(t, ap);
	va_end(ap);
}

/* Print the table padded to the widest cell of each column. */
void
table_print(const struct table *t, FILE *f)
{
	size_t *widths, r, c, w;
	const char *cell;

	widths = xcalloc(t->ncols, sizeof *widths);
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			w = table_width(t->cells[r * t->ncols + c]);
			if (w > widths[c])
				widths[c] = w;
		}
	}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			cell = t->cells[r * t->ncols + c];
			fputs(cell, f);
			/* No trailing blanks after the last column. */
			if (c + 1 < t->ncols)
				fprintf(f, "%*s", (int)(widths[c] -
				    table_width(cell) + TABLE_GAP), "");
		}
		fputc('\n', f);
	}
	free(widths);
}

void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof *t);
}

/* A time in milliseconds since the epoch as local "YYYY-MM-DD HH:MM:SS". */
void
fmt_time_ms(char *out, size_t outlen, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms == 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, outlen, "-");
}

/* A duration as its two largest units: "45s", "12m5s", "3h2m", "2d4h". */
void
fmt_age_ms(char *out, size_t outlen, uint64_t ms)
{
	uint64_t s = ms / 1000;

	if (s < 60)
		snprintf(out, outlen, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(out, outlen, "%llum%llus",
		    (unsigned long long)(s / 60), (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(out, outlen, "%lluh%llum",
		    (unsigned long long)(s / 3600),
		    (unsigned long long)(s % 3600 / 60));
	else
		snprintf(out, outlen, "%llud%lluh",
		    (unsigned long long)(s / 86400),
		    (unsigned long long)(s % 86400 / 3600));
}

/*
 * Flush stdout; returns 0, or EXIT_FAIL when the output is gone. A reader
 * that went away (EPIPE, `| head`) is not worth a message; other write
 * errors are.
 */
int
stdout_flush(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	if (errno != EPIPE)
		cmd_error("cannot write output: %s", strerror(errno));
	return EXIT_FAIL;
}
