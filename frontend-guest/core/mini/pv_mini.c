/* SPDX-License-Identifier: MIT */
/* The mini-guest's PV platform programs, on the portable core:
 *   test=pv:hcall      hypercall page, version, console, evtchn ops, hostile arguments
 *   test=pv:smp        every secondary vCPU started with vcpu_up
 *   test=pv:poweroff | pv:reboot | pv:crash   sched_op shutdown
 *   test=pv:store      store ring: write, read back, watch (needs a store);
 *                      ring=guest supplies the ring page (default: the VMM's)
 *   test=pv:pvtest     the platform self-test against pvkvm-testback
 * Environment: the pv-platform PCI function; doorbells by port I/O to BAR2,
 * hypercalls through stubs in a page of our RAM, identity-mapped memory. */
#include "mini/mini.h"
#include "mini/pci.h"
#include "pvfront_bus.h"
#include "pv_mini.h"
#include "pvkvm/platform.h"
#include "pv_mini.h"
#include "pvtest_front.h"

struct pv_mini {
	uint64_t bar0;
	uint16_t bar2;
	uint8_t *hpage;
};

static struct pv_mini pvm;
static struct pvfront front;
static struct pvfront_xs xs;

static void *env_alloc_page(void *o)
{
	return mini_pages_alloc(1);
}

static uint64_t env_v2p(void *o, const void *va)
{
	return (uint64_t)(uintptr_t)va;
}

static void *env_p2v(void *o, uint64_t pa)
{
	return pa < mini_mm_mapped_top() ? (void *)(uintptr_t)pa : NULL;
}

static void env_doorbell(void *o, uint32_t port)
{
	mini_outl((uint16_t)(pvm.bar2 + PVKVM_PLAT_REG_DOORBELL), port);
}

static int64_t env_hcall(void *o, uint32_t nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t rdi __asm__("rdi") = a1;
	register uint64_t rsi __asm__("rsi") = a2;
	register uint64_t rdx __asm__("rdx") = a3;
	uint64_t stub = (uint64_t)(uintptr_t)(pvm.hpage + nr * PVKVM_HCALL_STUB_SIZE), rax;

	if (nr >= PVKVM_HCALL_MAX)
		return -PVFRONT_ENOSYS;
	/* The stub clobbers rax and r11 only; the call is a normal C call. */
	__asm__ volatile("call *%[fn]"
			 : "=a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx)
			 : [fn] "r"(stub)
			 : "rcx", "r8", "r9", "r10", "r11", "memory", "cc");
	return (int64_t)rax;
}

static void env_log(void *o, const char *msg)
{
	printf("pv: %s\n", msg);
}

static void env_relax(void *o)
{
	mini_pause();
}

static const struct pvfront_env mini_env = {
	.alloc_page = env_alloc_page, .virt_to_phys = env_v2p, .phys_to_virt = env_p2v,
	.doorbell = env_doorbell, .hypercall = env_hcall, .log = env_log, .relax = env_relax,
};

/* Finds the platform device and installs the hypercall page. */
static int pv_mini_probe(void)
{
	const struct mini_pci_dev *d = mini_pci_find(PVKVM_PLAT_VENDOR_ID, PVKVM_PLAT_DEVICE_ID);
	uint64_t pa;

	if (!d || d->bar[PVKVM_PLAT_BAR_MMIO].type != MINI_PCI_BAR_MEM32 ||
	    d->bar[PVKVM_PLAT_BAR_PIO].type != MINI_PCI_BAR_IO) {
		printf("pv: no pv-platform PCI device (%04x:%04x)\n", PVKVM_PLAT_VENDOR_ID,
		       PVKVM_PLAT_DEVICE_ID);
		return MINI_EXIT_NODEV;
	}
	mini_pci_enable(d);
	pvm.bar0 = d->bar[PVKVM_PLAT_BAR_MMIO].addr;
	pvm.bar2 = (uint16_t)d->bar[PVKVM_PLAT_BAR_PIO].addr;
	pvm.hpage = mini_pages_alloc(1);
	if (!pvm.hpage)
		return MINI_EXIT_FAIL;
	pa = (uint64_t)(uintptr_t)pvm.hpage;
	mini_mmio_write32(pvm.bar0 + PVKVM_PLAT_REG_HCALL_PAGE_LO, (uint32_t)pa);
	mini_mmio_write32(pvm.bar0 + PVKVM_PLAT_REG_HCALL_PAGE_HI, (uint32_t)(pa >> 32));
	if (mini_mmio_read32(pvm.bar0 + PVKVM_PLAT_REG_HCALL_PAGE_LO) != (uint32_t)pa) {
		printf("pv: the VMM refused the hypercall page at %#llx\n", (unsigned long long)pa);
		return MINI_EXIT_FAIL;
	}
	return pvfront_init(&front, &mini_env, 1) ? MINI_EXIT_FAIL : 0;
}

