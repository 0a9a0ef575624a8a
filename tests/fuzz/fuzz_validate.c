/*
 * The validation of a resource's input, as resource_create and
 * resource_update make it: the body through json_parse_body, then the
 * column checks (resource_check_input) and, on a create, the resource's
 * cross-field rules, against an in-memory database with two staff accounts,
 * an ACI with a person (id 1), her contract and her PASS, and an AI with a
 * person and a contract (id 2).
 * The first byte picks the resource, the second the caller, create or patch,
 * and the person or parent (1 or 2); the rest is the body. The single-value checks of validate.c get
 * the body's text too.
 */
#include "fuzz.h"

#include <jansson.h>

#include "api.h"
#include "config.h"
#include "db.h"
#include "handlers.h"
#include "json.h"
#include "kernel/kernel.h"
#include "resource.h"
#include "server.h"
#include "validate.h"

static const char conf_text[] = "socket = \"/nonexistent/t.sock\"\n"
                                "database = \"/nonexistent/t.db\"\n";

static struct server srv;

static void
setup(void)
{
	const struct db_module *mods[] = { &core_module, kernel_db_module() };
	char err[512];

	FUZZ_CHECK(db_open(":memory:", &srv.db, err, sizeof(err)) == 0);
	FUZZ_CHECK(db_migrate(srv.db, mods, 2, err, sizeof(err)) == 0);
	FUZZ_CHECK(sqlite3_exec(db_handle(srv.db),
	               "INSERT INTO staff (id, name, unix_user, role, created_at, updated_at) "
	               "VALUES (1, 'Une CIP', 'cip1', 'cip', '2026-01-01T00:00:00Z', "
	               "'2026-01-01T00:00:00Z'), (2, 'Un ETI', 'eti1', 'eti', "
	               "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');"
	               "INSERT INTO structures (id, name, siret, kind, created_at, updated_at) "
	               "VALUES (1, 'ACI', '73282932000074', 'ACI', '2026-01-01T00:00:00Z', "
	               "'2026-01-01T00:00:00Z'), (2, 'AI', '35600000000048', 'AI', "
	               "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');"
	               "INSERT INTO employees (id, structure_id, first_name, last_name, "
	               "birth_date, prescriber_kind, referent_cip_id, referent_eti_id, status, "
	               "last_contact_at, created_at, updated_at) VALUES (1, 1, 'Léa', 'Martin', "
	               "'1990-02-28', 'spip', 1, 2, 'in_pathway', '2026-01-01T00:00:00Z', "
	               "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'), (2, 2, 'Paul', 'Durand', "
	               "'1970-06-30', 'cap_emploi', 1, 2, 'in_pathway', '2026-01-01T00:00:00Z', "
	               "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');"
	               "INSERT INTO contracts (id, employee_id, structure_id, start_date, "
	               "end_date, initial_end_date, weekly_hours, created_at, updated_at) VALUES "
	               "(1, 1, 1, '2026-01-05', '2026-07-04', '2026-07-04', 26, "
	               "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'), (2, 2, 2, '2026-01-05', "
	               "'2026-12-31', '2026-12-31', 10, '2026-01-01T00:00:00Z', "
	               "'2026-01-01T00:00:00Z');"
	               "INSERT INTO passes (id, employee_id, number, start_date, initial_end_date, "
	               "created_at, updated_at) VALUES (1, 1, '999992312345', '2026-01-05', "
	               "'2028-01-04', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');",
	               NULL, NULL, NULL) == SQLITE_OK);
	FUZZ_CHECK(config_load_buffer("fuzz.conf", conf_text, sizeof(conf_text) - 1, 0600,
	               &srv.conf, err, sizeof(err)) == 0);
	for (size_t i = 0; i < nkernel_records; i++)
		FUZZ_CHECK(resource_register(NULL, srv.db,
		               &(struct resource_module){ &srv, "kernel", "/v1", 1 },
		               kernel_records[i], NULL, err, sizeof(err)) == 0);
}

