/*
 * production: what fills an insertion workshop's day. Clients and their
 * orders, work orders under them, the safety record (briefings, protective
 * equipment, incidents), the planning by half-day with its refusals, and the
 * attendance of a team's day.
 *
 * Every record is declared (struct tremplin_record) so that the host derives
 * its routes, validation, policy, audit, journal, export, erasure and
 * retention; the hand-written routes (planning, a team's attendance) write
 * through host->record_create/update, so the same rules hold. Contracts are
 * read through the kernel's views (contracts_between.v1,
 * suspensions_between.v1), never by SQL.
 *
 *   production.c     the descriptor, the declarations, the hooks, the routes
 *   rules.c/.h       the rules as pure functions (tests/test_rules.c)
 *   migrations.c/.h  the schema, append only
 *   production.conf  its configuration section, commented
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tremplin/plugin.h>

#include "migrations.h"
#include "rules.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct production {
	const struct tremplin_host *host;
	struct tremplin_plugin *self;
	/* The hours of a half-day (config morning, afternoon): a time range overlapping them. */
	struct prod_range morning, afternoon;
};

#define COL_ID                                                                                     \
	{                                                                                          \
		.name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER               \
	}
#define COL_CREATED                                                                                \
	{                                                                                          \
		.name = "created_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_CREATED     \
	}
#define COL_UPDATED                                                                                \
	{                                                                                          \
		.name = "updated_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_STAMP       \
	}
#define COL_PERSON                                                                                 \
	{                                                                                          \
		.name = "employee_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER      \
	}
#define COL_STRUCTURE(cat)                                                                         \
	{                                                                                          \
		.name = "structure_id", .type = TREMPLIN_COL_REF,                                  \
		.flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED, .category = cat,              \
		.ref = "structure"                                                                 \
	}

static const char *
str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int64_t
day_of(const json_t *o, const char *key)
{
	return prod_day(str(o, key));
}

/* Rows of one statement of the plugin's own tables: 1 when a row came, 0 none, -1 error. */
static int exists(struct production *x, const char *sql, const char *types, ...);

/* ---- clients ---- */

static const char *const client_kinds[] = { "company", "local_authority", "individual",
	"association", NULL };

static const struct tremplin_column client_cols[] = {
	COL_ID,
	COL_STRUCTURE("production"),
	{ .name = "name",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .max = 200 },
	/* The kind matters for an AI's 480-hour cap (placements count it). */
	{ .name = "kind",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .values = client_kinds },
	{ .name = "siret",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production",
	    .max = 14 },
	{ .name = "address",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production",
	    .max = 300 },
	COL_CREATED,
	COL_UPDATED,
};

static const struct tremplin_filter client_filters[] = {
	{ .name = "structure", .column = "structure_id", .op = TREMPLIN_FILTER_EQ },
	{ .name = "kind", .column = "kind", .op = TREMPLIN_FILTER_EQ },
};

/* A company has a SIRET (Luhn-checked by the host); another kind may give one. */
static int
client_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	struct production *x = arg;
	const char *siret = str(obj, "siret"), *why;

	(void)req, (void)before;
	if (siret == NULL && strcmp(str(obj, "kind"), "company") == 0)
		return x->host->error(e, 422, "siret", "a company's SIRET is required");
	if (siret != NULL && (why = x->host->valid_siret(siret)) != NULL)
		return x->host->error(e, 422, "siret", "%s", why);
	return 0;
}

static const struct tremplin_record client = {
	.size = sizeof(struct tremplin_record),
	.name = "client",
	.plural = "clients",
	.table = "production_clients",
	.columns = client_cols,
	.ncolumns = NELEM(client_cols),
	.owner = TREMPLIN_OWNER_NONE,
	.filters = client_filters,
	.nfilters = NELEM(client_filters),
	.check = client_check,
};

/* A client's contacts: people of the client's, not of the pathway. */
static const struct tremplin_column contact_cols[] = {
	COL_ID,
	{ .name = "client_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "name",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .max = 200 },
	{ .name = "role",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production",
	    .max = 100 },
	{ .name = "email",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production",
	    .max = 200 },
	{ .name = "phone",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production",
	    .max = 30 },
	COL_CREATED,
};

static int
contact_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	struct production *x = arg;
	const char *email = str(obj, "email"), *why;

	(void)req, (void)before;
	if (email != NULL && (why = x->host->valid_email(email)) != NULL)
		return x->host->error(e, 422, "email", "%s", why);
	return 0;
}

static const struct tremplin_record contact = {
	.size = sizeof(struct tremplin_record),
	.name = "client_contact",
	.plural = "contacts",
	.table = "production_client_contacts",
	.columns = contact_cols,
	.ncolumns = NELEM(contact_cols),
	.owner = TREMPLIN_OWNER_RECORD,
	.parent = "client",
	.parent_col = "client_id",
	.nested_as = "contacts",
	.ops = TREMPLIN_OPS_DEFAULT | TREMPLIN_OP_DELETE,
	.check = contact_check,
};

/* ---- orders, their lines, work orders ---- */

static const char *const order_statuses[] = { "quote", "accepted", "in_progress", "done",
	"invoiced", "cancelled", NULL };

static const struct tremplin_column order_cols[] = {
	COL_ID,
	COL_STRUCTURE("production"),
	{ .name = "client_id",
	    .type = TREMPLIN_COL_REF,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "production",
	    .ref = "client" },
	{ .name = "title",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .max = 200 },
	{ .name = "status",
	    .type = TREMPLIN_COL_ENUM,
	    .category = "production",
	    .values = order_statuses,
	    .def = "\"quote\"" },
	{ .name = "start_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production" },
	{ .name = "end_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production" },
	COL_CREATED,
	COL_UPDATED,
};

static const struct tremplin_filter order_filters[] = {
	{ .name = "structure", .column = "structure_id", .op = TREMPLIN_FILTER_EQ },
	{ .name = "client", .column = "client_id", .op = TREMPLIN_FILTER_EQ },
	{ .name = "status", .column = "status", .op = TREMPLIN_FILTER_EQ },
};

static int
order_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	struct production *x = arg;
	const char *to = str(obj, "status");
	const char *from = before != NULL ? str(before, "status") : NULL;
	int64_t start = day_of(obj, "start_date"), end = day_of(obj, "end_date");

	(void)req;
	/* An order starts as a quote, or accepted when no quote was made. */
	if (from == NULL && strcmp(to, "quote") != 0 && strcmp(to, "accepted") != 0)
		return x->host->error(
		    e, 422, "status", "an order starts as quote or accepted, not %s", to);
	if (from != NULL && !order_transition_ok(from, to))
		return x->host->error(
		    e, 422, "status", "an order cannot go from %s to %s", from, to);
	if (start >= 0 && end >= 0 && end < start)
		return x->host->error(e, 422, "end_date", "end_date is before start_date");
	if (from != NULL && start >= 0 && end >= 0 &&
	    exists(x,
	        "SELECT 1 FROM production_work_orders WHERE order_id = ?1"
	        " AND (start_date < ?2 OR end_date > ?3) LIMIT 1",
	        "iss", (long long)json_integer_value(json_object_get(obj, "id")),
	        str(obj, "start_date"), str(obj, "end_date")) == 1)
		return x->host->error(e, 422, "start_date",
		    "a work order of this order would fall outside its new dates");
	return 0;
}

static const struct tremplin_record order = {
	.size = sizeof(struct tremplin_record),
	.name = "order",
	.plural = "orders",
	.table = "production_orders",
	.columns = order_cols,
	.ncolumns = NELEM(order_cols),
	.owner = TREMPLIN_OWNER_NONE,
	.filters = order_filters,
	.nfilters = NELEM(order_filters),
	.check = order_check,
};

static const struct tremplin_column line_cols[] = {
	COL_ID,
	{ .name = "order_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "description",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .max = 300 },
	{ .name = "quantity",
	    .type = TREMPLIN_COL_REAL,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .min = 0,
	    .max = 1e9 },
	{ .name = "unit",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .max = 20 },
	{ .name = "unit_price_cents",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .min = 0,
	    .max = 1e12 },
	COL_CREATED,
};

static const struct tremplin_record line = {
	.size = sizeof(struct tremplin_record),
	.name = "order_line",
	.plural = "lines",
	.table = "production_order_lines",
	.columns = line_cols,
	.ncolumns = NELEM(line_cols),
	.owner = TREMPLIN_OWNER_RECORD,
	.parent = "order",
	.parent_col = "order_id",
	.nested_as = "lines",
	.ops = TREMPLIN_OPS_DEFAULT | TREMPLIN_OP_DELETE,
};

static const struct tremplin_column work_order_cols[] = {
	COL_ID,
	{ .name = "order_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "name",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .max = 200 },
	{ .name = "site",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .max = 300 },
	{ .name = "start_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production" },
	{ .name = "end_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production" },
	/* The team or workshop it is planned for: the planning's ?team=. */
	{ .name = "team",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .max = 100 },
	/* Skill codes (the skills plugin's referential when it is loaded; free otherwise). */
	{ .name = "skills", .type = TREMPLIN_COL_NAMES, .category = "production", .def = "[]" },
	{ .name = "risks", .type = TREMPLIN_COL_NAMES, .category = "production", .def = "[]" },
	/* Protective items each person planned on it must have been issued. */
	{ .name = "equipment", .type = TREMPLIN_COL_NAMES, .category = "production", .def = "[]" },
	{ .name = "planned_hours",
	    .type = TREMPLIN_COL_REAL,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production",
	    .min = 0,
	    .max = 1e6 },
	COL_CREATED,
	COL_UPDATED,
};

static const struct tremplin_filter work_order_filters[] = {
	{ .name = "team", .column = "team", .op = TREMPLIN_FILTER_EQ },
	{ .name = "from", .column = "end_date", .op = TREMPLIN_FILTER_FROM },
	{ .name = "to", .column = "start_date", .op = TREMPLIN_FILTER_TO },
};

/*
 * The required skill codes are the skills plugin's (a competence's external
 * code, else its own, as skills.acquired.v1 names it) when it is loaded;
 * free codes otherwise.
 */
static int
skills_known(struct production *x, struct tremplin_request *req, const json_t *codes,
    struct tremplin_error *e)
{
	json_t *rows = NULL, *code, *r;
	char err[200];
	size_t i, j;
	int rc = 0;

	if (json_array_size(codes) == 0)
		return 0;
	if (x->host->view(x->self, req, "skills.competences.v1", NULL, &rows, err, sizeof(err)) !=
	    0) {
		if (strncmp(err, "no view named", 13) == 0)
			return 0; /* no skills plugin: free codes */
		return x->host->error(e, 503, "skills", "cannot read the skills referentials");
	}
	json_array_foreach (codes, i, code) {
		int found = 0;
		json_array_foreach (rows, j, r)
			if (json_equal(json_object_get(r, "code"), code))
				found = 1;
		if (!found) {
			rc = x->host->error(e, 422, "skills",
			    "%s is not a competence of the skills referentials",
			    json_string_value(code) ? json_string_value(code) : "?");
			break;
		}
	}
	json_decref(rows);
	return rc;
}

static int
work_order_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	struct production *x = arg;
	int64_t start = day_of(obj, "start_date"), end = day_of(obj, "end_date");
	int64_t id = json_integer_value(json_object_get(obj, "id"));

	if (end < start)
		return x->host->error(e, 422, "end_date", "end_date is before start_date");
	/*
	 * Codes are checked when given: a work order made with free codes before
	 * the skills plugin was loaded stays editable (its other fields).
	 */
	if ((before == NULL ||
	        !json_equal(json_object_get(before, "skills"), json_object_get(obj, "skills"))) &&
	    skills_known(x, req, json_object_get(obj, "skills"), e) != 0)
		return -1;
	/* Within the order's dates, when it has them. */
	if (exists(x,
	        "SELECT 1 FROM production_orders WHERE id = ?1 AND ((start_date IS NOT NULL"
	        " AND start_date > ?2) OR (end_date IS NOT NULL AND end_date < ?3))",
	        "iss", (long long)json_integer_value(json_object_get(obj, "order_id")),
	        str(obj, "start_date"), str(obj, "end_date")) == 1)
		return x->host->error(e, 422, "start_date",
		    "the work order's dates must fall within the order's dates");
	/* Assignments already made stay within its dates. */
	if (before != NULL &&
	    exists(x,
	        "SELECT 1 FROM production_assignments WHERE work_order_id = ?1"
	        " AND (date < ?2 OR date > ?3) LIMIT 1",
	        "iss", (long long)id, str(obj, "start_date"), str(obj, "end_date")) == 1)
		return x->host->error(e, 422, "start_date",
		    "people are planned on this work order outside the new dates");
	return 0;
}

static const struct tremplin_record work_order = {
	.size = sizeof(struct tremplin_record),
	.name = "work_order",
	.plural = "work_orders",
	.table = "production_work_orders",
	.columns = work_order_cols,
	.ncolumns = NELEM(work_order_cols),
	.owner = TREMPLIN_OWNER_RECORD,
	.parent = "order",
	.parent_col = "order_id",
	.nested_as = "work_orders",
	.filters = work_order_filters,
	.nfilters = NELEM(work_order_filters),
	.check = work_order_check,
};

/* ---- output and quality, per work order ---- */

static const char *const half_days[] = { "morning", "afternoon", NULL };
/* What a planning entry is: a half-day, or a time range of the day (start_time, end_time). */
static const char *const plan_slots[] = { "morning", "afternoon", "hours", NULL };

/* What was done on a day: quantities and time spent. */
static const struct tremplin_column output_cols[] = {
	COL_ID,
	{ .name = "work_order_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production" },
	{ .name = "description",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .max = 300 },
	{ .name = "quantity",
	    .type = TREMPLIN_COL_REAL,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .min = 0,
	    .max = 1e9 },
	{ .name = "unit",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .max = 20 },
	{ .name = "hours_spent",
	    .type = TREMPLIN_COL_REAL,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .min = 0,
	    .max = 10000 },
	{ .name = "created_by",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_AUTHOR | TREMPLIN_COL_NULLABLE,
	    .category = "production" },
	COL_CREATED,
	COL_UPDATED,
};

/* A dated record of a work order falls within its dates. */
static int
within_work_order(
    struct production *x, const json_t *obj, const char *col, struct tremplin_error *e)
{
	int rc = exists(x,
	    "SELECT 1 FROM production_work_orders WHERE id = ?1 AND (start_date > ?2"
	    " OR end_date < ?2)",
	    "is", (long long)json_integer_value(json_object_get(obj, "work_order_id")),
	    str(obj, col));

	if (rc < 0)
		return x->host->error(e, 503, NULL, "cannot read the work order");
	if (rc == 1)
		return x->host->error(e, 422, col, "%s is outside the work order's dates", col);
	return 0;
}

static int
output_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	(void)req, (void)before;
	return within_work_order(arg, obj, "date", e);
}

static const struct tremplin_record output = {
	.size = sizeof(struct tremplin_record),
	.name = "output",
	.plural = "outputs",
	.table = "production_outputs",
	.columns = output_cols,
	.ncolumns = NELEM(output_cols),
	.owner = TREMPLIN_OWNER_RECORD,
	.parent = "work_order",
	.parent_col = "work_order_id",
	.nested_as = "outputs",
	.ops = TREMPLIN_OPS_DEFAULT | TREMPLIN_OP_DELETE,
	.check = output_check,
};

static const char *const quality_results[] = { "conform", "to_redo", NULL };

/* A quality check (conform / to redo, with what and who) and the client's feedback. */
static const struct tremplin_column quality_cols[] = {
	COL_ID,
	{ .name = "work_order_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production" },
	{ .name = "result",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .values = quality_results },
	{ .name = "to_redo",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production",
	    .max = 500 },
	{ .name = "checked_by",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_AUTHOR | TREMPLIN_COL_NULLABLE,
	    .category = "production" },
	{ .name = "client_feedback",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production",
	    .max = 1000 },
	COL_CREATED,
	COL_UPDATED,
};

static int
quality_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	struct production *x = arg;
	int redo = strcmp(str(obj, "result"), "to_redo") == 0;

	(void)req, (void)before;
	if (redo && str(obj, "to_redo") == NULL)
		return x->host->error(e, 422, "to_redo", "say what is to redo");
	if (!redo && str(obj, "to_redo") != NULL)
		return x->host->error(e, 422, "to_redo", "a conform check has nothing to redo");
	return within_work_order(x, obj, "date", e);
}

