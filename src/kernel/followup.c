/*
 * The follow-up of a pathway: welcome checklist, strengths and barriers,
 * observations of work behaviour, goals, reviews, CIP notes, exit. Each is a
 * table-driven resource (resource.h): this file says what its columns are,
 * which confidentiality category each belongs to, and the rules across
 * fields.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "config.h"
#include "db.h"
#include "handlers.h"
#include "kernel.h"
#include "resource.h"
#include "server.h"
#include "util.h"

/* ---- welcome ---- */

static const struct tremplin_column welcome_cols[] = {
	KERNEL_ID,
	KERNEL_PERSON,
	{ .name = "item",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "welcome",
	    .max = 64 },
	{ .name = "done_on",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "welcome" },
	{ .name = "done_by",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_SERVER | TREMPLIN_COL_AUTHOR,
	    .category = "welcome" },
	{ .name = "note",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "welcome",
	    .max = 500 },
	KERNEL_CREATED_AT,
};

static int
not_in_future(const char *field, const char *date, struct tremplin_error *e)
{
	char today[11];

	date_today(today, sizeof(today));
	if (date != NULL && strcmp(date, today) > 0) {
		input_error_set(e, 422, "validation_failed", field, "%s is in the future", field);
		return -1;
	}
	return 0;
}

static int
welcome_check(struct tremplin_request *r, json_t *o, const json_t *before, struct tremplin_error *e,
    void *arg)
{
	(void)arg;
	const struct config *c = r->srv->conf;
	const char *item = json_str(o, "item");

	(void)before;
	for (size_t i = 0; i < c->nwelcome; i++)
		if (strcmp(c->welcome[i].code, item) == 0)
			return not_in_future("done_on", json_str(o, "done_on"), e);
	input_error_set(e, 422, "validation_failed", "item",
	    "item is not on the welcome checklist (see GET /v1/employees/{id}/welcome)");
	return -1;
}

const struct tremplin_record rec_welcome = {
	.size = sizeof(struct tremplin_record),
	.name = "welcome_item",
	.plural = "welcome_items",
	.table = "welcome_items",
	.collection = "welcome",
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_CREATE | TREMPLIN_OP_UPDATE,
	.columns = welcome_cols,
	.ncolumns = TR_NELEM(welcome_cols),
	.owner = TREMPLIN_OWNER_PERSON,
	.check = welcome_check,
};

/*
 * GET /v1/employees/{id}/welcome: every configured item, done or not; a done
 * item carries its record (who and when) as the policy shows it.
 */
void
welcome_checklist(struct tremplin_request *r)
{
	const struct config *c = r->srv->conf;
	struct access a;
	unsigned cats = 0;
	int rc;

	if (!policy_personal_data(r->who.role)) {
		api_error(r, 403, "forbidden", NULL, "the %s role reads no personal data",
		    role_name(r->who.role));
		return;
	}
	if (access_for_employee(r, r->ids[0], &a) == -1) {
		api_error(r, 404, "not_found", NULL, "no employee %lld", (long long)r->ids[0]);
		return;
	}
	if (!policy_can_read(&a, CAT_WELCOME)) {
		api_error(r, 403, "forbidden", NULL,
		    "the %s role may not read the welcome checklist", role_name(a.role));
		return;
	}
	/* The records done, by item; then the checklist in the configured order. */
	const struct resource *res = resource_find("welcome_item");
	sqlite3_stmt *st = db_stmt(r->srv->db, res->sql_by_person);
	if (st == NULL) {
		api_internal(r, "prepare");
		return;
	}
	sqlite3_bind_int64(st, 1, r->ids[0]);
	sqlite3_bind_int64(st, 2, 0);
	sqlite3_bind_int(st, 3, -1);
	json_t *done = json_object();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = db_row_to_json(st);
		json_t *v = resource_view(res, &a, row, &cats);
		const char *item = json_str(row, "item");
		if (v != NULL)
			resource_names(r, res, &a, v);
		if (v != NULL && item != NULL)
			json_object_set_new(done, item, v);
		else
			json_decref(v);
		json_decref(row);
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		json_decref(done);
		api_internal(r, "welcome checklist");
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < c->nwelcome; i++) {
		json_t *o = json_pack("{s:s, s:s, s:b}", "item", c->welcome[i].code, "label",
		    c->welcome[i].label, "done", 0);
		json_t *rec = json_object_get(done, c->welcome[i].code);
		if (rec != NULL) {
			json_object_set_new(o, "done", json_true());
			json_object_update_missing(o, rec);
			json_object_del(o, "employee_id");
			json_object_del(o, "employee_name");
		}
		json_array_append_new(items, o);
	}
	json_decref(done);
	if (cats != 0 &&
	    audit_record(r->srv->audit, &r->who, "read", r->ids[0], res->table, cats)) {
		json_decref(items);
		audit_refuse(r, "read");
		return;
	}
	api_reply(r, 200, json_pack("{s:o}", "items", items));
}

