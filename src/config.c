/*
 * The configuration is a Lua chunk evaluated in an empty environment: it can
 * only assign values. Each top-level assignment is caught by a __newindex
 * metamethod that records its line, so that every later check can say
 * "file:line: what is wrong". No library is opened, a count hook bounds the
 * instructions and the allocator bounds the memory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "backup.h"
#include "log.h"
#include "util.h"
#include "validate.h"

#define CONF_MAX_BYTES (1 << 20)
#define CONF_MAX_MEMORY (16u << 20)
#define CONF_MAX_INSTRUCTIONS 1000000
#define CONF_MAX_DEPTH 16

struct loader {
	lua_State *L;
	const char *name;
	const char *src; /* the file's text, to point errors at the right line */
	size_t srclen;
	size_t mem;
	char *err;
	size_t errlen;
};

static const char *const known_keys[] = {
	"socket",
	"socket_mode",
	"database",
	"audit_database",
	"audit_retention_days",
	"retention_days",
	"welcome_items",
	"plugin_dir",
	"script_dir",
	"log_level",
	"request_timeout",
	"max_connections",
	"max_connections_per_user",
	"event_delay_ms",
	"plugin_strict",
	"ca_file",
	"allow_http",
	"backup_recipient",
	"backup_unencrypted",
	"staff",
	"plugins",
	"scripts",
};

static void *
conf_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct loader *ld = ud;

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

static int fail(struct loader *ld, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct loader *ld, int line, const char *fmt, ...)
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
assign_start_line(struct loader *ld, const char *key, int end)
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
static int
entry_line(struct loader *ld, int start, size_t index)
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
static int
key_line(struct loader *ld, const char *key)
{
	int line;

	lua_getfield(ld->L, 1, key);
	line = (int)lua_tointeger(ld->L, -1);
	lua_pop(ld->L, 1);
	return line > 0 ? assign_start_line(ld, key, line) : 0;
}

