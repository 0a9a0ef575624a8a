/* The rules of CDDI contracts and AI placements: pure functions (contract_rules.h). */
#include "contract_rules.h"

#include "calendar.h"

enum cr_duration
cr_duration(int64_t start, int64_t end)
{
	if (end < cal_months_end(start, CR_MIN_MONTHS))
		return CR_DURATION_TOO_SHORT;
	if (end > cal_months_end(start, CR_MAX_EXTENDED_MONTHS))
		return CR_DURATION_OVER_60;
	if (end > cal_months_end(start, CR_MAX_MONTHS))
		return CR_DURATION_OVER_24;
	return CR_DURATION_OK;
}

int
cr_overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
	return a0 <= b1 && b0 <= a1;
}

int
cr_age_on(int64_t birth, int64_t day)
{
	int by, bm, bd, y, m, d;

	cal_to_ymd(birth, &by, &bm, &bd);
	cal_to_ymd(day, &y, &m, &d);
	/* Comparing (month, day) pairs puts a 29 February birthday on 1 March. */
	return y - by - (m < bm || (m == bm && d < bd));
}

int
cr_derogation_ok(int64_t from, int64_t until)
{
	return until >= from && until <= cal_months_end(from, CR_DEROGATION_MONTHS) ? 0 : -1;
}

/* The first company placement starting after `after`: 1 and *start, or 0. */
static int
next_start(const struct cr_placement *p, size_t n, int64_t after, int64_t *start)
{
	int found = 0;

	for (size_t i = 0; i < n; i++)
		if (p[i].company && p[i].start > after && (!found || p[i].start < *start)) {
			*start = p[i].start;
			found = 1;
		}
	return found;
}

static void
fill(const struct cr_placement *p, size_t n, int64_t start, struct cr_ai_window *w)
{
	w->start = start;
	w->end = cal_months_end(start, CR_AI_WINDOW_MONTHS);
	w->used = 0;
	w->placements = 0;
	for (size_t i = 0; i < n; i++)
		if (p[i].company && p[i].start >= w->start && p[i].start <= w->end) {
			w->used += p[i].hours;
			w->placements++;
		}
}

int
cr_ai_window_at(const struct cr_placement *p, size_t n, int64_t day, struct cr_ai_window *w)
{
	int64_t start = 0;

	/* Each window ends before the next opens: walk them until one reaches day. */
	for (int found = next_start(p, n, INT64_MIN, &start); found && start <= day;
	     found = next_start(p, n, w->end, &start)) {
		fill(p, n, start, w);
		if (day <= w->end)
			return 1;
	}
	return 0;
}

int
cr_ai_check(const struct cr_placement *p, size_t n, struct cr_ai_window *over)
{
	struct cr_ai_window w;
	int64_t start = 0;

	for (int found = next_start(p, n, INT64_MIN, &start); found;
	     found = next_start(p, n, w.end, &start)) {
		fill(p, n, start, &w);
		/* Sums of decimal hours are not exact in binary: allow for it. */
		if (w.used > CR_AI_CAP_HOURS + 0.001) {
			*over = w;
			return -1;
		}
	}
	return 0;
}
