/*
 * The example plugin's rules, as pure functions on plain values: no host,
 * no database, no JSON. The check hook in example.c reads the request into
 * these values and turns a refusal into an error naming the field;
 * tests/test_rules.c covers every case without a daemon.
 */
#ifndef EXAMPLE_RULES_H
#define EXAMPLE_RULES_H

/* What a check-in's cross-field rules say about it. */
enum checkin_verdict {
	CHECKIN_OK,
	CHECKIN_HOURS_ABSENT, /* hours above 0 for someone absent: field "hours" */
	CHECKIN_DETAIL_NO_INJURY, /* a medical detail without an injury: "medical_detail" */
};

/*
 * A check-in as it will be stored: present or not, its hours (0 when none
 * were given: null and 0 are the same to the rule), its incident ("none",
 * "near_miss", "injury"; NULL counts as no injury) and whether it holds a
 * medical detail. The hours are checked before the detail: one verdict, the
 * first rule broken.
 */
enum checkin_verdict checkin_rules(int present, double hours, const char *incident, int has_detail);

/* The field a verdict names, and why, for the API's error; NULL for CHECKIN_OK. */
const char *checkin_field(enum checkin_verdict);
const char *checkin_reason(enum checkin_verdict);

#endif
