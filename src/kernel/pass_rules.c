/* The rules of the PASS IAE on calendar days (pass_rules.h says the conventions). */
#include "pass_rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "calendar.h"

static const char *const reason_names[] = {
	[PROLONG_END_OF_TRAINING] = "end_of_training",
	[PROLONG_RQTH] = "rqth",
	[PROLONG_AGE_50_PLUS] = "age_50_plus",
	[PROLONG_SEVERE_DIFFICULTIES] = "severe_difficulties",
};

static int fail(struct pass_err *, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct pass_err *e, const char *field, const char *fmt, ...)
{
	va_list ap;

	e->field = field;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* A day as YYYY-MM-DD in a buffer of the caller's (CAL_DATE_LEN bytes). */
static const char *
fmt(int64_t day, char *buf)
{
	if (cal_format(day, buf, CAL_DATE_LEN) == -1)
		snprintf(buf, CAL_DATE_LEN, "?");
	return buf;
}

/* ---- numbers ---- */

const char *
pass_number_check(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ' || s[i] == '\t')
			return "must not contain spaces";
		if (s[i] >= 'a' && s[i] <= 'z')
			return "must be written in capital letters";
		if (!(s[i] >= '0' && s[i] <= '9') && !(s[i] >= 'A' && s[i] <= 'Z'))
			return "may hold only digits and capital letters";
	}
	if (n != PASS_NUMBER_LEN)
		return "must have 12 characters";
	if (strncmp(s, "99999", 5) == 0 && !pass_number_from_platform(s))
		return "issued by the platform (99999...) must end with 7 digits";
	return NULL;
}

