/* SPDX-License-Identifier: MIT */
/*
 * test=netping: answer ARP and ICMP echo for ip=, and/or ping a peer.
 *   ip=A.B.C.D (required) mask= gw= mtu= dev=
 *   peer=A.B.C.D count=5 size=56 (ICMP data bytes) interval_ms=10 timeout_ms=1000
 *     ping the peer count times, one at a time, printing each RTT and then
 *     min/p50/p99/max; any lost reply makes the exit status 1
 *   runtime=S (default 0 with peer=, else 10) answer=N
 *     then keep answering for runtime seconds, or until N echo requests were
 *     answered (exit status 1 when answer=N was not reached)
 * Prints one "RESULT prog=netping ..." line.
 */
#include "mini/hist.h"
#include "mini/net.h"

#define PING_ID 0x4d49

struct ping_run {
	struct mini_net net;
	struct mini_hist rtt;              /* ns */
	uint16_t waiting_seq;
	bool got_reply;
	uint64_t t_sent, sent, received, late;
};

static struct ping_run run;

static void on_echo_reply(void *ctx, const struct mini_net_echo *e)
{
	struct ping_run *r = ctx;
	uint64_t now = mini_rdtsc();
	char a[16];

	if (e->id != PING_ID || e->seq != r->waiting_seq || r->got_reply) {
		r->late++;
		return;
	}
	r->got_reply = true;
	r->received++;
	mini_hist_add(&r->rtt, mini_cycles_to_ns(now - r->t_sent));
	printf("netping: %u bytes from %s: icmp_seq=%u time=%lu.%03lu us\n", e->data_len + 8,
	       mini_net_ip_str(e->src_ip, a), e->seq, (unsigned long)(mini_cycles_to_ns(now - r->t_sent) / 1000),
	       (unsigned long)(mini_cycles_to_ns(now - r->t_sent) % 1000));
}

static void wait_cycles(struct mini_net *n, uint64_t cycles, const bool *until)
{
	uint64_t t0 = mini_rdtsc();

	while (mini_rdtsc() - t0 < cycles && !(until && *until))
		mini_net_poll(n);
}

/* Pings peer count times; returns the number lost, or -1 when unreachable. */
static int ping_peer(struct ping_run *r, uint32_t peer)
{
	uint64_t count = mini_opt_u64("count", 5), size = mini_opt_u64("size", 56);
	uint64_t interval = mini_ns_to_cycles(mini_opt_u64("interval_ms", 10) * 1000000);
	uint64_t timeout = mini_ns_to_cycles(mini_opt_u64("timeout_ms", 1000) * 1000000);
	uint8_t mac[6];
	char a[16];

	if (mini_net_resolve(&r->net, peer, mac, 3000)) {
		printf("netping: %s: no ARP reply\n", mini_net_ip_str(peer, a));
		return -1;
	}
	printf("netping: PING %s %lu data bytes, %lu times\n", mini_net_ip_str(peer, a),
	       (unsigned long)size, (unsigned long)count);
	for (uint64_t i = 0; i < count; i++) {
		r->waiting_seq = (uint16_t)i;
		r->got_reply = false;
		r->t_sent = mini_rdtsc();
		if (mini_net_ping_send(&r->net, mac, peer, PING_ID, (uint16_t)i, (uint32_t)size)) {
			printf("netping: size=%lu does not fit the MTU %u\n", (unsigned long)size, r->net.mtu);
			return -1;
		}
		mini_net_flush(&r->net);
		r->sent++;
		wait_cycles(&r->net, timeout, &r->got_reply);
		if (!r->got_reply)
			printf("netping: icmp_seq=%lu: no reply\n", (unsigned long)i);
		if (i + 1 < count)
			wait_cycles(&r->net, interval, NULL);
	}
	return (int)(r->sent - r->received);
}

static int ping_main(const char *arg)
{
	struct ping_run *r = &run;
	const char *peer_s = mini_opt_str("peer", NULL);
	uint64_t answer = mini_opt_u64("answer", 0), runtime, t0;
	uint32_t peer = 0;
	int lost = 0, rc;

	(void)arg;
	rc = mini_net_setup(&r->net, "netping");
	if (rc)
		return rc;
	if (peer_s && mini_net_parse_ip(peer_s, &peer)) {
		printf("netping: peer=%s: want a dotted-quad IPv4 address\n", peer_s);
		return MINI_EXIT_USAGE;
	}
	runtime = mini_opt_u64("runtime", peer_s ? 0 : 10);
	mini_hist_init(&r->rtt);
	r->net.ctx = r;
	r->net.on_echo_reply = on_echo_reply;
	if (peer_s)
		lost = ping_peer(r, peer);
	if (runtime || answer) {
		printf("netping: answering for %lu s%s\n", (unsigned long)runtime, answer ? " or until answered" : "");
		t0 = mini_rdtsc();
		while ((!runtime || mini_rdtsc() - t0 < mini_ns_to_cycles(runtime * 1000000000ull)) &&
		       (!answer || r->net.st.echo_requests_answered < answer))
			mini_net_poll(&r->net);
	}
	mini_net_print_stats(&r->net, "netping");
	printf("RESULT prog=netping sent=%lu received=%lu lost=%lu rtt_min_ns=%lu rtt_p50_ns=%lu "
	       "rtt_p99_ns=%lu rtt_max_ns=%lu answered=%lu\n",
	       (unsigned long)r->sent, (unsigned long)r->received, (unsigned long)(r->sent - r->received),
	       (unsigned long)(r->rtt.count ? r->rtt.min : 0), (unsigned long)mini_hist_percentile(&r->rtt, 50),
	       (unsigned long)mini_hist_percentile(&r->rtt, 99), (unsigned long)r->rtt.max,
	       (unsigned long)r->net.st.echo_requests_answered);
	if (lost || (answer && r->net.st.echo_requests_answered < answer)) {
		printf("netping: FAILED\n");
		return MINI_EXIT_FAIL;
	}
	printf("netping OK\n");
	return MINI_EXIT_OK;
}
MINI_PROGRAM(netping, "netping", "answer ping for ip=, ping peer=: count= size= runtime= answer=", ping_main);
