#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>

#include "audit.h"
#include "config.h"
#include "cursor.h"
#include "conn.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "router.h"
#include "server.h"
#include "util.h"

/*
 * Sent when a reply cannot be built (short of memory, or a value jansson
 * refuses): written once, by hand, so that sending it cannot fail too.
 */
static const char fallback_reply[] =
    "{\"error\":{\"code\":\"internal\",\"message\":\"internal error: the reply could not "
    "be built; the daemon's log says more\"}}\n";

static void
send_json(struct tremplin_request *r, int status, json_t *body)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(r->req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;

	/* One request's reply must never end the service of everyone else. */
	if (text == NULL) {
		log_warnx("api: %s: could not build a %d reply; sent 500 instead",
		    r->route ? r->route->pattern : "(no route)", status);
		evhttp_remove_header(h, "Location");
		evbuffer_drain(out, evbuffer_get_length(out));
		evbuffer_add(out, fallback_reply, sizeof(fallback_reply) - 1);
		status = 500;
	} else {
		evbuffer_add(out, text, strlen(text));
		evbuffer_add(out, "\n", 1);
		free(text);
	}
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	r->status = status;
	evhttp_send_reply(r->req, status, NULL, NULL);
	r->replied = 1;
}

void
api_reply(struct tremplin_request *r, int status, json_t *body)
{
	send_json(r, status, body);
	json_decref(body);
}

struct api_later {
	struct evhttp_request *req; /* NULL once its connection went */
	struct evhttp_connection *evcon;
	struct server *srv;
	char pattern[128];
	const char *method;
	struct timespec t0;
};

static const char *method_name(enum evhttp_cmd_type);

static void
later_closed(struct evhttp_connection *evcon, void *arg)
{
	struct api_later *l = arg;

	(void)evcon;
	l->req = NULL;
	l->evcon = NULL;
}

struct api_later *
api_later(struct tremplin_request *r)
{
	struct api_later *l = calloc(1, sizeof(*l));

	if (l == NULL)
		fatal("calloc");
	l->req = r->req;
	l->evcon = evhttp_request_get_connection(r->req);
	l->srv = r->srv;
	memcpy(l->pattern, r->pattern, sizeof(l->pattern));
	l->method = method_name(evhttp_request_get_command(r->req));
	clock_gettime(CLOCK_MONOTONIC, &l->t0);
	if (l->evcon != NULL)
		evhttp_connection_set_closecb(l->evcon, later_closed, l);
	r->replied = 1;
	r->later = 1;
	return l;
}

void
api_later_reply(struct api_later *l, int status, json_t *body)
{
	if (l->req != NULL) {
		struct tremplin_request r = { .req = l->req, .srv = l->srv };
		struct timespec t1;
		struct evhttp_connection *evcon = l->evcon;
		memcpy(r.pattern, l->pattern, sizeof(r.pattern));
		evhttp_connection_set_closecb(evcon, NULL, NULL);
		send_json(&r, status, body);
		conn_replied_later(evcon);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		metrics_request(r.pattern[0] ? r.pattern : NULL, l->method, status,
		    (double)(t1.tv_sec - l->t0.tv_sec) +
		        (double)(t1.tv_nsec - l->t0.tv_nsec) / 1e9);
	}
	json_decref(body);
	free(l);
}

void
api_reply_created(struct tremplin_request *r, const char *location, json_t *body)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Location", location);
	api_reply(r, 201, body);
}

json_t *
api_error_body(const char *code, const char *field, const char *msg)
{
	char c[64], f[API_ERROR_FIELD_MAX], m[API_ERROR_MESSAGE_MAX];
	json_t *e = json_object(), *body = json_object();

	if (e == NULL || body == NULL || json_object_set_new(body, "error", e) == -1) {
		json_decref(e);
		json_decref(body);
		return NULL;
	}
	json_safe_text(c, sizeof(c), code ? code : "internal");
	json_safe_text(m, sizeof(m), msg ? msg : "");
	if (json_object_set_new(e, "code", json_string(c)) == -1 ||
	    json_object_set_new(e, "message", json_string(m)) == -1 ||
	    (field != NULL && *field != '\0' &&
	        json_object_set_new(e, "field", json_string(json_safe_text(f, sizeof(f), field))) ==
	            -1)) {
		json_decref(body);
		return NULL;
	}
	return body;
}

