/*
 * Request bodies: json_parse_body (object only, depth, duplicates), then the
 * field checks and the merge patch that handlers apply to what it accepts.
 */
#include "fuzz.h"

#include <jansson.h>

#include "json.h"

static const struct field_spec specs[] = {
	{ "name", FT_STRING, FF_REQUIRED },
	{ "active", FT_BOOLEAN, 0 },
	{ "count", FT_INTEGER, FF_NULLABLE },
	{ "id", FT_INTEGER, FF_READONLY },
	{ "\xc3\xa9t\xc3\xa9", FT_STRING, FF_NULLABLE },
};

static void
check_error(const struct tremplin_error *e, int whole)
{
	FUZZ_CHECK(e->code != NULL);
	FUZZ_CHECK(e->status == 400 || e->status == 422);
	FUZZ_CHECK(memchr(e->message, '\0', sizeof(e->message)) != NULL);
	FUZZ_CHECK(memchr(e->field, '\0', sizeof(e->field)) != NULL);
	(void)whole;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tremplin_error e;
	json_t *body, *again, *target;
	char *text;
	int depth = json_nesting_depth((const char *)data, size);

	body = json_parse_body((const char *)data, size, &e);
	if (body == NULL) {
		check_error(&e, 0);
		/* Bad JSON is 400; a string holding \u0000 is 422 (naming its key, if it has one). */
		FUZZ_CHECK(
		    e.status == 400 || (e.status == 422 && memmem(data, size, "\\u0000", 6)));
		return 0;
	}
	FUZZ_CHECK(json_is_object(body));
	FUZZ_CHECK(depth <= JSON_MAX_DEPTH);

	/* What was accepted can be written back (handlers echo values) and reads the same. */
	text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(17));
	FUZZ_CHECK(text != NULL);
	again = json_parse_body(text, strlen(text), &e);
	FUZZ_CHECK(again != NULL);
	FUZZ_CHECK(json_equal(body, again));
	json_decref(again);
	free(text);

	for (int whole = 0; whole <= 1; whole++) {
		if (json_check_fields(body, specs, sizeof(specs) / sizeof(specs[0]), whole, &e) ==
		    0) {
			FUZZ_CHECK(!whole || json_is_string(json_object_get(body, "name")));
			FUZZ_CHECK(json_object_get(body, "id") == NULL);
		} else
			check_error(&e, whole);
	}

	/* RFC 7386: after the patch no member is null, and the result is still writable. */
	target = json_pack("{s:s, s:{s:i, s:[i]}}", "name", "x", "nested", "a", 1, "b", 2);
	FUZZ_CHECK(target != NULL);
	json_merge_patch(target, body);
	FUZZ_CHECK(json_is_object(target));
	{
		const char *k;
		json_t *v;
		json_object_foreach (target, k, v)
			FUZZ_CHECK(!json_is_null(v));
	}
	text = json_dumps(target, JSON_COMPACT);
	FUZZ_CHECK(text != NULL);
	free(text);
	json_decref(target);
	json_decref(body);
	return 0;
}
