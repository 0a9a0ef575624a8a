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
	int event_delay_ms; /* pause before dispatching new events */
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
 * Load and check `path`. On success *out owns a new config; on failure err
 * holds "FILE:LINE: reason" (or "FILE: reason") and nothing is allocated.
 */
int config_load(const char *path, struct config **out, char *err, size_t errlen);
/* Same, from a buffer; st_mode is the file's mode for the secret check. */
int config_load_buffer(const char *name, const char *buf, size_t len, mode_t st_mode,
    struct config **out, char *err, size_t errlen);
void config_free(struct config *);

#endif