static void
check_values(const char *s)
{
	static const char *const kinds[] = { "ACI", "AI", "EI", "ETTI", "EITI" };

	valid_siret(s);
	valid_structure_kind(s);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (valid_annexe_financiere(s, kinds[i]) == NULL)
			FUZZ_CHECK(strncmp(s, kinds[i], strlen(kinds[i])) == 0);
	if (valid_email(s) == NULL)
		FUZZ_CHECK(strchr(s, '@') != NULL && strlen(s) <= 254);
	if (valid_unix_user(s) == NULL)
		FUZZ_CHECK(strlen(s) >= 1 && strlen(s) <= 32);
	valid_label(s, 200);
	valid_label(s, 1);
	if (valid_date(s))
		FUZZ_CHECK(strlen(s) == 10);
}

/* The row as it stands before the input: the columns' defaults and its owner. */
static json_t *
base_row(const struct resource *res, int64_t id)
{
	json_t *o = json_object();

	for (size_t i = 0; i < res->ncols; i++)
		if (res->cols[i].def != NULL) {
			json_t *v = json_loads(res->cols[i].def, JSON_DECODE_ANY, NULL);
			FUZZ_CHECK(v != NULL);
			json_object_set_new(o, res->cols[i].name, v);
		}
	if (res->parent != NULL)
		json_object_set_new(o, res->parent_col, json_integer(id));
	else if (res->person_col != NULL && !res->is_person)
		json_object_set_new(o, res->person_col, json_integer(id));
	return o;
}

static void
check_error(const struct tremplin_error *e)
{
	FUZZ_CHECK(e->code != NULL);
	FUZZ_CHECK(e->status == 400 || e->status == 403 || e->status == 409 || e->status == 422 ||
	    e->status == 503);
	FUZZ_CHECK(memchr(e->message, '\0', sizeof(e->message)) != NULL);
	FUZZ_CHECK(memchr(e->field, '\0', sizeof(e->field)) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct resource *res;
	struct tremplin_request r;
	struct access a;
	struct tremplin_error e;
	json_t *body, *before = NULL, *merged;
	unsigned cats = 0;
	int create;

	if (srv.db == NULL)
		setup();
	if (size < 2)
		return 0;
	res = resource_at(data[0] % resource_count());
	memset(&r, 0, sizeof(r));
	r.srv = &srv;
	r.who.role = (enum role)(ROLE_ETI + data[1] % 4);
	r.who.staff_id = r.who.role == ROLE_ETI ? 2 : 1;
	r.ids[0] = (data[1] >> 5) & 1 ? 2 : 1;
	r.nids = 1;
	memset(&a, 0, sizeof(a));
	a.role = r.who.role;
	a.staff_id = r.who.staff_id;
	a.referent_cip = (data[1] >> 2) & 1;
	a.referent_eti = (data[1] >> 3) & 1;
	create = !((data[1] >> 4) & 1);

	{
		char *s = fuzz_cstr(data + 2, size - 2);
		check_values(s);
		free(s);
	}
	body = json_parse_body((const char *)data + 2, size - 2, &e);
	if (body == NULL)
		return 0;
	merged = base_row(res, r.ids[0]);
	if (create)
		json_object_update(merged, body);
	else {
		before = json_deep_copy(merged);
		json_merge_patch(merged, body);
	}
	e.code = NULL;
	if (resource_check_input(&r, res, &a, body, before, merged, &cats, &e) == -1)
		check_error(&e);
	else {
		FUZZ_CHECK(cats < 1u << CAT_MAX);
		/* The cross-field rules take a whole row: on a create, check_input saw to it. */
		if (create && res->decl->check != NULL &&
		    res->decl->check(&r, merged, NULL, &e, res->arg) == -1)
			check_error(&e);
	}
	/* To see where seeds get: FUZZ_VERBOSE=1 build/fuzz/tests/fuzz/fuzz_validate FILE... */
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "%s %s as %s: %s\n", create ? "create" : "patch", res->name,
		    role_name(r.who.role), e.code ? e.message : "accepted");
	json_decref(before);
	json_decref(merged);
	json_decref(body);
	return 0;
}
