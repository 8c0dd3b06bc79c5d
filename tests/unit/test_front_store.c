/* SPDX-License-Identifier: MIT */
/* The frontend core's store client and bus handshake, through the VMM's
 * store-ring proxy, against a small fake store on a socketpair (the real
 * pvkvm-stored is tested by its own suite; this proves the ring side). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "pvfront_bus.h"
#include "cunit_main.h"

#define FAKE_NODES 64
#define FAKE_WATCHES 8
#define FAKE_DOM "/local/domain/5/"

struct fake_store {
	int fd;
	pthread_t thread;
	int conflicts_left; /* TRANSACTION_END commits to refuse with EAGAIN */
	struct { char path[128]; char val[4096]; bool used; } node[FAKE_NODES];
	struct { char path[128]; char token[64]; bool used; } watch[FAKE_WATCHES];
};

static struct harness_guest *g;
static struct fake_store fs;
static struct pvfront_xs xs;

static void abs_path(const char *p, char *out)
{
	size_t pre = p[0] == '/' ? 0 : strlen(FAKE_DOM);

	size_t l = strnlen(p, 127 - pre);

	memcpy(out, FAKE_DOM, pre);
	memcpy(out + pre, p, l);
	out[pre + l] = 0;
}

static int find(const char *path)
{
	for (int i = 0; i < FAKE_NODES; i++)
		if (fs.node[i].used && !strcmp(fs.node[i].path, path))
			return i;
	return -1;
}

static void send_msg(uint32_t type, uint32_t req_id, uint32_t tx, const void *p, uint32_t len)
{
	struct xsd_sockmsg h = { type, req_id, tx, len };

	if (write(fs.fd, &h, sizeof(h)) != sizeof(h) || (len && write(fs.fd, p, len) != (ssize_t)len))
		return;
}

static void fire(const char *path)
{
	for (int w = 0; w < FAKE_WATCHES; w++) {
		size_t l = strlen(fs.watch[w].path);
		char ev[256];

		if (!fs.watch[w].used || strncmp(path, fs.watch[w].path, l) ||
		    (path[l] && path[l] != '/'))
			continue;
		int n = snprintf(ev, sizeof(ev), "%s%c%s", path, 0, fs.watch[w].token);
		send_msg(XS_WATCH_EVENT, 0, 0, ev, (uint32_t)n + 1);
	}
}

static void set_node(const char *path, const char *val, size_t len)
{
	int i = find(path);

	for (int k = 0; i < 0 && k < FAKE_NODES; k++)
		if (!fs.node[k].used)
			i = k;
	fs.node[i].used = true;
	snprintf(fs.node[i].path, sizeof(fs.node[i].path), "%s", path);
	memcpy(fs.node[i].val, val, len);
	fs.node[i].val[len] = 0;
	fire(path);
	/* Plays the backend's half: Initialised -> Connected, Closing -> Closed. */
	if (strstr(path, "/device/vbd/51712/state")) {
		const char *be = "/local/domain/0/backend/vbd/5/51712/state";
		if (!strcmp(val, "3"))
			set_node(be, "4", 1);
		if (!strcmp(val, "5"))
			set_node(be, "6", 1);
	}
}

static void handle(struct xsd_sockmsg *h, char *p)
{
	char path[128], out[4096];
	uint32_t n = 0;
	int i;

	abs_path(p, path);
	switch (h->type) {
	case XS_READ:
		if ((i = find(path)) < 0)
			return send_msg(XS_ERROR, h->req_id, h->tx_id, "ENOENT", 7);
		return send_msg(XS_READ, h->req_id, h->tx_id, fs.node[i].val, (uint32_t)strlen(fs.node[i].val));
	case XS_WRITE:
		set_node(path, p + strlen(p) + 1, h->len - strlen(p) - 1);
		return send_msg(h->type, h->req_id, h->tx_id, "OK", 3);
	case XS_DIRECTORY:
		for (i = 0; i < FAKE_NODES; i++) {
			size_t l = strlen(path);
			const char *rest = fs.node[i].path + l + 1;

			if (!fs.node[i].used || strncmp(fs.node[i].path, path, l) || fs.node[i].path[l] != '/')
				continue;
			size_t cl = strcspn(rest, "/");
			bool dup = false;
			for (uint32_t o = 0; o < n; o += (uint32_t)strlen(out + o) + 1)
				dup |= strlen(out + o) == cl && !strncmp(out + o, rest, cl);
			if (!dup) {
				memcpy(out + n, rest, cl);
				out[n + cl] = 0;
				n += (uint32_t)cl + 1;
			}
		}
		if (!n)
			return send_msg(XS_ERROR, h->req_id, h->tx_id, "ENOENT", 7);
		return send_msg(XS_DIRECTORY, h->req_id, h->tx_id, out, n);
	case XS_WATCH:
		for (i = 0; i < FAKE_WATCHES && fs.watch[i].used; i++)
			;
		fs.watch[i].used = true;
		snprintf(fs.watch[i].path, sizeof(fs.watch[i].path), "%s", path);
		snprintf(fs.watch[i].token, sizeof(fs.watch[i].token), "%s", p + strlen(p) + 1);
		send_msg(XS_WATCH, h->req_id, 0, "OK", 3);
		return fire(path); /* Xen fires a new watch once */
	case XS_UNWATCH:
		for (i = 0; i < FAKE_WATCHES; i++)
			if (!strcmp(fs.watch[i].path, path))
				fs.watch[i].used = false;
		return send_msg(XS_UNWATCH, h->req_id, 0, "OK", 3);
	case XS_TRANSACTION_START:
		return send_msg(h->type, h->req_id, 0, "7", 2);
	case XS_TRANSACTION_END:
		if (p[0] == 'T' && fs.conflicts_left > 0 && fs.conflicts_left--)
			return send_msg(XS_ERROR, h->req_id, h->tx_id, "EAGAIN", 7);
		return send_msg(h->type, h->req_id, h->tx_id, "OK", 3);
	}
	send_msg(XS_ERROR, h->req_id, h->tx_id, "ENOSYS", 7);
}

