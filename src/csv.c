#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "api.h"
#include "log.h"
#include "resource.h"

int
csv_wanted(struct tremplin_request *r)
{
	const char *f = api_query(r, "format");
	const char *accept;

	if (f != NULL)
		return strcmp(f, "csv") == 0;
	accept = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Accept");
	return accept != NULL && strstr(accept, "text/csv") != NULL;
}

int
csv_format_ok(struct tremplin_request *r)
{
	const char *f = api_query(r, "format");

	if (f == NULL || strcmp(f, "json") == 0 || strcmp(f, "csv") == 0)
		return 0;
	api_error(r, 400, "bad_request", "format", "format must be json or csv");
	return -1;
}

static void
field(struct evbuffer *b, const char *s)
{
	/* Quoted when it holds a separator, a quote or a line end; quotes doubled. */
	if (strpbrk(s, ";\"\r\n") == NULL) {
		evbuffer_add(b, s, strlen(s));
		return;
	}
	evbuffer_add(b, "\"", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			evbuffer_add(b, "\"", 1);
		evbuffer_add(b, p, 1);
	}
	evbuffer_add(b, "\"", 1);
}

static void
value(struct evbuffer *b, const struct csv_col *c, const json_t *v)
{
	char buf[64];
	const char *s;

	if (v == NULL || json_is_null(v))
		return;
	switch (c->type) {
	case CSV_INT:
		evbuffer_add_printf(b, "%lld", (long long)json_integer_value(v));
		return;
	case CSV_REAL:
		if (json_is_integer(v)) {
			evbuffer_add_printf(b, "%lld", (long long)json_integer_value(v));
			return;
		}
		/* A decimal comma, as a French spreadsheet reads numbers. */
		snprintf(buf, sizeof(buf), "%.1f", json_number_value(v));
		for (char *p = buf; *p; p++)
			if (*p == '.')
				*p = ',';
		evbuffer_add(b, buf, strlen(buf));
		return;
	case CSV_BOOL:
		field(b, json_is_true(v) ? "oui" : "non");
		return;
	case CSV_DATE:
		s = json_string_value(v);
		if (s != NULL && valid_date(s)) {
			snprintf(buf, sizeof(buf), "%.2s/%.2s/%.4s", s + 8, s + 5, s);
			evbuffer_add(b, buf, strlen(buf));
			return;
		}
		break;
	default:
		break;
	}
	if (json_is_string(v))
		field(b, json_string_value(v));
	else if (json_is_integer(v))
		evbuffer_add_printf(b, "%lld", (long long)json_integer_value(v));
}

static struct evbuffer *
build(const struct csv_col *cols, size_t ncols, const json_t *items)
{
	struct evbuffer *b = evbuffer_new();
	size_t i;
	json_t *item;

	if (b == NULL)
		return NULL;
	evbuffer_add(b, "\xef\xbb\xbf", 3);
	for (size_t j = 0; j < ncols; j++) {
		if (j > 0)
			evbuffer_add(b, ";", 1);
		field(b, cols[j].header);
	}
	evbuffer_add(b, "\r\n", 2);
	json_array_foreach (items, i, item) {
		for (size_t j = 0; j < ncols; j++) {
			if (j > 0)
				evbuffer_add(b, ";", 1);
			value(b, &cols[j], json_object_get(item, cols[j].key));
		}
		evbuffer_add(b, "\r\n", 2);
	}
	return b;
}

void
csv_reply(struct tremplin_request *r, const struct csv_col *cols, size_t ncols, const json_t *items,
    const char *filename)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	struct evbuffer *b = build(cols, ncols, items);
	char disp[128];

	if (b == NULL) {
		api_internal(r, "csv");
		return;
	}
	evbuffer_add_buffer(evhttp_request_get_output_buffer(r->req), b);
	evbuffer_free(b);
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", filename);
	evhttp_add_header(h, "Content-Type", "text/csv; charset=utf-8");
	evhttp_add_header(h, "Content-Disposition", disp);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(r->req, 200, NULL, NULL);
	r->replied = 1;
}
