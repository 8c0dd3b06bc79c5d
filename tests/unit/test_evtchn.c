/* SPDX-License-Identifier: MIT */
/* Event channels end to end, and hostile hypercall arguments. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "pvback.h"
#include "cunit_main.h"

static struct harness_guest *g;
static struct pvback_dom *be;

static void setup(void)
{
	CU_ASSERT_FATAL(harness_guest_new(&g, 8 << 20, 2) == 0);
	CU_ASSERT_FATAL(pvback_attach(&be, g->ctl_path, "vif/0") == 0);
}

static void teardown(void)
{
	pvback_detach(be);
	harness_guest_free(g);
	be = NULL;
	g = NULL;
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1;
}

static uint64_t drain(int fd)
{
	uint64_t v = 0;

	return read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

struct pong_arg {
	struct pvback_evtchn *e;
	int rounds;
};

static void *backend_pong(void *arg)
{
	struct pong_arg *a = arg;

	for (int i = 0; i < a->rounds; i++) {
		if (!readable(a->e->wait_fd, 5000))
			return (void *)1;
		pvback_evtchn_ack(a->e);
		if (pvback_evtchn_notify(be, a->e))
			return (void *)2;
	}
	return NULL;
}

static void test_evtchn_ping_pong_through_eventfds_without_vmm_exits(void)
{
	struct pvback_evtchn *e;
	struct pong_arg a = { .rounds = 2000 };
	pthread_t t;
	uint32_t port;
	void *ret;
	uint64_t exits;

	setup();
	CU_ASSERT_FATAL(pvfront_evtchn_alloc(&g->front, 0, &port) == 0);
	CU_ASSERT_FATAL(pvback_evtchn_bind(be, port, &e) == 0);
	a.e = e;
	exits = g->vmm_exits;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, backend_pong, &a) == 0);
	for (int i = 0; i < a.rounds; i++) {
		pvfront_evtchn_send(&g->front, port);
		for (int spin = 0; !pvfront_evtchn_poll(&g->front, port); spin++)
			if (spin > 1000)
				usleep(10);
	}
	pthread_join(t, &ret);
	CU_ASSERT_PTR_NULL(ret);
	CU_ASSERT_EQUAL(g->vmm_exits, exits);
	/* The guest polls with upcalls masked: no irqfd writes either. */
	CU_ASSERT_EQUAL(drain(g->upcall_fd[0]), 0);
	teardown();
}

static void test_notify_raises_upcall_only_when_unmasked(void)
{
	struct pvback_evtchn *e;
	uint32_t port;

	setup();
	CU_ASSERT_FATAL(pvfront_evtchn_alloc(&g->front, 0, &port) == 0);
	CU_ASSERT_FATAL(pvback_evtchn_bind(be, port, &e) == 0);
	g->front.si->vcpu_info[0].upcall_mask = 0;
	CU_ASSERT_EQUAL(pvback_evtchn_notify(be, e), 0);
	CU_ASSERT_EQUAL(drain(g->upcall_fd[0]), 1);
	CU_ASSERT_EQUAL(g->front.si->vcpu_info[0].upcall_pending, 1);
	CU_ASSERT(g->front.si->vcpu_info[0].pending_sel & (UINT64_C(1) << (port / 64)));
	/* Already pending: suppressed. */
	CU_ASSERT_EQUAL(pvback_evtchn_notify(be, e), 0);
	CU_ASSERT_EQUAL(drain(g->upcall_fd[0]), 0);
	/* Masked port: pending but no selector bit, no upcall. */
	CU_ASSERT(pvfront_evtchn_poll(&g->front, port));
	g->front.si->vcpu_info[0].pending_sel = 0;
	pvfront_evtchn_mask(&g->front, port);
	CU_ASSERT_EQUAL(pvback_evtchn_notify(be, e), 0);
	CU_ASSERT_EQUAL(g->front.si->vcpu_info[0].pending_sel, 0);
	CU_ASSERT_EQUAL(drain(g->upcall_fd[0]), 0);
	/* Unmask re-raises it. */
	CU_ASSERT_EQUAL(pvfront_evtchn_unmask(&g->front, port), 0);
	CU_ASSERT_EQUAL(drain(g->upcall_fd[0]), 1);
	teardown();
}

