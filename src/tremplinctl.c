/*
 * tremplinctl: the command-line client of tremplind.
 *
 * It speaks HTTP/1.1 to the daemon's Unix socket through libcurl (blocking
 * curl_easy: a CLI has nothing else to do meanwhile), pretty-prints JSON
 * answers and turns API errors into one line on stderr.
 *
 * Exit status: 0 success, 1 the daemon refused or a local failure, 2 no
 * complete answer from the daemon, 64 usage error (as EX_USAGE).
 */

/*
 * The build passes its defines (_GNU_SOURCE, PACKAGE_VERSION) on the command
 * line; there is no autoconf config.h, and "config.h" would find the daemon's
 * src/config.h. Built alone, POSIX 2008 is all this file needs.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <pwd.h>
#include <time.h>

#include "demo.h"
#include "log.h"
#include "util.h"

#ifndef TREMPLIN_DEFAULT_SOCKET
#define TREMPLIN_DEFAULT_SOCKET "/run/tremplin/tremplin.sock"
#endif

#ifdef PACKAGE_VERSION
#define USER_AGENT "tremplinctl/" PACKAGE_VERSION
#else
#define USER_AGENT "tremplinctl"
#endif

#define PROG "tremplinctl"
/* The host part is ignored on a Unix socket, but HTTP/1.1 needs a Host. */
#define BASE_URL "http://localhost"

#define CONNECT_TIMEOUT 5L
#define REQUEST_TIMEOUT 60L
#define BACKUP_TIMEOUT 600L
/* Far above any JSON answer the API gives; stops a runaway reply. */
#define ANSWER_MAX ((size_t)16 * 1024 * 1024)
/* The daemon refuses bodies over 1 MiB with a clear 413; let it say so. */
#define STDIN_MAX ((size_t)16 * 1024 * 1024)

enum {
	EXIT_ERR = 1, /* the daemon refused, or a local failure */
	EXIT_NOANSWER = 2, /* cannot connect, timeout, connection lost */
	EXIT_USAGE = 64, /* as EX_USAGE in sysexits.h */
};

struct ctl {
	const char *socket;
	int quiet;
};

struct buf {
	char *data; /* NUL-terminated once anything was appended */
	size_t len;
	size_t cap;
};

struct request {
	const char *method;
	const char *path; /* starts with '/' */
	const char *body; /* NULL for GET */
	size_t bodylen;
	const char *content_type; /* with body */
	long timeout;
	int json; /* expect JSON: cap the answer, send Accept */
};

struct response {
	long status;
	char status_line[128];
	struct buf body;
	int err; /* errno of a failed body write (CURLE_WRITE_ERROR) */
	int connected;
	int os_errno; /* of a failed connect */
	int fd; /* backup: a 200 body goes here; -1 otherwise */
	size_t written;
	unsigned char head[32]; /* first bytes written to fd */
};

struct command {
	const char *name;
	int min_args;
	int max_args;
	int (*run)(const struct ctl *, int, char **);
};

static int cmd_health(const struct ctl *, int, char **);
static int cmd_whoami(const struct ctl *, int, char **);
static int cmd_get(const struct ctl *, int, char **);
static int cmd_post(const struct ctl *, int, char **);
static int cmd_patch(const struct ctl *, int, char **);
static int cmd_delete(const struct ctl *, int, char **);
static int cmd_backup(const struct ctl *, int, char **);
static int cmd_export(const struct ctl *, int, char **);

static const struct command commands[] = {
	{ .name = "health", .min_args = 0, .max_args = 0, .run = cmd_health },
	{ .name = "whoami", .min_args = 0, .max_args = 0, .run = cmd_whoami },
	{ .name = "get", .min_args = 1, .max_args = 1, .run = cmd_get },
	{ .name = "post", .min_args = 1, .max_args = 2, .run = cmd_post },
	{ .name = "patch", .min_args = 1, .max_args = 2, .run = cmd_patch },
	{ .name = "delete", .min_args = 1, .max_args = 2, .run = cmd_delete },
	{ .name = "backup", .min_args = 1, .max_args = 1, .run = cmd_backup },
	{ .name = "export", .min_args = 1, .max_args = 2, .run = cmd_export },
};

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

/* Set by the signal handler during a backup; curl's progress callback sees
 * it and aborts, so the temporary file is removed on the normal path. */
