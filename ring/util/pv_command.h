/* SPDX-License-Identifier: MIT */
/* Subcommands of the `pvkvm` command register themselves in their own file:
 *
 *     PV_COMMAND(store, "store", "read and change the configuration store", cmd_store);
 *
 * The dispatcher (hv/main.c) finds them through the linker section, so adding a
 * subcommand touches one file.  The object must be linked directly (PVKVM_OBJS),
 * not through an archive, or the linker drops it.
 *
 * Exit status convention for every subcommand: 0 ok, 1 user or configuration
 * error, 2 host problem.  Errors go to stderr, one line each. */
#ifndef PV_COMMAND_H
#define PV_COMMAND_H

enum { PV_EXIT_OK = 0, PV_EXIT_USER = 1, PV_EXIT_HOST = 2 };

struct pv_command {
	const char *name;
	const char *summary;
	/* argv[0] is the subcommand name; "--help" anywhere prints its usage. */
	int (*main)(int argc, char **argv);
};

#define PV_COMMAND(ident, name_, summary_, fn)                                   \
	static const struct pv_command pv_command_##ident                       \
		__attribute__((used, section("pv_commands"), aligned(8))) = {  \
		.name = name_, .summary = summary_, .main = fn }

/* Returns true when argv holds -h or --help (for subcommand usage). */
int pv_command_wants_help(int argc, char **argv);

#endif
