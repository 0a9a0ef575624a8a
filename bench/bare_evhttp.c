/*
 * bare_evhttp: the baseline of the benchmark, "what evhttp alone costs".
 *
 * A libevent 2.1 evhttp server on a Unix socket that answers the paths the
 * benchmark drives, with bodies and headers of the same size and shape as
 * tremplind's, but without identity, routing, JSON parsing or SQLite:
 *
 *   GET  /v1/health          200 {"status":"ok",...}
 *   POST /v1/structures      201, Location: /v1/structures/N, the body echoed with an id
 *   GET  /v1/structures/N    200, the object stored by the POST
 *
 * Objects live in memory, in a ring of RING_SIZE slots: an id older than
 * that answers 404 (the load generator reads each object right after
 * creating it, so it never asks for one so old).
 *
 * usage: bare_evhttp SOCKET_PATH
 * It removes a file left at SOCKET_PATH, serves until SIGTERM or SIGINT,
 * then removes the socket.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define RING_SIZE 65536
#define MAX_OBJECT 4096
#define PREFIX "/v1/structures"

static struct {
	char *text[RING_SIZE];
	int64_t id[RING_SIZE];
	int64_t last;
} store;

static time_t started;

static void
reply(struct evhttp_request *req, int status, const char *body, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	/* The same headers tremplind sends, so both put the same bytes on the wire. */
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evbuffer_add(out, body, len);
	evhttp_send_reply(req, status, NULL, NULL);
}

static void
reply_str(struct evhttp_request *req, int status, const char *body)
{
	reply(req, status, body, strlen(body));
}

static void
health(struct evhttp_request *req)
{
	char body[160];
	int n = snprintf(body, sizeof(body),
	    "{\"status\":\"ok\",\"version\":\"0.1.0\",\"uptime_seconds\":%lld,"
	    "\"database\":{\"status\":\"ok\"}}\n",
	    (long long)(time(NULL) - started));

	reply(req, 200, body, (size_t)n);
}

/* Stores {"id":N, <the members of the posted object>} and answers it. */
static void
create(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char obj[MAX_OBJECT], loc[64];
	int64_t id;
	int n;

	if (len < 2 || len > MAX_OBJECT - 64) {
		reply_str(req, 400, "{\"error\":{\"code\":\"bad_request\"}}\n");
		return;
	}
	const char *body = (const char *)evbuffer_pullup(in, -1);
	/* A trailing newline or spaces are allowed, nothing else after the object. */
	while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == ' '))
		len--;
	if (len < 2 || body[0] != '{' || body[len - 1] != '}') {
		reply_str(req, 400, "{\"error\":{\"code\":\"bad_request\"}}\n");
		return;
	}
	id = ++store.last;
	if (len == 2)
		n = snprintf(obj, sizeof(obj), "{\"id\":%lld}\n", (long long)id);
	else
		n = snprintf(obj, sizeof(obj), "{\"id\":%lld,%.*s\n", (long long)id, (int)(len - 1),
		    body + 1);
	if (n < 0 || (size_t)n >= sizeof(obj)) {
		reply_str(req, 413, "{\"error\":{\"code\":\"payload_too_large\"}}\n");
		return;
	}
	size_t slot = (size_t)id % RING_SIZE;
	free(store.text[slot]);
	if ((store.text[slot] = strdup(obj)) == NULL) {
		fprintf(stderr, "bare_evhttp: out of memory\n");
		exit(1);
	}
	store.id[slot] = id;
	snprintf(loc, sizeof(loc), PREFIX "/%lld", (long long)id);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc);
	reply(req, 201, obj, (size_t)n);
}

static void
get_one(struct evhttp_request *req, const char *idtext)
{
	char *end;
	long long id;

	errno = 0;
	id = strtoll(idtext, &end, 10);
	if (errno != 0 || end == idtext || *end != '\0' || id <= 0) {
		reply_str(req, 404, "{\"error\":{\"code\":\"not_found\"}}\n");
		return;
	}
	size_t slot = (size_t)id % RING_SIZE;
	if (store.text[slot] == NULL || store.id[slot] != id) {
		reply_str(req, 404, "{\"error\":{\"code\":\"not_found\"}}\n");
		return;
	}
	reply_str(req, 200, store.text[slot]);
}

static void
dispatch(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	(void)arg;
	if (path == NULL)
		path = "/";
	if (strcmp(path, "/v1/health") == 0 && cmd == EVHTTP_REQ_GET)
		health(req);
	else if (strcmp(path, PREFIX) == 0 && cmd == EVHTTP_REQ_POST)
		create(req);
	else if (strncmp(path, PREFIX "/", sizeof(PREFIX)) == 0 && cmd == EVHTTP_REQ_GET)
		get_one(req, path + sizeof(PREFIX));
	else
		reply_str(req, 404, "{\"error\":{\"code\":\"not_found\"}}\n");
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	struct event_base *base;
	struct evhttp *http;
	struct event *sigterm, *sigint;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: bare_evhttp SOCKET_PATH\n");
		return 1;
	}
	if (strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "bare_evhttp: %s: socket path too long\n", argv[1]);
		return 1;
	}
	started = time(NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL || (http = evhttp_new(base)) == NULL) {
		fprintf(stderr, "bare_evhttp: cannot set up libevent\n");
		return 1;
	}
	/* The limits tremplind sets, so both run the same evhttp code paths. */
	evhttp_set_max_headers_size(http, 8192);
	evhttp_set_max_body_size(http, 1 << 20);
	evhttp_set_timeout(http, 30);
	evhttp_set_allowed_methods(http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	        EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(http, "application/json");
	evhttp_set_gencb(http, dispatch, NULL);

	unlink(argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		perror("bare_evhttp: socket");
		return 1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, argv[1], strlen(argv[1]) + 1);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 || listen(fd, 128) == -1) {
		fprintf(stderr, "bare_evhttp: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (evhttp_accept_socket_with_handle(http, fd) == NULL) {
		fprintf(stderr, "bare_evhttp: %s: cannot accept connections\n", argv[1]);
		return 1;
	}
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);

	event_base_dispatch(base);

	unlink(argv[1]);
	event_free(sigterm);
	event_free(sigint);
	evhttp_free(http);
	event_base_free(base);
	for (size_t i = 0; i < RING_SIZE; i++)
		free(store.text[i]);
	return 0;
}
