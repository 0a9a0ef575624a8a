/* The skills plugin's schema (migrations.c). */
#ifndef SKILLS_MIGRATIONS_H
#define SKILLS_MIGRATIONS_H

#include <tremplin/plugin.h>

extern const struct tremplin_migration skills_migrations[];
extern const size_t skills_nmigrations;

#endif
