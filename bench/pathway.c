/*
 * pathway: what reading a person's file costs over the API, with a database
 * the size of a large structure's (10,000 pathways, three years of
 * follow-up), beside a bare SQLite read of the same rows in the same run.
 *
 * The data: demo_create (the code of `tremplinctl demo --employees N`)
 * writes N generated pathways into DIR/tremplin.db, the demo's first CIP
 * given to the user running this. Then a real tremplind (-t) starts on it,
 * with no bootstrap staff account (the demo's are in the database) and a
 * retention long enough that nothing is purged meanwhile.
 *
 * Measured, one request in flight on one keep-alive connection, as that CIP:
 * - get: GET /v1/employees/{id}, ids drawn at random among the files whose
 *   referent the CIP is (so the policy sees the referent, and the audit log
 *   is written when what is shown calls for it);
 * - page: GET /v1/employees?limit=100, walking the whole list by next_cursor
 *   and starting over at its end.
 * The clock runs from writing the request to reading the last byte of the
 * answer; every answer must be 200.
 *
 * Baseline, the same rows read with SQLite alone, on its own read-only
 * connection to the same file while the daemon runs: the employee's row
 * (SELECT every column WHERE id = ?) and a page (the same columns WHERE id >
 * ? ORDER BY id LIMIT 100), every column of every row fetched; prepared once.
 *
 * Each round runs both sides, alternating which goes first; latencies of
 * all rounds are pooled for p50 and p99. Nothing is asserted about time.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "demo.h"
#include "log.h"
#include "util.h"

#define PAGE 100
#define COLUMNS                                                                                    \
	"id, structure_id, first_name, last_name, birth_date, email, phone, address,"              \
	" france_travail_id, prescriber_kind, prescriber_name, team, referent_cip_id,"             \
	" referent_eti_id, status, last_contact_at, created_at, updated_at"

struct samples {
	double *v; /* microseconds */
	int n, cap;
};

struct conn {
	int fd;
	char *buf; /* the answer being read */
	size_t len, cap;
	const char *body; /* into buf, once read */
	size_t bodylen;
	int status;
};

static const char *dir;
static pid_t daemon_pid = -1;
static FILE *trace; /* -o: every request's latency, in order */

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void
sample_add(struct samples *s, double us)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		if ((s->v = realloc(s->v, (size_t)s->cap * sizeof(*s->v))) == NULL)
			fatal("realloc");
	}
	s->v[s->n++] = us;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The q-quantile (nearest rank) of s; sorts it. */
static double
quantile(struct samples *s, double q)
{
	if (s->n == 0)
		return 0;
	qsort(s->v, (size_t)s->n, sizeof(*s->v), cmp_double);
	int k = (int)(q * s->n + 0.999999) - 1;
	return s->v[k < 0 ? 0 : k >= s->n ? s->n - 1 : k];
}

static void
stop_daemon(void)
{
	int status;

	if (daemon_pid <= 0)
		return;
	kill(daemon_pid, SIGTERM);
	if (waitpid(daemon_pid, &status, 0) == daemon_pid &&
	    !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		fprintf(stderr, "pathway: tremplind ended with status %d\n", status);
	daemon_pid = -1;
}

static void __attribute__((noreturn)) die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("pathway: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	stop_daemon();
	exit(1);
}

/* ---- HTTP/1.1 over the Unix socket, blocking, keep-alive ---- */

static int
conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	tr_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

/* One request and its whole answer; 0, or -1 when the connection failed. */
static int
conn_get(struct conn *c, const char *target)
{
	char req[512];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", target);
	size_t head = 0, want = 0;

	for (int off = 0; off < n;) {
		ssize_t w = write(c->fd, req + off, (size_t)(n - off));
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (int)w;
	}
	c->len = 0;
	for (;;) {
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 1 << 20;
			if ((c->buf = realloc(c->buf, c->cap)) == NULL)
				fatal("realloc");
		}
		ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
		c->buf[c->len] = '\0';
		if (head == 0) {
			char *end = strstr(c->buf, "\r\n\r\n"), *cl;
			if (end == NULL)
				continue;
			head = (size_t)(end - c->buf) + 4;
			if ((cl = strcasestr(c->buf, "\r\nContent-Length:")) == NULL || cl > end)
				return -1; /* evhttp sends a length for these answers */
			want = head + strtoul(cl + 17, NULL, 10);
			c->status = atoi(c->buf + 9);
		}
		if (c->len >= want) {
			c->body = c->buf + head;
			c->bodylen = want - head;
			return 0;
		}
	}
}

/* ---- the daemon ---- */

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) == EOF)
		die("%s: %s", path, strerror(errno));
}

