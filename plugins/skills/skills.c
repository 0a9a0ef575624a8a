/*
 * skills: referentials of competences, evaluations in work situations, a
 * person's progression and the team matrix (issue 12).
 *
 *   referential, competence  records of nobody's (category skills): loaded
 *                            whole by an import (JSON), never edited: a new
 *                            version is a new referential, so evaluations
 *                            made against the old one stay readable;
 *   evaluation               a person's record (category evaluations),
 *                            append only: a correction names the entry it
 *                            corrects;
 *   progression, matrix      hand-written reads of the evaluations, audited;
 *   skills.acquired.v1,      views for site scripts and other plugins
 *   skills.stale.v1          (CONTRACTS.md).
 *
 * The plugin reads no kernel table: who is under contract when, and who is
 * their referent ETI, it keeps from the kernel's events (contract.*,
 * employee.*) through record_get, in skills_contracts and skills_people.
 *
 * Configuration: plugins = { skills = { referentials_dir = "/etc/tremplin/skills" } }
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tremplin/plugin.h>

#include "attestation.h"
#include "badges.h"
#include "migrations.h"
#include "rome.h"
#include "rules.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define REFERENTIAL_FILE_MAX (1024 * 1024)

struct skills {
	const struct tremplin_host *host;
	struct tremplin_plugin *self;
	char *dir; /* where load finds NAME.json */
	/* Open Badges: the structure's key, its issuer profile, the level a badge needs. */
	struct badge_key *key;
	char *issuer_url, *issuer_name;
	long long badge_level; /* 0: the referential's acquired_from */
};

/* ---- referentials: nobody's, category skills ---- */

static const char *const sources[] = { "rome", "rncp", "transversal", "own", NULL };
static const char *const kinds[] = { "savoir_faire", "savoir", "savoir_etre", NULL };

static const struct tremplin_column referential_columns[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "code",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "skills",
	    .max = 64 },
	{ .name = "title",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "skills",
	    .max = 200 },
	{ .name = "version",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "skills",
	    .min = 1,
	    .max = 1000 },
	{ .name = "source",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "skills",
	    .values = sources },
	{ .name = "levels",
	    .type = TREMPLIN_COL_NAMES,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "skills" },
	{ .name = "acquired_from",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "skills",
	    .min = 1,
	    .max = SKILLS_LEVELS_MAX },
	{ .name = "created_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_CREATED },
};

static const struct tremplin_filter referential_filters[] = {
	{ .name = "code", .column = "code", .op = TREMPLIN_FILTER_EQ },
	{ .name = "source", .column = "source", .op = TREMPLIN_FILTER_EQ },
};

static int
referential_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	struct skills *s = arg;
	json_t *levels = json_object_get(obj, "levels");
	const char *why;
	size_t i;
	json_t *l;

	(void)req, (void)before;
	why = skills_scale_error(
	    json_array_size(levels), json_integer_value(json_object_get(obj, "acquired_from")));
	if (why != NULL)
		return s->host->error(e, 422,
		    json_array_size(levels) < SKILLS_LEVELS_MIN ||
		            json_array_size(levels) > SKILLS_LEVELS_MAX
		        ? "levels"
		        : "acquired_from",
		    "%s", why);
	json_array_foreach (levels, i, l)
		if (json_string_length(l) == 0 || json_string_length(l) > 64)
			return s->host->error(
			    e, 422, "levels", "a level's name has 1 to 64 characters");
	return 0;
}

static const struct tremplin_record referential = {
	.size = sizeof(struct tremplin_record),
	.name = "referential",
	.plural = "referentials",
	.table = "skills_referentials",
	.columns = referential_columns,
	.ncolumns = sizeof(referential_columns) / sizeof(referential_columns[0]),
	.owner = TREMPLIN_OWNER_NONE,
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_LIST,
	.journal = TREMPLIN_JOURNAL_ROW,
	.filters = referential_filters,
	.nfilters = sizeof(referential_filters) / sizeof(referential_filters[0]),
	.check = referential_check,
};

static const struct tremplin_column competence_columns[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "referential_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "block_code",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "skills",
	    .max = 64 },
	{ .name = "block_title",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "skills",
	    .max = 200 },
	{ .name = "code",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "skills",
	    .max = 64 },
	{ .name = "external_code",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE | TREMPLIN_COL_FIXED,
	    .category = "skills",
	    .max = 64 },
	{ .name = "title",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "skills",
	    .max = 200 },
	{ .name = "kind",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "skills",
	    .values = kinds },
	/* ROME 4.0: the stake, objective and macro-competence between domain and competence. */
	{ .name = "hierarchy",
	    .type = TREMPLIN_COL_NAMES,
	    .flags = TREMPLIN_COL_NULLABLE | TREMPLIN_COL_FIXED,
	    .category = "skills" },
};

static const struct tremplin_filter competence_filters[] = {
	{ .name = "kind", .column = "kind", .op = TREMPLIN_FILTER_EQ },
	{ .name = "block_code", .column = "block_code", .op = TREMPLIN_FILTER_EQ },
};

static const struct tremplin_record competence = {
	.size = sizeof(struct tremplin_record),
	.name = "competence",
	.plural = "competences",
	.table = "skills_competences",
	.columns = competence_columns,
	.ncolumns = sizeof(competence_columns) / sizeof(competence_columns[0]),
	.owner = TREMPLIN_OWNER_RECORD,
	.parent = "referential",
	.parent_col = "referential_id",
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_LIST,
	.journal = TREMPLIN_JOURNAL_ROW,
	.filters = competence_filters,
	.nfilters = sizeof(competence_filters) / sizeof(competence_filters[0]),
};

/* ---- evaluations: a person's, category evaluations, append only ---- */

static const char *const evaluation_kinds[] = { "evaluation", "self_evaluation", NULL };

static const struct tremplin_column evaluation_columns[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "employee_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "competence_id",
	    .type = TREMPLIN_COL_REF,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "evaluations",
	    .ref = "competence" },
	{ .name = "level",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "evaluations",
	    .min = 1,
	    .max = SKILLS_LEVELS_MAX },
	{ .name = "evaluated_on",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "evaluations" },
	{ .name = "evaluator_id",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "evaluations" },
	{ .name = "kind",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_FIXED,
	    .category = "evaluations",
	    .values = evaluation_kinds,
	    .def = "\"evaluation\"" },
	{ .name = "situation",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE | TREMPLIN_COL_FIXED,
	    .category = "evaluations",
	    .max = 500 },
	{ .name = "work_order_id",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_NULLABLE | TREMPLIN_COL_FIXED,
	    .category = "evaluations",
	    .min = 1,
	    .max = 9e15 },
	{ .name = "evidence",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE | TREMPLIN_COL_FIXED,
	    .category = "evaluations",
	    .max = 2000 },
	{ .name = "comment",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE | TREMPLIN_COL_FIXED,
	    .category = "evaluations",
	    .max = 2000 },
	/* An evaluation of the same person and competence (the check hook: no ref to itself). */
	{ .name = "corrects_id",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_NULLABLE | TREMPLIN_COL_FIXED,
	    .category = "evaluations",
	    .min = 1,
	    .max = 9e15 },
	{ .name = "created_by",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_AUTHOR | TREMPLIN_COL_NULLABLE,
	    .category = "evaluations" },
	{ .name = "created_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_CREATED },
};

static const struct tremplin_filter evaluation_filters[] = {
	{ .name = "competence_id", .column = "competence_id", .op = TREMPLIN_FILTER_EQ },
	{ .name = "from", .column = "evaluated_on", .op = TREMPLIN_FILTER_FROM },
	{ .name = "to", .column = "evaluated_on", .op = TREMPLIN_FILTER_TO },
	{ .name = "kind", .column = "kind", .op = TREMPLIN_FILTER_EQ },
};

static void
today(struct skills *s, char *buf, size_t size)
{
	time_t t = (time_t)(s->host->now_ms(s->self) / 1000);
	struct tm tm;

	/* The workshop's day is Europe/Paris's; the daemon runs in its zone. */
	localtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d", &tm);
}

/* The size of the scale and the kind of a competence; 0 when it is absent. */
static size_t
competence_scale(struct skills *s, int64_t competence_id, char *kind, size_t kindlen)
{
	static const char sql[] = "SELECT json_array_length(r.levels), c.kind"
	                          " FROM skills_competences c"
	                          " JOIN skills_referentials r ON r.id = c.referential_id"
	                          " WHERE c.id = ?1";
	sqlite3_stmt *st = s->host->stmt(s->self, sql);
	size_t n = 0;

	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, competence_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = (size_t)sqlite3_column_int64(st, 0);
		snprintf(kind, kindlen, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	s->host->stmt_done(st);
	return n;
}

/*
 * The start of the person's first contract as the kernel has it now: for
 * files and contracts made while the plugin was not loaded, which its
 * copy (fed by the kernel's events) never saw. Every contract: the whole
 * range of the calendar's years (calendar.h).
 */
static int
first_contract_of_kernel(struct skills *s, int64_t employee_id, char *buf, size_t size)
{
	json_t *params = json_pack("{s:s, s:s, s:I}", "from", "1900-01-01", "to", "2199-12-31",
	    "employee_id", (json_int_t)employee_id);
	json_t *rows = NULL, *row;
	const char *first = NULL;
	char err[256];
	size_t i;

	if (params == NULL)
		return 0;
	if (s->host->view(s->self, NULL, "contracts_between.v1", params, &rows, err, sizeof(err)) !=
	    0)
		s->host->log(s->self, TREMPLIN_LOG_WARNING, "the kernel's contracts: %s", err);
	else
		json_array_foreach (rows, i, row) {
			const char *d = json_string_value(json_object_get(row, "start_date"));
			if (d != NULL && (first == NULL || strcmp(d, first) < 0))
				first = d;
		}
	if (first != NULL)
		snprintf(buf, size, "%s", first);
	json_decref(rows);
	json_decref(params);
	return first != NULL;
}

/* The start of the person's first contract, as the kernel's events told it. */
static int
first_contract(struct skills *s, int64_t employee_id, char *buf, size_t size)
{
	static const char sql[] =
	    "SELECT min(start_date) FROM skills_contracts WHERE employee_id = ?1";
	sqlite3_stmt *st = s->host->stmt(s->self, sql);
	int found = 0;

	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, employee_id);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
		found = 1;
	}
	s->host->stmt_done(st);
	return found || first_contract_of_kernel(s, employee_id, buf, size);
}

/* The role of an active staff account ("eti"...), from the staff view. */
static int
staff_role(struct skills *s, struct tremplin_request *req, int64_t id, char *role, size_t size)
{
	json_t *rows = NULL, *row;
	char err[256];
	size_t i;
	int found = 0;

	if (s->host->view(s->self, req, "staff.v1", NULL, &rows, err, sizeof(err)) != 0)
		return 0;
	json_array_foreach (rows, i, row)
		if (json_integer_value(json_object_get(row, "id")) == id) {
			snprintf(role, size, "%s", json_string_value(json_object_get(row, "role")));
			found = 1;
			break;
		}
	json_decref(rows);
	return found;
}

static int
evaluation_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	struct skills *s = arg;
	int64_t employee = json_integer_value(json_object_get(obj, "employee_id"));
	int64_t comp = json_integer_value(json_object_get(obj, "competence_id"));
	json_t *wo = json_object_get(obj, "work_order_id");
	json_t *corrects = json_object_get(obj, "corrects_id");
	char kind[32] = "", day[11], first[11], role[32] = "";
	const char *why;
	size_t n;

	(void)before;
	if ((n = competence_scale(s, comp, kind, sizeof(kind))) == 0)
		return s->host->error(e, 422, "competence_id", "no such competence");
	if ((why = skills_level_error(json_integer_value(json_object_get(obj, "level")), n)))
		return s->host->error(e, 422, "level", "%s (1 to %zu)", why, n);
	today(s, day, sizeof(day));
	why = skills_date_error(json_string_value(json_object_get(obj, "evaluated_on")), day,
	    first_contract(s, employee, first, sizeof(first)) ? first : NULL);
	if (why != NULL)
		return s->host->error(e, 422, "evaluated_on", "%s", why);
	/* An ETI evaluates; a CIP may evaluate savoir-être professionnel. */
	if (!staff_role(s, req, json_integer_value(json_object_get(obj, "evaluator_id")), role,
	        sizeof(role)) ||
	    !(strcmp(role, "eti") == 0 ||
	        (strcmp(role, "cip") == 0 && strcmp(kind, "savoir_etre") == 0)))
		return s->host->error(
		    e, 422, "evaluator_id", "the evaluator is an ETI, or a CIP for savoir-être");
	if (json_is_integer(corrects)) {
		static const char sql[] =
		    "SELECT employee_id, competence_id FROM skills_evaluations"
		    " WHERE id = ?1";
		sqlite3_stmt *st = s->host->stmt(s->self, sql);
		int same = 0;
		if (st == NULL)
			return s->host->error(e, 500, NULL, "cannot read the evaluations");
		sqlite3_bind_int64(st, 1, json_integer_value(corrects));
		if (sqlite3_step(st) == SQLITE_ROW)
			same = sqlite3_column_int64(st, 0) == employee &&
			    sqlite3_column_int64(st, 1) == comp;
		s->host->stmt_done(st);
		if (!same)
			return s->host->error(e, 422, "corrects_id",
			    "a correction names an evaluation of the same person and competence");
	}
	if (json_is_integer(wo)) {
		json_t *rows = NULL, *params = json_pack("{s:I}", "id", json_integer_value(wo));
		char err[256];
		int rc = s->host->view(
		    s->self, req, "production.work_orders.v1", params, &rows, err, sizeof(err));
		size_t found = rc == 0 ? json_array_size(rows) : 0;
		json_decref(params);
		json_decref(rows);
		if (rc != 0)
			return s->host->error(e, 422, "work_order_id",
			    "work orders are not known here (the production plugin is not loaded)");
		if (found == 0)
			return s->host->error(e, 422, "work_order_id", "no such work order");
	}
	return 0;
}

static const struct tremplin_record evaluation = {
	.size = sizeof(struct tremplin_record),
	.name = "evaluation",
	.plural = "evaluations",
	.table = "skills_evaluations",
	.columns = evaluation_columns,
	.ncolumns = sizeof(evaluation_columns) / sizeof(evaluation_columns[0]),
	.owner = TREMPLIN_OWNER_PERSON,
	/* Append only: no PATCH, no DELETE; a correction is a new entry. */
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_LIST | TREMPLIN_OP_CREATE,
	.filters = evaluation_filters,
	.nfilters = sizeof(evaluation_filters) / sizeof(evaluation_filters[0]),
	.check = evaluation_check,
};

/* ---- attestations: a person's, category attestations (the ETI or the coordinator issues) ---- */

