/* The kernel's records and its module descriptor (kernel.c). */
#ifndef TREMPLIN_KERNEL_H
#define TREMPLIN_KERNEL_H

#include <tremplin/plugin.h>

#include "db.h"

struct tremplin_request;

/* Hand-written routes the kernel registers beside its records' derived ones. */
/* GET /v1/employees/{id}/welcome: the checklist, done or not (followup.c). */
void welcome_checklist(struct tremplin_request *);
/* GET /v1/employees/{id}/ai_hours: an AI employee's hours with companies (contracts.c). */
void contracts_ai_hours(struct tremplin_request *);
/* GET /v1/passes/{id}[?on=]: a PASS IAE and its status on a day (passes.c). */
void passes_get(struct tremplin_request *);
/* The person's rights (rights.c): GET /v1/employees/{id}/export, DELETE /v1/employees/{id}. */
void employee_export(struct tremplin_request *);
void employee_erase(struct tremplin_request *);

/* GET /v1/worklists/...: lists across files (worklists.c). */
extern const struct tremplin_route_spec worklist_routes[];
extern const size_t nworklist_routes;
/* GET /v1/indicators: figures for funders (indicators.c). */
extern const struct tremplin_route_spec indicator_route;

/* Columns every kernel record has. */
#define KERNEL_ID                                                                                  \
	{                                                                                          \
		.name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER               \
	}
#define KERNEL_PERSON                                                                              \
	{                                                                                          \
		.name = "employee_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER      \
	}
#define KERNEL_CREATED_AT                                                                          \
	{                                                                                          \
		.name = "created_at", .type = TREMPLIN_COL_TEXT,                                   \
		.flags = TREMPLIN_COL_SERVER | TREMPLIN_COL_CREATED                                \
	}
#define KERNEL_UPDATED_AT                                                                          \
	{                                                                                          \
		.name = "updated_at", .type = TREMPLIN_COL_TEXT,                                   \
		.flags = TREMPLIN_COL_SERVER | TREMPLIN_COL_STAMP                                  \
	}

/*
 * The kernel's schema (kernel_schema.c): its migrations, declared in init,
 * and where its first steps were applied before (the core module's).
 */
extern const struct tremplin_migration kernel_migrations[];
extern const size_t nkernel_migrations;
extern const struct migration_formerly kernel_formerly[];
extern const size_t nkernel_formerly;
/* The same as a module for db_migrate, for what builds a database without the loader. */
const struct db_module *kernel_db_module(void);

/* Registered by the loader before any plugin, with its routes under /v1. */
extern const struct tremplin_plugin_desc kernel_module;

/* Every record the kernel declares, in registration order (the person first). */
extern const struct tremplin_record *const kernel_records[];
extern const size_t nkernel_records;

extern const struct tremplin_record rec_employee, rec_welcome, rec_barrier, rec_observation,
    rec_goal, rec_review, rec_note, rec_exit;
extern const struct tremplin_record rec_contract, rec_contract_renewal, rec_contract_suspension,
    rec_ai_placement;
extern const struct tremplin_record rec_pass, rec_pass_suspension, rec_pass_prolongation;

#endif
