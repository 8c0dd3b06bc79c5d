/* SPDX-License-Identifier: MIT */
/* `pvkvm attach-disk` / `detach-disk`: hot-plug a pvblk disk into a running
 * guest, as attach-interface does for pvnet.  The backend runs in a process
 * of its own (blkback_serve(), the code of pvkvm-blkback and `pvkvm run
 * --disk`), recorded in the run directory as <name>.vbd<ID>.pid; it creates
 * device/vbd/<ID> in the store and the guest's frontend finds it there.
 * Detaching stops that process: the backend goes Closing, waits for the
 * frontend's Closed, disconnects, and the device leaves the store. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "blkback.h"
#include "pv_command.h"
#include "pv_log.h"
#include "pvback.h"
#include "pvback_bus.h"
#include "rundir.h"
#include "xs_client.h"

#define DISK_FIRST_DEV 51712u /* xvda; xvdb = +16, ... as Xen numbers them */
#define DISK_MAX_DEVS 16u

static void attach_usage(FILE *f)
{
	fprintf(f,
		"usage: pvkvm attach-disk NAME SPEC [--dev ID]\n"
		"\n"
		"Hot-plugs a pvblk disk into the running guest NAME.  SPEC is the --disk syntax:\n"
		"  PATH[,format=raw|qcow2][,io=io_uring|native|threads][,cache=none|writeback]\n"
		"  [,readonly][,discard=unmap|ignore][,sector-size=512|4096][,queues=N][,poll-us=N]\n"
		"The disk becomes device/vbd/ID in the store (ID: the first free of 51712,\n"
		"51728, ... unless --dev) and its backend runs in the background (pid in\n"
		"<run dir>/NAME.vbdID.pid, log next to it).  The guest's frontend sees the\n"
		"device appear under device/vbd/.  Needs the store (pvkvm-stored or the\n"
		"guest's embedded one).  Prints \"NAME: vbd/ID\".\n"
		"\n"
		"Exit status: 0 attached, 1 usage, bad SPEC or no such guest, 2 host problem.\n");
}

static void detach_usage(FILE *f)
{
	fprintf(f,
		"usage: pvkvm detach-disk NAME ID\n"
		"\n"
		"Hot-unplugs vbd/ID (attached by attach-disk) from the running guest NAME: its\n"
		"backend goes Closing, waits up to 2 s for the frontend to finish its requests\n"
		"and answer Closed, disconnects and stops; the device leaves the store.\n"
		"\n"
		"Exit status: 0 detached, 1 usage or no such disk, 2 host problem.\n");
}

struct disk_paths {
	char ctl[320], store[320], pidf[340];
};

static int disk_paths(struct disk_paths *p, const char *name, unsigned dev)
{
	char dir[256];
	int r = hv_rundir_path(dir, sizeof(dir), false);

	if (r < 0)
		return r;
	snprintf(p->ctl, sizeof(p->ctl), "%s/%s.ctl", dir, name);
	snprintf(p->store, sizeof(p->store), "%s/store.sock", dir);
	snprintf(p->pidf, sizeof(p->pidf), "%s/%s.vbd%u.pid", dir, name, dev);
	return 0;
}

static int parse_dev(const char *s, unsigned *dev)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v == 0 || v > 0xfffffff)
		return -EINVAL;
	*dev = (unsigned)v;
	return 0;
}

/* The backend process: serves until SIGTERM or the guest goes away. */
static int disk_serve(struct blkback_serve_opts *o, const char *pidf)
{
	sigset_t set;
	char buf[32];
	int sfd, fd, n, err;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		return 2;
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	fd = open(pidf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, buf, (size_t)n) != n)
			pv_log_warn("blkback", "%s: short write", pidf);
		close(fd);
	}
	err = blkback_serve(o, sfd);
	unlink(pidf);
	return err ? 2 : 0;
}

/* Forks the backend process; returns once it set up (0) or failed (-errno). */
static int disk_spawn(struct blkback_serve_opts *o, const char *pidf)
{
	int p[2], err = -EIO;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char log[340];

		close(p[0]);
		setsid();
		/* Free the caller's pipes (a shell waiting for our output). */
		snprintf(log, sizeof(log), "%.*s.log", (int)(strlen(pidf) - 4), pidf);
		if (!freopen("/dev/null", "r", stdin) || !freopen(log, "a", stdout) ||
		    !freopen(log, "a", stderr))
			_exit(2);
		o->ready_fd = p[1];
		_exit(disk_serve(o, pidf));
	}
	close(p[1]);
	if (read(p[0], &err, sizeof(err)) != sizeof(err))
		err = -EIO;
	close(p[0]);
	return err;
}

