/*
 * loadgen: a closed-loop HTTP/1.1 load generator for a Unix socket.
 *
 * N keep-alive connections, each with one request in flight at a time (no
 * pipelining): as soon as an answer is read, the connection sends the next
 * request. After a warm-up, it counts the units completed in a fixed window
 * (or until a fixed count) and prints one line of key=value figures.
 *
 * It speaks HTTP over plain bufferevents rather than evhttp's client: the
 * requests are preformatted bytes and the answer is parsed with a small
 * state machine (status line, headers, Content-Length body), so the client
 * side costs the same whatever server it drives and adds no buffering,
 * header tables or callbacks of its own to what is measured.
 *
 * Modes:
 *   health      GET /v1/health; one unit = one request
 *   create-get  POST /v1/structures with a fresh valid structure (distinct
 *               SIRET with a correct Luhn key), then GET the Location it
 *               answered; one unit = the pair
 * A unit counts only when every answer in it is 2xx; anything else counts
 * as an error, and the first of each kind is described on stderr.
 *
 * usage: loadgen -S SOCKET [-m health|create-get] [-c CONNS] [-w WARMUP_S]
 *                [-d SECONDS | -n COUNT] [-s SEED]
 * Output: mode= conns= seconds= ok= errors= io_errors= rate= p50_us= p99_us= max_us=
 * (rate is units per second over the window; latencies are per unit).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

enum mode { MODE_HEALTH, MODE_CREATE_GET };
enum parse_state { P_STATUS, P_HEADERS, P_BODY };

struct conn {
	struct bufferevent *bev;
	enum parse_state ps;
	int status;
	long long clen;
	int server_closes;
	int step; /* create-get: 0 while the POST is in flight, 1 for the GET */
	int connected;
	char location[128];
	uint64_t unit_start;
};

static struct {
	const char *socket;
	enum mode mode;
	int nconns;
	double warmup, duration;
	long long count;
	unsigned seed;

	struct event_base *base;
	struct sockaddr_un sun;
	struct conn *conns;
	int measuring, done;
	uint64_t t0, t1;
	long long ok, errors, io_errors;
	uint64_t serial;
	uint32_t *lat; /* microseconds, one per unit completed in the window */
	size_t nlat, caplat;
	int told_status, told_io;
} g = {
	.mode = MODE_HEALTH,
	.nconns = 1,
	.warmup = 0.5,
	.duration = 3.0,
};

static const char health_req[] = "GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n";

static void conn_open(struct conn *c);
static void retry_cb(evutil_socket_t fd, short what, void *arg);

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
finish(void)
{
	if (g.done)
		return;
	g.done = 1;
	g.t1 = now_ns();
	event_base_loopbreak(g.base);
}

/*
 * A SIRET no other unit of this run (nor of a run with another seed) uses:
 * 4 digits of seed, 9 of serial, then the Luhn key. Keys are computed from
 * the right: every second digit, starting with the one before the key, is
 * doubled.
 */