static const struct tremplin_column attestation_columns[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "employee_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "period_from",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "attestations" },
	{ .name = "period_to",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "attestations" },
	/* The person agreed that their savoir-être appear, on that day. */
	{ .name = "savoir_etre_consent",
	    .type = TREMPLIN_COL_BOOL,
	    .flags = TREMPLIN_COL_FIXED,
	    .category = "attestations",
	    .def = "false" },
	{ .name = "consent_on",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_NULLABLE | TREMPLIN_COL_FIXED,
	    .category = "attestations" },
	{ .name = "eti_id",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "attestations" },
	{ .name = "coordinator_id",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_NULLABLE | TREMPLIN_COL_FIXED,
	    .category = "attestations" },
	{ .name = "issued_by",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_AUTHOR | TREMPLIN_COL_NULLABLE,
	    .category = "attestations" },
	{ .name = "created_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_CREATED },
};

static int
attestation_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	struct skills *s = arg;
	const char *from = json_string_value(json_object_get(obj, "period_from"));
	const char *to = json_string_value(json_object_get(obj, "period_to"));
	json_t *consent_on = json_object_get(obj, "consent_on");
	json_t *coord = json_object_get(obj, "coordinator_id");
	char day[11], role[32] = "";

	(void)before;
	today(s, day, sizeof(day));
	if (strcmp(from, to) > 0)
		return s->host->error(e, 422, "period_to", "period_to is before period_from");
	if (strcmp(to, day) > 0)
		return s->host->error(e, 422, "period_to", "period_to is in the future");
	if (json_is_true(json_object_get(obj, "savoir_etre_consent")) &&
	    !json_is_string(consent_on))
		return s->host->error(e, 422, "consent_on",
		    "savoir-être appear only with the person's consent: the day it was given");
	if (json_is_string(consent_on) && strcmp(json_string_value(consent_on), day) > 0)
		return s->host->error(e, 422, "consent_on", "consent_on is in the future");
	if (!staff_role(
	        s, req, json_integer_value(json_object_get(obj, "eti_id")), role, sizeof(role)) ||
	    strcmp(role, "eti") != 0)
		return s->host->error(e, 422, "eti_id", "eti_id must be an ETI's account");
	if (json_is_integer(coord) &&
	    (!staff_role(s, req, json_integer_value(coord), role, sizeof(role)) ||
	        strcmp(role, "coordinator") != 0))
		return s->host->error(
		    e, 422, "coordinator_id", "coordinator_id must be a coordinator's account");
	return 0;
}

static const struct tremplin_record attestation = {
	.size = sizeof(struct tremplin_record),
	.name = "attestation",
	.plural = "attestations",
	.table = "skills_attestations",
	.columns = attestation_columns,
	.ncolumns = sizeof(attestation_columns) / sizeof(attestation_columns[0]),
	.owner = TREMPLIN_OWNER_PERSON,
	/* An attestation handed over is never changed: another one is issued. */
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_LIST | TREMPLIN_OP_CREATE,
	.check = attestation_check,
};

/* ---- Open Badges 3.0: a person's badges, category attestations ---- */

static const struct tremplin_column badge_columns[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "employee_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "competence_id",
	    .type = TREMPLIN_COL_REF,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "attestations",
	    .ref = "competence" },
	{ .name = "level",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_SERVER,
	    .category = "attestations" },
	{ .name = "credential_id",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_SERVER,
	    .category = "attestations" },
	/* The OpenBadgeCredential as a VC-JWT, as handed to the person. */
	{ .name = "credential",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_SERVER,
	    .category = "attestations",
	    .max = 20000 },
	{ .name = "revoked_on",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "attestations" },
	{ .name = "revocation_reason",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "attestations",
	    .max = 500 },
	{ .name = "issued_by",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_AUTHOR | TREMPLIN_COL_NULLABLE,
	    .category = "attestations" },
	{ .name = "created_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_CREATED },
};

/* The person's current level of a competence (0: none) and the level a badge needs. */
static long long
current_level(struct skills *s, int64_t employee, int64_t comp, long long *needed)
{
	static const char sql[] =
	    "SELECT (SELECT e.level FROM skills_evaluations e WHERE e.employee_id = ?1"
	    "  AND e.competence_id = ?2 AND e.kind = 'evaluation'"
	    "  AND NOT EXISTS (SELECT 1 FROM skills_evaluations x WHERE x.corrects_id = e.id)"
	    "  ORDER BY e.evaluated_on DESC, e.id DESC LIMIT 1), r.acquired_from"
	    " FROM skills_competences c JOIN skills_referentials r ON r.id = c.referential_id"
	    " WHERE c.id = ?2";
	sqlite3_stmt *st = s->host->stmt(s->self, sql);
	long long level = 0;

	*needed = 0;
	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, employee);
	sqlite3_bind_int64(st, 2, comp);
	if (sqlite3_step(st) == SQLITE_ROW) {
		level = sqlite3_column_int64(st, 0);
		*needed = s->badge_level > 0 ? s->badge_level : sqlite3_column_int64(st, 1);
	}
	s->host->stmt_done(st);
	return level;
}

static int
badge_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	struct skills *s = arg;
	json_t *revoked = json_object_get(obj, "revoked_on");
	char day[11];
	long long needed, level;

	(void)req;
	today(s, day, sizeof(day));
	if (before == NULL) {
		if (s->key == NULL)
			return s->host->error(e, 422, "competence_id",
			    "Open Badges are not configured (badge_key_file, badge_issuer_url)");
		if (json_is_string(revoked))
			return s->host->error(e, 422, "revoked_on", "a new badge is not revoked");
		level = current_level(s, json_integer_value(json_object_get(obj, "employee_id")),
		    json_integer_value(json_object_get(obj, "competence_id")), &needed);
		if (level < needed || level == 0)
			return s->host->error(e, 422, "competence_id",
			    "the competence is not acquired at level %lld or above", needed);
		json_object_set_new(obj, "level", json_integer(level));
		return 0;
	}
	/* A revocation is recorded once and stays. */
	if (json_is_string(json_object_get(before, "revoked_on")))
		return s->host->error(e, 422, "revoked_on", "the badge is already revoked");
	if (!json_is_string(revoked))
		return s->host->error(e, 422, "revoked_on", "revoked_on is required to revoke");
	if (strcmp(json_string_value(revoked), day) > 0)
		return s->host->error(e, 422, "revoked_on", "revoked_on is in the future");
	return 0;
}

/* The OpenBadgeCredential for a badge just created, signed, stored in its row. */
static int
badge_issue(struct tremplin_request *req, json_t *obj, int64_t id, void *arg)
{
	static const char comp_sql[] =
	    "SELECT c.code, c.external_code, c.title, c.kind, r.code, r.title, r.version,"
	    " r.source, json_extract(r.levels, '$[' || (?2 - 1) || ']'), c.block_code"
	    " FROM skills_competences c JOIN skills_referentials r ON r.id = c.referential_id"
	    " WHERE c.id = ?1";
	static const char store_sql[] =
	    "UPDATE skills_badges SET credential_id = ?1, credential = ?2 WHERE id = ?3";
	struct skills *s = arg;
	int64_t employee = json_integer_value(json_object_get(obj, "employee_id"));
	long long level = json_integer_value(json_object_get(obj, "level"));
	struct tremplin_error e = { 0 };
	char uuid[64], salt[32], hash[80], valid[32], url[1200], aid[1200], name[256];
	json_t *emp, *cred = NULL, *align;
	sqlite3_stmt *st;
	char *jwt = NULL;
	int rc = -1;
	time_t t = (time_t)(s->host->now_ms(s->self) / 1000);
	struct tm tm;

	if (json_is_string(json_object_get(obj, "credential")))
		return 0; /* an update (a revocation): the credential stays as issued */
	if (s->key == NULL || badge_uuid(uuid, sizeof(uuid)) != 0)
		return -1;
	if ((emp = s->host->record_get(s->self, req, "employee", employee, &e)) == NULL)
		return -1;
	snprintf(name, sizeof(name), "%s %s", json_string_value(json_object_get(emp, "first_name")),
	    json_string_value(json_object_get(emp, "last_name")));
	json_decref(emp);
	if (badge_identity_hash(name, salt, sizeof(salt), hash, sizeof(hash)) != 0)
		return -1;
	gmtime_r(&t, &tm);
	strftime(valid, sizeof(valid), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((st = s->host->stmt(s->self, comp_sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(obj, "competence_id")));
	sqlite3_bind_int64(st, 2, level);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *code = (const char *)sqlite3_column_text(st, 0);
		const char *ext = (const char *)sqlite3_column_text(st, 1);
		const char *title = (const char *)sqlite3_column_text(st, 2);
		const char *rcode = (const char *)sqlite3_column_text(st, 4);
		const char *rtitle = (const char *)sqlite3_column_text(st, 5);
		const char *source = (const char *)sqlite3_column_text(st, 7);
		const char *lname = (const char *)sqlite3_column_text(st, 8);
		const char *bcode = (const char *)sqlite3_column_text(st, 9);
		char narrative[600];
		snprintf(aid, sizeof(aid), "%s/achievements/%s/v%lld/%s", s->issuer_url, rcode,
		    (long long)sqlite3_column_int64(st, 6), code);
		/* The RNCP's public page for a titre's block; the structure's own page otherwise. */
		if (strcmp(source, "rncp") == 0 && strncmp(bcode, "RNCP", 4) == 0)
			snprintf(url, sizeof(url),
			    "https://www.francecompetences.fr/recherche/rncp/%.*s/",
			    (int)strcspn(bcode + 4, "BC"), bcode + 4);
		else
			snprintf(url, sizeof(url), "%s/referentials/%s", s->issuer_url, rcode);
		snprintf(narrative, sizeof(narrative),
		    "Compétence évaluée en situation de travail par l'encadrant technique "
		    "d'insertion, au niveau « %s » de l'échelle du référentiel %s.",
		    lname ? lname : "", rtitle);
		align = json_pack("[{s:[s], s:s, s:s, s:s, s:s}]", "type", "Alignment",
		    "targetName", title, "targetUrl", url, "targetCode", ext ? ext : code,
		    "targetFramework", rtitle);
		cred = json_pack("{s:[s,s], s:s, s:[s,s], s:{s:s, s:[s], s:s, s:s}, s:s, s:s,"
		                 " s:{s:[s], s:[{s:s, s:s, s:s, s:b, s:s}], s:{s:s, s:[s], s:s,"
		                 " s:s, s:{s:s}, s:o}}, s:{s:s, s:s}}",
		    "@context", "https://www.w3.org/ns/credentials/v2",
		    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json", "id", uuid,
		    "type", "VerifiableCredential", "OpenBadgeCredential", "issuer", "id",
		    s->issuer_url, "type", "Profile", "name", s->issuer_name, "url", s->issuer_url,
		    "name", title, "validFrom", valid, "credentialSubject", "type",
		    "AchievementSubject", "identifier", "type", "IdentityObject", "identityHash",
		    hash, "identityType", "name", "hashed", 1, "salt", salt, "achievement", "id",
		    aid, "type", "Achievement", "name", title, "description", title, "criteria",
		    "narrative", narrative, "alignment", align, "credentialStatus", "id", "",
		    "type", "1EdTechRevocationList");
	}
	s->host->stmt_done(st);
	if (cred == NULL)
		return -1;
	snprintf(url, sizeof(url), "%s/revocations", s->issuer_url);
	json_object_set_new(json_object_get(cred, "credentialStatus"), "id", json_string(url));
	/* VC-JWT (OB 3.0, 8.2): the credential as the payload, with its registered claims. */
	json_object_set_new(cred, "iss", json_string(s->issuer_url));
	json_object_set_new(cred, "jti", json_string(uuid));
	json_object_set_new(cred, "nbf", json_integer((json_int_t)t));
	json_object_set_new(cred, "sub", json_string(hash));
	jwt = badge_sign(s->key, cred);
	json_decref(cred);
	if (jwt == NULL || (st = s->host->stmt(s->self, store_sql)) == NULL) {
		free(jwt);
		return -1;
	}
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, jwt, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, id);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	s->host->stmt_done(st);
	free(jwt);
	return rc;
}

static const struct tremplin_record badge = {
	.size = sizeof(struct tremplin_record),
	.name = "badge",
	.plural = "badges",
	.table = "skills_badges",
	.columns = badge_columns,
	.ncolumns = sizeof(badge_columns) / sizeof(badge_columns[0]),
	.owner = TREMPLIN_OWNER_PERSON,
	/* PATCH records the revocation, and nothing else: the rest is fixed or the server's. */
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_LIST | TREMPLIN_OP_CREATE | TREMPLIN_OP_UPDATE,
	.check = badge_check,
	.after_write = badge_issue,
};

/* ---- learning sessions: nobody's (category learning), the dossier's eight parts ---- */

static const char *const session_statuses[] = { "draft", "ready", "planned", "held", "evaluated",
	NULL };
static const char *const methods[] = { "explanation", "demonstration", "guided_practice",
	"autonomous_practice", "discussion", "evaluation", NULL };

#define LONG_TEXT(n, req)                                                                          \
	{                                                                                          \
		.name = n, .type = TREMPLIN_COL_TEXT,                                              \
		.flags = (req) ? TREMPLIN_COL_REQUIRED : TREMPLIN_COL_NULLABLE,                    \
		.category = "learning", .max = 4000                                                \
	}