/* ---- strengths and barriers ---- */

static const char *const barrier_categories[] = { "mobility", "housing", "health", "childcare",
	"language", "basic_skills", "digital", "finances", "administrative", "justice", NULL };
static const char *const barrier_statuses[] = { "identified", "in_progress", "resolved", NULL };

static const struct tremplin_column barrier_cols[] = {
	KERNEL_ID,
	KERNEL_PERSON,
	{ .name = "category",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "barriers",
	    .values = barrier_categories },
	{ .name = "severity",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "social_summary",
	    .min = 1,
	    .max = 4 },
	{ .name = "status",
	    .type = TREMPLIN_COL_ENUM,
	    .category = "social_summary",
	    .values = barrier_statuses,
	    .def = "\"identified\"" },
	{ .name = "shared_with_eti",
	    .type = TREMPLIN_COL_BOOL,
	    .category = "social_summary",
	    .def = "false" },
	{ .name = "detail",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "social",
	    .max = 4000 },
	{ .name = "created_by",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_SERVER | TREMPLIN_COL_AUTHOR },
	KERNEL_CREATED_AT,
	KERNEL_UPDATED_AT,
};

/* Health (disability included) and justice details are for the referent CIP alone. */
static const char *const sensitive_categories[] = { "health", "justice", NULL };

static int
sensitive_barrier(const json_t *row)
{
	return resource_sensitive_row(resource_find("barrier"), row);
}

static int
barrier_visible(const struct tremplin_access *a, const json_t *row, void *arg)
{
	(void)arg;
	return a->role != TREMPLIN_ROLE_ETI ||
	    json_is_true(json_object_get(row, "shared_with_eti"));
}

static int
barrier_check(struct tremplin_request *r, json_t *o, const json_t *before, struct tremplin_error *e,
    void *arg)
{
	(void)arg;
	struct access a;

	/*
	 * Moving a barrier out of health or justice would show its detail to
	 * every CIP: only the referent CIP may, like reading it.
	 */
	if (before != NULL && sensitive_barrier(before) && !sensitive_barrier(o) &&
	    json_object_get(before, "detail") != NULL &&
	    !json_is_null(json_object_get(before, "detail"))) {
		if (access_for_employee(
		        r, json_integer_value(json_object_get(before, "employee_id")), &a) == -1 ||
		    !policy_can_write(&a, CAT_SENSITIVE)) {
			input_error_set(e, 403, "forbidden", "category",
			    "only the referent CIP may move this barrier out of its category");
			return -1;
		}
	}
	return 0;
}

/* A shared barrier's severity and status: a resolved one must not look open to the ETI. */
static const char *const barrier_shared[] = { "severity", "status", "shared_with_eti", NULL };

const struct tremplin_record rec_barrier = {
	.size = sizeof(struct tremplin_record),
	.shared_col = "shared_with_eti",
	.shared_fields = barrier_shared,
	.name = "barrier",
	.plural = "barriers",
	.table = "barriers",
	.columns = barrier_cols,
	.ncolumns = TR_NELEM(barrier_cols),
	.owner = TREMPLIN_OWNER_PERSON,
	.check = barrier_check,
	.visible = barrier_visible,
	.sensitive_col = "detail",
	.sensitive_key = "category",
	.sensitive_values = sensitive_categories,
};

