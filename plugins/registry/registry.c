/*
 * registry: keeps Tremplin in step with les emplois de l'inclusion (the
 * national platform) without double entry and without overwriting anyone.
 *
 * A run fetches the structure's employee records (fiches salarié),
 * incrementally (since= the day of the last success), following the
 * platform's absolute `next` URLs to the end, politely (client-side limits
 * below the platform's, its Retry-After honoured, backoff with jitter on
 * 5xx and timeouts). Each record is matched to a person on (SIRET, PASS IAE
 * number):
 *   - matched: each field the platform says otherwise (names, birth date,
 *     prescriber, PASS dates) becomes a proposal, a record of the person's
 *     that a CIP accepts (an ordinary write through the person's or the
 *     PASS's own rules, audited and journaled) or rejects, field by field;
 *     never a silent overwrite, never the same proposal twice;
 *   - unmatched: a new file with status "candidate" (to review), never an
 *     active one, and its PASS.
 * A page is written in one transaction with where the next one starts, so a
 * run that stops midway (the registry down, the daemon killed) resumes at
 * the next run from the page after the last one written, without
 * duplicates. Every run is journaled (registry.run.finished, counts only).
 *
 * The layout: registry.c (this: configuration, the run, the routes),
 * sync.c/.h (pure rules: dates, codes, rate limits, backoff),
 * migrations.c/.h, registry.conf (the commented section), README.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <tremplin/plugin.h>

#include "ft.h"
#include "migrations.h"
#include "sync.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_SIRETS 32
#define DEFAULT_BASE "https://emplois.inclusion.beta.gouv.fr/api/v1/"
/*
 * The platform's changelog of 2026-07-09: salarieLangueFrancaise's meaning is
 * inverted to the ASP's with this header, and the inversion is definitive
 * between 01/11 and 15/11/2026 whatever the header. Asking for it always, the
 * value has one meaning before, during and after the switch.
 */
#define FRENCH_HEADER "X-API-salarieLangueFrancaise-like-asp"
#define FRENCH_MEANING "asp"

struct conf {
	char base_url[512];
	char token[256];
	char sirets[MAX_SIRETS][15];
	size_t nsirets;
	char status_filter[32];
	long long interval_s, jitter_s;
	int rate_er, rate_all; /* per window */
	long long window_ms;
	long long timeout_ms;
	int max_attempts;
	long long backoff_ms, backoff_cap_ms;
	int quiet_from, quiet_to; /* minutes of the local day; equal: no quiet window */
	int configured;
};

struct registry {
	const struct tremplin_host *host;
	struct tremplin_plugin *self;
	struct conf c;
	struct ft *ft;
	int started;

	/* The run in progress (one at a time). */
	int running;
	int64_t run_id;
	char url[2048];
	char since[11]; /* what this pagination asks since= (empty: everything) */
	char run_day[11]; /* the day the pagination began: the next since on success */
	int attempts; /* failures in a row on the current page */
	int throttled_in_row; /* 429s in a row */
	int restarted; /* the pagination was restarted once (a page vanished) */
	int64_t timer; /* a pending wait (rate limit, Retry-After, backoff) */
	int64_t retry_until_ms; /* a Retry-After in force */
	int64_t next_due_ms;
	int64_t quiet_timer; /* the scheduled run that waits for the quiet window's end */
	int64_t last_sched_ms; /* when the last scheduled run started */
	struct reg_rate rate_all, rate_er;
	json_t *structures; /* siret -> structure id */
	json_t *passes; /* "<structure_id>|<number>" -> {pass_id, employee_id} */
	struct counts {
		long long requests, pages, fetched, matched, created, proposed, skipped, flagged,
		    errors, throttled, retries, notifications;
	} n;
	char last_error[256];
};

static void send_page(int64_t now, void *arg);

/* ---- small helpers ---- */

static void
stamp(int64_t ms, char out[21])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
day_of(int64_t ms, char out[11])
{
	reg_day_text(ms / 86400000, out);
}

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ---- configuration ---- */

static int
int_setting(json_t *v, const char *key, long long lo, long long hi, long long *out, char *err,
    size_t errlen)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		snprintf(err, errlen, "%s: expected an integer from %lld to %lld", key, lo, hi);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int
registry_config(void *ctx, json_t *section, char *err, size_t errlen)
{
	struct registry *x = ctx;
	struct conf c;
	const char *key;
	json_t *v, *ft_section = NULL;
	long long n;
	int jitter_set = 0;

	memset(&c, 0, sizeof(c));
	snprintf(c.base_url, sizeof(c.base_url), "%s", DEFAULT_BASE);
	c.interval_s = 3600;
	c.rate_er = 60;
	c.rate_all = 120;
	c.window_ms = 60000;
	c.timeout_ms = 30000;
	c.max_attempts = 5;
	c.backoff_ms = 2000;
	c.backoff_cap_ms = 300000;
	json_object_foreach (section, key, v) {
		if (strcmp(key, "base_url") == 0) {
			const char *s = json_string_value(v);
			size_t len = s ? strlen(s) : 0;
			if (s == NULL || strncmp(s, "https://", 8) != 0 || len < 9 ||
			    s[len - 1] != '/' || len >= sizeof(c.base_url)) {
				snprintf(err, errlen,
				    "base_url: expected an https:// URL ending with /api/v1/ (a "
				    "/)");
				return -1;
			}
			snprintf(c.base_url, sizeof(c.base_url), "%s", s);
		} else if (strcmp(key, "token_file") == 0) {
			if (!json_is_string(v)) {
				snprintf(err, errlen, "token_file: expected a path");
				return -1;
			}
			if (reg_read_secret(json_string_value(v), "token_file", c.token,
			        sizeof(c.token), err, errlen) == -1)
				return -1;
		} else if (strcmp(key, "sirets") == 0) {
			size_t i;
			json_t *s;
			if (!json_is_array(v) || json_array_size(v) > MAX_SIRETS) {
				snprintf(err, errlen,
				    "sirets: expected a list of at most %d SIRETs", MAX_SIRETS);
				return -1;
			}
			json_array_foreach (v, i, s) {
				const char *why = json_is_string(s)
				    ? x->host->valid_siret(json_string_value(s))
				    : "expected a string";
				if (why != NULL) {
					snprintf(err, errlen, "sirets[%zu]: %s", i + 1, why);
					return -1;
				}
				snprintf(
				    c.sirets[i], sizeof(c.sirets[i]), "%s", json_string_value(s));
			}
			c.nsirets = json_array_size(v);
		} else if (strcmp(key, "status") == 0) {
			const char *s = json_string_value(v);
			size_t len = s ? strlen(s) : 0;
			if (s == NULL || len == 0 || len >= sizeof(c.status_filter) ||
			    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != len) {
				snprintf(err, errlen,
				    "status: expected a status of the platform "
				    "(capitals and _, as PROCESSED)");
				return -1;
			}
			snprintf(c.status_filter, sizeof(c.status_filter), "%s", s);
		} else if (strcmp(key, "interval") == 0) {
			if (int_setting(v, key, 60, 7 * 86400, &c.interval_s, err, errlen) == -1)
				return -1;
		} else if (strcmp(key, "jitter") == 0) {
			if (int_setting(v, key, 0, 86400, &c.jitter_s, err, errlen) == -1)
				return -1;
			jitter_set = 1;
		} else if (strcmp(key, "rate_employee_records") == 0) {
			if (int_setting(v, key, 1, 60, &n, err, errlen) == -1)
				return -1;
			c.rate_er = (int)n;
		} else if (strcmp(key, "rate_overall") == 0) {
			if (int_setting(v, key, 1, 120, &n, err, errlen) == -1)
				return -1;
			c.rate_all = (int)n;
		} else if (strcmp(key, "rate_window") == 0) {
			/* Seconds; the platform counts per minute: a shorter window is stricter. */
			if (int_setting(v, key, 1, 60, &n, err, errlen) == -1)
				return -1;
			c.window_ms = n * 1000;
		} else if (strcmp(key, "timeout") == 0) {
			if (int_setting(v, key, 1, 300, &n, err, errlen) == -1)
				return -1;
			c.timeout_ms = n * 1000;
		} else if (strcmp(key, "max_attempts") == 0) {
			if (int_setting(v, key, 1, 20, &n, err, errlen) == -1)
				return -1;
			c.max_attempts = (int)n;
		} else if (strcmp(key, "backoff_ms") == 0) {
			if (int_setting(v, key, 10, 600000, &c.backoff_ms, err, errlen) == -1)
				return -1;
		} else if (strcmp(key, "quiet_hours") == 0) {
			int h1, m1, h2, m2, end = 0;
			const char *s = json_string_value(v);
			if (s == NULL ||
			    sscanf(s, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2, &m2, &end) != 4 ||
			    (size_t)end != strlen(s) || h1 < 0 || h1 > 23 || h2 < 0 || h2 > 23 ||
			    m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59 ||
			    h1 * 60 + m1 == h2 * 60 + m2) {
				snprintf(err, errlen,
				    "quiet_hours: expected HH:MM-HH:MM, two different times of the "
				    "daemon's local day (22:00-06:00)");
				return -1;
			}
			c.quiet_from = h1 * 60 + m1;
			c.quiet_to = h2 * 60 + m2;
		} else if (strcmp(key, "france_travail") == 0) {
			ft_section = v; /* taken once the rest is good */
		} else {
			snprintf(err, errlen, "%s: unknown setting", key);
			return -1;
		}
	}
	if (!jitter_set)
		c.jitter_s = c.interval_s / 10;
	if (c.jitter_s > c.interval_s) {
		snprintf(err, errlen, "jitter: at most the interval");
		return -1;
	}
	if (c.rate_er > c.rate_all)
		c.rate_er = c.rate_all;
	/* Loaded but idle until it knows whom to ask and with which token. */
	c.configured = c.token[0] != '\0' && c.nsirets > 0;
	if ((c.token[0] != '\0') != (c.nsirets > 0)) {
		snprintf(err, errlen, "%s: needed with %s", c.nsirets > 0 ? "token_file" : "sirets",
		    c.nsirets > 0 ? "sirets" : "token_file");
		return -1;
	}
	if (ft_config(x->ft, ft_section, err, errlen) != 0)
		return -1;
	if (x->running) {
		/* A reload during a run: the run goes on with what it started with. */
		x->host->log(x->self, TREMPLIN_LOG_INFO, "configuration taken for the next run");
	}
	x->c = c;
	return 0;
}

