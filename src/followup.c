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
#include "resource.h"
#include "server.h"
#include "util.h"

#define ID_COLUMNS                                                                                 \
	{ "id", COL_INT, COL_SERVER, CAT_NONE, 0, 0, NULL, NULL },                                 \
	{                                                                                          \
		"employee_id", COL_INT, COL_SERVER, CAT_NONE, 0, 0, NULL, NULL                     \
	}
#define STAMP(name)                                                                                \
	{                                                                                          \
		name, COL_TEXT, COL_SERVER, CAT_NONE, 0, 0, NULL, NULL                             \
	}

/* ---- welcome ---- */

static const struct column welcome_cols[] = {
	ID_COLUMNS,
	{ "item", COL_TEXT, COL_REQUIRED | COL_FIXED, CAT_WELCOME, 0, 64, NULL, NULL },
	{ "done_on", COL_DATE, COL_REQUIRED, CAT_WELCOME, 0, 0, NULL, NULL },
	{ "done_by", COL_INT, COL_SERVER, CAT_WELCOME, 0, 0, NULL, NULL },
	{ "note", COL_TEXT, COL_NULLABLE, CAT_WELCOME, 0, 500, NULL, NULL },
	STAMP("created_at"),
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
welcome_check(struct tremplin_request *r, json_t *o, const json_t *before, struct tremplin_error *e)
{
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

struct resource res_welcome = {
	.name = "welcome_item",
	.plural = "welcome_items",
	.table = "welcome_items",
	.cols = welcome_cols,
	.ncols = TR_NELEM(welcome_cols),
	.child = 1,
	.check = welcome_check,
	.author_col = "done_by",
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
	sqlite3_stmt *st = db_stmt(r->srv->db, res_welcome.sql_list);
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
		json_t *v = resource_view(&res_welcome, &a, row, &cats);
		const char *item = json_str(row, "item");
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
		}
		json_array_append_new(items, o);
	}
	json_decref(done);
	if (cats != 0 &&
	    audit_record(r->srv->audit, &r->who, "read", r->ids[0], res_welcome.table, cats)) {
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

static const struct column barrier_cols[] = {
	ID_COLUMNS,
	{ "category", COL_ENUM, COL_REQUIRED, CAT_BARRIER, 0, 0, barrier_categories, NULL },
	{ "severity", COL_INT, COL_REQUIRED, CAT_SOCIAL_SUMMARY, 1, 4, NULL, NULL },
	{ "status", COL_ENUM, 0, CAT_SOCIAL_SUMMARY, 0, 0, barrier_statuses, "\"identified\"" },
	{ "shared_with_eti", COL_BOOL, 0, CAT_SOCIAL_SUMMARY, 0, 0, NULL, "false" },
	{ "detail", COL_TEXT, COL_NULLABLE, CAT_SOCIAL, 0, 4000, NULL, NULL },
	{ "created_by", COL_INT, COL_SERVER, CAT_NONE, 0, 0, NULL, NULL },
	STAMP("created_at"),
	STAMP("updated_at"),
};

/* Health (disability included) and justice details are for the referent CIP alone. */
static const char *const sensitive_categories[] = { "health", "justice", NULL };

static int
sensitive_barrier(const json_t *row)
{
	return resource_sensitive_row(&res_barrier, row);
}

static int
barrier_visible(const struct access *a, const json_t *row)
{
	return a->role != ROLE_ETI || json_is_true(json_object_get(row, "shared_with_eti"));
}

static int
barrier_check(struct tremplin_request *r, json_t *o, const json_t *before, struct tremplin_error *e)
{
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

struct resource res_barrier = {
	.name = "barrier",
	.plural = "barriers",
	.table = "barriers",
	.cols = barrier_cols,
	.ncols = TR_NELEM(barrier_cols),
	.child = 1,
	.check = barrier_check,
	.visible = barrier_visible,
	.sensitive_col = "detail",
	.sensitive_key = "category",
	.sensitive_values = sensitive_categories,
	.author_col = "created_by",
};

/* ---- observations of work behaviour ---- */

static const char *const observation_kinds[] = { "punctuality", "safety", "teamwork", "quality",
	"autonomy", "attitude", "other", NULL };

static const struct column observation_cols[] = {
	ID_COLUMNS,
	{ "observed_on", COL_DATE, COL_REQUIRED, CAT_OBSERVATION, 0, 0, NULL, NULL },
	{ "kind", COL_ENUM, COL_REQUIRED, CAT_OBSERVATION, 0, 0, observation_kinds, NULL },
	{ "text", COL_TEXT, COL_REQUIRED, CAT_OBSERVATION, 0, 2000, NULL, NULL },
	{ "author_id", COL_INT, COL_SERVER, CAT_NONE, 0, 0, NULL, NULL },
	STAMP("created_at"),
};

static int
observation_check(
    struct tremplin_request *r, json_t *o, const json_t *before, struct tremplin_error *e)
{
	(void)r, (void)before;
	return not_in_future("observed_on", json_str(o, "observed_on"), e);
}

struct resource res_observation = {
	.name = "observation",
	.plural = "observations",
	.table = "observations",
	.cols = observation_cols,
	.ncols = TR_NELEM(observation_cols),
	.child = 1,
	.check = observation_check,
	.author_col = "author_id",
};

/* ---- goals ---- */

static const char *const goal_statuses[] = { "open", "achieved", "abandoned", NULL };

static const struct column goal_cols[] = {
	ID_COLUMNS,
	{ "text", COL_TEXT, COL_REQUIRED, CAT_SOCIAL, 0, 1000, NULL, NULL },
	{ "deadline", COL_DATE, COL_NULLABLE, CAT_SOCIAL_SUMMARY, 0, 0, NULL, NULL },
	{ "status", COL_ENUM, 0, CAT_SOCIAL_SUMMARY, 0, 0, goal_statuses, "\"open\"" },
	STAMP("created_at"),
	STAMP("updated_at"),
};

struct resource res_goal = {
	.name = "goal",
	.plural = "goals",
	.table = "goals",
	.cols = goal_cols,
	.ncols = TR_NELEM(goal_cols),
	.child = 1,
};

/* ---- reviews (bilans) ---- */

static const char *const review_kinds[] = { "entry", "intermediate", "exit", NULL };

static const struct column review_cols[] = {
	ID_COLUMNS,
	{ "kind", COL_ENUM, COL_REQUIRED, CAT_REVIEW_META, 0, 0, review_kinds, NULL },
	{ "planned_on", COL_DATE, COL_REQUIRED, CAT_REVIEW_META, 0, 0, NULL, NULL },
	{ "held_on", COL_DATE, COL_NULLABLE, CAT_REVIEW_META, 0, 0, NULL, NULL },
	/*
	 * Who took part names the person's network (the probation officer, a
	 * doctor): as the decisions, not the ETI's. It reads that a review is
	 * held, and what the CIP shares.
	 */
	{ "participants", COL_NAMES, COL_NULLABLE, CAT_SOCIAL_SUMMARY, 0, 0, NULL, NULL },
	{ "content", COL_TEXT, COL_NULLABLE, CAT_SOCIAL, 0, 8000, NULL, NULL },
	{ "decisions", COL_TEXT, COL_NULLABLE, CAT_SOCIAL_SUMMARY, 0, 4000, NULL, NULL },
	{ "shared_with_eti", COL_TEXT, COL_NULLABLE, CAT_REVIEW_SHARED, 0, 4000, NULL, NULL },
	STAMP("created_at"),
	STAMP("updated_at"),
};

static int
review_check(struct tremplin_request *r, json_t *o, const json_t *before, struct tremplin_error *e)
{
	(void)r, (void)before;
	return not_in_future("held_on", json_str(o, "held_on"), e);
}

struct resource res_review = {
	.name = "review",
	.plural = "reviews",
	.table = "reviews",
	.cols = review_cols,
	.ncols = TR_NELEM(review_cols),
	.child = 1,
	.check = review_check,
};

/* ---- CIP notes ---- */

static const struct column note_cols[] = {
	ID_COLUMNS,
	{ "text", COL_TEXT, COL_REQUIRED, CAT_SOCIAL, 0, 8000, NULL, NULL },
	{ "author_id", COL_INT, COL_SERVER, CAT_NONE, 0, 0, NULL, NULL },
	STAMP("created_at"),
};

struct resource res_note = {
	.name = "note",
	.plural = "notes",
	.table = "notes",
	.cols = note_cols,
	.ncols = TR_NELEM(note_cols),
	.child = 1,
	.author_col = "author_id",
};

/* ---- exit ---- */

static const char *const exit_categories[] = { "emploi_durable", "emploi_transition",
	"sortie_positive", "autre", "exclue", NULL };

static const struct column exit_cols[] = {
	ID_COLUMNS,
	/* The ETI reads that the person left, and when. */
	{ "exit_date", COL_DATE, COL_REQUIRED, CAT_IDENTITY, 0, 0, NULL, NULL },
	/* "exclue" is a long illness or detention, and the destination says which. */
	{ "category", COL_ENUM, COL_REQUIRED, CAT_ORIENTATION, 0, 0, exit_categories, NULL },
	{ "destination", COL_TEXT, COL_NULLABLE, CAT_ORIENTATION, 0, 300, NULL, NULL },
	STAMP("created_at"),
	STAMP("updated_at"),
};

/* An exit closes the pathway: the person's status follows, in the same transaction. */
static int
exit_written(struct tremplin_request *r, json_t *obj, int64_t id)
{
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

struct resource res_exit = {
	.name = "exit",
	.plural = "exits",
	.table = "exits",
	.cols = exit_cols,
	.ncols = TR_NELEM(exit_cols),
	.child = 1,
	.after_write = exit_written,
};
