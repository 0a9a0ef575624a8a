/* What a site script may call (luahost_int.h). */
#include "luahost_int.h"

#include "alerts.h"

/* ---- the script API ---- */

/* on(event_type, handler) */
static int
l_on(lua_State *L)
{
	struct version *v = lh_version_of(L);
	size_t len;
	const char *type = luaL_checklstring(L, 1, &len);
	struct lsub *sub, *other;
	int n = 1;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	if (!v->loading)
		return luaL_error(L, "on() is called when the script loads, not later");
	if (len == 0 || len >= sizeof(sub->type) ||
	    strspn(type,
	        "abcdefghijklmnopqrstuvwxyz"
	        "0123456789_.*") != len ||
	    (strchr(type, '*') != NULL && strcmp(type, "*") != 0 &&
	        (len < 2 || strcmp(type + len - 2, ".*") != 0 ||
	            strchr(type, '*') != type + len - 1)))
		return luaL_error(L,
		    "on: '%s' is not an event type (\"structure.created\", \"structure.*\" or "
		    "\"*\")",
		    type);
	if (v->nsubs >= 64)
		return luaL_error(L, "on: at most 64 handlers per script");
	TAILQ_FOREACH (other, &v->subs, entry)
		n += strcmp(other->type, type) == 0;
	if ((sub = calloc(1, sizeof(*sub))) == NULL)
		return luaL_error(L, "out of memory");
	TAILQ_INSERT_TAIL(&v->subs, sub, entry);
	v->nsubs++;
	sub->v = v;
	sub->ref = LUA_NOREF;
	tr_strlcpy(sub->type, type, sizeof(sub->type));
	if (n == 1)
		snprintf(sub->name, sizeof(sub->name), "%s/on:%s", v->s->name, type);
	else
		snprintf(sub->name, sizeof(sub->name), "%s/on:%s#%d", v->s->name, type, n);
	lua_pushvalue(L, 2);
	sub->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

/* An interval: seconds, or "<n>s", "<n>m", "<n>h", "<n>d". 0 when it is not one. */
static int64_t
interval_s(lua_State *L, int idx)
{
	if (lua_type(L, idx) == LUA_TNUMBER)
		return lua_isinteger(L, idx) ? lua_tointeger(L, idx) : 0;
	if (lua_type(L, idx) == LUA_TSTRING)
		return lh_interval(lua_tostring(L, idx));
	return 0;
}

/* every(interval, fn [, {name = "...", immediately = true}]) */
static int
l_every(lua_State *L)
{
	struct version *v = lh_version_of(L);
	int64_t period = interval_s(L, 1);
	char label[40];
	int immediately = 0;
	struct ltimer *t, *other;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	if (!v->loading)
		return luaL_error(L, "every() is called when the script loads, not later");
	if (period < MIN_PERIOD_S || period > MAX_PERIOD_S)
		return luaL_error(L,
		    "every: the interval is whole seconds from %d to %d, or \"30s\", \"15m\", "
		    "\"6h\", \"1d\"",
		    MIN_PERIOD_S, MAX_PERIOD_S);
	snprintf(label, sizeof(label), "every%d", v->ntimers + 1);
	if (!lua_isnoneornil(L, 3)) {
		luaL_checktype(L, 3, LUA_TTABLE);
		lua_pushnil(L);
		while (lua_next(L, 3) != 0) {
			const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
			if (strcmp(k, "name") == 0) {
				size_t len;
				const char *name = lua_tolstring(L, -1, &len);
				if (lua_type(L, -1) != LUA_TSTRING || len == 0 || len > 32 ||
				    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != len)
					return luaL_error(
					    L, "every: name is [a-z0-9_], at most 32");
				tr_strlcpy(label, name, sizeof(label));
			} else if (strcmp(k, "immediately") == 0) {
				if (lua_type(L, -1) != LUA_TBOOLEAN)
					return luaL_error(L, "every: immediately is true or false");
				immediately = lua_toboolean(L, -1);
			} else
				return luaL_error(L,
				    "every: unknown option '%s' (expected name, immediately)", k);
			lua_pop(L, 1);
		}
	}
	if (v->ntimers >= 16)
		return luaL_error(L, "every: at most 16 timers per script");
	TAILQ_FOREACH (other, &v->timers, entry)
		if (strcmp(strchr(other->name, '/') + 1, label) == 0)
			return luaL_error(L, "every: two timers are named '%s'", label);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return luaL_error(L, "out of memory");
	TAILQ_INSERT_TAIL(&v->timers, t, entry);
	v->ntimers++;
	t->v = v;
	t->ref = LUA_NOREF;
	t->period_s = period;
	t->immediately = immediately;
	snprintf(t->name, sizeof(t->name), "%s/%s", v->s->name, label);
	lua_pushvalue(L, 2);
	t->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

/*
 * A read of social or sensitive data through a view is recorded as a read
 * through the API is: one entry per person it names, the script as actor.
 */
int
view_audit(struct luahost *h, struct version *v, const struct view *view, const json_t *rows)
{
	unsigned cats = view_audited(view);
	char actor[64];
	int64_t none = 0, *ids;
	size_t n;
	int rc;

	if (cats == 0 || json_array_size(rows) == 0)
		return 0;
	snprintf(actor, sizeof(actor), "lua:%s", v->s->name);
	ids = view_employees(rows, &n);
	rc = audit_record_many(h->srv->audit, actor, role_name(v->role), "read", n ? ids : &none,
	    n ? n : 1, view->name, cats);
	free(ids);
	return rc;
}

/* view(name, params): the rows, a list of tables. */
static int
l_view(lua_State *L)
{
	struct version *v = lh_version_of(L);
	struct luahost *h = v->s->h;
	const char *name = luaL_checkstring(L, 1);
	struct scriptlib_guard *g;
	json_t *params = NULL, *rows;
	char err[512];

	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		if ((params = scriptlib_to_json(L, 2, err, sizeof(err))) == NULL)
			return luaL_error(L, "view %s: %s", name, err);
	}
	g = scriptlib_push_guard(L);
	g->json = params;
	if (view_run(h->srv->db, name, v->role, params, &rows, err, sizeof(err)) == -1)
		return luaL_error(L, "%s", err);
	scriptlib_release(g);
	g->json = rows;
	if (view_audit(h, v, view_find(name), rows) == -1)
		return luaL_error(L, "view %s: the audit log cannot record this read", name);
	luabox_charge(L, (int64_t)json_array_size(rows) * 50);
	scriptlib_push_json(L, rows, 0);
	scriptlib_release(g);
	return 1;
}

int
valid_utf8_text(const char *s, size_t len, size_t max_chars, int newlines)
{
	size_t chars = 0;

	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80      ? 1
		    : (c & 0xe0) == 0xc0 ? 2
		    : (c & 0xf0) == 0xe0 ? 3
		    : (c & 0xf8) == 0xf0 ? 4
		                         : 0;
		if (n == 0 || i + n > len)
			return 0;
		if (n == 1 && (c < 0x20 || c == 0x7f) && !(newlines && c == '\n'))
			return 0;
		for (size_t k = 1; k < n; k++)
			if (((unsigned char)s[i + k] & 0xc0) != 0x80)
				return 0;
		i += n;
		chars++;
	}
	if (chars == 0 || chars > max_chars)
		return 0;
	/* Overlong forms and surrogates: let jansson's strict check decide. */
	json_t *j = json_stringn(s, len);
	json_decref(j);
	return j != NULL;
}

