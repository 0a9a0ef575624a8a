/*
 * tremplinctl demo: its options, and the report of what demo_create wrote.
 * It talks to no daemon: it writes a new database with the daemon's own
 * code (demo.c), so it sees the daemon's headers.
 */

/* The build defines _GNU_SOURCE (strptime, timegm). */
#include <getopt.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "ctl.h"
#include "demo.h"
#include "log.h"
#include "util.h"

static void
demo_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: " PROG " demo --database PATH [--as ACCOUNT[=USER]]...\n"
	    "                        [--employees N [--years Y] [--seed S]]\n"
	    "\n"
	    "Fill a new database with demo data; then start tremplind on it.\n"
	    "\n"
	    "It writes straight into a new SQLite file, migrated by the daemon's own\n"
	    "code, as an import would: no daemon runs on that file yet, nothing goes\n"
	    "through the API (which would need staff accounts before any exist, and\n"
	    "journal an event per row), and a file that exists and is not empty is\n"
	    "refused, so a real database is never touched.\n"
	    "\n"
	    "Without --employees: the workshop \"Jardins Solidaires du Pays de\n"
	    "Guéret\", an ACI (espaces verts) with a coordinator, a CIP, two ETIs and\n"
	    "twelve employees at various points of their pathway.\n"
	    "With --employees N: N pathways hired over Y years, with their contracts,\n"
	    "PASS IAE, follow-up and exits, and more ETIs and CIPs; for benchmarks.\n"
	    "\n"
	    "The daemon knows callers by their Unix user. The demo's staff accounts\n"
	    "have users that do not exist here (demo-coordinator, demo-cip,\n"
	    "demo-eti1, demo-eti2); --as gives one to a real user, to browse as it:\n"
	    "  --as cip              you are the CIP, Awa Diallo\n"
	    "  --as coordinator=bob  Unix user bob is the coordinator, Claire Lefèvre\n"
	    "Accounts: coordinator, cip, eti1 (or eti: Karim Benali), eti2 (Julien\n"
	    "Moreau). Leave those users out of the daemon's `staff` setting: the\n"
	    "accounts listed there are the configuration's, and it would rename them.\n"
	    "scripts/run.sh --demo does all of this.\n"
	    "\n"
	    "options:\n"
	    "  -d, --database PATH   the new database (its directory must exist)\n"
	    "  -a, --as ACCOUNT[=USER]\n"
	    "                        give a demo account to USER (default: you)\n"
	    "  -n, --employees N     generate N pathways instead of the workshop\n"
	    "  -y, --years Y         of history, 1 to 10 (default 3)\n"
	    "  -S, --seed S          of the generator (default 1): the same seed on the\n"
	    "                        same day gives the same data\n"
	    "  -h, --help            show this help\n"
	    "Dates run back from today; TREMPLIN_TEST_CLOCK (YYYY-MM-DDTHH:MM:SSZ)\n"
	    "sets today, as it does for the daemon.\n");
}

