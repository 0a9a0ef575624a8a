/*
 * CDDI contracts (contrats à durée déterminée d'insertion), their renewals
 * and suspensions, and the placements of an AI's employees with employers.
 * Table-driven resources (resource.h): this file says what the columns are,
 * which confidentiality category each belongs to, and the legal rules
 * across fields; the rules themselves are pure functions in
 * contract_rules.c.
 *
 * Dates and hours are identity (the ETI reads them, to plan the work); the
 * legal reasons of a renewal past 24 months, of an hours derogation and of
 * a suspension reveal age, health or justice: CAT_CONTRACT_LEGAL, which only
 * the person's referent CIP and the coordinator read (policy.c says why).
 *
 * A contract's end_date is its current end, renewals included: set on
 * create (initial_end_date follows it until the first renewal), then moved
 * only by renewals. ended_on records an early end; the contract then holds
 * the person from start_date to ended_on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "calendar.h"
#include "contract_rules.h"
#include "db.h"
#include "handlers.h"
#include "kernel.h"
#include "resource.h"
#include "server.h"
#include "util.h"

/* ---- small helpers ---- */

static int64_t
day_of(json_t *o, const char *key)
{
	const char *s = json_str(o, key);

	return s != NULL ? date_days(s) : 0;
}

static const char *
fmt_day(int64_t day, char *buf, size_t size)
{
	date_from_days(day, buf, size);
	return buf;
}

/* The kind of structure id ("ACI", "AI"...) into kind: 0, or -1 when there is none. */
static int
structure_kind(struct tremplin_request *r, int64_t id, char *kind, size_t size)
{
	static const char sql[] = "SELECT kind FROM structures WHERE id = ?";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	int found = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		tr_strlcpy(kind, (const char *)sqlite3_column_text(st, 0), size);
		found = 1;
	}
	db_done(st);
	return found ? 0 : -1;
}

/* The employee's structure and birth date: 0, or -1 when there is no such employee. */
static int
employee_field(struct tremplin_request *r, int64_t id, int64_t *structure_id, int64_t *birth)
{
	static const char sql[] = "SELECT structure_id, birth_date FROM employees WHERE id = ?";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	int found = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*structure_id = sqlite3_column_int64(st, 0);
		*birth = date_days((const char *)sqlite3_column_text(st, 1));
		found = 1;
	}
	db_done(st);
	return found ? 0 : -1;
}

/* The last day a contract holds the person: its early end, or its end. */
static int64_t
held_until(json_t *contract)
{
	int64_t end = day_of(contract, "end_date");
	const char *ended = json_str(contract, "ended_on");

	return ended != NULL && date_days(ended) < end ? date_days(ended) : end;
}

/*
 * Another contract of the person sharing a day with [start, end]: 1 and its
 * id and period, 0 when none, -1 on a database error.
 */
static int
overlapping_contract(struct tremplin_request *r, int64_t employee_id, int64_t self, int64_t start,
    int64_t end, int64_t *other, int64_t *ostart, int64_t *oend)
{
	static const char sql[] = "SELECT id, start_date, CASE WHEN ended_on IS NOT NULL AND"
	                          " ended_on < end_date THEN ended_on ELSE end_date END"
	                          " FROM contracts WHERE employee_id = ? AND id != ? ORDER BY"
	                          " start_date";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	int rc, found = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, employee_id);
	sqlite3_bind_int64(st, 2, self);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t s = date_days((const char *)sqlite3_column_text(st, 1));
		int64_t e = date_days((const char *)sqlite3_column_text(st, 2));
		if (cr_overlap(start, end, s, e)) {
			*other = sqlite3_column_int64(st, 0);
			*ostart = s;
			*oend = e;
			found = 1;
			break;
		}
	}
	db_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

/*
 * No two contracts of a person overlap. The field named is the start when
 * the other contract began first, else the end.
 */
