/*
 * notify_mail: the alerts, told to their staff recipients by e-mail (SMTP
 * through libcurl, STARTTLS or SMTPS, certificates always verified).
 *
 * The shape of notify_webhook: every tick it claims the outbox, copies each
 * entry's recipients (staff accounts, as the alerts core resolved them, with
 * their e-mail, in the claim's rows) into its own deliveries, one per alert
 * and account (UNIQUE (alert_id, staff_id)), and says the entries done.
 * Deliveries are then sent on a curl multi handle of its own that the
 * host's timers drive (libcurl's SMTP is blocking under curl_easy_perform,
 * and the host's HTTP client takes https:// only): the loop never waits.
 * At least once: a delivery is 'sending' under a lease; a crash sends it
 * again after the lease with the same Message-ID.
 *
 * The message is the least: a subject and a body per kind from templates
 * (etc/notify_mail/<kind>.txt, the site's own in templates_dir), filled with
 * the recipient's name and the alert's number; never the staff message.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/rand.h>
#include <tremplin/plugin.h>

#include "mime.h"

#ifndef NOTIFY_MAIL_TEMPLATES
#define NOTIFY_MAIL_TEMPLATES "/etc/tremplin/notify_mail"
#endif

#define CLAIM_BATCH 100
#define LEASE_MS 60000
#define IN_FLIGHT 4
#define BACKOFF_BASE_MS 60000LL
#define BACKOFF_CAP_MS (6 * 3600 * 1000LL)
#define PUMP_MS 20

struct mail {
	const struct tremplin_host *host;
	struct tremplin_plugin *self;
	char url[512];
	char from[256];
	char from_name[128];
	char domain[128];
	char user[128];
	char password[256];
	char ca_file[512];
	char templates[512];
	long timeout_ms;
	int64_t dead_after_ms;
	int digest_hour; /* the daemon's local time */
	CURLM *multi;
	int in_flight;
	int64_t pump_timer;
	struct send *sends; /* in flight */
};

struct send {
	struct send *next;
	struct mail *m;
	int64_t id;
	char *msg;
	size_t len, at;
	struct curl_slist *rcpt;
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
};

/* ---- configuration ---- */

static int
read_auth(const char *path, struct mail *m, char *err, size_t errlen)
{
	char buf[512], *colon, *nl;
	struct stat sb;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "auth_file: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0) {
		close(fd);
		snprintf(err, errlen, "auth_file: %s must be a regular file of mode 0600", path);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || (size_t)n == sizeof(buf) - 1) {
		snprintf(err, errlen, "auth_file: %s is empty, unreadable or too long", path);
		return -1;
	}
	buf[n] = '\0';
	if ((nl = strpbrk(buf, "\r\n")) != NULL)
		*nl = '\0';
	if ((colon = strchr(buf, ':')) == NULL || colon == buf ||
	    (size_t)(colon - buf) >= sizeof(m->user) || strlen(colon + 1) >= sizeof(m->password)) {
		explicit_bzero(buf, sizeof(buf));
		snprintf(err, errlen, "auth_file: %s: expected one line user:password", path);
		return -1;
	}
	*colon = '\0';
	memcpy(m->user, buf, (size_t)(colon - buf) + 1);
	memcpy(m->password, colon + 1, strlen(colon + 1) + 1);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static int
take_string(json_t *v, char *dst, size_t size)
{
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= size)
		return -1;
	snprintf(dst, size, "%s", json_string_value(v));
	return 0;
}

