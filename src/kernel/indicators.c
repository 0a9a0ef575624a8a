/*
 * GET /v1/indicators?structure=&from=&to=: the figures funders ask for, per
 * structure and period (DOMAIN.md, "Exit"): people in the pathway, hired,
 * exits by category, the rate of sorties dynamiques, the average length of
 * a pathway, reviews held on time.
 *
 * Counts, never people: the CIPs and the coordinator read them (exits by
 * category are orientation data, which the ETI does not read). Files erased
 * or purged left anonymous counts by year (rights.c, indicator_counts): the
 * years the period covers whole add them, so a purge does not change the
 * figures of a past year; a period cut inside a year counts the files on
 * hand only, and "retained" says which years were added.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "csv.h"
#include "db.h"
#include "kernel.h"
#include "resource.h"
#include "server.h"
#include "util.h"

static const char *const exit_categories[] = { "emploi_durable", "emploi_transition",
	"sortie_positive", "autre", "exclue" };

/* The counts, live and retained, of one request. */
struct figures {
	int64_t in_pathway, hired, exits[5], pathway_days, pathway_exits, reviews_due,
	    reviews_on_time, files_removed;
};

/* The first contract's start (the hiring) and the last day under contract, per person. */
#define HIRES                                                                                      \
	"WITH h AS (SELECT e.id, min(c.start_date) AS hired,"                                      \
	" max(coalesce(c.ended_on, c.end_date)) AS last_end FROM employees e"                      \
	" JOIN contracts c ON c.employee_id = e.id"                                                \
	" WHERE (?1 IS NULL OR e.structure_id = ?1) GROUP BY e.id) "

static int
one(struct db *db, const char *sql, int64_t structure, const char *from, const char *to,
    const char *today, int64_t *out, int nout)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	if (structure)
		sqlite3_bind_int64(st, 1, structure);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_TRANSIENT);
	if (today != NULL)
		sqlite3_bind_text(st, 4, today, -1, SQLITE_TRANSIENT);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		for (int i = 0; i < nout; i++)
			out[i] += sqlite3_column_int64(st, i);
	db_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int
live(struct db *db, int64_t structure, const char *from, const char *to, const char *today,
    struct figures *f)
{
	static const char in_pathway[] =
	    HIRES "SELECT count(*) FROM h WHERE h.hired <= ?3 AND h.last_end >= ?2";
	static const char hired[] = HIRES "SELECT count(*) FROM h WHERE h.hired BETWEEN ?2 AND ?3";
	static const char exits[] =
	    HIRES "SELECT x.category, count(*),"
	          " coalesce(sum(CAST(julianday(x.exit_date) - julianday(h.hired) AS INTEGER)), 0),"
	          " count(h.hired) FROM exits x JOIN employees e ON e.id = x.employee_id"
	          " LEFT JOIN h ON h.id = x.employee_id"
	          " WHERE (?1 IS NULL OR e.structure_id = ?1) AND x.exit_date BETWEEN ?2 AND ?3"
	          " GROUP BY x.category";
	/* Due: planned in the period, by today. On time: held on or before the planned day. */
	static const char reviews[] =
	    "SELECT count(*), coalesce(sum(r.held_on IS NOT NULL AND r.held_on <= r.planned_on), 0)"
	    " FROM reviews r JOIN employees e ON e.id = r.employee_id"
	    " WHERE (?1 IS NULL OR e.structure_id = ?1) AND r.planned_on BETWEEN ?2 AND ?3"
	    " AND r.planned_on <= ?4";
	sqlite3_stmt *st;
	int rc;

	if (one(db, in_pathway, structure, from, to, NULL, &f->in_pathway, 1) == -1 ||
	    one(db, hired, structure, from, to, NULL, &f->hired, 1) == -1 ||
	    one(db, reviews, structure, from, to, today, &f->reviews_due, 2) == -1)
		return -1;
	if ((st = db_stmt(db, exits)) == NULL)
		return -1;
	if (structure)
		sqlite3_bind_int64(st, 1, structure);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *cat = (const char *)sqlite3_column_text(st, 0);
		for (size_t i = 0; i < TR_NELEM(exit_categories); i++)
			if (cat != NULL && strcmp(cat, exit_categories[i]) == 0)
				f->exits[i] += sqlite3_column_int64(st, 1);
		f->pathway_days += sqlite3_column_int64(st, 2);
		f->pathway_exits += sqlite3_column_int64(st, 3);
	}
	db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The anonymous counts of the years from..to covers whole; *years lists them. */
