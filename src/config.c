/*
 * The configuration language, and a loader driven by a table of settings
 * (config_table.c holds tremplin.conf's): nothing here knows a setting.
 *
 * The configuration is a Lua chunk evaluated in an empty environment: it can
 * only assign values. Each top-level assignment is caught by a __newindex
 * metamethod that records its line, so that every later check can say
 * "file:line: what is wrong". No library is opened, a count hook bounds the
 * instructions and the allocator bounds the memory. Each value is then
 * converted to JSON and checked against its row.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "log.h"
#include "util.h"

#define CONF_MAX_BYTES (1 << 20)
#define CONF_MAX_MEMORY (16u << 20)
#define CONF_MAX_INSTRUCTIONS 1000000
#define CONF_MAX_DEPTH 16

struct config_ctx {
	lua_State *L;
	const char *name;
	const char *src; /* the file's text, to point errors at the right line */
	size_t srclen;
	size_t mem;
	char *err;
	size_t errlen;
};

static void *
conf_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct config_ctx *ld = ud;

	if (ptr == NULL)
		osize = 0;
	if (nsize == 0) {
		ld->mem -= osize;
		free(ptr);
		return NULL;
	}
	if (nsize > osize && ld->mem + (nsize - osize) > CONF_MAX_MEMORY)
		return NULL;
	void *p = realloc(ptr, nsize);
	if (p != NULL)
		ld->mem = ld->mem - osize + nsize;
	return p;
}

static void
conf_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	/* A hook has no frame of its own: level 0 is the chunk, which gives FILE:LINE:. */
	luaL_where(L, 0);
	lua_pushliteral(L, "configuration runs too long (it may only assign values)");
	lua_concat(L, 2);
	lua_error(L);
}

static int
current_line(lua_State *L)
{
	lua_Debug ar;

	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar))
		return ar.currentline;
	return 0;
}

/* env.__newindex(t, k, v): record the value in the upvalue tables. */
static int
env_newindex(lua_State *L)
{
	int line = current_line(L);

	if (lua_type(L, 2) != LUA_TSTRING)
		return luaL_error(L, "only names may be assigned");
	lua_pushvalue(L, 2);
	if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL) {
		lua_Integer first = lua_tointeger(L, -1);
		return luaL_error(
		    L, "%s is set twice (first at line %d)", lua_tostring(L, 2), (int)first);
	}
	lua_pop(L, 1);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, 3);
	lua_rawset(L, lua_upvalueindex(1));
	lua_pushvalue(L, 2);
	lua_pushinteger(L, line);
	lua_rawset(L, lua_upvalueindex(2));
	return 0;
}

