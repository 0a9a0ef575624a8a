/*
 * net.c: outbound HTTPS on a real libevent loop against a real server
 * (tests/net/server.py) whose certificate comes from a CA made for the run.
 * tests/net/run-test-net.sh starts the server and passes TEST_NET_PORT,
 * TEST_NET_CA and TEST_NET_WRONG_CA. No timing is asserted: each test runs
 * the loop until its callbacks fired, 10 s at most.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "net.h"

#define UA "tremplin-test/1"

static const char *port;
static const char *ca_file;
static const char *wrong_ca_file;

/* Callbacks run so far in the current test, all requests together. */
static int callbacks;

struct got {
	int calls;
	enum net_error error;
	long status;
	int64_t retry_after_s;
	char *body;
	size_t body_len;
	char *content_type;
	char *error_text;
};

struct fx {
	struct event_base *base;
	struct net *net;
	char err[256];
};

static void
record(struct got *g, const struct net_result *r)
{
	callbacks++;
	if (g->calls++ > 0)
		return; /* the test checks calls == 1 */
	g->error = r->error;
	g->status = r->status;
	g->retry_after_s = r->retry_after_s;
	g->error_text = strdup(r->error_text != NULL ? r->error_text : "(null)");
	g->content_type = r->content_type != NULL ? strdup(r->content_type) : NULL;
	g->body_len = r->body_len;
	if (r->body != NULL) {
		g->body = malloc(r->body_len + 1);
		assert_non_null(g->body);
		memcpy(g->body, r->body, r->body_len + 1);
	}
}

static void
got_free(struct got *g)
{
	free(g->body);
	free(g->content_type);
	free(g->error_text);
	memset(g, 0, sizeof(*g));
}

static void
on_done(const struct net_result *r, void *arg)
{
	record(arg, r);
}

static const char *
url(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "https://127.0.0.1:%s%s", port, path);
	return buf;
}

static struct net *
new_net(struct fx *fx, const char *ca, int allow_http)
{
	struct net_options opt = {
		.ca_file = ca,
		.allow_http = allow_http,
		/* Longer than any test waits: only a test's own timeout_ms ends a request. */
		.default_timeout_ms = 60000,
		.user_agent = UA,
	};
	struct net *n = net_new(fx->base, &opt, fx->err, sizeof(fx->err));

	if (n == NULL)
		fail_msg("net_new: %s", fx->err);
	return n;
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	assert_non_null(fx->base = event_base_new());
	fx->net = new_net(fx, ca_file, 0);
	callbacks = 0;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	net_free(fx->net);
	event_base_free(fx->base);
	free(fx);
	return 0;
}

struct safety {
	struct event_base *base;
	int fired;
};

static void
safety_cb(evutil_socket_t fd, short what, void *arg)
{
	struct safety *s = arg;

	(void)fd;
	(void)what;
	s->fired = 1;
	event_base_loopbreak(s->base);
}

/* Run the loop until `callbacks` reaches want; give up after 60 s. */
static void
run_until(struct fx *fx, int want)
{
	struct safety s = { fx->base, 0 };
	struct timeval tv = { 60, 0 };
	struct event *ev = evtimer_new(fx->base, safety_cb, &s);

	assert_non_null(ev);
	evtimer_add(ev, &tv);
	while (callbacks < want && !s.fired)
		event_base_loop(fx->base, EVLOOP_ONCE);
	event_free(ev);
	if (callbacks < want)
		fail_msg("%d callback(s) of %d within 60 s", callbacks, want);
}

static struct net_request *
start_spec(struct fx *fx, struct net *n, const void *owner, const struct net_spec *spec,
    net_done_fn fn, void *arg)
{
	struct net_request *r = net_start(n, owner, spec, fn, arg, fx->err, sizeof(fx->err));

	if (r == NULL)
		fail_msg("net_start %s: %s", spec->url, fx->err);
	return r;
}

static struct net_request *
get(struct fx *fx, const char *path, struct got *g)
{
	char buf[128];
	struct net_spec spec = { .method = "GET", .url = url(buf, sizeof(buf), path) };

	return start_spec(fx, fx->net, NULL, &spec, on_done, g);
}

