/*
 * Calendar days on the Europe/Paris civil calendar, as the pathway data
 * stores them (YYYY-MM-DD). A day is a count of days since 1970-01-01
 * (negative before), so that differences and additions are integer
 * arithmetic. Pure functions: no time zone database, no locale.
 */
#ifndef TREMPLIN_CALENDAR_H
#define TREMPLIN_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

/* Years a date may have: wide enough for birth dates and far planning. */
#define CAL_YEAR_MIN 1900
#define CAL_YEAR_MAX 2199
#define CAL_DATE_LEN 11 /* "YYYY-MM-DD" and its NUL */

/* Parse exactly "YYYY-MM-DD", a real day in range: 0 and *day, or -1. */
int cal_parse(const char *s, size_t len, int64_t *day);
/* Format day as "YYYY-MM-DD" into buf (CAL_DATE_LEN bytes); -1 when out of range. */
int cal_format(int64_t day, char *buf, size_t size);
int64_t cal_from_ymd(int y, int m, int d);
void cal_to_ymd(int64_t day, int *y, int *m, int *d);
/* A leap year of the Gregorian calendar: by 4, except centuries not by 400. */
int cal_is_leap(int y);
/* Days in month m (1..12) of year y. */
int cal_days_in_month(int y, int m);
/*
 * The same day of the month, months later (or earlier when negative); past a
 * short month's end, that month's last day (31 January + 1 month = 28 or 29
 * February).
 */
int64_t cal_add_months(int64_t day, int months);
/*
 * The last day of a term of months (>= 0) starting on start: the day before
 * the same day months later, or the target month's last day when that month
 * has no such day (31 October + 4 months ends on 28 or 29 February). The
 * contract and PASS rules count their durations this way.
 */
int64_t cal_months_end(int64_t start, int months);
/* 1 = Monday ... 7 = Sunday (ISO 8601). */
int cal_weekday(int64_t day);
/* The Monday of day's week. */
int64_t cal_start_of_week(int64_t day);

/*
 * The Europe/Paris offset from UTC at an instant, in seconds: 3600 (CET) or
 * 7200 (CEST, from the last Sunday of March 01:00 UTC to the last Sunday of
 * October 01:00 UTC: the EU rule, in force since 1996).
 */
int cal_paris_offset(int64_t unix_s);
/* The Paris calendar day of an instant given in ms since the epoch. */
int64_t cal_paris_day(int64_t unix_ms);

/* The instant (seconds since the epoch) a Paris calendar day begins. */
int64_t cal_paris_midnight(int64_t day);
/*
 * Parse an RFC 3339 date-time, "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)",
 * with a real day in range: 0 and *unix_s (the fraction dropped), or -1.
 */
int cal_parse_instant(const char *s, int64_t *unix_s);

/* Easter Sunday of year y (Gregorian). */
int64_t cal_easter(int y);
/*
 * A public holiday in metropolitan France: 1 January, Easter Monday, 1 May,
 * 8 May, Ascension, Whit Monday, 14 July, 15 August, 1 November,
 * 11 November, 25 December. (Alsace-Moselle's Good Friday and 26 December
 * are not included.)
 */
int cal_is_holiday_fr(int64_t day);
/* Monday to Friday, and not a French public holiday when holidays is set. */
int cal_is_business_day(int64_t day, int holidays);
/*
 * Business days d with from <= d < to (as days_between counts days), negative
 * when to < from. holidays: leave out French public holidays too.
 */
int64_t cal_business_days(int64_t from, int64_t to, int holidays);

#endif
