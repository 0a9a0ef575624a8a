/*
 * Alerts: what staff see of the outbox. Every queued notification joins
 * the open alert of its rule and subject, or opens one; an alert is open,
 * then acknowledged (by whom, when), then resolved (by a person, or by the
 * rule when the cause is gone). Its recipients are staff accounts, resolved
 * when the notification is queued: an account, or a role's active accounts.
 *
 * The rule and subject of a notification (its alert key) is its dedup_key
 * without the recipient at its end (":<role>" or ":staff<id>", as
 * lib/alert.lua writes them): the notifications one rule queues for the
 * CIP and the coordinator about one contract are one alert. A notification
 * without a dedup_key is an alert of its own.
 */
#ifndef TREMPLIN_ALERTS_H
#define TREMPLIN_ALERTS_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct outbox_entry;
struct tremplin_request;

/*
 * The alert key of a notification into buf: 0, or -1 when it has none (no
 * dedup_key) or buf is too small. Pure.
 */
int alerts_key_of(const struct outbox_entry *, char *buf, size_t size);
/*
 * In the caller's transaction: the outbox entry outbox_id joins its open
 * alert or opens one, with its recipients. 0, or -1 on a database error.
 */
int alerts_from_outbox(struct db *, const struct outbox_entry *, int64_t outbox_id);
/*
 * In the caller's transaction: a rule resolves its own open alerts (source
 * "lua:<script>", keys as alerts_key_of gives them): the one whose key is
 * `key`, or, when key is NULL, every one whose key starts with `prefix` and
 * is not in keep_json (a JSON array of keys, or NULL). *n: how many. 0, or
 * -1 on a database error.
 */
int alerts_resolve_by_rule(struct db *, const char *source, const char *key, const char *prefix,
    const char *keep_json, int64_t *n);
/* Forget the alerts about a person (their file is erased). */
int alerts_forget_employee(struct db *, int64_t employee_id);

/* GET /v1/alerts, POST /v1/alerts/{id}/ack, POST /v1/alerts/{id}/resolve. */
void alerts_list(struct tremplin_request *);
void alerts_ack(struct tremplin_request *);
void alerts_resolve(struct tremplin_request *);

#endif
