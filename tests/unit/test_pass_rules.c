/* pass_rules.c: the PASS IAE's rules at their boundary dates. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "calendar.h"
#include "kernel/pass_rules.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int64_t
D(const char *s)
{
	int64_t d;

	if (cal_parse(s, strlen(s), &d) == -1)
		fail_msg("bad date in the test: %s", s);
	return d;
}

static const char *
S(int64_t day)
{
	static char buf[4][CAL_DATE_LEN];
	static int n;
	char *b = buf[n++ % 4];

	cal_format(day, b, CAL_DATE_LEN);
	return b;
}

static void
ok(int rc, const struct pass_err *e)
{
	if (rc != 0)
		fail_msg("refused (%s: %s), expected accepted", e->field, e->message);
}

static void
refused(int rc, const struct pass_err *e, const char *field, const char *words)
{
	if (rc == 0)
		fail_msg("accepted, expected refused on %s", field);
	assert_string_equal(e->field, field);
	if (words != NULL && strstr(e->message, words) == NULL)
		fail_msg("message \"%s\" does not say \"%s\"", e->message, words);
}

/* A PASS of 730 days from start, with no suspension or prolongation. */
static struct pass
plain(const char *start)
{
	struct pass p = { 0 };

	p.start = D(start);
	p.initial_end = pass_default_end(p.start);
	return p;
}

/* ---- numbers ---- */

static void
test_number__platform_and_agrement__accepted(void **state)
{
	static const char *const good[] = { "999991234567", "999990000000", "123452012345",
		"ABC123456789", "0000A1234567", "99998ABCDEFG" };

	(void)state;
	for (size_t i = 0; i < NELEM(good); i++) {
		const char *why = pass_number_check(good[i]);
		if (why != NULL)
			fail_msg("%s refused: %s", good[i], why);
	}
	assert_true(pass_number_from_platform("999991234567"));
	assert_false(pass_number_from_platform("123452012345"));
}

