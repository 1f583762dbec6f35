/*
 * config.c: loads roomd's settings: the defaults from the option table
 * (config-opts.c), then a config file, ROOMD_* and the command line, each
 * value checked and stored by opt_apply, then the derived fields.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* Where a value came from; a higher source wins over a lower one. */
enum config_src { SRC_DEFAULT, SRC_FILE, SRC_ENV, SRC_ARGV };

/* What config_load tracks while it merges the sources. */
struct loader {
	struct config *cfg;
	enum config_src src[CONFIG_NOPTS];	/* who set each option */
	char *where[CONFIG_NOPTS];		/* "--x", "ROOMD_X" or "FILE:LINE" */
};

/* Where a value being applied comes from, for error messages. */
struct origin {
	enum config_src src;
	const char *env;	/* SRC_ENV: the variable */
	const char *file;	/* SRC_FILE */
	size_t line;
};

/* Describe an origin the short way: "--history", "ROOMD_HISTORY", "F:3". */
static char *
origin_where(const struct opt *o, const struct origin *org)
{
	char *s;

	switch (org->src) {
	case SRC_ARGV:
		xasprintf(&s, "--%s", o->name);
		break;
	case SRC_ENV:
		s = xstrdup(org->env);
		break;
	case SRC_FILE:
		xasprintf(&s, "%s:%zu", org->file, org->line);
		break;
	default:
		xasprintf(&s, "default %s", o->name);
		break;
	}
	return s;
}

/*
 * Set *cause for a bad value of o from org. why explains; when own is set
 * it is a whole sentence and is only prefixed with where it came from.
 */
static int
bad_value(char **cause, const struct opt *o, const struct origin *org,
    const char *value, const char *why, int own)
{
	char *where;

	if (own || o->secret) {
		where = origin_where(o, org);
		if (own)
			xasprintf(cause, "%s: %s", where, why);
		else
			xasprintf(cause, "%s: bad value: %s", where, why);
		free(where);
		return -1;
	}
	switch (org->src) {
	case SRC_ARGV:
		xasprintf(cause, "bad value '%s' for --%s: %s", value, o->name,
		    why);
		break;
	case SRC_ENV:
		xasprintf(cause, "%s: bad value '%s': %s", org->env, value,
		    why);
		break;
	default:
		xasprintf(cause, "%s:%zu: bad value '%s' for %s: %s", org->file,
		    org->line, value, o->name, why);
		break;
	}
	return -1;
}

/* Parse the boolean spellings flags accept in all three sources. */
static int
parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };
	size_t i;

	for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/*
 * The other half of a secret / secret-file pair (auth-secret, api-key,
 * webhook-secret), or -1.
 */
static int
opt_partner(const struct opt *o)
{
	const struct opt *p;
	char name[64];
	size_t n = strlen(o->name);

	if (n > 5 && strcmp(o->name + n - 5, "-file") == 0)
		p = opt_find(o->name, n - 5);
	else {
		snprintf(name, sizeof name, "%s-file", o->name);
		p = opt_find(name, strlen(name));
	}
	if (p == NULL || p->type != OPT_STRING || o->type != OPT_STRING)
		return -1;
	if (!(p->secret || o->secret))
		return -1;
	return (int)(p - config_opts);
}

/*
 * Check value for o and store it unless a higher source already set it.
 * Values that end up overridden are still checked, so a broken file is
 * reported even when the command line hides the mistake. Return 0 or -1.
 */
