/* SPDX-License-Identifier: MIT */
/*
 * test=udpsend and test=udprecv: the UDP test stream of mini/udp_stream.h
 * (sequence numbers, verifiable payload, FIN datagrams carrying the count).
 * Common: ip=A.B.C.D (required) mask= gw= mtu= dev= port=7777
 * udpsend: peer=A.B.C.D (required) size=64 (UDP payload bytes, 24..mtu-28)
 *   count=N and/or runtime=S (default 5 s when count= is absent) rate=PPS
 *   (0: as fast as the device takes them) batch=32 (datagrams per doorbell)
 * udprecv: count=N (stop when all arrived) runtime=S (at most, default 10)
 *   idle_ms=2000 (stop that long after the last datagram) size=0 (expected
 *   payload size, 0: any) loss_ok=0 (1: loss and reordering do not fail)
 * Each prints fio-like lines and one "RESULT prog=... key=value ..." line.
 */
#include "mini/net.h"
#include "mini/udp_stream.h"

#define MAX_TRACKED_SEQS (1u << 24)

struct udp_run {
	struct mini_net net;
	uint16_t port;
	/* receiver */
	uint8_t *seen;                 /* bitmap of sequence numbers */
	uint64_t expect_size, received, unique, dups, reordered, corrupt, bytes, next_seq;
	uint64_t fin_total, t_first, t_last;
	bool have_fin;
};

static struct udp_run run;

/* Prints v/1000 with three decimals into buf. */
static const char *milli(char *buf, uint64_t v)
{
	snprintf(buf, 24, "%lu.%03lu", (unsigned long)(v / 1000), (unsigned long)(v % 1000));
	return buf;
}

static int common_setup(struct udp_run *r, const char *prog)
{
	int rc = mini_net_setup(&r->net, prog);
	uint64_t port = mini_opt_u64("port", PVUS_DEFAULT_PORT);

	if (rc)
		return rc;
	if (!port || port > 65535) {
		printf("%s: port=%lu: want 1..65535\n", prog, (unsigned long)port);
		return MINI_EXIT_USAGE;
	}
	r->port = (uint16_t)port;
	r->net.ctx = r;
	return 0;
}

/* ---- udpsend ---- */

static void send_fin(struct udp_run *r, const uint8_t mac[6], uint32_t peer, uint64_t sent)
{
	static uint8_t buf[PVUS_HDR_BYTES];
	struct mini_iov iov = { buf, sizeof(buf) };

	for (unsigned i = 0; i < 3; i++) {
		uint64_t t0 = mini_rdtsc();

		pvus_fill(buf, sizeof(buf), sent, mini_rdtsc(), PVUS_FIN);
		mini_net_udp_send(&r->net, mac, peer, r->port, r->port, &iov, 1);
		mini_net_flush(&r->net);
		while (mini_rdtsc() - t0 < mini_ns_to_cycles(2000000))
			mini_net_poll(&r->net);
	}
}

/* Sends until count or deadline; returns datagrams sent. */
static uint64_t send_loop(struct udp_run *r, const uint8_t mac[6], uint32_t peer, uint32_t size,
			  uint64_t count, uint64_t deadline, uint64_t period, uint64_t batch)
{
	static uint8_t buf[MINI_NET_MAX_MTU];
	struct mini_iov iov = { buf, size };
	uint64_t seq = 0, t0 = mini_rdtsc(), now = t0, unflushed = 0;

	while ((!count || seq < count) && now < deadline) {
		int rc;

		if (period && now < t0 + seq * period) {
			if (unflushed) {
				mini_net_flush(&r->net);
				unflushed = 0;
			}
			mini_net_poll(&r->net);
			now = mini_rdtsc();
			continue;
		}
		pvus_fill(buf, size, seq, now, 0);
		rc = mini_net_udp_send(&r->net, mac, peer, r->port, r->port, &iov, 1);
		if (rc == 0) {
			seq++;
			if (++unflushed >= batch) {
				mini_net_flush(&r->net);
				unflushed = 0;
			}
		} else {
			mini_net_poll(&r->net);       /* ring full: let the device catch up */
		}
		if ((seq & 1023) == 0 || rc)
			now = mini_rdtsc();
	}
	while (mini_net_flush(&r->net) < r->net.dev->tx_slots && mini_rdtsc() - now < mini_ns_to_cycles(1000000000))
		mini_net_poll(&r->net);
	return seq;
}