/* Picks the device id (want, or the first free) and checks it is free. */
static int disk_pick_dev(const char *store, uint16_t domid, unsigned want, unsigned *dev)
{
	struct xs_client *c;
	int err = xs_client_open(store, &c);

	if (err)
		return err;
	err = -EEXIST;
	if (want) {
		if (!pvback_store_dev_exists(c, "vbd", domid, want)) {
			*dev = want;
			err = 0;
		}
	} else {
		for (unsigned i = 0; i < DISK_MAX_DEVS && err; i++)
			if (!pvback_store_dev_exists(c, "vbd", domid, DISK_FIRST_DEV + 16 * i)) {
				*dev = DISK_FIRST_DEV + 16 * i;
				err = 0;
			}
	}
	xs_client_close(c);
	return err;
}

static int cmd_attach_disk(int argc, char **argv)
{
	struct blkback_serve_opts o = { .create = true };
	struct disk_paths p;
	char spec[4096], err[256];
	unsigned want = 0, dev = 0;
	uint16_t domid = 0;
	pid_t vmm;
	int r;

	if (pv_command_wants_help(argc, argv)) {
		attach_usage(stdout);
		return 0;
	}
	if ((argc != 3 && argc != 5) ||
	    (argc == 5 && (strcmp(argv[3], "--dev") || parse_dev(argv[4], &want)))) {
		attach_usage(stderr);
		return 1;
	}
	snprintf(spec, sizeof(spec), "%s", argv[2]);
	if (blkback_disk_opts_parse(&o.disk, spec, err, sizeof(err))) {
		fprintf(stderr, "pvkvm attach-disk: %s\n", err);
		return 1;
	}
	if (access(o.disk.path, o.disk.readonly ? R_OK : R_OK | W_OK)) {
		fprintf(stderr, "pvkvm attach-disk: %s: %s\n", o.disk.path, strerror(errno));
		return 1;
	}
	if (!hv_guest_name_valid(argv[1]) || hv_rundir_live_pid(argv[1], &vmm) < 0) {
		fprintf(stderr, "pvkvm attach-disk: no running guest '%s'\n", argv[1]);
		return 1;
	}
	if ((r = disk_paths(&p, argv[1], 0)) < 0 || (r = pvback_guest_domid(p.ctl, &domid)) < 0) {
		fprintf(stderr, "pvkvm attach-disk: %s: %s\n", p.ctl, strerror(-r));
		return 2;
	}
	if ((r = disk_pick_dev(p.store, domid, want, &dev))) {
		fprintf(stderr, "pvkvm attach-disk: %s: %s\n", argv[1],
			r == -EEXIST ? "that vbd already exists (or no free id)" : strerror(-r));
		return r == -EEXIST ? 1 : 2;
	}
	disk_paths(&p, argv[1], dev);
	o.ctl_path = p.ctl;
	o.store_sock = p.store;
	o.domid = domid;
	o.devid = dev;
	if ((r = disk_spawn(&o, p.pidf))) {
		fprintf(stderr, "pvkvm attach-disk: %s vbd/%u: %s\n", argv[1], dev, strerror(-r));
		pvback_store_rm_device(p.store, "vbd", domid, dev);
		return r == -ENOENT || r == -EACCES || r == -EINVAL ? 1 : 2;
	}
	printf("%s: vbd/%u\n", argv[1], dev);
	return 0;
}

static int read_pid(const char *pidf, long *pid)
{
	char buf[32] = "";
	FILE *f = fopen(pidf, "r");

	if (!f)
		return -ENOENT;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	*pid = strtol(buf, NULL, 10);
	return *pid > 1 ? 0 : -EINVAL;
}

static int cmd_detach_disk(int argc, char **argv)
{
	struct disk_paths p;
	unsigned dev;
	uint16_t domid = 0;
	long pid;

	if (pv_command_wants_help(argc, argv)) {
		detach_usage(stdout);
		return 0;
	}
	if (argc != 3 || parse_dev(argv[2], &dev) || !hv_guest_name_valid(argv[1])) {
		detach_usage(stderr);
		return 1;
	}
	if (disk_paths(&p, argv[1], dev) < 0 || access(p.pidf, F_OK)) {
		fprintf(stderr, "pvkvm detach-disk: %s has no hot-plugged vbd/%u\n", argv[1], dev);
		return 1;
	}
	if (pvback_guest_domid(p.ctl, &domid))
		domid = 0;
	if (read_pid(p.pidf, &pid) || kill((pid_t)pid, SIGTERM)) {
		fprintf(stderr, "pvkvm detach-disk: the backend of vbd/%u is gone\n", dev);
		unlink(p.pidf);
		if (domid)
			pvback_store_rm_device(p.store, "vbd", domid, dev);
		return 2;
	}
	/* The backend waits up to 2 s for the frontend's Closed. */
	for (int i = 0; i < 100 && kill((pid_t)pid, 0) == 0; i++)
		usleep(50000);
	if (domid)
		pvback_store_rm_device(p.store, "vbd", domid, dev);
	printf("%s: vbd/%u detached\n", argv[1], dev);
	return 0;
}

PV_COMMAND(attach_disk, "attach-disk", "hot-plug a pvblk disk into a running guest", cmd_attach_disk);
PV_COMMAND(detach_disk, "detach-disk", "hot-unplug a pvblk disk from a running guest", cmd_detach_disk);
