/*
 * Civil-calendar arithmetic on day numbers: the proleptic Gregorian calendar
 * mapped to days since 1970-01-01 through 400-year eras (146097 days each),
 * so that every conversion is a few integer operations and no loop.
 */
#include "calendar.h"

#include <stdio.h>
#include <string.h>

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/* Years counted from March: the leap day is the last day of the "year". */
int64_t
cal_from_ymd(int y, int m, int d)
{
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = floor_div(yy, 400);
	int64_t yoe = yy - era * 400; /* 0..399 */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* 0..146096 */

	return era * 146097 + doe - 719468;
}

void
cal_to_ymd(int64_t day, int *y, int *m, int *d)
{
	int64_t z = day + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int
cal_is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
cal_days_in_month(int y, int m)
{
	static const int n[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 ? 28 + cal_is_leap(y) : n[m - 1];
}

int64_t
cal_add_months(int64_t day, int months)
{
	int y, m, d;

	cal_to_ymd(day, &y, &m, &d);
	int64_t t = (int64_t)y * 12 + (m - 1) + months;
	y = (int)floor_div(t, 12);
	m = (int)(t - (int64_t)y * 12) + 1;
	return cal_from_ymd(y, m, d > cal_days_in_month(y, m) ? cal_days_in_month(y, m) : d);
}

int64_t
cal_months_end(int64_t start, int months)
{
	int y, m, d, ey, em, ed;
	int64_t same = cal_add_months(start, months);

	cal_to_ymd(start, &y, &m, &d);
	cal_to_ymd(same, &ey, &em, &ed);
	/* Clamped to a short month's end: the term ends on that last day, not the day before. */
	return ed < d ? same : same - 1;
}

static int
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
cal_parse(const char *s, size_t len, int64_t *day)
{
	int y, m, d;

	if (s == NULL || len != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) == -1 ||
	    digits(s + 5, 2, &m) == -1 || digits(s + 8, 2, &d) == -1)
		return -1;
	if (y < CAL_YEAR_MIN || y > CAL_YEAR_MAX || m < 1 || m > 12 || d < 1 ||
	    d > cal_days_in_month(y, m))
		return -1;
	*day = cal_from_ymd(y, m, d);
	return 0;
}

int
cal_format(int64_t day, char *buf, size_t size)
{
	int y, m, d;

	if (day < cal_from_ymd(CAL_YEAR_MIN, 1, 1) || day > cal_from_ymd(CAL_YEAR_MAX, 12, 31)) {
		if (size > 0)
			buf[0] = '\0';
		return -1;
	}
	cal_to_ymd(day, &y, &m, &d);
	snprintf(buf, size, "%04d-%02d-%02d", y, m, d);
	return 0;
}

int
cal_weekday(int64_t day)
{
	/* 1970-01-01 was a Thursday (4). */
	int64_t w = (day + 3) % 7;

	if (w < 0)
		w += 7;
	return (int)w + 1;
}

int64_t
cal_start_of_week(int64_t day)
{
	return day - (cal_weekday(day) - 1);
}

static int64_t
last_sunday(int y, int m)
{
	int64_t last = cal_from_ymd(y, m, cal_days_in_month(y, m));

	return last - (cal_weekday(last) % 7);
}

int
cal_paris_offset(int64_t unix_s)
{
	int64_t day = floor_div(unix_s, 86400);
	int y, m, d;

	cal_to_ymd(day, &y, &m, &d);
	/* The switches happen at 01:00 UTC on both Sundays. */
	int64_t start = last_sunday(y, 3) * 86400 + 3600;
	int64_t end = last_sunday(y, 10) * 86400 + 3600;
	return unix_s >= start && unix_s < end ? 7200 : 3600;
}

int64_t
cal_paris_day(int64_t unix_ms)
{
	int64_t s = floor_div(unix_ms, 1000);

	return floor_div(s + cal_paris_offset(s), 86400);
}

int64_t
cal_paris_midnight(int64_t day)
{
	/*
	 * Local midnight is 22:00 or 23:00 UTC the day before, and the offset
	 * never changes between those hours (the switches are at 01:00 UTC).
	 */
	return day * 86400 - cal_paris_offset(day * 86400 - 7200);
}

int
cal_parse_instant(const char *s, int64_t *unix_s)
{
	size_t n = s ? strlen(s) : 0, i = 19;
	int64_t day;
	int h, mi, sec, oh = 0, om = 0, sign = 0;

	if (n < 20 || cal_parse(s, 10, &day) == -1 || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':' || digits(s + 11, 2, &h) == -1 ||
	    digits(s + 14, 2, &mi) == -1 || digits(s + 17, 2, &sec) == -1 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	if (s[i] == '.') {
		size_t f = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f)
			return -1;
	}
	if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z'))
		sign = 0;
	else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' &&
	    digits(s + i + 1, 2, &oh) == 0 && digits(s + i + 4, 2, &om) == 0 && oh <= 23 &&
	    om <= 59)
		sign = s[i] == '+' ? 1 : -1;
	else
		return -1;
	if (sec == 60)
		sec = 59; /* a leap second: the log's clock has none */
	*unix_s = day * 86400 + h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
	return 0;
}

