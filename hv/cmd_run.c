/* SPDX-License-Identifier: MIT */
/* `pvkvm run`: one guest in this process.
 *
 * Threads: this thread parses options, (optionally) daemonizes, then runs
 * the VM main loop (hv_vm_run: signals, console input, stop requests); one
 * thread per vCPU.  A reboot with on_reboot=restart rebuilds the VM from
 * scratch (fresh memory, devices, kernel load) in the same process. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "console.h"
#include "device.h"
#include "loader.h"
#include "blkback_run.h"
#include "net_run.h"
#include "pv_command.h"
#include "pv/store_dom.h"
#include "pv_log.h"
#include "run.h"
#include "rundir.h"
#include "vm.h"

#define TAG "run"

static void run_usage(FILE *out)
{
	fprintf(out,
"usage: pvkvm run --kernel IMAGE [options]\n"
"       pvkvm run DOMAIN.xml\n"
"\n"
"Run a guest in this process until it ends.  IMAGE is a PVH ELF (the\n"
"mini-guest, a Linux vmlinux) or a Linux bzImage.\n"
"\n"
"Options:\n"
"  --kernel IMAGE      kernel to boot\n"
"  --initrd FILE       initial ramdisk (PVH module 0 / Linux initrd)\n"
"  --append CMDLINE    kernel command line\n"
"  --mem SIZE          guest memory, e.g. 256M, 2G (default 256M); RAM above\n"
"                      3 GiB is placed above 4 GiB\n"
"  --smp N             number of vCPUs (default 1)\n"
"  --name NAME         guest name (ps shows pvkvm:NAME; default from the image)\n"
"  --console KIND      stdio (default; raw terminal, Ctrl-] x quits), pty,\n"
"                      file:PATH, or none\n"
"  --daemonize         run in the background, console on a pty\n"
"  --hugepages         back memory with 2 MiB hugepages (reserve them first)\n"
"  --on-reboot WHAT    restart (default) or destroy\n"
"  --store MODE        the store the guest is introduced to: auto (default:\n"
"                      pvkvm-stored if it answers on RUNDIR/store.sock, else\n"
"                      a store embedded in this process, listening there\n"
"                      until this guest ends), embedded (exit 1 if a store\n"
"                      already answers), or daemon (exit 2 if none does)\n"
"  --nic tap=NAME[,mac=MAC][,mtu=N][,rate=N][,queues=N]\n"
"                      a pvnet interface on host TAP NAME (created if missing),\n"
"                      served by an embedded backend thread; rate limits\n"
"                      guest->host bytes/s (k, m, g: x1000); repeatable (vif/0, 1, ...).\n"
"                      devices appear in the guest's store (see --store)\n"
"  --disk SPEC         a pvblk disk served by an embedded backend thread\n"
"                      (repeatable, up to 8; vbd 51712, 51728, ...), SPEC =\n"
"                      PATH[,format=raw|qcow2][,io=io_uring|native|threads]\n"
"                      [,cache=none|writeback][,readonly][,discard=unmap]\n"
"                      [,sector-size=512|4096][,queues=N][,poll-us=N]\n"
"\n"
"Run directory ($PVKVM_RUN_DIR, default /run/pvkvm as root): NAME.pid,\n"
"NAME.info, NAME.console, store.sock, domid/N.lock (each running guest holds\n"
"the lowest free domain id from 1); see 'pvkvm list', 'pvkvm console',\n"
"'pvkvm destroy', 'pvkvm store'.\n"
"\n"
"Exit status: the guest's status S written to the debug-exit port 0xf4\n"
"(S & 0xff); 0 when the guest powers off or halts; 1 bad option or image;\n"
"2 host or KVM failure; 3 guest crash; 4 triple fault (registers are\n"
"printed); 128+N when stopped by signal N (SIGTERM: 143).\n");
}

enum { OPT_KERNEL = 256, OPT_INITRD, OPT_APPEND, OPT_MEM, OPT_SMP, OPT_NAME, OPT_CONSOLE,
       OPT_DAEMONIZE, OPT_HUGEPAGES, OPT_ON_REBOOT, OPT_STORE,
       OPT_NIC, OPT_DISK };

static const struct option run_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "append", required_argument, NULL, OPT_APPEND },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "smp", required_argument, NULL, OPT_SMP },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "daemonize", no_argument, NULL, OPT_DAEMONIZE },
	{ "hugepages", no_argument, NULL, OPT_HUGEPAGES },
	{ "on-reboot", required_argument, NULL, OPT_ON_REBOOT },
	{ "store", required_argument, NULL, OPT_STORE },
	{ "nic", required_argument, NULL, OPT_NIC },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ NULL, 0, NULL, 0 },
};

static int run_opt(struct hv_run_opts *o, int c, const char *arg)
{
	char *end;

	switch (c) {
	/* Copies: the process title later overwrites the argument strings. */
	case OPT_KERNEL: return hv_run_opts_set(&o->kernel, arg);
	case OPT_INITRD: return hv_run_opts_set(&o->initrd, arg);
	case OPT_APPEND: return hv_run_opts_set(&o->cmdline, arg);
	case OPT_CONSOLE: return hv_run_opts_set(&o->console, arg);
	case OPT_DAEMONIZE: o->daemonize = true; return 0;
	case OPT_HUGEPAGES: o->hugepages = true; return 0;
	case OPT_DISK: {
		char why[256];

		if (o->nr_disks == BLKBACK_RUN_MAX_DISKS || blkback_run_disk_check(arg, why, sizeof(why))) {
			fprintf(stderr, "pvkvm run: --disk: %s\n",
				o->nr_disks == BLKBACK_RUN_MAX_DISKS ? "at most 8 disks" : why);
			return -1;
		}
		return hv_run_opts_set(&o->disks[o->nr_disks++], arg);
	}
	case OPT_NIC:
		if (o->nr_nics == HV_MAX_NICS) {
			fprintf(stderr, "pvkvm run: at most %d --nic\n", HV_MAX_NICS);
			return -1;
		}
		return hv_run_opts_set(&o->nics[o->nr_nics++], arg);
	case OPT_MEM:
		if (hv_parse_size(arg, &o->mem_bytes) < 0 || o->mem_bytes < (2u << 20)) {
			fprintf(stderr, "pvkvm run: --mem '%s': not a size of at least 2M (e.g. 256M)\n", arg);
			return -1;
		}
		return 0;
	case OPT_SMP:
		o->nr_vcpus = (unsigned)strtoul(arg, &end, 10);
		if (*end || !*arg || o->nr_vcpus < 1 || o->nr_vcpus > HV_MAX_VCPUS) {
			fprintf(stderr, "pvkvm run: --smp '%s': not a vCPU count (1..%d)\n", arg, HV_MAX_VCPUS);
			return -1;
		}
		return 0;
	case OPT_NAME:
		if (!hv_guest_name_valid(arg)) {
			fprintf(stderr, "pvkvm run: --name '%s': use 1-47 of [A-Za-z0-9_.-]\n", arg);
			return -1;
		}
		snprintf(o->name, sizeof(o->name), "%s", arg);
		return 0;
	case OPT_STORE:
		if (hv_store_mode_parse(arg, &o->store_mode) < 0) {
			fprintf(stderr, "pvkvm run: --store '%s': auto, embedded or daemon\n", arg);
			return -1;
		}
		return 0;
	case OPT_ON_REBOOT:
		if (!strcmp(arg, "restart"))
			o->on_reboot = HV_ON_REBOOT_RESTART;
		else if (!strcmp(arg, "destroy"))
			o->on_reboot = HV_ON_REBOOT_DESTROY;
		else {
			fprintf(stderr, "pvkvm run: --on-reboot '%s': restart or destroy\n", arg);
			return -1;
		}
		return 0;
	default:
		fprintf(stderr, "pvkvm run: unknown option (try 'pvkvm run --help')\n");
		return -1;
	}
}

