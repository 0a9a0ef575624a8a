/*
 * tremplinctl production report monthly-hours STRUCTURE YYYY-MM [--csv]: the
 * production plugin's monthly hours of a structure (GET
 * /v1/production/reports/monthly-hours), as JSON or as the CSV the payroll
 * and the ASP open (written to standard output byte for byte).
 *
 * tremplinctl production plan WORK_ORDER DATE (morning | afternoon |
 * --from HH:MM --to HH:MM) EMPLOYEE...: plans people on a half-day or a time
 * range (POST /v1/production/planning), all or none; prints the answer and
 * its warnings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "client.h"
#include "commands.h"

static int
digits(const char *s, size_t max)
{
	size_t n = strlen(s);
	return n > 0 && n <= max && strspn(s, "0123456789") == n && s[0] != '0';
}

static int
plan_usage(void)
{
	fprintf(stderr,
	    PROG ": production: expected plan WORK_ORDER YYYY-MM-DD"
	         " (morning | afternoon | --from HH:MM --to HH:MM) EMPLOYEE...\n");
	return EXIT_USAGE;
}

static int
hhmm(const char *s)
{
	return strlen(s) == 5 && s[2] == ':' && strspn(s, "0123456789") == 2 &&
	    strspn(s + 3, "0123456789") == 2;
}

/* The daemon checks the rest (quarter hours, the rules) and names the field. */
static int
cmd_plan(const struct ctl *ctl, int argc, char **argv)
{
	json_t *body, *ids;
	char *text;
	int i = 4, rv;

	if (argc < 5 || !digits(argv[2], 18) || strlen(argv[3]) != 10 ||
	    strspn(argv[3], "0123456789-") != 10)
		return plan_usage();
	body = json_pack(
	    "{s:I, s:s}", "work_order_id", (json_int_t)strtoll(argv[2], NULL, 10), "date", argv[3]);
	ids = json_array();
	if (strcmp(argv[4], "morning") == 0 || strcmp(argv[4], "afternoon") == 0) {
		json_object_set_new(body, "slot", json_string(argv[4]));
		i = 5;
	} else if (argc >= 8 && strcmp(argv[4], "--from") == 0 && hhmm(argv[5]) &&
	    strcmp(argv[6], "--to") == 0 && hhmm(argv[7])) {
		json_object_set_new(body, "slot", json_string("hours"));
		json_object_set_new(body, "start_time", json_string(argv[5]));
		json_object_set_new(body, "end_time", json_string(argv[7]));
		i = 8;
	} else
		i = -1;
	if (i < 0 || i >= argc) {
		json_decref(body);
		json_decref(ids);
		return plan_usage();
	}
	for (; i < argc; i++) {
		if (!digits(argv[i], 18)) {
			json_decref(body);
			json_decref(ids);
			return plan_usage();
		}
		json_array_append_new(ids, json_integer(strtoll(argv[i], NULL, 10)));
	}
	json_object_set_new(body, "employee_ids", ids);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL)
		return EXIT_ERR;
	rv = client_json_request(
	    ctl, "POST", "/v1/production/planning", text, strlen(text), "application/json");
	free(text);
	return rv;
}

int
cmd_production(const struct ctl *ctl, int argc, char **argv)
{
	const char *structure, *month;
	int csv;
	struct request rq = { .method = "GET", .timeout = REQUEST_TIMEOUT };
	struct response r = { .fd = -1 };
	char path[160], errbuf[CURL_ERROR_SIZE];
	CURLcode cc;
	int rv = 0;

	if (argc >= 2 && strcmp(argv[1], "plan") == 0)
		return cmd_plan(ctl, argc, argv);
	if (argc < 5 || argc > 6) {
		fprintf(stderr,
		    PROG ": production: expected report monthly-hours STRUCTURE"
		         " YYYY-MM [--csv] or plan ...\n");
		return EXIT_USAGE;
	}
	structure = argv[3];
	month = argv[4];
	csv = argc > 5 && strcmp(argv[5], "--csv") == 0;
	if (strcmp(argv[1], "report") != 0 || strcmp(argv[2], "monthly-hours") != 0 ||
	    (argc > 5 && !csv)) {
		fprintf(stderr,
		    PROG ": production: expected report monthly-hours STRUCTURE"
		         " YYYY-MM [--csv]\n");
		return EXIT_USAGE;
	}
	if (!digits(structure, 18)) {
		fprintf(stderr, PROG ": production: STRUCTURE must be a structure's id (digits)\n");
		return EXIT_USAGE;
	}
	if (strlen(month) != 7 || month[4] != '-' || strspn(month, "0123456789-") != 7) {
		fprintf(stderr, PROG ": production: the month must be YYYY-MM\n");
		return EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "/v1/production/reports/monthly-hours?structure=%s&month=%s%s",
	    structure, month, csv ? "&format=csv" : "");
	if (!csv)
		return client_json_request(ctl, "GET", path, NULL, 0, NULL);
	rq.path = path;
	cc = client_perform(ctl, &rq, &r, errbuf);
	if (cc != CURLE_OK)
		rv = client_report_transport(ctl, cc, errbuf, &r);
	else if (r.status >= 400)
		rv = client_report_http_error(ctl, &r);
	else if (r.body.len > 0 &&
	    (fwrite(r.body.data, 1, r.body.len, stdout) != r.body.len || fflush(stdout) != 0)) {
		perror(PROG ": standard output");
		rv = EXIT_ERR;
	}
	free(r.body.data);
	return rv;
}
