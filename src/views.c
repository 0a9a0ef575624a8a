/*
 * The views scripts read. Who may read each follows the confidentiality
 * table of the domain (../shared/domain/DOMAIN.md): structures and the
 * staff directory are not personal data of the people in the pathway;
 * contract dates are "identity, contract dates" (ETI, CIP, coordinator
 * read); that an exit review is planned is review metadata (the same three).
 * The operator (admin) reads none of the pathway data.
 *
 * An attendance view ("absences.v1") comes with the attendance table.
 *
 * Each view declares the categories it shows. None of these shows an
 * audited one (social or sensitive data, policy_audited), so reading them
 * leaves no entry in the audit log, as reading identity fields through the
 * API leaves none; a view that does show one has each read recorded, with
 * the script as the actor ("lua:<name>").
 */
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "db.h"
#include "log.h"
#include "util.h"

#define ETI ROLEBIT(ROLE_ETI)
#define CIP ROLEBIT(ROLE_CIP)
#define COORD ROLEBIT(ROLE_COORDINATOR)
#define ADMIN ROLEBIT(ROLE_ADMIN)

static const struct view_param staff_params[] = {
	{ .name = "role", .type = VP_ROLE },
};

static const struct view_param contracts_ending_params[] = {
	{ .name = "date", .type = VP_DATE, .required = 1 },
	{ .name = "days", .type = VP_INT, .required = 1, .min = 0, .max = 3660 },
};

/* Contracts and suspensions overlapping a period, for planning (the production plugin). */
static const struct view_param period_params[] = {
	{ .name = "from", .type = VP_DATE, .required = 1 },
	{ .name = "to", .type = VP_DATE, .required = 1 },
	{ .name = "employee_id", .type = VP_INT, .min = 1, .max = 9223372036854775807LL },
};

static const struct view_param date_days_params[] = {
	{ .name = "date", .type = VP_DATE, .required = 1 },
	{ .name = "days", .type = VP_INT, .required = 1, .min = 0, .max = 3660 },
};

static const struct view_param date_params[] = {
	{ .name = "date", .type = VP_DATE, .required = 1 },
};

/* A page of every contract: ids above after_id (0, the first page). */
static const struct view_param page_params[] = {
	{ .name = "after_id", .type = VP_INT, .min = 0, .max = INT64_MAX },
};

static const struct view_param employee_params[] = {
	{ .name = "employee_id", .type = VP_INT, .required = 1, .min = 1, .max = INT64_MAX },
};

static const struct view_param structure_params[] = {
	{ .name = "structure_id", .type = VP_INT, .required = 1, .min = 1, .max = INT64_MAX },
};

static const char *const staff_booleans[] = { "active", NULL };
static const char *const contracts_ending_booleans[] = { "exit_review_planned", NULL };

