/* config.c: the declarative Lua-syntax configuration and its checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

/* The two settings without a default, so that a test adds only what it checks. */
#define BASE "socket = \"var/t.sock\"\ndatabase = \"var/t.db\"\n"

static char err[1024];

/* Load src as "t.conf" with mode; returns the config or NULL with err set. */
static struct config *
load(const char *src, mode_t mode)
{
	struct config *c = (struct config *)0x1;

	err[0] = '\0';
	int rc = config_load_buffer("t.conf", src, strlen(src), mode, &c, err, sizeof(err));
	if (rc == 0) {
		assert_non_null(c);
		assert_string_equal(err, "");
	} else {
		assert_int_equal(rc, -1);
		assert_null(c); /* nothing is allocated on failure */
		assert_true(err[0] != '\0');
	}
	return c;
}

/* Loading src must fail with err starting with `prefix` and containing `part`. */
static void
load_fails(const char *src, const char *prefix, const char *part)
{
	struct config *c = load(src, 0600);

	assert_null(c);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("expected an error starting with \"%s\", got \"%s\"", prefix, err);
	if (part != NULL && strstr(err, part) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", part, err);
}

static const char *
current_user(void)
{
	struct passwd *pw = getpwuid(geteuid());

	assert_non_null(pw);
	return pw->pw_name;
}

static void
test_config__shipped_file__loads_with_its_documented_values(void **state)
{
	const char *top = getenv("TOP_SRCDIR");
	char path[PATH_MAX];
	struct config *c = NULL;

	(void)state;
	if (top == NULL) {
		print_message("TOP_SRCDIR is not set (make check sets it): skipped\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/etc/tremplin.conf", top);
	if (config_load(path, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(c->path, path);
	assert_string_equal(c->socket_path, "var/tremplin.sock");
	assert_int_equal(c->socket_mode, 0660);
	assert_string_equal(c->database, "var/tremplin.db");
	assert_string_equal(c->plugin_dir, "plugins");
	assert_string_equal(c->script_dir, "lua");
	assert_int_equal(c->log_level, LOG_LEVEL_INFO);
	assert_int_equal(c->request_timeout, 30);
	assert_int_equal(c->nstaff, 1);
	assert_string_equal(c->staff[0].name, "Opérateur");
	assert_string_equal(c->staff[0].unix_user, current_user());
	assert_int_equal(c->staff[0].role, ROLE_ADMIN);
	assert_null(c->staff[0].email);
	assert_true(json_is_object(c->plugins));
	/* The registry plugin is loaded with nothing set: idle until configured. */
	assert_true(json_is_object(json_object_get(c->plugins, "registry")));
	assert_int_equal(json_object_size(json_object_get(c->plugins, "registry")), 0);
	/* The skills plugin, with the referentials of the source tree. */
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(c->plugins, "skills"), "referentials_dir")),
	    "etc/skills");
	/* The shipped plugins: production (plugins/production), with no setting. */
	assert_non_null(json_object_get(c->plugins, "production"));
	assert_int_equal(json_object_size(json_object_get(c->plugins, "production")), 0);
	config_free(c);
}

static void
test_config__only_socket_and_database__defaults_apply(void **state)
{
	struct config *c = load(BASE, 0644);

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->path, "t.conf");
	assert_string_equal(c->socket_path, "var/t.sock");
	assert_string_equal(c->database, "var/t.db");
	assert_int_equal(c->socket_mode, 0660);
	assert_string_equal(c->plugin_dir, "plugins");
	assert_string_equal(c->script_dir, "lua");
	assert_int_equal(c->log_level, LOG_LEVEL_INFO);
	assert_int_equal(c->request_timeout, 30);
	assert_int_equal(c->nstaff, 0);
	assert_true(json_is_object(c->plugins));
	assert_int_equal(json_object_size(c->plugins), 0);
	config_free(c);
}