static int
retained(struct db *db, int64_t structure, const char *from, const char *to, struct figures *f,
    json_t *years)
{
	static const char sql[] =
	    "SELECT metric, sum(n) FROM indicator_counts"
	    " WHERE (?1 IS NULL OR structure_id = ?1) AND year BETWEEN ?2 AND ?3"
	    " GROUP BY metric";
	int first = atoi(from) + (strcmp(from + 4, "-01-01") != 0);
	int last = atoi(to) - (strcmp(to + 4, "-12-31") != 0);
	sqlite3_stmt *st;
	int rc;

	if (first > last)
		return 0;
	for (int y = first; y <= last; y++)
		json_array_append_new(years, json_integer(y));
	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	if (structure)
		sqlite3_bind_int64(st, 1, structure);
	sqlite3_bind_int(st, 2, first);
	sqlite3_bind_int(st, 3, last);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *m = (const char *)sqlite3_column_text(st, 0);
		int64_t n = sqlite3_column_int64(st, 1);
		if (m == NULL)
			continue;
		if (strncmp(m, "exits.", 6) == 0) {
			for (size_t i = 0; i < TR_NELEM(exit_categories); i++)
				if (strcmp(m + 6, exit_categories[i]) == 0)
					f->exits[i] += n;
		} else if (strcmp(m, "in_pathway") == 0)
			f->in_pathway += n;
		else if (strcmp(m, "hired") == 0)
			f->hired += n;
		else if (strcmp(m, "pathway.days") == 0)
			f->pathway_days += n;
		else if (strcmp(m, "pathway.exits") == 0)
			f->pathway_exits += n;
		else if (strcmp(m, "reviews.due") == 0)
			f->reviews_due += n;
		else if (strcmp(m, "reviews.on_time") == 0)
			f->reviews_on_time += n;
		else if (strcmp(m, "employees.erased") == 0 || strcmp(m, "employees.purged") == 0)
			f->files_removed += n;
	}
	db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* A percentage with one decimal, or null when there is nothing to divide by. */
static json_t *
rate(int64_t n, int64_t of)
{
	if (of <= 0)
		return json_null();
	return json_real((double)(n * 1000 / of + ((n * 1000 % of) * 2 >= of)) / 10.0);
}

static void
item(json_t *items, const char *key, const char *label, json_t *value)
{
	json_array_append_new(
	    items, json_pack("{s:s, s:s, s:o}", "key", key, "label", label, "value", value));
}

static const struct csv_col csv_cols[] = {
	{ "label", "Indicateur", CSV_TEXT },
	{ "value", "Valeur", CSV_REAL },
};