static void
test_number__malformed__rejected_with_the_reason(void **state)
{
	static const struct {
		const char *number, *why;
	} bad[] = {
		{ "", "must have 12 characters" },
		{ "99999123456", "must have 12 characters" },
		{ "9999912345678", "must have 12 characters" },
		{ "999991234567 ", "must not contain spaces" },
		{ "99999 1234567", "must not contain spaces" },
		{ "abc123456789", "must be written in capital letters" },
		{ "99999123456a", "must be written in capital letters" },
		{ "99999-123456", "may hold only digits and capital letters" },
		{ "9999912345\xc3\xa9", "may hold only digits and capital letters" },
		{ "99999123456A", "issued by the platform (99999...) must end with 7 digits" },
		{ "99999ABCDEFG", "issued by the platform (99999...) must end with 7 digits" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(bad); i++) {
		const char *why = pass_number_check(bad[i].number);
		if (why == NULL)
			fail_msg("\"%s\" accepted, expected \"%s\"", bad[i].number, bad[i].why);
		if (strcmp(why, bad[i].why) != 0)
			fail_msg("\"%s\": \"%s\", expected \"%s\"", bad[i].number, why, bad[i].why);
	}
}

/* ---- the 730 days ---- */

static void
test_end__default__start_plus_729_across_a_leap_day(void **state)
{
	(void)state;
	assert_string_equal(S(pass_default_end(D("2024-01-01"))), "2025-12-30");
	assert_string_equal(S(pass_default_end(D("2025-03-01"))), "2027-02-28");
	assert_string_equal(S(pass_default_end(D("2027-03-01"))), "2029-02-27");
	assert_string_equal(S(pass_default_end(D("2024-02-29"))), "2026-02-27");
}

static void
test_end__given__after_start_and_at_most_729_days(void **state)
{
	struct pass_err e;
	int64_t s = D("2024-03-01");

	(void)state;
	ok(pass_check_dates(s, s + 1, &e), &e);
	ok(pass_check_dates(s, D("2026-02-28"), &e), &e); /* s + 729 */
	refused(pass_check_dates(s, D("2026-03-01"), &e), &e, "initial_end_date", "2026-02-28");
	refused(pass_check_dates(s, s, &e), &e, "initial_end_date", "after start_date");
	refused(pass_check_dates(s, s - 1, &e), &e, "initial_end_date", "after start_date");
}

static void
test_status__boundary_days__future_valid_expired(void **state)
{
	struct pass p = plain("2024-01-01");

	(void)state;
	assert_int_equal(pass_status_on(&p, D("2023-12-31")), PASS_FUTURE);
	assert_int_equal(pass_status_on(&p, D("2024-01-01")), PASS_VALID);
	assert_int_equal(pass_status_on(&p, D("2025-12-30")), PASS_VALID); /* day 729 */
	assert_int_equal(pass_status_on(&p, D("2025-12-31")), PASS_EXPIRED); /* day 730 */
	assert_string_equal(pass_status_name(PASS_SUSPENDED), "SUSPENDED");
	assert_string_equal(pass_status_name(PASS_EXPIRED), "EXPIRED");
}

static void
test_status__given_end__expired_the_day_after(void **state)
{
	struct pass p = { .start = D("2024-01-01"), .initial_end = D("2024-06-30") };

	(void)state;
	assert_int_equal(pass_status_on(&p, D("2024-06-30")), PASS_VALID);
	assert_int_equal(pass_status_on(&p, D("2024-07-01")), PASS_EXPIRED);
}

/* ---- suspensions ---- */

static void
test_status__inside_a_suspension__suspended_and_end_pushed_back(void **state)
{
	struct pass_period s[] = { { D("2024-06-01"), D("2024-06-10") } };
	struct pass p = plain("2024-01-01");

	(void)state;
	p.suspensions = s;
	p.nsuspensions = 1;
	assert_int_equal(pass_suspended_days(&p), 10);
	assert_string_equal(S(pass_end(&p)), "2026-01-09");
	assert_int_equal(pass_status_on(&p, D("2024-05-31")), PASS_VALID);
	assert_int_equal(pass_status_on(&p, D("2024-06-01")), PASS_SUSPENDED);
	assert_int_equal(pass_status_on(&p, D("2024-06-10")), PASS_SUSPENDED);
	assert_int_equal(pass_status_on(&p, D("2024-06-11")), PASS_VALID);
	assert_int_equal(pass_status_on(&p, D("2026-01-09")), PASS_VALID);
	assert_int_equal(pass_status_on(&p, D("2026-01-10")), PASS_EXPIRED);
}

static void
test_suspension__backdated_365_days__accepted_366__rejected(void **state)
{
	struct pass p = plain("2024-01-01");
	int64_t today = D("2025-03-01");
	struct pass_period s = { today - 365, today - 300 };
	struct pass_err e;

	(void)state;
	ok(pass_check_suspension(&p, today, &s, &e), &e);
	s.start = today - 366;
	refused(pass_check_suspension(&p, today, &s, &e), &e, "start_date", "2024-03-01");
}

static void
test_suspension__36_months__accepted_one_day_more__rejected(void **state)
{
	struct pass p = plain("2024-01-01");
	struct pass_period s = { D("2024-01-15"), D("2027-01-14") };
	struct pass_err e;

	(void)state;
	ok(pass_check_suspension(&p, D("2024-02-01"), &s, &e), &e);
	s.end = D("2027-01-15");
	refused(pass_check_suspension(&p, D("2024-02-01"), &s, &e), &e, "end_date", "2027-01-14");
}

static void
test_suspension__36_months_from_a_leap_day__end_of_february(void **state)
{
	struct pass p = plain("2024-01-01");
	struct pass_period s = { D("2024-02-29"), D("2027-02-28") };
	struct pass_err e;

	(void)state;
	ok(pass_check_suspension(&p, D("2024-03-01"), &s, &e), &e);
	s.end = D("2027-03-01");
	refused(pass_check_suspension(&p, D("2024-03-01"), &s, &e), &e, "end_date", "2027-02-28");
	/* From 31 January, a month ends on the last day of February. */
	assert_string_equal(S(cal_months_end(D("2024-01-31"), 1)), "2024-02-29");
	assert_string_equal(S(cal_months_end(D("2025-01-31"), 1)), "2025-02-28");
	assert_string_equal(S(cal_months_end(D("2024-12-15"), 1)), "2025-01-14");
}

static void
test_suspension__one_day__accepted_end_before_start__rejected(void **state)
{
	struct pass p = plain("2024-01-01");
	struct pass_period s = { D("2024-05-01"), D("2024-05-01") };
	struct pass_err e;

	(void)state;
	ok(pass_check_suspension(&p, D("2024-05-01"), &s, &e), &e);
	s.end = D("2024-04-30");
	refused(pass_check_suspension(&p, D("2024-05-01"), &s, &e), &e, "end_date", "before");
}

static void
test_suspension__outside_the_pass_or_overlapping__rejected(void **state)
{
	struct pass_period have[] = { { D("2024-06-01"), D("2024-06-30") } };
	struct pass p = plain("2024-01-01");
	struct pass_period s = { D("2023-12-31"), D("2024-01-10") };
	struct pass_err e;
	int64_t today = D("2024-07-01");

	(void)state;
	p.suspensions = have;
	p.nsuspensions = 1;
	refused(pass_check_suspension(&p, today, &s, &e), &e, "start_date", "while the PASS runs");
	/* The current end counts its suspensions: 2025-12-30 + 30 days. */
	s = (struct pass_period){ D("2026-01-29"), D("2026-02-10") };
	ok(pass_check_suspension(&p, D("2026-01-29"), &s, &e), &e);
	s = (struct pass_period){ D("2026-01-30"), D("2026-02-10") };
	refused(pass_check_suspension(&p, D("2026-01-30"), &s, &e), &e, "start_date",
	    "2024-01-01 to 2026-01-29");
	s = (struct pass_period){ D("2024-05-20"), D("2024-06-01") };
	refused(pass_check_suspension(&p, today, &s, &e), &e, "start_date", "overlaps");
	s = (struct pass_period){ D("2024-06-30"), D("2024-07-05") };
	refused(pass_check_suspension(&p, today, &s, &e), &e, "start_date", "overlaps");
	s = (struct pass_period){ D("2024-07-01"), D("2024-07-05") };
	ok(pass_check_suspension(&p, today, &s, &e), &e);
}

/* ---- prolongations ---- */

static struct pass_prolongation_req
req(enum pass_reason r, int64_t days)
{
	struct pass_prolongation_req q = { .reason = r, .days = days, .until = -1 };

	q.birth = D("1990-01-01");
	q.severe_difficulties_allowed = 1;
	return q;
}

static void
test_prolongation__12_months__accepted_one_day_more__rejected(void **state)
{
	struct pass p = plain("2024-01-01"); /* ends 2025-12-30 */
	struct pass_prolongation_req q = req(PROLONG_RQTH, 365);
	struct pass_err e;

	(void)state;
	ok(pass_check_prolongation(&p, &q, &e), &e); /* 2025-12-31 to 2026-12-30 */
	q.days = 366;
	refused(pass_check_prolongation(&p, &q, &e), &e, "days", "365 at most");
	q.days = 0;
	refused(pass_check_prolongation(&p, &q, &e), &e, "days", NULL);
}

/* Ending early: only earlier, never before its start; longer is a new record. */
static void
test_early_end__suspension_earlier_only__prolongation_fewer_days_only(void **state)
{
	struct pass_period was = { D("2026-02-20"), D("2026-03-21") };
	struct pass_err e;

	(void)state;
	ok(pass_check_suspension_end(&was, D("2026-03-21"), &e), &e);
	ok(pass_check_suspension_end(&was, D("2026-02-20"), &e), &e);
	refused(pass_check_suspension_end(&was, D("2026-03-22"), &e), &e, "end_date",
	    "only move earlier");
	refused(pass_check_suspension_end(&was, D("2026-02-19"), &e), &e, "end_date",
	    "before start_date");
	ok(pass_check_prolongation_days(90, 1, &e), &e);
	ok(pass_check_prolongation_days(90, 90, &e), &e);
	refused(pass_check_prolongation_days(90, 91, &e), &e, "days", "only be fewer");
	refused(pass_check_prolongation_days(90, 0, &e), &e, "days", NULL);
}

/* An early end may not leave a later suspension starting after the PASS's end. */
static void
test_early_end__later_suspension_outside__refused_naming_the_moved_field(void **state)
{
	struct pass_period s[2] = { { D("2026-02-20"), D("2026-03-01") },
		{ D("2028-01-20"), D("2028-01-25") } };
	struct pass p = plain("2026-01-05"); /* to 2028-01-04 */
	int64_t prol[1] = { 30 };
	struct pass_err e;

	(void)state;
	p.suspensions = s;
	p.nsuspensions = 2;
	/* 10 + 6 days: the PASS ends on 2028-01-20, the day the second one starts. */
	ok(pass_check_suspensions_inside(&p, "end_date", &e), &e);
	s[0].end = D("2026-02-28");
	refused(pass_check_suspensions_inside(&p, "end_date", &e), &e, "end_date",
	    "end on 2028-01-19, before its suspension from 2028-01-20");

	/* A prolongation shortened: the suspension had started in its days. */
	p = plain("2025-01-06"); /* to 2027-01-05 */
	s[0] = (struct pass_period){ D("2027-03-01"), D("2027-03-10") };
	p.suspensions = s;
	p.nsuspensions = 1;
	p.prolongations = prol;
	p.nprolongations = 1;
	refused(pass_check_suspensions_inside(&p, "days", &e), &e, "days", "2027-02-14");
	prol[0] = 45; /* 45 + 10 days: to 2027-03-01 */
	ok(pass_check_suspensions_inside(&p, "days", &e), &e);
}

static void
test_prolongation__12_months_over_a_leap_year__366_days(void **state)
{
	struct pass p = { .start = D("2026-03-01"), .initial_end = D("2027-02-28") };
	struct pass_prolongation_req q = req(PROLONG_RQTH, 366);
	struct pass_err e;

	(void)state;
	ok(pass_check_prolongation(&p, &q, &e), &e); /* 2027-03-01 to 2028-02-29 */
	q.days = 367;
	refused(pass_check_prolongation(&p, &q, &e), &e, "days", "366 at most");
}

static void
test_prolongation__rqth_5_year_cap__last_day_accepted_next_rejected(void **state)
{
	/* 2024-01-01 + 5 years ends 2028-12-31. */
	int64_t three[] = { 365, 365, 366 }; /* to 2026-12-30, 2027-12-30, 2028-12-30 */
	struct pass p = plain("2024-01-01");
	struct pass_prolongation_req q = req(PROLONG_RQTH, 1);
	struct pass_err e;

	(void)state;
	p.prolongations = three;
	p.nprolongations = 3;
	assert_string_equal(S(pass_end(&p)), "2028-12-30");
	ok(pass_check_prolongation(&p, &q, &e), &e);
	q.days = 2;
	refused(pass_check_prolongation(&p, &q, &e), &e, "days", "2028-12-31");
	q.reason = PROLONG_SEVERE_DIFFICULTIES;
	refused(pass_check_prolongation(&p, &q, &e), &e, "days", "2028-12-31");
	q.days = 1;
	ok(pass_check_prolongation(&p, &q, &e), &e);
	/* Up to the cap, nothing more. */
	int64_t four[] = { 365, 365, 366, 1 };
	p.prolongations = four;
	p.nprolongations = 4;
	q.reason = PROLONG_RQTH;
	refused(pass_check_prolongation(&p, &q, &e), &e, "reason", "cap of 5 years");
}

static void
test_prolongation__caps_pushed_back_by_suspensions(void **state)
{
	struct pass_period s[] = { { D("2024-06-01"), D("2024-06-10") } };
	int64_t three[] = { 365, 365, 366 };
	struct pass p = plain("2024-01-01"); /* ends 2026-01-09 with the suspension */
	struct pass_prolongation_req q = req(PROLONG_RQTH, 1);
	struct pass_err e;

	(void)state;
	p.suspensions = s;
	p.nsuspensions = 1;
	p.prolongations = three;
	p.nprolongations = 3;
	assert_string_equal(S(pass_end(&p)), "2029-01-09");
	ok(pass_check_prolongation(&p, &q, &e), &e); /* the cap: 2028-12-31 + 10 days */
	q.days = 2;
	refused(pass_check_prolongation(&p, &q, &e), &e, "days", "2029-01-10");
}

static void
test_prolongation__age_50_plus_7_year_cap(void **state)
{
	/* From 2020-01-01: 7 years end 2026-12-31, 5 years 2024-12-31. */
	struct pass p = { .start = D("2020-01-01"), .initial_end = D("2026-06-30") };
	struct pass_prolongation_req q = req(PROLONG_AGE_50_PLUS, 184);
	struct pass_err e;

	(void)state;
	q.birth = D("1970-05-01");
	ok(pass_check_prolongation(&p, &q, &e), &e); /* 2026-07-01 to 2026-12-31 */
	q.days = 185;
	refused(pass_check_prolongation(&p, &q, &e), &e, "days", "2026-12-31");
	q = req(PROLONG_RQTH, 1);
	refused(pass_check_prolongation(&p, &q, &e), &e, "reason", "cap of 5 years");
}

static void
test_prolongation__age_50_plus__checked_on_its_first_day(void **state)
{
	struct pass p = { .start = D("2025-01-01"), .initial_end = D("2026-06-30") };
	struct pass_prolongation_req q = req(PROLONG_AGE_50_PLUS, 30);
	struct pass_err e;

	(void)state;
	q.birth = D("1976-07-01"); /* 50 on 2026-07-01, the first day */
	ok(pass_check_prolongation(&p, &q, &e), &e);
	q.birth = D("1976-07-02");
	refused(pass_check_prolongation(&p, &q, &e), &e, "reason", "not 50 on 2026-07-01");
	/* Born on a leap day: 50 on 1 March. */
	assert_false(pass_age_at_least(D("1976-02-29"), D("2026-02-28"), 50));
	assert_true(pass_age_at_least(D("1976-02-29"), D("2026-03-01"), 50));
	assert_true(pass_age_at_least(D("1976-02-29"), D("2024-02-29"), 48));
	assert_false(pass_age_at_least(D("1976-02-29"), D("2024-02-28"), 48));
}

static void
test_prolongation__end_of_training__until_its_end_and_no_later(void **state)
{
	struct pass p = plain("2024-01-01"); /* ends 2025-12-30 */
	struct pass_prolongation_req q = req(PROLONG_END_OF_TRAINING, 31);
	struct pass_err e;

	(void)state;
	refused(pass_check_prolongation(&p, &q, &e), &e, "until_date", "required");
	q.until = D("2026-01-30");
	ok(pass_check_prolongation(&p, &q, &e), &e); /* 2025-12-31 to 2026-01-30 */
	q.days = 32;
	refused(pass_check_prolongation(&p, &q, &e), &e, "days", "31 at most");
	q.until = D("2025-12-30");
	q.days = 1;
	refused(pass_check_prolongation(&p, &q, &e), &e, "until_date", "2025-12-30");
	q = req(PROLONG_RQTH, 10);
	q.until = D("2026-01-30");
	refused(pass_check_prolongation(&p, &q, &e), &e, "until_date", "end_of_training");
}

static void
test_prolongation__severe_difficulties_outside_aci_ai__rejected(void **state)
{
	struct pass p = plain("2024-01-01");
	struct pass_prolongation_req q = req(PROLONG_SEVERE_DIFFICULTIES, 30);
	struct pass_err e;

	(void)state;
	q.severe_difficulties_allowed = 0;
	refused(pass_check_prolongation(&p, &q, &e), &e, "reason", "ACI or an AI");
}

static void
test_prolongation__span__follows_the_end_as_it_stands(void **state)
{
	int64_t two[] = { 31, 10 };
	struct pass p = plain("2024-01-01");
	int64_t first, last;

	(void)state;
	p.prolongations = two;
	p.nprolongations = 2;
	pass_prolongation_span(&p, 0, &first, &last);
	assert_string_equal(S(first), "2025-12-31");
	assert_string_equal(S(last), "2026-01-30");
	pass_prolongation_span(&p, 1, &first, &last);
	assert_string_equal(S(first), "2026-01-31");
	assert_string_equal(S(last), "2026-02-09");
	assert_int_equal(pass_status_on(&p, D("2026-02-09")), PASS_VALID);
	assert_int_equal(pass_status_on(&p, D("2026-02-10")), PASS_EXPIRED);
	assert_int_equal(pass_reason_parse("age_50_plus"), PROLONG_AGE_50_PLUS);
	assert_int_equal(pass_reason_parse("RQTH"), PROLONG_NONE);
	assert_string_equal(pass_reason_name(PROLONG_END_OF_TRAINING), "end_of_training");
}

/* ---- one PASS at a time ---- */

static void
test_neighbour__overlapping__rejected_naming_when_it_may_start(void **state)
{
	struct pass_err e;

	(void)state;
	/* The other runs 2024-01-01 to 2025-12-30: it expires 2025-12-31; + 2 years. */
	refused(pass_check_neighbour(
	            D("2025-06-01"), D("2027-05-31"), D("2024-01-01"), D("2025-12-30"), &e),
	    &e, "start_date", "2027-12-31 at the earliest");
	refused(pass_check_neighbour(
	            D("2024-01-01"), D("2025-12-30"), D("2024-01-01"), D("2025-12-30"), &e),
	    &e, "start_date", "overlaps");
}

static void
test_neighbour__two_years_after_expiry__last_day_rejected_next_accepted(void **state)
{
	struct pass_err e;

	(void)state;
	refused(pass_check_neighbour(
	            D("2027-12-30"), D("2029-12-28"), D("2024-01-01"), D("2025-12-30"), &e),
	    &e, "start_date", "2027-12-31");
	ok(pass_check_neighbour(
	       D("2027-12-31"), D("2029-12-29"), D("2024-01-01"), D("2025-12-30"), &e),
	    &e);
	/* Expired on a leap day: 2 years later is 1 March. */
	refused(pass_check_neighbour(
	            D("2026-02-28"), D("2028-02-27"), D("2022-03-01"), D("2024-02-28"), &e),
	    &e, "start_date", "2026-03-01");
	ok(pass_check_neighbour(
	       D("2026-03-01"), D("2028-02-28"), D("2022-03-01"), D("2024-02-28"), &e),
	    &e);
}

static void
test_neighbour__recorded_before_a_later_pass__must_expire_two_years_before(void **state)
{
	struct pass_err e;

	(void)state;
	/* The later one starts 2028-01-01: an earlier one ends by 2025-12-31. */
	ok(pass_check_neighbour(
	       D("2024-01-02"), D("2025-12-31"), D("2028-01-01"), D("2029-12-30"), &e),
	    &e);
	refused(pass_check_neighbour(
	            D("2024-01-03"), D("2026-01-01"), D("2028-01-01"), D("2029-12-30"), &e),
	    &e, "start_date", "2 years earlier");
	refused(pass_check_neighbour(
	            D("2027-06-01"), D("2028-01-10"), D("2028-01-01"), D("2029-12-30"), &e),
	    &e, "start_date", "overlaps");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_number__platform_and_agrement__accepted),
		cmocka_unit_test(test_number__malformed__rejected_with_the_reason),
		cmocka_unit_test(test_end__default__start_plus_729_across_a_leap_day),
		cmocka_unit_test(test_end__given__after_start_and_at_most_729_days),
		cmocka_unit_test(test_status__boundary_days__future_valid_expired),
		cmocka_unit_test(test_status__given_end__expired_the_day_after),
		cmocka_unit_test(test_status__inside_a_suspension__suspended_and_end_pushed_back),
		cmocka_unit_test(test_suspension__backdated_365_days__accepted_366__rejected),
		cmocka_unit_test(test_suspension__36_months__accepted_one_day_more__rejected),
		cmocka_unit_test(test_suspension__36_months_from_a_leap_day__end_of_february),
		cmocka_unit_test(test_suspension__one_day__accepted_end_before_start__rejected),
		cmocka_unit_test(test_suspension__outside_the_pass_or_overlapping__rejected),
		cmocka_unit_test(test_prolongation__12_months__accepted_one_day_more__rejected),
		cmocka_unit_test(test_prolongation__12_months_over_a_leap_year__366_days),
		cmocka_unit_test(
		    test_prolongation__rqth_5_year_cap__last_day_accepted_next_rejected),
		cmocka_unit_test(test_prolongation__caps_pushed_back_by_suspensions),
		cmocka_unit_test(
		    test_early_end__suspension_earlier_only__prolongation_fewer_days_only),
		cmocka_unit_test(
		    test_early_end__later_suspension_outside__refused_naming_the_moved_field),
		cmocka_unit_test(test_prolongation__age_50_plus_7_year_cap),
		cmocka_unit_test(test_prolongation__age_50_plus__checked_on_its_first_day),
		cmocka_unit_test(test_prolongation__end_of_training__until_its_end_and_no_later),
		cmocka_unit_test(test_prolongation__severe_difficulties_outside_aci_ai__rejected),
		cmocka_unit_test(test_prolongation__span__follows_the_end_as_it_stands),
		cmocka_unit_test(test_neighbour__overlapping__rejected_naming_when_it_may_start),
		cmocka_unit_test(
		    test_neighbour__two_years_after_expiry__last_day_rejected_next_accepted),
		cmocka_unit_test(
		    test_neighbour__recorded_before_a_later_pass__must_expire_two_years_before),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
