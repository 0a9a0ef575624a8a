/*
 * json.c: request bodies (depth, shape), field tables, RFC 7386 merge patch;
 * text safe for JSON (util.c's UTF-8 checks) and api.c's error body.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "json.h"
#include "util.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct field_spec specs[] = {
	{ "id", FT_INTEGER, FF_READONLY },
	{ "name", FT_STRING, FF_REQUIRED },
	{ "siret", FT_STRING, FF_REQUIRED },
	{ "annexe_financiere", FT_STRING, FF_NULLABLE },
	{ "active", FT_BOOLEAN, 0 },
	{ "rank", FT_INTEGER, 0 },
	{ "created_at", FT_STRING, FF_READONLY },
};

static json_t *
parse(const char *s)
{
	json_error_t jerr;
	json_t *j = json_loads(s, 0, &jerr);

	if (j == NULL)
		fail_msg("test JSON %s: %s", s, jerr.text);
	return j;
}

/* n nested objects: {"a":{"a":...{}...}} has depth n. */
static char *
nested_objects(int n)
{
	size_t len = (size_t)n * 6 + 8;
	char *s = malloc(len);
	size_t off = 0;

	assert_non_null(s);
	for (int i = 0; i < n - 1; i++)
		off += (size_t)snprintf(s + off, len - off, "{\"a\":");
	off += (size_t)snprintf(s + off, len - off, "{}");
	for (int i = 0; i < n - 1; i++)
		off += (size_t)snprintf(s + off, len - off, "}");
	return s;
}

static void
test_json__nesting_depth__counts_brackets_outside_strings_only(void **state)
{
	static const struct {
		const char *s;
		int depth;
	} cases[] = {
		{ "", 0 },
		{ "1", 0 },
		{ "{}", 1 },
		{ "[[]]", 2 },
		{ "[\"[[[\"]", 1 },
		{ "{\"a\":\"{{{\",\"b\":[1,[2]]}", 3 },
		{ "[\"\\\"[[\"]", 1 }, /* an escaped quote does not end the string */
		{ "[\"\\\\\",[[]]]", 3 }, /* an escaped backslash does not escape the quote */
		{ "[][][]", 1 },
		{ "{\"a\":[{}],\"b\":{\"c\":{}}}", 3 },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		int d = json_nesting_depth(cases[i].s, strlen(cases[i].s));
		if (d != cases[i].depth)
			fail_msg("%s: depth %d, expected %d", cases[i].s, d, cases[i].depth);
	}
}

static void
test_json__nesting_depth__stops_at_len(void **state)
{
	(void)state;
	assert_int_equal(json_nesting_depth("[[[[", 2), 2);
}

static void
test_json__parse_body_object__parsed(void **state)
{
	struct tremplin_error e;
	const char body[] = "{\"name\": \"Atelier\", \"n\": 2}";
	json_t *j = json_parse_body(body, strlen(body), &e);

	(void)state;
	assert_non_null(j);
	assert_string_equal(json_str(j, "name"), "Atelier");
	assert_int_equal(json_integer_value(json_object_get(j, "n")), 2);
	assert_null(json_str(j, "n"));
	assert_null(json_str(j, "missing"));
	json_decref(j);
}

static void
test_json__parse_body_empty__400(void **state)
{
	struct tremplin_error e;

	(void)state;
	assert_null(json_parse_body("", 0, &e));
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "bad_request");
	assert_string_equal(e.message, "the request body is empty");
	assert_string_equal(e.field, "");
}

static void
test_json__parse_body_depth_33__400(void **state)
{
	struct tremplin_error e;
	char *s = nested_objects(33);

	(void)state;
	assert_int_equal(json_nesting_depth(s, strlen(s)), 33);
	assert_null(json_parse_body(s, strlen(s), &e));
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "bad_request");
	assert_string_equal(e.message, "JSON nested deeper than 32 levels");
	free(s);
}

