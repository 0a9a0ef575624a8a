/*
 * Outbound HTTP(S): one CURLM per struct net, driven by the libevent loop
 * through curl's socket and timer callbacks.
 *
 * Those two callbacks only (re)arm libevent events; libcurl's work runs from
 * the libevent callbacks (curl_multi_socket_action), and finished transfers
 * are collected afterwards with curl_multi_info_read. User callbacks run
 * only then, or from net_cancel*: never inside a curl callback, so a user
 * callback may start, cancel or even free freely.
 *
 * Per-socket state hangs off curl's own socket pointer (curl_multi_assign,
 * which libcurl allows from its callbacks), never off a table indexed by fd:
 * an fd number is reused as soon as curl closes it.
 *
 * Certificate verification is libcurl's default (on) and is never touched.
 */
#include "net.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "log.h"
#include "util.h"

#define NET_TIMEOUT_MS 30000L /* when neither the request nor the options say */
#define NET_CONNECT_TIMEOUT_MS 10000L /* ceiling of the default connect timeout */
#define NET_MAX_BYTES ((size_t)1 << 20)
#define NET_MAX_REDIRS 5L
#define NET_METHOD_MAX 32
#define NET_BODY_MIN_ALLOC ((size_t)16 << 10)
#ifdef PACKAGE_VERSION
#define NET_USER_AGENT "tremplind/" PACKAGE_VERSION
#else
#define NET_USER_AGENT "tremplind"
#endif

enum req_state {
	REQ_ACTIVE, /* in the multi handle */
	REQ_COMPLETED, /* finished by curl, out of the multi, result not delivered yet */
	REQ_DELIVERING, /* its callback is running; freed right after */
};

struct net_sock {
	LIST_ENTRY(net_sock) entry;
	struct net *net;
	struct event *ev;
};

struct net_request {
	TAILQ_ENTRY(net_request) entry; /* net->reqs: every undelivered request */
	TAILQ_ENTRY(net_request) done_next; /* net->completed */
	struct net *net;
	const void *owner;
	uint64_t serial;
	enum req_state state;
	CURL *easy;
	struct curl_slist *headers;
	net_done_fn done;
	void *arg;
	CURLcode code;
	int is_head;
	int follow;

	size_t max_bytes;
	char *body;
	size_t body_len;
	size_t body_cap;
	int too_big;
	uint64_t announced; /* Content-Length that made us refuse, 0 when none */
	int oom;

	long hdr_status; /* status of the response whose headers are arriving */
	char *retry_after; /* raw header value, parsed when delivered */
	char *content_type;

	char errbuf[CURL_ERROR_SIZE];
	char text[CURL_ERROR_SIZE + 64];
};

TAILQ_HEAD(net_reqs, net_request);

struct net {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	char *ca_file;
	char *user_agent;
	int allow_http;
	long timeout_ms;
	size_t max_bytes;
	struct net_reqs reqs;
	struct net_reqs completed;
	LIST_HEAD(, net_sock) socks;
	size_t nreqs;
	uint64_t serial;
	int depth; /* > 0 while user callbacks may run */
	int dying; /* net_free was called; freed when depth drops to 0 */
};

static void net_drain(struct net *);

/* -- libevent side ------------------------------------------------------- */

static void
sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net_sock *s = arg;
	struct net *n = s->net; /* s may be freed by the call below */
	int action = 0, running;
	CURLMcode mc;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	mc = curl_multi_socket_action(n->multi, fd, action, &running);
	if (mc != CURLM_OK)
		log_warnx("net: curl_multi_socket_action: %s", curl_multi_strerror(mc));
	net_drain(n);
}

static void
timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net *n = arg;
	int running;
	CURLMcode mc;

	(void)fd;
	(void)what;
	mc = curl_multi_socket_action(n->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	if (mc != CURLM_OK)
		log_warnx("net: curl_multi_socket_action: %s", curl_multi_strerror(mc));
	net_drain(n);
}

