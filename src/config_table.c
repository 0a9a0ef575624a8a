/*
 * The schema of tremplin.conf: one row per setting, with its type, bounds or
 * choices, default, where it lands in struct config and a line of help; the
 * fields of staff accounts and of script sections are rows too. config.c
 * reads the file against this table; what a type cannot say (a user name's
 * syntax, a certificate, one setting against another) is checked here.
 * tremplin.conf(5) documents each row (tests/unit/test_config.c checks it).
 */
#include "config.h"

#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"
#include "log.h"
#include "util.h"
#include "validate.h"

/* The most certificate files backup_recipient may name. */
#define CONF_MAX_RECIPIENTS 16

/* Indexed by enum log_level. */
static const char *const log_levels[] = { "warning", "info", "debug", NULL };
/* As role_from_name() reads them. */
static const char *const role_names[] = { "eti", "cip", "coordinator", "admin", NULL };

static const struct {
	const char *code, *label;
} default_welcome[] = {
	{ "booklet", "Livret d'accueil remis" },
	{ "rules", "Règlement intérieur présenté" },
	{ "safety_briefing", "Consignes de sécurité expliquées" },
	{ "ppe_issued", "Équipements de protection individuelle remis" },
	{ "medical_visit", "Visite médicale" },
	{ "team_introduction", "Présentation à l'équipe" },
};

/* staff = { { name = ..., unix_user = ..., role = ..., email = ... }, ... } */
static int
staff_entry(struct config_ctx *ctx, const char *where, const json_t *e, int line, const regex_t *re,
    struct conf_staff *s)
{
	json_t *name = NULL, *user = NULL, *role = NULL, *email = NULL;
	int rc = -1;

	if (!json_is_object(e))
		return config_fail(
		    ctx, line, "%s: expected a table {name=, unix_user=, role=}", where);
	if (config_check_members(ctx, "staff", where, e, line, 0, "field") == -1 ||
	    config_member(ctx, "staff", where, e, "name", line, 0, &name) == -1 ||
	    config_member(ctx, "staff", where, e, "unix_user", line, 0, &user) == -1 ||
	    config_member(ctx, "staff", where, e, "role", line, 0, &role) == -1 ||
	    config_member(ctx, "staff", where, e, "email", line, 0, &email) == -1)
		goto out;
	s->name = strdup(json_string_value(name));
	s->unix_user = strdup(json_string_value(user));
	s->role = role_from_name(json_string_value(role));
	s->email = email ? strdup(json_string_value(email)) : NULL;
	if (regexec(re, s->unix_user, 0, NULL, 0) != 0)
		config_fail(
		    ctx, line, "%s.unix_user: '%s' is not a valid user name", where, s->unix_user);
	else
		rc = 0;
out:
	json_decref(name);
	json_decref(user);
	json_decref(role);
	json_decref(email);
	return rc;
}

static int
parse_staff(struct config_ctx *ctx, const json_t *v, int line, struct config *c)
{
	const json_t *e;
	char where[32];
	regex_t re;
	size_t i;
	int rc = 0;

	if (v == NULL || (json_is_object(v) && json_object_size(v) == 0))
		return 0;
	if (!json_is_array(v))
		return config_fail(ctx, line, "staff: expected a list of accounts");
	if (json_array_size(v) > 1000)
		return config_fail(ctx, line, "staff: too many bootstrap accounts");
	if ((c->staff = calloc(json_array_size(v), sizeof(*c->staff))) == NULL)
		fatal("calloc");
	if (regcomp(&re, "^([a-z_][a-z0-9_-]{0,31}|@daemon)$", REG_EXTENDED | REG_NOSUB) != 0)
		fatalx("regcomp");
	json_array_foreach ((json_t *)v, i, e) {
		int el = config_entry_line(ctx, line, i + 1);
		c->nstaff = i + 1;
		snprintf(where, sizeof(where), "staff[%zu]", i + 1);
		if ((rc = staff_entry(ctx, where, e, el, &re, &c->staff[i])) == -1)
			break;
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->staff[j].unix_user, c->staff[i].unix_user) == 0) {
				rc = config_fail(ctx, el, "%s.unix_user: '%s' is listed twice",
				    where, c->staff[i].unix_user);
				break;
			}
		if (rc == -1)
			break;
	}
	regfree(&re);
	return rc;
}

static void
release_staff(struct config *c)
{
	for (size_t i = 0; i < c->nstaff; i++) {
		free(c->staff[i].name);
		free(c->staff[i].unix_user);
		free(c->staff[i].email);
	}
	free(c->staff);
}

