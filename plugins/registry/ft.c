/* France Travail: OAuth2 client credentials and ROME 4.0 fiches métiers (see ft.h). */
#include "ft.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sync.h"

#define MAX_CODES 64
#define DEFAULT_TOKEN_URL "https://entreprise.francetravail.fr/connexion/oauth2/access_token"
#define DEFAULT_API_URL "https://api.francetravail.io/partenaire/"
#define FICHE_PATH "rome-fiches-metiers/v1/fiches-rome/fiche-metier/"

struct ft {
	const struct tremplin_host *host;
	struct tremplin_plugin *self;
	/* Configuration. */
	int configured;
	char client_id[128];
	char secret[256];
	char token_url[512];
	char api_url[512];
	char scopes[256];
	char codes[MAX_CODES][6];
	size_t ncodes;
	long long timeout_ms, backoff_ms;
	int max_attempts;
	/* The token, cached until shortly before it expires. */
	char token[2048];
	int64_t token_until;
	/* The fetch in progress. */
	int running;
	size_t idx;
	int attempts;
	int refreshed; /* the token was refreshed once for this fiche after a 401 */
	int64_t timer;
	long long fetched, changed, errors, token_requests;
	char last_error[256];
	char last_run_at[21];
};

static void next_step(int64_t now, void *arg);

int
reg_read_secret(
    const char *path, const char *setting, char *out, size_t outlen, char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd == -1) {
		snprintf(err, errlen, "%s: cannot open %s: %s", setting, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		close(fd);
		snprintf(err, errlen, "%s: %s must be a file its owner alone reads (chmod 600)",
		    setting, path);
		return -1;
	}
	n = read(fd, out, outlen - 1);
	close(fd);
	if (n <= 0) {
		snprintf(err, errlen, "%s: %s is empty", setting, path);
		return -1;
	}
	len = (size_t)n;
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r' || out[len - 1] == ' '))
		len--;
	out[len] = '\0';
	if (len == 0 || len == outlen - 1) {
		snprintf(err, errlen, "%s: %s holds nothing, or too much", setting, path);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)out[i] <= ' ' || (unsigned char)out[i] >= 127) {
			snprintf(
			    err, errlen, "%s: the secret holds a space or a control byte", setting);
			return -1;
		}
	return 0;
}

struct ft *
ft_new(const struct tremplin_host *host, struct tremplin_plugin *self)
{
	struct ft *f = calloc(1, sizeof(*f));

	if (f != NULL) {
		f->host = host;
		f->self = self;
	}
	return f;
}

void
ft_free(struct ft *f)
{
	if (f == NULL)
		return;
	explicit_bzero(f->secret, sizeof(f->secret));
	explicit_bzero(f->token, sizeof(f->token));
	free(f);
}

/* The referential the skills plugin reads: no personal data in it. */
static const struct tremplin_view rome_view = {
	.size = sizeof(struct tremplin_view),
	.name = "registry.rome_fiches.v1",
	.description = "ROME 4.0 fiches métiers fetched from France Travail: code, libelle,"
	               " version, competences (JSON text: [{code, libelle}]), changed_at",
	.sql = "SELECT code, libelle, version, competences, changed_at FROM registry_rome"
	       " ORDER BY code",
	.roles =
	    TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR | TREMPLIN_ROLE_ADMIN,
};

int
ft_init(struct ft *f)
{
	return f->host->view_register(f->self, &rome_view);
}

static int
https_setting(
    const json_t *v, const char *key, int slash, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *s = json_string_value(v);
	size_t len = s ? strlen(s) : 0;

	if (s == NULL || strncmp(s, "https://", 8) != 0 || len < 9 || len >= outlen ||
	    (slash && s[len - 1] != '/') || strchr(s, '?') != NULL) {
		snprintf(err, errlen, "%s: expected an https:// URL%s without a query", key,
		    slash ? " ending with /" : "");
		return -1;
	}
	snprintf(out, outlen, "%s", s);
	return 0;
}

