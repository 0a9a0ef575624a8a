/*
 * The C plugin loader and the host table. A plugin reaches the daemon only
 * through the table below; every registration it makes (routes,
 * subscriptions, timers, requests in flight) is owned by its record, so a
 * refused or stopped plugin leaves nothing behind.
 */
#include "plugins.h"

#include <assert.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include <tremplin/plugin.h>

#include "api.h"
#include "audit.h"
#include "policy.h"
#include "resource.h"
#include "sqlguard.h"
#include "views.h"
#include "config.h"
#include "db.h"
#include "events.h"
#include "log.h"
#include "net.h"
#include "outbox.h"
#include "router.h"
#include "scheduler.h"
#include "server.h"
#include "util.h"
#include "validate.h"

/* The SDK's constants are the daemon's own: a mismatch is a build error. */
#define SAME(a, b) ((int)(a) == (int)(b))
static_assert(SAME(TREMPLIN_GET, M_GET) && SAME(TREMPLIN_POST, M_POST) &&
        SAME(TREMPLIN_PATCH, M_PATCH) && SAME(TREMPLIN_PUT, M_PUT) &&
        SAME(TREMPLIN_DELETE, M_DELETE),
    "method bits");
static_assert(SAME(TREMPLIN_ROLE_ETI, ROLEBIT(ROLE_ETI)) &&
        SAME(TREMPLIN_ROLE_CIP, ROLEBIT(ROLE_CIP)) &&
        SAME(TREMPLIN_ROLE_COORDINATOR, ROLEBIT(ROLE_COORDINATOR)) &&
        SAME(TREMPLIN_ROLE_ADMIN, ROLEBIT(ROLE_ADMIN)),
    "role bits");
static_assert(SAME(TREMPLIN_EVENT_DONE, EVENT_DONE) && SAME(TREMPLIN_EVENT_FAILED, EVENT_FAILED) &&
        SAME(TREMPLIN_EVENT_PENDING, EVENT_PENDING),
    "event results");
static_assert(SAME(TREMPLIN_HTTP_TIMEOUT, NET_E_TIMEOUT) && SAME(TREMPLIN_HTTP_TLS, NET_E_TLS) &&
        SAME(TREMPLIN_HTTP_CANCELLED, NET_E_CANCELLED) &&
        SAME(TREMPLIN_HTTP_INTERNAL, NET_E_INTERNAL),
    "http errors");
static_assert(SAME(TREMPLIN_ROUTE_BODY, RF_BODY) && SAME(TREMPLIN_ROUTE_PERSONAL, RF_PERSONAL),
    "route flags");
static_assert(SAME(TREMPLIN_VIEW_DATE, VP_DATE) && SAME(TREMPLIN_VIEW_INT, VP_INT) &&
        SAME(TREMPLIN_VIEW_ROLE, VP_ROLE),
    "view parameters");
static_assert(SAME(TREMPLIN_FIELD_STRING, FT_STRING) && SAME(TREMPLIN_FIELD_INTEGER, FT_INTEGER) &&
        SAME(TREMPLIN_FIELD_REQUIRED, FF_REQUIRED) && SAME(TREMPLIN_FIELD_READONLY, FF_READONLY),
    "field tables");

#define PLUGIN_MAX_RECORDS 64
#define PLUGIN_MAX_STMTS 256
#define PLUGIN_MAX_FIELDS 64

enum plugin_state { PS_LOADING, PS_ENABLED, PS_DISABLED_FAILED, PS_DISABLED_CONFIG };

static const char *const state_names[] = {
	[PS_LOADING] = "loading",
	[PS_ENABLED] = "enabled",
	[PS_DISABLED_FAILED] = "disabled_failed",
	[PS_DISABLED_CONFIG] = "disabled_config",
};

/* A callback and its argument, as a plugin gave them; owned by the plugin's record. */
struct hook {
	TAILQ_ENTRY(hook) entry;
	struct tremplin_plugin *p;
	union {
		tremplin_event_fn event;
		tremplin_timer_fn timer;
		tremplin_http_fn http;
		tremplin_route_fn route;
	} fn;
	void *arg;
	int oneshot; /* freed after it ran once */
	const char *const *query; /* a route's declared query parameters (the plugin's memory) */
	struct sched_timer *timer; /* a one-shot timer's, for cancel */
	int64_t id; /* a one-shot timer's id, as the plugin knows it */
};
TAILQ_HEAD(hooklist, hook);

struct tremplin_plugin {
	TAILQ_ENTRY(tremplin_plugin) entry;
	struct plugins *set;
	char name[33];
	char path[PATH_MAX];
	void *dl;
	const struct tremplin_plugin_desc *desc;
	void *ctx;
	enum plugin_state state;
	char last_error[512];
	json_t *section;
	struct migration *migrations;
	struct migration_formerly *formerly;
	struct db_module module;
	struct hooklist hooks;
	int initialised;
	int embedded; /* the kernel: in the daemon's image, its routes under /v1 */
	int checking; /* tremplind -n: registrations are checked, nothing is kept */
	char base[48]; /* its routes' prefix: "/v1/<name>", or "/v1" */
	/* Records declared in init, registered once the migrations made their tables. */
	struct {
		const struct tremplin_record *decl;
		void *arg;
	} records[PLUGIN_MAX_RECORDS];
	size_t nrecords;
	/* Views of its own data for site scripts, registered with its records. */
	const struct tremplin_view *views[PLUGIN_MAX_RECORDS];
	size_t nviews;
	/* Its statements, by their text, prepared under its own rights. */
	struct {
		char *sql;
		sqlite3_stmt *st;
		uint64_t used; /* when it was last handed out, for eviction */
	} stmts[PLUGIN_MAX_STMTS];
	size_t nstmts;
	uint64_t stmt_uses;
	int64_t failures; /* callbacks that failed or left a transaction open */
	uint64_t txn; /* the transaction it began (db_txn_serial): it ends that one only */
	int64_t next_timer;
};
TAILQ_HEAD(pluginlist, tremplin_plugin);

struct plugins {
	struct server *srv;
	struct pluginlist list;
};

static const struct tremplin_host host;

/* ---- registrations ---- */

static struct hook *
hook_new(struct tremplin_plugin *p, void *arg, int oneshot)
{
	struct hook *h = calloc(1, sizeof(*h));

	if (h == NULL)
		fatal("calloc");
	h->p = p;
	h->arg = arg;
	h->oneshot = oneshot;
	TAILQ_INSERT_TAIL(&p->hooks, h, entry);
	return h;
}

static void
hook_free(struct hook *h)
{
	TAILQ_REMOVE(&h->p->hooks, h, entry);
	free(h);
}

/* Undo everything p registered: routes, subscriptions, timers, requests. */
static void
unregister(struct tremplin_plugin *p)
{
	struct plugins *set = p->set;
	struct hook *h;

	/* Requests first: their callbacks run now, with TREMPLIN_HTTP_CANCELLED. */
	if (set->srv->net)
		net_cancel_owner(set->srv->net, p);
	if (set->srv->sched)
		sched_cancel_owner(set->srv->sched, p);
	if (set->srv->events)
		events_unsubscribe_owner(set->srv->events, p);
	if (set->srv->router != NULL)
		router_remove_owner(set->srv->router, p);
	resource_unregister_owner(set->srv->router, p);
	view_remove_owner(p);
	p->nviews = 0;
	while ((h = TAILQ_FIRST(&p->hooks)) != NULL)
		hook_free(h);
	for (size_t i = 0; i < p->nstmts; i++) {
		sqlite3_finalize(p->stmts[i].st);
		free(p->stmts[i].sql);
	}
	p->nstmts = 0;
	p->nrecords = 0;
}

/* ---- the host table ---- */

static void
h_log(struct tremplin_plugin *p, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	switch (level) {
	case TREMPLIN_LOG_WARNING:
		log_warnx("plugin %s: %s", p->name, msg);
		break;
	case TREMPLIN_LOG_INFO:
		log_info("plugin %s: %s", p->name, msg);
		break;
	default:
		log_debug("plugin %s: %s", p->name, msg);
	}
}

static const json_t *
h_config(struct tremplin_plugin *p)
{
	return p->section;
}

