/* SPDX-License-Identifier: MIT */
/* `pvkvm check`: can this host run guests, and how well?  Probes the kernel
 * (open /dev/kvm, ioctls, io_uring_queue_init, a timed guest loop) instead of
 * reading /proc/cpuinfo, which hides vmx/svm on nested hosts whose /dev/kvm
 * works.  Every line that fails or limits says what it means and the fix. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <liburing.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pv_command.h"

enum check_status { CHECK_OK, CHECK_LIMITED, CHECK_FAIL };

struct check_line {
	char name[32];
	enum check_status status;
	char detail[200];
	char fix[240];                 /* empty for ok lines */
};

#define CHECK_LINES_MAX 40

enum kvm_kind { KVM_KIND_UNKNOWN, KVM_KIND_INTEL, KVM_KIND_AMD, KVM_KIND_PVM };

struct check_report {
	struct check_line line[CHECK_LINES_MAX];
	int nr;
	int kvm_fd;
	enum kvm_kind kind;
	double cpl0_ns_per_iter;       /* < 0: not measured */
};

__attribute__((format(printf, 5, 6)))
static void report(struct check_report *r, const char *name, enum check_status st,
		   const char *fix, const char *fmt, ...)
{
	struct check_line *l;
	va_list ap;

	if (r->nr >= CHECK_LINES_MAX)
		return;
	l = &r->line[r->nr++];
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->status = st;
	snprintf(l->fix, sizeof(l->fix), "%s", fix ? fix : "");
	va_start(ap, fmt);
	vsnprintf(l->detail, sizeof(l->detail), fmt, ap);
	va_end(ap);
}

static bool path_exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static void check_dev_kvm(struct check_report *r)
{
	r->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (r->kvm_fd >= 0) {
		report(r, "/dev/kvm", CHECK_OK, NULL, "present, opened read-write");
		return;
	}
	if (errno == ENOENT)
		report(r, "/dev/kvm", CHECK_FAIL,
		       "load a KVM module (modprobe kvm_intel, kvm_amd or kvm_pvm); in a cloud VM, "
		       "enable nested virtualization or use a PVM-enabled kernel",
		       "missing: no KVM module is loaded, guests cannot run");
	else if (errno == EACCES || errno == EPERM)
		report(r, "/dev/kvm", CHECK_FAIL,
		       "add your user to the 'kvm' group (usermod -aG kvm $USER, then log in again) or run as root",
		       "present but not openable read-write: %s", strerror(errno));
	else
		report(r, "/dev/kvm", CHECK_FAIL, "check dmesg for KVM errors",
		       "cannot open: %s", strerror(errno));
}

static void check_api(struct check_report *r)
{
	int v = ioctl(r->kvm_fd, KVM_GET_API_VERSION, 0);

	if (v == KVM_API_VERSION)
		report(r, "KVM API", CHECK_OK, NULL, "version %d", v);
	else
		report(r, "KVM API", CHECK_FAIL, "use a Linux kernel from the last decade",
		       "version %d, pvkvm needs %d", v, KVM_API_VERSION);
}

struct kvm_cap_need {
	int cap;
	const char *name;
	bool required;
	const char *why;               /* what is lost without it */
};

