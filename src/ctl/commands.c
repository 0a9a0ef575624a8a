/*
 * tremplinctl's commands: the table and the handlers of those that talk to
 * the daemon (demo, which writes a database itself, is in cmd_demo.c).
 */

/* The build defines _GNU_SOURCE; alone, POSIX 2008 is all this file needs. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "client.h"
#include "commands.h"

/* The daemon refuses bodies over 1 MiB with a clear 413; let it say so. */
#define STDIN_MAX ((size_t)16 * 1024 * 1024)

static int cmd_health(const struct ctl *, int, char **);
static int cmd_whoami(const struct ctl *, int, char **);
static int cmd_get(const struct ctl *, int, char **);
static int cmd_post(const struct ctl *, int, char **);
static int cmd_patch(const struct ctl *, int, char **);
static int cmd_delete(const struct ctl *, int, char **);
static int cmd_backup(const struct ctl *, int, char **);
static int cmd_export(const struct ctl *, int, char **);
static int cmd_help(const struct ctl *, int, char **);

/* In the order of the usage and of tremplinctl(1). */
const struct command commands[] = {
	{ .name = "health",
	    .usage = "",
	    .help = "show the daemon's health",
	    .min_args = 0,
	    .max_args = 0,
	    .run = cmd_health },
	{ .name = "whoami",
	    .usage = "",
	    .help = "show the staff account you are known as",
	    .min_args = 0,
	    .max_args = 0,
	    .run = cmd_whoami },
	{ .name = "get",
	    .usage = "PATH",
	    .help = "GET an API path, e.g. /v1/staff?limit=2",
	    .min_args = 1,
	    .max_args = 1,
	    .run = cmd_get },
	{ .name = "post",
	    .usage = "PATH [JSON]",
	    .help = "POST a JSON body (standard input if JSON is\n"
	            "absent or -)",
	    .min_args = 1,
	    .max_args = 2,
	    .run = cmd_post },
	{ .name = "patch",
	    .usage = "PATH [JSON]",
	    .help = "PATCH with a JSON merge patch (likewise)",
	    .min_args = 1,
	    .max_args = 2,
	    .run = cmd_patch },
	{ .name = "delete",
	    .usage = "PATH [JSON]",
	    .help = "DELETE with a JSON body, e.g. an erasure's\n"
	            "{\"reason\": \"request\"} (likewise)",
	    .min_args = 1,
	    .max_args = 2,
	    .run = cmd_delete },
	{ .name = "backup",
	    .usage = "FILE",
	    .help = "save a backup as FILE (encrypted: CMS, e.g. tremplin.db.cms)",
	    .min_args = 1,
	    .max_args = 1,
	    .run = cmd_backup },
	{ .name = "export",
	    .usage = "ID [FILE]",
	    .help = "everything held about employee ID, as JSON\n"
	            "(to FILE, readable by you alone, or standard output)",
	    .min_args = 1,
	    .max_args = 2,
	    .run = cmd_export },
	{ .name = "retention",
	    .usage = "--dry-run | --confirm COUNT",
	    .help = "list the files retention would purge now; let a\n"
	            "purge held by retention_hold_percent go",
	    .min_args = 1,
	    .max_args = 2,
	    .run = cmd_retention },
	{ .name = "people",
	    .usage = "[NAME] [--json]",
	    .help = "people by name (accents and case ignored)",
	    .max_args = -1,
	    .run = cmd_people },
	{ .name = "team",
	    .usage = "[--status S] [--json|--csv]",
	    .help = "your people: the ETI's team, the CIP's caseload\n"
	            "(everyone for the coordinator)",
	    .max_args = -1,
	    .run = cmd_team },
	{ .name = "reviews",
	    .usage = "[--due 14d] [--from D] [--to D] [--mine]",
	    .help = "reviews due or overdue (bilans)",
	    .max_args = -1,
	    .run = cmd_reviews },
	{ .name = "ending",
	    .usage = "[--days 30d] [--mine]",
	    .help = "contracts and PASS IAE ending soon",
	    .max_args = -1,
	    .run = cmd_ending },
	{ .name = "welcome",
	    .usage = "[--days 7d] [--mine]",
	    .help = "welcome checklist items not done",
	    .max_args = -1,
	    .run = cmd_welcome },
	{ .name = "goals",
	    .usage = "[--mine]",
	    .help = "goals past their deadline",
	    .max_args = -1,
	    .run = cmd_goals },
	{ .name = "entry-reviews",
	    .usage = "[--mine]",
	    .help = "people without an entry review a month\nafter hiring",
	    .max_args = -1,
	    .run = cmd_entry_reviews },
	{ .name = "indicators",
	    .usage = "--structure ID --from D --to D",
	    .help = "indicators for funders (json, csv, table)",
	    .max_args = -1,
	    .run = cmd_indicators },
	{ .name = "registry",
	    .usage = "status|sync",
	    .help = "the registry sync's last runs and counts, or a run now",
	    .min_args = 1,
	    .max_args = 1,
	    .run = cmd_registry },
	{ .name = "skills",
	    .usage = "load NAME | keygen FILE",
	    .help = "load a shipped referential of the skills plugin\n"
	            "(savoir_etre, espaces_verts, rncp39794); keygen: make\n"
	            "the structure's Open Badges key in FILE (mode 0600)",
	    .max_args = -1,
	    .run = cmd_skills },
	{ .name = "production",
	    .usage = "report monthly-hours STRUCTURE YYYY-MM [--csv] | plan WORK_ORDER DATE"
	             " (morning|afternoon|--from HH:MM --to HH:MM) EMPLOYEE...",
	    .help = "a structure's monthly hours (production plugin),\n"
	            "as JSON or as CSV for the payroll; plan people on a work order\n"
	            "for a half-day or a time range",
	    .min_args = 4,
	    .max_args = -1,
	    .run = cmd_production },
	{ .name = "alerts",
	    .usage = "[--state S] [--kind K] [--employee ID] | ack ID | resolve ID",
	    .help = "your alerts first, then those you may see; or\n"
	            "acknowledge or resolve alert ID",
	    .max_args = -1,
	    .run = cmd_alerts },
	{ .name = "demo",
	    .usage = "--database PATH [--as ACCOUNT[=USER]] [--employees N]",
	    .help = "fill a new database with demo data (demo --help)",
	    .max_args = -1,
	    .local = 1,
	    .run = cmd_demo },
	{ .name = "help",
	    .usage = "",
	    .help = "show this help",
	    .max_args = -1,
	    .local = 1,
	    .run = cmd_help },
};

