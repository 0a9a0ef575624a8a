/*
 * The PASS IAE of a person: the PASS itself (number, start, initial end),
 * its suspensions and its prolongations, as table-driven resources
 * (resource.h). The rules are pure functions in pass_rules.c; this file
 * loads what they need, turns their answers into API errors, and shows a
 * PASS with what follows from its records: its current end, its status on a
 * day (?on=YYYY-MM-DD, else today in Paris), its suspensions and its
 * prolongations.
 *
 * Confidentiality: the number and every date are CAT_PASS (the ETI reads
 * them); the reasons of suspensions and prolongations, and a training's end
 * date (which tells the reason), are CAT_CONTRACT_LEGAL: they may reveal a
 * disability, the person's age or their difficulties.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "calendar.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "pass_rules.h"
#include "kernel.h"
#include "resource.h"
#include "server.h"
#include "util.h"

/* ---- a PASS and its records, loaded for the rules ---- */

struct pass_rec {
	int64_t id, employee_id;
	struct pass p;
	struct pass_period *susp;
	int64_t *susp_ids, *prol, *prol_ids;
	size_t nsusp, nprol;
};

static void
pass_rec_free(struct pass_rec *rec)
{
	free(rec->susp);
	free(rec->susp_ids);
	free(rec->prol);
	free(rec->prol_ids);
	memset(rec, 0, sizeof(*rec));
}

/* Room for element n of an array of n: it holds 8, then doubles each time n reaches a power of two. */
static void
grow(void **p, size_t n, size_t size)
{
	if (n < 8 || (n & (n - 1)) == 0)
		if ((*p = reallocarray(*p, n < 8 ? 8 : n * 2, size)) == NULL)
			fatal("reallocarray");
}

static int64_t
col_day(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s != NULL && valid_date(s) ? date_days(s) : 0;
}

