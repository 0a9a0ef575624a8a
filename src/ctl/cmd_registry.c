/*
 * tremplinctl registry status|sync: the registry plugin's state in a few
 * lines, and a run started now (GET /v1/registry/status, POST
 * /v1/registry/sync). The plugin not loaded: the daemon's 404 is said.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "client.h"
#include "commands.h"

static const char *
str_or(const json_t *o, const char *k, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : dflt;
}

static void
print_run(const char *label, const json_t *run)
{
	const json_t *c = json_object_get(run, "counts");

	if (!json_is_object(run)) {
		printf("%s: none\n", label);
		return;
	}
	printf("%s %lld: %s (%s), started %s, finished %s\n", label,
	    (long long)json_integer_value(json_object_get(run, "id")), str_or(run, "status", "?"),
	    str_or(run, "trigger", "?"), str_or(run, "started_at", "?"),
	    str_or(run, "finished_at", "-"));
	printf("  requests %lld, fetched %lld, matched %lld, created %lld, proposed %lld,"
	       " skipped %lld, flagged %lld, errors %lld, throttled %lld\n",
	    (long long)json_integer_value(json_object_get(c, "requests")),
	    (long long)json_integer_value(json_object_get(c, "fetched")),
	    (long long)json_integer_value(json_object_get(c, "matched")),
	    (long long)json_integer_value(json_object_get(c, "created")),
	    (long long)json_integer_value(json_object_get(c, "proposed")),
	    (long long)json_integer_value(json_object_get(c, "skipped")),
	    (long long)json_integer_value(json_object_get(c, "flagged")),
	    (long long)json_integer_value(json_object_get(c, "errors")),
	    (long long)json_integer_value(json_object_get(c, "throttled")));
	if (json_is_string(json_object_get(run, "last_error"))) {
		fputs("  last error: ", stdout);
		put_clean(stdout, str_or(run, "last_error", ""));
		fputc('\n', stdout);
	}
}

static int
registry_status(const struct ctl *ctl)
{
	const struct request rq = { .method = "GET",
		.path = "/v1/registry/status",
		.timeout = REQUEST_TIMEOUT,
		.json = 1 };
	struct response r;
	char errbuf[CURL_ERROR_SIZE];
	CURLcode cc;
	json_t *s;
	int rv;

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	cc = client_perform(ctl, &rq, &r, errbuf);
	if (cc != CURLE_OK || r.status == 0) {
		rv = client_report_transport(ctl, cc, errbuf, &r);
		free(r.body.data);
		return rv;
	}
	if (r.status >= 400) {
		rv = client_report_http_error(ctl, &r);
		free(r.body.data);
		return rv;
	}
	s = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
	free(r.body.data);
	if (!json_is_object(s)) {
		json_decref(s);
		fprintf(stderr, PROG ": the daemon's answer is not a JSON object\n");
		return EXIT_ERR;
	}
	if (!ctl->quiet) {
		printf("configured: %s%s\n",
		    json_is_true(json_object_get(s, "configured")) ? "yes" : "no",
		    json_is_true(json_object_get(s, "running")) ? ", a run is under way" : "");
		print_run("last run", json_object_get(s, "last_run"));
		print_run("last success", json_object_get(s, "last_success"));
		printf("failed runs since the last success: %lld\n",
		    (long long)json_integer_value(json_object_get(s, "failed_since_success")));
		printf("next run: %s\n", str_or(s, "next_run_at", "-"));
	}
	json_decref(s);
	return 0;
}

int
cmd_registry(const struct ctl *ctl, int argc, char **argv)
{
	(void)argc;
	if (strcmp(argv[1], "status") == 0)
		return registry_status(ctl);
	if (strcmp(argv[1], "sync") == 0)
		return client_json_request(
		    ctl, "POST", "/v1/registry/sync", "{}", 2, "application/json");
	fprintf(stderr, PROG ": registry: expected status or sync, not ");
	put_clean(stderr, argv[1]);
	fputc('\n', stderr);
	return EXIT_USAGE;
}
