/*
 * notify_webhook: the alerts, told to partners' systems as signed webhooks
 * (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature).
 *
 * Every tick it claims what the outbox holds (host->outbox_claim), copies
 * each alert once per endpoint that wants its kind into its own table of
 * deliveries (the outbox entries of one alert, one per staff recipient,
 * are one delivery: UNIQUE (alert, endpoint)), and says the entries done.
 * Deliveries are then posted through the host's asynchronous HTTP client,
 * at most a few in flight per endpoint, so that a slow or dead receiver
 * delays only its own. At least once: a delivery is 'sending' under a
 * lease; a crash leaves it to be sent again, with the same webhook-id.
 *
 * The payload is the least: {id, kind, date, text}, the text a French
 * sentence chosen by kind here, never the staff's message (which names
 * people by number) nor anything of the person.
 *
 * Configuration (tremplin.conf; notify_webhook.conf is the commented copy):
 *   plugins = { notify_webhook = {
 *     endpoints = { prescriber = { url = "https://...", keys_file = "/etc/...",
 *                                  kinds = { "pass_ending" } } },
 *     allow_private = false, timeout_ms = 10000, dead_after_hours = 72 } }
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <tremplin/plugin.h>

#include "sign.h"

#define MAX_ENDPOINTS 128
#define IN_FLIGHT_PER_ENDPOINT 4
#define CLAIM_BATCH 100
#define LEASE_MS 60000
#define BACKOFF_BASE_MS 30000
#define BACKOFF_CAP_MS (6 * 3600 * 1000LL)
#define RETRY_AFTER_MAX_S 86400

struct endpoint {
	char name[64];
	char url[1024];
	unsigned char key[2][WEBHOOK_KEY_MAX];
	size_t keylen[2];
	int nkeys;
	char kinds[32][65]; /* none: every kind */
	int nkinds;
	int in_flight;
};

struct webhook {
	const struct tremplin_host *host;
	struct tremplin_plugin *self;
	struct endpoint *ep;
	int nep;
	int allow_private;
	long timeout_ms;
	int64_t dead_after_ms;
};

struct call {
	struct webhook *w;
	int64_t id;
	char endpoint[64];
};

/* ---- what a partner is told ---- */

static const struct {
	const char *kind, *text;
} texts[] = {
	{ "contract_ending", "Un contrat arrive à échéance : un bilan de sortie est à planifier." },
	{ "pass_ending", "Un PASS IAE arrive à échéance : la suite du parcours est à préparer." },
	{ "review_overdue", "Un bilan de suivi est à tenir." },
	{ "safety_incident", "Un incident de sécurité a été enregistré sur un chantier." },
	{ "hours_below_contract", "Un point sur le planning d'un salarié est à faire." },
	{ "registry_pass_end_changed", "Une nouvelle date de fin de PASS IAE est à vérifier." },
	{ "absences_unjustified", "Un point sur l'assiduité d'un salarié est à faire." },
	{ "skills_stale", "Une évaluation des compétences est à faire." },
};

static const char *
text_of(const char *kind)
{
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (strcmp(texts[i].kind, kind) == 0)
			return texts[i].text;
	return "Une alerte est à traiter dans Tremplin.";
}

/* ---- configuration ---- */

/* Loopback, link-local, private, unique-local, unspecified: not a partner on the Internet. */
static int
private_address(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
		return (a >> 24) == 127 || (a >> 24) == 10 || (a >> 24) == 0 ||
		    (a >> 20) == (172 << 4 | 1) || (a >> 16) == (192 << 8 | 168) ||
		    (a >> 16) == (169 << 8 | 254) || (a >> 22) == (100 << 2 | 1);
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
		    IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_V4MAPPED(a) ||
		    (a->s6_addr[0] & 0xfe) == 0xfc;
	}
	return 1;
}

/* The host of an https:// URL into host: 0, or -1 with why. */
static int
url_host(const char *url, char *host, size_t size, char *err, size_t errlen)
{
	const char *p, *end;
	size_t n;

	if (strncmp(url, "https://", 8) != 0) {
		snprintf(err, errlen, "must be an https:// URL");
		return -1;
	}
	p = url + 8;
	if (*p == '[') {
		end = strchr(p, ']');
		p++;
	} else
		end = p + strcspn(p, ":/?#");
	if (end == NULL || strchr(url + 8, '@') != NULL || end == p) {
		snprintf(err, errlen, "has no host, or user information");
		return -1;
	}
	n = (size_t)(end - p);
	if (n >= size) {
		snprintf(err, errlen, "host too long");
		return -1;
	}
	memcpy(host, p, n);
	host[n] = '\0';
	return 0;
}

