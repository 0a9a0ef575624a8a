/*
 * The outbox: notifications queued in the transaction of what caused them
 * (a site script's notify, a plugin's), delivered later by channel plugins
 * (e-mail, webhooks) that claim them with a lease and say when each is done.
 * A crash while one is claimed releases it when its lease ends: nothing is
 * lost, and a channel may see a notification twice (at least once).
 */
#ifndef TREMPLIN_OUTBOX_H
#define TREMPLIN_OUTBOX_H

#include <stdint.h>

#include <jansson.h>

struct db;

struct outbox_entry {
	const char *source; /* "lua:<script>", "plugin:<name>" */
	const char *kind; /* [a-z][a-z0-9_.]*: what happened */
	const char *recipient_role; /* a role, or NULL with recipient_staff_id */
	int64_t recipient_staff_id;
	int64_t employee_id; /* the person it is about, or 0 */
	const char *message; /* what to tell, the least data */
	const char *dedup_key; /* NULL, or a key queued once only (the caller's namespace) */
};

/*
 * Whom it is for and about exist: 0, or -1 with why (a recipient_staff_id
 * that is no active account, an employee_id that is no employee, or the
 * database's failure).
 */
int outbox_check(struct db *, const struct outbox_entry *, char *why, size_t whylen);
/*
 * Queue one in the caller's open transaction, with its alert (alerts.h):
 * 1 queued (*id set), 0 one with the same dedup_key was already, -1 on a
 * database error (logged).
 */
int outbox_queue(struct db *, const struct outbox_entry *, int64_t *id);
/*
 * Claim up to max notifications due at now_ms for channel: those it has
 * not taken, those it is to try again, and its claims whose lease ended
 * (each channel claims every entry on its own). Each is claimed until
 * now_ms + lease_ms. A channel takes entries from its first call on, and
 * those no channel had taken then; max 0 only makes that first call (a
 * channel says so when it starts, before another may deliver). A new array of {id, source, kind, recipient_role,
 * recipient_staff_id, employee_id, message, attempts, alert_id, recipients}
 * (the entries of one alert share alert_id; recipients: the entry's staff
 * accounts, [{staff_id, name, email}]); NULL on an error.
 */
json_t *outbox_claim(struct db *, const char *channel, int max, int64_t lease_ms, int64_t now_ms);
/*
 * A channel's claimed notification delivered (ok) or not: then tried
 * again from retry_at_ms, or given up (failed) when retry_at_ms is 0. The
 * entry's own status is sent once a channel delivered it, failed while
 * every channel that finished with it gave up. -1 when it is not the
 * channel's claim (any more), or on a database error.
 */
int outbox_done(struct db *, const char *channel, int64_t id, int ok, const char *error,
    int64_t retry_at_ms, int64_t now_ms);
/* Drop what is queued about a person, and their alerts (their file is erased). */
int outbox_forget_employee(struct db *, int64_t employee_id);

#endif