static void
test_config__every_setting__values_read(void **state)
{
	struct config *c =
	    load(BASE "socket_mode = \"0600\"\n"
	              "plugin_dir = \"/usr/lib/tremplin/plugins\"\n"
	              "script_dir = \"/usr/share/tremplin/lua\"\n"
	              "log_level = \"debug\"\n"
	              "request_timeout = 3600\n"
	              "staff = {\n"
	              "  { name = \"Alice\", unix_user = \"alice\", role = \"cip\",\n"
	              "    email = \"alice@example.org\" },\n"
	              "  { name = \"Bob\", unix_user = \"bob_2\", role = \"eti\" },\n"
	              "}\n",
	        0600);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->socket_mode, 0600);
	assert_string_equal(c->plugin_dir, "/usr/lib/tremplin/plugins");
	assert_string_equal(c->script_dir, "/usr/share/tremplin/lua");
	assert_int_equal(c->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(c->request_timeout, 3600);
	assert_int_equal(c->nstaff, 2);
	assert_string_equal(c->staff[0].name, "Alice");
	assert_string_equal(c->staff[0].unix_user, "alice");
	assert_int_equal(c->staff[0].role, ROLE_CIP);
	assert_string_equal(c->staff[0].email, "alice@example.org");
	assert_string_equal(c->staff[1].unix_user, "bob_2");
	assert_int_equal(c->staff[1].role, ROLE_ETI);
	assert_null(c->staff[1].email);
	config_free(c);
}

static void
test_config__syntax_error__error_names_file_and_line(void **state)
{
	(void)state;
	load_fails(BASE "log_level = = \"info\"\n", "t.conf:3:", "'='");
}

static void
test_config__unknown_setting__error_names_file_and_line(void **state)
{
	(void)state;
	load_fails(BASE "\n-- a typo\nlog_levle = \"debug\"\n",
	    "t.conf:5: unknown setting 'log_levle'", NULL);
}

static void
test_config__setting_twice__error_names_both_lines(void **state)
{
	(void)state;
	load_fails(BASE "socket = \"other.sock\"\n",
	    "t.conf:3: socket is set twice (first at line 1)", NULL);
}

static void
test_config__socket_missing__error_names_setting(void **state)
{
	(void)state;
	load_fails("database = \"var/t.db\"\n", "t.conf: socket: missing", NULL);
	load_fails("socket = \"var/t.sock\"\n", "t.conf: database: missing", NULL);
}

static void
test_config__path_not_a_string__error_names_setting_and_line(void **state)
{
	(void)state;
	load_fails(
	    BASE "plugin_dir = 12\n", "t.conf:3: plugin_dir: expected a string, got number", NULL);
	load_fails(
	    BASE "script_dir = \"\"\n", "t.conf:3: script_dir: must be a non-empty string", NULL);
}

static void
test_config__socket_path_over_107_bytes__rejected(void **state)
{
	char src[512];

	(void)state;
	snprintf(src, sizeof(src), "database = \"d\"\nsocket = \"/%0107d\"\n", 0);
	load_fails(src, "t.conf:2: socket: path longer than 107 bytes", NULL);
}

static void
test_config__bad_role_in_staff_2__error_names_field_and_line(void **state)
{
	(void)state;
	load_fails(BASE "staff = { { name = \"A\", unix_user = \"a\", role = \"eti\" },"
	                " { name = \"B\", unix_user = \"b\", role = \"boss\" } }\n",
	    "t.conf:3: staff[2].role: unknown role 'boss' (expected eti, cip, coordinator or "
	    "admin)",
	    NULL);
}

/* Lua reports a table at its closing brace; the error must point at the entry. */
static void
test_config__bad_role_in_multiline_staff__error_points_at_the_entry(void **state)
{
	(void)state;
	load_fails(BASE "staff = {\n" /* 3 */
	                "  { name = \"A\", unix_user = \"a\", role = \"cip\" }, -- {\n" /* 4 */
	                "  {\n" /* 5 */
	                "    name = \"B }\", unix_user = \"b\",\n" /* 6 */
	                "    role = \"boss\",\n" /* 7 */
	                "  },\n" /* 8 */
	                "}\n", /* 9 */
	    "t.conf:5: ", "staff[2].role");
	load_fails(BASE
	    "log_level = \"info\"\nplugins = {\n  x = {\n    y = 1,\n  },\n}\nbogus = {\n  1,\n}\n",
	    "t.conf:9: ", "unknown setting 'bogus'");
}

static void
test_config__staff_entry_incomplete_or_unknown_field__error_names_field(void **state)
{
	(void)state;
	load_fails(BASE "staff = { { name = \"A\", role = \"eti\" } }\n",
	    "t.conf:3: staff[1].unix_user: missing", NULL);
	load_fails(BASE
	    "staff = { { name = \"A\", unix_user = \"a\", role = \"eti\", mail = \"x\" } }\n",
	    "t.conf:3: staff[1].mail: unknown field", NULL);
	load_fails(BASE "staff = { { name = \"A\", unix_user = \"Alice\", role = \"eti\" } }\n",
	    "t.conf:3: staff[1].unix_user: 'Alice' is not a valid user name", NULL);
	load_fails(BASE "staff = { \"alice\" }\n", "t.conf:3: staff[1]: expected a table", NULL);
}