/* "@daemon" is the user the daemon runs as, known only now. */
static int
resolve_daemon_user(struct config_ctx *ctx, struct config *c)
{
	for (size_t i = 0; i < c->nstaff; i++) {
		if (strcmp(c->staff[i].unix_user, "@daemon") != 0)
			continue;
		struct passwd pw, *res = NULL;
		char buf[4096];
		if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
			return config_fail(ctx, 0,
			    "staff[%zu].unix_user: cannot name the daemon's user (uid %u)", i + 1,
			    (unsigned)geteuid());
		/* Listed under its own name too: the second entry would silently win. */
		for (size_t j = 0; j < c->nstaff; j++)
			if (strcmp(c->staff[j].unix_user, pw.pw_name) == 0)
				return config_fail(ctx, config_setting_line(ctx, "staff"),
				    "staff[%zu].unix_user: '@daemon' is '%s', listed twice", i + 1,
				    pw.pw_name);
		free(c->staff[i].unix_user);
		c->staff[i].unix_user = strdup(pw.pw_name);
	}
	return 0;
}

/* welcome_items = { { code = "booklet", label = "Livret d'accueil remis" }, ... } */
static int
parse_welcome(struct config_ctx *ctx, const json_t *list, int line, struct config *c)
{
	const json_t *item;
	size_t i;

	if (list == NULL) {
		c->nwelcome = TR_NELEM(default_welcome);
		c->welcome = calloc(c->nwelcome, sizeof(*c->welcome));
		if (c->welcome == NULL)
			fatal("calloc");
		for (i = 0; i < c->nwelcome; i++) {
			c->welcome[i].code = strdup(default_welcome[i].code);
			c->welcome[i].label = strdup(default_welcome[i].label);
		}
		return 0;
	}
	if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > 50)
		return config_fail(ctx, line,
		    "welcome_items: expected a list of 1 to 50 { code = ..., label = ... }");
	c->welcome = calloc(json_array_size(list), sizeof(*c->welcome));
	if (c->welcome == NULL)
		fatal("calloc");
	json_array_foreach ((json_t *)list, i, item) {
		const char *code = json_string_value(json_object_get(item, "code"));
		const char *label = json_string_value(json_object_get(item, "label"));
		/* The label is one the API would take: 200 characters (not bytes), one line. */
		int ok = json_is_object(item) && json_object_size(item) == 2 && code && label &&
		    strlen(code) > 0 && strlen(code) <= 64 && valid_label(label, 200) == NULL;
		for (const char *p = code; ok && *p; p++)
			ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
		for (size_t j = 0; ok && j < c->nwelcome; j++)
			ok = strcmp(c->welcome[j].code, code) != 0;
		if (!ok)
			return config_fail(ctx, line,
			    "welcome_items[%zu]: expected { code = \"a_unique_code\" ([a-z0-9_], "
			    "64 at most), label = \"...\" (200 at most) }",
			    i + 1);
		c->welcome[c->nwelcome].code = strdup(code);
		c->welcome[c->nwelcome].label = strdup(label);
		c->nwelcome++;
	}
	return 0;
}

static void
release_welcome(struct config *c)
{
	for (size_t i = 0; i < c->nwelcome; i++) {
		free(c->welcome[i].code);
		free(c->welcome[i].label);
	}
	free(c->welcome);
}

/*
 * backup_recipient = "/etc/tremplin/backup-recipient.pem", or a list of
 * such paths: each certificate is loaded and checked now, so that a backup
 * never fails on it later.
 */
static int
parse_backup_recipient(struct config_ctx *ctx, const json_t *v, int line, struct config *c)
{
	const json_t *p;
	char why[768];
	size_t i;

	if (v == NULL)
		return 0;
	if (json_is_string(v)) {
		json_t *one = json_pack("[O]", v);
		int rc = parse_backup_recipient(ctx, one, line, c);
		json_decref(one);
		return rc;
	}
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > CONF_MAX_RECIPIENTS)
		return config_fail(ctx, line,
		    "backup_recipient: expected the path of a certificate, or a list of 1 to %d "
		    "paths",
		    CONF_MAX_RECIPIENTS);
	if ((c->backup_certs = sk_X509_new_null()) == NULL)
		fatal("sk_X509_new_null");
	json_array_foreach ((json_t *)v, i, p) {
		const char *path = json_string_value(p);
		if (path == NULL || *path == '\0' || strlen(path) >= PATH_MAX)
			return config_fail(ctx, line,
			    "backup_recipient[%zu]: expected the path of a certificate", i + 1);
		if (backup_recipients_load(path, c->backup_certs, why, sizeof(why)) == -1)
			return config_fail(ctx, line, "backup_recipient: %s", why);
	}
	return 0;
}

