/* Routing: a const table of (method, pattern) -> handler, with {id} segments. */
#ifndef TREMPLIN_ROUTER_H
#define TREMPLIN_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "authz.h"

#define ROUTER_MAX_IDS 4
#define ROUTER_MAX_PARAMS 2 /* {name} segments: strings */
#define ROUTER_PARAM_MAX 64 /* characters of a string segment */

struct tremplin_request;
typedef void (*route_fn)(struct tremplin_request *);

/* Methods as bits, so that 405 can list what a path allows. */
enum {
	M_GET = 0x1,
	M_POST = 0x2,
	M_PATCH = 0x4,
	M_PUT = 0x8,
	M_DELETE = 0x10,
	M_HEAD = 0x20,
	M_OPTIONS = 0x40,
	M_OTHER = 0x80,
};

#define RF_BODY 0x1 /* the handler takes a JSON object body */
#define RF_PERSONAL 0x2 /* it serves personal data: never to a role that reads none */
#define RF_MONITOR 0x4 /* also served to the monitoring group, without a staff account */

struct route {
	unsigned method;
	const char *pattern; /* e.g. "/v1/staff/{id}" */
	route_fn fn;
	enum action action;
	unsigned flags;
	unsigned roles; /* registered routes: the roles allowed (ROLEBIT), instead of action */
	const void *arg; /* what the handler needs (a record, a plugin's hook) */
	const void *owner; /* who registered it: removed with it */
};

/* The string segments a path matched ({code}: a SIRET, a referential's code). */
struct route_params {
	int n;
	const char *names[ROUTER_MAX_PARAMS]; /* into the pattern: up to the closing brace */
	size_t namelen[ROUTER_MAX_PARAMS];
	char values[ROUTER_MAX_PARAMS][ROUTER_PARAM_MAX + 1];
};

enum router_result { ROUTE_FOUND, ROUTE_NO_PATH, ROUTE_NO_METHOD };

/*
 * Match method and path (without query) against the table. On ROUTE_FOUND,
 * *out is the route and ids[] the {id} values; on ROUTE_NO_METHOD, *allowed
 * holds the methods the path does accept.
 */
enum router_result router_match(const struct route *routes, size_t n, unsigned method,
    const char *path, const struct route **out, int64_t ids[ROUTER_MAX_IDS], int *nids,
    unsigned *allowed);

/*
 * The router owns the route table: the platform's routes, then those the
 * kernel and the plugins register (record routes and hand-written ones).
 * Patterns are copied. api.c sees only this.
 */
struct router;
struct router *router_new(void);
void router_free(struct router *);
/* Add one route; -1 when its method and pattern are taken already, or the table is full. */
int router_add(struct router *, const struct route *);
void router_remove_owner(struct router *, const void *owner);
size_t router_count(const struct router *);
const struct route *router_at(const struct router *, size_t i);
/* router_match on the router's table, with the string segments. */
enum router_result router_lookup(const struct router *, unsigned method, const char *path,
    const struct route **out, int64_t ids[ROUTER_MAX_IDS], int *nids, struct route_params *,
    unsigned *allowed);

/* "GET, POST" for an Allow header. */
void router_allow_header(unsigned methods, char *buf, size_t size);

#endif
