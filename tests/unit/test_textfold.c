/* textfold.c: names folded for search, whatever the case and the accents. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "textfold.h"

static void
test_fold__french_names__lower_case_without_accents(void **state)
{
	static const char *const cases[][2] = { { "Hélène", "helene" }, { "HÉLÈNE", "helene" },
		{ "Dupré-Noël", "dupre-noel" }, { "Œuvre", "oeuvre" },
		{ "Çağla Şahin", "cagla sahin" }, { "Łukasz Wójcik", "lukasz wojcik" },
		{ "Straße", "strasse" }, { "日本", "日本" } };
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		text_fold(cases[i][0], out, sizeof(out));
		assert_string_equal(out, cases[i][1]);
	}
}

static void
test_fold__small_buffer__cut_between_characters(void **state)
{
	char out[4];

	(void)state;
	text_fold("éé日", out, sizeof(out));
	assert_string_equal(out, "ee");
	text_fold("ab日", out, sizeof(out));
	assert_string_equal(out, "ab");
}

static void
test_match__every_word__in_any_order(void **state)
{
	(void)state;
	assert_true(text_fold_match("helene dupre ", "dupre helene"));
	assert_true(text_fold_match("helene dupre ", "hel"));
	assert_true(text_fold_match("helene dupre ", "  "));
	assert_false(text_fold_match("helene dupre ", "helene martin"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fold__french_names__lower_case_without_accents),
		cmocka_unit_test(test_fold__small_buffer__cut_between_characters),
		cmocka_unit_test(test_match__every_word__in_any_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
