/* outbox.c: queued in the cause's transaction, claimed with a lease, done or retried. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts.h"
#include "db.h"
#include "handlers.h"
#include "kernel/kernel.h"
#include "outbox.h"

struct fixture {
	char dir[64];
	char path[PATH_MAX];
	struct db *db;
};

static int
setup(void **state)
{
	const struct db_module *mods[] = { &core_module, kernel_db_module() };
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512];

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_outbox.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	if (db_open(f->path, &f->db, err, sizeof(err)) != 0 ||
	    db_migrate(f->db, mods, 2, err, sizeof(err)) != 0) {
		print_error("%s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[PATH_MAX + 8];

	db_close(f->db);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static const struct outbox_entry entry = {
	.source = "lua:test",
	.kind = "contract_ending",
	.recipient_role = "cip",
	.message = "Le contrat de Sabrina M. se termine dans 30 jours.",
};

/* How many rows of table match where. */
static int64_t
count_in(struct db *db, const char *table, const char *where)
{
	char sql[256];
	sqlite3_stmt *st;
	int64_t n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE %s", table, where);
	assert_int_equal(sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int64_t
count(struct db *db, const char *where)
{
	return count_in(db, "outbox", where);
}

static void
test_queue__rolled_back_with_its_cause__nothing_left(void **state)
{
	struct fixture *f = *state;
	int64_t id = 0;

	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(outbox_queue(f->db, &entry, &id), 1);
	assert_true(id > 0);
	db_rollback(f->db);
	assert_int_equal(count(f->db, "1"), 0);
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(outbox_queue(f->db, &entry, &id), 1);
	assert_int_equal(db_commit(f->db), 0);
	assert_int_equal(count(f->db, "status = 'pending'"), 1);
}

static void
test_queue__same_dedup_key__queued_once(void **state)
{
	struct fixture *f = *state;
	struct outbox_entry e = entry;
	int64_t id;

	e.dedup_key = "lua:test:contract/7";
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(outbox_queue(f->db, &e, &id), 1);
	assert_int_equal(outbox_queue(f->db, &e, &id), 0);
	assert_int_equal(db_commit(f->db), 0);
	assert_int_equal(count(f->db, "1"), 1);
}

/* A count over the channels' rows (outbox_channels). */
static int64_t
count_channel(struct db *db, const char *where)
{
	return count_in(db, "outbox_channels", where);
}

static int64_t
id_at(json_t *a, size_t i)
{
	return json_integer_value(json_object_get(json_array_get(a, i), "id"));
}

static void
test_claim__each_channel_takes_every_entry_exclusive_until_its_lease_ends(void **state)
{
	struct fixture *f = *state;
	int64_t id;
	json_t *a, *b, *c;

	assert_int_equal(db_begin(f->db), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(outbox_queue(f->db, &entry, &id), 1);
	assert_int_equal(db_commit(f->db), 0);
	a = outbox_claim(f->db, "plugin:mail", 2, 60000, 1000);
	assert_non_null(a);
	assert_int_equal(json_array_size(a), 2);
	assert_true(id_at(a, 0) < id_at(a, 1));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "attempts")), 1);
	/* Another channel takes all three: a channel's claim is its own. */
	b = outbox_claim(f->db, "plugin:webhook", 10, 120000, 1000);
	assert_int_equal(json_array_size(b), 3);
	c = outbox_claim(f->db, "plugin:webhook", 10, 60000, 2000);
	assert_int_equal(json_array_size(c), 0);
	json_decref(c);
	/* The mail channel gets its third, not again its first two while their lease runs. */
	c = outbox_claim(f->db, "plugin:mail", 10, 60000, 2000);
	assert_int_equal(json_array_size(c), 1);
	assert_int_equal(id_at(c, 0), id);
	json_decref(c);
	/* The webhook channel delivers: mail's claims stand, untouched. */
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(
		    outbox_done(f->db, "plugin:webhook", id_at(b, i), 1, NULL, 0, 3000), 0);
	assert_int_equal(count(f->db, "status = 'sent'"), 3);
	assert_int_equal(count_channel(f->db, "channel = 'plugin:mail' AND status = 'claimed'"), 3);
	/* The mail channel crashed: past its lease, its entries are due again, to it only. */
	c = outbox_claim(f->db, "plugin:webhook", 10, 60000, 61001);
	assert_int_equal(json_array_size(c), 0);
	json_decref(c);
	c = outbox_claim(f->db, "plugin:mail", 10, 60000, 61001);
	assert_int_equal(json_array_size(c), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(c, 0), "attempts")), 2);
	/* A done from a channel that has no claim on it is refused. */
	assert_int_equal(outbox_done(f->db, "plugin:webhook", id_at(a, 0), 1, NULL, 0, 62000), -1);
	assert_int_equal(outbox_done(f->db, "plugin:other", id_at(a, 0), 1, NULL, 0, 62000), -1);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void
