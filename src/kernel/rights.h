/*
 * The person's rights: the export of a file, its erasure on request, and
 * the daily retention job that purges files not touched for retention_days
 * (keeping anonymous counts) and ages out the audit log.
 */
#ifndef TREMPLIN_RIGHTS_H
#define TREMPLIN_RIGHTS_H

#include <stddef.h>
#include <stdint.h>

struct server;

/* Register the daily retention job (a durable timer, "core/retention"). */
int retention_start(struct server *);
/*
 * Purge the files due at now_ms, one transaction each, at most a batch;
 * *more when some are left for another pass. Returns how many were purged,
 * -1 when the files due cannot be listed.
 */
int retention_run(struct server *, int64_t now_ms, int *more);

/*
 * The files due for purge: ?1 the cutoff (RFC 3339: last contact before it),
 * ?2 today (a contract running that day keeps the file). A file with a
 * contract running today is kept whatever its last contact: the person
 * still works here.
 */
#define RETENTION_DUE_WHERE                                                                        \
	"e.last_contact_at < ?1 AND NOT EXISTS (SELECT 1 FROM contracts c"                         \
	" WHERE c.employee_id = e.id AND c.ended_on IS NULL AND c.start_date <= ?2"                \
	" AND c.end_date >= ?2)"
/* Run the retention job now, once (after an admin confirmed a held purge). */
void retention_now(struct server *);

/*
 * The safety net (retention.c): a run that would purge more than
 * retention_hold_percent of the files waits for an admin's confirmation.
 * retention_hold_start() notes, before the timer is added, when the job last
 * ran (a first start, a long stop); retention_hold_check() at the start of
 * each run: 1 to hold it (logged loudly), 0 to go; retention_hold_done()
 * once a run has purged all it had to.
 */
void retention_hold_start(struct server *);
int retention_hold_check(struct server *, int64_t now_ms);
void retention_hold_done(void);
/* The cutoff and today's date for a run at now_ms. */
void retention_bounds(struct server *, int64_t now_ms, char *cutoff, size_t, char *today, size_t);

#endif
