/* The core module: its tables, its migrations and its routes. */
#include "handlers.h"
#include "util.h"

static const struct migration core_migrations[] = {
	{ 1,
	    "CREATE TABLE structures ("
	    "  id INTEGER PRIMARY KEY,"
	    "  name TEXT NOT NULL,"
	    "  siret TEXT NOT NULL UNIQUE,"
	    "  kind TEXT NOT NULL CHECK (kind IN ('ACI', 'AI', 'EI', 'ETTI', 'EITI')),"
	    "  annexe_financiere TEXT,"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "CREATE TABLE staff ("
	    "  id INTEGER PRIMARY KEY,"
	    "  name TEXT NOT NULL,"
	    "  unix_user TEXT NOT NULL UNIQUE,"
	    "  role TEXT NOT NULL CHECK (role IN ('eti', 'cip', 'coordinator', 'admin')),"
	    "  email TEXT,"
	    "  active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),"
	    "  bootstrap INTEGER NOT NULL DEFAULT 0 CHECK (bootstrap IN (0, 1)),"
	    "  created_at TEXT NOT NULL,"
	    "  updated_at TEXT NOT NULL);"
	    "CREATE INDEX staff_role ON staff (role, id);"
	    "CREATE INDEX structures_kind ON structures (kind, id);" },
	{ 2,
	    /* The event journal: written in the same transaction as the change. */
	    "CREATE TABLE events ("
	    "  id INTEGER PRIMARY KEY,"
	    "  type TEXT NOT NULL,"
	    "  subject TEXT NOT NULL,"
	    "  payload TEXT NOT NULL,"
	    "  actor_id INTEGER,"
	    "  actor TEXT NOT NULL,"
	    "  created_at TEXT NOT NULL);"
	    "CREATE INDEX events_type ON events (type, id);"
	    /* One durable cursor per subscriber: the last event it has handled. */
	    "CREATE TABLE event_cursors ("
	    "  subscriber TEXT PRIMARY KEY,"
	    "  last_id INTEGER NOT NULL,"
	    "  delivered INTEGER NOT NULL DEFAULT 0,"
	    "  failures INTEGER NOT NULL DEFAULT 0,"
	    "  last_error TEXT,"
	    "  updated_at TEXT NOT NULL);"
	    /* The last run of each durable periodic timer. */
	    "CREATE TABLE timers ("
	    "  name TEXT PRIMARY KEY,"
	    "  last_run_ms INTEGER NOT NULL);" },
};

const struct db_module core_module = {
	.name = "core",
	.migrations = core_migrations,
	.nmigrations = TR_NELEM(core_migrations),
};

const struct route core_routes[] = {
	{ .method = M_GET,
	    .pattern = "/v1/health",
	    .fn = system_health,
	    .action = ACT_HEALTH_READ },
	{ .method = M_GET, .pattern = "/v1/whoami", .fn = system_whoami, .action = ACT_WHOAMI },
	{ .method = M_GET, .pattern = "/v1/backup", .fn = system_backup, .action = ACT_BACKUP },
	{ .method = M_GET,
	    .pattern = "/v1/plugins",
	    .fn = system_plugins,
	    .action = ACT_PLUGINS_READ },
	{ .method = M_GET, .pattern = "/v1/events", .fn = events_list, .action = ACT_EVENTS_READ },
	{ .method = M_GET,
	    .pattern = "/v1/structures",
	    .fn = structures_list,
	    .action = ACT_STRUCTURE_READ },
	{ .method = M_POST,
	    .pattern = "/v1/structures",
	    .fn = structures_create,
	    .action = ACT_STRUCTURE_WRITE,
	    .flags = RF_BODY },
	{ .method = M_GET,
	    .pattern = "/v1/structures/{id}",
	    .fn = structures_get,
	    .action = ACT_STRUCTURE_READ },
	{ .method = M_PATCH,
	    .pattern = "/v1/structures/{id}",
	    .fn = structures_update,
	    .action = ACT_STRUCTURE_WRITE,
	    .flags = RF_BODY },
	{ .method = M_GET, .pattern = "/v1/staff", .fn = staff_list, .action = ACT_STAFF_READ },
	{ .method = M_POST,
	    .pattern = "/v1/staff",
	    .fn = staff_create,
	    .action = ACT_STAFF_WRITE,
	    .flags = RF_BODY },
	{ .method = M_GET, .pattern = "/v1/staff/{id}", .fn = staff_get, .action = ACT_STAFF_READ },
	{ .method = M_PATCH,
	    .pattern = "/v1/staff/{id}",
	    .fn = staff_update,
	    .action = ACT_STAFF_WRITE,
	    .flags = RF_BODY },
};

const size_t ncore_routes = TR_NELEM(core_routes);
