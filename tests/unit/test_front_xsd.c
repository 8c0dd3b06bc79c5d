/* SPDX-License-Identifier: MIT */
/* The whole store path with the real pvkvm-stored: the frontend core's store
 * client in a harness guest -> store ring -> VMM proxy -> a connection handed
 * over to the guest's domid -> xs_daemon; the backend library's handshake on
 * a domain-0 client; introduce/release and their special watches. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "pvback_bus.h"
#include "pvfront_bus.h"
#include "pvtest_back.h"
#include "pvtest_front.h"
#include "store_dom.h"
#include "xs_daemon.h"
#include "cunit_main.h"

static struct harness_guest *g;
static struct xs_daemon *xsd;
static pthread_t xsd_thread;
static char sock[128];
static struct pvfront_xs xs;
static struct xs_client *dom0;
static int introduced, released;

static void *xsd_run(void *arg)
{
	xs_daemon_run(arg);
	return NULL;
}

static void on_special(void *opaque, const char *path, const char *token)
{
	if (!strcmp(path, "@introduceDomain"))
		introduced++;
	if (!strcmp(path, "@releaseDomain"))
		released++;
}

static int suite_init(void)
{
	struct xs_daemon_opts o = { 0 };
	int fd;

	if (harness_guest_new(&g, 8 << 20, 1))
		return 1;
	snprintf(sock, sizeof(sock), "%s/store.sock", g->run_dir);
	o.socket_path = sock;
	xs_quota_defaults(&o.quota);
	if (xs_daemon_new(&o, &xsd) || pthread_create(&xsd_thread, NULL, xsd_run, xsd))
		return 1;
	if (xs_client_open(sock, &dom0) ||
	    xs_watch(dom0, "@introduceDomain", "i", on_special, NULL) ||
	    xs_watch(dom0, "@releaseDomain", "r", on_special, NULL))
		return 1;
	xs_client_dispatch(dom0, 200); /* the initial firings */
	introduced = released = 0;
	/* What the VMM does at boot: ring page + port, introduce, proxy. */
	void *ring = harness_alloc_page(g);
	if (pv_plat_set_store_ring(g->plat, harness_gpa(g, ring) >> 12) ||
	    pv_store_introduce(sock, HARNESS_DOMID, harness_gpa(g, ring) >> 12, g->plat->store_port, &fd) ||
	    pv_store_proxy_start(&g->store, g->plat, fd))
		return 1;
	return pvfront_xs_init(&xs, &g->front) ? 1 : 0;
}

static int suite_clean(void)
{
	xs_client_close(dom0);
	pv_store_proxy_stop(g->store);
	g->store = NULL;
	xs_daemon_stop(xsd);
	pthread_join(xsd_thread, NULL);
	xs_daemon_free(xsd);
	unlink(sock);
	harness_guest_free(g);
	return 0;
}

static void test_introduce_fires_watch_and_home_belongs_to_guest(void)
{
	char *perms = NULL;
	size_t len;

	for (int i = 0; i < 10 && !introduced; i++)
		xs_client_dispatch(dom0, 100);
	CU_ASSERT_EQUAL(introduced, 1);
	CU_ASSERT_EQUAL(xs_get_perms(dom0, 0, "/local/domain/5", &perms, &len), 0);
	if (perms)
		CU_ASSERT_STRING_EQUAL(perms, "n5");
	free(perms);
}

static void test_guest_store_round_trip_seen_by_dom0(void)
{
	char buf[32], *v = NULL;
	size_t len;

	CU_ASSERT_EQUAL(pvfront_xs_write(&xs, 0, "data/hello", "world"), 0);
	CU_ASSERT_EQUAL(xs_read(dom0, 0, "/local/domain/5/data/hello", &v, &len), 0);
	if (v)
		CU_ASSERT_STRING_EQUAL(v, "world");
	free(v);
	CU_ASSERT_EQUAL(xs_write(dom0, 0, "/local/domain/5/data/fromhost", "42", 2), 0);
	CU_ASSERT_EQUAL(pvfront_xs_read(&xs, 0, "data/fromhost", buf, sizeof(buf)), 2);
	CU_ASSERT_STRING_EQUAL(buf, "42");
}

