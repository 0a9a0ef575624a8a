/*
 * Query strings: evhttp_parse_query_str as route_request calls it, the
 * check of unknown parameters (api_query_only) and the reading of limit and
 * cursor (api_page). The input is the query string; it is also tried as the
 * query of a request target, as evhttp splits it from the path.
 */
#include "fuzz.h"

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api.h"
#include "cursor.h"
#include "util.h"

static const char *const allowed[] = { "limit", "cursor", "status", "team", NULL };

static void
check_query(const char *query)
{
	struct evkeyvalq q;
	struct evkeyval *kv;
	const char *unknown, *limit, *cursor;
	int64_t v;

	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(query, &q) == -1) {
		evhttp_clear_headers(&q);
		return;
	}
	TAILQ_FOREACH (kv, &q, next)
		FUZZ_CHECK(kv->key != NULL && kv->value != NULL);
	unknown = api_query_unknown(&q, allowed);
	if (unknown != NULL) {
		int listed = 0;
		for (const char *const *a = allowed; *a; a++)
			FUZZ_CHECK(strcmp(unknown, *a) != 0);
		TAILQ_FOREACH (kv, &q, next)
			listed |= kv->key == unknown;
		FUZZ_CHECK(listed);
	}
	if ((limit = evhttp_find_header(&q, "limit")) != NULL &&
	    tr_parse_i64(limit, 1, API_LIST_MAX, &v) == 0)
		FUZZ_CHECK(v >= 1 && v <= API_LIST_MAX);
	if ((cursor = evhttp_find_header(&q, "cursor")) != NULL && cursor_decode(cursor, &v) == 0)
		FUZZ_CHECK(v > 0);
	evhttp_clear_headers(&q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *query = fuzz_cstr(data, size);
	size_t tlen = size + sizeof("/v1/employees?");
	char *target = malloc(tlen);
	struct evhttp_uri *uri;

	FUZZ_CHECK(target != NULL);
	check_query(query);
	snprintf(target, tlen, "/v1/employees?%s", query);
	uri = evhttp_uri_parse_with_flags(target, EVHTTP_URI_NONCONFORMANT);
	if (uri != NULL) {
		if (evhttp_uri_get_query(uri) != NULL)
			check_query(evhttp_uri_get_query(uri));
		evhttp_uri_free(uri);
	}
	free(target);
	free(query);
	return 0;
}