/* -- curl callbacks: arm events, record bytes; no libcurl calls but assign - */

static void
sock_free(struct net_sock *s)
{
	LIST_REMOVE(s, entry);
	event_free(s->ev);
	free(s);
}

static int
curl_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct net *n = userp;
	struct net_sock *s = socketp;
	short kind = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL)
			sock_free(s);
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
		s->net = n;
		if ((s->ev = event_new(n->base, fd, kind, sock_event_cb, s)) == NULL) {
			free(s);
			return -1;
		}
		LIST_INSERT_HEAD(&n->socks, s, entry);
		if (curl_multi_assign(n->multi, fd, s) != CURLM_OK) {
			sock_free(s);
			return -1;
		}
	} else {
		/* event_assign is only safe on an event that is not pending. */
		event_del(s->ev);
		if (event_assign(s->ev, n->base, fd, kind, sock_event_cb, s) == -1)
			return -1;
	}
	if ((kind & (EV_READ | EV_WRITE)) != 0 && event_add(s->ev, NULL) == -1)
		return -1;
	return 0;
}

static int
curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct net *n = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0)
		return evtimer_del(n->timer);
	/* 0 means "as soon as possible": from the loop, not from here. */
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(n->timer, &tv);
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct net_request *r = userp;
	size_t len, need;

	if (size != 0 && nmemb > SIZE_MAX / size)
		return 0;
	len = size * nmemb;
	if (len > r->max_bytes - r->body_len) {
		r->too_big = 1;
		return 0; /* CURLE_WRITE_ERROR */
	}
	need = r->body_len + len + 1;
	if (need > r->body_cap) {
		size_t cap = r->body_cap > 0 ? r->body_cap : NET_BODY_MIN_ALLOC;
		char *p;

		/* need <= max_bytes + 1 <= SIZE_MAX / 2 + 1: no overflow here. */
		while (cap < need)
			cap *= 2;
		if (cap > r->max_bytes + 1)
			cap = r->max_bytes + 1;
		if ((p = realloc(r->body, cap)) == NULL) {
			r->oom = 1;
			return 0;
		}
		r->body = p;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return len;
}

/* Does line (len bytes, no CRLF) hold header name? Then *value is set, trimmed. */
static int
header_is(const char *line, size_t len, const char *name, const char **value, size_t *vlen)
{
	size_t nlen = strlen(name);
	const char *v, *end = line + len;

	if (len <= nlen || line[nlen] != ':' || strncasecmp(line, name, nlen) != 0)
		return 0;
	v = line + nlen + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*value = v;
	*vlen = (size_t)(end - v);
	return 1;
}

static int
replace_str(char **dst, const char *v, size_t len)
{
	char *s = strndup(v, len);

	if (s == NULL)
		return -1;
	free(*dst);
	*dst = s;
	return 0;
}

/* Will the response whose headers are arriving have its body handed to us? */
static int
body_expected(const struct net_request *r)
{
	long st = r->hdr_status;

	if (r->is_head || st < 200 || st == 204 || st == 304)
		return 0;
	/* curl skips the body of a redirect it follows. */
	return !(r->follow && st >= 300 && st < 400);
}

