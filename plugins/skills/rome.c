/* The ROME 4.0 CSV layout: see rome.h. */
#include "rome.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const rome_columns[ROME_NCOLS] = { "code_domaine_competence",
	"libelle_domaine_competence", "code_enjeu", "libelle_enjeu", "code_objectif",
	"libelle_objectif", "code_macro_competence", "libelle_macro_competence",
	"code_ogr_macro_competence", "code_competence", "code_ogr_competence",
	"libelle_competence" };

/* The hierarchy kept in a competence: columns 2 to 8 and code_competence (9). */
#define HIER_FIRST 2
#define HIER_N 8

#define FIELD_MAX 1000

/*
 * One record of fields from *p (at most ROME_NCOLS + 1 kept): the number of
 * fields, -1 on a broken quote or an over-long field. *p moves past the record.
 */
static int
record(const char **p, const char *end, char sep, char fields[][FIELD_MAX + 1], int max)
{
	int n = 0;
	size_t k = 0;
	int quoted = 0, was_quoted = 0;
	const char *c = *p;

	for (;;) {
		if (c >= end || (!quoted && (*c == '\n' || *c == '\r'))) {
			if (quoted)
				return -1;
			if (n < max)
				fields[n][k] = '\0';
			n++;
			if (c < end && *c == '\r')
				c++;
			if (c < end && *c == '\n')
				c++;
			*p = c;
			return n;
		}
		if (quoted) {
			if (*c == '"' && c + 1 < end && c[1] == '"') {
				c++;
			} else if (*c == '"') {
				quoted = 0;
				c++;
				continue;
			}
		} else if (*c == '"' && k == 0 && !was_quoted) {
			quoted = was_quoted = 1;
			c++;
			continue;
		} else if (*c == sep) {
			if (n < max)
				fields[n][k] = '\0';
			n++;
			k = 0;
			was_quoted = 0;
			c++;
			continue;
		}
		if (k >= FIELD_MAX)
			return -1;
		if (n < max)
			fields[n][k] = *c;
		k++;
		c++;
	}
}

json_t *
rome_parse(const char *text, size_t len, char *why, size_t whylen)
{
	static char f[ROME_NCOLS + 1][FIELD_MAX + 1];
	const char *p = text, *end = text + len;
	json_t *blocks = json_array(), *block = NULL;
	char sep;
	int n, line = 1;

	/* A byte order mark, as spreadsheets write. */
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	sep = memchr(p, ';', (size_t)(end - p)) != NULL &&
	        (memchr(p, ',', (size_t)(end - p)) == NULL ||
	            (const char *)memchr(p, ';', (size_t)(end - p)) <
	                (const char *)memchr(p, ',', (size_t)(end - p)))
	    ? ';'
	    : ',';
	n = record(&p, end, sep, f, ROME_NCOLS + 1);
	if (n != ROME_NCOLS) {
		snprintf(why, whylen,
		    "line 1: the header must be the %d columns of ROME 4.0 (%s, ...)", ROME_NCOLS,
		    rome_columns[0]);
		goto fail;
	}
	for (int i = 0; i < ROME_NCOLS; i++)
		if (strcmp(f[i], rome_columns[i]) != 0) {
			snprintf(
			    why, whylen, "line 1: column %d must be %s", i + 1, rome_columns[i]);
			goto fail;
		}
	while (p < end) {
		json_t *hier, *c;
		line++;
		if (*p == '\n' || *p == '\r') { /* a blank line */
			p += (*p == '\r' && p + 1 < end && p[1] == '\n') ? 2 : 1;
			continue;
		}
		n = record(&p, end, sep, f, ROME_NCOLS + 1);
		if (n != ROME_NCOLS) {
			snprintf(why, whylen, "line %d: %d fields, %d expected (or a broken quote)",
			    line, n, ROME_NCOLS);
			goto fail;
		}
		if (f[0][0] == '\0' || f[1][0] == '\0' || f[10][0] == '\0' || f[11][0] == '\0') {
			snprintf(why, whylen,
			    "line %d: code_domaine_competence, libelle_domaine_competence, "
			    "code_ogr_competence and libelle_competence are required",
			    line);
			goto fail;
		}
		if (block == NULL ||
		    strcmp(json_string_value(json_object_get(block, "code")), f[0]) != 0) {
			block = NULL;
			for (size_t i = 0; i < json_array_size(blocks); i++)
				if (strcmp(json_string_value(
				               json_object_get(json_array_get(blocks, i), "code")),
				        f[0]) == 0)
					block = json_array_get(blocks, i);
			if (block == NULL) {
				block = json_pack(
				    "{s:s, s:s, s:[]}", "code", f[0], "title", f[1], "competences");
				if (block == NULL) {
					snprintf(why, whylen, "line %d: not UTF-8", line);
					goto fail;
				}
				json_array_append_new(blocks, block);
			}
		}
		hier = json_array();
		int filled = 0;
		for (int i = HIER_FIRST; i < HIER_FIRST + HIER_N; i++) {
			json_array_append_new(hier, json_string(f[i]));
			filled += f[i][0] != '\0';
		}
		c = json_pack("{s:s, s:s, s:s, s:s, s:o}", "code", f[10], "external_code", f[10],
		    "title", f[11], "kind", "savoir_faire", "hierarchy", hier);
		/* A tree without the levels between the domain and the competence: none kept. */
		if (c != NULL && filled == 0)
			json_object_del(c, "hierarchy");
		if (c == NULL || (filled > 0 && json_array_size(hier) != HIER_N)) {
			json_decref(c);
			snprintf(why, whylen, "line %d: not UTF-8", line);
			goto fail;
		}
		json_array_append_new(json_object_get(block, "competences"), c);
	}
	return blocks;
fail:
	json_decref(blocks);
	return NULL;
}