/* ---- runs ---- */

static int
exec_sql(struct registry *x, const char *sql)
{
	sqlite3_stmt *st = x->host->stmt(x->self, sql);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	x->host->stmt_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static json_t *
counts_json(const struct counts *n)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "requests",
	    (json_int_t)n->requests, "pages", (json_int_t)n->pages, "fetched",
	    (json_int_t)n->fetched, "matched", (json_int_t)n->matched, "created",
	    (json_int_t)n->created, "proposed", (json_int_t)n->proposed, "skipped",
	    (json_int_t)n->skipped, "flagged", (json_int_t)n->flagged, "errors",
	    (json_int_t)n->errors, "throttled", (json_int_t)n->throttled, "retries",
	    (json_int_t)n->retries, "notifications", (json_int_t)n->notifications);
}

/* The run's row, in the caller's transaction when one is open. */
static int
save_run(struct registry *x, const char *status, int finished)
{
	static const char sql[] =
	    "UPDATE registry_runs SET status = ?2, requests = ?3, pages = ?4, fetched = ?5,"
	    " matched = ?6, created = ?7, proposed = ?8, skipped = ?9, flagged = ?10, errors = ?11,"
	    " throttled = ?12, retries = ?13, last_error = ?14, notifications = ?17,"
	    " finished_at = CASE WHEN ?15 THEN ?16 ELSE finished_at END WHERE id = ?1";
	sqlite3_stmt *st = x->host->stmt(x->self, sql);
	const struct counts *n = &x->n;
	char now[21];
	int rc;

	if (st == NULL)
		return -1;
	stamp(x->host->now_ms(x->self), now);
	sqlite3_bind_int64(st, 1, x->run_id);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n->requests);
	sqlite3_bind_int64(st, 4, n->pages);
	sqlite3_bind_int64(st, 5, n->fetched);
	sqlite3_bind_int64(st, 6, n->matched);
	sqlite3_bind_int64(st, 7, n->created);
	sqlite3_bind_int64(st, 8, n->proposed);
	sqlite3_bind_int64(st, 9, n->skipped);
	sqlite3_bind_int64(st, 10, n->flagged);
	sqlite3_bind_int64(st, 11, n->errors);
	sqlite3_bind_int64(st, 12, n->throttled);
	sqlite3_bind_int64(st, 13, n->retries);
	sqlite3_bind_int64(st, 17, n->notifications);
	if (x->last_error[0] != '\0')
		sqlite3_bind_text(st, 14, x->last_error, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 14);
	sqlite3_bind_int(st, 15, finished);
	sqlite3_bind_text(st, 16, now, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	x->host->stmt_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void
run_end(struct registry *x, int ok)
{
	const char *status = ok ? "ok" : "failed";
	json_t *payload;

	if (x->timer > 0)
		x->host->cancel(x->self, x->timer);
	x->timer = 0;
	if (x->host->begin(x->self) == 0) {
		int rc = save_run(x, status, 1);
		if (rc == 0 && ok) {
			static const char sql[] =
			    "UPDATE registry_state SET since = ?1, cursor_url = NULL,"
			    " cursor_since = NULL, last_success_at = ?2 WHERE id = 1";
			sqlite3_stmt *st = x->host->stmt(x->self, sql);
			char now[21];
			stamp(x->host->now_ms(x->self), now);
			rc = -1;
			if (st != NULL) {
				sqlite3_bind_text(st, 1, x->run_day, -1, SQLITE_TRANSIENT);
				sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
				rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
				x->host->stmt_done(st);
			}
		}
		/* Counts only: the journal holds no personal data. */
		payload = counts_json(&x->n);
		json_object_set_new(payload, "run_id", json_integer(x->run_id));
		json_object_set_new(payload, "status", json_string(status));
		if (rc == 0)
			rc = x->host->publish(
			    x->self, NULL, "registry.run.finished", "registry/runs", payload);
		else
			json_decref(payload);
		if (rc == 0)
			rc = x->host->commit(x->self);
		if (rc != 0)
			x->host->rollback(x->self);
	}
	x->host->log(x->self, ok ? TREMPLIN_LOG_INFO : TREMPLIN_LOG_WARNING,
	    "run %lld %s: %lld requests, %lld fetched, %lld matched, %lld created, %lld proposed,"
	    " %lld errors%s%s",
	    (long long)x->run_id, status, x->n.requests, x->n.fetched, x->n.matched, x->n.created,
	    x->n.proposed, x->n.errors, x->last_error[0] ? ": " : "", x->last_error);
	json_decref(x->structures);
	json_decref(x->passes);
	x->structures = x->passes = NULL;
	x->running = 0;
	/* France Travail's fiches after each run, whatever the platform did. */
	if (ft_configured(x->ft))
		ft_run(x->ft);
}

static void run_fail(struct registry *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
run_fail(struct registry *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->last_error, sizeof(x->last_error), fmt, ap);
	va_end(ap);
	x->n.errors++;
	run_end(x, 0);
}

/* The structures and PASS numbers known now, as maps: matching reads no table. */
static int
load_maps(struct registry *x, char *err, size_t errlen)
{
	json_t *rows = NULL, *row;
	size_t i;
	char key[96];

	x->structures = json_object();
	x->passes = json_object();
	if (x->host->view(x->self, NULL, "structures.v1", NULL, &rows, err, errlen) != 0)
		return -1;
	json_array_foreach (rows, i, row)
		if (jstr(row, "siret") != NULL)
			json_object_set(
			    x->structures, jstr(row, "siret"), json_object_get(row, "id"));
	json_decref(rows);
	if (x->host->view(x->self, NULL, "pass_numbers.v1", NULL, &rows, err, errlen) != 0)
		return -1;
	json_array_foreach (rows, i, row) {
		snprintf(key, sizeof(key), "%lld|%s",
		    (long long)json_integer_value(json_object_get(row, "structure_id")),
		    jstr(row, "number") ? jstr(row, "number") : "");
		json_object_set_new(x->passes, key,
		    json_pack("{s:O, s:O}", "pass_id", json_object_get(row, "pass_id"),
		        "employee_id", json_object_get(row, "employee_id")));
	}
	json_decref(rows);
	return 0;
}

/*
 * A run reads two lists in turn: the employee records, then the
 * notifications of changes to them (a PASS's dates). The URL tells which.
 */
enum { PHASE_RECORDS = 0, PHASE_NOTIFICATIONS = 1 };
static const char *const endpoints[] = { "employee-records/", "employee-record-notifications/" };

static int
phase_of(const char *url)
{
	return strstr(url, endpoints[PHASE_NOTIFICATIONS]) != NULL ? PHASE_NOTIFICATIONS
	                                                           : PHASE_RECORDS;
}

/* The first page of a list: since= the last success's day, the status filter for records. */
static void
first_url(struct registry *x, int phase, char *out, size_t outlen)
{
	int len = snprintf(out, outlen, "%s%s?", x->c.base_url, endpoints[phase]);

	if (x->since[0] != '\0' && len > 0 && (size_t)len < outlen)
		len += snprintf(out + len, outlen - (size_t)len, "since=%s&", x->since);
	if (phase == PHASE_RECORDS && x->c.status_filter[0] != '\0' && len > 0 &&
	    (size_t)len < outlen)
		len += snprintf(out + len, outlen - (size_t)len, "status=%s&", x->c.status_filter);
	if (len > 0 && (size_t)len < outlen)
		out[len - 1] = '\0'; /* the last ? or & */
}

/* Start a run; -1 with why when one runs already or it cannot start. */
static int
run_start(struct registry *x, const char *trigger, char *why, size_t whylen)
{
	static const char state_sql[] =
	    "SELECT since, cursor_url, cursor_since FROM registry_state WHERE id = 1";
	static const char ins_sql[] =
	    "INSERT INTO registry_runs (trigger, started_at, status, since, resumed)"
	    " VALUES (?1, ?2, 'running', ?3, ?4)";
	sqlite3_stmt *st;
	char now[21], err[256];
	int64_t t = x->host->now_ms(x->self);
	int resumed = 0;

	if (!x->c.configured) {
		snprintf(why, whylen, "the registry plugin is not configured (token_file, sirets)");
		return -1;
	}
	if (x->running) {
		snprintf(why, whylen, "a sync is running (run %lld)", (long long)x->run_id);
		return -1;
	}
	memset(&x->n, 0, sizeof(x->n));
	x->last_error[0] = '\0';
	x->attempts = 0;
	x->throttled_in_row = 0;
	x->restarted = 0;
	x->since[0] = '\0';
	day_of(t, x->run_day);
	x->url[0] = '\0';
	if ((st = x->host->stmt(x->self, state_sql)) == NULL || sqlite3_step(st) != SQLITE_ROW) {
		x->host->stmt_done(st);
		snprintf(why, whylen, "cannot read the sync's state");
		return -1;
	}
	if (sqlite3_column_text(st, 1) != NULL && sqlite3_column_text(st, 2) != NULL) {
		/*
		 * A run stopped midway: go on from the page after the last one
		 * written, and on success ask next time since the day that
		 * pagination began (what changed since is not lost).
		 */
		snprintf(x->url, sizeof(x->url), "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(
		    x->run_day, sizeof(x->run_day), "%s", (const char *)sqlite3_column_text(st, 2));
		resumed = 1;
	}
	if (sqlite3_column_text(st, 0) != NULL)
		snprintf(
		    x->since, sizeof(x->since), "%s", (const char *)sqlite3_column_text(st, 0));
	x->host->stmt_done(st);
	if (!resumed)
		first_url(x, PHASE_RECORDS, x->url, sizeof(x->url));
	if (load_maps(x, err, sizeof(err)) != 0) {
		json_decref(x->structures);
		json_decref(x->passes);
		x->structures = x->passes = NULL;
		snprintf(why, whylen, "cannot read the PASS numbers: %s", err);
		return -1;
	}
	stamp(t, now);
	if ((st = x->host->stmt(x->self, ins_sql)) == NULL) {
		snprintf(why, whylen, "cannot record the run");
		goto fail;
	}
	sqlite3_bind_text(st, 1, trigger, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
	if (x->since[0] != '\0')
		sqlite3_bind_text(st, 3, x->since, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int(st, 4, resumed);
	if (sqlite3_step(st) != SQLITE_DONE) {
		x->host->stmt_done(st);
		snprintf(why, whylen, "cannot record the run");
		goto fail;
	}
	x->host->stmt_done(st);
	st = x->host->stmt(x->self, "SELECT max(id) FROM registry_runs");
	x->run_id = st != NULL && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	x->host->stmt_done(st);
	x->running = 1;
	x->host->log(x->self, TREMPLIN_LOG_INFO, "run %lld started (%s%s%s)", (long long)x->run_id,
	    trigger, resumed ? ", resuming" : "", x->since[0] ? ", since the last success" : "");
	send_page(t, x);
	return 0;
fail:
	json_decref(x->structures);
	json_decref(x->passes);
	x->structures = x->passes = NULL;
	return -1;
}

/* ---- one record ---- */

/* The newest proposal for target/field: whether this value was proposed already (any status). */
static int
proposed_before(struct registry *x, const char *target, int64_t target_id, const char *field,
    const char *value, int64_t *pending_other)
{
	static const char sql[] = "SELECT id, status, proposed_value FROM registry_proposals"
	                          " WHERE target = ?1 AND target_id = ?2 AND field = ?3";
	sqlite3_stmt *st = x->host->stmt(x->self, sql);
	int seen = 0;

	*pending_other = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, target_id);
	sqlite3_bind_text(st, 3, field, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 2);
		const char *s = (const char *)sqlite3_column_text(st, 1);
		if (v != NULL && strcmp(v, value) == 0)
			seen = 1;
		else if (s != NULL && strcmp(s, "pending") == 0)
			*pending_other = sqlite3_column_int64(st, 0);
	}
	x->host->stmt_done(st);
	return seen;
}

/*
 * A field the platform says otherwise: one proposal, once. A pending one
 * for an older value of the platform's is superseded. 0, or -1 on a store
 * error (the page is rolled back).
 */
static int
propose(struct registry *x, int64_t employee_id, const char *target, int64_t target_id,
    const char *field, const char *current, const char *value, int64_t *proposal_id)
{
	struct tremplin_error e;
	int64_t other, id;
	int seen = proposed_before(x, target, target_id, field, value, &other);
	json_t *obj;

	*proposal_id = 0;
	if (seen != 0)
		return seen < 0 ? -1 : 0;
	if (other > 0) {
		json_t *p = json_pack("{s:s}", "status", "superseded");
		int rc = x->host->record_update(x->self, NULL, "proposal", other, p, &e);
		json_decref(p);
		if (rc != 0)
			return -1;
	}
	obj = json_pack("{s:s, s:I, s:s, s:s, s:s?}", "target", target, "target_id",
	    (json_int_t)target_id, "field", field, "proposed_value", value, "current_value",
	    current);
	id = x->host->record_create(x->self, NULL, "proposal", employee_id, obj, &e);
	json_decref(obj);
	if (id <= 0) {
		x->host->log(x->self, TREMPLIN_LOG_WARNING, "cannot record a proposal on %s.%s: %s",
		    target, field, e.message);
		return -1;
	}
	*proposal_id = id;
	x->n.proposed++;
	return 0;
}

static int
flag_code(struct registry *x, const char *field, const char *code)
{
	static const char sql[] = "INSERT INTO registry_unknown_codes (field, code, seen, "
	                          "first_seen_at) VALUES (?1, ?2, 1,"
	                          " ?3) ON CONFLICT (field, code) DO UPDATE SET seen = seen + 1";
	sqlite3_stmt *st = x->host->stmt(x->self, sql);
	char now[21];
	int rc;

	if (st == NULL)
		return -1;
	stamp(x->host->now_ms(x->self), now);
	sqlite3_bind_text(st, 1, field, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, code, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	x->host->stmt_done(st);
	x->n.flagged++;
	return rc == SQLITE_DONE ? 0 : -1;
}

struct parsed {
	int pass_only; /* a notification: the PASS's dates alone */
	const char *siret, *number, *first, *last, *orienteur, *kind;
	char birth[11], start[11], end[11];
	char french[65]; /* salarieLangueFrancaise as sent (ASP meaning); empty: absent */
};

/* A field of a record in error: counted and said, without the person's data. */
static int record_error(struct registry *x, size_t index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
record_error(struct registry *x, size_t index, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(x->last_error, sizeof(x->last_error),
	    "page %lld, record %zu: ", x->n.pages + 1, index + 1);

	if (n > 0 && (size_t)n < sizeof(x->last_error)) {
		va_start(ap, fmt);
		vsnprintf(x->last_error + n, sizeof(x->last_error) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	x->n.errors++;
	return 0;
}

static int
parse_record(struct registry *x, json_t *rec, size_t index, int pass_only, struct parsed *p)
{
	static const char *const datefields[] = { "dateNaissance", "passDateDeb", "passDateFin" };
	json_t *pp = json_object_get(rec, "personnePhysique");
	json_t *sit = json_object_get(rec, "situationSalarie");
	char *dates[3] = { p->birth, p->start, p->end };
	const char *why;

	memset(p, 0, sizeof(*p));
	p->pass_only = pass_only;
	p->siret = jstr(rec, "siret");
	p->number = jstr(rec, "passIae");
	if (!json_is_object(pp) || p->siret == NULL || p->number == NULL) {
		record_error(x, index, "%s", "no siret, passIae or personnePhysique");
		return -1;
	}
	if ((why = reg_pass_number_check(p->number)) != NULL) {
		record_error(x, index, "passIae %s", why);
		return -1;
	}
	if (pass_only) {
		/* A notification of a PASS's change: its dates are what it says. */
		if (reg_date_parse(jstr(pp, "passDateDeb"), p->start) != 0 ||
		    reg_date_parse(jstr(pp, "passDateFin"), p->end) != 0) {
			record_error(
			    x, index, "%s", "passDateDeb or passDateFin is not a dd/mm/YYYY date");
			return -1;
		}
		return 0;
	}
	p->first = jstr(pp, "prenom");
	p->last = jstr(pp, "nomUsage");
	if (p->first == NULL || p->last == NULL || p->first[0] == '\0' || p->last[0] == '\0') {
		record_error(x, index, "%s", "no prenom or nomUsage");
		return -1;
	}
	for (size_t i = 0; i < NELEM(datefields); i++)
		if (reg_date_parse(jstr(pp, datefields[i]), dates[i]) != 0) {
			/* Never guessed: the record waits for the platform to be right. */
			record_error(x, index, "%s is not a dd/mm/YYYY date", datefields[i]);
			return -1;
		}
	p->orienteur = json_is_object(sit) ? jstr(sit, "orienteur") : NULL;
	/*
	 * Every request asks for the ASP's meaning (FRENCH_HEADER), the only one
	 * the platform gives from 15/11/2026: the value is kept as it is, with
	 * that meaning, never inverted here. Not a boolean: kept verbatim, flagged.
	 */
	json_t *fr = json_is_object(sit) ? json_object_get(sit, "salarieLangueFrancaise") : NULL;
	if (json_is_boolean(fr))
		snprintf(p->french, sizeof(p->french), "%s", json_is_true(fr) ? "true" : "false");
	else if (json_is_string(fr) || json_is_number(fr)) {
		char *t = json_is_string(fr) ? strdup(json_string_value(fr))
		                             : json_dumps(fr, JSON_ENCODE_ANY);
		if (t != NULL && t[0] != '\0' && strlen(t) < sizeof(p->french))
			snprintf(p->french, sizeof(p->french), "%s", t);
		else
			snprintf(p->french, sizeof(p->french), "%s", "(too long)");
		free(t);
		if (flag_code(x, "salarieLangueFrancaise", p->french) != 0)
			return -2;
	}
	p->kind = reg_prescriber_kind(p->orienteur);
	if (p->orienteur != NULL && p->kind == NULL && flag_code(x, "orienteur", p->orienteur) != 0)
		return -2;
	return 0;
}

static int
configured_siret(struct registry *x, const char *siret)
{
	for (size_t i = 0; i < x->c.nsirets; i++)
		if (strcmp(x->c.sirets[i], siret) == 0)
			return 1;
	return 0;
}

/* Whom the plugin created before for this (SIRET, PASS): from its own links. */
static int64_t
linked(struct registry *x, const char *siret, const char *number, int64_t *pass_id)
{
	static const char sql[] = "SELECT employee_id, pass_id FROM registry_links"
	                          " WHERE siret = ?1 AND pass_number = ?2";
	sqlite3_stmt *st = x->host->stmt(x->self, sql);
	int64_t id = 0;

	*pass_id = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, siret, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, number, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		*pass_id = sqlite3_column_int64(st, 1);
	}
	x->host->stmt_done(st);
	return id;
}

/* The names compare without case: the platform writes them in capitals. */
static int
same_name(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

/*
 * A platform value Tremplin has no field for: one row per person and field,
 * created or changed through the declared record (journal, audit, erasure).
 */
static int
keep_value(struct registry *x, int64_t employee_id, const char *field, const char *value,
    const char *meaning)
{
	static const char sql[] = "SELECT id, value, meaning FROM registry_platform_values"
	                          " WHERE employee_id = ?1 AND field = ?2";
	sqlite3_stmt *st = x->host->stmt(x->self, sql);
	struct tremplin_error e;
	int64_t id = 0;
	int same = 0, rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, employee_id);
	sqlite3_bind_text(st, 2, field, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 1);
		const char *m = (const char *)sqlite3_column_text(st, 2);
		id = sqlite3_column_int64(st, 0);
		same = v != NULL && m != NULL && strcmp(v, value) == 0 && strcmp(m, meaning) == 0;
	}
	x->host->stmt_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	if (same)
		return 0;
	json_t *obj = json_pack("{s:s, s:s}", "value", value, "meaning", meaning);
	if (id > 0)
		rc = x->host->record_update(x->self, NULL, "platform_value", id, obj, &e);
	else {
		json_object_set_new(obj, "field", json_string(field));
		rc = x->host->record_create(x->self, NULL, "platform_value", employee_id, obj, &e) >
		        0
		    ? 0
		    : -1;
	}
	json_decref(obj);
	if (rc != 0)
		x->host->log(x->self, TREMPLIN_LOG_WARNING, "cannot keep %s: %s", field, e.message);
	return rc != 0 ? -1 : 0;
}

static int
compare(struct registry *x, const struct parsed *p, int64_t employee_id, int64_t pass_id)
{
	struct tremplin_error e;
	json_t *emp = x->host->record_get(x->self, NULL, "employee", employee_id, &e);
	json_t *pass = pass_id > 0 ? x->host->record_get(x->self, NULL, "pass", pass_id, &e) : NULL;
	int64_t pid;
	int rc = 0;

	if (emp == NULL) {
		json_decref(pass);
		return 0; /* erased since: nothing to propose on */
	}
	if (p->pass_only)
		goto pass;
	if (!same_name(jstr(emp, "last_name"), p->last))
		rc |= propose(x, employee_id, "employee", employee_id, "last_name",
		    jstr(emp, "last_name"), p->last, &pid);
	if (!same_name(jstr(emp, "first_name"), p->first))
		rc |= propose(x, employee_id, "employee", employee_id, "first_name",
		    jstr(emp, "first_name"), p->first, &pid);
	if (jstr(emp, "birth_date") == NULL || strcmp(jstr(emp, "birth_date"), p->birth) != 0)
		rc |= propose(x, employee_id, "employee", employee_id, "birth_date",
		    jstr(emp, "birth_date"), p->birth, &pid);
	if (p->kind != NULL &&
	    (jstr(emp, "prescriber_kind") == NULL || strcmp(jstr(emp, "prescriber_kind"), p->kind)))
		rc |= propose(x, employee_id, "employee", employee_id, "prescriber_kind",
		    jstr(emp, "prescriber_kind"), p->kind, &pid);
	if (p->french[0] != '\0' &&
	    keep_value(x, employee_id, "salarieLangueFrancaise", p->french, FRENCH_MEANING) != 0)
		rc = -1;
pass:
	if (pass != NULL) {
		if (jstr(pass, "start_date") == NULL || strcmp(jstr(pass, "start_date"), p->start))
			rc |= propose(x, employee_id, "pass", pass_id, "start_date",
			    jstr(pass, "start_date"), p->start, &pid);
		if (jstr(pass, "end_date") == NULL || strcmp(jstr(pass, "end_date"), p->end) != 0) {
			rc |= propose(x, employee_id, "pass", pass_id, "end_date",
			    jstr(pass, "end_date"), p->end, &pid);
			/* Ids only: the alert rule reads the rest with its own rights. */
			if (rc == 0 && pid > 0 &&
			    x->host->publish(x->self, NULL, "registry.pass_end_changed",
			        "registry/pass",
			        json_pack("{s:I, s:I, s:I}", "employee_id", (json_int_t)employee_id,
			            "pass_id", (json_int_t)pass_id, "proposal_id",
			            (json_int_t)pid)) != 0)
				rc = -1;
		}
	}
	json_decref(emp);
	json_decref(pass);
	return rc != 0 ? -1 : 0;
}

/* Unmatched: a file to review (a candidate, never an active file) and its PASS. */
static int
create_person(struct registry *x, const struct parsed *p, json_int_t structure_id, size_t index)
{
	static const char sql[] =
	    "INSERT INTO registry_links (siret, pass_number, employee_id, pass_id, created_run)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)";
	struct tremplin_error e;
	json_t *obj = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "structure_id", structure_id,
	    "first_name", p->first, "last_name", p->last, "birth_date", p->birth, "prescriber_kind",
	    p->kind ? p->kind : "autre", "status", "candidate");
	int64_t emp = x->host->record_create(x->self, NULL, "employee", 0, obj, &e);
	int64_t pass = 0;
	sqlite3_stmt *st;
	int rc;

	json_decref(obj);
	if (emp <= 0) {
		if (e.status >= 500)
			return -1;
		record_error(x, index, "the person's file was refused on %s",
		    e.field[0] ? e.field : "a field");
		return 0;
	}
	/*
	 * The platform's end counts the prolongations; a PASS's initial period
	 * is 730 days at most. Longer: the default end, and the difference
	 * proposed below for the CIP to record as a prolongation.
	 */
	int ok1, ok2;
	int64_t len = reg_days(p->end, &ok1) - reg_days(p->start, &ok2);
	obj = json_pack("{s:s, s:s}", "number", p->number, "start_date", p->start);
	if (ok1 && ok2 && len > 0 && len <= 729)
		json_object_set_new(obj, "initial_end_date", json_string(p->end));
	pass = x->host->record_create(x->self, NULL, "pass", emp, obj, &e);
	json_decref(obj);
	if (pass <= 0) {
		if (e.status >= 500)
			return -1;
		/* The file stays, linked: the next run does not create it twice. */
		record_error(
		    x, index, "the PASS was refused on %s", e.field[0] ? e.field : "a field");
		pass = 0;
	}
	if ((st = x->host->stmt(x->self, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, p->siret, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->number, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, emp);
	if (pass > 0)
		sqlite3_bind_int64(st, 4, pass);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, x->run_id);
	rc = sqlite3_step(st);
	x->host->stmt_done(st);
	x->n.created++;
	if (rc != SQLITE_DONE)
		return -1;
	return pass > 0 ? compare(x, p, emp, pass) : 0;
}

/* One record, in the page's transaction: -1 only on a store error. */
static int
one_record(struct registry *x, json_t *rec, size_t index, int notification)
{
	struct parsed p;
	char key[96];
	json_t *sid, *hit;
	int64_t emp, pass_id;
	int rc;

	if (!json_is_object(rec)) {
		record_error(x, index, "%s", "not an object");
		return 0;
	}
	if ((rc = parse_record(x, rec, index, notification, &p)) != 0)
		return rc == -2 ? -1 : 0;
	if (!configured_siret(x, p.siret)) {
		x->n.skipped++;
		return 0;
	}
	if (notification)
		x->n.notifications++;
	else
		x->n.fetched++;
	if ((sid = json_object_get(x->structures, p.siret)) == NULL) {
		snprintf(
		    x->last_error, sizeof(x->last_error), "no structure has the SIRET %s", p.siret);
		x->n.errors++;
		return 0;
	}
	snprintf(key, sizeof(key), "%lld|%s", (long long)json_integer_value(sid), p.number);
	if ((hit = json_object_get(x->passes, key)) != NULL) {
		x->n.matched++;
		return compare(x, &p,
		    (int64_t)json_integer_value(json_object_get(hit, "employee_id")),
		    (int64_t)json_integer_value(json_object_get(hit, "pass_id")));
	}
	if ((emp = linked(x, p.siret, p.number, &pass_id)) < 0)
		return -1;
	if (emp > 0) {
		x->n.matched++;
		return compare(x, &p, emp, pass_id);
	}
	if (notification) {
		/* About nobody known: the employee records create people, not notifications. */
		x->n.skipped++;
		return 0;
	}
	return create_person(x, &p, json_integer_value(sid), index);
}

/* A page: its records and where the next one starts, in one transaction. */
static int
write_page(struct registry *x, json_t *results, const char *next, int phase)
{
	static const char sql[] =
	    "UPDATE registry_state SET cursor_url = ?1, cursor_since = ?2 WHERE id = 1";
	struct counts saved = x->n;
	json_t *rec;
	size_t i;
	sqlite3_stmt *st;

	if (x->host->begin(x->self) != 0)
		return -1;
	json_array_foreach (results, i, rec)
		if (one_record(x, rec, i, phase == PHASE_NOTIFICATIONS) != 0)
			goto fail;
	x->n.pages++;
	if ((st = x->host->stmt(x->self, sql)) == NULL)
		goto fail;
	if (next != NULL) {
		sqlite3_bind_text(st, 1, next, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, x->run_day, -1, SQLITE_TRANSIENT);
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		x->host->stmt_done(st);
		goto fail;
	}
	x->host->stmt_done(st);
	if (save_run(x, "running", 0) != 0 || x->host->commit(x->self) != 0)
		goto fail;
	return 0;
fail:
	x->host->rollback(x->self);
	/* Nothing of the page was written: its counts go too. */
	long long requests = x->n.requests;
	x->n = saved;
	x->n.requests = requests;
	return -1;
}

/* ---- the requests ---- */

static void
retry_later(struct registry *x, int64_t delay_ms)
{
	x->timer = x->host->after(x->self, delay_ms, send_page, x);
	if (x->timer <= 0)
		run_fail(x, "cannot schedule the next request");
}

/* A failure worth trying again (5xx, timeout, refused connection, malformed page). */
static void
transient(struct registry *x, const char *what)
{
	snprintf(x->last_error, sizeof(x->last_error), "%s", what);
	if (++x->attempts >= x->c.max_attempts) {
		run_fail(x, "%s (%d attempts)", what, x->attempts);
		return;
	}
	x->n.retries++;
	retry_later(
	    x, reg_backoff(x->attempts, x->c.backoff_ms, x->c.backoff_cap_ms, (uint32_t)random()));
}

static void
on_page(const struct tremplin_http_response *r, void *arg)
{
	struct registry *x = arg;
	json_t *body, *results, *next;
	json_error_t jerr;
	char what[200];

	if (r->error == TREMPLIN_HTTP_CANCELLED)
		return; /* the plugin is stopping */
	if (r->error != TREMPLIN_HTTP_OK) {
		snprintf(what, sizeof(what), "the registry did not answer (%s)",
		    r->error == TREMPLIN_HTTP_TIMEOUT       ? "timeout"
		        : r->error == TREMPLIN_HTTP_TLS     ? "TLS"
		        : r->error == TREMPLIN_HTTP_CONNECT ? "connection refused or unreachable"
		                                            : "error");
		if (r->error == TREMPLIN_HTTP_TLS) {
			/* A certificate that does not verify is no passing fault. */
			run_fail(x, "%s: %s", what, r->error_text ? r->error_text : "");
			return;
		}
		transient(x, what);
		return;
	}
	if (r->status == 429) {
		/* The platform's own word on when to come back; 60 s when it does not say. */
		int64_t s = r->retry_after_s >= 0 ? r->retry_after_s : 60;
		if (s > 3600)
			s = 3600;
		x->n.throttled++;
		/* Told to wait again and again: the run stops and the next one resumes. */
		if (++x->throttled_in_row > 10 * x->c.max_attempts) {
			run_fail(x, "the registry kept answering 429 (%d times in a row)",
			    x->throttled_in_row);
			return;
		}
		x->retry_until_ms = x->host->now_ms(x->self) + s * 1000;
		snprintf(x->last_error, sizeof(x->last_error),
		    "the registry asked to wait %lld s (429)", (long long)s);
		retry_later(x, s * 1000);
		return;
	}
	if (r->status >= 500) {
		snprintf(what, sizeof(what), "the registry answered %ld", r->status);
		transient(x, what);
		return;
	}
	body = json_loadb(r->body ? r->body : "", r->body_len, 0, &jerr);
	if (r->status == 401 || r->status == 403) {
		run_fail(x, "the registry refused the token (%ld%s%.120s)", r->status,
		    jstr(body, "detail") ? ": " : "",
		    jstr(body, "detail") ? jstr(body, "detail") : "");
		json_decref(body);
		return;
	}
	if (r->status == 404 && !x->restarted && strstr(x->url, "page=") != NULL) {
		/*
		 * The page vanished (fewer records than when the pagination began):
		 * start it again from the first page. Records seen twice propose
		 * nothing twice.
		 */
		json_decref(body);
		x->restarted = 1;
		first_url(x, phase_of(x->url), x->url, sizeof(x->url));
		send_page(x->host->now_ms(x->self), x);
		return;
	}
	if (r->status != 200) {
		run_fail(x, "the registry answered %ld%s%.120s", r->status,
		    jstr(body, "detail") ? ": " : "",
		    jstr(body, "detail") ? jstr(body, "detail") : "");
		json_decref(body);
		return;
	}
	results = json_object_get(body, "results");
	next = json_object_get(body, "next");
	if (body == NULL || !json_is_array(results) ||
	    !(json_is_null(next) || json_is_string(next))) {
		json_decref(body);
		transient(x, "the registry sent a page that is not {count, next, results}");
		return;
	}
	if (json_is_string(next) && !reg_next_ok(x->c.base_url, json_string_value(next))) {
		json_decref(body);
		run_fail(x, "the registry's next page is not under base_url: not followed");
		return;
	}
	x->attempts = 0;
	x->throttled_in_row = 0;
	/*
	 * Where the run goes on: the next page, else the notifications' first;
	 * written with the page, so a stop between them resumes right there.
	 */
	char follow[sizeof(x->url)];
	int phase = phase_of(x->url);
	if (json_is_string(next))
		snprintf(follow, sizeof(follow), "%s", json_string_value(next));
	else if (phase == PHASE_RECORDS)
		first_url(x, PHASE_NOTIFICATIONS, follow, sizeof(follow));
	else
		follow[0] = '\0';
	if (write_page(x, results, follow[0] ? follow : NULL, phase) != 0) {
		json_decref(body);
		run_fail(x, "cannot write page %lld", x->n.pages + 1);
		return;
	}
	json_decref(body);
	if (follow[0] != '\0') {
		if (phase_of(follow) != phase)
			x->restarted = 0; /* a vanished page may restart each list once */
		snprintf(x->url, sizeof(x->url), "%s", follow);
		send_page(x->host->now_ms(x->self), x);
		return;
	}
	/* Record errors do not fail the run: they are counted and said. */
	run_end(x, 1);
}

static void
send_page(int64_t now, void *arg)
{
	struct registry *x = arg;
	char auth[300], err[256];
	int64_t wait;

	(void)now;
	x->timer = 0;
	now = x->host->now_ms(x->self);
	/*
	 * Below the platform's limits, on our side: never a request it would
	 * refuse. It counts arrivals, and the loop's clock may lag the send by
	 * the page just written: the window is taken a little longer.
	 */
	int64_t window = x->c.window_ms + x->c.window_ms / 20 + 500;
	wait = reg_rate_wait(&x->rate_all, now, x->c.rate_all, window);
	int64_t w2 = reg_rate_wait(&x->rate_er, now, x->c.rate_er, window);
	if (w2 > wait)
		wait = w2;
	if (wait > 0) {
		retry_later(x, wait);
		return;
	}
	snprintf(auth, sizeof(auth), "Token %s", x->c.token);
	const struct tremplin_http_header headers[] = {
		{ "Authorization", auth },
		{ "Accept", "application/json" },
		{ FRENCH_HEADER, "true" },
	};
	const struct tremplin_http_request rq = {
		.method = "GET",
		.url = x->url,
		.headers = headers,
		.nheaders = NELEM(headers),
		.timeout_ms = x->c.timeout_ms,
		.max_bytes = 8 << 20,
	};
	reg_rate_note(&x->rate_all, now, window);
	reg_rate_note(&x->rate_er, now, window);
	x->n.requests++;
	if (x->host->http(x->self, &rq, on_page, x, err, sizeof(err)) != 0)
		run_fail(x, "cannot send the request: %s", err);
}

/*
 * Inside the night's quiet window (the daemon's local time): when it ends,
 * in ms of the clock; 0 outside it or without one.
 */
static int64_t
quiet_end(const struct registry *x, int64_t now)
{
	int from = x->c.quiet_from, to = x->c.quiet_to;
	time_t t = (time_t)(now / 1000);
	struct tm tm;

	if (from == to || localtime_r(&t, &tm) == NULL)
		return 0;
	int m = tm.tm_hour * 60 + tm.tm_min;
	int in = from < to ? (m >= from && m < to) : (m >= from || m < to);
	if (!in)
		return 0;
	int64_t left_s = (int64_t)((to - m + 1440) % 1440) * 60 - tm.tm_sec;
	return (int64_t)t * 1000 + left_s * 1000;
}

/* When the next scheduled run may start: after the interval, out of the quiet window. */
static int64_t
next_due(const struct registry *x, int64_t from)
{
	int64_t due = from + x->c.interval_s * 1000;
	int64_t end = quiet_end(x, due);
	return end > 0 ? end : due;
}

static void
scheduled_run(struct registry *x, int64_t now)
{
	char why[200];

	x->last_sched_ms = now;
	x->next_due_ms = next_due(x, now);
	if (run_start(x, "schedule", why, sizeof(why)) != 0)
		x->host->log(x->self, TREMPLIN_LOG_INFO, "scheduled run skipped: %s", why);
}

static void
quiet_over(int64_t now, void *arg)
{
	struct registry *x = arg;

	x->quiet_timer = 0;
	scheduled_run(x, x->host->now_ms(x->self) > now ? x->host->now_ms(x->self) : now);
}

static void
tick(int64_t now, void *arg)
{
	struct registry *x = arg;
	int64_t end = quiet_end(x, now);

	if (end > 0) {
		/* Due inside the quiet window: the run waits for its end, once. */
		x->next_due_ms = end;
		if (x->quiet_timer == 0) {
			x->quiet_timer = x->host->after(x->self, end - now, quiet_over, x);
			if (x->quiet_timer < 0)
				x->quiet_timer = 0;
			x->host->log(x->self, TREMPLIN_LOG_INFO,
			    "scheduled run waits for the end of the quiet hours");
		}
		return;
	}
	/* The run that waited for the window's end took this period's place. */
	if (x->last_sched_ms > 0 && now - x->last_sched_ms < x->c.interval_s * 500) {
		x->next_due_ms = next_due(x, x->last_sched_ms);
		return;
	}
	scheduled_run(x, now);
}

/* ---- proposals: a declared record of the person's ---- */

static const char *const targets[] = { "employee", "pass", NULL };
static const char *const proposal_statuses[] = { "pending", "accepted", "rejected", "superseded",
	NULL };

/*
 * The values are a person's name, birth date, prescriber or PASS dates: the
 * CIP's and the coordinator's to read (orientation: the ETI does not read
 * who prescribed), never in the journal.
 */
static const struct tremplin_column proposal_columns[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "employee_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "target",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "orientation",
	    .values = targets },
	{ .name = "target_id",
	    .type = TREMPLIN_COL_INT,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "orientation",
	    .min = 1,
	    .max = 9007199254740991.0 },
	{ .name = "field",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "orientation",
	    .max = 64 },
	{ .name = "current_value",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE | TREMPLIN_COL_FIXED,
	    .category = "orientation",
	    .max = 200 },
	{ .name = "proposed_value",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "orientation",
	    .max = 200 },
	{ .name = "status",
	    .type = TREMPLIN_COL_ENUM,
	    .category = "orientation",
	    .values = proposal_statuses,
	    .def = "\"pending\"" },
	{ .name = "decided_by",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "identity" },
	{ .name = "decided_at",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "orientation",
	    .max = 20 },
	{ .name = "created_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_CREATED },
	{ .name = "updated_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_STAMP },
};

static const struct tremplin_filter proposal_filters[] = {
	{ .name = "status", .column = "status", .op = TREMPLIN_FILTER_EQ },
};

/* Read through the record's own routes; written by the sync and the accept/reject routes. */
static const struct tremplin_record proposal = {
	.size = sizeof(struct tremplin_record),
	.name = "proposal",
	.plural = "registry_proposals",
	.table = "registry_proposals",
	.columns = proposal_columns,
	.ncolumns = NELEM(proposal_columns),
	.owner = TREMPLIN_OWNER_PERSON,
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_LIST,
	.filters = proposal_filters,
	.nfilters = NELEM(proposal_filters),
};

/*
 * salarieLangueFrancaise (and any platform value without a field of ours),
 * as the platform gives it and with the meaning asked (`asp`): read by the
 * CIP and the coordinator like the prescriber, never reinterpreted.
 */
static const struct tremplin_column value_columns[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "employee_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "field",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "orientation",
	    .max = 64 },
	{ .name = "value",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "orientation",
	    .max = 64 },
	{ .name = "meaning",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "orientation",
	    .max = 32 },
	{ .name = "created_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_CREATED },
	{ .name = "updated_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_STAMP },
};

static const struct tremplin_record platform_value = {
	.size = sizeof(struct tremplin_record),
	.name = "platform_value",
	.plural = "registry_platform_values",
	.table = "registry_platform_values",
	.columns = value_columns,
	.ncolumns = NELEM(value_columns),
	.owner = TREMPLIN_OWNER_PERSON,
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_LIST,
};

/* GET /v1/registry/proposals?status=pending: each as the caller may see it. */
static void
get_proposals(struct tremplin_request *req, void *arg)
{
	static const char sql[] = "SELECT id FROM registry_proposals WHERE status = ?1 AND id > ?2"
	                          " ORDER BY id LIMIT ?3";
	struct registry *x = arg;
	const char *status = x->host->request_query(req, "status");
	int limit;
	int64_t after, last = 0;
	json_t *items = json_array();
	sqlite3_stmt *st;
	int more = 0, k = 0;

	if (status == NULL)
		status = "pending";
	for (k = 0; proposal_statuses[k] != NULL && strcmp(proposal_statuses[k], status) != 0; k++)
		;
	if (proposal_statuses[k] == NULL) {
		json_decref(items);
		x->host->reply_error(req, 400, "bad_request", "status",
		    "status: expected pending, accepted, rejected or superseded");
		return;
	}
	if (x->host->page(req, &limit, &after) != 0) {
		json_decref(items);
		return;
	}
	if ((st = x->host->stmt(x->self, sql)) == NULL) {
		json_decref(items);
		x->host->reply_error(req, 500, "internal", NULL, "cannot read the proposals");
		return;
	}
	sqlite3_bind_text(st, 1, proposal_statuses[k], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int(st, 3, limit + 1);
	int64_t ids[501];
	int nids = 0;
	while (sqlite3_step(st) == SQLITE_ROW && nids < limit + 1)
		ids[nids++] = sqlite3_column_int64(st, 0);
	x->host->stmt_done(st);
	if (nids > limit) {
		more = 1;
		nids = limit;
	}
	for (int i = 0; i < nids; i++) {
		struct tremplin_error e;
		/* Through the record: the policy, the person's visibility and the audit. */
		json_t *v = x->host->record_get(x->self, req, "proposal", ids[i], &e);
		if (v != NULL)
			json_array_append_new(items, v);
		else if (e.status >= 500) {
			json_decref(items);
			x->host->reply_error(req, e.status, "internal", NULL, "%s", e.message);
			return;
		}
		last = ids[i];
	}
	x->host->reply(req, 200, x->host->list(items, more ? last : 0));
}

struct decision {
	struct registry *x;
	struct tremplin_request *req;
	int64_t id;
	int accept;
	json_t *result;
	struct tremplin_error e;
};

/* The proposed value as the target's own field: a PASS's end moves its initial end. */
static json_t *
patch_for(struct decision *d, json_t *prop)
{
	const char *field = jstr(prop, "field");
	const char *value = jstr(prop, "proposed_value");
	const char *target = jstr(prop, "target");

	if (strcmp(target, "pass") == 0 && strcmp(field, "end_date") == 0) {
		/*
		 * The end is computed (initial end, prolongations, suspensions):
		 * shift the initial end by the difference, so the PASS ends on
		 * the platform's day and its prolongations still count once.
		 */
		json_t *pass = d->x->host->record_get(d->x->self, d->req, "pass",
		    json_integer_value(json_object_get(prop, "target_id")), &d->e);
		int ok1, ok2, ok3;
		char out[11];
		if (pass == NULL)
			return NULL;
		int64_t end = reg_days(jstr(pass, "end_date"), &ok1);
		int64_t init = reg_days(jstr(pass, "initial_end_date"), &ok2);
		int64_t want = reg_days(value, &ok3);
		json_decref(pass);
		if (!ok1 || !ok2 || !ok3) {
			d->x->host->error(
			    &d->e, 409, "proposed_value", "the PASS's dates cannot be read");
			return NULL;
		}
		reg_day_text(init + (want - end), out);
		return json_pack("{s:s}", "initial_end_date", out);
	}
	return json_pack("{s:s}", field, value);
}

static int
decide(void *arg)
{
	struct decision *d = arg;
	struct registry *x = d->x;
	struct tremplin_caller who;
	json_t *prop = x->host->record_get(x->self, d->req, "proposal", d->id, &d->e);
	json_t *patch;
	char now[21];

	if (prop == NULL)
		return -1;
	if (jstr(prop, "status") == NULL || jstr(prop, "target") == NULL ||
	    jstr(prop, "field") == NULL || jstr(prop, "proposed_value") == NULL) {
		/* Not readable whole by the caller: not theirs to decide. */
		x->host->error(&d->e, 404, NULL, "no proposal %lld", (long long)d->id);
		d->e.code = "not_found";
		json_decref(prop);
		return -1;
	}
	if (strcmp(jstr(prop, "status"), "pending") != 0) {
		x->host->error(
		    &d->e, 409, "status", "the proposal is %s already", jstr(prop, "status"));
		d->e.code = "conflict";
		json_decref(prop);
		return -1;
	}
	if (d->accept) {
		/* An ordinary write, as the caller, through the record's own rules. */
		patch = patch_for(d, prop);
		if (patch == NULL ||
		    x->host->record_update(x->self, d->req, jstr(prop, "target"),
		        json_integer_value(json_object_get(prop, "target_id")), patch,
		        &d->e) != 0) {
			json_decref(patch);
			json_decref(prop);
			return -1;
		}
		json_decref(patch);
	}
	json_decref(prop);
	x->host->request_caller(d->req, &who);
	stamp(x->host->now_ms(x->self), now);
	patch = json_pack(
	    "{s:s, s:s}", "status", d->accept ? "accepted" : "rejected", "decided_at", now);
	if (who.staff_id > 0)
		json_object_set_new(patch, "decided_by", json_integer(who.staff_id));
	if (x->host->record_update(x->self, d->req, "proposal", d->id, patch, &d->e) != 0) {
		json_decref(patch);
		return -1;
	}
	json_decref(patch);
	d->result = x->host->record_get(x->self, d->req, "proposal", d->id, &d->e);
	return d->result != NULL ? 0 : -1;
}

static void
decide_route(struct tremplin_request *req, struct registry *x, int accept)
{
	struct decision d = {
		.x = x, .req = req, .id = x->host->request_id(req, 0), .accept = accept
	};

	memset(&d.e, 0, sizeof(d.e));
	if (x->host->transaction(x->self, decide, &d) != 0) {
		json_decref(d.result);
		x->host->reply_error(req, d.e.status ? d.e.status : 500,
		    d.e.code ? d.e.code : "internal", d.e.field[0] ? d.e.field : NULL, "%s",
		    d.e.message[0] ? d.e.message : "cannot decide the proposal");
		return;
	}
	x->host->reply(req, 200, d.result);
}

static void
post_accept(struct tremplin_request *req, void *arg)
{
	decide_route(req, arg, 1);
}

static void
post_reject(struct tremplin_request *req, void *arg)
{
	decide_route(req, arg, 0);
}

/* ---- status and control ---- */

static json_t *
last_run(struct registry *x, const char *where)
{
	char sql[600];
	sqlite3_stmt *st;
	json_t *o = json_null();

	snprintf(sql, sizeof(sql),
	    "SELECT id, trigger, started_at, finished_at, status, since, resumed, requests, pages,"
	    " fetched, matched, created, proposed, skipped, flagged, errors, throttled, retries,"
	    " notifications, last_error FROM registry_runs %s ORDER BY id DESC LIMIT 1",
	    where);
	if ((st = x->host->stmt(x->self, sql)) == NULL)
		return o;
	if (sqlite3_step(st) == SQLITE_ROW) {
		o = json_object();
		json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, 0)));
		for (int i = 1; i <= 5; i++) {
			const char *names[] = { "", "trigger", "started_at", "finished_at",
				"status", "since" };
			const unsigned char *t = sqlite3_column_text(st, i);
			json_object_set_new(
			    o, names[i], t ? json_string((const char *)t) : json_null());
		}
		json_object_set_new(o, "resumed", json_boolean(sqlite3_column_int(st, 6)));
		json_t *counts = json_object();
		const char *cn[] = { "requests", "pages", "fetched", "matched", "created",
			"proposed", "skipped", "flagged", "errors", "throttled", "retries",
			"notifications" };
		for (int i = 0; i < 12; i++)
			json_object_set_new(
			    counts, cn[i], json_integer(sqlite3_column_int64(st, 7 + i)));
		json_object_set_new(o, "counts", counts);
		const unsigned char *le = sqlite3_column_text(st, 19);
		json_object_set_new(
		    o, "last_error", le ? json_string((const char *)le) : json_null());
	}
	x->host->stmt_done(st);
	return o;
}

static void
get_status(struct tremplin_request *req, void *arg)
{
	struct registry *x = arg;
	int64_t now = x->host->now_ms(x->self);
	json_t *o = json_object(), *codes = json_array();
	char t[21];
	sqlite3_stmt *st;

	json_object_set_new(o, "configured", json_boolean(x->c.configured));
	json_object_set_new(o, "running", json_boolean(x->running));
	json_object_set_new(o, "base_url", json_string(x->c.base_url));
	json_object_set_new(o, "last_run", last_run(x, ""));
	json_object_set_new(o, "last_success", last_run(x, "WHERE status = 'ok'"));
	json_object_set_new(
	    o, "failed_since_success", json_integer(0)); /* replaced below when the store answers */
	if ((st = x->host->stmt(x->self,
	         "SELECT count(*) FROM registry_runs WHERE status = 'failed' AND id >"
	         " coalesce((SELECT max(id) FROM registry_runs WHERE status = 'ok'), 0)")) !=
	        NULL &&
	    sqlite3_step(st) == SQLITE_ROW)
		json_object_set_new(
		    o, "failed_since_success", json_integer(sqlite3_column_int64(st, 0)));
	x->host->stmt_done(st);
	if (x->c.configured && x->started && x->next_due_ms > 0) {
		stamp(x->next_due_ms, t);
		json_object_set_new(o, "next_run_at", json_string(t));
	} else
		json_object_set_new(o, "next_run_at", json_null());
	json_object_set_new(o, "interval_s", json_integer(x->c.interval_s));
	json_t *rl = json_pack("{s:i, s:i, s:I}", "employee_records_limit", x->c.rate_er,
	    "overall_limit", x->c.rate_all, "window_s", (json_int_t)(x->c.window_ms / 1000));
	struct reg_rate a = x->rate_all;
	int used = 0;
	for (int i = 0; i < a.n; i++)
		if (a.t[(a.head + i) % REG_RATE_MAX] > now - x->c.window_ms)
			used++;
	json_object_set_new(rl, "used_in_window", json_integer(used));
	if (x->retry_until_ms > now) {
		stamp(x->retry_until_ms, t);
		json_object_set_new(rl, "retry_after_until", json_string(t));
	} else
		json_object_set_new(rl, "retry_after_until", json_null());
	json_object_set_new(o, "rate_limit", rl);
	if ((st = x->host->stmt(x->self,
	         "SELECT field, code, seen FROM registry_unknown_codes"
	         " ORDER BY field, code LIMIT 100")) != NULL)
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(codes,
			    json_pack("{s:s, s:s, s:I}", "field", sqlite3_column_text(st, 0),
			        "code", sqlite3_column_text(st, 1), "seen",
			        (json_int_t)sqlite3_column_int64(st, 2)));
	x->host->stmt_done(st);
	json_object_set_new(o, "unknown_codes", codes);
	json_object_set_new(o, "france_travail", ft_status(x->ft));
	x->host->reply(req, 200, o);
}

static void
post_sync(struct tremplin_request *req, void *arg)
{
	struct registry *x = arg;
	char why[300];

	if (run_start(x, "api", why, sizeof(why)) != 0) {
		x->host->reply_error(req, 409, "conflict", NULL, "%s", why);
		return;
	}
	x->host->reply(req, 202,
	    json_pack("{s:I, s:b}", "run_id", (json_int_t)x->run_id, "running", x->running));
}

/* ---- life cycle ---- */

static const char *const pass_categories[] = { "pass_iae", NULL };
static const struct tremplin_view_param pass_proposals_params[] = {
	{ .name = "employee_id",
	    .type = TREMPLIN_VIEW_INT,
	    .required = 1,
	    .min = 1,
	    .max = INT64_MAX },
};
/*
 * A person's proposals on their PASS IAE, without the values (the rule
 * registry_pass_end_changed reads it, and declares it so that without this
 * plugin it stays off, saying why).
 */
static const struct tremplin_view pass_proposals_view = {
	.size = sizeof(struct tremplin_view),
	.name = "registry.pass_proposals.v1",
	.description = "a person's proposals on a PASS IAE from the national platform:"
	               " proposal_id, pass_id, field, status, created_at",
	.sql = "SELECT id AS proposal_id, target_id AS pass_id, field, status, created_at"
	       " FROM registry_proposals WHERE target = 'pass' AND employee_id = :employee_id"
	       " ORDER BY id LIMIT 1000",
	.params = pass_proposals_params,
	.nparams = 1,
	.roles = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR,
	.categories = pass_categories,
};

static int
registry_init(const struct tremplin_host *host, struct tremplin_plugin *self, void **ctx)
{
	struct registry *x = calloc(1, sizeof(*x));
	static const char *const list_query[] = { "status", "limit", "cursor", NULL };

	if (x == NULL)
		return -1;
	x->host = host;
	x->self = self;
	*ctx = x;
	if ((x->ft = ft_new(host, self)) == NULL) {
		free(x);
		*ctx = NULL;
		return -1;
	}
	const unsigned cip_coord = TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR;
	const struct tremplin_route_spec routes[] = {
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_GET,
		    .path = "/status",
		    .roles = cip_coord | TREMPLIN_ROLE_ADMIN,
		    .fn = get_status,
		    .arg = x },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_POST,
		    .path = "/sync",
		    .roles = TREMPLIN_ROLE_COORDINATOR | TREMPLIN_ROLE_ADMIN,
		    .fn = post_sync,
		    .arg = x },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_GET,
		    .path = "/proposals",
		    .roles = cip_coord,
		    .flags = TREMPLIN_ROUTE_PERSONAL,
		    .query = list_query,
		    .fn = get_proposals,
		    .arg = x },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_POST,
		    .path = "/proposals/{id}/accept",
		    .roles = cip_coord,
		    .flags = TREMPLIN_ROUTE_PERSONAL,
		    .fn = post_accept,
		    .arg = x },
		{ .size = sizeof(routes[0]),
		    .methods = TREMPLIN_POST,
		    .path = "/proposals/{id}/reject",
		    .roles = cip_coord,
		    .flags = TREMPLIN_ROUTE_PERSONAL,
		    .fn = post_reject,
		    .arg = x },
	};
	if (host->migrations(self, registry_migrations, registry_nmigrations) != 0 ||
	    host->record(self, &proposal, x) != 0 || host->record(self, &platform_value, x) != 0 ||
	    host->view_register(self, &pass_proposals_view) != 0 || ft_init(x->ft) != 0)
		goto fail;
	for (size_t i = 0; i < NELEM(routes); i++)
		if (host->route(self, &routes[i]) != 0)
			goto fail;
	return 0;
