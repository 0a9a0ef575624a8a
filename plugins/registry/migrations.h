/* The registry plugin's schema (migrations.c). */
#ifndef REGISTRY_MIGRATIONS_H
#define REGISTRY_MIGRATIONS_H

#include <tremplin/plugin.h>

extern const struct tremplin_migration registry_migrations[];
extern const size_t registry_nmigrations;

#endif
