/*
 * tremplinctl production report monthly-hours STRUCTURE YYYY-MM [--csv]: the
 * production plugin's monthly hours of a structure (GET
 * /v1/production/reports/monthly-hours), as JSON or as the CSV the payroll
 * and the ASP open (written to standard output byte for byte).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "client.h"
#include "commands.h"

static int
digits(const char *s, size_t max)
{
	size_t n = strlen(s);
	return n > 0 && n <= max && strspn(s, "0123456789") == n && s[0] != '0';
}

int
cmd_production(const struct ctl *ctl, int argc, char **argv)
{
	const char *structure = argv[3], *month = argv[4];
	int csv = argc > 5 && strcmp(argv[5], "--csv") == 0;
	struct request rq = { .method = "GET", .timeout = REQUEST_TIMEOUT };
	struct response r = { .fd = -1 };
	char path[160], errbuf[CURL_ERROR_SIZE];
	CURLcode cc;
	int rv = 0;

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