int
ft_config(struct ft *f, const json_t *section, char *err, size_t errlen)
{
	struct ft c;
	const char *key;
	json_t *v;

	memset(&c, 0, sizeof(c));
	snprintf(c.token_url, sizeof(c.token_url), "%s", DEFAULT_TOKEN_URL);
	snprintf(c.api_url, sizeof(c.api_url), "%s", DEFAULT_API_URL);
	snprintf(c.scopes, sizeof(c.scopes), "%s", "api_rome-fiches-metiersv1 nomenclatureRome");
	c.timeout_ms = 30000;
	c.backoff_ms = 2000;
	c.max_attempts = 3;
	if (section == NULL) {
		f->configured = 0;
		return 0;
	}
	if (!json_is_object(section)) {
		snprintf(err, errlen, "france_travail: expected a table");
		return -1;
	}
	json_object_foreach ((json_t *)section, key, v) {
		if (strcmp(key, "client_id") == 0) {
			const char *s = json_string_value(v);
			if (s == NULL || s[0] == '\0' || strlen(s) >= sizeof(c.client_id)) {
				snprintf(
				    err, errlen, "france_travail.client_id: expected a string");
				return -1;
			}
			snprintf(c.client_id, sizeof(c.client_id), "%s", s);
		} else if (strcmp(key, "secret_file") == 0) {
			if (!json_is_string(v) ||
			    reg_read_secret(json_string_value(v), "france_travail.secret_file",
			        c.secret, sizeof(c.secret), err, errlen) != 0) {
				if (!json_is_string(v))
					snprintf(err, errlen,
					    "france_travail.secret_file: expected a path");
				return -1;
			}
		} else if (strcmp(key, "token_url") == 0) {
			if (https_setting(v, "france_travail.token_url", 0, c.token_url,
			        sizeof(c.token_url), err, errlen) != 0)
				return -1;
		} else if (strcmp(key, "api_url") == 0) {
			if (https_setting(v, "france_travail.api_url", 1, c.api_url,
			        sizeof(c.api_url), err, errlen) != 0)
				return -1;
		} else if (strcmp(key, "scopes") == 0) {
			const char *s = json_string_value(v);
			if (s == NULL || s[0] == '\0' || strlen(s) >= sizeof(c.scopes)) {
				snprintf(err, errlen, "france_travail.scopes: expected a string");
				return -1;
			}
			snprintf(c.scopes, sizeof(c.scopes), "%s", s);
		} else if (strcmp(key, "rome_codes") == 0) {
			size_t i;
			json_t *s;
			if (!json_is_array(v) || json_array_size(v) > MAX_CODES) {
				snprintf(err, errlen,
				    "france_travail.rome_codes: expected a list of at most %d "
				    "codes",
				    MAX_CODES);
				return -1;
			}
			json_array_foreach (v, i, s) {
				if (!reg_rome_code_ok(json_string_value(s))) {
					snprintf(err, errlen,
					    "france_travail.rome_codes[%zu]: expected a ROME code "
					    "(F1703)",
					    i + 1);
					return -1;
				}
				snprintf(
				    c.codes[i], sizeof(c.codes[i]), "%s", json_string_value(s));
			}
			c.ncodes = json_array_size(v);
		} else if (strcmp(key, "backoff_ms") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 10 ||
			    json_integer_value(v) > 600000) {
				snprintf(err, errlen,
				    "france_travail.backoff_ms: expected 10 to 600000");
				return -1;
			}
			c.backoff_ms = json_integer_value(v);
		} else if (strcmp(key, "timeout") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 300) {
				snprintf(err, errlen,
				    "france_travail.timeout: expected 1 to 300 seconds");
				return -1;
			}
			c.timeout_ms = json_integer_value(v) * 1000;
		} else {
			snprintf(err, errlen, "france_travail.%s: unknown setting", key);
			return -1;
		}
	}
	if (c.client_id[0] == '\0' || c.secret[0] == '\0' || c.ncodes == 0) {
		snprintf(err, errlen,
		    "france_travail: client_id, secret_file and rome_codes are needed");
		return -1;
	}
	/* Keep what is under way; a new client drops the cached token. */
	if (strcmp(c.client_id, f->client_id) != 0 || strcmp(c.token_url, f->token_url) != 0 ||
	    strcmp(c.secret, f->secret) != 0) {
		explicit_bzero(f->token, sizeof(f->token));
		f->token_until = 0;
	}
	memcpy(f->client_id, c.client_id, sizeof(f->client_id));
	memcpy(f->secret, c.secret, sizeof(f->secret));
	explicit_bzero(c.secret, sizeof(c.secret));
	memcpy(f->token_url, c.token_url, sizeof(f->token_url));
	memcpy(f->api_url, c.api_url, sizeof(f->api_url));
	memcpy(f->scopes, c.scopes, sizeof(f->scopes));
	memcpy(f->codes, c.codes, sizeof(f->codes));
	f->ncodes = c.ncodes;
	f->timeout_ms = c.timeout_ms;
	f->backoff_ms = c.backoff_ms;
	f->max_attempts = c.max_attempts;
	f->configured = 1;
	return 0;
}