const size_t ncommands = sizeof(commands) / sizeof(commands[0]);

const struct command *
command_find(const char *name)
{
	size_t i;

	for (i = 0; i < ncommands; i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

/* Its arguments are ignored, as they always were. */
static int
cmd_help(const struct ctl *ctl, int argc, char **argv)
{
	(void)ctl;
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

/* What every SQLite 3 database file begins with, NUL included. */
static const unsigned char sqlite_magic[16] = "SQLite format 3";
/* The DER of the OID id-envelopedData (1.2.840.113549.1.7.3), with its tag and length. */
static const unsigned char enveloped_oid[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	0x07, 0x03 };

/*
 * Whether a backup begins as a database or as CMS enveloped data (an
 * encrypted backup): a SEQUENCE, its length in any BER form, then the OID.
 */
static int
backup_head_ok(const unsigned char *h, size_t n)
{
	size_t at;

	if (n >= sizeof(sqlite_magic) && memcmp(h, sqlite_magic, sizeof(sqlite_magic)) == 0)
		return 1;
	if (n < 2 || h[0] != 0x30 || (h[1] > 0x84 && h[1] != 0x80))
		return 0;
	at = h[1] == 0x80 || h[1] < 0x80 ? 2 : 2 + (size_t)(h[1] & 0x7f);
	return n >= at + sizeof(enveloped_oid) &&
	    memcmp(h + at, enveloped_oid, sizeof(enveloped_oid)) == 0;
}

/*
 * Outside RFC 3986's path and query characters. '%' passes, so the
 * caller's own escapes stay as they are.
 */
static int
needs_escape(unsigned char c)
{
	return c >= 0x80 || (c != '\0' && strchr(" \"#<>[\\]^`{|}", c) != NULL);
}

/*
 * Returns PATH with a leading '/' and the characters a request line may
 * not hold percent-encoded (so "?name=Atelier du Port" works), in a new
 * string; or NULL after saying why.
 */
static char *
api_path(const char *arg)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t len = 2; /* '/' and NUL */
	char *path, *q;

	if (*arg == '\0') {
		fprintf(stderr, PROG " : le chemin est vide (par exemple : /v1/structures)\n");
		return NULL;
	}
	/* An argument is below ARG_MAX: three times its length cannot wrap. */
	for (p = (const unsigned char *)arg; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			fprintf(stderr, PROG " : le chemin contient un caractère de contrôle\n");
			return NULL;
		}
		len += needs_escape(*p) ? 3 : 1;
	}
	if ((path = malloc(len)) == NULL) {
		fprintf(stderr, PROG " : %s\n", strerror(errno));
		return NULL;
	}
	q = path;
	if (arg[0] != '/')
		*q++ = '/';
	for (p = (const unsigned char *)arg; *p != '\0'; p++) {
		if (needs_escape(*p)) {
			*q++ = '%';
			*q++ = hex[*p >> 4];
			*q++ = hex[*p & 0x0f];
		} else
			*q++ = (char)*p;
	}
	*q = '\0';
	return path;
}

static int
cmd_health(const struct ctl *ctl, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return client_json_request(ctl, "GET", "/v1/health", NULL, 0, NULL);
}

static int
cmd_whoami(const struct ctl *ctl, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return client_json_request(ctl, "GET", "/v1/whoami", NULL, 0, NULL);
}

static int
cmd_get(const struct ctl *ctl, int argc, char **argv)
{
	char *path;
	int rv;

	(void)argc;
	if ((path = api_path(argv[1])) == NULL)
		return EXIT_USAGE;
	rv = client_json_request(ctl, "GET", path, NULL, 0, NULL);
	free(path);
	return rv;
}

static int
read_stdin(struct buf *b)
{
	char chunk[8192];
	size_t n;
	int err;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if ((err = buf_append(b, chunk, n, STDIN_MAX)) != 0) {
			if (err == E2BIG)
				fprintf(stderr, PROG " : l'entrée standard dépasse %zu Mio\n",
				    STDIN_MAX / (1024 * 1024));
			else
				fprintf(stderr, PROG " : %s\n", strerror(err));
			return -1;
		}
	}
	if (ferror(stdin)) {
		fprintf(stderr, PROG " : entrée standard : %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* POST and PATCH: the body is checked here so nothing malformed is sent. */
static int
send_body(const struct ctl *ctl, const char *method, const char *ctype, int argc, char **argv)
{
	struct buf in = { 0 };
	json_error_t jerr;
	json_t *j;
	const char *body, *from;
	size_t len;
	char *path;
	int rv = EXIT_USAGE;

	if ((path = api_path(argv[1])) == NULL)
		return EXIT_USAGE;
	if (argc < 3 || strcmp(argv[2], "-") == 0) {
		if (read_stdin(&in) == -1) {
			rv = EXIT_ERR;
			goto out;
		}
		body = in.data != NULL ? in.data : "";
		len = in.len;
		from = "sur l'entrée standard";
	} else {
		body = argv[2];
		len = strlen(body);
		from = "en argument";
	}
	/* Duplicate keys are ambiguous; refuse them rather than guess which
	 * one the daemon keeps. */
	j = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		fprintf(stderr, PROG " : JSON invalide %s, ligne %d, colonne %d : %s\n", from,
		    jerr.line, jerr.column, jerr.text);
		goto out;
	}
	json_decref(j);
	rv = client_json_request(ctl, method, path, body, len, ctype);
out:
	free(in.data);
	free(path);
	return rv;
}

static int
cmd_post(const struct ctl *ctl, int argc, char **argv)
{
	return send_body(ctl, "POST", "application/json", argc, argv);
}

static int
cmd_patch(const struct ctl *ctl, int argc, char **argv)
{
	return send_body(ctl, "PATCH", "application/merge-patch+json", argc, argv);
}

static int
cmd_delete(const struct ctl *ctl, int argc, char **argv)
{
	return send_body(ctl, "DELETE", "application/json", argc, argv);
}

/* The directory holding file, in a new string ("." if none). */
static char *
dir_of(const char *file)
{
	const char *slash = strrchr(file, '/');
	size_t n;
	char *dir;

	if (slash == NULL)
		return strdup(".");
	n = slash == file ? 1 : (size_t)(slash - file);
	if ((dir = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(dir, file, n);
	dir[n] = '\0';
	return dir;
}

/*
 * Writes the backup to FILE.tmp-XXXXXX beside FILE, then fsync, rename and
 * fsync of the directory: FILE is either the old file or the whole new one,
 * also after a crash. The directory is opened first so that a failure to
 * sync it cannot come after FILE was replaced for want of a descriptor.
 */
static int
cmd_backup(const struct ctl *ctl, int argc, char **argv)
{
	static const char suffix[] = ".tmp-XXXXXX";
	const char *file = argv[1];
	struct request rq = {
		.method = "GET",
		.path = "/v1/backup",
		.timeout = BACKUP_TIMEOUT,
	};
	struct response r = { .fd = -1 };
	struct sigaction old_int, old_term, old_hup;
	char errbuf[CURL_ERROR_SIZE];
	char *dir = NULL, *tmp = NULL;
	int dfd = -1, fd = -1, rv = EXIT_ERR;
	size_t len;
	CURLcode cc;

	(void)argc;
	len = strlen(file);
	if (len == 0 || file[len - 1] == '/') {
		fprintf(
		    stderr, PROG " backup : FILE doit être un nom de fichier, pas un répertoire\n");
		return EXIT_USAGE;
	}
	len += sizeof(suffix);
	if ((dir = dir_of(file)) == NULL || (tmp = malloc(len)) == NULL) {
		fprintf(stderr, PROG " : %s\n", strerror(errno));
		goto out;
	}
	snprintf(tmp, len, "%s%s", file, suffix);

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1) {
		fprintf(stderr, PROG " : %s : %s\n", dir, strerror(errno));
		goto out;
	}

	client_catch_signal(SIGINT, &old_int);
	client_catch_signal(SIGTERM, &old_term);
	client_catch_signal(SIGHUP, &old_hup);

	if ((fd = mkstemp(tmp)) == -1) {
		fprintf(stderr, PROG " : %s : %s\n", tmp, strerror(errno));
		goto restore;
	}
	r.fd = fd;
	/* mkstemp makes it 0600 already; the database is private data. */
	if (fchmod(fd, 0600) == -1) {
		fprintf(stderr, PROG " : %s : %s\n", tmp, strerror(errno));
		goto restore;
	}

	cc = client_perform(ctl, &rq, &r, errbuf);
	if (cc == CURLE_WRITE_ERROR && r.status == 200 && r.err != 0) {
		fprintf(stderr, PROG " : %s : %s\n", tmp, strerror(r.err));
		goto restore;
	}
	if (cc != CURLE_OK) {
		rv = client_report_transport(ctl, cc, errbuf, &r);
		goto restore;
	}
	if (r.status >= 400) {
		rv = client_report_http_error(ctl, &r);
		goto restore;
	}
	if (r.status != 200) {
		fputs(PROG " : réponse inattendue du service : ", stderr);
		put_clean(stderr, r.status_line);
		fputc('\n', stderr);
		goto restore;
	}
	if (!backup_head_ok(r.head, r.written < sizeof(r.head) ? r.written : sizeof(r.head))) {
		fprintf(stderr,
		    PROG " : la réponse n'est ni une sauvegarde chiffrée (CMS) ni une base SQLite "
		         "(%zu octets) ; %s n'a pas été modifié\n",
		    r.written, file);
		goto restore;
	}
	if (fsync(fd) == -1) {
		fprintf(stderr, PROG " : fsync de %s : %s\n", tmp, strerror(errno));
		goto restore;
	}
	if (close(fd) == -1) {
		fd = -1;
		fprintf(stderr, PROG " : fermeture de %s : %s\n", tmp, strerror(errno));
		goto restore;
	}
	fd = -1;
	if (client_interrupted) {
		fprintf(stderr, PROG " : interrompu ; %s n'a pas été modifié\n", file);
		goto restore;
	}
	if (rename(tmp, file) == -1) {
		fprintf(stderr, PROG " : impossible de renommer %s en %s : %s\n", tmp, file,
		    strerror(errno));
		goto restore;
	}
	free(tmp);
	tmp = NULL;
	if (fsync(dfd) == -1) {
		fprintf(stderr, PROG " : %s écrit, mais le fsync du répertoire %s a échoué : %s\n",
		    file, dir, strerror(errno));
		goto restore;
	}
	if (!ctl->quiet)
		printf("%s : %zu octets\n", file, r.written);
	rv = 0;

restore:
	if (fd != -1)
		close(fd);
	if (tmp != NULL && r.fd != -1)
		unlink(tmp);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
out:
	if (dfd != -1)
		close(dfd);
	free(r.body.data);
	free(tmp);
	free(dir);
	return rv;
}

/*
 * A person's file is personal data: FILE is made 0600, written whole
 * beside itself and renamed, so it is either absent or complete.
 */
static int
write_private(const char *file, json_t *j)
{
	static const char suffix[] = ".tmp-XXXXXX";
	size_t len = strlen(file) + sizeof(suffix);
	char *tmp;
	FILE *fp;
	int fd, ok;

	if ((tmp = malloc(len)) == NULL) {
		fprintf(stderr, PROG " : %s\n", strerror(errno));
		return EXIT_ERR;
	}
	snprintf(tmp, len, "%s%s", file, suffix);
	if ((fd = mkstemp(tmp)) == -1 || fchmod(fd, 0600) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, PROG " : %s : %s\n", tmp, strerror(errno));
		if (fd != -1) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
		return EXIT_ERR;
	}
	ok = json_dumpf(j, fp, JSON_INDENT(2)) == 0 && fputc('\n', fp) != EOF && fflush(fp) == 0 &&
	    fsync(fileno(fp)) == 0;
	ok = fclose(fp) == 0 && ok;
	if (!ok || rename(tmp, file) == -1) {
		fprintf(stderr, PROG " : %s : %s\n", ok ? file : tmp, strerror(errno));
		unlink(tmp);
		free(tmp);
		return EXIT_ERR;
	}
	free(tmp);
	return 0;
}

static int
cmd_export(const struct ctl *ctl, int argc, char **argv)
{
	const char *id = argv[1];
	struct request rq = {
		.method = "GET",
		.timeout = REQUEST_TIMEOUT,
		.json = 1,
	};
	struct response r = { .fd = -1 };
	char path[64], errbuf[CURL_ERROR_SIZE];
	json_t *j;
	CURLcode cc;
	int rv;

	if (strlen(id) == 0 || strlen(id) > 18 || strspn(id, "0123456789") != strlen(id) ||
	    id[0] == '0') {
		fprintf(
		    stderr, PROG " export : ID doit être le numéro d'un salarié (des chiffres)\n");
		return EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "/v1/employees/%s/export", id);
	if (argc < 3 || strcmp(argv[2], "-") == 0)
		return client_json_request(ctl, "GET", path, NULL, 0, NULL);
	rq.path = path;
	cc = client_perform(ctl, &rq, &r, errbuf);
	if (cc != CURLE_OK)
		rv = client_report_transport(ctl, cc, errbuf, &r);
	else if (r.status >= 400)
		rv = client_report_http_error(ctl, &r);
	else if ((j = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL)) == NULL) {
		fprintf(stderr, PROG " : la réponse du service n'est pas du JSON (%zu octets)\n",
		    r.body.len);
		rv = EXIT_ERR;
	} else {
		rv = write_private(argv[2], j);
		json_decref(j);
		if (rv == 0 && !ctl->quiet)
			printf("%s : dossier du salarié %s\n", argv[2], id);
	}
	free(r.body.data);
	return rv;
}