static const struct kvm_cap_need kvm_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", true, "guest memory cannot be mapped" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", true, "no in-kernel interrupt controller" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING", true, "MSI-X upcalls cannot be routed" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD", true, "backends cannot raise guest interrupts without the VMM" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", true, "every doorbell would exit to the VMM (~25 us instead of ~3 us)" },
	{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI", true, "the VMM cannot inject MSIs" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", false, "real-mode boot paths unavailable" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", true, "the guest CPUID cannot be set" },
	{ KVM_CAP_SPLIT_IRQCHIP, "KVM_CAP_SPLIT_IRQCHIP", false, "the full in-kernel PIC/IOAPIC is used instead of a split irqchip" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", false, "vCPUs stop by signal only (slower, racier shutdown)" },
	{ KVM_CAP_X2APIC_API, "KVM_CAP_X2APIC_API", false, "more than 255 APIC IDs unavailable" },
	{ KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM", false, "firmware ROM cannot be mapped read-only" },
	{ KVM_CAP_IOEVENTFD_ANY_LENGTH, "KVM_CAP_IOEVENTFD_ANY_LENGTH", false, "doorbells must use a fixed width" },
};

static void check_caps(struct check_report *r)
{
	for (size_t i = 0; i < sizeof(kvm_caps) / sizeof(kvm_caps[0]); i++) {
		const struct kvm_cap_need *c = &kvm_caps[i];
		int v = ioctl(r->kvm_fd, KVM_CHECK_EXTENSION, c->cap);

		if (v > 0)
			report(r, c->name, CHECK_OK, NULL, "supported");
		else
			report(r, c->name, c->required ? CHECK_FAIL : CHECK_LIMITED,
			       "use a newer host kernel (5.10 or later has every capability pvkvm uses)",
			       "not supported: %s", c->why);
	}
	int max = ioctl(r->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);

	if (max <= 0)
		max = ioctl(r->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max >= 1)
		report(r, "vCPUs per guest", max >= 255 ? CHECK_OK : CHECK_LIMITED,
		       max >= 255 ? NULL : "keep <vcpu> at or below this number",
		       "up to %d", max);
}

static void check_create_vm(struct check_report *r)
{
	int vm = ioctl(r->kvm_fd, KVM_CREATE_VM, 0);

	if (vm < 0) {
		report(r, "create VM", CHECK_FAIL,
		       "check dmesg; another hypervisor may own the CPU's virtualization extensions",
		       "KVM_CREATE_VM failed: %s", strerror(errno));
		return;
	}
	report(r, "create VM", CHECK_OK, NULL, "KVM_CREATE_VM works");
	close(vm);
}

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void probe_alarm(int sig)
{
	(void)sig;
}

#define PROBE_MEM (2u << 20)
#define PROBE_CODE 0x10000
#define PROBE_DONE_PORT 0xf4

/* A 64-bit guest at CPL0 running `dec rcx; jnz` n times, then `out` to a port.
 * Returns the wall time in ns, or < 0 when the guest could not run. */
static double probe_run(int vm, int vcpu, struct kvm_run *run, uint64_t n)
{
	struct kvm_regs regs = { .rip = PROBE_CODE, .rflags = 0x2, .rcx = n, .rsp = 0x8000 };
	double t0;

	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return -1;
	t0 = now_ns();
	alarm(5);      /* an emulation bug must not hang `pvkvm check` */
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			alarm(0);
			return -1;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == PROBE_DONE_PORT)
			break;
		if (run->exit_reason != KVM_EXIT_IO && run->exit_reason != KVM_EXIT_MMIO) {
			alarm(0);
			return -1;
		}
	}
	alarm(0);
	(void)vm;
	return now_ns() - t0;
}

static void probe_setup_guest(uint8_t *mem, struct kvm_sregs *s)
{
	uint64_t *pml4 = (uint64_t *)(mem + 0x1000), *pdpt = (uint64_t *)(mem + 0x2000);
	uint64_t *pd = (uint64_t *)(mem + 0x3000);
	static const uint8_t code[] = {
		0x48, 0xff, 0xc9,      /* dec %rcx */
		0x75, 0xfb,            /* jnz .-5 */
		0xe6, PROBE_DONE_PORT, /* out %al, $DONE */
	};
	struct kvm_segment seg = { .limit = 0xffffffff, .present = 1, .type = 3, .s = 1,
				   .g = 1, .selector = 0x10 };

	pml4[0] = 0x2000 | 3;
	pdpt[0] = 0x3000 | 3;
	pd[0] = 0x83;          /* one 2 MiB identity page */
	memcpy(mem + PROBE_CODE, code, sizeof(code));
	s->ds = s->es = s->fs = s->gs = s->ss = seg;
	seg.type = 11;
	seg.l = 1;
	seg.selector = 0x08;
	s->cs = seg;
	s->cr3 = 0x1000;
	s->cr4 = 0x20;         /* PAE */
	s->cr0 = 0x80050033;   /* PG, WP, NE, ET, MP, PE */
	s->efer = 0x500;       /* LME, LMA */
}

/* Time the CPL0 loop: hardware-assisted KVM runs it natively (< 5 ns per
 * iteration), PVM emulates guest kernel mode (~1,000x slower). */
