/* SPDX-License-Identifier: MIT */
/* pvnet through the store: the real pvkvm-stored in-process, the guest's
 * store ring proxied by the VMM-side code, net_back (the embeddable backend
 * thread) and the frontend core's netfront_connect(); backend restart with
 * frontend reconnect, graceful close, a second vif hot-plugged, link
 * down/up.  TAPs live in this process's own network namespace. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netback_bus.h"
#include "store_dom.h"
#include "test_netback_util.h"
#include "xs_daemon.h"

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0x01 };
static struct harness_guest *g;
static struct xs_daemon *xsd;
static pthread_t xsd_thread;
static char sock[128];
static struct pvfront_xs xs;
static uint8_t out[16384], in[16384];

static void *xsd_run(void *arg)
{
	xs_daemon_run(arg);
	return NULL;
}

static int suite_init(void)
{
	struct xs_daemon_opts o = { 0 };
	void *ring;
	int fd;

	if (!(g = tnet_guest_new()))
		return 1;
	snprintf(sock, sizeof(sock), "%s/store.sock", g->run_dir);
	o.socket_path = sock;
	xs_quota_defaults(&o.quota);
	if (xs_daemon_new(&o, &xsd) || pthread_create(&xsd_thread, NULL, xsd_run, xsd))
		return 1;
	ring = harness_alloc_page(g);
	if (pv_plat_set_store_ring(g->plat, harness_gpa(g, ring) >> 12) ||
	    pv_store_introduce(sock, HARNESS_DOMID, harness_gpa(g, ring) >> 12, g->plat->store_port, &fd) ||
	    pv_store_proxy_start(&g->store, g->plat, fd))
		return 1;
	return pvfront_xs_init(&xs, &g->front) ? 1 : 0;
}

static int suite_clean(void)
{
	pv_store_proxy_stop(g->store);
	g->store = NULL;
	xs_daemon_stop(xsd);
	pthread_join(xsd_thread, NULL);
	xs_daemon_free(xsd);
	unlink(sock);
	harness_guest_free(g);
	return 0;
}

static int start_backend(struct net_back **nb, uint32_t devid, const char *tap, uint32_t mtu)
{
	struct net_back_opts o = { .ctl_path = g->ctl_path, .store_sock = sock,
				   .domid = HARNESS_DOMID, .devid = devid };

	snprintf(o.cfg.tap, sizeof(o.cfg.tap), "%s", tap);
	memcpy(o.cfg.mac, guest_mac, 6);
	o.cfg.mac[5] = (uint8_t)(devid + 1);
	o.cfg.mtu = mtu;
	return net_back_start(nb, &o);
}

/* The tnet_vif view of a store-connected vif: TAP up, packet socket. */
static int host_side(struct tnet_vif *t, struct net_back *nb)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(0x0003) };
	const char *ifname = net_vif_ifname(net_back_vif(nb));
	char cmd[128];

	if (t->pkt_fd >= 0)
		close(t->pkt_fd);
	t->v = net_back_vif(nb);
	snprintf(cmd, sizeof(cmd), "echo 1 > /proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	if (system(cmd) || tnet_link(ifname, true))
		return -1;
	t->ifindex = (int)if_nametoindex(ifname);
	sll.sll_ifindex = t->ifindex;
	t->pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(0x0003));
	if (t->pkt_fd < 0 || bind(t->pkt_fd, (struct sockaddr *)&sll, sizeof(sll)))
		return -1;
	/* Frames to the guest are addressed from a made-up host MAC. */
	memcpy(t->tap_mac, (uint8_t[]){ 0x02, 0, 0, 0, 0, 1 }, 6);
	return 0;
}

static bool round_trip(struct tnet_vif *t, uint32_t len, uint32_t seed)
{
	tnet_frame(out, len, t->tap_mac, t->nf.mac, seed);
	if (tnet_guest_send(t, out, len, NULL) ||
	    tnet_host_recv(t, TNET_ETHERTYPE, in, sizeof(in), 2000) != (int)len || memcmp(in, out, len))
		return false;
	tnet_frame(out, len, t->nf.mac, t->tap_mac, seed + 1);
	if (tnet_host_send(t, out, len))
		return false;
	return tnet_guest_recv(t, TNET_ETHERTYPE, in, sizeof(in), 2000, NULL) == (int)len &&
	       !memcmp(in, out, len);
}

