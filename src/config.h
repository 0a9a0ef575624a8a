/* The daemon's configuration: a declarative Lua-syntax file. */
#ifndef TREMPLIN_CONFIG_H
#define TREMPLIN_CONFIG_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "authz.h"

struct stack_st_X509; /* OpenSSL's STACK_OF(X509) */

struct conf_staff {
	char *name;
	char *unix_user; /* "@daemon" is resolved to the daemon's own user at load */
	enum role role;
	char *email; /* may be NULL */
};

struct conf_welcome {
	char *code; /* stored with each done item: short, [a-z0-9_] */
	char *label; /* shown to staff, in French */
};

struct config {
	char *path;
	char *socket_path;
	mode_t socket_mode;
	char *database;
	char *audit_database; /* the audit log's own file */
	int audit_retention_days;
	int retention_days; /* a file is purged this long after its last contact */
	struct conf_welcome *welcome; /* the welcome checklist */
	size_t nwelcome;
	char *plugin_dir;
	char *script_dir;
	int log_level;
	int request_timeout;
	int max_connections; /* API connections at once, in all */
	int max_connections_per_user; /* ... from one Unix user */
	int plugin_strict; /* any plugin refused at start is fatal */
	char *ca_file; /* outbound HTTPS: the CA bundle to trust, NULL: the system's */
	int allow_http; /* outbound plain http:// permitted */
	int script_workers; /* site scripts in worker processes (luaproc.c) */
	int event_delay_ms; /* pause before dispatching new events */
	/* Its members read health, metrics and the API's description without a staff account. */
	char *monitoring_group; /* NULL: none */
	gid_t monitoring_gid;
	/* A retention run that would purge more than this share of the files waits for an admin. */
	int retention_hold_percent;
	/* Who can read backups: their certificates, checked at load; NULL when none. */
	struct stack_st_X509 *backup_certs;
	int backup_unencrypted; /* no recipient, and backups in clear allowed */
	struct conf_staff *staff;
	size_t nstaff;
	json_t *plugins; /* object: plugin name -> its section */
	/*
	 * object: script name -> its section, checked and with its defaults:
	 * {enabled, role, file, options, http_hosts, limits: {memory_mib,
	 * instructions, time_ms, max_failures}}
	 */
	json_t *scripts;
};

/*
 * The schema of tremplin.conf is a const table of these (config_table.c), one
 * row per setting, as tmux's options-table.c; the loader (config.c) reads any
 * such table and knows nothing of the settings themselves.
 */
enum config_type {
	CONFIG_PATH, /* char *: non-empty, no NUL, at most .max bytes (0: PATH_MAX - 1) */
	CONFIG_STRING, /* char *: non-empty, no NUL, at most .max bytes (0: no bound) */
	CONFIG_INTEGER, /* int, from .min to .max */
	CONFIG_BOOLEAN, /* int, 0 or 1 */
	CONFIG_CHOICE, /* int: the index of the value in .choices */
	CONFIG_MODE, /* mode_t: an octal string "0NNN", at most 0777, with the bits .min set */
	CONFIG_TABLE, /* named fields; {} or an empty list is empty */
	CONFIG_LIST, /* a list; {} is empty */
	CONFIG_ANY, /* any value: .parse checks it */
};

struct config_ctx; /* the loader's state, handed to the schema's functions */

struct config_option {
	const char *name;
	/*
	 * NULL for a top-level setting; otherwise the dotted path of the table
	 * it is a field of ("staff" for each account, "scripts.limits" for each
	 * script's limits), read by that table's .parse with config_member().
	 */
	const char *section;
	enum config_type type;
	int required; /* no default: absent is an error */
	long min, max; /* see the type */
	const char *const *choices; /* CONFIG_CHOICE: NULL-terminated */
	const char *noun; /* CONFIG_CHOICE: what a value is called ("unknown level 'x'") */
	const char *default_string; /* PATH, STRING, CHOICE, MODE */
	long default_number; /* INTEGER, BOOLEAN */
	/* The default in words where it is not one value ("default none"), as documented. */
	const char *default_text;
	size_t offset; /* top level: where the value lands in struct config */
	/*
	 * Top-level TABLE, LIST and ANY settings: check the value (NULL when
	 * absent, with line 0) and store it in c; -1 after config_fail().
	 */
	int (*parse)(struct config_ctx *, const json_t *value, int line, struct config *c);
	void (*release)(struct config *c); /* frees what .parse stored */
	int secrets; /* may hold secrets: then the file must be private to its owner */
	const char *expected; /* the reason given for a bad value, instead of the type's */
	const char *text; /* one line of help; also why a required setting is needed */
};

/* The schema of tremplin.conf (config_table.c). */
extern const struct config_option config_options[];
extern const size_t config_noptions;
/* Checks across settings, once every row is read (config_table.c). */
int config_check(struct config_ctx *, struct config *);

/* For the schema's functions: "FILE:LINE: message" (line 0: "FILE: message"); returns -1. */
int config_fail(struct config_ctx *, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The line where a top-level setting starts, or 0 when it is not set. */
int config_setting_line(struct config_ctx *, const char *name);
/* The line where the index-th (1-based) table of the list assigned at `line` opens. */
int config_entry_line(struct config_ctx *, int line, size_t index);
/* The line of `key =` among the fields of the table that starts at `line`. */
int config_member_line(struct config_ctx *, int line, const char *key);
/*
 * Check the keys of obj (a table at `where`) against the rows of `section`:
 * another key is "WHERE.KEY: unknown NOUN (expected ...)". With seek, each
 * error points at the key's own line inside the table at `line`.
 */
int config_check_members(struct config_ctx *, const char *section, const char *where,
    const json_t *obj, int line, int seek, const char *noun);
/*
 * obj's field `name`, checked against its row in `section`: *out is a new
 * reference (the default when absent, NULL when there is none); -1 after
 * config_fail().
 */
int config_member(struct config_ctx *, const char *section, const char *where, const json_t *obj,
    const char *name, int line, int seek, json_t **out);

/*
 * Load and check `path`. On success *out owns a new config; on failure err
 * holds "FILE:LINE: reason" (or "FILE: reason") and nothing is allocated.
 */
int config_load(const char *path, struct config **out, char *err, size_t errlen);
/* Same, from a buffer; st_mode is the file's mode for the secret check. */
int config_load_buffer(const char *name, const char *buf, size_t len, mode_t st_mode,
    struct config **out, char *err, size_t errlen);
void config_free(struct config *);

#endif