static void
start_daemon(const char *tremplind, const char *sock, int cpu)
{
	char conf[1024], text[4096], logpath[1024], sub[1024];
	struct conn c = { .fd = -1 };

	snprintf(sub, sizeof(sub), "%s/plugins", dir);
	mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/lua", dir);
	mkdir(sub, 0700);
	snprintf(conf, sizeof(conf), "%s/bench.conf", dir);
	snprintf(text, sizeof(text),
	    "socket = \"%s\"\n"
	    "database = \"%s/tremplin.db\"\n"
	    "audit_database = \"%s/audit.sqlite\"\n"
	    "plugin_dir = \"%s/plugins\"\n"
	    "script_dir = \"%s/lua\"\n"
	    "log_level = \"warning\"\n"
	    "retention_days = 36500\n"
	    "staff = { }\n",
	    sock, dir, dir, dir, dir);
	write_file(conf, text);
	snprintf(logpath, sizeof(logpath), "%s/tremplind.log", dir);
	if ((daemon_pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (daemon_pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd != -1) {
			dup2(fd, 2);
			close(fd);
		}
		if (cpu >= 0) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		execl(tremplind, tremplind, "-d", "-f", conf, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", tremplind, strerror(errno));
		_exit(127);
	}
	for (int i = 0; i < 400; i++) {
		int status;
		if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
			daemon_pid = -1;
			die("tremplind did not start; see %s", logpath);
		}
		if (conn_open(&c, sock) == 0) {
			int ok = conn_get(&c, "/v1/health") == 0 && c.status == 200;
			close(c.fd);
			free(c.buf);
			if (ok)
				return;
			die("tremplind answers /v1/health with %d; see %s", c.status, logpath);
		}
		usleep(50000);
	}
	die("tremplind did not open %s in 20 s; see %s", sock, logpath);
}

/* ---- the two sides ---- */

struct run {
	const int64_t *ids; /* the files read one by one */
	int nids, gets, pages, warmup;
	struct samples get_api, page_api, get_raw, page_raw;
	long audit_rows;
};

static void
api_side(struct run *r, const char *sock, int round)
{
	struct conn c = { .fd = -1 };
	char target[256], cursor[64] = "";

	if (conn_open(&c, sock) == -1)
		die("connect %s: %s", sock, strerror(errno));
	for (int i = -r->warmup; i < r->gets; i++) {
		int64_t id = r->ids[(unsigned)(i + r->warmup + round * 7919) % (unsigned)r->nids];
		snprintf(target, sizeof(target), "/v1/employees/%" PRId64, id);
		double t0 = now_us();
		if (conn_get(&c, target) == -1)
			die("GET %s: connection lost", target);
		double t1 = now_us();
		if (c.status != 200)
			die("GET %s: %d %.*s", target, c.status, (int)c.bodylen, c.body);
		if (i >= 0)
			sample_add(&r->get_api, t1 - t0);
		if (trace != NULL && i >= 0)
			fprintf(trace, "get %d %" PRId64 " %.0f\n", round, id, t1 - t0);
	}
	for (int i = -r->warmup / 10; i < r->pages; i++) {
		snprintf(target, sizeof(target), "/v1/employees?limit=%d%s%s", PAGE,
		    cursor[0] ? "&cursor=" : "", cursor);
		double t0 = now_us();
		if (conn_get(&c, target) == -1)
			die("GET %s: connection lost", target);
		double t1 = now_us();
		if (c.status != 200)
			die("GET %s: %d %.*s", target, c.status, (int)c.bodylen, c.body);
		if (i >= 0)
			sample_add(&r->page_api, t1 - t0);
		if (trace != NULL && i >= 0)
			fprintf(
			    trace, "page %d %s %.0f\n", round, cursor[0] ? cursor : "-", t1 - t0);
		/* Outside the clock: where the next page starts. */
		json_t *o = json_loadb(c.body, c.bodylen, 0, NULL);
		const char *next = json_string_value(json_object_get(o, "next_cursor"));
		if (o == NULL || json_array_size(json_object_get(o, "items")) == 0)
			die("GET %s: no items", target);
		tr_strlcpy(cursor, next ? next : "", sizeof(cursor));
		json_decref(o);
	}
	close(c.fd);
	free(c.buf);
}

/* Fetch every column of the current row, as the daemon's row loader does. */
static void
fetch_row(sqlite3_stmt *st)
{
	for (int k = 0; k < sqlite3_column_count(st); k++)
		if (sqlite3_column_type(st, k) == SQLITE_TEXT)
			(void)sqlite3_column_text(st, k);
		else
			(void)sqlite3_column_int64(st, k);
}

static void
raw_side(struct run *r, sqlite3 *h, int round)
{
	static const char get_sql[] = "SELECT " COLUMNS " FROM employees WHERE id = ?";
	static const char page_sql[] =
	    "SELECT " COLUMNS " FROM employees WHERE id > ? ORDER BY id LIMIT "
	    "100";
	sqlite3_stmt *get, *page;
	int64_t after = 0;

	if (sqlite3_prepare_v2(h, get_sql, -1, &get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h, page_sql, -1, &page, NULL) != SQLITE_OK)
		die("prepare: %s", sqlite3_errmsg(h));
	for (int i = -r->warmup; i < r->gets; i++) {
		int64_t id = r->ids[(unsigned)(i + r->warmup + round * 7919) % (unsigned)r->nids];
		double t0 = now_us();
		sqlite3_bind_int64(get, 1, id);
		if (sqlite3_step(get) != SQLITE_ROW)
			die("employee %" PRId64 ": %s", id, sqlite3_errmsg(h));
		fetch_row(get);
		sqlite3_reset(get);
		double t1 = now_us();
		if (i >= 0)
			sample_add(&r->get_raw, t1 - t0);
	}
	for (int i = -r->warmup / 10; i < r->pages; i++) {
		int n = 0, rc;
		double t0 = now_us();
		sqlite3_bind_int64(page, 1, after);
		while ((rc = sqlite3_step(page)) == SQLITE_ROW) {
			fetch_row(page);
			after = sqlite3_column_int64(page, 0);
			n++;
		}
		sqlite3_reset(page);
		double t1 = now_us();
		if (rc != SQLITE_DONE)
			die("page: %s", sqlite3_errmsg(h));
		if (i >= 0)
			sample_add(&r->page_raw, t1 - t0);
		if (n < PAGE)
			after = 0; /* the end of the list: start over, as the API side does */
	}
	sqlite3_finalize(get);
	sqlite3_finalize(page);
}

static long
scalar(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st;
	long v = -1;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: pathway -t tremplind -d dir [-n employees] [-y years] [-s seed]"
	    " [-g gets] [-p pages] [-r rounds] [-w warmup] [-c daemon_cpu] [-o trace]\n");
	exit(2);
}