#define CHECK(cond, what)                                            \
	do {                                                         \
		if (!(cond)) {                                       \
			printf("pv: FAIL: %s\n", what);              \
			return MINI_EXIT_FAIL;                       \
		}                                                    \
	} while (0)

static int pv_hcall(void)
{
	static const char msg[] = "hello from the mini-guest";
	struct pvkvm_evtchn_status *st = front.scratch;
	uint32_t port;
	int64_t r;

	r = pvfront_hcall(&front, PVKVM_HC_VERSION, PVKVM_FEATURES_GET, 0, 0);
	CHECK(r > 0 && (r & PVKVM_FEAT_EVTCHN_2L), "features");
	r = pvfront_hcall(&front, PVKVM_HC_CONSOLE_WRITE, (uint64_t)(uintptr_t)msg, sizeof(msg) - 1, 0);
	CHECK(r == (int64_t)sizeof(msg) - 1, "console_write");
	CHECK(pvfront_evtchn_alloc(&front, 0, &port) == 0 && port > 0, "evtchn alloc_unbound");
	st->port = port;
	r = pvfront_hcall(&front, PVKVM_HC_EVTCHN_OP, PVKVM_EVTCHNOP_STATUS,
			  (uint64_t)(uintptr_t)st, 0);
	CHECK(r == 0 && st->status == PVKVM_EVTCHNSTAT_UNBOUND, "evtchn status");
	pvfront_evtchn_send(&front, port); /* unbound: dropped by the VMM */
	CHECK(pvfront_evtchn_close(&front, port) == 0, "evtchn close");
	/* Hostile arguments get errors and the VMM carries on. */
	CHECK(pvfront_hcall(&front, PVKVM_HCALL_MAX - 1, 0, 0, 0) == -PVFRONT_ENOSYS, "bad number");
	CHECK(pvfront_hcall(&front, PVKVM_HC_EVTCHN_OP, PVKVM_EVTCHNOP_STATUS, UINT64_MAX - 3, 0) == -14,
	      "evtchn status at a wrapping address");
	CHECK(pvfront_hcall(&front, PVKVM_HC_CONSOLE_WRITE, 0, 1u << 20, 0) == -PVFRONT_EINVAL,
	      "oversized console write");
	CHECK(pvfront_hcall(&front, PVKVM_HC_GRANT_SETUP, 1ull << 52, 1, 0) == -14,
	      "grant frames outside RAM");
	CHECK(pvfront_hcall(&front, PVKVM_HC_SCHED_OP, PVKVM_SCHED_SHUTDOWN, 99, 0) == -PVFRONT_EINVAL,
	      "bad shutdown reason");
	CHECK(pvfront_gnt_setup(&front, 2) == 0, "grant table setup");
	printf("pv: hcall ok\n");
	return MINI_EXIT_OK;
}

/* The store ring: the VMM's reserved page (STORE_GET_GFN, inside
 * pvfront_xs_init), or with ring=guest a page of ours (STORE_SET_GFN). */