/* GET path and wait for its answer. */
static void
fetch(struct fx *fx, struct net *n, struct net_spec *spec, const char *path, struct got *g)
{
	char buf[128];
	int want = callbacks + 1;

	spec->url = url(buf, sizeof(buf), path);
	start_spec(fx, n, NULL, spec, on_done, g);
	run_until(fx, want);
	assert_int_equal(g->calls, 1);
}

static void
assert_error(const struct got *g, enum net_error e)
{
	if (g->error != e)
		fail_msg("error %d (%s), expected %d", (int)g->error, g->error_text, (int)e);
}

static json_t *
parse_echo(const struct got *g)
{
	json_error_t jerr;
	json_t *j = json_loadb(g->body, g->body_len, 0, &jerr);

	if (j == NULL)
		fail_msg("echo body is not JSON (%s): %s", jerr.text, g->body);
	return j;
}

static const char *
echoed_header(json_t *echo, const char *name)
{
	return json_string_value(json_object_get(json_object_get(echo, "headers"), name));
}

/* -- answers ------------------------------------------------------------- */

static void
test_net__get_ok__200_with_body(void **state)
{
	struct fx *fx = *state;
	struct net_spec spec = { .method = "GET" };
	struct got g = { 0 };

	fetch(fx, fx->net, &spec, "/ok", &g);
	assert_error(&g, NET_OK);
	assert_int_equal(g.status, 200);
	assert_string_equal(g.body, "{\"ok\": true}");
	assert_int_equal(g.body_len, 12);
	assert_string_equal(g.content_type, "application/json");
	assert_int_equal(g.retry_after_s, -1);
	assert_int_equal(net_in_flight(fx->net), 0);
	got_free(&g);
}

static void
test_net__post__echoes_method_headers_and_body(void **state)
{
	struct fx *fx = *state;
	static const struct net_header h[] = {
		{ "Content-Type", "application/json" },
		{ "X-Tremplin-Test", "bonjour" },
	};
	static const char body[] = "{\"a\": 1}";
	struct net_spec spec = {
		.method = "POST",
		.headers = h,
		.nheaders = 2,
		.body = body,
		.body_len = sizeof(body) - 1,
	};
	struct got g = { 0 };
	json_t *echo;

	fetch(fx, fx->net, &spec, "/echo", &g);
	assert_error(&g, NET_OK);
	assert_int_equal(g.status, 200);
	echo = parse_echo(&g);
	assert_string_equal(json_string_value(json_object_get(echo, "method")), "POST");
	assert_string_equal(json_string_value(json_object_get(echo, "body")), body);
	assert_string_equal(echoed_header(echo, "content-type"), "application/json");
	assert_string_equal(echoed_header(echo, "x-tremplin-test"), "bonjour");
	assert_string_equal(echoed_header(echo, "content-length"), "8");
	assert_string_equal(echoed_header(echo, "user-agent"), UA);
	assert_null(echoed_header(echo, "expect"));
	json_decref(echo);
	got_free(&g);
}

static void
test_net__patch_and_delete__sent_as_such_without_form_content_type(void **state)
{
	struct fx *fx = *state;
	struct net_spec patch = { .method = "PATCH", .body = "abc", .body_len = 3 };
	struct net_spec del = { .method = "DELETE" };
	struct got g1 = { 0 }, g2 = { 0 };
	json_t *echo;

	fetch(fx, fx->net, &patch, "/echo", &g1);
	assert_error(&g1, NET_OK);
	echo = parse_echo(&g1);
	assert_string_equal(json_string_value(json_object_get(echo, "method")), "PATCH");
	assert_string_equal(json_string_value(json_object_get(echo, "body")), "abc");
	assert_null(echoed_header(echo, "content-type"));
	json_decref(echo);

	fetch(fx, fx->net, &del, "/echo", &g2);
	assert_error(&g2, NET_OK);
	echo = parse_echo(&g2);
	assert_string_equal(json_string_value(json_object_get(echo, "method")), "DELETE");
	assert_string_equal(json_string_value(json_object_get(echo, "body")), "");
	json_decref(echo);
	got_free(&g1);
	got_free(&g2);
}

static void
test_net__head__no_body_and_announced_length_ignored(void **state)
{
	struct fx *fx = *state;
	struct net_spec spec = { .method = "HEAD", .max_bytes = 4 };
	struct got g = { 0 };

	fetch(fx, fx->net, &spec, "/ok", &g);
	assert_error(&g, NET_OK);
	assert_int_equal(g.status, 200);
	assert_int_equal(g.body_len, 0);
	got_free(&g);
}