static int send_main(const char *arg)
{
	struct udp_run *r = &run;
	const char *peer_s = mini_opt_str("peer", NULL);
	uint64_t size = mini_opt_u64("size", 64), count = mini_opt_u64("count", 0);
	uint64_t runtime = mini_opt_u64("runtime", count ? 0 : 5), rate = mini_opt_u64("rate", 0);
	uint64_t batch = mini_opt_u64("batch", 32), t0, ns, sent;
	uint32_t peer;
	uint8_t mac[6];
	char a[16], g[24];
	int rc;

	(void)arg;
	if ((rc = common_setup(r, "udpsend")))
		return rc;
	if (!peer_s || mini_net_parse_ip(peer_s, &peer)) {
		printf("udpsend: peer=A.B.C.D is required\n");
		return MINI_EXIT_USAGE;
	}
	if (size < PVUS_HDR_BYTES || size + 28 > r->net.mtu || !batch) {
		printf("udpsend: size=%lu: want %u..%u (and batch >= 1)\n", (unsigned long)size, PVUS_HDR_BYTES,
		       r->net.mtu - 28);
		return MINI_EXIT_USAGE;
	}
	if (mini_net_resolve(&r->net, peer, mac, 3000)) {
		printf("udpsend: %s: no ARP reply\n", mini_net_ip_str(peer, a));
		return MINI_EXIT_FAIL;
	}
	printf("udpsend: to %s:%u size=%lu count=%lu runtime=%lu rate=%lu batch=%lu\n", mini_net_ip_str(peer, a),
	       r->port, (unsigned long)size, (unsigned long)count, (unsigned long)runtime, (unsigned long)rate,
	       (unsigned long)batch);
	t0 = mini_rdtsc();
	sent = send_loop(r, mac, peer, (uint32_t)size, count,
			 runtime ? t0 + mini_ns_to_cycles(runtime * 1000000000ull) : UINT64_MAX,
			 rate ? mini_ns_to_cycles(1000000000ull / rate) : 0, batch);
	ns = mini_cycles_to_ns(mini_rdtsc() - t0);
	send_fin(r, mac, peer, sent);
	mini_net_print_stats(&r->net, "udpsend");
	printf("udpsend: sent=%lu in %lu ms: %lu pps, %s Gbit/s payload\n", (unsigned long)sent,
	       (unsigned long)(ns / 1000000), (unsigned long)(ns ? sent * 1000000000ull / ns : 0),
	       milli(g, ns ? sent * size * 8 * 1000 / ns : 0));
	printf("RESULT prog=udpsend size=%lu sent=%lu runtime_ms=%lu pps=%lu gbps=%s tx_full=%lu tx_kicks=%lu\n",
	       (unsigned long)size, (unsigned long)sent, (unsigned long)(ns / 1000000),
	       (unsigned long)(ns ? sent * 1000000000ull / ns : 0), g,
	       (unsigned long)r->net.dev->stats.tx_full, (unsigned long)r->net.dev->stats.tx_kicks);
	return sent ? MINI_EXIT_OK : MINI_EXIT_FAIL;
}
MINI_PROGRAM(udpsend, "udpsend", "send the UDP test stream to peer=: size= count= runtime= rate= port=", send_main);

/* ---- udprecv ---- */

static bool datagram_ok(const struct mini_net_udp *u, const struct pvus_hdr *h)
{
	struct mini_iov iov[MINI_NET_MAX_FRAGS];
	unsigned n = mini_net_frame_slice(u->frame, u->payload_off + PVUS_HDR_BYTES,
					  u->len - PVUS_HDR_BYTES, iov, MINI_NET_MAX_FRAGS);
	uint32_t off = PVUS_HDR_BYTES;

	if (!n && u->len > PVUS_HDR_BYTES)
		return false;
	for (unsigned i = 0; i < n; i++) {
		if (!pvus_check(iov[i].base, off, iov[i].len, h->seq))
			return false;
		off += iov[i].len;
	}
	return true;
}

static void on_udp_recv(void *ctx, const struct mini_net_udp *u)
{
	struct udp_run *r = ctx;
	struct pvus_hdr h;

	if (u->dst_port != r->port)
		return;
	r->received++;
	r->t_last = mini_rdtsc();
	if (u->len < PVUS_HDR_BYTES) {
		r->corrupt++;
		return;
	}
	memcpy(&h, u->frame->frag[0].data + u->payload_off, sizeof(h));   /* within MINI_NET_RX_HEAD */
	if (h.magic != PVUS_MAGIC || (h.flags & ~PVUS_FIN) || h.reserved ||
	    ((h.flags & PVUS_FIN) && u->len != PVUS_HDR_BYTES)) {
		r->corrupt++;
		return;
	}
	if (h.flags & PVUS_FIN) {
		r->have_fin = true;
		r->fin_total = h.seq;
		return;
	}
	if ((r->expect_size && u->len != r->expect_size) || !datagram_ok(u, &h)) {
		if (r->corrupt++ < 5)
			printf("udprecv: datagram seq %lu (%u bytes) fails verification\n", (unsigned long)h.seq, u->len);
		return;
	}
	if (!r->unique)
		r->t_first = r->t_last;
	if (h.seq < MAX_TRACKED_SEQS) {
		uint8_t bit = (uint8_t)(1u << (h.seq & 7));

		if (r->seen[h.seq >> 3] & bit) {
			r->dups++;
			return;
		}
		r->seen[h.seq >> 3] |= bit;
	}
	if (h.seq < r->next_seq)
		r->reordered++;
	else
		r->next_seq = h.seq + 1;
	r->unique++;
	r->bytes += u->len;
}