static volatile sig_atomic_t interrupted;

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: " PROG " [-q] [-s socket] command [argument ...]\n"
	    "\n"
	    "commands:\n"
	    "  health             show the daemon's health\n"
	    "  whoami             show the staff account you are known as\n"
	    "  get PATH           GET an API path, e.g. /v1/staff?limit=2\n"
	    "  post PATH [JSON]   POST a JSON body (standard input if JSON is\n"
	    "                     absent or -)\n"
	    "  patch PATH [JSON]  PATCH with a JSON merge patch (likewise)\n"
	    "  delete PATH [JSON] DELETE with a JSON body, e.g. an erasure's\n"
	    "                     {\"reason\": \"request\"} (likewise)\n"
	    "  backup FILE        save a backup as FILE (encrypted: CMS, e.g. tremplin.db.cms)\n"
	    "  export ID [FILE]   everything held about employee ID, as JSON\n"
	    "                     (to FILE, readable by you alone, or standard output)\n"
	    "  demo --database PATH [--as ACCOUNT[=USER]] [--employees N]\n"
	    "                     fill a new database with demo data (demo --help)\n"
	    "  help               show this help\n"
	    "\n"
	    "options:\n"
	    "  -s, --socket PATH  the daemon's socket (default: $TREMPLIN_SOCKET,\n"
	    "                     else " TREMPLIN_DEFAULT_SOCKET ")\n"
	    "  -q, --quiet        print nothing on success\n"
	    "  -h, --help         show this help\n");
}

/* Text from the daemon may echo user input; keep control characters away
 * from the terminal. */
static void
put_clean(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		fputc(c < 0x20 || c == 0x7f ? '?' : c, fp);
	}
}

/* Returns 0, or E2BIG past max, or ENOMEM. */
static int
buf_append(struct buf *b, const void *p, size_t n, size_t max)
{
	size_t need, cap;
	char *data;

	if (n > max - b->len)
		return E2BIG;
	need = b->len + n + 1;
	if (need > b->cap) {
		/* max is far below SIZE_MAX / 2: the doubling cannot wrap. */
		for (cap = b->cap ? b->cap : 4096; cap < need; cap *= 2)
			;
		if ((data = realloc(b->data, cap)) == NULL)
			return ENOMEM;
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Keeps the last status line: curl passes interim ones (100) too. */
static size_t
header_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct response *r = arg;
	size_t n = size * nmemb, len;
	char *sp, *end;
	long code;

	if (n < 5 || memcmp(ptr, "HTTP/", 5) != 0)
		return n;
	len = n;
	while (len > 0 && (ptr[len - 1] == '\r' || ptr[len - 1] == '\n'))
		len--;
	if (len >= sizeof(r->status_line))
		len = sizeof(r->status_line) - 1;
	memcpy(r->status_line, ptr, len);
	r->status_line[len] = '\0';

	r->status = 0;
	if ((sp = strchr(r->status_line, ' ')) != NULL) {
		errno = 0;
		code = strtol(sp + 1, &end, 10);
		if (errno == 0 && end != sp + 1 && code >= 100 && code <= 999)
			r->status = code;
	}
	return n;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct response *r = arg;
	size_t n = size * nmemb, k;

	if (r->fd != -1 && r->status == 200) {
		if (r->written < sizeof(r->head)) {
			k = sizeof(r->head) - r->written;
			memcpy(r->head + r->written, ptr, n < k ? n : k);
		}
		if (write_all(r->fd, ptr, n) == -1) {
			r->err = errno;
			return 0;
		}
		r->written += n;
		return n;
	}
	if ((r->err = buf_append(&r->body, ptr, n, ANSWER_MAX)) != 0)
		return 0;
	return n;
}

static int
xferinfo_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return interrupted != 0;
}

static void
on_signal(int sig)
{
	interrupted = sig;
}

