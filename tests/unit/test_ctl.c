/* SPDX-License-Identifier: MIT */
/* The control socket against hostile peers: each bad peer is disconnected,
 * an attached backend keeps working, the VMM never crashes. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_msg.h"
#include "harness.h"
#include "pvback.h"
#include "cunit_main.h"

static struct harness_guest *g;
static struct pvback_dom *be;
static struct pvback_evtchn *be_port;
static uint32_t port;

static int ctl_init(void)
{
	if (harness_guest_new(&g, 8 << 20, 1) || pvfront_gnt_setup(&g->front, 1) ||
	    pvback_attach(&be, g->ctl_path, "vbd/1") ||
	    pvfront_evtchn_alloc(&g->front, 0, &port) || pvback_evtchn_bind(be, port, &be_port))
		return 1;
	return 0;
}

static int ctl_clean(void)
{
	pvback_detach(be);
	harness_guest_free(g);
	return 0;
}

static int peer_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, g->ctl_path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* True when the VMM closed the connection within a second. */
static bool peer_dropped(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[PV_CTL_MAX_MSG];

	for (int i = 0; i < 20; i++) {
		if (poll(&p, 1, 1000) != 1)
			return false;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		/* Replies to earlier good messages may come first. */
	}
	return false;
}

/* The good backend still works: guest send wakes it, its notify reaches the guest. */
static void assert_good_backend_alive(void)
{
	struct pollfd p = { .fd = be_port->wait_fd, .events = POLLIN };

	pvfront_evtchn_send(&g->front, port);
	CU_ASSERT(poll(&p, 1, 1000) == 1);
	pvback_evtchn_ack(be_port);
	CU_ASSERT_EQUAL(pvback_evtchn_notify(be, be_port), 0);
	CU_ASSERT(pvfront_evtchn_poll(&g->front, port));
	CU_ASSERT_EQUAL(pvback_ctl_process(be), 0);
}

static void send_raw(int fd, const void *buf, size_t len)
{
	CU_ASSERT(send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len);
}

static void test_truncated_header_disconnects_that_peer_only(void)
{
	struct pv_ctl_hdr h = { PV_CTL_MAGIC, PV_CTL_VERSION, PV_CTL_ATTACH, 64, 1 };
	int fd = peer_connect();

	send_raw(fd, &h, 7);
	CU_ASSERT(peer_dropped(fd));
	close(fd);
	assert_good_backend_alive();
}

static void test_length_mismatch_and_oversized_messages_disconnect(void)
{
	unsigned char big[PV_CTL_MAX_MSG + 100] = { 0 };
	struct pv_ctl_hdr h = { PV_CTL_MAGIC, PV_CTL_VERSION, PV_CTL_ATTACH, 1000, 1 };
	int fd = peer_connect();

	memcpy(big, &h, sizeof(h));
	send_raw(fd, big, sizeof(h) + 64); /* says 1000, carries 64 */
	CU_ASSERT(peer_dropped(fd));
	close(fd);
	fd = peer_connect();
	h.len = sizeof(big) - sizeof(h);
	memcpy(big, &h, sizeof(h));
	send_raw(fd, big, sizeof(big));
	CU_ASSERT(peer_dropped(fd));
	close(fd);
	fd = peer_connect();
	h.len = 3; /* consistent length, wrong size for ATTACH */
	memcpy(big, &h, sizeof(h));
	send_raw(fd, big, sizeof(h) + 3);
	CU_ASSERT(peer_dropped(fd));
	close(fd);
	assert_good_backend_alive();
}

static void test_bad_magic_version_and_type_disconnect(void)
{
	struct pv_ctl_attach a = { .device = "vbd/1" };
	unsigned char buf[sizeof(struct pv_ctl_hdr) + sizeof(a)];
	const struct pv_ctl_hdr bad[] = {
		{ 0x12345678, PV_CTL_VERSION, PV_CTL_ATTACH, sizeof(a), 1 },
		{ PV_CTL_MAGIC, 99, PV_CTL_ATTACH, sizeof(a), 1 },
		{ PV_CTL_MAGIC, PV_CTL_VERSION, 0xffff, sizeof(a), 1 },
		{ PV_CTL_MAGIC, PV_CTL_VERSION, PV_CTL_ATTACH_OK, sizeof(a), 1 },
	};

	memcpy(buf + sizeof(struct pv_ctl_hdr), &a, sizeof(a));
	for (unsigned i = 0; i < 4; i++) {
		int fd = peer_connect();

		memcpy(buf, &bad[i], sizeof(bad[i]));
		send_raw(fd, buf, sizeof(buf));
		CU_ASSERT(peer_dropped(fd));
		close(fd);
	}
	assert_good_backend_alive();
}

