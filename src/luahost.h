/*
 * The Lua host: the site scripts of the configuration, each in its own
 * sandbox (luabox.c), with the script API (docs/lua-api.md): on, every,
 * view, notify, log, options, http, use, json, date.
 *
 * Every call into a script runs on the event loop, one at a time, through
 * lua_pcall: at once from the journal's or the scheduler's callback while
 * the calls of the current loop iteration stayed within a small budget,
 * otherwise later from the host's job queue (an event is then taken as
 * pending and finished after its handler ran); HTTP answers always go
 * through the queue. A script that passes a limit, or fails max_failures
 * calls in a row, is disabled and reported in GET /v1/plugins; the daemon
 * runs on.
 *
 * The host talks to the core through messages (a job in, a result out) and
 * holds no pointer into core state besides the modules it calls. With
 * script_workers, each script runs in a worker process of its own instead
 * (luaproc.c, luaworker.c): every call is then a job sent to the worker, and
 * the daemon kills a worker whose call passes its deadline.
 */
#ifndef TREMPLIN_LUAHOST_H
#define TREMPLIN_LUAHOST_H

#include <jansson.h>

struct server;
struct config;
struct luahost;

struct luahost *luahost_new(struct server *);
/*
 * Bring the scripts in line with conf: load new ones, reload those whose
 * file or section changed (a version that does not load leaves the running
 * one in place, with the reason in last_error), retry disabled ones, stop
 * those no longer configured. At start and on every reload.
 *
 * With script_workers, a script loads in its worker while the loop serves
 * on: the first call (at start, before the daemon serves) returns once
 * every script has loaded or failed; later ones return at once, and the
 * outcome follows (luahost_when_loaded).
 */
void luahost_apply(struct luahost *, const struct config *conf);
/*
 * Call fn(arg) once no script is loading, from the loop: 1 when it will be,
 * 0 when none is loading now (fn is not called).
 */
int luahost_when_loaded(struct luahost *, void (*fn)(void *), void *arg);
/* The scripts as GET /v1/plugins items (kind "lua"), in name order. */
json_t *luahost_json(struct luahost *);
/* Stop every script: cancels its requests, timers and subscriptions. */
void luahost_free(struct luahost *);

/* For tests and benchmarks: run every queued job now; returns how many ran. */
int luahost_run_jobs(struct luahost *);

#endif