static size_t
header_cb(char *buf, size_t size, size_t nitems, void *userp)
{
	struct net_request *r = userp;
	size_t n, len;
	const char *v;
	size_t vlen;

	if (size != 0 && nitems > SIZE_MAX / size)
		return 0;
	n = len = size * nitems;
	while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == '\n'))
		len--;
	if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		/* A new response (after a redirect, a 100 Continue): start afresh. */
		const char *p = memchr(buf, ' ', len);

		free(r->retry_after);
		free(r->content_type);
		r->retry_after = r->content_type = NULL;
		r->hdr_status = 0;
		if (p != NULL)
			for (p++; p < buf + len && *p >= '0' && *p <= '9' && r->hdr_status < 1000;
			     p++)
				r->hdr_status = r->hdr_status * 10 + (*p - '0');
		return n;
	}
	if (header_is(buf, len, "Retry-After", &v, &vlen)) {
		if (replace_str(&r->retry_after, v, vlen) == -1)
			goto oom;
	} else if (header_is(buf, len, "Content-Type", &v, &vlen)) {
		if (replace_str(&r->content_type, v, vlen) == -1)
			goto oom;
	} else if (header_is(buf, len, "Content-Length", &v, &vlen) && body_expected(r)) {
		uint64_t cl = 0;
		size_t i;

		for (i = 0; i < vlen && v[i] >= '0' && v[i] <= '9'; i++)
			cl = cl > UINT64_MAX / 10 ? UINT64_MAX : cl * 10 + (uint64_t)(v[i] - '0');
		if (i == vlen && vlen > 0 && cl > (uint64_t)r->max_bytes) {
			/* Refuse now rather than after max_bytes of it. */
			r->too_big = 1;
			r->announced = cl;
			return 0;
		}
	}
	return n;
oom:
	r->oom = 1;
	return 0;
}

/* -- requests ------------------------------------------------------------ */

static void
request_free(struct net_request *r)
{
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->body);
	free(r->retry_after);
	free(r->content_type);
	free(r);
}

/* Retry-After: delay-seconds or an HTTP-date; -1 when absent or unreadable. */
static int64_t
parse_retry_after(const char *v)
{
	int64_t secs;
	time_t t, now;

	if (v == NULL || *v == '\0')
		return -1;
	if (*v >= '0' && *v <= '9')
		return tr_parse_i64(v, 0, INT64_MAX, &secs) == 0 ? secs : -1;
	if ((t = curl_getdate(v, NULL)) == -1)
		return -1;
	now = time(NULL);
	return t > now ? (int64_t)(t - now) : 0;
}

static enum net_error
map_error(const struct net_request *r)
{
	switch (r->code) {
	case CURLE_OK:
		return NET_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return NET_E_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		return NET_E_CONNECT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
		return NET_E_TLS;
	case CURLE_WRITE_ERROR:
		if (r->too_big)
			return NET_E_TOO_BIG;
		return NET_E_INTERNAL;
	case CURLE_FILESIZE_EXCEEDED:
		return NET_E_TOO_BIG;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_RANGE_ERROR:
		return NET_E_PROTOCOL;
	default:
		return NET_E_INTERNAL;
	}
}

/*
 * Take r out of the multi handle and the lists, run its callback once, free
 * it. The caller holds n->depth.
 */
static void
request_finish(struct net_request *r, int cancelled)
{
	struct net *n = r->net;
	struct net_result res;

	TAILQ_REMOVE(&n->reqs, r, entry);
	n->nreqs--;
	if (r->state == REQ_COMPLETED)
		TAILQ_REMOVE(&n->completed, r, done_next);
	else if (r->state == REQ_ACTIVE)
		curl_multi_remove_handle(n->multi, r->easy);
	r->state = REQ_DELIVERING;

	memset(&res, 0, sizeof(res));
	res.retry_after_s = -1;
	if (cancelled) {
		res.error = NET_E_CANCELLED;
		res.error_text = "cancelled";
	} else if (r->oom) {
		res.error = NET_E_INTERNAL;
		res.error_text = "out of memory";
	} else if ((res.error = map_error(r)) == NET_OK) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
		res.error_text = "ok";
		res.retry_after_s = parse_retry_after(r->retry_after);
		res.content_type = r->content_type;
		res.body = r->body != NULL ? r->body : "";
		res.body_len = r->body_len;
	} else if (res.error == NET_E_TOO_BIG) {
		if (r->announced > 0)
			snprintf(r->text, sizeof(r->text),
			    "response body over %zu bytes (Content-Length announced %llu)",
			    r->max_bytes, (unsigned long long)r->announced);
		else
			snprintf(
			    r->text, sizeof(r->text), "response body over %zu bytes", r->max_bytes);
		res.error_text = r->text;
	} else {
		/* curl words a refused scheme (a redirect to http) as "not supported". */
		const char *why = r->code == CURLE_UNSUPPORTED_PROTOCOL ? "scheme refused: " : "";
		size_t len = strlen(r->errbuf);

		while (len > 0 && r->errbuf[len - 1] == '\n')
			r->errbuf[--len] = '\0';
		snprintf(r->text, sizeof(r->text), "%s%s", why,
		    len > 0 ? r->errbuf : curl_easy_strerror(r->code));
		res.error_text = r->text;
	}
	r->done(&res, r->arg);
	request_free(r);
}