static void test_guest_is_confined_to_its_domid(void)
{
	char buf[32];

	CU_ASSERT_EQUAL(xs_write(dom0, 0, "/local/domain/0/secret", "x", 1), 0);
	CU_ASSERT_EQUAL(pvfront_xs_read(&xs, 0, "/local/domain/0/secret", buf, sizeof(buf)),
			-PVFRONT_EACCES);
	CU_ASSERT_EQUAL(pvfront_xs_write(&xs, 0, "/local/domain/0/secret", "y"), -PVFRONT_EACCES);
	CU_ASSERT_EQUAL(pvfront_xs_write(&xs, 0, "/local/domain/7/x", "y"), -PVFRONT_EACCES);
}

static void test_guest_watch_fires_on_host_write(void)
{
	struct pvfront_xs_event ev;
	const char *p, *t;

	CU_ASSERT_EQUAL(pvfront_xs_watch(&xs, "control", "ctl"), 0);
	CU_ASSERT_EQUAL(pvfront_xs_next_event(&xs, true, &ev, &p, &t), 1); /* initial firing */
	CU_ASSERT_EQUAL(xs_write(dom0, 0, "/local/domain/5/control/shutdown", "poweroff", 8), 0);
	/* The implicit creation of control/ may fire first. */
	bool seen = false;
	for (int i = 0; i < 4 && !seen; i++) {
		CU_ASSERT_EQUAL_FATAL(pvfront_xs_next_event(&xs, true, &ev, &p, &t), 1);
		CU_ASSERT_STRING_EQUAL(t, "ctl");
		seen = strstr(p, "control/shutdown") != NULL;
	}
	CU_ASSERT(seen);
	CU_ASSERT_EQUAL(pvfront_xs_unwatch(&xs, "control", "ctl"), 0);
}

struct be_arg {
	int result;
	uint64_t ring_ref, evtchn;
};

static void *backend_side(void *arg)
{
	struct be_arg *a = arg;
	struct pvback_bus_dev b;
	struct xs_client *c;
	int st;

	a->result = -1;
	if (xs_client_open(sock, &c))
		return NULL;
	if (pvback_bus_open(&b, c, "vbd", HARNESS_DOMID, 51712) ||
	    pvback_bus_set_state(&b, PVBACK_STATE_INITWAIT))
		goto out;
	st = pvback_bus_wait_frontend(&b, PVBACK_STATE_INITIALISED, PVBACK_STATE_CONNECTED, 5000);
	if (st < 0 || pvback_bus_read_fe_uint(&b, "ring-ref", UINT32_MAX, &a->ring_ref) ||
	    pvback_bus_read_fe_uint(&b, "event-channel", 4095, &a->evtchn) ||
	    pvback_bus_set_state(&b, PVBACK_STATE_CONNECTED))
		goto out;
	if (pvback_bus_wait_frontend(&b, PVBACK_STATE_CLOSING, PVBACK_STATE_CLOSED, 5000) < 0 ||
	    pvback_bus_set_state(&b, PVBACK_STATE_CLOSED))
		goto out;
	a->result = 0;
out:
	xs_client_close(c);
	return NULL;
}