/* Default name: the image's file name up to the first '.', plus our pid. */
static void run_default_name(struct hv_run_opts *o)
{
	const char *base = strrchr(o->kernel, '/');
	char stem[32];
	size_t n = 0;

	for (base = base ? base + 1 : o->kernel; base[n] && base[n] != '.' && n < 20; n++)
		stem[n] = hv_guest_name_valid((char[]){ base[n], 0 }) ? base[n] : '_';
	stem[n] = 0;
	snprintf(o->name, sizeof(o->name), "%s-%d", n ? stem : "guest", (int)getpid());
}

static int run_parse(struct hv_run_opts *o, int argc, char **argv)
{
	int c;

	*o = (struct hv_run_opts){ .mem_bytes = 256u << 20, .nr_vcpus = 1 };
	if (hv_run_opts_set(&o->console, "stdio") < 0)
		return -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", run_options, NULL)) != -1) {
		if (c == '?') {
			fprintf(stderr, "pvkvm run: unknown option '%s' (try 'pvkvm run --help')\n", argv[optind - 1]);
			return -1;
		}
		if (c == ':' || run_opt(o, c, optarg) < 0)
			return -1;
	}
	if (optind < argc) {
		char err[512];

		if (optind + 1 < argc || o->kernel) {
			fprintf(stderr, "pvkvm run: give either --kernel or one domain XML file\n");
			return -1;
		}
		/* The XML gives the guest; --daemonize/--hugepages/--store still apply. */
		bool daemonize = o->daemonize, huge = o->hugepages;
		enum hv_store_mode store = o->store_mode;

		if (hv_run_opts_from_xml(o, argv[optind], err, sizeof(err)) < 0) {
			fprintf(stderr, "pvkvm run: %s\n", err);
			return -1;
		}
		o->daemonize = daemonize;
		o->hugepages = huge;
		o->store_mode = store;
	}
	if (!o->kernel) {
		fprintf(stderr, "pvkvm run: no kernel (--kernel IMAGE; try 'pvkvm run --help')\n");
		return -1;
	}
	if (o->daemonize && !strcmp(o->console, "stdio") && hv_run_opts_set(&o->console, "pty") < 0)
		return -1;
	if (!o->name[0])
		run_default_name(o);
	return 0;
}

