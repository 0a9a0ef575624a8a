/*
 * The API socket's connections, below evhttp.
 *
 * evhttp (libevent 2.1) parses leniently and answers what it refuses with
 * HTML of its own. So every connection is a bufferevent_filter over the
 * socket bufferevent: the input filter reads each request strictly (request
 * line, headers, Content-Length or chunked framing, Expect, sizes) and hands
 * it to evhttp only whole and valid, one at a time. An error the filter
 * finds (or a deadline, or a refused connection) is handed instead as a
 * minimal synthetic request that api_dispatch answers with our JSON error,
 * learning it from conn_request(); the connection then closes and its
 * further input is discarded. The request's number on the connection ties
 * the error to it, so a client cannot forge one.
 *
 * The output filter writes evhttp's answer straight to the socket: evhttp
 * takes an answer as sent when its bufferevent's output is empty, and shuts
 * the socket down right after on Connection: close, so nothing may wait in
 * a buffer below it.
 */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "api.h"
#include "config.h"
#include "identity.h"
#include "log.h"
#include "server.h"

/* Descriptors kept for the database, the logs, outbound calls and backups. */
#define FD_RESERVE 32
/* A request's raw bytes (head, body and chunk framing) never exceed this. */
#define RAW_MAX (HTTP_MAX_BODY)
#define CHUNK_LINE_MAX 18
#define ACCEPT_PAUSE_MS 200
/* A connection closed after an error reads what the client still sends for this long... */
#define LINGER_MS 2000
/* ...or this much, so that the client reads the answer instead of a reset. */
#define LINGER_MAX (HTTP_MAX_BODY)

/* What evhttp parses in place of a request the filter refused. */
static const char synthetic[] = "GET / HTTP/1.1\r\n\r\n";

enum state { S_HEAD, S_BODY, S_CHUNK_SIZE, S_CHUNK_DATA, S_CHUNK_END, S_TRAILER, S_DISCARD };

struct conn {
	TAILQ_ENTRY(conn) entry;
	struct bufferevent *bev; /* the filter, evhttp's */
	struct bufferevent *sock; /* the socket under it */
	struct event *ev_start, *ev_deadline, *ev_kick;
	int fd; /* -1 until registered */
	uid_t uid;
	int has_uid;
	int served; /* counted in the caps */
	enum state state;
	int in_request; /* the current request's first byte has arrived */
	size_t scanned; /* head bytes already scanned for the blank line */
	size_t head_len;
	size_t pos; /* bytes of the current request checked so far */
	uint64_t left; /* body or chunk bytes still to come; discard count */
	uint64_t body_total;
	int expect_continue;
	int whole; /* the current request is all in, c->pos bytes */
	unsigned forwarded, dispatched; /* requests handed to evhttp / dispatched */
	unsigned err_seq; /* the request number answered with err, 0: none */
	struct conn_error err;
	struct conn_error pending; /* S_DISCARD: the error once the body is read */
	int linger_fd; /* a duplicate of the socket kept past the close, or -1 */
};

/* A socket being closed politely: its write side shut, its input read and dropped. */
struct closing {
	TAILQ_ENTRY(closing) entry;
	struct event *ev;
	int fd;
	size_t read;
};

struct uidcount {
	uid_t uid;
	int n;
	int refusing; /* an episode of refusals was logged */
};

static struct {
	struct server *srv;
	TAILQ_HEAD(, conn) all;
	TAILQ_HEAD(, closing) lingering;
	struct conn **byfd;
	size_t nbyfd;
	struct uidcount *uids;
	size_t nuids, cuids;
	int served;
	int cap, cap_user;
	struct timeval deadline;
	struct evconnlistener *listener;
	struct event *ev_resume;
	int accept_failing;
	int refusing_total;
	rlim_t nofile;
} t = { .all = TAILQ_HEAD_INITIALIZER(t.all), .lingering = TAILQ_HEAD_INITIALIZER(t.lingering) };

