/*
 * tremplinctl's HTTP client: HTTP/1.1 over the daemon's Unix socket through
 * libcurl (blocking curl_easy: a CLI has nothing else to do meanwhile), and
 * the reports of answers that are not a success.
 */
#ifndef TREMPLINCTL_CLIENT_H
#define TREMPLINCTL_CLIENT_H

#include <signal.h>
#include <stddef.h>

#include <curl/curl.h>

#include "ctl.h"

#define CONNECT_TIMEOUT 5L
#define REQUEST_TIMEOUT 60L
#define BACKUP_TIMEOUT 600L
/* Far above any JSON answer the API gives; stops a runaway reply. */
#define ANSWER_MAX ((size_t)16 * 1024 * 1024)

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
	char warning[256]; /* the text of a Warning header, printed on stderr */
};

/* Set by the signal handler during a backup; curl's progress callback sees
 * it and aborts, so the temporary file is removed on the normal path. */
extern volatile sig_atomic_t client_interrupted;

/* Returns 0, or E2BIG past max, or ENOMEM. */
int buf_append(struct buf *, const void *, size_t, size_t max);

/* Catches sig into client_interrupted, keeping the old action in old;
 * leaves alone a signal the caller ignores (nohup). */
void client_catch_signal(int sig, struct sigaction *old);

/*
 * Runs one request and fills r. The caller initialises r (fd, zeroes) and
 * frees r->body.data. errbuf has CURL_ERROR_SIZE bytes.
 */
CURLcode client_perform(
    const struct ctl *, const struct request *, struct response *r, char *errbuf);

/* Reports a transfer that did not give a whole answer; returns the exit code. */
int client_report_transport(
    const struct ctl *, CURLcode, const char *errbuf, const struct response *);

/*
 * An answer >= 400: one line on stderr. A JSON body that is not an error
 * object (a degraded health report) still goes to stdout. Returns EXIT_ERR.
 */
int client_report_http_error(const struct ctl *, const struct response *);

/* One request expecting JSON, its answer printed or reported: the exit code. */
int client_json_request(const struct ctl *, const char *method, const char *path, const char *body,
    size_t bodylen, const char *content_type);

#endif