static int
arg(const char *s, int lo, int hi)
{
	int64_t v;

	if (tr_parse_i64(s, lo, hi, &v) == -1)
		usage();
	return (int)v;
}

static void
row(const char *what, struct samples *api, struct samples *raw)
{
	double a50 = quantile(api, 0.5), a99 = quantile(api, 0.99);
	double r50 = quantile(raw, 0.5), r99 = quantile(raw, 0.99);
	char a[32], b[32];

	snprintf(a, sizeof(a), "%.0f/%.0f us", a50, a99);
	snprintf(b, sizeof(b), "%.1f/%.1f us", r50, r99);
	printf("%-30s %8d  %-20s %-20s %6.0f/%.0f\n", what, api->n, a, b, r50 > 0 ? a50 / r50 : 0,
	    r99 > 0 ? a99 / r99 : 0);
}

int
main(int argc, char **argv)
{
	const char *tremplind = NULL;
	int employees = 10000, years = 3, rounds = 3, cpu = -1, c;
	uint64_t seed = 1;
	struct run r = { .gets = 3000, .pages = 1000, .warmup = 300 };
	char db[1024], sock[108], err[1024], user[64];
	struct passwd *pw = getpwuid(geteuid());
	struct demo_counts n;
	sqlite3 *h;

	while ((c = getopt(argc, argv, "c:d:g:n:o:p:r:s:t:w:y:")) != -1) {
		switch (c) {
		case 'o':
			if ((trace = fopen(optarg, "w")) == NULL)
				die("%s: %s", optarg, strerror(errno));
			break;
		case 'c':
			cpu = arg(optarg, 0, 1023);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'g':
			r.gets = arg(optarg, 1, 10000000);
			break;
		case 'n':
			employees = arg(optarg, 100, 1000000);
			break;
		case 'p':
			r.pages = arg(optarg, 1, 10000000);
			break;
		case 'r':
			rounds = arg(optarg, 1, 100);
			break;
		case 's':
			seed = (uint64_t)arg(optarg, 0, INT32_MAX);
			break;
		case 't':
			tremplind = optarg;
			break;
		case 'w':
			r.warmup = arg(optarg, 0, 100000);
			break;
		case 'y':
			years = arg(optarg, 1, 10);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || tremplind == NULL || dir == NULL || pw == NULL)
		usage();
	log_init(1, LOG_LEVEL_WARNING);
	signal(SIGPIPE, SIG_IGN);
	tr_strlcpy(user, pw->pw_name, sizeof(user));
	snprintf(db, sizeof(db), "%s/tremplin.db", dir);
	if (snprintf(sock, sizeof(sock), "%s/tremplin.sock", dir) >= (int)sizeof(sock))
		die("%s: too long for a socket path", dir);

	/* The data, as `tremplinctl demo --employees N --years Y --seed S --as cip` writes it. */
	struct demo_as as = { "cip", user };
	struct demo_options o = { .database = db,
		.employees = employees,
		.years = years,
		.seed = seed,
		.as = &as,
		.nas = 1 };
	double t0 = now_us();
	if (demo_create(&o, &n, err, sizeof(err)) == -1)
		die("%s", err);
	double gen = (now_us() - t0) / 1e6;
	struct stat sb;
	stat(db, &sb);

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die("%s: %s", db, sqlite3_errmsg(h));
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h,
	        "SELECT e.id FROM employees e JOIN staff s ON s.id = e.referent_cip_id"
	        " WHERE s.unix_user = ? ORDER BY e.id",
	        -1, &st, NULL) != SQLITE_OK)
		die("%s", sqlite3_errmsg(h));
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	int64_t *ids = NULL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if ((ids = realloc(ids, (size_t)(r.nids + 1) * sizeof(*ids))) == NULL)
			fatal("realloc");
		ids[r.nids++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (r.nids == 0)
		die("the demo's CIP (%s) is nobody's referent", user);
	/* A fixed shuffle: the same reads in every round and on both sides. */
	uint64_t s = 0x9e3779b97f4a7c15ULL ^ seed;
	for (int i = r.nids - 1; i > 0; i--) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		int j = (int)(s % (uint64_t)(i + 1));
		int64_t t = ids[i];
		ids[i] = ids[j];
		ids[j] = t;
	}
	r.ids = ids;

	start_daemon(tremplind, sock, cpu);
	if (cpu >= 0) {
		/* The load on another CPU than the daemon's, when there is one. */
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu == 0 ? 1 : 0, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}

	printf("SQLite %s, jansson %s; tremplind %s\n", sqlite3_libversion(), JANSSON_VERSION,
	    tremplind);
	printf("data: %ld employees over %d years (seed %" PRIu64 "), written in %.1f s, %.0f MiB:"
	       " %ld staff, %ld contracts, %ld renewals,\n"
	       "      %ld welcome items, %ld barriers, %ld observations, %ld goals, %ld reviews,"
	       " %ld notes, %ld exits\n",
	    n.employees, years, seed, gen, (double)sb.st_size / (1 << 20), n.staff, n.contracts,
	    n.renewals, n.welcome, n.barriers, n.observations, n.goals, n.reviews, n.notes,
	    n.exits);
	printf("reads as the demo's CIP (Unix user %s), referent of %d of them; one connection,"
	       " one request at a time;\n"
	       "per round and side: %d gets and %d pages after %d and %d warm-up; %d rounds,"
	       " alternating which side goes first\n",
	    user, r.nids, r.gets, r.pages, r.warmup, r.warmup / 10, rounds);
	for (int k = 0; k < rounds; k++) {
		if (k % 2 == 0)
			api_side(&r, sock, k);
		raw_side(&r, h, k);
		if (k % 2 == 1)
			api_side(&r, sock, k);
	}
	/* What the reads left in the audit log (employee rows carry no audited category). */
	char audit[1100];
	sqlite3 *ah;
	snprintf(audit, sizeof(audit), "%s/audit.sqlite", dir);
	if (sqlite3_open_v2(audit, &ah, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
		r.audit_rows = scalar(ah, "SELECT count(*) FROM audit_log");
	sqlite3_close(ah);
	stop_daemon();
	sqlite3_close(h);

	printf("\n%-30s %8s  %-20s %-20s %s\n", "operation", "requests", "tremplind p50/p99",
	    "bare SQLite p50/p99", "ratio p50/p99");
	row("GET /v1/employees/{id}", &r.get_api, &r.get_raw);
	row("GET /v1/employees?limit=100", &r.page_api, &r.page_raw);
	printf("\naim: p99 under 5 ms for a get (%s), under 20 ms for a page (%s); audit entries"
	       " written: %ld\n",
	    quantile(&r.get_api, 0.99) < 5000 ? "met" : "missed",
	    quantile(&r.page_api, 0.99) < 20000 ? "met" : "missed", r.audit_rows);
	if (trace != NULL)
		fclose(trace);
	free(ids);
	free(r.get_api.v);
	free(r.page_api.v);
	free(r.get_raw.v);
	free(r.page_raw.v);
	return 0;
}