static const char *const methods[] = {
	"GET",
	"HEAD",
	"POST",
	"PUT",
	"DELETE",
	"OPTIONS",
	"PATCH",
	"TRACE",
	"CONNECT",
};

void
conn_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit");
		return;
	}
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit RLIMIT_NOFILE %llu", (unsigned long long)rl.rlim_max);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	t.nofile = rl.rlim_cur;
}

void
conn_apply_config(struct server *srv)
{
	long room = t.nofile == 0 || t.nofile == RLIM_INFINITY ? 1L << 20 : (long)t.nofile;
	long reserve = room > 2 * FD_RESERVE ? FD_RESERVE : room / 2;

	t.cap = srv->conf->max_connections;
	if (t.cap > room - reserve) {
		t.cap = (int)(room - reserve);
		if (t.cap < 1)
			t.cap = 1;
		log_warnx("max_connections %d is above what the open-file limit (%ld) allows: "
		          "serving at most %d connections",
		    srv->conf->max_connections, room, t.cap);
	}
	t.cap_user = srv->conf->max_connections_per_user;
	t.deadline.tv_sec = srv->conf->request_timeout;
	t.deadline.tv_usec = 0;
}

static int
alive(struct conn *c)
{
	bufferevent_event_cb ecb = NULL;

	/* evhttp clears a bufferevent's callbacks when it frees the connection. */
	bufferevent_getcb(c->bev, NULL, NULL, &ecb, NULL);
	return ecb != NULL;
}

static struct uidcount *
uid_entry(uid_t uid, int create)
{
	for (size_t i = 0; i < t.nuids; i++)
		if (t.uids[i].uid == uid)
			return &t.uids[i];
	if (!create)
		return NULL;
	if (t.nuids == t.cuids) {
		size_t n = t.cuids ? 2 * t.cuids : 16;
		struct uidcount *u = reallocarray(t.uids, n, sizeof(*u));
		if (u == NULL)
			return NULL;
		t.uids = u;
		t.cuids = n;
	}
	t.uids[t.nuids] = (struct uidcount){ .uid = uid };
	return &t.uids[t.nuids++];
}

/* Hand evhttp the synthetic request that api_dispatch answers with err. */
static void
inject(struct conn *c, int status, const char *code, const char *message, int from_filter)
{
	struct evbuffer *in = bufferevent_get_input(c->sock);

	if (c->err_seq != 0)
		return;
	c->err = (struct conn_error){ status, code, message };
	c->err_seq = ++c->forwarded;
	/*
	 * The connection closes after the answer while the client may still be
	 * sending (a body behind an oversized head, a slow request): a socket
	 * closed with input unread resets, and the client would never read the
	 * answer. A duplicate keeps it open for a lingering close (RFC 9112, 9.6).
	 */
	if (c->linger_fd == -1 && c->fd >= 0)
		c->linger_fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 0);
	evtimer_del(c->ev_deadline);
	evbuffer_drain(in, evbuffer_get_length(in));
	evbuffer_add(bufferevent_get_input(c->bev), synthetic, sizeof(synthetic) - 1);
	/* Inside the filter, libevent wakes evhttp when the filter returns. */
	if (!from_filter && (bufferevent_get_enabled(c->bev) & EV_READ))
		bufferevent_trigger(c->bev, EV_READ, 0);
}