static int
env_index(lua_State *L)
{
	return luaL_error(L, "unknown name '%s' (the configuration only assigns values)",
	    lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?");
}

int
config_fail(struct config_ctx *ld, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(ld->err, ld->errlen, "%s:%d: %s", ld->name, line, msg);
	else
		snprintf(ld->err, ld->errlen, "%s: %s", ld->name, msg);
	return -1;
}

/*
 * Lua reports an assignment at the line where it completes, which for a
 * table spanning lines is its closing brace. Errors should point at where
 * the setting starts: the last line at or before `end` that begins with
 * "key =".
 */
static int
assign_start_line(struct config_ctx *ld, const char *key, int end)
{
	size_t klen = strlen(key);
	int line = 1, found = end;
	const char *p = ld->src, *e = ld->src + ld->srclen;

	while (p < e && line <= end) {
		const char *q = p;
		while (q < e && (*q == ' ' || *q == '\t'))
			q++;
		if ((size_t)(e - q) > klen && strncmp(q, key, klen) == 0) {
			q += klen;
			while (q < e && (*q == ' ' || *q == '\t'))
				q++;
			if (q < e && *q == '=' && (q + 1 == e || q[1] != '='))
				found = line;
		}
		while (p < e && *p != '\n')
			p++;
		p++;
		line++;
	}
	return found;
}

/* The start of line `line` (1-based) of [p, e); *at is set to the line reached. */
static const char *
seek_line(const char *p, const char *e, int line, int *at)
{
	while (p < e && *at < line)
		if (*p++ == '\n')
			(*at)++;
	return p;
}

/*
 * When p starts a comment or a quoted string, the last byte it covers;
 * otherwise p itself. The line scanners below skip both.
 */
static const char *
skip_noise(const char *p, const char *e)
{
	if (*p == '-' && p + 1 < e && p[1] == '-') {
		while (p + 1 < e && p[1] != '\n')
			p++;
	} else if (*p == '"' || *p == '\'') {
		char quote = *p;
		for (p++; p < e && *p != quote && *p != '\n'; p++)
			if (*p == '\\')
				p++;
	}
	return p;
}

/*
 * The line where the index-th table inside the table assigned at `start`
 * opens (staff[2] -> its own "{"). Strings and comments are skipped; on any
 * doubt, the setting's own line.
 */
int
config_entry_line(struct config_ctx *ld, int start, size_t index)
{
	const char *p = ld->src, *e = ld->src + ld->srclen, *q;
	int line = 1, depth = 0;
	size_t seen = 0;

	p = seek_line(p, e, start, &line);
	for (; p < e; p++) {
		char c = *p;
		if (c == '\n')
			line++;
		else if ((q = skip_noise(p, e)) != p)
			p = q;
		else if (c == '{') {
			if (++depth == 2 && ++seen == index)
				return line;
		} else if (c == '}' && --depth == 0)
			break;
	}
	return start;
}

/* The line where key was assigned, or 0 when it was not. */
int
config_setting_line(struct config_ctx *ld, const char *key)
{
	int line;

	lua_getfield(ld->L, 1, key);
	line = (int)lua_tointeger(ld->L, -1);
	lua_pop(ld->L, 1);
	return line > 0 ? assign_start_line(ld, key, line) : 0;
}

/* Push values[key] and return its line, or 0 when absent (nothing pushed). */
static int
get_key(struct config_ctx *ld, const char *key)
{
	lua_State *L = ld->L;
	int line;

	if (lua_getfield(L, 2, key) == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	line = config_setting_line(ld, key);
	return line > 0 ? line : 1;
}

/*
 * The line of `key =` among the fields of the table that starts at line
 * `from` (brace depth 1). Strings and comments are skipped; on any doubt,
 * `from`.
 */
int
config_member_line(struct config_ctx *ld, int from, const char *key)
{
	const char *p = ld->src, *e = ld->src + ld->srclen, *q;
	size_t klen = strlen(key);
	int line = 1, d = 0, opened = 0;

	p = seek_line(p, e, from, &line);
	for (; p < e; p++) {
		char c = *p;
		if (c == '\n')
			line++;
		else if ((q = skip_noise(p, e)) != p)
			p = q;
		else if (c == '{') {
			d++;
			opened = 1;
		} else if (c == '}') {
			if (--d <= 0 && opened)
				break;
		} else if (d == 1 && (size_t)(e - p) > klen && strncmp(p, key, klen) == 0 &&
		    (p == ld->src ||
		        !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') ||
		            (p[-1] >= '0' && p[-1] <= '9')))) {
			q = p + klen;
			while (q < e && (*q == ' ' || *q == '\t'))
				q++;
			if (q < e && *q == '=' && (q + 1 == e || q[1] != '='))
				return line;
		}
	}
	return from;
}

/* Convert the Lua value on top of the stack to JSON; `where` names it in errors. */
static json_t *
lua_to_json(struct config_ctx *ld, int line, const char *where, int depth)
{
	lua_State *L = ld->L;
	json_t *j = NULL;

	if (depth > CONF_MAX_DEPTH || !lua_checkstack(L, 4)) {
		config_fail(ld, line, "%s: nested too deeply", where);
		return NULL;
	}
	switch (lua_type(L, -1)) {
	case LUA_TBOOLEAN:
		return json_boolean(lua_toboolean(L, -1));
	case LUA_TNUMBER:
		if (lua_isinteger(L, -1))
			return json_integer(lua_tointeger(L, -1));
		/* JSON has no infinity nor NaN: jansson refuses them. */
		if ((j = json_real(lua_tonumber(L, -1))) == NULL)
			config_fail(ld, line, "%s: not a finite number", where);
		return j;
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, -1, &len);
		j = json_stringn(s, len);
		if (j == NULL)
			config_fail(ld, line, "%s: not valid UTF-8", where);
		return j;
	}
	case LUA_TTABLE:
		break;
	default:
		config_fail(ld, line, "%s: a %s cannot be a configuration value", where,
		    luaL_typename(L, -1));
		return NULL;
	}

	lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
	size_t count = 0;
	lua_pushnil(L);
	while (lua_next(L, -2) != 0) {
		count++;
		lua_pop(L, 1);
	}
	if (count > 0 && (size_t)n == count) {
		j = json_array();
		for (lua_Integer i = 1; i <= n; i++) {
			char sub[256];
			snprintf(sub, sizeof(sub), "%s[%lld]", where, (long long)i);
			lua_rawgeti(L, -1, i);
			json_t *v = lua_to_json(ld, line, sub, depth + 1);
			lua_pop(L, 1);
			if (v == NULL) {
				json_decref(j);
				return NULL;
			}
			json_array_append_new(j, v);
		}
		return j;
	}
	j = json_object();
	lua_pushnil(L);
	while (lua_next(L, -2) != 0) {
		char sub[256];
		if (lua_type(L, -2) != LUA_TSTRING) {
			lua_pop(L, 2);
			json_decref(j);
			config_fail(ld, line, "%s: keys must be names", where);
			return NULL;
		}
		const char *k = lua_tostring(L, -2);
		snprintf(sub, sizeof(sub), "%s.%s", where, k);
		json_t *v = lua_to_json(ld, line, sub, depth + 1);
		if (v == NULL) {
			lua_pop(L, 2);
			json_decref(j);
			return NULL;
		}
		json_object_set_new(j, k, v);
		lua_pop(L, 1);
	}
	return j;
}