/*
 * Refuse a receiver whose host resolves to a private address unless the
 * configuration allows it. Checked when the configuration is taken (start,
 * reload): the loop never waits on DNS.
 */
static int
check_receiver(const char *url, int allow_private, char *err, size_t errlen)
{
	char host[256];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int rc;

	if (url_host(url, host, sizeof(host), err, errlen) == -1)
		return -1;
	if (allow_private)
		return 0;
	if ((rc = getaddrinfo(host, "443", &hints, &res)) != 0) {
		snprintf(err, errlen, "host %s does not resolve: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (private_address(ai->ai_addr)) {
			freeaddrinfo(res);
			snprintf(err, errlen,
			    "host %s resolves to a loopback, link-local or private address "
			    "(allow_private = true to allow it)",
			    host);
			return -1;
		}
	freeaddrinfo(res);
	return 0;
}

/* One or two whsec_ secrets, one a line, from a file only its owner reads. */
static int
read_secrets(const char *path, struct endpoint *e, char *err, size_t errlen)
{
	char buf[1024], *line, *save = NULL;
	struct stat sb;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0) {
		close(fd);
		snprintf(err, errlen, "%s must be a regular file of mode 0600", path);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0 || (size_t)n == sizeof(buf) - 1) {
		snprintf(err, errlen, "%s: unreadable or too long", path);
		return -1;
	}
	buf[n] = '\0';
	e->nkeys = 0;
	for (line = strtok_r(buf, "\r\n", &save); line != NULL;
	     line = strtok_r(NULL, "\r\n", &save)) {
		if (*line == '\0' || *line == '#')
			continue;
		if (e->nkeys == 2 ||
		    webhook_secret_decode(line, e->key[e->nkeys], &e->keylen[e->nkeys]) == -1) {
			explicit_bzero(buf, sizeof(buf));
			snprintf(err, errlen,
			    "%s: expected one or two whsec_<base64> secrets (two while changing)",
			    path);
			return -1;
		}
		e->nkeys++;
	}
	explicit_bzero(buf, sizeof(buf));
	if (e->nkeys == 0) {
		snprintf(err, errlen, "%s holds no whsec_ secret", path);
		return -1;
	}
	return 0;
}

static int
take_endpoint(
    const char *name, json_t *v, int allow_private, struct endpoint *e, char *err, size_t errlen)
{
	const char *key, *url = NULL, *keys_file = NULL;
	char why[768];
	json_t *x, *kinds = NULL;
	size_t i;

	if (strlen(name) >= sizeof(e->name) || !json_is_object(v)) {
		snprintf(
		    err, errlen, "endpoints.%s: expected a table {url, keys_file, kinds}", name);
		return -1;
	}
	snprintf(e->name, sizeof(e->name), "%s", name);
	json_object_foreach (v, key, x) {
		if (strcmp(key, "url") == 0 && json_is_string(x))
			url = json_string_value(x);
		else if (strcmp(key, "keys_file") == 0 && json_is_string(x))
			keys_file = json_string_value(x);
		else if (strcmp(key, "kinds") == 0 && json_is_array(x))
			kinds = x;
		else {
			snprintf(err, errlen,
			    "endpoints.%s.%s: unknown setting, or not of its type", name, key);
			return -1;
		}
	}
	if (url == NULL || strlen(url) >= sizeof(e->url)) {
		snprintf(err, errlen, "endpoints.%s.url: required, an https:// URL", name);
		return -1;
	}
	if (check_receiver(url, allow_private, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "endpoints.%s.url: %s", name, why);
		return -1;
	}
	snprintf(e->url, sizeof(e->url), "%s", url);
	if (keys_file == NULL) {
		snprintf(err, errlen, "endpoints.%s.keys_file: required", name);
		return -1;
	}
	if (read_secrets(keys_file, e, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "endpoints.%s.keys_file: %s", name, why);
		return -1;
	}
	e->nkinds = 0;
	json_array_foreach (kinds, i, x) {
		if (!json_is_string(x) || json_string_length(x) == 0 ||
		    json_string_length(x) > 64 || e->nkinds == 32) {
			snprintf(err, errlen,
			    "endpoints.%s.kinds: at most 32 kinds of 1 to 64 characters", name);
			return -1;
		}
		snprintf(e->kinds[e->nkinds++], sizeof(e->kinds[0]), "%s", json_string_value(x));
	}
	return 0;
}

