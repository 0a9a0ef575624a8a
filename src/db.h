/* The SQLite store: one file, WAL, synchronous=FULL, per-module migrations. */
#ifndef TREMPLIN_DB_H
#define TREMPLIN_DB_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

struct db;

struct migration {
	int version;
	const char *sql;
};

/*
 * A module's step that was applied earlier under another module's name and
 * version (a step that moved from one module to another).
 */
struct migration_formerly {
	int version; /* this module's */
	const char *module;
	int old_version;
};

/* A module's migrations, in ascending version order. */
struct db_module {
	const char *name;
	const struct migration *migrations;
	size_t nmigrations;
	const void *owner; /* a plugin's: its migrations run with its rights (sqlguard.h) */
	const struct migration_formerly *formerly; /* in any order; may be NULL */
	size_t nformerly;
};

int db_open(const char *path, struct db **out, char *err, size_t errlen);
void db_close(struct db *);
sqlite3 *db_handle(struct db *);
const char *db_path(struct db *);

/*
 * Apply every missing migration of every module in one transaction. A module
 * whose recorded version is newer than the code is refused: nothing changes.
 * A missing migration whose `formerly` the database recorded before
 * db_open is recorded without running (what this connection recorded does
 * not count: a step split in two keeps the old number on one side).
 */
int db_migrate(
    struct db *, const struct db_module *const *mods, size_t nmods, char *err, size_t errlen);
/* The version a module is at in the database (0 when none). */
int db_module_version(struct db *, const char *module);

/*
 * A prepared statement for `sql`, prepared once and kept for the life of the
 * connection, cached by its text (a copy). The caller binds, steps and must
 * call db_done() when finished. NULL (logged) when SQLite refuses the
 * statement.
 */
sqlite3_stmt *db_stmt(struct db *, const char *sql);
void db_done(sqlite3_stmt *);
/*
 * Whether `sql` (static text, as for db_stmt, with one parameter: e.g.
 * "SELECT 1 FROM structures WHERE id = ?") finds a row for id: 1 it does,
 * 0 it does not, -1 SQLite failed (db_fault() tells why).
 */
int db_row_exists(struct db *, const char *sql, int64_t id);

int db_begin(struct db *); /* BEGIN IMMEDIATE */
uint64_t db_txn_serial(struct db *); /* which transaction db_begin began last */
int db_commit(struct db *);
void db_rollback(struct db *);

/*
 * Failures, as the store sees them through db_done(), transactions and
 * migrations, in rising order of weight. DB_FAULT_FULL: SQLITE_FULL, or an
 * I/O error whose errno is ENOSPC or EDQUOT.
 */
enum db_fault { DB_FAULT_NONE, DB_FAULT_OTHER, DB_FAULT_BUSY, DB_FAULT_IO, DB_FAULT_FULL };

/*
 * The weightiest failure since the last db_fault_clear(), with SQLite's
 * words and the errno in why (when why is not NULL). The HTTP layer clears
 * it before each handler, so a handler's failure is told by its cause.
 */
enum db_fault db_fault(struct db *, char *why, size_t whylen);
void db_fault_clear(struct db *);
/*
 * Whether the disk is full: a write failed for lack of space and none has
 * succeeded since. *at (when not NULL): the time of the last such failure.
 * Entering and leaving this state are logged, once each per episode.
 * 0 for a NULL db.
 */
int db_full(struct db *, time_t *at);

/* A cheap check that the database answers: 0 when it does. */
int db_check(struct db *);

/*
 * Copy the whole WAL into the database file and truncate it to zero bytes,
 * so that no old version of a page (erased values) stays in the -wal file.
 * 0 done, 1 readers prevented it (try again later), -1 failed (logged).
 */
int db_checkpoint_truncate(struct db *);
/*
 * Write a consistent copy of the live database to a new file `dst` with the
 * online backup API. Returns 0 on success; err says why otherwise.
 */
int db_backup(struct db *, const char *dst, char *err, size_t errlen);

#include <jansson.h>
/* The current row as a JSON object keyed by column names (integers, text, null). */
json_t *db_row_to_json(sqlite3_stmt *);

#endif
