/*
 * The ROME 4.0 open data layout of the competences' tree, as CSV: a
 * referential's blocks are the domains; between a domain and a competence,
 * the stake, the objective and the macro-competence are kept in the
 * competence's `hierarchy` (code/title pairs and the macro's OGR code).
 */
#ifndef SKILLS_ROME_H
#define SKILLS_ROME_H

#include <stddef.h>

#include <jansson.h>

#define ROME_NCOLS 12
extern const char *const rome_columns[ROME_NCOLS];

/*
 * The blocks of a referential (the import's "blocks") from CSV text in the
 * ROME layout (a header line, then one competence a line; ',' or ';'
 * between fields, RFC 4180 quotes): a new array, or NULL with why (the line).
 */
json_t *rome_parse(const char *text, size_t len, char *why, size_t whylen);

/* The CSV (',' and CRLF, RFC 4180) of an export's blocks: a new string (*len), or NULL. */
char *rome_write(const json_t *blocks, size_t *len);

#endif