static const struct tremplin_column session_columns[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	/* 1 the task, and the work situation it is taken from */
	{ .name = "title",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "learning",
	    .max = 200 },
	LONG_TEXT("work_situation", 0),
	/* 2 the knowledge, know-how and behaviours: the linked competences (session_competence) */
	LONG_TEXT("objectives", 0), /* 3 */
	LONG_TEXT("criteria", 0), /* 4 */
	/* 5 the teaching scenario: its steps (session_step) */
	LONG_TEXT("difficulties", 0), /* 6 and their remedies */
	LONG_TEXT("resources", 0), /* 7 material and teaching resources */
	LONG_TEXT("evaluation_methods", 0), /* 8 how and with what learning is evaluated */
	{ .name = "status",
	    .type = TREMPLIN_COL_ENUM,
	    .category = "learning",
	    .values = session_statuses,
	    .def = "\"draft\"" },
	{ .name = "planned_on",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "learning" },
	{ .name = "place",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "learning",
	    .max = 200 },
	{ .name = "eti_id",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "learning" },
	LONG_TEXT("what_happened", 0),
	{ .name = "copied_from",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_SERVER,
	    .category = "learning" },
	{ .name = "created_by",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_AUTHOR | TREMPLIN_COL_NULLABLE,
	    .category = "learning" },
	{ .name = "created_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_CREATED },
	{ .name = "updated_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_STAMP },
};

static long long
count_children(struct skills *s, const char *sql, int64_t id)
{
	sqlite3_stmt *st = s->host->stmt(s->self, sql);
	long long n = 0;

	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	s->host->stmt_done(st);
	return n;
}

static long long
count_children2(struct skills *s, const char *sql, int64_t a, int64_t b)
{
	sqlite3_stmt *st = s->host->stmt(s->self, sql);
	long long n = 0;

	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	s->host->stmt_done(st);
	return n;
}

static int
session_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	static const char *const parts[] = { "work_situation", "objectives", "criteria",
		"difficulties", "resources", "evaluation_methods" };
	struct skills *s = arg;
	const char *status = json_string_value(json_object_get(obj, "status"));
	int64_t id = json_integer_value(json_object_get(obj, "id"));
	char role[32] = "";

	(void)req;
	if (strcmp(status, "draft") == 0)
		return 0;
	/* Past a draft, the dossier is whole: each of its eight parts. */
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		const json_t *v = json_object_get(obj, parts[i]);
		if (!json_is_string(v) || json_string_length(v) == 0)
			return s->host->error(e, 422, parts[i],
			    "%s is missing: a session is ready with its eight parts", parts[i]);
	}
	if (before == NULL ||
	    count_children(s,
	        "SELECT count(*) FROM skills_session_competences WHERE session_id = ?1", id) == 0)
		return s->host->error(e, 422, "competences",
		    "part 2 is missing: link the competences the task needs");
	if (count_children(
	        s, "SELECT count(*) FROM skills_session_steps WHERE session_id = ?1", id) == 0)
		return s->host->error(
		    e, 422, "steps", "part 5 is missing: the teaching scenario has no step");
	if (strcmp(status, "ready") == 0)
		return 0;
	if (!json_is_string(json_object_get(obj, "planned_on")))
		return s->host->error(e, 422, "planned_on", "a planned session has a date");
	if (!json_is_string(json_object_get(obj, "place")))
		return s->host->error(e, 422, "place", "a planned session has a place");
	if (!staff_role(
	        s, req, json_integer_value(json_object_get(obj, "eti_id")), role, sizeof(role)) ||
	    strcmp(role, "eti") != 0)
		return s->host->error(e, 422, "eti_id", "a planned session has its ETI");
	if (strcmp(status, "planned") != 0 &&
	    !json_is_string(json_object_get(obj, "what_happened")))
		return s->host->error(e, 422, "what_happened", "a session held says what happened");
	return 0;
}

static const struct tremplin_record session = {
	.size = sizeof(struct tremplin_record),
	.name = "session",
	.plural = "sessions",
	.table = "skills_sessions",
	.columns = session_columns,
	.ncolumns = sizeof(session_columns) / sizeof(session_columns[0]),
	.owner = TREMPLIN_OWNER_NONE,
	.check = session_check,
};

static const struct tremplin_column step_columns[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "session_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "position",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "learning",
	    .min = 1,
	    .max = 100 },
	LONG_TEXT("contents", 1),
	{ .name = "method",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "learning",
	    .values = methods },
	{ .name = "duration_min",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "learning",
	    .min = 1,
	    .max = 480 },
};

static const struct tremplin_record session_step = {
	.size = sizeof(struct tremplin_record),
	.name = "session_step",
	.plural = "steps",
	.table = "skills_session_steps",
	.columns = step_columns,
	.ncolumns = sizeof(step_columns) / sizeof(step_columns[0]),
	.owner = TREMPLIN_OWNER_RECORD,
	.parent = "session",
	.parent_col = "session_id",
	.nested_as = "steps",
	.ops = TREMPLIN_OPS_DEFAULT | TREMPLIN_OP_DELETE,
};

static const struct tremplin_column link_columns[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "session_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "competence_id",
	    .type = TREMPLIN_COL_REF,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "learning",
	    .ref = "competence" },
};

static const struct tremplin_record session_competence = {
	.size = sizeof(struct tremplin_record),
	.name = "session_competence",
	.plural = "session_competences",
	.collection = "competences",
	.table = "skills_session_competences",
	.columns = link_columns,
	.ncolumns = sizeof(link_columns) / sizeof(link_columns[0]),
	.owner = TREMPLIN_OWNER_RECORD,
	.parent = "session",
	.parent_col = "session_id",
	.nested_as = "competences",
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_LIST | TREMPLIN_OP_CREATE | TREMPLIN_OP_DELETE,
};

/* Who takes part: a person's record (category learning), attendance once held. */
static const struct tremplin_column participation_columns[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "employee_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "session_id",
	    .type = TREMPLIN_COL_REF,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "learning",
	    .ref = "session" },
	{ .name = "attended",
	    .type = TREMPLIN_COL_BOOL,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "learning" },
	{ .name = "note",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "learning",
	    .max = 1000 },
	{ .name = "created_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_CREATED },
};

static const struct tremplin_filter participation_filters[] = {
	{ .name = "session_id", .column = "session_id", .op = TREMPLIN_FILTER_EQ },
};

static const struct tremplin_record participation = {
	.size = sizeof(struct tremplin_record),
	.name = "participation",
	.plural = "participations",
	.table = "skills_participations",
	.columns = participation_columns,
	.ncolumns = sizeof(participation_columns) / sizeof(participation_columns[0]),
	.owner = TREMPLIN_OWNER_PERSON,
	.filters = participation_filters,
	.nfilters = 1,
};

/* ---- views ---- */

/*
 * The current evaluation of each competence: the latest by date (then by
 * entry) of the evaluations no later entry corrects; self-evaluations
 * are the person's view and not a level reached.
 */
#define CURRENT_SQL                                                                                \
	"WITH cur AS (SELECT e.*, row_number() OVER (PARTITION BY e.competence_id"                 \
	" ORDER BY e.evaluated_on DESC, e.id DESC) AS rn FROM skills_evaluations e"                \
	" WHERE e.employee_id = :employee_id AND e.kind = 'evaluation'"                            \
	" AND NOT EXISTS (SELECT 1 FROM skills_evaluations x WHERE x.corrects_id = e.id))"

static const struct tremplin_view_param acquired_params[] = {
	{ .name = "employee_id",
	    .type = TREMPLIN_VIEW_INT,
	    .required = 1,
	    .min = 1,
	    .max = 9000000000000000000LL },
};
static const char *const evaluations_categories[] = { "evaluations", NULL };
static const char *const acquired_booleans[] = { "acquired", NULL };
static const struct tremplin_view acquired_view = {
	.size = sizeof(struct tremplin_view),
	.name = "skills.acquired.v1",
	.description = "a person's current level per competence: code, competence_id, level,"
	               " acquired, evaluated_on",
	.sql = CURRENT_SQL " SELECT coalesce(c.external_code, c.code) AS code,"
	                   " c.id AS competence_id, cur.level, cur.level >= r.acquired_from AS"
	                   " acquired, cur.evaluated_on, cur.employee_id"
	                   " FROM cur JOIN skills_competences c ON c.id = cur.competence_id"
	                   " JOIN skills_referentials r ON r.id = c.referential_id"
	                   " WHERE cur.rn = 1 ORDER BY c.id",
	.params = acquired_params,
	.nparams = 1,
	.roles = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR,
	.categories = evaluations_categories,
	.booleans = acquired_booleans,
};

/* The referentials' competence codes, for another plugin to check a code against. */
static const struct tremplin_view competences_view = {
	.size = sizeof(struct tremplin_view),
	.name = "skills.competences.v1",
	/* The code as skills.acquired.v1 gives it (external, else own): one code per competence. */
	.description =
	    "the competences of the referentials: code (external, else own), competence_id",
	.sql = "SELECT coalesce(external_code, code) AS code, id AS competence_id"
	       " FROM skills_competences ORDER BY id",
	.roles = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR,
};

static const struct tremplin_view_param stale_params[] = {
	{ .name = "date", .type = TREMPLIN_VIEW_DATE, .required = 1 },
	{ .name = "weeks", .type = TREMPLIN_VIEW_INT, .required = 1, .min = 1, .max = 104 },
};
/*
 * People under a contract on :date whose last evaluation (or, never
 * evaluated, the start of that contract) is more than :weeks weeks old.
 */
static const struct tremplin_view stale_view = {
	.size = sizeof(struct tremplin_view),
	.name = "skills.stale.v1",
	.description = "people under contract with no evaluation for :weeks weeks before :date:"
	               " employee_id, last_evaluated_on, referent_eti_id",
	.sql = "SELECT employee_id, last_evaluated_on, referent_eti_id FROM ("
	       " SELECT c.employee_id, max(c.start_date) AS since,"
	       "  (SELECT max(e.evaluated_on) FROM skills_evaluations e"
	       "   WHERE e.employee_id = c.employee_id AND e.evaluated_on <= :date)"
	       "   AS last_evaluated_on,"
	       "  (SELECT p.referent_eti_id FROM skills_people p"
	       "   WHERE p.employee_id = c.employee_id) AS referent_eti_id"
	       " FROM skills_contracts c"
	       " WHERE c.start_date <= :date AND coalesce(c.ended_on, c.end_date) >= :date"
	       " GROUP BY c.employee_id)"
	       " WHERE coalesce(last_evaluated_on, since) < date(:date, printf('-%d days', :weeks "
	       "* 7))"
	       " ORDER BY employee_id",
	.params = stale_params,
	.nparams = 2,
	.roles = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR,
	.categories = evaluations_categories,
};

/* ---- the kernel's contracts and files, kept from their events ---- */