static int
webhook_config(void *ctx, json_t *section, char *err, size_t errlen)
{
	struct webhook *w = ctx;
	struct endpoint *ep;
	json_t *v, *endpoints = NULL;
	const char *key;
	int allow_private = 0, n = 0;
	long long timeout_ms = 10000, dead_hours = 72;

	json_object_foreach (section, key, v) {
		if (strcmp(key, "endpoints") == 0 && json_is_object(v))
			endpoints = v;
		else if (strcmp(key, "allow_private") == 0 && json_is_boolean(v))
			allow_private = json_is_true(v);
		else if (strcmp(key, "timeout_ms") == 0 && json_is_integer(v) &&
		    json_integer_value(v) >= 1000 && json_integer_value(v) <= 60000)
			timeout_ms = json_integer_value(v);
		else if (strcmp(key, "dead_after_hours") == 0 && json_is_integer(v) &&
		    json_integer_value(v) >= 1 && json_integer_value(v) <= 720)
			dead_hours = json_integer_value(v);
		else {
			snprintf(err, errlen,
			    "%s: unknown setting, or out of range (endpoints: a table; "
			    "allow_private: "
			    "a boolean; timeout_ms: 1000 to 60000; dead_after_hours: 1 to 720)",
			    key);
			return -1;
		}
	}
	if (json_object_size(endpoints) > MAX_ENDPOINTS) {
		snprintf(err, errlen, "endpoints: at most %d", MAX_ENDPOINTS);
		return -1;
	}
	if ((ep = calloc(MAX_ENDPOINTS, sizeof(*ep))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_object_foreach (endpoints, key, v) {
		if (take_endpoint(key, v, allow_private, &ep[n], err, errlen) == -1) {
			explicit_bzero(ep, MAX_ENDPOINTS * sizeof(*ep));
			free(ep);
			return -1;
		}
		n++;
	}
	if (w->ep != NULL)
		explicit_bzero(w->ep, MAX_ENDPOINTS * sizeof(*w->ep));
	free(w->ep);
	w->ep = ep;
	w->nep = n;
	w->allow_private = allow_private;
	w->timeout_ms = (long)timeout_ms;
	w->dead_after_ms = dead_hours * 3600 * 1000;
	return 0;
}

static struct endpoint *
endpoint_named(struct webhook *w, const char *name)
{
	for (int i = 0; i < w->nep; i++)
		if (strcmp(w->ep[i].name, name) == 0)
			return &w->ep[i];
	return NULL;
}

static int
wants(const struct endpoint *e, const char *kind)
{
	if (e->nkinds == 0)
		return 1;
	for (int i = 0; i < e->nkinds; i++)
		if (strcmp(e->kinds[i], kind) == 0)
			return 1;
	return 0;
}

/* ---- the outbox into deliveries ---- */

static int
exec_done(struct webhook *w, sqlite3_stmt *st)
{
	int rc = st != NULL ? sqlite3_step(st) : SQLITE_ERROR;
	w->host->stmt_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
endpoint_disabled(struct webhook *w, const char *name)
{
	static const char sql[] = "SELECT 1 FROM notify_webhook_endpoints WHERE name = ?"
	                          " AND disabled_at IS NOT NULL";
	sqlite3_stmt *st = w->host->stmt(w->self, sql);
	int rc;

	if (st == NULL)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	w->host->stmt_done(st);
	return rc == SQLITE_ROW;
}

struct copy {
	struct webhook *w;
	json_t *claimed;
	int64_t now;
};

static int
copy_claimed(void *arg)
{
	static const char sql[] = "INSERT OR IGNORE INTO notify_webhook_deliveries (alert_id, "
	                          "endpoint, msg_id, kind, day,"
	                          " state, attempts, next_at, first_at, created_at, updated_at)"
	                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?7, ?8, ?8)";
	struct copy *c = arg;
	struct webhook *w = c->w;
	size_t i;
	json_t *e;
	time_t t = (time_t)(c->now / 1000);
	struct tm tm;
	char day[16], stamp[32], msg_id[48];

	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_array_foreach (c->claimed, i, e) {
		const char *kind = json_string_value(json_object_get(e, "kind"));
		/* One alert, one delivery: its entries (one per staff recipient) share it. */
		int64_t alert_id = json_integer_value(json_object_get(e, "alert_id"));
		if (alert_id <= 0 || kind == NULL)
			continue;
		snprintf(msg_id, sizeof(msg_id), "msg_tremplin_alert_%lld", (long long)alert_id);
		for (int k = 0; k < w->nep; k++) {
			if (!wants(&w->ep[k], kind))
				continue;
			sqlite3_stmt *st = w->host->stmt(w->self, sql);
			if (st == NULL)
				return -1;
			sqlite3_bind_int64(st, 1, alert_id);
			sqlite3_bind_text(st, 2, w->ep[k].name, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, msg_id, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 5, day, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 6,
			    endpoint_disabled(w, w->ep[k].name) ? "disabled" : "pending", -1,
			    SQLITE_STATIC);
			sqlite3_bind_int64(st, 7, c->now);
			sqlite3_bind_text(st, 8, stamp, -1, SQLITE_TRANSIENT);
			if (exec_done(w, st) == -1)
				return -1;
		}
	}
	return 0;
}

static void
take_outbox(struct webhook *w, int64_t now)
{
	struct copy c = { w, NULL, now };
	size_t i;
	json_t *e;

	for (int round = 0; round < 10; round++) {
		if ((c.claimed = w->host->outbox_claim(w->self, CLAIM_BATCH, LEASE_MS)) == NULL)
			return;
		if (json_array_size(c.claimed) == 0) {
			json_decref(c.claimed);
			return;
		}
		if (w->host->transaction(w->self, copy_claimed, &c) != 0) {
			/* The lease ends and they come again: nothing lost. */
			w->host->log(w->self, TREMPLIN_LOG_WARNING,
			    "cannot copy %zu notifications into deliveries; later",
			    json_array_size(c.claimed));
			json_decref(c.claimed);
			return;
		}
		json_array_foreach (c.claimed, i, e)
			w->host->outbox_done(
			    w->self, json_integer_value(json_object_get(e, "id")), 1, NULL, 0);
		size_t n = json_array_size(c.claimed);
		json_decref(c.claimed);
		if (n < CLAIM_BATCH)
			return;
	}
}

/* ---- sending ---- */

static void update_delivery(struct webhook *w, int64_t id, const char *state, int64_t next_at,
    long status, const char *error);
static void send_due(struct webhook *w, int64_t now, const char *only);

static void
delivered(const struct tremplin_http_response *r, void *arg)
{
	struct call *c = arg;
	struct webhook *w = c->w;
	struct endpoint *e = endpoint_named(w, c->endpoint);
	int64_t now = w->host->now_ms(w->self);
	int failed;
	uint64_t rnd = 0;

	if (e != NULL && e->in_flight > 0)
		e->in_flight--;
	if (r->error == TREMPLIN_HTTP_CANCELLED) {
		/* Stopping: the lease brings it back after a restart. */
		free(c);
		return;
	}
	if (r->error == TREMPLIN_HTTP_OK && r->status >= 200 && r->status < 300) {
		update_delivery(w, c->id, "sent", 0, r->status, NULL);
		/* Its place in flight goes to the endpoint's next due one, without a tick's wait. */
		send_due(w, now, c->endpoint);
		free(c);
		return;
	}
	if (r->error == TREMPLIN_HTTP_OK && r->status == 410) {
		/* Gone: the receiver asks for no more; the endpoint is off until replayed. */
		static const char off[] =
		    "INSERT INTO notify_webhook_endpoints (name, disabled_at, disabled_reason)"
		    " VALUES (?1, ?2, 'the receiver answered 410 Gone') ON CONFLICT (name) DO "
		    "UPDATE"
		    " SET disabled_at = ?2, disabled_reason = excluded.disabled_reason";
		static const char rest[] = "UPDATE notify_webhook_deliveries SET state = 'disabled'"
		                           " WHERE endpoint = ? AND state = 'pending'";
		char stamp[32];
		time_t t = (time_t)(now / 1000);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		sqlite3_stmt *st = w->host->stmt(w->self, off);
		if (st != NULL) {
			sqlite3_bind_text(st, 1, c->endpoint, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, stamp, -1, SQLITE_STATIC);
		}
		exec_done(w, st);
		update_delivery(w, c->id, "disabled", 0, 410, "410 Gone: endpoint disabled");
		if ((st = w->host->stmt(w->self, rest)) != NULL)
			sqlite3_bind_text(st, 1, c->endpoint, -1, SQLITE_STATIC);
		exec_done(w, st);
		w->host->log(w->self, TREMPLIN_LOG_WARNING,
		    "endpoint %s answered 410 Gone: disabled", c->endpoint);
		free(c);
		return;
	}
	/* Anything else is tried again: backoff with full jitter, or as Retry-After says. */
	{
		static const char sql[] =
		    "SELECT attempts FROM notify_webhook_deliveries WHERE id = ?";
		sqlite3_stmt *st = w->host->stmt(w->self, sql);
		failed = 1;
		if (st != NULL) {
			sqlite3_bind_int64(st, 1, c->id);
			if (sqlite3_step(st) == SQLITE_ROW)
				failed = sqlite3_column_int(st, 0);
		}
		w->host->stmt_done(st);
	}
	RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
	int64_t delay = webhook_backoff_ms(failed, rnd, BACKOFF_BASE_MS, BACKOFF_CAP_MS);
	if (r->error == TREMPLIN_HTTP_OK && (r->status == 429 || r->status == 503) &&
	    r->retry_after_s >= 0)
		delay =
		    (r->retry_after_s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : r->retry_after_s) *
		    1000;
	char why[200];
	if (r->error == TREMPLIN_HTTP_OK)
		snprintf(why, sizeof(why), "HTTP %ld", r->status);
	else
		snprintf(why, sizeof(why), "%s", r->error_text ? r->error_text : "failed");
	update_delivery(
	    w, c->id, "pending", now + delay, r->error == TREMPLIN_HTTP_OK ? r->status : 0, why);
	free(c);
}

static void
update_delivery(struct webhook *w, int64_t id, const char *state, int64_t next_at, long status,
    const char *error)
{
	static const char sql[] =
	    "UPDATE notify_webhook_deliveries SET state = ?1, next_at = coalesce(?2, next_at),"
	    " lease_until = NULL, last_status = ?3, last_error = ?4, updated_at = ?5 WHERE id = ?6";
	sqlite3_stmt *st = w->host->stmt(w->self, sql);
	int64_t now = w->host->now_ms(w->self);
	time_t t = (time_t)(now / 1000);
	struct tm tm;
	char stamp[32];

	if (st == NULL)
		return;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	if (next_at > 0)
		sqlite3_bind_int64(st, 2, next_at);
	if (status > 0)
		sqlite3_bind_int64(st, 3, status);
	if (error != NULL)
		sqlite3_bind_text(st, 4, error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, stamp, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, id);
	if (exec_done(w, st) == -1)
		w->host->log(w->self, TREMPLIN_LOG_WARNING, "cannot record delivery %lld as %s",
		    (long long)id, state);
}

/* The body, the same at every attempt: {id, kind, date, text}, sorted keys. */
static char *
payload(const char *msg_id, const char *kind, const char *day)
{
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:s}", "id", msg_id, "kind", kind, "date", day, "text", text_of(kind));
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return s;
}

static int
send_one(struct webhook *w, struct endpoint *e, int64_t id, const char *msg_id, const char *kind,
    const char *day, int64_t now)
{
	char ts[24], sigs[2 * WEBHOOK_SIG_SIZE + 1], err[256];
	char *body = payload(msg_id, kind, day);
	int64_t timestamp = now / 1000;
	struct call *c;

	if (body == NULL)
		return -1;
	snprintf(ts, sizeof(ts), "%lld", (long long)timestamp);
	/* Every valid secret signs, space-separated: a receiver with either verifies. */
	sigs[0] = '\0';
	for (int k = 0; k < e->nkeys; k++) {
		char one[WEBHOOK_SIG_SIZE];
		if (webhook_sign(e->key[k], e->keylen[k], msg_id, timestamp, body, strlen(body),
		        one, sizeof(one)) == -1) {
			free(body);
			return -1;
		}
		size_t at = strlen(sigs);
		snprintf(sigs + at, sizeof(sigs) - at, "%s%s", k ? " " : "", one);
	}
	const struct tremplin_http_header headers[] = {
		{ "Content-Type", "application/json" },
		{ "webhook-id", msg_id },
		{ "webhook-timestamp", ts },
		{ "webhook-signature", sigs },
	};
	const struct tremplin_http_request rq = {
		.method = "POST",
		.url = e->url,
		.headers = headers,
		.nheaders = 4,
		.body = body,
		.body_len = strlen(body),
		.timeout_ms = w->timeout_ms,
		.max_bytes = 65536,
	};
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		free(body);
		return -1;
	}
	c->w = w;
	c->id = id;
	snprintf(c->endpoint, sizeof(c->endpoint), "%s", e->name);
	if (w->host->http(w->self, &rq, delivered, c, err, sizeof(err)) != 0) {
		free(body);
		free(c);
		update_delivery(w, id, "pending", now + BACKOFF_BASE_MS, 0, err);
		return -1;
	}
	free(body);
	e->in_flight++;
	return 0;
}