/* The anonymous Gregorian algorithm (Meeus/Jones/Butcher). */
int64_t
cal_easter(int y)
{
	int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
	int f = (b + 8) / 25, g = (b - f + 1) / 3;
	int h = (19 * a + b - d - g + 15) % 30;
	int i = c / 4, k = c % 4;
	int l = (32 + 2 * e + 2 * i - h - k) % 7;
	int m = (a + 11 * h + 22 * l) / 451;
	int month = (h + l - 7 * m + 114) / 31;
	int day = (h + l - 7 * m + 114) % 31 + 1;

	return cal_from_ymd(y, month, day);
}

int
cal_is_holiday_fr(int64_t day)
{
	static const struct {
		int m, d;
	} fixed[] = { { 1, 1 }, { 5, 1 }, { 5, 8 }, { 7, 14 }, { 8, 15 }, { 11, 1 }, { 11, 11 },
		{ 12, 25 } };
	int y, m, d;

	cal_to_ymd(day, &y, &m, &d);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (fixed[i].m == m && fixed[i].d == d)
			return 1;
	if (m < 3 || m > 6)
		return 0;
	int64_t easter = cal_easter(y);
	/* Easter Monday, Ascension Thursday, Whit Monday. */
	return day == easter + 1 || day == easter + 39 || day == easter + 50;
}

int
cal_is_business_day(int64_t day, int holidays)
{
	return cal_weekday(day) <= 5 && !(holidays && cal_is_holiday_fr(day));
}

/* Monday-to-Friday days in [from, to), from <= to. */
static int64_t
weekdays(int64_t from, int64_t to)
{
	int64_t n = to - from, full = n / 7, count = full * 5;

	for (int64_t d = from + full * 7; d < to; d++)
		count += cal_weekday(d) <= 5;
	return count;
}

/* Holidays on a weekday in [from, to), from <= to: a few per year, counted per year. */
static int64_t
weekday_holidays(int64_t from, int64_t to)
{
	static const int fixed[][2] = { { 1, 1 }, { 5, 1 }, { 5, 8 }, { 7, 14 }, { 8, 15 },
		{ 11, 1 }, { 11, 11 }, { 12, 25 } };
	int y0, y1, m, d;
	int64_t count = 0;

	if (from >= to)
		return 0;
	cal_to_ymd(from, &y0, &m, &d);
	cal_to_ymd(to - 1, &y1, &m, &d);
	for (int y = y0; y <= y1; y++) {
		int64_t e = cal_easter(y), days[11];
		size_t n = 0;
		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			days[n++] = cal_from_ymd(y, fixed[i][0], fixed[i][1]);
		days[n++] = e + 1;
		days[n++] = e + 39;
		days[n++] = e + 50;
		for (size_t i = 0; i < n; i++) {
			int dup = 0;
			/* Ascension falls on 1 or 8 May in some years: count the day once. */
			for (size_t j = 0; j < i; j++)
				dup |= days[j] == days[i];
			count +=
			    !dup && days[i] >= from && days[i] < to && cal_weekday(days[i]) <= 5;
		}
	}
	return count;
}

int64_t
cal_business_days(int64_t from, int64_t to, int holidays)
{
	if (to < from)
		return -cal_business_days(to, from, holidays);
	return weekdays(from, to) - (holidays ? weekday_holidays(from, to) : 0);
}