static void test_bind_vcpu_moves_upcall_to_other_vcpu(void)
{
	struct pvback_evtchn *e;
	struct pvkvm_evtchn_bind_vcpu *b;
	uint32_t port;

	setup();
	CU_ASSERT_FATAL(pvfront_evtchn_alloc(&g->front, 0, &port) == 0);
	CU_ASSERT_FATAL(pvback_evtchn_bind(be, port, &e) == 0);
	b = harness_alloc_page(g);
	b->port = port;
	b->vcpu = 1;
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_EVTCHN_OP, PVKVM_EVTCHNOP_BIND_VCPU,
				      harness_gpa(g, b), 0), 0);
	CU_ASSERT_EQUAL(pvback_ctl_process(be), 0);
	CU_ASSERT_EQUAL(e->vcpu, 1);
	g->front.si->vcpu_info[1].upcall_mask = 0;
	CU_ASSERT_EQUAL(pvback_evtchn_notify(be, e), 0);
	CU_ASSERT_EQUAL(drain(g->upcall_fd[1]), 1);
	CU_ASSERT_EQUAL(drain(g->upcall_fd[0]), 0);
	teardown();
}

static void test_backend_bind_refuses_foreign_and_double_binds(void)
{
	struct pvback_evtchn *e, *e2;
	uint32_t port, other;

	setup();
	CU_ASSERT_FATAL(pvfront_evtchn_alloc(&g->front, 0, &port) == 0);
	CU_ASSERT_FATAL(pvfront_evtchn_alloc(&g->front, 3, &other) == 0);
	CU_ASSERT_EQUAL(pvback_evtchn_bind(be, other, &e), -EPERM);
	CU_ASSERT_EQUAL(pvback_evtchn_bind(be, 0, &e), -EINVAL);
	CU_ASSERT_EQUAL(pvback_evtchn_bind(be, 99999, &e), -EINVAL);
	CU_ASSERT_EQUAL(pvback_evtchn_bind(be, port + 100, &e), -EINVAL);
	CU_ASSERT_FATAL(pvback_evtchn_bind(be, port, &e) == 0);
	CU_ASSERT_EQUAL(pvback_evtchn_bind(be, port, &e2), -EBUSY);
	teardown();
}

static void test_guest_close_tells_backend(void)
{
	struct pvback_evtchn *e;
	uint32_t port;

	setup();
	CU_ASSERT_FATAL(pvfront_evtchn_alloc(&g->front, 0, &port) == 0);
	CU_ASSERT_FATAL(pvback_evtchn_bind(be, port, &e) == 0);
	CU_ASSERT_EQUAL(pvfront_evtchn_close(&g->front, port), 0);
	CU_ASSERT_EQUAL(pvback_ctl_process(be), 0);
	CU_ASSERT(e->closed);
	CU_ASSERT_EQUAL(pvback_evtchn_notify(be, e), -EPIPE);
	teardown();
}

static void test_restarted_backend_rebinds_the_same_port(void)
{
	struct pvkvm_evtchn_status st;
	struct pvback_evtchn *e;
	uint32_t port;

	setup();
	CU_ASSERT_FATAL(pvfront_evtchn_alloc(&g->front, 0, &port) == 0);
	CU_ASSERT_FATAL(pvback_evtchn_bind(be, port, &e) == 0);
	/* Simulate a crash: the connection goes away without unbinding. */
	shutdown(pvback_ctl_fd(be), SHUT_RDWR);
	for (int i = 0; i < 500 && pv_ctl_nr_conns(g->ctl); i++)
		usleep(2000);
	CU_ASSERT_EQUAL(evtchn_status(g->plat->evtchn, port, &st), 0);
	CU_ASSERT_EQUAL(st.status, PVKVM_EVTCHNSTAT_UNBOUND);
	/* Sends while no backend is there go to the VMM and are dropped. */
	uint64_t exits = g->vmm_exits;
	pvfront_evtchn_send(&g->front, port);
	CU_ASSERT_EQUAL(g->vmm_exits, exits + 1);
	struct pvback_dom *be2;
	CU_ASSERT_FATAL(pvback_attach(&be2, g->ctl_path, "vif/0") == 0);
	CU_ASSERT_FATAL(pvback_evtchn_bind(be2, port, &e) == 0);
	pvfront_evtchn_send(&g->front, port);
	CU_ASSERT(readable(e->wait_fd, 1000));
	CU_ASSERT_EQUAL(pvback_evtchn_notify(be2, e), 0);
	CU_ASSERT(pvfront_evtchn_poll(&g->front, port));
	pvback_detach(be2);
	teardown();
}