static int
exec_bind2(struct skills *s, const char *sql, int64_t a, int64_t b, int nb)
{
	sqlite3_stmt *st = s->host->stmt(s->self, sql);
	int rc;

	if (st == NULL)
		return -1;
	if (nb > 0)
		sqlite3_bind_int64(st, 1, a);
	if (nb > 1)
		sqlite3_bind_int64(st, 2, b);
	rc = sqlite3_step(st);
	s->host->stmt_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
on_contract(const struct tremplin_event *ev, void *arg)
{
	static const char upsert[] =
	    "INSERT INTO skills_contracts (contract_id, employee_id, start_date, end_date, "
	    "ended_on)"
	    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (contract_id) DO UPDATE SET"
	    " employee_id = ?2, start_date = ?3, end_date = ?4, ended_on = ?5";
	struct skills *s = arg;
	int64_t id = json_integer_value(json_object_get(ev->payload, "id"));
	struct tremplin_error err = { 0 };
	json_t *c;
	sqlite3_stmt *st;
	int rc;

	if (id <= 0 || strncmp(ev->type, "contract.", 9) != 0)
		return TREMPLIN_EVENT_DONE;
	if ((c = s->host->record_get(s->self, NULL, "contract", id, &err)) == NULL) {
		if (err.status == 404)
			return exec_bind2(s, "DELETE FROM skills_contracts WHERE contract_id = ?1",
			           id, 0, 1) == 0
			    ? TREMPLIN_EVENT_DONE
			    : TREMPLIN_EVENT_FAILED;
		return TREMPLIN_EVENT_FAILED;
	}
	if ((st = s->host->stmt(s->self, upsert)) == NULL) {
		json_decref(c);
		return TREMPLIN_EVENT_FAILED;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, json_integer_value(json_object_get(c, "employee_id")));
	sqlite3_bind_text(
	    st, 3, json_string_value(json_object_get(c, "start_date")), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(
	    st, 4, json_string_value(json_object_get(c, "end_date")), -1, SQLITE_TRANSIENT);
	if (json_is_string(json_object_get(c, "ended_on")))
		sqlite3_bind_text(
		    st, 5, json_string_value(json_object_get(c, "ended_on")), -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	s->host->stmt_done(st);
	json_decref(c);
	return rc == SQLITE_DONE ? TREMPLIN_EVENT_DONE : TREMPLIN_EVENT_FAILED;
}

static int
forget_person(struct skills *s, int64_t id)
{
	return exec_bind2(s, "DELETE FROM skills_people WHERE employee_id = ?1", id, 0, 1) == 0 &&
	        exec_bind2(s, "DELETE FROM skills_contracts WHERE employee_id = ?1", id, 0, 1) == 0
	    ? TREMPLIN_EVENT_DONE
	    : TREMPLIN_EVENT_FAILED;
}

static int
on_employee(const struct tremplin_event *ev, void *arg)
{
	struct skills *s = arg;
	int64_t id = json_integer_value(json_object_get(ev->payload, "id"));
	struct tremplin_error err = { 0 };
	json_t *emp, *eti;
	int rc;

	if (id <= 0)
		return TREMPLIN_EVENT_DONE;
	/* Erased or purged: what the plugin kept of the file goes with it. */
	if (strcmp(ev->type, "employee.erased") == 0 || strcmp(ev->type, "employee.purged") == 0)
		return forget_person(s, id);
	if (strcmp(ev->type, "employee.created") != 0 && strcmp(ev->type, "employee.updated") != 0)
		return TREMPLIN_EVENT_DONE;
	if ((emp = s->host->record_get(s->self, NULL, "employee", id, &err)) == NULL)
		return err.status == 404 ? forget_person(s, id) : TREMPLIN_EVENT_FAILED;
	eti = json_object_get(emp, "referent_eti_id");
	rc = exec_bind2(s,
	    "INSERT INTO skills_people (employee_id, referent_eti_id) VALUES (?1, nullif(?2, 0))"
	    " ON CONFLICT (employee_id) DO UPDATE SET referent_eti_id = nullif(?2, 0)",
	    id, json_is_integer(eti) ? json_integer_value(eti) : 0, 2);
	json_decref(emp);
	return rc == 0 ? TREMPLIN_EVENT_DONE : TREMPLIN_EVENT_FAILED;
}

/*
 * Rebuild the copy from the kernel (contracts_page.v1, a page of 1000 at a
 * time) in one transaction: the events tell what changes while the plugin
 * is loaded, never what was made while it was not (a person hired, a
 * referent changed, a file erased). Run at start; the events that follow
 * write the same values again (record_get), so the order does not matter.
 */
struct reconcile {
	struct skills *s;
	size_t contracts;
};

static int
reconcile_row(struct skills *s, const json_t *row)
{
	static const char contract[] =
	    "INSERT INTO skills_contracts (contract_id, employee_id, start_date, end_date, "
	    "ended_on) VALUES (?1, ?2, ?3, ?4, ?5)";
	static const char person[] =
	    "INSERT INTO skills_people (employee_id, referent_eti_id) VALUES (?1, ?2)"
	    " ON CONFLICT (employee_id) DO NOTHING";
	const json_t *eti = json_object_get(row, "referent_eti_id");
	sqlite3_stmt *st;
	int rc;

	if ((st = s->host->stmt(s->self, contract)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(row, "contract_id")));
	sqlite3_bind_int64(st, 2, json_integer_value(json_object_get(row, "employee_id")));
	sqlite3_bind_text(
	    st, 3, json_string_value(json_object_get(row, "start_date")), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(
	    st, 4, json_string_value(json_object_get(row, "end_date")), -1, SQLITE_TRANSIENT);
	if (json_is_string(json_object_get(row, "ended_on")))
		sqlite3_bind_text(st, 5, json_string_value(json_object_get(row, "ended_on")), -1,
		    SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	s->host->stmt_done(st);
	if (rc != SQLITE_DONE || (st = s->host->stmt(s->self, person)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(row, "employee_id")));
	if (json_is_integer(eti))
		sqlite3_bind_int64(st, 2, json_integer_value(eti));
	rc = sqlite3_step(st);
	s->host->stmt_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
reconcile_txn(void *arg)
{
	struct reconcile *r = arg;
	struct skills *s = r->s;
	json_int_t after = 0;
	char err[256];

	if (exec_bind2(s, "DELETE FROM skills_contracts", 0, 0, 0) != 0 ||
	    exec_bind2(s, "DELETE FROM skills_people", 0, 0, 0) != 0)
		return -1;
	for (;;) {
		json_t *params = json_pack("{s:I}", "after_id", after), *rows = NULL, *row;
		size_t i, n;

		if (params == NULL)
			return -1;
		if (s->host->view(
		        s->self, NULL, "contracts_page.v1", params, &rows, err, sizeof(err)) != 0) {
			json_decref(params);
			s->host->log(
			    s->self, TREMPLIN_LOG_WARNING, "the kernel's contracts: %s", err);
			return -1;
		}
		json_decref(params);
		json_array_foreach (rows, i, row) {
			if (reconcile_row(s, row) != 0) {
				json_decref(rows);
				return -1;
			}
			after = json_integer_value(json_object_get(row, "contract_id"));
		}
		n = json_array_size(rows);
		json_decref(rows);
		r->contracts += n;
		if (n == 0)
			return 0;
	}
}

/* ---- import, load and export of a referential ---- */

struct import {
	struct skills *s;
	struct tremplin_request *req;
	json_t *doc;
	json_t *parsed; /* the blocks of a CSV import */
	int64_t id;
	struct tremplin_error err;
	char field[160];
};

static int
import_fail(struct import *im, int status, const char *field, const char *why)
{
	im->err.status = status;
	im->err.code = status == 409 ? "conflict" : "validation_failed";
	snprintf(im->field, sizeof(im->field), "%s", field ? field : "");
	snprintf(im->err.message, sizeof(im->err.message), "%s", why);
	return -1;
}

/* The host's error on a competence, its field named by its place in the document. */
static int
import_from_host(struct import *im, const char *where)
{
	int n = snprintf(im->field, sizeof(im->field), "%s%s%s", where,
	    im->err.field[0] && where[0] ? "." : "", im->err.field);

	if (n < 0 || (size_t)n >= sizeof(im->field))
		im->field[sizeof(im->field) - 1] = '\0';
	return -1;
}

static int
import_txn(void *arg)
{
	static const char exists[] =
	    "SELECT 1 FROM skills_referentials WHERE code = ?1 AND version = ?2";
	struct import *im = arg;
	struct skills *s = im->s;
	const json_t *blocks = json_object_get(im->doc, "blocks");
	json_t *head = json_object(), *v, *levels = json_object_get(im->doc, "levels");
	const char *k;
	size_t i, j, total = 0;
	sqlite3_stmt *st;
	int dup = 0;

	json_object_foreach (im->doc, k, v)
		if (strcmp(k, "blocks") != 0 && strcmp(k, "csv") != 0)
			json_object_set(head, k, v);
	/* Absent, a competence is acquired from the level before the last (of 4: "acquis"). */
	if (json_object_get(head, "acquired_from") == NULL && json_is_array(levels))
		json_object_set_new(head, "acquired_from",
		    json_integer(
		        json_array_size(levels) > 2 ? (json_int_t)json_array_size(levels) - 1 : 2));
	if (json_is_string(json_object_get(head, "code")) &&
	    json_is_integer(json_object_get(head, "version")) &&
	    (st = s->host->stmt(s->self, exists)) != NULL) {
		sqlite3_bind_text(
		    st, 1, json_string_value(json_object_get(head, "code")), -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, json_integer_value(json_object_get(head, "version")));
		dup = sqlite3_step(st) == SQLITE_ROW;
		s->host->stmt_done(st);
	}
	if (dup) {
		json_decref(head);
		return import_fail(im, 409, "version",
		    "this version of the referential exists: a change is a new version");
	}
	im->id = s->host->record_create(s->self, im->req, "referential", 0, head, &im->err);
	json_decref(head);
	if (im->id <= 0)
		return import_from_host(im, "");
	if (json_object_get(im->doc, "csv") != NULL) {
		/* The ROME 4.0 layout, as text in the body: its tree becomes the blocks. */
		const json_t *csv = json_object_get(im->doc, "csv");
		char why[200];
		if (blocks != NULL || !json_is_string(csv))
			return import_fail(
			    im, 422, "csv", "csv: the ROME 4.0 CSV text, instead of blocks");
		if ((im->parsed = rome_parse(json_string_value(csv), json_string_length(csv), why,
		         sizeof(why))) == NULL)
			return import_fail(im, 422, "csv", why);
		blocks = im->parsed;
	}
	if (!json_is_array(blocks) || json_array_size(blocks) == 0)
		return import_fail(im, 422, "blocks", "a referential has at least one block");
	for (i = 0; i < json_array_size(blocks); i++) {
		const json_t *b = json_array_get(blocks, i);
		const json_t *comps = json_object_get(b, "competences");
		char where[64];
		snprintf(where, sizeof(where), "blocks[%zu]", i);
		if (!json_is_object(b) || !json_is_string(json_object_get(b, "code")) ||
		    !json_is_string(json_object_get(b, "title")))
			return import_fail(im, 422, where, "a block has a code and a title");
		if (!json_is_array(comps) || json_array_size(comps) == 0) {
			snprintf(where, sizeof(where), "blocks[%zu].competences", i);
			return import_fail(im, 422, where, "a block has at least one competence");
		}
		for (j = 0; j < json_array_size(comps); j++) {
			const json_t *c = json_array_get(comps, j);
			json_t *row;
			snprintf(where, sizeof(where), "blocks[%zu].competences[%zu]", i, j);
			if (!json_is_object(c))
				return import_fail(im, 422, where, "a competence is an object");
			row = json_deep_copy(c);
			json_object_set(row, "block_code", json_object_get(b, "code"));
			json_object_set(row, "block_title", json_object_get(b, "title"));
			if (s->host->record_create(
			        s->self, im->req, "competence", im->id, row, &im->err) <= 0) {
				json_decref(row);
				return import_from_host(im, where);
			}
			json_decref(row);
			total++;
		}
	}
	(void)total;
	return 0;
}

/* Import doc (a referential in the export's shape) in one transaction; replies. */
static void
import_and_reply(struct skills *s, struct tremplin_request *req, json_t *doc)
{
	struct import im = { .s = s, .req = req, .doc = doc };
	struct tremplin_error e = { 0 };
	json_t *out;

	int rc = s->host->transaction(s->self, import_txn, &im);

	json_decref(im.parsed);
	if (rc != 0) {
		int status = im.err.status ? im.err.status : 500;
		s->host->reply_error(req, status,
		    im.err.code ? im.err.code : (status == 422 ? "validation_failed" : "internal"),
		    im.field[0] ? im.field : NULL, "%s",
		    im.err.message[0] ? im.err.message : "the referential was not imported");
		return;
	}
	if ((out = s->host->record_get(s->self, req, "referential", im.id, &e)) == NULL) {
		s->host->reply_error(req, 500, "internal", NULL, "the referential cannot be read");
		return;
	}
	{
		char loc[64];
		snprintf(loc, sizeof(loc), "/v1/skills/referentials/%lld", (long long)im.id);
		s->host->reply_header(req, "Location", loc);
	}
	s->host->reply(req, 201, out);
}

/* POST /v1/skills/referentials/import: a referential in the export's JSON shape. */
static void
post_import(struct tremplin_request *req, void *arg)
{
	struct skills *s = arg;

	import_and_reply(s, req, s->host->request_body(req));
}

/* POST /v1/skills/referentials/load {"name"}: one of the shipped referentials. */
static void
post_load(struct tremplin_request *req, void *arg)
{
	struct skills *s = arg;
	json_t *body = s->host->request_body(req), *doc;
	const char *name = json_string_value(json_object_get(body, "name"));
	json_error_t jerr;
	char path[1024];
	FILE *f;
	char *buf;
	size_t n;
	int len;

	if (!skills_valid_name(name) || json_object_size(body) != 1) {
		s->host->reply_error(req, 422, "validation_failed", "name",
		    "name: a referential's file name ([a-z0-9_-], without .json), alone");
		return;
	}
	len = snprintf(path, sizeof(path), "%s/%s.json", s->dir, name);
	if (len < 0 || (size_t)len >= sizeof(path)) {
		s->host->reply_error(req, 422, "validation_failed", "name", "name: too long");
		return;
	}
	if ((f = fopen(path, "r")) == NULL) {
		s->host->reply_error(
		    req, 404, "not_found", "name", "no referential named %s", name);
		return;
	}
	if ((buf = malloc(REFERENTIAL_FILE_MAX + 1)) == NULL) {
		fclose(f);
		s->host->reply_error(req, 500, "internal", NULL, "out of memory");
		return;
	}
	n = fread(buf, 1, REFERENTIAL_FILE_MAX + 1, f);
	fclose(f);
	if (n > REFERENTIAL_FILE_MAX) {
		free(buf);
		s->host->reply_error(req, 500, "internal", NULL, "%s.json is over 1 MB", name);
		return;
	}
	doc = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!json_is_object(doc)) {
		s->host->log(
		    s->self, TREMPLIN_LOG_WARNING, "%s: line %d: %s", path, jerr.line, jerr.text);
		json_decref(doc);
		s->host->reply_error(
		    req, 500, "internal", NULL, "%s.json is not a JSON object", name);
		return;
	}
	import_and_reply(s, req, doc);
	json_decref(doc);
}

/* ---- ROME fiches offered by the registry plugin ---- */

/*
 * The registry plugin keeps France Travail's fiches métiers in its own table
 * and shows them by the view registry.rome_fiches.v1; this plugin keeps its
 * own proposals of them (one per fiche version) and makes an accepted one a
 * referential (code ROME-<code>, the next version) like an import. Without
 * the registry plugin the view fails and there is nothing to propose.
 */
static int
rome_refresh(struct skills *s, char *why, size_t whylen)
{
	static const char ins[] =
	    "INSERT INTO skills_rome_proposals (rome_code, fiche_version, libelle, competences,"
	    " created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (rome_code, fiche_version)"
	    " DO NOTHING";
	static const char old[] =
	    "UPDATE skills_rome_proposals SET status = 'superseded'"
	    " WHERE rome_code = ?1 AND fiche_version < ?2 AND status = 'pending'";
	json_t *rows = NULL;
	char now[32];
	time_t t = (time_t)(s->host->now_ms(s->self) / 1000);
	struct tm tm;
	size_t i;
	int rc = 0;

	if (s->host->view(s->self, NULL, "registry.rome_fiches.v1", NULL, &rows, why, whylen) != 0)
		return 1; /* the registry plugin is not loaded: nothing offered */
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (i = 0; i < json_array_size(rows) && rc == 0; i++) {
		const json_t *r = json_array_get(rows, i);
		const char *code = json_string_value(json_object_get(r, "code"));
		const char *lib = json_string_value(json_object_get(r, "libelle"));
		const char *comp = json_string_value(json_object_get(r, "competences"));
		json_int_t ver = json_integer_value(json_object_get(r, "version"));
		sqlite3_stmt *st;
		if (code == NULL || lib == NULL || comp == NULL || ver <= 0)
			continue;
		for (int k = 0; k < 2 && rc == 0; k++) {
			if ((st = s->host->stmt(s->self, k == 0 ? old : ins)) == NULL) {
				rc = -1;
				break;
			}
			sqlite3_bind_text(st, 1, code, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 2, ver);
			if (k == 1) {
				sqlite3_bind_text(st, 3, lib, -1, SQLITE_TRANSIENT);
				sqlite3_bind_text(st, 4, comp, -1, SQLITE_TRANSIENT);
				sqlite3_bind_text(st, 5, now, -1, SQLITE_TRANSIENT);
			}
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = -1;
			s->host->stmt_done(st);
		}
	}
	json_decref(rows);
	return rc;
}

static json_t *
rome_row(sqlite3_stmt *st)
{
	json_error_t jerr;
	const char *comp = (const char *)sqlite3_column_text(st, 4);
	json_t *c = comp ? json_loads(comp, 0, &jerr) : NULL;
	json_t *o = json_pack("{s:I, s:s, s:I, s:s, s:o, s:s}", "id",
	    (json_int_t)sqlite3_column_int64(st, 0), "rome_code", sqlite3_column_text(st, 1),
	    "fiche_version", (json_int_t)sqlite3_column_int64(st, 2), "libelle",
	    sqlite3_column_text(st, 3), "competences", c ? c : json_array(), "status",
	    sqlite3_column_text(st, 5));
	json_object_set_new(o, "referential_id",
	    sqlite3_column_type(st, 6) == SQLITE_NULL ? json_null()
	                                              : json_integer(sqlite3_column_int64(st, 6)));
	json_object_set_new(o, "decided_by",
	    sqlite3_column_type(st, 7) == SQLITE_NULL ? json_null()
	                                              : json_integer(sqlite3_column_int64(st, 7)));
	json_object_set_new(o, "decided_at",
	    sqlite3_column_type(st, 8) == SQLITE_NULL
	        ? json_null()
	        : json_string((const char *)sqlite3_column_text(st, 8)));
	return o;
}

#define ROME_COLS                                                                                  \
	"SELECT id, rome_code, fiche_version, libelle, competences, status, referential_id,"       \
	" decided_by, decided_at FROM skills_rome_proposals"

static int
rome_refresh_txn(void *arg)
{
	void **a = arg;
	return rome_refresh(a[0], a[1], 200) < 0 ? -1 : 0;
}

/*
 * GET /v1/skills/rome_proposals[?status=pending]: the fiches offered, refreshed
 * from the view (the ETI, who accepts or rejects them; the coordinator reads).
 */
static void
get_rome_proposals(struct tremplin_request *req, void *arg)
{
	struct skills *s = arg;
	const char *status = s->host->request_query(req, "status");
	char why[200] = "";
	void *targ[2] = { s, why };
	sqlite3_stmt *st;
	json_t *items = json_array();

	if (s->host->transaction(s->self, rome_refresh_txn, targ) != 0) {
		json_decref(items);
		s->host->reply_error(req, 500, "internal", NULL, "the ROME fiches cannot be read");
		return;
	}
	st = s->host->stmt(s->self,
	    status ? ROME_COLS " WHERE status = ?1 ORDER BY id" : ROME_COLS " ORDER BY id");
	if (st == NULL) {
		json_decref(items);
		s->host->reply_error(req, 500, "internal", NULL, "the proposals cannot be read");
		return;
	}
	if (status)
		sqlite3_bind_text(st, 1, status, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(items, rome_row(st));
	s->host->stmt_done(st);
	s->host->reply(req, 200, json_pack("{s:o}", "items", items));
}

struct rome_decision {
	struct skills *s;
	struct tremplin_request *req;
	int64_t id, staff_id;
	int accept;
	struct import im;
	int status; /* an answer other than the import's: 404, 409 */
	char msg[160];
};

static int
rome_decide_txn(void *arg)
{
	struct rome_decision *d = arg;
	struct skills *s = d->s;
	sqlite3_stmt *st = s->host->stmt(s->self, ROME_COLS " WHERE id = ?1");
	json_t *row = NULL, *doc, *blocks, *comps;
	int64_t version = 1;
	char code[80], now[32];
	time_t t = (time_t)(s->host->now_ms(s->self) / 1000);
	struct tm tm;
	size_t i;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, d->id);
	if (sqlite3_step(st) == SQLITE_ROW)
		row = rome_row(st);
	s->host->stmt_done(st);
	if (row == NULL) {
		d->status = 404;
		snprintf(d->msg, sizeof(d->msg), "no ROME proposal %lld", (long long)d->id);
		return -1;
	}
	if (strcmp(json_string_value(json_object_get(row, "status")), "pending") != 0) {
		d->status = 409;
		snprintf(d->msg, sizeof(d->msg), "this proposal is %s already",
		    json_string_value(json_object_get(row, "status")));
		json_decref(row);
		return -1;
	}
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(
	    code, sizeof(code), "ROME-%s", json_string_value(json_object_get(row, "rome_code")));
	if (d->accept) {
		/* The next version of the referential of that code: the old ones stay. */
		if ((st = s->host->stmt(s->self,
		         "SELECT coalesce(max(version), 0) + 1 FROM"
		         " skills_referentials WHERE code = ?1")) == NULL) {
			json_decref(row);
			return -1;
		}
		sqlite3_bind_text(st, 1, code, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			version = sqlite3_column_int64(st, 0);
		s->host->stmt_done(st);
		comps = json_array();
		json_t *src = json_object_get(row, "competences");
		for (i = 0; i < json_array_size(src); i++) {
			const json_t *c = json_array_get(src, i);
			json_array_append_new(comps,
			    json_pack("{s:O, s:O, s:s, s:O}", "code", json_object_get(c, "code"),
			        "title", json_object_get(c, "libelle"), "kind", "savoir_faire",
			        "external_code", json_object_get(c, "code")));
		}
		blocks = json_pack("[{s:O, s:O, s:o}]", "code", json_object_get(row, "rome_code"),
		    "title", json_object_get(row, "libelle"), "competences", comps);
		doc = json_pack("{s:s, s:O, s:I, s:s, s:[s,s,s,s], s:i, s:o}", "code", code,
		    "title", json_object_get(row, "libelle"), "version", (json_int_t)version,
		    "source", "rome", "levels", "non acquis", "en cours d'acquisition", "acquis",
		    "maîtrisé", "acquired_from", 3, "blocks", blocks);
		/*
		 * As the caller, like an import: the ETI writes the skills (DOMAIN.md's
		 * table; the coordinator reads them, so cannot accept one).
		 */
		d->im = (struct import){ .s = s, .req = d->req, .doc = doc };
		int rc = import_txn(&d->im);
		json_decref(d->im.parsed);
		json_decref(doc);
		if (rc != 0) {
			json_decref(row);
			return -1;
		}
	}
	json_decref(row);
	if ((st = s->host->stmt(s->self,
	         "UPDATE skills_rome_proposals SET status = ?2, referential_id = ?3,"
	         " decided_by = ?4, decided_at = ?5 WHERE id = ?1")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, d->id);
	sqlite3_bind_text(st, 2, d->accept ? "accepted" : "rejected", -1, SQLITE_STATIC);
	if (d->accept)
		sqlite3_bind_int64(st, 3, d->im.id);
	else
		sqlite3_bind_null(st, 3);
	if (d->staff_id > 0)
		sqlite3_bind_int64(st, 4, d->staff_id);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_TRANSIENT);
	int ok = sqlite3_step(st) == SQLITE_DONE;
	s->host->stmt_done(st);
	return ok ? 0 : -1;
}

static void
rome_decide(struct tremplin_request *req, struct skills *s, int accept)
{
	struct rome_decision d = {
		.s = s, .req = req, .id = s->host->request_id(req, 0), .accept = accept
	};
	struct tremplin_caller who = { 0 };
	sqlite3_stmt *st;

	s->host->request_caller(req, &who);
	d.staff_id = who.staff_id;
	if (s->host->transaction(s->self, rome_decide_txn, &d) != 0) {
		if (d.status)
			s->host->reply_error(req, d.status,
			    d.status == 404 ? "not_found" : "conflict", NULL, "%s", d.msg);
		else
			s->host->reply_error(req, d.im.err.status ? d.im.err.status : 500,
			    d.im.err.code ? d.im.err.code : "internal",
			    d.im.field[0] ? d.im.field : NULL, "%s",
			    d.im.err.message[0] ? d.im.err.message : "the decision was not kept");
		return;
	}
	if ((st = s->host->stmt(s->self, ROME_COLS " WHERE id = ?1")) == NULL) {
		s->host->reply_error(req, 500, "internal", NULL, "the proposal cannot be read");
		return;
	}
	sqlite3_bind_int64(st, 1, d.id);
	json_t *o = sqlite3_step(st) == SQLITE_ROW ? rome_row(st) : NULL;
	s->host->stmt_done(st);
	if (o == NULL) {
		s->host->reply_error(req, 500, "internal", NULL, "the proposal cannot be read");
		return;
	}
	s->host->reply(req, 200, o);
}

static void
post_rome_accept(struct tremplin_request *req, void *arg)
{
	rome_decide(req, arg, 1);
}

static void
post_rome_reject(struct tremplin_request *req, void *arg)
{
	rome_decide(req, arg, 0);
}

/* GET /v1/skills/referentials/{id}/export: the referential in the import's shape. */
static void
get_export(struct tremplin_request *req, void *arg)
{
	static const char sql[] =
	    "SELECT block_code, block_title, code, external_code, title, kind, hierarchy"
	    " FROM skills_competences WHERE referential_id = ?1 ORDER BY id";
	struct skills *s = arg;
	int64_t id = s->host->request_id(req, 0);
	struct tremplin_error e = { 0 };
	json_t *ref = s->host->record_get(s->self, req, "referential", id, &e), *blocks,
	       *block = NULL;
	const char *drop[] = { "id", "created_at" };
	const char *format = s->host->request_query(req, "format");
	int csv = format != NULL && strcmp(format, "csv") == 0;
	sqlite3_stmt *st;

	if (format != NULL && !csv && strcmp(format, "json") != 0) {
		json_decref(ref);
		s->host->reply_error(req, 400, "bad_request", "format", "format: json or csv");
		return;
	}

	if (ref == NULL) {
		s->host->reply_error(req, e.status ? e.status : 404, e.code ? e.code : "not_found",
		    NULL, "%s", e.message[0] ? e.message : "no such referential");
		return;
	}
	for (size_t i = 0; i < 2; i++)
		json_object_del(ref, drop[i]);
	if ((st = s->host->stmt(s->self, sql)) == NULL) {
		json_decref(ref);
		s->host->reply_error(req, 500, "internal", NULL, "cannot read the competences");
		return;
	}
	blocks = json_array();
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *bcode = (const char *)sqlite3_column_text(st, 0);
		json_t *c;
		if (block == NULL ||
		    strcmp(json_string_value(json_object_get(block, "code")), bcode) != 0) {
			block = json_pack("{s:s, s:s, s:[]}", "code", bcode, "title",
			    (const char *)sqlite3_column_text(st, 1), "competences");
			json_array_append_new(blocks, block);
		}
		c = json_pack("{s:s, s:s, s:s}", "code", (const char *)sqlite3_column_text(st, 2),
		    "title", (const char *)sqlite3_column_text(st, 4), "kind",
		    (const char *)sqlite3_column_text(st, 5));
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			json_object_set_new(c, "external_code",
			    json_string((const char *)sqlite3_column_text(st, 3)));
		if (sqlite3_column_type(st, 6) != SQLITE_NULL)
			json_object_set_new(c, "hierarchy",
			    json_loads((const char *)sqlite3_column_text(st, 6), 0, NULL));
		json_array_append_new(json_object_get(block, "competences"), c);
	}
	s->host->stmt_done(st);
	if (csv) {
		size_t len = 0;
		char *text = rome_write(blocks, &len), disp[96];
		json_decref(blocks);
		json_decref(ref);
		if (text == NULL) {
			s->host->reply_error(req, 500, "internal", NULL, "out of memory");
			return;
		}
		snprintf(disp, sizeof(disp), "attachment; filename=\"referential-%lld.csv\"",
		    (long long)id);
		s->host->reply_header(req, "Content-Disposition", disp);
		s->host->reply_bytes(req, 200, "text/csv; charset=utf-8", text, len);
		free(text);
		return;
	}
	json_object_set_new(ref, "blocks", blocks);
	s->host->reply(req, 200, ref);
}

/* ---- a person's progression and the team matrix ---- */

static const char *const read_categories[] = { "evaluations", NULL };

/* The caller may read the person's evaluations: else replied (404/403) and 0. */
static int
may_read(struct skills *s, struct tremplin_request *req, int64_t employee_id)
{
	struct tremplin_access a;

	if (s->host->access(req, employee_id, &a) != 0) {
		s->host->reply_error(
		    req, 404, "not_found", NULL, "no employee %lld", (long long)employee_id);
		return 0;
	}
	if (!s->host->can_read(&a, "evaluations")) {
		s->host->reply_error(req, 403, "forbidden", NULL,
		    "your role may not read this person's evaluations");
		return 0;
	}
	return 1;
}

/*
 * GET /v1/skills/employees/{id}/progression: per competence evaluated, the
 * current level (with its name and whether it is acquired), the trend since
 * the evaluation before, and the history (corrected entries marked).
 */
static void
get_progression(struct tremplin_request *req, void *arg)
{
	static const char sql[] =
	    "SELECT e.id, e.competence_id, e.level, e.evaluated_on, e.evaluator_id, e.kind,"
	    " e.corrects_id, EXISTS (SELECT 1 FROM skills_evaluations x WHERE x.corrects_id = "
	    "e.id),"
	    " c.code, c.external_code, c.title, c.kind, r.id, r.code, r.version, r.levels,"
	    " r.acquired_from, e.situation"
	    " FROM skills_evaluations e JOIN skills_competences c ON c.id = e.competence_id"
	    " JOIN skills_referentials r ON r.id = c.referential_id"
	    " WHERE e.employee_id = ?1 ORDER BY e.competence_id, e.evaluated_on, e.id";
	struct skills *s = arg;
	int64_t who = s->host->request_id(req, 0);
	json_t *items = json_array(), *cur = NULL;
	sqlite3_stmt *st;
	long long prev_level = 0, last_level = 0;
	int has_prev = 0, has_last = 0;

	if (!may_read(s, req, who)) {
		json_decref(items);
		return;
	}
	if ((st = s->host->stmt(s->self, sql)) == NULL) {
		json_decref(items);
		s->host->reply_error(req, 500, "internal", NULL, "cannot read the evaluations");
		return;
	}
	sqlite3_bind_int64(st, 1, who);
	for (int rc = sqlite3_step(st);; rc = sqlite3_step(st)) {
		int64_t comp = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : -1;
		/* Close the competence before: its current level and trend. */
		if (cur != NULL &&
		    comp != json_integer_value(json_object_get(cur, "competence_id"))) {
			json_t *levels = json_object_get(cur, "levels");
			if (has_last) {
				json_object_set_new(cur, "level", json_integer(last_level));
				json_object_set_new(cur, "level_name",
				    json_copy(json_array_get(levels, (size_t)last_level - 1)));
				json_object_set_new(cur, "acquired",
				    json_boolean(last_level >=
				        json_integer_value(json_object_get(cur, "acquired_from"))));
				json_object_set_new(cur, "trend",
				    json_string(skills_trend(prev_level, last_level, has_prev)));
			} else {
				json_object_set_new(cur, "level", json_null());
				json_object_set_new(cur, "trend", json_null());
			}
			cur = NULL;
		}
		if (rc != SQLITE_ROW)
			break;
		if (cur == NULL) {
			json_error_t jerr;
			cur = json_pack(
			    "{s:I, s:s, s:s?, s:s, s:s, s:{s:I, s:s, s:I}, s:o, s:I, s:[]}",
			    "competence_id", (json_int_t)comp, "code",
			    (const char *)sqlite3_column_text(st, 8), "external_code",
			    (const char *)sqlite3_column_text(st, 9), "title",
			    (const char *)sqlite3_column_text(st, 10), "kind",
			    (const char *)sqlite3_column_text(st, 11), "referential", "id",
			    (json_int_t)sqlite3_column_int64(st, 12), "code",
			    (const char *)sqlite3_column_text(st, 13), "version",
			    (json_int_t)sqlite3_column_int64(st, 14), "levels",
			    json_loads((const char *)sqlite3_column_text(st, 15), 0, &jerr),
			    "acquired_from", (json_int_t)sqlite3_column_int64(st, 16), "history");
			json_array_append_new(items, cur);
			has_prev = has_last = 0;
		}
		int corrected = sqlite3_column_int(st, 7);
		const char *kind = (const char *)sqlite3_column_text(st, 5);
		json_t *h = json_pack("{s:I, s:I, s:s, s:I, s:s, s:b}", "id",
		    (json_int_t)sqlite3_column_int64(st, 0), "level",
		    (json_int_t)sqlite3_column_int64(st, 2), "evaluated_on",
		    (const char *)sqlite3_column_text(st, 3), "evaluator_id",
		    (json_int_t)sqlite3_column_int64(st, 4), "kind", kind, "corrected", corrected);
		if (sqlite3_column_type(st, 6) != SQLITE_NULL)
			json_object_set_new(
			    h, "corrects_id", json_integer(sqlite3_column_int64(st, 6)));
		if (sqlite3_column_type(st, 17) != SQLITE_NULL)
			json_object_set_new(
			    h, "situation", json_string((const char *)sqlite3_column_text(st, 17)));
		json_array_append_new(json_object_get(cur, "history"), h);
		/* The level reached: evaluations no later entry corrects, in date order. */
		if (!corrected && strcmp(kind, "evaluation") == 0) {
			prev_level = last_level;
			has_prev = has_last;
			last_level = sqlite3_column_int64(st, 2);
			has_last = 1;
		}
	}
	s->host->stmt_done(st);
	s->host->audit(s->self, req, "read", who, "skills_evaluations", read_categories);
	s->host->reply(
	    req, 200, json_pack("{s:I, s:o}", "employee_id", (json_int_t)who, "items", items));
}

/*
 * GET /v1/skills/matrix?referential_id=N[&eti_id=M]: people × competences
 * with current levels, for a team (the people under contract today whose
 * referent ETI is eti_id; everyone under contract without it), shaped for a
 * table: competences in order, one row per person with a cell per competence.
 */
static void
get_matrix(struct tremplin_request *req, void *arg)
{
	static const char comps_sql[] = "SELECT id, block_code, code, external_code, title, kind"
	                                " FROM skills_competences WHERE referential_id = ?1"
	                                " ORDER BY id";
	static const char people_sql[] =
	    "SELECT DISTINCT c.employee_id FROM skills_contracts c"
	    " LEFT JOIN skills_people p ON p.employee_id = c.employee_id"
	    " WHERE c.start_date <= ?1 AND coalesce(c.ended_on, c.end_date) >= ?1"
	    " AND (?2 IS NULL OR p.referent_eti_id = ?2) ORDER BY c.employee_id";
	static const char cells_sql[] =
	    "SELECT competence_id, level, evaluated_on FROM ("
	    " SELECT e.competence_id, e.level, e.evaluated_on, row_number() OVER (PARTITION BY"
	    "  e.competence_id ORDER BY e.evaluated_on DESC, e.id DESC) AS rn"
	    " FROM skills_evaluations e JOIN skills_competences c ON c.id = e.competence_id"
	    " WHERE e.employee_id = ?1 AND c.referential_id = ?2 AND e.kind = 'evaluation'"
	    " AND NOT EXISTS (SELECT 1 FROM skills_evaluations x WHERE x.corrects_id = e.id))"
	    " WHERE rn = 1";
	struct skills *s = arg;
	const char *rq = s->host->request_query(req, "referential_id");
	const char *eq = s->host->request_query(req, "eti_id");
	struct tremplin_error e = { 0 };
	char *end, day[11];
	long long rid = rq ? strtoll(rq, &end, 10) : 0, eti = 0;
	json_t *ref, *comps, *people, *ids;
	sqlite3_stmt *st;
	size_t i;

	if (rq == NULL || *end != '\0' || rid <= 0) {
		s->host->reply_error(req, 400, "bad_request", "referential_id",
		    "referential_id: a referential's id is required");
		return;
	}
	if (eq != NULL && ((eti = strtoll(eq, &end, 10)) <= 0 || *end != '\0')) {
		s->host->reply_error(req, 400, "bad_request", "eti_id", "eti_id: a staff id");
		return;
	}
	if ((ref = s->host->record_get(s->self, req, "referential", rid, &e)) == NULL) {
		s->host->reply_error(
		    req, 404, "not_found", "referential_id", "no referential %lld", rid);
		return;
	}
	comps = json_array();
	if ((st = s->host->stmt(s->self, comps_sql)) != NULL) {
		sqlite3_bind_int64(st, 1, rid);
		while (sqlite3_step(st) == SQLITE_ROW) {
			json_t *c = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id",
			    (json_int_t)sqlite3_column_int64(st, 0), "block_code",
			    (const char *)sqlite3_column_text(st, 1), "code",
			    (const char *)sqlite3_column_text(st, 2), "title",
			    (const char *)sqlite3_column_text(st, 4), "kind",
			    (const char *)sqlite3_column_text(st, 5));
			if (sqlite3_column_type(st, 3) != SQLITE_NULL)
				json_object_set_new(c, "external_code",
				    json_string((const char *)sqlite3_column_text(st, 3)));
			json_array_append_new(comps, c);
		}
		s->host->stmt_done(st);
	}
	ids = json_array();
	today(s, day, sizeof(day));
	if ((st = s->host->stmt(s->self, people_sql)) != NULL) {
		sqlite3_bind_text(st, 1, day, -1, SQLITE_TRANSIENT);
		if (eti > 0)
			sqlite3_bind_int64(st, 2, eti);
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(ids, json_integer(sqlite3_column_int64(st, 0)));
		s->host->stmt_done(st);
	}
	people = json_array();
	for (i = 0; i < json_array_size(ids); i++) {
		int64_t who = json_integer_value(json_array_get(ids, i));
		struct tremplin_access a;
		json_t *emp, *cells, *row;
		struct tremplin_error ee = { 0 };
		if (s->host->access(req, who, &a) != 0 || !s->host->can_read(&a, "evaluations"))
			continue;
		if ((emp = s->host->record_get(s->self, req, "employee", who, &ee)) == NULL)
			continue;
		cells = json_array();
		for (size_t k = 0; k < json_array_size(comps); k++)
			json_array_append_new(cells, json_null());
		if ((st = s->host->stmt(s->self, cells_sql)) != NULL) {
			sqlite3_bind_int64(st, 1, who);
			sqlite3_bind_int64(st, 2, rid);
			while (sqlite3_step(st) == SQLITE_ROW) {
				int64_t cid = sqlite3_column_int64(st, 0);
				for (size_t k = 0; k < json_array_size(comps); k++)
					if (json_integer_value(json_object_get(
					        json_array_get(comps, k), "id")) == cid)
						json_array_set_new(cells, k,
						    json_pack("{s:I, s:s}", "level",
						        (json_int_t)sqlite3_column_int64(st, 1),
						        "evaluated_on",
						        (const char *)sqlite3_column_text(st, 2)));
			}
			s->host->stmt_done(st);
		}
		row = json_pack("{s:I, s:O?, s:O?, s:o}", "employee_id", (json_int_t)who,
		    "first_name", json_object_get(emp, "first_name"), "last_name",
		    json_object_get(emp, "last_name"), "cells", cells);
		json_array_append_new(people, row);
		json_decref(emp);
		s->host->audit(s->self, req, "read", who, "skills_evaluations", read_categories);
	}
	json_decref(ids);
	s->host->reply(req, 200,
	    json_pack("{s:{s:I, s:O, s:O, s:O, s:O}, s:o, s:o}", "referential", "id",
	        (json_int_t)rid, "code", json_object_get(ref, "code"), "version",
	        json_object_get(ref, "version"), "levels", json_object_get(ref, "levels"),
	        "acquired_from", json_object_get(ref, "acquired_from"), "competences", comps,
	        "people", people));
	json_decref(ref);
}

/* ---- the attestation, rendered ---- */

/* A staff account's name, from the staff view ("" when unknown). */
static void
staff_name(struct skills *s, struct tremplin_request *req, int64_t id, char *buf, size_t size)
{
	json_t *rows = NULL, *row;
	char err[256];
	size_t i;

	buf[0] = '\0';
	if (s->host->view(s->self, req, "staff.v1", NULL, &rows, err, sizeof(err)) != 0)
		return;
	json_array_foreach (rows, i, row)
		if (json_integer_value(json_object_get(row, "id")) == id)
			snprintf(buf, size, "%s", json_string_value(json_object_get(row, "name")));
	json_decref(rows);
}

static void
structure_name(struct skills *s, struct tremplin_request *req, int64_t id, char *buf, size_t size)
{
	json_t *rows = NULL, *row;
	char err[256];
	size_t i;

	snprintf(buf, size, "La structure");
	if (s->host->view(s->self, req, "structures.v1", NULL, &rows, err, sizeof(err)) != 0)
		return;
	json_array_foreach (rows, i, row)
		if (json_integer_value(json_object_get(row, "id")) == id)
			snprintf(buf, size, "%s", json_string_value(json_object_get(row, "name")));
	json_decref(rows);
}

/*
 * The acquired competences as of the period's end: the current level of
 * each (corrections applied, self-evaluations aside) when it reaches the
 * referential's acquired_from; savoir-être only with consent.
 */
static const char acquired_sql[] =
    "WITH cur AS (SELECT e.*, row_number() OVER (PARTITION BY e.competence_id"
    " ORDER BY e.evaluated_on DESC, e.id DESC) AS rn FROM skills_evaluations e"
    " WHERE e.employee_id = ?1 AND e.kind = 'evaluation' AND e.evaluated_on <= ?2"
    " AND NOT EXISTS (SELECT 1 FROM skills_evaluations x WHERE x.corrects_id = e.id))"
    " SELECT c.block_title, coalesce(c.external_code, c.code), c.title, c.kind,"
    " json_extract(r.levels, '$[' || (cur.level - 1) || ']'), cur.evaluated_on, r.title"
    " FROM cur JOIN skills_competences c ON c.id = cur.competence_id"
    " JOIN skills_referentials r ON r.id = c.referential_id"
    " WHERE cur.rn = 1 AND cur.level >= r.acquired_from AND (?3 OR c.kind != 'savoir_etre')"
    " ORDER BY r.id, c.id";

static void
render_attestation(struct tremplin_request *req, struct skills *s, int pdf)
{
	static const char *const cats[] = { "attestations", "evaluations", "identity", NULL };
	int64_t id = s->host->request_id(req, 0);
	struct tremplin_error e = { 0 };
	json_t *att = s->host->record_get(s->self, req, "attestation", id, &e), *emp = NULL;
	struct att_line *lines = NULL;
	size_t n = 0, cap = 0;
	char person[256], structure[256], eti[256], coord[256], day[11];
	struct att_doc doc = { 0 };
	sqlite3_stmt *st;
	int64_t who;

	if (att == NULL) {
		s->host->reply_error(req, e.status ? e.status : 404, e.code ? e.code : "not_found",
		    NULL, "%s", e.message[0] ? e.message : "no such attestation");
		return;
	}
	who = json_integer_value(json_object_get(att, "employee_id"));
	if (!may_read(s, req, who) ||
	    (emp = s->host->record_get(s->self, req, "employee", who, &e)) == NULL) {
		if (emp == NULL && e.status)
			s->host->reply_error(
			    req, e.status, e.code ? e.code : "not_found", NULL, "%s", e.message);
		json_decref(att);
		return;
	}
	snprintf(person, sizeof(person), "%s %s",
	    json_string_value(json_object_get(emp, "first_name")),
	    json_string_value(json_object_get(emp, "last_name")));
	structure_name(s, req, json_integer_value(json_object_get(emp, "structure_id")), structure,
	    sizeof(structure));
	staff_name(s, req, json_integer_value(json_object_get(att, "eti_id")), eti, sizeof(eti));
	if (json_is_integer(json_object_get(att, "coordinator_id")))
		staff_name(s, req, json_integer_value(json_object_get(att, "coordinator_id")),
		    coord, sizeof(coord));
	if ((st = s->host->stmt(s->self, acquired_sql)) == NULL) {
		json_decref(att);
		json_decref(emp);
		s->host->reply_error(req, 500, "internal", NULL, "cannot read the evaluations");
		return;
	}
	sqlite3_bind_int64(st, 1, who);
	sqlite3_bind_text(
	    st, 2, json_string_value(json_object_get(att, "period_to")), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, json_is_true(json_object_get(att, "savoir_etre_consent")));
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			struct att_line *p = realloc(lines, cap * sizeof(*lines));
			if (p == NULL)
				break;
			lines = p;
		}
		struct att_line *l = &lines[n++];
		const char *col[7];
		for (int c = 0; c < 7; c++) {
			const char *t = (const char *)sqlite3_column_text(st, c);
			col[c] = strdup(t ? t : "");
		}
		*l = (struct att_line){ col[0], col[1], col[2], col[3], col[4], col[5], col[6] };
	}
	s->host->stmt_done(st);
	today(s, day, sizeof(day));
	doc = (struct att_doc){ .person = person,
		.structure = structure,
		.from = json_string_value(json_object_get(att, "period_from")),
		.to = json_string_value(json_object_get(att, "period_to")),
		.issued_on = day,
		.eti = eti,
		.coordinator =
		    json_is_integer(json_object_get(att, "coordinator_id")) ? coord : NULL,
		.lines = lines,
		.nlines = n };
	{
		char fname[96];
		snprintf(fname, sizeof(fname), "attachment; filename=\"attestation-%lld.%s\"",
		    (long long)id, pdf ? "pdf" : "html");
		if (pdf) {
			unsigned char *out = NULL;
			size_t len = 0;
			if (att_pdf(&doc, &out, &len) == 0) {
				s->host->reply_header(req, "Content-Disposition", fname);
				s->host->reply_bytes(req, 200, "application/pdf", out, len);
			} else
				s->host->reply_error(req, 500, "internal", NULL, "the PDF failed");
			free(out);
		} else {
			size_t len = 0;
			char *html = att_html(&doc, &len);
			if (html != NULL)
				s->host->reply_bytes(
				    req, 200, "text/html; charset=utf-8", html, len);
			else
				s->host->reply_error(req, 500, "internal", NULL, "out of memory");
			free(html);
		}
	}
	s->host->audit(s->self, req, "read", who, "skills_attestations", cats);
	for (size_t i = 0; i < n; i++) {
		free((char *)lines[i].block);
		free((char *)lines[i].code);
		free((char *)lines[i].title);
		free((char *)lines[i].kind);
		free((char *)lines[i].level);
		free((char *)lines[i].date);
		free((char *)lines[i].referential);
	}
	free(lines);
	json_decref(att);
	json_decref(emp);
}

/* GET /v1/skills/attestations/{id}/html and /pdf. */
static void
get_attestation_html(struct tremplin_request *req, void *arg)
{
	render_attestation(req, arg, 0);
}

static void
get_attestation_pdf(struct tremplin_request *req, void *arg)
{
	render_attestation(req, arg, 1);
}

/* ---- the issuer: its profile and public key, its revocations ---- */

/* GET /v1/skills/issuer: the issuer profile and its public key as a JWK set. */
static void
get_issuer(struct tremplin_request *req, void *arg)
{
	struct skills *s = arg;
	char rev[1100];

	if (s->key == NULL) {
		s->host->reply_error(req, 404, "not_found", NULL,
		    "Open Badges are not configured (badge_key_file, badge_issuer_url)");
		return;
	}
	snprintf(rev, sizeof(rev), "%s/revocations", s->issuer_url);
	s->host->reply(req, 200,
	    json_pack("{s:s, s:[s], s:s, s:s, s:s, s:{s:[o]}}", "id", s->issuer_url, "type",
	        "Profile", "name", s->issuer_name, "url", s->issuer_url, "revocations", rev, "jwks",
	        "keys", badge_jwk(s->key)));
}

/*
 * GET /v1/skills/issuer/revocations: the credentials revoked, by their
 * random ids (urn:uuid), for the structure to publish; no person's data.
 */
static void
get_revocations(struct tremplin_request *req, void *arg)
{
	static const char sql[] = "SELECT credential_id, revoked_on FROM skills_badges"
	                          " WHERE revoked_on IS NOT NULL AND credential_id IS NOT NULL"
	                          " ORDER BY id";
	struct skills *s = arg;
	sqlite3_stmt *st = s->host->stmt(s->self, sql);
	json_t *items = json_array();

	if (st == NULL) {
		json_decref(items);
		s->host->reply_error(req, 500, "internal", NULL, "cannot read the revocations");
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(items,
		    json_pack("{s:s, s:s}", "id", (const char *)sqlite3_column_text(st, 0),
		        "revoked_on", (const char *)sqlite3_column_text(st, 1)));
	s->host->stmt_done(st);
	s->host->reply(req, 200, json_pack("{s:o}", "revoked", items));
}

/* ---- learning sessions: copy, evaluation, the printable file ---- */

struct copy {
	struct skills *s;
	struct tremplin_request *req;
	int64_t from, id;
	struct tremplin_error err;
};

static int
copy_txn(void *arg)
{
	static const char *const keep[] = { "title", "work_situation", "objectives", "criteria",
		"difficulties", "resources", "evaluation_methods" };
	static const char steps_sql[] =
	    "SELECT position, contents, method, duration_min"
	    " FROM skills_session_steps WHERE session_id = ?1 ORDER BY id";
	static const char links_sql[] = "SELECT competence_id FROM skills_session_competences"
	                                " WHERE session_id = ?1 ORDER BY id";
	struct copy *c = arg;
	struct skills *s = c->s;
	json_t *from = s->host->record_get(s->self, c->req, "session", c->from, &c->err);
	json_t *obj = json_object(), *rows = json_array(), *row;
	sqlite3_stmt *st;
	size_t i;
	int rc = -1;

	if (from == NULL)
		goto out;
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (json_is_string(json_object_get(from, keep[i])))
			json_object_set(obj, keep[i], json_object_get(from, keep[i]));
	if ((c->id = s->host->record_create(s->self, c->req, "session", 0, obj, &c->err)) <= 0 ||
	    exec_bind2(s, "UPDATE skills_sessions SET copied_from = ?2 WHERE id = ?1", c->id,
	        c->from, 2) != 0)
		goto out;
	/* Read whole before writing: the statements are the host's, cached by their text. */
	if ((st = s->host->stmt(s->self, steps_sql)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, c->from);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(rows,
		    json_pack("{s:s, s:I, s:s, s:s, s:I}", "kind", "session_step", "position",
		        (json_int_t)sqlite3_column_int64(st, 0), "contents",
		        (const char *)sqlite3_column_text(st, 1), "method",
		        (const char *)sqlite3_column_text(st, 2), "duration_min",
		        (json_int_t)sqlite3_column_int64(st, 3)));
	s->host->stmt_done(st);
	if ((st = s->host->stmt(s->self, links_sql)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, c->from);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(rows,
		    json_pack("{s:s, s:I}", "kind", "session_competence", "competence_id",
		        (json_int_t)sqlite3_column_int64(st, 0)));
	s->host->stmt_done(st);
	json_array_foreach (rows, i, row) {
		char kind[32];
		snprintf(kind, sizeof(kind), "%s", json_string_value(json_object_get(row, "kind")));
		json_object_del(row, "kind");
		if (s->host->record_create(s->self, c->req, kind, c->id, row, &c->err) <= 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(from);
	json_decref(obj);
	json_decref(rows);
	return rc;
}

/* POST /v1/skills/sessions/{id}/copy: the dossier as a template, a new draft. */
static void
post_copy(struct tremplin_request *req, void *arg)
{
	struct skills *s = arg;
	struct copy c = { .s = s, .req = req, .from = s->host->request_id(req, 0) };
	struct tremplin_error e = { 0 };
	json_t *out;
	char loc[64];

	if (s->host->transaction(s->self, copy_txn, &c) != 0) {
		s->host->reply_error(req, c.err.status ? c.err.status : 500,
		    c.err.code ? c.err.code : "internal", c.err.field[0] ? c.err.field : NULL, "%s",
		    c.err.message[0] ? c.err.message : "the session was not copied");
		return;
	}
	if ((out = s->host->record_get(s->self, req, "session", c.id, &e)) == NULL) {
		s->host->reply_error(req, 500, "internal", NULL, "the copy cannot be read");
		return;
	}
	snprintf(loc, sizeof(loc), "/v1/skills/sessions/%lld", (long long)c.id);
	s->host->reply_header(req, "Location", loc);
	s->host->reply(req, 201, out);
}

struct evaluate {
	struct skills *s;
	struct tremplin_request *req;
	int64_t id;
	json_t *body;
	struct tremplin_error err;
	char field[200];
	int n;
};

static int
evaluate_fail(struct evaluate *ev, size_t i, const char *field, const char *why)
{
	ev->err.status = 422;
	ev->err.code = "validation_failed";
	if (i == (size_t)-1)
		snprintf(ev->field, sizeof(ev->field), "%s", field);
	else
		snprintf(ev->field, sizeof(ev->field), "evaluations[%zu].%s", i, field);
	snprintf(ev->err.message, sizeof(ev->err.message), "%s", why);
	return -1;
}

static int
evaluate_txn(void *arg)
{
	static const char linked_sql[] = "SELECT count(*) FROM skills_session_competences"
	                                 " WHERE session_id = ?1 AND competence_id = ?2";
	static const char attended_sql[] = "SELECT count(*) FROM skills_participations"
	                                   " WHERE session_id = ?1 AND employee_id = ?2"
	                                   " AND attended = 1";
	struct evaluate *ev = arg;
	struct skills *s = ev->s;
	json_t *sess = s->host->record_get(s->self, ev->req, "session", ev->id, &ev->err);
	json_t *list = json_object_get(ev->body, "evaluations"), *item, *patch;
	const json_t *on = json_object_get(ev->body, "evaluated_on");
	struct tremplin_caller who;
	char situation[300];
	size_t i;
	int rc = -1;

	if (sess == NULL)
		return -1;
	s->host->request_caller(ev->req, &who);
	if (strcmp(json_string_value(json_object_get(sess, "status")), "held") != 0) {
		evaluate_fail(ev, (size_t)-1, "status", "a session is evaluated once it is held");
		goto out;
	}
	if (!json_is_string(on)) {
		evaluate_fail(ev, (size_t)-1, "evaluated_on", "evaluated_on: the day, YYYY-MM-DD");
		goto out;
	}
	if (!json_is_array(list) || json_array_size(list) == 0) {
		evaluate_fail(ev, (size_t)-1, "evaluations", "evaluations: at least one");
		goto out;
	}
	snprintf(situation, sizeof(situation), "Séance d'apprentissage n°%lld : %s",
	    (long long)ev->id, json_string_value(json_object_get(sess, "title")));
	json_array_foreach (list, i, item) {
		int64_t emp = json_integer_value(json_object_get(item, "employee_id"));
		int64_t comp = json_integer_value(json_object_get(item, "competence_id"));
		json_t *e;
		if (count_children2(s, linked_sql, ev->id, comp) == 0) {
			evaluate_fail(
			    ev, i, "competence_id", "the competence is not one of the session's");
			goto out;
		}
		if (count_children2(s, attended_sql, ev->id, emp) == 0) {
			evaluate_fail(
			    ev, i, "employee_id", "the person did not attend the session");
			goto out;
		}
		e = json_pack("{s:I, s:O, s:O, s:I, s:s, s:s}", "competence_id", (json_int_t)comp,
		    "level", json_object_get(item, "level"), "evaluated_on", on, "evaluator_id",
		    (json_int_t)who.staff_id, "situation", situation, "kind", "evaluation");
		if (e == NULL) {
			evaluate_fail(ev, i, "level", "level: an integer");
			goto out;
		}
		if (json_is_string(json_object_get(item, "comment")))
			json_object_set(e, "comment", json_object_get(item, "comment"));
		if (s->host->record_create(s->self, ev->req, "evaluation", emp, e, &ev->err) <= 0) {
			char f[128];
			snprintf(f, sizeof(f), "%s", ev->err.field);
			json_decref(e);
			snprintf(ev->field, sizeof(ev->field), "evaluations[%zu]%s%s", i,
			    f[0] ? "." : "", f);
			goto out;
		}
		json_decref(e);
		ev->n++;
	}
	patch = json_pack("{s:s}", "status", "evaluated");
	rc = s->host->record_update(s->self, ev->req, "session", ev->id, patch, &ev->err);
	json_decref(patch);
out:
	json_decref(sess);
	return rc;
}

/*
 * POST /v1/skills/sessions/{id}/evaluate {evaluated_on, evaluations: [{employee_id,
 * competence_id, level, comment?}]}: each participant who attended, on the
 * session's competences, as evaluations in work situation; the session is evaluated.
 */
static void
post_evaluate(struct tremplin_request *req, void *arg)
{
	struct skills *s = arg;
	struct evaluate ev = { .s = s,
		.req = req,
		.id = s->host->request_id(req, 0),
		.body = s->host->request_body(req) };

	if (s->host->transaction(s->self, evaluate_txn, &ev) != 0) {
		int status = ev.err.status ? ev.err.status : 500;
		s->host->reply_error(req, status, ev.err.code ? ev.err.code : "internal",
		    ev.field[0] ? ev.field : (ev.err.field[0] ? ev.err.field : NULL), "%s",
		    ev.err.message[0] ? ev.err.message : "the session was not evaluated");
		return;
	}
	s->host->reply(req, 200,
	    json_pack("{s:I, s:s, s:i}", "id", (json_int_t)ev.id, "status", "evaluated",
	        "evaluations", ev.n));
}

static void html_text(
    struct tremplin_request *req, char **buf, size_t *len, size_t *cap, const char *t);

static void
para_add(json_t *paras, enum att_style style, const char *t)
{
	json_array_append_new(paras, json_pack("[i, s]", (int)style, t != NULL ? t : ""));
}

/* GET /v1/skills/sessions/{id}/file[?format=pdf]: the dossier de préparation, in French. */
static void
get_session_file(struct tremplin_request *req, void *arg)
{
	static const char *const method_fr[][2] = { { "explanation", "explication" },
		{ "demonstration", "démonstration" }, { "guided_practice", "pratique guidée" },
		{ "autonomous_practice", "pratique autonome" }, { "discussion", "échange" },
		{ "evaluation", "évaluation" } };
	static const char *const parts[][2] = { { "objectives", "3. Objectifs pédagogiques" },
		{ "criteria", "4. Critères d'évaluation" } };
	static const char *const parts2[][2] = { { "difficulties",
		                                     "6. Difficultés possibles et remédiations" },
		{ "resources", "7. Ressources matérielles et pédagogiques" },
		{ "evaluation_methods", "8. Modalités et outils d'évaluation" } };
	static const char comps_sql[] = "SELECT coalesce(c.external_code, c.code), c.title, c.kind "
	                                "FROM skills_session_competences l"
	                                " JOIN skills_competences c ON c.id = l.competence_id "
	                                "WHERE l.session_id = ?1 ORDER BY l.id";
	static const char steps_sql[] = "SELECT position, contents, method, duration_min"
	                                " FROM skills_session_steps WHERE session_id = ?1"
	                                " ORDER BY position, id";
	struct skills *s = arg;
	int64_t id = s->host->request_id(req, 0);
	struct tremplin_error e = { 0 };
	json_t *sess = s->host->record_get(s->self, req, "session", id, &e);
	const char *format = s->host->request_query(req, "format");
	int pdf = format != NULL && strcmp(format, "pdf") == 0;
	char *b = NULL, day[16], num[32];
	size_t len = 0, cap = 0, total = 0;
	sqlite3_stmt *st;
	/* The same dossier as paragraphs, for the PDF: texts owned by paras_text. */
	json_t *paras = json_array();

	if (format != NULL && !pdf && strcmp(format, "html") != 0) {
		json_decref(sess);
		json_decref(paras);
		s->host->reply_error(req, 400, "bad_request", "format", "format: html or pdf");
		return;
	}
	if (sess == NULL) {
		json_decref(paras);
		s->host->reply_error(req, e.status ? e.status : 404, e.code ? e.code : "not_found",
		    NULL, "%s", e.message[0] ? e.message : "no such session");
		return;
	}
#define OUT(t) html_text(NULL, &b, &len, &cap, (t))
#define TXT(t) html_text(req, &b, &len, &cap, (t))
#define PARA(style, t) para_add(paras, (style), (t))
	OUT("<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
	    "Dossier de préparation de séance</title>\n<style>body{font-family:sans-serif;"
	    "max-width:48em;margin:2em auto}table{border-collapse:collapse;width:100%}"
	    "td,th{border:1px solid #999;padding:.3em}@media print{body{margin:0}}</style>\n"
	    "</head>\n<body>\n<h1>Dossier de préparation de séance d'apprentissage</h1>\n");
	PARA(ATT_TITLE, "Dossier de préparation de séance d'apprentissage");
	if (json_is_string(json_object_get(sess, "planned_on"))) {
		char line[300];
		snprintf(line, sizeof(line), "Séance prévue le %s%s%s.",
		    att_date_fr(
		        json_string_value(json_object_get(sess, "planned_on")), day, sizeof(day)),
		    json_is_string(json_object_get(sess, "place")) ? ", lieu : " : "",
		    json_is_string(json_object_get(sess, "place"))
		        ? json_string_value(json_object_get(sess, "place"))
		        : "");
		PARA(ATT_BODY, line);
		OUT("<p>Séance prévue le ");
		TXT(att_date_fr(
		    json_string_value(json_object_get(sess, "planned_on")), day, sizeof(day)));
		if (json_is_string(json_object_get(sess, "place"))) {
			OUT(", lieu : ");
			TXT(json_string_value(json_object_get(sess, "place")));
		}
		OUT(".</p>\n");
	}
	PARA(ATT_HEADING, "1. Tâche à réaliser");
	PARA(ATT_BODY, json_string_value(json_object_get(sess, "title")));
	PARA(ATT_BODY, json_string_value(json_object_get(sess, "work_situation")));
	PARA(ATT_HEADING, "2. Savoirs, savoir-faire et comportements nécessaires");
	OUT("<h2>1. Tâche à réaliser</h2>\n<p><strong>");
	TXT(json_string_value(json_object_get(sess, "title")));
	OUT("</strong></p>\n<p>Situation de travail : ");
	TXT(json_string_value(json_object_get(sess, "work_situation")));
	OUT("</p>\n<h2>2. Savoirs, savoir-faire et comportements nécessaires</h2>\n<ul>\n");
	if ((st = s->host->stmt(s->self, comps_sql)) != NULL) {
		sqlite3_bind_int64(st, 1, id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			char line[600];
			snprintf(line, sizeof(line), "• %s — %s (%s)", sqlite3_column_text(st, 0),
			    sqlite3_column_text(st, 1),
			    att_kind_fr((const char *)sqlite3_column_text(st, 2)));
			PARA(ATT_ITEM, line);
			OUT("<li>");
			TXT((const char *)sqlite3_column_text(st, 0));
			OUT(" — ");
			TXT((const char *)sqlite3_column_text(st, 1));
			OUT(" (");
			TXT(att_kind_fr((const char *)sqlite3_column_text(st, 2)));
			OUT(")</li>\n");
		}
		s->host->stmt_done(st);
	}
	OUT("</ul>\n");
	for (size_t i = 0; i < 2; i++) {
		PARA(ATT_HEADING, parts[i][1]);
		PARA(ATT_BODY, json_string_value(json_object_get(sess, parts[i][0])));
		OUT("<h2>");
		OUT(parts[i][1]);
		OUT("</h2>\n<p>");
		TXT(json_string_value(json_object_get(sess, parts[i][0])));
		OUT("</p>\n");
	}
	PARA(ATT_HEADING, "5. Scénario pédagogique");
	OUT("<h2>5. Scénario pédagogique</h2>\n<table><thead><tr><th>Étape</th><th>Contenus</th>"
	    "<th>Méthode</th><th>Durée</th></tr></thead><tbody>\n");
	if ((st = s->host->stmt(s->self, steps_sql)) != NULL) {
		sqlite3_bind_int64(st, 1, id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *m = (const char *)sqlite3_column_text(st, 2), *mfr = m;
			char line[4200];
			for (size_t k = 0; k < sizeof(method_fr) / sizeof(method_fr[0]); k++)
				if (strcmp(method_fr[k][0], m) == 0)
					mfr = method_fr[k][1];
			snprintf(line, sizeof(line), "Étape %lld (%s, %lld min) : %s",
			    (long long)sqlite3_column_int64(st, 0), mfr,
			    (long long)sqlite3_column_int64(st, 3), sqlite3_column_text(st, 1));
			PARA(ATT_ITEM, line);
			snprintf(num, sizeof(num), "%lld", (long long)sqlite3_column_int64(st, 0));
			OUT("<tr><td>");
			OUT(num);
			OUT("</td><td>");
			TXT((const char *)sqlite3_column_text(st, 1));
			OUT("</td><td>");
			for (size_t k = 0; k < sizeof(method_fr) / sizeof(method_fr[0]); k++)
				if (strcmp(method_fr[k][0], m) == 0)
					TXT(method_fr[k][1]);
			snprintf(
			    num, sizeof(num), "%lld min", (long long)sqlite3_column_int64(st, 3));
			total += (size_t)sqlite3_column_int64(st, 3);
			OUT("</td><td>");
			OUT(num);
			OUT("</td></tr>\n");
		}
		s->host->stmt_done(st);
	}
	snprintf(num, sizeof(num), "%zu min", total);
	{
		char line[64];
		snprintf(line, sizeof(line), "Durée totale : %zu min", total);
		PARA(ATT_BODY, line);
	}
	OUT("</tbody></table>\n<p>Durée totale : ");
	OUT(num);
	OUT("</p>\n");
	for (size_t i = 0; i < 3; i++) {
		PARA(ATT_HEADING, parts2[i][1]);
		PARA(ATT_BODY, json_string_value(json_object_get(sess, parts2[i][0])));
		OUT("<h2>");
		OUT(parts2[i][1]);
		OUT("</h2>\n<p>");
		TXT(json_string_value(json_object_get(sess, parts2[i][0])));
		OUT("</p>\n");
	}
	OUT("</body>\n</html>\n");
#undef OUT
#undef TXT
#undef PARA
	json_decref(sess);
	if (pdf) {
		size_t n = json_array_size(paras), plen = 0;
		struct att_para *pp = calloc(n ? n : 1, sizeof(*pp));
		unsigned char *out = NULL;
		for (size_t i = 0; pp != NULL && i < n; i++) {
			json_t *x = json_array_get(paras, i);
			pp[i].style = (enum att_style)json_integer_value(json_array_get(x, 0));
			pp[i].text = json_string_value(json_array_get(x, 1));
		}
		if (pp != NULL && att_pdf_text("Dossier de préparation", pp, n, &out, &plen) == 0)
			s->host->reply_bytes(req, 200, "application/pdf", out, plen);
		else
			s->host->reply_error(req, 500, "internal", NULL, "the PDF failed");
		free(out);
		free(pp);
	} else if (b == NULL)
		s->host->reply_error(req, 500, "internal", NULL, "out of memory");
	else
		s->host->reply_bytes(req, 200, "text/html; charset=utf-8", b, len);
	free(b);
	json_decref(paras);
}

/* Append t to the page, escaped for HTML when req is not NULL (a marker, not a use). */
static void
html_text(struct tremplin_request *req, char **buf, size_t *len, size_t *cap, const char *t)
{
	const char *p;

	if (t == NULL)
		t = "";
	if (*buf == NULL && *cap == 1)
		return;
	for (p = t; *p; p++) {
		const char *rep = NULL;
		char one[2] = { *p, '\0' };
		if (req != NULL)
			rep = *p == '&' ? "&amp;"
			    : *p == '<' ? "&lt;"
			    : *p == '>' ? "&gt;"
			    : *p == '"' ? "&quot;"
			                : NULL;
		if (rep == NULL)
			rep = one;
		size_t n = strlen(rep);
		if (*len + n + 1 > *cap) {
			size_t c = *cap ? *cap * 2 : 8192;
			while (c < *len + n + 1)
				c *= 2;
			char *nb = realloc(*buf, c);
			if (nb == NULL) {
				free(*buf);
				*buf = NULL;
				*len = 0;
				*cap = 1; /* failed: nothing more is appended */
				return;
			}
			*buf = nb;
			*cap = c;
		}
		memcpy(*buf + *len, rep, n);
		*len += n;
		(*buf)[*len] = '\0';
	}
}

/* ---- life cycle ---- */

static const char *const matrix_query[] = { "referential_id", "eti_id", NULL };
static const char *const export_query[] = { "format", NULL };
static const char *const file_query[] = { "format", NULL };
static const char *const rome_query[] = { "status", NULL };

static int
skills_init(const struct tremplin_host *host, struct tremplin_plugin *self, void **ctx)
{
	struct skills *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -1;
	s->host = host;
	s->self = self;
	if ((s->dir = strdup(SYSCONFDIR "/tremplin/skills")) == NULL) {
		free(s);
		return -1;
	}
	*ctx = s;
	const struct tremplin_route_spec routes[] = {
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_POST,
		    .path = "/referentials/import",
		    .roles = TREMPLIN_ROLE_ETI,
		    .flags = TREMPLIN_ROUTE_BODY,
		    .fn = post_import,
		    .arg = s },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_GET,
		    .path = "/rome_proposals",
		    .roles = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_COORDINATOR,
		    .query = rome_query,
		    .fn = get_rome_proposals,
		    .arg = s },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_POST,
		    .path = "/rome_proposals/{id}/accept",
		    .roles = TREMPLIN_ROLE_ETI,
		    .fn = post_rome_accept,
		    .arg = s },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_POST,
		    .path = "/rome_proposals/{id}/reject",
		    .roles = TREMPLIN_ROLE_ETI,
		    .fn = post_rome_reject,
		    .arg = s },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_POST,
		    .path = "/referentials/load",
		    .roles = TREMPLIN_ROLE_ETI,
		    .flags = TREMPLIN_ROUTE_BODY,
		    .fn = post_load,
		    .arg = s },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_GET,
		    .path = "/referentials/{id}/export",
		    .roles = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR,
		    .query = export_query,
		    .fn = get_export,
		    .arg = s },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_GET,
		    .path = "/employees/{id}/progression",
		    .roles = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR,
		    .flags = TREMPLIN_ROUTE_PERSONAL,
		    .fn = get_progression,
		    .arg = s },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_GET,
		    .path = "/attestations/{id}/html",
		    .roles = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR,
		    .flags = TREMPLIN_ROUTE_PERSONAL,
		    .fn = get_attestation_html,
		    .arg = s },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_GET,
		    .path = "/attestations/{id}/pdf",
		    .roles = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR,
		    .flags = TREMPLIN_ROUTE_PERSONAL,
		    .fn = get_attestation_pdf,
		    .arg = s },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_GET,
		    .path = "/issuer",
		    .roles = TREMPLIN_ROLES_STAFF,
		    .fn = get_issuer,
		    .arg = s },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_GET,
		    .path = "/issuer/revocations",
		    .roles = TREMPLIN_ROLES_STAFF,
		    .fn = get_revocations,
		    .arg = s },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_POST,
		    .path = "/sessions/{id}/copy",
		    .roles = TREMPLIN_ROLE_ETI,
		    .fn = post_copy,
		    .arg = s },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_POST,
		    .path = "/sessions/{id}/evaluate",
		    .roles = TREMPLIN_ROLE_ETI,
		    .flags = TREMPLIN_ROUTE_BODY | TREMPLIN_ROUTE_PERSONAL,
		    .fn = post_evaluate,
		    .arg = s },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_GET,
		    .path = "/sessions/{id}/file",
		    .roles = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR,
		    .query = file_query,
		    .fn = get_session_file,
		    .arg = s },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_GET,
		    .path = "/matrix",
		    .roles = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR,
		    .flags = TREMPLIN_ROUTE_PERSONAL,
		    .query = matrix_query,
		    .fn = get_matrix,
		    .arg = s },
	};
	if (host->migrations(self, skills_migrations, skills_nmigrations) != 0 ||
	    host->record(self, &referential, s) != 0 || host->record(self, &competence, s) != 0 ||
	    host->record(self, &evaluation, s) != 0 || host->record(self, &attestation, s) != 0 ||
	    host->record(self, &badge, s) != 0 || host->record(self, &session, s) != 0 ||
	    host->record(self, &session_step, s) != 0 ||
	    host->record(self, &session_competence, s) != 0 ||
	    host->record(self, &participation, s) != 0 ||
	    host->view_register(self, &acquired_view) != 0 ||
	    host->view_register(self, &stale_view) != 0 ||
	    host->view_register(self, &competences_view) != 0 ||
	    host->subscribe(self, "contracts", "contract.*", on_contract, s) != 0 ||
	    host->subscribe(self, "employees", "employee.*", on_employee, s) != 0)
		goto fail;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (host->route(self, &routes[i]) != 0)
			goto fail;
	return 0;
