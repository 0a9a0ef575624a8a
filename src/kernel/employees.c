/* Employees in the pathway (salariés en insertion): the file every other record hangs on. */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "kernel.h"
#include "resource.h"
#include "server.h"
#include "util.h"
#include "validate.h"

/* The ASP's kinds of prescribers, as codes. */
static const char *const prescriber_kinds[] = { "france_travail", "mission_locale", "cap_emploi",
	"spip", "pjj", "conseil_departemental", "plie", "ccas", "chrs", "siae", "autre", NULL };
static const char *const pathway_statuses[] = { "candidate", "in_pathway", "exited", NULL };

static const struct tremplin_column employee_cols[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "structure_id",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "identity",
	    .min = 1,
	    .max = 2147483647 },
	{ .name = "first_name",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "identity",
	    .max = 100 },
	{ .name = "last_name",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "identity",
	    .max = 100 },
	{ .name = "birth_date",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "identity" },
	{ .name = "email",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "identity",
	    .max = 254 },
	{ .name = "phone",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "identity",
	    .max = 30 },
	{ .name = "address",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "identity",
	    .max = 300 },
	{ .name = "france_travail_id",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "identity",
	    .max = 11 },
	/* Who referred the person tells justice (spip, pjj) or disability (cap_emploi). */
	{ .name = "prescriber_kind",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "orientation",
	    .values = prescriber_kinds },
	{ .name = "prescriber_name",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "orientation",
	    .max = 200 },
	{ .name = "team",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "identity",
	    .max = 100 },
	{ .name = "referent_cip_id",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "referent" },
	{ .name = "referent_eti_id",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "identity" },
	{ .name = "status",
	    .type = TREMPLIN_COL_ENUM,
	    .category = "identity",
	    .values = pathway_statuses,
	    .def = "\"in_pathway\"" },
	/*
	 * Why the status changed back from exited (a reopened file): required
	 * then, kept with the file. It may tell what the exit did (an illness,
	 * a detention): the orientation's readers, as the exit's category.
	 */
	{ .name = "status_reason",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "orientation",
	    .max = 500 },
	{ .name = "last_contact_at",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_SERVER | TREMPLIN_COL_CREATED },
	{ .name = "created_at",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_SERVER | TREMPLIN_COL_CREATED },
	{ .name = "updated_at",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_SERVER | TREMPLIN_COL_STAMP },
};

static const char *
staff_role_of(struct tremplin_request *r, int64_t id)
{
	static const char sql[] = "SELECT role FROM staff WHERE id = ?";
	static char role[16];
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);

	role[0] = '\0';
	if (st == NULL)
		return role;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		tr_strlcpy(role, (const char *)sqlite3_column_text(st, 0), sizeof(role));
	db_done(st);
	return role;
}

static int
status_is(const json_t *o, const char *status)
{
	const char *s = json_string_value(json_object_get(o, "status"));

	return s != NULL && strcmp(s, status) == 0;
}

/* The id of the person's exit record (one a person), 0 when none, -1 on an error. */
static int64_t
exit_of(struct tremplin_request *r, int64_t employee_id)
{
	static const char sql[] = "SELECT id FROM exits WHERE employee_id = ?";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	int64_t id = 0;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, employee_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	db_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? id : -1;
}

/*
 * The status and the exit keep the same story. A person exits through their
 * exit record (its date and category are what the ASP and the funders are
 * told), which sets the status; never by the status alone. Back in the
 * pathway after an exit only with a reason, status_reason, written in that
 * same request and kept as written: it is the file's record of why.
 */
static int
status_check(struct tremplin_request *r, json_t *o, const json_t *before, struct tremplin_error *e)
{
	const char *reason = json_str(o, "status_reason");
	const char *was = before != NULL ? json_str((json_t *)before, "status_reason") : NULL;
	int reopened = before != NULL && status_is(before, "exited") && !status_is(o, "exited");
	int64_t id, exit_id;

	if (status_is(o, "exited") && (before == NULL || !status_is(before, "exited"))) {
		if (before == NULL) {
			input_error_set(e, 422, "validation_failed", "status",
			    "a file opens as candidate or in_pathway; an exit is recorded "
			    "afterwards, at POST /v1/employees/{id}/exits");
			return -1;
		}
		id = json_integer_value(json_object_get(before, "id"));
		if ((exit_id = exit_of(r, id)) == -1) {
			input_error_set(
			    e, 503, "unavailable", NULL, "the database did not answer; try again");
			return -1;
		}
		if (exit_id == 0)
			input_error_set(e, 422, "validation_failed", "status",
			    "status becomes exited with the exit itself: record it at POST "
			    "/v1/employees/%lld/exits (exit_date, category)",
			    (long long)id);
		else
			input_error_set(e, 422, "validation_failed", "status",
			    "status becomes exited with the exit itself: this person's exit record "
			    "is changed at PATCH /v1/exits/%lld (exit_date, category)",
			    (long long)exit_id);
		return -1;
	}
	if (reopened) {
		/* A new reason each time: the one kept from a former reopening says nothing of this one. */
		if (reason == NULL || (was != NULL && strcmp(reason, was) == 0)) {
			input_error_set(e, 422, "validation_failed", "status_reason",
			    "status_reason is required to reopen the file of a person who exited: "
			    "say why in the same request");
			return -1;
		}
		return 0;
	}
	if (reason != NULL || was != NULL) {
		if (reason != NULL && was != NULL && strcmp(reason, was) == 0)
			return 0;
		input_error_set(e, 422, "validation_failed", "status_reason",
		    "status_reason is written only when the file of a person who exited is "
		    "reopened (with status, in the same request), and then kept as written");
		return -1;
	}
	return 0;
}

