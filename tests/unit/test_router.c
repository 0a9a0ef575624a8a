/* router.c: (method, path) -> route, with {id} segments, 404 and 405. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "handlers.h"
#include "metrics.h"
#include "router.h"

static void
h_list(struct tremplin_request *r)
{
	(void)r;
}

static void
h_get(struct tremplin_request *r)
{
	(void)r;
}

static void
h_pair(struct tremplin_request *r)
{
	(void)r;
}

static const struct route routes[] = {
	{ .method = M_GET | M_POST, .pattern = "/v1/things", .fn = h_list },
	{ .method = M_GET, .pattern = "/v1/things/{id}", .fn = h_get },
	{ .method = M_PATCH, .pattern = "/v1/things/{id}", .fn = h_get, .flags = RF_BODY },
	{ .method = M_GET, .pattern = "/v1/things/{id}/parts/{id}", .fn = h_pair },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

struct match {
	enum router_result res;
	const struct route *route;
	int64_t ids[ROUTER_MAX_IDS];
	int nids;
	unsigned allowed;
};

static struct match
match_in(const struct route *table, size_t n, unsigned method, const char *path)
{
	struct match m;

	memset(&m, 0, sizeof(m));
	m.nids = -1;
	m.res = router_match(table, n, method, path, &m.route, m.ids, &m.nids, &m.allowed);
	return m;
}

static struct match
match(unsigned method, const char *path)
{
	return match_in(routes, NROUTES, method, path);
}

static void
test_router__exact_path__found_without_ids(void **state)
{
	struct match m = match(M_POST, "/v1/things");

	(void)state;
	assert_int_equal(m.res, ROUTE_FOUND);
	assert_ptr_equal(m.route, &routes[0]);
	assert_int_equal(m.nids, 0);
	assert_int_equal(m.allowed, M_GET | M_POST);
}

static void
test_router__id_segment__found_with_its_value(void **state)
{
	struct match m = match(M_GET, "/v1/things/42");

	(void)state;
	assert_int_equal(m.res, ROUTE_FOUND);
	assert_ptr_equal(m.route, &routes[1]);
	assert_int_equal(m.nids, 1);
	assert_int_equal(m.ids[0], 42);
}

static void
test_router__same_path_other_method__next_route_found(void **state)
{
	struct match m = match(M_PATCH, "/v1/things/7");

	(void)state;
	assert_int_equal(m.res, ROUTE_FOUND);
	assert_ptr_equal(m.route, &routes[2]);
	assert_int_equal(m.route->flags, RF_BODY);
	assert_int_equal(m.ids[0], 7);
}

static void
test_router__two_id_segments__both_values_in_order(void **state)
{
	struct match m = match(M_GET, "/v1/things/12/parts/345");

	(void)state;
	assert_int_equal(m.res, ROUTE_FOUND);
	assert_ptr_equal(m.route, &routes[3]);
	assert_int_equal(m.nids, 2);
	assert_int_equal(m.ids[0], 12);
	assert_int_equal(m.ids[1], 345);
}

static void
test_router__id_18_digits__found(void **state)
{
	struct match m = match(M_GET, "/v1/things/999999999999999999");

	(void)state;
	assert_int_equal(m.res, ROUTE_FOUND);
	assert_true(m.ids[0] == INT64_C(999999999999999999));
}

static void
test_router__id_not_a_positive_integer__no_path(void **state)
{
	static const char *const bad[] = {
		"/v1/things/0",
		"/v1/things/007",
		"/v1/things/abc",
		"/v1/things/12a",
		"/v1/things/-1",
		"/v1/things/+1",
		"/v1/things/1.5",
		"/v1/things/ 1",
		"/v1/things/1000000000000000000", /* 19 digits */
		"/v1/things/9223372036854775807", /* INT64_MAX */
		"/v1/things/",
		"/v1/things/12/parts/0",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct match m = match(M_GET, bad[i]);
		if (m.res != ROUTE_NO_PATH)
			fail_msg("%s: expected ROUTE_NO_PATH, got %d", bad[i], m.res);
		assert_null(m.route);
		assert_int_equal(m.allowed, 0);
	}
}

