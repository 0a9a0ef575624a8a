/*
 * The registry plugin's schema, append only (see plugins/example/migrations.c
 * for the rules). What the tables hold:
 *   registry_state      one row: the date the next run asks since=, and
 *                       where a run that stopped midway resumes (the next
 *                       page's URL, and the since its pagination started at)
 *   registry_runs       one row per run: counts and the last error, in words
 *                       without personal data
 *   registry_links      who the plugin created from the platform, to review
 *   registry_proposals  the declared record "proposal": a field of a person's
 *                       file or PASS the platform says otherwise, for a CIP
 *   registry_unknown_codes codes the plugin does not know, verbatim
 *   registry_rome       France Travail's ROME fiches, versioned (ft.c)
 *   registry_platform_values the declared record "platform_value": a field
 *                       the platform gives that Tremplin has no place for
 *                       (salarieLangueFrancaise), verbatim, with the meaning
 *                       it was asked with
 */
#include "migrations.h"

const struct tremplin_migration registry_migrations[] = {
	{ 1,
	    "CREATE TABLE registry_state (id INTEGER PRIMARY KEY CHECK (id = 1),"
	    "  since TEXT, cursor_url TEXT, cursor_since TEXT, last_success_at TEXT);"
	    "INSERT INTO registry_state (id) VALUES (1);"
	    "CREATE TABLE registry_runs (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  trigger TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,"
	    "  status TEXT NOT NULL, since TEXT, resumed INTEGER NOT NULL DEFAULT 0,"
	    "  requests INTEGER NOT NULL DEFAULT 0, pages INTEGER NOT NULL DEFAULT 0,"
	    "  fetched INTEGER NOT NULL DEFAULT 0, matched INTEGER NOT NULL DEFAULT 0,"
	    "  created INTEGER NOT NULL DEFAULT 0, proposed INTEGER NOT NULL DEFAULT 0,"
	    "  skipped INTEGER NOT NULL DEFAULT 0, flagged INTEGER NOT NULL DEFAULT 0,"
	    "  errors INTEGER NOT NULL DEFAULT 0, throttled INTEGER NOT NULL DEFAULT 0,"
	    "  retries INTEGER NOT NULL DEFAULT 0, notifications INTEGER NOT NULL DEFAULT 0,"
	    "  last_error TEXT);"
	    "CREATE TABLE registry_links (siret TEXT NOT NULL, pass_number TEXT NOT NULL,"
	    "  employee_id INTEGER NOT NULL, pass_id INTEGER, created_run INTEGER NOT NULL,"
	    "  PRIMARY KEY (siret, pass_number));"
	    "CREATE TABLE registry_proposals ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  employee_id INTEGER NOT NULL,"
	    "  target TEXT NOT NULL,"
	    "  target_id INTEGER NOT NULL,"
	    "  field TEXT NOT NULL,"
	    "  current_value TEXT,"
	    "  proposed_value TEXT NOT NULL,"
	    "  status TEXT NOT NULL DEFAULT 'pending',"
	    "  decided_by INTEGER,"
	    "  decided_at TEXT,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "CREATE INDEX registry_proposals_employee ON registry_proposals (employee_id, id);"
	    "CREATE INDEX registry_proposals_target ON registry_proposals (target, target_id, "
	    "field);"
	    "CREATE TABLE registry_unknown_codes (field TEXT NOT NULL, code TEXT NOT NULL,"
	    "  seen INTEGER NOT NULL, first_seen_at TEXT NOT NULL, PRIMARY KEY (field, code));" },
	/* France Travail's ROME 4.0 fiches métiers: a referential, no personal data. */
	{ 2,
	    "CREATE TABLE registry_rome (code TEXT PRIMARY KEY, libelle TEXT NOT NULL,"
	    "  version INTEGER NOT NULL, competences TEXT NOT NULL, fetched_at TEXT NOT NULL,"
	    "  changed_at TEXT NOT NULL)" },
	/*
	 * A value of the platform's kept as it says it, with the meaning the
	 * request asked for (salarieLangueFrancaise changed meaning in 2026).
	 */
	{ 3,
	    "CREATE TABLE registry_platform_values (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  employee_id INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL,"
	    "  meaning TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
	    "  UNIQUE (employee_id, field))" },
};

const size_t registry_nmigrations = sizeof(registry_migrations) / sizeof(registry_migrations[0]);
