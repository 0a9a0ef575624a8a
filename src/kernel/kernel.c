/*
 * The kernel: a person's file, contracts, PASS IAE and follow-up, and the
 * structures and staff accounts they hang on, as an embedded module. It registers its records and its hand-written routes
 * through the plugin host table, the same calls a plugin makes, so that
 * the framework the plugins get is the one the kernel itself lives on.
 */
#include "kernel.h"

#include <tremplin/plugin.h>

#include "handlers.h"
#include "util.h"

/* The records, in the order they hang on each other: the person first. */
const struct tremplin_record *const kernel_records[] = {
	/* Records of nobody's first: the structures and the staff accounts. */
	&rec_structure,
	&rec_staff,
	&rec_employee,
	&rec_welcome,
	&rec_barrier,
	&rec_observation,
	&rec_goal,
	&rec_review,
	&rec_note,
	&rec_exit,
	&rec_contract,
	&rec_contract_renewal,
	&rec_contract_suspension,
	&rec_ai_placement,
	&rec_pass,
	&rec_pass_suspension,
	&rec_pass_prolongation,
};
const size_t nkernel_records = TR_NELEM(kernel_records);

static void
route_export(struct tremplin_request *r, void *arg)
{
	(void)arg;
	employee_export(r);
}

static void
route_erase(struct tremplin_request *r, void *arg)
{
	(void)arg;
	employee_erase(r);
}

static void
route_welcome(struct tremplin_request *r, void *arg)
{
	(void)arg;
	welcome_checklist(r);
}

static void
route_ai_hours(struct tremplin_request *r, void *arg)
{
	(void)arg;
	contracts_ai_hours(r);
}

static void
route_pass(struct tremplin_request *r, void *arg)
{
	(void)arg;
	passes_get(r);
}

#define PERSONAL TREMPLIN_ROUTE_PERSONAL
#define STAFF TREMPLIN_ROLES_STAFF
static const char *const on_param[] = { "on", NULL };
static const char *const date_param[] = { "date", NULL };

/* What no declaration says: the checklist view, a person's rights, the AI hours, a PASS on a day. */
static const struct tremplin_route_spec routes[] = {
	{ sizeof(struct tremplin_route_spec), TREMPLIN_GET, "/employees/{id}/export", STAFF,
	    PERSONAL, NULL, route_export, NULL },
	{ sizeof(struct tremplin_route_spec), TREMPLIN_DELETE, "/employees/{id}", STAFF,
	    PERSONAL | TREMPLIN_ROUTE_BODY, NULL, route_erase, NULL },
	{ sizeof(struct tremplin_route_spec), TREMPLIN_GET, "/employees/{id}/welcome", STAFF,
	    PERSONAL, NULL, route_welcome, NULL },
	{ sizeof(struct tremplin_route_spec), TREMPLIN_GET, "/employees/{id}/ai_hours", STAFF,
	    PERSONAL, date_param, route_ai_hours, NULL },
	{ sizeof(struct tremplin_route_spec), TREMPLIN_GET, "/passes/{id}", STAFF, PERSONAL,
	    on_param, route_pass, NULL },
};

static int
kernel_init(const struct tremplin_host *host, struct tremplin_plugin *self, void **ctx)
{
	*ctx = NULL;
	if (host->migrations(self, kernel_migrations, nkernel_migrations) != 0)
		return -1;
	for (size_t i = 0; i < nkernel_formerly; i++)
		if (host->migration_formerly(self, kernel_formerly[i].version,
		        kernel_formerly[i].module, kernel_formerly[i].old_version) != 0)
			return -1;
	for (size_t i = 0; i < nkernel_records; i++)
		if (host->record(self, kernel_records[i], NULL) != 0)
			return -1;
	for (size_t i = 0; i < TR_NELEM(routes); i++)
		if (host->route(self, &routes[i]) != 0)
			return -1;
	for (size_t i = 0; i < nworklist_routes; i++)
		if (host->route(self, &worklist_routes[i]) != 0)
			return -1;
	if (host->route(self, &indicator_route) != 0)
		return -1;
	return 0;
}

static int
kernel_start(void *ctx)
{
	(void)ctx;
	return 0;
}

static void
kernel_stop(void *ctx)
{
	(void)ctx;
}

const struct tremplin_plugin_desc kernel_module = {
	.abi = TREMPLIN_PLUGIN_ABI,
	.size = sizeof(struct tremplin_plugin_desc),
	.built_for = TREMPLIN_VERSION,
	.name = "kernel",
	.version = PACKAGE_VERSION,
	.description = "a person's file, contracts, PASS IAE and follow-up",
	.init = kernel_init,
	.start = kernel_start,
	.stop = kernel_stop,
};
