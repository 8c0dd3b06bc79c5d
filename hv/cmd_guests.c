/* SPDX-License-Identifier: MIT */
/* `pvkvm list`, `pvkvm console NAME`, `pvkvm destroy NAME`: guests found
 * through their run-directory entries (rundir.h). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "pv_command.h"
#include "rundir.h"

/* Value of key in a NAME.info file, or "-". */
static void info_get(const char *name, const char *key, char *out, size_t len)
{
	char path[512], line[512];
	size_t kl = strlen(key);
	FILE *f;

	snprintf(out, len, "-");
	if (hv_rundir_file(path, sizeof(path), name, ".info") < 0 || !(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, kl) && line[kl] == '=') {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, len, "%s", line + kl + 1);
			break;
		}
	}
	fclose(f);
}

static void list_one(const char *name, bool json, bool *first)
{
	char mem[32], vcpus[16], con[256], domid[16];
	pid_t pid = 0;
	bool live = hv_rundir_live_pid(name, &pid) == 0;

	info_get(name, "domid", domid, sizeof(domid));
	info_get(name, "mem_mib", mem, sizeof(mem));
	info_get(name, "vcpus", vcpus, sizeof(vcpus));
	info_get(name, "console", con, sizeof(con));
	if (json) {
		printf("%s\n  {\"name\": \"%s\", \"domid\": %s, \"pid\": %d, \"state\": \"%s\", "
		       "\"mem_mib\": %s, \"vcpus\": %s, \"console\": \"%s\"}", *first ? "" : ",", name,
		       strcmp(domid, "-") ? domid : "null", live ? (int)pid : 0,
		       live ? "running" : "stale", strcmp(mem, "-") ? mem : "null",
		       strcmp(vcpus, "-") ? vcpus : "null", con);
		*first = false;
	} else {
		printf("%-24s %5s %8d %-8s %8s %5s  %s\n", name, domid, live ? (int)pid : 0,
		       live ? "running" : "stale", mem, vcpus, con);
	}
}

static int cmd_list(int argc, char **argv)
{
	bool json = argc > 1 && !strcmp(argv[1], "--json");
	char dir[256];
	bool first = true;
	DIR *d;

	if (pv_command_wants_help(argc, argv)) {
		printf("usage: pvkvm list [--json]\n\nList the guests of the run directory "
		       "($PVKVM_RUN_DIR): name, domain id, pid, state (running, or stale for an entry\n"
		       "left by a guest that was killed), memory in MiB, vCPUs and console.\n");
		return PV_EXIT_OK;
	}
	if (argc > 2 || (argc == 2 && !json)) {
		fprintf(stderr, "pvkvm list: unknown argument '%s'\n", argv[1]);
		return PV_EXIT_USER;
	}
	if (!json)
		printf("%-24s %5s %8s %-8s %8s %5s  %s\n", "NAME", "DOMID", "PID", "STATE", "MEM_MIB", "VCPUS",
		       "CONSOLE");
	else
		printf("[");
	if (hv_rundir_path(dir, sizeof(dir), false) == 0 && (d = opendir(dir))) {
		struct dirent *e;

		while ((e = readdir(d))) {
			size_t n = strlen(e->d_name);

			if (n > 4 && !strcmp(e->d_name + n - 4, ".pid")) {
				e->d_name[n - 4] = 0;
				list_one(e->d_name, json, &first);
			}
		}
		closedir(d);
	}
	if (json)
		printf("%s]\n", first ? "" : "\n");
	return PV_EXIT_OK;
}
PV_COMMAND(list, "list", "list running guests", cmd_list);

static int guest_arg(int argc, char **argv, const char *usage, pid_t *pid)
{
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: %s\n", usage);
		return PV_EXIT_USER;
	}
	if (!hv_guest_name_valid(argv[1]) || hv_rundir_live_pid(argv[1], pid) < 0) {
		fprintf(stderr, "pvkvm %s: no running guest named '%s'\n", argv[0], argv[1]);
		return PV_EXIT_USER;
	}
	return PV_EXIT_OK;
}

static int cmd_console(int argc, char **argv)
{
	char con[256];
	pid_t pid;
	int r;

	if (pv_command_wants_help(argc, argv)) {
		printf("usage: pvkvm console NAME\n\nAttach the terminal to the console pty of "
		       "a running guest (started with\n--daemonize or --console pty).  Ctrl-] x "
		       "detaches; the guest keeps running.\n");
		return PV_EXIT_OK;
	}
	if ((r = guest_arg(argc, argv, "pvkvm console NAME", &pid)) != PV_EXIT_OK)
		return r;
	info_get(argv[1], "console", con, sizeof(con));
	if (strncmp(con, "/dev/pts/", 9)) {
		fprintf(stderr, "pvkvm console: guest '%s' has no console pty (console %s)\n", argv[1], con);
		return PV_EXIT_USER;
	}
	r = hv_console_relay(con);
	if (r < 0) {
		fprintf(stderr, "pvkvm console: %s: %s\n", con, strerror(-r));
		return PV_EXIT_HOST;
	}
	return PV_EXIT_OK;
}
PV_COMMAND(console, "console", "attach to a running guest's console", cmd_console);

/* The process is gone or a zombie waiting for its parent to reap it. */
static bool process_exited(pid_t pid)
{
	char path[64], buf[256];
	FILE *f;
	bool gone = true;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re"))) {
		if (fgets(buf, sizeof(buf), f)) {
			char *p = strrchr(buf, ')');

			gone = p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
		}
		fclose(f);
	}
	return gone;
}

static bool wait_gone(const char *name, pid_t pid, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 20) {
		pid_t now;

		if ((hv_rundir_live_pid(name, &now) < 0 || now != pid) && process_exited(pid))
			return true;
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000000 }, NULL);
	}
	return false;
}

static int cmd_destroy(int argc, char **argv)
{
	int timeout_s = 10, r;
	pid_t pid;

	if (pv_command_wants_help(argc, argv)) {
		printf("usage: pvkvm destroy [--timeout SECONDS] NAME\n\nStop a running guest: "
		       "SIGTERM (a clean stop), then SIGKILL if it is still\nthere after "
		       "SECONDS (default 10).\n");
		return PV_EXIT_OK;
	}
	if (argc == 4 && !strcmp(argv[1], "--timeout")) {
		timeout_s = atoi(argv[2]);
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	}
	if ((r = guest_arg(argc, argv, "pvkvm destroy [--timeout SECONDS] NAME", &pid)) != PV_EXIT_OK)
		return r;
	if (kill(pid, SIGTERM) < 0 && errno != ESRCH) {
		fprintf(stderr, "pvkvm destroy: %s (pid %d): %s\n", argv[1], (int)pid, strerror(errno));
		return PV_EXIT_HOST;
	}
	if (wait_gone(argv[1], pid, timeout_s * 1000))
		return PV_EXIT_OK;
	fprintf(stderr, "pvkvm destroy: %s did not stop in %d s, killing it\n", argv[1], timeout_s);
	kill(pid, SIGKILL);
	return wait_gone(argv[1], pid, 5000) ? PV_EXIT_OK : PV_EXIT_HOST;
}
PV_COMMAND(destroy, "destroy", "stop a running guest (SIGTERM, then SIGKILL)", cmd_destroy);