/* A string field of the table at 1, or NULL; the table keeps it alive. */
static const char *
opt_string(lua_State *L, const char *field, size_t *len)
{
	int t = lua_getfield(L, 1, field);
	const char *s;

	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return NULL;
	}
	if (t != LUA_TSTRING)
		luaL_error(L, "notify: %s must be a string", field);
	s = lua_tolstring(L, -1, len);
	lua_pop(L, 1);
	return s;
}

static int64_t
opt_id(lua_State *L, const char *field)
{
	int t = lua_getfield(L, 1, field);
	int64_t id;

	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) <= 0)
		luaL_error(L, "notify: %s must be a positive integer", field);
	id = lua_tointeger(L, -1);
	lua_pop(L, 1);
	return id;
}

/*
 * The script's notifications waiting in the outbox, counted once per call;
 * -1 when the store cannot say. Waiting: no channel has taken them, since
 * a channel started (outbox_channel_starts); those queued in the last day
 * count even without a channel, so that a flood is stopped, while a site
 * without any channel (alerts read in Tremplin only) never reaches the
 * quota through a year of alerts nobody was to deliver.
 */
int64_t
outbox_pending(struct db *db, const char *source)
{
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT count(*) FROM outbox WHERE source = ?1 AND status = 'pending'"
	    " AND (id >= (SELECT min(from_id) FROM outbox_channel_starts) OR created_at >= ?2)");
	int64_t n = -1;
	char since[32];

	if (st == NULL)
		return -1;
	tr_rfc3339(tr_now() - 86400, since, sizeof(since));
	sqlite3_bind_text(st, 1, source, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, since, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	db_done(st);
	return n;
}