static void
send_due(struct webhook *w, int64_t now, const char *only)
{
	/* Due: pending and its time come, or sending with its lease ended (a crash). */
	static const char due[] =
	    "SELECT id, msg_id, kind, day, first_at FROM notify_webhook_deliveries"
	    " WHERE endpoint = ?1 AND ((state = 'pending' AND next_at <= ?2)"
	    " OR (state = 'sending' AND lease_until <= ?2)) ORDER BY next_at, id LIMIT ?3";
	static const char take[] =
	    "UPDATE notify_webhook_deliveries SET state = 'sending', lease_until = ?1,"
	    " attempts = attempts + 1 WHERE id = ?2";
	static const char dead[] = "UPDATE notify_webhook_deliveries SET state = 'dead',"
	                           " lease_until = NULL WHERE id = ?";

	for (int k = 0; k < w->nep; k++) {
		struct endpoint *e = &w->ep[k];
		int room = IN_FLIGHT_PER_ENDPOINT - e->in_flight;
		json_t *rows = json_array();
		sqlite3_stmt *st;
		size_t i;
		json_t *r;

		if ((only != NULL && strcmp(only, e->name) != 0) || room <= 0 ||
		    endpoint_disabled(w, e->name) || (st = w->host->stmt(w->self, due)) == NULL) {
			json_decref(rows);
			continue;
		}
		sqlite3_bind_text(st, 1, e->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int(st, 3, room);
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(rows,
			    json_pack("{s:I, s:s, s:s, s:s, s:I}", "id",
			        (json_int_t)sqlite3_column_int64(st, 0), "msg_id",
			        (const char *)sqlite3_column_text(st, 1), "kind",
			        (const char *)sqlite3_column_text(st, 2), "day",
			        (const char *)sqlite3_column_text(st, 3), "first_at",
			        (json_int_t)sqlite3_column_int64(st, 4)));
		w->host->stmt_done(st);
		json_array_foreach (rows, i, r) {
			int64_t id = json_integer_value(json_object_get(r, "id"));
			if (now - json_integer_value(json_object_get(r, "first_at")) >
			    w->dead_after_ms) {
				if ((st = w->host->stmt(w->self, dead)) != NULL)
					sqlite3_bind_int64(st, 1, id);
				exec_done(w, st);
				w->host->log(w->self, TREMPLIN_LOG_WARNING,
				    "delivery %lld to %s is dead after its window", (long long)id,
				    e->name);
				continue;
			}
			if ((st = w->host->stmt(w->self, take)) == NULL)
				break;
			sqlite3_bind_int64(st, 1, now + w->timeout_ms + LEASE_MS);
			sqlite3_bind_int64(st, 2, id);
			if (exec_done(w, st) == -1)
				break;
			send_one(w, e, id, json_string_value(json_object_get(r, "msg_id")),
			    json_string_value(json_object_get(r, "kind")),
			    json_string_value(json_object_get(r, "day")), now);
		}
		json_decref(rows);
	}
}

static void
tick(int64_t now_ms, void *arg)
{
	struct webhook *w = arg;

	(void)now_ms;
	now_ms = w->host->now_ms(w->self);
	/* No endpoint: the outbox is left to the other channels. */
	if (w->nep > 0)
		take_outbox(w, now_ms);
	send_due(w, now_ms, NULL);
}

/* ---- routes ---- */

static const char *const list_query[] = { "state", "endpoint", "limit", "cursor", NULL };

static void
list_deliveries(struct tremplin_request *req, void *arg)
{
	static const char sql[] =
	    "SELECT id, endpoint, msg_id, kind, day, state, attempts, last_status, last_error,"
	    " created_at, updated_at FROM notify_webhook_deliveries WHERE id > ?1"
	    " AND (?2 IS NULL OR state = ?2) AND (?3 IS NULL OR endpoint = ?3) ORDER BY id LIMIT "
	    "?4";
	struct webhook *w = arg;
	const char *state = w->host->request_query(req, "state");
	const char *endpoint = w->host->request_query(req, "endpoint");
	int limit, n = 0;
	int64_t after, last = 0;
	sqlite3_stmt *st;

	if (w->host->page(req, &limit, &after) == -1)
		return;
	if (state != NULL && strcmp(state, "pending") != 0 && strcmp(state, "sending") != 0 &&
	    strcmp(state, "sent") != 0 && strcmp(state, "dead") != 0 &&
	    strcmp(state, "disabled") != 0) {
		w->host->reply_error(req, 400, "bad_request", "state",
		    "state must be pending, sending, sent, dead or disabled");
		return;
	}
	if ((st = w->host->stmt(w->self, sql)) == NULL) {
		w->host->reply_error(req, 500, "internal", NULL, "cannot read the deliveries");
		return;
	}
	sqlite3_bind_int64(st, 1, after);
	if (state != NULL)
		sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	if (endpoint != NULL)
		sqlite3_bind_text(st, 3, endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, limit + 1);
	json_t *items = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (++n > limit)
			break;
		last = sqlite3_column_int64(st, 0);
		json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I}", "id", (json_int_t)last,
		    "endpoint", (const char *)sqlite3_column_text(st, 1), "webhook_id",
		    (const char *)sqlite3_column_text(st, 2), "kind",
		    (const char *)sqlite3_column_text(st, 3), "date",
		    (const char *)sqlite3_column_text(st, 4), "state",
		    (const char *)sqlite3_column_text(st, 5), "attempts",
		    (json_int_t)sqlite3_column_int64(st, 6));
		json_object_set_new(o, "last_status",
		    sqlite3_column_type(st, 7) == SQLITE_NULL
		        ? json_null()
		        : json_integer(sqlite3_column_int64(st, 7)));
		json_object_set_new(o, "last_error",
		    sqlite3_column_type(st, 8) == SQLITE_NULL
		        ? json_null()
		        : json_string((const char *)sqlite3_column_text(st, 8)));
		json_object_set_new(
		    o, "created_at", json_string((const char *)sqlite3_column_text(st, 9)));
		json_object_set_new(
		    o, "updated_at", json_string((const char *)sqlite3_column_text(st, 10)));
		json_array_append_new(items, o);
	}
	w->host->stmt_done(st);
	w->host->reply(req, 200, w->host->list(items, n > limit ? last : 0));
}

