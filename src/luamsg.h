/*
 * Messages between tremplind and its Lua workers (luaproc.c, luaworker.c):
 * over a socketpair, each a 4-byte big-endian length and a JSON object.
 *
 * Generic by design: a request is {"call": NAME, "args": {...}}, its answer
 * {"reply": VALUE} or {"error": TEXT}. The parent sends the jobs ("load",
 * "event", "timer", "http_answer"), the worker answers each with "done"
 * ({"status": "ok"|"error"|..., "error": TEXT}) after making any number of
 * calls of its own ("view", "notify", "http", "use", "log", and whatever the
 * host adds: a new script function is a call name and a handler in
 * luaproc.c's calls[], and its name in luaworker.c's forwarded[], which
 * sends the function's arguments as a JSON array and returns the answer).
 */
#ifndef TREMPLIN_LUAMSG_H
#define TREMPLIN_LUAMSG_H

#include <stddef.h>

#include <jansson.h>

#define LUAMSG_MAX (16u << 20)
/*
 * Events of one script sent in one "events" message; the daemon sends the
 * next while fewer than this wait behind the worker's running call, so at
 * most 2 * LUAMSG_EVENT_BATCH - 1 events are out behind it.
 */
#define LUAMSG_EVENT_BATCH 64

/* Blocking, for the worker: 0, or -1 (the peer went, or a bad frame). */
int luamsg_write(int fd, const json_t *msg);
json_t *luamsg_read(int fd);
/* The frame of msg (malloc'd, *len bytes), for the parent's buffers. */
char *luamsg_frame(const json_t *msg, size_t *len);

/* The worker's entry point: serves the socket at fd until it closes. */
int luaworker_main(int fd);

#endif