static int frontend_up(struct tnet_vif *t, uint32_t devid)
{
	struct pvfront_dev devs[4];
	int n = pvfront_bus_discover(&xs, "vif", devs, 4), err;

	for (int i = 0; i < n; i++) {
		if (devs[i].id != devid)
			continue;
		if ((err = netfront_init(&t->nf, &g->front, devs[i].backend_id, 1)))
			return err;
		return netfront_connect(&t->nf, &xs, &devs[i]);
	}
	return -ENOENT;
}

static struct tnet_vif v0 = { .pkt_fd = -1 }, v1 = { .pkt_fd = -1 };
static struct net_back *nb0, *nb1;

static void test_store_handshake_gives_mac_mtu_and_connects(void)
{
	char *mac = NULL;

	CU_ASSERT_FATAL(pv_store_add_device(sock, HARNESS_DOMID, "vif", 0, NULL, NULL, 0) == 0);
	CU_ASSERT_FATAL(start_backend(&nb0, 0, "pvtn0", 9000) == 0);
	CU_ASSERT_FATAL(frontend_up(&v0, 0) == 0);
	CU_ASSERT_EQUAL(memcmp(v0.nf.mac, guest_mac, 5), 0);
	CU_ASSERT_EQUAL(v0.nf.mac[5], 1);
	CU_ASSERT_EQUAL(v0.nf.mtu, 9000);
	CU_ASSERT(v0.nf.be_sg && v0.nf.be_gso_tcpv4);
	CU_ASSERT(net_back_connected(nb0));
	CU_ASSERT_FATAL(host_side(&v0, nb0) == 0);
	CU_ASSERT(round_trip(&v0, 100, 1));
	CU_ASSERT(round_trip(&v0, 9014, 2));
	(void)mac;
}

static void test_frontend_reconnects_after_backend_restart(void)
{
	int r = 0;

	net_back_stop(nb0); /* as if pvkvm-netback was killed */
	CU_ASSERT_FATAL(start_backend(&nb0, 0, "pvtn0", 9000) == 0);
	for (int i = 0; i < 100 && r != 1; i++) {
		r = netfront_check_backend(&v0.nf);
		if (r != 1)
			usleep(20000);
	}
	CU_ASSERT_EQUAL_FATAL(r, 1);
	CU_ASSERT_EQUAL(v0.nf.stats.reconnects, 1);
	CU_ASSERT_EQUAL(netfront_check_backend(&v0.nf), 0);
	CU_ASSERT_FATAL(host_side(&v0, nb0) == 0); /* the TAP was recreated */
	CU_ASSERT(round_trip(&v0, 1000, 3));
	CU_ASSERT(round_trip(&v0, 9014, 4));
}

static void test_link_down_drops_and_counts_then_up_delivers(void)
{
	struct net_vif_stats st;

	CU_ASSERT_FATAL(tnet_link(net_vif_ifname(net_back_vif(nb0)), false) == 0);
	tnet_frame(out, 200, v0.tap_mac, v0.nf.mac, 5);
	for (int i = 0; i < 5; i++)
		CU_ASSERT(tnet_guest_send(&v0, out, 200, NULL) == 0);
	for (int i = 0; i < 100; i++) {
		net_vif_get_stats(net_back_vif(nb0), &st);
		if (st.tx_dropped >= 5)
			break;
		usleep(10000);
	}
	CU_ASSERT(st.tx_dropped >= 5);
	CU_ASSERT_FATAL(tnet_link(net_vif_ifname(net_back_vif(nb0)), true) == 0);
	CU_ASSERT(round_trip(&v0, 300, 6));
}

static void test_second_vif_hot_plugged_while_first_runs(void)
{
	CU_ASSERT_FATAL(pv_store_add_device(sock, HARNESS_DOMID, "vif", 1, NULL, NULL, 0) == 0);
	CU_ASSERT_FATAL(start_backend(&nb1, 1, "pvtn1", 1500) == 0);
	CU_ASSERT_FATAL(frontend_up(&v1, 1) == 0);
	CU_ASSERT_EQUAL(v1.nf.mac[5], 2);
	CU_ASSERT_FATAL(host_side(&v1, nb1) == 0);
	CU_ASSERT(round_trip(&v1, 500, 7));
	CU_ASSERT(round_trip(&v0, 500, 8));
}