static const struct view views[] = {
	{
	    .name = "structures.v1",
	    .description = "every structure: id, name, siret, kind, annexe_financiere",
	    .sql = "SELECT id, name, siret, kind, annexe_financiere FROM structures ORDER BY id"
	           " LIMIT 5001",
	    .roles = ETI | CIP | COORD | ADMIN,
	},
	{
	    .name = "staff.v1",
	    .description = "the staff directory: id, name, role, active (optional: role)",
	    .sql = "SELECT id, name, role, active FROM staff WHERE :role IS NULL OR role = :role"
	           " ORDER BY id LIMIT 5001",
	    .params = staff_params,
	    .nparams = TR_NELEM(staff_params),
	    .booleans = staff_booleans,
	    .roles = ETI | CIP | COORD | ADMIN,
	},
	{
	    /*
	     * Contracts running on `date` whose end falls within `days` days of
	     * it, not ended early, of people without a recorded exit in force
	     * (a file reopened since is back in the pathway, its old exit
	     * record kept as history: the contract's end matters again). An exit
	     * review counts when it is planned on or after the contract's start
	     * (one planned for an earlier contract does not). referent_cip_id
	     * is given when that account is active: whom to tell.
	     */
	    .name = "contracts_ending.v1",
	    .description = "contracts ending within :days days of :date: contract_id, employee_id,"
	                   " employee_display, structure_id, end_date, referent_cip_id,"
	                   " exit_review_planned",
	    /* employee_display: how a notice names the person, the least ("Sabrina M."). */
	    .sql = "SELECT c.id AS contract_id, c.employee_id,"
	           " e.first_name || ' ' || substr(e.last_name, 1, 1) || '.' AS employee_display,"
	           " c.structure_id, c.end_date,"
	           " s.id AS referent_cip_id,"
	           " EXISTS (SELECT 1 FROM reviews r WHERE r.employee_id = c.employee_id"
	           "   AND r.kind = 'exit' AND r.planned_on IS NOT NULL"
	           "   AND r.planned_on >= c.start_date) AS exit_review_planned"
	           " FROM contracts c JOIN employees e ON e.id = c.employee_id"
	           " LEFT JOIN staff s ON s.id = e.referent_cip_id AND s.active = 1"
	           " WHERE c.ended_on IS NULL AND c.start_date <= :date AND c.end_date >= :date"
	           " AND c.end_date <= date(:date, printf('%+d days', :days))"
	           " AND (e.status != 'exited' OR NOT EXISTS (SELECT 1 FROM exits x"
	           "   WHERE x.employee_id = c.employee_id AND x.exit_date >= c.start_date))"
	           " ORDER BY c.end_date, c.id LIMIT 5001",
	    .params = contracts_ending_params,
	    .nparams = TR_NELEM(contracts_ending_params),
	    .booleans = contracts_ending_booleans,
	    .roles = ETI | CIP | COORD,
	    /* Contract dates and who the referent is; that an exit review is planned. */
	    .categories = (1u << CAT_IDENTITY) | (1u << CAT_REVIEW_META),
	},
	{
	    /*
	     * Every PASS IAE number with its holder and the holder's structure:
	     * what a registry sync matches the national platform's records on
	     * (SIRET, PASS number) without reading the tables itself.
	     */
	    .name = "pass_numbers.v1",
	    .description = "every PASS IAE: pass_id, employee_id, number, structure_id",
	    .sql =
	        "SELECT p.id AS pass_id, p.employee_id, p.number, e.structure_id"
	        " FROM passes p JOIN employees e ON e.id = p.employee_id ORDER BY p.id LIMIT 5001",
	    .roles = CIP | COORD,
	    .categories = (1u << CAT_IDENTITY) | (1u << CAT_PASS),
	},
	{
	    /*
	     * Contracts in force at some point of [from, to] (an early end,
	     * ended_on, is their end): whom a plan may put to work, and for how
	     * many hours a week. Dates and hours only: no reason, no derogation.
	     */
	    .name = "contracts_between.v1",
	    .description = "contracts in force between :from and :to (optional: employee_id):"
	                   " contract_id, employee_id, structure_id, start_date, end_date,"
	                   " weekly_hours",
	    .sql = "SELECT id AS contract_id, employee_id, structure_id, start_date,"
	           " coalesce(ended_on, end_date) AS end_date, weekly_hours FROM contracts"
	           " WHERE start_date <= :to AND coalesce(ended_on, end_date) >= :from"
	           " AND (:employee_id IS NULL OR employee_id = :employee_id)"
	           " ORDER BY employee_id, start_date LIMIT 5001",
	    .params = period_params,
	    .nparams = TR_NELEM(period_params),
	    .roles = ETI | CIP | COORD,
	    .categories = 1u << CAT_IDENTITY,
	},
	{
	    /*
	     * The current PASS IAE (the latest started on `date`) of people in
	     * the pathway (no exit in force) whose end falls within `days` days
	     * of it: the initial end pushed back by its suspensions (each both
	     * ends included) and its prolongations, as pass_rules.h counts them.
	     */
	    .name = "passes_ending.v1",
	    .description = "PASS IAE ending within :days days of :date: pass_id, employee_id,"
	                   " end_date, referent_cip_id",
	    .sql =
	        "SELECT pass_id, employee_id, end_date, referent_cip_id FROM (SELECT p.id AS"
	        " pass_id, p.employee_id, s.id AS referent_cip_id, date(p.initial_end_date,"
	        " printf('%+d days', CAST(coalesce((SELECT sum(julianday(x.end_date) -"
	        " julianday(x.start_date) + 1) FROM pass_suspensions x WHERE x.pass_id = p.id), 0)"
	        " AS INTEGER) + coalesce((SELECT sum(y.days) FROM pass_prolongations y"
	        " WHERE y.pass_id = p.id), 0))) AS end_date"
	        " FROM passes p JOIN employees e ON e.id = p.employee_id"
	        " LEFT JOIN staff s ON s.id = e.referent_cip_id AND s.active = 1"
	        " WHERE p.start_date <= :date AND NOT EXISTS (SELECT 1 FROM passes q"
	        "   WHERE q.employee_id = p.employee_id AND q.start_date > p.start_date"
	        "   AND q.start_date <= :date)"
	        " AND (e.status != 'exited' OR NOT EXISTS (SELECT 1 FROM exits x"
	        "   WHERE x.employee_id = p.employee_id AND x.exit_date >= p.start_date)))"
	        " WHERE end_date >= :date AND end_date <= date(:date, printf('%+d days', :days))"
	        " ORDER BY end_date, pass_id LIMIT 5001",
	    .params = date_days_params,
	    .nparams = TR_NELEM(date_days_params),
	    .roles = ETI | CIP | COORD,
	    /* The PASS's end; who the referent is. */
	    .categories = (1u << CAT_PASS) | (1u << CAT_IDENTITY),
	},
	{
	    /*
	     * People under a contract running on `date`, with the start of
	     * their pathway (their first contract since their last exit), the
	     * last entry review held and the last entry or intermediate review
	     * held (on or before `date`): what a rule needs to say a review is
	     * overdue. Dates only, never a review's content.
	     */
	    .name = "reviews_due.v1",
	    .description = "people under contract on :date: employee_id, referent_cip_id,"
	                   " pathway_start, entry_held_on, last_held_on",
	    .sql =
	        "SELECT employee_id, referent_cip_id, pathway_start, entry_held_on, last_held_on"
	        " FROM (SELECT e.id AS employee_id, s.id AS referent_cip_id,"
	        " (SELECT min(c.start_date) FROM contracts c WHERE c.employee_id = e.id"
	        "   AND c.start_date <= :date AND c.start_date > coalesce((SELECT x.exit_date"
	        "   FROM exits x WHERE x.employee_id = e.id AND x.exit_date <= :date), '')) AS"
	        " pathway_start,"
	        " (SELECT max(r.held_on) FROM reviews r WHERE r.employee_id = e.id"
	        "   AND r.kind = 'entry' AND r.held_on <= :date) AS entry_held_on,"
	        " (SELECT max(r.held_on) FROM reviews r WHERE r.employee_id = e.id"
	        "   AND r.kind IN ('entry', 'intermediate') AND r.held_on <= :date) AS"
	        " last_held_on"
	        " FROM employees e LEFT JOIN staff s ON s.id = e.referent_cip_id AND s.active = 1"
	        " WHERE EXISTS (SELECT 1 FROM contracts c WHERE c.employee_id = e.id"
	        "   AND c.ended_on IS NULL AND c.start_date <= :date AND c.end_date >= :date))"
	        " WHERE pathway_start IS NOT NULL ORDER BY employee_id LIMIT 5001",
	    .params = date_params,
	    .nparams = TR_NELEM(date_params),
	    .roles = ETI | CIP | COORD,
	    /* That reviews were held, and when; who the referent is. */
	    .categories = (1u << CAT_REVIEW_META) | (1u << CAT_IDENTITY),
	},
	{
	    /* Whom to tell about a person: their referents, when those accounts are active. */
	    .name = "referents.v1",
	    .description = "a person's referents: employee_id, referent_cip_id, referent_eti_id",
	    .sql =
	        "SELECT e.id AS employee_id, c.id AS referent_cip_id, t.id AS referent_eti_id"
	        " FROM employees e LEFT JOIN staff c ON c.id = e.referent_cip_id AND c.active = 1"
	        " LEFT JOIN staff t ON t.id = e.referent_eti_id AND t.active = 1"
	        " WHERE e.id = :employee_id LIMIT 5001",
	    .params = employee_params,
	    .nparams = TR_NELEM(employee_params),
	    .roles = ETI | CIP | COORD,
	    .categories = 1u << CAT_IDENTITY,
	},
	{
	    /*
	     * Every contract, 1000 at a time by id (pass the last contract_id
	     * as after_id for the next page): what a plugin keeps of the
	     * pathway rebuilds from it when it was not loaded while files and
	     * contracts were made. The referent ETI is the file's, active or not
	     * (as the person's record gives it).
	     */
	    .name = "contracts_page.v1",
	    .description = "every contract, 1000 by id after :after_id (optional): contract_id,"
	                   " employee_id, start_date, end_date, ended_on, referent_eti_id",
	    .sql = "SELECT c.id AS contract_id, c.employee_id, c.start_date, c.end_date,"
	           " c.ended_on, e.referent_eti_id FROM contracts c"
	           " JOIN employees e ON e.id = c.employee_id"
	           " WHERE c.id > coalesce(:after_id, 0) ORDER BY c.id LIMIT 1000",
	    .params = page_params,
	    .nparams = TR_NELEM(page_params),
	    .roles = ETI | CIP | COORD,
	    .categories = 1u << CAT_IDENTITY,
	},
	{
	    /* A structure's people, read once by a report instead of each file. */
	    .name = "structure_people.v1",
	    .description = "the people of a structure: employee_id, last_name, first_name",
	    .sql = "SELECT id AS employee_id, last_name, first_name FROM employees"
	           " WHERE structure_id = :structure_id ORDER BY id LIMIT 5001",
	    .params = structure_params,
	    .nparams = TR_NELEM(structure_params),
	    .roles = ETI | CIP | COORD,
	    .categories = 1u << CAT_IDENTITY,
	},
	{
	    /* Suspensions overlapping [from, to]: their dates, never their reason. */
	    .name = "suspensions_between.v1",
	    .description = "contract suspensions overlapping :from..:to (optional: employee_id):"
	                   " contract_id, employee_id, start_date, end_date",
	    .sql = "SELECT s.contract_id, c.employee_id, s.start_date, s.end_date"
	           " FROM contract_suspensions s JOIN contracts c ON c.id = s.contract_id"
	           " WHERE s.start_date <= :to AND s.end_date >= :from"
	           " AND (:employee_id IS NULL OR c.employee_id = :employee_id)"
	           " ORDER BY c.employee_id, s.start_date LIMIT 5001",
	    .params = period_params,
	    .nparams = TR_NELEM(period_params),
	    .roles = ETI | CIP | COORD,
	    .categories = 1u << CAT_IDENTITY,
	},
};