static void
test_net__slow_answer__timeout(void **state)
{
	struct fx *fx = *state;
	struct net_spec spec = { .method = "GET", .timeout_ms = 300 };
	struct got g = { 0 };

	fetch(fx, fx->net, &spec, "/slow", &g);
	assert_error(&g, NET_E_TIMEOUT);
	assert_null(g.body);
	got_free(&g);
}

/* -- TLS ----------------------------------------------------------------- */

static void
test_net__wrong_ca__tls_error(void **state)
{
	struct fx *fx = *state;
	struct net *n = new_net(fx, wrong_ca_file, 0);
	struct net_spec spec = { .method = "GET" };
	struct got g = { 0 };

	fetch(fx, n, &spec, "/ok", &g);
	assert_error(&g, NET_E_TLS);
	net_free(n);
	got_free(&g);
}

static void
test_net__no_ca_file__system_store_refuses_our_ca(void **state)
{
	struct fx *fx = *state;
	struct net *n = new_net(fx, NULL, 0);
	struct net_spec spec = { .method = "GET" };
	struct got g = { 0 };

	fetch(fx, n, &spec, "/ok", &g);
	assert_error(&g, NET_E_TLS);
	net_free(n);
	got_free(&g);
}

/* -- size cap ------------------------------------------------------------ */

static void
test_net__big_body_with_length__too_big_refused_early(void **state)
{
	struct fx *fx = *state;
	struct net_spec spec = { .method = "GET", .max_bytes = 64 * 1024 };
	struct got g = { 0 };

	fetch(fx, fx->net, &spec, "/big", &g);
	assert_error(&g, NET_E_TOO_BIG);
	assert_null(g.body);
	/* Refused on the announced Content-Length, not after 64 KiB of body. */
	assert_non_null(strstr(g.error_text, "Content-Length"));
	got_free(&g);
}

static void
test_net__big_chunked_body__too_big(void **state)
{
	struct fx *fx = *state;
	struct net_spec spec = { .method = "GET", .max_bytes = 64 * 1024 };
	struct got g = { 0 };

	fetch(fx, fx->net, &spec, "/big-chunked", &g);
	assert_error(&g, NET_E_TOO_BIG);
	assert_null(g.body);
	assert_null(strstr(g.error_text, "Content-Length"));
	got_free(&g);
}

static void
test_net__body_at_cap__kept_one_byte_over__too_big(void **state)
{
	struct fx *fx = *state;
	struct net_spec at = { .method = "GET", .max_bytes = 12 };
	struct net_spec over = { .method = "GET", .max_bytes = 11 };
	struct got g1 = { 0 }, g2 = { 0 };

	fetch(fx, fx->net, &at, "/ok", &g1);
	assert_error(&g1, NET_OK);
	assert_int_equal(g1.body_len, 12);
	fetch(fx, fx->net, &over, "/ok", &g2);
	assert_error(&g2, NET_E_TOO_BIG);
	got_free(&g1);
	got_free(&g2);
}

/* -- statuses and headers ------------------------------------------------ */

static void
test_net__429__ok_with_retry_after_seconds(void **state)
{
	struct fx *fx = *state;
	struct net_spec spec = { .method = "GET" };
	struct got g = { 0 };

	fetch(fx, fx->net, &spec, "/ratelimit", &g);
	assert_error(&g, NET_OK);
	assert_int_equal(g.status, 429);
	assert_int_equal(g.retry_after_s, 7);
	got_free(&g);
}

static void
test_net__429_with_http_date__retry_after_as_delta(void **state)
{
	struct fx *fx = *state;
	struct net_spec spec = { .method = "GET" };
	struct got g = { 0 };

	fetch(fx, fx->net, &spec, "/ratelimit-date", &g);
	assert_error(&g, NET_OK);
	assert_int_equal(g.status, 429);
	/* An hour ahead when the server wrote it: a delta, however long the exchange took. */
	assert_in_range(g.retry_after_s, 3000, 3601);
	got_free(&g);
}

static void
test_net__redirect__handed_back_by_default(void **state)
{
	struct fx *fx = *state;
	struct net_spec spec = { .method = "GET" };
	struct got g = { 0 };

	fetch(fx, fx->net, &spec, "/redirect", &g);
	assert_error(&g, NET_OK);
	assert_int_equal(g.status, 302);
	assert_int_equal(g.body_len, 0);
	got_free(&g);
}