static void
test_config__duplicate_unix_user__error_names_second_entry(void **state)
{
	(void)state;
	load_fails(BASE "staff = {\n"
	                "  { name = \"A\", unix_user = \"alice\", role = \"eti\" },\n"
	                "  { name = \"B\", unix_user = \"alice\", role = \"cip\" } }\n",
	    "t.conf:", "staff[2].unix_user: 'alice' is listed twice");
}

static void
test_config__daemon_user_also_listed_by_name__duplicate_rejected(void **state)
{
	char src[512];

	(void)state;
	snprintf(src, sizeof(src),
	    BASE "staff = { { name = \"Op\", unix_user = \"@daemon\", role = \"admin\" },"
	         " { name = \"Me\", unix_user = \"%s\", role = \"eti\" } }\n",
	    current_user());
	load_fails(src, "t.conf:3: staff[1].unix_user: '@daemon' is", "listed twice");
}

static void
test_config__daemon_user__resolved_to_effective_user_name(void **state)
{
	struct config *c =
	    load(BASE "staff = { { name = \"Op\", unix_user = \"@daemon\", role = \"admin\" } }\n",
	        0600);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->nstaff, 1);
	assert_string_equal(c->staff[0].unix_user, current_user());
	assert_int_equal(c->staff[0].role, ROLE_ADMIN);
	config_free(c);
}

static void
test_config__socket_mode_not_octal_or_without_owner_rw__rejected(void **state)
{
	static const char *const bad[] = { "660", "0680", "0x1b0", "0460", "0260", "01660",
		"0660 " };
	char src[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(src, sizeof(src), BASE "socket_mode = \"%s\"\n", bad[i]);
		load_fails(src, "t.conf:3: socket_mode: expected an octal string such as \"0660\"",
		    "owner read and write");
	}
	load_fails(BASE "socket_mode = 0660\n", "t.conf:3: socket_mode: expected a string", NULL);
}

static void
test_config__socket_mode_octal_with_owner_rw__accepted(void **state)
{
	struct config *c = load(BASE "socket_mode = \"0600\"\n", 0600);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->socket_mode, 0600);
	config_free(c);
	c = load(BASE "socket_mode = \"0770\"\n", 0600);
	assert_non_null(c);
	assert_int_equal(c->socket_mode, 0770);
	config_free(c);
}

static void
test_config__log_level_unknown__rejected_with_choices(void **state)
{
	(void)state;
	load_fails(BASE "log_level = \"verbose\"\n",
	    "t.conf:3: log_level: unknown level 'verbose' (expected warning, info or debug)", NULL);
}

static void
test_config__log_level_warning__level_0(void **state)
{
	struct config *c = load(BASE "log_level = \"warning\"\n", 0600);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->log_level, LOG_LEVEL_WARNING);
	config_free(c);
}

static void
test_config__request_timeout_out_of_range__rejected(void **state)
{
	(void)state;
	load_fails(BASE "request_timeout = 0\n",
	    "t.conf:3: request_timeout: 0 is out of range (1 to 3600)", NULL);
	load_fails(BASE "request_timeout = 3601\n",
	    "t.conf:3: request_timeout: 3601 is out of range (1 to 3600)", NULL);
	load_fails(BASE "request_timeout = 2.5\n",
	    "t.conf:3: request_timeout: expected an integer, got number", NULL);
	load_fails(BASE "request_timeout = \"30\"\n",
	    "t.conf:3: request_timeout: expected an integer, got string", NULL);
}

static void
test_config__request_timeout_bounds__accepted(void **state)
{
	struct config *c = load(BASE "request_timeout = 1\n", 0600);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->request_timeout, 1);
	config_free(c);
}

static void
test_config__reads_a_name__error(void **state)
{
	(void)state;
	load_fails(BASE "socket_mode = os.getenv(\"X\")\n", "t.conf:3: unknown name 'os'", NULL);
	load_fails(
	    BASE "log_level = string.rep(\"x\", 2)\n", "t.conf:3: unknown name 'string'", NULL);
}

static void
test_config__endless_loop__runs_too_long_error_and_returns(void **state)
{
	(void)state;
	load_fails(BASE "while true do end\n", "t.conf:3: ", "runs too long");
}

