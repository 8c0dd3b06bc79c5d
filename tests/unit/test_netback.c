/* SPDX-License-Identifier: MIT */
/* netback end to end on the no-VM harness: a guest's pvnet frontend core,
 * the real backend library and netback, real TAP devices inside a network
 * namespace this process creates for itself (nothing outside it is touched). */
#include <CUnit/Basic.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "test_netback_util.h"

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static struct harness_guest *g;
static struct tnet_vif a, b;
static uint8_t out[70000], in[70000];

static void setup2(uint32_t mtu_a, uint64_t rate_a)
{
	struct net_vif_config ca = { .mtu = mtu_a, .rate_bytes_per_s = rate_a }, cb = { .mtu = 1500 };

	memcpy(ca.mac, guest_mac, 6);
	memcpy(cb.mac, guest_mac, 6);
	g = tnet_guest_new();
	CU_ASSERT_FATAL(g != NULL);
	CU_ASSERT_FATAL(tnet_vif_new(&a, g, "pvta0", &ca) == 0);
	CU_ASSERT_FATAL(tnet_vif_new(&b, g, "pvtb0", &cb) == 0);
}

static void teardown2(void)
{
	tnet_vif_free(&a);
	tnet_vif_free(&b);
	harness_guest_free(g);
	g = NULL;
}

/* One frame guest -> host and host -> guest on t, byte-exact both ways. */
static bool round_trip(struct tnet_vif *t, uint32_t len, uint32_t seed)
{
	int n;

	tnet_frame(out, len, t->tap_mac, guest_mac, seed);
	if (tnet_guest_send(t, out, len, NULL))
		return false;
	n = tnet_host_recv(t, TNET_ETHERTYPE, in, sizeof(in), 2000);
	if (n != (int)len || memcmp(in, out, len))
		return false;
	tnet_frame(out, len, guest_mac, t->tap_mac, seed + 1);
	if (tnet_host_send(t, out, len))
		return false;
	n = tnet_guest_recv(t, TNET_ETHERTYPE, in, sizeof(in), 2000, NULL);
	return n == (int)len && !memcmp(in, out, len);
}

static void test_frames_cross_byte_exact_both_ways(void)
{
	struct net_vif_stats st;

	setup2(1500, 0);
	for (uint32_t i = 0; i < 20; i++)
		CU_ASSERT(round_trip(&b, 60 + i * 71, i));
	CU_ASSERT(round_trip(&b, 1514, 99));
	/* Gathered from pieces: header, then a payload split at odd offsets. */
	tnet_frame(out, 1400, b.tap_mac, guest_mac, 77);
	struct netfront_frag iov[3] = { { out, 14 }, { out + 14, 333 }, { out + 347, 1053 } };
	CU_ASSERT_EQUAL(netfront_sendv(&b.nf, 0, iov, 3, NULL), 0);
	netfront_tx_flush(&b.nf, 0);
	CU_ASSERT_EQUAL(tnet_host_recv(&b, TNET_ETHERTYPE, in, sizeof(in), 2000), 1400);
	CU_ASSERT_EQUAL(memcmp(in, out, 1400), 0);
	/* The counter moves just after the frame left: give it a moment. */
	for (int i = 0; i < 100; i++) {
		net_vif_get_stats(b.v, &st);
		if (st.tx_packets >= 22)
			break;
		usleep(10000);
	}
	CU_ASSERT(st.tx_packets >= 22 && st.rx_packets >= 21);
	CU_ASSERT_EQUAL(st.tx_bad, 0);
	teardown2();
}

/* An administrator's persistent TAP (no multi_queue flag, address kept). */
static void test_attaches_to_persistent_tap_made_without_multi_queue(void)
{
	struct net_vif_config c = { .mtu = 1500 };

	memcpy(c.mac, guest_mac, 6);
	CU_ASSERT_FATAL(system("ip tuntap add dev pvtp0 mode tap && ip addr add 10.98.0.1/24 dev pvtp0") == 0);
	g = tnet_guest_new();
	CU_ASSERT_FATAL(g != NULL);
	CU_ASSERT_FATAL(tnet_vif_new(&a, g, "pvtp0", &c) == 0);
	CU_ASSERT(round_trip(&a, 400, 30));
	tnet_vif_free(&a);
	harness_guest_free(g);
	g = NULL;
	/* Still there (persistent) with its address, for the next backend. */
	CU_ASSERT(system("ip addr show dev pvtp0 | grep -q 10.98.0.1 && ip tuntap del dev pvtp0 mode tap") == 0);
}