fail:
	ft_free(x->ft);
	free(x);
	*ctx = NULL;
	return -1;
}

static int
registry_start(void *ctx)
{
	struct registry *x = ctx;

	x->started = 1;
	/* A run the daemon's stop cut short: said so; its next page is kept for the next run. */
	exec_sql(x,
	    "UPDATE registry_runs SET status = 'failed', last_error = 'the daemon stopped"
	    " during the run' WHERE status = 'running'");
	if (!x->c.configured) {
		x->host->log(x->self, TREMPLIN_LOG_INFO,
		    "not configured (token_file, sirets): no sync until it is");
		return 0;
	}
	x->next_due_ms = next_due(x, x->host->now_ms(x->self));
	return x->host->every(
	    x->self, "sync", x->c.interval_s * 1000, x->c.jitter_s * 1000, tick, x);
}

static void
registry_stop(void *ctx)
{
	struct registry *x = ctx;

	if (x == NULL)
		return;
	json_decref(x->structures);
	json_decref(x->passes);
	explicit_bzero(x->c.token, sizeof(x->c.token));
	ft_free(x->ft);
	free(x);
}

TREMPLIN_PLUGIN(.name = "registry", .version = "0.1.0",
    .description = "employee records from les emplois de l'inclusion, as proposals",
    .init = registry_init, .config = registry_config, .start = registry_start,
    .stop = registry_stop);