static void
test_net__redirect__followed_when_asked(void **state)
{
	struct fx *fx = *state;
	struct net_spec spec = { .method = "GET", .follow_redirects = 1 };
	struct got g = { 0 };

	fetch(fx, fx->net, &spec, "/redirect", &g);
	assert_error(&g, NET_OK);
	assert_int_equal(g.status, 200);
	assert_string_equal(g.body, "{\"ok\": true}");
	got_free(&g);
}

static void
test_net__redirect_to_plain_http__protocol_error(void **state)
{
	struct fx *fx = *state;
	struct net_spec spec = { .method = "GET", .follow_redirects = 1 };
	struct got g = { 0 };

	fetch(fx, fx->net, &spec, "/redirect-http", &g);
	assert_error(&g, NET_E_PROTOCOL);
	got_free(&g);
}

/* -- refusals ------------------------------------------------------------ */

/* A port on 127.0.0.1 that nobody listens on (bound, then closed). */
static int
closed_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void
test_net__nobody_listening__connect_error(void **state)
{
	struct fx *fx = *state;
	char buf[128];
	struct net_spec spec = { .method = "GET", .url = buf };
	struct got g = { 0 };

	snprintf(buf, sizeof(buf), "https://127.0.0.1:%d/ok", closed_port());
	start_spec(fx, fx->net, NULL, &spec, on_done, &g);
	run_until(fx, 1);
	assert_int_equal(g.calls, 1);
	assert_error(&g, NET_E_CONNECT);
	got_free(&g);
}

static void
test_net__plain_http__refused_up_front_unless_allowed(void **state)
{
	struct fx *fx = *state;
	char buf[128];
	struct net_spec spec = { .method = "GET", .url = buf };
	struct got g = { 0 };
	struct net *n;

	snprintf(buf, sizeof(buf), "http://127.0.0.1:%d/ok", closed_port());
	fx->err[0] = '\0';
	assert_null(net_start(fx->net, NULL, &spec, on_done, &g, fx->err, sizeof(fx->err)));
	assert_non_null(strstr(fx->err, "https"));
	assert_int_equal(net_in_flight(fx->net), 0);

	/* Allowed: it goes out (and finds nobody). */
	n = new_net(fx, ca_file, 1);
	start_spec(fx, n, NULL, &spec, on_done, &g);
	run_until(fx, 1);
	assert_int_equal(g.calls, 1);
	assert_error(&g, NET_E_CONNECT);
	net_free(n);
	got_free(&g);
}

static void
test_net__bad_specs__refused_up_front(void **state)
{
	struct fx *fx = *state;
	char ok_url[128];
	static const struct net_header crlf[] = { { "X-A", "b\r\nX-Injected: 1" } };
	static const struct net_header badname[] = { { "X A", "b" } };
	struct net_spec specs[] = {
		{ .method = "GET", .url = "not a url" },
		{ .method = "GET", .url = "ftp://127.0.0.1/file" },
		{ .method = "GET", .url = NULL },
		{ .method = "GE T", .url = ok_url },
		{ .method = "GET", .url = ok_url, .headers = crlf, .nheaders = 1 },
		{ .method = "GET", .url = ok_url, .headers = badname, .nheaders = 1 },
		{ .method = "POST", .url = ok_url, .body = NULL, .body_len = 3 },
		{ .method = "GET", .url = ok_url, .timeout_ms = -1 },
	};
	struct got g = { 0 };

	url(ok_url, sizeof(ok_url), "/ok");
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		fx->err[0] = '\0';
		if (net_start(fx->net, NULL, &specs[i], on_done, &g, fx->err, sizeof(fx->err)) !=
		    NULL)
			fail_msg("spec %zu accepted", i);
		if (fx->err[0] == '\0')
			fail_msg("spec %zu refused without a reason", i);
	}
	assert_int_equal(net_in_flight(fx->net), 0);
	assert_int_equal(g.calls, 0);
}

/* -- cancellation -------------------------------------------------------- */

