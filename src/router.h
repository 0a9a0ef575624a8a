/* Routing: a const table of (method, pattern) -> handler, with {id} segments. */
#ifndef TREMPLIN_ROUTER_H
#define TREMPLIN_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "authz.h"

#define ROUTER_MAX_IDS 4

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

struct route {
	unsigned method;
	const char *pattern; /* e.g. "/v1/staff/{id}" */
	route_fn fn;
	enum action action;
	unsigned flags;
	unsigned roles; /* plugins' routes: the roles allowed (ROLEBIT), instead of action */
	const void *arg; /* plugins' routes: what the trampoline needs */
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

/* "GET, POST" for an Allow header. */
void router_allow_header(unsigned methods, char *buf, size_t size);

#endif