static void
next_siret(char out[15])
{
	unsigned prefix = g.seed % 10000;
	int sum = 0;

	/* SIREN 356000000 (La Poste) follows another rule: stay clear of it. */
	if (prefix == 3560)
		prefix = 3561;
	snprintf(out, 15, "%04u%09" PRIu64, prefix, g.serial++ % 1000000000u);
	for (int j = 0; j < 13; j++) {
		int d = out[j] - '0';
		if (j % 2 == 0) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	out[13] = (char)('0' + (10 - sum % 10) % 10);
	out[14] = '\0';
}

static void
send_create(struct conn *c)
{
	char siret[15], body[256];
	int n;

	next_siret(siret);
	n = snprintf(body, sizeof(body),
	    "{\"name\":\"Bench %s\",\"siret\":\"%s\",\"kind\":\"ACI\"}", siret, siret);
	evbuffer_add_printf(bufferevent_get_output(c->bev),
	    "POST /v1/structures HTTP/1.1\r\nHost: localhost\r\n"
	    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
	    n, body);
}

static void
send_get_location(struct conn *c)
{
	evbuffer_add_printf(bufferevent_get_output(c->bev),
	    "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", c->location);
}

static void
unit_start(struct conn *c)
{
	c->unit_start = now_ns();
	c->step = 0;
	if (g.mode == MODE_HEALTH)
		bufferevent_write(c->bev, health_req, sizeof(health_req) - 1);
	else
		send_create(c);
}

static void
record_ok(struct conn *c)
{
	if (!g.measuring || g.done)
		return;
	g.ok++;
	if (g.nlat == g.caplat) {
		size_t ncap = g.caplat ? g.caplat * 2 : 65536;
		uint32_t *p = realloc(g.lat, ncap * sizeof(*p));
		if (p == NULL) {
			fprintf(stderr, "loadgen: out of memory\n");
			exit(1);
		}
		g.lat = p;
		g.caplat = ncap;
	}
	uint64_t us = (now_ns() - c->unit_start) / 1000;
	g.lat[g.nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	if (g.count > 0 && g.ok + g.errors >= g.count)
		finish();
}

static void
record_error(const char *what, int status, const char *detail)
{
	if (!g.told_status) {
		fprintf(stderr, "loadgen: first error: %s answered %d%s%s\n", what, status,
		    detail ? " " : "", detail ? detail : "");
		g.told_status = 1;
	}
	if (!g.measuring || g.done)
		return;
	g.errors++;
	if (g.count > 0 && g.ok + g.errors >= g.count)
		finish();
}

static void
conn_drop(struct conn *c, const char *why)
{
	if (!g.told_io) {
		fprintf(stderr, "loadgen: connection lost: %s\n", why);
		g.told_io = 1;
	}
	g.io_errors++;
	bufferevent_free(c->bev);
	c->bev = NULL;
	if (g.done)
		return;
	if (c->connected) {
		conn_open(c);
	} else {
		/* Do not spin on a server that is not there. */
		struct timeval backoff = { 0, 50000 };
		event_base_once(g.base, -1, EV_TIMEOUT, retry_cb, c, &backoff);
	}
}

/*
 * One whole answer has been read: go on with the unit, or start the next. A
 * server that closes the connection ends the unit there (a pair whose POST
 * it closed after is not complete); the connection is opened again.
 */
static void
answer_done(struct conn *c)
{
	int good = c->status >= 200 && c->status < 300;

	c->ps = P_STATUS;
	if (g.mode == MODE_CREATE_GET && c->step == 0) {
		if (!good)
			record_error("POST /v1/structures", c->status, NULL);
		else if (c->location[0] != '/')
			record_error("POST /v1/structures", c->status, "without a Location");
		else if (c->server_closes)
			record_error("POST /v1/structures", c->status, "then closed");
		else {
			c->step = 1;
			send_get_location(c);
			return;
		}
	} else if (good) {
		record_ok(c);
	} else {
		record_error(g.mode == MODE_HEALTH ? "GET /v1/health" : "GET /v1/structures/{id}",
		    c->status, NULL);
	}
	if (c->server_closes)
		conn_drop(c, "the server closed the connection (Connection: close)");
	else if (!g.done)
		unit_start(c);
}

static int
parse_header(struct conn *c, const char *line)
{
	const char *v = strchr(line, ':');
	size_t n;

	if (v == NULL)
		return -1;
	n = (size_t)(v - line);
	for (v++; *v == ' ' || *v == '\t'; v++)
		;
	if (n == 14 && strncasecmp(line, "Content-Length", n) == 0) {
		char *end;
		errno = 0;
		c->clen = strtoll(v, &end, 10);
		if (errno != 0 || end == v || c->clen < 0)
			return -1;
	} else if (n == 17 && strncasecmp(line, "Transfer-Encoding", n) == 0) {
		return -1; /* chunked answers are not expected from evhttp_send_reply */
	} else if (n == 10 && strncasecmp(line, "Connection", n) == 0) {
		c->server_closes = strncasecmp(v, "close", 5) == 0;
	} else if (n == 8 && strncasecmp(line, "Location", n) == 0) {
		if (strlen(v) >= sizeof(c->location))
			return -1;
		memcpy(c->location, v, strlen(v) + 1);
	}
	return 0;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;

	for (;;) {
		if (c->ps == P_BODY) {
			if ((long long)evbuffer_get_length(in) < c->clen)
				return;
			evbuffer_drain(in, (size_t)c->clen);
			answer_done(c);
			if (c->bev != bev || evbuffer_get_length(in) == 0)
				return;
			continue;
		}
		if ((line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF)) == NULL) {
			if (evbuffer_get_length(in) > 16384) {
				conn_drop(c, "header line too long");
				return;
			}
			return;
		}
		if (c->ps == P_STATUS) {
			int major, minor;
			if (sscanf(line, "HTTP/%d.%d %3d", &major, &minor, &c->status) != 3) {
				free(line);
				conn_drop(c, "malformed status line");
				return;
			}
			c->ps = P_HEADERS;
			c->clen = -1;
			c->server_closes = major == 1 && minor == 0;
			c->location[0] = '\0';
		} else if (*line == '\0') {
			if (c->clen < 0) {
				free(line);
				conn_drop(c, "answer without Content-Length");
				return;
			}
			c->ps = P_BODY;
		} else if (parse_header(c, line) == -1) {
			free(line);
			conn_drop(c, "malformed or unsupported header");
			return;
		}
		free(line);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		c->connected = 1;
		unit_start(c);
		return;
	}
	if (what & BEV_EVENT_EOF)
		conn_drop(c, "end of file");
	else if (what & BEV_EVENT_ERROR)
		conn_drop(c, strerror(EVUTIL_SOCKET_ERROR()));
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_open(arg);
}

static void
conn_open(struct conn *c)
{
	static const struct timeval backoff = { 0, 50000 };

	c->ps = P_STATUS;
	c->connected = 0;
	c->bev = bufferevent_socket_new(g.base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		fprintf(stderr, "loadgen: bufferevent_socket_new failed\n");
		exit(1);
	}
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&g.sun, sizeof(g.sun)) == -1) {
		if (!g.told_io) {
			fprintf(stderr, "loadgen: %s: %s\n", g.socket, strerror(errno));
			g.told_io = 1;
		}
		g.io_errors++;
		bufferevent_free(c->bev);
		c->bev = NULL;
		/* Do not spin on a server that is not there. */
		event_base_once(g.base, -1, EV_TIMEOUT, retry_cb, c, &backoff);
	}
}

