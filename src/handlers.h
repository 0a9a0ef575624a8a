/* The core's handlers and its route table. */
#ifndef TREMPLIN_HANDLERS_H
#define TREMPLIN_HANDLERS_H

#include <stddef.h>

#include "config.h"
#include "db.h"
#include "router.h"

struct api_req;

extern const struct route core_routes[];
extern const size_t ncore_routes;
extern const struct db_module core_module;

void system_health(struct api_req *);
void system_whoami(struct api_req *);
void system_backup(struct api_req *);
void system_plugins(struct api_req *);
void system_plugins_reload(struct api_req *);
void events_list(struct api_req *);

void structures_create(struct api_req *);
void structures_list(struct api_req *);
void structures_get(struct api_req *);
void structures_update(struct api_req *);

void staff_create(struct api_req *);
void staff_list(struct api_req *);
void staff_get(struct api_req *);
void staff_update(struct api_req *);

/* A person's file (employees.c, followup.c; the generic handlers are in resource.h). */
void employees_list(struct api_req *);
void welcome_checklist(struct api_req *);
/* GET /v1/employees/{id}/ai_hours: an AI employee's hours with companies (contracts.c). */
void contracts_ai_hours(struct api_req *);
/* GET /v1/passes/{id}[?on=]: a PASS IAE and its status on a day (passes.c). */
void passes_get(struct api_req *);
/* GET /v1/policy: the confidentiality table and each field's category. */
void policy_show(struct api_req *);
/* GET /v1/audit: the audit log, for coordinators and admins. */
void audit_api_list(struct api_req *);
/* The person's rights (rights.c): GET /v1/employees/{id}/export, DELETE /v1/employees/{id}. */
void employee_export(struct api_req *);
void employee_erase(struct api_req *);

/* Ensure the configuration's bootstrap accounts exist, active, as configured. */
struct events;
int staff_bootstrap(struct db *, struct events *, const struct config *, char *err, size_t errlen);

#endif