static int
h_migrations(struct tremplin_plugin *p, const struct tremplin_migration *m, size_t n)
{
	if (p->state != PS_LOADING || p->migrations != NULL || n == 0 || n > 1000) {
		h_log(p, TREMPLIN_LOG_WARNING, "migrations are given once, in init");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (m[i].sql == NULL || m[i].version != (int)i + 1) {
			h_log(p, TREMPLIN_LOG_WARNING,
			    "migration %zu: versions must run 1, 2, 3...", i);
			return -1;
		}
	if ((p->migrations = calloc(n, sizeof(*p->migrations))) == NULL)
		fatal("calloc");
	for (size_t i = 0; i < n; i++) {
		p->migrations[i].version = m[i].version;
		p->migrations[i].sql = m[i].sql; /* static text of the plugin, alive while loaded */
	}
	p->module.name = p->name;
	p->module.owner = p;
	p->module.migrations = p->migrations;
	p->module.nmigrations = n;
	return 0;
}

static int
h_migration_formerly(struct tremplin_plugin *p, int version, const char *module, int old_version)
{
	size_t n = p->module.nmigrations;

	if (p->state != PS_LOADING || version < 1 || (size_t)version > n || module == NULL ||
	    strcmp(module, p->name) == 0 || old_version < 1 || strlen(module) > 32) {
		h_log(p, TREMPLIN_LOG_WARNING,
		    "migration_formerly: a migration given in init, another module, a version "
		    "from 1");
		return -1;
	}
	if (p->formerly == NULL && (p->formerly = calloc(n, sizeof(*p->formerly))) == NULL)
		fatal("calloc");
	for (size_t i = 0; i < p->module.nformerly; i++)
		if (p->formerly[i].version == version) {
			h_log(
			    p, TREMPLIN_LOG_WARNING, "migration %d: formerly given twice", version);
			return -1;
		}
	p->formerly[p->module.nformerly].version = version;
	p->formerly[p->module.nformerly].module = module; /* static text, alive while loaded */
	p->formerly[p->module.nformerly].old_version = old_version;
	p->module.nformerly++;
	p->module.formerly = p->formerly;
	return 0;
}

/*
 * ---- enforcement: what a plugin's SQL may do ----
 *
 * SQLite asks this for each statement a plugin prepares (host->stmt, its
 * migrations; sqlguard.h tells whose the statement is): it creates and writes only tables named "<plugin>_...", and
 * reads no person-linked table but its own (the kernel's are read through
 * records and views). No transaction control but the host's, no pragma, no
 * attached database.
 */
static int
prefixed(const char *name, const char *t)
{
	size_t n = strlen(name);

	return t != NULL && strncmp(t, name, n) == 0 && t[n] == '_';
}

/*
 * "<plugin>_...", and not the prefix of a configured plugin with a longer name: "a"
 * does not own "a_b_items" when a plugin "a_b" is configured.
 */
static int
own_table(const struct tremplin_plugin *p, const char *t)
{
	const char *name;
	json_t *section;

	if (!prefixed(p->name, t))
		return 0;
	/* The configuration's names: a plugin loaded after this one counts too. */
	json_object_foreach (p->set->srv->conf->plugins, name, section)
		if (strlen(name) > strlen(p->name) && prefixed(name, t))
			return 0;
	return 1;
}

/*
 * The person-linked tables the catalogue holds, read at load: those of a
 * plugin no longer loaded stay a person's data. (The authorizer may not
 * query the database it guards.)
 */
static char **catalogued;
static size_t ncatalogued;

static void
catalogue_load(struct db *db)
{
	static const char sql[] = "SELECT DISTINCT tbl FROM record_catalogue";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		fatalx("cannot read the catalogue of personal tables");
	while (sqlite3_step(st) == SQLITE_ROW) {
		char **n = reallocarray(catalogued, ncatalogued + 1, sizeof(*catalogued));
		if (n == NULL)
			fatal("reallocarray");
		catalogued = n;
		if ((catalogued[ncatalogued++] =
		            strdup((const char *)sqlite3_column_text(st, 0))) == NULL)
			fatal("strdup");
	}
	db_done(st);
}

static void
catalogue_free(void)
{
	for (size_t i = 0; i < ncatalogued; i++)
		free(catalogued[i]);
	free(catalogued);
	catalogued = NULL;
	ncatalogued = 0;
}

static int
personal_table(const char *t)
{
	for (size_t i = 0; i < resource_count(); i++) {
		const struct resource *res = resource_at(i);
		if (res->person && strcmp(res->table, t) == 0)
			return 1;
	}
	for (size_t i = 0; i < ncatalogued; i++)
		if (strcmp(catalogued[i], t) == 0)
			return 1;
	/* The tables of the person's file the kernel keeps beside its records. */
	return strcmp(t, "outbox") == 0 || strcmp(t, "record_catalogue") == 0 ||
	    strcmp(t, "alerts") == 0 || strcmp(t, "alert_recipients") == 0;
}

/* The last refusal, to say why a migration failed (SQLite says only "not authorized"). */
static char refusal[160];

static const char *
action_name(int action)
{
	switch (action) {
	case SQLITE_READ:
		return "read";
	case SQLITE_INSERT:
		return "insert into";
	case SQLITE_UPDATE:
		return "update";
	case SQLITE_DELETE:
		return "delete from";
	case SQLITE_CREATE_TABLE:
		return "create table";
	case SQLITE_DROP_TABLE:
		return "drop table";
	case SQLITE_CREATE_VIEW:
		return "create view";
	case SQLITE_DROP_VIEW:
		return "drop view";
	case SQLITE_CREATE_INDEX:
		return "create index";
	case SQLITE_DROP_INDEX:
		return "drop index";
	case SQLITE_ALTER_TABLE:
		return "alter table";
	case SQLITE_CREATE_TRIGGER:
	case SQLITE_CREATE_TEMP_TRIGGER:
		return "create trigger";
	case SQLITE_PRAGMA:
		return "pragma";
	case SQLITE_ATTACH:
		return "attach";
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
		return "transaction control";
	default:
		return "action";
	}
}

static int
sql_decide(const void *owner, int action, const char *a1, const char *a2)
{
	const struct tremplin_plugin *p = owner;
	int ok;

	if (p->embedded)
		return SQLITE_OK;
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_FUNCTION:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_READ:
		ok = own_table(p, a1) || !personal_table(a1);
		break;
	case SQLITE_INSERT:
	case SQLITE_UPDATE:
	case SQLITE_DELETE:
		/* The schema's own rows change with the plugin's DDL, checked on its own. */
		ok = own_table(p, a1) || strncmp(a1, "sqlite_", 7) == 0;
		break;
	case SQLITE_CREATE_TABLE:
	case SQLITE_DROP_TABLE:
		ok = own_table(p, a1);
		break;
	case SQLITE_CREATE_INDEX:
	case SQLITE_DROP_INDEX:
		ok = (own_table(p, a1) || strncmp(a1, "sqlite_autoindex_", 17) == 0) &&
		    own_table(p, a2);
		break;
	case SQLITE_ALTER_TABLE:
		ok = own_table(p, a2);
		break;
	case SQLITE_REINDEX: /* part of CREATE INDEX */
	case SQLITE_ANALYZE:
		ok = own_table(p, a1) || strncmp(a1, "sqlite_autoindex_", 17) == 0;
		break;
	default: /* views, triggers, pragmas, transactions, attach, temporary objects... */
		/*
		 * No views: SQLite prepares a statement again on its own after a
		 * schema change, unchecked (no plugin is current then); a view
		 * redefined under a cached statement would read any table.
		 */
		ok = 0;
	}
	if (!ok) {
		/* ALTER TABLE names the table second; the others first. */
		const char *what = action == SQLITE_ALTER_TABLE ? a2 : a1;
		snprintf(refusal, sizeof(refusal), "%s %s (action %d)", action_name(action),
		    what ? what : "(none)", action);
		log_warnx("plugin %s: refused SQL: %s", p->name, refusal);
	}
	return ok ? SQLITE_OK : SQLITE_DENY;
}

/* ---- calling into a plugin ---- */

static struct sqlite3 *
handle_of(const struct tremplin_plugin *p)
{
	return db_handle(p->set->srv->db);
}

/* tremplind -n runs init and config with no database: the store says no, it does not crash. */
static int
no_store(struct tremplin_plugin *p, const char *call)
{
	if (p->set->srv->db != NULL)
		return 0;
	log_warnx("plugin %s: %s: no database while the configuration is checked", p->name, call);
	return 1;
}

/*
 * After a callback: a transaction it left open is rolled back and counted
 * as a failure, so that it cannot wedge every other write. 1 when it did.
 */
static int
left_open(struct tremplin_plugin *p, const char *what)
{
	if (sqlite3_get_autocommit(handle_of(p))) {
		p->txn = 0;
		return 0;
	}
	db_rollback(p->set->srv->db);
	p->txn = 0;
	p->failures++;
	log_warnx("plugin %s left a transaction open (%s): rolled back", p->name, what);
	return 1;
}

/* ---- statements and transactions ---- */

