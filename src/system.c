/* Health, identity and backup. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/x509.h>

#include "alerts.h"
#include "api.h"
#include "backup.h"
#include "config.h"
#include "audit.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "luahost.h"
#include "metrics.h"
#include "plugins.h"
#include "server.h"
#include "util.h"

/* One store's state for /v1/health; appends to reason when it is not ok. */
static const char *
store_health(struct db *db, int answers, const char *name, char *reason, size_t size)
{
	size_t off = strlen(reason);
	char when[32];
	time_t at;

	if (!answers) {
		snprintf(
		    reason + off, size - off, "%sthe %s does not answer", off ? "; " : "", name);
		return "failing";
	}
	if (!db_full(db, &at))
		return "ok";
	tr_rfc3339(at, when, sizeof(when));
	snprintf(reason + off, size - off,
	    "%sdisk full: the last write to the %s failed at %s; writes are refused (507) "
	    "until space is freed, reads are served",
	    off ? "; " : "", name, when);
	return "full";
}

void
system_health(struct tremplin_request *r)
{
	/* Monitoring may poll hard: the stores are asked at most once a second. */
	static time_t checked;
	static int ok, audit_ok;
	struct db *adb = audit_db(r->srv->audit);
	time_t now = time(NULL);
	char reason[512] = "";

	if (now != checked) {
		ok = db_check(r->srv->db) == 0;
		audit_ok = adb == NULL || db_check(adb) == 0;
		checked = now;
	}
	const char *dbst = store_health(r->srv->db, ok, "database", reason, sizeof(reason));
	const char *aust =
	    adb ? store_health(adb, audit_ok, "audit log", reason, sizeof(reason)) : "ok";
	int degraded = reason[0] != '\0';

	/* Degraded is 503, a full disk included: a monitor that reads only the status sees it. */
	api_reply(r, degraded ? 503 : 200,
	    json_pack("{s:s, s:s?, s:s, s:I, s:{s:s}, s:{s:s}}", "status",
	        degraded ? "degraded" : "ok", "reason", degraded ? reason : NULL, "version",
	        PACKAGE_VERSION, "uptime_seconds", (json_int_t)(time(NULL) - r->srv->started),
	        "database", "status", dbst, "audit_log", "status", aust));
}

void
system_whoami(struct tremplin_request *r)
{
	api_reply(r, 200,
	    json_pack("{s:I, s:s, s:s, s:I, s:s}", "id", (json_int_t)r->who.staff_id, "name",
	        r->who.name, "unix_user", r->who.unix_user, "uid", (json_int_t)r->who.uid, "role",
	        role_name(r->who.role)));
}

/* A private file beside the database: tmp gets its name. -1 and an answer sent on failure. */
static int
backup_file(struct tremplin_request *r, char *tmp, size_t len)
{
	int fd;

	if (snprintf(tmp, len, "%s.backup-XXXXXX", db_path(r->srv->db)) >= (int)len) {
		api_error(r, 500, "internal", NULL, "database path too long for a backup");
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		log_warn("backup: %s", tmp);
		api_error(r, 507, "insufficient_storage", NULL, "cannot create the backup file: %s",
		    strerror(errno));
		return -1;
	}
	return fd;
}

/*
 * The copy is made next to the database (same file system, same
 * protections), then encrypted to the configured recipients into a second
 * file there; both are unlinked as soon as opened, and the encrypted one is
 * streamed: neither lingers on disk, the caller, who may not read the state
 * directory, still gets the file, and only the recipients can read it. A
 * copy in clear goes out only where the configuration says
 * backup_unencrypted = true.
 */
