#include "identity.h"

#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "util.h"

/*
 * A small cache: resolving a uid goes through NSS and a query, and a client
 * on a keep-alive connection asks many times a second. Entries live a few
 * seconds and any staff change drops them all.
 */
#define IDCACHE_SIZE 16
#define IDCACHE_TTL 5

static struct {
	struct identity id;
	time_t expires;
	int used;
} idcache[IDCACHE_SIZE];

int
peer_uid(int fd, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 || len != sizeof(cred))
		return -1;
	/* An unconnected or non-Unix socket reports the overflow uid; treat it as none. */
	if (cred.pid == 0)
		return -1;
	*uid = cred.uid;
	return 0;
}

int
peer_in_group(int fd, gid_t gid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t groups[256];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 || len != sizeof(cred) ||
	    cred.pid == 0)
		return 0;
	if (cred.gid == gid)
		return 1;
#ifdef SO_PEERGROUPS
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1)
		return 0; /* ERANGE: more than 256 groups; not worth the allocation */
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			return 1;
#endif
	return 0;
}

void
identity_invalidate(void)
{
	memset(idcache, 0, sizeof(idcache));
}

int
identity_lookup(struct db *db, uid_t uid, struct identity *out)
{
	static const char sql[] =
	    "SELECT id, role, name FROM staff WHERE unix_user = ? AND active = 1";
	struct passwd pw, *res = NULL;
	char buf[4096];
	time_t now = time(NULL);
	int slot = (int)(uid % IDCACHE_SIZE);

	if (idcache[slot].used && idcache[slot].id.uid == uid && idcache[slot].expires > now) {
		*out = idcache[slot].id;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	out->uid = uid;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return 1;
	tr_strlcpy(out->unix_user, pw.pw_name, sizeof(out->unix_user));

	sqlite3_stmt *st = db_stmt(db, sql);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, out->unix_user, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->staff_id = sqlite3_column_int64(st, 0);
		out->role = role_from_name((const char *)sqlite3_column_text(st, 1));
		tr_strlcpy(out->name, (const char *)sqlite3_column_text(st, 2), sizeof(out->name));
	}
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	if (rc == SQLITE_DONE || out->role == ROLE_NONE)
		return 1;
	idcache[slot].id = *out;
	idcache[slot].expires = now + IDCACHE_TTL;
	idcache[slot].used = 1;
	return 0;
}