static pid_t spawn_daemon(void)
{
	char bin[128], ctl[160], store[160];
	const char *b = getenv("B");
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/bin/pvkvm-netback", b && *b ? b : "build");
	snprintf(ctl, sizeof(ctl), "%s", g->ctl_path);
	snprintf(store, sizeof(store), "%s", sock);
	pid = fork();
	if (pid == 0) {
		execl(bin, bin, "--ctl", ctl, "--store", store, "--domid", "5", "--dev", "2", "--tap",
		      "pvtd2", "--mac", "52:54:00:ab:cd:03", "--mtu", "1500", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* The daemon's TAP appears once it started. */
static bool wait_tap(const char *name)
{
	for (int i = 0; i < 200; i++) {
		if (if_nametoindex(name))
			return true;
		usleep(10000);
	}
	return false;
}

static int host_side_name(struct tnet_vif *t, const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(0x0003) };

	if (t->pkt_fd >= 0)
		close(t->pkt_fd);
	if (tnet_link(ifname, true))
		return -1;
	t->ifindex = (int)if_nametoindex(ifname);
	sll.sll_ifindex = t->ifindex;
	t->pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(0x0003));
	if (t->pkt_fd < 0 || bind(t->pkt_fd, (struct sockaddr *)&sll, sizeof(sll)))
		return -1;
	memcpy(t->tap_mac, (uint8_t[]){ 0x02, 0, 0, 0, 0, 1 }, 6);
	return 0;
}

static void test_daemon_killed_and_restarted_frontend_reconnects(void)
{
	static struct tnet_vif v2 = { .pkt_fd = -1 };
	pid_t pid;
	int r = 0, status;

	CU_ASSERT_FATAL(pv_store_add_device(sock, HARNESS_DOMID, "vif", 2, NULL, NULL, 0) == 0);
	pid = spawn_daemon();
	CU_ASSERT_FATAL(pid > 0 && wait_tap("pvtd2"));
	CU_ASSERT_FATAL(frontend_up(&v2, 2) == 0);
	CU_ASSERT_EQUAL(v2.nf.mac[5], 3);
	CU_ASSERT_FATAL(host_side_name(&v2, "pvtd2") == 0);
	CU_ASSERT(round_trip(&v2, 700, 9));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	pid = spawn_daemon();
	CU_ASSERT_FATAL(pid > 0 && wait_tap("pvtd2"));
	for (int i = 0; i < 150 && r != 1; i++) {
		r = netfront_check_backend(&v2.nf);
		if (r != 1)
			usleep(20000);
	}
	CU_ASSERT_EQUAL(r, 1);
	CU_ASSERT_FATAL(host_side_name(&v2, "pvtd2") == 0);
	CU_ASSERT(round_trip(&v2, 700, 10));
	kill(pid, SIGTERM);
	CU_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(v2.pkt_fd);
}

static void test_frontend_close_brings_backend_to_closed(void)
{
	char *st = NULL;
	size_t len;
	struct xs_client *c;

	CU_ASSERT_EQUAL(netfront_disconnect(&v1.nf), 0);
	CU_ASSERT_FATAL(xs_client_open(sock, &c) == 0);
	CU_ASSERT_EQUAL(xs_read(c, 0, "/local/domain/0/backend/vif/5/1/state", &st, &len), 0);
	/* Closed, or already offering InitWait again for a new connection. */
	CU_ASSERT(st && (!strcmp(st, "6") || !strcmp(st, "2")));
	free(st);
	xs_client_close(c);
	net_back_close(nb1);
	net_back_close(nb0);
	if (v0.pkt_fd >= 0)
		close(v0.pkt_fd);
	if (v1.pkt_fd >= 0)
		close(v1.pkt_fd);
}

int main(void)
{
	CU_pSuite s;
	int err = tnet_enter_netns(), failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	if (err) {
		fprintf(stderr, "SKIP: test_netback_bus: cannot create a network namespace: %s\n", strerror(-err));
		s = CU_add_suite("netback_bus", NULL, NULL);
	} else {
		s = CU_add_suite("netback_bus", suite_init, suite_clean);
		CU_add_test(s, "store_handshake_gives_mac_mtu_and_connects", test_store_handshake_gives_mac_mtu_and_connects);
		CU_add_test(s, "frontend_reconnects_after_backend_restart", test_frontend_reconnects_after_backend_restart);
		CU_add_test(s, "link_down_drops_and_counts_then_up_delivers", test_link_down_drops_and_counts_then_up_delivers);
		CU_add_test(s, "second_vif_hot_plugged_while_first_runs", test_second_vif_hot_plugged_while_first_runs);
		CU_add_test(s, "daemon_killed_and_restarted_frontend_reconnects", test_daemon_killed_and_restarted_frontend_reconnects);
		CU_add_test(s, "frontend_close_brings_backend_to_closed", test_frontend_close_brings_backend_to_closed);
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = (int)CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
