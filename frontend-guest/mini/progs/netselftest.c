/* SPDX-License-Identifier: MIT */
/*
 * test=netselftest: the network layer without a NIC.  Checksums against a
 * byte-wise reference at every length and split, address parsing (good and
 * malformed), frame slicing, the UDP stream pattern split anywhere, and the
 * whole UDP/ICMP/ARP path through a loopback netdev: datagrams built by
 * mini_net_udp_send come back verified; a flipped bit, a short length and a
 * bad IP header checksum are counted and dropped; ping is answered.
 */
#include "mini/net.h"
#include "mini/udp_stream.h"

#define LOOP_FRAMES 8

static unsigned failures;

static void expect(bool ok, const char *what)
{
	if (!ok) {
		printf("netselftest: FAIL %s\n", what);
		failures++;
	}
}

/* ---- a loopback device: tx frames come back on rx ---- */
struct loopdev {
	struct mini_netdev nd;
	uint8_t buf[LOOP_FRAMES][MINI_NET_MAX_FRAME];
	uint32_t len[LOOP_FRAMES];
	unsigned head, tail;         /* queued frames: [tail, head) */
	int corrupt_at;              /* >= 0: flip this byte of the next frame sent */
};

static struct loopdev loop;

static int loop_tx(struct mini_netdev *nd, const struct mini_iov *iov, unsigned n)
{
	struct loopdev *l = nd->priv;
	uint8_t *p = l->buf[l->head % LOOP_FRAMES];
	uint32_t len = 0;

	if (l->head - l->tail == LOOP_FRAMES)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		if (len + iov[i].len > MINI_ETH_HLEN + nd->mtu)
			return -2;
		memcpy(p + len, iov[i].base, iov[i].len);
		len += iov[i].len;
	}
	if (l->corrupt_at >= 0 && (uint32_t)l->corrupt_at < len) {
		p[l->corrupt_at] ^= 0x10;
		l->corrupt_at = -1;
	}
	l->len[l->head++ % LOOP_FRAMES] = len;
	return 0;
}

static unsigned loop_flush(struct mini_netdev *nd)
{
	struct loopdev *l = nd->priv;

	return LOOP_FRAMES - (l->head - l->tail);
}

/* Hands each frame out in two fragments, split at an odd offset just past
 * what the interface promises contiguous, so the multi-fragment paths run. */
static unsigned loop_rx(struct mini_netdev *nd, struct mini_net_frame *f, unsigned max)
{
	struct loopdev *l = nd->priv;
	unsigned n = 0;

	for (; n < max && l->tail != l->head; n++, l->tail++) {
		uint8_t *p = l->buf[l->tail % LOOP_FRAMES];
		uint32_t len = l->len[l->tail % LOOP_FRAMES], first = len > MINI_NET_RX_HEAD + 3 ? MINI_NET_RX_HEAD + 3 : len;

		f[n] = (struct mini_net_frame){ .len = len, .nr_frags = len > first ? 2 : 1 };
		f[n].frag[0].data = p;
		f[n].frag[0].len = first;
		f[n].frag[1].data = p + first;
		f[n].frag[1].len = len - first;
	}
	return n;
}

static void loop_release(struct mini_netdev *nd, struct mini_net_frame *f, unsigned n)
{
	(void)nd, (void)f, (void)n;
}

static const struct mini_netdev_ops loop_ops = {
	.tx = loop_tx, .tx_flush = loop_flush, .rx = loop_rx, .rx_release = loop_release,
};

/* ---- pure functions ---- */

