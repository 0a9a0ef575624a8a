/*
 * Confidentiality: one table decides, for each category of data and each
 * role, who reads and who writes (../shared/domain/DOMAIN.md, "Confidentiality").
 * Every field of the pathway data belongs to a category; every endpoint,
 * list, export and event payload goes through this table.
 */
#ifndef TREMPLIN_POLICY_H
#define TREMPLIN_POLICY_H

#include <stdint.h>

#include <jansson.h>

#include "authz.h"

enum category {
	CAT_NONE = 0, /* not personal: ids, timestamps */
	CAT_IDENTITY, /* identity, contact, team, referents, contract dates and hours, exit dates */
	CAT_PASS, /* PASS IAE */
	CAT_CONTRACT_LEGAL, /* legal reasons (extensions, suspensions): reveal health, age, justice */
	CAT_ORIENTATION, /* who referred the person, where they went: spip, cap_emploi, long illness */
	CAT_WELCOME, /* the welcome checklist */
	CAT_OBSERVATION, /* observations of work behaviour */
	CAT_BARRIER, /* a barrier's category and that it exists */
	CAT_SOCIAL_SUMMARY, /* summary of the social follow-up: severities, statuses, decisions */
	CAT_SOCIAL, /* barrier details, CIP notes, goals' text, review content */
	CAT_REVIEW_META, /* that a review is planned or held, its kind and dates */
	CAT_REVIEW_SHARED, /* the part of a review the CIP shares with the ETI */
	CAT_SENSITIVE, /* health, disability, justice details: the referent CIP only */
	CAT_REFERENT, /* who is the referent CIP: naming one grants the sensitive category */
	/* What the domain plugins hold about a person (DOMAIN.md's access table). */
	CAT_PRODUCTION, /* assignments to work orders, output, quality */
	CAT_ATTENDANCE, /* presence, absences, hours worked */
	CAT_SAFETY, /* protective equipment issued, incidents (an injury's medical details: sensitive) */
	CAT_SKILLS, /* skills acquired, attestations */
	CAT_EVALUATIONS, /* evaluations in work situations */
	CAT_LEARNING, /* learning sessions and who took part */
	CAT_ATTESTATIONS, /* attestations de compétences issued, the consent they rest on */
	/* Records of nobody's the operator manages too. */
	CAT_ORGANISATION, /* the structures: names, SIRET, kinds, annexes financières */
	CAT_STAFF_ACCOUNTS, /* who may call the API, as which role */
	CAT_MAX
};

/*
 * Who asks about whom: the caller's role plus their relation to the person
 * (the referent CIP has rights other CIPs do not).
 */
struct access {
	enum role role;
	int64_t staff_id;
	int referent_cip; /* the caller is this person's referent CIP */
	int referent_eti;
};

const char *category_name(enum category);
/* CAT_MAX for a name that is no category. */
enum category category_from_name(const char *);
int policy_can_read(const struct access *, enum category);
int policy_can_write(const struct access *, enum category);
/* The roles (ROLEBIT) that read, or write, a category; the referent CIP counts as a CIP. */
unsigned policy_roles(enum category, int write);
/* Categories the audit log records reads of. */
int policy_audited(enum category);
/* Whether the role may see any personal data at all (the operator may not). */
int policy_personal_data(enum role);

/* The table as JSON: {category: {read: [roles], write: [roles], audited}}. */
json_t *policy_json(void);

#endif
