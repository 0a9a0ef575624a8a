/* The core module: its tables, its migrations and its routes. */
#include "handlers.h"
#include "resource.h"
#include "audit.h"
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
	{ 3,
	    /* Pathways (issue 5). Dates are ISO YYYY-MM-DD, Europe/Paris calendar days. */
	    "CREATE TABLE employees ("
	    "  id INTEGER PRIMARY KEY,"
	    "  structure_id INTEGER NOT NULL REFERENCES structures (id),"
	    "  first_name TEXT NOT NULL,"
	    "  last_name TEXT NOT NULL,"
	    "  birth_date TEXT NOT NULL,"
	    "  email TEXT,"
	    "  phone TEXT,"
	    "  address TEXT,"
	    "  france_travail_id TEXT,"
	    "  prescriber_kind TEXT NOT NULL,"
	    "  prescriber_name TEXT,"
	    "  team TEXT,"
	    "  referent_cip_id INTEGER REFERENCES staff (id),"
	    "  referent_eti_id INTEGER REFERENCES staff (id),"
	    "  status TEXT NOT NULL,"
	    "  last_contact_at TEXT NOT NULL,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "CREATE INDEX employees_structure ON employees (structure_id, id);"
	    "CREATE INDEX employees_cip ON employees (referent_cip_id, id);"
	    "CREATE INDEX employees_eti ON employees (referent_eti_id, id);"
	    "CREATE INDEX employees_contact ON employees (last_contact_at);"
	    "CREATE TABLE contracts ("
	    "  id INTEGER PRIMARY KEY,"
	    "  employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,"
	    "  structure_id INTEGER NOT NULL REFERENCES structures (id),"
	    "  start_date TEXT NOT NULL,"
	    "  end_date TEXT NOT NULL," /* current end, renewals included */
	    "  initial_end_date TEXT NOT NULL,"
	    "  weekly_hours REAL NOT NULL,"
	    "  hours_derogation_until TEXT," /* ACI below 20 h: prefectoral derogation */
	    "  ended_on TEXT," /* ended early (break, resignation...) */
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "CREATE INDEX contracts_employee ON contracts (employee_id, start_date);"
	    "CREATE INDEX contracts_end ON contracts (end_date);"
	    "CREATE TABLE contract_renewals ("
	    "  id INTEGER PRIMARY KEY,"
	    "  contract_id INTEGER NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,"
	    "  previous_end_date TEXT NOT NULL,"
	    "  new_end_date TEXT NOT NULL,"
	    "  reason TEXT," /* required past 24 months: the legal list */
	    "  created_at TEXT NOT NULL);"
	    "CREATE TABLE contract_suspensions ("
	    "  id INTEGER PRIMARY KEY,"
	    "  contract_id INTEGER NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,"
	    "  start_date TEXT NOT NULL,"
	    "  end_date TEXT NOT NULL,"
	    "  reason TEXT NOT NULL,"
	    "  created_at TEXT NOT NULL);"
	    "CREATE TABLE ai_placements ("
	    "  id INTEGER PRIMARY KEY,"
	    "  contract_id INTEGER NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,"
	    "  employer_kind TEXT NOT NULL," /* company | individual | association | local_authority */
	    "  employer_name TEXT NOT NULL,"
	    "  start_date TEXT NOT NULL,"
	    "  end_date TEXT NOT NULL,"
	    "  hours REAL NOT NULL,"
	    "  created_at TEXT NOT NULL);"
	    "CREATE TABLE passes ("
	    "  id INTEGER PRIMARY KEY,"
	    "  employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,"
	    "  number TEXT NOT NULL,"
	    "  start_date TEXT NOT NULL,"
	    "  initial_end_date TEXT NOT NULL,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "CREATE INDEX passes_employee ON passes (employee_id, start_date);"
	    "CREATE TABLE pass_suspensions ("
	    "  id INTEGER PRIMARY KEY,"
	    "  pass_id INTEGER NOT NULL REFERENCES passes (id) ON DELETE CASCADE,"
	    "  start_date TEXT NOT NULL,"
	    "  end_date TEXT NOT NULL,"
	    "  reason TEXT NOT NULL,"
	    "  created_at TEXT NOT NULL);"
	    "CREATE TABLE pass_prolongations ("
	    "  id INTEGER PRIMARY KEY,"
	    "  pass_id INTEGER NOT NULL REFERENCES passes (id) ON DELETE CASCADE,"
	    "  days INTEGER NOT NULL,"
	    "  reason TEXT NOT NULL,"
	    "  until_date TEXT," /* end of training, for that reason */
	    "  created_at TEXT NOT NULL);"
	    "CREATE TABLE welcome_items ("
	    "  id INTEGER PRIMARY KEY,"
	    "  employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,"
	    "  item TEXT NOT NULL,"
	    "  done_on TEXT NOT NULL,"
	    "  done_by INTEGER REFERENCES staff (id),"
	    "  note TEXT,"
	    "  created_at TEXT NOT NULL,"
	    "  UNIQUE (employee_id, item));"
	    "CREATE TABLE barriers ("
	    "  id INTEGER PRIMARY KEY,"
	    "  employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,"
	    "  category TEXT NOT NULL,"
	    "  severity INTEGER NOT NULL,"
	    "  status TEXT NOT NULL,"
	    "  shared_with_eti INTEGER NOT NULL DEFAULT 0,"
	    "  detail TEXT,"
	    "  created_by INTEGER REFERENCES staff (id),"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "CREATE INDEX barriers_employee ON barriers (employee_id, id);"
	    "CREATE TABLE observations ("
	    "  id INTEGER PRIMARY KEY,"
	    "  employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,"
	    "  observed_on TEXT NOT NULL,"
	    "  kind TEXT NOT NULL,"
	    "  text TEXT NOT NULL,"
	    "  author_id INTEGER REFERENCES staff (id),"
	    "  created_at TEXT NOT NULL);"
	    "CREATE INDEX observations_employee ON observations (employee_id, id);"
	    "CREATE TABLE goals ("
	    "  id INTEGER PRIMARY KEY,"
	    "  employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,"
	    "  text TEXT NOT NULL,"
	    "  deadline TEXT,"
	    "  status TEXT NOT NULL,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "CREATE INDEX goals_employee ON goals (employee_id, id);"
	    "CREATE TABLE reviews ("
	    "  id INTEGER PRIMARY KEY,"
	    "  employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,"
	    "  kind TEXT NOT NULL," /* entry | intermediate | exit */
	    "  planned_on TEXT NOT NULL,"
	    "  held_on TEXT,"
	    "  participants TEXT," /* JSON array of names */
	    "  content TEXT,"
	    "  decisions TEXT,"
	    "  shared_with_eti TEXT," /* the part the CIP shares with the ETI */
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "CREATE INDEX reviews_employee ON reviews (employee_id, planned_on);"
	    "CREATE TABLE notes ("
	    "  id INTEGER PRIMARY KEY,"
	    "  employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,"
	    "  text TEXT NOT NULL,"
	    "  author_id INTEGER REFERENCES staff (id),"
	    "  created_at TEXT NOT NULL);"
	    "CREATE TABLE exits ("
	    "  id INTEGER PRIMARY KEY,"
	    "  employee_id INTEGER NOT NULL UNIQUE REFERENCES employees (id) ON DELETE CASCADE,"
	    "  exit_date TEXT NOT NULL,"
	    "  category TEXT NOT NULL,"
	    "  destination TEXT,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    /* What survives erasure and retention: anonymous counts for the indicators. */
	    "CREATE TABLE indicator_counts ("
	    "  structure_id INTEGER NOT NULL,"
	    "  year INTEGER NOT NULL,"
	    "  metric TEXT NOT NULL," /* e.g. exits.emploi_durable, employees.purged */
	    "  n INTEGER NOT NULL,"
	    "  PRIMARY KEY (structure_id, year, metric));" },
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
	{ 5,
	    /*
	     * Contracts (issue 5): an ACI's hours derogation has its own start
	     * (a renewed derogation starts after the contract) and its legal
	     * ground; a contract's records are read by contract.
	     */
	    "ALTER TABLE contracts ADD COLUMN hours_derogation_from TEXT;"
	    "ALTER TABLE contracts ADD COLUMN hours_derogation_reason TEXT;"
	    "CREATE INDEX contract_renewals_contract ON contract_renewals (contract_id, id);"
	    "CREATE INDEX contract_suspensions_contract ON contract_suspensions (contract_id, id);"
	    "CREATE INDEX ai_placements_contract ON ai_placements (contract_id, id);" },
	{ 6,
	    /*
	     * PASS IAE: a number names one PASS (a second one is 409), and a
	     * PASS's suspensions and prolongations are read with it.
	     */
	    "CREATE UNIQUE INDEX passes_number ON passes (number);"
	    "CREATE INDEX pass_suspensions_pass ON pass_suspensions (pass_id, start_date);"
	    "CREATE INDEX pass_prolongations_pass ON pass_prolongations (pass_id, id);" },
	{ 7,
	    /*
	     * An erased or purged person's id is never given to another: the
	     * audit log and the journal name people by id, and a new file must
	     * not inherit who viewed an old one. AUTOINCREMENT needs the table
	     * rebuilt (db_migrate runs with foreign keys off, then checks them).
	     */
	    "CREATE TABLE employees_new ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  structure_id INTEGER NOT NULL REFERENCES structures (id),"
	    "  first_name TEXT NOT NULL,"
	    "  last_name TEXT NOT NULL,"
	    "  birth_date TEXT NOT NULL,"
	    "  email TEXT,"
	    "  phone TEXT,"
	    "  address TEXT,"
	    "  france_travail_id TEXT,"
	    "  prescriber_kind TEXT NOT NULL,"
	    "  prescriber_name TEXT,"
	    "  team TEXT,"
	    "  referent_cip_id INTEGER REFERENCES staff (id),"
	    "  referent_eti_id INTEGER REFERENCES staff (id),"
	    "  status TEXT NOT NULL,"
	    "  last_contact_at TEXT NOT NULL,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "INSERT INTO employees_new SELECT id, structure_id, first_name, last_name, birth_date,"
	    " email, phone, address, france_travail_id, prescriber_kind, prescriber_name, team,"
	    " referent_cip_id, referent_eti_id, status, last_contact_at, created_at, updated_at"
	    " FROM employees;"
	    "DROP TABLE employees;"
	    "ALTER TABLE employees_new RENAME TO employees;"
	    "CREATE INDEX employees_structure ON employees (structure_id, id);"
	    "CREATE INDEX employees_cip ON employees (referent_cip_id, id);"
	    "CREATE INDEX employees_eti ON employees (referent_eti_id, id);"
	    "CREATE INDEX employees_contact ON employees (last_contact_at);" },
	{ 8,
	    /*
	     * Nor the id of any record of a person's file (or of a notice about
	     * them): the journal names records by id ("barrier/3"), so a new
	     * barrier must not take an erased person's number. Each table is
	     * rebuilt as 7 rebuilt employees, its columns in the same order (so
	     * SELECT * copies them); its sequence starts past the ids it holds
	     * and the ids the journal names, which may be gone already.
	     */
	    "CREATE TABLE contracts_new ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,"
	    "  structure_id INTEGER NOT NULL REFERENCES structures (id),"
	    "  start_date TEXT NOT NULL,"
	    "  end_date TEXT NOT NULL,"
	    "  initial_end_date TEXT NOT NULL,"
	    "  weekly_hours REAL NOT NULL,"
	    "  hours_derogation_until TEXT,"
	    "  ended_on TEXT,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL,"
	    "  hours_derogation_from TEXT,"
	    "  hours_derogation_reason TEXT);"
	    "INSERT INTO contracts_new SELECT * FROM contracts;"
	    "DROP TABLE contracts;"
	    "ALTER TABLE contracts_new RENAME TO contracts;"
	    "CREATE INDEX contracts_employee ON contracts (employee_id, start_date);"
	    "CREATE INDEX contracts_end ON contracts (end_date);"
	    "DELETE FROM sqlite_sequence WHERE name = 'contracts';"
	    "INSERT INTO sqlite_sequence (name, seq) SELECT 'contracts', max("
	    " (SELECT coalesce(max(id), 0) FROM contracts),"
	    " (SELECT coalesce(max(CAST(substr(subject, 10) AS INTEGER)), 0) FROM events"
	    "  WHERE subject GLOB 'contract/[0-9]*'));"
	    "CREATE TABLE contract_renewals_new ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  contract_id INTEGER NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,"
	    "  previous_end_date TEXT NOT NULL,"
	    "  new_end_date TEXT NOT NULL,"
	    "  reason TEXT,"
	    "  created_at TEXT NOT NULL);"
	    "INSERT INTO contract_renewals_new SELECT * FROM contract_renewals;"
	    "DROP TABLE contract_renewals;"
	    "ALTER TABLE contract_renewals_new RENAME TO contract_renewals;"
	    "CREATE INDEX contract_renewals_contract ON contract_renewals (contract_id, id);"
	    "DELETE FROM sqlite_sequence WHERE name = 'contract_renewals';"
	    "INSERT INTO sqlite_sequence (name, seq) SELECT 'contract_renewals', max("
	    " (SELECT coalesce(max(id), 0) FROM contract_renewals),"
	    " (SELECT coalesce(max(CAST(substr(subject, 18) AS INTEGER)), 0) FROM events"
	    "  WHERE subject GLOB 'contract_renewal/[0-9]*'));"
	    "CREATE TABLE contract_suspensions_new ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  contract_id INTEGER NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,"
	    "  start_date TEXT NOT NULL,"
	    "  end_date TEXT NOT NULL,"
	    "  reason TEXT NOT NULL,"
	    "  created_at TEXT NOT NULL);"
	    "INSERT INTO contract_suspensions_new SELECT * FROM contract_suspensions;"
	    "DROP TABLE contract_suspensions;"
	    "ALTER TABLE contract_suspensions_new RENAME TO contract_suspensions;"
	    "CREATE INDEX contract_suspensions_contract ON contract_suspensions (contract_id, id);"
	    "DELETE FROM sqlite_sequence WHERE name = 'contract_suspensions';"
	    "INSERT INTO sqlite_sequence (name, seq) SELECT 'contract_suspensions', max("
	    " (SELECT coalesce(max(id), 0) FROM contract_suspensions),"
	    " (SELECT coalesce(max(CAST(substr(subject, 21) AS INTEGER)), 0) FROM events"
	    "  WHERE subject GLOB 'contract_suspension/[0-9]*'));"
	    "CREATE TABLE ai_placements_new ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  contract_id INTEGER NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,"
	    "  employer_kind TEXT NOT NULL,"
	    "  employer_name TEXT NOT NULL,"
	    "  start_date TEXT NOT NULL,"
	    "  end_date TEXT NOT NULL,"
	    "  hours REAL NOT NULL,"
	    "  created_at TEXT NOT NULL);"
	    "INSERT INTO ai_placements_new SELECT * FROM ai_placements;"
	    "DROP TABLE ai_placements;"
	    "ALTER TABLE ai_placements_new RENAME TO ai_placements;"
	    "CREATE INDEX ai_placements_contract ON ai_placements (contract_id, id);"
	    "DELETE FROM sqlite_sequence WHERE name = 'ai_placements';"
	    "INSERT INTO sqlite_sequence (name, seq) SELECT 'ai_placements', max("
	    " (SELECT coalesce(max(id), 0) FROM ai_placements),"
	    " (SELECT coalesce(max(CAST(substr(subject, 14) AS INTEGER)), 0) FROM events"
	    "  WHERE subject GLOB 'ai_placement/[0-9]*'));"
	    "CREATE TABLE passes_new ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,"
	    "  number TEXT NOT NULL,"
	    "  start_date TEXT NOT NULL,"
	    "  initial_end_date TEXT NOT NULL,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "INSERT INTO passes_new SELECT * FROM passes;"
	    "DROP TABLE passes;"
	    "ALTER TABLE passes_new RENAME TO passes;"
	    "CREATE INDEX passes_employee ON passes (employee_id, start_date);"
	    "CREATE UNIQUE INDEX passes_number ON passes (number);"
	    "DELETE FROM sqlite_sequence WHERE name = 'passes';"
	    "INSERT INTO sqlite_sequence (name, seq) SELECT 'passes', max("
	    " (SELECT coalesce(max(id), 0) FROM passes),"
	    " (SELECT coalesce(max(CAST(substr(subject, 6) AS INTEGER)), 0) FROM events"
	    "  WHERE subject GLOB 'pass/[0-9]*'));"
	    "CREATE TABLE pass_suspensions_new ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  pass_id INTEGER NOT NULL REFERENCES passes (id) ON DELETE CASCADE,"
	    "  start_date TEXT NOT NULL,"
	    "  end_date TEXT NOT NULL,"
	    "  reason TEXT NOT NULL,"
	    "  created_at TEXT NOT NULL);"
	    "INSERT INTO pass_suspensions_new SELECT * FROM pass_suspensions;"
	    "DROP TABLE pass_suspensions;"
	    "ALTER TABLE pass_suspensions_new RENAME TO pass_suspensions;"
	    "CREATE INDEX pass_suspensions_pass ON pass_suspensions (pass_id, start_date);"
	    "DELETE FROM sqlite_sequence WHERE name = 'pass_suspensions';"
	    "INSERT INTO sqlite_sequence (name, seq) SELECT 'pass_suspensions', max("
	    " (SELECT coalesce(max(id), 0) FROM pass_suspensions),"
	    " (SELECT coalesce(max(CAST(substr(subject, 17) AS INTEGER)), 0) FROM events"
	    "  WHERE subject GLOB 'pass_suspension/[0-9]*'));"
	    "CREATE TABLE pass_prolongations_new ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  pass_id INTEGER NOT NULL REFERENCES passes (id) ON DELETE CASCADE,"
	    "  days INTEGER NOT NULL,"
	    "  reason TEXT NOT NULL,"
	    "  until_date TEXT,"
	    "  created_at TEXT NOT NULL);"
	    "INSERT INTO pass_prolongations_new SELECT * FROM pass_prolongations;"
	    "DROP TABLE pass_prolongations;"
	    "ALTER TABLE pass_prolongations_new RENAME TO pass_prolongations;"
	    "CREATE INDEX pass_prolongations_pass ON pass_prolongations (pass_id, id);"
	    "DELETE FROM sqlite_sequence WHERE name = 'pass_prolongations';"
	    "INSERT INTO sqlite_sequence (name, seq) SELECT 'pass_prolongations', max("
	    " (SELECT coalesce(max(id), 0) FROM pass_prolongations),"
	    " (SELECT coalesce(max(CAST(substr(subject, 19) AS INTEGER)), 0) FROM events"
	    "  WHERE subject GLOB 'pass_prolongation/[0-9]*'));"
	    "CREATE TABLE welcome_items_new ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,"
	    "  item TEXT NOT NULL,"
	    "  done_on TEXT NOT NULL,"
	    "  done_by INTEGER REFERENCES staff (id),"
	    "  note TEXT,"
	    "  created_at TEXT NOT NULL,"
	    "  UNIQUE (employee_id, item));"
	    "INSERT INTO welcome_items_new SELECT * FROM welcome_items;"
	    "DROP TABLE welcome_items;"
	    "ALTER TABLE welcome_items_new RENAME TO welcome_items;"
	    "DELETE FROM sqlite_sequence WHERE name = 'welcome_items';"
	    "INSERT INTO sqlite_sequence (name, seq) SELECT 'welcome_items', max("
	    " (SELECT coalesce(max(id), 0) FROM welcome_items),"
	    " (SELECT coalesce(max(CAST(substr(subject, 14) AS INTEGER)), 0) FROM events"
	    "  WHERE subject GLOB 'welcome_item/[0-9]*'));"
	    "CREATE TABLE barriers_new ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,"
	    "  category TEXT NOT NULL,"
	    "  severity INTEGER NOT NULL,"
	    "  status TEXT NOT NULL,"
	    "  shared_with_eti INTEGER NOT NULL DEFAULT 0,"
	    "  detail TEXT,"
	    "  created_by INTEGER REFERENCES staff (id),"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "INSERT INTO barriers_new SELECT * FROM barriers;"
	    "DROP TABLE barriers;"
	    "ALTER TABLE barriers_new RENAME TO barriers;"
	    "CREATE INDEX barriers_employee ON barriers (employee_id, id);"
	    "DELETE FROM sqlite_sequence WHERE name = 'barriers';"
	    "INSERT INTO sqlite_sequence (name, seq) SELECT 'barriers', max("
	    " (SELECT coalesce(max(id), 0) FROM barriers),"
	    " (SELECT coalesce(max(CAST(substr(subject, 9) AS INTEGER)), 0) FROM events"
	    "  WHERE subject GLOB 'barrier/[0-9]*'));"
	    "CREATE TABLE observations_new ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,"
	    "  observed_on TEXT NOT NULL,"
	    "  kind TEXT NOT NULL,"
	    "  text TEXT NOT NULL,"
	    "  author_id INTEGER REFERENCES staff (id),"
	    "  created_at TEXT NOT NULL);"
	    "INSERT INTO observations_new SELECT * FROM observations;"
	    "DROP TABLE observations;"
	    "ALTER TABLE observations_new RENAME TO observations;"
	    "CREATE INDEX observations_employee ON observations (employee_id, id);"
	    "DELETE FROM sqlite_sequence WHERE name = 'observations';"
	    "INSERT INTO sqlite_sequence (name, seq) SELECT 'observations', max("
	    " (SELECT coalesce(max(id), 0) FROM observations),"
	    " (SELECT coalesce(max(CAST(substr(subject, 13) AS INTEGER)), 0) FROM events"
	    "  WHERE subject GLOB 'observation/[0-9]*'));"
	    "CREATE TABLE goals_new ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,"
	    "  text TEXT NOT NULL,"
	    "  deadline TEXT,"
	    "  status TEXT NOT NULL,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "INSERT INTO goals_new SELECT * FROM goals;"
	    "DROP TABLE goals;"
	    "ALTER TABLE goals_new RENAME TO goals;"
	    "CREATE INDEX goals_employee ON goals (employee_id, id);"
	    "DELETE FROM sqlite_sequence WHERE name = 'goals';"
	    "INSERT INTO sqlite_sequence (name, seq) SELECT 'goals', max("
	    " (SELECT coalesce(max(id), 0) FROM goals),"
	    " (SELECT coalesce(max(CAST(substr(subject, 6) AS INTEGER)), 0) FROM events"
	    "  WHERE subject GLOB 'goal/[0-9]*'));"
	    "CREATE TABLE reviews_new ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,"
	    "  kind TEXT NOT NULL,"
	    "  planned_on TEXT NOT NULL,"
	    "  held_on TEXT,"
	    "  participants TEXT,"
	    "  content TEXT,"
	    "  decisions TEXT,"
	    "  shared_with_eti TEXT,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "INSERT INTO reviews_new SELECT * FROM reviews;"
	    "DROP TABLE reviews;"
	    "ALTER TABLE reviews_new RENAME TO reviews;"
	    "CREATE INDEX reviews_employee ON reviews (employee_id, planned_on);"
	    "DELETE FROM sqlite_sequence WHERE name = 'reviews';"
	    "INSERT INTO sqlite_sequence (name, seq) SELECT 'reviews', max("
	    " (SELECT coalesce(max(id), 0) FROM reviews),"
	    " (SELECT coalesce(max(CAST(substr(subject, 8) AS INTEGER)), 0) FROM events"
	    "  WHERE subject GLOB 'review/[0-9]*'));"
	    "CREATE TABLE notes_new ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,"
	    "  text TEXT NOT NULL,"
	    "  author_id INTEGER REFERENCES staff (id),"
	    "  created_at TEXT NOT NULL);"
	    "INSERT INTO notes_new SELECT * FROM notes;"
	    "DROP TABLE notes;"
	    "ALTER TABLE notes_new RENAME TO notes;"
	    "DELETE FROM sqlite_sequence WHERE name = 'notes';"
	    "INSERT INTO sqlite_sequence (name, seq) SELECT 'notes', max("
	    " (SELECT coalesce(max(id), 0) FROM notes),"
	    " (SELECT coalesce(max(CAST(substr(subject, 6) AS INTEGER)), 0) FROM events"
	    "  WHERE subject GLOB 'note/[0-9]*'));"
	    "CREATE TABLE exits_new ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  employee_id INTEGER NOT NULL UNIQUE REFERENCES employees (id) ON DELETE CASCADE,"
	    "  exit_date TEXT NOT NULL,"
	    "  category TEXT NOT NULL,"
	    "  destination TEXT,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "INSERT INTO exits_new SELECT * FROM exits;"
	    "DROP TABLE exits;"
	    "ALTER TABLE exits_new RENAME TO exits;"
	    "DELETE FROM sqlite_sequence WHERE name = 'exits';"
	    "INSERT INTO sqlite_sequence (name, seq) SELECT 'exits', max("
	    " (SELECT coalesce(max(id), 0) FROM exits),"
	    " (SELECT coalesce(max(CAST(substr(subject, 6) AS INTEGER)), 0) FROM events"
	    "  WHERE subject GLOB 'exit/[0-9]*'));"
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
	/* Why a file was reopened after an exit (employees.status_reason). */
	{ 10, "ALTER TABLE employees ADD COLUMN status_reason TEXT;" },
	/*
	 * The outbox's delivery by channel plugins: a claim with a lease (a
	 * crash releases it when the lease ends), the next attempt, the error.
	 */
	{ 11,
	    "ALTER TABLE outbox ADD COLUMN claimed_by TEXT;"
	    "ALTER TABLE outbox ADD COLUMN lease_until INTEGER;"
	    "ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER;"
	    "ALTER TABLE outbox ADD COLUMN last_error TEXT;" },
};