/* Views of plugins' own data, registered while they are loaded. */
#define VIEWS_ADDED_MAX 128
static struct {
	struct view v;
	const void *owner;
} added[VIEWS_ADDED_MAX];
static size_t nadded;

const struct view *
view_find(const char *name)
{
	for (size_t i = 0; i < TR_NELEM(views); i++)
		if (name != NULL && strcmp(views[i].name, name) == 0)
			return &views[i];
	for (size_t i = 0; i < nadded; i++)
		if (name != NULL && strcmp(added[i].v.name, name) == 0)
			return &added[i].v;
	return NULL;
}

int
view_add(const struct view *v, const void *owner)
{
	if (v->name == NULL || view_find(v->name) != NULL || nadded == VIEWS_ADDED_MAX)
		return -1;
	added[nadded].v = *v;
	added[nadded].owner = owner;
	nadded++;
	return 0;
}

void
view_remove_owner(const void *owner)
{
	size_t j = 0;

	for (size_t i = 0; i < nadded; i++) {
		if (added[i].owner == owner) {
			free((void *)added[i].v.params);
			continue;
		}
		added[j++] = added[i];
	}
	nadded = j;
}

const struct view *
view_list(size_t *n)
{
	*n = TR_NELEM(views);
	return views;
}

unsigned
view_audited(const struct view *v)
{
	unsigned cats = 0;

	for (int c = CAT_NONE + 1; c < CAT_MAX; c++)
		if ((v->categories & (1u << c)) && policy_audited((enum category)c))
			cats |= 1u << c;
	return cats;
}

