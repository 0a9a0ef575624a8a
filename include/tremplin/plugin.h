/*
 * tremplin/plugin.h: the one header a Tremplin plugin includes.
 *
 * A plugin is a shared object that exports one descriptor named
 * `tremplin_plugin` (use TREMPLIN_PLUGIN below). The daemon checks its ABI,
 * size and version, then calls init with the host table: everything a
 * plugin may do goes through that table. A plugin never links against the
 * daemon's internals, only against jansson and SQLite for the types it
 * handles.
 *
 * Life cycle: init (register migrations, routes, subscriptions, timers) ->
 * config (check and take the plugin's configuration section; also called on
 * reload with the new section) -> the daemon applies the migrations -> start
 * -> ... -> stop. All callbacks run on the daemon's single event loop: they
 * must return quickly; slow work is asynchronous (http, TREMPLIN_EVENT_PENDING).
 *
 * Build out of tree:
 *   cc -shared -fPIC $(pkg-config --cflags tremplin-plugin) -o x.so x.c \
 *      $(pkg-config --libs tremplin-plugin)
 */
#ifndef TREMPLIN_PLUGIN_H
#define TREMPLIN_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI: a date. A change that breaks plugins gets a new date. */
#define TREMPLIN_PLUGIN_ABI 20261123u
/* The daemon version this header comes with. */
#define TREMPLIN_VERSION "0.1.0"
#define TREMPLIN_PLUGIN_SYMBOL "tremplin_plugin"

struct tremplin_plugin; /* the host's record of a plugin (opaque) */
struct tremplin_request; /* an API request being served (opaque) */

/* Log levels. */
enum { TREMPLIN_LOG_WARNING = 0, TREMPLIN_LOG_INFO = 1, TREMPLIN_LOG_DEBUG = 2 };

/* HTTP methods, as bits, for routes. */
enum {
	TREMPLIN_GET = 0x1,
	TREMPLIN_POST = 0x2,
	TREMPLIN_PATCH = 0x4,
	TREMPLIN_PUT = 0x8,
	TREMPLIN_DELETE = 0x10,
};

/* Roles, as bits, for routes. */
enum {
	TREMPLIN_ROLE_ETI = 1u << 1,
	TREMPLIN_ROLE_CIP = 1u << 2,
	TREMPLIN_ROLE_COORDINATOR = 1u << 3,
	TREMPLIN_ROLE_ADMIN = 1u << 4,
};
#define TREMPLIN_ROLES_STAFF                                                                       \
	(TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR | TREMPLIN_ROLE_ADMIN)

/* Route flags. */
#define TREMPLIN_ROUTE_BODY 0x1 /* the route takes a JSON object body (POST, PATCH) */

/* What an event handler returns. */
#define TREMPLIN_EVENT_DONE 0 /* handled: the cursor moves on */
#define TREMPLIN_EVENT_FAILED (-1) /* failed: counted, retried later with backoff */
#define TREMPLIN_EVENT_PENDING 1 /* handled asynchronously: call host->event_done later */

/* Errors of an outbound HTTP request (TREMPLIN_HTTP_OK: an answer came, any status). */
enum {
	TREMPLIN_HTTP_OK = 0,
	TREMPLIN_HTTP_TIMEOUT,
	TREMPLIN_HTTP_CONNECT,
	TREMPLIN_HTTP_TLS,
	TREMPLIN_HTTP_TOO_BIG,
	TREMPLIN_HTTP_PROTOCOL,
	TREMPLIN_HTTP_CANCELLED,
	TREMPLIN_HTTP_INTERNAL,
};

/* An error in a request's input: the HTTP status, a code, a message and the field. */
struct tremplin_error {
	int status;
	const char *code;
	char message[256];
	char field[128];
};

struct tremplin_migration {
	int version; /* ascending, from 1 */
	const char *sql;
};

struct tremplin_event {
	int64_t id;
	const char *type; /* e.g. "structure.created" */
	const char *subject; /* e.g. "structure/12" */
	const json_t *payload; /* borrowed: valid during the call */
	const char *actor; /* the Unix user, or "plugin:<name>" */
	const char *created_at; /* RFC 3339 UTC */
};

struct tremplin_caller {
	int64_t staff_id;
	const char *unix_user;
	const char *role; /* "eti", "cip", "coordinator" or "admin" */
};

struct tremplin_http_header {
	const char *name;
	const char *value;
};

struct tremplin_http_request {
	const char *method; /* "GET", "POST"... */
	const char *url; /* https:// */
	const struct tremplin_http_header *headers;
	size_t nheaders;
	const void *body; /* copied */
	size_t body_len;
	long timeout_ms; /* 0: the daemon's default */
	size_t max_bytes; /* 0: the daemon's default */
	int follow_redirects; /* 0: a 3xx is handed back */
};

struct tremplin_http_response {
	int error; /* TREMPLIN_HTTP_* */
	const char *error_text;
	long status;
	int64_t retry_after_s; /* -1 when absent */
	const char *content_type;
	const char *body; /* borrowed: valid during the call */
	size_t body_len;
};

/* Field tables for input checks: as in the daemon's own handlers. */
enum { TREMPLIN_FIELD_STRING, TREMPLIN_FIELD_BOOLEAN, TREMPLIN_FIELD_INTEGER };
#define TREMPLIN_FIELD_REQUIRED 0x1
#define TREMPLIN_FIELD_NULLABLE 0x2
#define TREMPLIN_FIELD_READONLY 0x4
struct tremplin_field {
	const char *name;
	int type;
	unsigned flags;
};