/* Leaves alone a signal the caller ignores (nohup). */
static void
catch_signal(int sig, struct sigaction *old)
{
	struct sigaction sa;

	if (sigaction(sig, NULL, old) == -1 || old->sa_handler == SIG_IGN)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* A failed setopt is a bug or a libcurl without Unix sockets: stop there. */
#define SETOPT(h, opt, val)                                                                        \
	do {                                                                                       \
		if ((cc = curl_easy_setopt((h), (opt), (val))) != CURLE_OK)                        \
			goto out;                                                                  \
	} while (0)

/*
 * Runs one request and fills r. The caller initialises r (fd, zeroes) and
 * frees r->body.data. errbuf has CURL_ERROR_SIZE bytes.
 */
static CURLcode
perform(const struct ctl *ctl, const struct request *rq, struct response *r, char *errbuf)
{
	CURL *c;
	CURLcode cc = CURLE_OUT_OF_MEMORY;
	struct curl_slist *hdrs = NULL, *h;
	const char *lines[3];
	char ctype[128];
	size_t i, nlines = 0, urllen;
	char *url;
	curl_off_t t = 0;
	long os_errno = 0;

	errbuf[0] = '\0';
	urllen = sizeof(BASE_URL) + strlen(rq->path);
	if ((url = malloc(urllen)) == NULL)
		return CURLE_OUT_OF_MEMORY;
	snprintf(url, urllen, "%s%s", BASE_URL, rq->path);
	if ((c = curl_easy_init()) == NULL) {
		free(url);
		return CURLE_FAILED_INIT;
	}

	/* Our daemon does not do 100-continue; curl would wait 1 s for it. */
	lines[nlines++] = "Expect:";
	if (rq->json)
		lines[nlines++] = "Accept: application/json";
	if (rq->body != NULL) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", rq->content_type);
		lines[nlines++] = ctype;
	}
	for (i = 0; i < nlines; i++) {
		if ((h = curl_slist_append(hdrs, lines[i])) == NULL)
			goto out;
		hdrs = h;
	}

	SETOPT(c, CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(c, CURLOPT_UNIX_SOCKET_PATH, ctl->socket);
	SETOPT(c, CURLOPT_URL, url);
	SETOPT(c, CURLOPT_USERAGENT, USER_AGENT);
	SETOPT(c, CURLOPT_HTTPHEADER, hdrs);
	SETOPT(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	SETOPT(c, CURLOPT_TIMEOUT, rq->timeout);
	SETOPT(c, CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(c, CURLOPT_HEADERDATA, r);
	SETOPT(c, CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(c, CURLOPT_WRITEDATA, r);
	SETOPT(c, CURLOPT_NOPROGRESS, 0L);
	SETOPT(c, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	if (rq->json)
		/* Refuses early when Content-Length says too much. */
		SETOPT(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ANSWER_MAX);
	if (rq->body != NULL) {
		SETOPT(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->bodylen);
		SETOPT(c, CURLOPT_POSTFIELDS, rq->body);
	}
	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "POST") != 0)
		SETOPT(c, CURLOPT_CUSTOMREQUEST, rq->method);

	cc = curl_easy_perform(c);
	if (curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &t) == CURLE_OK)
		r->connected = t > 0 || r->status != 0;
	if (curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK)
		r->os_errno = (int)os_errno;
out:
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	free(url);
	return cc;
}

/* Why connecting failed, in words an operator can act on. */
static void
socket_hint(const char *path, int os_errno, int timed_out, char *hint, size_t len)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		if (errno == ENOENT)
			snprintf(hint, len, "the socket file is missing; is tremplind running?");
		else
			snprintf(hint, len, "%s", strerror(errno));
	} else if (!S_ISSOCK(st.st_mode))
		snprintf(hint, len, "the file is not a socket");
	else if (os_errno == ECONNREFUSED)
		snprintf(hint, len, "nothing listens on it; is tremplind running?");
	else if (os_errno == EACCES)
		snprintf(hint, len, "permission denied; are you in the socket's group?");
	else if (os_errno != 0)
		snprintf(hint, len, "%s", strerror(os_errno));
	else if (timed_out)
		snprintf(hint, len, "no answer within %ld s", CONNECT_TIMEOUT);
	else
		/* A full listen queue (EAGAIN) leaves no errno in curl. */
		snprintf(hint, len, "the daemon is not accepting connections");
}