static void
error_reply(
    struct tremplin_request *r, int status, const char *code, const char *field, const char *msg)
{
	api_reply(r, status, api_error_body(code, field, msg));
}

void
api_verror(struct tremplin_request *r, int status, const char *code, const char *field,
    const char *fmt, va_list ap)
{
	char msg[API_ERROR_MESSAGE_MAX];

	json_safe_vformat(msg, sizeof(msg), fmt, ap);
	error_reply(r, status, code, field, msg);
}

void
api_error(struct tremplin_request *r, int status, const char *code, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	api_verror(r, status, code, field, fmt, ap);
	va_end(ap);
}

void
api_input_error(struct tremplin_request *r, const struct tremplin_error *e)
{
	error_reply(r, e->status, e->code, e->field, e->message);
}

/*
 * The request's failure told by its cause, as the stores saw it: a full disk
 * is 507 (the store logs the episode once), other storage trouble 503.
 */
void
api_internal(struct tremplin_request *r, const char *what)
{
	struct db *adb = audit_db(r->srv->audit);
	const char *store = "database";
	char why[256];
	enum db_fault f = db_fault(r->srv->db, why, sizeof(why));

	if (adb != NULL && db_fault(adb, NULL, 0) > f) {
		f = db_fault(adb, why, sizeof(why));
		store = "audit log";
	}
	if (f == DB_FAULT_FULL) {
		log_debug("api: %s %s: %s: refused, the disk is full",
		    r->route ? r->route->pattern : "?", r->who.unix_user, what);
		api_error(r, 507, "insufficient_storage", NULL,
		    "the disk holding the %s is full: nothing was saved; retry once space is freed",
		    store);
		return;
	}
	log_warnx("api: %s %s: %s: %s: %s", r->route ? r->route->pattern : "?", r->who.unix_user,
	    what, store, why);
	if (f == DB_FAULT_BUSY)
		api_error(r, 503, "unavailable", NULL, "the %s is busy; try again", store);
	else if (f == DB_FAULT_IO)
		api_error(r, 503, "unavailable", NULL,
		    "the %s cannot be read or written; the daemon's log says more", store);
	else
		error_reply(r, 500, "internal", NULL, "internal error; the daemon's log says more");
}

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int
api_query_check(const char *query, char *name, size_t size)
{
	const char *pair = query;

	for (const char *p = query;; p++) {
		if (*p == '&' || *p == '\0') {
			if (*p == '\0')
				return 0;
			pair = p + 1;
		} else if (*p == '%' && !(is_hex(p[1]) && is_hex(p[2]))) {
			/* evhttp would keep the '%' as it is: the caller meant something else. */
			size_t n = strcspn(pair, "=&");
			char raw[API_ERROR_FIELD_MAX];

			if (n >= sizeof(raw))
				n = sizeof(raw) - 1;
			memcpy(raw, pair, n);
			raw[n] = '\0';
			json_safe_text(name, size, raw);
			return -1;
		}
	}
}

const char *
api_query(struct tremplin_request *r, const char *name)
{
	return evhttp_find_header(&r->query, name);
}

const char *
api_query_unknown(const struct evkeyvalq *query, const char *const *allowed)
{
	struct evkeyval *kv;

	TAILQ_FOREACH (kv, query, next) {
		int ok = 0;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(kv->key, *a) == 0;
		if (!ok)
			return kv->key;
	}
	return NULL;
}

int
api_query_only(struct tremplin_request *r, const char *const *allowed)
{
	const char *key = api_query_unknown(&r->query, allowed);

	if (key != NULL) {
		char q[JSON_NAME_QUOTED];
		api_error(r, 400, "bad_request", key, "%s is not a known query parameter",
		    json_safe_text(q, sizeof(q), key));
		return -1;
	}
	return 0;
}

int
api_page(struct tremplin_request *r, int *limit, int64_t *after)
{
	const char *l = api_query(r, "limit"), *c = api_query(r, "cursor");
	int64_t v;

	*limit = API_LIST_DEFAULT;
	*after = 0;
	if (l != NULL) {
		if (tr_parse_i64(l, 1, API_LIST_MAX, &v) == -1) {
			api_error(r, 400, "bad_request", "limit",
			    "limit must be an integer from 1 to %d", API_LIST_MAX);
			return -1;
		}
		*limit = (int)v;
	}
	if (c != NULL && cursor_decode(c, after) == -1) {
		api_error(r, 400, "bad_request", "cursor",
		    "cursor is not one this API gave (use next_cursor as it is)");
		return -1;
	}
	return 0;
}

