/*
 * A stand-in for the production plugin, for the alert rules' tests
 * (tests/integration/test_rules.py): it is named "production" and serves the
 * two views CONTRACTS.md names, production.incidents.v1 and
 * production.hours_below_contract.v1, from tables the tests fill.
 */
#include <stdlib.h>

#include <tremplin/plugin.h>

static const struct tremplin_migration migrations[] = {
	{ 1,
	    "CREATE TABLE production_incidents (incident_id INTEGER PRIMARY KEY,"
	    " occurred_on TEXT NOT NULL, kind TEXT NOT NULL, structure_id INTEGER NOT NULL,"
	    " hurt_employee_id INTEGER);"
	    "CREATE TABLE production_below (employee_id INTEGER PRIMARY KEY,"
	    " weeks_below INTEGER NOT NULL, contract_weekly_hours REAL NOT NULL,"
	    " last_week_hours REAL NOT NULL);" },
};

static const struct tremplin_view_param since_params[] = {
	{ .name = "since", .type = TREMPLIN_VIEW_DATE, .required = 1 },
};
static const struct tremplin_view_param below_params[] = {
	{ .name = "date", .type = TREMPLIN_VIEW_DATE, .required = 1 },
	{ .name = "weeks", .type = TREMPLIN_VIEW_INT, .required = 1, .min = 1, .max = 52 },
};
static const char *const safety[] = { "safety", NULL };
static const char *const attendance[] = { "attendance", NULL };

static const struct tremplin_view incidents = {
	.size = sizeof(struct tremplin_view),
	.name = "production.incidents.v1",
	.description = "incidents since a day",
	.sql = "SELECT incident_id, occurred_on, kind, structure_id, hurt_employee_id"
	       " FROM production_incidents WHERE occurred_on >= :since ORDER BY incident_id",
	.params = since_params,
	.nparams = 1,
	.roles = TREMPLIN_ROLE_COORDINATOR,
	.categories = safety,
};

static const struct tremplin_view below = {
	.size = sizeof(struct tremplin_view),
	.name = "production.hours_below_contract.v1",
	.description = "people below their contract's hours for weeks",
	.sql = "SELECT employee_id, weeks_below, contract_weekly_hours, last_week_hours"
	       " FROM production_below WHERE :date IS NOT NULL AND weeks_below >= :weeks"
	       " ORDER BY employee_id",
	.params = below_params,
	.nparams = 2,
	.roles = TREMPLIN_ROLE_COORDINATOR,
	.categories = attendance,
};

static int
fake_init(const struct tremplin_host *host, struct tremplin_plugin *self, void **ctx)
{
	*ctx = NULL;
	return host->migrations(self, migrations, 1) != 0 ||
	        host->view_register(self, &incidents) != 0 || host->view_register(self, &below) != 0
	    ? -1
	    : 0;
}

static int
fake_start(void *ctx)
{
	(void)ctx;
	return 0;
}

static void
fake_stop(void *ctx)
{
	(void)ctx;
}

TREMPLIN_PLUGIN(.name = "production", .version = "0.0.1",
    .description = "a stand-in for the production plugin's views (tests)", .init = fake_init,
    .start = fake_start, .stop = fake_stop);
