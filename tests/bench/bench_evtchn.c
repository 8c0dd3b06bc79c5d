/* SPDX-License-Identifier: MIT */
/* bench-evtchn: event-channel round trip on real KVM, against its floor.
 *
 * A one-vCPU VM whose guest code runs at CPL3 (native speed here, see
 * DESIGN.md) loops: write the port to the doorbell (port I/O, caught by a
 * KVM ioeventfd with datamatch = port), then spin until a bit appears in a
 * word of guest memory, clear it, repeat.  A host thread plays the backend.
 *
 *   floor:    ioeventfd -> eventfd read -> plain store of the bit.  No protocol.
 *   protocol: the real thing.  hv/pv's platform hands the port to the backend
 *             library over the control socket; the doorbell ioeventfd was
 *             registered by the VMM side (evtchn_host_ops); the backend waits
 *             on its eventfd and raises with pvback_evtchn_notify() into the
 *             guest's shared-info page (2-level rules, upcall masked: polling).
 *
 * The backend thread timestamps each wake; successive wakes are one round
 * trip (guest send -> backend wake -> notify -> guest sees it -> next send).
 * The vCPU thread counts KVM_RUN returns: exits to the VMM process.
 *
 *   bench_evtchn [round_trips]      prints both, the ratio, and one Markdown
 *                                   section for tests/bench/RESULTS.md on fd 3
 *                                   if it is open. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "plat.h"
#include "pvback.h"
#include "pvkvm/platform.h"

#define RAM_SIZE   (16ul << 20)
#define CODE_GPA   0x10000ul
#define SHINFO_GPA 0x20000ul
#define FLAG_GPA   0x21000ul
#define DOOR_PORT  0x5000u
#define DONE_PORT  0x10u
#define EV_PORT    37u /* what the guest's alloc_unbound will return is checked */
#define WARMUP     2000
#define SPIN_NS    50000.0 /* backend polls this long before sleeping */

struct bench_vm {
	int kvm, vm, vcpu, memfd;
	uint8_t *ram;
	struct kvm_run *run;
};

struct backend_arg {
	int wait_fd;
	long n;
	double *t;
	uint64_t *flag;           /* floor */
	struct pvback_dom *dom;   /* protocol */
	struct pvback_evtchn *e;
	int err;
};

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int die(const char *what)
{
	fprintf(stderr, "bench_evtchn: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Guest: rcx round trips; port in eax; rsi = word to poll; rbx = bit. */
static void guest_code(uint8_t *c)
{
	static const uint8_t code[] = {
		0x66, 0xba, DOOR_PORT & 0xff, DOOR_PORT >> 8, /* mov $DOOR,%dx */
		0xb8, EV_PORT, 0, 0, 0,                       /* loop: mov $port,%eax */
		0xef,                                         /* out %eax,(%dx) */
		0x48, 0x8b, 0x06,                             /* wait: mov (%rsi),%rax */
		0x48, 0x85, 0xd8,                             /* test %rbx,%rax */
		0x74, 0xf8,                                   /* jz wait */
		0x49, 0x89, 0xd8,                             /* mov %rbx,%r8 */
		0x49, 0xf7, 0xd0,                             /* not %r8 */
		0xf0, 0x4c, 0x21, 0x06,                       /* lock and %r8,(%rsi) */
		0x48, 0xff, 0xc9,                             /* dec %rcx */
		0x75, 0xe3,                                   /* jnz loop */
		0xe6, DONE_PORT,                              /* out %al,$DONE */
	};

	memcpy(c, code, sizeof(code));
}

static void vm_create(struct bench_vm *v)
{
	struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = RAM_SIZE };

	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0)
		die("/dev/kvm");
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	v->memfd = memfd_create("bench-ram", MFD_CLOEXEC);
	if (v->vm < 0 || v->memfd < 0 || ftruncate(v->memfd, RAM_SIZE))
		die("create vm");
	v->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, v->memfd, 0);
	if (v->ram == MAP_FAILED)
		die("mmap");
	r.userspace_addr = (uint64_t)v->ram;
	if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &r))
		die("memory region");
	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	if (v->vcpu < 0)
		die("vcpu");
	v->run = mmap(NULL, (size_t)ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
		      MAP_SHARED, v->vcpu, 0);
	if (v->run == MAP_FAILED)
		die("mmap run");
}