static void recv_loop(struct udp_run *r, uint64_t count, uint64_t runtime_s, uint64_t idle_ms)
{
	uint64_t t0 = mini_rdtsc(), limit = mini_ns_to_cycles(runtime_s * 1000000000ull),
		 idle = mini_ns_to_cycles(idle_ms * 1000000), now = t0;

	for (unsigned i = 0;; i++) {
		mini_net_poll(&r->net);
		if (r->have_fin || (count && r->unique >= count))
			break;
		if ((i & 63) == 0) {
			now = mini_rdtsc();
			if (now - t0 > limit || (r->received && now - r->t_last > idle))
				break;
		}
	}
}

static int recv_report(struct udp_run *r, uint64_t count)
{
	uint64_t ns = r->unique > 1 ? mini_cycles_to_ns(r->t_last - r->t_first) : 0;
	uint64_t total = r->have_fin ? r->fin_total : count ? count : r->next_seq;
	uint64_t lost = total > r->unique ? total - r->unique : 0;
	uint64_t bad = r->corrupt + r->net.st.rx_bad_udp_csum + r->net.st.rx_bad_ip_csum;
	uint64_t pps = ns ? r->unique * 1000000000ull / ns : 0;
	bool loss_ok = mini_opt_u64("loss_ok", 0) != 0;
	char g[24];

	mini_net_print_stats(&r->net, "udprecv");
	milli(g, ns ? r->bytes * 8 * 1000 / ns : 0);
	printf("udprecv: received=%lu unique=%lu of %lu%s lost=%lu dups=%lu reordered=%lu corrupt=%lu\n",
	       (unsigned long)r->received, (unsigned long)r->unique, (unsigned long)total,
	       r->have_fin ? " (sender's count)" : "", (unsigned long)lost, (unsigned long)r->dups,
	       (unsigned long)r->reordered, (unsigned long)bad);
	printf("udprecv: %lu pps, %s Gbit/s payload over %lu ms\n", (unsigned long)pps, g,
	       (unsigned long)(ns / 1000000));
	printf("RESULT prog=udprecv received=%lu unique=%lu sent=%lu lost=%lu dups=%lu reordered=%lu corrupt=%lu "
	       "bytes=%lu runtime_ms=%lu pps=%lu gbps=%s fin=%d\n", (unsigned long)r->received,
	       (unsigned long)r->unique, (unsigned long)total, (unsigned long)lost, (unsigned long)r->dups,
	       (unsigned long)r->reordered, (unsigned long)bad, (unsigned long)r->bytes,
	       (unsigned long)(ns / 1000000), (unsigned long)pps, g, r->have_fin);
	if (bad || !r->unique || (!loss_ok && (lost || r->reordered || r->dups))) {
		printf("udprecv: FAILED\n");
		return MINI_EXIT_FAIL;
	}
	printf("udprecv OK\n");
	return MINI_EXIT_OK;
}

static int recv_main(const char *arg)
{
	struct udp_run *r = &run;
	uint64_t count = mini_opt_u64("count", 0), runtime = mini_opt_u64("runtime", 10);
	uint64_t idle_ms = mini_opt_u64("idle_ms", 2000);
	char a[16];
	int rc;

	(void)arg;
	if ((rc = common_setup(r, "udprecv")))
		return rc;
	r->expect_size = mini_opt_u64("size", 0);
	r->seen = mini_pages_alloc(MAX_TRACKED_SEQS / 8 / MINI_PAGE_SIZE);
	if (!r->seen) {
		printf("udprecv: out of memory for the sequence bitmap\n");
		return MINI_EXIT_FAIL;
	}
	r->net.on_udp = on_udp_recv;
	printf("udprecv: on %s:%u count=%lu runtime=%lu idle_ms=%lu size=%lu\n", mini_net_ip_str(r->net.ip, a),
	       r->port, (unsigned long)count, (unsigned long)runtime, (unsigned long)idle_ms,
	       (unsigned long)r->expect_size);
	printf("udprecv: ready\n");
	recv_loop(r, count, runtime, idle_ms);
	return recv_report(r, count);
}
MINI_PROGRAM(udprecv, "udprecv", "receive and verify the UDP test stream: port= count= runtime= size= loss_ok=", recv_main);
