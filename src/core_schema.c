/*
 * The core module's migrations: the platform's own tables (structures and
 * staff accounts, which authentication, the policy and the alerts rest on;
 * the event journal and its cursors; durable timers; the outbox and the
 * alerts; the record catalogue), append only (a database records the
 * version it is at; a migration once shipped never changes). The kernel's
 * tables are the kernel's migrations (kernel/kernel_schema.c): the
 * versions they held here (3, 5, 6, 7, 10, 12 and part of 8) are gone from
 * this list and never reused; a new platform step takes the next number
 * after the last one below.
 * The routes are with their code: the platform's in system.c, the kernel's
 * derived from its records (kernel/kernel.c).
 */
#include "handlers.h"
#include "util.h"

static const struct migration core_migrations[] = {
	{ 1,
	    "CREATE TABLE structures ("
	    "  id INTEGER PRIMARY KEY,"
	    "  name TEXT NOT NULL,"
	    "  siret TEXT NOT NULL UNIQUE,"
	    "  kind TEXT NOT NULL CHECK (kind IN ('ACI', 'AI', 'EI', 'ETTI', 'EITI')),"
	    "  annexe_financiere TEXT,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "CREATE TABLE staff ("
	    "  id INTEGER PRIMARY KEY,"
	    "  name TEXT NOT NULL,"
	    "  unix_user TEXT NOT NULL UNIQUE,"
	    "  role TEXT NOT NULL CHECK (role IN ('eti', 'cip', 'coordinator', 'admin')),"
	    "  email TEXT,"
	    "  active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),"
	    "  bootstrap INTEGER NOT NULL DEFAULT 0 CHECK (bootstrap IN (0, 1)),"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "CREATE INDEX staff_role ON staff (role, id);"
	    "CREATE INDEX structures_kind ON structures (kind, id);" },
	{ 2,
	    /* The event journal: written in the same transaction as the change. */
	    "CREATE TABLE events ("
	    "  id INTEGER PRIMARY KEY,"
	    "  type TEXT NOT NULL,"
	    "  subject TEXT NOT NULL,"
	    "  payload TEXT NOT NULL,"
	    "  actor_id INTEGER,"
	    "  actor TEXT NOT NULL,"
	    "  created_at TEXT NOT NULL);"
	    "CREATE INDEX events_type ON events (type, id);"
	    /* One durable cursor per subscriber: the last event it has handled. */
	    "CREATE TABLE event_cursors ("
	    "  subscriber TEXT PRIMARY KEY,"
	    "  last_id INTEGER NOT NULL,"
	    "  delivered INTEGER NOT NULL DEFAULT 0,"
	    "  failures INTEGER NOT NULL DEFAULT 0,"
	    "  last_error TEXT,"
	    "  updated_at TEXT NOT NULL);"
	    /* The last run of each durable periodic timer. */
	    "CREATE TABLE timers ("
	    "  name TEXT PRIMARY KEY,"
	    "  last_run_ms INTEGER NOT NULL);" },
	{ 4,
	    /*
	     * Notifications waiting for delivery (the notification plugin sends
	     * them): written by rules in the same transaction as what they saw.
	     * A rule that fires again with the same key adds nothing.
	     */
	    "CREATE TABLE outbox ("
	    "  id INTEGER PRIMARY KEY,"
	    "  source TEXT NOT NULL," /* "lua:contract_ending", "plugin:x" */
	    "  kind TEXT NOT NULL," /* what happened, e.g. contract_ending */
	    "  recipient_role TEXT," /* cip | coordinator | eti | admin */
	    "  recipient_staff_id INTEGER REFERENCES staff (id),"
	    "  employee_id INTEGER," /* who it is about; no personal data here */
	    "  message TEXT NOT NULL," /* French, minimal: who and what to do */
	    "  dedup_key TEXT UNIQUE,"
	    "  status TEXT NOT NULL DEFAULT 'pending',"
	    "  attempts INTEGER NOT NULL DEFAULT 0,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "CREATE INDEX outbox_status ON outbox (status, id);" },
	{ 8,
	    /*
	     * The outbox's ids are never given again either: an entry names a
	     * person by id. (The rest of the old step 8, the same rebuild of the
	     * tables of a person's records, is the kernel's step 5.)
	     */
	    "CREATE TABLE outbox_new ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  source TEXT NOT NULL,"
	    "  kind TEXT NOT NULL,"
	    "  recipient_role TEXT,"
	    "  recipient_staff_id INTEGER REFERENCES staff (id),"
	    "  employee_id INTEGER,"
	    "  message TEXT NOT NULL,"
	    "  dedup_key TEXT UNIQUE,"
	    "  status TEXT NOT NULL DEFAULT 'pending',"
	    "  attempts INTEGER NOT NULL DEFAULT 0,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "INSERT INTO outbox_new SELECT * FROM outbox;"
	    "DROP TABLE outbox;"
	    "ALTER TABLE outbox_new RENAME TO outbox;"
	    "CREATE INDEX outbox_status ON outbox (status, id);" },
	/*
	 * The catalogue of every person-linked table ever declared, by the
	 * kernel or a plugin: erasure and retention reach a plugin's data with
	 * it even once the plugin is no longer loaded.
	 */
	{ 9,
	    "CREATE TABLE record_catalogue ("
	    "  name TEXT PRIMARY KEY,"
	    "  module TEXT NOT NULL,"
	    "  tbl TEXT NOT NULL,"
	    "  person_where TEXT NOT NULL,"
	    "  depth INTEGER NOT NULL,"
	    "  declared_at TEXT NOT NULL);" },
	/*
	 * The outbox's delivery by channel plugins: a claim with a lease (a
	 * crash releases it when the lease ends), the next attempt, the error.
	 */
	{ 11,
	    "ALTER TABLE outbox ADD COLUMN claimed_by TEXT;"
	    "ALTER TABLE outbox ADD COLUMN lease_until INTEGER;"
	    "ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER;"
	    "ALTER TABLE outbox ADD COLUMN last_error TEXT;" },
	/*
	 * Alerts (issue 13): what staff see of the outbox. Each entry joins
	 * the open alert of its rule and subject (alert_key: its dedup_key
	 * without the recipient) or opens one; at most one is open (or
	 * acknowledged) per key. Recipients are staff accounts, resolved when
	 * the entry is queued (a role: its active accounts).
	 */
	{ 13,
	    "CREATE TABLE alerts ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  source TEXT NOT NULL,"
	    "  kind TEXT NOT NULL,"
	    "  alert_key TEXT,"
	    "  employee_id INTEGER,"
	    "  message TEXT NOT NULL,"
	    "  state TEXT NOT NULL DEFAULT 'open',"
	    "  acknowledged_by INTEGER REFERENCES staff (id),"
	    "  acknowledged_at TEXT,"
	    "  resolved_by INTEGER REFERENCES staff (id),"
	    "  resolved_at TEXT,"
	    "  resolved_reason TEXT," /* staff | rule */
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "CREATE UNIQUE INDEX alerts_open_key ON alerts (alert_key) WHERE state != 'resolved';"
	    "CREATE INDEX alerts_employee ON alerts (employee_id, id);"
	    "CREATE TABLE alert_recipients ("
	    "  alert_id INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,"
	    "  staff_id INTEGER NOT NULL REFERENCES staff (id),"
	    "  via TEXT NOT NULL," /* role:<role> | staff */
	    "  PRIMARY KEY (alert_id, staff_id));"
	    "CREATE INDEX alert_recipients_staff ON alert_recipients (staff_id, alert_id);"
	    "ALTER TABLE outbox ADD COLUMN alert_id INTEGER;" },
	/*
	 * Delivery per channel: each channel plugin (e-mail, webhooks) takes
	 * every notification, with its own claim, lease, attempts and outcome,
	 * so that one channel's failure never holds the other. A channel takes
	 * what is queued from its first claim on, and what no channel had taken
	 * then (outbox_channel_starts). outbox.status now says only whether a
	 * channel has taken it ('sent') or not ('pending'). A claim in flight
	 * keeps its channel and lease.
	 */
	{ 14,
	    "CREATE TABLE outbox_channels ("
	    "  outbox_id INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,"
	    "  channel TEXT NOT NULL," /* plugin:<name> */
	    "  status TEXT NOT NULL," /* claimed | pending | sent | failed */
	    "  attempts INTEGER NOT NULL DEFAULT 0,"
	    "  lease_until INTEGER,"
	    "  next_attempt_at INTEGER,"
	    "  last_error TEXT,"
	    "  updated_at TEXT NOT NULL,"
	    "  PRIMARY KEY (outbox_id, channel)) WITHOUT ROWID;"
	    "CREATE TABLE outbox_channel_starts (channel TEXT PRIMARY KEY,"
	    "  from_id INTEGER NOT NULL) WITHOUT ROWID;"
	    "INSERT INTO outbox_channels (outbox_id, channel, status, attempts, lease_until,"
	    "  updated_at) SELECT id, claimed_by, 'claimed', attempts, lease_until, updated_at"
	    "  FROM outbox WHERE status = 'claimed' AND claimed_by IS NOT NULL;"
	    "UPDATE outbox SET status = 'pending' WHERE status = 'claimed';"
	    "ALTER TABLE outbox DROP COLUMN claimed_by;"
	    "ALTER TABLE outbox DROP COLUMN lease_until;"
	    "ALTER TABLE outbox DROP COLUMN next_attempt_at;"
	    "ALTER TABLE outbox DROP COLUMN last_error;" },
	/* The next platform step goes here, numbered after the last above. */
};

const struct db_module core_module = {
	.name = "core",
	.migrations = core_migrations,
	.nmigrations = TR_NELEM(core_migrations),
};