static void probe_cpl0_speed(struct check_report *r)
{
	struct sigaction sa = { .sa_handler = probe_alarm }, old;
	int vm = -1, vcpu = -1;
	uint8_t *mem = MAP_FAILED;
	struct kvm_run *run = MAP_FAILED;
	long run_size = ioctl(r->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct kvm_sregs s;
	double t_small, t_big;

	r->cpl0_ns_per_iter = -1;
	sigaction(SIGALRM, &sa, &old);
	vm = ioctl(r->kvm_fd, KVM_CREATE_VM, 0);
	mem = mmap(NULL, PROBE_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (vm < 0 || mem == MAP_FAILED || run_size <= 0)
		goto out;
	struct kvm_userspace_memory_region region = {
		.slot = 0, .memory_size = PROBE_MEM, .userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0 ||
	    (vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0)
		goto out;
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &s) < 0)
		goto out;
	probe_setup_guest(mem, &s);
	if (ioctl(vcpu, KVM_SET_SREGS, &s) < 0)
		goto out;
	/* The difference of two runs cancels entry/exit costs; the best of a
	 * few of each, because one preemption of a short run on a loaded host
	 * would make the difference zero (and PVM look native). */
	t_small = t_big = -1;
	for (int i = 0; i < 5; i++) {
		double a = probe_run(vm, vcpu, run, 100), b = probe_run(vm, vcpu, run, 2100);

		if (a >= 0 && (t_small < 0 || a < t_small))
			t_small = a;
		if (b >= 0 && (t_big < 0 || b < t_big))
			t_big = b;
	}
	if (t_small >= 0 && t_big >= 0)
		r->cpl0_ns_per_iter = (t_big > t_small ? t_big - t_small : 0) / 2000.0;
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)run_size);
	if (mem != MAP_FAILED)
		munmap(mem, PROBE_MEM);
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	sigaction(SIGALRM, &old, NULL);
}

static void check_kvm_kind(struct check_report *r)
{
	bool pvm = path_exists("/sys/module/kvm_pvm"), intel = path_exists("/sys/module/kvm_intel");
	bool amd = path_exists("/sys/module/kvm_amd");
	double ns;

	probe_cpl0_speed(r);
	ns = r->cpl0_ns_per_iter;
	/* The measurement decides when it ran; module names break ties. */
	if ((ns >= 0 && ns > 50) || (ns < 0 && pvm))
		r->kind = KVM_KIND_PVM;
	else if (intel)
		r->kind = KVM_KIND_INTEL;
	else if (amd)
		r->kind = KVM_KIND_AMD;
	else if (ns >= 0)
		r->kind = KVM_KIND_INTEL; /* native speed: hardware-assisted, vendor unknown */
	if (r->kind == KVM_KIND_PVM) {
		char detail[64] = "";

		if (ns >= 0)
			snprintf(detail, sizeof(detail), "; CPL0 loop %.0f ns/iteration", ns);
		report(r, "KVM kind", CHECK_LIMITED,
		       "the mini-guest and PV benchmarks work; for Linux guests use a host with "
		       "hardware virtualization (kvm_intel/kvm_amd, nested VT-x/AMD-V)",
		       "PVM (kvm_pvm): guest kernel mode is emulated%s, so Linux guests are "
		       "impractically slow; the mini-guest (CPL3) runs at full speed", detail);
	} else if (r->kind != KVM_KIND_UNKNOWN) {
		report(r, "KVM kind", CHECK_OK, NULL,
		       "hardware-assisted (%s)%s", intel ? "kvm_intel, VT-x" : amd ? "kvm_amd, AMD-V" : "vendor module unknown",
		       ns >= 0 ? "; guest kernel mode runs natively" : "");
	} else {
		report(r, "KVM kind", CHECK_LIMITED, "check which KVM module provides /dev/kvm (lsmod | grep kvm)",
		       "unknown: no kvm_intel, kvm_amd or kvm_pvm module and the guest probe did not run");
	}
	if (ns >= 0 && r->kind != KVM_KIND_PVM)
		report(r, "CPL0 speed", CHECK_OK, NULL, "%.1f ns per loop iteration (native)", ns);
}

static void check_io_uring(struct check_report *r)
{
	struct io_uring ring;
	int rc = io_uring_queue_init(8, &ring, 0);

	if (rc < 0) {
		report(r, "io_uring", CHECK_LIMITED,
		       "set sysctl kernel.io_uring_disabled=0 or allow io_uring in the seccomp/container "
		       "profile; otherwise use <driver io='native'/> or io='threads'",
		       "io_uring_queue_init failed (%s): disks with io='io_uring' (the default) cannot start",
		       strerror(-rc));
		return;
	}
	io_uring_queue_exit(&ring);
	report(r, "io_uring", CHECK_OK, NULL, "io_uring_queue_init works");
}

static void check_tun(struct check_report *r)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		report(r, "/dev/net/tun", CHECK_OK, NULL, "present, opened read-write");
	} else if (errno == ENOENT) {
		report(r, "/dev/net/tun", CHECK_LIMITED, "modprobe tun",
		       "missing: guests with <interface> cannot start");
	} else {
		report(r, "/dev/net/tun", CHECK_LIMITED,
		       "run as root or give the user CAP_NET_ADMIN and access to /dev/net/tun",
		       "cannot open (%s): guests with <interface> cannot start", strerror(errno));
	}
}