static int
is_secret_key(const char *k)
{
	static const char *const words[] = { "password", "passwd", "secret", "token", "api_key",
		"apikey", "private_key", "client_secret" };
	size_t len = strlen(k);

	for (size_t i = 0; i < TR_NELEM(words); i++)
		if (strcasestr(k, words[i]) != NULL)
			return 1;
	return len >= 4 && strcasecmp(k + len - 4, "_key") == 0;
}

/* Find a non-empty string under a secret-looking key; write its path to where. */
static int
find_secret(json_t *j, const char *path, char *where, size_t wlen)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_object(j)) {
		json_object_foreach (j, k, v) {
			char sub[256];
			snprintf(sub, sizeof(sub), "%s.%s", path, k);
			if (json_is_string(v) && json_string_length(v) > 0 && is_secret_key(k)) {
				tr_strlcpy(where, sub, wlen);
				return 1;
			}
			if (find_secret(v, sub, where, wlen))
				return 1;
		}
	} else if (json_is_array(j)) {
		json_array_foreach (j, i, v) {
			char sub[256];
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i + 1);
			if (find_secret(v, sub, where, wlen))
				return 1;
		}
	}
	return 0;
}

/* A JSON value's type as the configuration's author wrote it: Lua's names. */
static const char *
lua_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		return "table";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "nil";
	}
}