/* Long mode, identity-mapped user-accessible 2 MiB pages, CPL3, IOPL3, IF=0. */
static void vm_setup_cpu(struct bench_vm *v, long n, uint64_t poll_gpa, uint64_t bit)
{
	uint64_t *pml4 = (void *)(v->ram + 0x1000), *pdpt = (void *)(v->ram + 0x2000);
	uint64_t *pd = (void *)(v->ram + 0x3000);
	struct kvm_sregs s;
	struct kvm_regs g = { .rip = CODE_GPA, .rflags = 0x3002, .rcx = (uint64_t)n,
			      .rsi = poll_gpa, .rbx = bit, .rsp = 0x8000 };

	pml4[0] = 0x2000 | 7;
	pdpt[0] = 0x3000 | 7;
	for (unsigned i = 0; i < RAM_SIZE >> 21; i++)
		pd[i] = (i * 0x200000ul) | 0x87;
	guest_code(v->ram + CODE_GPA);
	if (ioctl(v->vcpu, KVM_GET_SREGS, &s))
		die("get sregs");
	struct kvm_segment seg = { .limit = 0xffffffff, .present = 1, .type = 3, .s = 1, .g = 1,
				   .dpl = 3, .selector = 0x23 };
	s.ds = s.es = s.fs = s.gs = s.ss = seg;
	seg.type = 11;
	seg.l = 1;
	seg.selector = 0x2b;
	s.cs = seg;
	s.cr3 = 0x1000;
	s.cr4 = 0x20;
	s.cr0 = 0x80050033;
	s.efer = 0x500;
	if (ioctl(v->vcpu, KVM_SET_SREGS, &s) || ioctl(v->vcpu, KVM_SET_REGS, &g))
		die("set regs");
}