static int
opt_apply(struct loader *ld, const struct opt *o, const char *value,
    const struct origin *org, char **cause)
{
	size_t i = (size_t)(o - config_opts);
	char *base = (char *)ld->cfg, *why = NULL, **sp;
	uint64_t u = 0;
	int b = 0, partner, r;
	enum log_level lv = LOG_LEVEL_INFO;
	enum log_format lf = LOG_FORMAT_TEXT;

	switch (o->type) {
	case OPT_UINT:
		if (parse_uint(value, o->min, o->max, &u) != 0) {
			xasprintf(&why, "expected an integer from %llu to %llu",
			    (unsigned long long)o->min,
			    (unsigned long long)o->max);
			goto bad;
		}
		break;
	case OPT_FLAG:
		if (parse_bool(value, &b) != 0) {
			why = xstrdup("expected true or false");
			goto bad;
		}
		break;
	case OPT_LEVEL:
		if (log_level_parse(value, &lv) != 0) {
			why = xstrdup("expected debug, info, warn or error");
			goto bad;
		}
		break;
	case OPT_FORMAT:
		if (log_format_parse(value, &lf) != 0) {
			why = xstrdup("expected text or json");
			goto bad;
		}
		break;
	case OPT_STRING:
		if (o->check != NULL && o->check(o, value, &why) != 0)
			goto bad;
		break;
	default:
		break;
	}

	/* Sources are applied highest first; a lower one never overrides. */
	if (ld->src[i] > org->src)
		return 0;
	partner = opt_partner(o);
	if (partner != -1 && ld->src[partner] > org->src)
		return 0;
	if (partner != -1 && ld->src[partner] == org->src) {
		char *w = origin_where(o, org);

		xasprintf(cause, "%s: give auth-secret or auth-secret-file, "
		    "not both", w);
		free(w);
		return -1;
	}

	switch (o->type) {
	case OPT_UINT:
		*(uint64_t *)(base + o->off) = u;
		break;
	case OPT_FLAG:
		*(int *)(base + o->off) = b;
		break;
	case OPT_LEVEL:
		*(enum log_level *)(base + o->off) = lv;
		break;
	case OPT_FORMAT:
		*(enum log_format *)(base + o->off) = lf;
		break;
	case OPT_STRING:
		sp = (char **)(base + o->off);
		free(*sp);
		*sp = xstrdup(value);
		break;
	default:
		break;
	}
	ld->src[i] = org->src;
	free(ld->where[i]);
	ld->where[i] = origin_where(o, org);
	return 0;

bad:
	r = bad_value(cause, o, org, value, why, o->own_cause);
	free(why);
	return r;
}

/*
 * Read the command line. Return CONFIG_OK, CONFIG_EXIT after printing help
 * or the version, or CONFIG_ERROR with *cause.
 */
static int
load_argv(struct loader *ld, int argc, char **argv, char **cause)
{
	struct origin org = { SRC_ARGV, NULL, NULL, 0 };
	const struct opt *o;
	const char *arg, *name, *eq, *value;
	int i;

	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (strcmp(arg, "-h") == 0)
			arg = "--help";
		else if (strcmp(arg, "-V") == 0)
			arg = "--version";
		if (strcmp(arg, "--") == 0) {
			if (i + 1 < argc) {
				xasprintf(cause, "unexpected argument '%s'",
				    argv[i + 1]);
				return CONFIG_ERROR;
			}
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0') {
			xasprintf(cause, "unexpected argument '%s'", arg);
			return CONFIG_ERROR;
		}
		if (arg[1] != '-') {
			xasprintf(cause, "unknown option '%s'", arg);
			return CONFIG_ERROR;
		}
		name = arg + 2;
		eq = strchr(name, '=');
		o = opt_find(name, eq != NULL ? (size_t)(eq - name) :
		    strlen(name));
		if (o == NULL || !(o->in & IN_ARGV)) {
			xasprintf(cause, "unknown option '--%.*s'",
			    (int)(eq != NULL ? eq - name : (int)strlen(name)),
			    name);
			return CONFIG_ERROR;
		}

		switch (o->type) {
		case OPT_HELP:
		case OPT_VERSION:
			if (eq != NULL) {
				xasprintf(cause, "--%s takes no value",
				    o->name);
				return CONFIG_ERROR;
			}
			if (o->type == OPT_HELP)
				config_usage(stdout);
			else
				printf("roomd %s\n", ROOMD_VERSION);
			return CONFIG_EXIT;
		case OPT_FLAG:
			value = (eq != NULL) ? eq + 1 : "true";
			break;
		default:
			if (eq != NULL)
				value = eq + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			else {
				xasprintf(cause, "--%s needs a value",
				    o->name);
				return CONFIG_ERROR;
			}
			break;
		}
		if (opt_apply(ld, o, value, &org, cause) != 0)
			return CONFIG_ERROR;
	}
	return CONFIG_OK;
}

/*
 * Read ROOMD_* variables. Empty ones count as unset, as container
 * environments often define every variable. Unknown ROOMD_* names are
 * ignored: the environment is shared with other programs and scripts.
 */
static int
load_env(struct loader *ld, char **cause)
{
	struct origin org = { SRC_ENV, NULL, NULL, 0 };
	char env[64];
	const char *v;
	size_t i;

	for (i = 0; i < CONFIG_NOPTS; i++) {
		if (!(config_opts[i].in & IN_ENV))
			continue;
		opt_env_name(&config_opts[i], env, sizeof env);
		v = getenv(env);
		if (v == NULL || *v == '\0')
			continue;
		org.env = env;
		if (opt_apply(ld, &config_opts[i], v, &org, cause) != 0)
			return -1;
	}
	return 0;
}