int
ft_configured(const struct ft *f)
{
	return f->configured;
}

static void
stamp(int64_t ms, char out[21])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
finish(struct ft *f)
{
	f->running = 0;
	f->timer = 0;
	f->host->log(f->self, f->errors ? TREMPLIN_LOG_WARNING : TREMPLIN_LOG_INFO,
	    "France Travail: %lld fiches fetched, %lld changed, %lld errors%s%s", f->fetched,
	    f->changed, f->errors, f->last_error[0] ? ": " : "", f->last_error);
}

/* The current fiche given up (said in last_error): on to the next. */
static void
skip_code(struct ft *f, const char *what)
{
	snprintf(f->last_error, sizeof(f->last_error), "ROME %s: %s", f->codes[f->idx], what);
	f->errors++;
	f->idx++;
	f->attempts = 0;
	f->refreshed = 0;
	next_step(0, f);
}

static void
later(struct ft *f, int64_t ms)
{
	f->timer = f->host->after(f->self, ms, next_step, f);
	if (f->timer <= 0)
		finish(f);
}

/* A passing failure: again after a backoff, or the fiche given up. */
static int
transient(struct ft *f, const char *what)
{
	if (++f->attempts >= f->max_attempts) {
		skip_code(f, what);
		return 0;
	}
	later(f, reg_backoff(f->attempts, f->backoff_ms, 300000, (uint32_t)random()));
	return 0;
}

static void
on_token(const struct tremplin_http_response *r, void *arg)
{
	struct ft *f = arg;
	json_t *body, *tok, *exp;

	if (r->error == TREMPLIN_HTTP_CANCELLED)
		return;
	if (r->error != TREMPLIN_HTTP_OK || r->status >= 500) {
		transient(f, "the token endpoint did not answer");
		return;
	}
	body = json_loadb(r->body ? r->body : "", r->body_len, 0, NULL);
	tok = json_object_get(body, "access_token");
	exp = json_object_get(body, "expires_in");
	if (r->status != 200 || !json_is_string(tok) || json_string_length(tok) == 0 ||
	    json_string_length(tok) >= sizeof(f->token) || !json_is_integer(exp) ||
	    json_integer_value(exp) <= 0) {
		/* invalid_client, invalid_scope...: no use trying the other fiches. */
		snprintf(f->last_error, sizeof(f->last_error),
		    "France Travail refused the client (%ld%s%.60s)", r->status,
		    json_is_string(json_object_get(body, "error")) ? ": " : "",
		    json_is_string(json_object_get(body, "error"))
		        ? json_string_value(json_object_get(body, "error"))
		        : "");
		f->errors++;
		json_decref(body);
		finish(f);
		return;
	}
	snprintf(f->token, sizeof(f->token), "%s", json_string_value(tok));
	f->token_until = reg_token_until(f->host->now_ms(f->self), json_integer_value(exp));
	json_decref(body);
	f->attempts = 0;
	next_step(0, f);
}