/* The mini-guest's rx/rx_release model: frames held in place, given back later. */
static void test_rx_take_holds_frames_until_released(void)
{
	struct netfront_rx_pkt pkt[3];
	uint8_t sent[3][600];
	unsigned got = 0;

	setup2(1500, 0);
	for (uint32_t i = 0; i < 3; i++) {
		tnet_frame(sent[i], 600, guest_mac, a.tap_mac, 40 + i);
		CU_ASSERT_FATAL(tnet_host_send(&a, sent[i], 600) == 0);
	}
	for (uint64_t end = tnet_now_ms() + 2000; got < 3 && tnet_now_ms() < end;) {
		int r = netfront_rx_take(&a.nf, 0, &pkt[got]);

		CU_ASSERT_FATAL(r >= 0);
		if (r == 1 && pkt[got].frag[0].data[12] == (TNET_ETHERTYPE >> 8))
			got++;
		else if (r == 1)
			netfront_rx_release(&a.nf, 0, 0); /* noise stays held until the next release */
		else
			usleep(200);
	}
	CU_ASSERT_EQUAL_FATAL(got, 3);
	/* All three still intact while held. */
	for (unsigned i = 0; i < 3; i++)
		CU_ASSERT(pkt[i].len == 600 && !memcmp(pkt[i].frag[0].data, sent[i], 600));
	CU_ASSERT(a.nf.q[0].rx_held_n >= 3);
	netfront_rx_release(&a.nf, 0, a.nf.q[0].rx_held_n);
	CU_ASSERT_EQUAL(a.nf.q[0].rx_held_n, 0);
	/* Every buffer is back in the ring: traffic continues. */
	CU_ASSERT_EQUAL(a.nf.q[0].rx.req_prod_pvt - a.nf.q[0].rx.rsp_cons, NETFRONT_RING_ENTS);
	CU_ASSERT(round_trip(&a, 900, 44));
	teardown2();
}

static void test_mtu_9000_frames_span_three_slots_both_ways(void)
{
	setup2(9000, 0);
	CU_ASSERT(round_trip(&a, 9014, 7));
	CU_ASSERT(round_trip(&a, 8193, 8));
	CU_ASSERT(round_trip(&a, 4097, 9));
	/* A 9014-byte frame gathered from pieces that straddle the pages. */
	tnet_frame(out, 9014, a.tap_mac, guest_mac, 10);
	struct netfront_frag iov[2] = { { out, 4000 }, { out + 4000, 5014 } };
	CU_ASSERT_EQUAL(netfront_sendv(&a.nf, 0, iov, 2, NULL), 0);
	netfront_tx_flush(&a.nf, 0);
	CU_ASSERT_EQUAL(tnet_host_recv(&a, TNET_ETHERTYPE, in, sizeof(in), 2000), 9014);
	CU_ASSERT_EQUAL(memcmp(in, out, 9014), 0);
	teardown2();
}

/* A raw TX chain on a's ring (the hostile frontend), published with a
 * doorbell; returns the status of the first slot's response. */
static int raw_tx(const union netif_tx_slot *slots, unsigned n, int timeout_ms)
{
	struct netfront_queue *q = &a.nf.q[0];
	struct netif_tx_response r = { 0, 99 }, first = { 0, 99 };
	uint64_t end = tnet_now_ms() + (uint64_t)timeout_ms;
	unsigned got = 0;

	for (unsigned i = 0; i < n; i++) {
		*netif_tx_front_req(&q->tx) = slots[i];
		q->tx.req_prod_pvt++;
	}
	if (ring_front_push_reqs(&q->tx))
		pvfront_evtchn_send(&g->front, q->port);
	while (got < n && tnet_now_ms() < end) {
		int p = ring_front_pending_rsps(&q->tx);

		if (p <= 0) {
			usleep(200);
			continue;
		}
		while (p-- > 0) {
			netif_tx_front_take_rsp(&q->tx, &r);
			if (got++ == 0)
				first = r;
		}
	}
	return got == n ? first.status : 99;
}

static union netif_tx_slot txreq(uint32_t gref, uint16_t off, uint16_t flags, uint16_t size)
{
	union netif_tx_slot s = { .req = { .gref = gref, .offset = off, .flags = flags, .id = 1, .size = size } };

	return s;
}

static uint32_t good_ref(unsigned i)
{
	return a.nf.q[0].txb[i].gref;
}

/* b must keep working after each hostile packet on a. */
static void assert_b_serves(uint32_t seed)
{
	CU_ASSERT(round_trip(&b, 200, seed));
}