static sqlite3_stmt *
h_stmt(struct tremplin_plugin *p, const char *sql)
{
	sqlite3_stmt *st;
	const void *prev;

	if (sql == NULL || no_store(p, "stmt"))
		return NULL;
	/* By the text: a buffer the plugin refilled with other SQL is other SQL. */
	for (size_t i = 0; i < p->nstmts; i++)
		if (strcmp(p->stmts[i].sql, sql) == 0) {
			p->stmts[i].used = ++p->stmt_uses;
			return p->stmts[i].st;
		}
	/*
	 * Full (SQL built with its values): the statement used least lately
	 * and not running goes; the ones the plugin holds are the recent ones.
	 */
	if (p->nstmts == PLUGIN_MAX_STMTS) {
		size_t old = PLUGIN_MAX_STMTS;
		for (size_t i = 0; i < p->nstmts; i++)
			if (!sqlite3_stmt_busy(p->stmts[i].st) &&
			    (old == PLUGIN_MAX_STMTS || p->stmts[i].used < p->stmts[old].used))
				old = i;
		if (old == PLUGIN_MAX_STMTS) {
			h_log(p, TREMPLIN_LOG_WARNING, "%d statements running at once",
			    PLUGIN_MAX_STMTS);
			return NULL;
		}
		sqlite3_finalize(p->stmts[old].st);
		free(p->stmts[old].sql);
		p->stmts[old] = p->stmts[--p->nstmts];
	}
	/* Prepared under the plugin's rights, whoever calls. */
	prev = sqlguard_enter(p);
	if (sqlite3_prepare_v3(handle_of(p), sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
	    SQLITE_OK) {
		h_log(p, TREMPLIN_LOG_WARNING, "cannot prepare \"%s\": %s", sql,
		    sqlite3_errmsg(handle_of(p)));
		sqlguard_leave(prev);
		return NULL;
	}
	sqlguard_leave(prev);
	if ((p->stmts[p->nstmts].sql = strdup(sql)) == NULL)
		fatal("strdup");
	p->stmts[p->nstmts].used = ++p->stmt_uses;
	p->stmts[p->nstmts++].st = st;
	return st;
}

static void
h_stmt_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	db_done(st);
}

static int
h_begin(struct tremplin_plugin *p)
{
	int rc;

	if (no_store(p, "begin"))
		return -1;
	if (!sqlite3_get_autocommit(handle_of(p))) {
		h_log(p, TREMPLIN_LOG_WARNING, "begin: a transaction is open already");
		return -1;
	}
	rc = db_begin(p->set->srv->db);
	p->txn = rc == 0 ? db_txn_serial(p->set->srv->db) : 0;
	return rc;
}

/* The open transaction is the one p began (not the host's, nor one the host rolled back). */
static int
own_txn(struct tremplin_plugin *p)
{
	return p->txn != 0 && p->txn == db_txn_serial(p->set->srv->db) &&
	    !sqlite3_get_autocommit(handle_of(p));
}

static int
h_commit(struct tremplin_plugin *p)
{
	int rc;

	if (no_store(p, "commit"))
		return -1;
	/* A hook runs inside the host's write: ending it would split the write. */
	if (!own_txn(p)) {
		h_log(p, TREMPLIN_LOG_WARNING, "commit: no transaction of its own is open");
		return -1;
	}
	p->txn = 0;
	rc = db_commit(p->set->srv->db);
	return rc;
}

static void
h_rollback(struct tremplin_plugin *p)
{
	if (no_store(p, "rollback"))
		return;
	if (!own_txn(p)) {
		h_log(p, TREMPLIN_LOG_WARNING, "rollback: no transaction of its own is open");
		return;
	}
	p->txn = 0;
	db_rollback(p->set->srv->db);
}

static int
h_transaction(struct tremplin_plugin *p, tremplin_txn_fn fn, void *arg)
{
	if (fn == NULL || h_begin(p) != 0)
		return -1;
	if (fn(arg) != 0) {
		h_rollback(p);
		return -1;
	}
	if (sqlite3_get_autocommit(handle_of(p))) {
		h_log(p, TREMPLIN_LOG_WARNING, "transaction: fn ended the transaction itself");
		return -1;
	}
	return h_commit(p);
}

/* ---- records ---- */

static int
h_record(struct tremplin_plugin *p, const struct tremplin_record *d, void *arg)
{
	if (p->state != PS_LOADING) {
		h_log(p, TREMPLIN_LOG_WARNING, "records are declared in init");
		return -1;
	}
	if (d == NULL || p->nrecords == PLUGIN_MAX_RECORDS) {
		h_log(p, TREMPLIN_LOG_WARNING, "record: none given, or more than %d",
		    PLUGIN_MAX_RECORDS);
		return -1;
	}
	p->records[p->nrecords].decl = d;
	p->records[p->nrecords].arg = arg;
	p->nrecords++;
	return 0;
}

static int
h_view_register(struct tremplin_plugin *p, const struct tremplin_view *v)
{
	if (p->state != PS_LOADING || v == NULL || p->nviews == PLUGIN_MAX_RECORDS) {
		h_log(p, TREMPLIN_LOG_WARNING, "views are registered in init");
		return -1;
	}
	p->views[p->nviews++] = v;
	return 0;
}

/*
 * A plugin's view: named "<plugin>.<what>.v<n>", a read-only statement over
 * what the plugin may read (prepared under its rights here, so that a view
 * cannot open the kernel's tables), read by roles that read personal data
 * when it shows any. -1 with err.
 */
static int
add_view(struct tremplin_plugin *p, const struct tremplin_view *tv, char *err, size_t errlen)
{
	size_t n = strlen(p->name);
	struct view v = { 0 };
	struct view_param *params;
	sqlite3_stmt *st = NULL;
	const void *prev;
	int ok;

	/* A view declared before booleans was appended has the shorter size. */
	if ((tv->size != sizeof(*tv) && tv->size != offsetof(struct tremplin_view, booleans)) ||
	    tv->name == NULL || strncmp(tv->name, p->name, n) != 0 || tv->name[n] != '.' ||
	    strstr(tv->name, ".v") == NULL || tv->sql == NULL || tv->nparams > 16 ||
	    tv->roles == 0 || (tv->roles & ~(unsigned)TREMPLIN_ROLES_STAFF) != 0) {
		snprintf(err, errlen,
		    "view %s: a name \"%s.<what>.v<n>\", an SQL text, roles, at most 16 parameters",
		    tv->name ? tv->name : "?", p->name);
		return -1;
	}
	for (const char *const *c = tv->categories; c && *c; c++) {
		enum category cat = category_from_name(*c);
		if (cat == CAT_MAX) {
			snprintf(err, errlen, "view %s: unknown category %s", tv->name, *c);
			return -1;
		}
		v.categories |= 1u << cat;
	}
	if (v.categories != 0 && (tv->roles & TREMPLIN_ROLE_ADMIN)) {
		snprintf(err, errlen, "view %s: shows personal data, so the admin may not read it",
		    tv->name);
		return -1;
	}
	if (p->set->srv->db != NULL) {
		prev = sqlguard_enter(p);
		ok = sqlite3_prepare_v2(handle_of(p), tv->sql, -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_stmt_readonly(st);
		sqlguard_leave(prev);
		if (!ok)
			snprintf(err, errlen,
			    "view %s: not a read-only statement over its own data: %s", tv->name,
			    sqlite3_errmsg(handle_of(p)));
		sqlite3_finalize(st);
		if (!ok)
			return -1;
	}
	for (size_t i = 0; i < tv->nparams; i++)
		if (tv->params[i].name == NULL || tv->params[i].type < TREMPLIN_VIEW_DATE ||
		    tv->params[i].type > TREMPLIN_VIEW_ROLE) {
			snprintf(err, errlen, "view %s: parameter %zu: a name and a known type",
			    tv->name, i);
			return -1;
		}
	if ((params = calloc(tv->nparams ? tv->nparams : 1, sizeof(*params))) == NULL)
		fatal("calloc");
	for (size_t i = 0; i < tv->nparams; i++)
		params[i] = (struct view_param){ tv->params[i].name,
			(enum view_param_type)tv->params[i].type, tv->params[i].required,
			tv->params[i].min, tv->params[i].max };
	v.name = tv->name;
	v.description = tv->description;
	v.sql = tv->sql;
	v.params = params;
	v.nparams = tv->nparams;
	v.roles = tv->roles;
	if (tv->size == sizeof(*tv))
		v.booleans = tv->booleans;
	if (view_add(&v, p) == -1) {
		free(params);
		snprintf(err, errlen, "view %s: the name is taken", tv->name);
		return -1;
	}
	return 0;
}

/*
 * The records declared in init, once the migrations made their tables (or,
 * checking, without a database: the declarations alone). -1 with err.
 */
static int
register_records(struct tremplin_plugin *p, char *err, size_t errlen)
{
	struct server *srv = p->set->srv;

	for (size_t i = 0; i < p->nrecords; i++) {
		const struct resource_module m = { p, p->name, p->base, p->embedded };
		int rc = resource_register(srv->router, p->checking ? NULL : srv->db, &m,
		    p->records[i].decl, p->records[i].arg, err, errlen);
		if (rc == -1)
			return -1;
	}
	for (size_t i = 0; i < p->nviews; i++)
		if (add_view(p, p->views[i], err, errlen) == -1)
			return -1;
	return 0;
}

/* The route trampoline: the router calls it with the request. */
static struct {
	struct tremplin_request *r; /* the request a plugin's route is serving now */
	int status;
	json_t *body;
	/* Or a body that is not JSON (reply_bytes). */
	char *bytes;
	size_t len;
	char ctype[128];
} pending;

static void
send_bytes(struct tremplin_request *r, int status, const char *ctype, const void *b, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

	evbuffer_add(evhttp_request_get_output_buffer(r->req), b, len);
	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(r->req, status, NULL, NULL);
	r->replied = 1;
}

static void
pending_bytes_clear(void)
{
	free(pending.bytes);
	pending.bytes = NULL;
	pending.len = 0;
}

static size_t
header_count(struct evkeyvalq *q)
{
	struct evkeyval *kv;
	size_t n = 0;

	TAILQ_FOREACH (kv, q, next)
		n++;
	return n;
}

static void
route_call(struct tremplin_request *r)
{
	const struct hook *h = r->route->arg;
	struct tremplin_plugin *p = h->p;
	static const char *const none[] = { NULL };

	if (p->state != PS_ENABLED) {
		api_error(r, 503, "unavailable", NULL, "plugin %s is disabled", p->name);
		return;
	}
	if (api_query_only(r, h->query ? h->query : none) == -1)
		return;
	/* The reply waits for the handler's end: what it says must be what landed. */
	struct evkeyvalq *out = r->req ? evhttp_request_get_output_headers(r->req) : NULL;
	size_t before = out ? header_count(out) : 0;
	pending.r = r;
	pending.body = NULL;
	h->fn.route(r, h->arg);
	pending.r = NULL;
	if (left_open(p, r->route->pattern)) {
		json_decref(pending.body);
		pending_bytes_clear();
		/* Its headers went with its rows (a Location of a row that is not there). */
		while (out != NULL && !r->replied && header_count(out) > before) {
			char key[128];
			tr_strlcpy(key, TAILQ_LAST(out, evkeyvalq)->key, sizeof(key));
			if (evhttp_remove_header(out, key) != 0)
				break; /* a name longer than key: left, rather than loop */
		}
		api_error(r, 500, "internal", NULL,
		    "plugin %s left a transaction open: nothing was saved", p->name);
		return;
	}
	if (pending.body != NULL)
		api_reply(r, pending.status, pending.body);
	else if (pending.bytes != NULL && r->req != NULL)
		send_bytes(r, pending.status, pending.ctype, pending.bytes, pending.len);
	pending_bytes_clear();
}

static int
valid_route_path(const char *path)
{
	if (path[0] != '/' || strlen(path) > 200 || strstr(path, "//") != NULL)
		return 0;
	for (const char *c = path; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '/' ||
		        *c == '-' || *c == '_' || *c == '{' || *c == '}'))
			return 0;
	return 1;
}