/* Push values[key] and return its line, or 0 when absent (nothing pushed). */
static int
get_key(struct loader *ld, const char *key)
{
	lua_State *L = ld->L;
	int line;

	if (lua_getfield(L, 2, key) == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	line = key_line(ld, key);
	return line > 0 ? line : 1;
}

static int
get_string(struct loader *ld, const char *key, const char *def, char **out)
{
	int line = get_key(ld, key);

	if (line == 0) {
		*out = def ? strdup(def) : NULL;
		return 0;
	}
	if (lua_type(ld->L, -1) != LUA_TSTRING) {
		fail(ld, line, "%s: expected a string, got %s", key, luaL_typename(ld->L, -1));
		lua_pop(ld->L, 1);
		return -1;
	}
	size_t len;
	const char *s = lua_tolstring(ld->L, -1, &len);
	if (len == 0 || strlen(s) != len || len >= PATH_MAX) {
		fail(ld, line, "%s: must be a non-empty string without NUL bytes", key);
		lua_pop(ld->L, 1);
		return -1;
	}
	*out = strdup(s);
	lua_pop(ld->L, 1);
	return 0;
}

static int
get_int(struct loader *ld, const char *key, long min, long max, long def, long *out)
{
	int line = get_key(ld, key);

	if (line == 0) {
		*out = def;
		return 0;
	}
	if (!lua_isinteger(ld->L, -1)) {
		fail(ld, line, "%s: expected an integer, got %s", key, luaL_typename(ld->L, -1));
		lua_pop(ld->L, 1);
		return -1;
	}
	lua_Integer v = lua_tointeger(ld->L, -1);
	lua_pop(ld->L, 1);
	if (v < min || v > max)
		return fail(
		    ld, line, "%s: %lld is out of range (%ld to %ld)", key, (long long)v, min, max);
	*out = (long)v;
	return 0;
}

static int
get_bool(struct loader *ld, const char *key, int def, int *out)
{
	int line = get_key(ld, key);

	if (line == 0) {
		*out = def;
		return 0;
	}
	if (!lua_isboolean(ld->L, -1)) {
		fail(ld, line, "%s: expected true or false, got %s", key, luaL_typename(ld->L, -1));
		lua_pop(ld->L, 1);
		return -1;
	}
	*out = lua_toboolean(ld->L, -1);
	lua_pop(ld->L, 1);
	return 0;
}

/* Convert the Lua value on top of the stack to JSON (plugin sections). */
static json_t *
lua_to_json(struct loader *ld, int line, const char *where, int depth)
{
	lua_State *L = ld->L;
	json_t *j = NULL;

	if (depth > CONF_MAX_DEPTH || !lua_checkstack(L, 4)) {
		fail(ld, line, "%s: nested too deeply", where);
		return NULL;
	}
	switch (lua_type(L, -1)) {
	case LUA_TBOOLEAN:
		return json_boolean(lua_toboolean(L, -1));
	case LUA_TNUMBER:
		if (lua_isinteger(L, -1))
			return json_integer(lua_tointeger(L, -1));
		return json_real(lua_tonumber(L, -1));
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, -1, &len);
		j = json_stringn(s, len);
		if (j == NULL)
			fail(ld, line, "%s: not valid UTF-8", where);
		return j;
	}
	case LUA_TTABLE:
		break;
	default:
		fail(ld, line, "%s: a %s cannot be a configuration value", where,
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
			fail(ld, line, "%s: keys must be names", where);
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

static int
staff_field(struct loader *ld, int line, size_t idx, const char *field, int required, char **out)
{
	lua_State *L = ld->L;
	int t = lua_getfield(L, -1, field);

	*out = NULL;
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		if (required)
			return fail(ld, line, "staff[%zu].%s: missing", idx, field);
		return 0;
	}
	if (t != LUA_TSTRING || lua_rawlen(L, -1) == 0) {
		lua_pop(L, 1);
		return fail(ld, line, "staff[%zu].%s: expected a non-empty string", idx, field);
	}
	*out = strdup(lua_tostring(L, -1));
	lua_pop(L, 1);
	return 0;
}

static int
load_staff(struct loader *ld, struct config *c)
{
	lua_State *L = ld->L;
	int line = get_key(ld, "staff");
	regex_t re;

	if (line == 0)
		return 0;
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		return fail(ld, line, "staff: expected a list of accounts");
	}
	size_t n = lua_rawlen(L, -1);
	if (n > 1000) {
		lua_pop(L, 1);
		return fail(ld, line, "staff: too many bootstrap accounts");
	}
	c->staff = calloc(n ? n : 1, sizeof(*c->staff));
	if (c->staff == NULL)
		fatal("calloc");
	if (regcomp(&re, "^([a-z_][a-z0-9_-]{0,31}|@daemon)$", REG_EXTENDED | REG_NOSUB) != 0)
		fatalx("regcomp");
	int rc = 0;
	for (size_t i = 1; i <= n && rc == 0; i++) {
		struct conf_staff *s = &c->staff[i - 1];
		char *role = NULL;
		int el = entry_line(ld, line, i);
		c->nstaff = i;
		if (lua_rawgeti(L, -1, (lua_Integer)i) != LUA_TTABLE) {
			lua_pop(L, 1);
			rc = fail(
			    ld, line, "staff[%zu]: expected a table {name=, unix_user=, role=}", i);
			break;
		}
		lua_pushnil(L);
		while (rc == 0 && lua_next(L, -2) != 0) {
			const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
			if (strcmp(k, "name") && strcmp(k, "unix_user") && strcmp(k, "role") &&
			    strcmp(k, "email"))
				rc = fail(ld, el, "staff[%zu].%s: unknown field", i, k);
			lua_pop(L, 1);
		}
		if (rc == 0 && (rc = staff_field(ld, el, i, "name", 1, &s->name)) == 0 &&
		    (rc = staff_field(ld, el, i, "unix_user", 1, &s->unix_user)) == 0 &&
		    (rc = staff_field(ld, el, i, "role", 1, &role)) == 0 &&
		    (rc = staff_field(ld, el, i, "email", 0, &s->email)) == 0) {
			if (regexec(&re, s->unix_user, 0, NULL, 0) != 0)
				rc = fail(ld, el,
				    "staff[%zu].unix_user: '%s' is not a valid user name", i,
				    s->unix_user);
			else if ((s->role = role_from_name(role)) == ROLE_NONE)
				rc = fail(ld, el,
				    "staff[%zu].role: unknown role '%s' (expected eti, cip, "
				    "coordinator or admin)",
				    i, role);
			for (size_t j = 0; rc == 0 && j + 1 < i; j++)
				if (strcmp(c->staff[j].unix_user, s->unix_user) == 0)
					rc = fail(ld, el,
					    "staff[%zu].unix_user: '%s' is listed twice", i,
					    s->unix_user);
		}
		free(role);
		lua_pop(L, 1);
	}
	regfree(&re);
	lua_pop(L, 1);
	return rc;
}

