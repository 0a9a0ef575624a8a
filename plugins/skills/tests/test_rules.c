/* The skills plugin's rules (rules.c), without a daemon. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "rules.h"

static void
test_scale__2_to_8_levels_acquired_on_the_scale(void **state)
{
	(void)state;
	assert_null(skills_scale_error(2, 2));
	assert_null(skills_scale_error(4, 3));
	assert_null(skills_scale_error(8, 1));
	assert_non_null(skills_scale_error(1, 1));
	assert_non_null(skills_scale_error(9, 3));
	assert_non_null(skills_scale_error(4, 0));
	assert_non_null(skills_scale_error(4, 5));
}

static void
test_level__on_the_scale(void **state)
{
	(void)state;
	assert_null(skills_level_error(1, 4));
	assert_null(skills_level_error(4, 4));
	assert_non_null(skills_level_error(0, 4));
	assert_non_null(skills_level_error(5, 4));
}

static void
test_date__not_future_not_before_first_contract(void **state)
{
	(void)state;
	assert_null(skills_date_error("2026-03-02", "2026-03-02", "2026-01-05"));
	assert_null(skills_date_error("2026-01-05", "2026-03-02", "2026-01-05"));
	assert_non_null(
	    strstr(skills_date_error("2026-03-03", "2026-03-02", "2026-01-05"), "future"));
	assert_non_null(
	    strstr(skills_date_error("2026-01-04", "2026-03-02", "2026-01-05"), "before"));
	assert_non_null(strstr(skills_date_error("2026-03-01", "2026-03-02", NULL), "no contract"));
}

static void
test_trend(void **state)
{
	(void)state;
	assert_string_equal(skills_trend(0, 2, 0), "new");
	assert_string_equal(skills_trend(2, 3, 1), "up");
	assert_string_equal(skills_trend(3, 2, 1), "down");
	assert_string_equal(skills_trend(3, 3, 1), "steady");
}

static void
test_name(void **state)
{
	(void)state;
	assert_true(skills_valid_name("espaces_verts"));
	assert_true(skills_valid_name("rncp39794"));
	assert_false(skills_valid_name(""));
	assert_false(skills_valid_name(NULL));
	assert_false(skills_valid_name("../etc/passwd"));
	assert_false(skills_valid_name("a.json"));
	assert_false(skills_valid_name("-x"));
	assert_false(skills_valid_name("Capital"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scale__2_to_8_levels_acquired_on_the_scale),
		cmocka_unit_test(test_level__on_the_scale),
		cmocka_unit_test(test_date__not_future_not_before_first_contract),
		cmocka_unit_test(test_trend),
		cmocka_unit_test(test_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