/* Learn the peer and apply the caps, once, as soon as the socket is known. */
static void
conn_register(struct conn *c, int from_filter)
{
	struct uidcount *u;
	int fd;

	if (c->fd != -1 || (fd = bufferevent_getfd(c->bev)) < 0)
		return;
	c->fd = fd;
	if ((size_t)fd >= t.nbyfd) {
		size_t n = t.nbyfd ? t.nbyfd : 64;
		while (n <= (size_t)fd)
			n *= 2;
		struct conn **p = reallocarray(t.byfd, n, sizeof(*p));
		if (p == NULL) {
			inject(c, 503, "unavailable", "the daemon is out of memory", from_filter);
			return;
		}
		memset(p + t.nbyfd, 0, (n - t.nbyfd) * sizeof(*p));
		t.byfd = p;
		t.nbyfd = n;
	}
	t.byfd[fd] = c;
	if (peer_uid(fd, &c->uid) == 0)
		c->has_uid = 1;
	if (t.served >= t.cap) {
		if (!t.refusing_total)
			log_warnx("connections: %d open, the limit (max_connections); refusing new "
			          "ones until some close",
			    t.served);
		t.refusing_total = 1;
		inject(c, 503, "unavailable", "too many connections; try again later", from_filter);
		return;
	}
	if (c->has_uid && (u = uid_entry(c->uid, 1)) != NULL) {
		if (u->n >= t.cap_user) {
			if (!u->refusing)
				log_warnx("connections: uid %u has %d open, the limit "
				          "(max_connections_per_user); refusing its new ones until "
				          "some close",
				    (unsigned)c->uid, u->n);
			u->refusing = 1;
			inject(c, 429, "too_many_requests",
			    "too many connections from this user; close some and try again",
			    from_filter);
			return;
		}
		u->n++;
	}
	t.served++;
	c->served = 1;
}

static void
start_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct conn *c = arg;

	(void)fd, (void)ev;
	if (alive(c))
		conn_register(c, 0);
}

static void
deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct conn *c = arg;

	(void)fd, (void)ev;
	if (!alive(c))
		return;
	if (c->state == S_DISCARD)
		inject(c, c->pending.status, c->pending.code, c->pending.message, 0);
	else
		inject(c, 408, "request_timeout", "the request did not arrive whole in time", 0);
}

/*
 * The request was dispatched and answered. evhttp wrote the answer before it
 * enabled writing, which the filter does not notice: push it out. Then read
 * the next request if one is already here.
 */
static void
kick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct conn *c = arg;

	(void)fd, (void)ev;
	if (!alive(c))
		return;
	bufferevent_flush(c->bev, EV_WRITE, BEV_NORMAL);
	if (alive(c) && c->err_seq == 0 && evbuffer_get_length(bufferevent_get_input(c->sock)) > 0)
		bufferevent_trigger(c->sock, EV_READ, 0);
}

static int
is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int
token_is(const unsigned char *p, size_t n, const char *s)
{
	return strlen(s) == n && strncasecmp((const char *)p, s, n) == 0;
}

struct head {
	int status;
	const char *code, *message;
	int http10, may_have_body;
	int has_cl, chunked, expect;
	uint64_t cl;
};

static int
head_fail(struct head *h, int status, const char *code, const char *message)
{
	h->status = status;
	h->code = code;
	h->message = message;
	return -1;
}

static int
parse_request_line(struct head *h, const unsigned char *p, size_t n)
{
	const unsigned char *sp1 = memchr(p, ' ', n), *sp2;
	size_t i, mlen;
	int known = 0;

	if (sp1 == NULL || sp1 == p ||
	    (sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - p))) == NULL)
		return head_fail(h, 400, "bad_request", "malformed request line");
	mlen = (size_t)(sp1 - p);
	for (i = 0; i < mlen; i++)
		if (!is_tchar(p[i]))
			return head_fail(h, 400, "bad_request", "malformed request method");
	if (sp2 == sp1 + 1 || sp1[1] != '/')
		return head_fail(
		    h, 400, "bad_request", "the request target must be a path starting with /");
	for (const unsigned char *q = sp1 + 1; q < sp2; q++)
		if (*q < 0x21 || *q > 0x7e)
			return head_fail(h, 400, "bad_request",
			    "the request target holds a byte that is not visible ASCII");
	size_t vlen = n - (size_t)(sp2 + 1 - p);
	if (vlen == 8 && memcmp(sp2 + 1, "HTTP/1.1", 8) == 0)
		h->http10 = 0;
	else if (vlen == 8 && memcmp(sp2 + 1, "HTTP/1.0", 8) == 0)
		h->http10 = 1;
	else
		return head_fail(h, 400, "bad_request", "the HTTP version must be HTTP/1.1 or 1.0");
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]) && !known; i++)
		known = strlen(methods[i]) == mlen && memcmp(methods[i], p, mlen) == 0;
	if (!known)
		return head_fail(h, 501, "not_implemented", "unknown request method");
	/* evhttp reads no body for these: one would be taken as the next request. */
	h->may_have_body =
	    !(mlen == 4 && memcmp(p, "HEAD", 4) == 0) && !(mlen == 5 && memcmp(p, "TRACE", 5) == 0);
	return 0;
}