static int
check_overlap(struct tremplin_request *r, int64_t employee_id, int64_t self, int64_t start,
    int64_t end, const char *start_field, const char *end_field, struct tremplin_error *e)
{
	int64_t other, os, oe;
	char a[CAL_DATE_LEN], b[CAL_DATE_LEN];
	int rc = overlapping_contract(r, employee_id, self, start, end, &other, &os, &oe);

	if (rc == -1) {
		input_error_set(e, 503, "unavailable", NULL, "the database is busy; try again");
		return -1;
	}
	if (rc == 1) {
		input_error_set(e, 422, "validation_failed", os <= start ? start_field : end_field,
		    "the contract would overlap contract %lld of the same employee (%s to %s)",
		    (long long)other, fmt_day(os, a, sizeof(a)), fmt_day(oe, b, sizeof(b)));
		return -1;
	}
	return 0;
}

static int
count_rows(struct tremplin_request *r, const char *sql, int64_t id)
{
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	int n = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	db_done(st);
	return n;
}

/* ---- contracts ---- */

static const struct tremplin_column contract_cols[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "employee_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	/* The employee's structure when absent. */
	{ .name = "structure_id",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_FIXED,
	    .category = "identity",
	    .min = 1,
	    .max = 2147483647 },
	{ .name = "start_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "identity" },
	{ .name = "end_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "identity" },
	{ .name = "initial_end_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_SERVER,
	    .category = "identity" },
	/* The bounds (20 to 35, below with a derogation) are the check's, to say so. */
	{ .name = "weekly_hours",
	    .type = TREMPLIN_COL_REAL,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "identity",
	    .min = -2147483647,
	    .max = 2147483647 },
	{ .name = "hours_derogation_from",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "identity" },
	{ .name = "hours_derogation_until",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "identity" },
	{ .name = "hours_derogation_reason",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "contract_legal",
	    .max = 300 },
	{ .name = "ended_on",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "identity" },
	KERNEL_CREATED_AT,
	KERNEL_UPDATED_AT,
};

static int
changed(json_t *o, const json_t *before, const char *key)
{
	return before != NULL && !json_equal(json_object_get(o, key), json_object_get(before, key));
}

/* Weekly hours and the ACI's derogation below 20 hours. */
static int
check_hours(json_t *o, const char *kind, struct tremplin_error *e)
{
	double hours = json_number_value(json_object_get(o, "weekly_hours"));
	int aci = strcmp(kind, "ACI") == 0;
	int64_t start = day_of(o, "start_date"), end = day_of(o, "end_date");
	const char *until = json_str(o, "hours_derogation_until");
	char a[CAL_DATE_LEN];

	if (until == NULL) {
		if (json_str(o, "hours_derogation_from") != NULL ||
		    json_str(o, "hours_derogation_reason") != NULL) {
			input_error_set(e, 422, "validation_failed", "hours_derogation_until",
			    "hours_derogation_until is required to record a derogation");
			return -1;
		}
	} else {
		int64_t from = json_str(o, "hours_derogation_from") != NULL
		    ? day_of(o, "hours_derogation_from")
		    : start;
		if (!aci) {
			input_error_set(e, 422, "validation_failed", "hours_derogation_until",
			    "an hours derogation is for an ACI only; this structure is an %s",
			    kind);
			return -1;
		}
		if (from < start || from > end) {
			input_error_set(e, 422, "validation_failed", "hours_derogation_from",
			    "hours_derogation_from must fall within the contract");
			return -1;
		}
		if (cr_derogation_ok(from, date_days(until)) == -1) {
			input_error_set(e, 422, "validation_failed", "hours_derogation_until",
			    "a derogation lasts at most 12 months: hours_derogation_until must be"
			    " from %s to %s",
			    json_str(o, "hours_derogation_from")
			        ? json_str(o, "hours_derogation_from")
			        : json_str(o, "start_date"),
			    fmt_day(cal_months_end(from, CR_DEROGATION_MONTHS), a, sizeof(a)));
			return -1;
		}
	}
	if (hours <= 0 || hours > CR_MAX_HOURS) {
		input_error_set(e, 422, "validation_failed", "weekly_hours",
		    "weekly_hours must be from %d to %d", CR_MIN_HOURS, CR_MAX_HOURS);
		return -1;
	}
	if (hours < CR_MIN_HOURS && !aci) {
		input_error_set(e, 422, "validation_failed", "weekly_hours",
		    "weekly_hours must be from %d to %d (below %d only in an ACI, with a "
		    "derogation)",
		    CR_MIN_HOURS, CR_MAX_HOURS, CR_MIN_HOURS);
		return -1;
	}
	if (hours < CR_MIN_HOURS && until == NULL) {
		input_error_set(e, 422, "validation_failed", "weekly_hours",
		    "below %d hours a week needs a recorded derogation (hours_derogation_until)",
		    CR_MIN_HOURS);
		return -1;
	}
	return 0;
}

static int
contract_check(struct tremplin_request *r, json_t *o, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	(void)arg;
	static const char renewals_sql[] =
	    "SELECT count(*) FROM contract_renewals WHERE contract_id = ?";
	static const char outside_sql[] =
	    "SELECT count(*) FROM (SELECT start_date, end_date FROM contract_suspensions"
	    " WHERE contract_id = ?1 UNION ALL SELECT start_date, end_date FROM ai_placements"
	    " WHERE contract_id = ?1) WHERE start_date < ?2 OR end_date > ?3";
	int64_t employee_id = json_integer_value(json_object_get(o, "employee_id"));
	int64_t self = json_integer_value(json_object_get(o, "id")), structure_id, birth;
	char kind[16], a[CAL_DATE_LEN], b[CAL_DATE_LEN];

	if (employee_field(r, employee_id, &structure_id, &birth) == -1) {
		input_error_set(
		    e, 404, "not_found", NULL, "no employee %lld", (long long)employee_id);
		return -1;
	}
	if (json_object_get(o, "structure_id") == NULL ||
	    json_is_null(json_object_get(o, "structure_id")))
		json_object_set_new(o, "structure_id", json_integer(structure_id));
	if (structure_kind(r, json_integer_value(json_object_get(o, "structure_id")), kind,
	        sizeof(kind)) == -1) {
		input_error_set(
		    e, 422, "validation_failed", "structure_id", "structure_id is not a structure");
		return -1;
	}

	int64_t start = day_of(o, "start_date"), end = day_of(o, "end_date");
	if (before != NULL &&
	    (changed(o, before, "start_date") || changed(o, before, "end_date"))) {
		int n = count_rows(r, renewals_sql, self);
		if (n != 0) {
			const char *f =
			    changed(o, before, "start_date") ? "start_date" : "end_date";
			input_error_set(e, n < 0 ? 503 : 422,
			    n < 0 ? "unavailable" : "validation_failed", f,
			    "%s cannot change once the contract is renewed; a renewal moves the end"
			    " (POST /v1/contracts/{id}/renewals)",
			    f);
			return -1;
		}
	}
	if (end < start) {
		input_error_set(
		    e, 422, "validation_failed", "end_date", "end_date is before start_date");
		return -1;
	}
	/*
	 * Until the first renewal (checked above) the end is the initial end,
	 * which the limits apply to; renewals are checked when they are made.
	 */
	if (before == NULL || changed(o, before, "end_date"))
		json_object_set(o, "initial_end_date", json_object_get(o, "end_date"));
	switch (cr_duration(start, day_of(o, "initial_end_date"))) {
	case CR_DURATION_OK:
		break;
	case CR_DURATION_TOO_SHORT:
		input_error_set(e, 422, "validation_failed", "end_date",
		    "a CDDI lasts at least 4 months: from %s, end_date must be on or after %s",
		    json_str(o, "start_date"),
		    fmt_day(cal_months_end(start, CR_MIN_MONTHS), a, sizeof(a)));
		return -1;
	case CR_DURATION_OVER_24:
	case CR_DURATION_OVER_60:
		input_error_set(e, 422, "validation_failed", "end_date",
		    "a CDDI lasts at most 24 months: from %s, end_date must be on or before %s;"
		    " beyond, only by renewals with a legal reason",
		    json_str(o, "start_date"),
		    fmt_day(cal_months_end(start, CR_MAX_MONTHS), a, sizeof(a)));
		return -1;
	}

	const char *ended = json_str(o, "ended_on");
	if (ended != NULL && (date_days(ended) < start || date_days(ended) > end)) {
		input_error_set(e, 422, "validation_failed", "ended_on",
		    "ended_on must fall within the contract (%s to %s)", json_str(o, "start_date"),
		    json_str(o, "end_date"));
		return -1;
	}
	if (check_hours(o, kind, e) == -1)
		return -1;
	if (before != NULL &&
	    (changed(o, before, "start_date") || changed(o, before, "end_date"))) {
		sqlite3_stmt *st = db_stmt(r->srv->db, outside_sql);
		int n = -1;
		if (st != NULL) {
			sqlite3_bind_int64(st, 1, self);
			sqlite3_bind_text(
			    st, 2, fmt_day(start, a, sizeof(a)), -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 3, fmt_day(end, b, sizeof(b)), -1, SQLITE_TRANSIENT);
			if (sqlite3_step(st) == SQLITE_ROW)
				n = sqlite3_column_int(st, 0);
			db_done(st);
		}
		if (n != 0) {
			const char *f =
			    changed(o, before, "start_date") ? "start_date" : "end_date";
			input_error_set(e, n < 0 ? 503 : 422,
			    n < 0 ? "unavailable" : "validation_failed", f,
			    "%s would leave a suspension or a placement outside the contract", f);
			return -1;
		}
	}
	return check_overlap(r, employee_id, self, start, held_until(o), "start_date",
	    json_str(o, "ended_on") != NULL ? "ended_on" : "end_date", e);
}

const struct tremplin_record rec_contract = {
	.size = sizeof(struct tremplin_record),
	.name = "contract",
	.plural = "contracts",
	.table = "contracts",
	.columns = contract_cols,
	.ncolumns = TR_NELEM(contract_cols),
	.owner = TREMPLIN_OWNER_PERSON,
	.check = contract_check,
};

/*
 * The contract a record hangs on, as stored (contract_id set by the
 * framework from the route). NULL and e set when it is gone.
 */
static json_t *
parent_contract(struct tremplin_request *r, json_t *o, struct tremplin_error *e)
{
	int dberr;
	int64_t id = json_integer_value(json_object_get(o, "contract_id"));
	json_t *c = resource_load(r, resource_find("contract"), id, &dberr);

	if (c == NULL)
		input_error_set(e, dberr ? 503 : 404, dberr ? "unavailable" : "not_found", NULL,
		    "no contract %lld", (long long)id);
	return c;
}

/* ---- renewals ---- */

static const char *const renewal_reasons[] = { "training_to_finish", "age_50_plus", "rqth",
	"aci_severe_difficulties", NULL };

static const struct tremplin_column renewal_cols[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "contract_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "previous_end_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_SERVER,
	    .category = "identity" },
	{ .name = "new_end_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "identity" },
	/* Past 24 months, the legal ground: reveals age, disability or difficulties. */
	{ .name = "reason",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_NULLABLE | TREMPLIN_COL_FIXED,
	    .category = "contract_legal",
	    .values = renewal_reasons },
	KERNEL_CREATED_AT,
};

/* A reason is checked wherever it is given: it must be true of the person. */
static int
check_reason(
    const char *reason, const char *kind, int64_t birth, int64_t from, struct tremplin_error *e)
{
	char a[CAL_DATE_LEN];

	if (strcmp(reason, "aci_severe_difficulties") == 0 && strcmp(kind, "ACI") != 0) {
		input_error_set(e, 422, "validation_failed", "reason",
		    "aci_severe_difficulties is for an ACI only; this structure is an %s", kind);
		return -1;
	}
	if (strcmp(reason, "age_50_plus") == 0 && cr_age_on(birth, from) < CR_AGE_EXTENSION) {
		input_error_set(e, 422, "validation_failed", "reason",
		    "age_50_plus: the employee is %d on %s, the first day of the renewal",
		    cr_age_on(birth, from), fmt_day(from, a, sizeof(a)));
		return -1;
	}
	return 0;
}

static int
renewal_check(struct tremplin_request *r, json_t *o, const json_t *before, struct tremplin_error *e,
    void *arg)
{
	(void)arg;
	char kind[16], a[CAL_DATE_LEN];
	int64_t structure_id, birth, employee_id;
	const char *reason = json_str(o, "reason");
	int rc = -1;

	if (before != NULL) {
		input_error_set(e, 422, "validation_failed", NULL, "a renewal does not change");
		return -1;
	}
	json_t *c = parent_contract(r, o, e);
	if (c == NULL)
		return -1;
	employee_id = json_integer_value(json_object_get(c, "employee_id"));
	int64_t start = day_of(c, "start_date"), prev = day_of(c, "end_date");
	int64_t next = day_of(o, "new_end_date");
	if (employee_field(r, employee_id, &structure_id, &birth) == -1 ||
	    structure_kind(r, json_integer_value(json_object_get(c, "structure_id")), kind,
	        sizeof(kind)) == -1) {
		input_error_set(e, 503, "unavailable", NULL, "the database is busy; try again");
		goto out;
	}
	if (json_str(c, "ended_on") != NULL) {
		input_error_set(e, 409, "conflict", NULL,
		    "contract %lld ended on %s: it cannot be renewed",
		    (long long)json_integer_value(json_object_get(c, "id")),
		    json_str(c, "ended_on"));
		goto out;
	}
	json_object_set(o, "previous_end_date", json_object_get(c, "end_date"));
	if (next <= prev) {
		input_error_set(e, 422, "validation_failed", "new_end_date",
		    "new_end_date must be after the contract's end_date (%s)",
		    json_str(c, "end_date"));
		goto out;
	}
	switch (cr_duration(start, next)) {
	case CR_DURATION_OK:
	case CR_DURATION_TOO_SHORT: /* cannot be: it ends later than a valid contract */
		break;
	case CR_DURATION_OVER_60:
		input_error_set(e, 422, "validation_failed", "new_end_date",
		    "a CDDI lasts at most 60 months with its renewals: from %s, new_end_date must"
		    " be on or before %s",
		    json_str(c, "start_date"),
		    fmt_day(cal_months_end(start, CR_MAX_EXTENDED_MONTHS), a, sizeof(a)));
		goto out;
	case CR_DURATION_OVER_24:
		if (reason == NULL) {
			input_error_set(e, 422, "validation_failed", "reason",
			    "past 24 months (after %s) a renewal needs a reason: "
			    "training_to_finish,"
			    " age_50_plus, rqth or aci_severe_difficulties",
			    fmt_day(cal_months_end(start, CR_MAX_MONTHS), a, sizeof(a)));
			goto out;
		}
		if (next > cal_months_end(prev + 1, CR_STEP_MONTHS)) {
			input_error_set(e, 422, "validation_failed", "new_end_date",
			    "past 24 months a renewal lasts at most one year: new_end_date must be "
			    "on"
			    " or before %s",
			    fmt_day(cal_months_end(prev + 1, CR_STEP_MONTHS), a, sizeof(a)));
			goto out;
		}
		break;
	}
	if (reason != NULL && check_reason(reason, kind, birth, prev + 1, e) == -1)
		goto out;
	rc = check_overlap(r, employee_id, json_integer_value(json_object_get(c, "id")), start,
	    next, "new_end_date", "new_end_date", e);
out:
	json_decref(c);
	return rc;
}

/* The contract's end moves with the renewal, in the same transaction, and says so. */
static int
renewal_written(struct tremplin_request *r, json_t *obj, int64_t id, void *arg)
{
	(void)arg;
	static const char sql[] = "UPDATE contracts SET end_date = ?, updated_at = ? WHERE id = ?";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	int64_t contract_id = json_integer_value(json_object_get(obj, "contract_id")), employee_id;
	char now[32];
	int rc;

	(void)id;
	if (st == NULL)
		return -1;
	tr_rfc3339(tr_now(), now, sizeof(now));
	sqlite3_bind_text(st, 1, json_str(obj, "new_end_date"), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, contract_id);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE ||
	    resource_employee(r, resource_find("contract_renewal"), obj, &employee_id) == -1)
		return -1;
	json_t *changes = json_pack("[s]", "end_date");
	rc =
	    resource_publish(r, resource_find("contract"), contract_id, employee_id, NULL, changes);
	json_decref(changes);
	return rc;
}

const struct tremplin_record rec_contract_renewal = {
	.size = sizeof(struct tremplin_record),
	.name = "contract_renewal",
	.plural = "contract_renewals",
	.table = "contract_renewals",
	.collection = "renewals",
	.columns = renewal_cols,
	.ncolumns = TR_NELEM(renewal_cols),
	.owner = TREMPLIN_OWNER_RECORD,
	.parent = "contract",
	.parent_col = "contract_id",
	.nested_as = "renewals",
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_CREATE,
	.check = renewal_check,
	.after_write = renewal_written,
};

/* ---- suspensions ---- */

static const char *const suspension_reasons[] = { "illness", "work_accident", "family_leave",
	"incarceration", "trial_period", "immersion", "training", "other", NULL };

static const struct tremplin_column suspension_cols[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "contract_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "start_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "identity" },
	{ .name = "end_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "identity" },
	/* Illness, a work accident, detention...: the referent CIP's and the coordinator's. */
	{ .name = "reason",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "contract_legal",
	    .values = suspension_reasons },
	KERNEL_CREATED_AT,
};

static int
suspension_check(struct tremplin_request *r, json_t *o, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	(void)arg;
	static const char sql[] = "SELECT id, start_date, end_date FROM contract_suspensions"
	                          " WHERE contract_id = ? AND id != ? AND start_date <= ?"
	                          " AND end_date >= ? ORDER BY start_date LIMIT 1";
	int64_t start = day_of(o, "start_date"), end = day_of(o, "end_date");
	int rc = -1;

	(void)before;
	json_t *c = parent_contract(r, o, e);
	if (c == NULL)
		return -1;
	if (end < start) {
		input_error_set(
		    e, 422, "validation_failed", "end_date", "end_date is before start_date");
		goto out;
	}
	if (start < day_of(c, "start_date") || start > held_until(c)) {
		input_error_set(e, 422, "validation_failed", "start_date",
		    "start_date must fall within the contract (%s to %s)",
		    json_str(c, "start_date"),
		    json_str(c, json_str(c, "ended_on") ? "ended_on" : "end_date"));
		goto out;
	}
	if (end > held_until(c)) {
		input_error_set(e, 422, "validation_failed", "end_date",
		    "end_date must fall within the contract (%s to %s)", json_str(c, "start_date"),
		    json_str(c, json_str(c, "ended_on") ? "ended_on" : "end_date"));
		goto out;
	}
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	if (st == NULL) {
		input_error_set(e, 503, "unavailable", NULL, "the database is busy; try again");
		goto out;
	}
	sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(o, "contract_id")));
	sqlite3_bind_int64(st, 2, json_integer_value(json_object_get(o, "id")));
	sqlite3_bind_text(st, 3, json_str(o, "end_date"), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, json_str(o, "start_date"), -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		input_error_set(e, 422, "validation_failed", "start_date",
		    "the suspension would overlap suspension %lld (%s to %s)",
		    (long long)sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1),
		    sqlite3_column_text(st, 2));
	else
		rc = 0;
	db_done(st);