static int
h_route(struct tremplin_plugin *p, const struct tremplin_route_spec *rs)
{
	char pattern[256];
	unsigned methods;

	if (p->state != PS_LOADING) {
		h_log(p, TREMPLIN_LOG_WARNING, "routes are registered in init");
		return -1;
	}
	if (rs == NULL || rs->size != sizeof(*rs)) {
		h_log(
		    p, TREMPLIN_LOG_WARNING, "route: built with another SDK (rebuild the plugin)");
		return -1;
	}
	methods = rs->methods;
	if (rs->fn == NULL || rs->path == NULL || !valid_route_path(rs->path) || methods == 0 ||
	    (methods & ~(unsigned)(M_GET | M_POST | M_PATCH | M_PUT | M_DELETE)) != 0 ||
	    rs->roles == 0 || (rs->roles & ~(unsigned)TREMPLIN_ROLES_STAFF) != 0 ||
	    (rs->flags & ~(unsigned)(TREMPLIN_ROUTE_BODY | TREMPLIN_ROUTE_PERSONAL)) != 0) {
		h_log(p, TREMPLIN_LOG_WARNING, "route %s: bad path, methods, roles or flags",
		    rs->path ? rs->path : "(null)");
		return -1;
	}
	snprintf(pattern, sizeof(pattern), "%s%s", p->base, strcmp(rs->path, "/") ? rs->path : "");
	if (p->set->srv->router == NULL)
		return 0; /* checking a configuration */
	struct hook *h = hook_new(p, rs->arg, 0);
	h->fn.route = rs->fn;
	h->query = rs->query;
	struct route r = {
		.method = methods,
		.pattern = pattern,
		.fn = route_call,
		.action = ACT_PLUGIN_ROUTE,
		.flags = rs->flags,
		.roles = rs->roles,
		.arg = h,
		.owner = p,
	};
	if (router_add(p->set->srv->router, &r) == -1) {
		hook_free(h);
		h_log(p, TREMPLIN_LOG_WARNING, "route %s: taken already, or too many routes",
		    pattern);
		return -1;
	}
	return 0;
}

static json_t *
h_request_body(struct tremplin_request *r)
{
	return r->body;
}

static int64_t
h_request_id(struct tremplin_request *r, int index)
{
	return index >= 0 && index < r->nids ? r->ids[index] : -1;
}

static const char *
h_request_param(struct tremplin_request *r, const char *name)
{
	for (int i = 0; name != NULL && i < r->params.n; i++)
		if (strlen(name) == r->params.namelen[i] &&
		    strncmp(r->params.names[i], name, r->params.namelen[i]) == 0)
			return r->params.values[i];
	return NULL;
}

static const char *
h_request_query(struct tremplin_request *r, const char *name)
{
	return api_query(r, name);
}

static void
h_request_caller(struct tremplin_request *r, struct tremplin_caller *out)
{
	out->staff_id = r->who.staff_id;
	out->unix_user = r->who.unix_user;
	out->role = role_name(r->who.role);
}

static int
h_reply_header(struct tremplin_request *r, const char *name, const char *value)
{
	static const char *const reserved[] = { "content-type", "content-length", "connection",
		"transfer-encoding", "cache-control" };

	if (r->replied || r->req == NULL || name == NULL || value == NULL)
		return -1;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '-'))
			return -1;
	for (size_t i = 0; i < TR_NELEM(reserved); i++)
		if (strcasecmp(name, reserved[i]) == 0)
			return -1;
	for (const char *c = value; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return -1;
	return evhttp_add_header(evhttp_request_get_output_headers(r->req), name, value);
}

static void h_reply(struct tremplin_request *r, int status, json_t *body);

static void
h_reply_bytes(
    struct tremplin_request *r, int status, const char *ctype, const void *body, size_t len)
{
	int ok = ctype != NULL && *ctype != '\0' && strlen(ctype) < sizeof(pending.ctype) &&
	    (body != NULL || len == 0) && status >= 200 && status < 600;

	for (const char *c = ctype; ok && *c; c++)
		ok = *c >= 0x20 && *c < 0x7f;
	if (r->replied || (pending.r == r && (pending.body != NULL || pending.bytes != NULL))) {
		log_warnx("plugin route %s replied twice", r->route->pattern);
		return;
	}
	if (!ok) {
		log_warnx("plugin route %s: reply_bytes without a valid content type or status",
		    r->route->pattern);
		h_reply(r, 500,
		    json_pack("{s:{s:s, s:s}}", "error", "code", "internal", "message",
		        "the plugin's reply was malformed"));
		return;
	}
	if (pending.r != r) {
		if (r->req != NULL)
			send_bytes(r, status, ctype, body, len);
		return;
	}
	if ((pending.bytes = malloc(len ? len : 1)) == NULL)
		fatal("malloc");
	if (len > 0)
		memcpy(pending.bytes, body, len);
	pending.len = len;
	pending.status = status;
	tr_strlcpy(pending.ctype, ctype, sizeof(pending.ctype));
}

static void
h_reply(struct tremplin_request *r, int status, json_t *body)
{
	if (r->replied || (pending.r == r && (pending.body != NULL || pending.bytes != NULL))) {
		json_decref(body);
		log_warnx("plugin route %s replied twice", r->route->pattern);
		return;
	}
	if (body == NULL)
		body = json_object();
	if (pending.r == r) {
		pending.status = status;
		pending.body = body;
		return;
	}
	api_reply(r, status, body);
}