static int pv_store_init(void)
{
	const char *mode = mini_opt_str("ring", "vmm");
	int64_t r = -1;

	if (!strcmp(mode, "guest")) {
		void *ring = mini_pages_alloc(1);

		CHECK(ring != NULL, "store ring page");
		r = pvfront_hcall(&front, PVKVM_HC_STORE_OP, PVKVM_STORE_SET_GFN,
				  (uint64_t)(uintptr_t)ring >> PVKVM_PAGE_SHIFT, 0);
		CHECK(r > 0, "store ring setup");
	}
	CHECK(pvfront_xs_init(&xs, &front) == 0, "store client init");
	r = pvfront_hcall(&front, PVKVM_HC_STORE_OP, PVKVM_STORE_GET_GFN, 0, 0);
	printf("pv: store ring page gfn 0x%llx (%s), port %lld\n", (unsigned long long)r,
	       strcmp(mode, "guest") ? "the VMM's" : "the guest's",
	       (long long)pvfront_hcall(&front, PVKVM_HC_STORE_OP, PVKVM_STORE_GET_EVTCHN, 0, 0));
	return 0;
}

static int pv_store(void)
{
	struct pvfront_xs_event ev;
	const char *p, *t;
	char buf[64];
	int r = pv_store_init();

	if (r)
		return r;
	CHECK(pvfront_xs_write(&xs, 0, "data/mini", "hello-store") == 0, "store write");
	CHECK(pvfront_xs_read(&xs, 0, "data/mini", buf, sizeof(buf)) == 11, "store read");
	CHECK(!strcmp(buf, "hello-store"), "store value");
	CHECK(pvfront_xs_watch(&xs, "data", "w") == 0, "store watch");
	CHECK(pvfront_xs_next_event(&xs, true, &ev, &p, &t) == 1, "initial watch event");
	CHECK(pvfront_xs_write(&xs, 0, "data/mini2", "x") == 0, "store write 2");
	CHECK(pvfront_xs_next_event(&xs, true, &ev, &p, &t) == 1 && !strcmp(t, "w"), "watch event");
	printf("pv: store: wrote data/mini=hello-store, read back '%s', watch 'w' fired for %s\n", buf, p);
	printf("pv: store ok\n");
	if (!mini_opt_str("host", NULL))
		return MINI_EXIT_OK;
	/* host=1: the host (pvkvm store) reads data/mini, writes data/host; we
	 * echo it to data/echo and wait for data/done before exiting. */
	CHECK(pvfront_xs_watch(&xs, "data/host", "h") == 0, "watch data/host");
	for (uint64_t t0 = mini_rdtsc();;) {
		if (pvfront_xs_read(&xs, 0, "data/host", buf, sizeof(buf)) > 0)
			break;
		CHECK(mini_rdtsc() - t0 < mini_ns_to_cycles(20000000000ull), "host wrote data/host");
		pvfront_xs_next_event(&xs, false, &ev, &p, &t);
	}
	CHECK(pvfront_xs_write(&xs, 0, "data/echo", buf) == 0, "write data/echo");
	for (uint64_t t0 = mini_rdtsc(); pvfront_xs_read(&xs, 0, "data/done", buf, sizeof(buf)) < 0;)
		CHECK(mini_rdtsc() - t0 < mini_ns_to_cycles(20000000000ull), "host wrote data/done");
	printf("pv: store host round trip ok\n");
	return MINI_EXIT_OK;
}

static int pv_pvtest(void)
{
	struct pvfront_dev dev;
	uint64_t t0 = mini_rdtsc(), wait = mini_ns_to_cycles(10000000000ull);
	int r = pv_store_init();

	if (r)
		return r;
	/* The toolstack may add the device after we booted. */
	while (pvfront_bus_discover(&xs, "pvtest", &dev, 1) != 1)
		if (mini_rdtsc() - t0 > wait) {
			printf("pv: FAIL: no device/pvtest after 10 s\n");
			return MINI_EXIT_FAIL;
		}
	r = pvtest_front_run(&front, &xs, (uint32_t)mini_opt_u64("rounds", 1000));
	printf("pv: pvtest %s\n", pvtest_front_strerror(r));
	return r ? MINI_EXIT_FAIL : MINI_EXIT_OK;
}

static volatile uint32_t aps_running;

/* A secondary vCPU: CPL3, the boot vCPU's address space, its own stack.  The
 * mini runtime is single-threaded, so it only counts itself in and spins. */