test_claim__a_channel_added_later_starts_at_what_no_channel_took(void **state)
{
	struct fixture *f = *state;
	int64_t id, first;
	json_t *a;

	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(outbox_queue(f->db, &entry, &first), 1);
	assert_int_equal(outbox_queue(f->db, &entry, &id), 1);
	assert_int_equal(db_commit(f->db), 0);
	/* A channel that says so at its start (max 0) claims nothing yet, and is one. */
	a = outbox_claim(f->db, "plugin:started", 0, 60000, 500);
	assert_non_null(a);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	a = outbox_claim(f->db, "plugin:mail", 1, 60000, 1000);
	assert_int_equal(json_array_size(a), 1);
	assert_int_equal(outbox_done(f->db, "plugin:mail", first, 1, NULL, 0, 1000), 0);
	json_decref(a);
	a = outbox_claim(f->db, "plugin:started", 10, 60000, 1500);
	assert_int_equal(json_array_size(a), 2);
	assert_int_equal(id_at(a, 0), first);
	json_decref(a);
	/* First claim of webhooks: the entry mail delivered is behind it; the other is not. */
	a = outbox_claim(f->db, "plugin:webhook", 10, 60000, 2000);
	assert_int_equal(json_array_size(a), 1);
	assert_int_equal(id_at(a, 0), id);
	json_decref(a);
	/* Queued afterwards: both channels take it. */
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(outbox_queue(f->db, &entry, &id), 1);
	assert_int_equal(db_commit(f->db), 0);
	a = outbox_claim(f->db, "plugin:webhook", 10, 60000, 3000);
	assert_int_equal(json_array_size(a), 1);
	assert_int_equal(id_at(a, 0), id);
	json_decref(a);
	a = outbox_claim(f->db, "plugin:mail", 10, 60000, 3000);
	assert_int_equal(json_array_size(a), 2);
	assert_int_equal(id_at(a, 1), id);
	json_decref(a);
}

