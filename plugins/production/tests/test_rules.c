/* The production plugin's rules (rules.c), without a daemon: planning at its boundaries. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "rules.h"

#define D(s) prod_day(s)

/* Facts of a plannable half-day: change one to test one rule. */
static struct plan_facts
ok_facts(void)
{
	struct plan_facts f = { .in_work_order = 1,
		.contract_active = 1,
		.weekly_hours = 35,
		.week_planned = 0,
		.hours = 3.5,
		.first_assignment = 1,
		.briefed = 1 };
	return f;
}

#define M(s) prod_minutes(s)

static void
test_times__quarter_hours_within_the_day(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(M("00:00"), 0);
	assert_int_equal(M("09:15"), 555);
	assert_int_equal(M("24:00"), 1440);
	assert_int_equal(M("24:15"), -1);
	assert_int_equal(M("09:10"), -1);
	assert_int_equal(M("09:60"), -1);
	assert_int_equal(M("9:15"), -1);
	assert_int_equal(M("09:15:00"), -1);
	assert_int_equal(M(NULL), -1);
	prod_hhmm(M("13:30"), buf, sizeof(buf));
	assert_string_equal(buf, "13:30");
}

static void
test_overlap__touching_a_half_day_end_is_none_crossing_it_is(void **state)
{
	/* The default half-days: morning 08:00-12:00, afternoon 13:30-17:00. */
	struct prod_range morning = { M("08:00"), M("12:00") };
	struct prod_range afternoon = { M("13:30"), M("17:00") };
	struct prod_range touch = { M("12:00"), M("13:30") };
	struct prod_range cross = { M("11:45"), M("12:30") };
	struct prod_range before = { M("07:00"), M("08:00") };
	struct prod_range inside = { M("09:00"), M("11:30") };
	struct prod_range late = { M("17:00"), M("18:00") };
	struct prod_range lunch_cross = { M("13:15"), M("13:45") };

	(void)state;
	assert_false(plan_overlap(touch, morning));
	assert_false(plan_overlap(morning, touch));
	assert_false(plan_overlap(touch, afternoon));
	assert_true(plan_overlap(cross, morning));
	assert_false(plan_overlap(cross, afternoon));
	assert_false(plan_overlap(before, morning));
	assert_true(plan_overlap(inside, morning));
	assert_true(plan_overlap(morning, inside));
	assert_false(plan_overlap(late, afternoon));
	assert_true(plan_overlap(lunch_cross, afternoon));
	assert_true(plan_overlap(lunch_cross, touch));
	assert_true(plan_overlap(morning, morning));
	assert_false(plan_overlap(morning, afternoon));
}

static void
test_range_hours__the_real_hours_count_against_the_week(void **state)
{
	struct plan_facts f = ok_facts();
	struct prod_range r = { M("09:00"), M("11:30") };

	(void)state;
	assert_true(plan_range_hours(r) == 2.5);
	assert_true(plan_range_hours((struct prod_range){ M("08:00"), M("08:15") }) == 0.25);
	/* 35 a week: 32.5 planned leaves room for 09:00-11:30 exactly, not a quarter more. */
	f.week_planned = 32.5;
	f.hours = plan_range_hours(r);
	assert_int_equal(plan_check(&f), PLAN_OK);
	f.hours = plan_range_hours((struct prod_range){ M("09:00"), M("11:45") });
	assert_int_equal(plan_check(&f), PLAN_WEEK_HOURS);
}

static void
test_dates__calendar_and_weeks(void **state)
{
	char buf[16];

	(void)state;
	assert_int_equal(D("1970-01-01"), 0);
	assert_int_equal(D("2026-02-29"), -1);
	assert_int_equal(D("2024-02-29"), D("2024-03-01") - 1);
	assert_int_equal(D("2026-13-01"), -1);
	/* 2026-03-04 is a Wednesday; its week starts Monday 2026-03-02, Sunday stays in it. */
	assert_int_equal(prod_monday(D("2026-03-04")), D("2026-03-02"));
	assert_int_equal(prod_monday(D("2026-03-02")), D("2026-03-02"));
	assert_int_equal(prod_monday(D("2026-03-08")), D("2026-03-02"));
	assert_int_equal(prod_monday(D("2026-03-09")), D("2026-03-09"));
	prod_date(D("2028-12-31"), buf, sizeof(buf));
	assert_string_equal(buf, "2028-12-31");
}

static void
test_contract_ending_mid_week__active_to_its_last_day_only(void **state)
{
	/* Ends Wednesday 2026-03-04; the next one starts Monday 2026-03-09. */
	struct prod_span c[] = { { D("2025-09-01"), D("2026-03-04"), 26 },
		{ D("2026-03-09"), D("2026-09-08"), 35 } };

	(void)state;
	assert_int_equal(plan_contract_on(D("2026-03-04"), c, 2, NULL, 0), 0);
	assert_int_equal(plan_contract_on(D("2026-03-05"), c, 2, NULL, 0), -1);
	assert_int_equal(plan_contract_on(D("2026-03-08"), c, 2, NULL, 0), -1);
	assert_int_equal(plan_contract_on(D("2026-03-09"), c, 2, NULL, 0), 1);
	assert_int_equal(plan_contract_on(D("2025-08-31"), c, 2, NULL, 0), -1);
}

