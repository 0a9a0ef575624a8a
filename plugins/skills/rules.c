/* The skills plugin's rules: see rules.h. */
#include "rules.h"

#include <string.h>

const char *
skills_scale_error(size_t n, long long acquired_from)
{
	if (n < SKILLS_LEVELS_MIN || n > SKILLS_LEVELS_MAX)
		return "a scale has 2 to 8 named levels";
	if (acquired_from < 1 || (size_t)acquired_from > n)
		return "acquired_from must be one of the scale's levels (from 1)";
	return NULL;
}

const char *
skills_level_error(long long level, size_t n)
{
	if (level < 1 || (size_t)level > n)
		return "level is not on the referential's scale";
	return NULL;
}

const char *
skills_date_error(const char *on, const char *today, const char *first_start)
{
	/* ISO dates compare as strings. */
	if (strcmp(on, today) > 0)
		return "evaluated_on is in the future";
	if (first_start == NULL)
		return "the person has no contract yet";
	if (strcmp(on, first_start) < 0)
		return "evaluated_on is before the person's first contract";
	return NULL;
}

const char *
skills_trend(long long previous, long long current, int has_previous)
{
	if (!has_previous)
		return "new";
	return current > previous ? "up" : current < previous ? "down" : "steady";
}

int
skills_valid_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 64 || name[0] == '-' || name[0] == '_')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		        name[i] == '_' || name[i] == '-'))
			return 0;
	return 1;
}
