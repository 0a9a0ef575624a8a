#include "json.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026 */
#define ELLIPSIS_LEN 3

/* One step of json_safe_text: the bytes of src it consumes, *out those it writes. */
static size_t
safe_unit(const char *src, size_t n, size_t *out)
{
	size_t len = tr_utf8_char(src, n);

	*out = len ? len : 4;
	return len ? len : 1;
}

char *
json_safe_text(char *dst, size_t size, const char *src)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(src), total = 0, room, o = 0;

	if (size == 0)
		return dst;
	for (size_t i = 0, w; i < n; total += w)
		i += safe_unit(src + i, n - i, &w);
	/* Room for the text; when it does not all fit, keep some for the ellipsis. */
	if (total < size)
		room = total;
	else
		room = size - 1 >= ELLIPSIS_LEN ? size - 1 - ELLIPSIS_LEN : size - 1;
	for (size_t i = 0, w, c; i < n; i += c) {
		c = safe_unit(src + i, n - i, &w);
		if (o + w > room)
			break;
		if (c == w)
			memcpy(dst + o, src + i, c);
		else {
			unsigned char b = (unsigned char)src[i];
			dst[o] = '\\';
			dst[o + 1] = 'x';
			dst[o + 2] = hex[b >> 4];
			dst[o + 3] = hex[b & 0xf];
		}
		o += w;
	}
	if (total >= size && size - 1 >= ELLIPSIS_LEN) {
		memcpy(dst + o, ELLIPSIS, ELLIPSIS_LEN);
		o += ELLIPSIS_LEN;
	}
	dst[o] = '\0';
	return dst;
}

void
json_safe_vformat(char *dst, size_t size, const char *fmt, va_list ap)
{
	char small[1024], *text = small;
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(small, sizeof(small), fmt, aq);
	va_end(aq);
	if (n < 0) {
		json_safe_text(dst, size, "(the message could not be formatted)");
		return;
	}
	/*
	 * Formatted whole, so that only json_safe_text cuts, between characters.
	 * Short of memory, vsnprintf's cut stands: one character may show as \xHH.
	 */
	if ((size_t)n >= sizeof(small)) {
		if ((text = malloc((size_t)n + 1)) != NULL)
			vsnprintf(text, (size_t)n + 1, fmt, ap);
		else
			text = small;
	}
	json_safe_text(dst, size, text);
	if (text != small)
		free(text);
}

void
json_safe_format(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	json_safe_vformat(dst, size, fmt, ap);
	va_end(ap);
}

void
input_error_set(
    struct tremplin_error *e, int status, const char *code, const char *field, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->code = code;
	json_safe_text(e->field, sizeof(e->field), field ? field : "");
	va_start(ap, fmt);
	json_safe_vformat(e->message, sizeof(e->message), fmt, ap);
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

/* Append text to path (at *len, NUL-terminated), cutting between characters. */
static void
path_add(char *path, size_t size, size_t *len, const char *text)
{
	size_t n = *len < size ? tr_utf8_cut(text, size - 1 - *len) : 0;

	memcpy(path + *len, text, n);
	*len += n;
	path[*len] = '\0';
}

/*
 * Find a string holding a NUL (jansson keeps it with JSON_ALLOW_NUL; C code
 * would read it cut short): 1 with its path ("a.b[2]") in path, else 0. The
 * depth is bounded by JSON_MAX_DEPTH, checked before parsing.
 */
static int
find_nul(json_t *j, char *path, size_t size, size_t len)
{
	char idx[32];
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_string(j))
		return memchr(json_string_value(j), '\0', json_string_length(j)) != NULL;
	if (json_is_object(j))
		json_object_foreach (j, k, v) {
			size_t n = len;
			if (len > 0)
				path_add(path, size, &n, ".");
			path_add(path, size, &n, k);
			if (find_nul(v, path, size, n))
				return 1;
			path[len] = '\0';
		}
	if (json_is_array(j))
		json_array_foreach (j, i, v) {
			size_t n = len;
			snprintf(idx, sizeof(idx), "[%zu]", i);
			path_add(path, size, &n, idx);
			if (find_nul(v, path, size, n))
				return 1;
			path[len] = '\0';
		}
	return 0;
}

json_t *
json_parse_body(const char *buf, size_t len, struct tremplin_error *err)
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
	/* ALLOW_NUL: a "\u0000" is judged below as a bad value of its field, not as bad JSON. */
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
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
	char path[sizeof(err->field)] = "";
	if (find_nul(j, path, sizeof(path), 0)) {
		json_decref(j);
		input_error_set(err, 422, "validation_failed", path,
		    "%s contains a NUL character (\\u0000), which no text field may hold", path);
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
json_check_fields(json_t *obj, const struct field_spec *specs, size_t nspecs, int whole,
    struct tremplin_error *err)
{
	const char *k;
	json_t *v;

	json_object_foreach (obj, k, v) {
		const struct field_spec *f = NULL;
		for (size_t i = 0; i < nspecs; i++)
			if (strcmp(specs[i].name, k) == 0)
				f = &specs[i];
		if (f == NULL) {
			char q[JSON_NAME_QUOTED];
			input_error_set(err, 400, "unknown_field", k, "%s is not a known field",
			    json_safe_text(q, sizeof(q), k));
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

static int
buf_put(struct json_buf *b, const char *s, size_t n)
{
	if (n >= SIZE_MAX / 2 - b->len)
		return -1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *d;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((d = realloc(b->data, cap)) == NULL)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	return 0;
}

static int
buf_append(const char *s, size_t n, void *arg)
{
	return buf_put(arg, s, n);
}

int
json_dump_compact(const json_t *v, struct json_buf *b)
{
	b->len = 0;
	/* jansson's own writer, into a buffer kept from one call to the next. */
	if (json_dump_callback(v, buf_append, b, JSON_COMPACT) == -1 || buf_put(b, "", 0) == -1) {
		b->len = 0;
		return -1;
	}
	b->data[b->len] = '\0';
	return 0;
}

void
json_buf_free(struct json_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
