/* contract_rules.c: durations, overlaps, ages, derogations, the AI cap: boundary days. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "calendar.h"
#include "kernel/contract_rules.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int64_t
D(const char *s)
{
	int64_t d;

	if (cal_parse(s, strlen(s), &d) == -1)
		fail_msg("bad date in the test: %s", s);
	return d;
}

static void
expect_day(const char *what, int64_t got, const char *want)
{
	char buf[CAL_DATE_LEN];

	cal_format(got, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fail_msg("%s: got %s, expected %s", what, buf, want);
}

/* ---- durations ---- */

static void
test_duration__exactly_4_months__ok(void **state)
{
	(void)state;
	assert_int_equal(cr_duration(D("2026-01-15"), D("2026-05-14")), CR_DURATION_OK);
	assert_int_equal(cr_duration(D("2026-10-31"), D("2027-02-28")), CR_DURATION_OK);
	assert_int_equal(cr_duration(D("2026-01-31"), D("2026-05-30")), CR_DURATION_OK);
}

static void
test_duration__4_months_less_one_day__too_short(void **state)
{
	(void)state;
	assert_int_equal(cr_duration(D("2026-01-15"), D("2026-05-13")), CR_DURATION_TOO_SHORT);
	assert_int_equal(cr_duration(D("2026-10-31"), D("2027-02-27")), CR_DURATION_TOO_SHORT);
	assert_int_equal(cr_duration(D("2026-01-15"), D("2026-01-15")), CR_DURATION_TOO_SHORT);
}

static void
test_duration__exactly_24_months__ok(void **state)
{
	(void)state;
	assert_int_equal(cr_duration(D("2026-01-15"), D("2028-01-14")), CR_DURATION_OK);
	assert_int_equal(cr_duration(D("2024-02-29"), D("2026-02-28")), CR_DURATION_OK);
}

static void
test_duration__24_months_and_one_day__over_24(void **state)
{
	(void)state;
	assert_int_equal(cr_duration(D("2026-01-15"), D("2028-01-15")), CR_DURATION_OVER_24);
	assert_int_equal(cr_duration(D("2024-02-29"), D("2026-03-01")), CR_DURATION_OVER_24);
}

static void
test_duration__60_months__over_24_and_one_day_more__over_60(void **state)
{
	(void)state;
	assert_int_equal(cr_duration(D("2026-01-15"), D("2031-01-14")), CR_DURATION_OVER_24);
	assert_int_equal(cr_duration(D("2026-01-15"), D("2031-01-15")), CR_DURATION_OVER_60);
}

/* ---- overlaps ---- */

static void
test_overlap__periods_sharing_a_day__overlap(void **state)
{
	(void)state;
	/* The last day of one is the first of the other. */
	assert_true(cr_overlap(D("2026-01-01"), D("2026-06-30"), D("2026-06-30"), D("2026-12-31")));
	assert_true(cr_overlap(D("2026-06-30"), D("2026-12-31"), D("2026-01-01"), D("2026-06-30")));
	/* One inside the other; the same single day. */
	assert_true(cr_overlap(D("2026-01-01"), D("2026-12-31"), D("2026-03-01"), D("2026-03-02")));
	assert_true(cr_overlap(D("2026-03-01"), D("2026-03-01"), D("2026-03-01"), D("2026-03-01")));
}

static void
test_overlap__next_day_after_the_end__no_overlap(void **state)
{
	(void)state;
	assert_false(
	    cr_overlap(D("2026-01-01"), D("2026-06-30"), D("2026-07-01"), D("2026-12-31")));
	assert_false(
	    cr_overlap(D("2026-07-01"), D("2026-12-31"), D("2026-01-01"), D("2026-06-30")));
}

/* ---- ages ---- */

static void
test_age__50th_birthday__50_and_the_day_before__49(void **state)
{
	(void)state;
	assert_int_equal(cr_age_on(D("1976-03-15"), D("2026-03-14")), 49);
	assert_int_equal(cr_age_on(D("1976-03-15"), D("2026-03-15")), 50);
	assert_int_equal(cr_age_on(D("1976-12-31"), D("2027-01-01")), 50);
	assert_int_equal(cr_age_on(D("1976-12-31"), D("2026-12-30")), 49);
}

static void
test_age__born_29_february__a_year_older_on_1_march_of_common_years(void **state)
{
	(void)state;
	assert_int_equal(cr_age_on(D("1976-02-29"), D("2026-02-28")), 49);
	assert_int_equal(cr_age_on(D("1976-02-29"), D("2026-03-01")), 50);
	assert_int_equal(cr_age_on(D("1976-02-29"), D("2028-02-28")), 51);
	assert_int_equal(cr_age_on(D("1976-02-29"), D("2028-02-29")), 52);
}

/* ---- hours derogation ---- */

static void
test_derogation__12_months__ok_and_one_day_more__refused(void **state)
{
	(void)state;
	assert_int_equal(cr_derogation_ok(D("2026-01-15"), D("2027-01-14")), 0);
	assert_int_equal(cr_derogation_ok(D("2026-01-15"), D("2027-01-15")), -1);
	assert_int_equal(cr_derogation_ok(D("2026-08-31"), D("2027-08-30")), 0);
	assert_int_equal(cr_derogation_ok(D("2026-08-31"), D("2027-08-31")), -1);
}

static void
test_derogation__until_before_from__refused_and_one_day__ok(void **state)
{
	(void)state;
	assert_int_equal(cr_derogation_ok(D("2026-01-15"), D("2026-01-14")), -1);
	assert_int_equal(cr_derogation_ok(D("2026-01-15"), D("2026-01-15")), 0);
}