/* Trim blanks at both ends of s in place; return the new start. */
static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Apply one "name = value" line of file; return 0 or -1 with *cause. */
static int
load_line(struct loader *ld, char *line, const struct origin *org,
    char **cause)
{
	const struct opt *o;
	char *name, *value, *eq, *p;
	size_t len;

	line = trim(line);
	if (*line == '\0' || *line == '#')
		return 0;
	eq = strchr(line, '=');
	if (eq != NULL) {
		*eq = '\0';
		value = trim(eq + 1);
	} else
		value = NULL;
	name = trim(line);
	/* max_frame reads as well as max-frame. */
	for (p = name; *p != '\0'; p++) {
		if (*p == '_')
			*p = '-';
	}
	o = opt_find(name, strlen(name));
	if (o == NULL || o->type == OPT_HELP || o->type == OPT_VERSION) {
		xasprintf(cause, "%s:%zu: unknown option '%s'", org->file,
		    org->line, name);
		return -1;
	}
	if (!(o->in & IN_FILE)) {
		xasprintf(cause, "%s:%zu: %s cannot be set in a config file",
		    org->file, org->line, name);
		return -1;
	}
	if (value == NULL) {
		/* A flag alone on its line turns it on. */
		if (o->type != OPT_FLAG) {
			xasprintf(cause, "%s:%zu: expected '%s = value'",
			    org->file, org->line, name);
			return -1;
		}
		value = "true";
	}
	len = strlen(value);
	if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
		value[len - 1] = '\0';
		value++;
	}
	return opt_apply(ld, o, value, org, cause);
}