static void
test_config__table_growing_without_end__error_no_crash(void **state)
{
	struct config *c = load(BASE "local t = {} for i = 1, 1e9 do t[i] = i end\n", 0600);

	(void)state;
	assert_null(c);
	/* Whichever limit it meets first, instructions or memory. */
	if (strstr(err, "runs too long") == NULL && strstr(err, "out of memory") == NULL)
		fail_msg("unexpected error: %s", err);
	assert_true(strncmp(err, "t.conf:", 7) == 0);
}

static void
test_config__memory_bomb__out_of_memory_error_no_crash(void **state)
{
	(void)state;
	/* Doubling a string reaches 16 MiB in a few dozen instructions. */
	load_fails(BASE "local s = \"x\" for i = 1, 40 do s = s .. s end\n",
	    "t.conf: out of memory (a configuration may use up to 16 MiB)", NULL);
}

static void
test_config__plugins_section__converted_to_json(void **state)
{
	struct config *c = load(BASE "plugins = {\n"
	                             "  example = {\n"
	                             "    url = \"https://example.org/api\",\n"
	                             "    retries = 3,\n"
	                             "    ratio = 0.5,\n"
	                             "    enabled = true,\n"
	                             "    tags = { \"a\", \"b\" },\n"
	                             "    nested = { deep = { list = { 1, { x = false } } } },\n"
	                             "    empty = {},\n"
	                             "  },\n"
	                             "  other = {},\n"
	                             "}\n",
	    0644);
	json_error_t jerr;
	json_t *want = json_loads("{\"example\": {\"url\": \"https://example.org/api\","
	                          " \"retries\": 3, \"ratio\": 0.5, \"enabled\": true,"
	                          " \"tags\": [\"a\", \"b\"],"
	                          " \"nested\": {\"deep\": {\"list\": [1, {\"x\": false}]}},"
	                          " \"empty\": {}}, \"other\": {}}",
	    0, &jerr);

	(void)state;
	assert_non_null(want);
	assert_non_null(c);
	if (!json_equal(c->plugins, want)) {
		char *got = json_dumps(c->plugins, JSON_SORT_KEYS);
		fail_msg("plugins converted to %s", got);
	}
	assert_true(
	    json_is_integer(json_object_get(json_object_get(c->plugins, "example"), "retries")));
	json_decref(want);
	config_free(c);
}

static void
test_config__plugins_not_sections__rejected(void **state)
{
	(void)state;
	load_fails(BASE "plugins = { example = 3 }\n",
	    "t.conf:3: plugins.example: expected a table", NULL);
	load_fails(BASE "plugins = { 1, 2 }\n",
	    "t.conf:3: plugins: expected sections named by plugin", NULL);
	load_fails(BASE "plugins = { x = { [true] = 1 } }\n",
	    "t.conf:3: plugins.x: keys must be names", NULL);
	load_fails(BASE "plugins = { x = { ratio = 1/0 } }\n",
	    "t.conf:3: plugins.x.ratio: not a finite number", NULL);
	load_fails(BASE "staff = { 7^7777 }\n", "t.conf:3: staff[1]: not a finite number", NULL);
}

/* plugins = { x = { a = { a = ... 1 } } } with n tables under x: 1 sits at depth n + 1. */
static void
nested_plugins(int n, char *src, size_t len)
{
	int off = snprintf(src, len, BASE "plugins = { x = ");

	for (int i = 0; i < n; i++)
		off += snprintf(src + off, len - (size_t)off, "{ a = ");
	off += snprintf(src + off, len - (size_t)off, "1");
	for (int i = 0; i < n; i++)
		off += snprintf(src + off, len - (size_t)off, " }");
	snprintf(src + off, len - (size_t)off, " }\n");
}

static void
test_config__plugins_nested_16_levels__accepted(void **state)
{
	char src[1024];
	struct config *c;
	json_t *v;

	(void)state;
	nested_plugins(15, src, sizeof(src));
	c = load(src, 0600);
	assert_non_null(c);
	v = json_object_get(c->plugins, "x");
	for (int i = 0; i < 15; i++)
		v = json_object_get(v, "a");
	assert_int_equal(json_integer_value(v), 1);
	config_free(c);
}

static void
test_config__plugins_nested_17_levels__rejected(void **state)
{
	char src[1024];

	(void)state;
	nested_plugins(16, src, sizeof(src));
	load_fails(
	    src, "t.conf:3: plugins.x.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a: nested too deeply", NULL);
}