/* Reports a transfer that did not give a whole answer; returns the exit code. */
static int
report_transport(const struct ctl *ctl, CURLcode cc, const char *errbuf, const struct response *r)
{
	const char *why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc);
	char hint[128];

	if (cc == CURLE_COULDNT_CONNECT || (cc == CURLE_OPERATION_TIMEDOUT && !r->connected)) {
		socket_hint(
		    ctl->socket, r->os_errno, cc == CURLE_OPERATION_TIMEDOUT, hint, sizeof(hint));
		fprintf(stderr, PROG ": cannot connect to %s: %s (%s)\n", ctl->socket,
		    curl_easy_strerror(cc), hint);
		return EXIT_NOANSWER;
	}
	if (cc == CURLE_FILESIZE_EXCEEDED || (cc == CURLE_WRITE_ERROR && r->err == E2BIG)) {
		fprintf(stderr, PROG ": the answer is larger than %zu MiB\n",
		    ANSWER_MAX / (1024 * 1024));
		return EXIT_ERR;
	}
	if (cc == CURLE_WRITE_ERROR && r->err != 0) {
		fprintf(stderr, PROG ": %s\n", strerror(r->err));
		return EXIT_ERR;
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK && interrupted) {
		fprintf(stderr, PROG ": interrupted\n");
		return EXIT_ERR;
	}
	fprintf(stderr, PROG ": request to %s failed: %s\n", ctl->socket, why);
	return EXIT_NOANSWER;
}

static int
print_json(const struct ctl *ctl, json_t *j)
{
	if (ctl->quiet)
		return 0;
	if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY) == -1 || putchar('\n') == EOF) {
		fprintf(stderr, PROG ": cannot write the answer\n");
		return EXIT_ERR;
	}
	return 0;
}

/*
 * An answer >= 400: one line on stderr. A JSON body that is not an error
 * object (a degraded health report) still goes to stdout.
 */
static int
report_http_error(const struct ctl *ctl, const struct response *r)
{
	json_t *j = NULL, *e;
	const char *code, *message, *field;

	if (r->body.len > 0)
		j = json_loadb(r->body.data, r->body.len, JSON_DECODE_ANY, NULL);
	e = json_object_get(j, "error");
	if (json_is_object(e)) {
		code = json_string_value(json_object_get(e, "code"));
		message = json_string_value(json_object_get(e, "message"));
		field = json_string_value(json_object_get(e, "field"));
		fputs(PROG ": ", stderr);
		put_clean(stderr, message != NULL ? message : code != NULL ? code : "error");
		if (field != NULL) {
			fputs(" (field: ", stderr);
			put_clean(stderr, field);
			fputc(')', stderr);
		}
		fprintf(stderr, " [HTTP %ld", r->status);
		if (code != NULL) {
			fputc(' ', stderr);
			put_clean(stderr, code);
		}
		fputs("]\n", stderr);
	} else {
		if (j != NULL)
			print_json(ctl, j);
		fputs(PROG ": ", stderr);
		put_clean(stderr, r->status_line);
		fputc('\n', stderr);
	}
	json_decref(j);
	return EXIT_ERR;
}

/* An answer < 400: print its JSON, if any. */
static int
print_answer(const struct ctl *ctl, const struct response *r)
{
	json_error_t jerr;
	json_t *j;
	int rv;

	if (r->body.len == 0)
		return 0;
	j = json_loadb(r->body.data, r->body.len, JSON_DECODE_ANY, &jerr);
	if (j == NULL) {
		fprintf(stderr, PROG ": the answer is not JSON (%zu bytes): ", r->body.len);
		put_clean(stderr, jerr.text);
		fputc('\n', stderr);
		return EXIT_ERR;
	}
	rv = print_json(ctl, j);
	json_decref(j);
	return rv;
}

static int
json_request(const struct ctl *ctl, const char *method, const char *path, const char *body,
    size_t bodylen, const char *content_type)
{
	struct request rq = {
		.method = method,
		.path = path,
		.body = body,
		.bodylen = bodylen,
		.content_type = content_type,
		.timeout = REQUEST_TIMEOUT,
		.json = 1,
	};
	struct response r = { .fd = -1 };
	char errbuf[CURL_ERROR_SIZE];
	CURLcode cc;
	int rv;

	cc = perform(ctl, &rq, &r, errbuf);
	if (cc != CURLE_OK)
		rv = report_transport(ctl, cc, errbuf, &r);
	else if (r.status >= 400)
		rv = report_http_error(ctl, &r);
	else
		rv = print_answer(ctl, &r);
	free(r.body.data);
	return rv;
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
		fprintf(stderr, PROG ": empty PATH\n");
		return NULL;
	}
	/* An argument is below ARG_MAX: three times its length cannot wrap. */
	for (p = (const unsigned char *)arg; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			fprintf(stderr, PROG ": PATH holds a control character\n");
			return NULL;
		}
		len += needs_escape(*p) ? 3 : 1;
	}
	if ((path = malloc(len)) == NULL) {
		fprintf(stderr, PROG ": %s\n", strerror(errno));
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
	return json_request(ctl, "GET", "/v1/health", NULL, 0, NULL);
}