/* Room for one more notification within the script's quotas, or raise. */
static int
notify_quotas(lua_State *L, struct version *v)
{
	long per_hour = lh_limit(v, "notifications_per_hour");
	long pending = lh_limit(v, "outbox_pending");

	if (!lh_quota_left(&v->s->q_notify, (int64_t)3600 * 1000000, per_hour, 1))
		return lh_quota_fail(L, v,
		    "notifications_per_hour: more than %ld notifications queued within an hour",
		    per_hour);
	if (!v->pending_known) {
		char source[64];
		snprintf(source, sizeof(source), "lua:%s", v->s->name);
		if ((v->pending = outbox_pending(v->s->h->srv->db, source)) == -1)
			return luaL_error(L, "notify: the outbox cannot be read; try again later");
		v->pending_known = 1;
	}
	if (v->pending + 1 > pending)
		return lh_quota_fail(L, v,
		    "outbox_pending: %lld notifications of this script wait in the outbox "
		    "(at most %ld)",
		    (long long)v->pending, pending);
	return 0;
}

/*
 * notify{kind =, recipient_role = | recipient_staff_id =, employee_id =,
 * message =, dedup_key =}: queue a notification in the outbox. true when
 * queued, false when one with the same dedup_key already was.
 */
static int
l_notify(lua_State *L)
{
	static const char *const fields[] = { "kind", "recipient_role", "recipient_staff_id",
		"employee_id", "message", "dedup_key" };
	struct version *v = lh_version_of(L);
	struct luahost *h = v->s->h;
	struct db *db = h->srv->db;
	size_t kind_len, role_len, msg_len, key_len;
	const char *kind, *role, *msg, *key;
	int64_t staff_id, employee_id;
	char source[64], full_key[300];
	int changes;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		size_t i;
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
		for (i = 0; i < TR_NELEM(fields) && strcmp(k, fields[i]) != 0; i++)
			;
		if (i == TR_NELEM(fields))
			return luaL_error(L,
			    "notify: unknown field '%s' (expected kind, recipient_role or "
			    "recipient_staff_id, employee_id, message, dedup_key)",
			    k);
		lua_pop(L, 1);
	}
	kind = opt_string(L, "kind", &kind_len);
	role = opt_string(L, "recipient_role", &role_len);
	msg = opt_string(L, "message", &msg_len);
	key = opt_string(L, "dedup_key", &key_len);
	staff_id = opt_id(L, "recipient_staff_id");
	employee_id = opt_id(L, "employee_id");
	if (kind == NULL || kind_len == 0 || kind_len > 64 || kind[0] < 'a' || kind[0] > 'z' ||
	    strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_.") != kind_len)
		return luaL_error(L,
		    "notify: kind is required: what happened, [a-z][a-z0-9_.]*, at most 64 "
		    "(e.g. \"contract_ending\")");
	if ((role == NULL) == (staff_id == 0))
		return luaL_error(
		    L, "notify: give one recipient: recipient_role or recipient_staff_id");
	if (role != NULL && role_from_name(role) == ROLE_NONE)
		return luaL_error(L,
		    "notify: recipient_role '%s' is not a role (eti, cip, coordinator or admin)",
		    role);
	if (msg == NULL || !valid_utf8_text(msg, msg_len, MAX_MESSAGE_CHARS, 1))
		return luaL_error(L,
		    "notify: message is required: UTF-8 text of 1 to %d characters, no control "
		    "characters but new lines",
		    MAX_MESSAGE_CHARS);
	if (key != NULL &&
	    (key_len == 0 || key_len > 200 || !valid_utf8_text(key, key_len, 200, 0)))
		return luaL_error(L, "notify: dedup_key is text of 1 to 200 characters");
	if (v->notifies >= MAX_NOTIFY_PER_CALL)
		return luaL_error(
		    L, "notify: at most %d notifications per call", MAX_NOTIFY_PER_CALL);
	if (notify_quotas(L, v) == -1)
		return 0; /* not reached: it raised */
	{
		/* Whom it is for and about: the outbox's to check. */
		struct outbox_entry who = { .recipient_staff_id = staff_id,
			.employee_id = employee_id };
		char why[128];
		if (outbox_check(db, &who, why, sizeof(why)) == -1)
			return luaL_error(L, "notify: %s", why);
	}

	/* One transaction for the call: committed after it returns, dropped if it fails. */
	if (!h->tx_open) {
		if (db_begin(db) == -1)
			return luaL_error(L, "notify: the database is busy; try again later");
		h->tx_open = 1;
	}
	snprintf(source, sizeof(source), "lua:%s", v->s->name);
	/* Keys are the script's own: another script cannot collide with them. */
	if (key != NULL)
		snprintf(full_key, sizeof(full_key), "lua:%s:%s", v->s->name, key);
	{
		char kindz[65], rolez[16];
		struct outbox_entry e = { .source = source,
			.kind = kindz,
			.recipient_role = role != NULL ? rolez : NULL,
			.recipient_staff_id = staff_id,
			.employee_id = employee_id,
			.message = msg,
			.dedup_key = key != NULL ? full_key : NULL };
		snprintf(kindz, sizeof(kindz), "%.*s", (int)kind_len, kind);
		if (role != NULL)
			snprintf(rolez, sizeof(rolez), "%.*s", (int)role_len, role);
		if ((changes = outbox_queue(db, &e, NULL)) == -1)
			return luaL_error(
			    L, "notify: cannot queue it: %s", sqlite3_errmsg(db_handle(db)));
	}
	v->notifies++;
	if (changes > 0) {
		v->s->q_notify.used++;
		v->pending++;
	}
	lua_pushboolean(L, changes > 0);
	return 1;
}