static void
net_destroy(struct net *n)
{
	struct net_sock *s;

	/* curl may still report sockets of its idle connections while closing. */
	curl_multi_cleanup(n->multi);
	while ((s = LIST_FIRST(&n->socks)) != NULL)
		sock_free(s);
	event_free(n->timer);
	free(n->ca_file);
	free(n->user_agent);
	free(n);
	curl_global_cleanup();
}

/* Drop a hold on n; frees it when net_free was called meanwhile. */
static void
net_release(struct net *n)
{
	if (--n->depth == 0 && n->dying)
		net_destroy(n);
}

/* Cancel the requests of owner (all when all is set) that exist now. */
static void
cancel_matching(struct net *n, const void *owner, int all)
{
	uint64_t last = n->serial;
	struct net_request *r;

	/* Callbacks may start or cancel others: rescan after each one. */
	for (;;) {
		TAILQ_FOREACH (r, &n->reqs, entry)
			if (r->serial <= last && (all || r->owner == owner))
				break;
		if (r == NULL)
			break;
		request_finish(r, 1);
	}
}

static void
net_drain(struct net *n)
{
	struct net_request *r;
	CURLMsg *m;
	int left;

	/* First collect, with no user code running, then deliver. */
	while ((m = curl_multi_info_read(n->multi, &left)) != NULL) {
		CURL *easy;
		CURLcode code;
		char *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		/* m dies with curl_multi_remove_handle. */
		easy = m->easy_handle;
		code = m->data.result;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		if ((r = (struct net_request *)(void *)priv) == NULL)
			continue;
		curl_multi_remove_handle(n->multi, easy);
		r->state = REQ_COMPLETED;
		r->code = code;
		TAILQ_INSERT_TAIL(&n->completed, r, done_next);
	}
	n->depth++;
	while (!n->dying && (r = TAILQ_FIRST(&n->completed)) != NULL)
		request_finish(r, 0);
	net_release(n);
}

/* -- validation ------------------------------------------------------------ */

static int
is_token(const char *s, size_t max)
{
	size_t i;

	if (s == NULL || *s == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= max || !(isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL))
			return 0;
	}
	return 1;
}

static int
is_field_value(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\r' || *s == '\n')
			return 0;
	return 1;
}

/*
 * Parse url with curl's own parser and check its scheme. On success *out is
 * the normalised URL (curl_free it).
 */
