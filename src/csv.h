/*
 * CSV answers the way French offices open them (a spreadsheet double-click):
 * UTF-8 with a byte order mark, ';' between fields, CRLF line ends, dates
 * as JJ/MM/AAAA, French headers, oui/non.
 */
#ifndef TREMPLIN_CSV_H
#define TREMPLIN_CSV_H

#include <stddef.h>

#include <jansson.h>

struct tremplin_request;

enum csv_type { CSV_TEXT = 0, CSV_INT, CSV_DATE, CSV_BOOL, CSV_REAL };

struct csv_col {
	const char *key; /* in each item */
	const char *header; /* French */
	enum csv_type type;
};

/* Whether the caller asks for CSV: ?format=csv, or Accept: text/csv (and no ?format=json). */
int csv_wanted(struct tremplin_request *);
/* ?format is json or csv, else 400 naming it: 0, or -1 once answered. */
int csv_format_ok(struct tremplin_request *);
/* Reply 200 with the CSV of items, one a line under the headers, as an attachment. */
void csv_reply(struct tremplin_request *, const struct csv_col *, size_t ncols, const json_t *items,
    const char *filename);

#endif