/*
 * resolve(key) or resolve{prefix =, keep = {keys}}: the cause is gone, so
 * the script's own open alert of key (a dedup_key without its recipient),
 * or every one whose key starts with prefix but those in keep, is resolved,
 * in the call's transaction as notify. Returns how many.
 */
static int
l_resolve(lua_State *L)
{
	struct version *v = lh_version_of(L);
	struct luahost *h = v->s->h;
	char source[64], full[300], *keep_text = NULL;
	const char *key = NULL, *prefix = NULL;
	json_t *keep = NULL;
	int64_t n;
	int rc;

	snprintf(source, sizeof(source), "lua:%s", v->s->name);
	if (lua_type(L, 1) == LUA_TSTRING)
		key = lua_tostring(L, 1);
	else if (lua_type(L, 1) == LUA_TTABLE) {
		if (lua_getfield(L, 1, "prefix") != LUA_TSTRING)
			return luaL_error(L, "resolve: prefix must be a string");
		prefix = lua_tostring(L, -1);
		keep = json_array();
		if (lua_getfield(L, 1, "keep") == LUA_TTABLE) {
			for (lua_Integer i = 1; lua_geti(L, -1, i) != LUA_TNIL; i++) {
				if (lua_type(L, -1) != LUA_TSTRING || i > 5000 ||
				    snprintf(full, sizeof(full), "lua:%s:%s", v->s->name,
				        lua_tostring(L, -1)) >= (int)sizeof(full)) {
					json_decref(keep);
					return luaL_error(L,
					    "resolve: keep must be a list of at most "
					    "5000 keys of at most 200 characters");
				}
				json_array_append_new(keep, json_string(full));
				lua_pop(L, 1);
			}
			lua_pop(L, 1);
		} else if (!lua_isnil(L, -1)) {
			json_decref(keep);
			return luaL_error(L, "resolve: keep must be a list of keys");
		}
		lua_pop(L, 1);
	} else
		return luaL_error(L, "resolve: give a key, or {prefix = ..., keep = {...}}");
	if (snprintf(full, sizeof(full), "lua:%s:%s", v->s->name, key ? key : prefix) >=
	    (int)sizeof(full)) {
		json_decref(keep);
		return luaL_error(L, "resolve: a key is at most 200 characters");
	}
	if (keep != NULL && (keep_text = json_dumps(keep, JSON_COMPACT)) == NULL) {
		json_decref(keep);
		return luaL_error(L, "resolve: out of memory");
	}
	json_decref(keep);
	if (!h->tx_open) {
		if (db_begin(h->srv->db) == -1) {
			free(keep_text);
			return luaL_error(L, "resolve: the database is busy; try again later");
		}
		h->tx_open = 1;
	}
	rc = alerts_resolve_by_rule(
	    h->srv->db, source, key ? full : NULL, key ? NULL : full, keep_text, &n);
	free(keep_text);
	if (rc == -1)
		return luaL_error(L, "resolve: %s", sqlite3_errmsg(db_handle(h->srv->db)));
	lua_pushinteger(L, (lua_Integer)n);
	return 1;
}

