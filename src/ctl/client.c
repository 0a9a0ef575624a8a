/*
 * tremplinctl's HTTP client over the daemon's Unix socket (see client.h).
 */

/* The build defines _GNU_SOURCE; alone, POSIX 2008 is all this file needs. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "client.h"

#ifdef PACKAGE_VERSION
#define USER_AGENT "tremplinctl/" PACKAGE_VERSION
#else
#define USER_AGENT "tremplinctl"
#endif

/* The host part is ignored on a Unix socket, but HTTP/1.1 needs a Host. */
#define BASE_URL "http://localhost"

volatile sig_atomic_t client_interrupted;

int
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

	/* Warning: 299 tremplind "text": the text, for stderr. */
	if (n > 8 && strncasecmp(ptr, "Warning:", 8) == 0) {
		char *q = memchr(ptr, '"', n),
		     *qe = q ? memchr(q + 1, '"', n - (size_t)(q + 1 - ptr)) : NULL;
		if (qe != NULL && (size_t)(qe - q - 1) < sizeof(r->warning)) {
			memcpy(r->warning, q + 1, (size_t)(qe - q - 1));
			r->warning[qe - q - 1] = '\0';
		}
		return n;
	}
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
	return client_interrupted != 0;
}

static void
on_signal(int sig)
{
	client_interrupted = sig;
}

/* Leaves alone a signal the caller ignores (nohup). */
void
client_catch_signal(int sig, struct sigaction *old)
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
CURLcode
client_perform(const struct ctl *ctl, const struct request *rq, struct response *r, char *errbuf)
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
			snprintf(hint, len, "ce fichier n'existe pas. Le service est-il démarré ?");
		else
			snprintf(hint, len, "%s", strerror(errno));
	} else if (!S_ISSOCK(st.st_mode))
		snprintf(hint, len,
		    "ce fichier n'est pas une socket. Vérifiez le chemin (-s ou TREMPLIN_SOCKET).");
	else if (os_errno == ECONNREFUSED)
		snprintf(hint, len, "connexion refusée. Le service est-il démarré ?");
	else if (os_errno == EACCES)
		snprintf(hint, len,
		    "permission refusée. Votre compte est-il dans le groupe de la socket ?");
	else if (os_errno != 0)
		snprintf(hint, len, "%s", strerror(os_errno));
	else if (timed_out)
		snprintf(hint, len, "pas de réponse en %ld s. Réessayez dans un moment.",
		    CONNECT_TIMEOUT);
	else
		/* A full listen queue (EAGAIN) leaves no errno in curl. */
		snprintf(
		    hint, len, "le service n'accepte pas de connexion. Réessayez dans un moment.");
}

/* Reports a transfer that did not give a whole answer; returns the exit code. */
int
client_report_transport(
    const struct ctl *ctl, CURLcode cc, const char *errbuf, const struct response *r)
{
	const char *why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc);
	char hint[256];

	if (cc == CURLE_COULDNT_CONNECT || (cc == CURLE_OPERATION_TIMEDOUT && !r->connected)) {
		socket_hint(
		    ctl->socket, r->os_errno, cc == CURLE_OPERATION_TIMEDOUT, hint, sizeof(hint));
		fprintf(stderr, PROG " : impossible de joindre le service Tremplin par %s : %s\n",
		    ctl->socket, hint);
		return EXIT_NOANSWER;
	}
	if (cc == CURLE_FILESIZE_EXCEEDED || (cc == CURLE_WRITE_ERROR && r->err == E2BIG)) {
		fprintf(stderr, PROG " : la réponse du service dépasse %zu Mio\n",
		    ANSWER_MAX / (1024 * 1024));
		return EXIT_ERR;
	}
	if (cc == CURLE_WRITE_ERROR && r->err != 0) {
		fprintf(stderr, PROG " : réception de la réponse : %s\n", strerror(r->err));
		return EXIT_ERR;
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK && client_interrupted) {
		fprintf(stderr, PROG " : interrompu\n");
		return EXIT_ERR;
	}
	fprintf(stderr, PROG " : la demande au service Tremplin par %s a échoué : %s\n",
	    ctl->socket, why);
	return EXIT_NOANSWER;
}

/* The API's error codes, said to staff in French (the API's own message follows). */
static const char *
code_fr(const char *code)
{
	static const struct {
		const char *code, *fr;
	} t[] = {
		{ "forbidden", "accès refusé" },
		{ "not_found", "introuvable" },
		{ "bad_request", "demande invalide" },
		{ "validation_failed", "valeur refusée" },
		{ "conflict", "conflit" },
		{ "payload_too_large", "demande trop grande" },
		{ "unavailable", "service momentanément indisponible, réessayez" },
		{ "insufficient_storage", "disque plein : prévenez l'exploitant" },
		{ "internal", "erreur interne du service" },
	};

	for (size_t i = 0; code != NULL && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].code, code) == 0)
			return t[i].fr;
	return "refusé";
}

/*
 * An answer >= 400: one line on stderr, in French for the staff who read it,
 * quoting the API's message and code. A JSON body that is not an error
 * object (a degraded health report) still goes to stdout.
 */
int
client_report_http_error(const struct ctl *ctl, const struct response *r)
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
		fprintf(stderr, PROG " : %s", code_fr(code));
		if (field != NULL) {
			fputs(" (champ : ", stderr);
			put_clean(stderr, field);
			fputc(')', stderr);
		}
		if (message != NULL) {
			fputs(" \xe2\x80\x94 ", stderr);
			put_clean(stderr, message);
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
		fputs(PROG " : réponse du service : ", stderr);
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
		fprintf(stderr,
		    PROG " : la réponse du service n'est pas du JSON (%zu octets) : ", r->body.len);
		put_clean(stderr, jerr.text);
		fputc('\n', stderr);
		return EXIT_ERR;
	}
	rv = print_json(ctl, j);
	json_decref(j);
	return rv;
}

int
client_json_request(const struct ctl *ctl, const char *method, const char *path, const char *body,
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

	cc = client_perform(ctl, &rq, &r, errbuf);
	if (cc != CURLE_OK)
		rv = client_report_transport(ctl, cc, errbuf, &r);
	else if (r.status >= 400)
		rv = client_report_http_error(ctl, &r);
	else
		rv = print_answer(ctl, &r);
	if (cc == CURLE_OK && r.warning[0] != '\0') {
		fputs(PROG " : attention : ", stderr);
		put_clean(stderr, r.warning);
		fputc('\n', stderr);
	}
	free(r.body.data);
	return rv;
}