static void test_malformed_tx_packets_dropped_and_counted_other_vif_served(void)
{
	union netif_tx_slot s[40];
	struct net_vif_stats st;
	uint32_t ro;

	setup2(1500, 0);
	/* Zero-length second fragment. */
	s[0] = txreq(good_ref(0), 0, NETIF_TXF_MORE_DATA, 100);
	s[1] = txreq(good_ref(1), 0, 0, 0);
	CU_ASSERT_EQUAL(raw_tx(s, 2, 2000), NETIF_RSP_ERROR);
	assert_b_serves(1);
	/* Fragment crossing its page. */
	s[0] = txreq(good_ref(0), 0, NETIF_TXF_MORE_DATA, 400);
	s[1] = txreq(good_ref(1), 4000, 0, 200);
	CU_ASSERT_EQUAL(raw_tx(s, 2, 2000), NETIF_RSP_ERROR);
	s[0] = txreq(good_ref(0), 4090, 0, 60);
	CU_ASSERT_EQUAL(raw_tx(s, 1, 2000), NETIF_RSP_ERROR);
	/* Whole packet larger than MTU without GSO; and zero-length packet. */
	s[0] = txreq(good_ref(0), 0, NETIF_TXF_MORE_DATA, 1600);
	s[1] = txreq(good_ref(1), 0, 0, 800);
	CU_ASSERT_EQUAL(raw_tx(s, 2, 2000), NETIF_RSP_ERROR);
	s[0] = txreq(good_ref(0), 0, 0, 0);
	CU_ASSERT_EQUAL(raw_tx(s, 1, 2000), NETIF_RSP_ERROR);
	/* Too many slots: 19 data slots of 60 bytes. */
	for (unsigned i = 0; i < 19; i++)
		s[i] = txreq(good_ref(i), 0, i < 18 ? NETIF_TXF_MORE_DATA : 0, i ? 60 : 19 * 60);
	CU_ASSERT_EQUAL(raw_tx(s, 19, 2000), NETIF_RSP_ERROR);
	assert_b_serves(2);
	/* Unknown flag bits. */
	s[0] = txreq(good_ref(0), 0, 0x100, 60);
	CU_ASSERT_EQUAL(raw_tx(s, 1, 2000), NETIF_RSP_ERROR);
	net_vif_get_stats(a.v, &st);
	CU_ASSERT_EQUAL(st.tx_bad_frag, 3);
	CU_ASSERT_EQUAL(st.tx_bad_size, 2);
	CU_ASSERT_EQUAL(st.tx_bad_slots, 1);
	CU_ASSERT_EQUAL(st.tx_bad_flags, 1);
	CU_ASSERT_EQUAL(st.tx_bad, 7);
	CU_ASSERT_EQUAL(st.tx_packets, 0);
	CU_ASSERT(net_vif_connected(a.v));
	/* A read-only tx grant is fine: the backend only reads. */
	uint8_t *page = harness_alloc_page(g);
	CU_ASSERT_FATAL(pvfront_gnt_grant(&g->front, 0, harness_gpa(g, page) >> 12, true, &ro) == 0);
	tnet_frame(page, 60, a.tap_mac, guest_mac, 3);
	s[0] = txreq(ro, 0, 0, 60);
	CU_ASSERT_EQUAL(raw_tx(s, 1, 2000), NETIF_RSP_OKAY);
	CU_ASSERT_EQUAL(tnet_host_recv(&a, TNET_ETHERTYPE, in, sizeof(in), 2000), 60);
	teardown2();
}

/* Found by fuzz-net-tx: chains whose flags disagree with their length, and
 * a GSO extra of type NONE. */
static void test_tx_validate_refuses_inconsistent_chains(void)
{
	union netif_tx_slot s[3];
	struct net_tx_pkt pkt;
	unsigned gso = (1u << NETIF_GSO_TYPE_TCPV4) | 1u;

	s[0] = txreq(10, 0, NETIF_TXF_MORE_DATA, 100); /* promises a fragment */
	CU_ASSERT_EQUAL(net_tx_validate(s, 1, 1514, gso, &pkt), NET_TXE_SLOTS);
	s[0] = txreq(10, 0, 0, 100);
	s[1] = txreq(11, 0, 0, 40);                     /* a fragment nobody announced */
	CU_ASSERT_EQUAL(net_tx_validate(s, 2, 1514, gso, &pkt), NET_TXE_SLOTS);
	s[0] = txreq(10, 0, NETIF_TXF_MORE_DATA, 100);
	s[1] = txreq(11, 0, NETIF_TXF_MORE_DATA, 40);  /* last slot still says more */
	CU_ASSERT_EQUAL(net_tx_validate(s, 2, 1514, gso, &pkt), NET_TXE_SLOTS);
	s[0] = txreq(10, 0, NETIF_TXF_CSUM_BLANK | NETIF_TXF_EXTRA_INFO, 3000);
	s[1].extra = (struct netif_extra_info){ .type = NETIF_EXTRA_TYPE_GSO, .gso_size = 100,
						.gso_type = NETIF_GSO_TYPE_NONE };
	CU_ASSERT_EQUAL(net_tx_validate(s, 2, 1514, gso, &pkt), NET_TXE_GSO);
	s[1].extra.flags = NETIF_EXTRA_FLAG_MORE;       /* more extras promised, none came */
	s[1].extra.gso_type = NETIF_GSO_TYPE_TCPV4;
	CU_ASSERT_EQUAL(net_tx_validate(s, 2, 1514, gso, &pkt), NET_TXE_SLOTS);
	s[0] = txreq(10, 8, NETIF_TXF_MORE_DATA, 100);
	s[1] = txreq(11, 0, 0, 40);
	CU_ASSERT_EQUAL(net_tx_validate(s, 2, 1514, gso, &pkt), 0);
	CU_ASSERT_EQUAL(pkt.nr_frags, 2);
	CU_ASSERT_EQUAL(pkt.frag[0].len, 60);
	CU_ASSERT_EQUAL(pkt.frag[0].offset, 8);
}