static void
test_router__trailing_slash_or_extra_segment__no_path(void **state)
{
	static const char *const bad[] = {
		"/v1/things/",
		"/v1/things/3/",
		"/v1/things/3/parts",
		"/v1/things/3/parts/4/",
		"/v1//things",
		"//v1/things",
		"v1/things",
		"/v1/thing",
		"/v1/thingsx",
		"/v1",
		"/",
		"",
		"/v2/things",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct match m = match(M_GET, bad[i]);
		if (m.res != ROUTE_NO_PATH)
			fail_msg("\"%s\": expected ROUTE_NO_PATH, got %d", bad[i], m.res);
	}
}

static void
test_router__known_path_other_method__no_method_with_allowed_bits(void **state)
{
	struct match m = match(M_DELETE, "/v1/things/3");
	char allow[64];

	(void)state;
	assert_int_equal(m.res, ROUTE_NO_METHOD);
	assert_null(m.route);
	assert_int_equal(m.allowed, M_GET | M_PATCH);
	router_allow_header(m.allowed, allow, sizeof(allow));
	assert_string_equal(allow, "GET, PATCH");

	m = match(M_PATCH, "/v1/things");
	assert_int_equal(m.res, ROUTE_NO_METHOD);
	assert_int_equal(m.allowed, M_GET | M_POST);
	router_allow_header(m.allowed, allow, sizeof(allow));
	assert_string_equal(allow, "GET, POST");
}

static void
test_router__allow_header__methods_in_fixed_order(void **state)
{
	char allow[64];

	(void)state;
	router_allow_header(M_DELETE | M_PUT | M_PATCH | M_POST | M_GET, allow, sizeof(allow));
	assert_string_equal(allow, "GET, POST, PATCH, PUT, DELETE");
	router_allow_header(M_POST, allow, sizeof(allow));
	assert_string_equal(allow, "POST");
	router_allow_header(0, allow, sizeof(allow));
	assert_string_equal(allow, "");
}

static void
test_router__allow_header_small_buffer__terminated_within_size(void **state)
{
	char buf[32];

	(void)state;
	memset(buf, 'Z', sizeof(buf));
	router_allow_header(M_GET | M_POST | M_PATCH | M_DELETE, buf, 8);
	assert_true(strlen(buf) < 8);
	assert_true(strncmp(buf, "GET", 3) == 0);
	for (size_t i = 8; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 'Z');
}

/* The router's own table: registered routes, string segments, removal by owner. */
static void
dummy(struct tremplin_request *r)
{
	(void)r;
}

static void
test_router__registered__ids_and_string_segments_then_removed_with_owner(void **state)
{
	struct router *rt = router_new();
	int owner_a, owner_b;
	struct route a = { .method = M_GET,
		.pattern = "/v1/skills/referentials/{code}/items/{id}",
		.fn = dummy,
		.owner = &owner_a };
	struct route b = { .method = M_PATCH,
		.pattern = "/v1/skills/referentials/{code}/items/{id}",
		.fn = dummy,
		.owner = &owner_b };
	struct route_params ps;
	const struct route *out;
	int64_t ids[ROUTER_MAX_IDS];
	int nids;
	unsigned allowed;

	(void)state;
	assert_int_equal(router_add(rt, &a), 0);
	assert_int_equal(router_add(rt, &b), 0);
	/* The same method on the same shape is taken, whatever the segments' names. */
	a.pattern = "/v1/skills/referentials/{other}/items/{id}";
	assert_int_equal(router_add(rt, &a), -1);
	assert_int_equal(router_lookup(rt, M_GET, "/v1/skills/referentials/RNCP39794/items/7", &out,
	                     ids, &nids, &ps, &allowed),
	    ROUTE_FOUND);
	assert_int_equal(nids, 1);
	assert_int_equal(ids[0], 7);
	assert_int_equal(ps.n, 1);
	assert_int_equal(ps.namelen[0], 4);
	assert_memory_equal(ps.names[0], "code", 4);
	assert_string_equal(ps.values[0], "RNCP39794");
	/* A segment outside [A-Za-z0-9._-] matches nothing. */
	assert_int_equal(router_lookup(rt, M_GET, "/v1/skills/referentials/a b/items/7", &out, ids,
	                     &nids, &ps, &allowed),
	    ROUTE_NO_PATH);
	router_remove_owner(rt, &owner_a);
	assert_int_equal(router_count(rt), 1);
	assert_int_equal(router_lookup(rt, M_GET, "/v1/skills/referentials/X/items/7", &out, ids,
	                     &nids, &ps, &allowed),
	    ROUTE_NO_METHOD);
	assert_int_equal(allowed, M_PATCH);
	router_free(rt);
}

