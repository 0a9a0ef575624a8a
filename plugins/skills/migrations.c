/*
 * The skills plugin's schema, as migrations: append only (a released
 * migration is never edited), every name starts with skills_, and a table
 * holding a declared record has one column per declared column, "id INTEGER
 * PRIMARY KEY AUTOINCREMENT" first.
 */
#include "migrations.h"

const struct tremplin_migration skills_migrations[] = {
	{ 1,
	    /* Referentials and their competences: nobody's, never deleted (evaluations name them). */
	    "CREATE TABLE skills_referentials ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  code TEXT NOT NULL,"
	    "  title TEXT NOT NULL,"
	    "  version INTEGER NOT NULL,"
	    "  source TEXT NOT NULL,"
	    "  levels TEXT NOT NULL,"
	    "  acquired_from INTEGER NOT NULL,"
	    "  created_at TEXT NOT NULL,"
	    "  UNIQUE (code, version));"
	    "CREATE TABLE skills_competences ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  referential_id INTEGER NOT NULL REFERENCES skills_referentials (id),"
	    "  block_code TEXT NOT NULL,"
	    "  block_title TEXT NOT NULL,"
	    "  code TEXT NOT NULL,"
	    "  external_code TEXT,"
	    "  title TEXT NOT NULL,"
	    "  kind TEXT NOT NULL,"
	    "  UNIQUE (referential_id, code));"
	    /* A person's evaluations: append only, a correction names the entry it corrects. */
	    "CREATE TABLE skills_evaluations ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  employee_id INTEGER NOT NULL,"
	    "  competence_id INTEGER NOT NULL,"
	    "  level INTEGER NOT NULL,"
	    "  evaluated_on TEXT NOT NULL,"
	    "  evaluator_id INTEGER NOT NULL,"
	    "  kind TEXT NOT NULL,"
	    "  situation TEXT,"
	    "  work_order_id INTEGER,"
	    "  evidence TEXT,"
	    "  comment TEXT,"
	    "  corrects_id INTEGER,"
	    "  created_by INTEGER,"
	    "  created_at TEXT NOT NULL);"
	    "CREATE INDEX skills_evaluations_person ON skills_evaluations"
	    "  (employee_id, competence_id, evaluated_on);"
	    "CREATE INDEX skills_evaluations_corrects ON skills_evaluations (corrects_id);"
	    /*
	     * What the plugin needs of the kernel's contracts and files, kept from
	     * their events through record_get (a plugin reads no kernel table):
	     * who is under contract when, and their referent ETI.
	     */
	    "CREATE TABLE skills_contracts (contract_id INTEGER PRIMARY KEY,"
	    "  employee_id INTEGER NOT NULL, start_date TEXT NOT NULL, end_date TEXT NOT NULL,"
	    "  ended_on TEXT);"
	    "CREATE INDEX skills_contracts_person ON skills_contracts (employee_id);"
	    "CREATE TABLE skills_people (employee_id INTEGER PRIMARY KEY,"
	    "  referent_eti_id INTEGER);" },
	{ 2,
	    "CREATE TABLE skills_attestations ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  employee_id INTEGER NOT NULL,"
	    "  period_from TEXT NOT NULL,"
	    "  period_to TEXT NOT NULL,"
	    "  savoir_etre_consent INTEGER NOT NULL DEFAULT 0,"
	    "  consent_on TEXT,"
	    "  eti_id INTEGER NOT NULL,"
	    "  coordinator_id INTEGER,"
	    "  issued_by INTEGER,"
	    "  created_at TEXT NOT NULL);"
	    "CREATE INDEX skills_attestations_person ON skills_attestations (employee_id, id);" },
	{ 3,
	    "CREATE TABLE skills_badges ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  employee_id INTEGER NOT NULL,"
	    "  competence_id INTEGER NOT NULL,"
	    "  level INTEGER,"
	    "  credential_id TEXT UNIQUE,"
	    "  credential TEXT,"
	    "  revoked_on TEXT,"
	    "  revocation_reason TEXT,"
	    "  issued_by INTEGER,"
	    "  created_at TEXT NOT NULL);"
	    "CREATE INDEX skills_badges_person ON skills_badges (employee_id, id);" },
	{ 4, "ALTER TABLE skills_competences ADD COLUMN hierarchy TEXT" },
	{ 5,
	    "CREATE TABLE skills_sessions ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  title TEXT NOT NULL, work_situation TEXT, objectives TEXT, criteria TEXT,"
	    "  difficulties TEXT, resources TEXT, evaluation_methods TEXT,"
	    "  status TEXT NOT NULL DEFAULT 'draft', planned_on TEXT, place TEXT, eti_id INTEGER,"
	    "  what_happened TEXT, copied_from INTEGER, created_by INTEGER,"
	    "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
	    "CREATE TABLE skills_session_steps ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  session_id INTEGER NOT NULL REFERENCES skills_sessions (id),"
	    "  position INTEGER NOT NULL, contents TEXT NOT NULL, method TEXT NOT NULL,"
	    "  duration_min INTEGER NOT NULL);"
	    "CREATE TABLE skills_session_competences ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  session_id INTEGER NOT NULL REFERENCES skills_sessions (id),"
	    "  competence_id INTEGER NOT NULL,"
	    "  UNIQUE (session_id, competence_id));"
	    "CREATE TABLE skills_participations ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  employee_id INTEGER NOT NULL,"
	    "  session_id INTEGER NOT NULL,"
	    "  attended INTEGER, note TEXT, created_at TEXT NOT NULL,"
	    "  UNIQUE (employee_id, session_id));" },
	/*
	 * ROME fiches the registry plugin fetched (its view registry.rome_fiches.v1),
	 * each version offered once as a new referential version a coordinator
	 * accepts or rejects. No personal data.
	 */
	{ 6,
	    "CREATE TABLE skills_rome_proposals ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  rome_code TEXT NOT NULL, fiche_version INTEGER NOT NULL, libelle TEXT NOT NULL,"
	    "  competences TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',"
	    "  referential_id INTEGER, decided_by INTEGER, decided_at TEXT,"
	    "  created_at TEXT NOT NULL, UNIQUE (rome_code, fiche_version))" },
};

const size_t skills_nmigrations = sizeof(skills_migrations) / sizeof(skills_migrations[0]);