/* Write src to dir/name with mode; returns the path in buf. */
static const char *
write_conf(const char *dir, const char *src, mode_t mode, char *buf, size_t len)
{
	snprintf(buf, len, "%s/tremplin.conf", dir);
	int fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, src, strlen(src)), (ssize_t)strlen(src));
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(buf, mode), 0);
	return buf;
}

static const char secret_conf[] =
    BASE "plugins = { x = { url = \"https://x.example\", token = \"s\" } }\n";

static void
check_secret_refused(mode_t mode)
{
	char tmpl[] = "/tmp/test_config.XXXXXX", path[PATH_MAX], want[PATH_MAX + 128];
	struct config *c = (struct config *)0x1;
	const char *dir = mkdtemp(tmpl);

	assert_non_null(dir);
	write_conf(dir, secret_conf, mode, path, sizeof(path));
	assert_int_equal(config_load(path, &c, err, sizeof(err)), -1);
	assert_null(c);
	snprintf(want, sizeof(want),
	    "%s: holds a secret (plugins.x.token) and is readable by group or others; chmod 600 it",
	    path);
	assert_string_equal(err, want);
	unlink(path);
	rmdir(dir);
}

static void
test_config__secret_in_file_mode_0644__refused_naming_the_key(void **state)
{
	(void)state;
	check_secret_refused(0644);
}

static void
test_config__secret_in_file_mode_0640__refused_naming_the_key(void **state)
{
	(void)state;
	check_secret_refused(0640);
}

static void
test_config__secret_in_file_mode_0600__accepted(void **state)
{
	char tmpl[] = "/tmp/test_config.XXXXXX", path[PATH_MAX];
	struct config *c = NULL;
	const char *dir = mkdtemp(tmpl);

	(void)state;
	assert_non_null(dir);
	write_conf(dir, secret_conf, 0600, path, sizeof(path));
	if (config_load(path, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(c->plugins, "x"), "token")), "s");
	config_free(c);
	unlink(path);
	rmdir(dir);
}

static void
test_config__secret_named_like_a_key_deep_in_a_list__refused(void **state)
{
	struct config *c =
	    load(BASE "plugins = { y = { peers = { { signing_key = \"k\" } } } }\n", 0604);

	(void)state;
	assert_null(c);
	assert_string_equal(err,
	    "t.conf: holds a secret (plugins.y.peers[1].signing_key) and is "
	    "readable by group or others; chmod 600 it");
}

static void
test_config__no_secret_in_readable_file__accepted(void **state)
{
	struct config *c =
	    load(BASE "plugins = { x = { url = \"https://x.example\", token = \"\" } }\n", 0644);

	(void)state;
	assert_non_null(c);
	config_free(c);
}

static void
test_config__missing_file__error_names_path(void **state)
{
	struct config *c = (struct config *)0x1;

	(void)state;
	assert_int_equal(config_load("/nonexistent/tremplin.conf", &c, err, sizeof(err)), -1);
	assert_null(c);
	assert_string_equal(err, "/nonexistent/tremplin.conf: No such file or directory");
}

/* Welcome labels are labels as the API checks them: characters, not bytes; one line. */
static void
test_config__welcome_label__200_characters_one_line(void **state)
{
	char src[2048], label[2 * 201 + 1];
	struct config *c;

	(void)state;
	for (int i = 0; i < 200; i++)
		memcpy(label + 2 * i, "é", 2);
	label[400] = '\0';
	snprintf(
	    src, sizeof(src), BASE "welcome_items = { { code = \"a\", label = \"%s\" } }\n", label);
	c = load(src, 0600);
	assert_non_null(c);
	assert_int_equal(c->nwelcome, 1);
	assert_string_equal(c->welcome[0].label, label);
	config_free(c);
	memcpy(label + 400, "é", 2);
	label[402] = '\0';
	snprintf(
	    src, sizeof(src), BASE "welcome_items = { { code = \"a\", label = \"%s\" } }\n", label);
	load_fails(src, "t.conf:", "welcome_items[1]");
	load_fails(BASE "welcome_items = { { code = \"a\", label = \"two\\nlines\" } }\n",
	    "t.conf:", "welcome_items[1]");
	load_fails(BASE "welcome_items = { { code = \"a\", label = \" EPI remis\" } }\n",
	    "t.conf:", "welcome_items[1]");
}

