/* The example plugin's migrations (migrations.c), handed to host->migrations in init. */
#ifndef EXAMPLE_MIGRATIONS_H
#define EXAMPLE_MIGRATIONS_H

#include <stddef.h>

#include <tremplin/plugin.h>

extern const struct tremplin_migration example_migrations[];
extern const size_t example_nmigrations;

#endif