static int
cmd_whoami(const struct ctl *ctl, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return json_request(ctl, "GET", "/v1/whoami", NULL, 0, NULL);
}

static int
cmd_get(const struct ctl *ctl, int argc, char **argv)
{
	char *path;
	int rv;

	(void)argc;
	if ((path = api_path(argv[0])) == NULL)
		return EXIT_USAGE;
	rv = json_request(ctl, "GET", path, NULL, 0, NULL);
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
				fprintf(stderr, PROG ": standard input is larger than %zu MiB\n",
				    STDIN_MAX / (1024 * 1024));
			else
				fprintf(stderr, PROG ": %s\n", strerror(err));
			return -1;
		}
	}
	if (ferror(stdin)) {
		fprintf(stderr, PROG ": standard input: %s\n", strerror(errno));
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

	if ((path = api_path(argv[0])) == NULL)
		return EXIT_USAGE;
	if (argc < 2 || strcmp(argv[1], "-") == 0) {
		if (read_stdin(&in) == -1) {
			rv = EXIT_ERR;
			goto out;
		}
		body = in.data != NULL ? in.data : "";
		len = in.len;
		from = "on standard input";
	} else {
		body = argv[1];
		len = strlen(body);
		from = "argument";
	}
	/* Duplicate keys are ambiguous; refuse them rather than guess which
	 * one the daemon keeps. */
	j = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		fprintf(stderr, PROG ": invalid JSON %s, line %d, column %d: %s\n", from, jerr.line,
		    jerr.column, jerr.text);
		goto out;
	}
	json_decref(j);
	rv = json_request(ctl, method, path, body, len, ctype);
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
	const char *file = argv[0];
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
		fprintf(stderr, PROG ": backup: FILE must name a file\n");
		return EXIT_USAGE;
	}
	len += sizeof(suffix);
	if ((dir = dir_of(file)) == NULL || (tmp = malloc(len)) == NULL) {
		fprintf(stderr, PROG ": %s\n", strerror(errno));
		goto out;
	}
	snprintf(tmp, len, "%s%s", file, suffix);

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1) {
		fprintf(stderr, PROG ": %s: %s\n", dir, strerror(errno));
		goto out;
	}

	catch_signal(SIGINT, &old_int);
	catch_signal(SIGTERM, &old_term);
	catch_signal(SIGHUP, &old_hup);

	if ((fd = mkstemp(tmp)) == -1) {
		fprintf(stderr, PROG ": %s: %s\n", tmp, strerror(errno));
		goto restore;
	}
	r.fd = fd;
	/* mkstemp makes it 0600 already; the database is private data. */
	if (fchmod(fd, 0600) == -1) {
		fprintf(stderr, PROG ": %s: %s\n", tmp, strerror(errno));
		goto restore;
	}

	cc = perform(ctl, &rq, &r, errbuf);
	if (cc == CURLE_WRITE_ERROR && r.status == 200 && r.err != 0) {
		fprintf(stderr, PROG ": %s: %s\n", tmp, strerror(r.err));
		goto restore;
	}
	if (cc != CURLE_OK) {
		rv = report_transport(ctl, cc, errbuf, &r);
		goto restore;
	}
	if (r.status >= 400) {
		rv = report_http_error(ctl, &r);
		goto restore;
	}
	if (r.status != 200) {
		fputs(PROG ": unexpected answer: ", stderr);
		put_clean(stderr, r.status_line);
		fputc('\n', stderr);
		goto restore;
	}
	if (!backup_head_ok(r.head, r.written < sizeof(r.head) ? r.written : sizeof(r.head))) {
		fprintf(stderr,
		    PROG ": the answer is neither an encrypted backup (CMS) nor an SQLite database "
		         "(%zu bytes); %s left untouched\n",
		    r.written, file);
		goto restore;
	}
	if (fsync(fd) == -1) {
		fprintf(stderr, PROG ": fsync %s: %s\n", tmp, strerror(errno));
		goto restore;
	}
	if (close(fd) == -1) {
		fd = -1;
		fprintf(stderr, PROG ": close %s: %s\n", tmp, strerror(errno));
		goto restore;
	}
	fd = -1;
	if (interrupted) {
		fprintf(stderr, PROG ": interrupted\n");
		goto restore;
	}
	if (rename(tmp, file) == -1) {
		fprintf(stderr, PROG ": rename %s to %s: %s\n", tmp, file, strerror(errno));
		goto restore;
	}
	free(tmp);
	tmp = NULL;
	if (fsync(dfd) == -1) {
		fprintf(stderr, PROG ": %s written, but fsync of %s failed: %s\n", file, dir,
		    strerror(errno));
		goto restore;
	}
	if (!ctl->quiet)
		printf("%s: %zu bytes\n", file, r.written);
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
		fprintf(stderr, PROG ": %s\n", strerror(errno));
		return EXIT_ERR;
	}
	snprintf(tmp, len, "%s%s", file, suffix);
	if ((fd = mkstemp(tmp)) == -1 || fchmod(fd, 0600) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", tmp, strerror(errno));
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
		fprintf(stderr, PROG ": %s: %s\n", ok ? file : tmp, strerror(errno));
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
	const char *id = argv[0];
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
		fprintf(stderr, PROG ": export: ID must be an employee's id (digits)\n");
		return EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "/v1/employees/%s/export", id);
	if (argc < 2 || strcmp(argv[1], "-") == 0)
		return json_request(ctl, "GET", path, NULL, 0, NULL);
	rq.path = path;
	cc = perform(ctl, &rq, &r, errbuf);
	if (cc != CURLE_OK)
		rv = report_transport(ctl, cc, errbuf, &r);
	else if (r.status >= 400)
		rv = report_http_error(ctl, &r);
	else if ((j = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL)) == NULL) {
		fprintf(stderr, PROG ": the answer is not JSON (%zu bytes)\n", r.body.len);
		rv = EXIT_ERR;
	} else {
		rv = write_private(argv[1], j);
		json_decref(j);
		if (rv == 0 && !ctl->quiet)
			printf("%s: employee %s\n", argv[1], id);
	}
	free(r.body.data);
	return rv;
}