static int
parse_header(struct head *h, const unsigned char *p, size_t n)
{
	const unsigned char *colon = memchr(p, ':', n), *v, *end = p + n;
	size_t nlen;

	if (n > 0 && (p[0] == ' ' || p[0] == '\t'))
		return head_fail(h, 400, "bad_request", "folded header lines are not accepted");
	if (colon == NULL || colon == p)
		return head_fail(h, 400, "bad_request", "malformed header line");
	nlen = (size_t)(colon - p);
	for (size_t i = 0; i < nlen; i++)
		if (!is_tchar(p[i]))
			return head_fail(h, 400, "bad_request", "malformed header name");
	for (v = colon + 1; v < end; v++)
		if ((*v < 0x20 && *v != '\t') || *v == 0x7f)
			return head_fail(
			    h, 400, "bad_request", "a header value holds a control byte");
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vlen = (size_t)(end - v);

	if (token_is(p, nlen, "Content-Length")) {
		uint64_t cl = 0;
		if (h->has_cl)
			return head_fail(
			    h, 400, "bad_request", "more than one Content-Length header");
		if (vlen == 0 || vlen > 18)
			return head_fail(
			    h, 400, "bad_request", "Content-Length must be a decimal number");
		for (size_t i = 0; i < vlen; i++) {
			if (v[i] < '0' || v[i] > '9')
				return head_fail(h, 400, "bad_request",
				    "Content-Length must be a decimal number");
			cl = cl * 10 + (uint64_t)(v[i] - '0');
		}
		h->has_cl = 1;
		h->cl = cl;
	} else if (token_is(p, nlen, "Transfer-Encoding")) {
		if (h->chunked || !token_is(v, vlen, "chunked"))
			return head_fail(h, 400, "bad_request",
			    "Transfer-Encoding must be chunked, once, and nothing else");
		h->chunked = 1;
	} else if (token_is(p, nlen, "Expect")) {
		if (!token_is(v, vlen, "100-continue"))
			return head_fail(h, 417, "expectation_failed",
			    "the only expectation understood is 100-continue");
		h->expect = 1;
	}
	return 0;
}

/* The head is p[0..n), ending in the blank line. */
static int
parse_head(struct head *h, const unsigned char *p, size_t n)
{
	const unsigned char *end = p + n - 2, *line = p, *eol;
	int first = 1;

	memset(h, 0, sizeof(*h));
	while (line < end) {
		eol = memchr(line, '\r', (size_t)(end - line));
		if (eol == NULL || eol[1] != '\n')
			return head_fail(h, 400, "bad_request", "a line holds a bare CR");
		if (first ? parse_request_line(h, line, (size_t)(eol - line)) == -1
		          : parse_header(h, line, (size_t)(eol - line)) == -1)
			return -1;
		first = 0;
		line = eol + 2;
	}
	if (h->chunked && h->has_cl)
		return head_fail(
		    h, 400, "bad_request", "Transfer-Encoding and Content-Length together");
	if (h->chunked && h->http10)
		return head_fail(h, 400, "bad_request", "Transfer-Encoding in an HTTP/1.0 request");
	if (!h->may_have_body && (h->chunked || h->cl > 0))
		return head_fail(h, 400, "bad_request", "this method takes no body");
	return 0;
}

static void
request_done(struct conn *c)
{
	c->state = S_HEAD;
	c->in_request = 0;
	c->scanned = c->head_len = c->pos = 0;
	c->left = c->body_total = 0;
	c->expect_continue = 0;
	c->whole = 0;
	evtimer_del(c->ev_deadline);
}

