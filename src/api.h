/* The HTTP/JSON API: request context, replies, errors, pagination, dispatch. */
#ifndef TREMPLIN_API_H
#define TREMPLIN_API_H

#include <stdarg.h>
#include <stdint.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "identity.h"
#include "json.h"
#include "router.h"

#define API_MAX_HEADERS (8 * 1024)
#define API_MAX_BODY (1024 * 1024)
/*
 * evhttp's own limits, a second line behind the connection layer (conn.c),
 * which refuses anything past ours in JSON before evhttp sees it.
 */
#define HTTP_MAX_HEADERS (64 * 1024)
#define HTTP_MAX_BODY (4 * API_MAX_BODY)
#define API_LIST_DEFAULT 50
#define API_LIST_MAX 500

struct server;

/* One request, alive from dispatch to reply. Handlers reply exactly once. */
struct tremplin_request {
	struct evhttp_request *req;
	struct server *srv;
	struct identity who;
	const struct route *route;
	int64_t ids[ROUTER_MAX_IDS];
	int nids;
	struct route_params params; /* the {name} segments */
	struct evkeyvalq query;
	json_t *body; /* the parsed object for RF_BODY routes, else NULL */
	int replied;
	int status; /* the answer's, for the metrics */
	char pattern[128]; /* the route's, for the metrics: a reload may free the route's own */
	int monitor; /* no staff account: a member of monitoring_group (RF_MONITOR routes only) */
	int later; /* the reply is given later (api_later) */
};

/* Entry point from evhttp: identify, route, check, call the handler. */
void api_dispatch(struct evhttp_request *, struct server *);

/* Replies: both take the JSON reference. */
void api_reply(struct tremplin_request *, int status, json_t *body);
void api_reply_created(struct tremplin_request *, const char *location, json_t *body);
void api_error(struct tremplin_request *, int status, const char *code, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void api_verror(struct tremplin_request *, int status, const char *code, const char *field,
    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
void api_input_error(struct tremplin_request *, const struct tremplin_error *);
/*
 * A reply given later: the handler returns and the loop serves on until
 * api_later_reply sends it (once; it takes the body and frees the handle).
 * A reply whose client has gone meanwhile is dropped.
 */
struct api_later;
struct api_later *api_later(struct tremplin_request *);
void api_later_reply(struct api_later *, int status, json_t *body);
/*
 * The body of an error, {"error": {"code", "message", "field"?}}, from any C
 * strings: each is made valid UTF-8 and cut to its size between characters
 * (json_safe_text). Pure, for the fuzz targets too; NULL only short of memory.
 */
#define API_ERROR_MESSAGE_MAX 512
#define API_ERROR_FIELD_MAX 160
json_t *api_error_body(const char *code, const char *field, const char *msg);
/* 500, logging the cause and nothing about the caller's data. */
void api_internal(struct tremplin_request *, const char *what);

/*
 * Pagination: read ?limit= and ?cursor= (an opaque token for the last id
 * seen). Replies 400 and returns -1 when they are malformed.
 */
int api_page(struct tremplin_request *, int *limit, int64_t *after);
/* Build {"items": items, "next_cursor": ...}; last_id <= 0 means no more pages. */
json_t *api_list(json_t *items, int64_t last_id);
/*
 * Check a raw query string's %-escapes: 0 when each % begins %XX; else -1
 * with name set to the parameter that holds the bad one, as sent (its key,
 * made safe by json_safe_text). Pure, for the fuzz targets too.
 */
int api_query_check(const char *query, char *name, size_t size);
/* A query parameter, NULL when absent. */
const char *api_query(struct tremplin_request *, const char *name);
/* Refuse query parameters other than those listed (NULL-terminated); -1 after a 400. */
int api_query_only(struct tremplin_request *, const char *const *allowed);
/* The first key of query not listed in allowed (NULL-terminated), NULL when none. */
const char *api_query_unknown(const struct evkeyvalq *query, const char *const *allowed);

#endif
