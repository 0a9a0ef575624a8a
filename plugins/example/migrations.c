/*
 * The example plugin's schema, as migrations: version n runs once, in order,
 * in a transaction and under the plugin's rights, and is recorded under the
 * module "example" in schema_migrations.
 *
 * Rules of the file:
 *   - append only: a released migration is never edited (a database that
 *     ran it would not run it again); change a table with a new version;
 *   - every table and index is named example_...: the host's SQL authorizer
 *     refuses anything else, in migrations as in statements;
 *   - a table that holds a declared record has one column per declared
 *     column, with the same names, and "id INTEGER PRIMARY KEY
 *     AUTOINCREMENT" first, so that an erased row's id is never given again.
 *
 * The SQL is C text rather than a .sql file turned into C at build time: the
 * plugin builds out of the tree with one cc command and no generator, and
 * the text stays reviewed where it is.
 */
#include "migrations.h"

const struct tremplin_migration example_migrations[] = {
	{ 1,
	    "CREATE TABLE example_counts (type TEXT PRIMARY KEY, n INTEGER NOT NULL,"
	    " last_id INTEGER NOT NULL)" },
	{ 2,
	    "CREATE TABLE example_checkins ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  employee_id INTEGER NOT NULL,"
	    "  day TEXT NOT NULL,"
	    "  present INTEGER NOT NULL,"
	    "  hours REAL,"
	    "  incident TEXT NOT NULL DEFAULT 'none',"
	    "  medical_detail TEXT,"
	    "  note TEXT,"
	    "  created_by INTEGER,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL,"
	    "  UNIQUE (employee_id, day));"
	    "CREATE INDEX example_checkins_employee ON example_checkins (employee_id, id);" },
};

const size_t example_nmigrations = sizeof(example_migrations) / sizeof(example_migrations[0]);