static int
check_url(const struct net *n, const char *url, char **out, char *err, size_t errlen)
{
	CURLU *u;
	CURLUcode uc;
	char *scheme = NULL;
	int ok = -1;

	if ((u = curl_url()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((uc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK) {
#if LIBCURL_VERSION_NUM >= 0x075000
		snprintf(err, errlen, "url: %s", curl_url_strerror(uc));
#else
		snprintf(err, errlen, "url: malformed (error %d)", (int)uc);
#endif
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		snprintf(err, errlen, "url: no scheme");
		goto out;
	}
	if (strcasecmp(scheme, "https") != 0 &&
	    (strcasecmp(scheme, "http") != 0 || !n->allow_http)) {
		if (strcasecmp(scheme, "http") == 0)
			snprintf(err, errlen,
			    "url: plain http is not allowed here, only https (allow_http is off)");
		else
			snprintf(err, errlen, "url: scheme \"%.16s\" is not allowed, only https%s",
			    scheme, n->allow_http ? " and http" : "");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_URL, out, 0) != CURLUE_OK) {
		snprintf(err, errlen, "url: cannot be rebuilt");
		goto out;
	}
	ok = 0;
out:
	curl_free(scheme);
	curl_url_cleanup(u);
	return ok;
}

static int
check_spec(const struct net_spec *spec, const char *method, char *err, size_t errlen)
{
	size_t i;

	if (!is_token(method, NET_METHOD_MAX)) {
		snprintf(err, errlen, "method: not an HTTP method token");
		return -1;
	}
	if (spec->url == NULL) {
		snprintf(err, errlen, "url: missing");
		return -1;
	}
	if (spec->nheaders > 0 && spec->headers == NULL) {
		snprintf(err, errlen, "headers: %zu announced, none given", spec->nheaders);
		return -1;
	}
	for (i = 0; i < spec->nheaders; i++) {
		const struct net_header *h = &spec->headers[i];

		if (!is_token(h->name, 256)) {
			snprintf(err, errlen, "headers[%zu].name: not a header name", i);
			return -1;
		}
		if (h->value == NULL || !is_field_value(h->value)) {
			snprintf(err, errlen, "headers[%zu].value: missing or holds CR/LF", i);
			return -1;
		}
	}
	if (spec->body_len > 0 && spec->body == NULL) {
		snprintf(err, errlen, "body: %zu bytes announced, none given", spec->body_len);
		return -1;
	}
	if (spec->body_len > 0 && strcmp(method, "HEAD") == 0) {
		snprintf(err, errlen, "body: a HEAD request has none");
		return -1;
	}
	if (spec->timeout_ms < 0 || spec->connect_timeout_ms < 0) {
		snprintf(err, errlen, "%s: negative",
		    spec->timeout_ms < 0 ? "timeout_ms" : "connect_timeout_ms");
		return -1;
	}
	return 0;
}

static int
has_header(const struct net_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->nheaders; i++)
		if (strcasecmp(spec->headers[i].name, name) == 0)
			return 1;
	return 0;
}

static int
add_header(struct curl_slist **list, const char *name, const char *value)
{
	struct curl_slist *l;
	size_t len = strlen(name) + (value != NULL ? strlen(value) : 0) + 3;
	char *line;

	if ((line = malloc(len)) == NULL)
		return -1;
	/* "Name:" alone would remove the header; "Name;" sends it empty. */
	if (value == NULL)
		snprintf(line, len, "%s:", name);
	else if (*value == '\0')
		snprintf(line, len, "%s;", name);
	else
		snprintf(line, len, "%s: %s", name, value);
	l = curl_slist_append(*list, line);
	free(line);
	if (l == NULL)
		return -1;
	*list = l;
	return 0;
}

/* -- the interface --------------------------------------------------------- */

struct net *
net_new(struct event_base *base, const struct net_options *opt, char *err, size_t errlen)
{
	const curl_version_info_data *vi;
	struct net *n;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl: global initialisation failed");
		return NULL;
	}
	vi = curl_version_info(CURLVERSION_NOW);
	if (!(vi->features & CURL_VERSION_ASYNCHDNS)) {
		snprintf(err, errlen,
		    "libcurl %s resolves names synchronously (no AsynchDNS): it would stall the "
		    "daemon; use a libcurl built with the threaded resolver or c-ares",
		    vi->version);
		curl_global_cleanup();
		return NULL;
	}
	if (!(vi->features & CURL_VERSION_SSL)) {
		snprintf(
		    err, errlen, "libcurl %s has no TLS support: cannot speak https", vi->version);
		curl_global_cleanup();
		return NULL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL)
		goto oom;
	n->base = base;
	TAILQ_INIT(&n->reqs);
	TAILQ_INIT(&n->completed);
	LIST_INIT(&n->socks);
	n->allow_http = opt != NULL && opt->allow_http;
	n->timeout_ms =
	    opt != NULL && opt->default_timeout_ms > 0 ? opt->default_timeout_ms : NET_TIMEOUT_MS;
	n->max_bytes =
	    opt != NULL && opt->default_max_bytes > 0 ? opt->default_max_bytes : NET_MAX_BYTES;
	if (opt != NULL && opt->ca_file != NULL && (n->ca_file = strdup(opt->ca_file)) == NULL)
		goto oom;
	n->user_agent =
	    strdup(opt != NULL && opt->user_agent != NULL ? opt->user_agent : NET_USER_AGENT);
	if (n->user_agent == NULL)
		goto oom;
	if ((n->timer = evtimer_new(base, timer_event_cb, n)) == NULL)
		goto oom;
	if ((n->multi = curl_multi_init()) == NULL)
		goto oom;
	if (curl_multi_setopt(n->multi, CURLMOPT_SOCKETFUNCTION, curl_sock_cb) != CURLM_OK ||
	    curl_multi_setopt(n->multi, CURLMOPT_SOCKETDATA, n) != CURLM_OK ||
	    curl_multi_setopt(n->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(n->multi, CURLMOPT_TIMERDATA, n) != CURLM_OK) {
		snprintf(err, errlen, "libcurl: cannot set the multi callbacks");
		goto fail;
	}
	return n;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	if (n != NULL) {
		if (n->multi != NULL)
			curl_multi_cleanup(n->multi);
		if (n->timer != NULL)
			event_free(n->timer);
		free(n->ca_file);
		free(n->user_agent);
		free(n);
	}
	curl_global_cleanup();
	return NULL;
}

void
net_free(struct net *n)
{
	if (n == NULL || n->dying)
		return;
	n->dying = 1;
	n->depth++;
	cancel_matching(n, NULL, 1);
	/* From inside a callback, the outermost caller frees n on its way out. */
	net_release(n);
}

struct net_request *
net_start(struct net *n, const void *owner, const struct net_spec *spec, net_done_fn done,
    void *arg, char *err, size_t errlen)
{
	struct net_request *r = NULL;
	const char *method;
	char *url = NULL;
	long timeout, connect_timeout;
	CURLcode rc = CURLE_OK;
	CURLMcode mc;
	int has_body;

	if (n == NULL || spec == NULL || done == NULL) {
		snprintf(err, errlen, "net_start: missing argument");
		return NULL;
	}
	if (n->dying) {
		snprintf(err, errlen, "net: shutting down");
		return NULL;
	}
	method = spec->method != NULL ? spec->method : "GET";
	if (check_spec(spec, method, err, errlen) == -1 ||
	    check_url(n, spec->url, &url, err, errlen) == -1)
		return NULL;

	timeout = spec->timeout_ms > 0 ? spec->timeout_ms : n->timeout_ms;
	connect_timeout = spec->connect_timeout_ms;
	if (connect_timeout == 0)
		connect_timeout =
		    timeout < NET_CONNECT_TIMEOUT_MS ? timeout : NET_CONNECT_TIMEOUT_MS;
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->easy = curl_easy_init()) == NULL)
		goto oom;
	r->net = n;
	r->owner = owner;
	r->done = done;
	r->arg = arg;
	r->max_bytes = spec->max_bytes > 0 ? spec->max_bytes : n->max_bytes;
	if (r->max_bytes > SIZE_MAX / 2)
		r->max_bytes = SIZE_MAX / 2;
	r->is_head = strcmp(method, "HEAD") == 0;
	r->follow = spec->follow_redirects != 0;
	/* POST, PUT and PATCH carry a body, even an empty one (Content-Length: 0). */
	has_body = spec->body_len > 0 || strcmp(method, "POST") == 0 ||
	    strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;

	for (size_t i = 0; i < spec->nheaders; i++)
		if (add_header(&r->headers, spec->headers[i].name, spec->headers[i].value) == -1)
			goto oom;
	/* No 100-continue round trip; no form content type slipped in by curl. */
	if (!has_header(spec, "Expect") && add_header(&r->headers, "Expect", NULL) == -1)
		goto oom;
	if (has_body && !has_header(spec, "Content-Type") &&
	    add_header(&r->headers, "Content-Type", NULL) == -1)
		goto oom;