/* Read the config file named by --config or ROOMD_CONFIG, if any. */
static int
load_file(struct loader *ld, const char *path, char **cause)
{
	struct origin org = { SRC_FILE, NULL, path, 0 };
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	f = fopen(path, "r");
	if (f == NULL) {
		xasprintf(cause, "cannot open config file '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) != -1) {
		org.line++;
		if (load_line(ld, line, &org, cause) != 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		xasprintf(cause, "cannot read config file '%s': %s", path,
		    strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

/* Longest secret file read; HMAC keys are a few dozen bytes. */
#define SECRET_FILE_MAX 65536

/*
 * Read a secret file into *out, without its trailing newlines (editors add
 * one, and a newline in an HMAC key would be invisible and wrong).
 */
static int
read_secret(const char *path, const char *where, char **out, char **cause)
{
	struct buf b;
	char chunk[4096];
	size_t n;
	FILE *f;

	f = fopen(path, "r");
	if (f == NULL) {
		xasprintf(cause, "%s: cannot open secret file '%s': %s", where,
		    path, strerror(errno));
		return -1;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		buf_add(&b, chunk, n);
		/* A device such as /dev/zero would fill memory. */
		if (b.len > SECRET_FILE_MAX) {
			xasprintf(cause, "%s: secret file '%s' is over %d bytes",
			    where, path, SECRET_FILE_MAX);
			fclose(f);
			buf_free(&b);
			return -1;
		}
	}
	if (ferror(f)) {
		xasprintf(cause, "%s: cannot read secret file '%s': %s", where,
		    path, strerror(errno));
		fclose(f);
		buf_free(&b);
		return -1;
	}
	fclose(f);
	while (b.len > 0 && (b.p[b.len - 1] == '\n' || b.p[b.len - 1] == '\r'))
		b.p[--b.len] = '\0';
	if (b.len == 0 || strlen(b.p) != b.len) {
		xasprintf(cause, "%s: secret file '%s' is %s", where, path,
		    b.len == 0 ? "empty" : "binary (it holds a NUL byte)");
		buf_free(&b);
		return -1;
	}
	*out = buf_detach(&b);
	return 0;
}

/*
 * Fill in every option's default from the table, through the same checks
 * as any other value: a default that does not pass is a bug in the table.
 */
static void
config_defaults(struct loader *ld)
{
	struct origin org = { SRC_DEFAULT, NULL, NULL, 0 };
	char *cause = NULL;
	size_t i;

	memset(ld->cfg, 0, sizeof *ld->cfg);
	for (i = 0; i < CONFIG_NOPTS; i++) {
		if (config_opts[i].def == NULL)
			continue;
		if (opt_apply(ld, &config_opts[i], config_opts[i].def, &org,
		    &cause) != 0)
			fatalx("config: bad default: %s", cause);
	}
}

static size_t
opt_index(const char *name)
{
	return (size_t)(opt_find(name, strlen(name)) - config_opts);
}

/* Turn the merged options into the derived fields; 0 or -1 with *cause. */
static int
config_derive(struct loader *ld, char **cause)
{
	struct config *cfg = ld->cfg;
	char *secret;

	/* These were checked when set; defaults are known good. */
	if (redis_url_parse(cfg->redis, &cfg->redis_url, cause) != 0)
		return -1;
	if (hostport_parse(cfg->listen, cfg->listen_host,
	    sizeof cfg->listen_host, &cfg->listen_port, cause) != 0)
		return -1;

	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
		xasprintf(cause, "%s is set but %s is not: TLS needs both",
		    cfg->tls_cert != NULL ? "--tls-cert" : "--tls-key",
		    cfg->tls_cert != NULL ? "--tls-key" : "--tls-cert");
		return -1;
	}
	if (cfg->workers > 1 && cfg->node_id != NULL &&
	    strlen(cfg->node_id) + 3 > ID_MAX) {
		xasprintf(cause, "--node-id '%s' is too long for --workers: "
		    "worker ids <id>-<k> must be at most %d characters",
		    cfg->node_id, ID_MAX);
		return -1;
	}
	if (cfg->auth_secret_file != NULL) {
		if (read_secret(cfg->auth_secret_file,
		    ld->where[opt_index("auth-secret-file")], &secret,
		    cause) != 0)
			return -1;
		free(cfg->auth_secret);
		cfg->auth_secret = secret;
	}
	/* backend (BACKEND.md): the API key and the webhook secret. */
	if (cfg->api_key_file != NULL) {
		if (read_secret(cfg->api_key_file,
		    ld->where[opt_index("api-key-file")], &secret, cause) != 0)
			return -1;
		free(cfg->api_key);
		cfg->api_key = secret;
	}
	if (cfg->webhook_secret_file != NULL) {
		if (read_secret(cfg->webhook_secret_file,
		    ld->where[opt_index("webhook-secret-file")], &secret,
		    cause) != 0)
			return -1;
		free(cfg->webhook_secret);
		cfg->webhook_secret = secret;
	}
	if (cfg->webhook_url != NULL && cfg->webhook_secret == NULL) {
		*cause = xstrdup("--webhook-url needs --webhook-secret or "
		    "--webhook-secret-file");
		return -1;
	}
	return 0;
}

/*
 * Load the settings: defaults, then the config file, then ROOMD_*, then the
 * command line, each overriding the one before. Return CONFIG_OK;
 * CONFIG_EXIT when --help or --version was printed; or CONFIG_ERROR with
 * *cause (malloc'd). On anything but CONFIG_OK cfg holds nothing to free.
 */
int
config_load(struct config *cfg, int argc, char **argv, char **cause)
{
	struct loader ld;
	size_t i;
	int rc;

	*cause = NULL;
	memset(&ld, 0, sizeof ld);
	ld.cfg = cfg;
	config_defaults(&ld);

	/* Highest precedence first: the command line names the file. */
	rc = load_argv(&ld, argc, argv, cause);
	if (rc == CONFIG_OK && load_env(&ld, cause) != 0)
		rc = CONFIG_ERROR;
	if (rc == CONFIG_OK && cfg->config != NULL &&
	    load_file(&ld, cfg->config, cause) != 0)
		rc = CONFIG_ERROR;
	if (rc == CONFIG_OK && config_derive(&ld, cause) != 0)
		rc = CONFIG_ERROR;

	for (i = 0; i < CONFIG_NOPTS; i++)
		free(ld.where[i]);
	if (rc != CONFIG_OK)
		config_free(cfg);
	return rc;
}

/* Free the strings cfg owns; safe to call twice. */
void
config_free(struct config *cfg)
{
	free(cfg->listen);
	free(cfg->redis);
	free(cfg->redis_cluster);
	free(cfg->redis_password);
	cfg->redis_cluster = cfg->redis_password = NULL;
	free(cfg->prefix);
	free(cfg->config);
	free(cfg->auth_secret);
	free(cfg->auth_secret_file);
	free(cfg->node_id);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	cfg->tls_cert = cfg->tls_key = NULL;
	free(cfg->api_key);
	free(cfg->api_key_file);
	free(cfg->connect_url);
	free(cfg->publish_url);
	free(cfg->publish_events);
	free(cfg->webhook_url);
	free(cfg->webhook_secret);
	free(cfg->webhook_secret_file);
	free(cfg->webhook_events);
	cfg->api_key = cfg->api_key_file = cfg->connect_url = NULL;
	cfg->publish_url = cfg->publish_events = cfg->webhook_url = NULL;
	cfg->webhook_secret = cfg->webhook_secret_file = NULL;
	cfg->webhook_events = NULL;
	cfg->listen = cfg->redis = cfg->prefix = cfg->config = NULL;
	cfg->auth_secret = cfg->auth_secret_file = cfg->node_id = NULL;
}
