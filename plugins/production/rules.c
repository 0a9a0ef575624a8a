/* The production plugin's rules: pure, no I/O (see rules.h). */
#include "rules.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Days from civil (Howard Hinnant's algorithm): exact for the Gregorian calendar. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int64_t
prod_day(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return -1;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -1;
	return days_from_civil(y, (unsigned)m, (unsigned)d);
}

int64_t
prod_monday(int64_t day)
{
	/* 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays. */
	int64_t w = ((day + 3) % 7 + 7) % 7;
	return day - w;
}

void
prod_date(int64_t z, char *buf, size_t len)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	snprintf(buf, len, "%04lld-%02u-%02u", (long long)(y + (m <= 2)), m, d);
}

int
order_transition_ok(const char *from, const char *to)
{
	static const struct {
		const char *from, *to;
	} allowed[] = {
		{ "quote", "accepted" },
		{ "accepted", "in_progress" },
		{ "in_progress", "done" },
		{ "done", "invoiced" },
		{ "quote", "cancelled" },
		{ "accepted", "cancelled" },
		{ "in_progress", "cancelled" },
	};

	if (from == NULL || to == NULL)
		return 0;
	if (strcmp(from, to) == 0)
		return 1;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (strcmp(allowed[i].from, from) == 0 && strcmp(allowed[i].to, to) == 0)
			return 1;
	return 0;
}

int
plan_contract_on(int64_t day, const struct prod_span *contracts, size_t ncontracts,
    const struct prod_span *suspensions, size_t nsuspensions)
{
	for (size_t i = 0; i < nsuspensions; i++)
		if (suspensions[i].start <= day && day <= suspensions[i].end)
			return -1;
	for (size_t i = 0; i < ncontracts; i++)
		if (contracts[i].start <= day && day <= contracts[i].end)
			return (int)i;
	return -1;
}

enum plan_verdict
plan_check(const struct plan_facts *f)
{
	if (!f->in_work_order)
		return PLAN_OUTSIDE_WORK_ORDER;
	if (!f->contract_active)
		return PLAN_NO_CONTRACT;
	if (f->absent)
		return PLAN_ABSENT;
	if (f->double_booked)
		return PLAN_DOUBLE_BOOKED;
	/* A hundredth of an hour of slack: hours are entered to the quarter. */
	if (f->week_planned + f->hours > f->weekly_hours + 0.005)
		return PLAN_WEEK_HOURS;
	if (f->equipment_missing)
		return PLAN_NO_EQUIPMENT;
	if (f->first_assignment && !f->briefed)
		return PLAN_NO_BRIEFING;
	return PLAN_OK;
}

const char *
plan_field(enum plan_verdict v)
{
	switch (v) {
	case PLAN_DOUBLE_BOOKED:
		return "slot";
	case PLAN_WEEK_HOURS:
		return "hours";
	case PLAN_NO_EQUIPMENT:
		return "work_order_id";
	case PLAN_OK:
		return NULL;
	default:
		return "date";
	}
}

const char *
plan_reason(enum plan_verdict v)
{
	switch (v) {
	case PLAN_OK:
		return "ok";
	case PLAN_OUTSIDE_WORK_ORDER:
		return "the date is outside the work order's dates";
	case PLAN_NO_CONTRACT:
		return "no active contract that day (a suspended contract counts as inactive)";
	case PLAN_ABSENT:
		return "the person is marked absent that day";
	case PLAN_DOUBLE_BOOKED:
		return "the person is already planned at that time (the same half-day or an "
		       "overlapping time)";
	case PLAN_WEEK_HOURS:
		return "the week's planned hours would exceed the contract's weekly hours";
	case PLAN_NO_EQUIPMENT:
		return "a protective item the work order requires was not issued to the person";
	case PLAN_NO_BRIEFING:
		return "no safety briefing attended before a first assignment";
	}
	return "refused";
}

double
hours_between(const struct prod_hours *rows, size_t n, int64_t from, int64_t to)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++)
		if (rows[i].day >= from && rows[i].day <= to)
			sum += rows[i].hours;
	return sum;
}

int
prod_minutes(const char *s)
{
	int h, m;

	if (s == NULL || strlen(s) != 5 || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || s[2] != ':' || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4]))
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	/* Quarter hours within the day; 24:00 closes the day. */
	if (m % 15 != 0 || m > 45 || h > 24 || (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

void
prod_hhmm(int minutes, char *buf, size_t len)
{
	if (minutes < 0 || minutes > 24 * 60)
		minutes = 0;
	snprintf(buf, len, "%02d:%02d", minutes / 60, minutes % 60);
}

int
plan_overlap(struct prod_range a, struct prod_range b)
{
	return a.start < b.end && b.start < a.end;
}

double
plan_range_hours(struct prod_range r)
{
	return r.end > r.start ? (r.end - r.start) / 60.0 : 0;
}