const struct db_module core_module = {
	.name = "core",
	.migrations = core_migrations,
	.nmigrations = TR_NELEM(core_migrations),
};

const struct route core_routes[] = {
	{ .method = M_GET,
	    .pattern = "/v1/health",
	    .fn = system_health,
	    .action = ACT_HEALTH_READ },
	{ .method = M_GET, .pattern = "/v1/whoami", .fn = system_whoami, .action = ACT_WHOAMI },
	{ .method = M_GET, .pattern = "/v1/backup", .fn = system_backup, .action = ACT_BACKUP },
	{ .method = M_GET,
	    .pattern = "/v1/plugins",
	    .fn = system_plugins,
	    .action = ACT_PLUGINS_READ },
	{ .method = M_POST,
	    .pattern = "/v1/plugins/reload",
	    .fn = system_plugins_reload,
	    .action = ACT_PLUGINS_RELOAD },
	{ .method = M_GET, .pattern = "/v1/events", .fn = events_list, .action = ACT_EVENTS_READ },
	{ .method = M_GET,
	    .pattern = "/v1/structures",
	    .fn = structures_list,
	    .action = ACT_STRUCTURE_READ },
	{ .method = M_POST,
	    .pattern = "/v1/structures",
	    .fn = structures_create,
	    .action = ACT_STRUCTURE_WRITE,
	    .flags = RF_BODY },
	{ .method = M_GET,
	    .pattern = "/v1/structures/{id}",
	    .fn = structures_get,
	    .action = ACT_STRUCTURE_READ },
	{ .method = M_PATCH,
	    .pattern = "/v1/structures/{id}",
	    .fn = structures_update,
	    .action = ACT_STRUCTURE_WRITE,
	    .flags = RF_BODY },
	{ .method = M_GET, .pattern = "/v1/staff", .fn = staff_list, .action = ACT_STAFF_READ },
	{ .method = M_POST,
	    .pattern = "/v1/staff",
	    .fn = staff_create,
	    .action = ACT_STAFF_WRITE,
	    .flags = RF_BODY },
	{ .method = M_GET, .pattern = "/v1/staff/{id}", .fn = staff_get, .action = ACT_STAFF_READ },
	{ .method = M_PATCH,
	    .pattern = "/v1/staff/{id}",
	    .fn = staff_update,
	    .action = ACT_STAFF_WRITE,
	    .flags = RF_BODY },
	{ .method = M_GET, .pattern = "/v1/policy", .fn = policy_show, .action = ACT_POLICY_READ },
	{ .method = M_GET, .pattern = "/v1/audit", .fn = audit_api_list, .action = ACT_AUDIT_READ },
};

const size_t ncore_routes = TR_NELEM(core_routes);