static void
release_backup_recipient(struct config *c)
{
	sk_X509_pop_free(c->backup_certs, X509_free);
}

/* plugins = { name = { ... } }: opaque to the daemon, each plugin checks its own. */
static int
parse_plugins(struct config_ctx *ctx, const json_t *v, int line, struct config *c)
{
	const char *k;
	json_t *s;

	if (v == NULL) {
		c->plugins = json_object();
		return 0;
	}
	if (json_is_array(v) && json_array_size(v) == 0) {
		c->plugins = json_object();
		return 0;
	}
	if (json_is_array(v))
		return config_fail(ctx, line, "plugins: expected sections named by plugin");
	if (!json_is_object(v))
		return config_fail(ctx, line, "plugins: expected a table of plugin sections");
	json_object_foreach ((json_t *)v, k, s) {
		if (!json_is_object(s) && !(json_is_array(s) && json_array_size(s) == 0))
			return config_fail(ctx, line, "plugins.%s: expected a table", k);
	}
	c->plugins = json_deep_copy(v);
	return 0;
}

static void
release_plugins(struct config *c)
{
	json_decref(c->plugins);
}

static int
valid_script_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32 || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* A host name (lower case) with an optional port: what http{} may reach. */
static int
valid_http_host(const char *s)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		        s[i] == '-'))
			return 0;
	if (colon != NULL) {
		int64_t port;
		if (tr_parse_i64(colon + 1, 1, 65535, &port) == -1)
			return 0;
	}
	return 1;
}

/* Set out[name] to the checked field of `in`, or its default; -1 after an error. */
static int
script_field(struct config_ctx *ctx, const char *section, const char *where, const json_t *in,
    const char *name, int line, json_t *out)
{
	json_t *v;

	if (config_member(ctx, section, where, in, name, line, 1, &v) == -1)
		return -1;
	if (v != NULL)
		json_object_set_new(out, name, v);
	return 0;
}

/* One script's section, in its normal form (every field, defaults filled in), or NULL. */
static json_t *
script_section(
    struct config_ctx *ctx, const char *name, const json_t *in, int line, const json_t *plugins)
{
	static const char *const limits[] = { "memory_mib", "instructions", "time_ms",
		"max_failures", "notifications_per_hour", "outbox_pending", "http_per_minute",
		"cpu_ms_per_minute" };
	char where[64], lwhere[80], def[64];
	json_t *out, *h, *lim;
	size_t i;
	int lline;

	if (!valid_script_name(name)) {
		config_fail(
		    ctx, line, "scripts.%s: not a script name ([a-z][a-z0-9_]*, at most 32)", name);
		return NULL;
	}
	if (json_object_get(plugins, name) != NULL) {
		config_fail(ctx, line, "scripts.%s: a plugin has this name already", name);
		return NULL;
	}
	if (!json_is_object(in)) {
		config_fail(
		    ctx, line, "scripts.%s: expected a table {role = ..., options = {...}}", name);
		return NULL;
	}
	snprintf(where, sizeof(where), "scripts.%s", name);
	if (config_check_members(ctx, "scripts", where, in, line, 1, "setting") == -1)
		return NULL;
	out = json_object();
	if (script_field(ctx, "scripts", where, in, "enabled", line, out) == -1 ||
	    script_field(ctx, "scripts", where, in, "role", line, out) == -1 ||
	    script_field(ctx, "scripts", where, in, "file", line, out) == -1 ||
	    script_field(ctx, "scripts", where, in, "options", line, out) == -1 ||
	    script_field(ctx, "scripts", where, in, "http_hosts", line, out) == -1 ||
	    script_field(ctx, "scripts", where, in, "limits", line, out) == -1)
		goto bad;
	if (json_object_get(out, "file") == NULL) {
		snprintf(def, sizeof(def), "rules/%s.lua", name);
		json_object_set_new(out, "file", json_string(def));
	}
	json_array_foreach (json_object_get(out, "http_hosts"), i, h) {
		if (!json_is_string(h) || !valid_http_host(json_string_value(h))) {
			config_fail(ctx, config_member_line(ctx, line, "http_hosts"),
			    "%s.http_hosts[%zu]: expected a lower-case host name, with an optional "
			    ":port",
			    where, i + 1);
			goto bad;
		}
	}
	/* The limits the section gives, checked, and the others' defaults. */
	lline = config_member_line(ctx, line, "limits");
	snprintf(lwhere, sizeof(lwhere), "%s.limits", where);
	h = json_object_get(out, "limits");
	if (config_check_members(ctx, "scripts.limits", lwhere, h, lline, 1, "limit") == -1)
		goto bad;
	lim = json_object();
	for (i = 0; i < TR_NELEM(limits); i++)
		if (script_field(ctx, "scripts.limits", lwhere, h, limits[i], lline, lim) == -1) {
			json_decref(lim);
			goto bad;
		}
	json_object_set_new(out, "limits", lim);
	return out;
bad:
	json_decref(out);
	return NULL;
}