static int
resolve_daemon_user(struct loader *ld, struct config *c)
{
	for (size_t i = 0; i < c->nstaff; i++) {
		if (strcmp(c->staff[i].unix_user, "@daemon") != 0)
			continue;
		struct passwd pw, *res = NULL;
		char buf[4096];
		if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
			return fail(ld, 0,
			    "staff[%zu].unix_user: cannot name the daemon's user (uid %u)", i + 1,
			    (unsigned)geteuid());
		/* Listed under its own name too: the second entry would silently win. */
		for (size_t j = 0; j < c->nstaff; j++)
			if (strcmp(c->staff[j].unix_user, pw.pw_name) == 0)
				return fail(ld, key_line(ld, "staff"),
				    "staff[%zu].unix_user: '@daemon' is '%s', listed twice", i + 1,
				    pw.pw_name);
		free(c->staff[i].unix_user);
		c->staff[i].unix_user = strdup(pw.pw_name);
	}
	return 0;
}

/*
 * The line of `key =` at brace depth `depth` inside the table that starts
 * at line `from` (depth 1: its own fields). Strings and comments are
 * skipped; on any doubt, `from`.
 */
static int
member_line(struct loader *ld, int from, const char *key, int depth)
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
		} else if (d == depth && (size_t)(e - p) > klen && strncmp(p, key, klen) == 0 &&
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

static int
valid_script_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32 || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* A host name (lower case) with an optional port: what http{} may reach. */
static int
valid_http_host(const char *s)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		        s[i] == '-'))
			return 0;
	if (colon != NULL) {
		int64_t port;
		if (tr_parse_i64(colon + 1, 1, 65535, &port) == -1)
			return 0;
	}
	return 1;
}

static const struct {
	const char *name;
	long min, max, def;
} script_limits[] = {
	{ "memory_mib", 1, 1024, 8 },
	{ "instructions", 1000, 1000000000, 1000000 },
	{ "time_ms", 1, 60000, 50 },
	{ "max_failures", 1, 1000, 3 },
};

