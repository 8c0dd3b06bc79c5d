/* SPDX-License-Identifier: MIT */
/* `pvkvm store`: read and change the configuration store from the shell,
 * on top of the client library.  Output matches Xen's xenstore-* tools where
 * they overlap (read, list, ls, exists, watch). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_command.h"
#include "xs_client.h"

struct store_cmd {
	const char *name;
	const char *usage;
	const char *help;
	int min_args;
	int (*fn)(struct xs_client *c, int argc, char **argv);
};

static int fail(const char *what, const char *path, int rc)
{
	fprintf(stderr, "pvkvm store %s: %s: %s\n", what, path, strerror(-rc));
	return PV_EXIT_USER;
}

static int do_read(struct xs_client *c, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		char *v;
		size_t len;
		int rc = xs_read(c, 0, argv[i], &v, &len);

		if (rc)
			return fail("read", argv[i], rc);
		fwrite(v, 1, len, stdout);
		putchar('\n');
		free(v);
	}
	return PV_EXIT_OK;
}

static int do_write(struct xs_client *c, int argc, char **argv)
{
	if (argc % 2) {
		fprintf(stderr, "pvkvm store write: PATH VALUE pairs expected\n");
		return PV_EXIT_USER;
	}
	for (int i = 0; i < argc; i += 2) {
		int rc = xs_write(c, 0, argv[i], argv[i + 1], strlen(argv[i + 1]));

		if (rc)
			return fail("write", argv[i], rc);
	}
	return PV_EXIT_OK;
}

static int each_path(struct xs_client *c, int argc, char **argv, const char *what,
		     int (*op)(struct xs_client *, uint32_t, const char *))
{
	for (int i = 0; i < argc; i++) {
		int rc = op(c, 0, argv[i]);

		if (rc)
			return fail(what, argv[i], rc);
	}
	return PV_EXIT_OK;
}

static int do_rm(struct xs_client *c, int argc, char **argv)
{
	return each_path(c, argc, argv, "rm", xs_rm);
}

static int do_mkdir(struct xs_client *c, int argc, char **argv)
{
	return each_path(c, argc, argv, "mkdir", xs_mkdir);
}

static int do_exists(struct xs_client *c, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		char *v;
		int rc = xs_read(c, 0, argv[i], &v, NULL);

		if (rc == -ENOENT)
			return PV_EXIT_USER;
		if (rc)
			return fail("exists", argv[i], rc);
		free(v);
	}
	return PV_EXIT_OK;
}

static int do_chmod(struct xs_client *c, int argc, char **argv)
{
	int rc = xs_set_perms(c, 0, argv[0], (const char *const *)argv + 1, (unsigned)argc - 1);

	return rc ? fail("chmod", argv[0], rc) : PV_EXIT_OK;
}

static void print_value(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch == '\\' || ch == '"')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
}

static void print_perms(const char *p, size_t len)
{
	printf("  (");
	for (size_t off = 0; off < len; off += strlen(p + off) + 1)
		printf("%s%s", off ? "," : "", p + off);
	printf(")");
}

/* Recursive listing: one node per line, indented one space per level. */
static int ls_tree(struct xs_client *c, char *path, size_t len, int depth, bool perms)
{
	char **names;
	unsigned n;
	int rc = xs_directory(c, 0, len ? path : "/", &names, &n);

	if (rc)
		return rc;
	for (unsigned i = 0; i < n && !rc; i++) {
		size_t nl = strlen(names[i]);
		char *v, *p;
		size_t vlen, plen;

		if (len + nl + 2 > XENSTORE_ABS_PATH_MAX)
			continue;
		path[len] = '/';
		memcpy(path + len + 1, names[i], nl + 1);
		if (xs_read(c, 0, path, &v, &vlen)) {
			v = NULL;
			vlen = 0;
		}
		printf("%*s%s = \"", depth, "", names[i]);
		print_value(v ? v : "", vlen);
		putchar('"');
		if (perms && !xs_get_perms(c, 0, path, &p, &plen)) {
			print_perms(p, plen);
			free(p);
		}
		putchar('\n');
		free(v);
		rc = ls_tree(c, path, len + 1 + nl, depth + 1, perms);
		path[len] = '\0';
	}
	free(names);
	return rc;
}

static int do_ls(struct xs_client *c, int argc, char **argv)
{
	bool recursive = false, perms = false;
	const char *root = "/";
	char path[XENSTORE_ABS_PATH_MAX + 2];
	int rc;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-r"))
			recursive = true;
		else if (!strcmp(argv[i], "-p"))
			perms = recursive = true;
		else
			root = argv[i];
	}
	if (!recursive) {
		char **names;
		unsigned n;

		rc = xs_directory(c, 0, root, &names, &n);
		if (rc)
			return fail("ls", root, rc);
		for (unsigned i = 0; i < n; i++)
			printf("%s\n", names[i]);
		free(names);
		return PV_EXIT_OK;
	}
	snprintf(path, sizeof(path), "%s", strcmp(root, "/") ? root : "");
	rc = ls_tree(c, path, strlen(path), 0, perms);
	return rc ? fail("ls", root, rc) : PV_EXIT_OK;
}