/* ---- observations of work behaviour ---- */

static const char *const observation_kinds[] = { "punctuality", "safety", "teamwork", "quality",
	"autonomy", "attitude", "other", NULL };

static const struct tremplin_column observation_cols[] = {
	KERNEL_ID,
	KERNEL_PERSON,
	{ .name = "observed_on",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "observations" },
	{ .name = "kind",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "observations",
	    .values = observation_kinds },
	{ .name = "text",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "observations",
	    .max = 2000 },
	{ .name = "author_id",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_SERVER | TREMPLIN_COL_AUTHOR },
	KERNEL_CREATED_AT,
};

static int
observation_check(struct tremplin_request *r, json_t *o, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	(void)arg;
	(void)r, (void)before;
	return not_in_future("observed_on", json_str(o, "observed_on"), e);
}

const struct tremplin_record rec_observation = {
	.size = sizeof(struct tremplin_record),
	.name = "observation",
	.plural = "observations",
	.table = "observations",
	.columns = observation_cols,
	.ncolumns = TR_NELEM(observation_cols),
	.owner = TREMPLIN_OWNER_PERSON,
	.check = observation_check,
};

/* ---- goals ---- */

static const char *const goal_statuses[] = { "open", "achieved", "abandoned", NULL };

static const struct tremplin_column goal_cols[] = {
	KERNEL_ID,
	KERNEL_PERSON,
	{ .name = "text",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "social",
	    .max = 1000 },
	{ .name = "deadline",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "social_summary" },
	{ .name = "status",
	    .type = TREMPLIN_COL_ENUM,
	    .category = "social_summary",
	    .values = goal_statuses,
	    .def = "\"open\"" },
	/* The CIP's choice alone (social_summary: the CIP writes it). */
	{ .name = "shared_with_eti",
	    .type = TREMPLIN_COL_BOOL,
	    .category = "social_summary",
	    .def = "false" },
	KERNEL_CREATED_AT,
	KERNEL_UPDATED_AT,
};

/* What the ETI reads of a goal the CIP shares: a CACES, a licence, and when. */
static const char *const goal_shared[] = { "text", "deadline", "status", "shared_with_eti", NULL };

const struct tremplin_record rec_goal = {
	.size = sizeof(struct tremplin_record),
	.shared_col = "shared_with_eti",
	.shared_fields = goal_shared,
	.name = "goal",
	.plural = "goals",
	.table = "goals",
	.columns = goal_cols,
	.ncolumns = TR_NELEM(goal_cols),
	.owner = TREMPLIN_OWNER_PERSON,
};

/* ---- reviews (bilans) ---- */

static const char *const review_kinds[] = { "entry", "intermediate", "exit", NULL };

static const struct tremplin_column review_cols[] = {
	KERNEL_ID,
	KERNEL_PERSON,
	{ .name = "kind",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "review_meta",
	    .values = review_kinds },
	{ .name = "planned_on",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "review_meta" },
	{ .name = "held_on",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "review_meta" },
	/*
	 * Who took part names the person's network (the probation officer, a
	 * doctor): as the decisions, not the ETI's. It reads that a review is
	 * held, and what the CIP shares.
	 */
	{ .name = "participants",
	    .type = TREMPLIN_COL_NAMES,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "social_summary" },
	{ .name = "content",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "social",
	    .max = 8000 },
	{ .name = "decisions",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "social_summary",
	    .max = 4000 },
	{ .name = "shared_with_eti",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "review_shared",
	    .max = 4000 },
	KERNEL_CREATED_AT,
	KERNEL_UPDATED_AT,
};

static int
review_check(struct tremplin_request *r, json_t *o, const json_t *before, struct tremplin_error *e,
    void *arg)
{
	(void)arg;
	(void)r, (void)before;
	return not_in_future("held_on", json_str(o, "held_on"), e);
}

