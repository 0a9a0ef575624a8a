/* Who is calling: SO_PEERCRED uid -> Unix user name -> active staff account -> role. */
#ifndef TREMPLIN_IDENTITY_H
#define TREMPLIN_IDENTITY_H

#include <stdint.h>
#include <sys/types.h>

#include "authz.h"

struct db;

struct identity {
	int64_t staff_id;
	uid_t uid;
	enum role role;
	char unix_user[33];
	char name[801]; /* 200 characters of up to 4 bytes */
};

/* The uid of the peer of a Unix socket; -1 when the socket gives no credentials. */
int peer_uid(int fd, uid_t *uid);
/*
 * Whether the peer of a Unix socket had gid as its group or among its
 * supplementary groups when it connected (SO_PEERCRED, SO_PEERGROUPS): 1 or 0.
 */
int peer_in_group(int fd, gid_t gid);

/*
 * Map uid to an active staff account. 0: found, 1: no such caller (no user
 * name, or no active account), -1: the database failed.
 */
int identity_lookup(struct db *, uid_t uid, struct identity *out);

/* Forget cached identities: call after any change to staff accounts. */
void identity_invalidate(void);

#endif