static void test_evtchn_hypercalls_reject_hostile_arguments(void)
{
	uint32_t *arg;
	uint64_t pa;

	CU_ASSERT_FATAL(harness_guest_new(&g, 8 << 20, 2) == 0);
	arg = harness_alloc_page(g);
	pa = harness_gpa(g, arg);
	const uint32_t bad_ports[] = { 0, PVKVM_EVTCHN_NR_PORTS, UINT32_MAX, 77 };
	for (unsigned i = 0; i < 4; i++) {
		arg[0] = bad_ports[i];
		for (uint64_t cmd = PVKVM_EVTCHNOP_CLOSE; cmd <= PVKVM_EVTCHNOP_BIND_VCPU; cmd++)
			if (cmd != PVKVM_EVTCHNOP_UNMASK || i < 3)
				CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_EVTCHN_OP, cmd, pa, 0), -EINVAL);
		CU_ASSERT(harness_hcall(g, 0, PVKVM_HC_EVTCHN_OP, PVKVM_EVTCHNOP_SEND, pa, 0) < 0);
	}
	/* Argument addresses: outside RAM, in the hole, misaligned, wrapping. */
	const uint64_t bad_gpa[] = { 8 << 20, HARNESS_HOLE_GPA - 4, pa + 1, UINT64_MAX - 1, (4 << 20) - 2 };
	for (unsigned i = 0; i < 5; i++)
		for (uint64_t cmd = 0; cmd <= PVKVM_EVTCHNOP_STATUS; cmd++)
			CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_EVTCHN_OP, cmd, bad_gpa[i], 0), -EFAULT);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_EVTCHN_OP, 6, pa, 0), -ENOSYS);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_EVTCHN_OP, UINT64_MAX, pa, 0), -ENOSYS);
	/* alloc_unbound for someone else's domain, or remote = itself. */
	struct pvkvm_evtchn_alloc_unbound *a = (void *)arg;
	*a = (struct pvkvm_evtchn_alloc_unbound){ .dom = 9, .remote_dom = 0 };
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_EVTCHN_OP, 0, pa, 0), -EPERM);
	*a = (struct pvkvm_evtchn_alloc_unbound){ .dom = PVKVM_DOMID_SELF, .remote_dom = HARNESS_DOMID };
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_EVTCHN_OP, 0, pa, 0), -EINVAL);
	/* bind_vcpu past the last vCPU. */
	*a = (struct pvkvm_evtchn_alloc_unbound){ .dom = PVKVM_DOMID_SELF, .remote_dom = 0 };
	CU_ASSERT_FATAL(harness_hcall(g, 0, PVKVM_HC_EVTCHN_OP, 0, pa, 0) == 0);
	arg[1] = 2;
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_EVTCHN_OP, PVKVM_EVTCHNOP_BIND_VCPU, pa, 0), -EINVAL);
	harness_guest_free(g);
	g = NULL;
}

static void test_other_hypercalls_reject_hostile_arguments(void)
{
	uint64_t args[5] = { 0 };
	uint8_t *page;

	CU_ASSERT_FATAL(harness_guest_new(&g, 8 << 20, 2) == 0);
	page = harness_alloc_page(g);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_NR, 0, 0, 0), -ENOSYS);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, UINT64_MAX, 0, 0, 0), -ENOSYS);
	CU_ASSERT_EQUAL(pv_hcall_dispatch(g->plat, 2, PVKVM_HC_VERSION, args), -EINVAL);
	CU_ASSERT_EQUAL(pv_hcall_dispatch(g->plat, UINT32_MAX, PVKVM_HC_VERSION, args), -EINVAL);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_VERSION, 7, 0, 0), -ENOSYS);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_SHARED_INFO, (8 << 20) >> 12, 0, 0), -EFAULT);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_SHARED_INFO, UINT64_MAX, 0, 0), -EFAULT);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_CONSOLE_WRITE, harness_gpa(g, page), PVKVM_CONSOLE_MAX + 1, 0), -EINVAL);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_CONSOLE_WRITE, (4 << 20) - 10, 20, 0), -EFAULT);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_SCHED_OP, PVKVM_SCHED_SHUTDOWN, 3, 0), -EINVAL);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_SCHED_OP, 1, 0, 0), -ENOSYS);
	CU_ASSERT_EQUAL(g->shutdown_reason, -1);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_SCHED_OP, PVKVM_SCHED_SHUTDOWN, PVKVM_SHUTDOWN_CRASH, 0), 0);
	CU_ASSERT_EQUAL(g->shutdown_reason, PVKVM_SHUTDOWN_CRASH);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_VCPU_UP, 0, harness_gpa(g, page), 0), -EINVAL);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_VCPU_UP, 2, harness_gpa(g, page), 0), -EINVAL);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_VCPU_UP, 1, 8 << 20, 0), -EFAULT);
	((struct pvkvm_vcpu_regs *)page)->reserved[2] = 1;
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_VCPU_UP, 1, harness_gpa(g, page), 0), -EINVAL);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_STORE_OP, PVKVM_STORE_GET_GFN, 0, 0), -ENOENT);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_STORE_OP, PVKVM_STORE_SET_GFN, 1ULL << 40, 0), -EFAULT);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_STORE_OP, 9, 0, 0), -ENOSYS);
	int64_t port = harness_hcall(g, 0, PVKVM_HC_STORE_OP, PVKVM_STORE_SET_GFN, harness_gpa(g, page) >> 12, 0);
	CU_ASSERT(port > 0);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_STORE_OP, PVKVM_STORE_SET_GFN, harness_gpa(g, page) >> 12, 0), -EEXIST);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_STORE_OP, PVKVM_STORE_GET_EVTCHN, 0, 0), port);
	/* The guest cannot close the VMM's store port. */
	uint32_t *arg = harness_alloc_page(g);
	*arg = (uint32_t)port;
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_EVTCHN_OP, PVKVM_EVTCHNOP_CLOSE, harness_gpa(g, arg), 0), -EPERM);
	harness_guest_free(g);
	g = NULL;
}

