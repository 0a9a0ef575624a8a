/*
 * tremplinctl retention: the safety net of the retention job. --dry-run
 * lists what a run would purge now (GET /v1/retention); --confirm COUNT lets
 * a held purge go, COUNT being the number the listing showed (POST
 * /v1/retention/confirm), so that nobody confirms what they have not seen.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"

int
cmd_retention(const struct ctl *ctl, int argc, char **argv)
{
	char body[64], *end;
	long long n;

	if (argc == 2 && strcmp(argv[1], "--dry-run") == 0)
		return client_json_request(ctl, "GET", "/v1/retention", NULL, 0, NULL);
	if (argc == 3 && strcmp(argv[1], "--confirm") == 0) {
		errno = 0;
		n = strtoll(argv[2], &end, 10);
		if (errno != 0 || end == argv[2] || *end != '\0' || n < 1) {
			fputs(PROG " retention --confirm : COUNT doit être le nombre de dossiers "
			           "que --dry-run a listés\n",
			    stderr);
			return EXIT_USAGE;
		}
		snprintf(body, sizeof(body), "{\"due\": %lld}", n);
		return client_json_request(
		    ctl, "POST", "/v1/retention/confirm", body, strlen(body), "application/json");
	}
	fputs("usage : " PROG " retention --dry-run | --confirm COUNT\n", stderr);
	return EXIT_USAGE;
}