int
cmd_demo(const struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "database", required_argument, NULL, 'd' },
		{ "as", required_argument, NULL, 'a' },
		{ "employees", required_argument, NULL, 'n' },
		{ "years", required_argument, NULL, 'y' },
		{ "seed", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct demo_options o = { .years = 3, .seed = 1 };
	struct demo_as as[16];
	struct demo_counts n;
	struct timespec t0, t1;
	const char *clock;
	char err[1024], me[64] = "";
	int64_t v;
	int ch, years = 0, seed = 0;

	if (getpwuid(geteuid()) != NULL)
		snprintf(me, sizeof(me), "%s", getpwuid(geteuid())->pw_name);
	optind = 0; /* glibc: start over on the command's own arguments */
	while ((ch = getopt_long(argc, argv, "+:a:d:hn:S:y:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			o.database = optarg;
			break;
		case 'a': {
			char *eq = strchr(optarg, '=');
			if (o.nas == sizeof(as) / sizeof(as[0])) {
				fprintf(stderr, PROG " demo : trop d'options --as (%zu au plus)\n",
				    sizeof(as) / sizeof(as[0]));
				return EXIT_USAGE;
			}
			if (eq == NULL && me[0] == '\0') {
				fprintf(stderr,
				    PROG
				    " demo : --as %s : l'uid %u n'a pas de nom d'utilisateur ; "
				    "écrivez --as %s=UTILISATEUR\n",
				    optarg, (unsigned)geteuid(), optarg);
				return EXIT_USAGE;
			}
			if (eq != NULL)
				*eq = '\0';
			as[o.nas].account = optarg;
			as[o.nas].unix_user = eq != NULL ? eq + 1 : me;
			o.nas++;
			o.as = as;
			break;
		}
		case 'n':
			if (tr_parse_i64(optarg, 1, 1000000, &v) == -1) {
				fprintf(stderr,
				    PROG " demo : --employees attend un nombre de 1 à 1000000\n");
				return EXIT_USAGE;
			}
			o.employees = (int)v;
			break;
		case 'y':
			if (tr_parse_i64(optarg, 1, 10, &v) == -1) {
				fprintf(
				    stderr, PROG " demo : --years attend un nombre de 1 à 10\n");
				return EXIT_USAGE;
			}
			o.years = (int)v;
			years = 1;
			break;
		case 'S':
			if (tr_parse_i64(optarg, 0, INT64_MAX, &v) == -1) {
				fprintf(stderr, PROG " demo : --seed attend un nombre\n");
				return EXIT_USAGE;
			}
			o.seed = (uint64_t)v;
			seed = 1;
			break;
		case 'h':
			demo_usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, PROG " demo : l'option %s attend une valeur\n",
			    argv[optind - 1]);
			demo_usage(stderr);
			return EXIT_USAGE;
		default:
			fprintf(stderr, PROG " demo : option inconnue : %s\n", argv[optind - 1]);
			demo_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || o.database == NULL || *o.database == '\0') {
		if (optind != argc) {
			fputs(PROG " demo : argument en trop : ", stderr);
			put_clean(stderr, argv[optind]);
			fputc('\n', stderr);
		} else
			fprintf(stderr, PROG " demo : l'option --database PATH est obligatoire\n");
		demo_usage(stderr);
		return EXIT_USAGE;
	}
	if ((years || seed) && o.employees == 0) {
		fprintf(stderr, PROG " demo : --years et --seed ne vont qu'avec --employees\n");
		return EXIT_USAGE;
	}
	/* The daemon's test clock, so that a test's demo and daemon share today. */
	if ((clock = getenv("TREMPLIN_TEST_CLOCK")) != NULL && *clock != '\0') {
		struct tm tm;
		char *end;
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(clock, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *end != '\0') {
			fprintf(stderr,
			    PROG " : TREMPLIN_TEST_CLOCK : format attendu AAAA-MM-JJTHH:MM:SSZ\n");
			return EXIT_USAGE;
		}
		tr_clock_set_offset(((int64_t)timegm(&tm) - (int64_t)time(NULL)) * 1000);
	}
	/* The daemon's code logs; only its warnings matter here. */
	log_init(1, LOG_LEVEL_WARNING);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (demo_create(&o, &n, err, sizeof(err)) == -1) {
		fputs(PROG " demo : ", stderr);
		put_clean(stderr, err);
		fputc('\n', stderr);
		return EXIT_ERR;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ctl->quiet)
		return 0;
	printf("%s : %s en %.2f s\n", o.database,
	    o.employees ? "parcours générés" : "l'atelier de démonstration créé",
	    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	printf("  %ld structure (ACI), %ld comptes du personnel, %ld salariés : %ld en parcours, "
	       "%ld sortis, %ld pas encore entrés\n",
	    n.structures, n.staff, n.employees, n.in_pathway, n.exited, n.candidates);
	printf("  %ld contrats, %ld renouvellements, %ld PASS IAE, %ld points d'accueil, "
	       "%ld freins,\n"
	       "  %ld observations, %ld objectifs, %ld entretiens, %ld notes, %ld sorties\n",
	    n.contracts, n.renewals, n.passes, n.welcome, n.barriers, n.observations, n.goals,
	    n.reviews, n.notes, n.exits);
	for (size_t i = 0; i < o.nas; i++) {
		const char *name = demo_account_name(as[i].account);
		printf("  l'utilisateur Unix %s a le compte %s de la démo%s%s%s\n", as[i].unix_user,
		    as[i].account, name ? " (" : "", name ? name : "", name ? ")" : "");
	}
	printf("Démarrez tremplind avec database = \"%s\" et une audit_database à part\n"
	       "dans sa configuration.\n",
	    o.database);
	return 0;
}
