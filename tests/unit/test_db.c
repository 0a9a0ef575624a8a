/* db.c: the SQLite store, its pragmas, per-module migrations, statements, backups. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "util.h"
#include "handlers.h"
#include "kernel/kernel.h"
#include "log.h"

struct fixture {
	char dir[64];
	char path[PATH_MAX];
	struct db *db;
};

static char err[1024];

static const struct migration notes_migrations[] = {
	{ 1, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);" },
	{ 2,
	    "ALTER TABLE notes ADD COLUMN author TEXT;"
	    "CREATE INDEX notes_author ON notes (author);" },
};
static const struct db_module notes_module = {
	.name = "notes", .migrations = notes_migrations, .nmigrations = 2
};
/* The same module as an older daemon knows it. */
static const struct db_module notes_module_v1 = {
	.name = "notes", .migrations = notes_migrations, .nmigrations = 1
};

static const struct migration tags_migrations[] = {
	{ 1, "CREATE TABLE tags (name TEXT PRIMARY KEY);" },
	{ 3, "CREATE TABLE tag_links (tag TEXT NOT NULL REFERENCES tags (name), note INTEGER);" },
};
static const struct db_module tags_module = {
	.name = "tags", .migrations = tags_migrations, .nmigrations = 2
};

/* Version 2 creates a table, then fails on its second statement. */
static const struct migration broken_migrations[] = {
	{ 1, "CREATE TABLE broken_a (x INTEGER);" },
	{ 2, "CREATE TABLE broken_b (y INTEGER); INSERT INTO no_such_table VALUES (1);" },
};
static const struct db_module broken_module = {
	.name = "broken", .migrations = broken_migrations, .nmigrations = 2
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_db.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	if (db_open(f->path, &f->db, err, sizeof(err)) != 0) {
		print_error("db_open: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d;
	struct dirent *e;
	char p[PATH_MAX + 256];

	db_close(f->db);
	if ((d = opendir(f->dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* The single integer a query returns; fails the test otherwise. */
static int64_t
query_int(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare %s: %s", sql, sqlite3_errmsg(h));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The single text a query returns, copied into buf. */
static const char *
query_text(sqlite3 *h, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare %s: %s", sql, sqlite3_errmsg(h));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

static int
table_exists(sqlite3 *h, const char *name)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '%s'", name);
	return (int)query_int(h, sql);
}

static void
exec_ok(sqlite3 *h, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static void
migrate_ok(struct db *db, const struct db_module *const *mods, size_t n)
{
	if (db_migrate(db, mods, n, err, sizeof(err)) != 0)
		fail_msg("db_migrate: %s", err);
}

static void
test_db__open__wal_synchronous_full_foreign_keys_on(void **state)
{
	struct fixture *f = *state;
	sqlite3 *h = db_handle(f->db);
	char buf[64], wal[PATH_MAX + 8];
	struct stat st;

	assert_string_equal(query_text(h, "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
	assert_int_equal(query_int(h, "PRAGMA synchronous"), 2); /* FULL */
	assert_int_equal(query_int(h, "PRAGMA foreign_keys"), 1);
	assert_int_equal(query_int(h, "PRAGMA trusted_schema"), 0);
	assert_int_equal(query_int(h, "PRAGMA secure_delete"), 1);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &st), 0);
	assert_string_equal(db_path(f->db), f->path);
	assert_int_equal(table_exists(h, "schema_migrations"), 1);
	assert_int_equal(db_check(f->db), 0);
}

static void
test_db__open_in_missing_directory__error_names_path(void **state)
{
	struct db *db = (struct db *)0x1;

	(void)state;
	assert_int_equal(db_open("/nonexistent/dir/t.db", &db, err, sizeof(err)), -1);
	assert_null(db);
	assert_true(strncmp(err, "/nonexistent/dir/t.db: ", 23) == 0);
}

static void
test_db__migrate__applies_each_version_once_and_records_it(void **state)
{
	struct fixture *f = *state;
	const struct db_module *mods[] = { &notes_module };
	sqlite3 *h = db_handle(f->db);
	char buf[64];

	assert_int_equal(db_module_version(f->db, "notes"), 0);
	migrate_ok(f->db, mods, 1);
	assert_int_equal(table_exists(h, "notes"), 1);
	/* Version 2 ran too: the column and the index exist. */
	exec_ok(h, "INSERT INTO notes (body, author) VALUES ('hello', 'alice')");
	assert_int_equal(
	    query_int(h, "SELECT count(*) FROM sqlite_schema WHERE name = 'notes_author'"), 1);
	assert_int_equal(db_module_version(f->db, "notes"), 2);
	assert_int_equal(query_int(h, "SELECT count(*) FROM schema_migrations"), 2);
	assert_int_equal(query_int(h,
	                     "SELECT count(*) FROM schema_migrations WHERE module = 'notes' AND "
	                     "version IN (1, 2)"),
	    2);
	/* applied_at is an RFC 3339 UTC time. */
	query_text(
	    h, "SELECT applied_at FROM schema_migrations WHERE version = 1", buf, sizeof(buf));
	assert_int_equal(strlen(buf), 20);
	assert_int_equal(buf[10], 'T');
	assert_int_equal(buf[19], 'Z');
}

static void
test_db__migrate_again__no_op_rows_kept(void **state)
{
	struct fixture *f = *state;
	const struct db_module *mods[] = { &notes_module };
	sqlite3 *h = db_handle(f->db);

	migrate_ok(f->db, mods, 1);
	exec_ok(h, "INSERT INTO notes (body) VALUES ('kept')");
	migrate_ok(f->db, mods, 1);
	migrate_ok(f->db, mods, 1);
	assert_int_equal(query_int(h, "SELECT count(*) FROM schema_migrations"), 2);
	assert_int_equal(query_int(h, "SELECT count(*) FROM notes WHERE body = 'kept'"), 1);
	assert_int_equal(db_module_version(f->db, "notes"), 2);
}

static void
test_db__migrate_after_reopen__no_op(void **state)
{
	struct fixture *f = *state;
	const struct db_module *mods[] = { &notes_module };

	migrate_ok(f->db, mods, 1);
	db_close(f->db);
	f->db = NULL;
	assert_int_equal(db_open(f->path, &f->db, err, sizeof(err)), 0);
	migrate_ok(f->db, mods, 1);
	assert_int_equal(query_int(db_handle(f->db), "SELECT count(*) FROM schema_migrations"), 2);
}

static void
test_db__second_module__own_versions_recorded_apart(void **state)
{
	struct fixture *f = *state;
	const struct db_module *first[] = { &notes_module_v1 };
	const struct db_module *both[] = { &notes_module, &tags_module };
	sqlite3 *h = db_handle(f->db);

	migrate_ok(f->db, first, 1);
	assert_int_equal(db_module_version(f->db, "notes"), 1);
	assert_int_equal(db_module_version(f->db, "tags"), 0);
	migrate_ok(f->db, both, 2);
	assert_int_equal(db_module_version(f->db, "notes"), 2);
	assert_int_equal(db_module_version(f->db, "tags"), 3);
	assert_int_equal(
	    query_int(h, "SELECT count(*) FROM schema_migrations WHERE module = 'tags'"), 2);
	assert_int_equal(query_int(h, "SELECT count(*) FROM schema_migrations"), 4);
}

static void
test_db__second_module__rows_per_module_and_version(void **state)
{
	struct fixture *f = *state;
	const struct db_module *both[] = { &notes_module, &tags_module };
	sqlite3 *h = db_handle(f->db);
	char buf[64];

	migrate_ok(f->db, both, 2);
	assert_string_equal(query_text(h,
	                        "SELECT group_concat(module || ':' || version, ' ') FROM (SELECT "
	                        "module, version FROM schema_migrations ORDER BY module, version)",
	                        buf, sizeof(buf)),
	    "notes:1 notes:2 tags:1 tags:3");
	assert_int_equal(table_exists(h, "tags"), 1);
	assert_int_equal(table_exists(h, "tag_links"), 1);
	/* foreign_keys=ON is in force for the module's tables. */
	assert_int_not_equal(
	    sqlite3_exec(h, "INSERT INTO tag_links VALUES ('none', 1)", NULL, NULL, NULL),
	    SQLITE_OK);
}

static void
test_db__database_newer_than_code__refused_nothing_changes(void **state)
{
	struct fixture *f = *state;
	const struct db_module *now[] = { &notes_module };
	/* tags would be applied first; the refusal must take it back too. */
	const struct db_module *older[] = { &tags_module, &notes_module_v1 };
	sqlite3 *h = db_handle(f->db);
	char want[PATH_MAX + 64];

	migrate_ok(f->db, now, 1);
	exec_ok(h, "INSERT INTO notes (body, author) VALUES ('data', 'bob')");
	assert_int_equal(db_migrate(f->db, older, 2, err, sizeof(err)), -1);
	snprintf(
	    want, sizeof(want), "%s: the schema of module notes is at version 2, newer", f->path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("unexpected error: %s", err);
	assert_non_null(strstr(err, "(1)"));
	assert_int_equal(table_exists(h, "tags"), 0);
	assert_int_equal(query_int(h, "SELECT count(*) FROM schema_migrations"), 2);
	assert_int_equal(
	    query_int(h, "SELECT count(*) FROM schema_migrations WHERE module = 'tags'"), 0);
	assert_int_equal(
	    query_int(h, "SELECT count(*) FROM notes WHERE body = 'data' AND author = 'bob'"), 1);
	assert_int_equal(db_module_version(f->db, "notes"), 2);
	/* The connection is usable afterwards: no transaction left open. */
	assert_int_equal(sqlite3_get_autocommit(h), 1);
}

static void
test_db__failing_migration__everything_rolled_back(void **state)
{
	struct fixture *f = *state;
	const struct db_module *mods[] = { &notes_module, &broken_module };
	sqlite3 *h = db_handle(f->db);
	char want[PATH_MAX + 64];

	assert_int_equal(db_migrate(f->db, mods, 2, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: migration broken 2 failed: ", f->path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("unexpected error: %s", err);
	assert_non_null(strstr(err, "no_such_table"));
	assert_int_equal(table_exists(h, "notes"), 0);
	assert_int_equal(table_exists(h, "broken_a"), 0);
	assert_int_equal(table_exists(h, "broken_b"), 0);
	assert_int_equal(query_int(h, "SELECT count(*) FROM schema_migrations"), 0);
	assert_int_equal(sqlite3_get_autocommit(h), 1);
}

static void
test_db__stmt_same_sql__prepared_once_same_pointer(void **state)
{
	struct fixture *f = *state;
	static const char sql[] = "SELECT count(*) FROM schema_migrations WHERE module = ?";
	char copy[sizeof(sql)];
	sqlite3 *h = db_handle(f->db);
	sqlite3_stmt *a, *b, *c, *p;
	int n = 0;

	memcpy(copy, sql, sizeof(sql));
	a = db_stmt(f->db, sql);
	assert_non_null(a);
	b = db_stmt(f->db, sql);
	c = db_stmt(f->db, copy); /* same text at another address */
	assert_ptr_equal(a, b);
	assert_ptr_equal(a, c);
	for (p = sqlite3_next_stmt(h, NULL); p != NULL; p = sqlite3_next_stmt(h, p))
		n++;
	assert_int_equal(n, 1);
	db_done(a);
}

static void
test_db__done__statement_reset_and_unbound(void **state)
{
	struct fixture *f = *state;
	static const char sql[] = "SELECT ?1";
	sqlite3_stmt *st = db_stmt(f->db, sql);

	assert_non_null(st);
	sqlite3_bind_text(st, 1, "bound", -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "bound");
	db_done(st);
	assert_int_equal(sqlite3_stmt_busy(st), 0);
	assert_ptr_equal(db_stmt(f->db, sql), st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(st, 0), SQLITE_NULL);
	db_done(st);
}

static void
test_db__stmt_invalid_sql__null(void **state)
{
	struct fixture *f = *state;

	/* SQLite's refusal is logged on stderr: the warning below is expected. */
	assert_null(db_stmt(f->db, "SELECT * FROM no_such_table"));
	assert_null(db_stmt(f->db, "SELECT * FROM no_such_table")); /* not cached either */
}

static void
test_db__begin_rollback__write_discarded(void **state)
{
	struct fixture *f = *state;
	const struct db_module *mods[] = { &notes_module };
	sqlite3 *h = db_handle(f->db);

	migrate_ok(f->db, mods, 1);
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(sqlite3_get_autocommit(h), 0);
	exec_ok(h, "INSERT INTO notes (body) VALUES ('draft')");
	assert_int_equal(query_int(h, "SELECT count(*) FROM notes"), 1);
	db_rollback(f->db);
	assert_int_equal(sqlite3_get_autocommit(h), 1);
	assert_int_equal(query_int(h, "SELECT count(*) FROM notes"), 0);
	/* Rolling back with no transaction open is harmless. */
	db_rollback(f->db);
}

static void
test_db__begin_commit__write_kept_after_reopen(void **state)
{
	struct fixture *f = *state;
	const struct db_module *mods[] = { &notes_module };

	migrate_ok(f->db, mods, 1);
	assert_int_equal(db_begin(f->db), 0);
	exec_ok(db_handle(f->db), "INSERT INTO notes (body) VALUES ('final')");
	assert_int_equal(db_commit(f->db), 0);
	db_close(f->db);
	f->db = NULL;
	assert_int_equal(db_open(f->path, &f->db, err, sizeof(err)), 0);
	assert_int_equal(
	    query_int(db_handle(f->db), "SELECT count(*) FROM notes WHERE body = 'final'"), 1);
}

static void
test_db__begin_while_another_connection_writes__busy_refused(void **state)
{
	struct fixture *f = *state;
	sqlite3 *other;

	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	sqlite3_busy_timeout(other, 0);
	assert_int_equal(db_begin(f->db), 0);
	/* BEGIN IMMEDIATE took the write lock at once. */
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_BUSY);
	db_rollback(f->db);
	assert_int_equal(
	    sqlite3_exec(other, "BEGIN IMMEDIATE; ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
}

static void
test_db__backup__copy_opens_passes_integrity_check_holds_rows(void **state)
{
	struct fixture *f = *state;
	const struct db_module *mods[] = { &notes_module, &tags_module };
	char dst[PATH_MAX + 16], buf[64];
	sqlite3 *h = db_handle(f->db), *copy;

	migrate_ok(f->db, mods, 2);
	exec_ok(h,
	    "INSERT INTO notes (body, author) VALUES ('one', 'a'), ('two', 'b'), "
	    "('three', 'c')");
	snprintf(dst, sizeof(dst), "%s/backup.db", f->dir);
	if (db_backup(f->db, dst, err, sizeof(err)) != 0)
		fail_msg("db_backup: %s", err);
	assert_int_equal(sqlite3_open_v2(dst, &copy, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_string_equal(query_text(copy, "PRAGMA integrity_check", buf, sizeof(buf)), "ok");
	assert_int_equal(query_int(copy, "SELECT count(*) FROM notes"), 3);
	assert_string_equal(
	    query_text(copy,
	        "SELECT group_concat(body, ',') FROM (SELECT body FROM notes ORDER BY id)", buf,
	        sizeof(buf)),
	    "one,two,three");
	assert_int_equal(query_int(copy, "SELECT count(*) FROM schema_migrations"), 4);
	/* A standalone file, not a WAL database needing its -wal beside it. */
	assert_string_equal(query_text(copy, "PRAGMA journal_mode", buf, sizeof(buf)), "delete");
	sqlite3_close(copy);
	/* The live database is untouched and still writable. */
	exec_ok(h, "INSERT INTO notes (body) VALUES ('four')");
	assert_int_equal(query_int(h, "SELECT count(*) FROM notes"), 4);
}

static void
test_db__backup_to_unwritable_path__error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(db_backup(f->db, "/nonexistent/dir/backup.db", err, sizeof(err)), -1);
	assert_true(strncmp(err, "/nonexistent/dir/backup.db: ", 28) == 0);
}

static void
test_db__row_to_json__columns_by_name_with_types(void **state)
{
	struct fixture *f = *state;
	sqlite3_stmt *st;
	json_t *o;

	assert_int_equal(sqlite3_prepare_v2(db_handle(f->db),
	                     "SELECT 7 AS n, 'été' AS s, NULL AS z, 1.5 AS r", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	o = db_row_to_json(st);
	assert_int_equal(json_object_size(o), 4);
	assert_int_equal(json_integer_value(json_object_get(o, "n")), 7);
	assert_true(json_is_integer(json_object_get(o, "n")));
	assert_string_equal(json_string_value(json_object_get(o, "s")), "été");
	assert_true(json_is_null(json_object_get(o, "z")));
	assert_true(json_real_value(json_object_get(o, "r")) == 1.5);
	json_decref(o);
	sqlite3_finalize(st);
}

/* The platform's schema, then the kernel's up to `version`. */
static void
migrate_kernel_upto(struct db *db, int version)
{
	struct db_module upto = *kernel_db_module();
	const struct db_module *mods[] = { &core_module, &upto };

	upto.nmigrations = 0;
	while (upto.nmigrations < kernel_db_module()->nmigrations &&
	    kernel_db_module()->migrations[upto.nmigrations].version <= version)
		upto.nmigrations++;
	migrate_ok(db, mods, 2);
}

/*
 * Kernel migration 4 (core 7 before) rebuilds the employees table
 * (AUTOINCREMENT): a rebuild must not cascade its DROP to the rows that
 * refer to it, and afterwards the id of an erased person is not given again.
 */
static void
test_db__kernel_rebuild_of_employees__children_kept_erased_id_not_reused(void **state)
{
	struct fixture *f = *state;
	sqlite3 *h = db_handle(f->db);

	migrate_kernel_upto(f->db, 3);
	exec_ok(h,
	    "INSERT INTO structures (id, name, siret, kind, created_at, updated_at)"
	    " VALUES (1, 'Atelier', '73282932000074', 'ACI', 'x', 'x');"
	    "INSERT INTO employees (id, structure_id, first_name, last_name, birth_date,"
	    " prescriber_kind, status, last_contact_at, created_at, updated_at)"
	    " VALUES (1, 1, 'A', 'B', '1990-01-01', 'spip', 'in_pathway', 'x', 'x', 'x'),"
	    " (2, 1, 'C', 'D', '1991-01-01', 'spip', 'in_pathway', 'x', 'x', 'x');"
	    "INSERT INTO notes (employee_id, text, created_at) VALUES (1, 'n1', 'x'), (2, 'n2', "
	    "'x');");

	migrate_kernel_upto(f->db, 1000);
	assert_int_equal(query_int(h, "SELECT count(*) FROM notes"), 2);
	assert_int_equal(query_int(h, "SELECT count(*) FROM employees"), 2);
	assert_int_equal(query_int(h, "PRAGMA foreign_keys"), 1);

	exec_ok(h, "DELETE FROM employees WHERE id = 2");
	assert_int_equal(query_int(h, "SELECT count(*) FROM notes"), 1); /* cascade is back */
	exec_ok(h,
	    "INSERT INTO employees (structure_id, first_name, last_name, birth_date,"
	    " prescriber_kind, status, last_contact_at, created_at, updated_at)"
	    " VALUES (1, 'E', 'F', '1992-01-01', 'spip', 'in_pathway', 'x', 'x', 'x')");
	assert_int_equal(query_int(h, "SELECT max(id) FROM employees"), 3);
}

/*
 * A step that moved from module "old" (its version 2) to module "new": a
 * database that recorded old 2 before it was opened records new 1 without
 * running it; a fresh one runs it, even though "old" keeps a step of its own
 * numbered 2 (a split step) that this connection recorded first.
 */
static const struct migration old_before[] = {
	{ 1, "CREATE TABLE old_a (x);" },
	{ 2, "CREATE TABLE old_b (x); CREATE TABLE moved (x);" },
};
static const struct migration old_after[] = {
	{ 1, "CREATE TABLE old_a (x);" },
	{ 2, "CREATE TABLE old_b (x);" }, /* the part of step 2 that stayed */
};
static const struct migration new_steps[] = {
	{ 1, "CREATE TABLE moved (x);" },
	{ 2, "CREATE TABLE new_c (x);" },
};
static const struct migration_formerly new_formerly[] = { { 1, "old", 2 } };

static void
test_db__formerly__recorded_before_open_adopted_else_run(void **state)
{
	struct fixture *f = *state;
	const struct db_module before = {
		.name = "old", .migrations = old_before, .nmigrations = TR_NELEM(old_before)
	};
	const struct db_module after = {
		.name = "old", .migrations = old_after, .nmigrations = TR_NELEM(old_after)
	};
	const struct db_module moved = { .name = "new",
		.migrations = new_steps,
		.nmigrations = TR_NELEM(new_steps),
		.formerly = new_formerly,
		.nformerly = TR_NELEM(new_formerly) };
	const struct db_module *mods_before[] = { &before };
	const struct db_module *mods_after[] = { &after, &moved };
	const struct db_module *only_after[] = { &after };
	const struct db_module *only_moved[] = { &moved };
	sqlite3 *h;

	/* A fresh database, one module at a time as the daemon does: "moved" is made once. */
	migrate_ok(f->db, only_after, 1);
	migrate_ok(f->db, only_moved, 1);
	h = db_handle(f->db);
	assert_int_equal(table_exists(h, "moved"), 1);
	assert_int_equal(table_exists(h, "new_c"), 1);
	assert_int_equal(
	    query_int(h, "SELECT count(*) FROM schema_migrations WHERE module = 'new'"), 2);

	/* A database of the old code: reopened, "new" 1 is recorded without running. */
	exec_ok(h,
	    "DROP TABLE old_a; DROP TABLE old_b; DROP TABLE moved; DROP TABLE new_c;"
	    "DELETE FROM schema_migrations;");
	migrate_ok(f->db, mods_before, 1);
	exec_ok(h, "INSERT INTO moved VALUES ('kept')");
	db_close(f->db);
	if (db_open(f->path, &f->db, err, sizeof(err)) != 0)
		fail_msg("db_open: %s", err);
	h = db_handle(f->db);
	migrate_ok(f->db, mods_after, 2); /* CREATE TABLE moved would fail: it exists */
	assert_int_equal(query_int(h, "SELECT count(*) FROM moved WHERE x = 'kept'"), 1);
	assert_int_equal(table_exists(h, "new_c"), 1);
	assert_int_equal(
	    query_int(h, "SELECT count(*) FROM schema_migrations WHERE module = 'new'"), 2);
	assert_int_equal(db_module_version(f->db, "old"), 2);
}

/* Every object of the schema as one text (rootpages left out), to compare two databases. */
static char *
schema_text(sqlite3 *h)
{
	static const char sql[] = "SELECT type || ' ' || name || ' ' || tbl_name || ': ' ||"
	                          " coalesce(sql, '') FROM sqlite_schema ORDER BY type, name";
	size_t cap = 1 << 16, len = 0;
	char *out = calloc(1, cap);
	sqlite3_stmt *st;

	assert_non_null(out);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare: %s", sqlite3_errmsg(h));
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *row = (const char *)sqlite3_column_text(st, 0);
		size_t n = strlen(row);
		while (len + n + 2 > cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		memcpy(out + len, row, n);
		len += n;
		out[len++] = '\n';
		out[len] = '\0';
	}
	sqlite3_finalize(st);
	return out;
}

/*
 * A database made before the kernel's migrations left the core module
 * (fixtures: core migrations 1 to `upto`, by main at 3a1b053), upgraded,
 * ends with the schema of a fresh one, its rows kept, the moved steps
 * recorded under the kernel and the core's numbers unchanged.
 */
static void
upgrade_from_fixture(struct fixture *f, int upto)
{
	const struct db_module *mods[] = { &core_module, kernel_db_module() };
	const char *top = getenv("TOP_SRCDIR");
	char path[PATH_MAX], fresh[PATH_MAX + 8], *dump, *a, *b;
	struct db *fdb;
	sqlite3 *h;
	FILE *fp;
	long size;

	snprintf(path, sizeof(path), "%s/tests/unit/fixtures/core%d-before-kernel-split.sql",
	    top ? top : "../..", upto);
	assert_non_null(fp = fopen(path, "r"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	assert_true((size = ftell(fp)) > 0);
	rewind(fp);
	assert_non_null(dump = calloc(1, (size_t)size + 1));
	assert_int_equal(fread(dump, 1, (size_t)size, fp), (size_t)size);
	fclose(fp);

	/* The old database, loaded with the setup's connection closed, then reopened. */
	db_close(f->db);
	unlink(f->path);
	assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
	exec_ok(h, dump);
	sqlite3_close(h);
	free(dump);
	if (db_open(f->path, &f->db, err, sizeof(err)) != 0)
		fail_msg("db_open: %s", err);
	/* Each module in a call of its own, the platform's first, as the daemon does. */
	migrate_ok(f->db, mods, 1);
	migrate_ok(f->db, mods + 1, 1);
	h = db_handle(f->db);

	snprintf(fresh, sizeof(fresh), "%s/fresh.db", f->dir);
	if (db_open(fresh, &fdb, err, sizeof(err)) != 0)
		fail_msg("db_open: %s", err);
	migrate_ok(fdb, mods, 1);
	migrate_ok(fdb, mods + 1, 1);
	a = schema_text(h);
	b = schema_text(db_handle(fdb));
	assert_string_equal(a, b);
	free(a);
	free(b);
	db_close(fdb);
	/* Every kernel step recorded once; the core's numbers as they were. */
	assert_int_equal(
	    query_int(h, "SELECT count(*) FROM schema_migrations WHERE module = 'kernel'"),
	    (int64_t)nkernel_migrations);
	assert_int_equal(db_module_version(f->db, "core"),
	    core_module.migrations[core_module.nmigrations - 1].version);
	assert_int_equal(db_module_version(f->db, "kernel"), (int)nkernel_migrations);

	/* The rows are there; the ids never given again, kernel 5 ran once. */
	assert_int_equal(query_int(h,
	                     "SELECT count(*) FROM employees WHERE last_name = 'Bernard'"
	                     " AND status_reason IS NULL"),
	    1);
	assert_int_equal(query_int(h, "SELECT count(*) FROM goals WHERE shared_with_eti = 0"), 1);
	assert_int_equal(query_int(h, "SELECT count(*) FROM outbox WHERE alert_id IS NULL"), 1);
	exec_ok(h, "INSERT INTO notes (employee_id, text, created_at) VALUES (1, 'n', 'x')");
	/*
	 * The fixtures journal note/5 after the notes' sequence was seeded (at
	 * 2): at core 7, kernel 5 seeds it past 5; at core 13 it is not run again.
	 */
	assert_int_equal(query_int(h, "SELECT max(id) FROM notes"), upto == 7 ? 6 : 3);
	assert_int_equal(query_int(h, "PRAGMA foreign_keys"), 1);
}

static void
test_db__kernel_split__database_at_core_13_upgraded_like_a_fresh_one(void **state)
{
	upgrade_from_fixture(*state, 13);
}

/* Core 8 is recorded by the platform before the kernel's turn: kernel 5 must still run. */
static void
test_db__kernel_split__database_at_core_7_upgraded_like_a_fresh_one(void **state)
{
	upgrade_from_fixture(*state, 7);
}

static void
test_db__checkpoint_truncate__wal_emptied_or_busy_while_a_reader_holds_it(void **state)
{
	struct fixture *f = *state;
	sqlite3 *h = db_handle(f->db), *reader = NULL;
	char wal[PATH_MAX + 8];
	struct stat st;

	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	exec_ok(h, "CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('secret');");
	assert_int_equal(stat(wal, &st), 0);
	assert_true(st.st_size > 0);
	/* A reader in a transaction that began before the last write holds the WAL. */
	assert_int_equal(sqlite3_open(f->path, &reader), SQLITE_OK);
	exec_ok(reader, "BEGIN; SELECT count(*) FROM t;");
	exec_ok(h, "DELETE FROM t");
	assert_int_equal(db_checkpoint_truncate(f->db), 1);
	exec_ok(reader, "COMMIT");
	sqlite3_close(reader);
	assert_int_equal(db_checkpoint_truncate(f->db), 0);
	assert_int_equal(stat(wal, &st), 0);
	assert_int_equal(st.st_size, 0);
}

/*
 * Kernel migration 5 (and core 8 for the outbox; both were core 8) rebuilds
 * the tables of a person's records the same way: rows and cascades kept,
 * and no id given again, not even one the journal names though its row was
 * deleted before the migration ran.
 */
static void
test_db__kernel_rebuild_of_records__ids_never_reused_even_those_already_gone(void **state)
{
	static const char *const tables[] = { "contracts", "contract_renewals",
		"contract_suspensions", "ai_placements", "passes", "pass_suspensions",
		"pass_prolongations", "welcome_items", "barriers", "observations", "goals",
		"reviews", "notes", "exits", "outbox" };
	struct fixture *f = *state;
	sqlite3 *h = db_handle(f->db);
	char sql[256];

	migrate_kernel_upto(f->db, 4);
	exec_ok(h,
	    "INSERT INTO structures (id, name, siret, kind, created_at, updated_at)"
	    " VALUES (1, 'Atelier', '73282932000074', 'ACI', 'x', 'x');"
	    "INSERT INTO employees (id, structure_id, first_name, last_name, birth_date,"
	    " prescriber_kind, status, last_contact_at, created_at, updated_at)"
	    " VALUES (1, 1, 'A', 'B', '1990-01-01', 'spip', 'in_pathway', 'x', 'x', 'x'),"
	    " (2, 1, 'C', 'D', '1991-01-01', 'spip', 'in_pathway', 'x', 'x', 'x');"
	    "INSERT INTO barriers (id, employee_id, category, severity, status, created_at,"
	    " updated_at) VALUES (1, 1, 'housing', 1, 'open', 'x', 'x'),"
	    " (2, 2, 'housing', 1, 'open', 'x', 'x');"
	    "INSERT INTO notes (id, employee_id, text, created_at) VALUES (7, 2, 'n', 'x');"
	    /* Barrier 5 and note 9 were a person's, erased before this version. */
	    "INSERT INTO events (type, subject, payload, actor, created_at) VALUES"
	    " ('barrier.created', 'barrier/5', '{}', 'x', 'x'),"
	    " ('note.created', 'note/9', '{}', 'x', 'x'),"
	    " ('barrier.created', 'barrier/x', '{}', 'x', 'x');");

	migrate_kernel_upto(f->db, 1000);
	assert_int_equal(query_int(h, "PRAGMA foreign_keys"), 1);
	for (size_t i = 0; i < TR_NELEM(tables); i++) {
		snprintf(sql, sizeof(sql),
		    "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '%s'"
		    " AND sql LIKE '%%AUTOINCREMENT%%'",
		    tables[i]);
		assert_int_equal(query_int(h, sql), 1);
	}
	assert_int_equal(query_int(h, "SELECT count(*) FROM barriers"), 2);
	assert_int_equal(query_int(h, "SELECT count(*) FROM notes"), 1);

	exec_ok(h, "DELETE FROM employees WHERE id = 2");
	assert_int_equal(query_int(h, "SELECT count(*) FROM barriers"), 1); /* cascade is back */
	assert_int_equal(query_int(h, "SELECT count(*) FROM notes"), 0);
	exec_ok(h,
	    "INSERT INTO barriers (employee_id, category, severity, status, created_at,"
	    " updated_at) VALUES (1, 'housing', 1, 'open', 'x', 'x');"
	    "INSERT INTO notes (employee_id, text, created_at) VALUES (1, 'n', 'x');"
	    "INSERT INTO goals (employee_id, text, status, created_at, updated_at)"
	    " VALUES (1, 'g', 'open', 'x', 'x');");
	assert_int_equal(query_int(h, "SELECT max(id) FROM barriers"), 6);
	assert_int_equal(query_int(h, "SELECT max(id) FROM notes"), 10);
	assert_int_equal(query_int(h, "SELECT max(id) FROM goals"), 1);
	/* One sequence per table, however it was seeded. */
	assert_int_equal(query_int(h,
	                     "SELECT count(*) FROM sqlite_sequence GROUP BY name"
	                     " ORDER BY count(*) DESC LIMIT 1"),
	    1);
	exec_ok(h, "DELETE FROM barriers WHERE id = 6");
	exec_ok(h,
	    "INSERT INTO barriers (employee_id, category, severity, status, created_at,"
	    " updated_at) VALUES (1, 'housing', 1, 'open', 'x', 'x');");
	assert_int_equal(query_int(h, "SELECT max(id) FROM barriers"), 7);
}

/*
 * A database at its max_page_count answers SQLITE_FULL as a full disk does:
 * the same code path, without needing a file system to fill.
 */
static int
insert_note(struct db *db, size_t len)
{
	static const char sql[] = "INSERT INTO notes (body) VALUES (?)";
	sqlite3_stmt *st = db_stmt(db, sql);
	char *body = malloc(len + 1);
	int rc;

	assert_non_null(st);
	assert_non_null(body);
	memset(body, 'n', len);
	body[len] = '\0';
	sqlite3_bind_text(st, 1, body, (int)len, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	db_done(st);
	free(body);
	return rc;
}

static void
test_db__write_fails_for_lack_of_space__full_until_a_write_succeeds(void **state)
{
	struct fixture *f = *state;
	const struct db_module *mods[] = { &notes_module };
	sqlite3 *h = db_handle(f->db);
	char why[256], sql[64];
	time_t at = 0;

	migrate_ok(f->db, mods, 1);
	assert_int_equal(insert_note(f->db, 10), SQLITE_DONE);
	assert_false(db_full(f->db, NULL));
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
	    (long long)query_int(h, "PRAGMA page_count"));
	exec_ok(h, sql);

	assert_int_equal(insert_note(f->db, 20000) & 0xff, SQLITE_FULL);
	assert_true(db_full(f->db, &at));
	assert_true(at > 0);
	assert_int_equal(db_fault(f->db, why, sizeof(why)), DB_FAULT_FULL);
	assert_non_null(strstr(why, "full"));
	/* A transaction that cannot commit is refused the same way, and rolled back. */
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(insert_note(f->db, 20000) & 0xff, SQLITE_FULL);
	db_rollback(f->db);
	assert_int_equal(query_int(h, "SELECT count(*) FROM notes"), 1);
	/* Clearing the request's failure does not clear the state: only a write does. */
	db_fault_clear(f->db);
	assert_int_equal(db_fault(f->db, NULL, 0), DB_FAULT_NONE);
	assert_true(db_full(f->db, NULL));
	/* Reads are not writes. */
	assert_int_equal(query_int(h, "SELECT count(*) FROM notes"), 1);
	assert_true(db_full(f->db, NULL));

	exec_ok(h, "PRAGMA max_page_count = 1000000");
	assert_int_equal(insert_note(f->db, 20000), SQLITE_DONE);
	assert_false(db_full(f->db, NULL));
	assert_int_equal(query_int(h, "SELECT count(*) FROM notes"), 2);
}

static void
test_db__migration_pending_on_a_full_disk__refused_saying_so(void **state)
{
	struct fixture *f = *state;
	const struct db_module *mods[] = { &notes_module };
	sqlite3 *h = db_handle(f->db);
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
	    (long long)query_int(h, "PRAGMA page_count"));
	exec_ok(h, sql);
	assert_int_equal(db_migrate(f->db, mods, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "the disk is full and migrations are pending"));
	assert_int_equal(table_exists(h, "notes"), 0);
	assert_int_equal(db_module_version(f->db, "notes"), 0);
	/* With nothing pending, the same full database migrates: nothing to write. */
	exec_ok(h, "PRAGMA max_page_count = 1000000");
	migrate_ok(f->db, mods, 1);
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
	    (long long)query_int(h, "PRAGMA page_count"));
	exec_ok(h, sql);
	migrate_ok(f->db, mods, 1);
}

static void
test_db__row_exists__found_missing_and_filtered(void **state)
{
	struct fixture *f = *state;
	static const char any[] = "SELECT 1 FROM people WHERE id = ?";
	static const char active[] = "SELECT 1 FROM people WHERE id = ? AND active = 1";

	exec_ok(db_handle(f->db),
	    "CREATE TABLE people (id INTEGER PRIMARY KEY, active INTEGER NOT NULL);"
	    "INSERT INTO people VALUES (1, 1), (2, 0);");
	assert_int_equal(db_row_exists(f->db, any, 1), 1);
	assert_int_equal(db_row_exists(f->db, any, 2), 1);
	assert_int_equal(db_row_exists(f->db, any, 3), 0);
	assert_int_equal(db_row_exists(f->db, active, 1), 1);
	assert_int_equal(db_row_exists(f->db, active, 2), 0);
	/* The statement is left reset: no read stays open to hold the WAL back. */
	assert_int_equal(sqlite3_stmt_busy(db_stmt(f->db, any)), 0);
	assert_int_equal(db_checkpoint_truncate(f->db), 0);
}

static void
test_db__row_exists__sqlite_refuses__minus_one(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(db_row_exists(f->db, "SELECT 1 FROM no_such_table WHERE id = ?", 1), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_db__open__wal_synchronous_full_foreign_keys_on, setup, teardown),
		cmocka_unit_test(test_db__open_in_missing_directory__error_names_path),
		cmocka_unit_test_setup_teardown(
		    test_db__migrate__applies_each_version_once_and_records_it, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__migrate_again__no_op_rows_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__migrate_after_reopen__no_op, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__second_module__own_versions_recorded_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__second_module__rows_per_module_and_version, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__database_newer_than_code__refused_nothing_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__failing_migration__everything_rolled_back, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__stmt_same_sql__prepared_once_same_pointer, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__done__statement_reset_and_unbound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_db__stmt_invalid_sql__null, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__row_exists__found_missing_and_filtered, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__row_exists__sqlite_refuses__minus_one, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__begin_rollback__write_discarded, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__begin_commit__write_kept_after_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__begin_while_another_connection_writes__busy_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__checkpoint_truncate__wal_emptied_or_busy_while_a_reader_holds_it,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__backup__copy_opens_passes_integrity_check_holds_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__backup_to_unwritable_path__error, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__row_to_json__columns_by_name_with_types, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__kernel_rebuild_of_employees__children_kept_erased_id_not_reused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__kernel_rebuild_of_records__ids_never_reused_even_those_already_gone,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__formerly__recorded_before_open_adopted_else_run, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__kernel_split__database_at_core_13_upgraded_like_a_fresh_one, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__kernel_split__database_at_core_7_upgraded_like_a_fresh_one, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__write_fails_for_lack_of_space__full_until_a_write_succeeds, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_db__migration_pending_on_a_full_disk__refused_saying_so, setup, teardown),
	};

	log_init(1, LOG_LEVEL_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