/* Check one script's section; return its normal form (defaults filled in) or NULL. */
static json_t *
script_section(struct loader *ld, const char *name, json_t *in, int line, const json_t *plugins)
{
	static const char *const keys[] = { "enabled", "role", "file", "options", "http_hosts",
		"limits" };
	const char *k;
	json_t *v, *out;
	char def[64];

	if (!valid_script_name(name)) {
		fail(ld, line, "scripts.%s: not a script name ([a-z][a-z0-9_]*, at most 32)", name);
		return NULL;
	}
	if (json_object_get(plugins, name) != NULL) {
		fail(ld, line, "scripts.%s: a plugin has this name already", name);
		return NULL;
	}
	if (json_is_array(in) && json_array_size(in) == 0)
		in = NULL;
	else if (!json_is_object(in)) {
		fail(ld, line, "scripts.%s: expected a table {role = ..., options = {...}}", name);
		return NULL;
	}
	json_object_foreach (in, k, v) {
		size_t i;
		for (i = 0; i < TR_NELEM(keys) && strcmp(k, keys[i]) != 0; i++)
			;
		if (i == TR_NELEM(keys)) {
			fail(ld, member_line(ld, line, k, 1),
			    "scripts.%s.%s: unknown setting (expected enabled, role, file, "
			    "options, "
			    "http_hosts or limits)",
			    name, k);
			return NULL;
		}
	}
	out = json_object();
	v = json_object_get(in, "enabled");
	if (v != NULL && !json_is_boolean(v)) {
		fail(ld, member_line(ld, line, "enabled", 1),
		    "scripts.%s.enabled: expected true or false", name);
		goto bad;
	}
	json_object_set_new(out, "enabled", json_boolean(v == NULL || json_is_true(v)));

	v = json_object_get(in, "role");
	if (v == NULL) {
		fail(ld, line,
		    "scripts.%s.role: missing (the role whose views the script reads: eti, cip, "
		    "coordinator or admin)",
		    name);
		goto bad;
	}
	if (!json_is_string(v) || role_from_name(json_string_value(v)) == ROLE_NONE) {
		fail(ld, member_line(ld, line, "role", 1),
		    "scripts.%s.role: unknown role %s%s%s (expected eti, cip, coordinator or "
		    "admin)",
		    name, json_is_string(v) ? "'" : "",
		    json_is_string(v) ? json_string_value(v) : "(not a string)",
		    json_is_string(v) ? "'" : "");
		goto bad;
	}
	json_object_set(out, "role", v);

	v = json_object_get(in, "file");
	if (v != NULL &&
	    (!json_is_string(v) || json_string_length(v) == 0 ||
	        json_string_length(v) >= PATH_MAX ||
	        strlen(json_string_value(v)) != json_string_length(v))) {
		fail(ld, member_line(ld, line, "file", 1),
		    "scripts.%s.file: expected a path (relative to script_dir)", name);
		goto bad;
	}
	snprintf(def, sizeof(def), "rules/%s.lua", name);
	json_object_set_new(out, "file", v ? json_copy(v) : json_string(def));

	v = json_object_get(in, "options");
	if (v != NULL && json_is_array(v) && json_array_size(v) == 0)
		v = NULL;
	if (v != NULL && !json_is_object(v)) {
		fail(ld, member_line(ld, line, "options", 1),
		    "scripts.%s.options: expected a table of named options", name);
		goto bad;
	}
	json_object_set_new(out, "options", v ? json_deep_copy(v) : json_object());

	v = json_object_get(in, "http_hosts");
	if (v != NULL && json_is_object(v) && json_object_size(v) == 0)
		v = NULL;
	if (v != NULL && !json_is_array(v)) {
		fail(ld, member_line(ld, line, "http_hosts", 1),
		    "scripts.%s.http_hosts: expected a list of host names", name);
		goto bad;
	}
	size_t i;
	json_t *h;
	json_array_foreach (v, i, h) {
		if (!json_is_string(h) || !valid_http_host(json_string_value(h))) {
			fail(ld, member_line(ld, line, "http_hosts", 1),
			    "scripts.%s.http_hosts[%zu]: expected a lower-case host name, with an "
			    "optional :port",
			    name, i + 1);
			goto bad;
		}
	}
	json_object_set_new(out, "http_hosts", v ? json_deep_copy(v) : json_array());

	v = json_object_get(in, "limits");
	if (v != NULL && json_is_array(v) && json_array_size(v) == 0)
		v = NULL;
	int lline = member_line(ld, line, "limits", 1);
	if (v != NULL && !json_is_object(v)) {
		fail(ld, lline, "scripts.%s.limits: expected a table", name);
		goto bad;
	}
	json_t *limits = json_object();
	json_object_set_new(out, "limits", limits);
	json_object_foreach (v, k, h) {
		for (i = 0; i < TR_NELEM(script_limits) && strcmp(k, script_limits[i].name); i++)
			;
		if (i == TR_NELEM(script_limits)) {
			fail(ld, member_line(ld, lline, k, 1),
			    "scripts.%s.limits.%s: unknown limit (expected memory_mib, "
			    "instructions, "
			    "time_ms or max_failures)",
			    name, k);
			goto bad;
		}
	}
	for (i = 0; i < TR_NELEM(script_limits); i++) {
		h = json_object_get(v, script_limits[i].name);
		if (h != NULL &&
		    (!json_is_integer(h) || json_integer_value(h) < script_limits[i].min ||
		        json_integer_value(h) > script_limits[i].max)) {
			fail(ld, member_line(ld, lline, script_limits[i].name, 1),
			    "scripts.%s.limits.%s: expected an integer from %ld to %ld", name,
			    script_limits[i].name, script_limits[i].min, script_limits[i].max);
			goto bad;
		}
		json_object_set_new(limits, script_limits[i].name,
		    h ? json_copy(h) : json_integer(script_limits[i].def));
	}
	return out;
bad:
	json_decref(out);
	return NULL;
}