static void
demo_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: " PROG " demo --database PATH [--as ACCOUNT[=USER]]...\n"
	    "                        [--employees N [--years Y] [--seed S]]\n"
	    "\n"
	    "Fill a new database with demo data; then start tremplind on it.\n"
	    "\n"
	    "It writes straight into a new SQLite file, migrated by the daemon's own\n"
	    "code, as an import would: no daemon runs on that file yet, nothing goes\n"
	    "through the API (which would need staff accounts before any exist, and\n"
	    "journal an event per row), and a file that exists and is not empty is\n"
	    "refused, so a real database is never touched.\n"
	    "\n"
	    "Without --employees: the workshop \"Jardins Solidaires du Pays de\n"
	    "Guéret\", an ACI (espaces verts) with a coordinator, a CIP, two ETIs and\n"
	    "twelve employees at various points of their pathway.\n"
	    "With --employees N: N pathways hired over Y years, with their contracts,\n"
	    "PASS IAE, follow-up and exits, and more ETIs and CIPs; for benchmarks.\n"
	    "\n"
	    "The daemon knows callers by their Unix user. The demo's staff accounts\n"
	    "have users that do not exist here (demo-coordinator, demo-cip,\n"
	    "demo-eti1, demo-eti2); --as gives one to a real user, to browse as it:\n"
	    "  --as cip              you are the CIP, Awa Diallo\n"
	    "  --as coordinator=bob  Unix user bob is the coordinator, Claire Lefèvre\n"
	    "Accounts: coordinator, cip, eti1 (or eti: Karim Benali), eti2 (Julien\n"
	    "Moreau). Leave those users out of the daemon's `staff` setting: the\n"
	    "accounts listed there are the configuration's, and it would rename them.\n"
	    "scripts/run.sh --demo does all of this.\n"
	    "\n"
	    "options:\n"
	    "  -d, --database PATH   the new database (its directory must exist)\n"
	    "  -a, --as ACCOUNT[=USER]\n"
	    "                        give a demo account to USER (default: you)\n"
	    "  -n, --employees N     generate N pathways instead of the workshop\n"
	    "  -y, --years Y         of history, 1 to 10 (default 3)\n"
	    "  -S, --seed S          of the generator (default 1): the same seed on the\n"
	    "                        same day gives the same data\n"
	    "  -h, --help            show this help\n"
	    "Dates run back from today; TREMPLIN_TEST_CLOCK (YYYY-MM-DDTHH:MM:SSZ)\n"
	    "sets today, as it does for the daemon.\n");
}

