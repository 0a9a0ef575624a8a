/*
 * tremplinctl skills: the skills plugin's commands.
 *   skills load NAME   POST /v1/skills/referentials/load {"name": NAME}: one of
 *                      the referentials the plugin's directory holds (NAME.json)
 *   skills keygen FILE the structure's Ed25519 key for Open Badges, as PEM, in a
 *                      new file of mode 0600 (the plugin's badge_key_file)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

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

/* A new key in a new file: never over an existing one (badges signed with it would die). */
static int
skills_keygen(const char *file)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *key = NULL;
	FILE *f = NULL;
	int fd, rv = EXIT_ERR;

	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &key) != 1) {
		fprintf(stderr, PROG ": skills keygen: cannot make an Ed25519 key\n");
		goto out;
	}
	if ((fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		fprintf(stderr, PROG ": skills keygen: %s: %s\n", file, strerror(errno));
		goto out;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		goto fail;
	}
	if (PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0)
		goto fail;
	if (fclose(f) != 0) {
		f = NULL;
		goto fail;
	}
	f = NULL;
	printf("%s\n", file);
	rv = 0;
	goto out;
fail:
	fprintf(stderr, PROG ": skills keygen: cannot write %s\n", file);
	if (f != NULL)
		fclose(f);
	unlink(file);
out:
	EVP_PKEY_free(key);
	EVP_PKEY_CTX_free(ctx);
	return rv;
}

int
cmd_skills(const struct ctl *ctl, int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "load") == 0)
		return skills_load(ctl, argv[2]);
	if (argc == 3 && strcmp(argv[1], "keygen") == 0)
		return skills_keygen(argv[2]);
	fprintf(stderr, "usage: " PROG " skills load NAME | skills keygen FILE\n");
	return EXIT_USAGE;
}
