/* SPDX-License-Identifier: MIT */
/* Shared by the netback tests: a harness guest with pvnet frontends, vifs on
 * TAPs inside the test's own network namespace, packet sockets on the TAPs. */
#ifndef TEST_NETBACK_UTIL_H
#define TEST_NETBACK_UTIL_H

#include "harness.h"
#include "netback.h"
#include "netfront.h"

#define TNET_ETHERTYPE 0x88b5 /* IEEE local experimental: never sent by the kernel */

struct tnet_vif {
	struct pvback_dom *d;
	struct net_vif *v;
	struct netfront nf;
	int pkt_fd; /* AF_PACKET on the TAP */
	int ifindex;
	uint8_t tap_mac[6];
	struct net_vif_frontend fe;
};

/* Enters a fresh network namespace (the whole test process): 0 or -errno. */
int tnet_enter_netns(void);
struct harness_guest *tnet_guest_new(void);
/* A frontend (features set directly, no store) and a connected vif on a new
 * TAP, link up, IPv6 off, a packet socket bound to it. */
int tnet_vif_new(struct tnet_vif *t, struct harness_guest *g, const char *tap,
		 const struct net_vif_config *cfg);
void tnet_vif_free(struct tnet_vif *t);
int tnet_link(const char *ifname, bool up);
/* A frame: dst = tap MAC, src = guest MAC, TNET_ETHERTYPE, payload pattern seeded by seed. */
void tnet_frame(uint8_t *buf, uint32_t len, const uint8_t dst[6], const uint8_t src[6],
		uint32_t seed);
/* Next frame the guest sent (PACKET_HOST/OTHERHOST, our ethertype), waiting
 * up to timeout_ms: its length, or -1. */
int tnet_host_recv(struct tnet_vif *t, uint16_t ethertype, uint8_t *buf, uint32_t cap, int timeout_ms);
int tnet_host_send(struct tnet_vif *t, const uint8_t *buf, uint32_t len);
/* Polls the guest's rx ring for a frame with our ethertype (copied to buf):
 * its length, or -1 after timeout_ms.  *off gets its offload flags. */
int tnet_guest_recv(struct tnet_vif *t, uint16_t ethertype, uint8_t *buf, uint32_t cap,
		    int timeout_ms, struct netfront_offload *off);
/* Sends and flushes, reaping until there is room (bounded). */
int tnet_guest_send(struct tnet_vif *t, const uint8_t *buf, uint32_t len,
		    const struct netfront_offload *off);
uint64_t tnet_now_ms(void);

#endif
