/*
 * tremplinctl: the command-line client of tremplind.
 *
 * It speaks HTTP/1.1 to the daemon's Unix socket (client.c), pretty-prints
 * JSON answers and turns API errors into one line on stderr. This file holds
 * main, the global options and the output; the commands are in commands.c.
 * Its messages are for staff, so in French ("tremplinctl : ..."), keeping
 * paths and the system's error text; the help stays in English, as the man
 * page is.
 *
 * Exit status: 0 success, 1 the daemon refused or a local failure, 64 usage
 * error (EX_USAGE), 69 no complete answer from the daemon (EX_UNAVAILABLE).
 */

/*
 * The build passes its defines (_GNU_SOURCE, PACKAGE_VERSION) on the command
 * line; there is no autoconf config.h. Alone, POSIX 2008 is all this file
 * needs.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "client.h"
#include "commands.h"
#include "ctl.h"

#ifndef TREMPLIN_DEFAULT_SOCKET
#define TREMPLIN_DEFAULT_SOCKET "/run/tremplin/tremplin.sock"
#endif

/* Where a command's help begins, and its continuation lines. */
#define HELP_COLUMN 21

void
usage(FILE *fp)
{
	const struct command *c;
	const char *h, *nl;
	int n;

	fputs("usage: " PROG " [-q] [-s socket] command [argument ...]\n"
	      "\n"
	      "commands:\n",
	    fp);
	for (c = commands; c < commands + ncommands; c++) {
		n = fprintf(fp, "  %s%s%s", c->name, *c->usage != '\0' ? " " : "", c->usage);
		/* A synopsis too long for its column has its help below it. */
		if (n < 0 || n >= HELP_COLUMN) {
			fputc('\n', fp);
			n = 0;
		}
		for (h = c->help;; h = nl + 1) {
			fprintf(fp, "%*s", HELP_COLUMN - n, "");
			nl = strchr(h, '\n');
			fprintf(fp, "%.*s\n", nl != NULL ? (int)(nl - h) : (int)strlen(h), h);
			if (nl == NULL)
				break;
			n = 0;
		}
	}
	fputs("\n"
	      "options:\n"
	      "  -s, --socket PATH  the daemon's socket (default: $TREMPLIN_SOCKET,\n"
	      "                     else " TREMPLIN_DEFAULT_SOCKET ")\n"
	      "  -q, --quiet        print nothing on success\n"
	      "  -h, --help         show this help\n"
	      "  -V, --version      show the version\n",
	    fp);
}

void
put_clean(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		fputc(c < 0x20 || c == 0x7f ? '?' : c, fp);
	}
}

int
print_json(const struct ctl *ctl, json_t *j)
{
	if (ctl->quiet)
		return 0;
	if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY) == -1 || putchar('\n') == EOF) {
		fprintf(stderr, PROG " : impossible d'écrire la réponse\n");
		return EXIT_ERR;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { .socket = NULL };
	const struct command *cmd;
	const char *env;
	int ch, nargs, rv;

	opterr = 0;
	/* '+': stop at the command, so "post /x -" keeps its "-". */
	while ((ch = getopt_long(argc, argv, "+:hqs:V", longopts, NULL)) != -1) {
		switch (ch) {
		case 'V':
			printf(PROG " %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case 'q':
			ctl.quiet = 1;
			break;
		case 's':
			ctl.socket = optarg;
			break;
		case ':':
			fprintf(
			    stderr, PROG " : l'option %s attend une valeur\n", argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		default:
			/* A bad long option (--quiet=1 too) is shown whole. */
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				fprintf(stderr, PROG " : option inconnue : %s\n", argv[optind - 1]);
			else
				fprintf(stderr, PROG " : option inconnue : -%c\n", optopt);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;

	if (ctl.socket == NULL)
		ctl.socket = (env = getenv("TREMPLIN_SOCKET")) != NULL && *env != '\0'
		    ? env
		    : TREMPLIN_DEFAULT_SOCKET;
	if (*ctl.socket == '\0') {
		fprintf(stderr,
		    PROG " : le chemin de la socket est vide ; donnez-le par -s ou "
		         "TREMPLIN_SOCKET\n");
		return EXIT_USAGE;
	}
	if (strlen(ctl.socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		fprintf(stderr, PROG " : chemin de la socket trop long (%zu octets au plus) : %s\n",
		    sizeof(((struct sockaddr_un *)0)->sun_path) - 1, ctl.socket);
		return EXIT_USAGE;
	}

	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((cmd = command_find(argv[0])) == NULL) {
		fputs(PROG " : commande inconnue : ", stderr);
		put_clean(stderr, argv[0]);
		fputc('\n', stderr);
		usage(stderr);
		return EXIT_USAGE;
	}
	nargs = argc - 1;
	if (cmd->max_args != -1 && (nargs < cmd->min_args || nargs > cmd->max_args)) {
		fprintf(stderr, PROG " %s : nombre d'arguments incorrect\n", cmd->name);
		usage(stderr);
		return EXIT_USAGE;
	}

	/* A local command (demo writes a database file) talks to no daemon. */
	if (!cmd->local && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, PROG " : impossible d'initialiser libcurl\n");
		return EXIT_ERR;
	}
	rv = cmd->run(&ctl, argc, argv);
	if (!cmd->local)
		curl_global_cleanup();

	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, PROG " : sortie standard : %s\n", strerror(errno));
		rv = EXIT_ERR;
	}
	/* Die of the signal, as the shell expects, now the files are clean. */
	if (client_interrupted) {
		signal(client_interrupted, SIG_DFL);
		raise(client_interrupted);
	}
	return rv;
}
