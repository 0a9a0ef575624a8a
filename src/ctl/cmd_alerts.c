/*
 * tremplinctl alerts: the caller's alerts (theirs first), and acknowledging
 * or resolving one. A client of GET /v1/alerts and POST /v1/alerts/{id}/...
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "commands.h"

/* Digits only, 1 to 18 of them: an id in a path. */
static int
is_id(const char *s)
{
	size_t n = strspn(s, "0123456789");
	return n > 0 && n <= 18 && s[n] == '\0' && s[0] != '0';
}

/* [a-z0-9_.] only: a state or a kind, safe in a query string as it is. */
static int
is_word(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.");
	return n > 0 && n <= 64 && s[n] == '\0';
}

int
cmd_alerts(const struct ctl *ctl, int argc, char **argv)
{
	char path[512];
	size_t at;
	int i;

	if (argc >= 2 && (strcmp(argv[1], "ack") == 0 || strcmp(argv[1], "resolve") == 0)) {
		if (argc != 3 || !is_id(argv[2])) {
			fprintf(stderr,
			    "usage : " PROG " alerts %s ID (ID : le numéro de l'alerte)\n",
			    argv[1]);
			return EXIT_USAGE;
		}
		snprintf(path, sizeof(path), "/v1/alerts/%s/%s", argv[2], argv[1]);
		return client_json_request(ctl, "POST", path, "{}", 2, "application/json");
	}
	at = (size_t)snprintf(path, sizeof(path), "/v1/alerts?limit=500");
	for (i = 1; i < argc; i++) {
		const char *name = NULL;
		if (strcmp(argv[i], "--state") == 0)
			name = "state";
		else if (strcmp(argv[i], "--kind") == 0)
			name = "kind";
		else if (strcmp(argv[i], "--employee") == 0)
			name = "employee_id";
		if (name == NULL || i + 1 >= argc ||
		    (strcmp(name, "employee_id") == 0 ? !is_id(argv[i + 1])
		                                      : !is_word(argv[i + 1]))) {
			fputs("usage : " PROG
			      " alerts [--state open|acknowledged|resolved] [--kind KIND] "
			      "[--employee ID] | " PROG " alerts ack ID | " PROG
			      " alerts resolve ID\n",
			    stderr);
			return EXIT_USAGE;
		}
		at += (size_t)snprintf(path + at, sizeof(path) - at, "&%s=%s", name, argv[i + 1]);
		if (at >= sizeof(path))
			return EXIT_USAGE;
		i++;
	}
	return client_json_request(ctl, "GET", path, NULL, 0, NULL);
}