/* scripts = { name = { role = ..., ... }, ... }: into c->scripts, normalised. */
static int
parse_scripts(struct config_ctx *ctx, const json_t *v, int line, struct config *c)
{
	const char *k;
	json_t *s;

	c->scripts = json_object();
	if (v == NULL || (json_is_array(v) && json_array_size(v) == 0))
		return 0;
	if (json_is_array(v))
		return config_fail(ctx, line, "scripts: expected sections named by script");
	if (!json_is_object(v))
		return config_fail(ctx, line, "scripts: expected a table of script sections");
	json_object_foreach ((json_t *)v, k, s) {
		json_t *sec =
		    script_section(ctx, k, s, config_member_line(ctx, line, k), c->plugins);
		if (sec == NULL)
			return -1;
		json_object_set_new(c->scripts, k, sec);
	}
	return 0;
}

static void
release_scripts(struct config *c)
{
	json_decref(c->scripts);
}

int
config_check(struct config_ctx *ctx, struct config *c)
{
	/* By default the audit log sits beside the database, in audit.sqlite. */
	if (c->audit_database == NULL) {
		const char *slash = strrchr(c->database, '/');
		int n = slash ? (int)(slash - c->database) + 1 : 0;
		if (asprintf(&c->audit_database, "%.*saudit.sqlite", n, c->database) == -1) {
			c->audit_database = NULL;
			return config_fail(
			    ctx, 0, "audit_database: cannot derive a default from database");
		}
	}
	if (strcmp(c->audit_database, c->database) == 0)
		return config_fail(ctx, config_setting_line(ctx, "audit_database"),
		    "audit_database: must be a file apart from database");
	if (c->backup_unencrypted && c->backup_certs != NULL)
		return config_fail(ctx, config_setting_line(ctx, "backup_unencrypted"),
		    "backup_unencrypted: cannot be true while backup_recipient names who may read "
		    "backups");
	if (c->monitoring_group != NULL) {
		struct group gr, *res = NULL;
		char buf[4096];

		if (getgrnam_r(c->monitoring_group, &gr, buf, sizeof(buf), &res) != 0 ||
		    res == NULL)
			return config_fail(ctx, config_setting_line(ctx, "monitoring_group"),
			    "monitoring_group: no such group '%s' on this host",
			    c->monitoring_group);
		c->monitoring_gid = gr.gr_gid;
	}
	return resolve_daemon_user(ctx, c);
}

#define AT(field) offsetof(struct config, field)