static enum bufferevent_filter_result
filter_fail(struct conn *c, int status, const char *code, const char *message)
{
	inject(c, status, code, message, 1);
	return BEV_OK;
}

/* Copy up to max bytes of src from offset off; returns how many. */
static size_t
peek(struct evbuffer *src, size_t off, unsigned char *buf, size_t max)
{
	struct evbuffer_ptr ptr;
	ev_ssize_t n;

	if (evbuffer_ptr_set(src, &ptr, off, EVBUFFER_PTR_SET) == -1)
		return 0;
	n = evbuffer_copyout_from(src, &ptr, buf, max);
	return n < 0 ? 0 : (size_t)n;
}

static void
send_continue(struct conn *c)
{
	static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";

	/*
	 * Only when no answer is owed before it (it would come first), and
	 * straight to the socket like the answers. Should the socket be full,
	 * the client sends its body after its own wait.
	 */
	if (c->forwarded == c->dispatched &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->sock)) == 0 && c->fd >= 0)
		(void)send(c->fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static enum bufferevent_filter_result
step_head(struct conn *c, struct evbuffer *src)
{
	size_t len = evbuffer_get_length(src), n, i;
	unsigned char *p;
	struct head h;

	n = len < API_MAX_HEADERS ? len : API_MAX_HEADERS;
	if ((p = evbuffer_pullup(src, (ev_ssize_t)n)) == NULL)
		return filter_fail(c, 503, "unavailable", "the daemon is out of memory");
	for (i = c->scanned; i < n; i++) {
		if (p[i] == '\0')
			return filter_fail(c, 400, "bad_request", "the request holds a NUL byte");
		if (p[i] != '\n')
			continue;
		if (i == 0 || p[i - 1] != '\r')
			return filter_fail(c, 400, "bad_request", "a line ends without CR");
		if (i >= 3 && p[i - 2] == '\n')
			break;
	}
	if (i == n) {
		c->scanned = n;
		if (len >= API_MAX_HEADERS)
			return filter_fail(c, 413, "payload_too_large",
			    "the request headers are larger than 8192 bytes");
		return BEV_NEED_MORE;
	}
	c->head_len = i + 1;
	if (parse_head(&h, p, c->head_len) == -1)
		return filter_fail(c, h.status, h.code, h.message);
	c->pos = c->head_len;
	c->expect_continue = h.expect && !h.http10;
	if (h.chunked) {
		c->state = S_CHUNK_SIZE;
	} else if (h.cl > API_MAX_BODY) {
		/* Read what was announced (within reason) so the client can read the answer. */
		if (h.expect || h.cl > RAW_MAX)
			return filter_fail(
			    c, 413, "payload_too_large", "the body is larger than 1048576 bytes");
		c->pending = (struct conn_error){ 413, "payload_too_large",
			"the body is larger than 1048576 bytes" };
		c->left = c->head_len + h.cl;
		c->state = S_DISCARD;
		return BEV_OK;
	} else {
		c->left = h.cl;
		c->state = S_BODY;
	}
	if (c->expect_continue && len < c->head_len + (h.chunked ? 1 : h.cl))
		send_continue(c);
	return BEV_OK;
}

static enum bufferevent_filter_result
step_chunk_size(struct conn *c, struct evbuffer *src)
{
	unsigned char buf[CHUNK_LINE_MAX + 2];
	size_t n = peek(src, c->pos, buf, sizeof(buf)), i;
	uint64_t size = 0;

	for (i = 0; i + 1 < n && !(buf[i] == '\r' && buf[i + 1] == '\n'); i++)
		;
	if (i + 1 >= n) {
		if (n == sizeof(buf))
			return filter_fail(c, 400, "bad_request", "malformed chunk size");
		return BEV_NEED_MORE;
	}
	if (i == 0 || i > 8)
		return filter_fail(c, 400, "bad_request", "malformed chunk size");
	for (size_t k = 0; k < i; k++) {
		int d = buf[k] >= '0' && buf[k] <= '9' ? buf[k] - '0'
		    : buf[k] >= 'a' && buf[k] <= 'f'   ? buf[k] - 'a' + 10
		    : buf[k] >= 'A' && buf[k] <= 'F'   ? buf[k] - 'A' + 10
		                                       : -1;
		if (d < 0)
			return filter_fail(c, 400, "bad_request", "malformed chunk size");
		size = size * 16 + (uint64_t)d;
	}
	c->pos += i + 2;
	c->body_total += size;
	if (c->body_total > API_MAX_BODY)
		return filter_fail(
		    c, 413, "payload_too_large", "the body is larger than 1048576 bytes");
	c->left = size;
	c->state = size == 0 ? S_TRAILER : S_CHUNK_DATA;
	return BEV_OK;
}

static enum bufferevent_filter_result
step(struct conn *c, struct evbuffer *src)
{
	size_t len = evbuffer_get_length(src);
	unsigned char buf[2];
	uint64_t take;

	if (c->pos > RAW_MAX)
		return filter_fail(c, 413, "payload_too_large", "the request is too large");
	switch (c->state) {
	case S_HEAD:
		return step_head(c, src);
	case S_BODY:
		if (len - c->head_len < c->left)
			return BEV_NEED_MORE;
		c->pos = c->head_len + c->left;
		c->whole = 1;
		return BEV_OK;
	case S_CHUNK_SIZE:
		return step_chunk_size(c, src);
	case S_CHUNK_DATA:
		take = len - c->pos < c->left ? len - c->pos : c->left;
		c->pos += take;
		c->left -= take;
		if (c->left > 0)
			return BEV_NEED_MORE;
		c->state = S_CHUNK_END;
		return BEV_OK;
	case S_CHUNK_END:
	case S_TRAILER:
		if (peek(src, c->pos, buf, 2) < 2)
			return BEV_NEED_MORE;
		if (buf[0] != '\r' || buf[1] != '\n')
			return filter_fail(c, 400, "bad_request",
			    c->state == S_TRAILER ? "trailer fields are not accepted"
			                          : "a chunk does not end with CRLF");
		c->pos += 2;
		if (c->state == S_TRAILER)
			c->whole = 1;
		c->state = S_CHUNK_SIZE;
		return BEV_OK;
	case S_DISCARD:
		take = len < c->left ? len : c->left;
		evbuffer_drain(src, (size_t)take);
		c->left -= take;
		if (c->left > 0)
			return BEV_NEED_MORE;
		return filter_fail(c, c->pending.status, c->pending.code, c->pending.message);
	}
	return BEV_NEED_MORE;
}

static enum bufferevent_filter_result
in_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct conn *c = arg;
	enum bufferevent_filter_result res = BEV_NEED_MORE;

	(void)limit, (void)mode;
	conn_register(c, 1);
	if (c->err_seq != 0) {
		evbuffer_drain(src, evbuffer_get_length(src));
		return BEV_NEED_MORE;
	}
	/* One request at a time in evhttp; kick_cb resumes after its dispatch. */
	if (c->forwarded != c->dispatched)
		return BEV_NEED_MORE;
	if (!c->in_request) {
		unsigned char crlf[2];
		/* An empty line before a request is tolerated (RFC 9112, 2.2). */
		while (peek(src, 0, crlf, 2) == 2 && crlf[0] == '\r' && crlf[1] == '\n')
			evbuffer_drain(src, 2);
		if (evbuffer_get_length(src) == 0)
			return BEV_NEED_MORE;
		c->in_request = 1;
		evtimer_add(c->ev_deadline, &t.deadline);
		/* BEV_OK restarts evhttp's read timeout, which sits past our deadline. */
		res = BEV_OK;
	}
	for (;;) {
		enum bufferevent_filter_result r = step(c, src);
		if (c->err_seq != 0)
			return BEV_OK;
		if (r != BEV_OK)
			return res;
		if (c->whole) {
			evbuffer_remove_buffer(src, dst, c->pos);
			c->forwarded++;
			request_done(c);
			return BEV_OK;
		}
	}
}

