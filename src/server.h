/* The daemon's state and its Unix-socket HTTP server. */
#ifndef TREMPLIN_SERVER_H
#define TREMPLIN_SERVER_H

#include <stddef.h>
#include <time.h>

struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct config;
struct db;
struct events;
struct sched;
struct net;
struct plugins;
struct router;
struct luahost;
struct audit;

struct server {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct config *conf;
	struct db *db;
	struct audit *audit; /* the audit log, in its own file */
	struct events *events;
	struct sched *sched;
	struct net *net;
	struct router *router; /* every route: the platform's, the kernel's, the plugins' */
	struct plugins *plugins;
	struct luahost *lua; /* the site scripts */
	time_t started;
	int lockfd;
	int draining;
	int activated; /* the socket came from systemd (tremplind.socket): not ours to remove */
	int activated_fd;
	/* Reload the configuration (SIGHUP, POST /v1/plugins/reload): -1 and err when refused. */
	int (*reload)(struct server *, char *err, size_t errlen);
};

/*
 * Take the socket's lock: -1 with a message when another instance holds it.
 * Taken before the database is opened, so a refused instance touches nothing.
 */
int server_lock(struct server *, char *err, size_t errlen);
/*
 * Take the socket systemd passed (socket activation), if any, checking it is
 * the configuration's: -1 with a message when it cannot be served. Before
 * the database too.
 */
int server_activation(struct server *, char *err, size_t errlen);
/*
 * Take the lock unless held already, replace a stale socket file, bind and
 * listen with the configured mode.
 */
int server_listen(struct server *, char *err, size_t errlen);
/* Apply the limits and timeouts of the configuration to the HTTP server. */
void server_apply_config(struct server *);
/* Stop accepting; in-flight requests still finish. */
void server_stop_accepting(struct server *);
void server_close(struct server *);

#endif
