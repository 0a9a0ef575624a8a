#include "authz.h"

#include <string.h>

#include "util.h"

static const char *const role_names[ROLE_MAX] = {
	[ROLE_NONE] = "none",
	[ROLE_ETI] = "eti",
	[ROLE_CIP] = "cip",
	[ROLE_COORDINATOR] = "coordinator",
	[ROLE_ADMIN] = "admin",
};

/*
 * Who may do what. Structures and the staff directory are not personal data
 * of the people in the pathway: every staff role reads them (a CIP picks a
 * referent ETI from the directory). Managing them is the coordinator's and
 * the operator's job. Backups are the operator's alone.
 */
static const unsigned policy[ACT_MAX] = {
	[ACT_HEALTH_READ] = ROLES_STAFF,
	[ACT_WHOAMI] = ROLES_STAFF,
	[ACT_BACKUP] = ROLEBIT(ROLE_ADMIN),
	/* Plugin states and the journal are for those who run the structure and the daemon. */
	[ACT_PLUGINS_READ] = ROLES_MANAGERS,
	[ACT_EVENTS_READ] = ROLES_MANAGERS,
	/* Reloading scripts and plugin settings is the operator's. */
	[ACT_PLUGINS_RELOAD] = ROLEBIT(ROLE_ADMIN),
	/* The operator reads no personal data (DOMAIN.md, Confidentiality). */
	[ACT_PERSONAL] = ROLEBIT(ROLE_ETI) | ROLEBIT(ROLE_CIP) | ROLEBIT(ROLE_COORDINATOR),
	[ACT_AUDIT_READ] = ROLES_MANAGERS,
	[ACT_POLICY_READ] = ROLES_STAFF,
	[ACT_PLUGIN_ROUTE] = 0,
	/* Counters hold no personal data; they are for those who run the daemon. */
	[ACT_METRICS_READ] = ROLES_MANAGERS,
	/* A purge held by the safety net: listed to managers, let go by the operator. */
	[ACT_RETENTION_READ] = ROLES_MANAGERS,
	[ACT_RETENTION_CONFIRM] = ROLEBIT(ROLE_ADMIN),
};

const char *
role_name(enum role r)
{
	return r > ROLE_NONE && r < ROLE_MAX ? role_names[r] : "none";
}

enum role
role_from_name(const char *name)
{
	for (int r = ROLE_ETI; r < ROLE_MAX; r++)
		if (name != NULL && strcmp(name, role_names[r]) == 0)
			return (enum role)r;
	return ROLE_NONE;
}

int
authz_allowed(enum role r, enum action a)
{
	if (r <= ROLE_NONE || r >= ROLE_MAX || a < 0 || a >= ACT_MAX)
		return 0;
	return (policy[a] & ROLEBIT(r)) != 0;
}

int
authz_may_grant(enum role who, enum role target)
{
	if (target <= ROLE_NONE || target >= ROLE_MAX)
		return 0;
	if (who == ROLE_ADMIN)
		return 1;
	/* A coordinator runs the team but may not mint operators. */
	if (who == ROLE_COORDINATOR)
		return target != ROLE_ADMIN;
	return 0;
}
