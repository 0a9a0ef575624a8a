/*
 * The legal rules of CDDI contracts and AI placements (DOMAIN.md, "Rules a
 * tool must know"), as pure functions on day numbers (calendar.h), so that
 * every boundary day is unit-tested without a daemon.
 *
 * Months are calendar months, counted "de date à date": a period of N months
 * that starts on day S ends on the day before the same day of the month N
 * months later; when that day does not exist (31 April, 29 February of a
 * common year), it ends on the last day of that month instead. So 4 months
 * from 2026-01-15 end on 2026-05-14, 1 month from 2026-01-31 ends on
 * 2026-02-28, and a contract lasts at least N months when its end is on or
 * after that day, at most N months when its end is on or before it
 * (cal_months_end in calendar.h).
 */
#ifndef TREMPLIN_CONTRACT_RULES_H
#define TREMPLIN_CONTRACT_RULES_H

#include <stddef.h>
#include <stdint.h>

#define CR_MIN_MONTHS 4 /* a CDDI lasts at least 4 months */
#define CR_MAX_MONTHS 24 /* and at most 24, renewals included */
#define CR_MAX_EXTENDED_MONTHS 60 /* beyond 24 with a legal reason, up to 60 */
#define CR_STEP_MONTHS 12 /* each renewal beyond 24 months lasts at most a year */
#define CR_DEROGATION_MONTHS 12 /* an hours derogation lasts at most 12 months */
#define CR_MIN_HOURS 20 /* weekly hours, below only with a derogation (ACI) */
#define CR_MAX_HOURS 35
#define CR_AGE_EXTENSION 50 /* age_50_plus: 50 or over */
#define CR_AI_CAP_HOURS 480 /* AI: hours with companies ... */
#define CR_AI_WINDOW_MONTHS 24 /* ... over 24 months from the first placement */

enum cr_duration {
	CR_DURATION_OK,
	CR_DURATION_TOO_SHORT, /* under 4 months */
	CR_DURATION_OVER_24, /* over 24 months, within 60 */
	CR_DURATION_OVER_60, /* over 60 months */
};

/* How a contract from start to end (inclusive, end >= start) stands against the limits. */
enum cr_duration cr_duration(int64_t start, int64_t end);

/* Whether the inclusive periods [a0, a1] and [b0, b1] share a day. */
int cr_overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1);

/* Age in whole years on `day` of a person born on `birth` (29 February: 1 March). */
int cr_age_on(int64_t birth, int64_t day);

/*
 * An hours derogation from `from` to `until` (inclusive): in order and at
 * most 12 months long. 0 when good.
 */
int cr_derogation_ok(int64_t from, int64_t until);

/* One placement of an AI employee, as the 480-hour cap sees it. */
struct cr_placement {
	int64_t start;
	double hours;
	int company; /* with a company: counted; others (individuals, associations...) are not */
};

/*
 * The 24-month windows of the cap: the first opens on the first placement
 * with a company and lasts 24 months; the next opens on the first company
 * placement that starts after it ends, and so on. A placement counts in the
 * window its start falls in.
 */
struct cr_ai_window {
	int64_t start, end;
	double used; /* hours with companies in the window */
	size_t placements; /* how many company placements it holds */
};

/*
 * The window of the company placements p[0..n) holding `day`: 1 and *w, or
 * 0 when no window holds it (no placement yet, or between windows).
 */
int cr_ai_window_at(const struct cr_placement *p, size_t n, int64_t day, struct cr_ai_window *w);

/*
 * Every window of p[0..n) within the cap: 0; else -1 and *over, the first
 * window over it.
 */
int cr_ai_check(const struct cr_placement *p, size_t n, struct cr_ai_window *over);

#endif
