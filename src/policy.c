#include "policy.h"

#include <string.h>

#include "util.h"

/* A pseudo-role for the rights of the person's own referent CIP. */
#define REFERENT_CIP (1u << ROLE_MAX)

#define ETI ROLEBIT(ROLE_ETI)
#define CIP ROLEBIT(ROLE_CIP)
#define COORD ROLEBIT(ROLE_COORDINATOR)
#define ADMIN ROLEBIT(ROLE_ADMIN)

static const struct {
	const char *name;
	unsigned read, write;
	int audited;
} policy[CAT_MAX] = {
	/* Ids and stamps: nothing personal, so the operator reads them with what it may read. */
	[CAT_NONE] = { "none", ETI | CIP | COORD | ADMIN, ETI | CIP | COORD, 0 },
	[CAT_IDENTITY] = { "identity", ETI | CIP | COORD, CIP | COORD, 0 },
	[CAT_PASS] = { "pass_iae", ETI | CIP | COORD, CIP | COORD, 0 },
	/*
	 * A suspension for detention or illness, a renewal or a PASS
	 * prolongation for RQTH: facts of justice, health or disability, so the
	 * referent CIP's, like the sensitive details. The coordinator reads and
	 * writes them too because the law puts them on the employer: it
	 * justifies a CDDI past 24 months and a PASS prolongation to the State
	 * (DREETS, ASP), declares suspensions with the monthly follow-up, and
	 * counts disabled workers (OETH). Another CIP and the ETI do not: the
	 * ETI plans with the dates alone (that a contract is suspended, until
	 * when).
	 */
	[CAT_CONTRACT_LEGAL] = { "contract_legal", REFERENT_CIP | COORD, REFERENT_CIP | COORD, 1 },
	/*
	 * Who referred the person and where they went tell what the person
	 * confided: a prescriber "spip" is the probation service (justice),
	 * "cap_emploi" the service for recognised disability, an exit "exclue"
	 * a long illness or detention. The CIPs work with the prescribers (they
	 * take the referrals and send the follow-up notices) and the coordinator
	 * reports the exits to the funders: both read it, the ETI does not. Not
	 * audited: every list of files shows it, and what it tells is a kind of
	 * service, not the person's details.
	 */
	[CAT_ORIENTATION] = { "orientation", CIP | COORD, CIP | COORD, 0 },
	[CAT_WELCOME] = { "welcome", ETI | CIP | COORD, ETI | CIP | COORD, 0 },
	[CAT_OBSERVATION] = { "observations", ETI | CIP | COORD, ETI, 0 },
	/* The ETI sees only the barriers the CIP shares: a row rule on top of this. */
	[CAT_BARRIER] = { "barriers", ETI | CIP | COORD, CIP, 1 },
	[CAT_SOCIAL_SUMMARY] = { "social_summary", CIP | COORD, CIP, 1 },
	[CAT_SOCIAL] = { "social", CIP, CIP, 1 },
	[CAT_REVIEW_META] = { "review_meta", ETI | CIP | COORD, CIP, 0 },
	[CAT_REVIEW_SHARED] = { "review_shared", ETI | CIP | COORD, CIP, 1 },
	[CAT_SENSITIVE] = { "sensitive", REFERENT_CIP, REFERENT_CIP, 1 },
	/*
	 * Whoever names the referent CIP hands out the sensitive category: the
	 * coordinator, or the referent passing the file on. A CIP may not make
	 * themselves referent of a colleague's file.
	 */
	[CAT_REFERENT] = { "referent", ETI | CIP | COORD, COORD | REFERENT_CIP, 0 },
	/*
	 * The workshop's day: the ETI plans, records and reads; the CIP reads it
	 * to prepare reviews; the coordinator manages production. Not audited:
	 * an ETI reads them all day long, and what they tell is the work.
	 */
	[CAT_PRODUCTION] = { "production", ETI | CIP | COORD, ETI | COORD, 0 },
	[CAT_ATTENDANCE] = { "attendance", ETI | CIP | COORD, ETI | COORD, 0 },
	[CAT_SAFETY] = { "safety", ETI | CIP | COORD, ETI | COORD, 0 },
	/* Skills are the ETI's to evaluate; the CIP and the coordinator read them. */
	[CAT_SKILLS] = { "skills", ETI | CIP | COORD, ETI, 0 },
	[CAT_EVALUATIONS] = { "evaluations", ETI | CIP | COORD, ETI, 0 },
	[CAT_LEARNING] = { "learning", ETI | CIP | COORD, ETI, 0 },
	/* An attestation at the exit is issued by the ETI or the coordinator. */
	[CAT_ATTESTATIONS] = { "attestations", ETI | CIP | COORD, ETI | COORD, 0 },
	/*
	 * Not the data of the people in the pathway: the structures and the
	 * staff accounts, which every role reads and the coordinator and the
	 * operator (admin) manage (the operator within authz_may_grant).
	 */
	[CAT_ORGANISATION] = { "organisation", ETI | CIP | COORD | ADMIN, COORD | ADMIN, 0 },
	[CAT_STAFF_ACCOUNTS] = { "staff_accounts", ETI | CIP | COORD | ADMIN, COORD | ADMIN, 0 },
};

static unsigned
bits(const struct access *a)
{
	unsigned b = ROLEBIT(a->role);

	if (a->role == ROLE_CIP && a->referent_cip)
		b |= REFERENT_CIP;
	return b;
}

const char *
category_name(enum category c)
{
	return c >= 0 && c < CAT_MAX ? policy[c].name : "?";
}

enum category
category_from_name(const char *name)
{
	for (int c = 0; c < CAT_MAX; c++)
		if (name != NULL && policy[c].name != NULL && strcmp(policy[c].name, name) == 0)
			return (enum category)c;
	return CAT_MAX;
}

int
policy_can_read(const struct access *a, enum category c)
{
	return c >= 0 && c < CAT_MAX && (policy[c].read & bits(a)) != 0;
}

int
policy_can_write(const struct access *a, enum category c)
{
	return c >= 0 && c < CAT_MAX && (policy[c].write & bits(a)) != 0;
}

unsigned
policy_roles(enum category c, int write)
{
	unsigned bits;

	if (c < 0 || c >= CAT_MAX)
		return 0;
	bits = write ? policy[c].write : policy[c].read;
	if (bits & REFERENT_CIP)
		bits = (bits & ~REFERENT_CIP) | CIP;
	return bits;
}

int
policy_audited(enum category c)
{
	return c >= 0 && c < CAT_MAX && policy[c].audited;
}

int
policy_personal_data(enum role r)
{
	return r == ROLE_ETI || r == ROLE_CIP || r == ROLE_COORDINATOR;
}

static json_t *
roles_of(unsigned bits)
{
	json_t *a = json_array();

	for (int r = ROLE_NONE + 1; r < ROLE_MAX; r++)
		if (bits & ROLEBIT(r))
			json_array_append_new(a, json_string(role_name((enum role)r)));
	if (bits & REFERENT_CIP)
		json_array_append_new(a, json_string("referent_cip"));
	return a;
}

json_t *
policy_json(void)
{
	json_t *o = json_object();

	for (int c = 0; c < CAT_MAX; c++)
		json_object_set_new(o, policy[c].name,
		    json_pack("{s:o, s:o, s:b}", "read", roles_of(policy[c].read), "write",
		        roles_of(policy[c].write), "audited", policy[c].audited));
	return o;
}