static void
field(char **buf, size_t *len, size_t *cap, const char *s, int last)
{
	size_t need = 2 * strlen(s) + 4;

	if (*buf == NULL)
		return;
	if (*len + need + 1 > *cap) {
		size_t c = *cap ? *cap : 4096;
		while (c < *len + need + 1)
			c *= 2;
		char *n = realloc(*buf, c);
		if (n == NULL) {
			free(*buf);
			*buf = NULL;
			return;
		}
		*buf = n;
		*cap = c;
	}
	/* Always quoted: titles hold commas and apostrophes. */
	(*buf)[(*len)++] = '"';
	for (; *s; s++) {
		if (*s == '"')
			(*buf)[(*len)++] = '"';
		(*buf)[(*len)++] = *s;
	}
	(*buf)[(*len)++] = '"';
	if (last) {
		(*buf)[(*len)++] = '\r';
		(*buf)[(*len)++] = '\n';
	} else
		(*buf)[(*len)++] = ',';
	(*buf)[*len] = '\0';
}

char *
rome_write(const json_t *blocks, size_t *len)
{
	size_t n = 0, cap = 4096, i, j;
	char *buf = malloc(cap);
	json_t *b, *c;

	if (buf == NULL)
		return NULL;
	buf[0] = '\0';
	for (int k = 0; k < ROME_NCOLS; k++)
		field(&buf, &n, &cap, rome_columns[k], k == ROME_NCOLS - 1);
	json_array_foreach (blocks, i, b) {
		json_array_foreach (json_object_get(b, "competences"), j, c) {
			const json_t *h = json_object_get(c, "hierarchy");
			const char *ext = json_string_value(json_object_get(c, "external_code"));
			field(&buf, &n, &cap, json_string_value(json_object_get(b, "code")), 0);
			field(&buf, &n, &cap, json_string_value(json_object_get(b, "title")), 0);
			for (int k = 0; k < HIER_N; k++) {
				const char *v = json_string_value(json_array_get(h, (size_t)k));
				field(&buf, &n, &cap, v ? v : "", 0);
			}
			field(&buf, &n, &cap,
			    ext ? ext : json_string_value(json_object_get(c, "code")), 0);
			field(&buf, &n, &cap, json_string_value(json_object_get(c, "title")), 1);
		}
	}
	if (buf != NULL)
		*len = n;
	return buf;
}
