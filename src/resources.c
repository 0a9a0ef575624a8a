/*
 * The registry of a person's file: every table-driven resource, the
 * employee first. Export, erasure and GET /v1/policy walk this list, so a
 * resource added here is exported, erased and documented with the others.
 */
#include "resource.h"
#include "util.h"

struct resource *const all_resources[] = {
	&res_employee,
	&res_welcome,
	&res_barrier,
	&res_observation,
	&res_goal,
	&res_review,
	&res_note,
	&res_exit,
	&res_contract,
	&res_contract_renewal,
	&res_contract_suspension,
	&res_ai_placement,
	&res_pass,
	&res_pass_suspension,
	&res_pass_prolongation,
};
const size_t nall_resources = TR_NELEM(all_resources);