static const char *status_word(enum check_status st)
{
	return st == CHECK_OK ? "ok" : st == CHECK_LIMITED ? "limited" : "FAIL";
}

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

static const char *kind_word(enum kvm_kind k)
{
	static const char *const w[] = { "unknown", "intel", "amd", "pvm" };
	return w[k];
}

static void print_json(const struct check_report *r, bool usable)
{
	printf("{\"usable\":%s,\"kvm_kind\":\"%s\",", usable ? "true" : "false", kind_word(r->kind));
	if (r->cpl0_ns_per_iter >= 0)
		printf("\"cpl0_ns_per_iteration\":%.1f,", r->cpl0_ns_per_iter);
	printf("\"checks\":[");
	for (int i = 0; i < r->nr; i++) {
		const struct check_line *l = &r->line[i];

		printf("%s{\"name\":", i ? "," : "");
		json_string(stdout, l->name);
		printf(",\"status\":\"%s\",\"detail\":", status_word(l->status));
		json_string(stdout, l->detail);
		if (l->fix[0]) {
			printf(",\"fix\":");
			json_string(stdout, l->fix);
		}
		printf("}");
	}
	printf("]}\n");
}

static void print_human(const struct check_report *r, bool usable)
{
	for (int i = 0; i < r->nr; i++) {
		const struct check_line *l = &r->line[i];
		FILE *out = l->status == CHECK_FAIL ? stderr : stdout;

		fprintf(out, "%-8s %-28s %s%s%s\n", status_word(l->status), l->name, l->detail,
			l->fix[0] ? "; fix: " : "", l->fix);
	}
	printf("%s\n", usable ? "This host can run pvkvm guests." :
	       "This host cannot run pvkvm guests (see the FAIL lines above).");
}

static void check_usage(FILE *out)
{
	fprintf(out,
		"usage: pvkvm check [--json]\n"
		"\n"
		"Tell whether this host can run pvkvm guests, and how well.  Probes the kernel\n"
		"directly rather than trusting /proc/cpuinfo (nested hosts hide vmx/svm there\n"
		"while /dev/kvm works):\n"
		"  - /dev/kvm is present and opens read-write; the KVM API version is 12;\n"
		"  - the KVM capabilities pvkvm uses (irqfd, ioeventfd, MSI signalling, irq\n"
		"    routing, in-kernel irqchip, ...) via KVM_CHECK_EXTENSION; a VM can be made;\n"
		"  - which kind of KVM this is: hardware-assisted (kvm_intel, kvm_amd) or PVM\n"
		"    (kvm_pvm), from the loaded modules and a timed loop in a tiny guest at CPL0\n"
		"    (PVM emulates guest kernel mode: Linux guests are impractically slow there,\n"
		"    the mini-guest runs at full speed);\n"
		"  - io_uring works (io_uring_queue_init); /dev/net/tun opens.\n"
		"\n"
		"Each line reads 'ok', 'limited' (works with less) or 'FAIL' (cannot run guests),\n"
		"and the non-ok lines say what it means and how to fix it.\n"
		"\n"
		"Options:\n"
		"      --json   one JSON object on stdout: usable, kvm_kind, checks[] with\n"
		"               name, status (ok|limited|FAIL), detail and fix\n"
		"  -h, --help   this text\n"
		"\n"
		"Exit status: 0 guests can run (possibly limited), 1 usage error,\n"
		"2 host problem (some FAIL line).\n");
}

static int cmd_check(int argc, char **argv)
{
	struct check_report r = { .kvm_fd = -1, .cpl0_ns_per_iter = -1 };
	bool json = false, usable = true;

	if (pv_command_wants_help(argc, argv)) {
		check_usage(stdout);
		return PV_EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else {
			fprintf(stderr, "pvkvm check: unknown argument '%s' (try --help)\n", argv[i]);
			return PV_EXIT_USER;
		}
	}
	check_dev_kvm(&r);
	if (r.kvm_fd >= 0) {
		check_api(&r);
		check_caps(&r);
		check_create_vm(&r);
		check_kvm_kind(&r);
		close(r.kvm_fd);
	}
	check_io_uring(&r);
	check_tun(&r);
	for (int i = 0; i < r.nr; i++)
		usable &= r.line[i].status != CHECK_FAIL;
	if (json)
		print_json(&r, usable);
	else
		print_human(&r, usable);
	return usable ? PV_EXIT_OK : PV_EXIT_HOST;
}
PV_COMMAND(check, "check", "tell whether this host can run guests, and how well", cmd_check);
