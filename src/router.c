#include "router.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

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

static int
match_path(const char *pattern, const char *path, int64_t ids[ROUTER_MAX_IDS], int *nids)
{
	*nids = 0;
	while (*pattern && *path) {
		const char *pe = strchr(pattern, '/');
		const char *se = strchr(path, '/');
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
		} else if (plen != slen || strncmp(pattern, path, plen) != 0)
			return 0;
		pattern += plen;
		path += slen;
	}
	return *pattern == '\0' && *path == '\0';
}

enum router_result
router_match(const struct route *routes, size_t n, unsigned method, const char *path,
    const struct route **out, int64_t ids[ROUTER_MAX_IDS], int *nids, unsigned *allowed)
{
	int64_t tmp[ROUTER_MAX_IDS];
	int ntmp;

	*allowed = 0;
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!match_path(routes[i].pattern, path, tmp, &ntmp))
			continue;
		*allowed |= routes[i].method;
		if ((routes[i].method & method) && *out == NULL) {
			*out = &routes[i];
			memcpy(ids, tmp, sizeof(tmp));
			*nids = ntmp;
		}
	}
	if (*out)
		return ROUTE_FOUND;
	return *allowed ? ROUTE_NO_METHOD : ROUTE_NO_PATH;
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