struct run_state {
	struct hv_run_opts *opts;
	struct hv_console *con;
	struct hv_rundir_entry rd;
	struct hv_store *store; /* NULL: no run directory, no store */
	int sig_fd;
	int ready_fd;  /* --daemonize: pipe to the waiting parent, -1 after ready */
};

static void run_signal(struct hv_vm *vm, int fd, void *opaque)
{
	struct signalfd_siginfo si;

	(void)opaque;
	if (read(fd, &si, sizeof(si)) == sizeof(si)) {
		pv_log_info(TAG, "%s: signal %u, stopping", vm->name, si.ssi_signo);
		hv_vm_request_stop(vm, HV_EXIT_SIGNAL_BASE + (int)si.ssi_signo);
	}
}

static void run_write_rundir(struct run_state *s, struct hv_vm *vm)
{
	const char *pty = hv_console_pty_path(s->con);
	char info[1024];

	if (s->rd.pid_fd < 0)
		return;
	snprintf(info, sizeof(info), "pid=%d\ndomid=%u\nmem_mib=%llu\nvcpus=%u\nconsole=%s\nkernel=%s\n"
		 "store=%s\n", (int)getpid(), vm->domid, (unsigned long long)(vm->ram_bytes >> 20),
		 vm->nr_vcpus, pty ? pty : s->opts->console, s->opts->kernel,
		 !s->store ? "none" : hv_store_embedded(s->store) ? "embedded" : "daemon");
	hv_rundir_write(&s->rd, ".info", info);
	if (pty) {
		snprintf(info, sizeof(info), "%s\n", pty);
		hv_rundir_write(&s->rd, ".console", info);
	}
}

