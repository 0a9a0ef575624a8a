/*
 * The configuration loader: config_load_buffer on any text, as config_load
 * reads a file. The first byte picks the file's mode (600 or 644), which
 * decides whether secrets in it are refused.
 */
#include "fuzz.h"

#include <sys/stat.h>

#include "config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = NULL;
	char err[1024];
	mode_t mode;

	if (size < 1)
		return 0;
	mode = data[0] & 1 ? 0644 : 0600;
	err[0] = '\0';
	if (config_load_buffer(
	        "fuzz.conf", (const char *)data + 1, size - 1, mode, &c, err, sizeof(err)) == 0) {
		FUZZ_CHECK(c != NULL);
		FUZZ_CHECK(c->socket_path != NULL && c->database != NULL);
		FUZZ_CHECK(
		    c->audit_database != NULL && strcmp(c->audit_database, c->database) != 0);
		FUZZ_CHECK(json_is_object(c->plugins) && json_is_object(c->scripts));
		FUZZ_CHECK(c->nwelcome > 0);
		config_free(c);
	} else {
		FUZZ_CHECK(c == NULL);
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	}
	return 0;
}