typedef void (*tremplin_route_fn)(struct tremplin_request *, void *arg);
typedef int (*tremplin_event_fn)(const struct tremplin_event *, void *arg);
typedef void (*tremplin_timer_fn)(int64_t now_ms, void *arg);
typedef void (*tremplin_http_fn)(const struct tremplin_http_response *, void *arg);

/*
 * The host table. Fields are only ever appended: a plugin built against an
 * older header sees a prefix of it; `size` tells how much the daemon has.
 */
struct tremplin_host {
	uint32_t abi;
	uint32_t size;
	const char *daemon_version;

	/* Logging, prefixed with the plugin's name. */
	void (*log)(struct tremplin_plugin *, int level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
	/* The plugin's configuration section (an object, never NULL). */
	const json_t *(*config)(struct tremplin_plugin *);

	/* Store: the plugin's own migrations (call in init), statements, transactions. */
	int (*migrations)(struct tremplin_plugin *, const struct tremplin_migration *, size_t n);
	sqlite3_stmt *(*stmt)(struct tremplin_plugin *, const char *static_sql);
	void (*stmt_done)(sqlite3_stmt *);
	int (*begin)(struct tremplin_plugin *); /* BEGIN IMMEDIATE; 0 on success */
	int (*commit)(struct tremplin_plugin *);
	void (*rollback)(struct tremplin_plugin *);

	/* Routes under /v1/<plugin>/ (call in init): path like "/items/{id}". */
	int (*route)(struct tremplin_plugin *, unsigned methods, const char *path, unsigned roles,
	    unsigned flags, tremplin_route_fn, void *arg);
	json_t *(*request_body)(struct tremplin_request *); /* borrowed; NULL without a body */
	int64_t (*request_id)(struct tremplin_request *, int index);
	const char *(*request_query)(struct tremplin_request *, const char *name);
	void (*request_caller)(struct tremplin_request *, struct tremplin_caller *);
	/* Reply once; the body reference is taken. */
	void (*reply)(struct tremplin_request *, int status, json_t *body);
	void (*reply_error)(struct tremplin_request *, int status, const char *code,
	    const char *field, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
	/* Check obj against a field table; replies 400/422 and returns -1 when it fails. */
	int (*check_fields)(struct tremplin_request *, json_t *obj, const struct tremplin_field *,
	    size_t n, int whole);

	/*
	 * Events. publish must be called inside the plugin's transaction, so the
	 * event commits with the change; req names the actor (NULL: the plugin).
	 * The payload reference is taken.
	 */
	int (*publish)(struct tremplin_plugin *, struct tremplin_request *req, const char *type,
	    const char *subject, json_t *payload);
	/* type: exact ("structure.created"), a prefix ("structure.*") or "*". */
	int (*subscribe)(struct tremplin_plugin *, const char *name, const char *type,
	    tremplin_event_fn, void *arg);
	/* Finish an event a handler left TREMPLIN_EVENT_PENDING. */
	void (*event_done)(struct tremplin_plugin *, const char *name, int64_t event_id, int ok,
	    const char *error);

	/* Timers. A periodic timer is durable under its name: missed runs happen once. */
	int (*every)(struct tremplin_plugin *, const char *name, int64_t period_ms,
	    int64_t jitter_ms, tremplin_timer_fn, void *arg);
	int (*after)(struct tremplin_plugin *, int64_t delay_ms, tremplin_timer_fn, void *arg);
	int64_t (*now_ms)(struct tremplin_plugin *);

	/* Outbound HTTPS; the callback runs later on the loop (or never, if 0 is not returned). */
	int (*http)(struct tremplin_plugin *, const struct tremplin_http_request *,
	    tremplin_http_fn, void *arg, char *err, size_t errlen);

	/* Validation helpers: NULL when the value is good, else why not. */
	const char *(*valid_siret)(const char *);
	const char *(*valid_email)(const char *);
	const char *(*valid_label)(const char *, int max_chars);
};

struct tremplin_plugin_desc {
	uint32_t abi; /* TREMPLIN_PLUGIN_ABI */
	uint32_t size; /* sizeof(struct tremplin_plugin_desc) */
	const char *built_for; /* TREMPLIN_VERSION */
	const char *name; /* as named in the configuration: [a-z][a-z0-9_]* */
	const char *version;
	const char *description; /* one line */
	/* Register what the plugin needs; *ctx is handed back to every callback. */
	int (*init)(const struct tremplin_host *, struct tremplin_plugin *, void **ctx);
	/* Check and take the configuration section; err says why not (field named). */
	int (*config)(void *ctx, const json_t *section, char *err, size_t errlen);
	int (*start)(void *ctx);
	/* Cancel what is in flight and free ctx. */
	void (*stop)(void *ctx);
};

#define TREMPLIN_PLUGIN(...)                                                                       \
	__attribute__((visibility("default")))                                                     \
	const struct tremplin_plugin_desc tremplin_plugin = { .abi = TREMPLIN_PLUGIN_ABI,          \
		.size = sizeof(struct tremplin_plugin_desc),                                       \
		.built_for = TREMPLIN_VERSION,                                                     \
		__VA_ARGS__ }

#ifdef __cplusplus
}
#endif

#endif
