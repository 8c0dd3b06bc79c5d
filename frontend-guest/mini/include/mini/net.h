/* SPDX-License-Identifier: MIT */
/*
 * A small Ethernet/ARP/IPv4/ICMP/UDP layer over struct mini_netdev
 * (net/net.c), enough for the network test programs: it answers ARP and
 * ICMP echo for its own address, resolves next hops, sends UDP and ICMP echo
 * with IPv4 header and UDP/ICMP checksums computed, and verifies every
 * received checksum (bad packets are counted and dropped).  No IP fragments
 * (dropped and counted), no IP options on transmit.  Addresses are kept in
 * network byte order as they appear on the wire; ports in host order.
 */
#ifndef MINI_NET_H
#define MINI_NET_H

#include "mini/netdev.h"

#define MINI_NET_ARP_ENTRIES 8u
#define MINI_NET_UDP_HLEN 42u       /* Ethernet + IPv4 (no options) + UDP */

struct mini_net;

/* A UDP datagram addressed to us, handed to the program's callback; its
 * payload is bytes [payload_off, payload_off + len) of frame (use
 * mini_net_frame_slice to walk it). */
struct mini_net_udp {
	struct mini_net *net;
	const struct mini_net_frame *frame;
	uint32_t src_ip;
	uint16_t src_port, dst_port;
	uint8_t src_mac[6];
	uint32_t payload_off, len;
};

/* An ICMP echo reply addressed to us (our ping's answer). */
struct mini_net_echo {
	uint32_t src_ip;
	uint16_t id, seq;
	uint32_t data_len;
};

struct mini_net_stats {
	uint64_t rx_frames, rx_ip, rx_udp, rx_not_ours, rx_bad_eth, rx_bad_ip, rx_bad_ip_csum;
	uint64_t rx_bad_udp, rx_bad_udp_csum, rx_udp_no_csum, rx_udp_csum_blank, rx_bad_icmp, rx_ip_frags;
	uint64_t arp_requests_answered, arp_replies_seen, echo_requests_answered, echo_replies_seen;
	uint64_t tx_frames, tx_full;
};

struct mini_net {
	struct mini_netdev *dev;
	uint32_t ip, mask, gw;     /* network byte order; gw 0: none */
	uint32_t mtu;              /* L3 MTU in use: min(mtu=, the device's) */
	struct { uint32_t ip; uint8_t mac[6]; bool valid; } arp[MINI_NET_ARP_ENTRIES];
	unsigned arp_next;
	uint16_t ip_id;
	bool echo_reply_enabled;   /* answer ICMP echo requests (default true) */
	bool reply_queued;         /* an ARP/echo reply awaits a flush (poll does it) */
	void (*on_udp)(void *ctx, const struct mini_net_udp *u);
	void (*on_echo_reply)(void *ctx, const struct mini_net_echo *e);
	void *ctx;
	struct mini_net_stats st;
};

/* Dotted quad to network byte order; 0 or -1. */
int mini_net_parse_ip(const char *s, uint32_t *ip);
/* Formats ip (network order) into buf (>= 16 bytes); returns buf. */
const char *mini_net_ip_str(uint32_t ip, char *buf);

/* From the command line: dev= ip= (required) mask= gw= mtu=; probes the
 * drivers and prints the configuration.  0, or a MINI_EXIT_* status. */
int mini_net_setup(struct mini_net *n, const char *prog);

/* Processes up to 32 received frames (ARP, ICMP echo answered; UDP and
 * echo replies passed to the callbacks); returns how many. */
unsigned mini_net_poll(struct mini_net *n);

/* Resolves the next hop for ip (the gateway when ip is off-link) with ARP,
 * retrying every 100 ms; 0, or -1 after timeout_ms. */
int mini_net_resolve(struct mini_net *n, uint32_t ip, uint8_t mac[6], uint64_t timeout_ms);

/* Queues one UDP datagram (payload in iov[0..nr)) for dst_mac/dst_ip; the
 * UDP checksum is computed.  Returns the device's tx result (0, -1 ring
 * full: flush and retry, -2 too big for the MTU).  Call mini_net_flush after
 * a batch. */
int mini_net_udp_send(struct mini_net *n, const uint8_t dst_mac[6], uint32_t dst_ip,
		      uint16_t src_port, uint16_t dst_port, const struct mini_iov *iov, unsigned nr);
/* Queues an ICMP echo request with data_len pattern bytes. */
int mini_net_ping_send(struct mini_net *n, const uint8_t dst_mac[6], uint32_t dst_ip,
		       uint16_t id, uint16_t seq, uint32_t data_len);
/* tx_flush of the device: returns free tx buffers. */
unsigned mini_net_flush(struct mini_net *n);

/* The pieces of bytes [off, off + len) of a frame into out[0..ret). */
unsigned mini_net_frame_slice(const struct mini_net_frame *f, uint32_t off, uint32_t len,
			      struct mini_iov *out, unsigned max);

/* Internet checksum helpers: a 32-bit running sum of data starting at an
 * even (or odd) offset of the checksummed message, and the final fold. */
uint32_t mini_csum_add(uint32_t sum, const void *data, uint32_t len, bool odd_offset);
uint16_t mini_csum_fold(uint32_t sum);

void mini_net_print_stats(const struct mini_net *n, const char *prog);

static inline uint16_t mini_htons(uint16_t v) { return __builtin_bswap16(v); }
static inline uint16_t mini_ntohs(uint16_t v) { return __builtin_bswap16(v); }

#endif