static int
mail_config(void *ctx, json_t *section, char *err, size_t errlen)
{
	struct mail *m = ctx, n;
	const char *key, *auth = NULL, *at;
	json_t *v;

	memset(&n, 0, sizeof(n));
	snprintf(n.from_name, sizeof(n.from_name), "Tremplin");
	snprintf(n.templates, sizeof(n.templates), "%s", NOTIFY_MAIL_TEMPLATES);
	n.timeout_ms = 30000;
	n.dead_after_ms = 96 * 3600 * 1000LL;
	n.digest_hour = 7;
	json_object_foreach (section, key, v) {
		int bad = 0;
		if (strcmp(key, "url") == 0)
			bad = take_string(v, n.url, sizeof(n.url)) ||
			    (strncmp(n.url, "smtps://", 8) != 0 &&
			        strncmp(n.url, "smtp://", 7) != 0);
		else if (strcmp(key, "from") == 0)
			bad = take_string(v, n.from, sizeof(n.from)) ||
			    strpbrk(n.from, "\r\n<>\" ") != NULL || strchr(n.from, '@') == NULL;
		else if (strcmp(key, "from_name") == 0)
			bad = take_string(v, n.from_name, sizeof(n.from_name));
		else if (strcmp(key, "auth_file") == 0)
			bad = !json_is_string(v) || (auth = json_string_value(v)) == NULL;
		else if (strcmp(key, "ca_file") == 0)
			bad = take_string(v, n.ca_file, sizeof(n.ca_file));
		else if (strcmp(key, "templates_dir") == 0)
			bad = take_string(v, n.templates, sizeof(n.templates));
		else if (strcmp(key, "timeout_ms") == 0)
			bad = !json_is_integer(v) || json_integer_value(v) < 1000 ||
			    json_integer_value(v) > 120000 ||
			    (n.timeout_ms = (long)json_integer_value(v)) == 0;
		else if (strcmp(key, "digest_hour") == 0)
			bad = !json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > 23 ||
			    ((n.digest_hour = (int)json_integer_value(v)), 0);
		else if (strcmp(key, "dead_after_hours") == 0)
			bad = !json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 720 ||
			    (n.dead_after_ms = json_integer_value(v) * 3600 * 1000) == 0;
		else
			bad = 1;
		if (bad) {
			snprintf(err, errlen,
			    "%s: unknown setting, or not of its type (url: smtps:// or smtp:// "
			    "with "
			    "STARTTLS; from: an address; from_name, auth_file, ca_file, "
			    "templates_dir: strings; timeout_ms: 1000 to 120000; digest_hour: 0 to "
			    "23; "
			    "dead_after_hours: 1 to 720)",
			    key);
			return -1;
		}
	}
	/* Neither: loaded and idle, the outbox left to the other channels. One: a mistake. */
	if ((n.url[0] == '\0') != (n.from[0] == '\0')) {
		snprintf(err, errlen, "%s: required with %s", n.url[0] == '\0' ? "url" : "from",
		    n.url[0] == '\0' ? "from" : "url");
		return -1;
	}
	if (auth != NULL && read_auth(auth, &n, err, errlen) == -1)
		return -1;
	if ((at = strchr(n.from, '@')) != NULL)
		snprintf(n.domain, sizeof(n.domain), "%s", at + 1);
	else
		m->host->log(m->self, TREMPLIN_LOG_INFO,
		    "idle: no url nor from set, no e-mail is sent (see the plugin's README)");
	/* Keep what runs (host, multi handle); take the settings. */
	n.host = m->host;
	n.self = m->self;
	n.multi = m->multi;
	n.in_flight = m->in_flight;
	n.pump_timer = m->pump_timer;
	n.sends = m->sends;
	explicit_bzero(m, sizeof(*m));
	*m = n;
	explicit_bzero(&n, sizeof(n));
	return 0;
}

/* ---- templates ---- */

