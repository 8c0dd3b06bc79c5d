/* SPDX-License-Identifier: MIT */
/* The vbd XenbusState handshake with the real pvkvm-stored: the frontend
 * core's store client (store ring, VMM proxy) and blkfront_bus on the guest
 * side, blkback_bus (xs_client) or the pvkvm-blkback daemon on the host side;
 * statistics in the store; a daemon killed and restarted through the store. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blkback_fake_guest.h"
#include "pvback_bus.h"
#include "pvfront_bus.h"
#include "store_dom.h"
#include "store_proxy.h"
#include "xs_daemon.h"

static struct harness_guest *g;
static struct xs_daemon *xsd;
static pthread_t xsd_thread;
static char sock[128];
static struct pvfront_xs xs;
static struct xs_client *dom0;

static void *xsd_run(void *arg)
{
	xs_daemon_run(arg);
	return NULL;
}

static int suite_init(void)
{
	struct xs_daemon_opts o = { 0 };
	int fd;

	if (!(g = fg_guest_new(128)))
		return 1;
	snprintf(sock, sizeof(sock), "%s/store.sock", g->run_dir);
	o.socket_path = sock;
	xs_quota_defaults(&o.quota);
	if (xs_daemon_new(&o, &xsd) || pthread_create(&xsd_thread, NULL, xsd_run, xsd))
		return 1;
	if (xs_client_open(sock, &dom0))
		return 1;
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

static char *dom0_read(const char *path)
{
	char *v = NULL;
	size_t len;

	return xs_read(dom0, 0, path, &v, &len) ? NULL : v;
}

struct be_thread {
	struct blkback_dev *d;
	struct pvback_dom *dom;
	uint32_t devid;
	int result;
};

static void *backend_connect(void *arg)
{
	struct be_thread *b = arg;
	struct xs_client *c;

	b->result = xs_client_open(sock, &c);
	if (!b->result)
		b->result = blkback_bus_connect(b->d, c, b->dom, HARNESS_DOMID, b->devid, 10000);
	if (!b->result)
		b->result = blkback_bus_write_stats(b->d, c, HARNESS_DOMID, b->devid);
	xs_client_close(c);
	return NULL;
}

static int add_vbd(uint32_t devid, const char *path)
{
	const char *k[] = { "params" }, *v[] = { path };

	return pv_store_add_device(sock, HARNESS_DOMID, "vbd", devid, k, v, 1);
}

static int find_dev(uint32_t devid, struct pvfront_dev *out)
{
	struct pvfront_dev devs[8];
	int n = pvfront_bus_discover(&xs, "vbd", devs, 8);

	for (int i = 0; i < n; i++)
		if (devs[i].id == devid) {
			*out = devs[i];
			return 0;
		}
	return -ENOENT;
}

static void test_handshake_multiqueue_multipage_then_io_and_statistics(void)
{
	struct blkfront *bf = calloc(1, sizeof(*bf));
	struct be_thread b = { .devid = 51712 };
	struct blkback_disk_opts o;
	struct pvfront_dev dev;
	char path[256], spec[300], err[64], *v;
	pthread_t t;
	uint8_t *buf = fg_alloc(g, 64 << 10), *rb = fg_alloc(g, 64 << 10);

	CU_ASSERT_FATAL(fg_image_new(path, sizeof(path), 8 << 20) == 0);
	snprintf(spec, sizeof(spec), "%s,queues=2,ring-page-order=1,discard=unmap", path);
	CU_ASSERT_FATAL(blkback_disk_opts_parse(&o, spec, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(blkback_dev_open(&b.d, &o) == 0);
	CU_ASSERT_FATAL(pvback_attach(&b.dom, g->ctl_path, "vbd/51712") == 0);
	CU_ASSERT_FATAL(add_vbd(51712, path) == 0);
	CU_ASSERT_FATAL(find_dev(51712, &dev) == 0);
	pthread_create(&t, NULL, backend_connect, &b);
	/* Asks for more than offered: gets 2 queues of 2 pages. */
	CU_ASSERT_EQUAL(blkfront_bus_connect(bf, &xs, &dev, 4, 2), 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL_FATAL(b.result, 0);
	CU_ASSERT_EQUAL(bf->nr_queues, 2);
	CU_ASSERT_EQUAL(bf->ring_order, 1);
	CU_ASSERT_EQUAL(bf->feat.sectors, (8 << 20) / 512);
	CU_ASSERT(bf->feat.discard && bf->feat.flush && bf->feat.fua && !bf->feat.readonly);
	v = dom0_read("/local/domain/5/device/vbd/51712/queue-1/ring-ref1");
	CU_ASSERT_PTR_NOT_NULL(v);
	free(v);
	for (unsigned q = 0; q < 2; q++) {
		fg_fill(buf, 64 << 10, q, 2);
		CU_ASSERT_EQUAL(fg_io(bf, q, BLKIF_OP_WRITE, 0, 1000 * q, buf, 64 << 10, g), 0);
		CU_ASSERT_EQUAL(fg_io(bf, q, BLKIF_OP_READ, 0, 1000 * q, rb, 64 << 10, g), 0);
		CU_ASSERT(memcmp(buf, rb, 64 << 10) == 0);
	}
	struct xs_client *c;
	CU_ASSERT_FATAL(xs_client_open(sock, &c) == 0);
	CU_ASSERT_EQUAL(blkback_bus_write_stats(b.d, c, HARNESS_DOMID, 51712), 0);
	v = dom0_read("/local/domain/0/backend/vbd/5/51712/statistics/wr_req");
	CU_ASSERT(v && !strcmp(v, "2"));
	free(v);
	v = dom0_read("/local/domain/0/backend/vbd/5/51712/state");
	CU_ASSERT(v && !strcmp(v, "4"));
	free(v);
	CU_ASSERT_EQUAL(blkback_bus_disconnect(b.d, c, HARNESS_DOMID, 51712), 0);
	xs_client_close(c);
	blkback_dev_close(b.d);
	pvback_detach(b.dom);
	unlink(path);
	free(bf);
}

