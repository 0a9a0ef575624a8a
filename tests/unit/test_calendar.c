/* calendar.c: leap years, month lengths, adding months, the end of a term of months. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "calendar.h"

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

static int
parses(const char *s)
{
	int64_t d;

	return cal_parse(s, strlen(s), &d) == 0;
}

/* ---- leap years and month lengths ---- */

static void
test_leap__centuries_only_by_400__1900_2100_common_2000_leap(void **state)
{
	(void)state;
	assert_false(cal_is_leap(1900));
	assert_true(cal_is_leap(2000));
	assert_false(cal_is_leap(2100));
	assert_false(cal_is_leap(2200));
	assert_true(cal_is_leap(2400));
	assert_true(cal_is_leap(2024));
	assert_true(cal_is_leap(2028));
	assert_false(cal_is_leap(2026));
	assert_false(cal_is_leap(2027));
}

static void
test_days_in_month__every_month__february_by_the_leap_rule(void **state)
{
	static const int common[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	(void)state;
	for (int m = 1; m <= 12; m++) {
		assert_int_equal(cal_days_in_month(2026, m), common[m - 1]);
		assert_int_equal(cal_days_in_month(2024, m), m == 2 ? 29 : common[m - 1]);
	}
	assert_int_equal(cal_days_in_month(1900, 2), 28);
	assert_int_equal(cal_days_in_month(2000, 2), 29);
	assert_int_equal(cal_days_in_month(2100, 2), 28);
}

static void
test_parse__29_february__only_in_leap_years(void **state)
{
	(void)state;
	assert_true(parses("2000-02-29"));
	assert_true(parses("2024-02-29"));
	assert_false(parses("1900-02-29"));
	assert_false(parses("2100-02-29"));
	assert_false(parses("2026-02-29"));
	assert_false(parses("2026-04-31"));
	assert_true(parses("2026-04-30"));
	assert_false(parses("2026-13-01"));
	assert_false(parses("2026-00-10"));
}

static void
test_parse__year_range__1900_to_2199(void **state)
{
	char buf[CAL_DATE_LEN];

	(void)state;
	assert_true(parses("1900-01-01"));
	assert_true(parses("2199-12-31"));
	assert_false(parses("1899-12-31"));
	assert_false(parses("2200-01-01"));
	assert_int_equal(cal_format(D("1900-01-01") - 1, buf, sizeof(buf)), -1);
	assert_int_equal(cal_format(D("2199-12-31") + 1, buf, sizeof(buf)), -1);
}

/* Every day of the range: the month lengths, the day numbers and the text agree. */
static void
test_every_day__consecutive_numbers_and_round_trip(void **state)
{
	int64_t day = cal_from_ymd(CAL_YEAR_MIN, 1, 1);

	(void)state;
	for (int y = CAL_YEAR_MIN; y <= CAL_YEAR_MAX; y++)
		for (int m = 1; m <= 12; m++)
			for (int d = 1; d <= cal_days_in_month(y, m); d++, day++) {
				char buf[CAL_DATE_LEN], want[32];
				int64_t back;
				int yy, mm, dd;

				if (cal_from_ymd(y, m, d) != day)
					fail_msg("%04d-%02d-%02d is not day %lld", y, m, d,
					    (long long)day);
				cal_to_ymd(day, &yy, &mm, &dd);
				assert_true(yy == y && mm == m && dd == d);
				assert_int_equal(cal_format(day, buf, sizeof(buf)), 0);
				snprintf(want, sizeof(want), "%04d-%02d-%02d", y, m, d);
				assert_string_equal(buf, want);
				assert_int_equal(cal_parse(buf, 10, &back), 0);
				assert_true(back == day);
			}
	assert_true(day == cal_from_ymd(CAL_YEAR_MAX + 1, 1, 1));
}

/* ---- adding months ---- */

static void
test_add_months__same_day__or_the_last_of_a_short_month(void **state)
{
	static const struct {
		const char *day;
		int months;
		const char *want;
	} cases[] = {
		{ "2026-01-15", 1, "2026-02-15" },
		{ "2026-01-15", 0, "2026-01-15" },
		{ "2026-01-31", 1, "2026-02-28" },
		{ "2024-01-31", 1, "2024-02-29" },
		{ "2000-01-31", 1, "2000-02-29" },
		{ "1900-01-31", 1, "1900-02-28" },
		{ "2100-01-31", 1, "2100-02-28" },
		{ "2026-01-31", 3, "2026-04-30" },
		{ "2026-03-31", 1, "2026-04-30" },
		{ "2026-12-31", 2, "2027-02-28" },
		{ "2026-11-30", 1, "2026-12-30" },
		{ "2026-12-15", 1, "2027-01-15" },
		{ "2024-02-29", 12, "2025-02-28" },
		{ "2024-02-29", 48, "2028-02-29" },
		{ "2026-01-15", 24, "2028-01-15" },
		{ "2026-01-15", 120, "2036-01-15" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		char what[64];
		snprintf(what, sizeof(what), "%s + %d months", cases[i].day, cases[i].months);
		expect_day(what, cal_add_months(D(cases[i].day), cases[i].months), cases[i].want);
	}
}

/* The demo goes back from a term's end to its start: months may be negative. */
static void
test_add_months__negative__back_across_years(void **state)
{
	static const struct {
		const char *day;
		int months;
		const char *want;
	} cases[] = {
		{ "2026-01-15", -1, "2025-12-15" }, { "2026-01-15", -12, "2025-01-15" },
		{ "2026-01-15", -13, "2024-12-15" }, { "2026-03-31", -1, "2026-02-28" },
		{ "2024-03-31", -1, "2024-02-29" }, { "2000-03-30", -1, "2000-02-29" },
		{ "1900-03-31", -1, "1900-02-28" }, { "2026-12-01", -24, "2024-12-01" },
		{ "1901-01-31", -13, "1899-12-31" }, /* outside the range a text may name */
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		int y, m, d;
		char what[64], got[16];
		snprintf(what, sizeof(what), "%s %d months", cases[i].day, cases[i].months);
		cal_to_ymd(cal_add_months(D(cases[i].day), cases[i].months), &y, &m, &d);
		snprintf(got, sizeof(got), "%04d-%02d-%02d", y, m, d);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%s: got %s, expected %s", what, got, cases[i].want);
	}
}

/* ---- terms of months (the contract and PASS rules) ---- */

static void
test_months_end__same_day_next_months__the_day_before(void **state)
{
	static const struct {
		const char *start;
		int months;
		const char *end;
	} cases[] = {
		{ "2026-01-15", 4, "2026-05-14" }, { "2026-01-15", 24, "2028-01-14" },
		{ "2026-01-15", 60, "2031-01-14" }, { "2026-01-01", 12, "2026-12-31" },
		{ "2026-03-30", 1, "2026-04-29" }, { "2026-09-01", 4, "2026-12-31" },
		{ "2026-09-02", 4, "2027-01-01" }, { "2026-12-15", 1, "2027-01-14" },
		{ "2024-01-29", 1, "2024-02-28" }, /* 29 February exists in 2024 */
		{ "2026-01-15", 0, "2026-01-14" }, /* an empty period */
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		char what[64];
		snprintf(what, sizeof(what), "%s + %d months", cases[i].start, cases[i].months);
		expect_day(what, cal_months_end(D(cases[i].start), cases[i].months), cases[i].end);
	}
}

static void
test_months_end__day_missing_in_last_month__last_day_of_that_month(void **state)
{
	static const struct {
		const char *start;
		int months;
		const char *end;
	} cases[] = {
		{ "2026-01-31", 1, "2026-02-28" },
		{ "2026-01-30", 1, "2026-02-28" },
		{ "2026-01-29", 1, "2026-02-28" }, /* no 29 February in 2026 */
		{ "2024-01-31", 1, "2024-02-29" },
		{ "2024-01-30", 1, "2024-02-29" },
		{ "2026-03-31", 1, "2026-04-30" },
		{ "2026-10-31", 4, "2027-02-28" },
		{ "2027-10-31", 4, "2028-02-29" },
		{ "2024-02-29", 12, "2025-02-28" }, /* 29 February 2025 is missing... */
		{ "2024-02-29", 48, "2028-02-28" }, /* ...but not in 2028 */
		{ "2026-05-31", 1, "2026-06-30" },
		{ "2026-08-31", 1, "2026-09-30" },
		{ "2026-12-31", 2, "2027-02-28" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		char what[64];
		snprintf(what, sizeof(what), "%s + %d months", cases[i].start, cases[i].months);
		expect_day(what, cal_months_end(D(cases[i].start), cases[i].months), cases[i].end);
	}
}

static void
test_months_end__centuries_and_long_terms(void **state)
{
	static const struct {
		const char *start;
		int months;
		const char *end;
	} cases[] = {
		{ "1900-01-31", 1, "1900-02-28" },
		{ "2000-01-31", 1, "2000-02-29" },
		{ "2100-01-30", 1, "2100-02-28" },
		{ "2099-02-28", 12, "2100-02-27" },
		{ "1999-02-28", 12, "2000-02-27" },
		/* Ages: born 1976-02-29, 50 years run on 2026-02-28 (pass_age_at_least). */
		{ "1976-02-29", 600, "2026-02-28" },
		{ "1950-06-10", 600, "2000-06-09" },
		/* The 24-month PASS wait and the 36-month suspension from a leap day. */
		{ "2024-02-29", 24, "2026-02-28" },
		{ "2024-02-29", 36, "2027-02-28" },
		{ "2024-03-01", 12, "2025-02-28" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		char what[64];
		snprintf(what, sizeof(what), "%s + %d months", cases[i].start, cases[i].months);
		expect_day(what, cal_months_end(D(cases[i].start), cases[i].months), cases[i].end);
	}
}

/* ---- the Paris offset uses each year's last Sundays of March and October ---- */

static void
test_paris_offset__switches_on_the_last_sundays_at_01_utc(void **state)
{
	(void)state;
	/* 2026: 29 March and 25 October; 2024 (leap): 31 March and 27 October. */
	int64_t mar26 = D("2026-03-29") * 86400 + 3600, oct26 = D("2026-10-25") * 86400 + 3600;
	int64_t mar24 = D("2024-03-31") * 86400 + 3600, oct24 = D("2024-10-27") * 86400 + 3600;

	assert_int_equal(cal_paris_offset(mar26 - 1), 3600);
	assert_int_equal(cal_paris_offset(mar26), 7200);
	assert_int_equal(cal_paris_offset(oct26 - 1), 7200);
	assert_int_equal(cal_paris_offset(oct26), 3600);
	assert_int_equal(cal_paris_offset(mar24 - 1), 3600);
	assert_int_equal(cal_paris_offset(mar24), 7200);
	assert_int_equal(cal_paris_offset(oct24 - 1), 7200);
	assert_int_equal(cal_paris_offset(oct24), 3600);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leap__centuries_only_by_400__1900_2100_common_2000_leap),
		cmocka_unit_test(test_days_in_month__every_month__february_by_the_leap_rule),
		cmocka_unit_test(test_parse__29_february__only_in_leap_years),
		cmocka_unit_test(test_parse__year_range__1900_to_2199),
		cmocka_unit_test(test_every_day__consecutive_numbers_and_round_trip),
		cmocka_unit_test(test_add_months__same_day__or_the_last_of_a_short_month),
		cmocka_unit_test(test_add_months__negative__back_across_years),
		cmocka_unit_test(test_months_end__same_day_next_months__the_day_before),
		cmocka_unit_test(
		    test_months_end__day_missing_in_last_month__last_day_of_that_month),
		cmocka_unit_test(test_months_end__centuries_and_long_terms),
		cmocka_unit_test(test_paris_offset__switches_on_the_last_sundays_at_01_utc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