fail:
	free(s->dir);
	free(s);
	*ctx = NULL;
	return -1;
}

/* A setting's string: NULL when it is not a non-empty string of at most max bytes. */
static const char *
setting_string(json_t *v, size_t max)
{
	return json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= max
	    ? json_string_value(v)
	    : NULL;
}

/* Check everything first; take the new values only when all are good. */
static int
skills_config(void *ctx, json_t *section, char *err, size_t errlen)
{
	struct skills *s = ctx;
	const char *key, *dir = SYSCONFDIR "/tremplin/skills", *keyfile = NULL, *url = NULL;
	const char *name = NULL;
	long long level = 0;
	struct badge_key *k = NULL;
	json_t *v;
	char *copy[3];

	json_object_foreach (section, key, v) {
		if (strcmp(key, "referentials_dir") == 0) {
			if ((dir = setting_string(v, 900)) == NULL) {
				snprintf(
				    err, errlen, "referentials_dir: expected a directory's path");
				return -1;
			}
		} else if (strcmp(key, "badge_key_file") == 0) {
			if ((keyfile = setting_string(v, 900)) == NULL) {
				snprintf(err, errlen, "badge_key_file: expected a file's path");
				return -1;
			}
		} else if (strcmp(key, "badge_issuer_url") == 0) {
			url = setting_string(v, 900);
			if (url == NULL || strncmp(url, "https://", 8) != 0 || url[8] == '\0' ||
			    url[strlen(url) - 1] == '/' || strpbrk(url, " \"<>\\") != NULL) {
				snprintf(err, errlen,
				    "badge_issuer_url: expected the structure's https:// address, "
				    "without a final /");
				return -1;
			}
		} else if (strcmp(key, "badge_issuer_name") == 0) {
			if ((name = setting_string(v, 200)) == NULL) {
				snprintf(err, errlen,
				    "badge_issuer_name: expected the structure's name");
				return -1;
			}
		} else if (strcmp(key, "badge_min_level") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > SKILLS_LEVELS_MAX) {
				snprintf(
				    err, errlen, "badge_min_level: expected a level from 1 to 8");
				return -1;
			}
			level = json_integer_value(v);
		} else {
			snprintf(err, errlen, "%s: unknown setting", key);
			return -1;
		}
	}
	if ((keyfile != NULL) != (url != NULL) || (name != NULL && keyfile == NULL)) {
		snprintf(err, errlen,
		    "%s: Open Badges need badge_key_file, badge_issuer_url "
		    "and badge_issuer_name together",
		    keyfile ? "badge_issuer_url" : "badge_key_file");
		return -1;
	}
	if (keyfile != NULL && name == NULL) {
		snprintf(err, errlen, "badge_issuer_name: required with badge_key_file");
		return -1;
	}
	if (keyfile != NULL) {
		char why[300];
		if ((k = badge_key_load(keyfile, why, sizeof(why))) == NULL) {
			snprintf(err, errlen, "badge_key_file: %s", why);
			return -1;
		}
	}
	copy[0] = strdup(dir);
	copy[1] = url ? strdup(url) : NULL;
	copy[2] = name ? strdup(name) : NULL;
	if (copy[0] == NULL || (url && copy[1] == NULL) || (name && copy[2] == NULL)) {
		for (int i = 0; i < 3; i++)
			free(copy[i]);
		badge_key_free(k);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(s->dir);
	free(s->issuer_url);
	free(s->issuer_name);
	badge_key_free(s->key);
	s->dir = copy[0];
	s->issuer_url = copy[1];
	s->issuer_name = copy[2];
	s->key = k;
	s->badge_level = level;
	return 0;
}

static int
skills_start(void *ctx)
{
	struct reconcile r = { .s = ctx };

	/* A failure leaves the copy as the events made it: logged, the plugin runs on. */
	if (r.s->host->transaction(r.s->self, reconcile_txn, &r) == 0)
		r.s->host->log(r.s->self, TREMPLIN_LOG_INFO,
		    "%zu contracts of the pathway read from the kernel", r.contracts);
	else
		r.s->host->log(r.s->self, TREMPLIN_LOG_WARNING,
		    "the kernel's contracts could not be read: the skills' copy is kept as it was");
	return 0;
}

static void
skills_stop(void *ctx)
{
	struct skills *s = ctx;

	if (s != NULL) {
		free(s->dir);
		free(s->issuer_url);
		free(s->issuer_name);
		badge_key_free(s->key);
	}
	free(s);
	att_shutdown();
}

TREMPLIN_PLUGIN(.name = "skills", .version = "0.1.0",
    .description = "referentials of competences, evaluations in work situations, progression",
    .init = skills_init, .config = skills_config, .start = skills_start, .stop = skills_stop);