static void
test_router__core_routes__each_handler_and_action(void **state)
{
	static const struct {
		unsigned method;
		const char *path;
		route_fn fn;
		enum action action;
		unsigned flags;
	} want[] = {
		{ M_GET, "/v1/health", system_health, ACT_HEALTH_READ, RF_MONITOR },
		{ M_GET, "/v1/whoami", system_whoami, ACT_WHOAMI, 0 },
		{ M_GET, "/v1/openapi.json", system_openapi, ACT_HEALTH_READ, RF_MONITOR },
		{ M_GET, "/v1/metrics", metrics_serve, ACT_METRICS_READ, RF_MONITOR },
		{ M_GET, "/v1/backup", system_backup, ACT_BACKUP, 0 },
		{ M_GET, "/v1/plugins", system_plugins, ACT_PLUGINS_READ, 0 },
		{ M_POST, "/v1/plugins/reload", system_plugins_reload, ACT_PLUGINS_RELOAD, 0 },
		{ M_GET, "/v1/events", events_list, ACT_EVENTS_READ, 0 },
		{ M_GET, "/v1/policy", policy_show, ACT_POLICY_READ, 0 },
		{ M_GET, "/v1/audit", audit_api_list, ACT_AUDIT_READ, 0 },
		{ M_GET, "/v1/retention", retention_show, ACT_RETENTION_READ, 0 },
		{ M_POST, "/v1/retention/confirm", retention_confirm, ACT_RETENTION_CONFIRM,
		    RF_BODY },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct match m = match_in(core_routes, ncore_routes, want[i].method, want[i].path);
		if (m.res != ROUTE_FOUND)
			fail_msg("%s: not found (%d)", want[i].path, m.res);
		if (m.route->fn != want[i].fn || m.route->action != want[i].action ||
		    m.route->flags != want[i].flags)
			fail_msg("%s: wrong route (pattern %s)", want[i].path, m.route->pattern);
	}
}

static void
test_router__core_post_on_item__no_method_get_patch(void **state)
{
	struct match m = match_in(core_routes, ncore_routes, M_POST, "/v1/plugins");
	char allow[64];

	(void)state;
	assert_int_equal(m.res, ROUTE_NO_METHOD);
	router_allow_header(m.allowed, allow, sizeof(allow));
	assert_string_equal(allow, "GET");

	m = match_in(core_routes, ncore_routes, M_DELETE, "/v1/health");
	assert_int_equal(m.res, ROUTE_NO_METHOD);
	router_allow_header(m.allowed, allow, sizeof(allow));
	assert_string_equal(allow, "GET");
}

static void
test_router__core_unknown_path__no_path(void **state)
{
	(void)state;
	assert_int_equal(
	    match_in(core_routes, ncore_routes, M_GET, "/v1/events/0").res, ROUTE_NO_PATH);
	assert_int_equal(
	    match_in(core_routes, ncore_routes, M_GET, "/v1/events/").res, ROUTE_NO_PATH);
	assert_int_equal(
	    match_in(core_routes, ncore_routes, M_GET, "/v1/health/").res, ROUTE_NO_PATH);
	assert_int_equal(
	    match_in(core_routes, ncore_routes, M_GET, "/v1/employers").res, ROUTE_NO_PATH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_router__exact_path__found_without_ids),
		cmocka_unit_test(test_router__id_segment__found_with_its_value),
		cmocka_unit_test(test_router__same_path_other_method__next_route_found),
		cmocka_unit_test(test_router__two_id_segments__both_values_in_order),
		cmocka_unit_test(test_router__id_18_digits__found),
		cmocka_unit_test(test_router__id_not_a_positive_integer__no_path),
		cmocka_unit_test(test_router__trailing_slash_or_extra_segment__no_path),
		cmocka_unit_test(test_router__known_path_other_method__no_method_with_allowed_bits),
		cmocka_unit_test(test_router__allow_header__methods_in_fixed_order),
		cmocka_unit_test(test_router__allow_header_small_buffer__terminated_within_size),
		cmocka_unit_test(
		    test_router__registered__ids_and_string_segments_then_removed_with_owner),
		cmocka_unit_test(test_router__core_routes__each_handler_and_action),
		cmocka_unit_test(test_router__core_post_on_item__no_method_get_patch),
		cmocka_unit_test(test_router__core_unknown_path__no_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
