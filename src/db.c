#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sqlguard.h"
#include "util.h"

#define DB_BUSY_TIMEOUT_MS 2000
#define DB_CHECKPOINT_WAIT_MS 100
#define DB_MAX_STMTS 1024
#define DB_MAX_OPEN 8
/* SQLite's own default, which setting a WAL hook turns off: the hook does it. */
#define DB_AUTOCHECKPOINT_PAGES 1000

struct db {
	sqlite3 *h;
	char *path;
	struct {
		char *sql; /* a copy of the text: the cache's key */
		uint32_t hash;
		sqlite3_stmt *stmt;
	} stmts[DB_MAX_STMTS];
	size_t nstmts;
	enum db_fault fault; /* the weightiest since db_fault_clear() */
	char fault_why[256];
	int full; /* a write failed for lack of space; none succeeded since */
	time_t full_at;
	uint64_t txns; /* transactions begun: tells one from the next */
	int64_t migrated_before; /* schema_migrations' last rowid at open */
};

/* The open databases, so that db_done() finds the one a statement belongs to. */
static struct db *open_dbs[DB_MAX_OPEN];

static struct db *
db_of(sqlite3 *h)
{
	for (size_t i = 0; i < DB_MAX_OPEN; i++)
		if (open_dbs[i] != NULL && open_dbs[i]->h == h)
			return open_dbs[i];
	return NULL;
}

static enum db_fault
classify(int rc, int sys)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return DB_FAULT_FULL;
	case SQLITE_IOERR:
		return sys == ENOSPC || sys == EDQUOT ? DB_FAULT_FULL : DB_FAULT_IO;
	case SQLITE_CANTOPEN:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_READONLY:
		return DB_FAULT_IO;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return DB_FAULT_BUSY;
	default:
		return DB_FAULT_OTHER;
	}
}