static const struct tremplin_record quality = {
	.size = sizeof(struct tremplin_record),
	.name = "quality_check",
	.plural = "quality_checks",
	.table = "production_quality_checks",
	.columns = quality_cols,
	.ncolumns = NELEM(quality_cols),
	.owner = TREMPLIN_OWNER_RECORD,
	.parent = "work_order",
	.parent_col = "work_order_id",
	.nested_as = "quality_checks",
	.check = quality_check,
};

/* A non-conformity and its corrective action, closed when done. */
static const struct tremplin_column nonconformity_cols[] = {
	COL_ID,
	{ .name = "work_order_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "found_on",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production" },
	{ .name = "description",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .max = 1000 },
	{ .name = "corrective_action",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production",
	    .max = 1000 },
	{ .name = "closed_on",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production" },
	COL_CREATED,
	COL_UPDATED,
};

static int
nonconformity_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	struct production *x = arg;
	int64_t closed = day_of(obj, "closed_on");

	(void)req, (void)before;
	if (closed >= 0 && str(obj, "corrective_action") == NULL)
		return x->host->error(e, 422, "corrective_action",
		    "a non-conformity closes with its corrective action");
	if (closed >= 0 && closed < day_of(obj, "found_on"))
		return x->host->error(e, 422, "closed_on", "closed_on is before found_on");
	return 0;
}

static const struct tremplin_record nonconformity = {
	.size = sizeof(struct tremplin_record),
	.name = "nonconformity",
	.plural = "nonconformities",
	.table = "production_nonconformities",
	.columns = nonconformity_cols,
	.ncolumns = NELEM(nonconformity_cols),
	.owner = TREMPLIN_OWNER_RECORD,
	.parent = "work_order",
	.parent_col = "work_order_id",
	.nested_as = "nonconformities",
	.check = nonconformity_check,
};

/* The ETI supervising a work order on a half-day: planning warns on a slot without one. */
static const struct tremplin_column supervision_cols[] = {
	COL_ID,
	{ .name = "work_order_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production" },
	{ .name = "slot",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .values = half_days },
	{ .name = "staff_id",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production" },
	COL_CREATED,
};

static int
supervision_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	(void)req, (void)before;
	return within_work_order(arg, obj, "date", e);
}

static const struct tremplin_record supervision = {
	.size = sizeof(struct tremplin_record),
	.name = "supervision",
	.plural = "supervisions",
	.table = "production_supervisions",
	.columns = supervision_cols,
	.ncolumns = NELEM(supervision_cols),
	.owner = TREMPLIN_OWNER_RECORD,
	.parent = "work_order",
	.parent_col = "work_order_id",
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_LIST | TREMPLIN_OP_CREATE | TREMPLIN_OP_DELETE,
	.check = supervision_check,
};

/* ---- safety: briefings, protective equipment, incidents ---- */

static const struct tremplin_column briefing_cols[] = {
	COL_ID,
	COL_STRUCTURE("safety"),
	{ .name = "topic",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "safety",
	    .max = 300 },
	{ .name = "held_on",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "safety" },
	{ .name = "created_by",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_AUTHOR | TREMPLIN_COL_NULLABLE,
	    .category = "safety" },
	COL_CREATED,
};

static const struct tremplin_record briefing = {
	.size = sizeof(struct tremplin_record),
	.name = "briefing",
	.plural = "briefings",
	.table = "production_briefings",
	.columns = briefing_cols,
	.ncolumns = NELEM(briefing_cols),
	.owner = TREMPLIN_OWNER_NONE,
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_LIST | TREMPLIN_OP_CREATE | TREMPLIN_OP_UPDATE,
};

/* Who attended a briefing: a person's record (the planning's first-assignment rule). */
static const struct tremplin_column attendee_cols[] = {
	COL_ID,
	COL_PERSON,
	{ .name = "briefing_id",
	    .type = TREMPLIN_COL_REF,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "safety",
	    .ref = "briefing" },
	COL_CREATED,
};

static const struct tremplin_record attendee = {
	.size = sizeof(struct tremplin_record),
	.name = "briefing_attendance",
	.plural = "briefing_attendances",
	.table = "production_briefing_attendees",
	.columns = attendee_cols,
	.ncolumns = NELEM(attendee_cols),
	.owner = TREMPLIN_OWNER_PERSON,
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_LIST | TREMPLIN_OP_CREATE | TREMPLIN_OP_DELETE,
};

static const struct tremplin_column equipment_cols[] = {
	COL_ID,
	COL_PERSON,
	{ .name = "item",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "safety",
	    .max = 100 },
	{ .name = "size",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "safety",
	    .max = 20 },
	{ .name = "issued_on",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "safety" },
	{ .name = "renewal_due",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "safety" },
	COL_CREATED,
	COL_UPDATED,
};

static const struct tremplin_computed equipment_computed[] = {
	{ .name = "renewal_overdue", .category = "safety" },
};

static int
equipment_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	struct production *x = arg;
	int64_t due = day_of(obj, "renewal_due");

	(void)req, (void)before;
	if (due >= 0 && due < day_of(obj, "issued_on"))
		return x->host->error(e, 422, "renewal_due", "renewal_due is before issued_on");
	return 0;
}

/* An overdue renewal is visible: renewal_due before today (the daemon's clock). */
static int
equipment_expand(
    struct tremplin_request *req, const struct tremplin_access *acc, json_t *view, void *arg)
{
	struct production *x = arg;
	int64_t due = day_of(view, "renewal_due");
	int64_t today = x->host->now_ms(x->self) / 86400000;

	(void)req, (void)acc;
	json_object_set_new(view, "renewal_overdue", json_boolean(due >= 0 && due < today));
	return 0;
}

static const struct tremplin_record equipment = {
	.size = sizeof(struct tremplin_record),
	.name = "equipment",
	.plural = "equipment",
	.collection = "equipment",
	.table = "production_equipment",
	.columns = equipment_cols,
	.ncolumns = NELEM(equipment_cols),
	.owner = TREMPLIN_OWNER_PERSON,
	.ops = TREMPLIN_OPS_DEFAULT | TREMPLIN_OP_DELETE,
	.computed = equipment_computed,
	.ncomputed = NELEM(equipment_computed),
	.check = equipment_check,
	.expand = equipment_expand,
};

static const char *const incident_kinds[] = { "incident", "near_miss", NULL };

/* The fact and date of an incident: production and safety data, nobody's. */
static const struct tremplin_column incident_cols[] = {
	COL_ID,
	COL_STRUCTURE("production"),
	{ .name = "kind",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .values = incident_kinds },
	{ .name = "occurred_on",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production" },
	{ .name = "site",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production",
	    .max = 300 },
	{ .name = "work_order_id",
	    .type = TREMPLIN_COL_REF,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production",
	    .ref = "work_order" },
	{ .name = "description",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "safety",
	    .max = 2000 },
	{ .name = "first_aid",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "safety",
	    .max = 1000 },
	{ .name = "work_accident",
	    .type = TREMPLIN_COL_BOOL,
	    .category = "safety",
	    .def = "false" },
	COL_CREATED,
	COL_UPDATED,
};

static const struct tremplin_filter incident_filters[] = {
	{ .name = "structure", .column = "structure_id", .op = TREMPLIN_FILTER_EQ },
	{ .name = "from", .column = "occurred_on", .op = TREMPLIN_FILTER_FROM },
	{ .name = "to", .column = "occurred_on", .op = TREMPLIN_FILTER_TO },
};

static const struct tremplin_record incident = {
	.size = sizeof(struct tremplin_record),
	.name = "incident",
	.plural = "incidents",
	.table = "production_incidents",
	.columns = incident_cols,
	.ncolumns = NELEM(incident_cols),
	.owner = TREMPLIN_OWNER_NONE,
	.filters = incident_filters,
	.nfilters = NELEM(incident_filters),
};

static const char *const involvements[] = { "hurt", "involved", "witness", NULL };
/* An injury's medical details are health data: sensitive when the person was hurt. */
static const char *const hurt[] = { "hurt", NULL };

static const struct tremplin_column involvement_cols[] = {
	COL_ID,
	COL_PERSON,
	{ .name = "incident_id",
	    .type = TREMPLIN_COL_REF,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "safety",
	    .ref = "incident" },
	{ .name = "involvement",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "safety",
	    .values = involvements },
	{ .name = "medical_detail",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "safety",
	    .max = 1000 },
	COL_CREATED,
	COL_UPDATED,
};

static int
involvement_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	struct production *x = arg;
	json_t *detail = json_object_get(obj, "medical_detail");

	(void)req, (void)before;
	if (detail != NULL && !json_is_null(detail) && strcmp(str(obj, "involvement"), "hurt") != 0)
		return x->host->error(
		    e, 422, "medical_detail", "medical details are for a person hurt only");
	return 0;
}

