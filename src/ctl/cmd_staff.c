/*
 * tremplinctl for staff: the worklists, the team, people by name and the
 * indicators, as tables with French headers and dates (JJ/MM/AAAA) on a
 * terminal, JSON with --json or when the output is not a terminal (a pipe, a
 * file), CSV with --csv (as the daemon writes it for spreadsheets).
 * Messages to staff are in French; the API's own, quoted, may stay English.
 */

#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "client.h"
#include "commands.h"

enum col_type { T_TEXT = 0, T_DATE, T_INT, T_BOOL, T_REAL, T_TIME };

struct col {
	const char *key;
	const char *header;
	enum col_type type;
};

enum output { OUT_AUTO = 0, OUT_JSON, OUT_CSV, OUT_TABLE };

struct opts {
	enum output out;
	int mine;
	const char *days, *from, *to, *status, *structure;
	char query[512]; /* the query string built, "a=b&c=d" */
};

/* GET path; the answer's body in *out (the caller frees it). 0, or the exit code. */
static int
get(const struct ctl *ctl, const char *path, struct buf *out)
{
	struct request rq = {
		.method = "GET", .path = path, .timeout = REQUEST_TIMEOUT, .json = 1
	};
	struct response r = { .fd = -1 };
	char errbuf[CURL_ERROR_SIZE];
	CURLcode cc;
	int rv = 0;

	errbuf[0] = '\0';
	cc = client_perform(ctl, &rq, &r, errbuf);
	if (cc != CURLE_OK)
		rv = client_report_transport(ctl, cc, errbuf, &r);
	else if (r.status >= 400)
		rv = client_report_http_error(ctl, &r);
	if (rv != 0) {
		free(r.body.data);
		return rv;
	}
	*out = r.body;
	return 0;
}

static json_t *
get_json(const struct ctl *ctl, const char *path, int *rv)
{
	struct buf b = { 0 };
	json_t *j;

	if ((*rv = get(ctl, path, &b)) != 0)
		return NULL;
	j = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
	free(b.data);
	if (j == NULL) {
		fprintf(stderr, PROG " : la réponse du service n'est pas lisible\n");
		*rv = EXIT_ERR;
	}
	return j;
}

/* Characters, not bytes, for the columns' widths. */
static size_t
width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* An RFC 3339 UTC instant (2026-12-04T09:30:00Z) as JJ/MM/AAAA HH:MM in Paris. */
static void
paris_time(const char *s, char *buf, size_t size)
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strlen(s) < 20 ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	        &tm.tm_min, &tm.tm_sec) != 6)
		return;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((t = timegm(&tm)) == (time_t)-1 || localtime_r(&t, &tm) == NULL)
		return;
	strftime(buf, size, "%d/%m/%Y %H:%M", &tm);
}

