/* The C plugin loader and the host table plugins receive. */
#ifndef TREMPLIN_PLUGIN_LOADER_H
#define TREMPLIN_PLUGIN_LOADER_H

#include <stddef.h>

#include <jansson.h>

struct server;
struct plugins;
struct route;

/*
 * Load, configure, migrate and start every plugin the configuration names.
 * A refused plugin is logged in one line and kept as disabled; with
 * plugin_strict set, the first refusal makes this return -1 (err says why).
 */
struct plugins *plugins_load(struct server *, char *err, size_t errlen);
/* Hand each enabled plugin its new configuration section (SIGHUP). */
void plugins_reconfigure(struct plugins *, const json_t *sections);
/* Stop every plugin, cancel what it has in flight, unload it. */
void plugins_free(struct plugins *);

/* The routes plugins registered (a table for the router). */
const struct route *plugins_routes(struct plugins *, size_t *n);
/* GET /v1/plugins's items. */
json_t *plugins_json(struct plugins *);

#endif