static void test_bad_grants_dropped_and_counted(void)
{
	union netif_tx_slot s[2];
	struct net_vif_stats st;
	uint32_t wrong, revoked;
	void *p1 = NULL, *p2 = NULL;

	setup2(1500, 0);
	p1 = harness_alloc_page(g);
	p2 = harness_alloc_page(g);
	CU_ASSERT_FATAL(pvfront_gnt_grant(&g->front, 7, harness_gpa(g, p1) >> 12, false, &wrong) == 0);
	CU_ASSERT_FATAL(pvfront_gnt_grant(&g->front, 0, harness_gpa(g, p2) >> 12, false, &revoked) == 0);
	CU_ASSERT_FATAL(pvfront_gnt_revoke(&g->front, revoked) == 0);
	s[0] = txreq(wrong, 0, 0, 60);
	CU_ASSERT_EQUAL(raw_tx(s, 1, 2000), NETIF_RSP_ERROR);
	s[0] = txreq(revoked, 0, 0, 60);
	CU_ASSERT_EQUAL(raw_tx(s, 1, 2000), NETIF_RSP_ERROR);
	s[0] = txreq(good_ref(0), 0, NETIF_TXF_MORE_DATA, 120);
	s[1] = txreq(40000, 0, 0, 60); /* outside the table */
	CU_ASSERT_EQUAL(raw_tx(s, 2, 2000), NETIF_RSP_ERROR);
	assert_b_serves(4);
	net_vif_get_stats(a.v, &st);
	CU_ASSERT_EQUAL(st.tx_bad_grant, 3);
	CU_ASSERT(net_vif_connected(a.v));
	teardown2();
}

static void test_readonly_rx_grant_refused_and_counted_packet_still_delivered(void)
{
	struct net_vif_stats st;
	uint32_t ro;
	uint8_t *page;

	setup2(1500, 0);
	net_vif_disconnect(a.v);
	page = harness_alloc_page(g);
	CU_ASSERT_FATAL(pvfront_gnt_grant(&g->front, 0, harness_gpa(g, page) >> 12, true, &ro) == 0);
	netfront_reset_rings(&a.nf);
	/* The first posted rx buffer is granted read-only. */
	netif_rx_ring_slot_(a.nf.q[0].rx_sh, NETFRONT_RING_ENTS, 0)->req.gref = ro;
	CU_ASSERT_FATAL(net_vif_connect(a.v, &a.fe) == 0);
	tnet_frame(out, 300, guest_mac, a.tap_mac, 5);
	CU_ASSERT_FATAL(tnet_host_send(&a, out, 300) == 0);
	CU_ASSERT_EQUAL(tnet_guest_recv(&a, TNET_ETHERTYPE, in, sizeof(in), 2000, NULL), 300);
	CU_ASSERT_EQUAL(memcmp(in, out, 300), 0);
	net_vif_get_stats(a.v, &st);
	CU_ASSERT_EQUAL(st.rx_bad_grant, 1);
	CU_ASSERT(a.nf.stats.rx_errors >= 1);
	CU_ASSERT(page[0] == 0);
	teardown2();
}

