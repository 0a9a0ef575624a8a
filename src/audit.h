/*
 * The audit log: who read social or sensitive data about whom, and every
 * write, in its own SQLite file. The daemon only appends to it (triggers
 * refuse updates, and deletes of entries younger than the retention), and
 * it is written before the answer or the commit it records: a failure to
 * record refuses the request rather than let it go unrecorded.
 */
#ifndef TREMPLIN_AUDIT_H
#define TREMPLIN_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct identity;
struct audit;
struct tremplin_request;
struct db;

int audit_open(const char *path, int retention_days, struct audit **out, char *err, size_t errlen);
void audit_close(struct audit *);

/*
 * Append one entry. action: read, create, update, export, erase, purge.
 * categories: a bit set of (1 << enum category). employee_id 0 when none.
 */
int audit_record(struct audit *, const struct identity *, const char *action, int64_t employee_id,
    const char *resource, unsigned categories);
/*
 * The same for an actor that is no staff account's request: the retention
 * job ("retention", role "daemon"), a site script ("lua:<name>", its role).
 * staff_id 0 when none.
 */
int audit_record_as(struct audit *, int64_t staff_id, const char *actor, const char *role,
    const char *action, int64_t employee_id, const char *resource, unsigned categories);
/* One entry per employee of ids[], in one transaction: all recorded or none. */
int audit_record_many(struct audit *, const char *actor, const char *role, const char *action,
    const int64_t *ids, size_t n, const char *resource, unsigned categories);

/* Which entries to list: each field 0 (or has_* 0) leaves that filter out. */
struct audit_filter {
	int64_t employee_id;
	int64_t staff_id;
	int has_since, has_until;
	int64_t since, until; /* seconds since the epoch: since <= at < until */
};

/* Entries, newest last, after id `after`, that pass f. An array, or NULL on error. */
json_t *audit_list(
    struct audit *, const struct audit_filter *f, int64_t after, int limit, int64_t *last);
/*
 * Refuse a request whose audit entry could not be written (fail closed):
 * 507 when the disk holding the audit log is full, 503 otherwise. what: "read", "export".
 */
void audit_refuse(struct tremplin_request *, const char *what);
/* The audit log's store, for its health and its failures. */
struct db *audit_db(struct audit *);

/* Drop entries older than the retention; returns how many, -1 on error. */
int audit_purge(struct audit *, int64_t now_ms);

#endif