/* A script's section comes out whole: each field the table gives a default has it. */
static void
test_config__script_section__defaults_from_the_table(void **state)
{
	struct config *c = load(BASE "scripts = { probe = { role = \"cip\","
	                             " limits = { time_ms = 200 } } }\n",
	    0600);
	json_error_t jerr;
	json_t *want = json_loads("{\"probe\": {\"enabled\": true, \"role\": \"cip\","
	                          " \"file\": \"rules/probe.lua\", \"options\": {},"
	                          " \"http_hosts\": [], \"limits\": {\"memory_mib\": 8,"
	                          " \"instructions\": 1000000, \"time_ms\": 200,"
	                          " \"max_failures\": 3, \"notifications_per_hour\": 500,"
	                          " \"outbox_pending\": 1000, \"http_per_minute\": 60,"
	                          " \"cpu_ms_per_minute\": 6000}}}",
	    0, &jerr);

	(void)state;
	assert_non_null(want);
	assert_non_null(c);
	if (!json_equal(c->scripts, want)) {
		char *got = json_dumps(c->scripts, JSON_SORT_KEYS);
		fail_msg("scripts read as %s", got);
	}
	json_decref(want);
	config_free(c);
}

/* A field of a table is checked against its row: the error names it, its line, the choices. */
static void
test_config__table_fields__errors_name_field_line_and_choices(void **state)
{
	(void)state;
	load_fails(BASE
	    "staff = { { name = \"A\", unix_user = \"a\", role = \"eti\", mail = 1 } }\n",
	    "t.conf:3: staff[1].mail: unknown field (expected name, unix_user, role or email)",
	    NULL);
	load_fails(BASE "staff = { { name = 7, unix_user = \"a\", role = \"eti\" } }\n",
	    "t.conf:3: staff[1].name: expected a string, got number", NULL);
	load_fails(BASE "scripts = {\n  probe = {\n    role = \"cip\",\n"
	                "    limits = {\n      time_ms = 0,\n    },\n  },\n}\n",
	    "t.conf:7: scripts.probe.limits.time_ms: expected an integer from 1 to 60000", NULL);
	load_fails(BASE "scripts = { probe = { role = \"cip\", limits = { cpu = 1 } } }\n",
	    "t.conf:3: scripts.probe.limits.cpu: unknown limit (expected memory_mib, "
	    "instructions, time_ms, max_failures, notifications_per_hour, outbox_pending, "
	    "http_per_minute or cpu_ms_per_minute)",
	    NULL);
	load_fails(BASE "scripts = { probe = { } }\n",
	    "t.conf:3: scripts.probe.role: missing (the role whose views the script reads", NULL);
	load_fails(BASE "scripts = { probe = { role = \"cip\", file = 1 } }\n",
	    "t.conf:3: scripts.probe.file: expected a path (relative to script_dir), got number",
	    NULL);
	load_fails(BASE "max_connections = 0\n",
	    "t.conf:3: max_connections: 0 is out of range (1 to 65536)", NULL);
}

/* -- tremplin.conf(5) against the table ------------------------------------ */

/* One ".TP" entry of SETTINGS: a setting's name, its table, and its header. */
struct doc_entry {
	char name[64];
	char section[128]; /* "" at the top level, else "staff", "scripts.limits"... */
	char header[512]; /* "(integer, 1 to 3600, default 30)", escapes resolved */
};

/*
 * A roff request's arguments, joined as .BR prints them (alternating fonts,
 * no space between arguments), with the escapes the page uses resolved.
 */
static void
roff_text(const char *p, char *out, size_t len)
{
	static const struct {
		const char *esc, *text;
	} escapes[] = { { "\\(dq", "\"" }, { "\\(aq", "'" }, { "\\(ha", "^" }, { "\\-", "-" },
		{ "\\fI", "" }, { "\\fB", "" }, { "\\fP", "" }, { "\\fR", "" }, { "\\&", "" },
		{ "\\e", "\\" } };
	size_t o = 0;
	int quoted = 0;

	while (*p != '\0' && o + 1 < len) {
		size_t i;
		if (*p == '"') {
			quoted = !quoted;
			p++;
			continue;
		}
		if (*p == ' ' && !quoted) {
			p++;
			continue;
		}
		for (i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++)
			if (strncmp(p, escapes[i].esc, strlen(escapes[i].esc)) == 0)
				break;
		if (i < sizeof(escapes) / sizeof(escapes[0])) {
			for (const char *t = escapes[i].text; *t && o + 1 < len; t++)
				out[o++] = *t;
			p += strlen(escapes[i].esc);
		} else
			out[o++] = *p++;
	}
	out[o] = '\0';
}