static enum bufferevent_filter_result
out_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct conn *c = arg;
	int fd = bufferevent_getfd(c->sock);

	(void)limit, (void)mode;
	if (evbuffer_get_length(dst) > 0)
		return BEV_NEED_MORE;
	while (fd >= 0 && evbuffer_get_length(src) > 0)
		if (evbuffer_write(src, fd) <= 0)
			break;
	if (evbuffer_get_length(src) == 0)
		return BEV_OK;
	/*
	 * The socket is full (or failed): one byte goes to the socket
	 * bufferevent, whose write (or error) calls us back; evhttp's output
	 * stays non-empty, so it does not take the answer as sent.
	 */
	evbuffer_remove_buffer(src, dst, 1);
	return BEV_OK;
}

static void
linger_end(struct closing *l)
{
	TAILQ_REMOVE(&t.lingering, l, entry);
	event_free(l->ev);
	close(l->fd);
	free(l);
}

static void
linger_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct closing *l = arg;
	char buf[16384];
	ssize_t n;

	if (ev & EV_TIMEOUT) {
		linger_end(l);
		return;
	}
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		l->read += (size_t)n;
		if (l->read > LINGER_MAX) {
			linger_end(l);
			return;
		}
	}
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		linger_end(l);
}

/* The answer is out: end the connection by shutting its write side, then read until EOF. */
static void
linger_start(int fd)
{
	struct timeval tv = { LINGER_MS / 1000, (LINGER_MS % 1000) * 1000 };
	struct closing *l;

	if (shutdown(fd, SHUT_WR) == -1 || (l = calloc(1, sizeof(*l))) == NULL) {
		close(fd);
		return;
	}
	l->fd = fd;
	if ((l->ev = event_new(t.srv->base, fd, EV_READ | EV_PERSIST, linger_cb, l)) == NULL ||
	    event_add(l->ev, &tv) == -1) {
		if (l->ev)
			event_free(l->ev);
		free(l);
		close(fd);
		return;
	}
	TAILQ_INSERT_TAIL(&t.lingering, l, entry);
}