/* The site's template of kind (or default), read whole: a new string, or NULL. */
static char *
read_template(struct mail *m, const char *kind)
{
	char path[1024];
	const char *names[] = { kind, "default" };

	for (int i = 0; i < 2; i++) {
		if (strspn(names[i], "abcdefghijklmnopqrstuvwxyz0123456789_.") !=
		        strlen(names[i]) ||
		    names[i][0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s.txt", m->templates, names[i]);
		FILE *f = fopen(path, "re");
		if (f == NULL)
			continue;
		char *buf = malloc(8192);
		size_t n = buf ? fread(buf, 1, 8191, f) : 0;
		fclose(f);
		if (buf == NULL)
			return NULL;
		buf[n] = '\0';
		return buf;
	}
	return NULL;
}

/*
 * tpl with {nom}, {alerte}, {nombre} and {liste} replaced (list: NULL in a
 * single alert's message): a new string, or NULL.
 */
static char *
fill(const char *tpl, const char *name, int64_t alert_id, int count, const char *list)
{
	char num[24], cnt[24];
	size_t cap = strlen(tpl) + 1, at = 0;
	char *out;

	if (list == NULL)
		list = "";
	snprintf(num, sizeof(num), "%lld", (long long)alert_id);
	snprintf(cnt, sizeof(cnt), "%d", count);
	for (const char *p = tpl; (p = strchr(p, '{')) != NULL; p++)
		cap += strlen(name) + sizeof(num) + strlen(list);
	if ((out = malloc(cap)) == NULL)
		return NULL;
	for (const char *p = tpl; *p != '\0';) {
		const char *put = NULL;
		size_t skip = 1;
		if (strncmp(p, "{nom}", 5) == 0)
			put = name, skip = 5;
		else if (strncmp(p, "{alerte}", 8) == 0)
			put = num, skip = 8;
		else if (strncmp(p, "{nombre}", 8) == 0)
			put = cnt, skip = 8;
		else if (strncmp(p, "{liste}", 7) == 0)
			put = list, skip = 7;
		if (put != NULL) {
			size_t k = strlen(put);
			memcpy(out + at, put, k);
			at += k;
		} else
			out[at++] = *p;
		p += skip;
	}
	out[at] = '\0';
	return out;
}

/* A template's first line (its subject), without the "Tremplin : " a digest line needs not. */
static int
summary_of(struct mail *m, const char *kind, char *out, size_t size)
{
	char *tpl = read_template(m, kind);
	const char *p;

	if (tpl == NULL)
		return -1;
	tpl[strcspn(tpl, "\n")] = '\0';
	p = strncmp(tpl, "Tremplin : ", 11) == 0 ? tpl + 11 : tpl;
	snprintf(out, size, "%s", p);
	free(tpl);
	return 0;
}

/*
 * The message of a batch: one alert (a kind's template), or a digest of
 * several (digest.txt, a line per alert). The template's first line is
 * the subject, the rest (after a blank line) the body. A new string, or
 * NULL.
 */
static char *
compose(struct mail *m, json_t *alerts, int digest, int64_t batch, int64_t staff_id,
    const char *name, const char *email, int64_t now)
{
	const char *kind = json_string_value(json_object_get(json_array_get(alerts, 0), "kind"));
	int64_t alert_id =
	    json_integer_value(json_object_get(json_array_get(alerts, 0), "alert_id"));
	char *tpl, *text, *nl, msgid[256], *msg, *list = NULL;
	size_t i, cap = 0, at = 0;
	json_t *a;

	if (kind == NULL || (tpl = read_template(m, digest ? "digest" : kind)) == NULL) {
		m->host->log(m->self, TREMPLIN_LOG_WARNING, "no template for %s nor default in %s",
		    digest     ? "digest"
		        : kind ? kind
		               : "?",
		    m->templates);
		return NULL;
	}
	if (digest) {
		cap = json_array_size(alerts) * 300 + 1;
		if ((list = malloc(cap)) == NULL) {
			free(tpl);
			return NULL;
		}
		list[0] = '\0';
		json_array_foreach (alerts, i, a) {
			char line[256];
			if (summary_of(m, json_string_value(json_object_get(a, "kind")), line,
			        sizeof(line)) == -1)
				snprintf(line, sizeof(line), "une alerte à traiter");
			int w = snprintf(list + at, cap - at, "- alerte n° %lld : %s\n",
			    (long long)json_integer_value(json_object_get(a, "alert_id")), line);
			if (w > 0 && (size_t)w < cap - at)
				at += (size_t)w;
		}
	}
	text = fill(tpl, name, alert_id, (int)json_array_size(alerts), list);
	free(tpl);
	free(list);
	if (text == NULL || (nl = strchr(text, '\n')) == NULL) {
		free(text);
		return NULL;
	}
	*nl = '\0';
	const char *body = nl + 1;
	while (*body == '\n')
		body++;
	int ok = digest ? snprintf(msgid, sizeof(msgid), "<tremplin.digest.%lld.%lld@%s>",
	                      (long long)batch, (long long)staff_id, m->domain) < (int)sizeof(msgid)
	                : mime_message_id(alert_id, staff_id, m->domain, msgid, sizeof(msgid)) == 0;
	if (!ok) {
		free(text);
		return NULL;
	}
	msg = mime_message(m->from_name, m->from, email, text, body, msgid, (time_t)(now / 1000));
	free(text);
	return msg;
}

/* ---- the outbox into deliveries ---- */

static int
exec_done(struct mail *m, sqlite3_stmt *st)
{
	int rc = st != NULL ? sqlite3_step(st) : SQLITE_ERROR;
	m->host->stmt_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void
stamp_of(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct copy {
	struct mail *m;
	json_t *claimed;
	int64_t now;
};

static int
copy_claimed(void *arg)
{
	static const char sql[] =
	    "INSERT OR IGNORE INTO notify_mail_deliveries (alert_id, staff_id, kind, state,"
	    " attempts, next_at, first_at, last_error, created_at, updated_at)"
	    " VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5, ?6, ?7, ?7)";
	struct copy *c = arg;
	char stamp[32];
	size_t i, j;
	json_t *e, *r;

	stamp_of(c->now, stamp, sizeof(stamp));
	json_array_foreach (c->claimed, i, e) {
		const char *kind = json_string_value(json_object_get(e, "kind"));
		int64_t alert_id = json_integer_value(json_object_get(e, "alert_id"));
		if (alert_id <= 0 || kind == NULL)
			continue;
		json_array_foreach (json_object_get(e, "recipients"), j, r) {
			int has = json_is_string(json_object_get(r, "email"));
			sqlite3_stmt *st = c->m->host->stmt(c->m->self, sql);
			if (st == NULL)
				return -1;
			sqlite3_bind_int64(st, 1, alert_id);
			sqlite3_bind_int64(
			    st, 2, json_integer_value(json_object_get(r, "staff_id")));
			sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
			/* An account without an address: visible, not retried. */
			sqlite3_bind_text(st, 4, has ? "pending" : "dead", -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 5, c->now);
			if (!has)
				sqlite3_bind_text(
				    st, 6, "the account has no email", -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 7, stamp, -1, SQLITE_TRANSIENT);
			if (exec_done(c->m, st) == -1)
				return -1;
		}
	}
	return 0;
}

static void
take_outbox(struct mail *m, int64_t now)
{
	struct copy c = { m, NULL, now };
	size_t i, n;
	json_t *e;

	for (int round = 0; round < 10; round++) {
		if ((c.claimed = m->host->outbox_claim(m->self, CLAIM_BATCH, LEASE_MS)) == NULL)
			return;
		if ((n = json_array_size(c.claimed)) == 0) {
			json_decref(c.claimed);
			return;
		}
		if (m->host->transaction(m->self, copy_claimed, &c) != 0) {
			m->host->log(m->self, TREMPLIN_LOG_WARNING,
			    "cannot copy %zu notifications into deliveries; later", n);
			json_decref(c.claimed);
			return;
		}
		json_array_foreach (c.claimed, i, e)
			m->host->outbox_done(
			    m->self, json_integer_value(json_object_get(e, "id")), 1, NULL, 0);
		json_decref(c.claimed);
		if (n < CLAIM_BATCH)
			return;
	}
}

/* ---- sending ---- */

/* Full jitter: uniform in 0 .. min(cap, base * 2^(n-1)). */
static int64_t
backoff_ms(int attempts)
{
	uint64_t rnd = 0;
	int64_t ceiling = BACKOFF_BASE_MS;

	for (int i = 1; i < attempts && ceiling < BACKOFF_CAP_MS; i++)
		ceiling *= 2;
	if (ceiling > BACKOFF_CAP_MS)
		ceiling = BACKOFF_CAP_MS;
	RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
	return (int64_t)(rnd % (uint64_t)(ceiling + 1));
}

static void
update_delivery(struct mail *m, int64_t id, const char *state, int64_t next_at, const char *error)
{
	static const char sql[] =
	    "UPDATE notify_mail_deliveries SET state = ?1, next_at = coalesce(?2, next_at),"
	    " lease_until = NULL, last_error = ?3, updated_at = ?4 WHERE batch = ?5";
	sqlite3_stmt *st = m->host->stmt(m->self, sql);
	char stamp[32];

	if (st == NULL)
		return;
	stamp_of(m->host->now_ms(m->self), stamp, sizeof(stamp));
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	if (next_at > 0)
		sqlite3_bind_int64(st, 2, next_at);
	if (error != NULL)
		sqlite3_bind_text(st, 3, error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, stamp, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, id);
	if (exec_done(m, st) == -1)
		m->host->log(m->self, TREMPLIN_LOG_WARNING, "cannot record delivery %lld as %s",
		    (long long)id, state);
}

static size_t
read_msg(char *buf, size_t size, size_t nitems, void *arg)
{
	struct send *s = arg;
	size_t room = size * nitems, left = s->len - s->at;
	size_t k = left < room ? left : room;

	memcpy(buf, s->msg + s->at, k);
	s->at += k;
	return k;
}

static void
send_free(struct send *s)
{
	for (struct send **p = &s->m->sends; *p != NULL; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	curl_slist_free_all(s->rcpt);
	free(s->msg);
	free(s);
}

static void pump(int64_t now_ms, void *arg);

static void
schedule_pump(struct mail *m)
{
	if (m->pump_timer == 0 && m->in_flight > 0)
		m->pump_timer = m->host->after(m->self, PUMP_MS, pump, m);
}

static void
finished(struct mail *m, CURL *easy, CURLcode rc)
{
	struct send *s = NULL;
	long code = 0;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&s);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(m->multi, easy);
	curl_easy_cleanup(easy);
	m->in_flight--;
	if (rc == CURLE_OK) {
		update_delivery(m, s->id, "sent", 0, NULL);
		m->host->log(m->self, TREMPLIN_LOG_INFO, "delivery %lld sent", (long long)s->id);
	} else {
		static const char sql[] =
		    "SELECT max(attempts) FROM notify_mail_deliveries WHERE batch = ?";
		sqlite3_stmt *st = m->host->stmt(m->self, sql);
		int attempts = 1;
		char why[CURL_ERROR_SIZE + 64];
		if (st != NULL) {
			sqlite3_bind_int64(st, 1, s->id);
			if (sqlite3_step(st) == SQLITE_ROW)
				attempts = sqlite3_column_int(st, 0);
		}
		m->host->stmt_done(st);
		snprintf(why, sizeof(why), "%s (SMTP %ld)",
		    s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc), code);
		/* 5xx from the server is as likely a misconfiguration as a bad address: retried too. */
		update_delivery(
		    m, s->id, "pending", m->host->now_ms(m->self) + backoff_ms(attempts), why);
		m->host->log(m->self, TREMPLIN_LOG_WARNING, "delivery %lld failed: %s",
		    (long long)s->id, why);
	}
	send_free(s);
}

static void
pump(int64_t now_ms, void *arg)
{
	struct mail *m = arg;
	CURLMsg *msg;
	int running, left;

	(void)now_ms;
	m->pump_timer = 0;
	curl_multi_perform(m->multi, &running);
	while ((msg = curl_multi_info_read(m->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			finished(m, msg->easy_handle, msg->data.result);
	schedule_pump(m);
}

static int
start_send(struct mail *m, int64_t id, char *msg, const char *email)
{
	struct send *s = calloc(1, sizeof(*s));
	CURL *e = curl_easy_init();
	char rcpt[300];

	if (s == NULL || e == NULL ||
	    snprintf(rcpt, sizeof(rcpt), "<%s>", email) >= (int)sizeof(rcpt)) {
		free(s);
		free(msg);
		curl_easy_cleanup(e);
		return -1;
	}
	s->m = m;
	s->id = id;
	s->msg = msg;
	s->len = strlen(msg);
	s->rcpt = curl_slist_append(NULL, rcpt);
	curl_easy_setopt(e, CURLOPT_URL, m->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	/* smtp:// must upgrade with STARTTLS or fail; peer and host always verified. */
	curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (m->ca_file[0] != '\0')
		curl_easy_setopt(e, CURLOPT_CAINFO, m->ca_file);
	if (m->user[0] != '\0') {
		curl_easy_setopt(e, CURLOPT_USERNAME, m->user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, m->password);
	}
	char from[300];
	snprintf(from, sizeof(from), "<%s>", m->from);
	curl_easy_setopt(e, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, s->rcpt);
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, read_msg);
	curl_easy_setopt(e, CURLOPT_READDATA, s);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, m->timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, s);
	if (curl_multi_add_handle(m->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		send_free(s);
		return -1;
	}
	s->easy = e;
	s->next = m->sends;
	m->sends = s;
	m->in_flight++;
	schedule_pump(m);
	return 0;
}

/* The next digest_hour:00, the daemon's local time, at or after now. */
static int64_t
next_digest(struct mail *m, int64_t now)
{
	time_t t = (time_t)(now / 1000), d;
	struct tm tm;

	localtime_r(&t, &tm);
	for (int day = 0; day < 3; day++) {
		struct tm x = tm;
		x.tm_mday += day;
		x.tm_hour = m->digest_hour;
		x.tm_min = x.tm_sec = 0;
		x.tm_isdst = -1;
		if ((d = mktime(&x)) != (time_t)-1 && (int64_t)d * 1000 >= now)
			return (int64_t)d * 1000;
	}
	return now + 24 * 3600 * 1000LL;
}

static int
run(struct mail *m, const char *sql, int64_t a, int64_t b)
{
	sqlite3_stmt *st = m->host->stmt(m->self, sql);

	if (st != NULL) {
		sqlite3_bind_int64(st, 1, a);
		sqlite3_bind_int64(st, 2, b);
	}
	return exec_done(m, st);
}

/*
 * What is due goes out in batches: an alert alone (batch = its delivery's
 * id) or, for an account that chose the daily digest, every alert waiting
 * at the digest hour (batch = the smallest id). A batch keeps its number,
 * hence its Message-ID, through its retries.
 */
static void
make_batches(struct mail *m, int64_t now)
{
	/* Not yet sent to an account that chose the digest: wait for the digest hour. */
	static const char defer[] =
	    "UPDATE notify_mail_deliveries SET digest = 1, next_at = ?1 WHERE state = 'pending'"
	    " AND batch IS NULL AND digest = 0 AND ?2 >= 0 AND staff_id IN"
	    " (SELECT staff_id FROM notify_mail_prefs WHERE digest = 1)";
	/* The groups are computed before the update (an aggregate is materialized). */
	static const char digests[] =
	    "UPDATE notify_mail_deliveries AS d SET batch = g.b FROM (SELECT staff_id, min(id) AS b"
	    " FROM notify_mail_deliveries WHERE digest = 1 AND batch IS NULL AND state = 'pending'"
	    " AND next_at <= ?1 AND ?2 >= 0 GROUP BY staff_id) AS g WHERE d.staff_id = g.staff_id"
	    " AND d.digest = 1 AND d.batch IS NULL AND d.state = 'pending' AND d.next_at <= ?1";
	static const char alone[] =
	    "UPDATE notify_mail_deliveries SET batch = id WHERE digest = 0 AND batch IS NULL"
	    " AND state = 'pending' AND next_at <= ?1 AND ?2 >= 0";

	if (run(m, defer, next_digest(m, now), 0) == -1 || run(m, digests, now, 0) == -1 ||
	    run(m, alone, now, 0) == -1)
		m->host->log(m->self, TREMPLIN_LOG_WARNING, "cannot make the batches due; later");
}

static void
send_due(struct mail *m, int64_t now)
{
	static const char due[] =
	    "SELECT batch, staff_id, max(digest), min(first_at) FROM notify_mail_deliveries"
	    " WHERE batch IS NOT NULL AND ((state = 'pending' AND next_at <= ?1)"
	    " OR (state = 'sending' AND lease_until <= ?1)) GROUP BY batch, staff_id"
	    " ORDER BY min(next_at), batch LIMIT ?2";
	static const char alerts_of[] = "SELECT alert_id, kind FROM notify_mail_deliveries"
	                                " WHERE batch = ? ORDER BY alert_id";
	static const char take[] = "UPDATE notify_mail_deliveries SET state = 'sending',"
	                           " lease_until = ?1, attempts = attempts + 1 WHERE batch = ?2";
	int room = IN_FLIGHT - m->in_flight;
	sqlite3_stmt *st;
	json_t *rows, *r;
	size_t i;

	if (room <= 0)
		return;
	make_batches(m, now);
	if ((st = m->host->stmt(m->self, due)) == NULL)
		return;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, room);
	rows = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(rows,
		    json_pack("{s:I, s:I, s:b, s:I}", "batch",
		        (json_int_t)sqlite3_column_int64(st, 0), "staff_id",
		        (json_int_t)sqlite3_column_int64(st, 1), "digest",
		        sqlite3_column_int(st, 2), "first_at",
		        (json_int_t)sqlite3_column_int64(st, 3)));
	m->host->stmt_done(st);
	json_array_foreach (rows, i, r) {
		int64_t batch = json_integer_value(json_object_get(r, "batch"));
		int64_t staff_id = json_integer_value(json_object_get(r, "staff_id"));
		struct tremplin_error err = { 0 };
		if (now - json_integer_value(json_object_get(r, "first_at")) > m->dead_after_ms) {
			update_delivery(m, batch, "dead", 0, "not delivered within its window");
			m->host->log(m->self, TREMPLIN_LOG_WARNING,
			    "delivery %lld is dead after its window", (long long)batch);
			continue;
		}
		/* The address now (it may have changed since the alert). */
		json_t *staff = m->host->record_get(m->self, NULL, "staff", staff_id, &err);
		const char *email = json_string_value(json_object_get(staff, "email"));
		const char *name = json_string_value(json_object_get(staff, "name"));
		if (email == NULL || !json_is_true(json_object_get(staff, "active"))) {
			update_delivery(
			    m, batch, "dead", 0, "the account has no email or is inactive");
			json_decref(staff);
			continue;
		}
		json_t *alerts = json_array();
		if ((st = m->host->stmt(m->self, alerts_of)) != NULL) {
			sqlite3_bind_int64(st, 1, batch);
			while (sqlite3_step(st) == SQLITE_ROW)
				json_array_append_new(alerts,
				    json_pack("{s:I, s:s}", "alert_id",
				        (json_int_t)sqlite3_column_int64(st, 0), "kind",
				        (const char *)sqlite3_column_text(st, 1)));
			m->host->stmt_done(st);
		}
		char *msg = compose(m, alerts, json_is_true(json_object_get(r, "digest")), batch,
		    staff_id, name ? name : "", email, now);
		json_decref(alerts);
		if (msg == NULL) {
			update_delivery(
			    m, batch, "pending", now + BACKOFF_BASE_MS, "cannot compose");
			json_decref(staff);
			continue;
		}
		if ((st = m->host->stmt(m->self, take)) != NULL) {
			sqlite3_bind_int64(st, 1, now + m->timeout_ms + LEASE_MS);
			sqlite3_bind_int64(st, 2, batch);
		}
		if (exec_done(m, st) == -1 || start_send(m, batch, msg, email) == -1)
			update_delivery(m, batch, "pending", now + BACKOFF_BASE_MS, "cannot start");
		json_decref(staff);
	}
	json_decref(rows);
}

/* ---- the recipient's choice: each alert at once, or a daily digest ---- */

static void preference(struct tremplin_request *req, void *arg, int writing);

static void
preference_get(struct tremplin_request *req, void *arg)
{
	preference(req, arg, 0);
}

static void
preference_put(struct tremplin_request *req, void *arg)
{
	preference(req, arg, 1);
}

static void
preference(struct tremplin_request *req, void *arg, int writing)
{
	static const char get[] = "SELECT digest FROM notify_mail_prefs WHERE staff_id = ?";
	static const char put[] = "INSERT INTO notify_mail_prefs (staff_id, digest) VALUES (?1, ?2)"
	                          " ON CONFLICT (staff_id) DO UPDATE SET digest = ?2";
	static const struct tremplin_field fields[] = {
		{ "digest", TREMPLIN_FIELD_BOOLEAN, TREMPLIN_FIELD_REQUIRED },
	};
	struct mail *m = arg;
	struct tremplin_caller c = { 0 };
	json_t *body = m->host->request_body(req);
	sqlite3_stmt *st;
	int digest = 0;

	m->host->request_caller(req, &c);
	if (c.staff_id <= 0) {
		m->host->reply_error(req, 403, "forbidden", NULL, "no staff account");
		return;
	}
	if (writing && !json_is_object(body)) {
		m->host->reply_error(
		    req, 400, "bad_request", "digest", "expected a JSON object {digest: boolean}");
		return;
	}
	if (writing) {
		if (m->host->check_fields(req, body, fields, 1, 1) == -1)
			return;
		digest = json_is_true(json_object_get(body, "digest"));
		if (run(m, put, c.staff_id, digest) == -1) {
			m->host->reply_error(
			    req, 500, "internal", NULL, "cannot record the choice");
			return;
		}
	} else if ((st = m->host->stmt(m->self, get)) != NULL) {
		sqlite3_bind_int64(st, 1, c.staff_id);
		if (sqlite3_step(st) == SQLITE_ROW)
			digest = sqlite3_column_int(st, 0);
		m->host->stmt_done(st);
	}
	m->host->reply(
	    req, 200, json_pack("{s:b, s:i}", "digest", digest, "digest_hour", m->digest_hour));
}

static void
tick(int64_t now_ms, void *arg)
{
	struct mail *m = arg;

	(void)now_ms;
	now_ms = m->host->now_ms(m->self);
	/* Idle (no server set): the outbox is left to the other channels. */
	if (m->url[0] == '\0')
		return;
	take_outbox(m, now_ms);
	send_due(m, now_ms);
}

/* ---- routes ---- */

static const char *const list_query[] = { "state", "limit", "cursor", NULL };

static void
list_deliveries(struct tremplin_request *req, void *arg)
{
	static const char sql[] =
	    "SELECT id, alert_id, staff_id, kind, state, attempts, last_error, created_at,"
	    " updated_at, batch, digest FROM notify_mail_deliveries WHERE id > ?1 AND (?2 IS NULL "
	    "OR state = ?2)"
	    " ORDER BY id LIMIT ?3";
	struct mail *m = arg;
	const char *state = m->host->request_query(req, "state");
	int limit, n = 0;
	int64_t after, last = 0;
	sqlite3_stmt *st;
	char msgid[256];

	if (m->host->page(req, &limit, &after) == -1)
		return;
	if (state != NULL && strcmp(state, "pending") != 0 && strcmp(state, "sending") != 0 &&
	    strcmp(state, "sent") != 0 && strcmp(state, "dead") != 0) {
		m->host->reply_error(req, 400, "bad_request", "state",
		    "state must be pending, sending, sent or dead");
		return;
	}
	if ((st = m->host->stmt(m->self, sql)) == NULL) {
		m->host->reply_error(req, 500, "internal", NULL, "cannot read the deliveries");
		return;
	}
	sqlite3_bind_int64(st, 1, after);
	if (state != NULL)
		sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, limit + 1);
	json_t *items = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (++n > limit)
			break;
		last = sqlite3_column_int64(st, 0);
		if (sqlite3_column_int(st, 10) && sqlite3_column_type(st, 9) != SQLITE_NULL)
			snprintf(msgid, sizeof(msgid), "<tremplin.digest.%lld.%lld@%s>",
			    (long long)sqlite3_column_int64(st, 9),
			    (long long)sqlite3_column_int64(st, 2), m->domain);
		else
			mime_message_id(sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
			    m->domain, msgid, sizeof(msgid));
		json_t *o = json_pack("{s:I, s:I, s:I, s:s, s:s, s:s, s:I, s:s, s:s}", "id",
		    (json_int_t)last, "alert_id", (json_int_t)sqlite3_column_int64(st, 1),
		    "staff_id", (json_int_t)sqlite3_column_int64(st, 2), "message_id", msgid,
		    "kind", (const char *)sqlite3_column_text(st, 3), "state",
		    (const char *)sqlite3_column_text(st, 4), "attempts",
		    (json_int_t)sqlite3_column_int64(st, 5), "created_at",
		    (const char *)sqlite3_column_text(st, 7), "updated_at",
		    (const char *)sqlite3_column_text(st, 8));
		json_object_set_new(o, "last_error",
		    sqlite3_column_type(st, 6) == SQLITE_NULL
		        ? json_null()
		        : json_string((const char *)sqlite3_column_text(st, 6)));
		json_array_append_new(items, o);
	}
	m->host->stmt_done(st);
	m->host->reply(req, 200, m->host->list(items, n > limit ? last : 0));
}

static void
replay(struct tremplin_request *req, void *arg)
{
	static const char sql[] =
	    "UPDATE notify_mail_deliveries SET state = 'pending', next_at = ?1, first_at = ?1,"
	    " attempts = 0, lease_until = NULL WHERE (id = ?2 OR batch = (SELECT batch FROM"
	    " notify_mail_deliveries WHERE id = ?2)) AND state = 'dead' RETURNING id";
	struct mail *m = arg;
	int64_t id = m->host->request_id(req, 0), now = m->host->now_ms(m->self);
	sqlite3_stmt *st = m->host->stmt(m->self, sql);
	int changed;

	if (st == NULL) {
		m->host->reply_error(req, 500, "internal", NULL, "cannot replay");
		return;
	}
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, id);
	changed = sqlite3_step(st) == SQLITE_ROW;
	m->host->stmt_done(st);
	if (!changed) {
		m->host->reply_error(req, 409, "conflict", "state",
		    "delivery %lld is not dead (or does not exist)", (long long)id);
		return;
	}
	m->host->log(m->self, TREMPLIN_LOG_INFO, "delivery %lld replayed", (long long)id);
	m->host->reply(req, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", "pending"));
}

static const struct tremplin_migration migrations[] = {
	{ 1,
	    "CREATE TABLE notify_mail_deliveries ("
	    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    "  alert_id INTEGER NOT NULL,"
	    "  staff_id INTEGER NOT NULL,"
	    "  kind TEXT NOT NULL,"
	    "  state TEXT NOT NULL," /* pending, sending, sent, dead */
	    "  attempts INTEGER NOT NULL,"
	    "  next_at INTEGER NOT NULL,"
	    "  lease_until INTEGER,"
	    "  first_at INTEGER NOT NULL,"
	    "  last_error TEXT,"
	    "  batch INTEGER," /* what goes in one message: its Message-ID */
	    "  digest INTEGER NOT NULL DEFAULT 0,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL,"
	    "  UNIQUE (alert_id, staff_id));"
	    "CREATE INDEX notify_mail_due ON notify_mail_deliveries (state, next_at);"
	    "CREATE INDEX notify_mail_batch ON notify_mail_deliveries (batch);"
	    "CREATE TABLE notify_mail_prefs (staff_id INTEGER PRIMARY KEY,"
	    " digest INTEGER NOT NULL);" },
};

static int
mail_init(const struct tremplin_host *host, struct tremplin_plugin *self, void **ctx)
{
	struct mail *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return -1;
	m->host = host;
	m->self = self;
	*ctx = m;
	const struct tremplin_route_spec list = {
		.size = sizeof(list),
		.methods = TREMPLIN_GET,
		.path = "/deliveries",
		.roles = TREMPLIN_ROLE_COORDINATOR | TREMPLIN_ROLE_ADMIN,
		.query = list_query,
		.fn = list_deliveries,
		.arg = m,
	};
	const struct tremplin_route_spec again = {
		.size = sizeof(again),
		.methods = TREMPLIN_POST,
		.path = "/deliveries/{id}/replay",
		.roles = TREMPLIN_ROLE_COORDINATOR | TREMPLIN_ROLE_ADMIN,
		.fn = replay,
		.arg = m,
	};
	const struct tremplin_route_spec choice = {
		.size = sizeof(choice),
		.methods = TREMPLIN_GET,
		.path = "/preference",
		.roles = TREMPLIN_ROLES_STAFF,
		.fn = preference_get,
		.arg = m,
	};
	const struct tremplin_route_spec choose = {
		.size = sizeof(choose),
		.methods = TREMPLIN_PUT,
		.path = "/preference",
		.roles = TREMPLIN_ROLES_STAFF,
		.flags = TREMPLIN_ROUTE_BODY,
		.fn = preference_put,
		.arg = m,
	};
	if (host->migrations(self, migrations, sizeof(migrations) / sizeof(migrations[0])) != 0 ||
	    host->route(self, &list) != 0 || host->route(self, &again) != 0 ||
	    host->route(self, &choice) != 0 || host->route(self, &choose) != 0) {
		free(m);
		*ctx = NULL;
		return -1;
	}
	return 0;
}

static int
mail_start(void *ctx)
{
	struct mail *m = ctx;

	if ((m->multi = curl_multi_init()) == NULL)
		return -1;
	/* A channel from now: what is queued before the first tick is ours too. */
	if (m->url[0] != '\0')
		json_decref(m->host->outbox_claim(m->self, 0, LEASE_MS));
	return m->host->every(m->self, "tick", 1000, 0, tick, m);
}

static void
mail_stop(void *ctx)
{
	struct mail *m = ctx;

	if (m == NULL)
		return;
	if (m->pump_timer != 0)
		m->host->cancel(m->self, m->pump_timer);
	if (m->multi != NULL) {
		/* In flight: left 'sending'; the lease sends them again after a restart. */
		while (m->sends != NULL) {
			struct send *s = m->sends;
			curl_multi_remove_handle(m->multi, s->easy);
			curl_easy_cleanup(s->easy);
			send_free(s);
		}
		curl_multi_cleanup(m->multi);
	}
	explicit_bzero(m, sizeof(*m));
	free(m);
}

TREMPLIN_PLUGIN(.name = "notify_mail", .version = "1.0.0",
    .description = "alerts told to their staff recipients by e-mail (SMTP, TLS)", .init = mail_init,
    .config = mail_config, .start = mail_start, .stop = mail_stop);