void
system_backup(struct tremplin_request *r)
{
	const struct config *conf = r->srv->conf;
	int encrypt = conf->backup_certs != NULL && sk_X509_num(conf->backup_certs) > 0;
	char plain[PATH_MAX], sealed[PATH_MAX], err[512];
	struct stat st;
	int fd, out;

	if (!encrypt && !conf->backup_unencrypted) {
		api_error(r, 409, "conflict", NULL,
		    "backups are encrypted and no recipient is configured: set backup_recipient "
		    "in %s to the certificate of the structure's coordinator or data-protection "
		    "officer (or backup_unencrypted = true to allow copies in clear)",
		    conf->path);
		return;
	}
	if ((fd = backup_file(r, plain, sizeof(plain))) == -1)
		return;
	close(fd);
	if (db_backup(r->srv->db, plain, err, sizeof(err)) == -1) {
		log_warnx("backup: %s", err);
		unlink(plain);
		api_error(r, 507, "insufficient_storage", NULL, "the backup failed: %s", err);
		return;
	}
	if (!encrypt) {
		out = open(plain, O_RDONLY | O_CLOEXEC);
		unlink(plain);
	} else {
		if ((out = backup_file(r, sealed, sizeof(sealed))) == -1) {
			unlink(plain);
			return;
		}
		unlink(sealed);
		errno = 0;
		int rc = backup_encrypt(conf->backup_certs, plain, out, err, sizeof(err));
		int full = errno == ENOSPC || errno == EDQUOT;
		unlink(plain);
		if (rc == -1) {
			log_warnx("backup: %s", err);
			close(out);
			if (full)
				api_error(r, 507, "insufficient_storage", NULL,
				    "the backup failed: no space left to encrypt it");
			else
				api_internal(r, "backup");
			return;
		}
	}
	if (out == -1 || fstat(out, &st) == -1 || lseek(out, 0, SEEK_SET) == -1) {
		log_warn("backup: %s", plain);
		if (out != -1)
			close(out);
		api_error(r, 500, "internal", NULL, "cannot read the backup file");
		return;
	}
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	if (encrypt) {
		evhttp_add_header(h, "Content-Type", "application/pkcs7-mime");
		evhttp_add_header(
		    h, "Content-Disposition", "attachment; filename=\"tremplin.db.cms\"");
	} else {
		evhttp_add_header(h, "Content-Type", "application/vnd.sqlite3");
		evhttp_add_header(h, "Content-Disposition", "attachment; filename=\"tremplin.db\"");
	}
	evhttp_add_header(h, "Cache-Control", "no-store");
	/* The buffer owns out from here on. */
	evbuffer_add_file(evhttp_request_get_output_buffer(r->req), out, 0, st.st_size);
	r->status = 200;
	evhttp_send_reply(r->req, 200, NULL, NULL);
	r->replied = 1;
	if (encrypt)
		log_info("backup: %lld bytes encrypted to %d recipient%s sent to %s",
		    (long long)st.st_size, sk_X509_num(conf->backup_certs),
		    sk_X509_num(conf->backup_certs) > 1 ? "s" : "", r->who.unix_user);
	else
		log_warnx("WARNING: backup: %lld bytes sent UNENCRYPTED to %s "
		          "(backup_unencrypted = true)",
		    (long long)st.st_size, r->who.unix_user);
}

extern const char openapi_json[]; /* src/openapi_doc.c, made from docs/openapi.json */
extern const size_t openapi_json_len;

/* The API's description, as built into this daemon: tools read it from the socket. */
void
system_openapi(struct tremplin_request *r)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

	evbuffer_add_reference(
	    evhttp_request_get_output_buffer(r->req), openapi_json, openapi_json_len, NULL, NULL);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	r->status = 200;
	evhttp_send_reply(r->req, 200, NULL, NULL);
	r->replied = 1;
}

/* The C plugins, then the site scripts (kind "lua"), each in name order. */
static json_t *
all_plugins(struct server *srv)
{
	json_t *items = plugins_json(srv->plugins), *scripts = luahost_json(srv->lua), *s;
	size_t i;

	/* A script's failures are its calls that failed, as a plugin's are its callbacks'. */
	json_array_foreach (scripts, i, s)
		if (json_object_get(s, "failures") == NULL)
			json_object_set_new(s, "failures",
			    json_integer(json_integer_value(
			        json_object_get(json_object_get(s, "script"), "failures"))));
	json_array_extend(items, scripts);
	json_decref(scripts);
	return items;
}

void
system_plugins(struct tremplin_request *r)
{
	api_reply(r, 200, json_pack("{s:o}", "items", all_plugins(r->srv)));
}