const struct tremplin_record rec_review = {
	.size = sizeof(struct tremplin_record),
	.name = "review",
	.plural = "reviews",
	.table = "reviews",
	.columns = review_cols,
	.ncolumns = TR_NELEM(review_cols),
	.owner = TREMPLIN_OWNER_PERSON,
	.check = review_check,
};

/* ---- CIP notes ---- */

static const struct tremplin_column note_cols[] = {
	KERNEL_ID,
	KERNEL_PERSON,
	{ .name = "text",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "social",
	    .max = 8000 },
	{ .name = "author_id",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_SERVER | TREMPLIN_COL_AUTHOR },
	KERNEL_CREATED_AT,
};

const struct tremplin_record rec_note = {
	.size = sizeof(struct tremplin_record),
	.name = "note",
	.plural = "notes",
	.table = "notes",
	.columns = note_cols,
	.ncolumns = TR_NELEM(note_cols),
	.owner = TREMPLIN_OWNER_PERSON,
};

/* ---- exit ---- */

static const char *const exit_categories[] = { "emploi_durable", "emploi_transition",
	"sortie_positive", "autre", "exclue", NULL };

static const struct tremplin_column exit_cols[] = {
	KERNEL_ID,
	KERNEL_PERSON,
	/* The ETI reads that the person left, and when. */
	{ .name = "exit_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "identity" },
	/* "exclue" is a long illness or detention, and the destination says which. */
	{ .name = "category",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "orientation",
	    .values = exit_categories },
	{ .name = "destination",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "orientation",
	    .max = 300 },
	KERNEL_CREATED_AT,
	KERNEL_UPDATED_AT,
};

/*
 * One exit record a person. While the file is exited it is the exit in
 * force, corrected freely. Once the file was reopened it tells a past exit,
 * and any change closes the file again (exit_written): it must then be the
 * person's new exit, dated after the old one, never a silent correction.
 */
static int
exit_check(struct tremplin_request *r, json_t *o, const json_t *before, struct tremplin_error *e,
    void *arg)
{
	static const char sql[] = "SELECT status FROM employees WHERE id = ?";
	const char *was, *date = json_str(o, "exit_date");
	sqlite3_stmt *st;
	int rc, exited = 0;

	(void)arg;
	if (before == NULL)
		return 0;
	if ((st = db_stmt(r->srv->db, sql)) == NULL)
		rc = SQLITE_ERROR;
	else {
		sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(o, "employee_id")));
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *s = (const char *)sqlite3_column_text(st, 0);
			exited = s != NULL && strcmp(s, "exited") == 0;
		}
		db_done(st);
	}
	if (rc != SQLITE_ROW) {
		input_error_set(
		    e, 503, "unavailable", NULL, "the database did not answer; try again");
		return -1;
	}
	was = json_str((json_t *)before, "exit_date");
	if (exited || was == NULL || (date != NULL && strcmp(date, was) > 0))
		return 0;
	input_error_set(e, 422, "validation_failed", "exit_date",
	    "this person came back to the pathway after this exit of %s (the file was reopened): "
	    "a change here records their new exit and closes the file again; give its "
	    "exit_date, after %s",
	    was, was);
	return -1;
}

/* An exit closes the pathway: the person's status follows, in the same transaction. */
static int
exit_written(struct tremplin_request *r, json_t *obj, int64_t id, void *arg)
{
	(void)arg;
	static const char sql[] = "UPDATE employees SET status = 'exited' WHERE id = ?";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	int rc;

	(void)id;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(obj, "employee_id")));
	rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

const struct tremplin_record rec_exit = {
	.size = sizeof(struct tremplin_record),
	.name = "exit",
	.plural = "exits",
	.table = "exits",
	.columns = exit_cols,
	.ncolumns = TR_NELEM(exit_cols),
	.owner = TREMPLIN_OWNER_PERSON,
	.check = exit_check,
	.after_write = exit_written,
};
