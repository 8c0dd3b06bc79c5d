/* SPDX-License-Identifier: MIT */
/* `pvkvm attach-interface` / `detach-interface`: hot-plug a pvnet interface
 * into a running guest.  The backend runs in a process of its own (the same
 * net_back code pvkvm-netback and `pvkvm run --nic` use), recorded in the run
 * directory as <name>.vif<N>.pid; the guest's frontend finds the new device
 * under device/vif/ in the store. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "net_run.h"
#include "netback_bus.h"
#include "pv_command.h"
#include "pv_log.h"
#include "pvback_bus.h"
#include "rundir.h"
#include "store_dom.h"
#include "xs_client.h"


static void attach_usage(FILE *f)
{
	fprintf(f,
		"usage: pvkvm attach-interface NAME tap=TAP[,mac=MAC][,mtu=N][,rate=N][,queues=N] [--dev N]\n"
		"\n"
		"Hot-plugs a pvnet interface into the running guest NAME: creates vif/N in the\n"
		"store (N: the first free id unless --dev), opens host TAP device TAP and starts\n"
		"its backend in the background (pid in <run dir>/NAME.vifN.pid).  The guest's\n"
		"frontend sees the device appear under device/vif/.  rate limits guest->host\n"
		"bytes per second (k, m, g: x1000).  Needs the store (pvkvm-stored).\n"
		"\n"
		"Exit status: 0 attached, 1 usage or no such guest, 2 host problem.\n");
}

static void detach_usage(FILE *f)
{
	fprintf(f,
		"usage: pvkvm detach-interface NAME --dev N\n"
		"\n"
		"Hot-unplugs vif/N of the running guest NAME: its backend tells the frontend it\n"
		"closes (state Closed), stops, and the device leaves the store.\n"
		"\n"
		"Exit status: 0 detached, 1 usage or no such interface, 2 host problem.\n");
}

static int iface_paths(const char *name, unsigned dev, char *ctl, char *store, char *pidf,
		       size_t len)
{
	char dir[256];
	int r = hv_rundir_path(dir, sizeof(dir), false);

	if (r < 0)
		return r;
	snprintf(ctl, len, "%s/%s.ctl", dir, name);
	snprintf(store, len, "%s/store.sock", dir);
	snprintf(pidf, len, "%s/%s.vif%u.pid", dir, name, dev);
	return 0;
}

/* The first device id without a frontend directory. */
static unsigned iface_free_dev(const char *store, uint16_t domid)
{
	struct xs_client *c;
	unsigned dev = 0;

	if (xs_client_open(store, &c))
		return 0;
	while (dev < 64 && pvback_store_dev_exists(c, "vif", domid, dev))
		dev++;
	xs_client_close(c);
	return dev;
}

/* The backend process: runs until SIGTERM or the guest goes away. */
static int iface_serve(struct net_back_opts *o, const char *pidf, int ready_fd)
{
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	struct net_back *nb;
	sigset_t set;
	char buf[32];
	int err, sig = -1, n;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	err = net_back_start(&nb, o);
	if (write(ready_fd, &err, sizeof(err)) != sizeof(err) || err)
		return 2;
	close(ready_fd);
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	int fd = open(pidf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, buf, (size_t)n) != n)
			pv_log_warn("netback", "%s: short write", pidf);
		close(fd);
	}
	while (sig < 0 && !net_back_guest_gone(nb))
		sig = sigtimedwait(&set, NULL, &tick);
	if (net_back_guest_gone(nb))
		net_back_stop(nb);
	else
		net_back_close(nb);
	unlink(pidf);
	return 0;
}

/* Forks the backend process; returns in the parent once it runs (0) or failed. */
static int iface_spawn(struct net_back_opts *o, const char *pidf)
{
	int p[2], err = -EIO;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(p[0]);
		char log[340];

		setsid();
		/* Free the caller's pipes (a shell waiting for our output). */
		snprintf(log, sizeof(log), "%.*s.log", (int)(strlen(pidf) - 4), pidf);
		if (!freopen("/dev/null", "r", stdin) || !freopen(log, "a", stdout) ||
		    !freopen(log, "a", stderr))
			_exit(2);
		_exit(iface_serve(o, pidf, p[1]));
	}
	close(p[1]);
	if (read(p[0], &err, sizeof(err)) != sizeof(err))
		err = -EIO;
	close(p[0]);
	return err;
}

