/*
 * Structures (SIAE): name, SIRET, kind, annexe financière. A record of
 * nobody's, declared like any other and registered by the kernel module:
 * coordinators and the admin write them, every staff role reads them.
 */
#include <string.h>

#include "handlers.h"
#include "json.h"
#include "util.h"
#include "validate.h"

static const char *const structure_kinds[] = { "ACI", "AI", "EI", "ETTI", "EITI", NULL };

static const struct tremplin_column structure_cols[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "name",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "organisation",
	    .max = 200 },
	{ .name = "siret",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "organisation",
	    .max = 14 },
	{ .name = "kind",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "organisation",
	    .values = structure_kinds },
	{ .name = "annexe_financiere",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "organisation",
	    .max = 32 },
	{ .name = "created_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_CREATED },
	{ .name = "updated_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_STAMP },
};

static const struct tremplin_filter structure_filters[] = {
	{ .name = "kind", .column = "kind", .op = TREMPLIN_FILTER_EQ },
};

/* The SIRET's checksum, and an annexe financière that matches the kind. */
static int
structure_check(struct tremplin_request *r, json_t *o, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	const char *why, *kind = json_str(o, "kind"), *af = json_str(o, "annexe_financiere");

	(void)r, (void)before, (void)arg;
	if ((why = valid_siret(json_str(o, "siret"))) != NULL) {
		input_error_set(e, 422, "validation_failed", "siret", "siret %s", why);
		return -1;
	}
	if (af != NULL && (why = valid_annexe_financiere(af, kind)) != NULL) {
		input_error_set(
		    e, 422, "validation_failed", "annexe_financiere", "annexe_financiere %s", why);
		return -1;
	}
	return 0;
}

const struct tremplin_record rec_structure = {
	.size = sizeof(struct tremplin_record),
	.name = "structure",
	.plural = "structures",
	.table = "structures",
	.columns = structure_cols,
	.ncolumns = TR_NELEM(structure_cols),
	.owner = TREMPLIN_OWNER_NONE,
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_LIST | TREMPLIN_OP_CREATE | TREMPLIN_OP_UPDATE,
	.filters = structure_filters,
	.nfilters = TR_NELEM(structure_filters),
	.journal = TREMPLIN_JOURNAL_ROW,
	.check = structure_check,
};
