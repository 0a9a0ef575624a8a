/*
 * Outbound HTTP(S): libcurl multi driven by the libevent loop. Requests are
 * asynchronous, owned (a plugin, a reload) and cancelled with their owner.
 * Certificate verification is always on; HTTPS only unless the configuration
 * explicitly allows plain HTTP.
 */
#ifndef TREMPLIN_NET_H
#define TREMPLIN_NET_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct net;
struct net_request;

struct net_options {
	const char *ca_file; /* PEM bundle to trust; NULL: the system's */
	int allow_http; /* permit http:// URLs (never by default) */
	long default_timeout_ms; /* whole-request timeout when a request gives 0 */
	size_t default_max_bytes; /* response body cap when a request gives 0 */
	const char *user_agent;
};

struct net_header {
	const char *name;
	const char *value;
};

struct net_spec {
	const char *method; /* "GET", "POST"... */
	const char *url;
	const struct net_header *headers;
	size_t nheaders;
	const void *body; /* copied */
	size_t body_len;
	long timeout_ms; /* 0: default */
	long connect_timeout_ms; /* 0: min(timeout, 10 s) */
	size_t max_bytes; /* 0: default; a longer body fails with NET_E_TOO_BIG */
	int follow_redirects; /* 0: a 3xx is handed back as it is */
};

enum net_error {
	NET_OK = 0, /* an HTTP answer came (any status) */
	NET_E_TIMEOUT,
	NET_E_CONNECT, /* refused, unreachable, DNS */
	NET_E_TLS, /* handshake or certificate verification failed */
	NET_E_TOO_BIG, /* body over max_bytes: cut, not handed back */
	NET_E_PROTOCOL, /* not HTTP, bad URL, scheme refused */
	NET_E_CANCELLED,
	NET_E_INTERNAL,
};

struct net_result {
	enum net_error error;
	const char *error_text; /* human-readable, for logs */
	long status; /* HTTP status when error == NET_OK */
	int64_t retry_after_s; /* Retry-After in seconds (delta or date), -1 when absent */
	const char *content_type; /* may be NULL */
	const char *body; /* NUL-terminated copy; may hold NULs before body_len */
	size_t body_len;
};

/*
 * Called once per request, on the loop, outside any curl callback. The
 * result's strings and body are valid only during the call.
 */
typedef void (*net_done_fn)(const struct net_result *, void *arg);

/*
 * Fails (NULL, err set) when libcurl lacks an asynchronous resolver or TLS:
 * a blocking resolver would stall the whole daemon.
 */
struct net *net_new(struct event_base *, const struct net_options *, char *err, size_t errlen);
/* Cancels everything in flight (callbacks get NET_E_CANCELLED) and frees. */
void net_free(struct net *);

/*
 * Start a request. Returns a handle valid until its callback has run, or
 * NULL with err set when the spec is refused up front (bad URL, plain http
 * not allowed): then the callback is never called.
 */
struct net_request *net_start(struct net *, const void *owner, const struct net_spec *, net_done_fn,
    void *arg, char *err, size_t errlen);
/* Cancel one request: its callback runs with NET_E_CANCELLED before this returns. */
void net_cancel(struct net_request *);
/* Cancel every request of owner (a plugin being stopped, a reload). */
void net_cancel_owner(struct net *, const void *owner);
size_t net_in_flight(struct net *);

#endif
