/* SPDX-License-Identifier: MIT */
/*
 * test=udpecho: sends every UDP datagram for port= back to its sender
 * unchanged (the host tool's rtt mode measures round trips against it).
 *   ip=A.B.C.D (required) mask= gw= mtu= dev= port=7777
 *   runtime=S (default 10) count=N (stop after echoing N, 0: no limit)
 *   idle_ms=0 (stop that long after the last datagram, 0: never)
 * Answers ARP and ping meanwhile.  Prints one "RESULT prog=udpecho ..." line.
 */
#include "mini/net.h"
#include "mini/udp_stream.h"

struct echo_run {
	struct mini_net net;
	uint16_t port;
	uint64_t echoed, bytes, failed, t_last;
};

static struct echo_run run;

static void on_udp_echo(void *ctx, const struct mini_net_udp *u)
{
	struct echo_run *r = ctx;
	struct mini_iov iov[MINI_NET_MAX_FRAGS];
	unsigned n;

	if (u->dst_port != r->port)
		return;
	r->t_last = mini_rdtsc();
	n = mini_net_frame_slice(u->frame, u->payload_off, u->len, iov, MINI_NET_MAX_FRAGS);
	if ((!n && u->len) ||
	    mini_net_udp_send(u->net, u->src_mac, u->src_ip, u->dst_port, u->src_port, iov, n)) {
		r->failed++;
		return;
	}
	r->echoed++;
	r->bytes += u->len;
}

static int echo_main(const char *arg)
{
	struct echo_run *r = &run;
	uint64_t runtime = mini_opt_u64("runtime", 10), count = mini_opt_u64("count", 0);
	uint64_t port = mini_opt_u64("port", PVUS_DEFAULT_PORT), idle_ms = mini_opt_u64("idle_ms", 0);
	uint64_t t0, limit, idle;
	char a[16];
	int rc;

	(void)arg;
	if ((rc = mini_net_setup(&r->net, "udpecho")))
		return rc;
	if (!port || port > 65535) {
		printf("udpecho: port=%lu: want 1..65535\n", (unsigned long)port);
		return MINI_EXIT_USAGE;
	}
	r->port = (uint16_t)port;
	r->net.ctx = r;
	r->net.on_udp = on_udp_echo;
	printf("udpecho: on %s:%u runtime=%lu count=%lu\n", mini_net_ip_str(r->net.ip, a), r->port,
	       (unsigned long)runtime, (unsigned long)count);
	printf("udpecho: ready\n");
	t0 = mini_rdtsc();
	limit = mini_ns_to_cycles(runtime * 1000000000ull);
	idle = mini_ns_to_cycles(idle_ms * 1000000);
	for (;;) {
		if (mini_net_poll(&r->net))
			mini_net_flush(&r->net);     /* the echoes of this batch: one doorbell */
		if (count && r->echoed >= count)
			break;
		if ((runtime && mini_rdtsc() - t0 > limit) || (idle && r->echoed && mini_rdtsc() - r->t_last > idle))
			break;
	}
	for (unsigned i = 0; i < 1000 && mini_net_flush(&r->net) < r->net.dev->tx_slots; i++)
		mini_net_poll(&r->net);
	mini_net_print_stats(&r->net, "udpecho");
	printf("RESULT prog=udpecho echoed=%lu bytes=%lu failed=%lu runtime_ms=%lu\n", (unsigned long)r->echoed,
	       (unsigned long)r->bytes, (unsigned long)r->failed,
	       (unsigned long)(mini_cycles_to_ns(mini_rdtsc() - t0) / 1000000));
	if (r->failed || (count && r->echoed < count)) {
		printf("udpecho: FAILED\n");
		return MINI_EXIT_FAIL;
	}
	printf("udpecho OK\n");
	return MINI_EXIT_OK;
}
MINI_PROGRAM(udpecho, "udpecho", "echo UDP datagrams for port=: runtime= count= idle_ms=", echo_main);
