/*
 * The demo's production month (tremplinctl demo, the workshop): the last
 * full calendar month before today at the ACI "espaces verts" — three
 * clients (a town hall, a social landlord, a company), their orders and work
 * orders, a safety briefing and protective equipment, a planning by
 * half-day within each person's contract, attendance with some absences and
 * a late arrival, output and a quality check, and one near miss — so that
 * every report of the production plugin shows real figures.
 *
 * Written as the rest of the demo: straight into the tables (the plugin's
 * own migrations, recorded under its name, so the plugin finds its schema
 * when the daemon loads it), in one transaction, without journal events.
 */
#include "demo.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "../../plugins/production/migrations.h"
#include "calendar.h"
#include "db.h"
#include "util.h"

#define MAXPEOPLE 64

static int
run(sqlite3 *h, char *err, size_t errlen, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "production demo: %s", sqlite3_errmsg(h));
		return -1;
	}
	va_start(ap, types);
	for (int i = 0; types[i] != '\0'; i++) {
		if (types[i] == 'i')
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		else if (types[i] == 'd')
			sqlite3_bind_double(st, i + 1, va_arg(ap, double));
		else {
			const char *s = va_arg(ap, const char *);
			if (s != NULL)
				sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT);
		}
	}
	va_end(ap);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "production demo: %s", sqlite3_errmsg(h));
		return -1;
	}
	return 0;
}

static int64_t
last_id(sqlite3 *h)
{
	return sqlite3_last_insert_rowid(h);
}

static void
day_text(int64_t day, char *buf, size_t len)
{
	cal_format(day, buf, len);
}

/* The weekly hours of the contract in force on day (not suspended), or 0. */
static double
contract_hours(sqlite3 *h, int64_t employee, const char *day)
{
	static const char sql[] =
	    "SELECT c.weekly_hours FROM contracts c WHERE c.employee_id = ?1"
	    " AND c.start_date <= ?2 AND coalesce(c.ended_on, c.end_date) >= ?2"
	    " AND NOT EXISTS (SELECT 1 FROM contract_suspensions s WHERE s.contract_id = c.id"
	    "   AND s.start_date <= ?2 AND s.end_date >= ?2)";
	sqlite3_stmt *st;
	double hours = 0;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, employee);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		hours = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return hours;
}

int
demo_production(struct db *db, int64_t structure, int64_t today, char *err, size_t errlen)
{
	static struct migration migrations[16];
	static const struct db_module module = { .name = "production", .migrations = migrations };
	struct db_module m = module;
	const struct db_module *mods[] = { &m };
	sqlite3 *h = db_handle(db);
	int64_t people[MAXPEOPLE], clients[3], orders[3], wos[3], briefing, incident;
	size_t n = 0, nm = production_nmigrations;
	char d[16], from[16], to[16], stamp[32];
	int y, mo, dd;
	int64_t first, last;
	sqlite3_stmt *st;

	if (nm > TR_NELEM(migrations)) {
		snprintf(err, errlen, "production demo: too many migrations");
		return -1;
	}
	for (size_t i = 0; i < nm; i++) {
		migrations[i].version = production_migrations[i].version;
		migrations[i].sql = production_migrations[i].sql;
	}
	m.nmigrations = nm;
	if (db_migrate(db, mods, 1, err, errlen) == -1)
		return -1;
	/* The last full month before today. */
	cal_to_ymd(today, &y, &mo, &dd);
	last = cal_from_ymd(y, mo, 1) - 1;
	cal_to_ymd(last, &y, &mo, &dd);
	first = cal_from_ymd(y, mo, 1);
	day_text(first, from, sizeof(from));
	day_text(last, to, sizeof(to));
	snprintf(stamp, sizeof(stamp), "%sT08:00:00Z", from);
	/* Who worked that month: a contract in force on one of its days at least. */
	if (sqlite3_prepare_v2(h,
	        "SELECT DISTINCT employee_id FROM contracts WHERE structure_id = ?1"
	        " AND start_date <= ?3 AND coalesce(ended_on, end_date) >= ?2 ORDER BY employee_id",
	        -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "production demo: %s", sqlite3_errmsg(h));
		return -1;
	}
	sqlite3_bind_int64(st, 1, structure);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW && n < MAXPEOPLE)
		people[n++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);

	if (db_begin(db) == -1) {
		snprintf(err, errlen, "production demo: cannot begin a transaction");
		return -1;
	}
