/*
 * The connections of the API socket, below evhttp: each one goes through a
 * filter that reads the request stream strictly (RFC 9112) and hands evhttp
 * only whole, valid requests, one at a time; that enforces the whole-request
 * deadline, the connection caps and the descriptor limit.
 */
#ifndef TREMPLIN_CONN_H
#define TREMPLIN_CONN_H

#include <sys/types.h>

struct evhttp_request;
struct evhttp_connection;
struct server;

/* An error the connection layer decided; the API answers it, then closes. */
struct conn_error {
	int status;
	const char *code;
	const char *message;
};

/*
 * Raise the soft open-file limit to the hard one (the connections' caps
 * keep a reserve below it). Call once at start, before anything is opened.
 */
void conn_raise_nofile(void);
/* Install the filter on srv->http; call before listening. */
void conn_init(struct server *);
/* Take the listener of srv->bound (pausing it when descriptors run out). */
void conn_listen(struct server *);
/* The listener is gone (shutdown): forget it. */
void conn_unlisten(void);
/* Apply the caps and the deadline of srv->conf (start and reload). */
void conn_apply_config(struct server *);
/*
 * For the request being dispatched: 0 and the peer's uid; 1 and *err when
 * the connection layer has an error to answer for it (reply, then close);
 * -1 when the connection has no peer credentials.
 */
int conn_request(struct evhttp_request *, uid_t *uid, struct conn_error *err);
/*
 * Connections with a request under way: partly received, not yet answered,
 * or whose answer is still being written. Shutdown waits for these.
 */
/*
 * A reply given later (api_later) was written on evcon: push it out, as
 * after a dispatch.
 */
void conn_replied_later(struct evhttp_connection *evcon);
int conn_busy(void);
/* Free what is left at exit. */
void conn_free(void);

#endif
