/*
 * tremplind: the Tremplin daemon. One process, one libevent loop; signals
 * arrive through the loop, never in a handler.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/x509.h>

#include "api.h"
#include "config.h"
#include "conn.h"
#include "db.h"
#include "events.h"
#include "net.h"
#include "plugins.h"
#include "router.h"
#include "scheduler.h"
#include "handlers.h"
#include "kernel/kernel.h"
#include "log.h"
#include "luahost.h"
#include "luamsg.h"
#include "server.h"
#include "util.h"
#include "audit.h"
#include "resource.h"
#include "kernel/rights.h"

#define SHUTDOWN_GRACE_MS 4500

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

static const struct db_module *const modules[] = { &core_module };
/* The modules in the daemon's image, started before the plugins through the same host table. */
static const struct tremplin_plugin_desc *const embedded[] = { &kernel_module };

static struct {
	struct server srv;
	struct event *ev_term, *ev_int, *ev_hup, *ev_drain;
	struct timespec drain_deadline;
	int verbose;
} d;

static const char usage_text[] =
    "usage: tremplind [-dv] [-f file]\n"
    "       tremplind -n [-r] [-f file]\n"
    "       tremplind -h | -V\n"
    "\n"
    "  -d             stay in the foreground, log to standard error\n"
    "  -f file        the configuration (default: " SYSCONFDIR "/tremplin/tremplin.conf)\n"
    "  -n             check the configuration and the plugins it names, then exit\n"
    "  -r             with -n: list the routes served, one \"METHOD pattern\" a line\n"
    "  -v             more logging (repeat for debug)\n"
    "  -h, --help     show this help\n"
    "  -V, --version  show the version\n";

/* Exit statuses as sysexits(3): the service manager and the operator tell causes apart. */
static void __attribute__((noreturn)) usage(void)
{
	fputs(usage_text, stderr);
	exit(EX_USAGE);
}

/* systemd's readiness protocol without libsystemd: one datagram. */
static void
sd_notify_msg(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	tr_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun, len) == -1)
		log_warn("sd_notify");
	close(fd);
}

static int
level_of(const struct config *c)
{
	int l = c->log_level + d.verbose;
	return l > LOG_LEVEL_DEBUG ? LOG_LEVEL_DEBUG : l;
}

/* Create the directory that holds path when it is missing (one level). */
static void
ensure_parent(const char *path)
{
	char buf[PATH_MAX];

	tr_strlcpy(buf, path, sizeof(buf));
	char *dir = dirname(buf);
	if (mkdir(dir, 0750) == 0)
		log_info("created directory %s", dir);
}

/* How backups go out: said at start and at each reload, loudly when in clear. */
static void
backup_notice(const struct config *c)
{
	int n = c->backup_certs ? sk_X509_num(c->backup_certs) : 0;

	if (c->backup_unencrypted)
		log_warnx("WARNING: backup_unencrypted = true: GET /v1/backup hands every "
		          "person's file, health and justice details included, in clear to "
		          "the admin who asks; name a backup_recipient instead");
	else if (n == 0)
		log_info("backups are refused until backup_recipient names a certificate");
	else
		log_info(
		    "backups are encrypted to %d recipient certificate%s", n, n > 1 ? "s" : "");
}

/* The last step of a reload: the changed scripts have loaded or failed. */
static void
reload_done(void *arg)
{
	(void)arg;
	if (!d.srv.draining)
		log_info("configuration reloaded");
}

static int
reload(struct server *srv, char *err, size_t errlen)
{
	struct config *nc;

	log_info("reloading %s", srv->conf->path);
	if (config_load(srv->conf->path, &nc, err, errlen) == -1) {
		log_warnx("reload refused, running on the previous configuration: %s", err);
		return -1;
	}
	if (strcmp(nc->socket_path, srv->conf->socket_path) != 0 ||
	    strcmp(nc->database, srv->conf->database) != 0) {
		snprintf(err, errlen, "%s: socket and database changes need a restart", nc->path);
		log_warnx("reload refused, running on the previous configuration: %s", err);
		config_free(nc);
		return -1;
	}
	if (staff_bootstrap(srv->db, srv->events, nc, err, errlen) == -1) {
		log_warnx("reload refused, running on the previous configuration: %s", err);
		config_free(nc);
		return -1;
	}
	if (strcmp(nc->plugin_dir, srv->conf->plugin_dir) != 0 ||
	    strcmp(nc->ca_file ? nc->ca_file : "", srv->conf->ca_file ? srv->conf->ca_file : "") !=
	        0 ||
	    nc->allow_http != srv->conf->allow_http)
		log_warnx("plugin_dir, ca_file and allow_http changes take effect at restart");
	if (strcmp(nc->audit_database, srv->conf->audit_database) != 0 ||
	    nc->audit_retention_days != srv->conf->audit_retention_days)
		log_warnx("audit_database and audit_retention_days changes take effect at restart");
	plugins_reconfigure(srv->plugins, nc->plugins);
	luahost_apply(srv->lua, nc);
	events_set_delay(srv->events, nc->event_delay_ms);
	config_free(srv->conf);
	srv->conf = nc;
	log_setlevel(level_of(nc));
	server_apply_config(srv);
	/* Changed scripts load in their workers while the loop serves on. */
	if (!luahost_when_loaded(srv->lua, reload_done, NULL))
		reload_done(NULL);
	backup_notice(nc);
	return 0;
}