/* Runs the guest to DONE; returns exits to this process other than DONE. */
static long vm_run(struct bench_vm *v)
{
	long exits = 0;

	for (;;) {
		if (ioctl(v->vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			die("KVM_RUN");
		}
		if (v->run->exit_reason == KVM_EXIT_IO && v->run->io.port == DONE_PORT)
			return exits;
		exits++;
		if (v->run->exit_reason != KVM_EXIT_IO && v->run->exit_reason != KVM_EXIT_MMIO) {
			fprintf(stderr, "bench_evtchn: unexpected exit %u\n", v->run->exit_reason);
			exit(2);
		}
	}
}

static void vm_destroy(struct bench_vm *v)
{
	munmap(v->ram, RAM_SIZE);
	close(v->memfd);
	close(v->vcpu);
	close(v->vm);
	close(v->kvm);
}

static int ioeventfd(int vm, uint32_t port, int efd, bool assign)
{
	struct kvm_ioeventfd io = { .datamatch = port, .addr = DOOR_PORT, .len = 4, .fd = efd,
				    .flags = KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH |
					     (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN) };

	return ioctl(vm, KVM_IOEVENTFD, &io) ? -errno : 0;
}

static void *backend_thread(void *arg)
{
	struct backend_arg *a = arg;
	uint64_t v;

	for (long i = 0; i < a->n; i++) {
		struct pollfd p = { .fd = a->wait_fd, .events = POLLIN };
		double spin_until = now_ns() + SPIN_NS;
		bool got = false;

		/* Poll briefly before sleeping (DESIGN.md): a wake-up costs more
		 * than the doorbell on this host. */
		while (!got && now_ns() < spin_until)
			got = read(a->wait_fd, &v, sizeof(v)) == sizeof(v);
		if (!got && (poll(&p, 1, 10000) != 1 || read(a->wait_fd, &v, sizeof(v)) != sizeof(v))) {
			a->err = -ETIMEDOUT;
			return NULL;
		}
		a->t[i] = now_ns();
		if (a->flag)
			__atomic_store_n(a->flag, 1, __ATOMIC_RELEASE);
		else
			pvback_evtchn_notify(a->dom, a->e);
	}
	return NULL;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

struct result {
	double p50, p99, per_sec;
	long exits;
};

static struct result summarize(double *t, long n, double wall_ns, long exits)
{
	long m = n - WARMUP - 1;
	double *d = malloc(sizeof(*d) * (size_t)m);
	struct result r;

	for (long i = 0; i < m; i++)
		d[i] = t[WARMUP + i + 1] - t[WARMUP + i];
	qsort(d, (size_t)m, sizeof(*d), cmp_double);
	r.p50 = d[m / 2];
	r.p99 = d[m * 99 / 100];
	r.per_sec = n / (wall_ns / 1e9);
	r.exits = exits;
	free(d);
	return r;
}

static struct result run_floor(long n, double *t)
{
	struct bench_vm v;
	struct backend_arg a = { .n = n, .t = t };
	pthread_t th;
	double t0;
	long exits;

	vm_create(&v);
	a.wait_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	a.flag = (uint64_t *)(v.ram + FLAG_GPA);
	if (ioeventfd(v.vm, EV_PORT, a.wait_fd, true))
		die("ioeventfd");
	vm_setup_cpu(&v, n, FLAG_GPA, 1);
	pthread_create(&th, NULL, backend_thread, &a);
	t0 = now_ns();
	exits = vm_run(&v);
	double wall = now_ns() - t0;
	pthread_join(th, NULL);
	close(a.wait_fd);
	vm_destroy(&v);
	return summarize(t, n, wall, exits);
}

/* The VMM side of the protocol run: KVM ioeventfds for bound ports. */
static int host_doorbell_bind(void *o, uint32_t port, int efd)
{
	return ioeventfd(*(int *)o, port, efd, true);
}

static void host_doorbell_unbind(void *o, uint32_t port, int efd)
{
	ioeventfd(*(int *)o, port, efd, false);
}

static struct result run_protocol(long n, double *t, const char *run_dir)
{
	struct pv_plat_ops ops = { .evtchn = { host_doorbell_bind, host_doorbell_unbind, NULL } };
	struct pv_gmem_range range = { .gpa = 0, .size = RAM_SIZE, .offset = 0 };
	struct backend_arg a = { .n = n, .t = t };
	struct pv_ctl_server *ctl;
	struct pv_gmem gmem;
	struct pv_plat *plat;
	struct bench_vm v;
	struct pvkvm_evtchn_alloc_unbound *au;
	char path[256];
	pthread_t th;
	double t0;
	long exits;

	vm_create(&v);
	if (pv_gmem_init(&gmem, v.ram, RAM_SIZE, &range, 1))
		die("gmem");
	plat = pv_plat_new(1, 1, &gmem, &ops, &v.vm);
	if (!plat || pv_ctl_open(&ctl, plat, run_dir, "bench", v.memfd, RAM_SIZE) || pv_ctl_start(ctl))
		die("platform");
	/* What the guest's frontend core does at boot, as hypercalls. */
	struct pvkvm_shared_info *si = (void *)(v.ram + SHINFO_GPA);
	for (unsigned i = 0; i < PVKVM_MAX_VCPUS; i++)
		si->vcpu_info[i].upcall_mask = 1;
	uint64_t args[5] = { SHINFO_GPA >> 12 };
	if (pv_hcall_dispatch(plat, 0, PVKVM_HC_SHARED_INFO, args))
		die("shared_info");
	au = (void *)(v.ram + FLAG_GPA);
	uint32_t port = 0;
	while (port != EV_PORT) { /* burn ports so the guest code's constant is right */
		*au = (struct pvkvm_evtchn_alloc_unbound){ .dom = PVKVM_DOMID_SELF, .remote_dom = 0 };
		uint64_t a2[5] = { PVKVM_EVTCHNOP_ALLOC_UNBOUND, FLAG_GPA };
		if (pv_hcall_dispatch(plat, 0, PVKVM_HC_EVTCHN_OP, a2))
			die("alloc_unbound");
		port = au->port;
	}
	/* The backend: attach and bind through the control socket. */
	snprintf(path, sizeof(path), "%s", pv_ctl_path(ctl));
	if (pvback_attach(&a.dom, path, "vif/0") || pvback_evtchn_bind(a.dom, EV_PORT, &a.e))
		die("backend attach/bind");
	a.wait_fd = a.e->wait_fd;
	vm_setup_cpu(&v, n, SHINFO_GPA + 2048 + (EV_PORT / 64) * 8, 1ull << (EV_PORT % 64));
	pthread_create(&th, NULL, backend_thread, &a);
	t0 = now_ns();
	exits = vm_run(&v);
	double wall = now_ns() - t0;
	pthread_join(th, NULL);
	pvback_detach(a.dom);
	pv_ctl_close(ctl);
	pv_plat_free(plat);
	vm_destroy(&v);
	return summarize(t, n, wall, exits);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 50000;
	char run_dir[] = "/tmp/pvkvm-bench-XXXXXX";
	double *t = calloc((size_t)n, sizeof(double));
	struct result fl, pr;

	if (n <= WARMUP + 100 || !t) {
		fprintf(stderr, "bench_evtchn: round trips must be > %d\n", WARMUP + 100);
		return 1;
	}
	if (!mkdtemp(run_dir))
		die("mkdtemp");
	fl = run_floor(n, t);
	pr = run_protocol(n, t, run_dir);
	rmdir(run_dir);
	printf("evtchn round trip (guest CPL3 send -> backend wake -> notify -> guest sees it), %ld round trips\n", n);
	printf("  %-34s p50 %7.2f us  p99 %7.2f us  %8.0f rt/s  VMM exits %ld\n",
	       "floor (ioeventfd + eventfd + store)", fl.p50 / 1e3, fl.p99 / 1e3, fl.per_sec, fl.exits);
	printf("  %-34s p50 %7.2f us  p99 %7.2f us  %8.0f rt/s  VMM exits %ld\n",
	       "pvkvm evtchn (ctl + backend lib)", pr.p50 / 1e3, pr.p99 / 1e3, pr.per_sec, pr.exits);
	printf("  ratio p50 %.2fx (goal <= 1.2x), p99 %.2fx\n", pr.p50 / fl.p50, pr.p99 / fl.p99);
	FILE *md = fdopen(3, "a");
	if (md) {
		fprintf(md, "| evtchn round trip, %ld | floor: ioeventfd+eventfd | %.2f | %.2f | %.0f | %ld |\n",
			n, fl.p50 / 1e3, fl.p99 / 1e3, fl.per_sec, fl.exits);
		fprintf(md, "| evtchn round trip, %ld | pvkvm evtchn | %.2f | %.2f | %.0f | %ld |\n",
			n, pr.p50 / 1e3, pr.p99 / 1e3, pr.per_sec, pr.exits);
		fprintf(md, "\nRatio p50 %.2fx (goal <= 1.2x), p99 %.2fx.\n", pr.p50 / fl.p50, pr.p99 / fl.p99);
		fclose(md);
	}
	free(t);
	return pr.exits == 0 && fl.exits == 0 ? 0 : 3;
}