/* "a, b or c" from a NULL-terminated list, for "(expected ...)". */
static void
join_choices(const char *const *names, char *buf, size_t len)
{
	size_t n = 0, off = 0;

	buf[0] = '\0';
	while (names[n] != NULL)
		n++;
	for (size_t i = 0; i < n && off < len; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
		int w = snprintf(buf + off, len - off, "%s%s", sep, names[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* The names of the rows of `section` (NULL: top level), NULL-terminated. */
static size_t
section_names(const char *section, const char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < config_noptions && n + 1 < max; i++) {
		const struct config_option *o = &config_options[i];
		if ((section == NULL) != (o->section == NULL))
			continue;
		if (section == NULL || strcmp(section, o->section) == 0)
			names[n++] = o->name;
	}
	names[n] = NULL;
	return n;
}

static const struct config_option *
find_option(const char *section, const char *name)
{
	for (size_t i = 0; i < config_noptions; i++) {
		const struct config_option *o = &config_options[i];
		if ((section == NULL) != (o->section == NULL) || strcmp(o->name, name) != 0)
			continue;
		if (section == NULL || strcmp(section, o->section) == 0)
			return o;
	}
	return NULL;
}

/* Check a string's bytes: non-empty, no NUL, at most max (0: no bound). */
static int
check_string(struct config_ctx *ld, const struct config_option *o, const char *where,
    const json_t *v, int line, long max, const char *what)
{
	size_t len;

	if (!json_is_string(v))
		return config_fail(ld, line, "%s: expected %s, got %s", where,
		    o->expected ? o->expected : "a string", lua_type_name(v));
	len = json_string_length(v);
	if (len == 0 || strlen(json_string_value(v)) != len)
		return config_fail(
		    ld, line, "%s: must be a non-empty string without NUL bytes", where);
	if (max > 0 && len > (size_t)max)
		return config_fail(ld, line, "%s: %slonger than %ld bytes", where, what, max);
	return 0;
}

/*
 * Check v against row o; `where` names it in errors. Returns a new
 * reference to its normal form ({} as an empty list, and so on), or NULL
 * after config_fail().
 */
static json_t *
check_value(
    struct config_ctx *ld, const struct config_option *o, const char *where, json_t *v, int line)
{
	char list[256];

	switch (o->type) {
	case CONFIG_PATH:
		if (check_string(ld, o, where, v, line, o->max ? o->max : PATH_MAX - 1, "path ") ==
		    -1)
			return NULL;
		break;
	case CONFIG_STRING:
		if (check_string(ld, o, where, v, line, o->max, "") == -1)
			return NULL;
		break;
	case CONFIG_INTEGER:
		/* A field of a table says its range at once, as it always has. */
		if (o->section != NULL &&
		    (!json_is_integer(v) || json_integer_value(v) < o->min ||
		        json_integer_value(v) > o->max)) {
			config_fail(ld, line, "%s: expected an integer from %ld to %ld", where,
			    o->min, o->max);
			return NULL;
		}
		if (!json_is_integer(v)) {
			config_fail(
			    ld, line, "%s: expected an integer, got %s", where, lua_type_name(v));
			return NULL;
		}
		if (json_integer_value(v) < o->min || json_integer_value(v) > o->max) {
			config_fail(ld, line,
			    "%s: %" JSON_INTEGER_FORMAT " is out of range (%ld to %ld)", where,
			    json_integer_value(v), o->min, o->max);
			return NULL;
		}
		break;
	case CONFIG_BOOLEAN:
		if (!json_is_boolean(v)) {
			config_fail(ld, line, "%s: expected true or false, got %s", where,
			    lua_type_name(v));
			return NULL;
		}
		break;
	case CONFIG_CHOICE: {
		size_t i;
		if (!json_is_string(v)) {
			config_fail(
			    ld, line, "%s: expected a string, got %s", where, lua_type_name(v));
			return NULL;
		}
		for (i = 0; o->choices[i] != NULL; i++)
			if (strcmp(o->choices[i], json_string_value(v)) == 0)
				break;
		if (o->choices[i] == NULL) {
			join_choices(o->choices, list, sizeof(list));
			config_fail(ld, line, "%s: unknown %s '%s' (expected %s)", where,
			    o->noun ? o->noun : "value", json_string_value(v), list);
			return NULL;
		}
		break;
	}
	case CONFIG_MODE: {
		const char *s = json_string_value(v);
		char *end;
		unsigned long m;
		if (!json_is_string(v)) {
			config_fail(
			    ld, line, "%s: expected a string, got %s", where, lua_type_name(v));
			return NULL;
		}
		errno = 0;
		m = strtoul(s, &end, 8);
		if (errno || *end || s[0] != '0' || m > 0777 ||
		    (m & (unsigned long)o->min) != (unsigned long)o->min) {
			config_fail(ld, line, "%s: expected %s", where,
			    o->expected ? o->expected : "an octal string such as \"0660\"");
			return NULL;
		}
		break;
	}
	case CONFIG_TABLE:
		if (json_is_array(v) && json_array_size(v) == 0)
			return json_object();
		if (!json_is_object(v)) {
			config_fail(ld, line, "%s: expected %s", where,
			    o->expected ? o->expected : "a table");
			return NULL;
		}
		break;
	case CONFIG_LIST:
		if (json_is_object(v) && json_object_size(v) == 0)
			return json_array();
		if (!json_is_array(v)) {
			config_fail(ld, line, "%s: expected %s", where,
			    o->expected ? o->expected : "a list");
			return NULL;
		}
		break;
	case CONFIG_ANY:
		break;
	}
	return json_incref(v);
}

/* The default of row o as JSON (a new reference), or NULL when it has none. */
static json_t *
default_value(const struct config_option *o)
{
	switch (o->type) {
	case CONFIG_INTEGER:
		return json_integer(o->default_number);
	case CONFIG_BOOLEAN:
		return json_boolean(o->default_number);
	case CONFIG_TABLE:
		return json_object();
	case CONFIG_LIST:
		return json_array();
	default:
		return o->default_string ? json_string(o->default_string) : NULL;
	}
}

int
config_check_members(struct config_ctx *ld, const char *section, const char *where,
    const json_t *obj, int line, int seek, const char *noun)
{
	const char *names[64], *k;
	char list[512];
	json_t *v;

	section_names(section, names, TR_NELEM(names));
	json_object_foreach ((json_t *)obj, k, v) {
		if (find_option(section, k) != NULL)
			continue;
		join_choices(names, list, sizeof(list));
		return config_fail(ld, seek ? config_member_line(ld, line, k) : line,
		    "%s.%s: unknown %s (expected %s)", where, k, noun, list);
	}
	return 0;
}

int
config_member(struct config_ctx *ld, const char *section, const char *where, const json_t *obj,
    const char *name, int line, int seek, json_t **out)
{
	const struct config_option *o = find_option(section, name);
	json_t *v = json_object_get(obj, name);
	char sub[256];

	if (o == NULL)
		fatalx("config_member: %s.%s is not in the table", section, name);
	*out = NULL;
	snprintf(sub, sizeof(sub), "%s.%s", where, name);
	if (v == NULL) {
		if (o->required)
			return config_fail(ld, line, "%s: missing (%s)", sub, o->text);
		*out = default_value(o);
		return 0;
	}
	*out = check_value(ld, o, sub, v, seek ? config_member_line(ld, line, name) : line);
	return *out == NULL ? -1 : 0;
}

/* Store a checked scalar (or its default, v NULL) where row o lands in c. */
static void
store(const struct config_option *o, const json_t *v, struct config *c)
{
	void *at = (char *)c + o->offset;
	const char *s;
	size_t i;

	switch (o->type) {
	case CONFIG_PATH:
	case CONFIG_STRING:
		s = v ? json_string_value(v) : o->default_string;
		*(char **)at = s ? strdup(s) : NULL;
		break;
	case CONFIG_INTEGER:
		*(int *)at = v ? (int)json_integer_value(v) : (int)o->default_number;
		break;
	case CONFIG_BOOLEAN:
		*(int *)at = v ? json_is_true(v) : o->default_number != 0;
		break;
	case CONFIG_CHOICE:
		if ((s = v ? json_string_value(v) : o->default_string) == NULL)
			fatalx("config: %s has no default", o->name);
		for (i = 0; o->choices[i] != NULL && strcmp(o->choices[i], s) != 0; i++)
			;
		*(int *)at = (int)i;
		break;
	case CONFIG_MODE:
		if ((s = v ? json_string_value(v) : o->default_string) == NULL)
			fatalx("config: %s has no default", o->name);
		*(mode_t *)at = (mode_t)strtoul(s, NULL, 8);
		break;
	default:
		fatalx("config: %s has no .parse", o->name);
	}
}

/* One top-level row: its value (or default) checked and stored in c. */
static int
load_option(struct config_ctx *ld, const struct config_option *o, mode_t st_mode, struct config *c)
{
	json_t *raw = NULL, *v = NULL;
	char where[256];
	int line, rc = -1;

	if ((line = get_key(ld, o->name)) != 0) {
		raw = lua_to_json(ld, line, o->name, 0);
		lua_pop(ld->L, 1);
		if (raw == NULL)
			return -1;
		if ((v = check_value(ld, o, o->name, raw, line)) == NULL)
			goto out;
	} else if (o->required)
		return config_fail(ld, 0, "%s: missing (%s)", o->name, o->text);
	if (o->parse != NULL) {
		if (o->parse(ld, v, line, c) == -1)
			goto out;
	} else
		store(o, v, c);
	if (o->secrets && v != NULL && (st_mode & (S_IRGRP | S_IROTH)) &&
	    find_secret(v, o->name, where, sizeof(where))) {
		config_fail(ld, 0,
		    "holds a secret (%s) and is readable by group or others; chmod 600 it", where);
		goto out;
	}
	rc = 0;
out:
	json_decref(raw);
	json_decref(v);
	return rc;
}

static int
load_options(struct config_ctx *ld, struct config *c, mode_t st_mode)
{
	lua_State *L = ld->L;

	/* Unknown names first: a typo must not silently fall back to a default. */
	lua_pushnil(L);
	while (lua_next(L, 2) != 0) {
		const char *k = lua_tostring(L, -2);
		if (find_option(NULL, k) == NULL) {
			lua_pushvalue(L, -2);
			lua_rawget(L, 1);
			int line = assign_start_line(ld, k, (int)lua_tointeger(L, -1));
			config_fail(ld, line, "unknown setting '%s'", k);
			lua_pop(L, 3);
			return -1;
		}
		lua_pop(L, 1);
	}
	for (size_t i = 0; i < config_noptions; i++)
		if (config_options[i].section == NULL &&
		    load_option(ld, &config_options[i], st_mode, c) == -1)
			return -1;
	return config_check(ld, c);
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	for (size_t i = 0; i < config_noptions; i++) {
		const struct config_option *o = &config_options[i];
		if (o->section != NULL)
			continue;
		if (o->type == CONFIG_PATH || o->type == CONFIG_STRING)
			free(*(char **)((char *)c + o->offset));
		if (o->release != NULL)
			o->release(c);
	}
	free(c);
}

int
config_load_buffer(const char *name, const char *buf, size_t len, mode_t st_mode,
    struct config **out, char *err, size_t errlen)
{
	struct config_ctx ld = {
		.name = name, .src = buf, .srclen = len, .err = err, .errlen = errlen
	};
	struct config *c;
	char chunkname[PATH_MAX + 2];
	int rc = -1;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("calloc");
	c->path = strdup(name);
	ld.L = lua_newstate(conf_alloc, &ld);
	if (ld.L == NULL) {
		config_fail(&ld, 0, "cannot create the Lua state");
		goto out;
	}
	lua_State *L = ld.L;

	/* Stack: 1 = lines by name, 2 = values by name. */
	lua_newtable(L);
	lua_newtable(L);
	snprintf(chunkname, sizeof(chunkname), "@%s", name);
	if (luaL_loadbufferx(L, buf, len, chunkname, "t") != LUA_OK) {
		snprintf(err, errlen, "%s", lua_tostring(L, -1));
		goto out;
	}
	/* The chunk's _ENV: an empty table whose metatable records assignments. */
	lua_newtable(L);
	lua_newtable(L);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, 1);
	lua_pushcclosure(L, env_newindex, 2);
	lua_setfield(L, -2, "__newindex");
	lua_pushcfunction(L, env_index);
	lua_setfield(L, -2, "__index");
	lua_pushliteral(L, "locked");
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	if (lua_setupvalue(L, -2, 1) == NULL) {
		lua_pop(L, 1);
	}
	lua_sethook(L, conf_hook, LUA_MASKCOUNT, CONF_MAX_INSTRUCTIONS);
	int status = lua_pcall(L, 0, 0, 0);
	if (status == LUA_ERRMEM) {
		config_fail(&ld, 0, "out of memory (a configuration may use up to %u MiB)",
		    CONF_MAX_MEMORY >> 20);
		goto out;
	}
	if (status != LUA_OK) {
		const char *m = lua_tostring(L, -1);
		snprintf(err, errlen, "%s", m ? m : "out of memory");
		goto out;
	}
	lua_sethook(L, NULL, 0, 0);
	rc = load_options(&ld, c, st_mode);
out:
	if (ld.L)
		lua_close(ld.L);
	if (rc == 0)
		*out = c;
	else
		config_free(c);
	return rc;
}

int
config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd, rc;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size > CONF_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, CONF_MAX_BYTES);
		close(fd);
		return -1;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		fatal("malloc");
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		snprintf(err, errlen, "%s: short read", path);
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	rc = config_load_buffer(path, buf, (size_t)n, st.st_mode, out, err, errlen);
	free(buf);
	return rc;
}