static struct timeval
to_tv(double s)
{
	struct timeval tv = { (time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6) };
	return tv;
}

static void
end_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	finish();
}

static void
warm_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	g.measuring = 1;
	g.t0 = now_ns();
	if (g.count <= 0) {
		struct timeval tv = to_tv(g.duration);
		event_base_once(g.base, -1, EV_TIMEOUT, end_cb, NULL, &tv);
	}
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t
percentile(double p)
{
	if (g.nlat == 0)
		return 0;
	size_t i = (size_t)(p * (double)(g.nlat - 1) + 0.5);
	return g.lat[i];
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen -S SOCKET [-m health|create-get] [-c CONNS] "
	    "[-w WARMUP_S] [-d SECONDS | -n COUNT] [-s SEED]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct timeval tv;
	int ch;

	g.seed = (unsigned)getpid();
	while ((ch = getopt(argc, argv, "S:m:c:w:d:n:s:")) != -1) {
		switch (ch) {
		case 'S':
			g.socket = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "health") == 0)
				g.mode = MODE_HEALTH;
			else if (strcmp(optarg, "create-get") == 0)
				g.mode = MODE_CREATE_GET;
			else
				usage();
			break;
		case 'c':
			g.nconns = atoi(optarg);
			break;
		case 'w':
			g.warmup = atof(optarg);
			break;
		case 'd':
			g.duration = atof(optarg);
			break;
		case 'n':
			g.count = atoll(optarg);
			break;
		case 's':
			g.seed = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (g.socket == NULL || g.nconns < 1 || g.nconns > 4096 || g.warmup < 0 ||
	    g.duration <= 0 || strlen(g.socket) >= sizeof(g.sun.sun_path))
		usage();
	signal(SIGPIPE, SIG_IGN);
	g.sun.sun_family = AF_UNIX;
	memcpy(g.sun.sun_path, g.socket, strlen(g.socket) + 1);
	if ((g.base = event_base_new()) == NULL ||
	    (g.conns = calloc((size_t)g.nconns, sizeof(*g.conns))) == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 1;
	}
	for (int i = 0; i < g.nconns; i++)
		conn_open(&g.conns[i]);
	tv = to_tv(g.warmup);
	event_base_once(g.base, -1, EV_TIMEOUT, warm_cb, NULL, &tv);

	event_base_dispatch(g.base);

	double secs = (double)(g.t1 - g.t0) / 1e9;
	qsort(g.lat, g.nlat, sizeof(*g.lat), cmp_u32);
	printf("mode=%s conns=%d seconds=%.3f ok=%lld errors=%lld io_errors=%lld rate=%.1f "
	       "p50_us=%u p99_us=%u max_us=%u\n",
	    g.mode == MODE_HEALTH ? "health" : "create-get", g.nconns, secs, g.ok, g.errors,
	    g.io_errors, secs > 0 ? (double)g.ok / secs : 0.0, percentile(0.50), percentile(0.99),
	    g.nlat ? g.lat[g.nlat - 1] : 0);
	for (int i = 0; i < g.nconns; i++)
		if (g.conns[i].bev != NULL)
			bufferevent_free(g.conns[i].bev);
	free(g.conns);
	free(g.lat);
	event_base_free(g.base);
	return g.ok > 0 ? 0 : 1;
}
