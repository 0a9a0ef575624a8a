/*
 * The validation of a resource's input, as resource_create and
 * resource_update make it: the body through json_parse_body, then the
 * column checks (resource_check_input) and, on a create, the resource's
 * cross-field rules, against an in-memory database with two staff accounts.
 * The first byte picks the resource, the second the caller and create or
 * patch; the rest is the body. The single-value checks of validate.c get
 * the body's text too.
 */
#include "fuzz.h"

#include <jansson.h>

#include "api.h"
#include "config.h"
#include "db.h"
#include "handlers.h"
#include "json.h"
#include "resource.h"
#include "server.h"
#include "validate.h"

static const char conf_text[] = "socket = \"/nonexistent/t.sock\"\n"
                                "database = \"/nonexistent/t.db\"\n";

static struct server srv;

static void
setup(void)
{
	const struct db_module *mods[] = { &core_module };
	char err[512];

	FUZZ_CHECK(db_open(":memory:", &srv.db, err, sizeof(err)) == 0);
	FUZZ_CHECK(db_migrate(srv.db, mods, 1, err, sizeof(err)) == 0);
	FUZZ_CHECK(sqlite3_exec(db_handle(srv.db),
	               "INSERT INTO staff (id, name, unix_user, role, created_at, updated_at) "
	               "VALUES (1, 'Une CIP', 'cip1', 'cip', '2026-01-01T00:00:00Z', "
	               "'2026-01-01T00:00:00Z'), (2, 'Un ETI', 'eti1', 'eti', "
	               "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');",
	               NULL, NULL, NULL) == SQLITE_OK);
	FUZZ_CHECK(config_load_buffer("fuzz.conf", conf_text, sizeof(conf_text) - 1, 0600,
	               &srv.conf, err, sizeof(err)) == 0);
	resources_init();
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
base_row(const struct resource *res)
{
	json_t *o = json_object();

	for (size_t i = 0; i < res->ncols; i++)
		if (res->cols[i].def != NULL) {
			json_t *v = json_loads(res->cols[i].def, JSON_DECODE_ANY, NULL);
			FUZZ_CHECK(v != NULL);
			json_object_set_new(o, res->cols[i].name, v);
		}
	if (res->parent != NULL)
		json_object_set_new(o, res->parent_col, json_integer(1));
	else if (res->child)
		json_object_set_new(o, "employee_id", json_integer(1));
	return o;
}

static void
check_error(const struct input_error *e)
{
	FUZZ_CHECK(e->code != NULL);
	FUZZ_CHECK(e->status == 400 || e->status == 403 || e->status == 422);
	FUZZ_CHECK(memchr(e->message, '\0', sizeof(e->message)) != NULL);
	FUZZ_CHECK(memchr(e->field, '\0', sizeof(e->field)) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct resource *res;
	struct api_req r;
	struct access a;
	struct input_error e;
	json_t *body, *before = NULL, *merged;
	unsigned cats = 0;
	int create;

	if (srv.db == NULL)
		setup();
	if (size < 2)
		return 0;
	res = all_resources[data[0] % nall_resources];
	memset(&r, 0, sizeof(r));
	r.srv = &srv;
	r.who.role = (enum role)(ROLE_ETI + data[1] % 4);
	r.who.staff_id = r.who.role == ROLE_ETI ? 2 : 1;
	r.ids[0] = 1;
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
	merged = base_row(res);
	if (create)
		json_object_update(merged, body);
	else {
		before = json_deep_copy(merged);
		json_merge_patch(merged, body);
	}
	if (resource_check_input(&r, res, &a, body, before, merged, &cats, &e) == -1)
		check_error(&e);
	else {
		FUZZ_CHECK(cats < 1u << CAT_MAX);
		/* The cross-field rules take a whole row: on a create, check_input saw to it. */
		if (create && res->check != NULL && res->check(&r, merged, NULL, &e) == -1)
			check_error(&e);
	}
	json_decref(before);
	json_decref(merged);
	json_decref(body);
	return 0;
}