/* Load PASS id with its suspensions and prolongations: 0, 1 when absent, -1 on an error. */
static int
pass_rec_load(struct tremplin_request *r, int64_t id, struct pass_rec *rec)
{
	static const char q_pass[] =
	    "SELECT employee_id, start_date, initial_end_date FROM passes WHERE id = ?";
	static const char q_susp[] =
	    "SELECT id, start_date, end_date FROM pass_suspensions WHERE pass_id = ?"
	    " ORDER BY start_date, id";
	static const char q_prol[] =
	    "SELECT id, days FROM pass_prolongations WHERE pass_id = ? ORDER BY id";
	sqlite3_stmt *st;
	int rc;

	memset(rec, 0, sizeof(*rec));
	rec->id = id;
	if ((st = db_stmt(r->srv->db, q_pass)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rec->employee_id = sqlite3_column_int64(st, 0);
		rec->p.start = col_day(st, 1);
		rec->p.initial_end = col_day(st, 2);
	}
	db_done(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 1 : -1;

	if ((st = db_stmt(r->srv->db, q_susp)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		grow((void **)&rec->susp, rec->nsusp, sizeof(*rec->susp));
		grow((void **)&rec->susp_ids, rec->nsusp, sizeof(*rec->susp_ids));
		rec->susp_ids[rec->nsusp] = sqlite3_column_int64(st, 0);
		rec->susp[rec->nsusp].start = col_day(st, 1);
		rec->susp[rec->nsusp].end = col_day(st, 2);
		rec->nsusp++;
	}
	db_done(st);
	if (rc != SQLITE_DONE)
		goto fail;

	if ((st = db_stmt(r->srv->db, q_prol)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		grow((void **)&rec->prol, rec->nprol, sizeof(*rec->prol));
		grow((void **)&rec->prol_ids, rec->nprol, sizeof(*rec->prol_ids));
		rec->prol_ids[rec->nprol] = sqlite3_column_int64(st, 0);
		rec->prol[rec->nprol] = sqlite3_column_int64(st, 1);
		rec->nprol++;
	}
	db_done(st);
	if (rc != SQLITE_DONE)
		goto fail;
	rec->p.suspensions = rec->susp;
	rec->p.nsuspensions = rec->nsusp;
	rec->p.prolongations = rec->prol;
	rec->p.nprolongations = rec->nprol;
	return 0;
fail:
	pass_rec_free(rec);
	return -1;
}

static void
set_day(json_t *o, const char *key, int64_t day)
{
	char b[CAL_DATE_LEN];

	date_from_days(day, b, sizeof(b));
	json_object_set_new(o, key, json_string(b));
}

static int
rule_error(const struct pass_err *pe, struct tremplin_error *e)
{
	input_error_set(e, 422, "validation_failed", pe->field, "%s", pe->message);
	return -1;
}

static int
load_error(struct tremplin_error *e, const char *what)
{
	log_warnx("passes: cannot load %s", what);
	input_error_set(e, 503, "unavailable", NULL, "the database did not answer; try again");
	return -1;
}

/* The day a status is asked for: ?on= (checked by passes_get), else today in Paris. */
static int64_t
status_day(struct tremplin_request *r)
{
	const char *on = api_query(r, "on");

	return on != NULL && valid_date(on) ? date_days(on) : cal_paris_day(tr_now_ms());
}

/* ---- the PASS ---- */

static const struct tremplin_column pass_cols[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "employee_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	/* Checked by pass_number_check; the length here only bounds the input. */
	{ .name = "number",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "pass_iae",
	    .max = 64 },
	{ .name = "start_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "pass_iae" },
	/* Absent or null: start + 729 days. */
	{ .name = "initial_end_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "pass_iae" },
	KERNEL_CREATED_AT,
	KERNEL_UPDATED_AT,
};

/* Ids of the person's other PASSes; *n of them. NULL with *n == 0 when none; -1 on an error. */
static int
other_passes(
    struct tremplin_request *r, int64_t employee_id, int64_t self, int64_t **ids, size_t *n)
{
	static const char sql[] = "SELECT id FROM passes WHERE employee_id = ? AND id != ?";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	int rc;

	*ids = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, employee_id);
	sqlite3_bind_int64(st, 2, self);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		grow((void **)ids, *n, sizeof(**ids));
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		free(*ids);
		*ids = NULL;
		return -1;
	}
	return 0;
}

/*
 * One PASS per person at a time, and 2 years between one's expiry and the
 * next: PASS self (0 for a new one), from start to end, beside the person's
 * others. moved names the field that moves the end of an existing PASS (a
 * suspension's end_date, a prolongation's days): then only the later PASSes
 * are judged, and the error names that field.
 */
static int
check_neighbours(struct tremplin_request *r, int64_t employee_id, int64_t self, int64_t start,
    int64_t end, const char *moved, struct tremplin_error *e)
{
	struct pass_err pe;
	char b1[CAL_DATE_LEN], b2[CAL_DATE_LEN];
	int64_t *ids;
	size_t n;
	int rc = 0;

	if (other_passes(r, employee_id, self, &ids, &n) == -1)
		return load_error(e, "the person's passes");
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct pass_rec other;
		if (pass_rec_load(r, ids[i], &other) != 0) {
			rc = load_error(e, "a pass");
			break;
		}
		if ((moved == NULL || other.p.start > start) &&
		    pass_check_neighbour(start, end, other.p.start, pass_end(&other.p), &pe) ==
		        -1) {
			rc = rule_error(&pe, e);
			/* The rule speaks of a new PASS's start; here the end moves. */
			if (moved != NULL) {
				date_from_days(end, b1, sizeof(b1));
				date_from_days(other.p.start, b2, sizeof(b2));
				input_error_set(e, 422, "validation_failed", moved,
				    "the PASS would then end on %s, less than 2 years before this "
				    "person's next PASS, from %s",
				    b1, b2);
			}
		}
		pass_rec_free(&other);
	}
	free(ids);
	return rc;
}

static int
pass_check(struct tremplin_request *r, json_t *o, const json_t *before, struct tremplin_error *e,
    void *arg)
{
	(void)arg;
	const char *why, *number = json_str(o, "number");
	int64_t employee_id = json_integer_value(json_object_get(o, "employee_id"));
	int64_t start = date_days(json_str(o, "start_date")), end, current;
	struct pass_rec self;
	struct pass_err pe;
	char b1[CAL_DATE_LEN], b2[CAL_DATE_LEN];

	if ((why = pass_number_check(number)) != NULL) {
		input_error_set(e, 422, "validation_failed", "number", "number %s", why);
		return -1;
	}
	if (json_str(o, "initial_end_date") == NULL)
		end = pass_default_end(start); /* not given, or null: 730 days */
	else if (before != NULL && json_object_get(r->body, "initial_end_date") == NULL)
		/* A start moved alone moves the end with it: the PASS keeps its length. */
		end = date_days(json_string_value(json_object_get(before, "initial_end_date"))) +
		    start - date_days(json_string_value(json_object_get(before, "start_date")));
	else
		end = date_days(json_str(o, "initial_end_date"));
	if (pass_check_dates(start, end, &pe) == -1)
		return rule_error(&pe, e);
	set_day(o, "initial_end_date", end);
	if (before == NULL)
		return check_neighbours(r, employee_id, 0, start, end, NULL, e);

	/* A change keeps the PASS's suspensions inside it. */
	if (pass_rec_load(r, json_integer_value(json_object_get(before, "id")), &self) != 0)
		return load_error(e, "the pass");
	self.p.start = start;
	self.p.initial_end = end;
	current = pass_end(&self.p);
	for (size_t i = 0; i < self.nsusp; i++)
		if (self.susp[i].start < start || self.susp[i].start > current) {
			date_from_days(self.susp[i].start, b1, sizeof(b1));
			date_from_days(current, b2, sizeof(b2));
			input_error_set(e, 422, "validation_failed",
			    self.susp[i].start < start ? "start_date" : "initial_end_date",
			    "a suspension of this PASS starts on %s, "
			    "outside the PASS as it would be (to %s)",
			    b1, b2);
			pass_rec_free(&self);
			return -1;
		}
	pass_rec_free(&self);
	return check_neighbours(r, employee_id, json_integer_value(json_object_get(before, "id")),
	    start, current, NULL, e);
}

/*
 * The PASS as it stands: its end and its status on a day (its suspensions
 * and prolongations are nested by resource_show).
 */
static int
pass_expand(struct tremplin_request *r, const struct tremplin_access *a, json_t *view, void *arg)
{
	(void)arg;
	struct pass_rec rec;
	int64_t on = status_day(r);

	(void)a;
	if (pass_rec_load(r, json_integer_value(json_object_get(view, "id")), &rec) != 0)
		return -1;
	set_day(view, "end_date", pass_end(&rec.p));
	json_object_set_new(
	    view, "status", json_string(pass_status_name(pass_status_on(&rec.p, on))));
	set_day(view, "status_on", on);
	pass_rec_free(&rec);
	return 0;
}

/* Everything added follows from the PASS's dates: the ETI reads it, the operator not. */
static const struct tremplin_computed pass_computed[] = {
	{ .name = "end_date", .category = "pass_iae" },
	{ .name = "status", .category = "pass_iae" },
	{ .name = "status_on", .category = "pass_iae" },
};

const struct tremplin_record rec_pass = {
	.size = sizeof(struct tremplin_record),
	.name = "pass",
	.plural = "passes",
	.table = "passes",
	.columns = pass_cols,
	.ncolumns = TR_NELEM(pass_cols),
	.owner = TREMPLIN_OWNER_PERSON,
	.ops = TREMPLIN_OP_LIST | TREMPLIN_OP_CREATE | TREMPLIN_OP_UPDATE,
	.check = pass_check,
	.expand = pass_expand,
	.computed = pass_computed,
	.ncomputed = TR_NELEM(pass_computed),
};

/* GET /v1/passes/{id}[?on=YYYY-MM-DD]: the status on that day. */
void
passes_get(struct tremplin_request *r)
{
	static const char *const params[] = { "on", NULL };
	const char *on = api_query(r, "on");

	if (!policy_personal_data(r->who.role)) {
		api_error(r, 403, "forbidden", NULL, "the %s role reads no personal data",
		    role_name(r->who.role));
		return;
	}
	if (api_query_only(r, params) == -1)
		return;
	if (on != NULL && !valid_date(on)) {
		api_error(r, 400, "bad_request", "on", "on must be a date YYYY-MM-DD that exists");
		return;
	}
	resource_get_as(r, resource_find("pass"));
}

/* A suspension or a prolongation changes the PASS's end: the PASS is updated too. */
static int
touch_pass(struct tremplin_request *r, json_t *obj, int64_t id, void *arg)
{
	(void)arg;
	static const char sql[] = "UPDATE passes SET updated_at = ? WHERE id = ?";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	char now[32];
	int rc;

	(void)id;
	if (st == NULL)
		return -1;
	tr_rfc3339(tr_now(), now, sizeof(now));
	sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, json_integer_value(json_object_get(obj, "pass_id")));
	rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- suspensions ---- */

/* Codes of the national platform's reasons, in our words. */
static const char *const suspension_reasons[] = {
	"contract_suspended", /* the contract is suspended for more than 15 days */
	"contract_broken", /* broken during the trial period or after */
	"contract_ended", /* ended, and the person is waiting for another SIAE */
	"trial_outside_iae", /* a trial period with an employer outside the IAE */
	"force_majeure",
	"other",
	NULL,
};

static const struct tremplin_column suspension_cols[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "pass_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "start_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "pass_iae" },
	/* Moved earlier when the suspension ends early. */
	{ .name = "end_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "pass_iae" },
	{ .name = "reason",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "contract_legal",
	    .values = suspension_reasons },
	KERNEL_CREATED_AT,
};

static int
suspension_check(struct tremplin_request *r, json_t *o, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	(void)arg;
	struct pass_period s = { date_days(json_str(o, "start_date")),
		date_days(json_str(o, "end_date")) };
	struct pass_rec rec;
	struct pass_err pe;
	int rc = 0;

	if (before != NULL) {
		/* A change is an early end: the PASS's end moves earlier with it. */
		struct pass_period was = { date_days(json_str((json_t *)before, "start_date")),
			date_days(json_str((json_t *)before, "end_date")) };
		int64_t id = json_integer_value(json_object_get(before, "id"));
		if (pass_check_suspension_end(&was, s.end, &pe) == -1)
			return rule_error(&pe, e);
		if (pass_rec_load(r, json_integer_value(json_object_get(o, "pass_id")), &rec) != 0)
			return load_error(e, "the pass");
		for (size_t i = 0; i < rec.nsusp; i++)
			if (rec.susp_ids[i] == id)
				rec.susp[i].end = s.end;
		if (pass_check_suspensions_inside(&rec.p, "end_date", &pe) == -1)
			rc = rule_error(&pe, e);
		pass_rec_free(&rec);
		return rc;
	}
	if (pass_rec_load(r, json_integer_value(json_object_get(o, "pass_id")), &rec) != 0)
		return load_error(e, "the pass");
	if (pass_check_suspension(&rec.p, cal_paris_day(tr_now_ms()), &s, &pe) == -1)
		rc = rule_error(&pe, e);
	else
		rc = check_neighbours(r, rec.employee_id, rec.id, rec.p.start,
		    pass_end(&rec.p) + s.end - s.start + 1, "end_date", e);
	pass_rec_free(&rec);
	return rc;
}

/* Its length, with the dates it is shown with. */
static int
suspension_expand(
    struct tremplin_request *r, const struct tremplin_access *a, json_t *view, void *arg)
{
	(void)arg;
	const char *s = json_str(view, "start_date"), *t = json_str(view, "end_date");

	(void)r, (void)a;
	if (s != NULL && t != NULL)
		json_object_set_new(view, "days", json_integer(date_days(t) - date_days(s) + 1));
	return 0;
}

static const struct tremplin_computed suspension_computed[] = {
	{ .name = "days", .category = "pass_iae" },
};

const struct tremplin_record rec_pass_suspension = {
	.size = sizeof(struct tremplin_record),
	.name = "pass_suspension",
	.plural = "pass_suspensions",
	.table = "pass_suspensions",
	.collection = "suspensions",
	.columns = suspension_cols,
	.ncolumns = TR_NELEM(suspension_cols),
	.owner = TREMPLIN_OWNER_RECORD,
	.parent = "pass",
	.parent_col = "pass_id",
	.nested_as = "suspensions",
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_CREATE | TREMPLIN_OP_UPDATE,
	.check = suspension_check,
	.after_write = touch_pass,
	.expand = suspension_expand,
	.computed = suspension_computed,
	.ncomputed = TR_NELEM(suspension_computed),
};

/* ---- prolongations ---- */

static const char *const prolongation_reasons[] = { "end_of_training", "rqth", "age_50_plus",
	"severe_difficulties", NULL };

static const struct tremplin_column prolongation_cols[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "pass_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	/*
	 * Added to the end as it stands; at most 12 months (366 days over a leap
	 * day); fewer when the prolongation ends early.
	 */
	{ .name = "days",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "pass_iae",
	    .min = 1,
	    .max = 366 },
	{ .name = "reason",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "contract_legal",
	    .values = prolongation_reasons },
	/* The training's end, for end_of_training: it tells the reason, so it is as confidential. */
	{ .name = "until_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_NULLABLE | TREMPLIN_COL_FIXED,
	    .category = "contract_legal" },
	KERNEL_CREATED_AT,
};

/* The person's birth date and whether their structure is an ACI or an AI: 0, or -1. */
static int
person_of(struct tremplin_request *r, int64_t employee_id, int64_t *birth, int *aci_or_ai)
{
	static const char sql[] = "SELECT e.birth_date, s.kind FROM employees e"
	                          " JOIN structures s ON s.id = e.structure_id WHERE e.id = ?";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, employee_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(st, 1);
		*birth = col_day(st, 0);
		*aci_or_ai = kind != NULL && (strcmp(kind, "ACI") == 0 || strcmp(kind, "AI") == 0);
	}
	db_done(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
prolongation_check(struct tremplin_request *r, json_t *o, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	(void)arg;
	const char *until = json_str(o, "until_date");
	struct pass_prolongation_req q = { 0 };
	struct pass_rec rec;
	struct pass_err pe;
	int rc = 0;

	if (before != NULL) {
		/* A change is an early end: the PASS's end moves earlier with it. */
		int64_t id = json_integer_value(json_object_get(before, "id"));
		q.days = json_integer_value(json_object_get(o, "days"));
		if (pass_check_prolongation_days(
		        json_integer_value(json_object_get(before, "days")), q.days, &pe) == -1)
			return rule_error(&pe, e);
		if (pass_rec_load(r, json_integer_value(json_object_get(o, "pass_id")), &rec) != 0)
			return load_error(e, "the pass");
		for (size_t i = 0; i < rec.nprol; i++)
			if (rec.prol_ids[i] == id)
				rec.prol[i] = q.days;
		if (pass_check_suspensions_inside(&rec.p, "days", &pe) == -1)
			rc = rule_error(&pe, e);
		pass_rec_free(&rec);
		return rc;
	}
	if (pass_rec_load(r, json_integer_value(json_object_get(o, "pass_id")), &rec) != 0)
		return load_error(e, "the pass");
	q.reason = pass_reason_parse(json_str(o, "reason"));
	q.days = json_integer_value(json_object_get(o, "days"));
	q.until = until != NULL ? date_days(until) : -1;
	if (person_of(r, rec.employee_id, &q.birth, &q.severe_difficulties_allowed) == -1)
		rc = load_error(e, "the person");
	else if (pass_check_prolongation(&rec.p, &q, &pe) == -1)
		rc = rule_error(&pe, e);
	else
		rc = check_neighbours(
		    r, rec.employee_id, rec.id, rec.p.start, pass_end(&rec.p) + q.days, "days", e);
	pass_rec_free(&rec);
	return rc;
}

/* Its first and last days as the PASS stands now (a later suspension moves them). */
static int
prolongation_expand(
    struct tremplin_request *r, const struct tremplin_access *a, json_t *view, void *arg)
{
	(void)arg;
	int64_t id = json_integer_value(json_object_get(view, "id")), first, last;
	struct pass_rec rec;

	(void)a;
	if (pass_rec_load(r, json_integer_value(json_object_get(view, "pass_id")), &rec) != 0)
		return -1;
	for (size_t i = 0; i < rec.nprol; i++)
		if (rec.prol_ids[i] == id) {
			pass_prolongation_span(&rec.p, i, &first, &last);
			set_day(view, "start_date", first);
			set_day(view, "end_date", last);
		}
	pass_rec_free(&rec);
	return 0;
}

static const struct tremplin_computed prolongation_computed[] = {
	{ .name = "start_date", .category = "pass_iae" },
	{ .name = "end_date", .category = "pass_iae" },
};

const struct tremplin_record rec_pass_prolongation = {
	.size = sizeof(struct tremplin_record),
	.name = "pass_prolongation",
	.plural = "pass_prolongations",
	.table = "pass_prolongations",
	.collection = "prolongations",
	.columns = prolongation_cols,
	.ncolumns = TR_NELEM(prolongation_cols),
	.owner = TREMPLIN_OWNER_RECORD,
	.parent = "pass",
	.parent_col = "pass_id",
	.nested_as = "prolongations",
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_CREATE | TREMPLIN_OP_UPDATE,
	.check = prolongation_check,
	.after_write = touch_pass,
	.expand = prolongation_expand,
	.computed = prolongation_computed,
	.ncomputed = TR_NELEM(prolongation_computed),
};
