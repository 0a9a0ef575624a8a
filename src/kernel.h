/* The kernel's records and its module descriptor (kernel.c). */
#ifndef TREMPLIN_KERNEL_H
#define TREMPLIN_KERNEL_H

#include <tremplin/plugin.h>

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