static void test_fds_from_peer_disconnect_and_are_closed(void)
{
	struct pv_ctl_attach a = { .device = "vbd/1" };
	int fd = peer_connect();
	int efd = eventfd(0, EFD_CLOEXEC);

	CU_ASSERT_EQUAL(pv_ctl_send(fd, PV_CTL_ATTACH, 1, &a, sizeof(a), &efd, 1, 0), 0);
	CU_ASSERT(peer_dropped(fd));
	close(fd);
	close(efd);
	assert_good_backend_alive();
}

static void test_bad_device_names_and_out_of_order_requests_disconnect(void)
{
	const char *names[] = { "", "../../etc", "VBD/1", "vbd 1" };
	struct pv_ctl_port p = { .port = port };
	struct pv_ctl_attach a = { 0 };
	int fd;

	for (unsigned i = 0; i < 4; i++) {
		fd = peer_connect();
		memset(&a, 0, sizeof(a));
		strcpy(a.device, names[i]);
		CU_ASSERT_EQUAL(pv_ctl_send(fd, PV_CTL_ATTACH, 1, &a, sizeof(a), NULL, 0, 0), 0);
		CU_ASSERT(peer_dropped(fd));
		close(fd);
	}
	/* Unterminated name. */
	fd = peer_connect();
	memset(a.device, 'a', sizeof(a.device));
	CU_ASSERT_EQUAL(pv_ctl_send(fd, PV_CTL_ATTACH, 1, &a, sizeof(a), NULL, 0, 0), 0);
	CU_ASSERT(peer_dropped(fd));
	close(fd);
	/* Bind before attach. */
	fd = peer_connect();
	CU_ASSERT_EQUAL(pv_ctl_send(fd, PV_CTL_EVTCHN_BIND, 1, &p, sizeof(p), NULL, 0, 0), 0);
	CU_ASSERT(peer_dropped(fd));
	close(fd);
	/* Attaching twice on one connection. */
	fd = peer_connect();
	strcpy(a.device, "vbd/2");
	CU_ASSERT_EQUAL(pv_ctl_send(fd, PV_CTL_ATTACH, 1, &a, sizeof(a), NULL, 0, 0), 0);
	CU_ASSERT_EQUAL(pv_ctl_send(fd, PV_CTL_ATTACH, 2, &a, sizeof(a), NULL, 0, 0), 0);
	CU_ASSERT(peer_dropped(fd));
	close(fd);
	assert_good_backend_alive();
}

static void test_hostile_peer_cannot_steal_bound_port(void)
{
	struct pvback_dom *thief;
	struct pvback_evtchn *e;

	CU_ASSERT_FATAL(pvback_attach(&thief, g->ctl_path, "vbd/9") == 0);
	CU_ASSERT_EQUAL(pvback_evtchn_bind(thief, port, &e), -EBUSY);
	pvback_detach(thief);
	assert_good_backend_alive();
}

static void test_connection_flood_is_bounded(void)
{
	int fds[PV_CTL_MAX_CONNS + 4];

	for (unsigned i = 0; i < PV_CTL_MAX_CONNS + 4; i++)
		fds[i] = peer_connect();
	usleep(100000);
	CU_ASSERT(pv_ctl_nr_conns(g->ctl) <= PV_CTL_MAX_CONNS);
	for (unsigned i = 0; i < PV_CTL_MAX_CONNS + 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (int i = 0; i < 100 && pv_ctl_nr_conns(g->ctl) > 1; i++)
		usleep(10000);
	CU_ASSERT_EQUAL(pv_ctl_nr_conns(g->ctl), 1);
	assert_good_backend_alive();
}

static const struct cunit_test ctl_tests[] = {
	CUNIT_TEST_BARE(test_truncated_header_disconnects_that_peer_only),
	CUNIT_TEST_BARE(test_length_mismatch_and_oversized_messages_disconnect),
	CUNIT_TEST_BARE(test_bad_magic_version_and_type_disconnect),
	CUNIT_TEST_BARE(test_fds_from_peer_disconnect_and_are_closed),
	CUNIT_TEST_BARE(test_bad_device_names_and_out_of_order_requests_disconnect),
	CUNIT_TEST_BARE(test_hostile_peer_cannot_steal_bound_port),
	CUNIT_TEST_BARE(test_connection_flood_is_bounded),
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CUNIT_SUITE("ctl", ctl_init, ctl_clean, ctl_tests);
	return cunit_run_all();
}