static int
cmd_demo(const struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "database", required_argument, NULL, 'd' },
		{ "as", required_argument, NULL, 'a' },
		{ "employees", required_argument, NULL, 'n' },
		{ "years", required_argument, NULL, 'y' },
		{ "seed", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct demo_options o = { .years = 3, .seed = 1 };
	struct demo_as as[16];
	struct demo_counts n;
	struct timespec t0, t1;
	const char *clock;
	char err[1024], me[64] = "";
	int64_t v;
	int ch, years = 0, seed = 0;

	if (getpwuid(geteuid()) != NULL)
		snprintf(me, sizeof(me), "%s", getpwuid(geteuid())->pw_name);
	optind = 0; /* glibc: start over on the command's own arguments */
	while ((ch = getopt_long(argc, argv, "+:a:d:hn:S:y:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			o.database = optarg;
			break;
		case 'a': {
			char *eq = strchr(optarg, '=');
			if (o.nas == sizeof(as) / sizeof(as[0])) {
				fprintf(stderr, PROG ": demo: too many --as\n");
				return EXIT_USAGE;
			}
			if (eq == NULL && me[0] == '\0') {
				fprintf(stderr,
				    PROG ": demo: --as %s: who are you? (uid %u has no name)\n",
				    optarg, (unsigned)geteuid());
				return EXIT_USAGE;
			}
			if (eq != NULL)
				*eq = '\0';
			as[o.nas].account = optarg;
			as[o.nas].unix_user = eq != NULL ? eq + 1 : me;
			o.nas++;
			o.as = as;
			break;
		}
		case 'n':
			if (tr_parse_i64(optarg, 1, 1000000, &v) == -1) {
				fprintf(stderr, PROG ": demo: --employees must be 1 to 1000000\n");
				return EXIT_USAGE;
			}
			o.employees = (int)v;
			break;
		case 'y':
			if (tr_parse_i64(optarg, 1, 10, &v) == -1) {
				fprintf(stderr, PROG ": demo: --years must be 1 to 10\n");
				return EXIT_USAGE;
			}
			o.years = (int)v;
			years = 1;
			break;
		case 'S':
			if (tr_parse_i64(optarg, 0, INT64_MAX, &v) == -1) {
				fprintf(stderr, PROG ": demo: --seed must be a number\n");
				return EXIT_USAGE;
			}
			o.seed = (uint64_t)v;
			seed = 1;
			break;
		case 'h':
			demo_usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, PROG ": demo: %s needs an argument\n", argv[optind - 1]);
			demo_usage(stderr);
			return EXIT_USAGE;
		default:
			fprintf(stderr, PROG ": demo: bad option %s\n", argv[optind - 1]);
			demo_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || o.database == NULL || *o.database == '\0') {
		fprintf(stderr, PROG ": demo: %s\n",
		    optind != argc ? "unexpected argument" : "--database PATH is required");
		demo_usage(stderr);
		return EXIT_USAGE;
	}
	if ((years || seed) && o.employees == 0) {
		fprintf(stderr, PROG ": demo: --years and --seed go with --employees\n");
		return EXIT_USAGE;
	}
	/* The daemon's test clock, so that a test's demo and daemon share today. */
	if ((clock = getenv("TREMPLIN_TEST_CLOCK")) != NULL && *clock != '\0') {
		struct tm tm;
		char *end;
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(clock, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *end != '\0') {
			fprintf(
			    stderr, PROG ": TREMPLIN_TEST_CLOCK: expected YYYY-MM-DDTHH:MM:SSZ\n");
			return EXIT_USAGE;
		}
		tr_clock_set_offset(((int64_t)timegm(&tm) - (int64_t)time(NULL)) * 1000);
	}
	/* The daemon's code logs; only its warnings matter here. */
	log_init(1, LOG_LEVEL_WARNING);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (demo_create(&o, &n, err, sizeof(err)) == -1) {
		fprintf(stderr, PROG ": demo: ");
		put_clean(stderr, err);
		fputc('\n', stderr);
		return EXIT_ERR;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ctl->quiet)
		return 0;
	printf("%s: %s in %.2f s\n", o.database,
	    o.employees ? "generated pathways" : "the demo workshop",
	    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	printf("  %ld structure (ACI), %ld staff accounts, %ld employees: %ld in the pathway, "
	       "%ld exited, %ld not started\n",
	    n.structures, n.staff, n.employees, n.in_pathway, n.exited, n.candidates);
	printf("  %ld contracts, %ld renewals, %ld PASS IAE, %ld welcome items, %ld barriers,\n"
	       "  %ld observations, %ld goals, %ld reviews, %ld notes, %ld exits\n",
	    n.contracts, n.renewals, n.passes, n.welcome, n.barriers, n.observations, n.goals,
	    n.reviews, n.notes, n.exits);
	for (size_t i = 0; i < o.nas; i++) {
		const char *name = demo_account_name(as[i].account);
		printf("  Unix user %s is the demo's %s%s%s%s\n", as[i].unix_user, as[i].account,
		    name ? " (" : "", name ? name : "", name ? ")" : "");
	}
	printf("Start tremplind with database = \"%s\" and an audit_database of its own\n"
	       "in its configuration.\n",
	    o.database);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { .socket = NULL };
	const struct command *cmd = NULL;
	const char *env;
	size_t i;
	int ch, nargs, rv;

	opterr = 0;
	/* '+': stop at the command, so "post /x -" keeps its "-". */
	while ((ch = getopt_long(argc, argv, "+:hqs:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return 0;
		case 'q':
			ctl.quiet = 1;
			break;
		case 's':
			ctl.socket = optarg;
			break;
		case ':':
			fprintf(stderr, PROG ": %s needs an argument\n", argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		default:
			/* A bad long option (--quiet=1 too) is shown whole. */
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				fprintf(stderr, PROG ": bad option %s\n", argv[optind - 1]);
			else
				fprintf(stderr, PROG ": unknown option -%c\n", optopt);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;

	if (ctl.socket == NULL)
		ctl.socket = (env = getenv("TREMPLIN_SOCKET")) != NULL && *env != '\0'
		    ? env
		    : TREMPLIN_DEFAULT_SOCKET;
	if (*ctl.socket == '\0') {
		fprintf(stderr, PROG ": empty socket path\n");
		return EXIT_USAGE;
	}
	if (strlen(ctl.socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		fprintf(stderr, PROG ": socket path too long (%zu bytes at most): %s\n",
		    sizeof(((struct sockaddr_un *)0)->sun_path) - 1, ctl.socket);
		return EXIT_USAGE;
	}

	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0) {
		usage(stdout);
		return 0;
	}
	/* A local command: it writes a database file and talks to no daemon. */
	if (strcmp(argv[0], "demo") == 0) {
		rv = cmd_demo(&ctl, argc, argv);
		if (fflush(stdout) == EOF || ferror(stdout)) {
			fprintf(stderr, PROG ": standard output: %s\n", strerror(errno));
			rv = EXIT_ERR;
		}
		return rv;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		fputs(PROG ": unknown command ", stderr);
		put_clean(stderr, argv[0]);
		fputc('\n', stderr);
		usage(stderr);
		return EXIT_USAGE;
	}
	nargs = argc - 1;
	if (nargs < cmd->min_args || nargs > cmd->max_args) {
		fprintf(stderr, PROG ": %s: wrong number of arguments\n", cmd->name);
		usage(stderr);
		return EXIT_USAGE;
	}

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, PROG ": cannot initialise libcurl\n");
		return EXIT_ERR;
	}
	rv = cmd->run(&ctl, nargs, argv + 1);
	curl_global_cleanup();

	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, PROG ": standard output: %s\n", strerror(errno));
		rv = EXIT_ERR;
	}
	/* Die of the signal, as the shell expects, now the files are clean. */
	if (interrupted) {
		signal(interrupted, SIG_DFL);
		raise(interrupted);
	}
	return rv;
}
