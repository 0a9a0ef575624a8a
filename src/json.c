#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

void
input_error_set(
    struct input_error *e, int status, const char *code, const char *field, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->code = code;
	tr_strlcpy(e->field, field ? field : "", sizeof(e->field));
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

int
json_nesting_depth(const char *buf, size_t len)
{
	int depth = 0, max = 0, in_string = 0;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		if (c == '"')
			in_string = 1;
		else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if (c == '}' || c == ']')
			depth--;
	}
	return max;
}

json_t *
json_parse_body(const char *buf, size_t len, struct input_error *err)
{
	json_error_t jerr;
	json_t *j;

	if (len == 0) {
		input_error_set(err, 400, "bad_request", NULL, "the request body is empty");
		return NULL;
	}
	/* Before parsing: jansson would recurse up to its own, much larger, limit. */
	if (json_nesting_depth(buf, len) > JSON_MAX_DEPTH) {
		input_error_set(err, 400, "bad_request", NULL, "JSON nested deeper than %d levels",
		    JSON_MAX_DEPTH);
		return NULL;
	}
	/* DECODE_ANY: a scalar is valid JSON; it is refused below as "not an object". */
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (j == NULL) {
		input_error_set(err, 400, "bad_request", NULL,
		    "malformed JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		input_error_set(
		    err, 400, "bad_request", NULL, "the request body must be a JSON object");
		return NULL;
	}
	return j;
}

static const char *
type_name(enum field_type t)
{
	switch (t) {
	case FT_STRING:
		return "a string";
	case FT_BOOLEAN:
		return "true or false";
	case FT_INTEGER:
		return "an integer";
	}
	return "?";
}

static int
type_ok(json_t *v, enum field_type t)
{
	switch (t) {
	case FT_STRING:
		return json_is_string(v);
	case FT_BOOLEAN:
		return json_is_boolean(v);
	case FT_INTEGER:
		return json_is_integer(v);
	}
	return 0;
}

int
json_check_fields(
    json_t *obj, const struct field_spec *specs, size_t nspecs, int whole, struct input_error *err)
{
	const char *k;
	json_t *v;

	json_object_foreach (obj, k, v) {
		const struct field_spec *f = NULL;
		for (size_t i = 0; i < nspecs; i++)
			if (strcmp(specs[i].name, k) == 0)
				f = &specs[i];
		if (f == NULL) {
			input_error_set(err, 400, "unknown_field", k, "%s is not a known field", k);
			return -1;
		}
		if (f->flags & FF_READONLY) {
			input_error_set(
			    err, 422, "validation_failed", k, "%s is set by the server", k);
			return -1;
		}
		if (json_is_null(v)) {
			if (!(f->flags & FF_NULLABLE)) {
				input_error_set(
				    err, 422, "validation_failed", k, "%s may not be null", k);
				return -1;
			}
			continue;
		}
		if (!type_ok(v, f->type)) {
			input_error_set(err, 422, "validation_failed", k, "%s must be %s", k,
			    type_name(f->type));
			return -1;
		}
	}
	if (whole)
		for (size_t i = 0; i < nspecs; i++) {
			if (!(specs[i].flags & FF_REQUIRED))
				continue;
			v = json_object_get(obj, specs[i].name);
			if (v == NULL || json_is_null(v)) {
				input_error_set(err, 422, "validation_failed", specs[i].name,
				    "%s is required", specs[i].name);
				return -1;
			}
		}
	return 0;
}

void
json_merge_patch(json_t *target, json_t *patch)
{
	const char *k;
	json_t *v;

	json_object_foreach (patch, k, v) {
		json_t *cur = json_object_get(target, k);
		if (json_is_null(v))
			json_object_del(target, k);
		else if (json_is_object(v)) {
			/* RFC 7386: an object patches {} when the member is absent or not an object. */
			if (!json_is_object(cur)) {
				cur = json_object();
				json_object_set_new(target, k, cur);
			}
			json_merge_patch(cur, v);
		} else
			json_object_set(target, k, v);
	}
}

const char *
json_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}
