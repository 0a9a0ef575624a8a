/*
 * The event journal: every domain change is an event row written in the
 * same transaction as the change. After the commit, a dispatcher hands new
 * events to each subscriber in order, with a durable cursor per subscriber:
 * at least once, never skipped, a failing subscriber retried with backoff
 * while the others go on.
 */
#ifndef TREMPLIN_EVENTS_H
#define TREMPLIN_EVENTS_H

#include <stdint.h>

#include <jansson.h>

struct event_base;
struct db;
struct events;
struct identity;

struct event_rec {
	int64_t id;
	const char *type;
	const char *subject;
	const json_t *payload;
	const char *actor;
	const char *created_at;
	/* The payload as stored (JSON text); for a subscriber of events_set_text, payload is NULL. */
	const char *payload_text;
};

#define EVENT_DONE 0
#define EVENT_FAILED (-1)
#define EVENT_PENDING 1

typedef int (*event_fn)(const struct event_rec *, void *arg);

/* delay_ms: a pause before dispatching new events (groups bursts). */
struct events *events_new(struct event_base *, struct db *, int delay_ms);
void events_free(struct events *);
void events_set_delay(struct events *, int delay_ms);

/*
 * Record an event; must run inside the caller's write transaction. actor is
 * the Unix user or "plugin:<name>"; actor_id the staff id or 0. Takes the
 * payload reference: the payload is the caller's no more, nor changed after
 * (subscribers are handed it as it is, or its parts another reference
 * reaches copied). Returns the event id, or -1 (the caller rolls back).
 */
int64_t events_publish(struct events *, const char *type, const char *subject, json_t *payload,
    int64_t actor_id, const char *actor);
/* The usual case: the actor is the request's caller. */
int64_t events_publish_by(struct events *, const struct identity *, const char *type,
    const char *subject, json_t *payload);

/*
 * A change of a core object: type "<kind>.created" or "<kind>.updated",
 * subject "<kind>/<id>", payload {"object": after, "changed": [keys]} (the
 * keys only for an update: before is NULL on create). Borrows both objects.
 */
int64_t events_publish_change(struct events *, const struct identity *, const char *kind,
    int64_t id, json_t *after, json_t *before);

/*
 * Subscribe `name` (durable: "<plugin>/<name>") to events of `type` (exact,
 * "prefix.*" or "*"). A new subscriber starts after the newest event; a
 * known one resumes after its cursor. owner groups subscriptions.
 */
int events_subscribe(
    struct events *, const void *owner, const char *name, const char *type, event_fn, void *arg);
void events_unsubscribe_owner(struct events *, const void *owner);
/*
 * Let subscriber `name` have up to n events (at most 256) handed to its
 * asynchronous handler before the first is finished (1 by default: one at
 * a time). They may finish in any order; the cursor passes only contiguous
 * finished events, and a failure retries from the first unfinished one,
 * handing again those in flight after it. -1 when not subscribed.
 */
int events_set_window(struct events *, const char *name, int n);
/*
 * Hand subscriber `name` the payloads as their stored text only (payload
 * NULL): for a handler that passes them on as text (a Lua worker), so that
 * none is parsed to be written again. -1 when not subscribed.
 */
int events_set_text(struct events *, const char *name);
/* Finish an event a handler left pending. */
void events_done(struct events *, const char *name, int64_t event_id, int ok, const char *error);

/* Look for new events soon (after a commit). */
void events_kick(struct events *);

/* The subscriptions of owner as JSON (for GET /v1/plugins): an array. */
json_t *events_subscriptions_json(struct events *, const void *owner);

/*
 * For the metrics: fn(name, n) for each live subscriber, n the events of its
 * type journaled after its cursor (-1 when the database does not answer).
 */
void events_backlog(
    struct events *, void (*fn)(const char *name, int64_t pending, void *arg), void *arg);

#endif