/* scripts = { name = { role = ..., ... }, ... }: into c->scripts, normalised. */
static int
load_scripts(struct loader *ld, struct config *c, mode_t st_mode)
{
	lua_State *L = ld->L;
	int line = get_key(ld, "scripts");
	json_t *raw;
	const char *k;
	json_t *v;
	char where[256];

	c->scripts = json_object();
	if (line == 0)
		return 0;
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		return fail(ld, line, "scripts: expected a table of script sections");
	}
	raw = lua_to_json(ld, line, "scripts", 0);
	lua_pop(L, 1);
	if (raw == NULL)
		return -1;
	if (json_is_array(raw) && json_array_size(raw) == 0) {
		json_decref(raw);
		return 0;
	}
	if (!json_is_object(raw)) {
		json_decref(raw);
		return fail(ld, line, "scripts: expected sections named by script");
	}
	json_object_foreach (raw, k, v) {
		json_t *sec = script_section(ld, k, v, member_line(ld, line, k, 1), c->plugins);
		if (sec == NULL) {
			json_decref(raw);
			return -1;
		}
		json_object_set_new(c->scripts, k, sec);
	}
	json_decref(raw);
	if ((st_mode & (S_IRGRP | S_IROTH)) &&
	    find_secret(c->scripts, "scripts", where, sizeof(where)))
		return fail(ld, 0,
		    "holds a secret (%s) and is readable by group or others; chmod 600 it", where);
	return 0;
}

/* By default the audit log sits beside the database, in audit.sqlite. */
static int
default_audit_path(struct config *c)
{
	const char *slash = strrchr(c->database, '/');
	int n = slash ? (int)(slash - c->database) + 1 : 0;

	if (asprintf(&c->audit_database, "%.*saudit.sqlite", n, c->database) == -1) {
		c->audit_database = NULL;
		return -1;
	}
	return 0;
}

static const struct {
	const char *code, *label;
} default_welcome[] = {
	{ "booklet", "Livret d'accueil remis" },
	{ "rules", "Règlement intérieur présenté" },
	{ "safety_briefing", "Consignes de sécurité expliquées" },
	{ "ppe_issued", "Équipements de protection individuelle remis" },
	{ "medical_visit", "Visite médicale" },
	{ "team_introduction", "Présentation à l'équipe" },
};

