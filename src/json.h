/* JSON input: depth limit, field tables, merge patch. Parsing itself is jansson's. */
#ifndef TREMPLIN_JSON_H
#define TREMPLIN_JSON_H

#include <stdarg.h>
#include <stddef.h>

#include <jansson.h>
#include <tremplin/plugin.h>

#define JSON_MAX_DEPTH 32

/* struct tremplin_error: an error in a request's input (the SDK header declares it). */

/*
 * Text any JSON string can hold, from any C string: valid UTF-8 is copied,
 * each byte that is not is written as the four characters \xHH, and what does
 * not fit in size bytes is cut between two characters and ends with "…".
 * dst is always terminated (when size > 0); returns dst.
 */
char *json_safe_text(char *dst, size_t size, const char *src);
/* The same, from a printf format: nothing it formats can be cut inside a character. */
void json_safe_vformat(char *dst, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
void json_safe_format(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A name quoted inside a message is cut to this many bytes: the reason must fit too. */
#define JSON_NAME_QUOTED 64

void input_error_set(struct tremplin_error *, int status, const char *code, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

enum field_type { FT_STRING, FT_BOOLEAN, FT_INTEGER };

#define FF_REQUIRED 0x1 /* must be present on create */
#define FF_NULLABLE 0x2 /* null is a value (clears it) */
#define FF_READONLY 0x4 /* set by the server: rejected in input */

struct field_spec {
	const char *name;
	enum field_type type;
	unsigned flags;
};

/* The deepest nesting of arrays and objects in buf, scanning strings correctly. */
int json_nesting_depth(const char *buf, size_t len);

/*
 * Parse a request body: must be a JSON object, no deeper than JSON_MAX_DEPTH,
 * no duplicate keys. NULL with err set otherwise.
 */
json_t *json_parse_body(const char *buf, size_t len, struct tremplin_error *err);

/*
 * Check obj against the table: unknown or read-only fields, types, nulls,
 * and (when `whole`) required fields. 0 when good.
 */
int json_check_fields(json_t *obj, const struct field_spec *specs, size_t nspecs, int whole,
    struct tremplin_error *err);

/* RFC 7386 merge patch of an object into target, in place. */
void json_merge_patch(json_t *target, json_t *patch);

/* A growing buffer for json_dump_compact: reused, it stops allocating. */
struct json_buf {
	char *data;
	size_t len, cap;
};

/*
 * The text json_dumps(v, JSON_COMPACT) gives, written by jansson into b
 * (NUL terminated, b->len its length), allocating only when b must grow.
 * 0, or -1 when jansson cannot write it.
 */
int json_dump_compact(const json_t *v, struct json_buf *b);
void json_buf_free(struct json_buf *b);

/* Convenience: the string at key, or NULL when absent or null. */
const char *json_str(json_t *obj, const char *key);

#endif
