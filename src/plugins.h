/* The C plugin loader and the host table plugins receive (the SDK is include/tremplin/plugin.h). */
#ifndef TREMPLIN_PLUGIN_LOADER_H
#define TREMPLIN_PLUGIN_LOADER_H

#include <stddef.h>

#include <jansson.h>

struct server;
struct plugins;
struct route;

/*
 * Start the modules embedded in the daemon (the kernel: embedded[], routes
 * under /v1), then load, configure, migrate and start every
 * plugin the configuration names. A refused plugin is logged in one line
 * and kept as disabled; with plugin_strict set, the first refusal makes
 * this return NULL (err says why). checking (tremplind -n): each plugin is
 * loaded, initialised and configured, its records' declarations checked,
 * then unloaded; NULL when any enabled one is refused, err listing them.
 */
struct tremplin_plugin_desc;
struct plugins *plugins_load(struct server *, const struct tremplin_plugin_desc *const *embedded,
    size_t nembedded, int checking, char *err, size_t errlen);
/* Hand each enabled plugin its new configuration section (SIGHUP). */
void plugins_reconfigure(struct plugins *, const json_t *sections);
/* Stop every plugin, cancel what it has in flight, unload it. */
void plugins_free(struct plugins *);

/* GET /v1/plugins's items. */
json_t *plugins_json(struct plugins *);

#endif