static void
cell(const struct col *c, json_t *v, char *buf, size_t size)
{
	const char *s;

	buf[0] = '\0';
	if (v == NULL || json_is_null(v))
		return;
	switch (c->type) {
	case T_DATE:
		s = json_string_value(v);
		if (s != NULL && strlen(s) >= 10)
			snprintf(buf, size, "%.2s/%.2s/%.4s", s + 8, s + 5, s);
		return;
	case T_BOOL:
		snprintf(buf, size, "%s", json_is_true(v) ? "oui" : "non");
		return;
	case T_TIME:
		paris_time(json_string_value(v), buf, size);
		return;
	case T_INT:
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
		return;
	case T_REAL:
		if (json_is_integer(v)) {
			snprintf(buf, size, "%lld", (long long)json_integer_value(v));
			return;
		}
		snprintf(buf, size, "%.1f", json_number_value(v));
		for (char *p = buf; *p; p++)
			if (*p == '.')
				*p = ',';
		return;
	default:
		if ((s = json_string_value(v)) != NULL) {
			size_t o = 0;
			/* Control characters off the terminal. */
			for (; *s && o + 1 < size; s++)
				buf[o++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
			buf[o] = '\0';
		} else if (json_is_integer(v))
			snprintf(buf, size, "%lld", (long long)json_integer_value(v));
	}
}

static void
pad(const char *s, size_t w)
{
	fputs(s, stdout);
	for (size_t n = width(s); n < w; n++)
		putchar(' ');
}

/* The items as a table; a line saying so when there are none. */
static void
table(const struct col *cols, size_t ncols, json_t *items, const char *none)
{
	size_t w[16], i;
	char buf[512];
	json_t *it;

	if (json_array_size(items) == 0) {
		printf("%s\n", none);
		return;
	}
	for (size_t j = 0; j < ncols && j < 16; j++)
		w[j] = width(cols[j].header);
	json_array_foreach (items, i, it)
		for (size_t j = 0; j < ncols && j < 16; j++) {
			cell(&cols[j], json_object_get(it, cols[j].key), buf, sizeof(buf));
			if (width(buf) > w[j])
				w[j] = width(buf);
		}
	for (size_t j = 0; j < ncols && j < 16; j++) {
		pad(cols[j].header, j + 1 < ncols ? w[j] + 2 : 0);
	}
	putchar('\n');
	for (size_t j = 0; j < ncols && j < 16; j++) {
		for (size_t k = 0; k < w[j]; k++)
			fputs("─", stdout);
		if (j + 1 < ncols)
			fputs("  ", stdout);
	}
	putchar('\n');
	json_array_foreach (items, i, it) {
		for (size_t j = 0; j < ncols && j < 16; j++) {
			cell(&cols[j], json_object_get(it, cols[j].key), buf, sizeof(buf));
			pad(buf, j + 1 < ncols ? w[j] + 2 : 0);
		}
		putchar('\n');
	}
	printf("(%zu ligne%s)\n", json_array_size(items), json_array_size(items) > 1 ? "s" : "");
}

static void
add_query(struct opts *o, const char *name, const char *value)
{
	size_t n = strlen(o->query);
	char *esc;

	if (value == NULL)
		return;
	if ((esc = curl_easy_escape(NULL, value, 0)) == NULL)
		return;
	snprintf(o->query + n, sizeof(o->query) - n, "%s%s=%s", n ? "&" : "", name, esc);
	curl_free(esc);
}

/* A number of days: "14", "14d" or "14j". */
static const char *
days_arg(const char *s, char *buf, size_t size)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || v < 0 || v > 3660 ||
	    (*end != '\0' && !((*end == 'd' || *end == 'j') && end[1] == '\0')))
		return NULL;
	snprintf(buf, size, "%ld", v);
	return buf;
}

/* JJ/MM/AAAA or AAAA-MM-JJ, as AAAA-MM-JJ. */
static const char *
date_arg(const char *s, char *buf, size_t size)
{
	int d, m, y;
	char tail;

	if (sscanf(s, "%2d/%2d/%4d%c", &d, &m, &y, &tail) == 3 ||
	    sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3) {
		if (y < 1900 || m < 1 || m > 12 || d < 1 || d > 31)
			return NULL;
		snprintf(buf, size, "%04d-%02d-%02d", y, m, d);
		return buf;
	}
	return NULL;
}

/*
 * The options of a staff command (those it takes: accepts, a string of the
 * letters below). 0, or EXIT_USAGE after saying why in French.
 */
static int
parse(int argc, char **argv, const char *accepts, struct opts *o, const char **arg)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "csv", no_argument, NULL, 'C' },
		{ "mine", no_argument, NULL, 'm' },
		{ "due", required_argument, NULL, 'd' },
		{ "days", required_argument, NULL, 'd' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "status", required_argument, NULL, 'S' },
		{ "structure", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	static char days[16], from[24], to[24];
	int ch;

	memset(o, 0, sizeof(*o));
	*arg = NULL;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:", longopts, NULL)) != -1) {
		if (ch == ':' || ch == '?' || strchr(accepts, ch) == NULL) {
			fprintf(stderr, PROG " %s : option inconnue ou incomplète : %s\n", argv[0],
			    argv[optind - 1]);
			return EXIT_USAGE;
		}
		switch (ch) {
		case 'J':
			o->out = OUT_JSON;
			break;
		case 'C':
			o->out = OUT_CSV;
			break;
		case 'm':
			o->mine = 1;
			break;
		case 'd':
			if ((o->days = days_arg(optarg, days, sizeof(days))) == NULL) {
				fprintf(stderr,
				    PROG " %s : nombre de jours invalide : %s (par exemple 14d)\n",
				    argv[0], optarg);
				return EXIT_USAGE;
			}
			break;
		case 'f':
		case 't':
			if (date_arg(optarg, ch == 'f' ? from : to, sizeof(from)) == NULL) {
				fprintf(stderr,
				    PROG " %s : date invalide : %s (JJ/MM/AAAA ou AAAA-MM-JJ)\n",
				    argv[0], optarg);
				return EXIT_USAGE;
			}
			*(ch == 'f' ? &o->from : &o->to) = ch == 'f' ? from : to;
			break;
		case 'S':
			o->status = optarg;
			break;
		case 's':
			o->structure = optarg;
			break;
		}
	}
	if (optind < argc) {
		if (strchr(accepts, 'A') == NULL || optind + 1 < argc) {
			fprintf(
			    stderr, PROG " %s : argument en trop : %s\n", argv[0], argv[optind]);
			return EXIT_USAGE;
		}
		*arg = argv[optind];
	}
	if (o->out == OUT_AUTO)
		o->out = isatty(STDOUT_FILENO) ? OUT_TABLE : OUT_JSON;
	/* Times shown to staff are the workshop's: Europe/Paris, whatever the machine's zone. */
	setenv("TZ", "Europe/Paris", 1);
	tzset();
	return 0;
}