static void
test_json__parse_body_depth_32__parsed(void **state)
{
	struct tremplin_error e;
	char *s = nested_objects(32);
	json_t *j;

	(void)state;
	assert_int_equal(json_nesting_depth(s, strlen(s)), 32);
	j = json_parse_body(s, strlen(s), &e);
	assert_non_null(j);
	json_decref(j);
	free(s);
}

static void
test_json__parse_body_not_an_object__400(void **state)
{
	static const char *const bodies[] = { "[]", "[{\"a\":1}]", "\"text\"", "42", "null",
		"true" };

	(void)state;
	for (size_t i = 0; i < NELEM(bodies); i++) {
		struct tremplin_error e;
		memset(&e, 0, sizeof(e));
		assert_null(json_parse_body(bodies[i], strlen(bodies[i]), &e));
		assert_int_equal(e.status, 400);
		assert_string_equal(e.code, "bad_request");
		if (strcmp(e.message, "the request body must be a JSON object") != 0)
			fail_msg("%s: %s", bodies[i], e.message);
	}
}

static void
test_json__parse_body_duplicate_keys__400(void **state)
{
	struct tremplin_error e;
	const char body[] = "{\"name\": \"a\", \"name\": \"b\"}";

	(void)state;
	assert_null(json_parse_body(body, strlen(body), &e));
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "bad_request");
	assert_true(strncmp(e.message, "malformed JSON at line 1 column ", 32) == 0);
	assert_non_null(strstr(e.message, "duplicate object key"));
}

static void
test_json__parse_body_malformed__message_with_line_and_column(void **state)
{
	struct tremplin_error e;
	const char body[] = "{\n  \"name\": \"a\",\n  \"siret\" \"b\"\n}";

	(void)state;
	assert_null(json_parse_body(body, strlen(body), &e));
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "bad_request");
	if (strncmp(e.message, "malformed JSON at line 3 column ", 32) != 0)
		fail_msg("unexpected message: %s", e.message);
	assert_non_null(strstr(e.message, "':' expected"));
	assert_string_equal(e.field, "");
}

static void
test_json__parse_body_trailing_garbage__400(void **state)
{
	struct tremplin_error e;
	const char body[] = "{} {}";

	(void)state;
	assert_null(json_parse_body(body, strlen(body), &e));
	assert_int_equal(e.status, 400);
	assert_true(strncmp(e.message, "malformed JSON at line 1 column ", 32) == 0);
}

static void
test_json__parse_body_nul_inside__400(void **state)
{
	struct tremplin_error e;
	const char body[] = "{\"a\": \"x\0y\"}";

	(void)state;
	/* Length-delimited: the NUL is part of the body, and JSON forbids it raw. */
	assert_null(json_parse_body(body, sizeof(body) - 1, &e));
	assert_int_equal(e.status, 400);
}

static void
test_json__parse_body_escaped_nul__422_naming_the_field(void **state)
{
	static const struct {
		const char *body, *field;
	} cases[] = {
		{ "{\"a\": \"x\\u0000y\"}", "a" },
		{ "{\"ok\": \"x\", \"b\": {\"c\": [1, \"\\u0000\"]}}", "b.c[1]" },
		{ "{\"l\": [[\"\\u0000\"]]}", "l[0][0]" },
	};
	struct tremplin_error e;

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		assert_null(json_parse_body(cases[i].body, strlen(cases[i].body), &e));
		assert_int_equal(e.status, 422);
		assert_string_equal(e.code, "validation_failed");
		assert_string_equal(e.field, cases[i].field);
		assert_non_null(strstr(e.message, "NUL"));
	}
}

/* Check obj (JSON text) against specs; returns json_check_fields' result. */
static int
check(const char *obj, int whole, struct tremplin_error *e)
{
	json_t *j = parse(obj);
	int rc;

	memset(e, 0, sizeof(*e));
	rc = json_check_fields(j, specs, NELEM(specs), whole, e);
	json_decref(j);
	return rc;
}