static void
test_net__cancel_in_flight__callback_once_with_cancelled(void **state)
{
	struct fx *fx = *state;
	struct got slow = { 0 }, ok1 = { 0 }, ok2 = { 0 };
	struct net_request *r;

	r = get(fx, "/slow", &slow);
	get(fx, "/ok", &ok1);
	run_until(fx, 1); /* /ok answered: /slow is on the wire */
	assert_int_equal(ok1.calls, 1);
	assert_int_equal(slow.calls, 0);
	assert_int_equal(net_in_flight(fx->net), 1);

	net_cancel(r);
	assert_int_equal(slow.calls, 1);
	assert_error(&slow, NET_E_CANCELLED);
	assert_int_equal(net_in_flight(fx->net), 0);

	/* The loop goes on; nothing more comes for the cancelled one. */
	get(fx, "/ok", &ok2);
	run_until(fx, 3);
	assert_error(&ok2, NET_OK);
	assert_int_equal(slow.calls, 1);
	got_free(&slow);
	got_free(&ok1);
	got_free(&ok2);
}

static void
test_net__cancel_owner__only_that_owners_requests(void **state)
{
	struct fx *fx = *state;
	int a, b;
	char buf[128];
	struct net_spec slow = { .method = "GET", .url = url(buf, sizeof(buf), "/slow") };
	struct got a1 = { 0 }, a2 = { 0 }, b1 = { 0 }, sentinel = { 0 };
	struct net_request *rb;

	start_spec(fx, fx->net, &a, &slow, on_done, &a1);
	start_spec(fx, fx->net, &a, &slow, on_done, &a2);
	rb = start_spec(fx, fx->net, &b, &slow, on_done, &b1);
	get(fx, "/ok", &sentinel);
	run_until(fx, 1);
	assert_int_equal(sentinel.calls, 1);

	net_cancel_owner(fx->net, &a);
	assert_int_equal(a1.calls, 1);
	assert_error(&a1, NET_E_CANCELLED);
	assert_int_equal(a2.calls, 1);
	assert_error(&a2, NET_E_CANCELLED);
	assert_int_equal(b1.calls, 0);
	assert_int_equal(net_in_flight(fx->net), 1);

	net_cancel(rb);
	assert_int_equal(b1.calls, 1);
	assert_error(&b1, NET_E_CANCELLED);
	assert_int_equal(net_in_flight(fx->net), 0);
	got_free(&a1);
	got_free(&a2);
	got_free(&b1);
	got_free(&sentinel);
}

static void
test_net__free_in_flight__each_callback_once_cancelled(void **state)
{
	struct fx *fx = *state;
	struct got s1 = { 0 }, s2 = { 0 }, s3 = { 0 }, sentinel = { 0 };

	get(fx, "/slow", &s1);
	get(fx, "/slow", &s2);
	get(fx, "/slow", &s3);
	get(fx, "/ok", &sentinel);
	run_until(fx, 1);
	assert_int_equal(net_in_flight(fx->net), 3);

	net_free(fx->net);
	fx->net = NULL;
	assert_int_equal(s1.calls, 1);
	assert_int_equal(s2.calls, 1);
	assert_int_equal(s3.calls, 1);
	assert_error(&s1, NET_E_CANCELLED);
	assert_error(&s2, NET_E_CANCELLED);
	assert_error(&s3, NET_E_CANCELLED);
	assert_int_equal(sentinel.calls, 1);
	got_free(&s1);
	got_free(&s2);
	got_free(&s3);
	got_free(&sentinel);
}

/* -- callbacks that act on the net --------------------------------------- */

struct chain {
	struct fx *fx;
	struct got got;
	struct got *next; /* start /ok into this one */
	struct net_request *victim; /* cancel this one */
	struct net_request *self; /* cancel oneself (a no-op) */
	int free_net; /* net_free from the callback */
	int in_flight_seen;
};

static void
on_done_chain(const struct net_result *r, void *arg)
{
	struct chain *c = arg;
	struct fx *fx = c->fx;

	record(&c->got, r);
	if (c->next != NULL)
		get(fx, "/ok", c->next);
	if (c->victim != NULL)
		net_cancel(c->victim);
	if (c->self != NULL)
		net_cancel(c->self);
	if (c->free_net) {
		net_free(fx->net);
		fx->net = NULL;
	}
	c->in_flight_seen = fx->net != NULL ? (int)net_in_flight(fx->net) : -1;
}

