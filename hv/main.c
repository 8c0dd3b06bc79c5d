/* SPDX-License-Identifier: MIT */
/* The `pvkvm` command: a dispatcher over the subcommands that register
 * themselves with PV_COMMAND() in their own files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_command.h"
#include "pv_log.h"

#ifndef PVKVM_VERSION
#define PVKVM_VERSION "0.1"
#endif

/* The process's arguments, for commands that rewrite the title ps shows
 * (`pvkvm run` shows pvkvm:<name>); set once before any command runs. */
char **hv_main_argv;
int hv_main_argc;

extern const struct pv_command __start_pv_commands[];
extern const struct pv_command __stop_pv_commands[];

int pv_command_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	}
	return 0;
}

static int command_cmp(const void *a, const void *b)
{
	const struct pv_command *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static void usage(FILE *out)
{
	size_t n = (size_t)(__stop_pv_commands - __start_pv_commands);
	const struct pv_command *sorted[n ? n : 1];

	for (size_t i = 0; i < n; i++)
		sorted[i] = &__start_pv_commands[i];
	qsort(sorted, n, sizeof(sorted[0]), command_cmp);
	fprintf(out,
		"usage: pvkvm [-v|--verbose] [--log-level LEVEL] COMMAND [ARGS...]\n"
		"\n"
		"pvkvm runs KVM guests with Xen-style paravirtual devices.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %-18s %s\n", sorted[i]->name, sorted[i]->summary);
	fprintf(out,
		"\n"
		"'pvkvm COMMAND --help' describes a command.\n"
		"Exit status: 0 success, 1 user or configuration error, 2 host problem.\n");
}

static const struct pv_command *command_find(const char *name)
{
	for (const struct pv_command *c = __start_pv_commands; c < __stop_pv_commands; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static int cmd_version(int argc, char **argv)
{
	if (pv_command_wants_help(argc, argv)) {
		printf("usage: pvkvm version\n\nPrint the pvkvm version.\n");
		return PV_EXIT_OK;
	}
	printf("pvkvm %s\n", PVKVM_VERSION);
	return PV_EXIT_OK;
}
PV_COMMAND(version, "version", "print the pvkvm version", cmd_version);

int main(int argc, char **argv)
{
	int i = 1;

	hv_main_argv = argv;
	hv_main_argc = argc;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return PV_EXIT_OK;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			pv_log_set_level(pv_log_get_level() + 1);
		} else if (!strcmp(argv[i], "--log-level") && i + 1 < argc) {
			int level = pv_log_parse_level(argv[++i]);

			if (level < 0) {
				fprintf(stderr, "pvkvm: unknown log level '%s' (err, warn, info, debug)\n", argv[i]);
				return PV_EXIT_USER;
			}
			pv_log_set_level(level);
		} else if (!strcmp(argv[i], "--version")) {
			return cmd_version(1, argv);
		} else {
			fprintf(stderr, "pvkvm: unknown option '%s' (try 'pvkvm --help')\n", argv[i]);
			return PV_EXIT_USER;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return PV_EXIT_USER;
	}
	const struct pv_command *cmd = command_find(argv[i]);

	if (!cmd) {
		fprintf(stderr, "pvkvm: unknown command '%s' (try 'pvkvm --help')\n", argv[i]);
		return PV_EXIT_USER;
	}
	return cmd->main(argc - i, argv + i);
}