static void
conn_release(void *arg)
{
	struct conn *c = arg;
	struct uidcount *u;

	if (c->fd >= 0 && (size_t)c->fd < t.nbyfd && t.byfd[c->fd] == c)
		t.byfd[c->fd] = NULL;
	if (c->served) {
		t.served--;
		/* An episode of refusals ends when half the room is free again. */
		if ((t.refusing_total || t.accept_failing) && t.served <= t.cap / 2) {
			log_info("connections: %d open; accepting normally again", t.served);
			t.refusing_total = t.accept_failing = 0;
		}
		if (c->has_uid && (u = uid_entry(c->uid, 0)) != NULL) {
			if (--u->n == 0)
				*u = t.uids[--t.nuids];
			else if (u->n <= t.cap_user / 2)
				u->refusing = 0;
		}
	}
	TAILQ_REMOVE(&t.all, c, entry);
	/* The filter and the socket bufferevent are gone; the duplicate holds the socket. */
	if (c->linger_fd >= 0)
		linger_start(c->linger_fd);
	event_free(c->ev_start);
	event_free(c->ev_deadline);
	event_free(c->ev_kick);
	free(c);
}

static struct bufferevent *
bev_cb(struct event_base *base, void *arg)
{
	struct conn *c = calloc(1, sizeof(*c));

	(void)arg;
	if (c == NULL)
		return NULL;
	c->fd = -1;
	c->linger_fd = -1;
	c->ev_start = event_new(base, -1, 0, start_cb, c);
	c->ev_deadline = evtimer_new(base, deadline_cb, c);
	c->ev_kick = event_new(base, -1, 0, kick_cb, c);
	c->sock = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->ev_start == NULL || c->ev_deadline == NULL || c->ev_kick == NULL || c->sock == NULL)
		goto fail;
	/* Bounds what a client can queue ahead of the request being read. */
	bufferevent_setwatermark(c->sock, EV_READ, 0, RAW_MAX + API_MAX_HEADERS);
	/*
	 * Deferred callbacks: evhttp frees a connection from inside its write
	 * callback, which the filter runs from inside its own processing; run
	 * directly, that corrupts the heap under load (libevent 2.1.12).
	 */
	c->bev = bufferevent_filter_new(c->sock, in_filter, out_filter,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, conn_release, c);
	if (c->bev == NULL)
		goto fail;
	TAILQ_INSERT_TAIL(&t.all, c, entry);
	/* evhttp gives the socket right after this returns: register then. */
	event_active(c->ev_start, EV_TIMEOUT, 1);
	return c->bev;