static void
test_net__done_callback_starts_another__it_runs(void **state)
{
	struct fx *fx = *state;
	char buf[128];
	struct net_spec spec = { .method = "GET", .url = url(buf, sizeof(buf), "/ok") };
	struct got second = { 0 };
	struct chain c = { .fx = fx, .next = &second };

	start_spec(fx, fx->net, NULL, &spec, on_done_chain, &c);
	run_until(fx, 2);
	assert_int_equal(c.got.calls, 1);
	assert_error(&c.got, NET_OK);
	assert_int_equal(c.in_flight_seen, 1);
	assert_int_equal(second.calls, 1);
	assert_error(&second, NET_OK);
	assert_int_equal(second.status, 200);
	got_free(&c.got);
	got_free(&second);
}

static void
test_net__done_callback_cancels_another__cancelled_once(void **state)
{
	struct fx *fx = *state;
	char buf[128];
	struct net_spec spec = { .method = "GET", .url = url(buf, sizeof(buf), "/ok") };
	struct got slow = { 0 };
	struct chain c = { .fx = fx };

	c.victim = get(fx, "/slow", &slow);
	c.self = start_spec(fx, fx->net, NULL, &spec, on_done_chain, &c);
	run_until(fx, 2);
	assert_int_equal(c.got.calls, 1);
	assert_error(&c.got, NET_OK);
	assert_int_equal(slow.calls, 1);
	assert_error(&slow, NET_E_CANCELLED);
	assert_int_equal(net_in_flight(fx->net), 0);
	got_free(&c.got);
	got_free(&slow);
}

static void
test_net__done_callback_frees_the_net__others_cancelled_once(void **state)
{
	struct fx *fx = *state;
	char buf[128];
	struct net_spec spec = { .method = "GET", .url = url(buf, sizeof(buf), "/ok") };
	struct got s1 = { 0 }, s2 = { 0 };
	struct chain c = { .fx = fx, .free_net = 1 };

	get(fx, "/slow", &s1);
	get(fx, "/slow", &s2);
	start_spec(fx, fx->net, NULL, &spec, on_done_chain, &c);
	run_until(fx, 3);
	assert_null(fx->net);
	assert_int_equal(c.got.calls, 1);
	assert_error(&c.got, NET_OK);
	assert_int_equal(s1.calls, 1);
	assert_error(&s1, NET_E_CANCELLED);
	assert_int_equal(s2.calls, 1);
	assert_error(&s2, NET_E_CANCELLED);
	got_free(&c.got);
	got_free(&s1);
	got_free(&s2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_net__get_ok__200_with_body),
		T(test_net__post__echoes_method_headers_and_body),
		T(test_net__patch_and_delete__sent_as_such_without_form_content_type),
		T(test_net__head__no_body_and_announced_length_ignored),
		T(test_net__slow_answer__timeout),
		T(test_net__wrong_ca__tls_error),
		T(test_net__no_ca_file__system_store_refuses_our_ca),
		T(test_net__big_body_with_length__too_big_refused_early),
		T(test_net__big_chunked_body__too_big),
		T(test_net__body_at_cap__kept_one_byte_over__too_big),
		T(test_net__429__ok_with_retry_after_seconds),
		T(test_net__429_with_http_date__retry_after_as_delta),
		T(test_net__redirect__handed_back_by_default),
		T(test_net__redirect__followed_when_asked),
		T(test_net__redirect_to_plain_http__protocol_error),
		T(test_net__nobody_listening__connect_error),
		T(test_net__plain_http__refused_up_front_unless_allowed),
		T(test_net__bad_specs__refused_up_front),
		T(test_net__cancel_in_flight__callback_once_with_cancelled),
		T(test_net__cancel_owner__only_that_owners_requests),
		T(test_net__free_in_flight__each_callback_once_cancelled),
		T(test_net__done_callback_starts_another__it_runs),
		T(test_net__done_callback_cancels_another__cancelled_once),
		T(test_net__done_callback_frees_the_net__others_cancelled_once),
#undef T
	};

	port = getenv("TEST_NET_PORT");
	ca_file = getenv("TEST_NET_CA");
	wrong_ca_file = getenv("TEST_NET_WRONG_CA");
	if (port == NULL || ca_file == NULL || wrong_ca_file == NULL) {
		fprintf(stderr,
		    "test_net: run it through tests/net/run-test-net.sh "
		    "(TEST_NET_PORT, TEST_NET_CA, TEST_NET_WRONG_CA unset): skipped\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN); /* as tremplind does */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
