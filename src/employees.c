/* Employees in the pathway (salariés en insertion): the file every other record hangs on. */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "resource.h"
#include "server.h"
#include "util.h"
#include "validate.h"

/* The ASP's kinds of prescribers, as codes. */
static const char *const prescriber_kinds[] = { "france_travail", "mission_locale", "cap_emploi",
	"spip", "pjj", "conseil_departemental", "plie", "ccas", "chrs", "siae", "autre", NULL };
static const char *const pathway_statuses[] = { "candidate", "in_pathway", "exited", NULL };

static const struct column employee_cols[] = {
	{ "id", COL_INT, COL_SERVER, CAT_NONE, 0, 0, NULL, NULL },
	{ "structure_id", COL_INT, COL_REQUIRED, CAT_IDENTITY, 1, 2147483647, NULL, NULL },
	{ "first_name", COL_TEXT, COL_REQUIRED, CAT_IDENTITY, 0, 100, NULL, NULL },
	{ "last_name", COL_TEXT, COL_REQUIRED, CAT_IDENTITY, 0, 100, NULL, NULL },
	{ "birth_date", COL_DATE, COL_REQUIRED, CAT_IDENTITY, 0, 0, NULL, NULL },
	{ "email", COL_TEXT, COL_NULLABLE, CAT_IDENTITY, 0, 254, NULL, NULL },
	{ "phone", COL_TEXT, COL_NULLABLE, CAT_IDENTITY, 0, 30, NULL, NULL },
	{ "address", COL_TEXT, COL_NULLABLE, CAT_IDENTITY, 0, 300, NULL, NULL },
	{ "france_travail_id", COL_TEXT, COL_NULLABLE, CAT_IDENTITY, 0, 11, NULL, NULL },
	/* Who referred the person tells justice (spip, pjj) or disability (cap_emploi). */
	{ "prescriber_kind", COL_ENUM, COL_REQUIRED, CAT_ORIENTATION, 0, 0, prescriber_kinds,
	    NULL },
	{ "prescriber_name", COL_TEXT, COL_NULLABLE, CAT_ORIENTATION, 0, 200, NULL, NULL },
	{ "team", COL_TEXT, COL_NULLABLE, CAT_IDENTITY, 0, 100, NULL, NULL },
	{ "referent_cip_id", COL_STAFF, COL_NULLABLE, CAT_REFERENT, 0, 0, NULL, NULL },
	{ "referent_eti_id", COL_STAFF, COL_NULLABLE, CAT_IDENTITY, 0, 0, NULL, NULL },
	{ "status", COL_ENUM, 0, CAT_IDENTITY, 0, 0, pathway_statuses, "\"in_pathway\"" },
	{ "last_contact_at", COL_TEXT, COL_SERVER, CAT_NONE, 0, 0, NULL, NULL },
	{ "created_at", COL_TEXT, COL_SERVER, CAT_NONE, 0, 0, NULL, NULL },
	{ "updated_at", COL_TEXT, COL_SERVER, CAT_NONE, 0, 0, NULL, NULL },
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
employee_check(
    struct tremplin_request *r, json_t *o, const json_t *before, struct tremplin_error *e)
{
	const char *email = json_str(o, "email"), *phone = json_str(o, "phone");
	const char *ft = json_str(o, "france_travail_id"), *birth = json_str(o, "birth_date"), *why;
	json_t *cip = json_object_get(o, "referent_cip_id"),
	       *eti = json_object_get(o, "referent_eti_id");
	char today[11];

	(void)before;
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

struct resource res_employee = {
	.name = "employee",
	.plural = "employees",
	.table = "employees",
	.cols = employee_cols,
	.ncols = TR_NELEM(employee_cols),
	.child = 0,
	.check = employee_check,
};

/*
 * The list's query: the employee's columns as resource_load reads them (so a
 * column added to the resource is listed too), with the filters. Built once.
 */
static const char *
list_sql(void)
{
	static char *sql;
	const char *where;

	if (sql == NULL) {
		where = strstr(res_employee.sql_select, " WHERE ");
		if (where == NULL ||
		    asprintf(&sql,
		        "%.*s WHERE id > ?1"
		        " AND (?2 IS NULL OR structure_id = ?2) AND (?3 IS NULL OR team = ?3)"
		        " AND (?4 IS NULL OR referent_cip_id = ?4)"
		        " AND (?5 IS NULL OR referent_eti_id = ?5)"
		        " AND (?6 IS NULL OR status = ?6) ORDER BY id LIMIT ?7",
		        (int)(where - res_employee.sql_select), res_employee.sql_select) == -1)
			fatalx("employees: cannot build the list query");
	}
	return sql;
}

/*
 * GET /v1/employees: filters on identity fields only, which every role that
 * reads files may read: a filter cannot reveal what the caller may not see
 * (none on the prescriber, which the ETI does not read: 400 as any unknown).
 * The rows come from one query (one read lock, not one per row), and each
 * row's referents give the caller's access to it.
 */
void
employees_list(struct tremplin_request *r)
{
	static const char *const params[] = { "limit", "cursor", "structure_id", "team",
		"referent_cip_id", "referent_eti_id", "status", NULL };
	static const char *const idparams[] = { "structure_id", "referent_cip_id",
		"referent_eti_id" };
	const char *status = api_query(r, "status");
	int64_t after, last = 0, ids[3];
	int limit, rc, n = 0;

	if (!policy_personal_data(r->who.role)) {
		api_error(r, 403, "forbidden", NULL, "the %s role reads no personal data",
		    role_name(r->who.role));
		return;
	}
	if (api_query_only(r, params) == -1 || api_page(r, &limit, &after) == -1)
		return;
	for (size_t i = 0; i < 3; i++) {
		const char *v = api_query(r, idparams[i]);
		ids[i] = 0;
		if (v != NULL && tr_parse_i64(v, 1, INT64_MAX, &ids[i]) == -1) {
			api_error(
			    r, 400, "bad_request", idparams[i], "%s must be an id", idparams[i]);
			return;
		}
	}
	if (status != NULL && strcmp(status, "candidate") && strcmp(status, "in_pathway") &&
	    strcmp(status, "exited")) {
		api_error(r, 400, "bad_request", "status",
		    "status must be candidate, in_pathway or exited");
		return;
	}
	sqlite3_stmt *st = db_stmt(r->srv->db, list_sql());
	if (st == NULL) {
		api_internal(r, "prepare");
		return;
	}
	sqlite3_bind_int64(st, 1, after);
	for (int i = 0; i < 3; i++)
		if (ids[i])
			sqlite3_bind_int64(st, i == 0 ? 2 : i + 3, ids[i]);
	sqlite3_bind_text(st, 3, api_query(r, "team"), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, status, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 7, limit + 1);
	json_t *items = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (++n > limit)
			break;
		struct access a;
		unsigned cats = 0;
		json_t *row = resource_row(&res_employee, st);
		access_of_employee_row(r, row, &a);
		last = json_integer_value(json_object_get(row, "id"));
		json_t *v = resource_show(r, &res_employee, &a, row, &cats);
		json_decref(row);
		if (v != NULL)
			json_array_append_new(items, v);
		/* Nothing audited is shown today; a nested record that is would be recorded. */
		if (cats != 0 &&
		    audit_record(r->srv->audit, &r->who, "read", last, res_employee.table, cats)) {
			db_done(st);
			json_decref(items);
			audit_refuse(r, "read");
			return;
		}
	}
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		json_decref(items);
		api_internal(r, "list employees");
		return;
	}
	api_reply(r, 200, api_list(items, n > limit ? last : 0));
}