#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (rc == CURLE_OK)                                                                \
			rc = curl_easy_setopt(r->easy, opt, val);                                  \
	} while (0)
	SET(CURLOPT_PRIVATE, r);
	SET(CURLOPT_URL, url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, r->errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, n->allow_http ? "https,http" : "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, n->allow_http ? "https,http" : "https");
#else
	SET(CURLOPT_PROTOCOLS, n->allow_http ? CURLPROTO_HTTPS | CURLPROTO_HTTP : CURLPROTO_HTTPS);
	SET(CURLOPT_REDIR_PROTOCOLS,
	    n->allow_http ? CURLPROTO_HTTPS | CURLPROTO_HTTP : CURLPROTO_HTTPS);
#endif
	SET(CURLOPT_FOLLOWLOCATION, r->follow ? 1L : 0L);
	SET(CURLOPT_MAXREDIRS, NET_MAX_REDIRS);
	SET(CURLOPT_TIMEOUT_MS, timeout);
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout);
#if LIBCURL_VERSION_NUM >= 0x075700
	/*
	 * Cancelling (or timing out) a request while the threaded resolver is
	 * still in getaddrinfo() would otherwise join that thread, blocking the
	 * loop until the lookup ends; with this, curl detaches the thread, which
	 * frees itself when the lookup returns.
	 */
	SET(CURLOPT_QUICK_EXIT, 1L);
