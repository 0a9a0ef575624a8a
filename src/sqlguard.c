#include "sqlguard.h"

#include <stddef.h>

static const void *current;
static sqlguard_fn decide;

static int
authorizer(
    void *arg, int action, const char *a1, const char *a2, const char *dbname, const char *trigger)
{
	(void)arg, (void)dbname, (void)trigger;
	if (current == NULL || decide == NULL)
		return SQLITE_OK;
	return decide(current, action, a1, a2);
}

void
sqlguard_install(sqlite3 *h, sqlguard_fn fn)
{
	decide = fn;
	sqlite3_set_authorizer(h, authorizer, NULL);
}

const void *
sqlguard_enter(const void *owner)
{
	const void *prev = current;

	current = owner;
	return prev;
}

void
sqlguard_leave(const void *previous)
{
	current = previous;
}

const void *
sqlguard_owner(void)
{
	return current;
}