/*
 * TREMPLIN_TEST_CLOCK="YYYY-MM-DDTHH:MM:SSZ" starts the daemon's civil clock
 * (tr_now: records' time stamps, today's date, timers, scripts' date.today())
 * at that time, running on from there: for the tests of dated rules and
 * retention. The daemon warns when it is set.
 */
static int64_t
test_clock(void *arg)
{
	(void)arg;
	return tr_now_ms();
}

static sched_clock_fn
clock_from_env(void)
{
	const char *v = getenv("TREMPLIN_TEST_CLOCK");
	struct tm tm;
	char *end;

	if (v == NULL || *v == '\0')
		return NULL;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(v, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *end != '\0')
		fatalx("TREMPLIN_TEST_CLOCK: expected YYYY-MM-DDTHH:MM:SSZ, got %s", v);
	tr_clock_set_offset(((int64_t)timegm(&tm) - (int64_t)time(NULL)) * 1000);
	log_warnx("TREMPLIN_TEST_CLOCK is set: the daemon's clock starts at %s", v);
	return test_clock;
}

static void
drain_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct timespec now;

	(void)fd, (void)ev, (void)arg;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int unsent = conn_busy();

	if (unsent == 0) {
		event_base_loopexit(d.srv.base, NULL);
		return;
	}
	if (now.tv_sec > d.drain_deadline.tv_sec ||
	    (now.tv_sec == d.drain_deadline.tv_sec && now.tv_nsec >= d.drain_deadline.tv_nsec)) {
		log_warnx("shutdown: %d requests still under way; closing", unsent);
		event_base_loopexit(d.srv.base, NULL);
	}
}

static void
signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct timeval tick = { 0, 20 * 1000 };

	(void)ev, (void)arg;
	if (sig == SIGHUP) {
		char err[1024];
		reload(&d.srv, err, sizeof(err));
		return;
	}
	if (d.srv.draining)
		return;
	log_info(
	    "received %s, finishing in-flight requests", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	sd_notify_msg("STOPPING=1");
	d.srv.draining = 1;
	/*
	 * Handlers run to completion on the loop, so by the time this callback
	 * runs every transaction is committed or rolled back; what remains is
	 * requests partly received and replies being written. Their answers
	 * carry Connection: close (api_dispatch), so clients do not send more.
	 */
	server_stop_accepting(&d.srv);
	clock_gettime(CLOCK_MONOTONIC, &d.drain_deadline);
	d.drain_deadline.tv_sec += SHUTDOWN_GRACE_MS / 1000;
	d.drain_deadline.tv_nsec += (long)(SHUTDOWN_GRACE_MS % 1000) * 1000000L;
	if (d.drain_deadline.tv_nsec >= 1000000000L) {
		d.drain_deadline.tv_sec++;
		d.drain_deadline.tv_nsec -= 1000000000L;
	}
	d.ev_drain = event_new(d.srv.base, -1, EV_PERSIST, drain_cb, NULL);
	event_add(d.ev_drain, &tick);
}