static const struct tremplin_record involvement = {
	.size = sizeof(struct tremplin_record),
	.name = "incident_person",
	.plural = "incident_people",
	.table = "production_incident_people",
	.columns = involvement_cols,
	.ncolumns = NELEM(involvement_cols),
	.owner = TREMPLIN_OWNER_PERSON,
	.ops = TREMPLIN_OPS_DEFAULT | TREMPLIN_OP_DELETE,
	.sensitive_col = "medical_detail",
	.sensitive_key = "involvement",
	.sensitive_values = hurt,
	.check = involvement_check,
};

/* ---- statements over the plugin's own tables ---- */

#include <stdarg.h>

/* Bind by types: i long long, s string (NULL binds null), d double. */
static sqlite3_stmt *
prepare(struct production *x, const char *sql, const char *types, va_list ap)
{
	sqlite3_stmt *st = x->host->stmt(x->self, sql);

	if (st == NULL)
		return NULL;
	for (int i = 0; types[i] != '\0'; i++) {
		if (types[i] == 'i')
			sqlite3_bind_int64(st, i + 1, va_arg(ap, long long));
		else if (types[i] == 'd')
			sqlite3_bind_double(st, i + 1, va_arg(ap, double));
		else {
			const char *s = va_arg(ap, const char *);
			if (s == NULL)
				sqlite3_bind_null(st, i + 1);
			else
				sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT);
		}
	}
	return st;
}