/* A dead or disabled delivery goes again, with its window anew (and its endpoint back on). */
static void
replay(struct tremplin_request *req, void *arg)
{
	static const char sql[] =
	    "UPDATE notify_webhook_deliveries SET state = 'pending', next_at = ?1, first_at = ?1,"
	    " attempts = 0, lease_until = NULL WHERE id = ?2 AND state IN ('dead', 'disabled')"
	    " RETURNING endpoint";
	static const char on[] = "UPDATE notify_webhook_endpoints SET disabled_at = NULL,"
	                         " disabled_reason = NULL WHERE name = ?";
	struct webhook *w = arg;
	int64_t id = w->host->request_id(req, 0), now = w->host->now_ms(w->self);
	sqlite3_stmt *st;
	char endpoint[64] = "";
	int rc;

	if (w->host->begin(w->self) != 0) {
		w->host->reply_error(req, 503, "unavailable", NULL, "the database is busy");
		return;
	}
	if ((st = w->host->stmt(w->self, sql)) == NULL) {
		w->host->rollback(w->self);
		w->host->reply_error(req, 500, "internal", NULL, "cannot replay");
		return;
	}
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		snprintf(
		    endpoint, sizeof(endpoint), "%s", (const char *)sqlite3_column_text(st, 0));
	w->host->stmt_done(st);
	if (rc != SQLITE_ROW) {
		w->host->rollback(w->self);
		w->host->reply_error(req, 409, "conflict", "state",
		    "delivery %lld is not dead nor disabled (or does not exist)", (long long)id);
		return;
	}
	if ((st = w->host->stmt(w->self, on)) != NULL)
		sqlite3_bind_text(st, 1, endpoint, -1, SQLITE_STATIC);
	if (exec_done(w, st) == -1 || w->host->commit(w->self) != 0) {
		w->host->rollback(w->self);
		w->host->reply_error(req, 500, "internal", NULL, "cannot replay");
		return;
	}
	w->host->log(
	    w->self, TREMPLIN_LOG_INFO, "delivery %lld to %s replayed", (long long)id, endpoint);
	w->host->reply(req, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", "pending"));
}

static const struct tremplin_migration migrations[] = {
	{ 1,
	    "CREATE TABLE notify_webhook_deliveries ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  alert_id INTEGER NOT NULL,"
	    "  endpoint TEXT NOT NULL,"
	    "  msg_id TEXT NOT NULL," /* webhook-id: the same at every attempt */
	    "  kind TEXT NOT NULL,"
	    "  day TEXT NOT NULL,"
	    "  state TEXT NOT NULL," /* pending, sending, sent, dead, disabled */
	    "  attempts INTEGER NOT NULL,"
	    "  next_at INTEGER NOT NULL,"
	    "  lease_until INTEGER,"
	    "  first_at INTEGER NOT NULL,"
	    "  last_status INTEGER,"
	    "  last_error TEXT,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL,"
	    "  UNIQUE (alert_id, endpoint));"
	    "CREATE INDEX notify_webhook_due ON notify_webhook_deliveries (endpoint, state, "
	    "next_at);"
	    "CREATE TABLE notify_webhook_endpoints (name TEXT PRIMARY KEY, disabled_at TEXT,"
	    " disabled_reason TEXT);" },
};

static int
webhook_init(const struct tremplin_host *host, struct tremplin_plugin *self, void **ctx)
{
	struct webhook *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	w->host = host;
	w->self = self;
	w->timeout_ms = 10000;
	w->dead_after_ms = 72 * 3600 * 1000LL;
	*ctx = w;
	const struct tremplin_route_spec list = {
		.size = sizeof(list),
		.methods = TREMPLIN_GET,
		.path = "/deliveries",
		.roles = TREMPLIN_ROLE_COORDINATOR | TREMPLIN_ROLE_ADMIN,
		.query = list_query,
		.fn = list_deliveries,
		.arg = w,
	};
	const struct tremplin_route_spec again = {
		.size = sizeof(again),
		.methods = TREMPLIN_POST,
		.path = "/deliveries/{id}/replay",
		.roles = TREMPLIN_ROLE_COORDINATOR | TREMPLIN_ROLE_ADMIN,
		.fn = replay,
		.arg = w,
	};
	if (host->migrations(self, migrations, sizeof(migrations) / sizeof(migrations[0])) != 0 ||
	    host->route(self, &list) != 0 || host->route(self, &again) != 0) {
		free(w);
		*ctx = NULL;
		return -1;
	}
	return 0;
}

static int
webhook_start(void *ctx)
{
	struct webhook *w = ctx;

	/* A channel from now: what is queued before the first tick is ours too. */
	if (w->nep > 0)
		json_decref(w->host->outbox_claim(w->self, 0, LEASE_MS));
	return w->host->every(w->self, "tick", 1000, 0, tick, w);
}

static void
webhook_stop(void *ctx)
{
	struct webhook *w = ctx;

	if (w == NULL)
		return;
	if (w->ep != NULL)
		explicit_bzero(w->ep, MAX_ENDPOINTS * sizeof(*w->ep));
	free(w->ep);
	free(w);
}

TREMPLIN_PLUGIN(.name = "notify_webhook", .version = "1.0.0",
    .description = "alerts told to partners as signed webhooks (Standard Webhooks)",
    .init = webhook_init, .config = webhook_config, .start = webhook_start, .stop = webhook_stop);