int64_t *
view_employees(const json_t *rows, size_t *n)
{
	int64_t *ids = NULL;
	size_t i, k, cap = 0;
	json_t *row;

	*n = 0;
	json_array_foreach (rows, i, row) {
		json_t *e = json_object_get(row, "employee_id");
		if (!json_is_integer(e))
			continue;
		for (k = 0; k < *n && ids[k] != json_integer_value(e); k++)
			;
		if (k < *n)
			continue;
		/* At most VIEW_MAX_ROWS rows: a scan per row stays small. */
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((ids = reallocarray(ids, cap, sizeof(*ids))) == NULL)
				fatal("reallocarray");
		}
		ids[(*n)++] = json_integer_value(e);
	}
	return ids;
}

static const struct view_param *
find_param(const struct view *v, const char *name)
{
	for (size_t i = 0; i < v->nparams; i++)
		if (strcmp(v->params[i].name, name) == 0)
			return &v->params[i];
	return NULL;
}

/* Check params against the view; bind them. -1 with err. */
static int
bind_params(const struct view *v, sqlite3_stmt *st, const json_t *params, char *err, size_t errlen)
{
	const char *k;
	json_t *val;

	if (params != NULL && !json_is_object(params)) {
		snprintf(err, errlen, "view %s: parameters must be a table of names", v->name);
		return -1;
	}
	json_object_foreach ((json_t *)params, k, val) {
		if (find_param(v, k) == NULL) {
			snprintf(err, errlen, "view %s: unknown parameter '%s'", v->name, k);
			return -1;
		}
	}
	for (size_t i = 0; i < v->nparams; i++) {
		const struct view_param *p = &v->params[i];
		char pname[64];
		int64_t day;

		snprintf(pname, sizeof(pname), ":%s", p->name);
		int idx = sqlite3_bind_parameter_index(st, pname);
		val = params ? json_object_get(params, p->name) : NULL;
		if (val == NULL || json_is_null(val)) {
			if (p->required) {
				snprintf(err, errlen, "view %s: missing parameter '%s'", v->name,
				    p->name);
				return -1;
			}
			continue; /* unbound: NULL */
		}
		switch (p->type) {
		case VP_DATE:
			if (!json_is_string(val) ||
			    cal_parse(json_string_value(val), json_string_length(val), &day) ==
			        -1) {
				snprintf(err, errlen,
				    "view %s: parameter '%s' must be a date (YYYY-MM-DD)", v->name,
				    p->name);
				return -1;
			}
			sqlite3_bind_text(st, idx, json_string_value(val), -1, SQLITE_TRANSIENT);
			break;
		case VP_INT:
			if (!json_is_integer(val) || json_integer_value(val) < p->min ||
			    json_integer_value(val) > p->max) {
				snprintf(err, errlen,
				    "view %s: parameter '%s' must be an integer from %lld to %lld",
				    v->name, p->name, p->min, p->max);
				return -1;
			}
			sqlite3_bind_int64(st, idx, json_integer_value(val));
			break;
		case VP_ROLE:
			if (!json_is_string(val) ||
			    role_from_name(json_string_value(val)) == ROLE_NONE) {
				snprintf(err, errlen,
				    "view %s: parameter '%s' must be eti, cip, coordinator or "
				    "admin",
				    v->name, p->name);
				return -1;
			}
			sqlite3_bind_text(st, idx, json_string_value(val), -1, SQLITE_TRANSIENT);
			break;
		}
	}
	return 0;
}