static int
exists(struct production *x, const char *sql, const char *types, ...)
{
	va_list ap;
	sqlite3_stmt *st;
	int rc;

	va_start(ap, types);
	st = prepare(x, sql, types, ap);
	va_end(ap);
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	x->host->stmt_done(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* The first column of the first row as a double (0 when none); -1 on an error. */
static int
scalar(struct production *x, double *out, const char *sql, const char *types, ...)
{
	va_list ap;
	sqlite3_stmt *st;
	int rc;

	va_start(ap, types);
	st = prepare(x, sql, types, ap);
	va_end(ap);
	*out = 0;
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_double(st, 0);
	x->host->stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* ---- planning: a person on a work order for a half-day ---- */

static const struct tremplin_column assignment_cols[] = {
	COL_ID,
	COL_PERSON,
	{ .name = "work_order_id",
	    .type = TREMPLIN_COL_REF,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .ref = "work_order" },
	{ .name = "date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production" },
	{ .name = "slot",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "production",
	    .values = plan_slots },
	/* A half-day's hours count as given (3.5 unless said); a time range's are its own. */
	{ .name = "hours",
	    .type = TREMPLIN_COL_REAL,
	    .category = "production",
	    .min = 0.25,
	    .max = 10,
	    .def = "3.5" },
	/* Slot "hours": the time range, "HH:MM" on quarter hours; null for a half-day. */
	{ .name = "start_time",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production",
	    .max = 5 },
	{ .name = "end_time",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production",
	    .max = 5 },
	{ .name = "created_by",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_AUTHOR | TREMPLIN_COL_NULLABLE,
	    .category = "production" },
	COL_CREATED,
	COL_UPDATED,
};

static const struct tremplin_filter assignment_filters[] = {
	{ .name = "from", .column = "date", .op = TREMPLIN_FILTER_FROM },
	{ .name = "to", .column = "date", .op = TREMPLIN_FILTER_TO },
	{ .name = "work_order", .column = "work_order_id", .op = TREMPLIN_FILTER_EQ },
};

/* Spans of a view's rows (start_date, end_date, weekly_hours); NULL and *n 0 when none. */
static struct prod_span *
spans_of(const json_t *rows, size_t *n)
{
	size_t i, k = 0;
	json_t *r;
	struct prod_span *s = calloc(json_array_size(rows) + 1, sizeof(*s));

	*n = 0;
	if (s == NULL)
		return NULL;
	json_array_foreach (rows, i, r) {
		s[k].start = day_of(r, "start_date");
		s[k].end = day_of(r, "end_date");
		s[k].weekly_hours = json_number_value(json_object_get(r, "weekly_hours"));
		if (s[k].start >= 0 && s[k].end >= 0)
			k++;
	}
	*n = k;
	return s;
}

/*
 * The contract in force on a day, read through the kernel's views as the
 * caller: 1 found (*weekly set), 0 none, -1 the views failed (err says why).
 */
static int
contract_on(struct production *x, struct tremplin_request *req, int64_t employee, const char *date,
    double *weekly, char *err, size_t errlen)
{
	json_t *params = json_pack(
	    "{s:s, s:s, s:I}", "from", date, "to", date, "employee_id", (json_int_t)employee);
	json_t *contracts = NULL, *suspensions = NULL;
	struct prod_span *c = NULL, *s = NULL;
	size_t nc = 0, ns = 0;
	int rc = -1, i;

	if (params == NULL)
		return -1;
	if (x->host->view(x->self, req, "contracts_between.v1", params, &contracts, err, errlen) !=
	        0 ||
	    x->host->view(
	        x->self, req, "suspensions_between.v1", params, &suspensions, err, errlen) != 0)
		goto out;
	c = spans_of(contracts, &nc);
	s = spans_of(suspensions, &ns);
	if (c == NULL || s == NULL)
		goto out;
	i = plan_contract_on(prod_day(date), c, nc, s, ns);
	if (i >= 0)
		*weekly = c[i].weekly_hours;
	rc = i >= 0;
out:
	free(c);
	free(s);
	json_decref(params);
	json_decref(contracts);
	json_decref(suspensions);
	return rc;
}

/* Whether every protective item the work order requires was issued to the person by date. */
static int
equipment_missing(struct production *x, int64_t work_order_id, int64_t employee, const char *date,
    char *item, size_t itemlen)
{
	static const char sql[] =
	    "SELECT r.value FROM production_work_orders w, json_each(w.equipment) r"
	    " WHERE w.id = ?1 AND NOT EXISTS (SELECT 1 FROM production_equipment q"
	    "   WHERE q.employee_id = ?2 AND lower(q.item) = lower(r.value) AND q.issued_on <= ?3)"
	    " ORDER BY r.key LIMIT 1";
	sqlite3_stmt *st = x->host->stmt(x->self, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, work_order_id);
	sqlite3_bind_int64(st, 2, employee);
	sqlite3_bind_text(st, 3, date, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(item, itemlen, "%s", (const char *)sqlite3_column_text(st, 0));
	x->host->stmt_done(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/*
 * The span of a day a slot takes: a half-day's configured hours, a time
 * range's own ("day": the whole day); 0, or -1 when the slot is unknown.
 */
static int
slot_range(const struct production *x, const char *slot, const char *start, const char *end,
    struct prod_range *r)
{
	if (slot == NULL)
		return -1;
	if (strcmp(slot, "morning") == 0)
		*r = x->morning;
	else if (strcmp(slot, "afternoon") == 0)
		*r = x->afternoon;
	else if (strcmp(slot, "day") == 0)
		*r = (struct prod_range){ 0, 24 * 60 };
	else if (strcmp(slot, "hours") == 0) {
		r->start = prod_minutes(start);
		r->end = prod_minutes(end);
		if (r->start < 0 || r->end <= r->start)
			return -1;
	} else
		return -1;
	return 0;
}

/*
 * Whether a row of (slot, start_time, end_time) answered by sql, bound to
 * (employee, date, self), takes a minute of r: 1 yes, 0 no, -1 on an error.
 */
static int
overlaps_any(struct production *x, const char *sql, int64_t employee, const char *date,
    long long self, struct prod_range r)
{
	sqlite3_stmt *st = x->host->stmt(x->self, sql);
	int rc, found = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, employee);
	sqlite3_bind_text(st, 2, date, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, self);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct prod_range o;
		if (slot_range(x, (const char *)sqlite3_column_text(st, 0),
		        (const char *)sqlite3_column_text(st, 1),
		        (const char *)sqlite3_column_text(st, 2), &o) == 0 &&
		    plan_overlap(r, o))
			found = 1;
	}
	x->host->stmt_done(st);
	return rc == SQLITE_DONE ? found : -1;
}

static int
assignment_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	struct production *x = arg;
	struct plan_facts f = { 0 };
	const char *date = str(obj, "date"), *slot = str(obj, "slot");
	int64_t employee = json_integer_value(json_object_get(obj, "employee_id"));
	int64_t wo = json_integer_value(json_object_get(obj, "work_order_id"));
	long long self = before != NULL ? json_integer_value(json_object_get(obj, "id")) : 0;
	int64_t day = prod_day(date), monday = prod_monday(day);
	char from[16], to[16], err[200], item[128] = "";
	enum plan_verdict v;
	int rc;

	struct prod_range span;
	int timed = slot != NULL && strcmp(slot, "hours") == 0;
	json_t *st = json_object_get(obj, "start_time"), *et = json_object_get(obj, "end_time");

	/* A time range: both ends on quarter hours, the end after the start; a half-day: none. */
	if (timed) {
		if (prod_minutes(json_string_value(st)) < 0)
			return x->host->error(e, 422, "start_time",
			    "start_time: expected HH:MM on a quarter hour for slot hours");
		if (prod_minutes(json_string_value(et)) < 0 ||
		    prod_minutes(json_string_value(et)) == 0)
			return x->host->error(e, 422, "end_time",
			    "end_time: expected HH:MM on a quarter hour, up to 24:00, for slot "
			    "hours");
		if (prod_minutes(json_string_value(et)) <= prod_minutes(json_string_value(st)))
			return x->host->error(
			    e, 422, "end_time", "end_time must be after start_time");
	} else if ((st != NULL && !json_is_null(st)) || (et != NULL && !json_is_null(et)))
		return x->host->error(e, 422,
		    st != NULL && !json_is_null(st) ? "start_time" : "end_time",
		    "a time range is for slot hours only");
	if (slot_range(x, slot, json_string_value(st), json_string_value(et), &span) != 0)
		return x->host->error(e, 422, "slot", "slot: expected morning, afternoon or hours");
	/* A time range counts its real hours against the week, at most the column's 10. */
	if (timed && plan_range_hours(span) > 10)
		return x->host->error(e, 422, "end_time", "a time range lasts at most 10 hours");
	if (timed)
		json_object_set_new(obj, "hours", json_real(plan_range_hours(span)));
	prod_date(monday, from, sizeof(from));
	prod_date(monday + 6, to, sizeof(to));
	f.hours = json_number_value(json_object_get(obj, "hours"));
	rc = exists(x,
	    "SELECT 1 FROM production_work_orders WHERE id = ?1 AND start_date <= ?2"
	    " AND end_date >= ?2",
	    "is", (long long)wo, date);
	if (rc < 0)
		goto failed;
	f.in_work_order = rc;
	rc = contract_on(x, req, employee, date, &f.weekly_hours, err, sizeof(err));
	if (rc < 0)
		return x->host->error(e, 503, NULL, "cannot read the contracts: %s", err);
	f.contract_active = rc;
	/* Absent on a half-day (or the day) whose hours the entry's span crosses. */
	if ((f.absent = overlaps_any(x,
	         "SELECT slot, NULL, NULL FROM production_attendance WHERE employee_id = ?1"
	         " AND date = ?2 AND status = 'absent' AND ?3 = ?3",
	         employee, date, 0, span)) < 0 ||
	    (f.double_booked = overlaps_any(x,
	         "SELECT slot, start_time, end_time FROM production_assignments"
	         " WHERE employee_id = ?1 AND date = ?2 AND id != ?3",
	         employee, date, self, span)) < 0 ||
	    scalar(x, &f.week_planned,
	        "SELECT coalesce(sum(hours), 0) FROM production_assignments WHERE employee_id = ?1"
	        " AND date BETWEEN ?2 AND ?3 AND id != ?4",
	        "issi", (long long)employee, from, to, self) < 0 ||
	    (f.equipment_missing = equipment_missing(x, wo, employee, date, item, sizeof(item))) <
	        0 ||
	    (f.first_assignment = exists(x,
	         "SELECT 1 FROM production_assignments WHERE employee_id = ?1 AND date < ?2"
	         " AND id != ?3",
	         "isi", (long long)employee, date, self)) < 0 ||
	    (f.briefed = exists(x,
	         "SELECT 1 FROM production_briefing_attendees a JOIN production_briefings b"
	         " ON b.id = a.briefing_id WHERE a.employee_id = ?1 AND b.held_on <= ?2",
	         "is", (long long)employee, date)) < 0)
		goto failed;
	f.first_assignment = !f.first_assignment;
	v = plan_check(&f);
	if (v == PLAN_WEEK_HOURS)
		return x->host->error(e, 422, plan_field(v),
		    "%s (%g planned in the week of %s, %g a week)", plan_reason(v),
		    f.week_planned + f.hours, from, f.weekly_hours);
	if (v == PLAN_NO_EQUIPMENT)
		return x->host->error(e, 422, plan_field(v), "%s: %s", plan_reason(v), item);
	if (v != PLAN_OK)
		return x->host->error(e, 422, plan_field(v), "%s", plan_reason(v));
	return 0;
failed:
	return x->host->error(e, 503, NULL, "cannot read the planning");
}

static const struct tremplin_record assignment = {
	.size = sizeof(struct tremplin_record),
	.name = "assignment",
	.plural = "assignments",
	.table = "production_assignments",
	.columns = assignment_cols,
	.ncolumns = NELEM(assignment_cols),
	.owner = TREMPLIN_OWNER_PERSON,
	.ops = TREMPLIN_OPS_DEFAULT | TREMPLIN_OP_DELETE,
	.filters = assignment_filters,
	.nfilters = NELEM(assignment_filters),
	.check = assignment_check,
};

/* ---- attendance: one record per person and slot ---- */

static const char *const attendance_slots[] = { "morning", "afternoon", "day", NULL };
static const char *const attendance_statuses[] = { "present", "late", "absent", NULL };
static const char *const absence_reasons[] = { "justified", "unjustified", "sick_leave", "training",
	"pmsmp", "authorised_leave", NULL };

static const struct tremplin_column attendance_cols[] = {
	COL_ID,
	COL_PERSON,
	{ .name = "date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "attendance" },
	{ .name = "slot",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "attendance",
	    .values = attendance_slots },
	{ .name = "status",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "attendance",
	    .values = attendance_statuses },
	{ .name = "late_minutes",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "attendance",
	    .min = 1,
	    .max = 600 },
	{ .name = "reason",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "attendance",
	    .values = absence_reasons },
	{ .name = "hours",
	    .type = TREMPLIN_COL_REAL,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "attendance",
	    .min = 0,
	    .max = 12 },
	{ .name = "created_by",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_AUTHOR | TREMPLIN_COL_NULLABLE,
	    .category = "attendance" },
	COL_CREATED,
	COL_UPDATED,
	/*
	 * The weekly hours of the contract in force that day, set by the check
	 * from the kernel's view (null: none): the plugin's views compare the
	 * hours worked with it without reading the kernel's tables.
	 */
	{ .name = "contract_weekly_hours",
	    .type = TREMPLIN_COL_REAL,
	    .flags = TREMPLIN_COL_SERVER | TREMPLIN_COL_NULLABLE,
	    .category = "identity" },
};

static const struct tremplin_filter attendance_filters[] = {
	{ .name = "from", .column = "date", .op = TREMPLIN_FILTER_FROM },
	{ .name = "to", .column = "date", .op = TREMPLIN_FILTER_TO },
	{ .name = "status", .column = "status", .op = TREMPLIN_FILTER_EQ },
};

static int
attendance_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	struct production *x = arg;
	const char *status = str(obj, "status"), *slot = str(obj, "slot");
	json_t *late = json_object_get(obj, "late_minutes");
	json_t *reason = json_object_get(obj, "reason");
	json_t *hours = json_object_get(obj, "hours");
	int absent = strcmp(status, "absent") == 0;
	double weekly = 0;
	char err[200];
	int rc;

	if (absent && (reason == NULL || json_is_null(reason)))
		return x->host->error(e, 422, "reason", "an absence needs a reason");
	if (!absent && reason != NULL && !json_is_null(reason))
		return x->host->error(e, 422, "reason", "a reason is for an absence only");
	if (absent && json_number_value(hours) > 0)
		return x->host->error(e, 422, "hours", "an absence has no hours worked");
	if (strcmp(status, "late") == 0 && (late == NULL || json_is_null(late)))
		return x->host->error(e, 422, "late_minutes", "a late arrival needs late_minutes");
	if (strcmp(status, "late") != 0 && late != NULL && !json_is_null(late))
		return x->host->error(e, 422, "late_minutes", "late_minutes is for a late arrival");
	rc = contract_on(x, req, json_integer_value(json_object_get(obj, "employee_id")),
	    str(obj, "date"), &weekly, err, sizeof(err));
	if (rc < 0)
		return x->host->error(e, 503, NULL, "cannot read the contracts: %s", err);
	json_object_set_new(
	    obj, "contract_weekly_hours", rc == 1 ? json_real(weekly) : json_null());
	if (before != NULL)
		return 0;
	/* The whole day and its half-days exclude each other. */
	rc = exists(x,
	    "SELECT 1 FROM production_attendance WHERE employee_id = ?1 AND date = ?2"
	    " AND (slot = ?3 OR slot = 'day' OR ?3 = 'day')",
	    "iss", (long long)json_integer_value(json_object_get(obj, "employee_id")),
	    str(obj, "date"), slot);
	if (rc < 0)
		return x->host->error(e, 503, NULL, "cannot read the attendance");
	if (rc == 1)
		return x->host->error(
		    e, 409, "slot", "attendance is already recorded for that slot");
	return 0;
}

static const struct tremplin_record attendance = {
	.size = sizeof(struct tremplin_record),
	.name = "attendance",
	.plural = "attendance",
	.collection = "attendance",
	.table = "production_attendance",
	.columns = attendance_cols,
	.ncolumns = NELEM(attendance_cols),
	.owner = TREMPLIN_OWNER_PERSON,
	.filters = attendance_filters,
	.nfilters = NELEM(attendance_filters),
	.check = attendance_check,
};

/* ---- hand-written routes ---- */

/* Reply a record error (from host->record_*), prefixing which entry of a list it was. */
static void
reply_entry_error(struct production *x, struct tremplin_request *req, const char *list,
    size_t index, const struct tremplin_error *e)
{
	char field[192];

	if (e->field[0] != '\0')
		snprintf(field, sizeof(field), "%s[%zu].%s", list, index, e->field);
	else
		snprintf(field, sizeof(field), "%s[%zu]", list, index);
	x->host->reply_error(req, e->status ? e->status : 422,
	    e->code ? e->code : "validation_failed", field, "%s", e->message);
}

/* The skill codes the work order needs that the person has not acquired (skills plugin). */
static json_t *
skills_missing(struct production *x, struct tremplin_request *req, int64_t wo, int64_t employee)
{
	static const char sql[] = "SELECT skills FROM production_work_orders WHERE id = ?1";
	sqlite3_stmt *st = x->host->stmt(x->self, sql);
	json_t *need = NULL, *rows = NULL, *missing = json_array(), *code;
	json_t *params = json_pack("{s:I}", "employee_id", (json_int_t)employee);
	char err[200];
	size_t i, j;

	/* The work order's id was never bound: no warning was ever given. */
	if (st != NULL && sqlite3_bind_int64(st, 1, wo) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		need = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	x->host->stmt_done(st);
	/* Without the skills plugin its view does not exist: no warning can be given. */
	if (json_array_size(need) == 0)
		goto out;
	if (x->host->view(x->self, req, "skills.acquired.v1", params, &rows, err, sizeof(err)) !=
	    0) {
		x->host->log(x->self, TREMPLIN_LOG_DEBUG, "skills.acquired.v1: %s", err);
		goto out;
	}
	json_array_foreach (need, i, code) {
		json_t *r;
		int ok = 0;
		json_array_foreach (rows, j, r)
			if (json_equal(json_object_get(r, "code"), code) &&
			    json_is_true(json_object_get(r, "acquired")))
				ok = 1;
		if (!ok)
			json_array_append(missing, code);
	}
out:
	json_decref(need);
	json_decref(rows);
	json_decref(params);
	return missing;
}

/*
 * POST /v1/production/planning: {work_order_id, date, slot, hours?,
 * employee_ids: [...]} plans several people on one half-day, all or none;
 * 201 {items, warnings}. Each row goes through the assignment's rules.
 */
static void
post_planning(struct tremplin_request *req, void *arg)
{
	struct production *x = arg;
	json_t *body = x->host->request_body(req), *ids, *id, *items, *warnings;
	struct tremplin_error e;
	size_t i;
	const char *key;
	json_t *v;

	if (body == NULL)
		return x->host->reply_error(
		    req, 400, "bad_request", NULL, "a JSON object is expected");
	json_object_foreach (body, key, v)
		if (strcmp(key, "work_order_id") != 0 && strcmp(key, "date") != 0 &&
		    strcmp(key, "slot") != 0 && strcmp(key, "hours") != 0 &&
		    strcmp(key, "start_time") != 0 && strcmp(key, "end_time") != 0 &&
		    strcmp(key, "employee_ids") != 0)
			return x->host->reply_error(
			    req, 400, "unknown_field", key, "%s: unknown field", key);
	/* What the rows share is checked once, named as the request names it. */
	if (!json_is_integer(json_object_get(body, "work_order_id")) ||
	    json_integer_value(json_object_get(body, "work_order_id")) < 1)
		return x->host->reply_error(req, 422, "validation_failed", "work_order_id",
		    "work_order_id: expected a work order's id");
	if (prod_day(str(body, "date")) < 0)
		return x->host->reply_error(
		    req, 422, "validation_failed", "date", "date: expected YYYY-MM-DD");
	/* A time range (start_time, end_time) is slot "hours", said or not. */
	if (json_object_get(body, "start_time") != NULL && json_object_get(body, "slot") == NULL)
		json_object_set_new(body, "slot", json_string("hours"));
	if (str(body, "slot") == NULL ||
	    (strcmp(str(body, "slot"), "morning") != 0 &&
	        strcmp(str(body, "slot"), "afternoon") != 0 &&
	        strcmp(str(body, "slot"), "hours") != 0))
		return x->host->reply_error(req, 422, "validation_failed", "slot",
		    "slot: expected morning, afternoon or hours (with start_time and end_time)");
	ids = json_object_get(body, "employee_ids");
	if (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > 100)
		return x->host->reply_error(req, 422, "validation_failed", "employee_ids",
		    "employee_ids must be a list of 1 to 100 ids");
	json_array_foreach (ids, i, id)
		if (!json_is_integer(id) || json_integer_value(id) < 1)
			return x->host->reply_error(req, 422, "validation_failed", "employee_ids",
			    "employee_ids[%zu] is not an id", i);
	if (x->host->begin(x->self) != 0)
		return x->host->reply_error(req, 503, "unavailable", NULL, "the store is busy");
	items = json_array();
	warnings = json_array();
	json_array_foreach (ids, i, id) {
		json_t *row = json_pack("{s:O, s:O, s:O}", "work_order_id",
		    json_object_get(body, "work_order_id"), "date", json_object_get(body, "date"),
		    "slot", json_object_get(body, "slot"));
		int64_t rid, wo = json_integer_value(json_object_get(body, "work_order_id"));
		json_t *missing, *got, *code;
		size_t k;

		if (json_object_get(body, "hours") != NULL)
			json_object_set(row, "hours", json_object_get(body, "hours"));
		if (json_object_get(body, "start_time") != NULL)
			json_object_set(row, "start_time", json_object_get(body, "start_time"));
		if (json_object_get(body, "end_time") != NULL)
			json_object_set(row, "end_time", json_object_get(body, "end_time"));
		memset(&e, 0, sizeof(e));
		rid = x->host->record_create(
		    x->self, req, "assignment", json_integer_value(id), row, &e);
		json_decref(row);
		if (rid < 0) {
			x->host->rollback(x->self);
			json_decref(items);
			json_decref(warnings);
			return reply_entry_error(x, req, "employee_ids", i, &e);
		}
		got = x->host->record_get(x->self, req, "assignment", rid, &e);
		if (got != NULL)
			json_array_append_new(items, got);
		missing = skills_missing(x, req, wo, json_integer_value(id));
		json_array_foreach (missing, k, code)
			json_array_append_new(warnings,
			    json_pack("{s:O, s:s, s:s, s:O, s:s}", "employee_id", id, "field",
			        "work_order_id", "code", "skill_not_acquired", "skill", code,
			        "message", "a skill the work order needs is not acquired yet"));
		json_decref(missing);
	}
	/* No ETI supervising the work order at an overlapping time: accepted, and said. */
	{
		struct prod_range span;
		if (slot_range(x, str(body, "slot"), str(body, "start_time"), str(body, "end_time"),
		        &span) == 0 &&
		    overlaps_any(x,
		        "SELECT slot, NULL, NULL FROM production_supervisions WHERE work_order_id "
		        "= ?1"
		        " AND date = ?2 AND ?3 = ?3",
		        json_integer_value(json_object_get(body, "work_order_id")),
		        str(body, "date"), 0, span) == 0)
			json_array_append_new(warnings,
			    json_pack("{s:s, s:s, s:s}", "field", "slot", "code", "no_supervisor",
			        "message",
			        "no ETI is planned to supervise the work order at that time"));
	}
	if (x->host->commit(x->self) != 0) {
		json_decref(items);
		json_decref(warnings);
		return x->host->reply_error(req, 503, "unavailable", NULL, "cannot commit");
	}
	x->host->reply(req, 201, json_pack("{s:o, s:o}", "items", items, "warnings", warnings));
}

/*
 * GET /v1/production/planning?from=&to=&team=: the days of a period and, for
 * each person planned in it, what they do each half-day (work order's name
 * and site), shaped for a table of days × people. At most 31 days.
 */
static void
get_planning(struct tremplin_request *req, void *arg)
{
	static const char sql[] =
	    "SELECT a.id, a.employee_id, a.date, a.slot, a.hours, w.id, w.name, w.site, w.team,"
	    " a.start_time, a.end_time"
	    " FROM production_assignments a JOIN production_work_orders w ON w.id = a.work_order_id"
	    " WHERE a.date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR w.team = ?3)"
	    " ORDER BY a.employee_id, a.date, a.slot, a.start_time";
	struct production *x = arg;
	const char *from = x->host->request_query(req, "from");
	const char *to = x->host->request_query(req, "to");
	const char *team = x->host->request_query(req, "team");
	int64_t f = prod_day(from), t = prod_day(to);
	json_t *days, *people, *person = NULL;
	int64_t current = 0;
	struct tremplin_access acc;
	int readable = 0;
	sqlite3_stmt *st;
	char d[16];

	if (f < 0)
		return x->host->reply_error(
		    req, 400, "bad_request", "from", "from: expected YYYY-MM-DD");
	if (t < 0)
		return x->host->reply_error(
		    req, 400, "bad_request", "to", "to: expected YYYY-MM-DD");
	if (t < f || t - f > 30)
		return x->host->reply_error(
		    req, 400, "bad_request", "to", "to must be from `from` to 31 days after it");
	if ((st = x->host->stmt(x->self, sql)) == NULL)
		return x->host->reply_error(
		    req, 503, "unavailable", NULL, "cannot read the planning");
	days = json_array();
	for (int64_t k = f; k <= t; k++) {
		prod_date(k, d, sizeof(d));
		json_array_append_new(days, json_string(d));
	}
	people = json_array();
	sqlite3_bind_text(st, 1, from, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_TRANSIENT);
	if (team != NULL)
		sqlite3_bind_text(st, 3, team, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t employee = sqlite3_column_int64(st, 1);
		const char *date = (const char *)sqlite3_column_text(st, 2);
		const char *slot = (const char *)sqlite3_column_text(st, 3);
		json_t *cells, *day;

		if (person == NULL || employee != current) {
			struct tremplin_error e;
			json_t *who;

			current = employee;
			person = NULL;
			/* Only the people the caller may see, and their production data. */
			readable = x->host->access(req, employee, &acc) == 0 &&
			    x->host->can_read(&acc, "production");
			if (!readable)
				continue;
			memset(&e, 0, sizeof(e));
			who = x->host->record_get(x->self, req, "employee", employee, &e);
			person = json_pack("{s:I, s:O?, s:O?, s:o}", "employee_id",
			    (json_int_t)employee, "first_name", json_object_get(who, "first_name"),
			    "last_name", json_object_get(who, "last_name"), "days", json_object());
			json_decref(who);
			json_array_append_new(people, person);
		}
		if (!readable || person == NULL)
			continue;
		cells = json_object_get(person, "days");
		if ((day = json_object_get(cells, date)) == NULL) {
			day = json_object();
			json_object_set_new(cells, date, day);
		}
		const char *t0 = (const char *)sqlite3_column_text(st, 9);
		const char *t1 = (const char *)sqlite3_column_text(st, 10);
		char key[16];
		/* A time range's cell is named by its hours ("09:00-11:30") and says them. */
		if (strcmp(slot, "hours") == 0 && t0 != NULL && t1 != NULL)
			snprintf(key, sizeof(key), "%s-%s", t0, t1);
		else
			snprintf(key, sizeof(key), "%s", slot);
		json_object_set_new(day, key,
		    json_pack("{s:s?, s:s?, s:I, s:f, s:I, s:s, s:s, s:s}", "start_time", t0,
		        "end_time", t1, "assignment_id", (json_int_t)sqlite3_column_int64(st, 0),
		        "hours", sqlite3_column_double(st, 4), "work_order_id",
		        (json_int_t)sqlite3_column_int64(st, 5), "work_order",
		        (const char *)sqlite3_column_text(st, 6), "site",
		        (const char *)sqlite3_column_text(st, 7), "team",
		        (const char *)sqlite3_column_text(st, 8)));
	}
	x->host->stmt_done(st);
	x->host->reply(req, 200,
	    json_pack("{s:s, s:s, s:s?, s:o, s:o}", "from", from, "to", to, "team", team, "days",
	        days, "people", people));
}

/*
 * POST /v1/production/team-attendance: {date, entries: [{employee_id, slot,
 * status, late_minutes?, reason?, hours?}]}: a team's day in one request,
 * all or none. An entry for a slot already recorded corrects it (a merge
 * patch: the journal keeps who changed what, when).
 */
static void
post_team_attendance(struct tremplin_request *req, void *arg)
{
	static const char find[] = "SELECT id FROM production_attendance WHERE employee_id = ?1"
	                           " AND date = ?2 AND slot = ?3";
	struct production *x = arg;
	json_t *body = x->host->request_body(req), *entries, *entry, *items;
	const char *date, *key;
	json_t *v;
	size_t i;

	if (body == NULL)
		return x->host->reply_error(
		    req, 400, "bad_request", NULL, "a JSON object is expected");
	json_object_foreach (body, key, v)
		if (strcmp(key, "date") != 0 && strcmp(key, "entries") != 0)
			return x->host->reply_error(
			    req, 400, "unknown_field", key, "%s: unknown field", key);
	date = str(body, "date");
	if (prod_day(date) < 0)
		return x->host->reply_error(
		    req, 422, "validation_failed", "date", "date: expected YYYY-MM-DD");
	entries = json_object_get(body, "entries");
	if (!json_is_array(entries) || json_array_size(entries) == 0 ||
	    json_array_size(entries) > 200)
		return x->host->reply_error(req, 422, "validation_failed", "entries",
		    "entries must be a list of 1 to 200 entries");
	json_array_foreach (entries, i, entry) {
		json_t *id = json_object_get(entry, "employee_id");
		if (!json_is_object(entry) || !json_is_integer(id) || json_integer_value(id) < 1)
			return x->host->reply_error(req, 422, "validation_failed", "entries",
			    "entries[%zu].employee_id: expected an id", i);
		if (json_object_get(entry, "date") != NULL)
			return x->host->reply_error(req, 400, "unknown_field", "entries",
			    "entries[%zu].date: the day is the request's", i);
	}
	if (x->host->begin(x->self) != 0)
		return x->host->reply_error(req, 503, "unavailable", NULL, "the store is busy");
	items = json_array();
	json_array_foreach (entries, i, entry) {
		int64_t employee = json_integer_value(json_object_get(entry, "employee_id"));
		json_t *row = json_deep_copy(entry), *got;
		struct tremplin_error e;
		sqlite3_stmt *st = x->host->stmt(x->self, find);
		int64_t id = 0;

		memset(&e, 0, sizeof(e));
		json_object_del(row, "employee_id");
		if (st != NULL && json_is_string(json_object_get(entry, "slot"))) {
			sqlite3_bind_int64(st, 1, employee);
			sqlite3_bind_text(st, 2, date, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 3, str(entry, "slot"), -1, SQLITE_TRANSIENT);
			if (sqlite3_step(st) == SQLITE_ROW)
				id = sqlite3_column_int64(st, 0);
		}
		x->host->stmt_done(st);
		if (id > 0) {
			/* The sheet says all of the slot: what an entry leaves out is cleared. */
			static const char *const optional[] = { "late_minutes", "reason", "hours" };
			for (size_t k = 0; k < NELEM(optional); k++)
				if (json_object_get(row, optional[k]) == NULL)
					json_object_set_new(row, optional[k], json_null());
			json_object_del(row, "slot");
			if (x->host->record_update(x->self, req, "attendance", id, row, &e) != 0)
				id = -1;
		} else {
			json_object_set_new(row, "date", json_string(date));
			id = x->host->record_create(x->self, req, "attendance", employee, row, &e);
		}
		json_decref(row);
		if (id < 0) {
			x->host->rollback(x->self);
			json_decref(items);
			return reply_entry_error(x, req, "entries", i, &e);
		}
		if ((got = x->host->record_get(x->self, req, "attendance", id, &e)) != NULL)
			json_array_append_new(items, got);
	}
	if (x->host->commit(x->self) != 0) {
		json_decref(items);
		return x->host->reply_error(req, 503, "unavailable", NULL, "cannot commit");
	}
	x->host->reply(req, 200, json_pack("{s:s, s:o}", "date", date, "items", items));
}

/*
 * GET /v1/production/employees/{id}/hours?from=&to=&by=day|week|month: hours
 * worked rolled up (attendance: present and late rows).
 */
static void
get_hours(struct tremplin_request *req, void *arg)
{
	static const char *const sqls[] = {
		"SELECT date, sum(hours) FROM production_attendance WHERE employee_id = ?1"
		" AND date BETWEEN ?2 AND ?3 AND status != 'absent' GROUP BY 1 ORDER BY 1",
		/* The Monday of the week (SQLite's %w: 0 is Sunday). */
		"SELECT date(date, '-' || ((strftime('%w', date) + 6) % 7) || ' days'), sum(hours)"
		" FROM production_attendance WHERE employee_id = ?1 AND date BETWEEN ?2 AND ?3"
		" AND status != 'absent' GROUP BY 1 ORDER BY 1",
		"SELECT substr(date, 1, 7), sum(hours) FROM production_attendance"
		" WHERE employee_id = ?1 AND date BETWEEN ?2 AND ?3 AND status != 'absent'"
		" GROUP BY 1 ORDER BY 1",
	};
	static const char *const bys[] = { "day", "week", "month" };
	struct production *x = arg;
	int64_t employee = x->host->request_id(req, 0);
	const char *from = x->host->request_query(req, "from");
	const char *to = x->host->request_query(req, "to");
	const char *by = x->host->request_query(req, "by");
	static const char *const cats[] = { "attendance", NULL };
	struct tremplin_access acc;
	sqlite3_stmt *st;
	json_t *items;
	double total = 0;
	int k = -1;

	for (int i = 0; i < 3; i++)
		if (strcmp(by != NULL ? by : "day", bys[i]) == 0)
			k = i;
	if (k < 0)
		return x->host->reply_error(
		    req, 400, "bad_request", "by", "by: expected day, week or month");
	if (prod_day(from) < 0)
		return x->host->reply_error(
		    req, 400, "bad_request", "from", "from: expected YYYY-MM-DD");
	if (prod_day(to) < 0 || prod_day(to) < prod_day(from))
		return x->host->reply_error(
		    req, 400, "bad_request", "to", "to: expected YYYY-MM-DD, not before from");
	if (x->host->access(req, employee, &acc) != 0)
		return x->host->reply_error(req, 404, "not_found", NULL, "no such employee");
	if (!x->host->can_read(&acc, "attendance"))
		return x->host->reply_error(
		    req, 403, "forbidden", NULL, "attendance is not yours to read");
	if ((st = x->host->stmt(x->self, sqls[k])) == NULL)
		return x->host->reply_error(req, 503, "unavailable", NULL, "cannot read the hours");
	if (x->host->audit(x->self, req, "read", employee, "production_attendance", cats) != 0) {
		x->host->stmt_done(st);
		return x->host->reply_error(req, 503, "unavailable", NULL, "cannot audit the read");
	}
	sqlite3_bind_int64(st, 1, employee);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_TRANSIENT);
	items = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		double h = sqlite3_column_double(st, 1);
		total += h;
		json_array_append_new(items,
		    json_pack("{s:s, s:f}", "period", (const char *)sqlite3_column_text(st, 0),
		        "hours", h));
	}
	x->host->stmt_done(st);
	x->host->reply(req, 200,
	    json_pack("{s:I, s:s, s:o, s:f}", "employee_id", (json_int_t)employee, "by", bys[k],
	        "items", items, "total", total));
}

/* ---- the monthly hours report (ASP, payroll) ---- */

/* The reasons of an absence, in the report's order, with their French headers. */
static const struct {
	const char *reason, *header;
	int paid; /* the contract goes on and the employer pays the hours */
} report_reasons[] = {
	{ "justified", "Absences justifiées (h)", 0 },
	{ "unjustified", "Absences injustifiées (h)", 0 },
	{ "sick_leave", "Arrêt maladie (h)", 0 },
	{ "training", "Formation (h)", 1 },
	{ "pmsmp", "PMSMP (h)", 1 },
	{ "authorised_leave", "Congés autorisés (h)", 1 },
};
#define NREASONS NELEM(report_reasons)

/*
 * Per person: hours worked (present and late), minutes late, and the hours
 * of each absence reason: an absent slot counts the hours planned on it,
 * else 3.5 for a half-day and 7 for a day.
 */
#define REPORT_SQL(only)                                                                           \
	"SELECT employee_id, total(CASE WHEN status != 'absent' THEN hours END),"                  \
	" total(CASE WHEN status = 'late' THEN late_minutes END),"                                 \
	" total(CASE WHEN reason = 'justified' THEN ah END),"                                      \
	" total(CASE WHEN reason = 'unjustified' THEN ah END),"                                    \
	" total(CASE WHEN reason = 'sick_leave' THEN ah END),"                                     \
	" total(CASE WHEN reason = 'training' THEN ah END),"                                       \
	" total(CASE WHEN reason = 'pmsmp' THEN ah END),"                                          \
	" total(CASE WHEN reason = 'authorised_leave' THEN ah END)"                                \
	" FROM (SELECT a.employee_id, a.status, a.hours, a.late_minutes, a.reason,"                \
	"   CASE WHEN a.status = 'absent' THEN coalesce((SELECT sum(p.hours)"                      \
	"     FROM production_assignments p WHERE p.employee_id = a.employee_id"                   \
	"     AND p.date = a.date AND (a.slot = 'day' OR p.slot = a.slot)),"                       \
	"     CASE a.slot WHEN 'day' THEN 7.0 ELSE 3.5 END) END AS ah"                             \
	"   FROM production_attendance a WHERE a.date BETWEEN ?1 AND ?2" only ")"                  \
	" GROUP BY employee_id ORDER BY employee_id"
static const char report_sql[] = REPORT_SQL("");
/* Only the people of ?3 (a JSON array of ids): their rows through the unique index. */
static const char report_people_sql[] =
    REPORT_SQL(" AND a.employee_id IN (SELECT value FROM json_each(?3))");

/* A growing text buffer for the CSV. */
struct text {
	char *data;
	size_t len, cap;
	int failed;
};

static void
text_add(struct text *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *p;
		while (cap < t->len + n + 1)
			cap *= 2;
		if ((p = realloc(t->data, cap)) == NULL) {
			t->failed = 1;
			return;
		}
		t->data = p;
		t->cap = cap;
	}
	memcpy(t->data + t->len, s, n);
	t->len += n;
	t->data[t->len] = '\0';
}

static void
text_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

/*
 * A CSV field: quoted when it holds the separator, a quote or a line break
 * (quotes doubled); a leading = + - @ is defused with an apostrophe, so a
 * spreadsheet never runs a name as a formula.
 */
static void
text_field(struct text *t, const char *s)
{
	int quote = s[strcspn(s, ";\"\r\n")] != '\0';

	if (quote)
		text_add(t, "\"", 1);
	if (strchr("=+-@", s[0]) != NULL && s[0] != '\0')
		text_add(t, "'", 1);
	for (const char *c = s; *c; c++) {
		if (*c == '"')
			text_add(t, "\"", 1);
		text_add(t, c, 1);
	}
	if (quote)
		text_add(t, "\"", 1);
}

/* Hours with a decimal comma, to the hundredth: 151,67. */
static void
text_hours(struct text *t, double h)
{
	char b[48];
	long long cents = (long long)(h * 100 + (h >= 0 ? 0.5 : -0.5));

	snprintf(b, sizeof(b), "%s%lld,%02lld", cents < 0 ? "-" : "",
	    (cents < 0 ? -cents : cents) / 100, (cents < 0 ? -cents : cents) % 100);
	text_str(t, b);
}

static double
round2(double h)
{
	return (double)(long long)(h * 100 + (h >= 0 ? 0.5 : -0.5)) / 100;
}

static void
report_csv(struct production *x, struct tremplin_request *req, const json_t *report)
{
	const json_t *items = json_object_get(report, "items"), *it;
	char from[16], to[16];
	struct text t = { 0 };
	size_t i;

	/* dd/mm/YYYY */
	snprintf(from, sizeof(from), "%.2s/%.2s/%.4s", str(report, "from") + 8,
	    str(report, "from") + 5, str(report, "from"));
	snprintf(to, sizeof(to), "%.2s/%.2s/%.4s", str(report, "to") + 8, str(report, "to") + 5,
	    str(report, "to"));
	text_str(&t, "\xEF\xBB\xBF");
	text_str(&t, "N° salarié;Nom;Prénom;Du;Au;Heures travaillées;Heures payées");
	for (size_t r = 0; r < NREASONS; r++) {
		text_str(&t, ";");
		text_str(&t, report_reasons[r].header);
	}
	text_str(&t, ";Retards (min)\r\n");
	json_array_foreach (items, i, it) {
		char id[32], late[32];
		const json_t *abs = json_object_get(it, "absences");

		snprintf(id, sizeof(id), "%lld",
		    (long long)json_integer_value(json_object_get(it, "employee_id")));
		snprintf(late, sizeof(late), "%lld",
		    (long long)json_integer_value(json_object_get(it, "late_minutes")));
		text_str(&t, id);
		text_str(&t, ";");
		text_field(&t, str(it, "last_name") ? str(it, "last_name") : "");
		text_str(&t, ";");
		text_field(&t, str(it, "first_name") ? str(it, "first_name") : "");
		text_str(&t, ";");
		text_str(&t, from);
		text_str(&t, ";");
		text_str(&t, to);
		text_str(&t, ";");
		text_hours(&t, json_number_value(json_object_get(it, "hours_worked")));
		text_str(&t, ";");
		text_hours(&t, json_number_value(json_object_get(it, "hours_paid")));
		for (size_t r = 0; r < NREASONS; r++) {
			text_str(&t, ";");
			text_hours(
			    &t, json_number_value(json_object_get(abs, report_reasons[r].reason)));
		}
		text_str(&t, ";");
		text_str(&t, late);
		text_str(&t, "\r\n");
	}
	if (t.failed)
		x->host->reply_error(req, 500, "internal", NULL, "cannot build the CSV");
	else
		x->host->reply_bytes(req, 200, "text/csv; charset=utf-8", t.data, t.len);
	free(t.data);
}

/*
 * GET /v1/production/reports/monthly-hours?structure=&month=YYYY-MM[&format=csv]:
 * per person of the structure with attendance that month, hours worked,
 * hours paid (worked, and absences the employer pays: training, PMSMP,
 * authorised leave), hours of absence by reason, minutes late; and totals.
 * Only the people whose attendance the caller may read; the read is audited.
 */
static void
get_monthly_hours(struct tremplin_request *req, void *arg)
{
	static const char *const cats[] = { "attendance", NULL };
	struct production *x = arg;
	const char *structure_q = x->host->request_query(req, "structure");
	const char *month = x->host->request_query(req, "month");
	const char *format = x->host->request_query(req, "format");
	char first[16], last[16], *end = NULL;
	long long structure;
	int64_t d0, d1;
	json_t *items, *totals, *report;
	sqlite3_stmt *st;
	struct tremplin_access acc;
	int decided = 0, audit_each;
	json_t *params, *people = NULL, *names = NULL, *ids = NULL;
	char verr[256], *ids_text = NULL;

	structure = structure_q != NULL ? strtoll(structure_q, &end, 10) : 0;
	if (structure_q == NULL || *structure_q == '\0' || end == NULL || *end != '\0' ||
	    structure < 1)
		return x->host->reply_error(
		    req, 400, "bad_request", "structure", "structure: expected a structure's id");
	if (month == NULL || strlen(month) != 7 ||
	    (snprintf(first, sizeof(first), "%s-01", month), d0 = prod_day(first)) < 0)
		return x->host->reply_error(
		    req, 400, "bad_request", "month", "month: expected YYYY-MM");
	if (format != NULL && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0)
		return x->host->reply_error(
		    req, 400, "bad_request", "format", "format: expected json or csv");
	/* The last day: the day before the first of the next month. */
	d1 = d0 + 27;
	for (char b[16]; prod_date(d1 + 1, b, sizeof(b)), strncmp(b, first, 7) == 0;)
		d1++;
	prod_date(d1, last, sizeof(last));
	/*
	 * The structure's people (ids, names) read once, and the aggregate
	 * restricted to them; a role without the view, or a structure too large
	 * for it, has each person's file loaded as before.
	 */
	if ((params = json_pack("{s:I}", "structure_id", (json_int_t)structure)) != NULL &&
	    x->host->view(
	        x->self, req, "structure_people.v1", params, &people, verr, sizeof(verr)) == 0 &&
	    json_array_size(people) <= 5000 && (names = json_object()) != NULL &&
	    (ids = json_array()) != NULL) {
		size_t i;
		const json_t *p;
		json_array_foreach (people, i, p) {
			char key[32];
			json_int_t id = json_integer_value(json_object_get(p, "employee_id"));
			snprintf(key, sizeof(key), "%lld", (long long)id);
			json_object_set(names, key, (json_t *)p);
			json_array_append_new(ids, json_integer(id));
		}
		ids_text = json_dumps(ids, JSON_COMPACT);
	}
	json_decref(params);
	json_decref(people);
	json_decref(ids);
	if (ids_text == NULL) {
		json_decref(names);
		names = NULL;
	}
	if ((st = x->host->stmt(x->self, names != NULL ? report_people_sql : report_sql)) == NULL) {
		json_decref(names);
		free(ids_text);
		return x->host->reply_error(req, 503, "unavailable", NULL, "cannot read the hours");
	}
	sqlite3_bind_text(st, 1, first, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, last, -1, SQLITE_TRANSIENT);
	if (names != NULL)
		sqlite3_bind_text(st, 3, ids_text, -1, SQLITE_TRANSIENT);
	free(ids_text);
	/*
	 * One decision for the report when the role reads the attendance of
	 * anyone (being a referent only adds rights): else each person's. Each
	 * person's read is audited only when the policy audits the category
	 * (an older host, without audited: always).
	 */
	audit_each = x->host->size < offsetof(struct tremplin_host, audited) + sizeof(void *) ||
	    x->host->audited("attendance") != 0;
	items = json_array();
	totals = json_pack("{s:f, s:f, s:I, s:o}", "hours_worked", 0.0, "hours_paid", 0.0,
	    "late_minutes", (json_int_t)0, "absences", json_object());
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t employee = sqlite3_column_int64(st, 0);
		struct tremplin_error e;
		json_t *who, *abs, *tabs = json_object_get(totals, "absences");
		double worked = round2(sqlite3_column_double(st, 1)), paid = worked;
		json_int_t late = (json_int_t)sqlite3_column_double(st, 2);

		if (decided == 0) {
			if (x->host->access(req, employee, &acc) != 0)
				continue;
			acc.referent_cip = acc.referent_eti = 0;
			decided = x->host->can_read(&acc, "attendance") ? 1 : -1;
		}
		if (decided < 0 &&
		    (x->host->access(req, employee, &acc) != 0 ||
		        !x->host->can_read(&acc, "attendance")))
			continue;
		memset(&e, 0, sizeof(e));
		if (names != NULL) {
			char key[32];
			snprintf(key, sizeof(key), "%lld", (long long)employee);
			who = json_incref(json_object_get(names, key));
		} else
			who = x->host->record_get(x->self, req, "employee", employee, &e);
		if (who == NULL ||
		    (names == NULL &&
		        json_integer_value(json_object_get(who, "structure_id")) != structure)) {
			json_decref(who);
			continue;
		}
		abs = json_object();
		for (size_t r = 0; r < NREASONS; r++) {
			double h = round2(sqlite3_column_double(st, 3 + (int)r));
			json_t *tv = json_object_get(tabs, report_reasons[r].reason);
			json_object_set_new(abs, report_reasons[r].reason, json_real(h));
			json_object_set_new(tabs, report_reasons[r].reason,
			    json_real(round2(json_number_value(tv) + h)));
			if (report_reasons[r].paid)
				paid += h;
		}
		paid = round2(paid);
		json_array_append_new(items,
		    json_pack("{s:I, s:O?, s:O?, s:f, s:f, s:I, s:o}", "employee_id",
		        (json_int_t)employee, "last_name", json_object_get(who, "last_name"),
		        "first_name", json_object_get(who, "first_name"), "hours_worked", worked,
		        "hours_paid", paid, "late_minutes", late, "absences", abs));
		json_decref(who);
		json_object_set_new(totals, "hours_worked",
		    json_real(round2(
		        json_number_value(json_object_get(totals, "hours_worked")) + worked)));
		json_object_set_new(totals, "hours_paid",
		    json_real(
		        round2(json_number_value(json_object_get(totals, "hours_paid")) + paid)));
		json_object_set_new(totals, "late_minutes",
		    json_integer(
		        json_integer_value(json_object_get(totals, "late_minutes")) + late));
		if (audit_each &&
		    x->host->audit(x->self, req, "read", employee, "production_attendance", cats) !=
		        0) {
			x->host->stmt_done(st);
			json_decref(items);
			json_decref(totals);
			json_decref(names);
			return x->host->reply_error(
			    req, 503, "unavailable", NULL, "cannot audit the read");
		}
	}
	x->host->stmt_done(st);
	json_decref(names);
	report = json_pack("{s:I, s:s, s:s, s:s, s:o, s:o}", "structure_id", (json_int_t)structure,
	    "month", month, "from", first, "to", last, "items", items, "totals", totals);
	if (format != NULL && strcmp(format, "csv") == 0) {
		report_csv(x, req, report);
		json_decref(report);
		return;
	}
	x->host->reply(req, 200, report);
}