/* The caller's role, for --mine and team: "cip", "eti"... NULL after reporting. */
static char *
my_role(const struct ctl *ctl, int *rv)
{
	json_t *j = get_json(ctl, "/v1/whoami", rv);
	const char *role = json_string_value(json_object_get(j, "role"));
	char *out = role ? strdup(role) : NULL;

	json_decref(j);
	return out;
}

/* referent_cip_id=me for a CIP, referent_eti_id=me for an ETI; nothing for the others. */
static int
add_mine(const struct ctl *ctl, struct opts *o)
{
	int rv = 0;
	char *role = my_role(ctl, &rv);

	if (role == NULL)
		return rv ? rv : EXIT_ERR;
	if (strcmp(role, "cip") == 0)
		add_query(o, "referent_cip_id", "me");
	else if (strcmp(role, "eti") == 0)
		add_query(o, "referent_eti_id", "me");
	free(role);
	return 0;
}

/* GET base?query and print as the options say. */
static int
show(const struct ctl *ctl, const char *base, struct opts *o, const struct col *cols, size_t ncols,
    const char *none)
{
	char path[768];
	int rv;

	if (o->out == OUT_CSV)
		add_query(o, "format", "csv");
	snprintf(path, sizeof(path), "%s%s%s", base, o->query[0] ? "?" : "", o->query);
	if (o->out == OUT_CSV) {
		struct buf b = { 0 };
		if ((rv = get(ctl, path, &b)) != 0)
			return rv;
		if (b.len > 0 && fwrite(b.data, 1, b.len, stdout) != b.len)
			rv = EXIT_ERR;
		free(b.data);
		return rv;
	}
	json_t *j = get_json(ctl, path, &rv);
	if (j == NULL)
		return rv;
	if (ctl->quiet)
		;
	else if (o->out == OUT_JSON)
		rv = print_json(ctl, j);
	else {
		json_t *items = json_object_get(j, "items");
		table(cols, ncols, items ? items : j, none);
		if (json_is_true(json_object_get(j, "truncated")))
			printf("(liste tronquée : précisez les filtres)\n");
	}
	json_decref(j);
	return rv;
}

#define PERSON                                                                                     \
	{ "last_name", "Nom", T_TEXT }, { "first_name", "Prénom", T_TEXT },                        \
	{                                                                                          \
		"team", "Équipe", T_TEXT                                                           \
	}

int
cmd_reviews(const struct ctl *ctl, int argc, char **argv)
{
	static const struct col cols[] = { PERSON, { "review_kind", "Bilan", T_TEXT },
		{ "planned_on", "Prévu le", T_DATE }, { "days_late", "Retard (j)", T_INT },
		{ "referent_cip_name", "CIP référent", T_TEXT } };
	struct opts o;
	const char *arg;
	int rv;

	if ((rv = parse(argc, argv, "JCmdft", &o, &arg)) != 0)
		return rv;
	add_query(&o, "days", o.days);
	add_query(&o, "from", o.from);
	add_query(&o, "to", o.to);
	if (o.mine && (rv = add_mine(ctl, &o)) != 0)
		return rv;
	return show(ctl, "/v1/worklists/reviews", &o, cols, sizeof(cols) / sizeof(cols[0]),
	    "Aucun bilan à préparer.");
}

int
cmd_ending(const struct ctl *ctl, int argc, char **argv)
{
	static const struct col cols[] = { PERSON, { "what", "Échéance", T_TEXT },
		{ "end_date", "Fin le", T_DATE }, { "days_left", "Dans (j)", T_INT },
		{ "referent_cip_name", "CIP référent", T_TEXT } };
	struct opts o;
	const char *arg;
	int rv;

	if ((rv = parse(argc, argv, "JCmd", &o, &arg)) != 0)
		return rv;
	add_query(&o, "days", o.days);
	if (o.mine && (rv = add_mine(ctl, &o)) != 0)
		return rv;
	return show(ctl, "/v1/worklists/ending", &o, cols, sizeof(cols) / sizeof(cols[0]),
	    "Aucun contrat ni PASS IAE ne se termine dans la période.");
}