static void __attribute__((used)) ap_entry(uint64_t id)
{
	__atomic_fetch_add(&aps_running, 1, __ATOMIC_SEQ_CST);
	for (;;)
		mini_pause();
}

static int pv_smp(void)
{
	uint32_t n = mini_mmio_read32(pvm.bar0 + PVKVM_PLAT_REG_NR_VCPUS);
	struct pvkvm_vcpu_regs *r = front.scratch;
	uint64_t t0;

	CHECK(n >= 1 && n <= PVKVM_MAX_VCPUS, "NR_VCPUS register");
	for (uint32_t v = 1; v < n; v++) {
		uint8_t *stack = mini_pages_alloc(1);

		CHECK(stack != NULL, "AP stack");
		memset(r, 0, sizeof(*r));
		r->rip = (uint64_t)(uintptr_t)ap_entry;
		r->rsp = (uint64_t)(uintptr_t)(stack + MINI_PAGE_SIZE - 8); /* as after a call */
		r->rdi = v;
		r->rflags = 0x3002; /* IOPL=3, IF=0 */
		CHECK(pvfront_hcall(&front, PVKVM_HC_VCPU_UP, v, (uint64_t)(uintptr_t)r, 0) == 0,
		      "vcpu_up");
	}
	t0 = mini_rdtsc();
	while (aps_running != n - 1 && mini_rdtsc() - t0 < mini_ns_to_cycles(2000000000ull))
		mini_pause();
	CHECK(aps_running == n - 1, "every secondary vCPU ran its entry");
	CHECK(pvfront_hcall(&front, PVKVM_HC_VCPU_UP, 0, (uint64_t)(uintptr_t)r, 0) == -PVFRONT_EINVAL,
	      "vcpu_up of the boot vCPU refused");
	CHECK(pvfront_hcall(&front, PVKVM_HC_VCPU_UP, n, (uint64_t)(uintptr_t)r, 0) == -PVFRONT_EINVAL,
	      "vcpu_up past the last vCPU refused");
	if (n > 1)
		CHECK(pvfront_hcall(&front, PVKVM_HC_VCPU_UP, 1, (uint64_t)(uintptr_t)r, 0) == -PVFRONT_EBUSY,
		      "second vcpu_up of a running vCPU refused");
	printf("pv: smp %u vcpus up\n", n);
	return MINI_EXIT_OK;
}

int pv_mini_store(struct pvfront **f, struct pvfront_xs **x)
{
	static int state = -1;        /* -1: not tried yet */

	if (state < 0) {
		state = pv_mini_probe();
		if (!state)
			state = pv_store_init();
	}
	*f = &front;
	*x = &xs;
	return state;
}

static int pv_main(const char *arg)
{
	int r = pv_mini_probe();

	if (r)
		return r;
	if (!strcmp(arg, "hcall") || !*arg)
		return pv_hcall();
	if (!strcmp(arg, "store"))
		return pv_store();
	if (!strcmp(arg, "smp"))
		return pv_smp();
	if (!strcmp(arg, "pvtest"))
		return pv_pvtest();
	if (!strcmp(arg, "poweroff") || !strcmp(arg, "reboot") || !strcmp(arg, "crash")) {
		uint64_t why = arg[0] == 'p' ? PVKVM_SHUTDOWN_POWEROFF :
			       arg[0] == 'r' ? PVKVM_SHUTDOWN_REBOOT : PVKVM_SHUTDOWN_CRASH;
		int64_t e = pvfront_hcall(&front, PVKVM_HC_SCHED_OP, PVKVM_SCHED_SHUTDOWN, why, 0);

		/* The VMM stops the vCPUs; until it does, wait here. */
		for (uint64_t t0 = mini_rdtsc(); mini_rdtsc() - t0 < mini_ns_to_cycles(5000000000ull);)
			mini_pause();
		printf("pv: FAIL: shutdown returned %lld\n", (long long)e);
		return MINI_EXIT_FAIL;
	}
	printf("pv: unknown test pv:%s\n", arg);
	return MINI_EXIT_USAGE;
}

MINI_PROGRAM(pv, "pv", "PV platform: pv:hcall, pv:smp, pv:store, pv:pvtest, pv:poweroff|reboot|crash", pv_main);