/*
 * GET /v1/production/orders/{id}/progress: planned vs done. Hours: planned
 * on the work orders, planned for people (assignments), spent (outputs);
 * quantities by unit: ordered (lines) and done (outputs). Not personal.
 */
static void
get_progress(struct tremplin_request *req, void *arg)
{
	static const char hours_sql[] =
	    "SELECT (SELECT total(planned_hours) FROM production_work_orders WHERE order_id = ?1),"
	    " (SELECT total(a.hours) FROM production_assignments a JOIN production_work_orders w"
	    "   ON w.id = a.work_order_id WHERE w.order_id = ?1),"
	    " (SELECT total(o.hours_spent) FROM production_outputs o JOIN production_work_orders w"
	    "   ON w.id = o.work_order_id WHERE w.order_id = ?1)"
	    " FROM production_orders WHERE id = ?1";
	static const char units_sql[] =
	    "SELECT unit, total(ordered), total(done) FROM ("
	    " SELECT unit, quantity AS ordered, 0 AS done FROM production_order_lines"
	    "   WHERE order_id = ?1"
	    " UNION ALL SELECT o.unit, 0, o.quantity FROM production_outputs o"
	    "   JOIN production_work_orders w ON w.id = o.work_order_id WHERE w.order_id = ?1)"
	    " GROUP BY unit ORDER BY unit";
	struct production *x = arg;
	int64_t id = x->host->request_id(req, 0);
	sqlite3_stmt *st = x->host->stmt(x->self, hours_sql);
	json_t *body, *units;
	int rc;

	if (st == NULL)
		return x->host->reply_error(req, 503, "unavailable", NULL, "cannot read the order");
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		x->host->stmt_done(st);
		if (rc == SQLITE_DONE)
			return x->host->reply_error(
			    req, 404, "not_found", NULL, "no order %lld", (long long)id);
		return x->host->reply_error(req, 503, "unavailable", NULL, "cannot read the order");
	}
	body = json_pack("{s:I, s:f, s:f, s:f}", "order_id", (json_int_t)id, "planned_hours",
	    round2(sqlite3_column_double(st, 0)), "assigned_hours",
	    round2(sqlite3_column_double(st, 1)), "hours_spent",
	    round2(sqlite3_column_double(st, 2)));
	x->host->stmt_done(st);
	units = json_array();
	if ((st = x->host->stmt(x->self, units_sql)) != NULL) {
		sqlite3_bind_int64(st, 1, id);
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(units,
			    json_pack("{s:s, s:f, s:f}", "unit",
			        (const char *)sqlite3_column_text(st, 0), "ordered",
			        round2(sqlite3_column_double(st, 1)), "done",
			        round2(sqlite3_column_double(st, 2))));
		x->host->stmt_done(st);
	}
	json_object_set_new(body, "quantities", units);
	x->host->reply(req, 200, body);
}