static uint16_t ip_csum(const uint8_t *p, unsigned len)
{
	uint32_t s = 0;

	for (unsigned i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Ethernet + IPv4 (10.99.0.2 -> 10.99.0.1) + TCP or UDP header, payload
 * pattern; returns the frame length. */
static uint32_t ipv4_frame(uint8_t *f, const uint8_t dst[6], uint8_t proto, uint32_t payload)
{
	uint32_t l4len = (proto == 6 ? 20 : 8) + payload, iplen = 20 + l4len;
	uint8_t *ip = f + 14, *l4 = ip + 20;

	memset(f, 0, 14 + iplen);
	memcpy(f, dst, 6);
	memcpy(f + 6, guest_mac, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(iplen >> 8);
	ip[3] = (uint8_t)iplen;
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, (uint8_t[]){ 10, 99, 0, 2 }, 4);
	memcpy(ip + 16, (uint8_t[]){ 10, 99, 0, 1 }, 4);
	uint16_t c = ip_csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	l4[0] = 0x13; l4[1] = 0x88; /* port 5000 */
	l4[2] = 0x17; l4[3] = 0x70; /* port 6000 */
	if (proto == 6) {
		l4[12] = 5 << 4;
		l4[13] = 0x18;
	} else {
		l4[4] = (uint8_t)(l4len >> 8);
		l4[5] = (uint8_t)l4len;
	}
	for (uint32_t i = 0; i < payload; i++)
		l4[l4len - payload + i] = (uint8_t)(i * 13 + 1);
	return 14 + iplen;
}

static int gso_tx(const struct netif_extra_info *e, uint16_t flags, uint8_t proto)
{
	union netif_tx_slot s[NETIF_MAX_SLOTS_PER_PACKET + 1];
	uint32_t len = ipv4_frame(out, a.tap_mac, proto, 20000), n = 0, frags;

	frags = (len + 4095) / 4096;
	for (uint32_t i = 0; i < frags; i++) {
		uint32_t chunk = i + 1 < frags ? 4096 : len - i * 4096;

		memcpy(a.nf.q[0].txb[i].va, out + i * 4096, chunk);
		s[n++] = txreq(good_ref(i), 0, (uint16_t)((i == 0 ? flags | NETIF_TXF_EXTRA_INFO : 0) |
							  (i + 1 < frags ? NETIF_TXF_MORE_DATA : 0)),
			       (uint16_t)(i == 0 ? len : chunk));
		if (i == 0)
			s[n++].extra = *e;
	}
	return raw_tx(s, n, 2000);
}

static void test_gso_packet_reaches_tap_whole_and_bogus_gso_dropped(void)
{
	struct netif_extra_info ok = { .type = NETIF_EXTRA_TYPE_GSO, .gso_size = 1448,
				       .gso_type = NETIF_GSO_TYPE_TCPV4 }, bad;
	struct net_vif_stats st;
	uint32_t len;
	int n;

	setup2(1500, 0);
	CU_ASSERT_EQUAL(gso_tx(&ok, NETIF_TXF_CSUM_BLANK, 6), NETIF_RSP_OKAY);
	len = ipv4_frame(in, a.tap_mac, 6, 20000);
	n = tnet_host_recv(&a, 0x0800, in, sizeof(in), 2000);
	CU_ASSERT_EQUAL(n, (int)len);
	CU_ASSERT_EQUAL(memcmp(in + 54, out + 54, len - 54), 0);
	bad = ok; bad.type = 9;
	CU_ASSERT_EQUAL(gso_tx(&bad, NETIF_TXF_CSUM_BLANK, 6), NETIF_RSP_ERROR);
	bad = ok; bad.gso_type = 7;
	CU_ASSERT_EQUAL(gso_tx(&bad, NETIF_TXF_CSUM_BLANK, 6), NETIF_RSP_ERROR);
	bad = ok; bad.gso_size = 0;
	CU_ASSERT_EQUAL(gso_tx(&bad, NETIF_TXF_CSUM_BLANK, 6), NETIF_RSP_ERROR);
	bad = ok; bad.gso_type = NETIF_GSO_TYPE_NONE; /* once raised the size limit (fuzz) */
	CU_ASSERT_EQUAL(gso_tx(&bad, NETIF_TXF_CSUM_BLANK, 6), NETIF_RSP_ERROR);
	bad = ok; bad.gso_features = 3;
	CU_ASSERT_EQUAL(gso_tx(&bad, NETIF_TXF_CSUM_BLANK, 6), NETIF_RSP_ERROR);
	CU_ASSERT_EQUAL(gso_tx(&ok, 0, 6), NETIF_RSP_ERROR);                    /* no CSUM_BLANK */
	CU_ASSERT_EQUAL(gso_tx(&ok, NETIF_TXF_CSUM_BLANK, 17), NETIF_RSP_ERROR); /* TCP GSO on UDP */
	assert_b_serves(6);
	net_vif_get_stats(a.v, &st);
	CU_ASSERT_EQUAL(st.tx_bad_gso, 7);
	CU_ASSERT_EQUAL(st.tx_packets, 1);
	teardown2();
}

/* Host -> guest GSO: a 20 KB TCP frame sent through a packet socket with a
 * virtio_net_hdr stays one skb through the TAP (TSO negotiated with the
 * frontend) and reaches the guest in 5 slots plus the GSO extra slot. */
static void test_gso_packet_reaches_guest_whole_with_metadata(void)
{
	struct netfront_offload off = { 0 };
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .hdr_len = 54,
				    .gso_size = 1448, .csum_start = 34, .csum_offset = 16 };
	struct iovec iov[2];
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	int one = 1, s;
	uint32_t len;

	setup2(1500, 0);
	len = ipv4_frame(out, guest_mac, 6, 20000);
	memcpy(out + 6, a.tap_mac, 6);
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(s >= 0);
	CU_ASSERT_FATAL(setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) == 0);
	sll.sll_ifindex = a.ifindex;
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, guest_mac, 6);
	m.msg_name = &sll;
	m.msg_namelen = sizeof(sll);
	iov[0] = (struct iovec){ &h, sizeof(h) };
	iov[1] = (struct iovec){ out, len };
	CU_ASSERT_EQUAL(sendmsg(s, &m, 0), (ssize_t)(sizeof(h) + len));
	CU_ASSERT_EQUAL(tnet_guest_recv(&a, 0x0800, in, sizeof(in), 2000, &off), (int)len);
	CU_ASSERT_EQUAL(memcmp(in + 54, out + 54, len - 54), 0);
	CU_ASSERT_EQUAL(off.gso_type, NETIF_GSO_TYPE_TCPV4);
	CU_ASSERT_EQUAL(off.gso_size, 1448);
	CU_ASSERT(off.csum_blank);
	/* The ring stays in step after the extra slot: a plain frame follows. */
	CU_ASSERT(round_trip(&a, 300, 12));
	close(s);
	teardown2();
}