static void test_xenbus_handshake_between_frontend_core_and_backend_lib(void)
{
	const char *keys[] = { "ring-ref", "event-channel" }, *vals[] = { "777", "9" };
	const char *be_keys[] = { "params", "sectors" }, *be_vals[] = { "disk.img", "2048" };
	struct pvfront_dev dev;
	struct be_arg a;
	pthread_t t;
	char buf[16];

	CU_ASSERT_FATAL(pv_store_add_device(sock, HARNESS_DOMID, "vbd", 51712, be_keys, be_vals, 2) == 0);
	CU_ASSERT_FATAL(pvfront_bus_discover(&xs, "vbd", &dev, 1) == 1);
	CU_ASSERT_STRING_EQUAL(dev.backend, "/local/domain/0/backend/vbd/5/51712");
	/* The guest reads its backend's keys but cannot change them. */
	CU_ASSERT_EQUAL(pvfront_xs_read(&xs, 0, "/local/domain/0/backend/vbd/5/51712/sectors", buf, sizeof(buf)), 4);
	CU_ASSERT_EQUAL(pvfront_xs_write(&xs, 0, "/local/domain/0/backend/vbd/5/51712/sectors", "1"), -PVFRONT_EACCES);
	pthread_create(&t, NULL, backend_side, &a);
	CU_ASSERT_EQUAL(pvfront_bus_connect(&xs, &dev, keys, vals, 2), 0);
	CU_ASSERT_EQUAL(pvfront_bus_backend_state(&xs, &dev), PVFRONT_STATE_CONNECTED);
	CU_ASSERT_EQUAL(pvfront_bus_close(&xs, &dev), 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(a.result, 0);
	CU_ASSERT_EQUAL(a.ring_ref, 777);
	CU_ASSERT_EQUAL(a.evtchn, 9);
}

struct pvtest_arg {
	int err;
	char why[160];
};

static void *pvtest_backend(void *arg)
{
	struct pvtest_arg *a = arg;

	a->err = pvtest_back_run(sock, g->ctl_path, HARNESS_DOMID, 0, 5000, a->why, sizeof(a->why));
	return NULL;
}

/* The self-test the mini-guest runs (test=evtchn / test=grant), here with the
 * guest half in this thread and the host test backend in another. */
static void test_pvtest_selftest_passes_between_guest_core_and_host_backend(void)
{
	struct pvtest_arg a = { 0 };
	pthread_t t;
	int err;

	CU_ASSERT_FATAL(pv_store_add_device(sock, HARNESS_DOMID, "pvtest", 0, NULL, NULL, 0) == 0);
	pthread_create(&t, NULL, pvtest_backend, &a);
	err = pvtest_front_run(&g->front, &xs, 1000);
	pthread_join(t, NULL);
	if (err || a.err)
		printf("\n    guest: %s; backend: %s\n", pvtest_front_strerror(err), a.why);
	CU_ASSERT_EQUAL(err, 0);
	CU_ASSERT_EQUAL(a.err, 0);
}

static void test_release_removes_home_and_fires_watch(void)
{
	char *v = NULL;
	size_t len;

	CU_ASSERT_EQUAL(pv_store_release(sock, HARNESS_DOMID), 0);
	for (int i = 0; i < 10 && !released; i++)
		xs_client_dispatch(dom0, 100);
	CU_ASSERT_EQUAL(released, 1);
	CU_ASSERT_EQUAL(xs_read(dom0, 0, "/local/domain/5/data/hello", &v, &len), -ENOENT);
	free(v);
}

static const struct cunit_test front_xsd_tests[] = {
	CUNIT_TEST_BARE(test_introduce_fires_watch_and_home_belongs_to_guest),
	CUNIT_TEST_BARE(test_guest_store_round_trip_seen_by_dom0),
	CUNIT_TEST_BARE(test_guest_is_confined_to_its_domid),
	CUNIT_TEST_BARE(test_guest_watch_fires_on_host_write),
	CUNIT_TEST_BARE(test_xenbus_handshake_between_frontend_core_and_backend_lib),
	CUNIT_TEST_BARE(test_pvtest_selftest_passes_between_guest_core_and_host_backend),
	CUNIT_TEST_BARE(test_release_removes_home_and_fires_watch),
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CUNIT_SUITE("front_xsd", suite_init, suite_clean, front_xsd_tests);
	return cunit_run_all();
}