/*
 * GET /v1/production/reports/indicators?structure=&from=&to=[&format=csv]:
 * a structure's figures over a period. Hours worked vs contracted (each
 * ISO week with attendance counts its contract's weekly hours once, prorated
 * to the days of the week within the period), absenteeism by reason
 * (absent hours over worked + absent hours), orders by status, work orders
 * late (their end before today or the period's end, whichever is earlier,
 * and their order neither done, invoiced nor cancelled), incidents and near
 * misses of the period, work accidents. People: those whose attendance the
 * caller reads.
 */
static void
get_indicators(struct tremplin_request *req, void *arg)
{
	static const char people_sql[] =
	    "SELECT employee_id, total(CASE WHEN status != 'absent' THEN hours END),"
	    " total(CASE WHEN reason = 'justified' THEN ah END),"
	    " total(CASE WHEN reason = 'unjustified' THEN ah END),"
	    " total(CASE WHEN reason = 'sick_leave' THEN ah END),"
	    " total(CASE WHEN reason = 'training' THEN ah END),"
	    " total(CASE WHEN reason = 'pmsmp' THEN ah END),"
	    " total(CASE WHEN reason = 'authorised_leave' THEN ah END),"
	    " (SELECT total(c * n / 7.0) FROM (SELECT max(b.contract_weekly_hours) AS c,"
	    "   julianday(min(date(b.date, 'weekday 0'), ?2))"
	    "   - julianday(max(date(b.date, '-6 days', 'weekday 1'), ?1)) + 1 AS n"
	    "   FROM production_attendance b WHERE b.employee_id = x.employee_id"
	    "   AND b.date BETWEEN ?1 AND ?2"
	    "   GROUP BY date(b.date, '-6 days', 'weekday 1')))"
	    " FROM (SELECT a.employee_id, a.status, a.hours, a.reason,"
	    "   CASE WHEN a.status = 'absent' THEN coalesce((SELECT sum(p.hours)"
	    "     FROM production_assignments p WHERE p.employee_id = a.employee_id"
	    "     AND p.date = a.date AND (a.slot = 'day' OR p.slot = a.slot)),"
	    "     CASE a.slot WHEN 'day' THEN 7.0 ELSE 3.5 END) END AS ah"
	    "   FROM production_attendance a WHERE a.date BETWEEN ?1 AND ?2) x"
	    " GROUP BY employee_id ORDER BY employee_id";
	static const char orders_sql[] = "SELECT status, count(*) FROM production_orders"
	                                 " WHERE structure_id = ?1 GROUP BY status ORDER BY status";
	static const char late_sql[] =
	    "SELECT count(*) FROM production_work_orders w JOIN production_orders o"
	    " ON o.id = w.order_id WHERE o.structure_id = ?1 AND w.end_date < ?2"
	    " AND o.status IN ('quote', 'accepted', 'in_progress')";
	static const char incidents_sql[] =
	    "SELECT total(kind = 'incident'), total(kind = 'near_miss'), total(work_accident)"
	    " FROM production_incidents WHERE structure_id = ?1 AND occurred_on BETWEEN ?2 AND ?3";
	static const char *const cats[] = { "attendance", NULL };
	struct production *x = arg;
	const char *sq = x->host->request_query(req, "structure");
	const char *from = x->host->request_query(req, "from");
	const char *to = x->host->request_query(req, "to");
	const char *format = x->host->request_query(req, "format");
	double worked = 0, contracted = 0, absent[NREASONS] = { 0 }, absent_total = 0;
	char *end = NULL, today[16], cutoff[16];
	long long structure = sq != NULL ? strtoll(sq, &end, 10) : 0;
	json_t *orders, *abs, *body;
	sqlite3_stmt *st;
	struct tremplin_access acc;
	int people = 0, decided = 0, audit_each;

	if (sq == NULL || *sq == '\0' || end == NULL || *end != '\0' || structure < 1)
		return x->host->reply_error(
		    req, 400, "bad_request", "structure", "structure: expected a structure's id");
	if (prod_day(from) < 0)
		return x->host->reply_error(
		    req, 400, "bad_request", "from", "from: expected YYYY-MM-DD");
	if (prod_day(to) < prod_day(from) || prod_day(to) - prod_day(from) > 366)
		return x->host->reply_error(req, 400, "bad_request", "to",
		    "to: expected YYYY-MM-DD, from `from` to a year after it");
	if (format != NULL && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0)
		return x->host->reply_error(
		    req, 400, "bad_request", "format", "format: expected json or csv");
	if ((st = x->host->stmt(x->self, people_sql)) == NULL)
		return x->host->reply_error(req, 503, "unavailable", NULL, "cannot read the hours");
	/* As the monthly report: one access decision when the role decides. */
	audit_each = x->host->size < offsetof(struct tremplin_host, audited) + sizeof(void *) ||
	    x->host->audited("attendance") != 0;
	sqlite3_bind_text(st, 1, from, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t employee = sqlite3_column_int64(st, 0);
		struct tremplin_error e;
		json_t *who;

		if (decided == 0) {
			if (x->host->access(req, employee, &acc) != 0)
				continue;
			acc.referent_cip = acc.referent_eti = 0;
			decided = x->host->can_read(&acc, "attendance") ? 1 : -1;
		}
		if (decided < 0 &&
		    (x->host->access(req, employee, &acc) != 0 ||
		        !x->host->can_read(&acc, "attendance")))
			continue;
		memset(&e, 0, sizeof(e));
		who = x->host->record_get(x->self, req, "employee", employee, &e);
		if (who == NULL ||
		    json_integer_value(json_object_get(who, "structure_id")) != structure) {
			json_decref(who);
			continue;
		}
		json_decref(who);
		if (audit_each &&
		    x->host->audit(x->self, req, "read", employee, "production_attendance", cats) !=
		        0) {
			x->host->stmt_done(st);
			return x->host->reply_error(
			    req, 503, "unavailable", NULL, "cannot audit the read");
		}
		people++;
		worked += sqlite3_column_double(st, 1);
		for (size_t r = 0; r < NREASONS; r++) {
			absent[r] += sqlite3_column_double(st, 2 + (int)r);
			absent_total += sqlite3_column_double(st, 2 + (int)r);
		}
		contracted += sqlite3_column_double(st, 8);
	}
	x->host->stmt_done(st);
	abs = json_object();
	for (size_t r = 0; r < NREASONS; r++)
		json_object_set_new(abs, report_reasons[r].reason,
		    json_pack("{s:f, s:f}", "hours", round2(absent[r]), "rate",
		        worked + absent_total > 0
		            ? round2(100 * absent[r] / (worked + absent_total))
		            : 0.0));
	orders = json_object();
	for (size_t i = 0; order_statuses[i] != NULL; i++)
		json_object_set_new(orders, order_statuses[i], json_integer(0));
	if ((st = x->host->stmt(x->self, orders_sql)) != NULL) {
		sqlite3_bind_int64(st, 1, structure);
		while (sqlite3_step(st) == SQLITE_ROW)
			json_object_set_new(orders, (const char *)sqlite3_column_text(st, 0),
			    json_integer(sqlite3_column_int64(st, 1)));
		x->host->stmt_done(st);
	}
	prod_date(x->host->now_ms(x->self) / 86400000, today, sizeof(today));
	snprintf(cutoff, sizeof(cutoff), "%s", strcmp(today, to) < 0 ? today : to);
	body = json_pack("{s:I, s:s, s:s, s:i, s:f, s:f, s:f, s:o, s:f, s:o}", "structure_id",
	    (json_int_t)structure, "from", from, "to", to, "people", people, "hours_worked",
	    round2(worked), "hours_contracted", round2(contracted), "hours_worked_rate",
	    contracted > 0 ? round2(100 * worked / contracted) : 0.0, "absences", abs,
	    "absenteeism_rate",
	    worked + absent_total > 0 ? round2(100 * absent_total / (worked + absent_total)) : 0.0,
	    "orders", orders);
	if ((st = x->host->stmt(x->self, late_sql)) != NULL) {
		sqlite3_bind_int64(st, 1, structure);
		sqlite3_bind_text(st, 2, cutoff, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			json_object_set_new(
			    body, "work_orders_late", json_integer(sqlite3_column_int64(st, 0)));
		x->host->stmt_done(st);
	}
	if ((st = x->host->stmt(x->self, incidents_sql)) != NULL) {
		sqlite3_bind_int64(st, 1, structure);
		sqlite3_bind_text(st, 2, from, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, to, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			json_object_set_new(body, "incidents",
			    json_pack("{s:I, s:I, s:I}", "incidents",
			        (json_int_t)sqlite3_column_double(st, 0), "near_misses",
			        (json_int_t)sqlite3_column_double(st, 1), "work_accidents",
			        (json_int_t)sqlite3_column_double(st, 2)));
		x->host->stmt_done(st);
	}
	if (format == NULL || strcmp(format, "csv") != 0)
		return x->host->reply(req, 200, body);
	/* One indicator a line: Indicateur;Valeur, the same habits as the hours report. */
	struct text t = { 0 };
	char b[64];
	text_str(&t, "\xEF\xBB\xBFIndicateur;Valeur\r\n");
	snprintf(b, sizeof(b), "%.2s/%.2s/%.4s", from + 8, from + 5, from);
	text_str(&t, "Du;");
	text_str(&t, b);
	snprintf(b, sizeof(b), "%.2s/%.2s/%.4s", to + 8, to + 5, to);
	text_str(&t, "\r\nAu;");
	text_str(&t, b);
	text_str(&t, "\r\nHeures travaillées;");
	text_hours(&t, worked);
	text_str(&t, "\r\nHeures contractuelles;");
	text_hours(&t, contracted);
	text_str(&t, "\r\nTaux d'absentéisme (%);");
	text_hours(&t, json_number_value(json_object_get(body, "absenteeism_rate")));
	for (size_t r = 0; r < NREASONS; r++) {
		text_str(&t, "\r\n");
		text_str(&t, report_reasons[r].header);
		text_str(&t, ";");
		text_hours(&t, absent[r]);
	}
	for (size_t i = 0; order_statuses[i] != NULL; i++) {
		snprintf(b, sizeof(b), "\r\nCommandes %s;%lld", order_statuses[i],
		    (long long)json_integer_value(json_object_get(orders, order_statuses[i])));
		text_str(&t, b);
	}
	snprintf(b, sizeof(b), "\r\nChantiers en retard;%lld\r\n",
	    (long long)json_integer_value(json_object_get(body, "work_orders_late")));
	text_str(&t, b);
	if (t.failed)
		x->host->reply_error(req, 500, "internal", NULL, "cannot build the CSV");
	else
		x->host->reply_bytes(req, 200, "text/csv; charset=utf-8", t.data, t.len);
	free(t.data);
	json_decref(body);
}

/* ---- views for site scripts and other plugins (CONTRACTS.md) ---- */

static const struct tremplin_view_param range_params[] = {
	{ .name = "from", .type = TREMPLIN_VIEW_DATE, .required = 1 },
	{ .name = "to", .type = TREMPLIN_VIEW_DATE, .required = 1 },
};
static const char *const attendance_categories[] = { "attendance", NULL };
static const struct tremplin_view absences_view = {
	.size = sizeof(struct tremplin_view),
	.name = "production.absences.v1",
	.description = "absences between :from and :to: employee_id, date, slot, reason",
	.sql = "SELECT employee_id, date, slot, reason FROM production_attendance"
	       " WHERE status = 'absent' AND date BETWEEN :from AND :to"
	       " ORDER BY employee_id, date, slot LIMIT 5001",
	.params = range_params,
	.nparams = NELEM(range_params),
	.roles = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR,
	.categories = attendance_categories,
};

static const struct tremplin_view_param below_params[] = {
	{ .name = "date", .type = TREMPLIN_VIEW_DATE, .required = 1 },
	{ .name = "weeks", .type = TREMPLIN_VIEW_INT, .required = 1, .min = 1, .max = 52 },
};
static const char *const below_categories[] = { "attendance", "identity", NULL };
/*
 * People whose hours worked were below their contract's weekly hours in each
 * of the `weeks` full weeks (Monday to Sunday) before the week of `date`.
 * A week counts when the person has attendance recorded in it under a
 * contract (contract_weekly_hours, as of the days recorded).
 */
static const struct tremplin_view below_view = {
	.size = sizeof(struct tremplin_view),
	.name = "production.hours_below_contract.v1",
	.description = "people below their contract's weekly hours in each of the :weeks full"
	               " weeks before :date: employee_id, weeks_below, contract_weekly_hours,"
	               " last_week_hours",
	.sql = "WITH RECURSIVE m0(d) AS (SELECT date(:date, '-' || ((CAST(strftime('%w', :date)"
	       "   AS INTEGER) + 6) % 7) || ' days')),"
	       " w(k, mon, sun) AS (SELECT 1, date(d, '-7 days'), date(d, '-1 days') FROM m0"
	       "   UNION ALL SELECT k + 1, date(mon, '-7 days'), date(mon, '-1 days') FROM w"
	       "   WHERE k < :weeks),"
	       " pw(employee_id, k, h, c) AS (SELECT a.employee_id, w.k,"
	       "   total(CASE WHEN a.status != 'absent' THEN a.hours END),"
	       "   max(a.contract_weekly_hours) FROM w JOIN production_attendance a"
	       "   ON a.date BETWEEN w.mon AND w.sun GROUP BY a.employee_id, w.k)"
	       " SELECT b.employee_id, count(*) AS weeks_below,"
	       " (SELECT c FROM pw p WHERE p.employee_id = b.employee_id AND p.k = 1)"
	       "   AS contract_weekly_hours,"
	       " (SELECT h FROM pw p WHERE p.employee_id = b.employee_id AND p.k = 1)"
	       "   AS last_week_hours"
	       " FROM pw b WHERE b.c IS NOT NULL AND b.h < b.c GROUP BY b.employee_id"
	       " HAVING count(*) = :weeks ORDER BY b.employee_id LIMIT 5001",
	.params = below_params,
	.nparams = NELEM(below_params),
	.roles = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR,
	.categories = below_categories,
};

static const struct tremplin_view_param since_params[] = {
	{ .name = "since", .type = TREMPLIN_VIEW_DATE, .required = 1 },
};
static const char *const incident_categories[] = { "production", "safety", NULL };
static const struct tremplin_view incidents_view = {
	.size = sizeof(struct tremplin_view),
	.name = "production.incidents.v1",
	.description = "incidents and near misses since :since: incident_id, occurred_on, kind,"
	               " structure_id, hurt_employee_id (one row per person hurt)",
	.sql = "SELECT i.id AS incident_id, i.occurred_on, i.kind, i.structure_id,"
	       " p.employee_id AS hurt_employee_id FROM production_incidents i"
	       " LEFT JOIN production_incident_people p ON p.incident_id = i.id"
	       "   AND p.involvement = 'hurt'"
	       " WHERE i.occurred_on >= :since ORDER BY i.occurred_on, i.id, p.employee_id"
	       " LIMIT 5001",
	.params = since_params,
	.nparams = NELEM(since_params),
	.roles = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR,
	.categories = incident_categories,
};

static const struct tremplin_view_param id_params[] = {
	{ .name = "id", .type = TREMPLIN_VIEW_INT, .required = 1, .min = 1, .max = INT64_MAX },
};
static const char *const production_categories[] = { "production", NULL };
static const struct tremplin_view work_orders_view = {
	.size = sizeof(struct tremplin_view),
	.name = "production.work_orders.v1",
	.description = "a work order: id, name, site, start_date, end_date",
	.sql = "SELECT id, name, site, start_date, end_date FROM production_work_orders"
	       " WHERE id = :id",
	.params = id_params,
	.nparams = NELEM(id_params),
	.roles = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR,
	.categories = production_categories,
};

/* ---- life cycle ---- */

static const struct tremplin_record *const records[] = { &client, &contact, &order, &line,
	&work_order, &output, &quality, &nonconformity, &supervision, &briefing, &attendee,
	&equipment, &incident, &involvement, &assignment, &attendance };

static const char *const planning_query[] = { "from", "to", "team", NULL };
static const char *const hours_query[] = { "from", "to", "by", NULL };
static const char *const report_query[] = { "structure", "month", "format", NULL };
static const char *const indicators_query[] = { "structure", "from", "to", "format", NULL };

static int
production_init(const struct tremplin_host *host, struct tremplin_plugin *self, void **ctx)
{
	struct production *x = calloc(1, sizeof(*x));
	const unsigned floor_roles =
	    TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR;
	const unsigned writers = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_COORDINATOR;

	if (x == NULL)
		return -1;
	x->host = host;
	x->self = self;
	/* The half-days' hours unless the configuration says otherwise (README). */
	x->morning = (struct prod_range){ 8 * 60, 12 * 60 };
	x->afternoon = (struct prod_range){ 13 * 60 + 30, 17 * 60 };
	*ctx = x;
	const struct tremplin_route_spec routes[] = {
		{ .size = sizeof(struct tremplin_route_spec),
		    .methods = TREMPLIN_POST,
		    .path = "/planning",
		    .roles = writers,
		    .flags = TREMPLIN_ROUTE_BODY | TREMPLIN_ROUTE_PERSONAL,
		    .fn = post_planning,
		    .arg = x },
		{ .size = sizeof(struct tremplin_route_spec),
		    .methods = TREMPLIN_GET,
		    .path = "/planning",
		    .roles = floor_roles,
		    .flags = TREMPLIN_ROUTE_PERSONAL,
		    .query = planning_query,
		    .fn = get_planning,
		    .arg = x },
		{ .size = sizeof(struct tremplin_route_spec),
		    .methods = TREMPLIN_POST,
		    .path = "/team-attendance",
		    .roles = writers,
		    .flags = TREMPLIN_ROUTE_BODY | TREMPLIN_ROUTE_PERSONAL,
		    .fn = post_team_attendance,
		    .arg = x },
		{ .size = sizeof(struct tremplin_route_spec),
		    .methods = TREMPLIN_GET,
		    .path = "/employees/{id}/hours",
		    .roles = floor_roles,
		    .flags = TREMPLIN_ROUTE_PERSONAL,
		    .query = hours_query,
		    .fn = get_hours,
		    .arg = x },
		{ .size = sizeof(struct tremplin_route_spec),
		    .methods = TREMPLIN_GET,
		    .path = "/orders/{id}/progress",
		    .roles = floor_roles,
		    .fn = get_progress,
		    .arg = x },
		{ .size = sizeof(struct tremplin_route_spec),
		    .methods = TREMPLIN_GET,
		    .path = "/reports/indicators",
		    .roles = floor_roles,
		    .flags = TREMPLIN_ROUTE_PERSONAL,
		    .query = indicators_query,
		    .fn = get_indicators,
		    .arg = x },
		{ .size = sizeof(struct tremplin_route_spec),
		    .methods = TREMPLIN_GET,
		    .path = "/reports/monthly-hours",
		    .roles = floor_roles,
		    .flags = TREMPLIN_ROUTE_PERSONAL,
		    .query = report_query,
		    .fn = get_monthly_hours,
		    .arg = x },
	};
	if (host->migrations(self, production_migrations, production_nmigrations) != 0)
		goto fail;
	for (size_t i = 0; i < NELEM(records); i++)
		if (host->record(self, records[i], x) != 0)
			goto fail;
	if (host->view_register(self, &absences_view) != 0 ||
	    host->view_register(self, &incidents_view) != 0 ||
	    host->view_register(self, &work_orders_view) != 0 ||
	    host->view_register(self, &below_view) != 0)
		goto fail;
	for (size_t i = 0; i < NELEM(routes); i++)
		if (host->route(self, &routes[i]) != 0)
			goto fail;
	return 0;
fail:
	free(x);
	*ctx = NULL;
	return -1;
}

/*
 * morning, afternoon: a half-day's hours, "HH:MM-HH:MM" on quarter hours
 * (a time range overlapping them is a double booking). Another key is
 * refused, naming it.
 */
static int
production_config(void *ctx, json_t *section, char *err, size_t errlen)
{
	struct production *x = ctx;
	const char *key;
	json_t *v;

	json_object_foreach (section, key, v) {
		struct prod_range *r = strcmp(key, "morning") == 0 ? &x->morning
		    : strcmp(key, "afternoon") == 0                ? &x->afternoon
		                                                   : NULL;
		const char *s = json_string_value(v);
		char a[6], b[6];

		if (strcmp(key, "enabled") == 0)
			continue;
		if (r == NULL) {
			snprintf(err, errlen, "%s: unknown setting", key);
			return -1;
		}
		if (s == NULL || strlen(s) != 11 || s[5] != '-') {
			snprintf(err, errlen, "%s: expected \"HH:MM-HH:MM\"", key);
			return -1;
		}
		memcpy(a, s, 5);
		a[5] = '\0';
		memcpy(b, s + 6, 5);
		b[5] = '\0';
		r->start = prod_minutes(a);
		r->end = prod_minutes(b);
		if (r->start < 0 || r->end <= r->start) {
			snprintf(err, errlen,
			    "%s: expected HH:MM-HH:MM on quarter hours, end after start", key);
			return -1;
		}
	}
	if (plan_overlap(x->morning, x->afternoon)) {
		snprintf(err, errlen, "afternoon: overlaps the morning");
		return -1;
	}
	return 0;
}

static int
production_start(void *ctx)
{
	(void)ctx;
	return 0;
}

static void
production_stop(void *ctx)
{
	free(ctx);
}

TREMPLIN_PLUGIN(.name = "production", .version = "0.1.0",
    .description = "clients, orders, work orders, safety, planning and attendance",
    .init = production_init, .config = production_config, .start = production_start,
    .stop = production_stop);