out:
	json_decref(c);
	return rc;
}

const struct tremplin_record rec_contract_suspension = {
	.size = sizeof(struct tremplin_record),
	.name = "contract_suspension",
	.plural = "contract_suspensions",
	.table = "contract_suspensions",
	.collection = "suspensions",
	.columns = suspension_cols,
	.ncolumns = TR_NELEM(suspension_cols),
	.owner = TREMPLIN_OWNER_RECORD,
	.parent = "contract",
	.parent_col = "contract_id",
	.nested_as = "suspensions",
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_CREATE | TREMPLIN_OP_UPDATE,
	.check = suspension_check,
};

/* ---- AI placements (mises à disposition) ---- */

static const char *const employer_kinds[] = { "company", "individual", "association",
	"local_authority", NULL };

static const struct tremplin_column placement_cols[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "contract_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "employer_kind",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "identity",
	    .values = employer_kinds },
	{ .name = "employer_name",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "identity",
	    .max = 200 },
	{ .name = "start_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "identity" },
	{ .name = "end_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "identity" },
	{ .name = "hours",
	    .type = TREMPLIN_COL_REAL,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "identity",
	    .min = -2147483647,
	    .max = 2147483647 },
	KERNEL_CREATED_AT,
};

/* A working day lasts at most 10 hours: a placement cannot hold more. */
#define MAX_HOURS_A_DAY 10

/*
 * The placements of a person, as the cap sees them: an array of *n (free
 * it), NULL on a database error. Room is left for one more.
 */
static struct cr_placement *
person_placements(struct tremplin_request *r, int64_t employee_id, size_t *n)
{
	static const char sql[] = "SELECT p.start_date, p.hours, p.employer_kind = 'company'"
	                          " FROM ai_placements p JOIN contracts c ON c.id = p.contract_id"
	                          " WHERE c.employee_id = ? ORDER BY p.start_date, p.id";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	struct cr_placement *p = NULL, *q;
	size_t cap = 0;
	int rc;

	*n = 0;
	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, employee_id);
	for (;;) {
		/* Always room for this row and one more. */
		if (*n + 1 >= cap) {
			size_t more = cap ? cap * 2 : 16;
			if (more > SIZE_MAX / sizeof(*p) ||
			    (q = realloc(p, more * sizeof(*p))) == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			p = q;
			cap = more;
		}
		if ((rc = sqlite3_step(st)) != SQLITE_ROW)
			break;
		p[*n].start = date_days((const char *)sqlite3_column_text(st, 0));
		p[*n].hours = sqlite3_column_double(st, 1);
		p[*n].company = sqlite3_column_int(st, 2);
		(*n)++;
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		free(p);
		return NULL;
	}
	return p;
}

static int
placement_check(struct tremplin_request *r, json_t *o, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	(void)arg;
	int64_t start = day_of(o, "start_date"), end = day_of(o, "end_date");
	double hours = json_number_value(json_object_get(o, "hours"));
	char kind[16], a[CAL_DATE_LEN], b[CAL_DATE_LEN];
	int rc = -1;

	if (before != NULL) {
		input_error_set(e, 422, "validation_failed", NULL, "a placement does not change");
		return -1;
	}
	json_t *c = parent_contract(r, o, e);
	if (c == NULL)
		return -1;
	if (structure_kind(r, json_integer_value(json_object_get(c, "structure_id")), kind,
	        sizeof(kind)) == -1) {
		input_error_set(e, 503, "unavailable", NULL, "the database is busy; try again");
		goto out;
	}
	if (strcmp(kind, "AI") != 0) {
		input_error_set(e, 409, "conflict", NULL,
		    "placements are for a contract with an AI (association intermédiaire);"
		    " this contract is with an %s",
		    kind);
		goto out;
	}
	if (end < start) {
		input_error_set(
		    e, 422, "validation_failed", "end_date", "end_date is before start_date");
		goto out;
	}
	if (start < day_of(c, "start_date") || end > held_until(c)) {
		const char *f = start < day_of(c, "start_date") || start > held_until(c)
		    ? "start_date"
		    : "end_date";
		input_error_set(e, 422, "validation_failed", f,
		    "a placement must fall within the contract (%s to %s)",
		    json_str(c, "start_date"), fmt_day(held_until(c), a, sizeof(a)));
		goto out;
	}
	if (hours <= 0 || hours > (double)MAX_HOURS_A_DAY * (double)(end - start + 1)) {
		input_error_set(e, 422, "validation_failed", "hours",
		    "hours must be more than 0 and at most %d a day (%lld over the placement)",
		    MAX_HOURS_A_DAY, (long long)(MAX_HOURS_A_DAY * (end - start + 1)));
		goto out;
	}
	if (strcmp(json_str(o, "employer_kind"), "company") == 0) {
		size_t n;
		struct cr_ai_window w, over;
		struct cr_placement *p =
		    person_placements(r, json_integer_value(json_object_get(c, "employee_id")), &n);
		if (p == NULL) {
			input_error_set(
			    e, 503, "unavailable", NULL, "the database is busy; try again");
			goto out;
		}
		p[n] = (struct cr_placement){ .start = start, .hours = hours, .company = 1 };
		if (cr_ai_check(p, n + 1, &over) == -1) {
			fmt_day(over.start, a, sizeof(a));
			fmt_day(over.end, b, sizeof(b));
			if (cr_ai_window_at(p, n + 1, start, &w) && w.start == over.start) {
				/* What remained where this placement falls, before it. */
				double left = CR_AI_CAP_HOURS - (w.used - hours);
				input_error_set(e, 422, "validation_failed", "hours",
				    "at most %d hours with companies over 24 months: %.2f remain in"
				    " the window from %s to %s, %.2f asked",
				    CR_AI_CAP_HOURS, left > 0 ? left : 0, a, b, hours);
			} else
				/* An earlier start regroups later placements into windows. */
				input_error_set(e, 422, "validation_failed", "hours",
				    "at most %d hours with companies over 24 months: the window "
				    "from"
				    " %s to %s would hold %.2f",
				    CR_AI_CAP_HOURS, a, b, over.used);
			free(p);
			goto out;
		}
		free(p);
	}
	rc = 0;
out:
	json_decref(c);
	return rc;
}

const struct tremplin_record rec_ai_placement = {
	.size = sizeof(struct tremplin_record),
	.name = "ai_placement",
	.plural = "ai_placements",
	.table = "ai_placements",
	.collection = "placements",
	.columns = placement_cols,
	.ncolumns = TR_NELEM(placement_cols),
	.owner = TREMPLIN_OWNER_RECORD,
	.parent = "contract",
	.parent_col = "contract_id",
	.nested_as = "placements",
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_CREATE,
	.check = placement_check,
};

/*
 * GET /v1/employees/{id}/ai_hours[?date=YYYY-MM-DD]: the hours with
 * companies in the 24-month window holding date (today by default) and what
 * remains of the 480. Outside any window (no placement with a company yet,
 * or the last window over), nothing is used and the window is null: the
 * next placement with a company opens one.
 */
void
contracts_ai_hours(struct tremplin_request *r)
{
	static const char *const params[] = { "date", NULL };
	const char *date = api_query(r, "date");
	struct cr_ai_window w;
	struct access a;
	char today[CAL_DATE_LEN], ws[CAL_DATE_LEN], we[CAL_DATE_LEN];
	size_t n;

	if (!policy_personal_data(r->who.role)) {
		api_error(r, 403, "forbidden", NULL, "the %s role reads no personal data",
		    role_name(r->who.role));
		return;
	}
	if (api_query_only(r, params) == -1)
		return;
	if (date != NULL && !valid_date(date)) {
		api_error(
		    r, 400, "bad_request", "date", "date must be a date YYYY-MM-DD that exists");
		return;
	}
	if (access_for_employee(r, r->ids[0], &a) == -1) {
		api_error(r, 404, "not_found", NULL, "no employee %lld", (long long)r->ids[0]);
		return;
	}
	if (!policy_can_read(&a, CAT_IDENTITY)) {
		api_error(r, 403, "forbidden", NULL, "the %s role may not read contracts",
		    role_name(a.role));
		return;
	}
	if (date == NULL) {
		date_today(today, sizeof(today));
		date = today;
	}
	struct cr_placement *p = person_placements(r, r->ids[0], &n);
	if (p == NULL) {
		api_internal(r, "ai placements");
		return;
	}
	int found = cr_ai_window_at(p, n, date_days(date), &w);
	free(p);
	double used = found ? w.used : 0;
	json_t *body = json_pack("{s:I, s:s, s:i, s:f, s:f, s:I}", "employee_id",
	    (json_int_t)r->ids[0], "date", date, "cap_hours", CR_AI_CAP_HOURS, "used_hours", used,
	    "remaining_hours", used < CR_AI_CAP_HOURS ? CR_AI_CAP_HOURS - used : 0.0,
	    "company_placements", (json_int_t)(found ? w.placements : 0));
	json_object_set_new(body, "window_start",
	    found ? json_string(fmt_day(w.start, ws, sizeof(ws))) : json_null());
	json_object_set_new(
	    body, "window_end", found ? json_string(fmt_day(w.end, we, sizeof(we))) : json_null());
	/* The person by name beside the id, as every answer names them. */
	json_t *name = policy_can_read(&a, CAT_IDENTITY) ? person_display_name(r, r->ids[0]) : NULL;
	json_object_set_new(body, "employee_name", name ? name : json_null());
	api_reply(r, 200, body);
}
