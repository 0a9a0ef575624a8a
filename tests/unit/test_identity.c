/* identity.c: peer credentials -> Unix user -> active staff account -> role. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "db.h"
#include "handlers.h"
#include "identity.h"
#include "log.h"

struct fixture {
	char dir[64];
	char path[PATH_MAX];
	struct db *db;
	char user[64];
};

static int
setup(void **state)
{
	const struct db_module *mods[] = { &core_module };
	struct fixture *f = calloc(1, sizeof(*f));
	struct passwd *pw = getpwuid(geteuid());
	char err[512];

	if (f == NULL || pw == NULL)
		return -1;
	snprintf(f->user, sizeof(f->user), "%s", pw->pw_name);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_identity.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	if (db_open(f->path, &f->db, err, sizeof(err)) != 0 ||
	    db_migrate(f->db, mods, 1, err, sizeof(err)) != 0) {
		print_error("%s\n", err);
		return -1;
	}
	identity_invalidate(); /* the cache is process-wide */
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[PATH_MAX + 8];

	db_close(f->db);
	identity_invalidate();
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Insert a staff row; returns its id. */
static int64_t
add_staff(struct db *db, const char *name, const char *user, const char *role, int active)
{
	sqlite3 *h = db_handle(db);
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(h,
	                     "INSERT INTO staff (name, unix_user, role, active, created_at, "
	                     "updated_at) VALUES (?, ?, ?, ?, '2026-01-01T00:00:00Z', "
	                     "'2026-01-01T00:00:00Z')",
	                     -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, active);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	return sqlite3_last_insert_rowid(h);
}

static void
exec_ok(struct db *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db_handle(db), sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static void
test_identity__socketpair_peer__uid_is_ours(void **state)
{
	int sv[2];
	uid_t uid = (uid_t)-1;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(peer_uid(sv[0], &uid), 0);
	assert_int_equal(uid, geteuid());
	uid = (uid_t)-1;
	assert_int_equal(peer_uid(sv[1], &uid), 0);
	assert_int_equal(uid, geteuid());
	close(sv[0]);
	close(sv[1]);
}

static void
test_identity__pipe__no_credentials_refused(void **state)
{
	int p[2];
	uid_t uid = 4242;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(peer_uid(p[0], &uid), -1);
	assert_int_equal(uid, 4242); /* untouched */
	close(p[0]);
	close(p[1]);
}

static void
test_identity__unconnected_unix_socket__no_credentials_refused(void **state)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	uid_t uid = 4242;

	(void)state;
	assert_true(s != -1);
	assert_int_equal(peer_uid(s, &uid), -1);
	assert_int_equal(uid, 4242);
	close(s);
}

static void
test_identity__active_account__found_with_role(void **state)
{
	struct fixture *f = *state;
	struct identity id;
	int64_t sid;

	add_staff(f->db, "Someone Else", "someone_else", "eti", 1);
	sid = add_staff(f->db, "Camille Opérateur", f->user, "coordinator", 1);
	assert_int_equal(identity_lookup(f->db, geteuid(), &id), 0);
	assert_int_equal(id.staff_id, sid);
	assert_int_equal(id.uid, geteuid());
	assert_int_equal(id.role, ROLE_COORDINATOR);
	assert_string_equal(id.unix_user, f->user);
	assert_string_equal(id.name, "Camille Opérateur");
}

static void
test_identity__inactive_account__unknown(void **state)
{
	struct fixture *f = *state;
	struct identity id;

	add_staff(f->db, "Former", f->user, "admin", 0);
	assert_int_equal(identity_lookup(f->db, geteuid(), &id), 1);
	assert_int_equal(id.staff_id, 0);
	assert_int_equal(id.role, ROLE_NONE);
}

static void
test_identity__no_account__unknown(void **state)
{
	struct fixture *f = *state;
	struct identity id;

	add_staff(f->db, "Someone Else", "someone_else", "admin", 1);
	assert_int_equal(identity_lookup(f->db, geteuid(), &id), 1);
	assert_int_equal(id.role, ROLE_NONE);
	/* The user name is still reported, for the 403 message and the log. */
	assert_string_equal(id.unix_user, f->user);
}

static void
test_identity__uid_without_user_name__unknown(void **state)
{
	struct fixture *f = *state;
	struct identity id;
	uid_t uid = 3999999999u;

	if (getpwuid(uid) != NULL)
		skip();
	assert_int_equal(identity_lookup(f->db, uid, &id), 1);
	assert_int_equal(id.uid, uid);
	assert_string_equal(id.unix_user, "");
}

static void
test_identity__account_deactivated__cached_until_invalidated(void **state)
{
	struct fixture *f = *state;
	struct identity id;

	add_staff(f->db, "Op", f->user, "admin", 1);
	assert_int_equal(identity_lookup(f->db, geteuid(), &id), 0);
	assert_int_equal(id.role, ROLE_ADMIN);

	exec_ok(f->db, "UPDATE staff SET active = 0");
	/* The cache answers until told that staff changed (entries live 5 s). */
	assert_int_equal(identity_lookup(f->db, geteuid(), &id), 0);
	identity_invalidate();
	assert_int_equal(identity_lookup(f->db, geteuid(), &id), 1);
}

static void
test_identity__role_changed__new_role_after_invalidate(void **state)
{
	struct fixture *f = *state;
	struct identity id;

	add_staff(f->db, "Op", f->user, "admin", 1);
	assert_int_equal(identity_lookup(f->db, geteuid(), &id), 0);
	assert_int_equal(id.role, ROLE_ADMIN);
	exec_ok(f->db, "UPDATE staff SET role = 'cip'");
	identity_invalidate();
	assert_int_equal(identity_lookup(f->db, geteuid(), &id), 0);
	assert_int_equal(id.role, ROLE_CIP);
}

static void
test_identity__unknown_caller__not_cached(void **state)
{
	struct fixture *f = *state;
	struct identity id;

	assert_int_equal(identity_lookup(f->db, geteuid(), &id), 1);
	add_staff(f->db, "Newcomer", f->user, "eti", 1);
	/* No invalidate: a refusal is not remembered, the new account works at once. */
	assert_int_equal(identity_lookup(f->db, geteuid(), &id), 0);
	assert_int_equal(id.role, ROLE_ETI);
}

static void
test_identity__database_without_staff_table__error(void **state)
{
	struct fixture *f = *state;
	struct identity id;

	exec_ok(f->db, "DROP TABLE staff");
	/* The statement cannot be prepared: logged, and the lookup fails closed. */
	assert_int_equal(identity_lookup(f->db, geteuid(), &id), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity__socketpair_peer__uid_is_ours),
		cmocka_unit_test(test_identity__pipe__no_credentials_refused),
		cmocka_unit_test(test_identity__unconnected_unix_socket__no_credentials_refused),
		cmocka_unit_test_setup_teardown(
		    test_identity__active_account__found_with_role, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity__inactive_account__unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity__no_account__unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity__uid_without_user_name__unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity__account_deactivated__cached_until_invalidated, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity__role_changed__new_role_after_invalidate, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity__unknown_caller__not_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity__database_without_staff_table__error, setup, teardown),
	};

	log_init(1, LOG_LEVEL_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