static int
is_boolean(const struct view *v, const char *col)
{
	for (const char *const *b = v->booleans; b != NULL && *b != NULL; b++)
		if (strcmp(*b, col) == 0)
			return 1;
	return 0;
}

int
view_run(struct db *db, const char *name, enum role role, const json_t *params, json_t **rows,
    char *err, size_t errlen)
{
	const struct view *v = view_find(name);
	sqlite3_stmt *st;
	json_t *out;
	int rc, n = 0;

	*rows = NULL;
	if (v == NULL) {
		snprintf(err, errlen, "no view named '%s'", name ? name : "");
		return -1;
	}
	if (!(v->roles & ROLEBIT(role))) {
		snprintf(err, errlen, "view %s may not be read by the %s role", v->name,
		    role_name(role));
		return -1;
	}
	if ((st = db_stmt(db, v->sql)) == NULL) {
		snprintf(err, errlen, "view %s: the database refused it: %s", v->name,
		    sqlite3_errmsg(db_handle(db)));
		return -1;
	}
	if (bind_params(v, st, params, err, errlen) == -1) {
		db_done(st);
		return -1;
	}
	out = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (++n > VIEW_MAX_ROWS)
			break;
		json_t *row = json_object();
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			const char *col = sqlite3_column_name(st, c);
			json_t *val;
			switch (sqlite3_column_type(st, c)) {
			case SQLITE_NULL:
				continue;
			case SQLITE_INTEGER:
				val = is_boolean(v, col)
				    ? json_boolean(sqlite3_column_int64(st, c))
				    : json_integer(sqlite3_column_int64(st, c));
				break;
			case SQLITE_FLOAT:
				val = json_real(sqlite3_column_double(st, c));
				break;
			default:
				val = json_stringn((const char *)sqlite3_column_text(st, c),
				    (size_t)sqlite3_column_bytes(st, c));
				if (val == NULL)
					val = json_null();
			}
			json_object_set_new(row, col, val);
		}
		json_array_append_new(out, row);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		snprintf(err, errlen, "view %s: %s", v->name, sqlite3_errmsg(db_handle(db)));
	db_done(st);
	if (n > VIEW_MAX_ROWS) {
		snprintf(err, errlen, "view %s: more than %d rows; narrow the parameters", v->name,
		    VIEW_MAX_ROWS);
		json_decref(out);
		return -1;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		json_decref(out);
		return -1;
	}
	*rows = out;
	return 0;
}