#endif
	if (n->ca_file != NULL)
		SET(CURLOPT_CAINFO, n->ca_file);
	SET(CURLOPT_USERAGENT, n->user_agent);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, r);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, r);
	SET(CURLOPT_HTTPHEADER, r->headers);
	if (r->is_head)
		SET(CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		/* GET and POST stay curl's own, so that a followed 303 turns into a GET. */
		SET(CURLOPT_CUSTOMREQUEST, method);
	if (has_body) {
		/* The size first: COPYPOSTFIELDS copies that many bytes. */
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)spec->body_len);
		SET(CURLOPT_COPYPOSTFIELDS, spec->body_len > 0 ? (const char *)spec->body : "");
		if (strcmp(method, "GET") == 0)
			SET(CURLOPT_CUSTOMREQUEST, method);
	}
#undef SET
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "libcurl: %s", curl_easy_strerror(rc));
		goto fail;
	}
	if ((mc = curl_multi_add_handle(n->multi, r->easy)) != CURLM_OK) {
		snprintf(err, errlen, "libcurl: %s", curl_multi_strerror(mc));
		goto fail;
	}
	curl_free(url);
	r->serial = ++n->serial;
	r->state = REQ_ACTIVE;
	TAILQ_INSERT_TAIL(&n->reqs, r, entry);
	n->nreqs++;
	return r;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	curl_free(url);
	if (r != NULL)
		request_free(r);
	return NULL;
}

void
net_cancel(struct net_request *r)
{
	struct net *n;

	/* From its own callback: already being delivered, nothing to cancel. */
	if (r == NULL || r->state == REQ_DELIVERING)
		return;
	n = r->net;
	n->depth++;
	request_finish(r, 1);
	net_release(n);
}

void
net_cancel_owner(struct net *n, const void *owner)
{
	if (n == NULL)
		return;
	n->depth++;
	cancel_matching(n, owner, 0);
	net_release(n);
}

size_t
net_in_flight(struct net *n)
{
	return n != NULL ? n->nreqs : 0;
}