/*
 * The settings tremplin.conf(5) documents: each ".TP" of SETTINGS followed
 * by ".B name" or ".BR name ...", the fields of a table being the ".TP"s
 * inside its ".RS"/".RE". Returns their number.
 */
static size_t
doc_entries(struct doc_entry *e, size_t max)
{
	const char *top = getenv("TOP_SRCDIR");
	char path[PATH_MAX], line[1024], stack[4][64] = { { 0 } };
	size_t n = 0;
	int in = 0, depth = 0, tp = 0;
	FILE *f;

	if (top == NULL)
		top = "../..";
	snprintf(path, sizeof(path), "%s/docs/tremplin.conf.5", top);
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("%s: cannot be read", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, ".SH ", 4) == 0) {
			in = strcmp(line, ".SH SETTINGS") == 0;
			continue;
		}
		if (!in)
			continue;
		if (strcmp(line, ".RS") == 0 || strncmp(line, ".RS ", 4) == 0)
			depth++;
		else if (strcmp(line, ".RE") == 0)
			depth--;
		else if (strcmp(line, ".TP") == 0 || strncmp(line, ".TP ", 4) == 0) {
			tp = 1;
			continue;
		} else if (tp && depth < 4 &&
		    (strncmp(line, ".BR ", 4) == 0 || strncmp(line, ".B ", 3) == 0)) {
			const char *p = line + (line[2] == 'R' ? 4 : 3);
			size_t w = strcspn(p, " ");
			assert_true(n < max);
			assert_true(w > 0 && w < sizeof(e[n].name));
			memcpy(e[n].name, p, w);
			e[n].name[w] = '\0';
			e[n].section[0] = '\0';
			for (int d = 0; d < depth; d++)
				snprintf(e[n].section + strlen(e[n].section),
				    sizeof(e[n].section) - strlen(e[n].section), "%s%s",
				    d ? "." : "", stack[d]);
			roff_text(p + w, e[n].header, sizeof(e[n].header));
			snprintf(stack[depth], sizeof(stack[depth]), "%s", e[n].name);
			n++;
		}
		tp = 0;
	}
	fclose(f);
	assert_int_equal(depth, 0);
	return n;
}

/* What the header of a row's entry must say of its default, and of its bounds. */
static void
documented_default(const struct config_option *o, char *buf, size_t len, char *range, size_t rlen)
{
	range[0] = '\0';
	if (o->required)
		snprintf(buf, len, "required");
	else if (o->default_text != NULL)
		snprintf(buf, len, "%s", o->default_text);
	else if (o->type == CONFIG_INTEGER) {
		snprintf(buf, len, "default %ld", o->default_number);
		snprintf(range, rlen, "%ld to %ld", o->min, o->max);
	} else if (o->type == CONFIG_BOOLEAN)
		snprintf(buf, len, "default %s", o->default_number ? "true" : "false");
	else if (o->default_string != NULL)
		snprintf(buf, len, "default \"%s\"", o->default_string);
	else if (o->type == CONFIG_TABLE || o->type == CONFIG_LIST)
		snprintf(buf, len, "default empty");
	else
		fail_msg("%s has no default and is not required: give it a default_text", o->name);
}

static void
test_config__table__every_setting_documented_with_its_default(void **state)
{
	struct doc_entry e[128];
	size_t n = doc_entries(e, 128);
	char want[256], range[64];

	(void)state;
	for (size_t i = 0; i < config_noptions; i++) {
		const struct config_option *o = &config_options[i];
		const char *section = o->section ? o->section : "";
		size_t j;
		for (j = 0; j < n; j++)
			if (strcmp(e[j].name, o->name) == 0 && strcmp(e[j].section, section) == 0)
				break;
		if (j == n)
			fail_msg("%s%s%s is in the table but not in tremplin.conf(5)", section,
			    *section ? "." : "", o->name);
		documented_default(o, want, sizeof(want), range, sizeof(range));
		if (strstr(e[j].header, want) == NULL)
			fail_msg("tremplin.conf(5): %s%s%s: \"%s\" should say \"%s\"", section,
			    *section ? "." : "", o->name, e[j].header, want);
		if (range[0] != '\0' && strstr(e[j].header, range) == NULL)
			fail_msg("tremplin.conf(5): %s%s%s: \"%s\" should say \"%s\"", section,
			    *section ? "." : "", o->name, e[j].header, range);
		if (o->text == NULL || o->text[0] == '\0')
			fail_msg("%s has no help text in the table", o->name);
	}
}