static void
request_token(struct ft *f)
{
	char url[700], body[1200], id[400], secret[800], scope[800], err[200];
	const struct tremplin_http_header headers[] = {
		{ "Content-Type", "application/x-www-form-urlencoded" },
		{ "Accept", "application/json" },
	};

	/* The realm goes in the query: France Travail answers invalid_client otherwise. */
	snprintf(url, sizeof(url), "%s?realm=%%2Fpartenaire", f->token_url);
	if (reg_urlencode(f->client_id, id, sizeof(id)) != 0 ||
	    reg_urlencode(f->secret, secret, sizeof(secret)) != 0 ||
	    reg_urlencode(f->scopes, scope, sizeof(scope)) != 0) {
		skip_code(f, "the client's settings are too long");
		return;
	}
	int n = snprintf(body, sizeof(body),
	    "grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s", id, secret,
	    scope);
	explicit_bzero(secret, sizeof(secret));
	const struct tremplin_http_request rq = {
		.method = "POST",
		.url = url,
		.headers = headers,
		.nheaders = 2,
		.body = body,
		.body_len = n > 0 && (size_t)n < sizeof(body) ? (size_t)n : 0,
		.timeout_ms = f->timeout_ms,
		.max_bytes = 64 << 10,
	};
	f->token_requests++;
	if (f->host->http(f->self, &rq, on_token, f, err, sizeof(err)) != 0) {
		snprintf(f->last_error, sizeof(f->last_error), "cannot ask for a token: %s", err);
		f->errors++;
		finish(f);
	}
	explicit_bzero(body, sizeof(body));
}

/* The fiche's competences as [{code, libelle}], from its groups; NULL when not a fiche. */
static json_t *
competences_of(json_t *fiche)
{
	json_t *groups = json_object_get(fiche, "groupesCompetencesMobilisees");
	json_t *out = json_array(), *g, *c;
	size_t i, j;

	if (!json_is_array(groups)) {
		json_decref(out);
		return NULL;
	}
	json_array_foreach (groups, i, g) {
		json_t *list = json_object_get(g, "competences");
		if (!json_is_array(list))
			continue;
		json_array_foreach (list, j, c) {
			const char *code = json_string_value(json_object_get(c, "code"));
			const char *label = json_string_value(json_object_get(c, "libelle"));
			if (code != NULL && label != NULL)
				json_array_append_new(
				    out, json_pack("{s:s, s:s}", "code", code, "libelle", label));
		}
	}
	return out;
}

