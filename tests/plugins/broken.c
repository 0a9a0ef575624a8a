/*
 * Broken plugins for the loader's refusals: one source, one defect per
 * build (BROKEN_<what>), each built as its own .so named after the defect.
 */
#include <stdlib.h>

#include <tremplin/plugin.h>

/* Unused in the build that exports no descriptor. */
#define UNUSED __attribute__((unused))

UNUSED static int
b_init(const struct tremplin_host *host, struct tremplin_plugin *self, void **ctx)
{
	(void)host, (void)self;
	*ctx = NULL;
#ifdef BROKEN_INIT
	return -1;
#else
	return 0;
#endif
}

UNUSED static int
b_config(void *ctx, json_t *section, char *err, size_t errlen)
{
	(void)ctx, (void)section, (void)err, (void)errlen;
	return 0;
}

UNUSED static int
b_start(void *ctx)
{
	(void)ctx;
#ifdef BROKEN_START
	return -1;
#else
	return 0;
#endif
}

UNUSED static void
b_stop(void *ctx)
{
	(void)ctx;
}

#ifndef BROKEN_SYMBOL
__attribute__((visibility("default"))) const struct tremplin_plugin_desc tremplin_plugin = {
#ifdef BROKEN_ABI
	.abi = 19700101u,
#else
	.abi = TREMPLIN_PLUGIN_ABI,
#endif
#ifdef BROKEN_SIZE
	.size = sizeof(struct tremplin_plugin_desc) - sizeof(void *),
#else
	.size = sizeof(struct tremplin_plugin_desc),
#endif
#ifdef BROKEN_VERSION
	.built_for = "9.0.0",
#else
	.built_for = TREMPLIN_VERSION,
#endif
	.name = BROKEN_NAME,
	.version = "0.0.1",
	.description = "test: a plugin the loader must refuse",
	.init = b_init,
	.config = b_config,
	.start = b_start,
	.stop = b_stop,
};
#else
/* Exports something, but not the descriptor. */
__attribute__((visibility("default"))) const int not_a_plugin = 1;
#endif