/* The VMM's reserved ring page: the port exists before the guest asks (so
 * the domain can be introduced), the first GET_GFN makes the page the ring
 * (zeroed), and a later SET_GFN cannot replace it. */
static void test_store_get_gfn_hands_out_the_vmm_reserved_page(void)
{
	uint8_t *rsv, *own;
	int64_t port;

	CU_ASSERT_FATAL(harness_guest_new(&g, 8 << 20, 1) == 0);
	rsv = harness_alloc_page(g);
	own = harness_alloc_page(g);
	memset(rsv, 0xaa, 4096);
	CU_ASSERT_EQUAL(pv_plat_store_reserve(g->plat, UINT64_C(1) << 40), -EFAULT);
	CU_ASSERT_FATAL(pv_plat_store_reserve(g->plat, harness_gpa(g, rsv) >> 12) == 0);
	port = harness_hcall(g, 0, PVKVM_HC_STORE_OP, PVKVM_STORE_GET_EVTCHN, 0, 0);
	CU_ASSERT(port > 0);
	CU_ASSERT_EQUAL(rsv[100], 0xaa); /* not the ring yet */
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_STORE_OP, PVKVM_STORE_GET_GFN, 0, 0),
			(int64_t)(harness_gpa(g, rsv) >> 12));
	CU_ASSERT_EQUAL(rsv[100], 0);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_STORE_OP, PVKVM_STORE_GET_GFN, 0, 0),
			(int64_t)(harness_gpa(g, rsv) >> 12));
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_STORE_OP, PVKVM_STORE_SET_GFN, harness_gpa(g, own) >> 12, 0),
			-EEXIST);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_STORE_OP, PVKVM_STORE_GET_EVTCHN, 0, 0), port);
	harness_guest_free(g);
	/* A guest that prefers its own page sets it first, with the same port. */
	CU_ASSERT_FATAL(harness_guest_new(&g, 8 << 20, 1) == 0);
	rsv = harness_alloc_page(g);
	own = harness_alloc_page(g);
	CU_ASSERT_FATAL(pv_plat_store_reserve(g->plat, harness_gpa(g, rsv) >> 12) == 0);
	port = harness_hcall(g, 0, PVKVM_HC_STORE_OP, PVKVM_STORE_GET_EVTCHN, 0, 0);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_STORE_OP, PVKVM_STORE_SET_GFN, harness_gpa(g, own) >> 12, 0),
			port);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_STORE_OP, PVKVM_STORE_GET_GFN, 0, 0),
			(int64_t)(harness_gpa(g, own) >> 12));
	harness_guest_free(g);
	g = NULL;
}

static const struct cunit_test evtchn_tests[] = {
	CUNIT_TEST_BARE(test_store_get_gfn_hands_out_the_vmm_reserved_page),
	CUNIT_TEST_BARE(test_evtchn_ping_pong_through_eventfds_without_vmm_exits),
	CUNIT_TEST_BARE(test_notify_raises_upcall_only_when_unmasked),
	CUNIT_TEST_BARE(test_bind_vcpu_moves_upcall_to_other_vcpu),
	CUNIT_TEST_BARE(test_backend_bind_refuses_foreign_and_double_binds),
	CUNIT_TEST_BARE(test_guest_close_tells_backend),
	CUNIT_TEST_BARE(test_restarted_backend_rebinds_the_same_port),
	CUNIT_TEST_BARE(test_evtchn_hypercalls_reject_hostile_arguments),
	CUNIT_TEST_BARE(test_other_hypercalls_reject_hostile_arguments),
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CUNIT_SUITE("evtchn", NULL, NULL, evtchn_tests);
	return cunit_run_all();
}