/* welcome_items = { { code = "booklet", label = "Livret d'accueil remis" }, ... } */
static int
load_welcome(struct loader *ld, struct config *c)
{
	int line = get_key(ld, "welcome_items");
	json_t *list, *item;
	size_t i;

	if (line == 0) {
		c->nwelcome = TR_NELEM(default_welcome);
		c->welcome = calloc(c->nwelcome, sizeof(*c->welcome));
		if (c->welcome == NULL)
			fatal("calloc");
		for (i = 0; i < c->nwelcome; i++) {
			c->welcome[i].code = strdup(default_welcome[i].code);
			c->welcome[i].label = strdup(default_welcome[i].label);
		}
		return 0;
	}
	list = lua_istable(ld->L, -1) ? lua_to_json(ld, line, "welcome_items", 0) : NULL;
	lua_pop(ld->L, 1);
	if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > 50) {
		json_decref(list);
		return fail(ld, line,
		    "welcome_items: expected a list of 1 to 50 { code = ..., label = ... }");
	}
	c->welcome = calloc(json_array_size(list), sizeof(*c->welcome));
	if (c->welcome == NULL)
		fatal("calloc");
	json_array_foreach (list, i, item) {
		const char *code = json_string_value(json_object_get(item, "code"));
		const char *label = json_string_value(json_object_get(item, "label"));
		/* The label is one the API would take: 200 characters (not bytes), one line. */
		int ok = json_is_object(item) && json_object_size(item) == 2 && code && label &&
		    strlen(code) > 0 && strlen(code) <= 64 && valid_label(label, 200) == NULL;
		for (const char *p = code; ok && *p; p++)
			ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
		for (size_t j = 0; ok && j < c->nwelcome; j++)
			ok = strcmp(c->welcome[j].code, code) != 0;
		if (!ok) {
			json_decref(list);
			return fail(ld, line,
			    "welcome_items[%zu]: expected { code = \"a_unique_code\" ([a-z0-9_], "
			    "64 at most), "
			    "label = \"...\" (200 at most) }",
			    i + 1);
		}
		c->welcome[c->nwelcome].code = strdup(code);
		c->welcome[c->nwelcome].label = strdup(label);
		c->nwelcome++;
	}
	json_decref(list);
	return 0;
}

/* The most certificate files backup_recipient may name. */
#define CONF_MAX_RECIPIENTS 16

/*
 * backup_recipient = "/etc/tremplin/backup-recipient.pem", or a list of
 * such paths: each certificate is loaded and checked now, so that a backup
 * never fails on it later. backup_unencrypted = true is the only other way
 * to have backups, and not both.
 */
static int
load_backup(struct loader *ld, struct config *c)
{
	int line, uline;
	json_t *paths = NULL, *p;
	char why[768];
	size_t i;

	if (get_bool(ld, "backup_unencrypted", 0, &c->backup_unencrypted) == -1)
		return -1;
	uline = key_line(ld, "backup_unencrypted");
	if ((line = get_key(ld, "backup_recipient")) == 0)
		return 0;
	if (lua_type(ld->L, -1) == LUA_TSTRING)
		paths = json_pack("[s?]", lua_tostring(ld->L, -1));
	else if (lua_istable(ld->L, -1))
		paths = lua_to_json(ld, line, "backup_recipient", 0);
	lua_pop(ld->L, 1);
	if (!json_is_array(paths) || json_array_size(paths) == 0 ||
	    json_array_size(paths) > CONF_MAX_RECIPIENTS) {
		json_decref(paths);
		return fail(ld, line,
		    "backup_recipient: expected the path of a certificate, or a list of 1 to %d "
		    "paths",
		    CONF_MAX_RECIPIENTS);
	}
	if ((c->backup_certs = sk_X509_new_null()) == NULL)
		fatal("sk_X509_new_null");
	json_array_foreach (paths, i, p) {
		const char *path = json_string_value(p);
		if (path == NULL || *path == '\0' || strlen(path) >= PATH_MAX) {
			json_decref(paths);
			return fail(ld, line,
			    "backup_recipient[%zu]: expected the path of a certificate", i + 1);
		}
		if (backup_recipients_load(path, c->backup_certs, why, sizeof(why)) == -1) {
			json_decref(paths);
			return fail(ld, line, "backup_recipient: %s", why);
		}
	}
	json_decref(paths);
	if (c->backup_unencrypted)
		return fail(ld, uline,
		    "backup_unencrypted: cannot be true while backup_recipient names who may read "
		    "backups");
	return 0;
}