static void
test_config__man_page__every_documented_setting_in_the_table(void **state)
{
	struct doc_entry e[128];
	size_t n = doc_entries(e, 128);

	(void)state;
	for (size_t j = 0; j < n; j++) {
		size_t i;
		for (i = 0; i < config_noptions; i++) {
			const struct config_option *o = &config_options[i];
			if (strcmp(e[j].name, o->name) == 0 &&
			    strcmp(e[j].section, o->section ? o->section : "") == 0)
				break;
		}
		if (i == config_noptions)
			fail_msg("tremplin.conf(5) documents %s%s%s, which the table lacks",
			    e[j].section, e[j].section[0] ? "." : "", e[j].name);
	}
	/* Each documented once. */
	for (size_t j = 0; j < n; j++)
		for (size_t k = j + 1; k < n; k++)
			if (strcmp(e[j].name, e[k].name) == 0 &&
			    strcmp(e[j].section, e[k].section) == 0)
				fail_msg("tremplin.conf(5) documents %s twice", e[j].name);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config__shipped_file__loads_with_its_documented_values),
		cmocka_unit_test(test_config__only_socket_and_database__defaults_apply),
		cmocka_unit_test(test_config__welcome_label__200_characters_one_line),
		cmocka_unit_test(test_config__every_setting__values_read),
		cmocka_unit_test(test_config__syntax_error__error_names_file_and_line),
		cmocka_unit_test(test_config__unknown_setting__error_names_file_and_line),
		cmocka_unit_test(test_config__setting_twice__error_names_both_lines),
		cmocka_unit_test(test_config__socket_missing__error_names_setting),
		cmocka_unit_test(test_config__path_not_a_string__error_names_setting_and_line),
		cmocka_unit_test(test_config__socket_path_over_107_bytes__rejected),
		cmocka_unit_test(test_config__bad_role_in_staff_2__error_names_field_and_line),
		cmocka_unit_test(
		    test_config__bad_role_in_multiline_staff__error_points_at_the_entry),
		cmocka_unit_test(
		    test_config__staff_entry_incomplete_or_unknown_field__error_names_field),
		cmocka_unit_test(test_config__duplicate_unix_user__error_names_second_entry),
		cmocka_unit_test(test_config__daemon_user_also_listed_by_name__duplicate_rejected),
		cmocka_unit_test(test_config__daemon_user__resolved_to_effective_user_name),
		cmocka_unit_test(test_config__socket_mode_not_octal_or_without_owner_rw__rejected),
		cmocka_unit_test(test_config__socket_mode_octal_with_owner_rw__accepted),
		cmocka_unit_test(test_config__log_level_unknown__rejected_with_choices),
		cmocka_unit_test(test_config__log_level_warning__level_0),
		cmocka_unit_test(test_config__request_timeout_out_of_range__rejected),
		cmocka_unit_test(test_config__request_timeout_bounds__accepted),
		cmocka_unit_test(test_config__reads_a_name__error),
		cmocka_unit_test(test_config__endless_loop__runs_too_long_error_and_returns),
		cmocka_unit_test(test_config__table_growing_without_end__error_no_crash),
		cmocka_unit_test(test_config__memory_bomb__out_of_memory_error_no_crash),
		cmocka_unit_test(test_config__plugins_section__converted_to_json),
		cmocka_unit_test(test_config__plugins_not_sections__rejected),
		cmocka_unit_test(test_config__plugins_nested_16_levels__accepted),
		cmocka_unit_test(test_config__plugins_nested_17_levels__rejected),
		cmocka_unit_test(test_config__secret_in_file_mode_0644__refused_naming_the_key),
		cmocka_unit_test(test_config__secret_in_file_mode_0640__refused_naming_the_key),
		cmocka_unit_test(test_config__secret_in_file_mode_0600__accepted),
		cmocka_unit_test(test_config__secret_named_like_a_key_deep_in_a_list__refused),
		cmocka_unit_test(test_config__no_secret_in_readable_file__accepted),
		cmocka_unit_test(test_config__missing_file__error_names_path),
		cmocka_unit_test(test_config__script_section__defaults_from_the_table),
		cmocka_unit_test(test_config__table_fields__errors_name_field_line_and_choices),
		cmocka_unit_test(test_config__table__every_setting_documented_with_its_default),
		cmocka_unit_test(test_config__man_page__every_documented_setting_in_the_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