fail:
	/* evhttp falls back to a plain socket bufferevent; conn_request refuses it. */
	if (c->sock)
		bufferevent_free(c->sock);
	if (c->ev_start)
		event_free(c->ev_start);
	if (c->ev_deadline)
		event_free(c->ev_deadline);
	if (c->ev_kick)
		event_free(c->ev_kick);
	free(c);
	return NULL;
}

static void
resume_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd, (void)ev, (void)arg;
	if (t.listener != NULL)
		evconnlistener_enable(t.listener);
}

/* accept failed (out of descriptors, most likely): pause instead of spinning. */
static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval pause = { 0, ACCEPT_PAUSE_MS * 1000 };

	(void)arg;
	evconnlistener_disable(lev);
	if (!t.accept_failing)
		log_warnx(
		    "accept: %s; pausing new connections until descriptors free up", strerror(e));
	t.accept_failing = 1;
	evtimer_add(t.ev_resume, &pause);
}

void
conn_init(struct server *srv)
{
	t.srv = srv;
	evhttp_set_bevcb(srv->http, bev_cb, NULL);
	if (t.ev_resume == NULL)
		t.ev_resume = evtimer_new(srv->base, resume_cb, NULL);
}

void
conn_listen(struct server *srv)
{
	t.listener = srv->bound ? evhttp_bound_socket_get_listener(srv->bound) : NULL;
	if (t.listener != NULL)
		evconnlistener_set_error_cb(t.listener, accept_error_cb);
}

void
conn_unlisten(void)
{
	t.listener = NULL;
	if (t.ev_resume)
		evtimer_del(t.ev_resume);
}

int
conn_request(struct evhttp_request *req, uid_t *uid, struct conn_error *err)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	int fd = bev ? bufferevent_getfd(bev) : -1;
	struct conn *c;

	if (fd < 0 || (size_t)fd >= t.nbyfd || (c = t.byfd[fd]) == NULL || c->bev != bev)
		return -1;
	c->dispatched++;
	event_active(c->ev_kick, EV_TIMEOUT, 1);
	if (c->err_seq != 0 && c->dispatched == c->err_seq) {
		*err = c->err;
		return 1;
	}
	if (!c->has_uid)
		return -1;
	*uid = c->uid;
	return 0;
}

void
conn_replied_later(struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	int fd = bev ? bufferevent_getfd(bev) : -1;
	struct conn *c;

	if (fd >= 0 && (size_t)fd < t.nbyfd && (c = t.byfd[fd]) != NULL && c->bev == bev)
		event_active(c->ev_kick, EV_TIMEOUT, 1);
}

int
conn_busy(void)
{
	struct conn *c;
	int n = 0;

	TAILQ_FOREACH (c, &t.all, entry) {
		if (!alive(c))
			continue;
		if (c->in_request || c->forwarded != c->dispatched ||
		    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0 ||
		    evbuffer_get_length(bufferevent_get_output(c->sock)) > 0)
			n++;
	}
	return n;
}

void
conn_free(void)
{
	while (!TAILQ_EMPTY(&t.lingering))
		linger_end(TAILQ_FIRST(&t.lingering));
	if (t.ev_resume)
		event_free(t.ev_resume);
	t.ev_resume = NULL;
	free(t.byfd);
	t.byfd = NULL;
	t.nbyfd = 0;
	free(t.uids);
	t.uids = NULL;
	t.nuids = t.cuids = 0;
}