static void
h_reply_error(struct tremplin_request *r, int status, const char *code, const char *field,
    const char *fmt, ...)
{
	char msg[API_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	json_safe_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	h_reply(r, status, api_error_body(code, field, msg));
}

static int
h_error(struct tremplin_error *e, int status, const char *field, const char *fmt, ...)
{
	char msg[sizeof(e->message)];
	va_list ap;

	va_start(ap, fmt);
	json_safe_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	input_error_set(e, status,
	    status == 403       ? "forbidden"
	        : status == 404 ? "not_found"
	        : status == 409 ? "conflict"
	        : status == 400 ? "bad_request"
	                        : "validation_failed",
	    field, "%s", msg);
	return -1;
}

static int
h_check_fields(
    struct tremplin_request *r, json_t *obj, const struct tremplin_field *f, size_t n, int whole)
{
	struct field_spec specs[PLUGIN_MAX_FIELDS];
	struct tremplin_error e;

	if (n > PLUGIN_MAX_FIELDS || obj == NULL) {
		h_reply_error(r, 500, "internal", NULL, "bad field table");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		specs[i] = (struct field_spec){ f[i].name, (enum field_type)f[i].type, f[i].flags };
	if (json_check_fields(obj, specs, n, whole, &e) == -1) {
		h_reply(r, e.status, api_error_body(e.code, e.field, e.message));
		return -1;
	}
	return 0;
}

static int
h_page(struct tremplin_request *r, int *limit, int64_t *after)
{
	return api_page(r, limit, after);
}

static json_t *
h_list(json_t *items, int64_t last_id)
{
	return api_list(items, last_id);
}

/* ---- a person's file, for hand-written handlers ---- */

static int
h_access(struct tremplin_request *r, int64_t employee_id, struct tremplin_access *out)
{
	struct access a;
	int rc;

	memset(out, 0, sizeof(*out));
	if (r == NULL || !policy_personal_data(r->who.role))
		return -1;
	rc = access_for_employee(r, employee_id, &a);
	if (rc == -1)
		return -1;
	access_public(&a, out);
	return 0;
}

static void
access_private(const struct tremplin_access *pa, struct access *a)
{
	memset(a, 0, sizeof(*a));
	for (int r = ROLE_NONE + 1; r < ROLE_MAX; r++)
		if (pa->role == ROLEBIT(r))
			a->role = (enum role)r;
	a->staff_id = pa->staff_id;
	a->referent_cip = pa->referent_cip;
	a->referent_eti = pa->referent_eti;
}

static int
h_can_read(const struct tremplin_access *pa, const char *category)
{
	struct access a;
	enum category c = category_from_name(category);

	access_private(pa, &a);
	return c != CAT_MAX && policy_can_read(&a, c);
}

static int
h_audited(const char *category)
{
	enum category c = category_from_name(category);

	return c == CAT_MAX ? -1 : policy_audited(c);
}

static int
h_can_write(const struct tremplin_access *pa, const char *category)
{
	struct access a;
	enum category c = category_from_name(category);

	access_private(pa, &a);
	return c != CAT_MAX && policy_can_write(&a, c);
}

static int
h_audit(struct tremplin_plugin *p, struct tremplin_request *r, const char *action,
    int64_t employee_id, const char *what, const char *const *categories)
{
	char actor[48], res[96];
	unsigned cats = 0;
	int rc;

	for (const char *const *c = categories; c && *c; c++) {
		enum category cat = category_from_name(*c);
		if (cat == CAT_MAX) {
			h_log(p, TREMPLIN_LOG_WARNING, "audit: unknown category %s", *c);
			return -1;
		}
		cats |= 1u << cat;
	}
	if (action == NULL || what == NULL)
		return -1;
	snprintf(res, sizeof(res), "%s:%s", p->name, what);
	if (r != NULL)
		rc = audit_record(p->set->srv->audit, &r->who, action, employee_id, res, cats);
	else {
		snprintf(actor, sizeof(actor), "plugin:%s", p->name);
		rc = audit_record_as(
		    p->set->srv->audit, 0, actor, "daemon", action, employee_id, res, cats);
	}
	return rc;
}

/* ---- records through their own rules ---- */

static const struct resource *
find_record(struct tremplin_plugin *p, const char *name)
{
	char q[RESOURCE_NAME_MAX];
	const struct resource *res;

	if (name == NULL)
		return NULL;
	snprintf(q, sizeof(q), "%s.%s", p->name, name);
	if ((res = resource_find(q)) != NULL)
		return res;
	res = resource_find(name);
	return res != NULL && res->embedded ? res : NULL;
}

/*
 * The request a plugin acts through: the caller's, or, on its own (timers,
 * events), one of the plugin's with the coordinator's rights, never the
 * referent CIP's: sensitive details stay the referent's.
 */
static void
acting(struct tremplin_plugin *p, struct tremplin_request *r, struct tremplin_request *own)
{
	memset(own, 0, sizeof(*own));
	if (r != NULL) {
		*own = *r;
		own->body = NULL;
		return;
	}
	own->srv = p->set->srv;
	own->who.role = ROLE_COORDINATOR;
	own->who.staff_id = 0;
	snprintf(own->who.unix_user, sizeof(own->who.unix_user), "plugin:%.25s", p->name);
	snprintf(own->who.name, sizeof(own->who.name), "plugin %s", p->name);
}

static json_t *
h_record_get(struct tremplin_plugin *p, struct tremplin_request *r, const char *name, int64_t id,
    struct tremplin_error *e)
{
	const struct resource *res = find_record(p, name);
	struct tremplin_request own;
	struct access a;
	unsigned cats = 0;
	int64_t employee_id = 0;
	int dberr;
	json_t *row, *v = NULL;

	if (res == NULL) {
		input_error_set(e, 404, "not_found", NULL, "no record type %s", name ? name : "");
		return NULL;
	}
	acting(p, r, &own);
	/* The route's rules: what the caller may not see does not exist for it. */
	if (resource_access(&own, res, id, 0, &employee_id, &a, e) == -1)
		return NULL;
	if (res->person && !policy_personal_data(own.who.role)) {
		input_error_set(
		    e, 404, "not_found", NULL, "no %s %lld", res->decl->name, (long long)id);
		return NULL;
	}
	row = resource_load(&own, res, id, &dberr);
	v = row != NULL ? resource_show(&own, res, &a, row, &cats) : NULL;
	json_decref(row);
	if (v != NULL && cats != 0 &&
	    audit_record(own.srv->audit, &own.who, "read", employee_id, res->table, cats) == -1) {
		json_decref(v);
		v = NULL;
		dberr = 1;
	}
	if (v == NULL)
		input_error_set(e, dberr ? 500 : 404, dberr ? "internal" : "not_found", NULL,
		    "no %s %lld", res->decl->name, (long long)id);
	return v;
}

static int
record_write(struct tremplin_plugin *p, struct tremplin_request *r, const char *name, int64_t scope,
    json_t *in, int64_t *id, struct tremplin_error *e)
{
	const struct resource *res = find_record(p, name);
	struct tremplin_request own;
	struct access a;
	int64_t employee_id = 0;
	int rc = -1;

	if (res == NULL || !json_is_object(in)) {
		input_error_set(
		    e, 404, "not_found", NULL, "no record type %s, or no object", name ? name : "");
		return -1;
	}
	acting(p, r, &own);
	/* The write's body is the plugin's object: check hooks read what was given from it. */
	own.body = in;
	if (res->person && !policy_personal_data(own.who.role)) {
		input_error_set(e, 403, "forbidden", NULL, "the %s role reads no personal data",
		    role_name(own.who.role));
		return -1;
	}
	/* The rights on the file the row is (or will be) in, as the routes decide them. */
	rc = resource_access(&own, res, *id, scope, &employee_id, &a, e);
	if (rc == 0 && r == NULL)
		a.referent_cip = 0; /* a plugin on its own never holds the referent's rights */
	if (rc == 0)
		rc = resource_write(&own, res, &a, scope, in, id, e);
	return rc == 0 ? 0 : -1;
}

static int64_t
h_record_create(struct tremplin_plugin *p, struct tremplin_request *r, const char *name,
    int64_t parent_id, json_t *obj, struct tremplin_error *e)
{
	int64_t id = 0;

	return record_write(p, r, name, parent_id, obj, &id, e) == 0 ? id : -1;
}

static int
h_record_update(struct tremplin_plugin *p, struct tremplin_request *r, const char *name, int64_t id,
    json_t *patch, struct tremplin_error *e)
{
	if (id <= 0) {
		input_error_set(e, 404, "not_found", NULL, "no id");
		return -1;
	}
	return record_write(p, r, name, 0, patch, &id, e);
}

/* ---- views ---- */

static int
h_view(struct tremplin_plugin *p, struct tremplin_request *r, const char *name,
    const json_t *params, json_t **rows, char *err, size_t errlen)
{
	const struct view *v = name ? view_find(name) : NULL;
	enum role role = r != NULL ? r->who.role : ROLE_COORDINATOR;
	char actor[48];
	int rc;

	*rows = NULL;
	rc = view_run(p->set->srv->db, name, role, params, rows, err, errlen);
	/* Reads of audited categories are recorded, as the scripts' are. */
	if (rc == 0 && v != NULL && view_audited(v) != 0) {
		size_t n;
		int64_t *ids = view_employees(*rows, &n);
		snprintf(actor, sizeof(actor), "plugin:%s", p->name);
		if (n > 0 &&
		    audit_record_many(p->set->srv->audit, r ? r->who.unix_user : actor,
		        role_name(role), "read", ids, n, v->name, view_audited(v)) == -1) {
			json_decref(*rows);
			*rows = NULL;
			snprintf(err, errlen, "the audit log cannot record the read");
			rc = -1;
		}
		free(ids);
	}
	return rc;
}

static int
h_publish(struct tremplin_plugin *p, struct tremplin_request *req, const char *type,
    const char *subject, json_t *payload)
{
	struct events *ev = p->set->srv->events;
	size_t n = strlen(p->name);
	char actor[64];

	/* A plugin speaks for itself: it cannot forge the core's or another plugin's events. */
	if (type == NULL || subject == NULL || strncmp(type, p->name, n) != 0 || type[n] != '.' ||
	    type[n + 1] == '\0') {
		h_log(p, TREMPLIN_LOG_WARNING, "event type %s must start with \"%s.\"",
		    type ? type : "(null)", p->name);
		json_decref(payload);
		return -1;
	}
	/* The event commits with the change it tells, or not at all. */
	if (no_store(p, "publish") || sqlite3_get_autocommit(handle_of(p))) {
		h_log(p, TREMPLIN_LOG_WARNING, "publish %s: outside a transaction (refused)", type);
		json_decref(payload);
		return -1;
	}
	int64_t rc;
	if (req != NULL)
		rc = events_publish_by(ev, &req->who, type, subject, payload);
	else {
		snprintf(actor, sizeof(actor), "plugin:%s", p->name);
		rc = events_publish(ev, type, subject, payload, 0, actor);
	}
	return rc < 0 ? -1 : 0;
}

static int
event_call(const struct event_rec *rec, void *arg)
{
	struct hook *h = arg;
	struct tremplin_event e = { rec->id, rec->type, rec->subject, rec->payload, rec->actor,
		rec->created_at };
	int rc = h->fn.event(&e, h->arg);

	if (left_open(h->p, rec->type))
		return TREMPLIN_EVENT_FAILED;
	if (rc == TREMPLIN_EVENT_FAILED)
		h->p->failures++;
	return rc;
}

static int
h_subscribe(
    struct tremplin_plugin *p, const char *name, const char *type, tremplin_event_fn fn, void *arg)
{
	char full[128];

	if (name == NULL || fn == NULL || strlen(name) > 64) {
		h_log(p, TREMPLIN_LOG_WARNING, "a subscription needs a short name and a handler");
		return -1;
	}
	if (p->set->srv->events == NULL)
		return 0; /* checking a configuration: nothing is delivered */
	snprintf(full, sizeof(full), "%s/%s", p->name, name);
	if (p->checking)
		return 0; /* tremplind -n: nothing runs */
	struct hook *h = hook_new(p, arg, 0);
	h->fn.event = fn;
	if (events_subscribe(p->set->srv->events, p, full, type, event_call, h) == -1) {
		hook_free(h);
		return -1;
	}
	return 0;
}

static void
h_event_done(struct tremplin_plugin *p, const char *name, int64_t id, int ok, const char *error)
{
	char full[128];

	snprintf(full, sizeof(full), "%s/%s", p->name, name ? name : "");
	if (p->set->srv->events != NULL)
		events_done(p->set->srv->events, full, id, ok, error);
}

static void
timer_call(struct sched_timer *t, int64_t now, void *arg)
{
	struct hook *h = arg;
	struct tremplin_plugin *p = h->p;

	(void)t;
	/* A one-shot timer's hook goes before the call: the plugin may cancel no more. */
	tremplin_timer_fn fn = h->fn.timer;
	void *fnarg = h->arg;
	if (h->oneshot)
		hook_free(h);
	fn(now, fnarg);
	left_open(p, "timer");
}

static int
h_every(struct tremplin_plugin *p, const char *name, int64_t period_ms, int64_t jitter_ms,
    tremplin_timer_fn fn, void *arg)
{
	char full[128];

	if (name == NULL || fn == NULL || strlen(name) > 64 || period_ms <= 0) {
		h_log(p, TREMPLIN_LOG_WARNING,
		    "a periodic timer needs a short name, a period and a handler");
		return -1;
	}
	if (p->set->srv->sched == NULL)
		return 0; /* checking a configuration: nothing runs */
	snprintf(full, sizeof(full), "%s/%s", p->name, name);
	if (p->checking)
		return 0;
	struct hook *h = hook_new(p, arg, 0);
	h->fn.timer = fn;
	if (sched_add(p->set->srv->sched, p, full, period_ms, period_ms, jitter_ms, timer_call,
	        h) == NULL) {
		hook_free(h);
		return -1;
	}
	return 0;
}

static int64_t
h_after(struct tremplin_plugin *p, int64_t delay_ms, tremplin_timer_fn fn, void *arg)
{
	if (fn == NULL || delay_ms < 0 || p->set->srv->sched == NULL)
		return -1;
	if (p->checking)
		return ++p->next_timer;
	struct hook *h = hook_new(p, arg, 1);
	h->fn.timer = fn;
	h->id = ++p->next_timer;
	if ((h->timer = sched_add(p->set->srv->sched, p, NULL, delay_ms, 0, 0, timer_call, h)) ==
	    NULL) {
		hook_free(h);
		return -1;
	}
	return h->id;
}

static int
h_cancel(struct tremplin_plugin *p, int64_t id)
{
	struct hook *h;

	TAILQ_FOREACH (h, &p->hooks, entry)
		if (h->oneshot && h->timer != NULL && h->id == id) {
			sched_cancel(h->timer);
			hook_free(h);
			return 0;
		}
	return -1; /* ran already, or never was */
}

static int64_t
h_now_ms(struct tremplin_plugin *p)
{
	return p->set->srv->sched != NULL ? sched_now(p->set->srv->sched) : tr_now_ms();
}

static void
http_call(const struct net_result *res, void *arg)
{
	struct hook *h = arg;
	struct tremplin_http_response r = { (int)res->error, res->error_text, res->status,
		res->retry_after_s, res->content_type, res->body, res->body_len };
	struct tremplin_plugin *p = h->p;

	h->fn.http(&r, h->arg);
	hook_free(h);
	left_open(p, "http callback");
}

static int
h_http(struct tremplin_plugin *p, const struct tremplin_http_request *rq, tremplin_http_fn fn,
    void *arg, char *err, size_t errlen)
{
	struct net_header hdrs[32];
	struct net_spec spec;

	if (rq == NULL || fn == NULL || rq->nheaders > TR_NELEM(hdrs)) {
		snprintf(err, errlen, "bad request description");
		return -1;
	}
	if (p->set->srv->net == NULL) {
		snprintf(err, errlen, "no outbound requests while checking a configuration");
		return -1;
	}
	for (size_t i = 0; i < rq->nheaders; i++)
		hdrs[i] = (struct net_header){ rq->headers[i].name, rq->headers[i].value };
	spec = (struct net_spec){
		.method = rq->method ? rq->method : "GET",
		.url = rq->url,
		.headers = hdrs,
		.nheaders = rq->nheaders,
		.body = rq->body,
		.body_len = rq->body_len,
		.timeout_ms = rq->timeout_ms,
		.max_bytes = rq->max_bytes,
		.follow_redirects = rq->follow_redirects,
	};
	struct hook *h = hook_new(p, arg, 1);
	h->fn.http = fn;
	if (net_start(p->set->srv->net, p, &spec, http_call, h, err, errlen) == NULL) {
		hook_free(h);
		return -1;
	}
	return 0;
}

static int
h_notify(struct tremplin_plugin *p, const struct tremplin_notification *n, int64_t *id)
{
	char source[48], key[300];
	size_t klen;
	int rc;

	if (n == NULL || n->size != sizeof(*n) || n->kind == NULL ||
	    (klen = strlen(n->kind)) == 0 || klen > 64 || n->kind[0] < 'a' || n->kind[0] > 'z' ||
	    strspn(n->kind, "abcdefghijklmnopqrstuvwxyz0123456789_.") != klen ||
	    (n->recipient_role == NULL) == (n->recipient_staff_id <= 0) ||
	    (n->recipient_role != NULL && role_from_name(n->recipient_role) == ROLE_NONE) ||
	    n->message == NULL || valid_text(n->message, 2000, VALID_LINES) != NULL ||
	    (n->dedup_key != NULL && valid_label(n->dedup_key, 200) != NULL)) {
		h_log(p, TREMPLIN_LOG_WARNING,
		    "notify: a kind, one recipient (a role or a staff account), a message");
		return -1;
	}
	if (no_store(p, "notify") || sqlite3_get_autocommit(handle_of(p))) {
		h_log(
		    p, TREMPLIN_LOG_WARNING, "notify %s: outside a transaction (refused)", n->kind);
		return -1;
	}
	{
		struct outbox_entry who = { .recipient_staff_id = n->recipient_staff_id,
			.employee_id = n->employee_id };
		char why[128];
		if (outbox_check(p->set->srv->db, &who, why, sizeof(why)) == -1) {
			h_log(p, TREMPLIN_LOG_WARNING, "notify: %s", why);
			return -1;
		}
	}
	snprintf(source, sizeof(source), "plugin:%s", p->name);
	/* Keys are the plugin's own: another cannot collide with them. */
	if (n->dedup_key != NULL)
		snprintf(key, sizeof(key), "plugin:%s:%s", p->name, n->dedup_key);
	struct outbox_entry e = { source, n->kind, n->recipient_role, n->recipient_staff_id,
		n->employee_id, n->message, n->dedup_key ? key : NULL };
	rc = outbox_queue(p->set->srv->db, &e, id);
	return rc;
}

static json_t *
h_outbox_claim(struct tremplin_plugin *p, int max, int64_t lease_ms)
{
	char channel[48];

	if (max < 0 || max > 500 || lease_ms < 1000 || p->set->srv->db == NULL)
		return NULL;
	snprintf(channel, sizeof(channel), "plugin:%s", p->name);
	return outbox_claim(p->set->srv->db, channel, max, lease_ms, h_now_ms(p));
}

static int
h_outbox_done(struct tremplin_plugin *p, int64_t id, int ok, const char *error, int64_t retry_in_ms)
{
	char channel[48];
	int64_t now = h_now_ms(p);

	snprintf(channel, sizeof(channel), "plugin:%s", p->name);
	return outbox_done(p->set->srv->db, channel, id, ok, error,
	    !ok && retry_in_ms > 0 ? now + retry_in_ms : 0, now);
}

static const struct tremplin_host host = {
	.abi = TREMPLIN_PLUGIN_ABI,
	.size = sizeof(struct tremplin_host),
	.daemon_version = PACKAGE_VERSION,
	.log = h_log,
	.config = h_config,
	.migrations = h_migrations,
	.stmt = h_stmt,
	.stmt_done = h_stmt_done,
	.begin = h_begin,
	.commit = h_commit,
	.rollback = h_rollback,
	.transaction = h_transaction,
	.record = h_record,
	.route = h_route,
	.request_body = h_request_body,
	.request_id = h_request_id,
	.request_param = h_request_param,
	.request_query = h_request_query,
	.request_caller = h_request_caller,
	.reply_header = h_reply_header,
	.reply = h_reply,
	.reply_error = h_reply_error,
	.error = h_error,
	.check_fields = h_check_fields,
	.page = h_page,
	.list = h_list,
	.access = h_access,
	.can_read = h_can_read,
	.can_write = h_can_write,
	.audit = h_audit,
	.record_get = h_record_get,
	.record_create = h_record_create,
	.record_update = h_record_update,
	.view = h_view,
	.view_register = h_view_register,
	.publish = h_publish,
	.subscribe = h_subscribe,
	.event_done = h_event_done,
	.notify = h_notify,
	.outbox_claim = h_outbox_claim,
	.outbox_done = h_outbox_done,
	.every = h_every,
	.after = h_after,
	.cancel = h_cancel,
	.now_ms = h_now_ms,
	.http = h_http,
	.valid_siret = valid_siret,
	.valid_email = valid_email,
	.valid_label = valid_label,
	.reply_bytes = h_reply_bytes,
	.audited = h_audited,
	.migration_formerly = h_migration_formerly,
};

/* ---- the loader ---- */

static int
valid_plugin_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32 || s[0] < 'a' || s[0] > 'z' || strcmp(s, "core") == 0 ||
	    strcmp(s, "kernel") == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	/* Its routes live under /v1/<name>/: the core's own paths are taken. */
	static const char *const taken[] = { "health", "whoami", "backup", "structures", "staff",
		"plugins", "events", "policy", "audit", "employees" };
	for (size_t i = 0; i < TR_NELEM(taken); i++)
		if (strcmp(s, taken[i]) == 0)
			return 0;
	return 1;
}

/* major.minor must match: a patch release keeps the plugin ABI. */
static int
same_series(const char *a, const char *b)
{
	unsigned amaj, amin, bmaj, bmin;

	if (a == NULL || sscanf(a, "%u.%u", &amaj, &amin) != 2 ||
	    sscanf(b, "%u.%u", &bmaj, &bmin) != 2)
		return 0;
	return amaj == bmaj && amin == bmin;
}

static int refuse(struct tremplin_plugin *p, enum plugin_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(struct tremplin_plugin *p, enum plugin_state st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* Shown by GET /v1/plugins; a dlerror() may quote a file name that is not UTF-8. */
	json_safe_vformat(p->last_error, sizeof(p->last_error), fmt, ap);
	va_end(ap);
	p->state = st;
	log_warnx("plugin %s: refused (%s): %s", p->name, state_names[st], p->last_error);
	return -1;
}

/* Drop what a refused plugin holds, and unload its code unless init ran. */
static void
unload(struct tremplin_plugin *p)
{
	unregister(p);
	if (p->initialised && p->desc->stop) {
		p->desc->stop(p->ctx);
		if (!p->checking && p->set->srv->db != NULL)
			left_open(p, "stop");
	}
	p->initialised = 0;
	p->ctx = NULL;
	free(p->migrations);
	p->migrations = NULL;
	p->module.nmigrations = 0;
	free(p->formerly);
	p->formerly = NULL;
	p->module.formerly = NULL;
	p->module.nformerly = 0;
	/*
	 * Once init was called (desc is set just before), the daemon may hold
	 * pointers into the plugin's image: the statement cache keys on its SQL
	 * text. Unmapping it would leave them dangling, so it stays mapped.
	 */
	if (p->dl && p->desc == NULL)
		dlclose(p->dl);
	p->dl = NULL;
	p->desc = NULL;
}

/* The section handed to the plugin: without the loader's own key. */
static json_t *
plugin_section(const json_t *section)
{
	json_t *s = json_is_object(section) ? json_deep_copy(section) : json_object();

	json_object_del(s, "enabled");
	return s;
}

static int start_one(struct plugins *, struct tremplin_plugin *, const json_t *);

static int
load_one(struct plugins *set, struct tremplin_plugin *p, const json_t *section)
{
	struct server *srv = set->srv;
	const struct tremplin_plugin_desc *d;

	json_t *enabled = json_object_get(section, "enabled");
	if (enabled != NULL && !json_is_boolean(enabled))
		return refuse(p, PS_DISABLED_CONFIG, "enabled: expected true or false");
	if (json_is_false(enabled))
		return refuse(p, PS_DISABLED_CONFIG, "enabled = false in the configuration");
	if (!valid_plugin_name(p->name))
		return refuse(p, PS_DISABLED_CONFIG,
		    "not a plugin name: [a-z][a-z0-9_]*, at most 32, not a core path");
	snprintf(p->path, sizeof(p->path), "%s/%s.so", srv->conf->plugin_dir, p->name);
	if ((p->dl = dlopen(p->path, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return refuse(p, PS_DISABLED_FAILED, "cannot load %s: %s", p->path, dlerror());
	if ((d = dlsym(p->dl, TREMPLIN_PLUGIN_SYMBOL)) == NULL)
		return refuse(
		    p, PS_DISABLED_FAILED, "%s has no %s symbol", p->path, TREMPLIN_PLUGIN_SYMBOL);
	if (d->abi != TREMPLIN_PLUGIN_ABI)
		return refuse(p, PS_DISABLED_FAILED,
		    "built for plugin ABI %u, this tremplind has %u%s", d->abi, TREMPLIN_PLUGIN_ABI,
		    d->abi < TREMPLIN_PLUGIN_ABI ? ": an older SDK; rebuild it against this one"
		                                 : ": a newer SDK than this tremplind");
	if (d->size != sizeof(*d))
		return refuse(p, PS_DISABLED_FAILED,
		    "descriptor is %u bytes, this tremplind expects %zu (rebuild it against this "
		    "SDK)",
		    d->size, sizeof(*d));
	if (!same_series(d->built_for, PACKAGE_VERSION))
		return refuse(p, PS_DISABLED_FAILED, "built for tremplind %s, this is %s",
		    d->built_for ? d->built_for : "(none)", PACKAGE_VERSION);
	if (d->name == NULL || strcmp(d->name, p->name) != 0)
		return refuse(p, PS_DISABLED_FAILED, "%s holds plugin '%s', not '%s'", p->path,
		    d->name ? d->name : "(none)", p->name);
	if (d->init == NULL || d->start == NULL || d->stop == NULL || d->version == NULL)
		return refuse(
		    p, PS_DISABLED_FAILED, "descriptor lacks init, start, stop or version");
	p->desc = d;
	return start_one(set, p, section);
}

/*
 * init, config, migrations, records, start: the same for the kernel and a
 * plugin. Checking (tremplind -n), it stops after config and keeps nothing.
 */
static int
start_one(struct plugins *set, struct tremplin_plugin *p, const json_t *section)
{
	struct server *srv = set->srv;
	const struct tremplin_plugin_desc *d = p->desc;
	char err[512] = "";
	int rc;

	p->section = plugin_section(section);
	if (p->embedded)
		tr_strlcpy(p->base, "/v1", sizeof(p->base));
	else
		snprintf(p->base, sizeof(p->base), "/v1/%s", p->name);
	rc = d->init(&host, p, &p->ctx);
	if (!p->checking && left_open(p, "init"))
		rc = -1;
	if (rc != 0)
		return refuse(p, PS_DISABLED_FAILED, "init failed");
	p->initialised = 1;
	if (d->config != NULL) {
		rc = d->config(p->ctx, p->section, err, sizeof(err));
		if (!p->checking && left_open(p, "config"))
			return refuse(p, PS_DISABLED_FAILED, "config left a transaction open");
		if (rc != 0)
			return refuse(p, PS_DISABLED_CONFIG, "configuration refused: %s",
			    err[0] ? err : "no reason given");
	}
	if (p->checking)
		return register_records(p, err, sizeof(err)) == -1
		    ? refuse(p, PS_DISABLED_FAILED, "%s", err)
		    : 0;
	if (p->module.nmigrations > 0) {
		const struct db_module *mods[] = { &p->module };
		/* Its migrations may make and change its own tables, and nothing else. */
		refusal[0] = '\0';
		rc = db_migrate(srv->db, mods, 1, err, sizeof(err));
		if (rc == -1)
			return refuse(p, PS_DISABLED_FAILED, "%s%s%s%s", err,
			    refusal[0] ? " (refused: " : "", refusal, refusal[0] ? ")" : "");
	}
	if (register_records(p, err, sizeof(err)) == -1)
		return refuse(p, PS_DISABLED_FAILED, "%s", err);
	p->state = PS_ENABLED;
	rc = d->start(p->ctx);
	if (left_open(p, "start"))
		rc = -1;
	if (rc != 0)
		return refuse(p, PS_DISABLED_FAILED, "start failed");
	if (!p->embedded)
		log_info("plugin %s %s enabled (%s)", p->name, d->version,
		    d->description ? d->description : "");
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static struct tremplin_plugin *
plugin_new(struct plugins *set, const char *name, int checking)
{
	struct tremplin_plugin *p = calloc(1, sizeof(*p));

	if (p == NULL)
		fatal("calloc");
	p->set = set;
	p->state = PS_LOADING;
	p->checking = checking;
	TAILQ_INIT(&p->hooks);
	tr_strlcpy(p->name, name, sizeof(p->name));
	TAILQ_INSERT_TAIL(&set->list, p, entry);
	return p;
}

struct plugins *
plugins_load(struct server *srv, const struct tremplin_plugin_desc *const *embedded,
    size_t nembedded, int checking, char *err, size_t errlen)
{
	struct plugins *set = calloc(1, sizeof(*set));
	const char *name;
	json_t *section;
	int refused = 0;

	if (set == NULL)
		fatal("calloc");
	if (errlen > 0)
		err[0] = '\0';
	set->srv = srv;
	TAILQ_INIT(&set->list);
	srv->plugins = set;
	if (srv->db != NULL) {
		sqlguard_install(db_handle(srv->db), sql_decide);
		catalogue_load(srv->db);
	}
	/*
	 * The modules in the daemon's image first (the kernel), through the same
	 * calls as plugins: the plugins' records may hang on theirs.
	 */
	for (size_t i = 0; i < nembedded; i++) {
		struct tremplin_plugin *ep = plugin_new(set, embedded[i]->name, checking);
		ep->embedded = 1;
		ep->desc = embedded[i];
		if (start_one(set, ep, NULL) != 0) {
			snprintf(err, errlen, "the %s module: %s", ep->name, ep->last_error);
			return NULL;
		}
	}
	/* In name order: the same configuration loads the same way every time. */
	size_t nkeys = json_object_size(srv->conf->plugins), k = 0;
	const char **keys = calloc(nkeys ? nkeys : 1, sizeof(*keys));
	if (keys == NULL)
		fatal("calloc");
	json_object_foreach (srv->conf->plugins, name, section)
		keys[k++] = name;
	qsort(keys, nkeys, sizeof(*keys), cmp_names);
	for (k = 0; k < nkeys; k++) {
		name = keys[k];
		section = json_object_get(srv->conf->plugins, name);
		struct tremplin_plugin *p = plugin_new(set, name, checking);
		if (strlen(name) >= sizeof(p->name)) {
			refuse(p, PS_DISABLED_CONFIG, "name longer than 32 characters");
			refused++;
			continue;
		}
		if (load_one(set, p, section) == 0) {
			if (checking)
				unload(p);
			continue;
		}
		unload(p);
		if (json_is_false(json_object_get(section, "enabled")))
			continue;
		refused++;
		if (checking) {
			size_t n = strlen(err);
			snprintf(err + n, errlen - n, "%splugin %s: %s", n ? "\n" : "", p->name,
			    p->last_error);
			continue;
		}
		/* Strict: anything the operator asked for and did not get stops the start. */
		if (srv->conf->plugin_strict) {
			snprintf(err, errlen, "plugin %s refused and plugin_strict is set: %s",
			    p->name, p->last_error);
			free(keys);
			return NULL;
		}
	}
	free(keys);
	if (checking && refused > 0)
		return NULL;
	return set;
}

void
plugins_reconfigure(struct plugins *set, const json_t *sections)
{
	struct tremplin_plugin *p;
	char err[512];

	TAILQ_FOREACH (p, &set->list, entry) {
		const json_t *s = json_object_get(sections, p->name);
		if (p->embedded)
			continue;
		if (s == NULL) {
			log_warnx(
			    "plugin %s: no longer in the configuration; it is unloaded at restart",
			    p->name);
			continue;
		}
		if (p->state != PS_ENABLED || p->desc->config == NULL)
			continue;
		json_t *ns = plugin_section(s);
		if (json_equal(ns, p->section)) {
			json_decref(ns);
			continue;
		}
		err[0] = '\0';
		int rc = p->desc->config(p->ctx, ns, err, sizeof(err));
		if (left_open(p, "config") && rc == 0) {
			rc = -1;
			tr_strlcpy(err, "it left a transaction open", sizeof(err));
		}
		if (rc != 0) {
			json_safe_format(p->last_error, sizeof(p->last_error),
			    "new configuration refused, the previous one stays: %s", err);
			log_warnx("plugin %s: %s", p->name, p->last_error);
			json_decref(ns);
			continue;
		}
		json_decref(p->section);
		p->section = ns;
		p->last_error[0] = '\0';
		log_info("plugin %s: configuration reloaded", p->name);
	}
	const char *name;
	json_t *s;
	json_object_foreach ((json_t *)sections, name, s) {
		int known = 0;
		TAILQ_FOREACH (p, &set->list, entry)
			known |= strcmp(p->name, name) == 0;
		if (!known)
			log_warnx(
			    "plugin %s: new in the configuration; it is loaded at restart", name);
	}
}

void
plugins_free(struct plugins *set)
{
	struct tremplin_plugin *p;

	if (set == NULL)
		return;
	catalogue_free();
	while ((p = TAILQ_FIRST(&set->list)) != NULL) {
		TAILQ_REMOVE(&set->list, p, entry);
		if (p->desc != NULL && !p->embedded)
			log_info("plugin %s: stopping", p->name);
		unload(p);
		json_decref(p->section);
		free(p);
	}
	free(set);
}

json_t *
plugins_json(struct plugins *set)
{
	json_t *items = json_array();
	struct tremplin_plugin *p;

	if (set == NULL)
		return items;
	TAILQ_FOREACH (p, &set->list, entry) {
		if (p->embedded)
			continue;
		json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:I}", "name", p->name,
		    "kind", "c", "state", state_names[p->state], "version",
		    p->desc ? p->desc->version : NULL, "description",
		    p->desc ? p->desc->description : NULL, "last_error",
		    p->last_error[0] ? p->last_error : NULL, "failures", (json_int_t)p->failures);
		json_object_set_new(o, "subscriptions",
		    p->set->srv->events ? events_subscriptions_json(p->set->srv->events, p)
		                        : json_array());
		json_array_append_new(items, o);
	}
	return items;
}
