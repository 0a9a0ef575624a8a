/*
 * The production plugin's rules, as pure functions (tests/test_rules.c):
 * orders' status transitions, the planning refusals and warnings, the
 * hours roll-up. Dates are days since 1970-01-01 (prod_day parses them).
 */
#ifndef PRODUCTION_RULES_H
#define PRODUCTION_RULES_H

#include <stddef.h>
#include <stdint.h>

/* "YYYY-MM-DD" -> days since 1970-01-01; -1 when not a real calendar day. */
int64_t prod_day(const char *s);
/* The Monday of the ISO week of a day. */
int64_t prod_monday(int64_t day);
/* days -> "YYYY-MM-DD" (buf of 11 at least). */
void prod_date(int64_t day, char *buf, size_t len);

/* Orders: 1 when the status may go from `from` to `to` (the same status: 1). */
int order_transition_ok(const char *from, const char *to);

/* A contract's span and weekly hours, and a suspension's span (inclusive days). */
struct prod_span {
	int64_t start, end;
	double weekly_hours;
};

/*
 * The contract in force on day: not suspended that day (a suspended contract
 * counts as inactive). Returns its index in contracts, -1 when none.
 */
int plan_contract_on(int64_t day, const struct prod_span *contracts, size_t ncontracts,
    const struct prod_span *suspensions, size_t nsuspensions);

/* What planning decides, in the order it checks. */
enum plan_verdict {
	PLAN_OK = 0,
	PLAN_OUTSIDE_WORK_ORDER, /* date: outside the work order's dates */
	PLAN_NO_CONTRACT, /* date: no active contract that day */
	PLAN_ABSENT, /* date: already marked absent that day */
	PLAN_DOUBLE_BOOKED, /* slot: already planned at an overlapping time */
	PLAN_WEEK_HOURS, /* hours: the week's planned hours beyond the contract's */
	PLAN_NO_EQUIPMENT, /* work_order_id: a required protective item not issued */
	PLAN_NO_BRIEFING, /* date: no safety briefing before a first assignment */
};

struct plan_facts {
	int in_work_order; /* the date falls within the work order's dates */
	int contract_active; /* plan_contract_on found one */
	double weekly_hours; /* that contract's */
	double week_planned; /* hours already planned that week (this row excluded) */
	double hours; /* this row's */
	int double_booked;
	int absent;
	int equipment_missing;
	int first_assignment; /* no assignment before this date */
	int briefed; /* a safety briefing attended on or before the date */
};

enum plan_verdict plan_check(const struct plan_facts *f);
const char *plan_field(enum plan_verdict v);
const char *plan_reason(enum plan_verdict v);

/*
 * Planning by the hours: "HH:MM" -> minutes since midnight, on a quarter
 * hour, from 00:00 to 24:00; -1 otherwise.
 */
int prod_minutes(const char *s);
/* minutes -> "HH:MM" (buf of 6 at least). */
void prod_hhmm(int minutes, char *buf, size_t len);

/* A span of a day in minutes, [start, end): a half-day's configured hours or a time range. */
struct prod_range {
	int start, end;
};

/* 1 when two spans of one day share a minute: touching ends do not overlap. */
int plan_overlap(struct prod_range a, struct prod_range b);
/* The hours a time range counts. */
double plan_range_hours(struct prod_range r);

/* Hours roll-up: the sum of hours of the rows of days within [from, to]. */
struct prod_hours {
	int64_t day;
	double hours;
};
double hours_between(const struct prod_hours *rows, size_t n, int64_t from, int64_t to);

#endif
