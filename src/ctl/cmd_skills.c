/*
 * tremplinctl skills: the skills plugin's commands.
 *   skills load NAME   POST /v1/skills/referentials/load {"name": NAME}: one of
 *                      the referentials the plugin's directory holds (NAME.json)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client.h"
#include "commands.h"

static int
skills_load(const struct ctl *ctl, const char *name)
{
	json_t *body = json_pack("{s:s}", "name", name);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int rv;

	json_decref(body);
	if (text == NULL) {
		fprintf(stderr, PROG ": skills load: NAME must be UTF-8 text\n");
		return EXIT_USAGE;
	}
	rv = client_json_request(
	    ctl, "POST", "/v1/skills/referentials/load", text, strlen(text), "application/json");
	free(text);
	return rv;
}

int
cmd_skills(const struct ctl *ctl, int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "load") == 0)
		return skills_load(ctl, argv[2]);
	fprintf(stderr, "usage: " PROG " skills load NAME\n");
	return EXIT_USAGE;
}