/* Note the outcome rc of a statement on db: failures by cause, a full disk once. */
static enum db_fault
observe(struct db *db, int rc)
{
	enum db_fault f;
	char why[sizeof(db->fault_why)];
	int sys;

	if (db == NULL || rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
		return DB_FAULT_NONE;
	sys = sqlite3_system_errno(db->h);
	f = classify(rc, sys);
	if (f >= DB_FAULT_IO && sys != 0)
		snprintf(why, sizeof(why), "%s (SQLite code %d, errno %d: %s)",
		    sqlite3_errmsg(db->h), rc, sys, strerror(sys));
	else
		snprintf(why, sizeof(why), "%s (SQLite code %d)", sqlite3_errmsg(db->h), rc);
	if (f >= db->fault) {
		db->fault = f;
		memcpy(db->fault_why, why, sizeof(why));
	}
	if (f == DB_FAULT_FULL) {
		if (!db->full)
			log_warnx("db: %s: the disk is full: %s; writes are refused until space "
			          "is freed",
			    db->path, why);
		db->full = 1;
		db->full_at = tr_now();
	}
	return f;
}

/* Called by SQLite after each commit that wrote: a write succeeded. */
static int
wal_hook(void *arg, sqlite3 *h, const char *name, int pages)
{
	struct db *db = arg;

	if (db->full) {
		db->full = 0;
		log_info("db: %s: writes succeed again: the disk has space", db->path);
	}
	if (pages >= DB_AUTOCHECKPOINT_PAGES)
		sqlite3_wal_checkpoint(h, name);
	return SQLITE_OK;
}

enum db_fault
db_fault(struct db *db, char *why, size_t whylen)
{
	if (why != NULL)
		tr_strlcpy(why, db->fault == DB_FAULT_NONE ? "no failure" : db->fault_why, whylen);
	return db->fault;
}

void
db_fault_clear(struct db *db)
{
	db->fault = DB_FAULT_NONE;
	db->fault_why[0] = '\0';
}

int
db_full(struct db *db, time_t *at)
{
	if (db == NULL)
		return 0;
	if (at != NULL)
		*at = db->full_at;
	return db->full;
}

static int
exec(struct db *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		observe(db, sqlite3_extended_errcode(db->h));
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
db_open(const char *path, struct db **out, char *err, size_t errlen)
{
	static const char *const pragmas =
	    "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=FULL;" /* a write is acknowledged only once durable */
	    "PRAGMA foreign_keys=ON;"
	    "PRAGMA trusted_schema=OFF;"
	    /* Deleted content is overwritten, not left in free pages: erasure means gone. */
	    "PRAGMA secure_delete=ON;"
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,"
	    " PRIMARY KEY (module, version));";
	struct db *db;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		fatal("calloc");
	db->path = strdup(path);
	if (sqlite3_open_v2(path, &db->h,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
	            SQLITE_OPEN_EXRESCODE,
	        NULL) != SQLITE_OK) {
		snprintf(
		    err, errlen, "%s: %s", path, db->h ? sqlite3_errmsg(db->h) : "out of memory");
		db_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
	char why[512];
	if (exec(db, pragmas, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		db_close(db);
		return -1;
	}
	/* A build without the pragma ignores it silently: check that it took. */
	sqlite3_stmt *st;
	int on = 0;
	if (sqlite3_prepare_v2(db->h, "PRAGMA secure_delete", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			on = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	if (on != 1) {
		snprintf(err, errlen,
		    "%s: this SQLite cannot overwrite deleted content "
		    "(PRAGMA secure_delete)",
		    path);
		db_close(db);
		return -1;
	}
	/* What was recorded before this connection: what a `formerly` may name. */
	if (sqlite3_prepare_v2(db->h, "SELECT coalesce(max(rowid), 0) FROM schema_migrations", -1,
	        &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			db->migrated_before = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	/*
	 * Keep -wal and -shm at close (the WAL emptied: see db_close): a start on
	 * a full disk then finds them and serves reads, where creating a new
	 * -shm would need space it does not have.
	 */
	int persist = 1;
	sqlite3_file_control(db->h, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	for (size_t i = 0; i < DB_MAX_OPEN; i++)
		if (open_dbs[i] == NULL) {
			open_dbs[i] = db;
			break;
		}
	sqlite3_wal_hook(db->h, wal_hook, db);
	*out = db;
	return 0;
}

int
db_checkpoint_truncate(struct db *db)
{
	int rc;

	/*
	 * TRUNCATE waits for readers through the busy handler: wait little, the
	 * loop is blocked meanwhile, and the caller tries again later.
	 */
	sqlite3_busy_timeout(db->h, DB_CHECKPOINT_WAIT_MS);
	rc = sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
	if (rc == SQLITE_OK)
		return 0;
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return 1;
	log_warnx("db: %s: checkpoint: %s", db->path, sqlite3_errstr(rc));
	return -1;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < DB_MAX_OPEN; i++)
		if (open_dbs[i] == db)
			open_dbs[i] = NULL;
	for (size_t i = 0; i < db->nstmts; i++) {
		sqlite3_finalize(db->stmts[i].stmt);
		free(db->stmts[i].sql);
	}
	/* The kept WAL is truncated at close: no old pages stay in it. */
	if (db->h)
		sqlite3_exec(db->h, "PRAGMA journal_size_limit = 0", NULL, NULL, NULL);
	if (db->h)
		sqlite3_close(db->h);
	free(db->path);
	free(db);
}

sqlite3 *
db_handle(struct db *db)
{
	return db->h;
}

const char *
db_path(struct db *db)
{
	return db->path;
}

sqlite3_stmt *
db_stmt(struct db *db, const char *sql)
{
	sqlite3_stmt *st;
	size_t i;

	uint32_t h = 2166136261u;

	/* By the text, never the pointer: a buffer refilled with other SQL is other SQL. */
	for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
		h = (h ^ *p) * 16777619u;
	for (i = 0; i < db->nstmts; i++)
		if (db->stmts[i].hash == h && strcmp(db->stmts[i].sql, sql) == 0)
			return db->stmts[i].stmt;
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		log_warnx("db: cannot prepare \"%s\": %s", sql, sqlite3_errmsg(db->h));
		return NULL;
	}
	if (db->nstmts == DB_MAX_STMTS) {
		/* Only static SQL is cached, so this is a bug to fix, not a load to bear. */
		log_warnx("db: statement cache full (%d): \"%s\"", DB_MAX_STMTS, sql);
		sqlite3_finalize(st);
		return NULL;
	}
	if ((db->stmts[db->nstmts].sql = strdup(sql)) == NULL)
		fatal("strdup");
	db->stmts[db->nstmts].hash = h;
	db->stmts[db->nstmts].stmt = st;
	db->nstmts++;
	return st;
}

void
db_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	/* The step's outcome again: how failures are seen without each caller's care. */
	observe(db_of(sqlite3_db_handle(st)), sqlite3_reset(st));
	sqlite3_clear_bindings(st);
}

int
db_row_exists(struct db *db, const char *sql, int64_t id)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Transaction control is prepared once too: it runs on every write. */
static int
run(struct db *db, const char *sql)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		/* A full disk is logged once per episode, by observe(). */
		if (observe(db, sqlite3_extended_errcode(db->h)) != DB_FAULT_FULL)
			log_warnx("db: %s: %s", sql, sqlite3_errmsg(db->h));
		return -1;
	}
	return 0;
}

int
db_begin(struct db *db)
{
	db->txns++;
	return run(db, "BEGIN IMMEDIATE");
}

uint64_t
db_txn_serial(struct db *db)
{
	return db->txns;
}

int
db_commit(struct db *db)
{
	if (run(db, "COMMIT") == -1) {
		db_rollback(db);
		return -1;
	}
	return 0;
}

void
db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		run(db, "ROLLBACK");
}

int
db_module_version(struct db *db, const char *module)
{
	static const char sql[] =
	    "SELECT coalesce(max(version), 0) FROM schema_migrations WHERE module = ?";
	sqlite3_stmt *st = db_stmt(db, sql);
	int v = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, module, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	db_done(st);
	return v;
}

/*
 * Whether the migration was applied before under another module's name: the
 * database recorded its `formerly` before this connection opened it (rows
 * are never deleted from schema_migrations, so rowids only grow). 1 it was,
 * 0 not, -1 SQLite failed.
 */
static int
applied_formerly(struct db *db, const struct migration_formerly *was)
{
	static const char sql[] = "SELECT 1 FROM schema_migrations"
	                          " WHERE module = ? AND version = ? AND rowid <= ?";
	sqlite3_stmt *st;
	int rc;

	if (was == NULL)
		return 0;
	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, was->module, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, was->old_version);
	sqlite3_bind_int64(st, 3, db->migrated_before);
	rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Whether any row refers to a row that does not exist (or the check fails). */
static int
foreign_keys_broken(struct db *db)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->h, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK)
		return 1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc != SQLITE_DONE;
}

/* A migration that failed for lack of space says so first: the fix is the operator's. */
static void
full_hint(struct db *db, char *err, size_t errlen)
{
	char was[1024];

	if (db->fault != DB_FAULT_FULL)
		return;
	tr_strlcpy(was, err, sizeof(was));
	snprintf(err, errlen,
	    "%s: the disk is full and migrations are pending: nothing was changed; free space, "
	    "then start again (%s)",
	    db->path, was);
}

int
db_migrate(
    struct db *db, const struct db_module *const *mods, size_t nmods, char *err, size_t errlen)
{
	static const char ins[] =
	    "INSERT INTO schema_migrations (module, version, applied_at) VALUES (?, ?, ?)";
	char why[512], now[32];

	tr_rfc3339(tr_now(), now, sizeof(now));
	db_fault_clear(db);
	/*
	 * Foreign keys are off while migrating, so that a table can be rebuilt
	 * (create, copy, drop, rename: SQLite's way to change a column) without
	 * its DROP cascading to the rows that refer to it; they are checked
	 * before the commit instead. The pragma is a no-op inside a transaction.
	 */
	if (exec(db, "PRAGMA foreign_keys = OFF", why, sizeof(why)) == -1 || db_begin(db) == -1) {
		snprintf(err, errlen, "%s: cannot start the migration: %s", db->path,
		    sqlite3_errmsg(db->h));
		exec(db, "PRAGMA foreign_keys = ON", why, sizeof(why));
		return -1;
	}
	for (size_t m = 0; m < nmods; m++) {
		const struct db_module *mod = mods[m];
		int have = db_module_version(db, mod->name);
		int latest = mod->nmigrations ? mod->migrations[mod->nmigrations - 1].version : 0;

		if (have < 0) {
			snprintf(err, errlen, "%s: cannot read the schema version of module %s",
			    db->path, mod->name);
			goto fail;
		}
		if (have > latest) {
			snprintf(err, errlen,
			    "%s: the schema of module %s is at version %d, newer than this "
			    "tremplind "
			    "knows (%d): refusing to run an older daemon on a newer database",
			    db->path, mod->name, have, latest);
			goto fail;
		}
		for (size_t i = 0; i < mod->nmigrations; i++) {
			const struct migration *mg = &mod->migrations[i];
			if (mg->version <= have)
				continue;
			const struct migration_formerly *was = NULL;
			for (size_t k = 0; k < mod->nformerly; k++)
				if (mod->formerly[k].version == mg->version)
					was = &mod->formerly[k];
			int before = applied_formerly(db, was), bad = 0;
			if (before == -1) {
				snprintf(err, errlen,
				    "%s: cannot read the schema version of module %s", db->path,
				    was->module);
				goto fail;
			}
			if (!before) {
				/* A plugin's migration runs with the plugin's rights (sqlguard.h). */
				const void *prev = sqlguard_enter(mod->owner);
				bad = exec(db, mg->sql, why, sizeof(why)) == -1;
				sqlguard_leave(prev);
			}
			if (bad) {
				snprintf(err, errlen, "%s: migration %s %d failed: %s", db->path,
				    mod->name, mg->version, why);
				goto fail;
			}
			sqlite3_stmt *st = db_stmt(db, ins);
			if (st == NULL) {
				snprintf(err, errlen, "%s: cannot record migrations", db->path);
				goto fail;
			}
			sqlite3_bind_text(st, 1, mod->name, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 2, mg->version);
			sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
			int rc = sqlite3_step(st);
			db_done(st);
			if (rc != SQLITE_DONE) {
				snprintf(err, errlen, "%s: cannot record migration %s %d: %s",
				    db->path, mod->name, mg->version, sqlite3_errmsg(db->h));
				goto fail;
			}
			if (before)
				log_info("db: migration %s %d was applied as %s %d", mod->name,
				    mg->version, was->module, was->old_version);
			else
				log_info("db: applied migration %s %d", mod->name, mg->version);
		}
	}
	if (foreign_keys_broken(db)) {
		snprintf(err, errlen, "%s: the migrations leave rows referring to missing ones",
		    db->path);
		goto fail;
	}
	if (db_commit(db) == -1) {
		snprintf(
		    err, errlen, "%s: cannot commit the migrations: %s", db->path, db->fault_why);
		exec(db, "PRAGMA foreign_keys = ON", why, sizeof(why));
		full_hint(db, err, errlen);
		return -1;
	}
	return exec(db, "PRAGMA foreign_keys = ON", err, errlen);
fail:
	db_rollback(db);
	exec(db, "PRAGMA foreign_keys = ON", why, sizeof(why));
	full_hint(db, err, errlen);
	return -1;
}

int
db_check(struct db *db)
{
	static const char sql[] = "SELECT count(*) FROM schema_migrations";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
db_backup(struct db *db, const char *dst, char *err, size_t errlen)
{
	sqlite3 *out = NULL;
	sqlite3_backup *bk;
	int rc;

	if (sqlite3_open_v2(dst, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", dst, out ? sqlite3_errmsg(out) : "out of memory");
		sqlite3_close(out);
		return -1;
	}
	if ((bk = sqlite3_backup_init(out, "main", db->h, "main")) == NULL) {
		snprintf(err, errlen, "backup: %s", sqlite3_errmsg(out));
		sqlite3_close(out);
		return -1;
	}
	/*
	 * One step copies the whole file under one read transaction: the copy is
	 * consistent, and writers are not blocked in WAL mode.
	 */
	rc = sqlite3_backup_step(bk, -1);
	sqlite3_backup_finish(bk);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "backup: %s", sqlite3_errstr(rc));
		sqlite3_close(out);
		return -1;
	}
	/* The copy is a standalone file: no WAL beside it. */
	sqlite3_exec(out, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
	if (sqlite3_close(out) != SQLITE_OK) {
		snprintf(err, errlen, "backup: cannot close %s", dst);
		return -1;
	}
	return 0;
}

json_t *
db_row_to_json(sqlite3_stmt *st)
{
	json_t *o = json_object();
	int n = sqlite3_column_count(st);

	for (int i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(st, i);
		json_t *v;
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			v = json_integer(sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			v = json_real(sqlite3_column_double(st, i));
			break;
		case SQLITE_NULL:
			v = json_null();
			break;
		default:
			v = json_stringn((const char *)sqlite3_column_text(st, i),
			    (size_t)sqlite3_column_bytes(st, i));
			if (v == NULL)
				v = json_null();
		}
		json_object_set_new(o, name, v);
	}
	return o;
}