static int parse_dev(const char *s, unsigned *dev)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v > 0xffff)
		return -EINVAL;
	*dev = (unsigned)v;
	return 0;
}

static int cmd_attach_interface(int argc, char **argv)
{
	char ctl[320], store[320], pidf[320], err[256];
	struct net_back_opts o = { 0 };
	pid_t vmm;
	unsigned dev = 0;
	bool have_dev = false;
	int r;

	if (pv_command_wants_help(argc, argv)) {
		attach_usage(stdout);
		return 0;
	}
	if ((argc != 3 && argc != 5) || (argc == 5 && (strcmp(argv[3], "--dev") ||
						       parse_dev(argv[4], &dev)))) {
		attach_usage(stderr);
		return 1;
	}
	have_dev = argc == 5;
	if (!hv_guest_name_valid(argv[1]) || hv_rundir_live_pid(argv[1], &vmm) < 0) {
		fprintf(stderr, "pvkvm attach-interface: no running guest '%s'\n", argv[1]);
		return 1;
	}
	if ((r = iface_paths(argv[1], 0, ctl, store, pidf, sizeof(ctl))) < 0) {
		fprintf(stderr, "pvkvm attach-interface: run directory: %s\n", strerror(-r));
		return 2;
	}
	if ((r = pvback_guest_domid(ctl, &o.domid)) < 0) {
		fprintf(stderr, "pvkvm attach-interface: %s: control socket: %s\n", argv[1], strerror(-r));
		return 2;
	}
	if (!have_dev)
		dev = iface_free_dev(store, o.domid);
	iface_paths(argv[1], dev, ctl, store, pidf, sizeof(ctl));
	if (net_nic_parse(argv[2], o.domid, dev, &o.cfg, err, sizeof(err))) {
		fprintf(stderr, "pvkvm attach-interface: %s\n", err);
		return 1;
	}
	o.ctl_path = ctl;
	o.store_sock = store;
	o.devid = dev;
	if ((r = pv_store_add_device(store, o.domid, "vif", dev, NULL, NULL, 0)) ||
	    (r = iface_spawn(&o, pidf))) {
		fprintf(stderr, "pvkvm attach-interface: %s vif/%u on %s: %s\n", argv[1], dev,
			o.cfg.tap, strerror(-r));
		pvback_store_rm_device(store, "vif", o.domid, dev);
		return 2;
	}
	printf("%s: vif/%u on %s\n", argv[1], dev, o.cfg.tap);
	return 0;
}

static int cmd_detach_interface(int argc, char **argv)
{
	char ctl[320], store[320], pidf[320], buf[32] = "";
	uint16_t domid = 0;
	unsigned dev;
	long pid;
	FILE *f;

	if (pv_command_wants_help(argc, argv)) {
		detach_usage(stdout);
		return 0;
	}
	if (argc != 4 || strcmp(argv[2], "--dev") || parse_dev(argv[3], &dev) ||
	    !hv_guest_name_valid(argv[1])) {
		detach_usage(stderr);
		return 1;
	}
	if (iface_paths(argv[1], dev, ctl, store, pidf, sizeof(ctl)) < 0 || !(f = fopen(pidf, "r"))) {
		fprintf(stderr, "pvkvm detach-interface: %s has no hot-plugged vif/%u\n", argv[1], dev);
		return 1;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	pid = strtol(buf, NULL, 10);
	if (pvback_guest_domid(ctl, &domid))
		domid = 0; /* guest gone: nothing of it left to clean in the store */
	if (pid <= 1 || kill((pid_t)pid, SIGTERM)) {
		fprintf(stderr, "pvkvm detach-interface: vif/%u backend (pid '%s') is gone\n", dev, buf);
		unlink(pidf);
		if (domid)
			pvback_store_rm_device(store, "vif", domid, dev);
		return 2;
	}
	/* Its net_back_close() waits up to a second for a frontend step. */
	for (int i = 0; i < 100 && kill((pid_t)pid, 0) == 0; i++)
		usleep(50000);
	if (domid)
		pvback_store_rm_device(store, "vif", domid, dev);
	printf("%s: vif/%u detached\n", argv[1], dev);
	return 0;
}

PV_COMMAND(attach_interface, "attach-interface", "hot-plug a pvnet interface into a running guest",
	   cmd_attach_interface);
PV_COMMAND(detach_interface, "detach-interface", "hot-unplug a pvnet interface from a running guest",
	   cmd_detach_interface);