static void test_udp_with_checksum_offload_both_ways_through_host_stack(void)
{
	struct netfront_offload off = { .csum_blank = true };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(6000) };
	char buf[64];
	uint32_t len;
	int s;

	setup2(1500, 0);
	CU_ASSERT_FATAL(system("ip addr add 10.99.0.1/24 dev pvtb0 && "
			       "ip neigh add 10.99.0.2 lladdr 52:54:00:12:34:56 dev pvtb0") == 0);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, "10.99.0.1", &sa.sin_addr);
	CU_ASSERT_FATAL(bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	struct timeval tv = { 2, 0 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* Guest -> host with the UDP checksum left blank: the host stack accepts it. */
	len = ipv4_frame(out, b.tap_mac, 17, 32);
	CU_ASSERT_EQUAL(tnet_guest_send(&b, out, len, &off), 0);
	CU_ASSERT_EQUAL(recv(s, buf, sizeof(buf), 0), 32);
	CU_ASSERT_EQUAL(memcmp(buf, out + 42, 32), 0);
	/* Host -> guest: the TAP offers checksum offload, so it may arrive blank. */
	sa.sin_port = htons(5000);
	inet_pton(AF_INET, "10.99.0.2", &sa.sin_addr);
	CU_ASSERT_EQUAL(sendto(s, "pong-from-host", 14, 0, (struct sockaddr *)&sa, sizeof(sa)), 14);
	memset(&off, 0, sizeof(off));
	CU_ASSERT_EQUAL(tnet_guest_recv(&b, 0x0800, in, sizeof(in), 2000, &off), 14 + 20 + 8 + 14);
	CU_ASSERT_EQUAL(memcmp(in + 42, "pong-from-host", 14), 0);
	CU_ASSERT(off.csum_blank || off.data_validated);
	close(s);
	teardown2();
}

static bool wait_failed(struct net_vif *v, int ms)
{
	uint64_t end = tnet_now_ms() + (uint64_t)ms;

	while (!net_vif_failed(v) && tnet_now_ms() < end)
		usleep(1000);
	return net_vif_failed(v);
}

static void test_impossible_tx_index_disconnects_that_vif_only(void)
{
	struct netfront_queue *q;

	setup2(1500, 0);
	q = &a.nf.q[0];
	__atomic_store_n(&q->tx_sh->req_prod, q->tx_sh->rsp_prod + 1000, __ATOMIC_RELEASE);
	pvfront_evtchn_send(&g->front, q->port);
	CU_ASSERT(wait_failed(a.v, 3000));
	CU_ASSERT(!net_vif_connected(a.v));
	assert_b_serves(7);
	CU_ASSERT(net_vif_connected(b.v));
	teardown2();
}

static void test_endless_slot_chain_disconnects_that_vif_only(void)
{
	struct netfront_queue *q;

	setup2(1500, 0);
	q = &a.nf.q[0];
	for (unsigned i = 0; i < NETFRONT_RING_ENTS; i++) {
		*netif_tx_front_req(&q->tx) = txreq(good_ref(i), 0, NETIF_TXF_MORE_DATA, 60);
		q->tx.req_prod_pvt++;
	}
	ring_front_push_reqs(&q->tx);
	pvfront_evtchn_send(&g->front, q->port);
	CU_ASSERT(wait_failed(a.v, 3000));
	assert_b_serves(8);
	teardown2();
}

static void test_impossible_rx_index_disconnects_that_vif_only(void)
{
	struct netfront_queue *q;

	setup2(1500, 0);
	q = &a.nf.q[0];
	__atomic_store_n(&q->rx_sh->req_prod, q->rx_sh->rsp_prod + 5000, __ATOMIC_RELEASE);
	pvfront_evtchn_send(&g->front, q->port);
	CU_ASSERT(wait_failed(a.v, 3000));
	assert_b_serves(9);
	teardown2();
}

struct rate_probe {
	struct net_vif *v;
	uint64_t from_ms, to_ms, bytes;
};

/* What the bucket governs: frames netback wrote to the TAP, sampled at the
 * window's edges (a lagging reader on a loaded host would blur it). */
static void *rate_sampler(void *arg)
{
	struct rate_probe *r = arg;
	struct net_vif_stats s0, s1;

	while (tnet_now_ms() < r->from_ms)
		usleep(1000);
	net_vif_get_stats(r->v, &s0);
	while (tnet_now_ms() < r->to_ms)
		usleep(1000);
	net_vif_get_stats(r->v, &s1);
	r->bytes = s1.tx_bytes - s0.tx_bytes;
	return NULL;
}

static void test_token_bucket_holds_rate_within_ten_percent(void)
{
	const uint64_t rate = 2000000; /* bytes/s */
	struct rate_probe r;
	struct net_vif_stats st;
	pthread_t th;
	double got;
	int n;

	setup2(1500, rate);
	r = (struct rate_probe){ .v = a.v, .from_ms = tnet_now_ms() + 300, /* past the burst */
				 .to_ms = tnet_now_ms() + 1800 };
	pthread_create(&th, NULL, rate_sampler, &r);
	tnet_frame(out, 1514, a.tap_mac, guest_mac, 11);
	while (tnet_now_ms() < r.to_ms + 100)
		if (tnet_guest_send(&a, out, 1514, NULL))
			break;
	pthread_join(th, NULL);
	got = (double)r.bytes / ((double)(r.to_ms - r.from_ms) / 1000.0);
	printf("\n  rate limit %llu B/s: measured %.0f B/s (%.1f%%)\n", (unsigned long long)rate, got,
	       100.0 * (got - (double)rate) / (double)rate);
	CU_ASSERT(got > 0.9 * (double)rate && got < 1.1 * (double)rate);
	net_vif_get_stats(a.v, &st);
	CU_ASSERT(st.tx_throttled > 0);
	/* And the frames did leave through the TAP. */
	n = tnet_host_recv(&a, TNET_ETHERTYPE, in, sizeof(in), 1000);
	CU_ASSERT_EQUAL(n, 1514);
	teardown2();
}

struct q_count {
	unsigned n;
};

static void count_udp(void *opaque, const struct netfront_rx_pkt *pkt)
{
	struct q_count *c = opaque;

	if (pkt->len > 42 && pkt->frag[0].data[12] == 0x08 && pkt->frag[0].data[23] == 17)
		c->n++;
}

static void test_two_queues_carry_flows_both_ways(void)
{
	struct net_vif_config c = { .mtu = 1500, .max_queues = 2 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct q_count got[2] = { { 0 }, { 0 } };
	struct net_vif_stats st;
	int s;

	memcpy(c.mac, guest_mac, 6);
	g = tnet_guest_new();
	CU_ASSERT_FATAL(g != NULL);
	CU_ASSERT_FATAL(tnet_vif_new(&a, g, "pvtq0", &c) == 0);
	CU_ASSERT_EQUAL(a.nf.nr_queues, 2);
	/* TX on each queue reaches the TAP. */
	for (unsigned q = 0; q < 2; q++) {
		tnet_frame(out, 128, a.tap_mac, guest_mac, 20 + q);
		CU_ASSERT_EQUAL(netfront_send(&a.nf, q, out, 128, NULL), 0);
		netfront_tx_flush(&a.nf, q);
		CU_ASSERT_EQUAL(tnet_host_recv(&a, TNET_ETHERTYPE, in, sizeof(in), 2000), 128);
		CU_ASSERT_EQUAL(memcmp(in, out, 128), 0);
	}
	/* RX: 64 UDP flows spread over both queues by the TAP's flow hash. */
	CU_ASSERT_FATAL(system("ip addr add 10.99.0.1/24 dev pvtq0 && "
			       "ip neigh add 10.99.0.2 lladdr 52:54:00:12:34:56 dev pvtq0") == 0);
	inet_pton(AF_INET, "10.99.0.2", &sa.sin_addr);
	for (unsigned i = 0; i < 64; i++) {
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		sa.sin_port = htons((uint16_t)(9000 + i));
		CU_ASSERT(sendto(s, "flow", 4, 0, (struct sockaddr *)&sa, sizeof(sa)) == 4);
		close(s);
	}
	for (uint64_t end = tnet_now_ms() + 2000; got[0].n + got[1].n < 64 && tnet_now_ms() < end;) {
		for (unsigned q = 0; q < 2; q++)
			netfront_recv(&a.nf, q, count_udp, &got[q], 64);
		usleep(200);
	}
	CU_ASSERT_EQUAL(got[0].n + got[1].n, 64);
	CU_ASSERT(got[0].n > 0 && got[1].n > 0);
	net_vif_get_stats(a.v, &st);
	CU_ASSERT(st.rx_packets >= 64 && st.tx_packets == 2);
	tnet_vif_free(&a);
	harness_guest_free(g);
	g = NULL;
}

static void nop_cb(void *opaque, const struct netfront_rx_pkt *pkt)
{
	(*(unsigned *)opaque)++;
}

/* The frontend core against a hostile backend (no netback here: the test
 * writes the backend's side of the rings). */
static void test_netfront_refuses_impossible_backend_responses(void)
{
	struct netfront nf;
	struct netfront_queue *q;
	struct netif_rx_response *r;
	unsigned got = 0;
	uint8_t pkt[100] = { 0 };

	g = tnet_guest_new();
	CU_ASSERT_FATAL(g != NULL);
	CU_ASSERT_FATAL(netfront_init(&nf, &g->front, 0, 1) == 0);
	nf.be_sg = true;
	q = &nf.q[0];
	/* A good response first: delivered. */
	r = &netif_rx_ring_slot_(q->rx_sh, NETFRONT_RING_ENTS, 0)->rsp.rsp;
	*r = (struct netif_rx_response){ .id = 0, .offset = 0, .flags = 0, .status = 60 };
	__atomic_store_n(&q->rx_sh->rsp_prod, 1, __ATOMIC_RELEASE);
	CU_ASSERT_EQUAL(netfront_recv(&nf, 0, nop_cb, &got, 8), 1);
	CU_ASSERT_EQUAL(got, 1);
	/* id that is not the ring index's buffer. */
	r = &netif_rx_ring_slot_(q->rx_sh, NETFRONT_RING_ENTS, 1)->rsp.rsp;
	*r = (struct netif_rx_response){ .id = 7, .status = 60 };
	__atomic_store_n(&q->rx_sh->rsp_prod, 2, __ATOMIC_RELEASE);
	CU_ASSERT_EQUAL(netfront_recv(&nf, 0, nop_cb, &got, 8), -PVFRONT_EPROTO);
	/* Data running past the page. */
	*r = (struct netif_rx_response){ .id = 1, .offset = 4000, .status = 200 };
	CU_ASSERT_EQUAL(netfront_recv(&nf, 0, nop_cb, &got, 8), -PVFRONT_EPROTO);
	/* An endless MORE_DATA chain is cut at NETIF_MAX_SLOTS_PER_PACKET. */
	for (unsigned i = 1; i < 40; i++)
		netif_rx_ring_slot_(q->rx_sh, NETFRONT_RING_ENTS, i)->rsp.rsp =
			(struct netif_rx_response){ .id = (uint16_t)i, .flags = NETIF_RXF_MORE_DATA, .status = 10 };
	__atomic_store_n(&q->rx_sh->rsp_prod, 40, __ATOMIC_RELEASE);
	CU_ASSERT_EQUAL(netfront_recv(&nf, 0, nop_cb, &got, 8), -PVFRONT_EPROTO);
	/* rsp_prod beyond what was posted. */
	__atomic_store_n(&q->rx_sh->rsp_prod, 5000, __ATOMIC_RELEASE);
	CU_ASSERT_EQUAL(netfront_recv(&nf, 0, nop_cb, &got, 8), -PVFRONT_EPROTO);
	CU_ASSERT_EQUAL(got, 1);
	/* TX: an answer for an id never sent, and a repeated answer. */
	memcpy(pkt, (uint8_t[]){ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x88, 0xb5 }, 14);
	CU_ASSERT_EQUAL(netfront_send(&nf, 0, pkt, 100, NULL), 0);
	netfront_tx_flush(&nf, 0);
	uint16_t sent_id = netif_tx_ring_slot_(q->tx_sh, NETFRONT_RING_ENTS, 0)->req.req.id;
	netif_tx_ring_slot_(q->tx_sh, NETFRONT_RING_ENTS, 0)->rsp =
		(struct netif_tx_response){ .id = (uint16_t)(sent_id ^ 1), .status = 0 };
	__atomic_store_n(&q->tx_sh->rsp_prod, 1, __ATOMIC_RELEASE);
	CU_ASSERT_EQUAL(netfront_tx_reap(&nf, 0), -PVFRONT_EPROTO);
	q->tx.rsp_cons = 0;
	netif_tx_ring_slot_(q->tx_sh, NETFRONT_RING_ENTS, 0)->rsp =
		(struct netif_tx_response){ .id = sent_id, .status = 0 };
	CU_ASSERT_EQUAL(netfront_tx_reap(&nf, 0), 1);
	CU_ASSERT_EQUAL(netfront_send(&nf, 0, pkt, 100, NULL), 0);
	netfront_tx_flush(&nf, 0);
	netif_tx_ring_slot_(q->tx_sh, NETFRONT_RING_ENTS, 1)->rsp =
		(struct netif_tx_response){ .id = 300, .status = 0 };
	__atomic_store_n(&q->tx_sh->rsp_prod, 2, __ATOMIC_RELEASE);
	CU_ASSERT_EQUAL(netfront_tx_reap(&nf, 0), -PVFRONT_EPROTO);
	/* Sizes the frontend refuses to send. */
	CU_ASSERT_EQUAL(netfront_send(&nf, 0, pkt, 10, NULL), -PVFRONT_EINVAL);
	CU_ASSERT_EQUAL(netfront_send(&nf, 0, out, 1600, NULL), -PVFRONT_EINVAL);
	harness_guest_free(g);
	g = NULL;
}

int main(void)
{
	CU_pSuite s;
	int err = tnet_enter_netns(), failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("netback", NULL, NULL);
	if (err) {
		/* No namespace (not root): nothing here may run outside one. */
		fprintf(stderr, "SKIP: test_netback: cannot create a network namespace: %s\n", strerror(-err));
	} else {
		CU_add_test(s, "frames_cross_byte_exact_both_ways", test_frames_cross_byte_exact_both_ways);
		CU_add_test(s, "attaches_to_persistent_tap_made_without_multi_queue", test_attaches_to_persistent_tap_made_without_multi_queue);
		CU_add_test(s, "rx_take_holds_frames_until_released", test_rx_take_holds_frames_until_released);
		CU_add_test(s, "mtu_9000_frames_span_three_slots_both_ways", test_mtu_9000_frames_span_three_slots_both_ways);
		CU_add_test(s, "malformed_tx_packets_dropped_and_counted_other_vif_served", test_malformed_tx_packets_dropped_and_counted_other_vif_served);
		CU_add_test(s, "tx_validate_refuses_inconsistent_chains", test_tx_validate_refuses_inconsistent_chains);
		CU_add_test(s, "bad_grants_dropped_and_counted", test_bad_grants_dropped_and_counted);
		CU_add_test(s, "readonly_rx_grant_refused_and_counted_packet_still_delivered", test_readonly_rx_grant_refused_and_counted_packet_still_delivered);
		CU_add_test(s, "gso_packet_reaches_tap_whole_and_bogus_gso_dropped", test_gso_packet_reaches_tap_whole_and_bogus_gso_dropped);
		CU_add_test(s, "gso_packet_reaches_guest_whole_with_metadata", test_gso_packet_reaches_guest_whole_with_metadata);
		CU_add_test(s, "udp_with_checksum_offload_both_ways_through_host_stack", test_udp_with_checksum_offload_both_ways_through_host_stack);
		CU_add_test(s, "impossible_tx_index_disconnects_that_vif_only", test_impossible_tx_index_disconnects_that_vif_only);
		CU_add_test(s, "endless_slot_chain_disconnects_that_vif_only", test_endless_slot_chain_disconnects_that_vif_only);
		CU_add_test(s, "impossible_rx_index_disconnects_that_vif_only", test_impossible_rx_index_disconnects_that_vif_only);
		CU_add_test(s, "token_bucket_holds_rate_within_ten_percent", test_token_bucket_holds_rate_within_ten_percent);
		CU_add_test(s, "two_queues_carry_flows_both_ways", test_two_queues_carry_flows_both_ways);
		CU_add_test(s, "netfront_refuses_impossible_backend_responses", test_netfront_refuses_impossible_backend_responses);
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = (int)CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