static int
check_values(struct loader *ld, struct config *c, mode_t st_mode)
{
	lua_State *L = ld->L;
	char *mode = NULL, *level = NULL;
	long timeout = 0;
	int line;

	/* Unknown names first: a typo must not silently fall back to a default. */
	lua_pushnil(L);
	while (lua_next(L, 2) != 0) {
		const char *k = lua_tostring(L, -2);
		size_t i;
		for (i = 0; i < TR_NELEM(known_keys); i++)
			if (strcmp(k, known_keys[i]) == 0)
				break;
		if (i == TR_NELEM(known_keys)) {
			lua_pushvalue(L, -2);
			lua_rawget(L, 1);
			line = assign_start_line(ld, k, (int)lua_tointeger(L, -1));
			fail(ld, line, "unknown setting '%s'", k);
			lua_pop(L, 3);
			return -1;
		}
		lua_pop(L, 1);
	}

	if (get_string(ld, "socket", NULL, &c->socket_path) == -1 ||
	    get_string(ld, "database", NULL, &c->database) == -1 ||
	    get_string(ld, "plugin_dir", "plugins", &c->plugin_dir) == -1 ||
	    get_string(ld, "script_dir", "lua", &c->script_dir) == -1)
		return -1;
	if (c->socket_path == NULL)
		return fail(ld, 0, "socket: missing (the path of the API's Unix socket)");
	if (strlen(c->socket_path) >= 108)
		return fail(ld, key_line(ld, "socket"), "socket: path longer than 107 bytes");
	if (c->database == NULL)
		return fail(ld, 0, "database: missing (the path of the SQLite file)");
	if (get_string(ld, "audit_database", NULL, &c->audit_database) == -1)
		return -1;
	if (c->audit_database == NULL && default_audit_path(c) == -1)
		return fail(ld, 0, "audit_database: cannot derive a default from database");
	if (strcmp(c->audit_database, c->database) == 0)
		return fail(ld, key_line(ld, "audit_database"),
		    "audit_database: must be a file apart from database");
	if (get_int(ld, "audit_retention_days", 30, 3650, 365, &timeout) == -1)
		return -1;
	c->audit_retention_days = (int)timeout;
	if (get_int(ld, "retention_days", 30, 36500, 730, &timeout) == -1)
		return -1;
	c->retention_days = (int)timeout;
	if (load_welcome(ld, c) == -1)
		return -1;

	if (get_string(ld, "socket_mode", "0660", &mode) == -1)
		return -1;
	{
		char *end;
		errno = 0;
		unsigned long m = strtoul(mode, &end, 8);
		line = key_line(ld, "socket_mode");
		if (errno || *end || m > 0777 || mode[0] != '0' || (m & 0600) != 0600) {
			free(mode);
			return fail(ld, line,
			    "socket_mode: expected an octal string such as \"0660\" that lets the "
			    "owner read and write");
		}
		c->socket_mode = (mode_t)m;
		free(mode);
	}

	if (get_string(ld, "log_level", "info", &level) == -1)
		return -1;
	if (strcmp(level, "warning") == 0)
		c->log_level = 0;
	else if (strcmp(level, "info") == 0)
		c->log_level = 1;
	else if (strcmp(level, "debug") == 0)
		c->log_level = 2;
	else {
		line = key_line(ld, "log_level");
		fail(ld, line, "log_level: unknown level '%s' (expected warning, info or debug)",
		    level);
		free(level);
		return -1;
	}
	free(level);

	if (get_int(ld, "request_timeout", 1, 3600, 30, &timeout) == -1)
		return -1;
	c->request_timeout = (int)timeout;
	if (get_int(ld, "max_connections", 1, 65536, 512, &timeout) == -1)
		return -1;
	c->max_connections = (int)timeout;
	if (get_int(ld, "max_connections_per_user", 1, 65536, 64, &timeout) == -1)
		return -1;
	c->max_connections_per_user = (int)timeout;
	if (get_int(ld, "event_delay_ms", 0, 60000, 5, &timeout) == -1)
		return -1;
	c->event_delay_ms = (int)timeout;
	if (get_bool(ld, "plugin_strict", 0, &c->plugin_strict) == -1 ||
	    get_bool(ld, "allow_http", 0, &c->allow_http) == -1 ||
	    get_string(ld, "ca_file", NULL, &c->ca_file) == -1)
		return -1;

	if (load_backup(ld, c) == -1 || load_staff(ld, c) == -1)
		return -1;

	line = get_key(ld, "plugins");
	if (line == 0)
		c->plugins = json_object();
	else {
		if (!lua_istable(L, -1)) {
			lua_pop(L, 1);
			return fail(ld, line, "plugins: expected a table of plugin sections");
		}
		c->plugins = lua_to_json(ld, line, "plugins", 0);
		lua_pop(L, 1);
		if (c->plugins == NULL)
			return -1;
		if (json_is_array(c->plugins) && json_array_size(c->plugins) == 0) {
			json_decref(c->plugins);
			c->plugins = json_object();
		}
		if (!json_is_object(c->plugins))
			return fail(ld, line, "plugins: expected sections named by plugin");
		const char *k;
		json_t *v;
		json_object_foreach (c->plugins, k, v) {
			if (!json_is_object(v) && !(json_is_array(v) && json_array_size(v) == 0))
				return fail(ld, line, "plugins.%s: expected a table", k);
		}
		char where[256];
		if ((st_mode & (S_IRGRP | S_IROTH)) &&
		    find_secret(c->plugins, "plugins", where, sizeof(where)))
			return fail(ld, 0,
			    "holds a secret (%s) and is readable by group or others; chmod 600 it",
			    where);
	}
	if (load_scripts(ld, c, st_mode) == -1)
		return -1;
	return resolve_daemon_user(ld, c);
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->socket_path);
	free(c->database);
	free(c->audit_database);
	for (size_t i = 0; i < c->nwelcome; i++) {
		free(c->welcome[i].code);
		free(c->welcome[i].label);
	}
	free(c->welcome);
	free(c->plugin_dir);
	free(c->script_dir);
	free(c->ca_file);
	sk_X509_pop_free(c->backup_certs, X509_free);
	for (size_t i = 0; i < c->nstaff; i++) {
		free(c->staff[i].name);
		free(c->staff[i].unix_user);
		free(c->staff[i].email);
	}
	free(c->staff);
	json_decref(c->plugins);
	json_decref(c->scripts);
	free(c);
}

int
config_load_buffer(const char *name, const char *buf, size_t len, mode_t st_mode,
    struct config **out, char *err, size_t errlen)
{
	struct loader ld = {
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
		fail(&ld, 0, "cannot create the Lua state");
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
		fail(&ld, 0, "out of memory (a configuration may use up to %u MiB)",
		    CONF_MAX_MEMORY >> 20);
		goto out;
	}
	if (status != LUA_OK) {
		const char *m = lua_tostring(L, -1);
		snprintf(err, errlen, "%s", m ? m : "out of memory");
		goto out;
	}
	lua_sethook(L, NULL, 0, 0);
	rc = check_values(&ld, c, st_mode);
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