struct reload_wait {
	struct api_later *later;
	struct server *srv;
};

static void
reload_loaded(void *arg)
{
	struct reload_wait *w = arg;

	api_later_reply(w->later, 200, json_pack("{s:o}", "items", all_plugins(w->srv)));
	free(w);
}

/*
 * As SIGHUP: the whole configuration, and with it changed scripts; the
 * outcome in the list, once the scripts that load in their workers have
 * loaded or failed (the loop serves on meanwhile).
 */
void
system_plugins_reload(struct tremplin_request *r)
{
	struct reload_wait *w;
	char err[1024];

	log_info("reload asked by %s", r->who.unix_user);
	if (r->srv->reload == NULL || r->srv->reload(r->srv, err, sizeof(err)) == -1) {
		api_error(r, 409, "conflict", NULL, "nothing was reloaded: %s",
		    r->srv->reload ? err : "reload is not available");
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("calloc");
	w->srv = r->srv;
	if (!luahost_when_loaded(r->srv->lua, reload_loaded, w)) {
		free(w);
		api_reply(r, 200, json_pack("{s:o}", "items", all_plugins(r->srv)));
		return;
	}
	w->later = api_later(r);
}

/*
 * The platform's routes (the router takes them first; the kernel's and the
 * plugins' are registered by their modules): ACT_* decides who calls each.
 */
const struct route core_routes[] = {
	{ .method = M_GET,
	    .pattern = "/v1/health",
	    .fn = system_health,
	    .action = ACT_HEALTH_READ,
	    .flags = RF_MONITOR },
	{ .method = M_GET, .pattern = "/v1/whoami", .fn = system_whoami, .action = ACT_WHOAMI },
	{ .method = M_GET,
	    .pattern = "/v1/openapi.json",
	    .fn = system_openapi,
	    .action = ACT_HEALTH_READ,
	    .flags = RF_MONITOR },
	{ .method = M_GET,
	    .pattern = "/v1/metrics",
	    .fn = metrics_serve,
	    .action = ACT_METRICS_READ,
	    .flags = RF_MONITOR },
	{ .method = M_GET, .pattern = "/v1/backup", .fn = system_backup, .action = ACT_BACKUP },
	{ .method = M_GET,
	    .pattern = "/v1/plugins",
	    .fn = system_plugins,
	    .action = ACT_PLUGINS_READ },
	{ .method = M_POST,
	    .pattern = "/v1/plugins/reload",
	    .fn = system_plugins_reload,
	    .action = ACT_PLUGINS_RELOAD },
	{ .method = M_GET, .pattern = "/v1/events", .fn = events_list, .action = ACT_EVENTS_READ },
	{ .method = M_GET, .pattern = "/v1/policy", .fn = policy_show, .action = ACT_POLICY_READ },
	{ .method = M_GET, .pattern = "/v1/audit", .fn = audit_api_list, .action = ACT_AUDIT_READ },
	{ .method = M_GET,
	    .pattern = "/v1/retention",
	    .fn = retention_show,
	    .action = ACT_RETENTION_READ },
	{ .method = M_POST,
	    .pattern = "/v1/retention/confirm",
	    .fn = retention_confirm,
	    .action = ACT_RETENTION_CONFIRM,
	    .flags = RF_BODY },
	/* Alerts: every staff role; each handler shows and changes only what the caller may. */
	{ .method = M_GET,
	    .pattern = "/v1/alerts",
	    .fn = alerts_list,
	    .action = ACT_PLUGIN_ROUTE,
	    .roles = ROLES_STAFF },
	{ .method = M_POST,
	    .pattern = "/v1/alerts/{id}/ack",
	    .fn = alerts_ack,
	    .action = ACT_PLUGIN_ROUTE,
	    .roles = ROLES_STAFF },
	{ .method = M_POST,
	    .pattern = "/v1/alerts/{id}/resolve",
	    .fn = alerts_resolve,
	    .action = ACT_PLUGIN_ROUTE,
	    .roles = ROLES_STAFF },
};

const size_t ncore_routes = TR_NELEM(core_routes);
