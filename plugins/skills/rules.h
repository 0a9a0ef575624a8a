/*
 * The skills plugin's rules, as pure functions on plain values (no host, no
 * SQL, no JSON): tests/test_rules.c.
 */
#ifndef SKILLS_RULES_H
#define SKILLS_RULES_H

#include <stddef.h>

/* A referential's level scale: 2 to 8 named levels. */
#define SKILLS_LEVELS_MIN 2
#define SKILLS_LEVELS_MAX 8

/* NULL when a scale of n levels, acquired from level acquired_from (1-based), is good. */
const char *skills_scale_error(size_t n, long long acquired_from);

/* NULL when level (1-based) is on a scale of n levels. */
const char *skills_level_error(long long level, size_t n);

/*
 * Whether an evaluation dated on (YYYY-MM-DD) may be recorded on today,
 * for a person whose first contract started on first_start (NULL: none):
 * NULL when it may, else why not.
 */
const char *skills_date_error(const char *on, const char *today, const char *first_start);

/* The trend between the previous and the current level: "up", "down", "steady"; "new" alone. */
const char *skills_trend(long long previous, long long current, int has_previous);

/* A referential's name for a load: [a-z0-9][a-z0-9_-]{0,63}. */
int skills_valid_name(const char *name);

#endif