#define RUN(...)                                                                                   \
	do {                                                                                       \
		if (run(h, err, errlen, __VA_ARGS__) == -1)                                        \
			goto fail;                                                                 \
	} while (0)
	static const struct {
		const char *name, *kind, *siret, *address;
	} client_seed[] = {
		{ "Mairie de Guéret", "local_authority", NULL,
		    "Esplanade François Mitterrand, Guéret" },
		{ "Creusalis", "local_authority", NULL, "12 avenue Charles de Gaulle, Guéret" },
		{ "SARL Paysages du Limousin", "company", "51234567800019", "ZA du Cher, Guéret" },
	};
	static const struct {
		const char *title, *status, *wo, *site, *team, *unit;
		double quantity;
		int64_t price;
	} order_seed[] = {
		{ "Entretien des espaces verts communaux", "in_progress", "Tonte et taille, parcs",
		    "Parc du Château, Guéret", "Équipe entretien", "m2", 12000, 12 },
		{ "Débroussaillage des résidences", "in_progress",
		    "Débroussaillage cité des Granges", "Cité des Granges, Guéret",
		    "Équipe aménagement", "m2", 8000, 18 },
		{ "Création de massifs", "accepted", "Plantation de massifs", "ZA du Cher, Guéret",
		    "Équipe aménagement", "u", 40, 2500 },
	};
	for (size_t i = 0; i < 3; i++) {
		RUN("INSERT INTO production_clients (structure_id, name, kind, siret, address,"
		    " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
		    "isssss", structure, client_seed[i].name, client_seed[i].kind,
		    client_seed[i].siret, client_seed[i].address, stamp);
		clients[i] = last_id(h);
		RUN("INSERT INTO production_orders (structure_id, client_id, title, status,"
		    " start_date, end_date, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, "
		    "?6, ?7,"
		    " ?7)",
		    "iisssss", structure, clients[i], order_seed[i].title, order_seed[i].status,
		    from, to, stamp);
		orders[i] = last_id(h);
		RUN("INSERT INTO production_order_lines (order_id, description, quantity, unit,"
		    " unit_price_cents, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		    "isdsis", orders[i], order_seed[i].title, order_seed[i].quantity,
		    order_seed[i].unit, order_seed[i].price, stamp);
		RUN("INSERT INTO production_work_orders (order_id, name, site, start_date, "
		    "end_date,"
		    " team, skills, risks, equipment, planned_hours, created_at, updated_at)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, '[\"tonte\",\"taille\"]',"
		    " '[\"coupure\",\"bruit\"]', '[\"gants\",\"chaussures de sécurité\"]', 400, "
		    "?7, ?7)",
		    "issssss", orders[i], order_seed[i].wo, order_seed[i].site, from, to,
		    order_seed[i].team, stamp);
		wos[i] = last_id(h);
	}
	day_text(first - 3, d, sizeof(d));
	RUN("INSERT INTO production_briefings (structure_id, topic, held_on, created_at)"
	    " VALUES (?1, 'Utilisation des débroussailleuses et port des EPI', ?2, ?3)",
	    "iss", structure, d, stamp);
	briefing = last_id(h);
	for (size_t p = 0; p < n; p++) {
		RUN("INSERT INTO production_briefing_attendees (employee_id, briefing_id, "
		    "created_at)"
		    " VALUES (?1, ?2, ?3)",
		    "iis", people[p], briefing, stamp);
		RUN("INSERT INTO production_equipment (employee_id, item, size, issued_on, "
		    "renewal_due,"
		    " created_at, updated_at) VALUES (?1, 'gants', '9', ?2, ?3, ?4, ?4)",
		    "isss", people[p], d, to, stamp);
		RUN("INSERT INTO production_equipment (employee_id, item, size, issued_on,"
		    " created_at, updated_at) VALUES (?1, 'chaussures de sécurité', '42', ?2, ?3, "
		    "?3)",
		    "iss", people[p], d, stamp);
	}
	/* Each working day, both half-days within the week's contract hours. */
	for (int64_t day = first, k = -1; day <= last; day++) {
		int r = -1; /* the rank of the person among those at work that day */
		if (!cal_is_business_day(day, 1))
			continue;
		k++;
		day_text(day, d, sizeof(d));
		for (size_t p = 0; p < n; p++) {
			double weekly = contract_hours(h, people[p], d), planned = 0;
			char monday[16];
			int64_t wo = wos[p % 3];
			sqlite3_stmt *q;

			if (weekly <= 0)
				continue;
			r++;
			day_text(cal_start_of_week(day), monday, sizeof(monday));
			if (sqlite3_prepare_v2(h,
			        "SELECT total(hours) FROM production_assignments WHERE employee_id "
			        "= ?1"
			        " AND date >= ?2 AND date < ?3",
			        -1, &q, NULL) == SQLITE_OK) {
				sqlite3_bind_int64(q, 1, people[p]);
				sqlite3_bind_text(q, 2, monday, -1, SQLITE_TRANSIENT);
				sqlite3_bind_text(q, 3, d, -1, SQLITE_TRANSIENT);
				if (sqlite3_step(q) == SQLITE_ROW)
					planned = sqlite3_column_double(q, 0);
				sqlite3_finalize(q);
			}
			for (int half = 0; half < 2; half++) {
				const char *slot = half ? "afternoon" : "morning";
				/*
				 * Absences, by working day k of the month: two unjustified
				 * mornings, three days of sick leave, a PMSMP day; one late.
				 */
				const char *reason = NULL;
				if (planned + 3.5 > weekly + 0.001)
					break;
				planned += 3.5;
				RUN("INSERT INTO production_assignments (employee_id, "
				    "work_order_id, date,"
				    " slot, hours, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, "
				    "3.5, ?5,"
				    " ?5)",
				    "iisss", people[p], wo, d, slot, stamp);
				if (r == 1 && half == 0 && (k == 2 || k == 7))
					reason = "unjustified";
				else if (r == 2 && k >= 10 && k <= 12)
					reason = "sick_leave";
				else if (r == 3 && k == 5)
					reason = "pmsmp";
				if (reason != NULL)
					RUN("INSERT INTO production_attendance (employee_id, date, "
					    "slot,"
					    " status, reason, contract_weekly_hours, created_at, "
					    "updated_at)"
					    " VALUES (?1, ?2, ?3, 'absent', ?4, ?5, ?6, ?6)",
					    "isssds", people[p], d, slot, reason, weekly, stamp);
				else if (r == 0 && half == 0 && k == 1)
					RUN("INSERT INTO production_attendance (employee_id, date, "
					    "slot,"
					    " status, late_minutes, hours, contract_weekly_hours, "
					    "created_at,"
					    " updated_at) VALUES (?1, ?2, ?3, 'late', 20, 3.17, "
					    "?4, ?5, ?5)",
					    "issds", people[p], d, slot, weekly, stamp);
				else
					RUN("INSERT INTO production_attendance (employee_id, date, "
					    "slot,"
					    " status, hours, contract_weekly_hours, created_at, "
					    "updated_at)"
					    " VALUES (?1, ?2, ?3, 'present', 3.5, ?4, ?5, ?5)",
					    "issds", people[p], d, slot, weekly, stamp);
			}
		}
		/* What each work order gave that day. */
		for (size_t i = 0; i < 3; i++)
			RUN("INSERT INTO production_outputs (work_order_id, date, description, "
			    "quantity,"
			    " unit, hours_spent, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, "
			    "?5, ?6,"
			    " ?7, ?7)",
			    "issdsds", wos[i], d, order_seed[i].wo, i == 2 ? 2.0 : 450.0,
			    order_seed[i].unit, 10.5, stamp);
	}
	day_text(first + 11, d, sizeof(d));
	RUN("INSERT INTO production_quality_checks (work_order_id, date, result, client_feedback,"
	    " created_at, updated_at) VALUES (?1, ?2, 'conform', 'Travail soigné', ?3, ?3)",
	    "iss", wos[0], d, stamp);
	RUN("INSERT INTO production_incidents (structure_id, kind, occurred_on, site, "
	    "work_order_id,"
	    " description, first_aid, work_accident, created_at, updated_at) VALUES (?1,"
	    " 'near_miss', ?2, ?3, ?4, 'Projection de caillou par la débroussailleuse, visière"
	    " relevée', NULL, 0, ?5, ?5)",
	    "issis", structure, d, order_seed[1].site, wos[1], stamp);
	incident = last_id(h);
	/*
	 * A row of each record besides (the policy matrix reads every field of
	 * each): the town hall's contact, the person who saw the near miss, an
	 * ETI supervising that morning, a non-conformity put right.
	 */
	RUN("INSERT INTO production_client_contacts (client_id, name, role, email, phone,"
	    " created_at) VALUES (?1, 'Hélène Marchand', 'Responsable espaces verts',"
	    " 'h.marchand@example.org', '05 55 00 00 00', ?2)",
	    "is", clients[0], stamp);
	if (n > 0)
		RUN("INSERT INTO production_incident_people (employee_id, incident_id, involvement,"
		    " created_at, updated_at) VALUES (?1, ?2, 'involved', ?3, ?3)",
		    "iis", people[0], incident, stamp);
	RUN("INSERT INTO production_supervisions (work_order_id, date, slot, staff_id,"
	    " created_at) SELECT ?1, ?2, 'morning', id, ?3 FROM staff WHERE role = 'eti'"
	    " ORDER BY id LIMIT 1",
	    "iss", wos[0], d, stamp);
	RUN("INSERT INTO production_nonconformities (work_order_id, found_on, description,"
	    " corrective_action, closed_on, created_at, updated_at) VALUES (?1, ?2,"
	    " 'Bordures non reprises', 'Reprise des bordures le lendemain', ?2, ?3, ?3)",
	    "iss", wos[0], d, stamp);
#undef RUN
	if (db_commit(db) == -1) {
		snprintf(err, errlen, "production demo: commit: %s", sqlite3_errmsg(h));
		return -1;
	}
	return 0;
fail:
	db_rollback(db);
	return -1;
}