static void test_daemon_killed_and_restarted_reconnects_through_store(void)
{
	enum { N = 120, IO = 128 << 10 };
	struct blkfront *bf = calloc(1, sizeof(*bf));
	struct pvfront_dev dev;
	char path[256], spec[300];
	uint8_t *buf = fg_alloc(g, (size_t)N * IO);
	int pid;

	CU_ASSERT_FATAL(bf && buf && fg_image_new(path, sizeof(path), (uint64_t)N * IO) == 0);
	snprintf(spec, sizeof(spec), "%s,cache=none", path);
	const char *args[] = { "--ctl", g->ctl_path, "--domid", "5", "--devid", "51728", "--disk", spec,
			       "--store", sock, NULL };
	CU_ASSERT_FATAL(add_vbd(51728, path) == 0);
	CU_ASSERT_FATAL(find_dev(51728, &dev) == 0);
	pid = fg_spawn_blkback(args);
	CU_ASSERT_EQUAL_FATAL(blkfront_bus_connect(bf, &xs, &dev, 1, 0), 0);
	for (unsigned i = 0; i < N; i++)
		fg_fill(buf + (size_t)i * IO, IO, (uint64_t)i * IO / 512, 13);
	/* First half, then kill with the second half in flight. */
	for (unsigned i = 0; i < N; i++) {
		struct blkfront_io io = { .op = BLKIF_OP_WRITE, .len_bytes = IO, .tag = i,
					  .sector = (uint64_t)i * IO / 512,
					  .buf_gpa = harness_gpa(g, buf + (size_t)i * IO) };

		while (blkfront_submit(bf, 0, &io) == -PVFRONT_EAGAIN) {
			blkfront_kick(bf, 0);
			CU_ASSERT_EQUAL_FATAL(fg_wait_one(bf, 0, NULL), 0);
		}
	}
	blkfront_kick(bf, 0);
	fg_kill9(pid);
	CU_ASSERT(blkfront_in_flight(bf, 0) > 0);
	for (int i = 0; i < 2000 && pv_ctl_nr_conns(g->ctl); i++)
		usleep(1000);
	pid = fg_spawn_blkback(args);
	CU_ASSERT_EQUAL(blkfront_bus_reconnect(bf, &xs, &dev), 0);
	while (blkfront_in_flight(bf, 0))
		CU_ASSERT_EQUAL_FATAL(fg_wait_one(bf, 0, NULL), 0);
	CU_ASSERT_EQUAL(fg_io(bf, 0, BLKIF_OP_FLUSH, 0, 0, NULL, 0, g), 0);
	uint8_t *rb = fg_alloc(g, IO);
	for (unsigned i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(fg_io(bf, 0, BLKIF_OP_READ, 0, (uint64_t)i * IO / 512, rb, IO, g), 0);
		CU_ASSERT(memcmp(rb, buf + (size_t)i * IO, IO) == 0);
	}
	CU_ASSERT_EQUAL(pvfront_bus_close(&xs, &dev), 0);
	kill(pid, SIGTERM);
	int status = -1;
	waitpid(pid, &status, 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(path);
	free(bf);
}

static void test_embedded_server_serves_again_after_frontend_reboot(void)
{
	struct blkfront *bf = calloc(1, sizeof(*bf)), *bf2 = calloc(1, sizeof(*bf2));
	struct blkback_serve_opts o = { .domid = HARNESS_DOMID, .devid = 51744, .stats_ms = 100 };
	struct blkback_server *srv;
	struct pvfront_dev dev;
	char path[256], spec[300], err[64], *v;
	uint8_t *buf = fg_alloc(g, 8192), *rb = fg_alloc(g, 8192);

	CU_ASSERT_FATAL(fg_image_new(path, sizeof(path), 4 << 20) == 0);
	snprintf(spec, sizeof(spec), "%s,io=threads,cache=writeback", path);
	CU_ASSERT_FATAL(blkback_disk_opts_parse(&o.disk, spec, err, sizeof(err)) == 0);
	o.ctl_path = g->ctl_path;
	o.store_sock = sock;
	CU_ASSERT_FATAL(add_vbd(51744, path) == 0);
	CU_ASSERT_FATAL(find_dev(51744, &dev) == 0);
	CU_ASSERT_FATAL(blkback_server_start(&srv, &o) == 0);
	CU_ASSERT_EQUAL_FATAL(blkfront_bus_connect(bf, &xs, &dev, 1, 0), 0);
	fg_fill(buf, 8192, 64, 4);
	CU_ASSERT_EQUAL(fg_io(bf, 0, BLKIF_OP_WRITE, BLKIF_F_FUA, 64, buf, 8192, g), 0);
	usleep(300000);
	v = dom0_read("/local/domain/0/backend/vbd/5/51744/statistics/wr_req");
	CU_ASSERT(v && !strcmp(v, "1"));
	free(v);
	/* `pvkvm blkstat` shows them. */
	char cmd[512], line[512] = "";
	snprintf(cmd, sizeof(cmd), "exec \"$(dirname \"$(readlink /proc/%d/exe)\")/../bin/pvkvm\" "
		 "blkstat --socket %s 5 51744", (int)getpid(), sock);
	FILE *p = popen(cmd, "r");
	CU_ASSERT_FATAL(p != NULL);
	while (fgets(line, sizeof(line), p) && !strstr(line, "wr_req"))
		;
	CU_ASSERT_EQUAL(pclose(p), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "wr_req 1 "));
	/* The guest reboots: closes, then connects with fresh rings. */
	CU_ASSERT_EQUAL(pvfront_bus_close(&xs, &dev), 0);
	CU_ASSERT_EQUAL_FATAL(blkfront_bus_connect(bf2, &xs, &dev, 1, 0), 0);
	CU_ASSERT_EQUAL(fg_io(bf2, 0, BLKIF_OP_READ, 0, 64, rb, 8192, g), 0);
	CU_ASSERT(memcmp(buf, rb, 8192) == 0);
	blkback_server_stop(srv);
	v = dom0_read("/local/domain/0/backend/vbd/5/51744/state");
	CU_ASSERT(v && !strcmp(v, "6"));
	free(v);
	unlink(path);
	free(bf);
	free(bf2);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("blkback_bus", suite_init, suite_clean);
	CU_add_test(s, "handshake_multiqueue_multipage_then_io_and_statistics", test_handshake_multiqueue_multipage_then_io_and_statistics);
	CU_add_test(s, "daemon_killed_and_restarted_reconnects_through_store", test_daemon_killed_and_restarted_reconnects_through_store);
	CU_add_test(s, "embedded_server_serves_again_after_frontend_reboot", test_embedded_server_serves_again_after_frontend_reboot);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	int failed = (int)CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
