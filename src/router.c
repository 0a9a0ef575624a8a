#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define ROUTER_MAX 1024

/* One segment of an id: 1 to 18 digits, no leading zero, so it fits int64. */
static int
match_id(const char *s, size_t len, int64_t *id)
{
	int64_t v = 0;

	if (len == 0 || len > 18 || s[0] == '0')
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*id = v;
	return 1;
}

/* A string segment: 1 to ROUTER_PARAM_MAX of [A-Za-z0-9._-]. */
static int
match_param(const char *s, size_t len, char *out)
{
	if (len == 0 || len > ROUTER_PARAM_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		        (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	memcpy(out, s, len);
	out[len] = '\0';
	return 1;
}

static int
match_path(const char *pattern, const char *path, int64_t ids[ROUTER_MAX_IDS], int *nids,
    struct route_params *ps)
{
	*nids = 0;
	if (ps != NULL)
		ps->n = 0;
	while (*pattern && *path) {
		const char *pe, *se;
		size_t plen, slen;

		if (*pattern != '/' || *path != '/')
			return 0;
		pattern++, path++;
		pe = strchr(pattern, '/');
		se = strchr(path, '/');
		plen = pe ? (size_t)(pe - pattern) : strlen(pattern);
		slen = se ? (size_t)(se - path) : strlen(path);
		if (plen == 4 && strncmp(pattern, "{id}", 4) == 0) {
			if (*nids == ROUTER_MAX_IDS || !match_id(path, slen, &ids[*nids]))
				return 0;
			(*nids)++;
		} else if (plen > 2 && pattern[0] == '{' && pattern[plen - 1] == '}') {
			char tmp[ROUTER_PARAM_MAX + 1];
			if (!match_param(path, slen, tmp))
				return 0;
			if (ps != NULL) {
				if (ps->n == ROUTER_MAX_PARAMS)
					return 0;
				ps->names[ps->n] = pattern + 1;
				ps->namelen[ps->n] = plen - 2;
				memcpy(ps->values[ps->n], tmp, slen + 1);
				ps->n++;
			}
		} else if (plen != slen || strncmp(pattern, path, plen) != 0)
			return 0;
		pattern += plen;
		path += slen;
	}
	return *pattern == '\0' && *path == '\0';
}

static enum router_result
match_table(const struct route *routes, size_t n, unsigned method, const char *path,
    const struct route **out, int64_t ids[ROUTER_MAX_IDS], int *nids, struct route_params *ps,
    unsigned *allowed)
{
	int64_t tmp[ROUTER_MAX_IDS];
	struct route_params ptmp;
	int ntmp;

	*allowed = 0;
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!match_path(routes[i].pattern, path, tmp, &ntmp, &ptmp))
			continue;
		*allowed |= routes[i].method;
		if ((routes[i].method & method) && *out == NULL) {
			*out = &routes[i];
			memcpy(ids, tmp, sizeof(tmp));
			*nids = ntmp;
			if (ps != NULL)
				*ps = ptmp;
		}
	}
	if (*out)
		return ROUTE_FOUND;
	return *allowed ? ROUTE_NO_METHOD : ROUTE_NO_PATH;
}

enum router_result
router_match(const struct route *routes, size_t n, unsigned method, const char *path,
    const struct route **out, int64_t ids[ROUTER_MAX_IDS], int *nids, unsigned *allowed)
{
	return match_table(routes, n, method, path, out, ids, nids, NULL, allowed);
}

struct router {
	struct route routes[ROUTER_MAX];
	size_t n;
};

struct router *
router_new(void)
{
	struct router *rt = calloc(1, sizeof(*rt));

	if (rt == NULL)
		fatal("calloc");
	return rt;
}

void
router_free(struct router *rt)
{
	if (rt == NULL)
		return;
	for (size_t i = 0; i < rt->n; i++)
		free((char *)rt->routes[i].pattern);
	free(rt);
}

/* Whether two patterns match the same paths: segment by segment, any {x} alike. */
static int
same_shape(const char *a, const char *b)
{
	for (;;) {
		size_t la = strcspn(a, "/"), lb = strcspn(b, "/");
		int va = la > 1 && a[0] == '{', vb = lb > 1 && b[0] == '{';
		if (va != vb || (!va && (la != lb || strncmp(a, b, la) != 0)))
			return 0;
		a += la, b += lb;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		a++, b++;
	}
}

int
router_add(struct router *rt, const struct route *r)
{
	char *p;

	for (size_t i = 0; i < rt->n; i++)
		if ((rt->routes[i].method & r->method) &&
		    same_shape(rt->routes[i].pattern, r->pattern))
			return -1;
	if (rt->n == ROUTER_MAX || (p = strdup(r->pattern)) == NULL)
		return -1;
	rt->routes[rt->n] = *r;
	rt->routes[rt->n].pattern = p;
	rt->n++;
	return 0;
}

void
router_remove_owner(struct router *rt, const void *owner)
{
	size_t i, j;

	for (i = j = 0; i < rt->n; i++) {
		if (rt->routes[i].owner == owner) {
			free((char *)rt->routes[i].pattern);
			continue;
		}
		rt->routes[j++] = rt->routes[i];
	}
	rt->n = j;
}

size_t
router_count(const struct router *rt)
{
	return rt->n;
}

const struct route *
router_at(const struct router *rt, size_t i)
{
	return i < rt->n ? &rt->routes[i] : NULL;
}

enum router_result
router_lookup(const struct router *rt, unsigned method, const char *path, const struct route **out,
    int64_t ids[ROUTER_MAX_IDS], int *nids, struct route_params *ps, unsigned *allowed)
{
	return match_table(rt->routes, rt->n, method, path, out, ids, nids, ps, allowed);
}

void
router_allow_header(unsigned methods, char *buf, size_t size)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = { { M_GET, "GET" }, { M_POST, "POST" }, { M_PATCH, "PATCH" }, { M_PUT, "PUT" },
		{ M_DELETE, "DELETE" } };
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < TR_NELEM(names); i++) {
		if (!(methods & names[i].bit))
			continue;
		int w = snprintf(buf + off, size - off, "%s%s", off ? ", " : "", names[i].name);
		if (w < 0 || (size_t)w >= size - off)
			break;
		off += (size_t)w;
	}
}