static bool read_full(void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fs.fd, (char *)buf + got, len - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

static void *fake_store_thread(void *arg)
{
	static char payload[XENSTORE_PAYLOAD_MAX + 1];
	struct xsd_sockmsg h;

	while (read_full(&h, sizeof(h)) && h.len <= XENSTORE_PAYLOAD_MAX && read_full(payload, h.len)) {
		payload[h.len] = 0;
		handle(&h, payload);
	}
	return NULL;
}

static int store_init(void)
{
	int sv[2];

	if (harness_guest_new(&g, 8 << 20, 1) || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return 1;
	fs.fd = sv[1];
	if (harness_store_attach(g, sv[0]) || pthread_create(&fs.thread, NULL, fake_store_thread, NULL))
		return 1;
	return pvfront_xs_init(&xs, &g->front) ? 1 : 0;
}

static int store_clean(void)
{
	harness_guest_free(g); /* closes the proxy's end: the fake store sees EOF */
	pthread_join(fs.thread, NULL);
	close(fs.fd);
	return 0;
}

static void test_store_write_then_read_round_trips_through_ring(void)
{
	char buf[64];

	CU_ASSERT_EQUAL(pvfront_xs_write(&xs, 0, "data/greeting", "hello"), 0);
	CU_ASSERT_EQUAL(pvfront_xs_read(&xs, 0, "data/greeting", buf, sizeof(buf)), 5);
	CU_ASSERT_STRING_EQUAL(buf, "hello");
	CU_ASSERT_EQUAL(pvfront_xs_read(&xs, 0, FAKE_DOM "data/greeting", buf, sizeof(buf)), 5);
}

static void test_store_read_of_missing_key_is_enoent(void)
{
	char buf[8];

	CU_ASSERT_EQUAL(pvfront_xs_read(&xs, 0, "no/such/key", buf, sizeof(buf)), -PVFRONT_ENOENT);
	CU_ASSERT_EQUAL(pvfront_xs_write(&xs, 0, "data/big", "0123456789"), 0);
	CU_ASSERT_EQUAL(pvfront_xs_read(&xs, 0, "data/big", buf, sizeof(buf)), -PVFRONT_E2BIG);
	/* The stream is still in step after the refused reply. */
	CU_ASSERT_EQUAL(pvfront_xs_read(&xs, 0, "data/greeting", buf, sizeof(buf)), 5);
}

static void test_store_values_larger_than_the_ring_cross_wraps(void)
{
	static char big[3001], back[4000];

	for (int i = 0; i < 3000; i++)
		big[i] = (char)('a' + i % 26);
	for (int round = 0; round < 3; round++) {
		CU_ASSERT_EQUAL(pvfront_xs_write(&xs, 0, "data/large", big), 0);
		CU_ASSERT_EQUAL(pvfront_xs_read(&xs, 0, "data/large", back, sizeof(back)), 3000);
		CU_ASSERT(!memcmp(big, back, 3001));
	}
}

static void test_store_directory_lists_children(void)
{
	char buf[256];

	pvfront_xs_write(&xs, 0, "dir/a", "1");
	pvfront_xs_write(&xs, 0, "dir/b/c", "2");
	CU_ASSERT_EQUAL(pvfront_xs_directory(&xs, 0, "dir", buf, sizeof(buf)), 2);
	CU_ASSERT_STRING_EQUAL(buf, "a");
	CU_ASSERT_STRING_EQUAL(buf + 2, "b");
}

static void test_store_watch_fires_on_subtree_write(void)
{
	struct pvfront_xs_event ev;
	const char *path, *token;

	CU_ASSERT_EQUAL(pvfront_xs_watch(&xs, "watched", "tok1"), 0);
	CU_ASSERT_EQUAL(pvfront_xs_next_event(&xs, true, &ev, &path, &token), 1); /* initial */
	CU_ASSERT_EQUAL(pvfront_xs_write(&xs, 0, "watched/x/y", "v"), 0);
	CU_ASSERT_EQUAL(pvfront_xs_next_event(&xs, true, &ev, &path, &token), 1);
	CU_ASSERT_STRING_EQUAL(path, FAKE_DOM "watched/x/y");
	CU_ASSERT_STRING_EQUAL(token, "tok1");
	CU_ASSERT_EQUAL(pvfront_xs_write(&xs, 0, "elsewhere", "v"), 0);
	CU_ASSERT_EQUAL(pvfront_xs_next_event(&xs, false, &ev, &path, &token), 0);
	CU_ASSERT_EQUAL(pvfront_xs_unwatch(&xs, "watched", "tok1"), 0);
}

static void test_device_discovery_and_handshake_reach_connected(void)
{
	struct pvfront_dev devs[4];
	const char *keys[] = { "ring-ref", "event-channel" };
	const char *vals[] = { "8", "3" };
	char buf[16];

	pvfront_xs_write(&xs, 0, "device/vbd/51712/backend", "/local/domain/0/backend/vbd/5/51712");
	pvfront_xs_write(&xs, 0, "device/vbd/51712/backend-id", "0");
	pvfront_xs_write(&xs, 0, "/local/domain/0/backend/vbd/5/51712/state", "2");
	pvfront_xs_write(&xs, 0, "device/vbd/bogus/backend", "x"); /* skipped */
	CU_ASSERT_EQUAL(pvfront_bus_discover(&xs, "vbd", devs, 4), 1);
	CU_ASSERT_STRING_EQUAL(devs[0].nodename, "device/vbd/51712");
	CU_ASSERT_EQUAL(devs[0].id, 51712);
	CU_ASSERT_EQUAL(pvfront_bus_discover(&xs, "vif", devs, 4), 0);
	fs.conflicts_left = 1; /* the publish transaction is retried */
	CU_ASSERT_EQUAL(pvfront_bus_connect(&xs, &devs[0], keys, vals, 2), 0);
	CU_ASSERT_EQUAL(pvfront_xs_read(&xs, 0, "device/vbd/51712/state", buf, sizeof(buf)), 1);
	CU_ASSERT_STRING_EQUAL(buf, "4");
	CU_ASSERT_EQUAL(pvfront_xs_read(&xs, 0, "device/vbd/51712/ring-ref", buf, sizeof(buf)), 1);
	CU_ASSERT_EQUAL(pvfront_bus_close(&xs, &devs[0]), 0);
	CU_ASSERT_EQUAL(pvfront_xs_read(&xs, 0, "device/vbd/51712/state", buf, sizeof(buf)), 1);
	CU_ASSERT_STRING_EQUAL(buf, "6");
}

static void test_guest_bad_ring_index_stops_only_its_proxy(void)
{
	struct xenstore_domain_interface *r = xs.ring;

	r->req_prod = r->req_cons + 5000;
	pvfront_evtchn_send(&g->front, xs.port);
	for (int i = 0; i < 200 && !pv_store_proxy_dead(g->store); i++)
		usleep(5000);
	CU_ASSERT(pv_store_proxy_dead(g->store));
	CU_ASSERT_EQUAL(r->error, 2);
}

static const struct cunit_test front_store_tests[] = {
	CUNIT_TEST_BARE(test_store_write_then_read_round_trips_through_ring),
	CUNIT_TEST_BARE(test_store_read_of_missing_key_is_enoent),
	CUNIT_TEST_BARE(test_store_values_larger_than_the_ring_cross_wraps),
	CUNIT_TEST_BARE(test_store_directory_lists_children),
	CUNIT_TEST_BARE(test_store_watch_fires_on_subtree_write),
	CUNIT_TEST_BARE(test_device_discovery_and_handshake_reach_connected),
	CUNIT_TEST_BARE(test_guest_bad_ring_index_stops_only_its_proxy),
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CUNIT_SUITE("front_store", store_init, store_clean, front_store_tests);
	return cunit_run_all();
}