static int
employee_check(struct tremplin_request *r, json_t *o, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	(void)arg;
	const char *email = json_str(o, "email"), *phone = json_str(o, "phone");
	const char *ft = json_str(o, "france_travail_id"), *birth = json_str(o, "birth_date"), *why;
	json_t *cip = json_object_get(o, "referent_cip_id"),
	       *eti = json_object_get(o, "referent_eti_id");
	char today[11];

	if (db_row_exists(r->srv->db, "SELECT 1 FROM structures WHERE id = ?",
	        json_integer_value(json_object_get(o, "structure_id"))) != 1) {
		input_error_set(
		    e, 422, "validation_failed", "structure_id", "structure_id is not a structure");
		return -1;
	}
	date_today(today, sizeof(today));
	/* Hired from 16; a birth date past 100 years is a typing slip. */
	if (date_days(birth) > date_days(today) - 16 * 365 ||
	    date_days(birth) < date_days(today) - 100 * 366) {
		input_error_set(e, 422, "validation_failed", "birth_date",
		    "birth_date must make the person 16 to 100 years old");
		return -1;
	}
	if (email != NULL && (why = valid_email(email)) != NULL) {
		input_error_set(e, 422, "validation_failed", "email", "email %s", why);
		return -1;
	}
	if (phone != NULL) {
		int digits = 0;
		for (const char *p = phone; *p; p++) {
			if (*p >= '0' && *p <= '9')
				digits++;
			else if (!(*p == '+' && p == phone) && *p != ' ' && *p != '.' &&
			    *p != '-') {
				input_error_set(e, 422, "validation_failed", "phone",
				    "phone may hold digits, spaces, dots, dashes and a leading +");
				return -1;
			}
		}
		if (digits < 8 || digits > 15) {
			input_error_set(
			    e, 422, "validation_failed", "phone", "phone must have 8 to 15 digits");
			return -1;
		}
	}
	/* France Travail's identifier: 7 digits and a letter, or up to 11 characters for older ones. */
	if (ft != NULL) {
		size_t n = strlen(ft);
		int ok = n >= 7 && n <= 11;
		for (size_t i = 0; ok && i < n; i++)
			ok = (ft[i] >= '0' && ft[i] <= '9') || (ft[i] >= 'A' && ft[i] <= 'Z');
		if (!ok) {
			input_error_set(e, 422, "validation_failed", "france_travail_id",
			    "france_travail_id must be 7 to 11 digits or capital letters");
			return -1;
		}
	}
	if (status_check(r, o, before, e) == -1)
		return -1;
	if (json_is_integer(cip) && strcmp(staff_role_of(r, json_integer_value(cip)), "cip") != 0) {
		input_error_set(e, 422, "validation_failed", "referent_cip_id",
		    "referent_cip_id must be a CIP's staff account");
		return -1;
	}
	if (json_is_integer(eti) && strcmp(staff_role_of(r, json_integer_value(eti)), "eti") != 0) {
		input_error_set(e, 422, "validation_failed", "referent_eti_id",
		    "referent_eti_id must be an ETI's staff account");
		return -1;
	}
	return 0;
}

/*
 * GET /v1/employees filters on identity fields only, which every role that
 * reads files may read: a filter cannot reveal what the caller may not see
 * (none on the prescriber, which the ETI does not read: 400 as any unknown).
 */
static const struct tremplin_filter employee_filters[] = {
	{ .name = "structure_id", .column = "structure_id", .op = TREMPLIN_FILTER_EQ },
	{ .name = "team", .column = "team", .op = TREMPLIN_FILTER_EQ },
	{ .name = "referent_cip_id", .column = "referent_cip_id", .op = TREMPLIN_FILTER_EQ },
	{ .name = "referent_eti_id", .column = "referent_eti_id", .op = TREMPLIN_FILTER_EQ },
	{ .name = "status", .column = "status", .op = TREMPLIN_FILTER_EQ },
};

/* ?q=: by name, whatever the case and accents. */
static const char *const employee_search[] = { "first_name", "last_name", NULL };

const struct tremplin_record rec_employee = {
	.size = sizeof(struct tremplin_record),
	.search = employee_search,
	.name = "employee",
	.plural = "employees",
	.table = "employees",
	.columns = employee_cols,
	.ncolumns = TR_NELEM(employee_cols),
	.owner = TREMPLIN_OWNER_PERSON,
	.person_col = "id",
	.filters = employee_filters,
	.nfilters = TR_NELEM(employee_filters),
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_LIST | TREMPLIN_OP_CREATE | TREMPLIN_OP_UPDATE,
	.check = employee_check,
};