const struct config_option config_options[] = {
	{ .name = "socket",
	    .type = CONFIG_PATH,
	    .required = 1,
	    .max = 107, /* sun_path */
	    .offset = AT(socket_path),
	    .text = "the path of the API's Unix socket" },
	{ .name = "socket_mode",
	    .type = CONFIG_MODE,
	    .min = 0600,
	    .default_string = "0660",
	    .offset = AT(socket_mode),
	    .expected = "an octal string such as \"0660\" that lets the owner read and write",
	    .text = "the socket's permissions, set once it is bound" },
	{ .name = "database",
	    .type = CONFIG_PATH,
	    .required = 1,
	    .offset = AT(database),
	    .text = "the path of the SQLite file" },
	{ .name = "audit_database",
	    .type = CONFIG_PATH,
	    .default_text = "default: audit.sqlite beside database",
	    .offset = AT(audit_database),
	    .text = "the audit log's own SQLite file, apart from database" },
	{ .name = "plugin_dir",
	    .type = CONFIG_PATH,
	    .default_string = "plugins",
	    .offset = AT(plugin_dir),
	    .text = "the directory of the C plugins" },
	{ .name = "script_dir",
	    .type = CONFIG_PATH,
	    .default_string = "lua",
	    .offset = AT(script_dir),
	    .text = "the directory of the Lua site scripts (rules/ and lib/)" },
	{ .name = "log_level",
	    .type = CONFIG_CHOICE,
	    .choices = log_levels,
	    .noun = "level",
	    .default_string = "info",
	    .offset = AT(log_level),
	    .text = "how much the daemon logs" },
	{ .name = "request_timeout",
	    .type = CONFIG_INTEGER,
	    .min = 1,
	    .max = 3600,
	    .default_number = 30,
	    .offset = AT(request_timeout),
	    .text = "seconds for a request to arrive whole, from its first byte" },
	{ .name = "max_connections",
	    .type = CONFIG_INTEGER,
	    .min = 1,
	    .max = 65536,
	    .default_number = 512,
	    .offset = AT(max_connections),
	    .text = "API connections open at once, in all" },
	{ .name = "max_connections_per_user",
	    .type = CONFIG_INTEGER,
	    .min = 1,
	    .max = 65536,
	    .default_number = 64,
	    .offset = AT(max_connections_per_user),
	    .text = "API connections open at once from one Unix user" },
	{ .name = "event_delay_ms",
	    .type = CONFIG_INTEGER,
	    .min = 0,
	    .max = 60000,
	    .default_number = 5,
	    .offset = AT(event_delay_ms),
	    .text = "the pause before new events are handed to subscribers" },
	{ .name = "staff",
	    .type = CONFIG_ANY,
	    .default_text = "default none",
	    .offset = AT(staff),
	    .parse = parse_staff,
	    .release = release_staff,
	    .text = "the bootstrap staff accounts, ensured at every start and reload" },
	{ .name = "name",
	    .section = "staff",
	    .type = CONFIG_STRING,
	    .required = 1,
	    .text = "the person's name, as the API shows it" },
	{ .name = "unix_user",
	    .section = "staff",
	    .type = CONFIG_STRING,
	    .required = 1,
	    .text = "the Unix user the person connects as, or @daemon" },
	{ .name = "role",
	    .section = "staff",
	    .type = CONFIG_CHOICE,
	    .required = 1,
	    .choices = role_names,
	    .noun = "role",
	    .text = "eti, cip, coordinator or admin" },
	{ .name = "email",
	    .section = "staff",
	    .type = CONFIG_STRING,
	    .default_text = "optional",
	    .text = "where the person receives notices" },
	{ .name = "plugins",
	    .type = CONFIG_ANY,
	    .default_text = "default empty",
	    .offset = AT(plugins),
	    .parse = parse_plugins,
	    .release = release_plugins,
	    .secrets = 1,
	    .text = "one section per C plugin, handed to it as JSON" },
	{ .name = "plugin_strict",
	    .type = CONFIG_BOOLEAN,
	    .default_number = 0,
	    .offset = AT(plugin_strict),
	    .text = "a plugin refused at start stops the daemon" },
	{ .name = "ca_file",
	    .type = CONFIG_PATH,
	    .default_text = "default: the system's trust store",
	    .offset = AT(ca_file),
	    .text = "the CA bundle outbound HTTPS trusts" },
	{ .name = "allow_http",
	    .type = CONFIG_BOOLEAN,
	    .default_number = 0,
	    .offset = AT(allow_http),
	    .text = "outbound plain http:// is permitted" },
	{ .name = "script_workers",
	    .type = CONFIG_BOOLEAN,
	    .default_number = 1,
	    .offset = AT(script_workers),
	    .text = "site scripts run in worker processes" },
	{ .name = "welcome_items",
	    .type = CONFIG_ANY,
	    .default_text = "default: the six below",
	    .offset = AT(welcome),
	    .parse = parse_welcome,
	    .release = release_welcome,
	    .text = "the welcome checklist of a person's file" },
	{ .name = "retention_days",
	    .type = CONFIG_INTEGER,
	    .min = 30,
	    .max = 36500,
	    .default_number = 730,
	    .offset = AT(retention_days),
	    .text = "days a person's file is kept after its last contact" },
	{ .name = "retention_hold_percent",
	    .type = CONFIG_INTEGER,
	    .min = 1,
	    .max = 100,
	    .default_number = 10,
	    .offset = AT(retention_hold_percent),
	    .text = "a purge of more than this share of the files waits for an admin" },
	{ .name = "monitoring_group",
	    .type = CONFIG_STRING,
	    .max = 32,
	    .default_text = "default none",
	    .offset = AT(monitoring_group),
	    .text = "a Unix group whose members read health and metrics without an account" },
	{ .name = "audit_retention_days",
	    .type = CONFIG_INTEGER,
	    .min = 30,
	    .max = 3650,
	    .default_number = 365,
	    .offset = AT(audit_retention_days),
	    .text = "days audit entries are kept" },
	{ .name = "backup_recipient",
	    .type = CONFIG_ANY,
	    .default_text = "default none",
	    .offset = AT(backup_certs),
	    .parse = parse_backup_recipient,
	    .release = release_backup_recipient,
	    .text = "the certificates of whoever may read backups" },
	{ .name = "backup_unencrypted",
	    .type = CONFIG_BOOLEAN,
	    .default_number = 0,
	    .offset = AT(backup_unencrypted),
	    .text = "backups in clear are allowed" },
	/* After plugins: a script may not take a plugin's name. */
	{ .name = "scripts",
	    .type = CONFIG_ANY,
	    .default_text = "default none",
	    .offset = AT(scripts),
	    .parse = parse_scripts,
	    .release = release_scripts,
	    .secrets = 1,
	    .text = "the Lua site scripts to run, one section per script" },
	{ .name = "role",
	    .section = "scripts",
	    .type = CONFIG_CHOICE,
	    .required = 1,
	    .choices = role_names,
	    .noun = "role",
	    .text = "the role whose views the script reads: eti, cip, coordinator or admin" },
	{ .name = "enabled",
	    .section = "scripts",
	    .type = CONFIG_BOOLEAN,
	    .default_number = 1,
	    .text = "false keeps the script listed without running it" },
	{ .name = "file",
	    .section = "scripts",
	    .type = CONFIG_PATH,
	    .default_text = "default \"rules/name.lua\"",
	    .expected = "a path (relative to script_dir)",
	    .text = "the script's file, relative to script_dir" },
	{ .name = "options",
	    .section = "scripts",
	    .type = CONFIG_TABLE,
	    .expected = "a table of named options",
	    .text = "handed to the script, read-only" },
	{ .name = "http_hosts",
	    .section = "scripts",
	    .type = CONFIG_LIST,
	    .expected = "a list of host names",
	    .text = "the hosts the script's http{} may reach" },
	{ .name = "limits",
	    .section = "scripts",
	    .type = CONFIG_TABLE,
	    .default_text = "default: each limit's own",
	    .text = "what the script may use" },
	{ .name = "memory_mib",
	    .section = "scripts.limits",
	    .type = CONFIG_INTEGER,
	    .min = 1,
	    .max = 1024,
	    .default_number = 8,
	    .text = "the memory the script's Lua state may hold" },
	{ .name = "instructions",
	    .section = "scripts.limits",
	    .type = CONFIG_INTEGER,
	    .min = 1000,
	    .max = 1000000000,
	    .default_number = 1000000,
	    .text = "Lua instructions per call" },
	{ .name = "time_ms",
	    .section = "scripts.limits",
	    .type = CONFIG_INTEGER,
	    .min = 1,
	    .max = 60000,
	    .default_number = 50,
	    .text = "milliseconds per call" },
	{ .name = "max_failures",
	    .section = "scripts.limits",
	    .type = CONFIG_INTEGER,
	    .min = 1,
	    .max = 1000,
	    .default_number = 3,
	    .text = "failed calls in a row before the script is disabled" },
	{ .name = "notifications_per_hour",
	    .section = "scripts.limits",
	    .type = CONFIG_INTEGER,
	    .min = 1,
	    .max = 1000000,
	    .default_number = 500,
	    .text = "notifications the script may queue in an hour" },
	{ .name = "outbox_pending",
	    .section = "scripts.limits",
	    .type = CONFIG_INTEGER,
	    .min = 1,
	    .max = 1000000,
	    .default_number = 1000,
	    .text = "notifications of the script waiting in the outbox" },
	{ .name = "http_per_minute",
	    .section = "scripts.limits",
	    .type = CONFIG_INTEGER,
	    .min = 1,
	    .max = 100000,
	    .default_number = 60,
	    .text = "http{} requests the script may start in a minute" },
	{ .name = "cpu_ms_per_minute",
	    .section = "scripts.limits",
	    .type = CONFIG_INTEGER,
	    .min = 1,
	    .max = 60000,
	    .default_number = 6000,
	    .text = "milliseconds of CPU the script's calls may use in a minute" },
};

const size_t config_noptions = TR_NELEM(config_options);