/* Keep the fiche; a change makes a new version and an event for the skills plugin. */
static int
store(struct ft *f, const char *code, const char *label, json_t *competences)
{
	static const char sel[] = "SELECT competences, version FROM registry_rome WHERE code = ?1";
	static const char up[] =
	    "INSERT INTO registry_rome (code, libelle, version, competences, fetched_at, "
	    "changed_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (code) DO UPDATE SET libelle = ?2,"
	    " version = ?3, competences = ?4, fetched_at = ?5,"
	    " changed_at = CASE WHEN version = ?3 THEN changed_at ELSE ?5 END";
	char *text = json_dumps(competences, JSON_COMPACT | JSON_SORT_KEYS);
	char now[21];
	sqlite3_stmt *st;
	int64_t version = 1;
	int changed = 1, rc = -1;

	if (text == NULL || f->host->begin(f->self) != 0) {
		free(text);
		return -1;
	}
	if ((st = f->host->stmt(f->self, sel)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *old = (const char *)sqlite3_column_text(st, 0);
		version = sqlite3_column_int64(st, 1);
		changed = old == NULL || strcmp(old, text) != 0;
		version += changed;
	}
	f->host->stmt_done(st);
	stamp(f->host->now_ms(f->self), now);
	if ((st = f->host->stmt(f->self, up)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, label, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, version);
	sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	f->host->stmt_done(st);
	if (rc == 0 && changed)
		rc = f->host->publish(f->self, NULL, "registry.rome_fiche_changed", "registry/rome",
		    json_pack("{s:s, s:I}", "code", code, "version", (json_int_t)version));
out:
	free(text);
	if (rc == 0 && f->host->commit(f->self) == 0) {
		f->changed += changed;
		return 0;
	}
	f->host->rollback(f->self);
	return -1;
}

static void
on_fiche(const struct tremplin_http_response *r, void *arg)
{
	struct ft *f = arg;
	json_t *body, *comp;
	char what[80];

	if (r->error == TREMPLIN_HTTP_CANCELLED)
		return;
	if (r->error != TREMPLIN_HTTP_OK || r->status >= 500) {
		transient(f, "France Travail did not answer");
		return;
	}
	if (r->status == 401) {
		/* Expired or revoked early: a new token, once, then this fiche again. */
		explicit_bzero(f->token, sizeof(f->token));
		f->token_until = 0;
		if (f->refreshed) {
			skip_code(f, "refused twice (401)");
			return;
		}
		f->refreshed = 1;
		next_step(0, f);
		return;
	}
	if (r->status == 429) {
		later(f, (r->retry_after_s >= 0 ? r->retry_after_s : 60) * 1000);
		return;
	}
	if (r->status != 200) {
		snprintf(what, sizeof(what), "answered %ld", r->status);
		skip_code(f, what);
		return;
	}
	body = json_loadb(r->body ? r->body : "", r->body_len, 0, NULL);
	comp = competences_of(body);
	const char *label =
	    json_string_value(json_object_get(json_object_get(body, "metier"), "libelle"));
	if (comp == NULL || label == NULL) {
		json_decref(comp);
		json_decref(body);
		transient(f, "not a fiche métier");
		return;
	}
	int rc = store(f, f->codes[f->idx], label, comp);
	json_decref(comp);
	json_decref(body);
	if (rc != 0) {
		skip_code(f, "cannot be stored");
		return;
	}
	f->fetched++;
	f->idx++;
	f->attempts = 0;
	f->refreshed = 0;
	next_step(0, f);
}

static void
next_step(int64_t now, void *arg)
{
	struct ft *f = arg;
	char url[700], auth[2100], err[200];

	(void)now;
	f->timer = 0;
	if (f->idx >= f->ncodes) {
		finish(f);
		return;
	}
	if (f->token[0] == '\0' || f->host->now_ms(f->self) >= f->token_until) {
		request_token(f);
		return;
	}
	snprintf(url, sizeof(url), "%s%s%s", f->api_url, FICHE_PATH, f->codes[f->idx]);
	snprintf(auth, sizeof(auth), "Bearer %s", f->token);
	const struct tremplin_http_header headers[] = {
		{ "Authorization", auth },
		{ "Accept", "application/json" },
	};
	const struct tremplin_http_request rq = {
		.method = "GET",
		.url = url,
		.headers = headers,
		.nheaders = 2,
		.timeout_ms = f->timeout_ms,
		.max_bytes = 4 << 20,
	};
	if (f->host->http(f->self, &rq, on_fiche, f, err, sizeof(err)) != 0) {
		snprintf(f->last_error, sizeof(f->last_error), "cannot send the request: %s", err);
		f->errors++;
		finish(f);
	}
	explicit_bzero(auth, sizeof(auth));
}

int
ft_run(struct ft *f)
{
	if (!f->configured || f->running)
		return -1;
	f->running = 1;
	f->idx = 0;
	f->attempts = 0;
	f->refreshed = 0;
	f->fetched = f->changed = f->errors = 0;
	f->last_error[0] = '\0';
	stamp(f->host->now_ms(f->self), f->last_run_at);
	next_step(0, f);
	return 0;
}

json_t *
ft_status(const struct ft *f)
{
	char until[21];

	if (f->token_until > 0)
		stamp(f->token_until, until);
	return json_pack("{s:b, s:b, s:s?, s:I, s:I, s:I, s:I, s:s?, s:s?}", "configured",
	    f->configured, "running", f->running, "last_run_at",
	    f->last_run_at[0] ? f->last_run_at : NULL, "fetched", (json_int_t)f->fetched, "changed",
	    (json_int_t)f->changed, "errors", (json_int_t)f->errors, "token_requests",
	    (json_int_t)f->token_requests, "last_error", f->last_error[0] ? f->last_error : NULL,
	    "token_until", f->token[0] && f->token_until > 0 ? until : NULL);
}
