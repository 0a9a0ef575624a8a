/* views.c: which views' reads the audit log records, and for whom. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include <jansson.h>

#include "views.h"

static void
test_views__shipped_views__identity_and_review_dates_not_audited(void **state)
{
	(void)state;
	assert_non_null(view_find("contracts_ending.v1"));
	assert_int_equal(view_audited(view_find("contracts_ending.v1")), 0);
	assert_int_equal(view_audited(view_find("structures.v1")), 0);
	assert_int_equal(view_audited(view_find("staff.v1")), 0);
}

static void
test_views__social_and_sensitive_declared__those_audited(void **state)
{
	struct view v = {
		.name = "barriers.v1",
		.categories = (1u << CAT_IDENTITY) | (1u << CAT_SOCIAL) | (1u << CAT_SENSITIVE) |
		    (1u << CAT_REVIEW_META),
	};

	(void)state;
	assert_int_equal(view_audited(&v), (1u << CAT_SOCIAL) | (1u << CAT_SENSITIVE));
}

/*
 * A script reads a view with its role alone, as any member of staff, never
 * as a person's referent: each role a view admits must read every category
 * it shows, or a script with the eti role would read a prescriber or a
 * suspension's reason the API hides from the ETI.
 */
static void
test_views__every_role_admitted__reads_every_category_shown(void **state)
{
	size_t n;
	const struct view *v = view_list(&n);

	(void)state;
	assert_true(n >= 3);
	for (size_t i = 0; i < n; i++)
		for (int r = ROLE_ETI; r < ROLE_MAX; r++) {
			struct access a = { .role = (enum role)r };
			if (!(v[i].roles & ROLEBIT(r)))
				continue;
			for (int c = CAT_NONE + 1; c < CAT_MAX; c++)
				if ((v[i].categories & (1u << c)) &&
				    !policy_can_read(&a, (enum category)c))
					fail_msg("view %s shows %s, which %s does not read",
					    v[i].name, category_name((enum category)c),
					    role_name((enum role)r));
		}
}

static void
test_views__employees__distinct_ids_in_first_seen_order(void **state)
{
	json_t *rows = json_loads("[{\"employee_id\": 7}, {\"employee_id\": 3},"
	                          " {\"contract_id\": 1}, {\"employee_id\": 7},"
	                          " {\"employee_id\": \"9\"}, {\"employee_id\": 3}]",
	    0, NULL);
	size_t n;
	int64_t *ids;

	(void)state;
	ids = view_employees(rows, &n);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 7);
	assert_int_equal(ids[1], 3);
	free(ids);
	json_decref(rows);
}

static void
test_views__employees__many_rows__each_once(void **state)
{
	json_t *rows = json_array();
	size_t n;
	int64_t *ids;

	(void)state;
	for (int i = 0; i < VIEW_MAX_ROWS; i++)
		json_array_append_new(rows, json_pack("{s:i}", "employee_id", 1 + i % 1000));
	ids = view_employees(rows, &n);
	assert_int_equal(n, 1000);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ids[i], (int64_t)i + 1);
	free(ids);
	json_decref(rows);
}

static void
test_views__employees__no_column__none(void **state)
{
	json_t *rows = json_loads("[{\"id\": 1}]", 0, NULL);
	size_t n = 5;

	(void)state;
	assert_null(view_employees(rows, &n));
	assert_int_equal(n, 0);
	json_decref(rows);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_views__shipped_views__identity_and_review_dates_not_audited),
		cmocka_unit_test(test_views__social_and_sensitive_declared__those_audited),
		cmocka_unit_test(test_views__every_role_admitted__reads_every_category_shown),
		cmocka_unit_test(test_views__employees__distinct_ids_in_first_seen_order),
		cmocka_unit_test(test_views__employees__many_rows__each_once),
		cmocka_unit_test(test_views__employees__no_column__none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
