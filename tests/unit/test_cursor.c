/* cursor.c: the opaque list cursors, one token per id. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cursor.h"

static void
test_cursor__encode_then_decode__same_id(void **state)
{
	static const int64_t ids[] = { 1, 2, 255, 256, 1000000, INT64_MAX };
	char buf[CURSOR_SIZE];
	int64_t id;

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		cursor_encode(ids[i], buf, sizeof(buf));
		assert_int_equal(strlen(buf), 11);
		assert_int_equal(cursor_decode(buf, &id), 0);
		assert_int_equal(id, ids[i]);
	}
}

static void
test_cursor__token_of_id_1__AAAAAAAAAAE(void **state)
{
	char buf[CURSOR_SIZE];

	(void)state;
	cursor_encode(1, buf, sizeof(buf));
	assert_string_equal(buf, "AAAAAAAAAAE");
}

/* Found by tests/fuzz/fuzz_cursor: the last character's two spare bits were ignored. */
static void
test_cursor__spare_bits_set__refused(void **state)
{
	int64_t id = 0;

	(void)state;
	assert_int_equal(cursor_decode("AAAAAAAAAAE", &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(cursor_decode("AAAAAAAAAAF", &id), -1);
	assert_int_equal(cursor_decode("AAAAAAAAAAG", &id), -1);
	assert_int_equal(cursor_decode("AAAAAAAAAAH", &id), -1);
	assert_int_equal(cursor_decode("AAAAa______", &id), -1);
}

static void
test_cursor__not_a_token__refused(void **state)
{
	static const char *const bad[] = { "", "AAAAAAAAAA", "AAAAAAAAAAAA", "AAAAAAAAAAA",
		"AAAAAAAAAA=", "AAAAAAAAAA+", "AAAAAAAAAA/", "gAAAAAAAAAA",
		"\xff\xff\xff\xff\xff"
		"\xff\xff\xff\xff\xff\xff" };
	int64_t id = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cursor_decode(bad[i], &id), -1);
		assert_int_equal(id, 42);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cursor__encode_then_decode__same_id),
		cmocka_unit_test(test_cursor__token_of_id_1__AAAAAAAAAAE),
		cmocka_unit_test(test_cursor__spare_bits_set__refused),
		cmocka_unit_test(test_cursor__not_a_token__refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