int
main(int argc, char *argv[])
{
	const char *conffile = SYSCONFDIR "/tremplin/tremplin.conf";
	int foreground = 0, checkonly = 0, routes = 0, ch;
	struct config *conf;
	char err[1024];

	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};

	/* A site script's worker process (luaproc.c starts it): the socket is fd 3. */
	if (argc == 2 && strcmp(argv[1], "-L") == 0)
		return luaworker_main(3);
	while ((ch = getopt_long(argc, argv, "df:hnrvV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("tremplind %s (plugin ABI %u)\n", PACKAGE_VERSION,
			    (unsigned)TREMPLIN_PLUGIN_ABI);
			return 0;
		case 'd':
			foreground = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			checkonly = 1;
			break;
		case 'r':
			routes = 1;
			break;
		case 'v':
			d.verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (routes && !checkonly))
		usage();

	log_init(1, LOG_LEVEL_INFO);
	if (config_load(conffile, &conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "tremplind: %s\n", err);
		return EX_CONFIG;
	}
	if (checkonly) {
		/* The plugins' sections too: each is loaded and configured, then unloaded. */
		struct server srv = { .conf = conf, .router = router_new() };
		for (size_t i = 0; i < ncore_routes; i++)
			router_add(srv.router, &core_routes[i]);
		struct plugins *set =
		    plugins_load(&srv, embedded, TR_NELEM(embedded), 1, err, sizeof(err));
		if (set == NULL) {
			fprintf(stderr, "tremplind: %s\n", err);
			plugins_free(srv.plugins);
			router_free(srv.router);
			config_free(conf);
			return EX_CONFIG;
		}
		/* -r: the routes the platform and the kernel serve, one "METHOD pattern" a line. */
		for (size_t i = 0; routes && i < router_count(srv.router); i++) {
			const struct route *r = router_at(srv.router, i);
			char m[64];
			router_allow_header(r->method, m, sizeof(m));
			printf("%s %s\n", m, r->pattern);
		}
		plugins_free(set);
		router_free(srv.router);
		fprintf(stderr, "configuration OK\n");
		config_free(conf);
		return 0;
	}
	log_init(foreground, level_of(conf));
	signal(SIGPIPE, SIG_IGN);
	backup_notice(conf);
	conn_raise_nofile();

	sched_clock_fn clock = clock_from_env(); /* before anything is stamped */

	d.srv.conf = conf;
	d.srv.lockfd = -1;
	d.srv.started = time(NULL);
	ensure_parent(conf->socket_path);
	/* Before the database: a refused second instance must not migrate or change it. */
	if (server_lock(&d.srv, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		exit(EX_UNAVAILABLE);
	}
	if (server_activation(&d.srv, err, sizeof(err)) == -1)
		fatalx("%s", err);
	ensure_parent(conf->database);
	if (db_open(conf->database, &d.srv.db, err, sizeof(err)) == -1)
		fatalx("cannot open the database: %s", err);
	if (db_migrate(d.srv.db, modules, TR_NELEM(modules), err, sizeof(err)) == -1)
		fatalx("%s", err);
	ensure_parent(conf->audit_database);
	if (audit_open(conf->audit_database, conf->audit_retention_days, &d.srv.audit, err,
	        sizeof(err)) == -1)
		fatalx("cannot open the audit log: %s", err);
	d.srv.router = router_new();
	for (size_t i = 0; i < ncore_routes; i++)
		if (router_add(d.srv.router, &core_routes[i]) == -1)
			fatalx("route %s: declared twice", core_routes[i].pattern);

	if ((d.srv.base = event_base_new()) == NULL ||
	    (d.srv.http = evhttp_new(d.srv.base)) == NULL)
		fatalx("cannot set up the event loop");
	conn_init(&d.srv);
	d.srv.events = events_new(d.srv.base, d.srv.db, conf->event_delay_ms);
	db_fault_clear(d.srv.db);
	if (staff_bootstrap(d.srv.db, d.srv.events, conf, err, sizeof(err)) == -1) {
		if (db_fault(d.srv.db, NULL, 0) != DB_FAULT_FULL)
			fatalx("%s", err);
		/* Reads must go on: the accounts stay as the database holds them. */
		log_warnx("%s", err);
		log_warnx("starting anyway on a full disk: the staff accounts are those the "
		          "database holds, not those of %s; free space, then reload (SIGHUP)",
		    conf->path);
	}
	if ((d.srv.sched = sched_new(d.srv.base, d.srv.db, clock, NULL)) == NULL)
		fatalx("cannot set up timers");
	if (retention_start(&d.srv) == -1)
		fatalx("cannot set up the retention job");
	struct net_options nopt = {
		.ca_file = conf->ca_file,
		.allow_http = conf->allow_http,
		.default_timeout_ms = 30 * 1000,
		.default_max_bytes = 8u << 20,
		.user_agent = "tremplind/" PACKAGE_VERSION,
	};
	if ((d.srv.net = net_new(d.srv.base, &nopt, err, sizeof(err))) == NULL)
		fatalx("outbound HTTP: %s", err);
	/* Plugins register routes, so they load before the socket opens. */
	if (plugins_load(&d.srv, embedded, TR_NELEM(embedded), 0, err, sizeof(err)) == NULL)
		fatalx("%s", err);
	d.srv.lua = luahost_new(&d.srv);
	luahost_apply(d.srv.lua, conf);
	d.srv.reload = reload;
	server_apply_config(&d.srv);
	if (server_listen(&d.srv, err, sizeof(err)) == -1)
		fatalx("%s", err);

	d.ev_term = evsignal_new(d.srv.base, SIGTERM, signal_cb, NULL);
	d.ev_int = evsignal_new(d.srv.base, SIGINT, signal_cb, NULL);
	d.ev_hup = evsignal_new(d.srv.base, SIGHUP, signal_cb, NULL);
	evsignal_add(d.ev_term, NULL);
	evsignal_add(d.ev_int, NULL);
	evsignal_add(d.ev_hup, NULL);

	log_info("tremplind %s serving %s (database %s)", PACKAGE_VERSION, conf->socket_path,
	    conf->database);
	sd_notify_msg("READY=1");
	event_base_dispatch(d.srv.base);

	server_close(&d.srv);
	conn_free();
	/* Scripts and plugins first: their requests, timers and subscriptions go with them. */
	luahost_free(d.srv.lua);
	plugins_free(d.srv.plugins);
	router_free(d.srv.router);
	net_free(d.srv.net);
	sched_free(d.srv.sched);
	events_free(d.srv.events);
	if (d.ev_drain)
		event_free(d.ev_drain);
	event_free(d.ev_term);
	event_free(d.ev_int);
	event_free(d.ev_hup);
	event_base_free(d.srv.base);
	db_close(d.srv.db);
	audit_close(d.srv.audit);
	log_info("stopped");
	config_free(d.srv.conf);
	return 0;
}
