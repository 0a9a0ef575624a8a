/* notify_mail's message: RFC 2047 subjects, Message-ID, the whole message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mime.h"

static void
ascii_subject_one_word(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(mime_encode_header("Bonjour", out, sizeof(out)), 0);
	/* base64("Bonjour") = Qm9uam91cg== */
	assert_string_equal(out, "=?UTF-8?B?Qm9uam91cg==?=");
}

static void
accented_subject(void **state)
{
	char out[256];

	(void)state;
	/* "échéance" = c3a9 63 68 c3a9 616e6365 */
	assert_int_equal(mime_encode_header("échéance", out, sizeof(out)), 0);
	assert_string_equal(out, "=?UTF-8?B?w6ljaMOpYW5jZQ==?=");
}

/* Long subjects: words of at most 75 characters, folded, never splitting a character. */
static void
long_subject_folds_on_characters(void **state)
{
	char out[1024];
	const char *s = "éééééééééééééééééééééééééééééééééééééééééééééééééé"; /* 50 x 2 bytes */

	(void)state;
	assert_int_equal(mime_encode_header(s, out, sizeof(out)), 0);
	char *fold = strstr(out, "\r\n ");
	assert_non_null(fold);
	/* 22 characters (44 bytes) in the first word: 60 base64 characters. */
	assert_int_equal(fold - out, 12 + 60);
	for (char *p = out, *q; p != NULL; p = q ? q + 3 : NULL) {
		q = strstr(p, "\r\n ");
		size_t len = q ? (size_t)(q - p) : strlen(p);
		assert_true(len <= 75);
	}
}

static void
bad_headers_refused(void **state)
{
	char out[256], small[10];

	(void)state;
	assert_int_equal(mime_encode_header("a\r\nBcc: x@y", out, sizeof(out)), -1);
	assert_int_equal(mime_encode_header("\xc3(", out, sizeof(out)), -1);
	assert_int_equal(mime_encode_header("Bonjour", small, sizeof(small)), -1);
}

static void
message_id_from_alert(void **state)
{
	char out[128];

	(void)state;
	assert_int_equal(mime_message_id(42, 7, "asso.example", out, sizeof(out)), 0);
	assert_string_equal(out, "<tremplin.alert.42.7@asso.example>");
	assert_int_equal(mime_message_id(42, 7, "asso.example", out, 10), -1);
}

static void
whole_message(void **state)
{
	char *m;

	(void)state;
	m = mime_message("Tremplin", "t@asso.example", "cip@asso.example", "Une échéance",
	    "Bonjour,\nà bientôt.\n", "<tremplin.alert.1.2@asso.example>", 0);
	assert_non_null(m);
	assert_non_null(strstr(m, "From: =?UTF-8?B?VHJlbXBsaW4=?= <t@asso.example>\r\n"));
	assert_non_null(strstr(m, "To: <cip@asso.example>\r\n"));
	assert_non_null(strstr(m, "Subject: =?UTF-8?B?VW5lIMOpY2jDqWFuY2U=?=\r\n"));
	assert_non_null(strstr(m, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
	assert_non_null(strstr(m, "Message-ID: <tremplin.alert.1.2@asso.example>\r\n"));
	assert_non_null(strstr(m, "Content-Type: text/plain; charset=UTF-8\r\n"));
	/* base64 of the body after the blank line */
	assert_non_null(strstr(m, "\r\n\r\nQm9uam91ciwKw6AgYmllbnTDtHQuCg==\r\n"));
	free(m);
	/* An address that would add a header or a recipient is refused. */
	assert_null(mime_message(
	    "T", "t@a.example", "x@a.example>\r\nBcc: <y@b.example", "s", "b", "<i@a>", 0));
	assert_null(mime_message("T", "t@a.example", "nobody", "s", "b", "<i@a>", 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ascii_subject_one_word),
		cmocka_unit_test(accented_subject),
		cmocka_unit_test(long_subject_folds_on_characters),
		cmocka_unit_test(bad_headers_refused),
		cmocka_unit_test(message_id_from_alert),
		cmocka_unit_test(whole_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
