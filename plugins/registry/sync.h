/*
 * The registry plugin's rules, as pure functions on plain values (no host,
 * no JSON): the strict dates of the national platform, its prescriber codes,
 * the client-side rate limits, the backoff, and where a `next` URL may lead.
 * tests/test_sync.c covers them without a daemon.
 */
#ifndef REGISTRY_SYNC_H
#define REGISTRY_SYNC_H

#include <stddef.h>
#include <stdint.h>

/*
 * "dd/mm/YYYY", exactly (two digits, two digits, four; a real calendar day)
 * into "YYYY-MM-DD" (out: 11 bytes); -1 for anything else: never guessed.
 */
int reg_date_parse(const char *s, char out[11]);
/* Days since 1970-01-01 of a "YYYY-MM-DD" (checked: -1 on a bad date, in *ok 0). */
int64_t reg_days(const char *iso, int *ok);
/* The "YYYY-MM-DD" of a day number (out: 11 bytes). */
void reg_day_text(int64_t days, char out[11]);

/* The platform's prescriber (orienteur) code as Tremplin's prescriber_kind; NULL: unknown. */
const char *reg_prescriber_kind(const char *code);

/* A PASS IAE number as the kernel takes it (12 digits or capitals): NULL, else why not. */
const char *reg_pass_number_check(const char *s);

/* Sliding-window rate limit over the last `window` ms: at most REG_RATE_MAX. */
#define REG_RATE_MAX 120
struct reg_rate {
	int64_t t[REG_RATE_MAX]; /* send times, oldest at head */
	int head, n;
};
/* Milliseconds to wait before one more request may go (0: now). */
int64_t reg_rate_wait(const struct reg_rate *, int64_t now, int limit, int64_t window);
/* A request went at now. */
void reg_rate_note(struct reg_rate *, int64_t now, int64_t window);

/*
 * The wait before attempt n+1 after n failures (n >= 1): base * 2^(n-1),
 * at most cap, plus up to as much again at random (rnd), so that clients
 * that failed together do not come back together.
 */
int64_t reg_backoff(int n, int64_t base, int64_t cap, uint32_t rnd);

/*
 * Whether a `next` URL stays under the configured base URL (scheme, host,
 * port and path prefix): the token never goes anywhere else.
 */
int reg_next_ok(const char *base, const char *next);

/*
 * application/x-www-form-urlencoded (and a query's value): unreserved
 * characters kept, space as %20, the rest %XX. -1 when out is too short.
 */
int reg_urlencode(const char *in, char *out, size_t outlen);

/* A ROME 4.0 code: a capital letter A to N and four digits ("F1703"). */
int reg_rome_code_ok(const char *s);

/* Until when a token that lives expires_in seconds from now_ms is used: shortly before. */
int64_t reg_token_until(int64_t now_ms, int64_t expires_in_s);

#endif