int
pass_number_from_platform(const char *s)
{
	if (strlen(s) != PASS_NUMBER_LEN || strncmp(s, "99999", 5) != 0)
		return 0;
	for (size_t i = 5; i < PASS_NUMBER_LEN; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* ---- days ---- */

int64_t
pass_default_end(int64_t start)
{
	return start + PASS_VALID_DAYS - 1;
}

int
pass_age_at_least(int64_t birth, int64_t day, int years)
{
	return day > cal_months_end(birth, years * 12);
}

/* ---- a PASS as it stands ---- */

int64_t
pass_suspended_days(const struct pass *p)
{
	int64_t n = 0;

	for (size_t i = 0; i < p->nsuspensions; i++)
		n += p->suspensions[i].end - p->suspensions[i].start + 1;
	return n;
}

int64_t
pass_end(const struct pass *p)
{
	int64_t end = p->initial_end + pass_suspended_days(p);

	for (size_t i = 0; i < p->nprolongations; i++)
		end += p->prolongations[i];
	return end;
}

enum pass_status
pass_status_on(const struct pass *p, int64_t day)
{
	if (day < p->start)
		return PASS_FUTURE;
	if (day > pass_end(p))
		return PASS_EXPIRED;
	for (size_t i = 0; i < p->nsuspensions; i++)
		if (day >= p->suspensions[i].start && day <= p->suspensions[i].end)
			return PASS_SUSPENDED;
	return PASS_VALID;
}

const char *
pass_status_name(enum pass_status s)
{
	switch (s) {
	case PASS_FUTURE:
		return "FUTURE";
	case PASS_VALID:
		return "VALID";
	case PASS_SUSPENDED:
		return "SUSPENDED";
	case PASS_EXPIRED:
		return "EXPIRED";
	}
	return "?";
}

void
pass_prolongation_span(const struct pass *p, size_t i, int64_t *first, int64_t *last)
{
	int64_t end = p->initial_end + pass_suspended_days(p);

	for (size_t j = 0; j < i && j < p->nprolongations; j++)
		end += p->prolongations[j];
	*first = end + 1;
	*last = end + (i < p->nprolongations ? p->prolongations[i] : 0);
}

/* ---- checks ---- */

int
pass_check_dates(int64_t start, int64_t end, struct pass_err *e)
{
	char b[CAL_DATE_LEN];

	if (end <= start)
		return fail(e, "initial_end_date", "initial_end_date must be after start_date");
	if (end > pass_default_end(start))
		return fail(e, "initial_end_date",
		    "initial_end_date may be no later than %s: a PASS is valid 730 days",
		    fmt(pass_default_end(start), b));
	return 0;
}

int
pass_check_neighbour(
    int64_t start, int64_t end, int64_t other_start, int64_t other_end, struct pass_err *e)
{
	char b1[CAL_DATE_LEN], b2[CAL_DATE_LEN], b3[CAL_DATE_LEN];

	if (other_start <= start) {
		/* The other came first: 2 years after it expires (the day after its end). */
		int64_t earliest = cal_months_end(other_end + 1, PASS_WAIT_MONTHS) + 1;
		if (start >= earliest)
			return 0;
		return fail(e, "start_date",
		    "start_date may be %s at the earliest: this person's PASS from %s to %s %s, "
		    "and a new one starts 2 years after it expires",
		    fmt(earliest, b1), fmt(other_start, b2), fmt(other_end, b3),
		    start <= other_end ? "overlaps it" : "ran until then");
	}
	/* Recorded before a later one: it must expire 2 years before that one starts. */
	if (cal_months_end(end + 1, PASS_WAIT_MONTHS) + 1 <= other_start)
		return 0;
	if (start <= other_end && other_start <= end)
		return fail(e, "start_date",
		    "start_date: this person has a PASS from %s to %s, which this one overlaps",
		    fmt(other_start, b1), fmt(other_end, b2));
	return fail(e, "start_date",
	    "start_date: this person has a PASS from %s; one before it must have expired 2 "
	    "years earlier",
	    fmt(other_start, b1));
}

int
pass_check_suspension(
    const struct pass *p, int64_t today, const struct pass_period *s, struct pass_err *e)
{
	char b1[CAL_DATE_LEN], b2[CAL_DATE_LEN];
	int64_t end = pass_end(p);

	if (s->end < s->start)
		return fail(e, "end_date", "end_date is before start_date");
	if (s->end > cal_months_end(s->start, PASS_SUSPENSION_MAX_MONTHS))
		return fail(e, "end_date",
		    "end_date may be no later than %s: a suspension lasts at most 36 months",
		    fmt(cal_months_end(s->start, PASS_SUSPENSION_MAX_MONTHS), b1));
	if (s->start < today - PASS_SUSPENSION_BACKDATE_DAYS)
		return fail(e, "start_date",
		    "start_date may be %s at the earliest: a suspension is backdated at most 365 "
		    "days",
		    fmt(today - PASS_SUSPENSION_BACKDATE_DAYS, b1));
	if (s->start < p->start || s->start > end)
		return fail(e, "start_date",
		    "start_date must fall while the PASS runs, from %s to %s", fmt(p->start, b1),
		    fmt(end, b2));
	for (size_t i = 0; i < p->nsuspensions; i++)
		if (s->start <= p->suspensions[i].end && p->suspensions[i].start <= s->end)
			return fail(e, "start_date",
			    "this suspension overlaps the one from %s to %s",
			    fmt(p->suspensions[i].start, b1), fmt(p->suspensions[i].end, b2));
	return 0;
}

int
pass_check_suspension_end(const struct pass_period *was, int64_t end, struct pass_err *e)
{
	char b1[CAL_DATE_LEN];

	if (end < was->start)
		return fail(
		    e, "end_date", "end_date is before start_date, %s", fmt(was->start, b1));
	if (end > was->end)
		return fail(e, "end_date",
		    "end_date may only move earlier than %s (the suspension ends early); to "
		    "suspend "
		    "longer, record a new suspension from %s",
		    fmt(was->end, b1), fmt(was->end + 1, b1));
	return 0;
}

int
pass_check_prolongation_days(int64_t was_days, int64_t days, struct pass_err *e)
{
	if (days < 1)
		return fail(e, "days", "days must be 1 or more");
	if (days > was_days)
		return fail(e, "days",
		    "days may only be fewer than %lld (the prolongation ends early); to prolong "
		    "further, record a new prolongation",
		    (long long)was_days);
	return 0;
}

int
pass_check_suspensions_inside(const struct pass *p, const char *moved, struct pass_err *e)
{
	char b1[CAL_DATE_LEN], b2[CAL_DATE_LEN];
	int64_t end = pass_end(p);

	for (size_t i = 0; i < p->nsuspensions; i++)
		if (p->suspensions[i].start > end)
			return fail(e, moved,
			    "the PASS would then end on %s, before its suspension from %s starts: "
			    "this PASS cannot end that early",
			    fmt(end, b1), fmt(p->suspensions[i].start, b2));
	return 0;
}

int
pass_check_prolongation(
    const struct pass *p, const struct pass_prolongation_req *q, struct pass_err *e)
{
	char b1[CAL_DATE_LEN], b2[CAL_DATE_LEN];
	int64_t first = pass_end(p) + 1, last = pass_end(p) + q->days;
	int64_t longest = cal_months_end(first, PASS_PROLONGATION_MAX_MONTHS);
	int years = PASS_CAP_YEARS_DEFAULT;

	if (q->days < 1)
		return fail(e, "days", "days must be 1 or more");
	if (q->until >= 0 && q->reason != PROLONG_END_OF_TRAINING)
		return fail(e, "until_date", "until_date is given only for end_of_training");
	if (last > longest)
		return fail(e, "days",
		    "days may be %lld at most: from %s, a prolongation lasts at most 12 months "
		    "(until %s)",
		    (long long)(longest - first + 1), fmt(first, b1), fmt(longest, b2));
	switch (q->reason) {
	case PROLONG_END_OF_TRAINING:
		if (q->until < 0)
			return fail(e, "until_date",
			    "until_date, the day the training ends, is required for "
			    "end_of_training");
		if (q->until < first)
			return fail(e, "until_date",
			    "until_date must be after the PASS's current end, %s",
			    fmt(first - 1, b1));
		if (last > q->until)
			return fail(e, "days",
			    "days may be %lld at most: the prolongation ends with the training, on "
			    "%s",
			    (long long)(q->until - first + 1), fmt(q->until, b1));
		return 0;
	case PROLONG_AGE_50_PLUS:
		if (!pass_age_at_least(q->birth, first, PASS_SENIOR_AGE))
			return fail(e, "reason", "reason age_50_plus: the person is not 50 on %s",
			    fmt(first, b1));
		years = PASS_CAP_YEARS_SENIOR;
		break;
	case PROLONG_SEVERE_DIFFICULTIES:
		if (!q->severe_difficulties_allowed)
			return fail(e, "reason",
			    "reason severe_difficulties is for the employees of an ACI or an AI");
		break;
	case PROLONG_RQTH:
		break;
	default:
		return fail(e, "reason", "reason is not a reason for a prolongation");
	}
	/* The pathway's cap, pushed back by the time it was suspended. */
	int64_t cap = cal_months_end(p->start, years * 12) + pass_suspended_days(p);
	if (cap < first)
		return fail(e, "reason",
		    "reason %s: the pathway reached its cap of %d years from %s on %s "
		    "(suspensions added)",
		    reason_names[q->reason], years, fmt(p->start, b1), fmt(cap, b2));
	if (last > cap)
		return fail(e, "days",
		    "days may be %lld at most: for %s, the pathway ends by %s (%d years from %s, "
		    "suspensions added)",
		    (long long)(cap - first + 1), reason_names[q->reason], fmt(cap, b1), years,
		    fmt(p->start, b2));
	return 0;
}

const char *
pass_reason_name(enum pass_reason r)
{
	return r >= 0 && (size_t)r < sizeof(reason_names) / sizeof(reason_names[0])
	    ? reason_names[r]
	    : "?";
}

enum pass_reason
pass_reason_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(reason_names) / sizeof(reason_names[0]); i++)
		if (s != NULL && strcmp(s, reason_names[i]) == 0)
			return (enum pass_reason)i;
	return PROLONG_NONE;
}
