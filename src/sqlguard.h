/*
 * Whose SQL is being prepared: the host's, or a plugin's. While a plugin's
 * statement or migration is prepared, SQLite's authorizer asks the decider
 * the loader set (sqlguard_install) whether that plugin may do what the
 * statement does; the host's own statements are never limited. Authorizing
 * happens when a statement is prepared, so a plugin's statements are never
 * shared with the host's (they have a cache of their own).
 */
#ifndef TREMPLIN_SQLGUARD_H
#define TREMPLIN_SQLGUARD_H

#include <sqlite3.h>

/* SQLITE_OK, SQLITE_DENY or SQLITE_IGNORE, as an authorizer answers. */
typedef int (*sqlguard_fn)(const void *owner, int action, const char *a1, const char *a2);

void sqlguard_install(sqlite3 *, sqlguard_fn);
/* Enter code of owner (NULL: the host's); returns what to hand sqlguard_leave. */
const void *sqlguard_enter(const void *owner);
void sqlguard_leave(const void *previous);
const void *sqlguard_owner(void);

#endif