void
log_line(struct version *v, const char *level, const char *msg, size_t len)
{
	char clean[4 * MAX_LOG_BYTES + 1];

	if (v->logs >= MAX_LOG_PER_CALL) {
		v->logs_dropped++;
		return;
	}
	v->logs++;
	/* One line per call: control characters reach the log escaped. */
	lh_log_text(msg, len < MAX_LOG_BYTES ? len : MAX_LOG_BYTES, clean, sizeof(clean));
	if (strcmp(level, "debug") == 0)
		log_debug("script %s: %s", v->s->name, clean);
	else if (strcmp(level, "info") == 0)
		log_info("script %s: %s", v->s->name, clean);
	else
		log_warnx("script %s: %s%s", v->s->name,
		    strcmp(level, "error") == 0 ? "error: " : "", clean);
}

/* log(level, message): level is "debug", "info", "warning" or "error". */
static int
l_log(lua_State *L)
{
	static const char *const levels[] = { "debug", "info", "warning", "error", NULL };
	int level = luaL_checkoption(L, 1, NULL, levels);
	size_t len;
	const char *msg = luaL_checklstring(L, 2, &len);

	log_line(lh_version_of(L), levels[level], msg, len);
	return 0;
}

/* print(...): log at info level, arguments separated by tabs. */
static int
l_print(lua_State *L)
{
	size_t len;
	const char *msg = luabox_print_text(L, &len);

	log_line(lh_version_of(L), "info", msg, len);
	return 0;
}

/*
 * Whether url may be fetched by v: https (or http when the daemon allows
 * it), no user information, a host (and port) in the script's http_hosts.
 */
int
url_allowed(struct version *v, const char *url, char *err, size_t errlen)
{
	json_t *hosts = json_object_get(v->section, "http_hosts"), *e;
	char *scheme = NULL, *host = NULL, *user = NULL, *port = NULL;
	CURLU *u = curl_url();
	int ok = 0;
	size_t i;

	if (u == NULL) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		snprintf(err, errlen, "'%s' is not a URL", url);
		goto out;
	}
	if (strcmp(scheme, "https") != 0 && !(strcmp(scheme, "http") == 0 && v->s->h->allow_http)) {
		snprintf(err, errlen, "%s: only https:// URLs", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		snprintf(err, errlen, "%s: no user information in URLs", url);
		goto out;
	}
	json_array_foreach (hosts, i, e) {
		const char *allowed = json_string_value(e), *colon = strchr(allowed, ':');
		size_t n = colon ? (size_t)(colon - allowed) : strlen(allowed);
		const char *default_port = strcmp(scheme, "https") == 0 ? "443" : "80";
		if (strlen(host) == n && strncasecmp(host, allowed, n) == 0 &&
		    strcmp(port, colon ? colon + 1 : default_port) == 0)
			ok = 1;
	}
	if (!ok)
		snprintf(err, errlen, "%s: host %s (port %s) is not in this script's http_hosts",
		    url, host, port);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}

/*
 * Headers that frame the request or speak to the hop: curl sets them from
 * the URL and the body. Set by a script, Content-Length: 0 before a body
 * holding a second request smuggled that request past the method list.
 */
int
framing_header(const char *name)
{
	static const char *const refused[] = { "Content-Length", "Transfer-Encoding", "Host",
		"Connection", "Expect", "Upgrade", "TE", "Trailer", "Keep-Alive",
		"Proxy-Connection", "Proxy-Authorization", "Proxy-Authenticate" };

	for (size_t i = 0; i < TR_NELEM(refused); i++)
		if (strcasecmp(name, refused[i]) == 0)
			return 1;
	return 0;
}

