/*
 * The rules of the PASS IAE (../shared/domain/DOMAIN.md, "Rules a tool must
 * know"), as pure functions on calendar days (calendar.h: days since
 * 1970-01-01). No database, no clock: the caller gives "today". Every check
 * answers 0, or -1 with the field at fault and a message for the API.
 *
 * Conventions, written down once:
 * - A PASS is valid 730 days: from start to start + 729, both included.
 * - A period of n months from day d ends the day before the same day n
 *   months later; when that day does not exist (31 April, 29 February of a
 *   common year) the period ends on the last day of that month. So 12 months
 *   from 2024-02-29 end on 2025-02-28, as do 12 months from 2024-03-01. Years
 *   are 12 months. A person is 50 the day after 50 years from their birth
 *   have run: born 1976-02-29, 50 on 2026-03-01. (cal_months_end in
 *   calendar.h.)
 * - A suspension's length is its days, both ends included; it pushes the
 *   end of the PASS back by that many days.
 * - A prolongation adds days to the end as it stands: its first day is the
 *   day after the current end.
 * - The pathway caps (5 years for RQTH and severe difficulties, 7 for 50 and
 *   over) count the time of the pathway, not the time it was suspended: the
 *   PASS may end no later than the last day of 5 (or 7) years from its start,
 *   pushed back by the days of its suspensions.
 */
#ifndef TREMPLIN_PASS_RULES_H
#define TREMPLIN_PASS_RULES_H

#include <stddef.h>
#include <stdint.h>

#define PASS_NUMBER_LEN 12
#define PASS_VALID_DAYS 730
#define PASS_SUSPENSION_MAX_MONTHS 36
#define PASS_SUSPENSION_BACKDATE_DAYS 365
#define PASS_PROLONGATION_MAX_MONTHS 12
#define PASS_CAP_YEARS_DEFAULT 5 /* RQTH, severe difficulties */
#define PASS_CAP_YEARS_SENIOR 7 /* 50 and over */
#define PASS_SENIOR_AGE 50
#define PASS_WAIT_MONTHS 24 /* after expiry, before a new PASS */

enum pass_status {
	PASS_FUTURE, /* before its start */
	PASS_VALID,
	PASS_SUSPENDED, /* inside one of its suspensions */
	PASS_EXPIRED, /* after its end */
};

enum pass_reason {
	PROLONG_END_OF_TRAINING, /* until the training's end, no later */
	PROLONG_RQTH, /* recognised disability: pathway up to 5 years */
	PROLONG_AGE_50_PLUS, /* 50 or over: pathway up to 7 years */
	PROLONG_SEVERE_DIFFICULTIES, /* ACI and AI only: pathway up to 5 years */
	PROLONG_NONE = -1,
};

struct pass_err {
	const char *field;
	char message[200];
};

struct pass_period {
	int64_t start, end; /* both included */
};

/* A PASS as recorded: the rules below compute everything else from it. */
struct pass {
	int64_t start, initial_end;
	const struct pass_period *suspensions;
	size_t nsuspensions;
	const int64_t *prolongations; /* days each, in the order they were granted */
	size_t nprolongations;
};

/*
 * A PASS number: 12 characters, digits and capital letters. Those the
 * national platform issues are "99999" and 7 digits; older agrément numbers
 * from Pôle emploi are 12 digits or capital letters. NULL when good, else
 * the reason, to follow "number ".
 */
const char *pass_number_check(const char *s);
/* Issued by the national platform ("99999" and 7 digits). */
int pass_number_from_platform(const char *s);

/* start + 729: the end of a PASS no end was given for. */
int64_t pass_default_end(int64_t start);
/* Whether someone born on birth is at least `years` old on day. */
int pass_age_at_least(int64_t birth, int64_t day, int years);

/* Days of its suspensions (each both ends included). */
int64_t pass_suspended_days(const struct pass *);
/* The end as it stands: initial end, pushed back by suspensions and prolongations. */
int64_t pass_end(const struct pass *);
/* Its status on day. */
enum pass_status pass_status_on(const struct pass *, int64_t day);
const char *pass_status_name(enum pass_status);
/* First and last day of prolongation i (0-based), as the PASS stands. */
void pass_prolongation_span(const struct pass *, size_t i, int64_t *first, int64_t *last);

/* end given for a new PASS: after start, at most start + 729. */
int pass_check_dates(int64_t start, int64_t end, struct pass_err *);
/*
 * One PASS per person at a time: a PASS from start to end beside another
 * of the same person (other_start..other_end, its current end): they may
 * not overlap, and 2 years must run between the expiry of the earlier and
 * the start of the later. The error names start_date and says when it may
 * start (or end_date, for a PASS recorded before a later one).
 */
int pass_check_neighbour(
    int64_t start, int64_t end, int64_t other_start, int64_t other_end, struct pass_err *);
/*
 * A new suspension s of p, recorded on today: it ends on or after its start,
 * lasts at most 36 months, starts at most 365 days before today, inside the
 * PASS (from its start to its current end), and overlaps no other
 * suspension of p.
 */
int pass_check_suspension(
    const struct pass *p, int64_t today, const struct pass_period *s, struct pass_err *);

struct pass_prolongation_req {
	enum pass_reason reason;
	int64_t days;
	int64_t birth; /* the person's birth date (age_50_plus) */
	int64_t until; /* the training's end (end_of_training); -1 when not given */
	int severe_difficulties_allowed; /* the structure is an ACI or an AI */
};
/* A new prolongation of p: at most 12 months, within the cap of its reason. */
int pass_check_prolongation(
    const struct pass *p, const struct pass_prolongation_req *, struct pass_err *);

/*
 * Ending early: a suspension's new end (was: as recorded), a prolongation's
 * new number of days. Only earlier, never before its start: what makes it
 * longer is a new suspension or prolongation, checked as such.
 */
int pass_check_suspension_end(const struct pass_period *was, int64_t end, struct pass_err *);
int pass_check_prolongation_days(int64_t was_days, int64_t days, struct pass_err *);
/*
 * p as an early end would leave it: each of its suspensions still starts
 * while the PASS runs (a later one may have started in the days the early
 * end takes back). The error names moved, the field that made the change.
 */
int pass_check_suspensions_inside(const struct pass *p, const char *moved, struct pass_err *);

/* The code of a reason ("rqth"), and back (PROLONG_NONE when unknown). */
const char *pass_reason_name(enum pass_reason);
enum pass_reason pass_reason_parse(const char *);

#endif
