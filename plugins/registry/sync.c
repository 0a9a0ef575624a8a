/* The registry plugin's rules: see sync.h. */
#include "sync.h"

#include <string.h>

static int
digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : d[m - 1];
}

static int
num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int
reg_date_parse(const char *s, char out[11])
{
	int d, m, y;

	if (s == NULL || strlen(s) != 10 || s[2] != '/' || s[5] != '/' || !digits(s, 2) ||
	    !digits(s + 3, 2) || !digits(s + 6, 4))
		return -1;
	d = num(s, 2);
	m = num(s + 3, 2);
	y = num(s + 6, 4);
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
		return -1;
	memcpy(out, s + 6, 4);
	out[4] = '-';
	memcpy(out + 5, s + 3, 2);
	out[7] = '-';
	memcpy(out + 8, s, 2);
	out[10] = '\0';
	return 0;
}

/* Days from civil (H. Hinnant's algorithm), proleptic Gregorian. */
static int64_t
civil_days(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t
reg_days(const char *iso, int *ok)
{
	int y, m, d;

	*ok = 0;
	if (iso == NULL || strlen(iso) != 10 || iso[4] != '-' || iso[7] != '-' || !digits(iso, 4) ||
	    !digits(iso + 5, 2) || !digits(iso + 8, 2))
		return -1;
	y = num(iso, 4);
	m = num(iso + 5, 2);
	d = num(iso + 8, 2);
	if (m < 1 || m > 12 || d < 1 || d > month_days(y, m))
		return -1;
	*ok = 1;
	return civil_days(y, m, d);
}

void
reg_day_text(int64_t z, char out[11])
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int d = (int)(doy - (153 * mp + 2) / 5 + 1);
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);

	y += m <= 2;
	if (y < 0 || y > 9999)
		y = 0;
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = '\0';
}

const char *
reg_prescriber_kind(const char *code)
{
	/* The platform's prescriber organisation kinds we know, as the ASP's kinds. */
	static const struct {
		const char *code, *kind;
	} map[] = {
		{ "PE", "france_travail" },
		{ "FT", "france_travail" },
		{ "ML", "mission_locale" },
		{ "CAP_EMPLOI", "cap_emploi" },
		{ "SPIP", "spip" },
		{ "PJJ", "pjj" },
		{ "DEPT", "conseil_departemental" },
		{ "PLIE", "plie" },
		{ "CCAS", "ccas" },
		{ "CHRS", "chrs" },
		{ "SIAE", "siae" },
		{ "OTHER", "autre" },
	};

	if (code == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].code, code) == 0)
			return map[i].kind;
	return NULL;
}

const char *
reg_pass_number_check(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n != 12)
		return "must have 12 characters";
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= '0' && s[i] <= '9') && !(s[i] >= 'A' && s[i] <= 'Z'))
			return "may hold only digits and capital letters";
	if (strncmp(s, "99999", 5) == 0 && !digits(s + 5, 7))
		return "issued by the platform (99999...) must end with 7 digits";
	return NULL;
}

/* Forget the sends older than the window. */
static void
expire(struct reg_rate *r, int64_t now, int64_t window)
{
	while (r->n > 0 && r->t[r->head] <= now - window) {
		r->head = (r->head + 1) % REG_RATE_MAX;
		r->n--;
	}
}

int64_t
reg_rate_wait(const struct reg_rate *r, int64_t now, int limit, int64_t window)
{
	struct reg_rate c = *r;

	if (limit < 1)
		limit = 1;
	if (limit > REG_RATE_MAX)
		limit = REG_RATE_MAX;
	expire(&c, now, window);
	if (c.n < limit)
		return 0;
	/* The (n - limit + 1)-th oldest must leave the window first. */
	int64_t t = c.t[(c.head + (c.n - limit)) % REG_RATE_MAX];
	return t + window - now + 1;
}

void
reg_rate_note(struct reg_rate *r, int64_t now, int64_t window)
{
	expire(r, now, window);
	if (r->n == REG_RATE_MAX) {
		r->head = (r->head + 1) % REG_RATE_MAX;
		r->n--;
	}
	r->t[(r->head + r->n) % REG_RATE_MAX] = now;
	r->n++;
}

int64_t
reg_backoff(int n, int64_t base, int64_t cap, uint32_t rnd)
{
	int64_t d = base;

	for (int i = 1; i < n && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	return d + (d > 0 ? (int64_t)(rnd % (uint64_t)(d + 1)) : 0);
}

int
reg_next_ok(const char *base, const char *next)
{
	size_t n;
	const char *p;

	if (base == NULL || next == NULL || strncmp(next, "https://", 8) != 0)
		return 0;
	/* The base ends with '/', so a prefix match also fixes the host and port. */
	n = strlen(base);
	if (n == 0 || base[n - 1] != '/' || strncmp(base, next, n) != 0)
		return 0;
	/* No climbing out of the prefix, no fragment, no credentials smuggled in. */
	for (p = next + n; *p != '\0'; p++)
		if (*p == '#' || *p == '\\' || (unsigned char)*p <= ' ' || (unsigned char)*p >= 127)
			return 0;
	return strstr(next + n, "..") == NULL;
}

int
reg_urlencode(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
		int keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
		if (o + (keep ? 1 : 3) >= outlen)
			return -1;
		if (keep)
			out[o++] = (char)*p;
		else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	return 0;
}

int
reg_rome_code_ok(const char *s)
{
	return s != NULL && strlen(s) == 5 && s[0] >= 'A' && s[0] <= 'N' && digits(s + 1, 4);
}

int64_t
reg_token_until(int64_t now_ms, int64_t expires_in_s)
{
	/* A tenth of its life early, a minute at most: a clock a little off never uses a dead one. */
	int64_t margin = expires_in_s / 10;

	if (margin > 60)
		margin = 60;
	return now_ms + (expires_in_s - margin) * 1000;
}