/*
 * http{url =, method =, headers =, body =, timeout_ms =, max_bytes =,
 * callback = function(response) ... end}: start a request; the callback
 * runs later with {ok, status, body, content_type, retry_after} or {ok =
 * false, error, error_text}.
 */
static int
l_http(lua_State *L)
{
	static const char *const fields[] = { "url", "method", "headers", "body", "timeout_ms",
		"max_bytes", "callback" };
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" };
	struct version *v = lh_version_of(L);
	struct luahost *h = v->s->h;
	struct net_header hdrs[MAX_HTTP_HEADERS];
	struct net_spec spec;
	size_t nhdrs = 0, body_len = 0, i;
	const char *url, *method = "GET", *body = NULL;
	lua_Integer timeout = HTTP_TIMEOUT_MS, max_bytes = HTTP_MAX_BYTES;
	char err[512];
	struct lhttp *rq;

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checkstack(L, 20, "http");
	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
		for (i = 0; i < TR_NELEM(fields) && strcmp(k, fields[i]) != 0; i++)
			;
		if (i == TR_NELEM(fields))
			return luaL_error(L,
			    "http: unknown field '%s' (expected url, method, headers, body, "
			    "timeout_ms, max_bytes, callback)",
			    k);
		lua_pop(L, 1);
	}
	/* Every value stays on the stack, so the strings live through net_start. */
	if (lua_getfield(L, 1, "url") != LUA_TSTRING)
		return luaL_error(L, "http: url is required (a string)");
	url = lua_tostring(L, -1);
	if (lua_getfield(L, 1, "method") != LUA_TNIL) {
		method = lua_tostring(L, -1);
		for (i = 0; method && i < TR_NELEM(methods) && strcmp(method, methods[i]); i++)
			;
		if (method == NULL || i == TR_NELEM(methods))
			return luaL_error(
			    L, "http: method is GET, POST, PUT, PATCH, DELETE or HEAD");
	}
	if (lua_getfield(L, 1, "body") != LUA_TNIL) {
		if (lua_type(L, -1) != LUA_TSTRING)
			return luaL_error(L, "http: body must be a string (json.encode a table)");
		body = lua_tolstring(L, -1, &body_len);
	}
	if (lua_getfield(L, 1, "timeout_ms") != LUA_TNIL) {
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 ||
		    lua_tointeger(L, -1) > HTTP_MAX_TIMEOUT_MS)
			return luaL_error(
			    L, "http: timeout_ms is an integer from 1 to %d", HTTP_MAX_TIMEOUT_MS);
		timeout = lua_tointeger(L, -1);
	}
	if (lua_getfield(L, 1, "max_bytes") != LUA_TNIL) {
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 ||
		    lua_tointeger(L, -1) > (lua_Integer)HTTP_MAX_BYTES)
			return luaL_error(
			    L, "http: max_bytes is an integer from 1 to %d", (int)HTTP_MAX_BYTES);
		max_bytes = lua_tointeger(L, -1);
	}
	if (lua_getfield(L, 1, "callback") != LUA_TFUNCTION)
		return luaL_error(L, "http: callback is required (a function)");
	int cb = lua_gettop(L);
	if (lua_getfield(L, 1, "headers") != LUA_TNIL) {
		int t = lua_gettop(L);
		if (!lua_istable(L, t))
			return luaL_error(L, "http: headers must be a table of names and values");
		lua_pushnil(L);
		while (lua_next(L, t) != 0) {
			if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
				return luaL_error(L, "http: headers are names and string values");
			const char *name = lua_tostring(L, -2), *value = lua_tostring(L, -1);
			if (nhdrs == MAX_HTTP_HEADERS)
				return luaL_error(L, "http: at most %d headers", MAX_HTTP_HEADERS);
			if (name[0] == '\0' || strpbrk(name, ": \t\r\n") != NULL ||
			    strpbrk(value, "\r\n") != NULL)
				return luaL_error(
				    L, "http: header '%s' has a bad name or value", name);
			if (framing_header(name))
				return luaL_error(L,
				    "http: header '%s' is not the script's to set (the daemon "
				    "frames the request: no Content-Length, Transfer-Encoding, "
				    "Host, Connection, Expect, Upgrade, TE, Trailer, "
				    "Keep-Alive, Proxy-*)",
				    name);
			hdrs[nhdrs++] = (struct net_header){ name, value };
			/* Keep key and value referenced from the table: pop the value only. */
			lua_pop(L, 1);
		}
	}
	if (!url_allowed(v, url, err, sizeof(err)))
		return luaL_error(L, "http: %s", err);
	if (v->nhttp >= MAX_HTTP_IN_FLIGHT)
		return luaL_error(
		    L, "http: at most %d requests in flight per script", MAX_HTTP_IN_FLIGHT);
	if (v->stopping)
		return luaL_error(L, "http: the script is being stopped");
	if (!lh_quota_left(&v->s->q_http, 60 * 1000000, lh_limit(v, "http_per_minute"), 1))
		return lh_quota_fail(L, v,
		    "http_per_minute: more than %ld requests started within a minute",
		    lh_limit(v, "http_per_minute"));
	v->s->q_http.used++;
	lua_pushvalue(L, cb);
	int ref = luaL_ref(L, LUA_REGISTRYINDEX);
	if ((rq = calloc(1, sizeof(*rq))) == NULL) {
		luaL_unref(L, LUA_REGISTRYINDEX, ref);
		return luaL_error(L, "out of memory");
	}
	rq->v = v;
	rq->ref = ref;
	spec = (struct net_spec){
		.method = method,
		.url = url,
		.headers = hdrs,
		.nheaders = nhdrs,
		.body = body,
		.body_len = body_len,
		.timeout_ms = (long)timeout,
		.max_bytes = (size_t)max_bytes,
		.follow_redirects = 0, /* a redirect could leave the allowed hosts */
	};
	TAILQ_INSERT_TAIL(&v->http, rq, entry);
	v->nhttp++;
	if (net_start(h->srv->net, v, &spec, lh_http_cb, rq, err, sizeof(err)) == NULL) {
		TAILQ_REMOVE(&v->http, rq, entry);
		v->nhttp--;
		free(rq);
		luaL_unref(L, LUA_REGISTRYINDEX, ref);
		return luaL_error(L, "http: %s", err);
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* use(name): run lib/<name>.lua of the script directory once; its value. */
static int
l_use(lua_State *L)
{
	struct version *v = lh_version_of(L);
	const char *name = luabox_check_lib_name(L, 1);
	struct scriptlib_guard *g;
	char err[PATH_MAX + 128], *text;
	size_t len;

	if (luabox_use_cached(L, name))
		return 1;
	g = scriptlib_push_guard(L);
	if (lh_read_lib(v->s->h, name, &text, &len, err, sizeof(err)) == -1)
		return luaL_error(L, "%s", err);
	g->mem = text;
	/* The text in the state, the buffer freed before the library runs. */
	lua_pushlstring(L, text, len);
	scriptlib_release(g);
	return luabox_use_run(L, name, lua_tostring(L, -1), len);
}

int
lh_setup_entry(lua_State *L)
{
	static const luaL_Reg api[] = {
		{ "on", l_on },
		{ "every", l_every },
		{ "view", l_view },
		{ "notify", l_notify },
		{ "resolve", l_resolve },
		{ "log", l_log },
		{ "print", l_print },
		{ "http", l_http },
		{ "use", l_use },
		{ NULL, NULL },
	};
	struct version *v = lua_touserdata(L, 1);

	scriptlib_open(L, &v->s->h->clock);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, api, 0);
	scriptlib_push_json(L, json_object_get(v->section, "options"), SCRIPTLIB_READONLY);
	lua_setfield(L, -2, "options");
	lua_createtable(L, 0, 2);
	lua_pushstring(L, v->s->name);
	lua_setfield(L, -2, "name");
	lua_pushstring(L, role_name(v->role));
	lua_setfield(L, -2, "role");
	luabox_push_readonly(L, -1);
	lua_setfield(L, -3, "script");
	return 0;
}

int
lh_main_entry(lua_State *L)
{
	struct chunk *c = lua_touserdata(L, 1);

	if (luabox_loadchunk(L, c->name, c->text, c->len) != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 0);
	return 0;
}