static void
test_suspension__inactive_on_its_days_bounds_included(void **state)
{
	struct prod_span c[] = { { D("2026-01-05"), D("2026-07-04"), 26 } };
	struct prod_span s[] = { { D("2026-03-03"), D("2026-03-05"), 0 } };

	(void)state;
	assert_int_equal(plan_contract_on(D("2026-03-02"), c, 1, s, 1), 0);
	assert_int_equal(plan_contract_on(D("2026-03-03"), c, 1, s, 1), -1);
	assert_int_equal(plan_contract_on(D("2026-03-05"), c, 1, s, 1), -1);
	assert_int_equal(plan_contract_on(D("2026-03-06"), c, 1, s, 1), 0);
}

static void
test_35_hour_week__exactly_35_ok_beyond_refused_on_hours(void **state)
{
	struct plan_facts f = ok_facts();

	(void)state;
	f.week_planned = 31.5;
	f.hours = 3.5;
	assert_int_equal(plan_check(&f), PLAN_OK);
	f.hours = 3.75;
	assert_int_equal(plan_check(&f), PLAN_WEEK_HOURS);
	assert_string_equal(plan_field(PLAN_WEEK_HOURS), "hours");
	/* A 26-hour contract: 26 fits, 26.25 does not. */
	f.weekly_hours = 26;
	f.week_planned = 22.5;
	f.hours = 3.5;
	assert_int_equal(plan_check(&f), PLAN_OK);
	f.hours = 3.75;
	assert_int_equal(plan_check(&f), PLAN_WEEK_HOURS);
}

static void
test_planned_twice__refused_on_slot(void **state)
{
	struct plan_facts f = ok_facts();

	(void)state;
	f.double_booked = 1;
	assert_int_equal(plan_check(&f), PLAN_DOUBLE_BOOKED);
	assert_string_equal(plan_field(PLAN_DOUBLE_BOOKED), "slot");
}

static void
test_each_refusal__its_field_and_order(void **state)
{
	struct plan_facts f = ok_facts();

	(void)state;
	assert_int_equal(plan_check(&f), PLAN_OK);
	assert_null(plan_field(PLAN_OK));
	f.briefed = 0;
	assert_int_equal(plan_check(&f), PLAN_NO_BRIEFING);
	assert_string_equal(plan_field(PLAN_NO_BRIEFING), "date");
	/* Not a first assignment: the briefing rule does not apply. */
	f.first_assignment = 0;
	assert_int_equal(plan_check(&f), PLAN_OK);
	f.equipment_missing = 1;
	assert_int_equal(plan_check(&f), PLAN_NO_EQUIPMENT);
	assert_string_equal(plan_field(PLAN_NO_EQUIPMENT), "work_order_id");
	f.absent = 1;
	assert_int_equal(plan_check(&f), PLAN_ABSENT);
	f.contract_active = 0;
	assert_int_equal(plan_check(&f), PLAN_NO_CONTRACT);
	assert_string_equal(plan_field(PLAN_NO_CONTRACT), "date");
	f.in_work_order = 0;
	assert_int_equal(plan_check(&f), PLAN_OUTSIDE_WORK_ORDER);
	assert_non_null(strstr(plan_reason(PLAN_NO_CONTRACT), "suspended"));
}

static void
test_order_transitions(void **state)
{
	(void)state;
	assert_true(order_transition_ok("quote", "accepted"));
	assert_true(order_transition_ok("accepted", "in_progress"));
	assert_true(order_transition_ok("in_progress", "done"));
	assert_true(order_transition_ok("done", "invoiced"));
	assert_true(order_transition_ok("in_progress", "cancelled"));
	assert_false(order_transition_ok("done", "cancelled"));
	assert_false(order_transition_ok("invoiced", "cancelled"));
	assert_false(order_transition_ok("cancelled", "quote"));
	assert_false(order_transition_ok("quote", "done"));
	assert_false(order_transition_ok("invoiced", "done"));
}

static void
test_hours_roll_up__week_and_month_bounds(void **state)
{
	/* Sunday 2026-03-01 belongs to the week before; Tuesday 2026-03-31 to March. */
	struct prod_hours h[] = { { D("2026-03-01"), 7 }, { D("2026-03-02"), 7 },
		{ D("2026-03-08"), 3.5 }, { D("2026-03-09"), 7 }, { D("2026-03-31"), 6 },
		{ D("2026-04-01"), 7 } };
	int64_t mon = D("2026-03-02");

	(void)state;
	assert_true(hours_between(h, 6, mon, mon + 6) == 10.5);
	assert_true(hours_between(h, 6, D("2026-03-01"), D("2026-03-31")) == 30.5);
	assert_true(hours_between(h, 6, D("2026-03-31"), D("2026-03-31")) == 6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates__calendar_and_weeks),
		cmocka_unit_test(test_contract_ending_mid_week__active_to_its_last_day_only),
		cmocka_unit_test(test_suspension__inactive_on_its_days_bounds_included),
		cmocka_unit_test(test_35_hour_week__exactly_35_ok_beyond_refused_on_hours),
		cmocka_unit_test(test_planned_twice__refused_on_slot),
		cmocka_unit_test(test_each_refusal__its_field_and_order),
		cmocka_unit_test(test_order_transitions),
		cmocka_unit_test(test_times__quarter_hours_within_the_day),
		cmocka_unit_test(test_overlap__touching_a_half_day_end_is_none_crossing_it_is),
		cmocka_unit_test(test_range_hours__the_real_hours_count_against_the_week),
		cmocka_unit_test(test_hours_roll_up__week_and_month_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
