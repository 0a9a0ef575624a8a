/*
 * The person's rights: the export of a file, its erasure on request, and
 * the daily retention job that purges files not touched for retention_days
 * (keeping anonymous counts) and ages out the audit log.
 */
#ifndef TREMPLIN_RIGHTS_H
#define TREMPLIN_RIGHTS_H

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

#endif