/* ---- AI: 480 hours with companies over 24 months ---- */

static void
test_ai_window__no_company_placement__none(void **state)
{
	struct cr_placement p[] = {
		{ D("2026-01-10"), 300, 0 },
		{ D("2026-02-10"), 300, 0 },
	};
	struct cr_ai_window w, over;

	(void)state;
	assert_int_equal(cr_ai_window_at(p, 0, D("2026-01-10"), &w), 0);
	assert_int_equal(cr_ai_window_at(p, NELEM(p), D("2026-03-01"), &w), 0);
	/* Individuals, associations, local authorities do not count. */
	assert_int_equal(cr_ai_check(p, NELEM(p), &over), 0);
}

static void
test_ai_window__24_months_from_the_first_company_placement(void **state)
{
	struct cr_placement p[] = {
		{ D("2026-03-01"), 40, 1 }, { D("2026-01-10"), 100, 1 },
		{ D("2025-12-01"), 70, 0 }, /* an individual, earlier: opens nothing */
		{ D("2028-01-09"), 10, 1 }, /* the window's last day */
	};
	struct cr_ai_window w;

	(void)state;
	assert_int_equal(cr_ai_window_at(p, NELEM(p), D("2026-01-09"), &w), 0);
	assert_int_equal(cr_ai_window_at(p, NELEM(p), D("2026-01-10"), &w), 1);
	expect_day("window start", w.start, "2026-01-10");
	expect_day("window end", w.end, "2028-01-09");
	assert_true(w.used == 150);
	assert_int_equal(w.placements, 3);
	assert_int_equal(cr_ai_window_at(p, NELEM(p), D("2028-01-09"), &w), 1);
	/* The day after, no window until the next placement with a company. */
	assert_int_equal(cr_ai_window_at(p, NELEM(p), D("2028-01-10"), &w), 0);
}

static void
test_ai_window__placement_the_day_after_the_window__opens_the_next(void **state)
{
	struct cr_placement p[] = {
		{ D("2026-01-10"), 400, 1 },
		{ D("2028-01-10"), 470, 1 },
	};
	struct cr_ai_window w, over;

	(void)state;
	assert_int_equal(cr_ai_window_at(p, NELEM(p), D("2028-01-10"), &w), 1);
	expect_day("second window start", w.start, "2028-01-10");
	expect_day("second window end", w.end, "2030-01-09");
	assert_true(w.used == 470);
	assert_int_equal(cr_ai_check(p, NELEM(p), &over), 0);
	/* A day earlier, both fall in the first window: 870 hours. */
	p[1].start = D("2028-01-09");
	assert_int_equal(cr_ai_check(p, NELEM(p), &over), -1);
	expect_day("over start", over.start, "2026-01-10");
	assert_true(over.used == 870);
}

static void
test_ai_check__exactly_480__ok_and_a_quarter_hour_more__over(void **state)
{
	struct cr_placement p[] = {
		{ D("2026-01-10"), 200, 1 },
		{ D("2026-06-10"), 280, 1 },
		{ D("2026-07-10"), 1000, 0 },
	};
	struct cr_ai_window over;

	(void)state;
	assert_int_equal(cr_ai_check(p, NELEM(p), &over), 0);
	p[1].hours = 280.25;
	assert_int_equal(cr_ai_check(p, NELEM(p), &over), -1);
	assert_true(over.used == 480.25);
}

static void
test_ai_check__earlier_placement_regroups_later_windows__over(void **state)
{
	/* Windows [2026-01-10, 2028-01-09]: 400; [2028-03-01, ...]: 400. */
	struct cr_placement p[] = {
		{ D("2026-01-10"), 300, 1 },
		{ D("2027-12-10"), 100, 1 },
		{ D("2028-03-01"), 380, 1 },
		{ D("2025-10-01"), 50, 1 },
	};
	struct cr_ai_window over;

	(void)state;
	assert_int_equal(cr_ai_check(p, 3, &over), 0);
	/* From 2025-10-01 the first window ends 2027-09-30: 350; the next holds 480. */
	assert_int_equal(cr_ai_check(p, 4, &over), 0);
	p[2].hours = 381;
	assert_int_equal(cr_ai_check(p, 4, &over), -1);
	expect_day("over start", over.start, "2027-12-10");
	assert_true(over.used == 481);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration__exactly_4_months__ok),
		cmocka_unit_test(test_duration__4_months_less_one_day__too_short),
		cmocka_unit_test(test_duration__exactly_24_months__ok),
		cmocka_unit_test(test_duration__24_months_and_one_day__over_24),
		cmocka_unit_test(test_duration__60_months__over_24_and_one_day_more__over_60),
		cmocka_unit_test(test_overlap__periods_sharing_a_day__overlap),
		cmocka_unit_test(test_overlap__next_day_after_the_end__no_overlap),
		cmocka_unit_test(test_age__50th_birthday__50_and_the_day_before__49),
		cmocka_unit_test(
		    test_age__born_29_february__a_year_older_on_1_march_of_common_years),
		cmocka_unit_test(test_derogation__12_months__ok_and_one_day_more__refused),
		cmocka_unit_test(test_derogation__until_before_from__refused_and_one_day__ok),
		cmocka_unit_test(test_ai_window__no_company_placement__none),
		cmocka_unit_test(test_ai_window__24_months_from_the_first_company_placement),
		cmocka_unit_test(
		    test_ai_window__placement_the_day_after_the_window__opens_the_next),
		cmocka_unit_test(test_ai_check__exactly_480__ok_and_a_quarter_hour_more__over),
		cmocka_unit_test(test_ai_check__earlier_placement_regroups_later_windows__over),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
