/* The production plugin's schema (migrations.c). */
#ifndef PRODUCTION_MIGRATIONS_H
#define PRODUCTION_MIGRATIONS_H

#include <tremplin/plugin.h>

extern const struct tremplin_migration production_migrations[];
extern const size_t production_nmigrations;

#endif
