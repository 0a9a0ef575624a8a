/* Roles and what each may do. One table decides; handlers ask it. */
#ifndef TREMPLIN_AUTHZ_H
#define TREMPLIN_AUTHZ_H

enum role { ROLE_NONE = 0, ROLE_ETI, ROLE_CIP, ROLE_COORDINATOR, ROLE_ADMIN, ROLE_MAX };

#define ROLEBIT(r) (1u << (r))
#define ROLES_STAFF                                                                                \
	(ROLEBIT(ROLE_ETI) | ROLEBIT(ROLE_CIP) | ROLEBIT(ROLE_COORDINATOR) | ROLEBIT(ROLE_ADMIN))
#define ROLES_MANAGERS (ROLEBIT(ROLE_COORDINATOR) | ROLEBIT(ROLE_ADMIN))

/* Actions on the resources of the foundation. */
enum action {
	ACT_HEALTH_READ,
	ACT_WHOAMI,
	ACT_BACKUP,
	ACT_PLUGINS_READ,
	ACT_EVENTS_READ,
	ACT_PLUGINS_RELOAD,
	ACT_PERSONAL, /* a person's file: the policy table decides field by field */
	ACT_AUDIT_READ,
	ACT_POLICY_READ,
	ACT_PLUGIN_ROUTE, /* decided by the route's own roles */
	ACT_METRICS_READ,
	ACT_RETENTION_READ, /* what the retention job would purge: ids and dates */
	ACT_RETENTION_CONFIRM,
	ACT_MAX
};

const char *role_name(enum role);
/* Returns ROLE_NONE for an unknown name. */
enum role role_from_name(const char *);
int authz_allowed(enum role, enum action);
/* Roles a caller of role `who` may give to or take from a staff account. */
int authz_may_grant(enum role who, enum role target);

#endif
