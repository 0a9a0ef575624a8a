/*
 * The production plugin's schema, as migrations: append only (a released
 * version is never edited), every table production_..., one column per
 * declared column with "id INTEGER PRIMARY KEY AUTOINCREMENT" first.
 */
#include "migrations.h"

const struct tremplin_migration production_migrations[] = {
	{ 1,
	    "CREATE TABLE production_clients (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " structure_id INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, siret TEXT,"
	    " address TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
	    "CREATE TABLE production_client_contacts (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " client_id INTEGER NOT NULL, name TEXT NOT NULL, role TEXT, email TEXT, phone TEXT,"
	    " created_at TEXT NOT NULL);"
	    "CREATE INDEX production_client_contacts_client ON production_client_contacts"
	    " (client_id, id);"
	    "CREATE TABLE production_orders (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " structure_id INTEGER NOT NULL, client_id INTEGER NOT NULL, title TEXT NOT NULL,"
	    " status TEXT NOT NULL DEFAULT 'quote', start_date TEXT, end_date TEXT,"
	    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
	    "CREATE TABLE production_order_lines (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " order_id INTEGER NOT NULL, description TEXT NOT NULL, quantity REAL NOT NULL,"
	    " unit TEXT NOT NULL, unit_price_cents INTEGER NOT NULL, created_at TEXT NOT NULL);"
	    "CREATE INDEX production_order_lines_order ON production_order_lines (order_id, id);"
	    "CREATE TABLE production_work_orders (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " order_id INTEGER NOT NULL, name TEXT NOT NULL, site TEXT NOT NULL,"
	    " start_date TEXT NOT NULL, end_date TEXT NOT NULL, team TEXT NOT NULL,"
	    " skills TEXT NOT NULL DEFAULT '[]', risks TEXT NOT NULL DEFAULT '[]',"
	    " equipment TEXT NOT NULL DEFAULT '[]', planned_hours REAL,"
	    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
	    "CREATE INDEX production_work_orders_order ON production_work_orders (order_id, id);"
	    "CREATE TABLE production_briefings (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " structure_id INTEGER NOT NULL, topic TEXT NOT NULL, held_on TEXT NOT NULL,"
	    " created_by INTEGER, created_at TEXT NOT NULL);"
	    "CREATE TABLE production_briefing_attendees (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " employee_id INTEGER NOT NULL, briefing_id INTEGER NOT NULL,"
	    " created_at TEXT NOT NULL, UNIQUE (employee_id, briefing_id));"
	    "CREATE TABLE production_equipment (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " employee_id INTEGER NOT NULL, item TEXT NOT NULL, size TEXT,"
	    " issued_on TEXT NOT NULL, renewal_due TEXT, created_at TEXT NOT NULL,"
	    " updated_at TEXT NOT NULL);"
	    "CREATE INDEX production_equipment_employee ON production_equipment (employee_id, id);"
	    "CREATE TABLE production_incidents (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " structure_id INTEGER NOT NULL, kind TEXT NOT NULL, occurred_on TEXT NOT NULL,"
	    " site TEXT, work_order_id INTEGER, description TEXT NOT NULL, first_aid TEXT,"
	    " work_accident INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,"
	    " updated_at TEXT NOT NULL);"
	    "CREATE TABLE production_incident_people (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " employee_id INTEGER NOT NULL, incident_id INTEGER NOT NULL,"
	    " involvement TEXT NOT NULL, medical_detail TEXT, created_at TEXT NOT NULL,"
	    " updated_at TEXT NOT NULL, UNIQUE (employee_id, incident_id));"
	    "CREATE TABLE production_assignments (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " employee_id INTEGER NOT NULL, work_order_id INTEGER NOT NULL, date TEXT NOT NULL,"
	    " slot TEXT NOT NULL, hours REAL NOT NULL DEFAULT 3.5, created_by INTEGER,"
	    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
	    " UNIQUE (employee_id, date, slot));"
	    "CREATE INDEX production_assignments_date ON production_assignments (date, "
	    "work_order_id);"
	    "CREATE TABLE production_attendance (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " employee_id INTEGER NOT NULL, date TEXT NOT NULL, slot TEXT NOT NULL,"
	    " status TEXT NOT NULL, late_minutes INTEGER, reason TEXT, hours REAL,"
	    " created_by INTEGER, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
	    " UNIQUE (employee_id, date, slot));"
	    "CREATE INDEX production_attendance_date ON production_attendance (date, status);" },
	/* The weekly hours of the contract in force on the day (hours_below_contract.v1). */
	{ 2, "ALTER TABLE production_attendance ADD COLUMN contract_weekly_hours REAL" },
	{ 3,
	    "CREATE TABLE production_outputs (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " work_order_id INTEGER NOT NULL, date TEXT NOT NULL, description TEXT NOT NULL,"
	    " quantity REAL NOT NULL, unit TEXT NOT NULL, hours_spent REAL NOT NULL,"
	    " created_by INTEGER, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
	    "CREATE INDEX production_outputs_work_order ON production_outputs (work_order_id, id);"
	    "CREATE TABLE production_quality_checks (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " work_order_id INTEGER NOT NULL, date TEXT NOT NULL, result TEXT NOT NULL,"
	    " to_redo TEXT, checked_by INTEGER, client_feedback TEXT, created_at TEXT NOT NULL,"
	    " updated_at TEXT NOT NULL);"
	    "CREATE INDEX production_quality_checks_work_order ON production_quality_checks"
	    " (work_order_id, id);"
	    "CREATE TABLE production_nonconformities (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " work_order_id INTEGER NOT NULL, found_on TEXT NOT NULL, description TEXT NOT NULL,"
	    " corrective_action TEXT, closed_on TEXT, created_at TEXT NOT NULL,"
	    " updated_at TEXT NOT NULL);"
	    "CREATE TABLE production_supervisions (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " work_order_id INTEGER NOT NULL, date TEXT NOT NULL, slot TEXT NOT NULL,"
	    " staff_id INTEGER NOT NULL, created_at TEXT NOT NULL,"
	    " UNIQUE (work_order_id, date, slot, staff_id));" },
	/*
	 * Planning by the hours: an assignment is a half-day (slot morning or
	 * afternoon) or a time range (slot "hours", start_time and end_time
	 * "HH:MM"). The half-day's UNIQUE goes (two ranges may share a day; the
	 * check refuses any overlap), so the table is rebuilt with its rows.
	 */
	{ 4,
	    "CREATE TABLE production_assignments_new (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " employee_id INTEGER NOT NULL, work_order_id INTEGER NOT NULL, date TEXT NOT NULL,"
	    " slot TEXT NOT NULL, hours REAL NOT NULL DEFAULT 3.5, created_by INTEGER,"
	    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL, start_time TEXT,"
	    " end_time TEXT);"
	    "INSERT INTO production_assignments_new (id, employee_id, work_order_id, date, slot,"
	    " hours, created_by, created_at, updated_at) SELECT id, employee_id, work_order_id,"
	    " date, slot, hours, created_by, created_at, updated_at FROM production_assignments;"
	    "DROP TABLE production_assignments;"
	    "ALTER TABLE production_assignments_new RENAME TO production_assignments;"
	    "CREATE INDEX production_assignments_date ON production_assignments (date, "
	    "work_order_id);"
	    "CREATE INDEX production_assignments_employee ON production_assignments"
	    " (employee_id, date);" },
};

const size_t production_nmigrations =
    sizeof(production_migrations) / sizeof(production_migrations[0]);
