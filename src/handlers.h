/* The platform's handlers and its route table (the kernel's are in kernel/kernel.h). */
#ifndef TREMPLIN_HANDLERS_H
#define TREMPLIN_HANDLERS_H

#include <stddef.h>

#include <tremplin/plugin.h>

#include "config.h"
#include "db.h"
#include "router.h"

struct tremplin_request;

extern const struct route core_routes[];
extern const size_t ncore_routes;
extern const struct db_module core_module;

void system_health(struct tremplin_request *);
void system_whoami(struct tremplin_request *);
void system_backup(struct tremplin_request *);
void system_openapi(struct tremplin_request *);
/* GET /v1/retention and POST /v1/retention/confirm (kernel/retention.c). */
void retention_show(struct tremplin_request *);
void retention_confirm(struct tremplin_request *);
void system_plugins(struct tremplin_request *);
void system_plugins_reload(struct tremplin_request *);
void events_list(struct tremplin_request *);

/* The structures and the staff accounts, records the kernel module registers. */
extern const struct tremplin_record rec_structure, rec_staff;

/* GET /v1/policy: the confidentiality table and each field's category. */
void policy_show(struct tremplin_request *);
/* GET /v1/audit: the audit log, for coordinators and admins. */
void audit_api_list(struct tremplin_request *);

/* Ensure the configuration's bootstrap accounts exist, active, as configured. */
struct events;
int staff_bootstrap(struct db *, struct events *, const struct config *, char *err, size_t errlen);

#endif