static void
test_json__check_fields_valid_whole__ok(void **state)
{
	struct tremplin_error e;

	(void)state;
	assert_int_equal(check("{\"name\":\"A\",\"siret\":\"73282932000074\","
	                       "\"annexe_financiere\":null,\"active\":false,\"rank\":3}",
	                     1, &e),
	    0);
	assert_int_equal(check("{\"name\":\"A\",\"siret\":\"x\"}", 1, &e), 0);
}

static void
test_json__check_fields_unknown_field__400_unknown_field(void **state)
{
	struct tremplin_error e;

	(void)state;
	assert_int_equal(check("{\"name\":\"A\",\"colour\":\"red\"}", 0, &e), -1);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "unknown_field");
	assert_string_equal(e.field, "colour");
	assert_string_equal(e.message, "colour is not a known field");
}

static void
test_json__check_fields_read_only__422_naming_field(void **state)
{
	struct tremplin_error e;

	(void)state;
	assert_int_equal(check("{\"id\":5}", 0, &e), -1);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.code, "validation_failed");
	assert_string_equal(e.field, "id");
	assert_string_equal(e.message, "id is set by the server");
	assert_int_equal(check("{\"created_at\":\"2026-01-01T00:00:00Z\"}", 0, &e), -1);
	assert_string_equal(e.field, "created_at");
}

static void
test_json__check_fields_wrong_type__422_naming_field(void **state)
{
	static const struct {
		const char *obj, *field, *message;
	} cases[] = {
		{ "{\"name\":12}", "name", "name must be a string" },
		{ "{\"active\":\"yes\"}", "active", "active must be true or false" },
		{ "{\"active\":1}", "active", "active must be true or false" },
		{ "{\"rank\":\"3\"}", "rank", "rank must be an integer" },
		{ "{\"rank\":3.5}", "rank", "rank must be an integer" },
		{ "{\"annexe_financiere\":[]}", "annexe_financiere",
		    "annexe_financiere must be a string" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct tremplin_error e;
		assert_int_equal(check(cases[i].obj, 0, &e), -1);
		assert_int_equal(e.status, 422);
		assert_string_equal(e.code, "validation_failed");
		assert_string_equal(e.field, cases[i].field);
		assert_string_equal(e.message, cases[i].message);
	}
}

static void
test_json__check_fields_null_on_non_nullable__422(void **state)
{
	struct tremplin_error e;

	(void)state;
	assert_int_equal(check("{\"name\":null}", 0, &e), -1);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.code, "validation_failed");
	assert_string_equal(e.field, "name");
	assert_string_equal(e.message, "name may not be null");
	assert_int_equal(check("{\"active\":null}", 0, &e), -1);
	assert_string_equal(e.field, "active");
	/* Null clears a nullable field. */
	assert_int_equal(check("{\"annexe_financiere\":null}", 0, &e), 0);
}

static void
test_json__check_fields_missing_required__422_only_when_whole(void **state)
{
	struct tremplin_error e;

	(void)state;
	assert_int_equal(check("{\"name\":\"A\"}", 1, &e), -1);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.code, "validation_failed");
	assert_string_equal(e.field, "siret");
	assert_string_equal(e.message, "siret is required");
	/* A patch names only what changes. */
	assert_int_equal(check("{\"name\":\"A\"}", 0, &e), 0);
	assert_int_equal(check("{}", 0, &e), 0);
	assert_int_equal(check("{}", 1, &e), -1);
	assert_string_equal(e.field, "name");
}

static void
test_json__input_error_set__long_field_truncated_terminated(void **state)
{
	struct tremplin_error e;
	char field[300];

	(void)state;
	memset(field, 'f', sizeof(field) - 1);
	field[sizeof(field) - 1] = '\0';
	input_error_set(&e, 422, "validation_failed", field, "%s is wrong", "it");
	assert_int_equal(e.status, 422);
	assert_string_equal(e.code, "validation_failed");
	assert_int_equal(strlen(e.field), sizeof(e.field) - 1);
	assert_string_equal(e.message, "it is wrong");
	input_error_set(&e, 400, "bad_request", NULL, "x");
	assert_string_equal(e.field, "");
}

