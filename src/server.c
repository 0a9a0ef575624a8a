#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

#include "api.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "util.h"

static void
http_cb(struct evhttp_request *req, void *arg)
{
	api_dispatch(req, arg);
}

/*
 * The lock file beside the socket says whether a daemon owns the socket: a
 * live one holds the lock, so a leftover socket file without it is stale.
 */
int
server_lock(struct server *srv, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s.lock", srv->conf->socket_path);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen,
			    "another tremplind is already serving %s (it holds %s): refusing to "
			    "start",
			    srv->conf->socket_path, path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	srv->lockfd = fd;
	return 0;
}

/*
 * Socket activation (sd_listen_fds(3) without libsystemd): systemd passes the
 * listening socket of tremplind.socket as fd 3, with LISTEN_PID and
 * LISTEN_FDS. 1 and *fd when one was passed for us, 0 when none, -1 and err
 * when what was passed cannot be served (several sockets, another path than
 * the configuration's, not a listening Unix stream socket).
 */
#define SD_LISTEN_FDS_START 3

static int
listen_fd_from_systemd(const char *path, int *fd, char *err, size_t errlen)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	int64_t p, n;
	int v = 0, type = 0;
	socklen_t vlen = sizeof(v), tlen = sizeof(type);

	if (pid == NULL || fds == NULL || tr_parse_i64(pid, 1, INT32_MAX, &p) == -1 ||
	    p != (int64_t)getpid())
		return 0;
	/* Not for the children a plugin or a script might start. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (tr_parse_i64(fds, 0, INT32_MAX, &n) == -1 || n != 1) {
		snprintf(err, errlen,
		    "systemd passed %s sockets (LISTEN_FDS); tremplind serves exactly one", fds);
		return -1;
	}
	*fd = SD_LISTEN_FDS_START;
	memset(&sun, 0, sizeof(sun));
	if (getsockopt(*fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vlen) == -1 || !v ||
	    getsockopt(*fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1 || type != SOCK_STREAM ||
	    getsockname(*fd, (struct sockaddr *)&sun, &len) == -1 || sun.sun_family != AF_UNIX) {
		snprintf(
		    err, errlen, "the socket systemd passed is not a listening Unix stream socket");
		return -1;
	}
	if (strncmp(sun.sun_path, path, sizeof(sun.sun_path)) != 0) {
		snprintf(err, errlen,
		    "systemd passed the socket %.*s, but the configuration's socket is %s: make "
		    "ListenStream= in tremplind.socket and socket in tremplin.conf the same path",
		    (int)strnlen(sun.sun_path, sizeof(sun.sun_path)), sun.sun_path, path);
		return -1;
	}
	if (fcntl(*fd, F_SETFD, FD_CLOEXEC) == -1 || evutil_make_socket_nonblocking(*fd) == -1) {
		snprintf(err, errlen, "the socket systemd passed: %s", strerror(errno));
		return -1;
	}
	return 1;
}

int
server_activation(struct server *srv, char *err, size_t errlen)
{
	int fd, rc = listen_fd_from_systemd(srv->conf->socket_path, &fd, err, errlen);

	if (rc == 1) {
		srv->activated = 1;
		srv->activated_fd = fd;
	}
	return rc == -1 ? -1 : 0;
}

int
server_listen(struct server *srv, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	const char *path = srv->conf->socket_path;
	int fd, rc;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -1;
	}
	if (srv->lockfd == -1 && server_lock(srv, err, errlen) == -1)
		return -1;
	if (!srv->activated && server_activation(srv, err, errlen) == -1)
		return -1;
	if (srv->activated) {
		/* Its owner, group and mode are the unit's (SocketUser=, SocketMode=). */
		fd = srv->activated_fd;
		log_info("serving the socket systemd passed (%s)", path);
		goto accept;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(
		    err, errlen, "cannot remove the stale socket %s: %s", path, strerror(errno));
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	tr_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	/* Bind under a tight umask, then open up to the configured mode. */
	mode_t old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == -1 || chmod(path, srv->conf->socket_mode) == -1 || listen(fd, 128) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
accept:
	if ((srv->bound = evhttp_accept_socket_with_handle(srv->http, fd)) == NULL) {
		snprintf(err, errlen, "%s: cannot accept connections", path);
		close(fd);
		return -1;
	}
	evhttp_set_gencb(srv->http, http_cb, srv);
	conn_listen(srv);
	return 0;
}

void
server_apply_config(struct server *srv)
{
	evhttp_set_max_headers_size(srv->http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(srv->http, HTTP_MAX_BODY);
	/*
	 * evhttp's own timeout closes idle connections and slow readers; the
	 * request deadline (conn.c) runs from a request's first byte and ends
	 * before it, so that a slow request gets its 408.
	 */
	evhttp_set_timeout(srv->http, srv->conf->request_timeout + 1);
	conn_apply_config(srv);
	evhttp_set_allowed_methods(srv->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	        EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH | EVHTTP_REQ_TRACE |
	        EVHTTP_REQ_CONNECT);
	evhttp_set_default_content_type(srv->http, "application/json");
}

void
server_stop_accepting(struct server *srv)
{
	if (srv->bound != NULL) {
		conn_unlisten();
		evhttp_del_accept_socket(srv->http, srv->bound);
		srv->bound = NULL;
		/* systemd keeps listening on its socket, to start the daemon again. */
		if (!srv->activated)
			unlink(srv->conf->socket_path);
	}
}

void
server_close(struct server *srv)
{
	server_stop_accepting(srv);
	if (srv->http)
		evhttp_free(srv->http);
	srv->http = NULL;
	if (srv->lockfd > 0) {
		close(srv->lockfd);
		srv->lockfd = -1;
	}
}