static void
test_done__sent_retried_or_given_up(void **state)
{
	struct fixture *f = *state;
	int64_t id;
	json_t *a;

	assert_int_equal(db_begin(f->db), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(outbox_queue(f->db, &entry, &id), 1);
	assert_int_equal(db_commit(f->db), 0);
	a = outbox_claim(f->db, "plugin:mail", 3, 60000, 1000);
	assert_int_equal(json_array_size(a), 3);
	int64_t ids[3];
	for (int i = 0; i < 3; i++)
		ids[i] = id_at(a, (size_t)i);
	json_decref(a);
	assert_int_equal(outbox_done(f->db, "plugin:mail", ids[0], 1, NULL, 0, 2000), 0);
	assert_int_equal(
	    outbox_done(f->db, "plugin:mail", ids[1], 0, "451 try later", 5000, 2000), 0);
	assert_int_equal(
	    outbox_done(f->db, "plugin:mail", ids[2], 0, "550 no such user", 0, 2000), 0);
	assert_int_equal(count(f->db, "status = 'sent'"), 1);
	assert_int_equal(count(f->db, "status = 'pending'"), 1);
	assert_int_equal(count(f->db, "status = 'failed'"), 1);
	assert_int_equal(
	    count_channel(f->db, "status = 'failed' AND last_error = '550 no such user'"), 1);
	/* Done twice: refused, nothing changed. */
	assert_int_equal(outbox_done(f->db, "plugin:mail", ids[0], 1, NULL, 0, 2000), -1);
	/* The retried one is due at 5000, not before. */
	a = outbox_claim(f->db, "plugin:mail", 10, 60000, 4999);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	a = outbox_claim(f->db, "plugin:mail", 10, 60000, 5000);
	assert_int_equal(json_array_size(a), 1);
	assert_int_equal(id_at(a, 0), ids[1]);
	json_decref(a);
	/* Another channel delivers what mail gave up: sent. */
	a = outbox_claim(f->db, "plugin:webhook", 10, 60000, 6000);
	assert_int_equal(json_array_size(a), 2);
	assert_int_equal(outbox_done(f->db, "plugin:webhook", ids[2], 1, NULL, 0, 6000), 0);
	assert_int_equal(count(f->db, "status = 'failed'"), 0);
	json_decref(a);
}

static void
test_forget_employee__their_notifications_gone_others_kept(void **state)
{
	struct fixture *f = *state;
	struct outbox_entry e = entry;
	int64_t id;

	assert_int_equal(sqlite3_exec(db_handle(f->db),
	                     "INSERT INTO structures (id, name, siret, kind, created_at, "
	                     "updated_at) VALUES (1, 'ACI', '73282932000074', 'ACI', 'x', 'x');"
	                     "INSERT INTO employees (id, structure_id, first_name, last_name, "
	                     "birth_date, prescriber_kind, status, last_contact_at, created_at, "
	                     "updated_at) VALUES (7, 1, 'A', 'B', '1990-01-01', 'autre', "
	                     "'in_pathway', 'x', 'x', 'x');",
	                     NULL, NULL, NULL),
	    SQLITE_OK);
	e.employee_id = 7;
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(outbox_queue(f->db, &e, &id), 1);
	assert_int_equal(outbox_queue(f->db, &entry, &id), 1);
	assert_int_equal(db_commit(f->db), 0);
	assert_int_equal(outbox_forget_employee(f->db, 7), 0);
	assert_int_equal(count(f->db, "employee_id = 7"), 0);
	assert_int_equal(count(f->db, "1"), 1);
}

static void
test_check__recipient_and_person_must_exist(void **state)
{
	struct fixture *f = *state;
	struct outbox_entry e = entry;
	char why[128];

	assert_int_equal(outbox_check(f->db, &e, why, sizeof(why)), 0);
	e.recipient_staff_id = 42;
	assert_int_equal(outbox_check(f->db, &e, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "recipient_staff_id 42 is not an active staff account"));
	e.recipient_staff_id = 0;
	e.employee_id = 9;
	assert_int_equal(outbox_check(f->db, &e, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "employee_id 9 is not an employee"));
}

static void
test_alert_key__the_dedup_key_without_its_own_recipient(void **state)
{
	struct outbox_entry e = entry;
	char key[64];

	(void)state;
	assert_int_equal(alerts_key_of(&e, key, sizeof(key)), -1); /* no dedup_key */
	e.dedup_key = "lua:r:contract_ending:12:2026-03-12:cip";
	assert_int_equal(alerts_key_of(&e, key, sizeof(key)), 0);
	assert_string_equal(key, "lua:r:contract_ending:12:2026-03-12");
	/* Another recipient's suffix is not this entry's: kept. */
	e.dedup_key = "lua:r:contract_ending:12:coordinator";
	assert_int_equal(alerts_key_of(&e, key, sizeof(key)), 0);
	assert_string_equal(key, "lua:r:contract_ending:12:coordinator");
	e.recipient_role = NULL;
	e.recipient_staff_id = 4;
	e.dedup_key = "lua:r:k:1:staff4";
	assert_int_equal(alerts_key_of(&e, key, sizeof(key)), 0);
	assert_string_equal(key, "lua:r:k:1");
	e.dedup_key = "lua:r:k:1:staff41";
	assert_int_equal(alerts_key_of(&e, key, sizeof(key)), 0);
	assert_string_equal(key, "lua:r:k:1:staff41");
	assert_int_equal(alerts_key_of(&e, key, 8), -1);
}

static int64_t
alerts_where(struct db *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	assert_int_equal(sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void
test_alerts__one_per_key_while_open__resolved_by_the_rule(void **state)
{
	struct fixture *f = *state;
	struct outbox_entry e = entry;
	int64_t id, n;

	assert_int_equal(db_begin(f->db), 0);
	e.dedup_key = "lua:test:k:1:cip";
	assert_int_equal(outbox_queue(f->db, &e, &id), 1);
	e.recipient_role = "coordinator";
	e.dedup_key = "lua:test:k:1:coordinator";
	assert_int_equal(outbox_queue(f->db, &e, &id), 1);
	assert_int_equal(db_commit(f->db), 0);
	assert_int_equal(count(f->db, "1"), 2);
	assert_int_equal(alerts_where(f->db, "SELECT count(*) FROM alerts"), 1);
	assert_int_equal(
	    alerts_where(f->db, "SELECT count(DISTINCT alert_id) FROM outbox WHERE alert_id > 0"),
	    1);
	/* Resolved by its rule: keep names what is still there, prefix what it checks. */
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(alerts_resolve_by_rule(
	                     f->db, "lua:test", NULL, "lua:test:k:", "[\"lua:test:k:1\"]", &n),
	    0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    alerts_resolve_by_rule(f->db, "lua:other", "lua:test:k:1", NULL, NULL, &n), 0);
	assert_int_equal(n, 0); /* not another script's */
	assert_int_equal(
	    alerts_resolve_by_rule(f->db, "lua:test", NULL, "lua:test:k:", "[]", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_commit(f->db), 0);
	assert_int_equal(alerts_where(f->db,
	                     "SELECT count(*) FROM alerts WHERE state = 'resolved' AND"
	                     " resolved_reason = 'rule' AND resolved_by IS NULL"),
	    1);
	/* The same key again after it was resolved: a new alert. */
	assert_int_equal(db_begin(f->db), 0);
	e.dedup_key = "lua:test:k:1:admin";
	e.recipient_role = "admin";
	assert_int_equal(outbox_queue(f->db, &e, &id), 1);
	assert_int_equal(db_commit(f->db), 0);
	assert_int_equal(alerts_where(f->db, "SELECT count(*) FROM alerts"), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_queue__rolled_back_with_its_cause__nothing_left, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_queue__same_dedup_key__queued_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_claim__each_channel_takes_every_entry_exclusive_until_its_lease_ends,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_claim__a_channel_added_later_starts_at_what_no_channel_took, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_done__sent_retried_or_given_up, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_forget_employee__their_notifications_gone_others_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_check__recipient_and_person_must_exist, setup, teardown),
		cmocka_unit_test(test_alert_key__the_dedup_key_without_its_own_recipient),
		cmocka_unit_test_setup_teardown(
		    test_alerts__one_per_key_while_open__resolved_by_the_rule, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