static uint16_t ref_csum(const uint8_t *p, uint32_t len)
{
	uint32_t s = 0;

	for (uint32_t i = 0; i < len; i++)
		s += i & 1 ? p[i] : (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void test_csum(void)
{
	static uint8_t b[80];
	bool ok = true;

	for (unsigned i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 37 + 0xe1);
	for (uint32_t len = 0; len <= sizeof(b); len++)
		for (uint32_t cut = 0; cut <= len; cut++) {
			uint32_t s = mini_csum_add(mini_csum_add(0, b, cut, false), b + cut, len - cut, cut & 1);

			ok = ok && __builtin_bswap16(mini_csum_fold(s)) == ref_csum(b, len);
		}
	expect(ok, "checksum equals the byte-wise reference at every length and split");
}

static void test_parse_ip(void)
{
	static const char *const bad[] = { "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "1.2.3.4 ",
					   "0001.1.1.1", "a.b.c.d", "1.2.3.-4" };
	uint32_t ip = 0;
	char s[16];

	expect(mini_net_parse_ip("10.77.0.2", &ip) == 0 && !strcmp(mini_net_ip_str(ip, s), "10.77.0.2") &&
	       ((const uint8_t *)&ip)[0] == 10, "10.77.0.2 parses in network order and prints back");
	for (unsigned i = 0; i < MINI_ARRAY_SIZE(bad); i++)
		expect(mini_net_parse_ip(bad[i], &ip) == -1, bad[i]);
}

static void test_slice_and_pattern(void)
{
	static uint8_t p[1472];
	struct mini_net_frame f = { .len = 1472, .nr_frags = 3 };
	struct mini_iov iov[4];
	bool ok = true;

	pvus_fill(p, sizeof(p), 12345, 0, 0);
	for (uint32_t cut = PVUS_HDR_BYTES; cut <= sizeof(p); cut++)
		ok = ok && pvus_check(p + PVUS_HDR_BYTES, PVUS_HDR_BYTES, cut - PVUS_HDR_BYTES, 12345) &&
		     pvus_check(p + cut, cut, sizeof(p) - cut, 12345);
	expect(ok, "pattern verifies split at every offset");
	p[700] ^= 1;
	expect(!pvus_check(p + PVUS_HDR_BYTES, PVUS_HDR_BYTES, sizeof(p) - PVUS_HDR_BYTES, 12345),
	       "pattern catches a flipped bit");
	expect(!pvus_check(p + PVUS_HDR_BYTES, PVUS_HDR_BYTES, 600, 12346), "pattern depends on seq");
	f.frag[0].data = p, f.frag[0].len = 10;
	f.frag[1].data = p + 10, f.frag[1].len = 1000;
	f.frag[2].data = p + 1010, f.frag[2].len = 462;
	expect(mini_net_frame_slice(&f, 5, 1005, iov, 4) == 2 && iov[0].len == 5 && iov[1].len == 1000 &&
	       iov[0].base == p + 5, "slice across two fragments");
	expect(mini_net_frame_slice(&f, 5, 1010, iov, 4) == 3 && iov[2].len == 5, "slice across three");
	expect(mini_net_frame_slice(&f, 1010, 462, iov, 4) == 1 && iov[0].base == p + 1010, "slice of the last");
	expect(mini_net_frame_slice(&f, 1000, 473, iov, 4) == 0, "slice past the end is refused");
}

/* ---- the whole path over the loopback device ---- */

struct loop_rx_seen {
	unsigned udp, echo, bad_payload;
	uint16_t port;
};

static void on_udp(void *ctx, const struct mini_net_udp *u)
{
	struct loop_rx_seen *s = ctx;
	struct mini_iov iov[MINI_NET_MAX_FRAGS];
	unsigned n = mini_net_frame_slice(u->frame, u->payload_off, u->len, iov, MINI_NET_MAX_FRAGS);
	uint32_t off = 0;

	s->udp++;
	s->port = u->dst_port;
	for (unsigned i = 0; i < n; i++, off += iov[i - 1].len)
		if (off >= PVUS_HDR_BYTES && !pvus_check(iov[i].base, off, iov[i].len, 7))
			s->bad_payload++;
	if (!n)
		s->bad_payload++;
}

static void on_echo(void *ctx, const struct mini_net_echo *e)
{
	struct loop_rx_seen *s = ctx;

	s->echo += e->id == 0x1234 && e->seq == 9 && e->data_len == 300;
}

static void test_loopback(void)
{
	static struct mini_net net;
	static uint8_t pl[1200];
	struct loop_rx_seen seen = { 0 };
	struct mini_iov iov = { pl, sizeof(pl) };
	struct mini_net *n = &net;

	loop.nd = (struct mini_netdev){ .ops = &loop_ops, .priv = &loop, .mtu = 1500, .tx_slots = LOOP_FRAMES,
					.mac = { 2, 0, 0, 0, 0, 1 } };
	loop.corrupt_at = -1;
	*n = (struct mini_net){ .dev = &loop.nd, .mtu = 1500, .echo_reply_enabled = true, .ctx = &seen,
				.on_udp = on_udp, .on_echo_reply = on_echo };
	mini_net_parse_ip("10.77.0.2", &n->ip);
	mini_net_parse_ip("255.255.255.0", &n->mask);
	pvus_fill(pl, sizeof(pl), 7, 0, 0);
	expect(mini_net_udp_send(n, loop.nd.mac, n->ip, 5, 7777, &iov, 1) == 0, "udp send");
	mini_net_poll(n);
	expect(seen.udp == 1 && seen.port == 7777 && !seen.bad_payload && n->st.rx_udp == 1,
	       "a datagram comes back with checksums and payload verified");
	loop.corrupt_at = 14 + 20 + 8 + 500;      /* payload byte: only the UDP checksum can tell */
	mini_net_udp_send(n, loop.nd.mac, n->ip, 5, 7777, &iov, 1);
	mini_net_poll(n);
	expect(seen.udp == 1 && n->st.rx_bad_udp_csum == 1, "a flipped payload bit fails the UDP checksum");
	loop.corrupt_at = 14 + 8;                 /* IPv4 TTL: header checksum */
	mini_net_udp_send(n, loop.nd.mac, n->ip, 5, 7777, &iov, 1);
	mini_net_poll(n);
	expect(seen.udp == 1 && n->st.rx_bad_ip_csum == 1, "a flipped IPv4 header bit fails its checksum");
	iov.len = (uint32_t)sizeof(pl);
	expect(mini_net_udp_send(n, loop.nd.mac, n->ip, 5, 7777, &(struct mini_iov){ pl, 1473 }, 1) == -2,
	       "a datagram over the MTU is refused");
	/* our own ping: the request is answered, the answer is an echo reply */
	expect(mini_net_ping_send(n, loop.nd.mac, n->ip, 0x1234, 9, 300) == 0, "ping send");
	mini_net_poll(n);
	mini_net_poll(n);
	expect(n->st.echo_requests_answered == 1 && seen.echo == 1, "ping answered and the reply recognised");
	expect(n->st.rx_bad_icmp == 0 && n->st.rx_bad_eth == 0 && n->st.rx_bad_ip == 0, "no other errors");
}

static int netselftest_main(const char *arg)
{
	(void)arg;
	test_csum();
	test_parse_ip();
	test_slice_and_pattern();
	test_loopback();
	if (failures) {
		printf("netselftest: %u failures\n", failures);
		return MINI_EXIT_FAIL;
	}
	printf("netselftest OK\n");
	return MINI_EXIT_OK;
}
MINI_PROGRAM(netselftest, "netselftest", "the network layer on a loopback device (no NIC needed)", netselftest_main);