/* --daemonize: tell the parent we are running, then leave the terminal. */
static void run_ready(struct run_state *s)
{
	char path[512];
	int fd;

	if (s->ready_fd < 0)
		return;
	if (write(s->ready_fd, "", 1) < 0)
		pv_log_debug(TAG, "ready pipe: %s", strerror(errno));
	close(s->ready_fd);
	s->ready_fd = -1;
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/%s.log", s->rd.dir, s->rd.name);
	fd = open(s->rd.pid_fd >= 0 ? path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

/* The --nic interfaces: embedded net backends on the guest's control socket. */
static int run_nics_start(struct run_state *s, struct hv_vm *vm, struct net_run **net)
{
	char dir[256], ctl[320], err[256];
	int r;

	if (!s->opts->nr_nics)
		return 0;
	if (!s->store) {
		fprintf(stderr, "pvkvm run: --nic needs a run directory and a store\n");
		return -ENOTCONN;
	}
	if ((r = hv_rundir_path(dir, sizeof(dir), true)) < 0)
		return r;
	snprintf(ctl, sizeof(ctl), "%s/%s.ctl", dir, vm->name);
	/* The store this guest was introduced to (embedded or daemon) and its domid. */
	r = net_run_start(net, ctl, hv_store_socket(s->store), vm->domid,
			  (const char *const *)s->opts->nics, s->opts->nr_nics, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "pvkvm run: %s\n", err);
	return r;
}

/* The --disk disks: embedded blkback threads on the guest's control socket;
 * each creates its vbd once the guest is introduced to the store. */
static int run_disks_start(struct run_state *s, struct hv_vm *vm, struct blkback_run_disks **disks)
{
	char dir[256], ctl[320];
	int r;

	if (!s->opts->nr_disks)
		return 0;
	if (!s->store) {
		fprintf(stderr, "pvkvm run: --disk needs a run directory and a store\n");
		return -ENOTCONN;
	}
	if ((r = hv_rundir_path(dir, sizeof(dir), true)) < 0)
		return r;
	snprintf(ctl, sizeof(ctl), "%s/%s.ctl", dir, vm->name);
	r = blkback_run_disks_start(disks, s->opts->disks, s->opts->nr_disks, ctl,
				    hv_store_socket(s->store), vm->domid);
	if (r < 0)
		fprintf(stderr, "pvkvm run: disks: %s\n", strerror(-r));
	return r;
}

/* Builds, loads and runs the VM once.  Returns the exit status, or -1 to
 * reboot.  After the final run the VM (devices gone, vCPUs stopped) is left
 * in *last for run_main() to destroy once the run directory is clean. */
static int run_once(struct run_state *s, struct hv_vm **last)
{
	struct hv_vm_opts vo = {
		.name = s->opts->name, .mem_bytes = s->opts->mem_bytes,
		.nr_vcpus = s->opts->nr_vcpus, .hugepages = s->opts->hugepages,
		.domid = s->rd.domid,
	};
	struct hv_boot boot = { .kernel = s->opts->kernel, .initrd = s->opts->initrd, .cmdline = s->opts->cmdline };
	struct hv_vm *vm;
	struct net_run *net = NULL;
	struct blkback_run_disks *disks = NULL;
	const char *what = NULL;
	char err[512];
	int r, status;

	r = hv_vm_create(&vm, &vo, &what);
	if (r < 0) {
		/* E2BIG/EINVAL: `what` already says what is wrong with the request. */
		if (r == -E2BIG || r == -EINVAL) {
			fprintf(stderr, "pvkvm run: %s\n", what);
			return PV_EXIT_USER;
		}
		fprintf(stderr, "pvkvm run: %s: %s\n", what, strerror(-r));
		return PV_EXIT_HOST;
	}
	vm->console = s->con;
	if ((r = hv_devices_init(vm, &what)) < 0) {
		fprintf(stderr, "pvkvm run: device %s: %s\n", what, strerror(-r));
		hv_vm_destroy(vm);
		return PV_EXIT_HOST;
	}
	if ((r = run_nics_start(s, vm, &net)) < 0 || (r = run_disks_start(s, vm, &disks)) < 0) {
		status = r == -EINVAL ? PV_EXIT_USER : PV_EXIT_HOST;
		goto out;
	}
	r = hv_load_kernel(vm, &boot, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "pvkvm run: %s\n", err);
		status = PV_EXIT_USER;
		goto out;
	}
	hv_vm_poll_add(vm, s->sig_fd, run_signal, s);
	run_write_rundir(s, vm);
	run_ready(s);
	enum hv_stop_reason why = hv_vm_run(vm);

	status = vm->exit_status;
	if (why == HV_STOP_RESET)
		status = s->opts->on_reboot == HV_ON_REBOOT_RESTART ? -1 : HV_EXIT_POWEROFF;
out:
	hv_vm_stop_vcpus(vm);
	net_run_stop(net);
	blkback_run_disks_stop(disks);
	hv_devices_exit(vm);
	if (status >= 0)
		*last = vm;
	else
		hv_vm_destroy(vm);
	return status;
}

/* Forks; the parent waits until the child runs the guest (exit 0) or fails
 * (its exit status).  Returns in the child only. */
static int run_daemonize(struct run_state *s, int *parent_status)
{
	int p[2];
	char c;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		ssize_t n = read(p[0], &c, 1);
		int ws = 0;

		if (n == 1) {
			printf("%s: running as pid %d\n", s->opts->name, (int)pid);
			*parent_status = PV_EXIT_OK;
		} else {
			waitpid(pid, &ws, 0);
			*parent_status = WIFEXITED(ws) ? WEXITSTATUS(ws) : PV_EXIT_HOST;
		}
		return 1;
	}
	close(p[0]);
	s->ready_fd = p[1];
	setsid();
	return 0;
}

