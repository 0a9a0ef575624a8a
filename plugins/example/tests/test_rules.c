/* The example plugin's rules (rules.c), without a daemon: each rule, its edges, its order. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "rules.h"

static void
test_present__hours_any_incident__ok(void **state)
{
	(void)state;
	assert_int_equal(checkin_rules(1, 0, "none", 0), CHECKIN_OK);
	assert_int_equal(checkin_rules(1, 7.5, "none", 0), CHECKIN_OK);
	assert_int_equal(checkin_rules(1, 10, "near_miss", 0), CHECKIN_OK);
	assert_int_equal(checkin_rules(1, 3, "injury", 0), CHECKIN_OK);
}

static void
test_absent__no_hours_or_zero__ok(void **state)
{
	(void)state;
	/* Null hours reach the rule as 0: an absence may say so either way. */
	assert_int_equal(checkin_rules(0, 0, "none", 0), CHECKIN_OK);
	assert_int_equal(checkin_rules(0, 0, NULL, 0), CHECKIN_OK);
}

static void
test_absent__any_hours__refused_on_hours(void **state)
{
	(void)state;
	assert_int_equal(checkin_rules(0, 0.25, "none", 0), CHECKIN_HOURS_ABSENT);
	assert_int_equal(checkin_rules(0, 10, "none", 0), CHECKIN_HOURS_ABSENT);
	assert_string_equal(checkin_field(CHECKIN_HOURS_ABSENT), "hours");
	assert_non_null(strstr(checkin_reason(CHECKIN_HOURS_ABSENT), "present"));
}

static void
test_medical_detail__with_an_injury__ok(void **state)
{
	(void)state;
	assert_int_equal(checkin_rules(1, 2, "injury", 1), CHECKIN_OK);
	/* Injured before starting: absent all day, the detail is still the point. */
	assert_int_equal(checkin_rules(0, 0, "injury", 1), CHECKIN_OK);
}

static void
test_medical_detail__without_an_injury__refused_on_medical_detail(void **state)
{
	(void)state;
	assert_int_equal(checkin_rules(1, 7, "none", 1), CHECKIN_DETAIL_NO_INJURY);
	assert_int_equal(checkin_rules(1, 7, "near_miss", 1), CHECKIN_DETAIL_NO_INJURY);
	assert_int_equal(checkin_rules(1, 7, NULL, 1), CHECKIN_DETAIL_NO_INJURY);
	/* The value is matched whole: a prefix or another case is not an injury. */
	assert_int_equal(checkin_rules(1, 7, "injur", 1), CHECKIN_DETAIL_NO_INJURY);
	assert_int_equal(checkin_rules(1, 7, "Injury", 1), CHECKIN_DETAIL_NO_INJURY);
	assert_string_equal(checkin_field(CHECKIN_DETAIL_NO_INJURY), "medical_detail");
	assert_non_null(strstr(checkin_reason(CHECKIN_DETAIL_NO_INJURY), "injury"));
}

static void
test_both_broken__hours_named_first(void **state)
{
	(void)state;
	assert_int_equal(checkin_rules(0, 4, "none", 1), CHECKIN_HOURS_ABSENT);
}

static void
test_ok__names_no_field(void **state)
{
	(void)state;
	assert_null(checkin_field(CHECKIN_OK));
	assert_null(checkin_reason(CHECKIN_OK));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_present__hours_any_incident__ok),
		cmocka_unit_test(test_absent__no_hours_or_zero__ok),
		cmocka_unit_test(test_absent__any_hours__refused_on_hours),
		cmocka_unit_test(test_medical_detail__with_an_injury__ok),
		cmocka_unit_test(test_medical_detail__without_an_injury__refused_on_medical_detail),
		cmocka_unit_test(test_both_broken__hours_named_first),
		cmocka_unit_test(test_ok__names_no_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