static void print_event(void *opaque, const char *path, const char *token)
{
	int *left = opaque;

	printf("%s\n", path);
	fflush(stdout);
	if (*left > 0)
		(*left)--;
}

static int do_watch(struct xs_client *c, int argc, char **argv)
{
	int left = -1, rc;
	const char *path = NULL;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			left = atoi(argv[++i]);
		else
			path = argv[i];
	}
	if (!path) {
		fprintf(stderr, "pvkvm store watch: PATH expected\n");
		return PV_EXIT_USER;
	}
	rc = xs_watch(c, path, "pvkvm-store", print_event, &left);
	if (rc)
		return fail("watch", path, rc);
	while (left != 0) {
		rc = xs_client_dispatch(c, -1);
		if (rc < 0)
			return fail("watch", path, rc);
	}
	return PV_EXIT_OK;
}

static const struct store_cmd cmds[] = {
	{ "read", "read PATH...", "Print each node's value on its own line.", 1, do_read },
	{ "write", "write PATH VALUE [PATH VALUE]...",
	  "Set values, creating missing parents.", 2, do_write },
	{ "ls", "ls [-r] [-p] [PATH]",
	  "List PATH's children (default /).  -r: the whole subtree as\n"
	  "'name = \"value\"', one space of indent per level; -p: with perms.", 0, do_ls },
	{ "rm", "rm PATH...", "Remove nodes and everything below them.", 1, do_rm },
	{ "mkdir", "mkdir PATH...", "Create empty nodes (and missing parents).", 1, do_mkdir },
	{ "chmod", "chmod PATH PERM...",
	  "Set PATH's permissions.  PERM is a letter n (none), r (read), w (write)\n"
	  "or b (both) followed by a domain id; the first names the owner and the\n"
	  "access of domains not listed, e.g. 'chmod /a n1 r2'.", 2, do_chmod },
	{ "watch", "watch [-n COUNT] PATH",
	  "Print the path of every change at or below PATH (the first line is\n"
	  "the registration itself); stop after COUNT events.", 1, do_watch },
	{ "exists", "exists PATH...",
	  "Exit 0 if every PATH exists, 1 if one does not.", 1, do_exists },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pvkvm store [--socket PATH] ACTION ARGS...\n"
		"\n"
		"Read and change the configuration store (pvkvm-stored, or any xenstored\n"
		"socket).  --socket defaults to $PVKVM_RUN_DIR/store.sock.  Paths not\n"
		"starting with / are relative to /local/domain/0.\n"
		"\n"
		"Actions:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "  %s\n", cmds[i].usage);
	fprintf(out,
		"\n'pvkvm store ACTION --help' describes an action.\n"
		"Exit status: 0 ok, 1 store error (e.g. ENOENT, EACCES) or bad usage,\n"
		"2 cannot reach the store.\n");
}

static int cmd_store(int argc, char **argv)
{
	const char *sock = NULL;
	const struct store_cmd *sc = NULL;
	struct xs_client *c;
	int i = 1, rc;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			sock = argv[++i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return PV_EXIT_OK;
		} else {
			fprintf(stderr, "pvkvm store: unknown option %s (try --help)\n", argv[i]);
			return PV_EXIT_USER;
		}
	}
	for (size_t k = 0; i < argc && k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(argv[i], cmds[k].name))
			sc = &cmds[k];
	if (!sc) {
		if (i < argc)
			fprintf(stderr, "pvkvm store: unknown action '%s'\n", argv[i]);
		usage(i < argc ? stderr : stdout);
		return PV_EXIT_USER;
	}
	if (pv_command_wants_help(argc - i, argv + i)) {
		printf("usage: pvkvm store [--socket PATH] %s\n\n%s\n", sc->usage, sc->help);
		return PV_EXIT_OK;
	}
	i++;
	if (argc - i < sc->min_args) {
		fprintf(stderr, "usage: pvkvm store %s\n", sc->usage);
		return PV_EXIT_USER;
	}
	rc = xs_client_open(sock, &c);
	if (rc) {
		fprintf(stderr, "pvkvm store: cannot connect to %s: %s\n",
			sock ? sock : "the store", strerror(-rc));
		return PV_EXIT_HOST;
	}
	xs_client_set_reconnect_ms(c, 0);
	rc = sc->fn(c, argc - i, argv + i);
	xs_client_close(c);
	return rc;
}
PV_COMMAND(store, "store", "read and change the configuration store", cmd_store);