json_t *
api_list(json_t *items, int64_t last_id)
{
	char cur[CURSOR_SIZE];

	if (last_id <= 0)
		return json_pack("{s:o, s:n}", "items", items, "next_cursor");
	cursor_encode(last_id, cur, sizeof(cur));
	return json_pack("{s:o, s:s}", "items", items, "next_cursor", cur);
}

static unsigned
method_bit(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return M_GET;
	case EVHTTP_REQ_POST:
		return M_POST;
	case EVHTTP_REQ_PATCH:
		return M_PATCH;
	case EVHTTP_REQ_PUT:
		return M_PUT;
	case EVHTTP_REQ_DELETE:
		return M_DELETE;
	case EVHTTP_REQ_HEAD:
		return M_HEAD;
	case EVHTTP_REQ_OPTIONS:
		return M_OPTIONS;
	default:
		return M_OTHER;
	}
}

/* application/json, optionally with parameters; PATCH also takes merge-patch+json. */
static int
content_type_ok(struct evhttp_request *req, unsigned method)
{
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	size_t n;

	if (ct == NULL)
		return 0;
	n = strcspn(ct, "; \t");
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return 1;
	return method == M_PATCH && n == 28 &&
	    strncasecmp(ct, "application/merge-patch+json", 28) == 0;
}

/* Request line and headers, as the client sent them, give or take separators. */
static size_t
header_bytes(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *uri = evhttp_request_get_uri(req);
	struct evkeyval *kv;
	size_t n = uri ? strlen(uri) + 16 : 16;

	TAILQ_FOREACH (kv, h, next)
		n += strlen(kv->key) + strlen(kv->value) + 4;
	return n;
}

static void
route_request(struct tremplin_request *r)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	unsigned method = method_bit(evhttp_request_get_command(r->req));
	unsigned allowed;
	struct tremplin_error ie;
	char allow[64], quoted[JSON_NAME_QUOTED], bad[API_ERROR_FIELD_MAX];

	if (header_bytes(r->req) > API_MAX_HEADERS) {
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "Connection", "close");
		api_error(r, 413, "payload_too_large", NULL,
		    "the request headers are larger than %d bytes", API_MAX_HEADERS);
		return;
	}
	if (evbuffer_get_length(evhttp_request_get_input_buffer(r->req)) > API_MAX_BODY) {
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "Connection", "close");
		api_error(r, 413, "payload_too_large", NULL, "the body is larger than %d bytes",
		    API_MAX_BODY);
		return;
	}
	if (path == NULL || *path == '\0')
		path = "/";
	if (query != NULL && api_query_check(query, bad, sizeof(bad)) == -1) {
		api_error(r, 400, "bad_request", bad,
		    "query parameter %s holds a malformed %%-escape (%% must begin %%XX, two hex "
		    "digits)",
		    json_safe_text(quoted, sizeof(quoted), bad));
		return;
	}
	if (query != NULL && evhttp_parse_query_str(query, &r->query) == -1) {
		api_error(r, 400, "bad_request", NULL, "the query string is malformed");
		return;
	}
	enum router_result found = router_lookup(
	    r->srv->router, method, path, &r->route, r->ids, &r->nids, &r->params, &allowed);
	/* The monitoring group learns nothing of other paths, as an unknown caller would not. */
	if (r->monitor && (found != ROUTE_FOUND || !(r->route->flags & RF_MONITOR))) {
		r->route = NULL;
		api_error(r, 403, "forbidden", NULL,
		    "unknown caller: uid %u has no active staff account (its group, "
		    "monitoring_group, reads /v1/health, /v1/metrics and /v1/openapi.json only)",
		    (unsigned)r->who.uid);
		return;
	}
	switch (found) {
	case ROUTE_NO_PATH:
		api_error(r, 404, "not_found", NULL, "no such resource: %s", path);
		return;
	case ROUTE_NO_METHOD:
		router_allow_header(allowed, allow, sizeof(allow));
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow", allow);
		api_error(r, 405, "method_not_allowed", NULL, "%s allows %s",
		    json_safe_text(quoted, sizeof(quoted), path), allow);
		return;
	case ROUTE_FOUND:
		break;
	}
	tr_strlcpy(r->pattern, r->route->pattern, sizeof(r->pattern));
	if (r->monitor)
		goto checked;
	/* The admin runs the service and reads no personal data, whoever's route it is. */
	if ((r->route->flags & RF_PERSONAL) && !policy_personal_data(r->who.role)) {
		api_error(r, 403, "forbidden", NULL, "the %s role reads no personal data",
		    role_name(r->who.role));
		return;
	}
	if (r->route->roles ? !(r->route->roles & ROLEBIT(r->who.role))
	                    : !authz_allowed(r->who.role, r->route->action)) {
		api_error(r, 403, "forbidden", NULL, "the %s role may not do this",
		    role_name(r->who.role));
		return;
	}