int
cmd_welcome(const struct ctl *ctl, int argc, char **argv)
{
	static const struct col cols[] = { PERSON, { "hired_on", "Embauche", T_DATE },
		{ "label", "Étape d'accueil à faire", T_TEXT },
		{ "days_since_hiring", "Depuis (j)", T_INT } };
	struct opts o;
	const char *arg;
	int rv;

	if ((rv = parse(argc, argv, "JCmd", &o, &arg)) != 0)
		return rv;
	add_query(&o, "days", o.days);
	if (o.mine && (rv = add_mine(ctl, &o)) != 0)
		return rv;
	return show(ctl, "/v1/worklists/welcome", &o, cols, sizeof(cols) / sizeof(cols[0]),
	    "Toutes les étapes d'accueil sont faites.");
}

int
cmd_goals(const struct ctl *ctl, int argc, char **argv)
{
	static const struct col cols[] = { PERSON, { "goal", "Objectif", T_TEXT },
		{ "deadline", "Échéance", T_DATE }, { "days_late", "Retard (j)", T_INT } };
	struct opts o;
	const char *arg;
	int rv;

	if ((rv = parse(argc, argv, "JCm", &o, &arg)) != 0)
		return rv;
	if (o.mine && (rv = add_mine(ctl, &o)) != 0)
		return rv;
	return show(ctl, "/v1/worklists/goals", &o, cols, sizeof(cols) / sizeof(cols[0]),
	    "Aucun objectif en retard.");
}

int
cmd_entry_reviews(const struct ctl *ctl, int argc, char **argv)
{
	static const struct col cols[] = { PERSON, { "hired_on", "Embauche", T_DATE },
		{ "days_since_hiring", "Depuis (j)", T_INT },
		{ "entry_review_planned_on", "Bilan d'entrée prévu", T_DATE } };
	struct opts o;
	const char *arg;
	int rv;

	if ((rv = parse(argc, argv, "JCm", &o, &arg)) != 0)
		return rv;
	if (o.mine && (rv = add_mine(ctl, &o)) != 0)
		return rv;
	return show(ctl, "/v1/worklists/entry_reviews", &o, cols, sizeof(cols) / sizeof(cols[0]),
	    "Chaque personne embauchée depuis un mois a eu son bilan d'entrée.");
}

int
cmd_team(const struct ctl *ctl, int argc, char **argv)
{
	static const struct col cols[] = { PERSON, { "status", "Statut", T_TEXT },
		{ "hired_on", "Embauche", T_DATE }, { "contract_end", "Fin de contrat", T_DATE },
		{ "next_review_on", "Prochain bilan", T_DATE },
		{ "referent_cip_name", "CIP référent", T_TEXT },
		{ "referent_eti_name", "ETI référent", T_TEXT } };
	struct opts o;
	const char *arg;
	int rv;

	if ((rv = parse(argc, argv, "JCS", &o, &arg)) != 0)
		return rv;
	/* One's own people: the ETI's team, the CIP's caseload; everyone for the others. */
	if ((rv = add_mine(ctl, &o)) != 0)
		return rv;
	add_query(&o, "status", o.status ? o.status : "in_pathway");
	return show(ctl, "/v1/worklists/caseload", &o, cols, sizeof(cols) / sizeof(cols[0]),
	    "Personne dans l'équipe.");
}

int
cmd_people(const struct ctl *ctl, int argc, char **argv)
{
	static const struct col cols[] = { { "id", "N°", T_INT }, PERSON,
		{ "status", "Statut", T_TEXT }, { "referent_cip_name", "CIP référent", T_TEXT },
		{ "referent_eti_name", "ETI référent", T_TEXT },
		{ "last_contact_at", "Dernier contact", T_TIME } };
	struct opts o;
	const char *arg;
	int rv;

	if ((rv = parse(argc, argv, "JA", &o, &arg)) != 0)
		return rv;
	add_query(&o, "q", arg);
	add_query(&o, "limit", "500");
	return show(ctl, "/v1/employees", &o, cols, sizeof(cols) / sizeof(cols[0]),
	    "Personne ne correspond.");
}

int
cmd_indicators(const struct ctl *ctl, int argc, char **argv)
{
	static const struct col cols[] = { { "label", "Indicateur", T_TEXT },
		{ "value", "Valeur", T_REAL } };
	struct opts o;
	const char *arg;
	int rv;

	if ((rv = parse(argc, argv, "JCsft", &o, &arg)) != 0)
		return rv;
	add_query(&o, "structure", o.structure);
	add_query(&o, "from", o.from);
	add_query(&o, "to", o.to);
	return show(
	    ctl, "/v1/indicators", &o, cols, sizeof(cols) / sizeof(cols[0]), "Aucun indicateur.");
}
