/*
 * The error builder: whatever bytes a caller sends (a path, a query key, a
 * JSON key, a value quoted in a message), the error reply is a JSON object
 * {"error": {"code", "message"[, "field"]}} that jansson writes and reads back.
 */
#include "fuzz.h"

#include <jansson.h>

#include "api.h"
#include "json.h"

/* The reply as send_json writes it, read back as a client would. */
static void
check_reply(json_t *body, const char *code, int has_field)
{
	char *text;
	json_t *back, *e;

	FUZZ_CHECK(body != NULL);
	text = json_dumps(body, JSON_COMPACT);
	FUZZ_CHECK(text != NULL);
	back = json_loads(text, 0, NULL);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(json_object_size(back) == 1);
	e = json_object_get(back, "error");
	FUZZ_CHECK(json_is_object(e));
	FUZZ_CHECK(json_is_string(json_object_get(e, "code")));
	FUZZ_CHECK(strcmp(json_string_value(json_object_get(e, "code")), code) == 0);
	FUZZ_CHECK(json_is_string(json_object_get(e, "message")));
	FUZZ_CHECK(json_string_length(json_object_get(e, "message")) < API_ERROR_MESSAGE_MAX);
	if (has_field) {
		FUZZ_CHECK(json_is_string(json_object_get(e, "field")));
		FUZZ_CHECK(json_string_length(json_object_get(e, "field")) < API_ERROR_FIELD_MAX);
	} else {
		FUZZ_CHECK(json_object_get(e, "field") == NULL);
	}
	json_decref(back);
	free(text);
	json_decref(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), msg[API_ERROR_MESSAGE_MAX], q[JSON_NAME_QUOTED];
	size_t cut = size ? data[0] % (size + 1) : 0;
	struct tremplin_error ie;

	/* The bytes as a message, as a field, and cut at any length (mid-character). */
	check_reply(api_error_body("bad_request", NULL, s), "bad_request", 0);
	check_reply(api_error_body("validation_failed", s, "x"), "validation_failed", *s != '\0');
	json_safe_format(msg, sizeof(msg), "no such resource: %.*s", (int)cut, s);
	check_reply(api_error_body("not_found", NULL, msg), "not_found", 0);
	json_safe_format(
	    msg, sizeof(msg), "%s is not a known query parameter", json_safe_text(q, sizeof(q), s));
	check_reply(api_error_body("bad_request", s, msg), "bad_request", *s != '\0');

	/* What the request path builds in its fixed buffers for such a key. */
	input_error_set(&ie, 422, "validation_failed", s, "%s is not a known field", s);
	check_reply(api_error_body(ie.code, ie.field, ie.message), "validation_failed",
	    ie.field[0] != '\0');

	/* A body whose only key is these bytes: its error names the key safely. */
	if (size < 4096) {
		json_t *body;
		char *doc = malloc(size * 6 + 16), *p = doc;

		FUZZ_CHECK(doc != NULL);
		*p++ = '{';
		*p++ = '"';
		for (size_t i = 0; i < size; i++) {
			unsigned char c = data[i];
			if (c == '"' || c == '\\' || c < 0x20)
				p += snprintf(p, 7, "\\u%04x", c);
			else
				*p++ = (char)c;
		}
		memcpy(p, "\":1}", 5);
		body = json_parse_body(doc, strlen(doc), &ie);
		if (body == NULL)
			check_reply(api_error_body(ie.code, ie.field, ie.message), ie.code,
			    ie.field[0] != '\0');
		json_decref(body);
		free(doc);
	}
	free(s);
	return 0;
}
