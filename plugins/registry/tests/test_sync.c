/* The registry plugin's pure rules (sync.c), without a daemon. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "sync.h"

static void
test_date__dd_mm_yyyy__iso(void **state)
{
	char out[11];

	(void)state;
	assert_int_equal(reg_date_parse("01/02/1990", out), 0);
	assert_string_equal(out, "1990-02-01");
	assert_int_equal(reg_date_parse("29/02/2024", out), 0);
	assert_string_equal(out, "2024-02-29");
}

static void
test_date__anything_else__refused_never_guessed(void **state)
{
	static const char *const bad[] = { "1990-02-01", "1/02/1990", "01/2/1990", "01/02/90",
		"31/04/2020", "29/02/2023", "00/01/2020", "01/13/2020", "01-02-1990", "01/02/1990 ",
		" 01/02/1990", "0a/02/1990", "", "02/01/1990x" };
	char out[11];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(reg_date_parse(bad[i], out), -1);
	assert_int_equal(reg_date_parse(NULL, out), -1);
}

static void
test_days__round_trip(void **state)
{
	char out[11];
	int ok;

	(void)state;
	assert_int_equal(reg_days("1970-01-01", &ok), 0);
	assert_true(ok);
	assert_int_equal(reg_days("2024-03-01", &ok) - reg_days("2024-02-28", &ok), 2);
	reg_day_text(reg_days("2026-12-31", &ok) + 1, out);
	assert_string_equal(out, "2027-01-01");
	reg_days("2026-02-30", &ok);
	assert_false(ok);
}

static void
test_prescriber__known_and_unknown(void **state)
{
	(void)state;
	assert_string_equal(reg_prescriber_kind("PE"), "france_travail");
	assert_string_equal(reg_prescriber_kind("SPIP"), "spip");
	assert_null(reg_prescriber_kind("pe"));
	assert_null(reg_prescriber_kind("NOUVEAU"));
	assert_null(reg_prescriber_kind(NULL));
}

static void
test_pass_number(void **state)
{
	(void)state;
	assert_null(reg_pass_number_check("999990000001"));
	assert_null(reg_pass_number_check("ABC123456789"));
	assert_non_null(reg_pass_number_check("99999000000A"));
	assert_non_null(reg_pass_number_check("abc123456789"));
	assert_non_null(reg_pass_number_check("12345"));
}

static void
test_rate__limit_in_window(void **state)
{
	struct reg_rate r;

	(void)state;
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(reg_rate_wait(&r, 1000 + i, 3, 60000), 0);
		reg_rate_note(&r, 1000 + i, 60000);
	}
	/* The oldest leaves the window at 61000. */
	assert_int_equal(reg_rate_wait(&r, 2000, 3, 60000), 59001);
	assert_int_equal(reg_rate_wait(&r, 61001, 3, 60000), 0);
	/* A lower limit than what is in the window waits for more to leave. */
	assert_int_equal(reg_rate_wait(&r, 2000, 2, 60000), 59002);
}

static void
test_backoff__doubles_capped_with_jitter(void **state)
{
	(void)state;
	assert_int_equal(reg_backoff(1, 100, 10000, 0), 100);
	assert_int_equal(reg_backoff(3, 100, 10000, 0), 400);
	assert_int_equal(reg_backoff(30, 100, 10000, 0), 10000);
	assert_in_range(reg_backoff(2, 100, 10000, 12345), 200, 400);
}

static void
test_next__stays_under_the_base(void **state)
{
	const char *b = "https://emplois.example:8443/api/v1/";

	(void)state;
	assert_true(reg_next_ok(b, "https://emplois.example:8443/api/v1/employee-records/?page=2"));
	assert_false(
	    reg_next_ok(b, "https://emplois.example:8444/api/v1/employee-records/?page=2"));
	assert_false(reg_next_ok(b, "https://emplois.example:8443.evil/api/v1/x"));
	assert_false(reg_next_ok(b, "http://emplois.example:8443/api/v1/x"));
	assert_false(reg_next_ok(b, "https://emplois.example:8443/api/v1/../admin/"));
	assert_false(reg_next_ok(b, "/api/v1/employee-records/?page=2"));
}

static void
test_urlencode__form_values(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(reg_urlencode("/partenaire", out, sizeof(out)), 0);
	assert_string_equal(out, "%2Fpartenaire");
	assert_int_equal(reg_urlencode("api_rome v1&x=é", out, sizeof(out)), 0);
	assert_string_equal(out, "api_rome%20v1%26x%3D%C3%A9");
	assert_int_equal(reg_urlencode("abcdef", out, 6), -1);
}

static void
test_rome_code_and_token_life(void **state)
{
	(void)state;
	assert_true(reg_rome_code_ok("F1703"));
	assert_false(reg_rome_code_ok("f1703"));
	assert_false(reg_rome_code_ok("Z1703"));
	assert_false(reg_rome_code_ok("F170"));
	/* 1499 s: used until 60 s before; 20 s: until 18 s. */
	assert_int_equal(reg_token_until(1000, 1499), 1000 + 1439 * 1000);
	assert_int_equal(reg_token_until(0, 20), 18000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date__dd_mm_yyyy__iso),
		cmocka_unit_test(test_date__anything_else__refused_never_guessed),
		cmocka_unit_test(test_days__round_trip),
		cmocka_unit_test(test_prescriber__known_and_unknown),
		cmocka_unit_test(test_pass_number),
		cmocka_unit_test(test_rate__limit_in_window),
		cmocka_unit_test(test_backoff__doubles_capped_with_jitter),
		cmocka_unit_test(test_next__stays_under_the_base),
		cmocka_unit_test(test_urlencode__form_values),
		cmocka_unit_test(test_rome_code_and_token_life),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
