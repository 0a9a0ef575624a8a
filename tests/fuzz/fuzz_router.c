/*
 * The router: the request target as evhttp parses it from the request line,
 * then router_match on its path with every method, and the Allow header of
 * a 405. The first byte picks the method; the rest is the target.
 */
#include "fuzz.h"

#include <event2/http.h>

#include "handlers.h"
#include "router.h"

static const unsigned methods[] = { M_GET, M_POST, M_PATCH, M_PUT, M_DELETE, M_HEAD, M_OPTIONS,
	M_OTHER };

/* The path a route and its ids stand for: what was matched must be exactly that. */
static void
check_same_path(const char *pattern, const int64_t *ids, int nids, const char *path)
{
	size_t size = strlen(path) + 1;
	char *buf = malloc(size);
	size_t off = 0;
	int k = 0;

	FUZZ_CHECK(buf != NULL);
	for (const char *p = pattern; *p;) {
		if (strncmp(p, "{id}", 4) == 0) {
			FUZZ_CHECK(k < nids && ids[k] > 0);
			int w = snprintf(buf + off, size - off, "%lld", (long long)ids[k++]);
			FUZZ_CHECK(w > 0 && (size_t)w < size - off);
			off += (size_t)w;
			p += 4;
		} else {
			FUZZ_CHECK(off + 1 < size);
			buf[off++] = *p++;
		}
	}
	buf[off] = '\0';
	FUZZ_CHECK(k == nids);
	FUZZ_CHECK(strcmp(buf, path) == 0);
	free(buf);
}

static void
route(unsigned method, const char *path)
{
	const struct route *rt;
	int64_t ids[ROUTER_MAX_IDS];
	int nids = -1;
	unsigned allowed;
	char allow[64];

	switch (router_match(core_routes, ncore_routes, method, path, &rt, ids, &nids, &allowed)) {
	case ROUTE_FOUND:
		FUZZ_CHECK(rt != NULL && (rt->method & method));
		FUZZ_CHECK(nids >= 0 && nids <= ROUTER_MAX_IDS);
		FUZZ_CHECK(rt->fn != NULL);
		check_same_path(rt->pattern, ids, nids, path);
		break;
	case ROUTE_NO_METHOD:
		FUZZ_CHECK(rt == NULL && allowed != 0 && !(allowed & method));
		router_allow_header(allowed, allow, sizeof(allow));
		FUZZ_CHECK(strlen(allow) > 0 && strlen(allow) < sizeof(allow));
		break;
	case ROUTE_NO_PATH:
		FUZZ_CHECK(rt == NULL && allowed == 0);
		break;
	default:
		FUZZ_CHECK(!"router_match returned no result");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned method;
	char *target;
	struct evhttp_uri *uri;

	if (size < 1)
		return 0;
	method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
	target = fuzz_cstr(data + 1, size - 1);

	/* As the request line reaches route_request, and as a raw path. */
	uri = evhttp_uri_parse_with_flags(target, EVHTTP_URI_NONCONFORMANT);
	if (uri != NULL) {
		const char *path = evhttp_uri_get_path(uri);
		route(method, path == NULL || *path == '\0' ? "/" : path);
		evhttp_uri_free(uri);
	}
	route(method, target);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		route(methods[i], target);
	free(target);
	return 0;
}