static void
indicators_get(struct tremplin_request *r, void *arg)
{
	static const char *const labels[] = { "Sorties en emploi durable",
		"Sorties en emploi de transition", "Sorties positives", "Autres sorties",
		"Sorties exclues du taux (maladie longue, déménagement...)" };
	const char *s = api_query(r, "structure"), *from = api_query(r, "from"),
	           *to = api_query(r, "to");
	char today[11], jan1[11];
	int64_t structure = 0, total = 0, counted, dynamic;
	struct figures f;
	json_t *years, *exits, *items, *o;

	(void)arg;
	if (csv_format_ok(r) == -1)
		return;
	if (r->who.role != ROLE_CIP && r->who.role != ROLE_COORDINATOR) {
		api_error(r, 403, "forbidden", NULL,
		    "the %s role may not read the indicators (exits by category)",
		    role_name(r->who.role));
		return;
	}
	if (s != NULL && tr_parse_i64(s, 1, INT64_MAX, &structure) == -1) {
		api_error(r, 400, "bad_request", "structure", "structure must be an id");
		return;
	}
	if (structure != 0 &&
	    db_row_exists(r->srv->db, "SELECT 1 FROM structures WHERE id = ?", structure) != 1) {
		api_error(
		    r, 404, "not_found", "structure", "no structure %lld", (long long)structure);
		return;
	}
	date_today(today, sizeof(today));
	snprintf(jan1, sizeof(jan1), "%.4s-01-01", today);
	if (from == NULL)
		from = jan1;
	if (to == NULL)
		to = today;
	if (!valid_date(from) || !valid_date(to)) {
		api_error(r, 400, "bad_request", valid_date(from) ? "to" : "from",
		    "%s must be a date (YYYY-MM-DD)", valid_date(from) ? "to" : "from");
		return;
	}
	if (strcmp(from, to) > 0) {
		api_error(r, 400, "bad_request", "to", "to is before from");
		return;
	}
	memset(&f, 0, sizeof(f));
	years = json_array();
	if (live(r->srv->db, structure, from, to, today, &f) == -1 ||
	    retained(r->srv->db, structure, from, to, &f, years) == -1) {
		json_decref(years);
		api_internal(r, "indicators");
		return;
	}
	exits = json_object();
	for (size_t i = 0; i < TR_NELEM(exit_categories); i++) {
		json_object_set_new(exits, exit_categories[i], json_integer(f.exits[i]));
		total += f.exits[i];
	}
	json_object_set_new(exits, "total", json_integer(total));
	/* DOMAIN.md: the first three categories over the exits that count (not "exclue"). */
	dynamic = f.exits[0] + f.exits[1] + f.exits[2];
	counted = total - f.exits[4];
	json_t *avg = f.pathway_exits > 0
	    ? json_integer((f.pathway_days + f.pathway_exits / 2) / f.pathway_exits)
	    : json_null();
	items = json_array();
	item(items, "in_pathway", "Personnes en parcours", json_integer(f.in_pathway));
	item(items, "hired", "Personnes embauchées", json_integer(f.hired));
	item(items, "exits", "Sorties", json_integer(total));
	for (size_t i = 0; i < TR_NELEM(exit_categories); i++)
		item(items, exit_categories[i], labels[i], json_integer(f.exits[i]));
	item(items, "sorties_dynamiques_rate", "Taux de sorties dynamiques (%)",
	    rate(dynamic, counted));
	item(items, "average_pathway_days", "Durée moyenne de parcours (jours)", json_copy(avg));
	item(items, "reviews_due", "Bilans prévus", json_integer(f.reviews_due));
	item(items, "reviews_on_time", "Bilans tenus à temps", json_integer(f.reviews_on_time));
	item(items, "reviews_on_time_rate", "Taux de bilans tenus à temps (%)",
	    rate(f.reviews_on_time, f.reviews_due));
	if (csv_wanted(r)) {
		csv_reply(r, csv_cols, TR_NELEM(csv_cols), items, "indicateurs.csv");
		json_decref(items);
		json_decref(exits);
		json_decref(avg);
		json_decref(years);
		return;
	}
	o = json_pack("{s:o, s:s, s:s, s:I, s:I, s:o, s:{s:I, s:I, s:o}, s:o,"
	              " s:{s:I, s:I, s:o}, s:{s:o, s:I}, s:o}",
	    "structure_id", structure ? json_integer(structure) : json_null(), "from", from, "to",
	    to, "in_pathway", (json_int_t)f.in_pathway, "hired", (json_int_t)f.hired, "exits",
	    exits, "sorties_dynamiques", "count", (json_int_t)dynamic, "counted_exits",
	    (json_int_t)counted, "rate", rate(dynamic, counted), "average_pathway_days", avg,
	    "reviews", "due", (json_int_t)f.reviews_due, "on_time", (json_int_t)f.reviews_on_time,
	    "rate", rate(f.reviews_on_time, f.reviews_due), "retained", "years", years,
	    "files_removed", (json_int_t)f.files_removed, "items", items);
	if (o == NULL) {
		api_internal(r, "indicators");
		return;
	}
	api_reply(r, 200, o);
}

static const char *const q_indicators[] = { "structure", "from", "to", "format", NULL };

const struct tremplin_route_spec indicator_route = { sizeof(struct tremplin_route_spec),
	TREMPLIN_GET, "/indicators", TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR, 0, q_indicators,
	indicators_get, NULL };
