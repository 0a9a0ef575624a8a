/* The example plugin's rules: see rules.h. */
#include "rules.h"

#include <stddef.h>
#include <string.h>

enum checkin_verdict
checkin_rules(int present, double hours, const char *incident, int has_detail)
{
	/* Hours worked are for someone present; an absence may record 0. */
	if (!present && hours > 0)
		return CHECKIN_HOURS_ABSENT;
	/* A medical detail is health data: kept only where an injury calls for it. */
	if (has_detail && (incident == NULL || strcmp(incident, "injury") != 0))
		return CHECKIN_DETAIL_NO_INJURY;
	return CHECKIN_OK;
}

const char *
checkin_field(enum checkin_verdict v)
{
	switch (v) {
	case CHECKIN_HOURS_ABSENT:
		return "hours";
	case CHECKIN_DETAIL_NO_INJURY:
		return "medical_detail";
	default:
		return NULL;
	}
}

const char *
checkin_reason(enum checkin_verdict v)
{
	switch (v) {
	case CHECKIN_HOURS_ABSENT:
		return "hours are for someone present";
	case CHECKIN_DETAIL_NO_INJURY:
		return "medical_detail is kept for an injury only";
	default:
		return NULL;
	}
}