/* The domain id and the store: both belong to the run directory. */
static int run_domain(struct run_state *s)
{
	char err[512];
	int r;

	if (s->rd.pid_fd < 0) {
		pv_log_warn(TAG, "%s: no run directory: domain 1, no store", s->opts->name);
		return PV_EXIT_OK;
	}
	if ((r = hv_rundir_claim_domid(&s->rd)) < 0) {
		fprintf(stderr, "pvkvm run: no free domain id in %s/domid: %s\n", s->rd.dir,
			r == -EAGAIN ? "all taken" : strerror(-r));
		return PV_EXIT_HOST;
	}
	if ((r = hv_store_open(s->opts->store_mode, s->rd.dir, &s->store, err, sizeof(err))) < 0) {
		fprintf(stderr, "pvkvm run: %s\n", err);
		return r == -EADDRINUSE ? PV_EXIT_USER : PV_EXIT_HOST;
	}
	/* The id is ours now: whatever the store holds for it is a dead guest's. */
	if ((r = pv_store_forget(hv_store_socket(s->store), s->rd.domid)) < 0)
		pv_log_warn(TAG, "%s: clearing domain %u in the store: %s", s->opts->name, s->rd.domid,
			    strerror(-r));
	pv_log_info(TAG, "%s: domain %u", s->opts->name, s->rd.domid);
	return PV_EXIT_OK;
}

static int run_main(struct run_state *s)
{
	const char *what = NULL;
	struct hv_vm *last = NULL;
	sigset_t sigs;
	int r, status;

	r = hv_rundir_claim(&s->rd, s->opts->name);
	if (r == -EEXIST) {
		fprintf(stderr, "pvkvm run: a guest named '%s' is already running\n", s->opts->name);
		return PV_EXIT_USER;
	}
	if (r < 0)
		pv_log_warn(TAG, "%s: no run-directory entry (%s)", s->opts->name, strerror(-r));
	if ((status = run_domain(s)) != PV_EXIT_OK)
		goto out;
	if ((r = hv_console_open(&s->con, s->opts->console, &what)) < 0) {
		fprintf(stderr, "pvkvm run: console: %s: %s\n", what, strerror(-r));
		status = PV_EXIT_USER;
		goto out;
	}
	if (hv_console_pty_path(s->con))
		printf("%s: console on %s\n", s->opts->name, hv_console_pty_path(s->con));
	fflush(stdout);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	s->sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	hv_set_proctitle(s->opts->name);
	while ((status = run_once(s, &last)) < 0)
		pv_log_info(TAG, "%s: guest rebooted, restarting", s->opts->name);
	hv_console_close(s->con);
	if (s->sig_fd >= 0)
		close(s->sig_fd);
out:
	/* After the VM: its RELEASE went to the store before an embedded one stops. */
	hv_store_close(s->store);
	s->store = NULL;
	hv_rundir_release(&s->rd);
	if (last) {
		/* Our exit status waits for the kernel's VM teardown unless a
		 * reaper takes it over; if that fails, destroy pays it here. */
		hv_vm_reap_after_exit(last);
		hv_vm_destroy(last);
	}
	return status;
}

static int cmd_run(int argc, char **argv)
{
	struct hv_run_opts opts = { 0 };
	struct run_state s = { .opts = &opts, .sig_fd = -1, .ready_fd = -1, .rd = { .pid_fd = -1, .domid_fd = -1 } };
	int status = PV_EXIT_HOST;

	if (pv_command_wants_help(argc, argv)) {
		run_usage(stdout);
		return PV_EXIT_OK;
	}
	if (run_parse(&opts, argc, argv) < 0) {
		status = PV_EXIT_USER;
		goto out;
	}
	if (access(opts.kernel, R_OK) < 0) {
		fprintf(stderr, "pvkvm run: %s: %s\n", opts.kernel, strerror(errno));
		status = PV_EXIT_USER;
		goto out;
	}
	if (opts.daemonize) {
		int r = run_daemonize(&s, &status);

		if (r < 0) {
			fprintf(stderr, "pvkvm run: daemonize: %s\n", strerror(-r));
			status = PV_EXIT_HOST;
			goto out;
		}
		if (r > 0)
			goto out;
	}
	status = run_main(&s);
out:
	hv_run_opts_free(&opts);
	return status;
}
PV_COMMAND(run, "run", "run a guest (PVH ELF or Linux bzImage) in this process", cmd_run);