checked:
	if (r->route->flags & RF_BODY) {
		struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
		size_t len = evbuffer_get_length(in);

		if (!content_type_ok(r->req, method)) {
			api_error(r, 415, "unsupported_media_type", NULL,
			    "the body must be JSON (Content-Type: application/json)");
			return;
		}
		r->body = json_parse_body((const char *)evbuffer_pullup(in, -1), len, &ie);
		if (r->body == NULL) {
			api_input_error(r, &ie);
			return;
		}
	}
	/* A failure is told by what this handler met, not by an earlier one. */
	db_fault_clear(r->srv->db);
	if (audit_db(r->srv->audit) != NULL)
		db_fault_clear(audit_db(r->srv->audit));
	r->route->fn(r);
	if (!r->replied)
		api_internal(r, "handler gave no reply");
}

/* A caller without a staff account may be a member of monitoring_group. */
static int
monitoring_member(struct evhttp_request *req, const struct config *conf)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	int fd = bev ? bufferevent_getfd(bev) : -1;

	return conf->monitoring_group != NULL && fd >= 0 && peer_in_group(fd, conf->monitoring_gid);
}

static const char *
method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	default:
		return "other";
	}
}

static void dispatch(struct tremplin_request *);

void
api_dispatch(struct evhttp_request *req, struct server *srv)
{
	struct tremplin_request r = { .req = req, .srv = srv };
	struct timespec t0, t1;
	/* Taken now: the request may be gone once its answer is written. */
	const char *method = method_name(evhttp_request_get_command(req));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	TAILQ_INIT(&r.query);
	dispatch(&r);
	json_decref(r.body);
	evhttp_clear_headers(&r.query);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!r.later) /* else taken when its reply goes */
		metrics_request(r.pattern[0] ? r.pattern : NULL, method, r.status,
		    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

static void
dispatch(struct tremplin_request *r)
{
	struct evhttp_request *req = r->req;
	struct server *srv = r->srv;
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct conn_error ce;
	uid_t uid;

	/* Shutting down: answer what is in flight, and tell the client to go. */
	if (srv->draining)
		evhttp_add_header(out, "Connection", "close");
	switch (conn_request(req, &uid, &ce)) {
	case 0:
		break;
	case 1: /* the connection layer refused the request or the connection */
		if (!srv->draining)
			evhttp_add_header(out, "Connection", "close");
		api_error(r, ce.status, ce.code, NULL, "%s", ce.message);
		return;
	default:
		/* Fail closed: no credentials, no service, and the connection goes. */
		log_warnx("api: refused a connection without peer credentials");
		if (!srv->draining)
			evhttp_add_header(out, "Connection", "close");
		api_error(r, 403, "forbidden", NULL, "no peer credentials on this connection");
		return;
	}
	switch (identity_lookup(srv->db, uid, &r->who)) {
	case 0:
		break;
	case 1:
		if (monitoring_member(req, srv->conf)) {
			r->who.uid = uid;
			r->who.role = ROLE_NONE;
			r->monitor = 1;
			break;
		}
		log_info("api: refused unknown caller uid %u (%s)", (unsigned)uid,
		    r->who.unix_user[0] ? r->who.unix_user : "no user name");
		api_error(r, 403, "forbidden", NULL,
		    "unknown caller: uid %u has no active staff account", (unsigned)uid);
		return;
	default:
		api_error(r, 503, "unavailable", NULL, "the database does not answer");
		return;
	}
	route_request(r);
}