/* RFC 7386, appendix A: the cases whose target and patch are objects. */
static void
test_json__merge_patch__rfc7386_examples(void **state)
{
	static const struct {
		const char *target, *patch, *result;
	} cases[] = {
		{ "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
		{ "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
		{ "{\"a\":\"b\"}", "{\"a\":null}", "{}" },
		{ "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}" },
		{ "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
		{ "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
		{ "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
		    "{\"a\":{\"b\":\"d\"}}" },
		{ "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}" },
		{ "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}" },
		{ "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}" },
		/* and the document example of section 3 */
		{ "{\"title\":\"Goodbye!\",\"author\":{\"givenName\":\"John\",\"familyName\":"
		  "\"Doe\"},"
		  "\"tags\":[\"example\",\"sample\"],\"content\":\"This will be unchanged\"}",
		    "{\"title\":\"Hello!\",\"phoneNumber\":\"+01-123-456-7890\","
		    "\"author\":{\"familyName\":null},\"tags\":[\"example\"]}",
		    "{\"title\":\"Hello!\",\"author\":{\"givenName\":\"John\"},\"tags\":["
		    "\"example\"],"
		    "\"content\":\"This will be "
		    "unchanged\",\"phoneNumber\":\"+01-123-456-7890\"}" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		json_t *t = parse(cases[i].target), *p = parse(cases[i].patch);
		json_t *want = parse(cases[i].result);
		json_merge_patch(t, p);
		if (!json_equal(t, want)) {
			char *got = json_dumps(t, JSON_SORT_KEYS | JSON_COMPACT);
			fail_msg("%s + %s: got %s, expected %s", cases[i].target, cases[i].patch,
			    got, cases[i].result);
		}
		json_decref(t);
		json_decref(p);
		json_decref(want);
	}
}

static void
test_json__merge_patch__patch_left_unchanged(void **state)
{
	json_t *t = parse("{\"a\":{\"x\":1}}");
	json_t *p = parse("{\"a\":{\"y\":2},\"b\":{\"z\":null,\"w\":3}}");
	json_t *before = json_deep_copy(p);

	(void)state;
	json_merge_patch(t, p);
	assert_true(json_equal(p, before));
	/* Changing the result afterwards does not reach back into the patch. */
	json_object_set_new(json_object_get(t, "b"), "v", json_integer(4));
	assert_true(json_equal(p, before));
	json_decref(t);
	json_decref(p);
	json_decref(before);
}

/* Whether s is UTF-8 as jansson judges it: it makes a JSON string of it. */
static int
jansson_takes(const char *s)
{
	json_t *j = json_string(s);
	int ok = j != NULL;

	json_decref(j);
	return ok;
}

static void
test_json__utf8_char__rfc3629_only(void **state)
{
	static const struct {
		const char *s;
		size_t len;
	} cases[] = {
		{ "a", 1 }, { "\xc3\xa9", 2 }, { "\xe2\x82\xac", 3 }, { "\xf0\x9f\x98\x80", 4 },
		{ "\xf4\x8f\xbf\xbf", 4 }, /* U+10FFFF */
		{ "\xff", 0 }, /* never in UTF-8 */
		{ "\x80", 0 }, /* a lone continuation */
		{ "\xc0\xaf", 0 }, /* overlong '/' */
		{ "\xc1\xbf", 0 }, /* overlong */
		{ "\xe0\x9f\xbf", 0 }, /* overlong */
		{ "\xf0\x8f\xbf\xbf", 0 }, /* overlong */
		{ "\xed\xa0\x80", 0 }, /* a surrogate */
		{ "\xf4\x90\x80\x80", 0 }, /* past U+10FFFF */
		{ "\xf5\x80\x80\x80", 0 }, { "\xc3", 0 }, /* cut */
		{ "\xe2\x82", 0 }, /* cut */
		{ "\xe2\x28\xa1", 0 }, /* bad continuation */
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		assert_int_equal(tr_utf8_char(cases[i].s, strlen(cases[i].s)), cases[i].len);
		/* The same verdict as jansson's, which builds the replies. */
		assert_int_equal(jansson_takes(cases[i].s), cases[i].len == strlen(cases[i].s));
	}
	assert_int_equal(tr_utf8_char("\xc3\xa9", 1), 0);
	assert_int_equal(tr_utf8_char("", 0), 0);
}

static void
test_json__utf8_cut__between_characters(void **state)
{
	(void)state;
	assert_int_equal(tr_utf8_cut("abc", 10), 3);
	assert_int_equal(tr_utf8_cut("abc", 2), 2);
	assert_int_equal(tr_utf8_cut("a\xc3\xa9", 2), 1);
	assert_int_equal(tr_utf8_cut("a\xc3\xa9", 3), 3);
	assert_int_equal(tr_utf8_cut("\xe2\x82\xac\xe2\x82\xac", 4), 3);
	assert_int_equal(tr_utf8_cut("\xe2\x82\xac\xe2\x82\xac", 5), 3);
	assert_int_equal(tr_utf8_cut("\xf0\x9f\x98\x80z", 3), 0);
}

static void
test_json__safe_text__valid_text_kept(void **state)
{
	char out[64];

	(void)state;
	assert_string_equal(json_safe_text(out, sizeof(out), "héllo €"), "héllo €");
	assert_string_equal(json_safe_text(out, sizeof(out), ""), "");
	assert_string_equal(json_safe_text(out, 8, "1234567"), "1234567");
}

static void
test_json__safe_text__bad_bytes_escaped(void **state)
{
	char out[64];

	(void)state;
	assert_string_equal(json_safe_text(out, sizeof(out), "/v1/\xff"), "/v1/\\xFF");
	assert_string_equal(json_safe_text(out, sizeof(out), "a\xc3"), "a\\xC3");
	assert_string_equal(json_safe_text(out, sizeof(out), "\xc0\xaf"), "\\xC0\\xAF");
	assert_string_equal(json_safe_text(out, sizeof(out), "\xed\xa0\x80!"), "\\xED\\xA0\\x80!");
	assert_string_equal(json_safe_text(out, sizeof(out), "\xc3\xa9\x80\xc3\xa9"), "é\\x80é");
}

static void
test_json__safe_text__cut_between_characters_with_ellipsis(void **state)
{
	char out[16], big[1200];

	(void)state;
	/* 15 bytes of room: 12 for the text, 3 for the ellipsis; é never split. */
	assert_string_equal(json_safe_text(out, sizeof(out), "ééééééééééé"), "éééééé…");
	assert_string_equal(json_safe_text(out, sizeof(out), "€€€€€€€€"), "€€€€…");
	/* An escape is not split either. */
	assert_string_equal(
	    json_safe_text(out, sizeof(out), "ab\xff\xff\xff\xff"), "ab\\xFF\\xFF…");
	/* Exactly full: no ellipsis. */
	assert_string_equal(json_safe_text(out, sizeof(out), "123456789012345"), "123456789012345");
	assert_string_equal(json_safe_text(out, sizeof(out), "1234567890123456"), "123456789012…");
	/* Too small for the ellipsis: cut, still terminated and valid. */
	assert_string_equal(json_safe_text(out, 3, "ééé"), "é");
	assert_string_equal(json_safe_text(out, 2, "ééé"), "");
	assert_string_equal(json_safe_text(out, 1, "abc"), "");
	/* Whatever comes in, jansson takes what comes out. */
	for (size_t i = 0; i + 1 < sizeof(big); i++)
		big[i] = (char)(i % 3 == 0 ? 0xc3 : i % 3 == 1 ? 0xa9 : 0xff - (i % 200));
	big[sizeof(big) - 1] = '\0';
	for (size_t size = 1; size < 70; size++) {
		json_safe_text(out, size < sizeof(out) ? size : sizeof(out), big);
		assert_true(strlen(out) < size);
		assert_true(jansson_takes(out));
	}
}

static void
vformat(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	json_safe_vformat(dst, size, fmt, ap);
	va_end(ap);
}

static void
test_json__safe_vformat__long_input_cut_once_between_characters(void **state)
{
	char key[2001], out[256];

	(void)state;
	/* 1000 é: longer than any stack buffer the formatting uses. */
	for (size_t i = 0; i < 2000; i += 2)
		memcpy(key + i, "\xc3\xa9", 2);
	key[2000] = '\0';
	vformat(out, sizeof(out), "%s is not a known field", key);
	assert_int_equal(strlen(out), 255);
	assert_true(jansson_takes(out));
	assert_memory_equal(out + 252, "…", 3);
	vformat(out, sizeof(out), "%d %s", 42, "\xff");
	assert_string_equal(out, "42 \\xFF");
}

static void
test_json__input_error_set__cut_key_valid_utf8(void **state)
{
	struct tremplin_error e;
	char key[401];

	(void)state;
	for (size_t i = 0; i < 400; i += 2)
		memcpy(key + i, "\xc3\xa9", 2);
	key[400] = '\0';
	input_error_set(&e, 400, "unknown_field", key, "%s is not a known field", key);
	assert_true(jansson_takes(e.field));
	assert_true(jansson_takes(e.message));
	assert_true(strlen(e.field) < sizeof(e.field));
}

static void
test_json__api_error_body__any_bytes_give_a_json_error(void **state)
{
	char bad[3000];
	json_t *b;
	char *text;

	(void)state;
	for (size_t i = 0; i + 1 < sizeof(bad); i++)
		bad[i] = (char)(0x80 + i % 0x80);
	bad[sizeof(bad) - 1] = '\0';
	b = api_error_body("not_found", bad, bad);
	assert_non_null(b);
	text = json_dumps(b, JSON_COMPACT);
	assert_non_null(text);
	free(text);
	assert_true(strlen(json_string_value(json_object_get(
	                json_object_get(b, "error"), "message"))) < API_ERROR_MESSAGE_MAX);
	assert_true(strlen(json_string_value(json_object_get(
	                json_object_get(b, "error"), "field"))) < API_ERROR_FIELD_MAX);
	json_decref(b);

	b = api_error_body("bad_request", NULL, "plain");
	assert_non_null(b);
	text = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"error\":{\"code\":\"bad_request\",\"message\":\"plain\"}}");
	free(text);
	json_decref(b);
}

static void
test_json__query_check__bad_escape_names_its_parameter(void **state)
{
	static const struct {
		const char *query, *name;
	} bad[] = {
		{ "team=%zz", "team" },
		{ "limit=5&team=%z", "team" },
		{ "team=abc%", "team" },
		{ "te%zzam=1", "te%zzam" },
		{ "%=1", "%" },
		{ "a=1&&b=%4", "b" },
		{ "\xff%=1", "\\xFF%" },
	};
	static const char *const good[] = { "", "team=%41%c3%A9", "a=1&b=", "x", "p=100%25&q" };
	char name[API_ERROR_FIELD_MAX];

	(void)state;
	for (size_t i = 0; i < NELEM(bad); i++) {
		assert_int_equal(api_query_check(bad[i].query, name, sizeof(name)), -1);
		assert_string_equal(name, bad[i].name);
	}
	for (size_t i = 0; i < NELEM(good); i++)
		assert_int_equal(api_query_check(good[i], name, sizeof(name)), 0);
}

/* json_dump_compact writes what json_dumps(JSON_COMPACT) writes, and fails where it fails. */
static void
same_as_jansson(json_t *v, struct json_buf *b)
{
	char *want = json_dumps(v, JSON_COMPACT);

	if (want == NULL) {
		assert_int_equal(json_dump_compact(v, b), -1);
		return;
	}
	assert_int_equal(json_dump_compact(v, b), 0);
	assert_int_equal(b->len, strlen(want));
	assert_string_equal(b->data, want);
	free(want);
}

static void
test_json__dump_compact__same_text_as_json_dumps(void **state)
{
	static const char *const texts[] = {
		"{\"object\":{\"id\":7,\"name\":\"Atelier n\u00b0 "
		"1\",\"x\":null},\"changed\":[\"name\"]}",
		"[]",
		"{\"a\":\"a longer text than the first, so that the kept buffer grows: "
		"0123456789012345678901234567890123456789012345678901234567890123456789\"}",
		"{}",
	};
	struct json_buf b = { NULL, 0, 0 };
	json_t *loop, *inner;

	(void)state;
	/* One buffer for every call, as the journal keeps it. */
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		json_t *v = json_loads(texts[i], 0, NULL);
		assert_non_null(v);
		same_as_jansson(v, &b);
		json_decref(v);
	}
	/* What jansson refuses to write is refused, the buffer left empty. */
	loop = json_object();
	inner = json_object();
	assert_int_equal(json_object_set(loop, "inner", inner), 0);
	assert_int_equal(json_object_set(inner, "outer", loop), 0);
	assert_int_equal(json_dump_compact(loop, &b), -1);
	assert_int_equal(b.len, 0);
	json_object_del(inner, "outer");
	json_decref(inner);
	json_decref(loop);
	json_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json__nesting_depth__counts_brackets_outside_strings_only),
		cmocka_unit_test(test_json__nesting_depth__stops_at_len),
		cmocka_unit_test(test_json__parse_body_object__parsed),
		cmocka_unit_test(test_json__parse_body_empty__400),
		cmocka_unit_test(test_json__parse_body_depth_33__400),
		cmocka_unit_test(test_json__parse_body_depth_32__parsed),
		cmocka_unit_test(test_json__parse_body_not_an_object__400),
		cmocka_unit_test(test_json__parse_body_duplicate_keys__400),
		cmocka_unit_test(test_json__parse_body_malformed__message_with_line_and_column),
		cmocka_unit_test(test_json__parse_body_trailing_garbage__400),
		cmocka_unit_test(test_json__parse_body_nul_inside__400),
		cmocka_unit_test(test_json__parse_body_escaped_nul__422_naming_the_field),
		cmocka_unit_test(test_json__check_fields_valid_whole__ok),
		cmocka_unit_test(test_json__check_fields_unknown_field__400_unknown_field),
		cmocka_unit_test(test_json__check_fields_read_only__422_naming_field),
		cmocka_unit_test(test_json__check_fields_wrong_type__422_naming_field),
		cmocka_unit_test(test_json__check_fields_null_on_non_nullable__422),
		cmocka_unit_test(test_json__check_fields_missing_required__422_only_when_whole),
		cmocka_unit_test(test_json__input_error_set__long_field_truncated_terminated),
		cmocka_unit_test(test_json__utf8_char__rfc3629_only),
		cmocka_unit_test(test_json__utf8_cut__between_characters),
		cmocka_unit_test(test_json__safe_text__valid_text_kept),
		cmocka_unit_test(test_json__safe_text__bad_bytes_escaped),
		cmocka_unit_test(test_json__safe_text__cut_between_characters_with_ellipsis),
		cmocka_unit_test(test_json__safe_vformat__long_input_cut_once_between_characters),
		cmocka_unit_test(test_json__input_error_set__cut_key_valid_utf8),
		cmocka_unit_test(test_json__api_error_body__any_bytes_give_a_json_error),
		cmocka_unit_test(test_json__query_check__bad_escape_names_its_parameter),
		cmocka_unit_test(test_json__merge_patch__rfc7386_examples),
		cmocka_unit_test(test_json__merge_patch__patch_left_unchanged),
		cmocka_unit_test(test_json__dump_compact__same_text_as_json_dumps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
