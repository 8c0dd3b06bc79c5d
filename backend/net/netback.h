/* SPDX-License-Identifier: MIT */
/* The net backend: one vif = one TAP device (IFF_VNET_HDR, IFF_MULTI_QUEUE,
 * one fd per queue) serving a guest's netif rings (ring/include/pvkvm/netif.h).
 *
 * Data path, per queue, on one thread:
 *   TX (guest -> host): slots copied out of the ring once, validated
 *   (net_tx_validate()), fragments mapped read-only and written to the TAP
 *   with one writev() whose first iovec is a virtio_net_hdr carrying the
 *   checksum and GSO metadata: the only copy is the kernel's.
 *   RX (host -> guest): the rx requests the frontend posted are mapped
 *   writable ahead of time; one readv() puts the packet straight into those
 *   guest pages.  The GSO extra slot follows the packet's LAST data slot and
 *   consumes the rx request at its ring index (the frontend posts rx requests
 *   with id == ring index, as Xen's netfront does).
 * Responses are published and the frontend notified once per batch, with
 * event-index suppression; the queue thread polls briefly before sleeping.
 *
 * A bad packet is dropped, answered NETIF_RSP_ERROR and counted; a ring
 * index the frontend could not have written (or a slot chain that can never
 * end) disconnects that vif only: its threads stop, net_vif_failed() is true.
 *
 * Threads: the caller owns the vif and its struct pvback_dom (one attachment
 * per vif); net_vif_connect() starts one thread per queue, queue 0's thread
 * also takes control-socket pushes.  Everything else from one thread. */
#ifndef NETBACK_H
#define NETBACK_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include "pvback.h"
#include "pvkvm/netif.h"

#define NET_MAX_QUEUES 4u
#define NET_MTU_MIN 68u
#define NET_MTU_MAX 65535u

struct net_vif_config {
	char tap[IFNAMSIZ];        /* TAP to create or attach ("": pvtap%d) */
	uint8_t mac[6];            /* the guest's MAC, published in the store */
	uint32_t mtu;              /* 0: 1500 */
	uint64_t rate_bytes_per_s; /* guest -> host token bucket, 0: unlimited */
	uint64_t burst_bytes;      /* bucket depth, 0: rate / 50 (>= 2 max packets) */
	unsigned max_queues;       /* queues offered, 1..NET_MAX_QUEUES (0: 1) */
};

/* What the frontend published (read from its store directory by netback_bus.c,
 * or filled in directly by tests).  Untrusted values: net_vif_connect()
 * checks them. */
struct net_vif_frontend {
	unsigned nr_queues;
	struct {
		uint32_t tx_ring_ref, rx_ring_ref;
		uint32_t port_tx, port_rx; /* equal when one event channel */
	} q[NET_MAX_QUEUES];
	bool rx_csum_blank; /* frontend accepts packets with the L4 checksum blank */
	bool gso_tcpv4, gso_tcpv6; /* frontend accepts such GSO packets on rx */
	bool sg;            /* frontend sends and accepts multi-slot packets */
};

/* Counters since net_vif_new(); tx = guest -> host, rx = host -> guest. */
struct net_vif_stats {
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_dropped;       /* well-formed but not delivered (TAP down, error) */
	uint64_t tx_bad;           /* malformed packets dropped (every reason below) */
	uint64_t tx_bad_grant, tx_bad_frag, tx_bad_slots, tx_bad_size, tx_bad_gso, tx_bad_flags;
	uint64_t tx_throttled;     /* times the token bucket made the queue wait */
	uint64_t rx_packets, rx_bytes;
	uint64_t rx_bad_grant;     /* rx requests whose grant the backend refused */
	uint64_t rx_truncated;     /* packets larger than the posted buffers could hold */
	uint64_t notify_sent;      /* events sent to the guest */
	uint64_t wakeups;          /* times a queue thread slept and woke */
};

struct net_vif;

/* Opens (creating if needed) the TAP cfg->tap with one fd per queue.
 * -errno; -EINVAL for a bad config. */
int net_vif_new(struct net_vif **out, struct pvback_dom *d, const struct net_vif_config *cfg);
/* Stops the threads, releases grants, closes the TAP fds. */
void net_vif_free(struct net_vif *v);
/* Checks fe, negotiates offloads on the TAP (TUNSETOFFLOAD), maps the rings,
 * binds the event channels and starts the queue threads. */
int net_vif_connect(struct net_vif *v, const struct net_vif_frontend *fe);
/* Stops the threads and releases the rings (the TAP stays). */
void net_vif_disconnect(struct net_vif *v);
bool net_vif_failed(const struct net_vif *v);
bool net_vif_connected(const struct net_vif *v);
const char *net_vif_ifname(const struct net_vif *v);
const struct net_vif_config *net_vif_config(const struct net_vif *v);
void net_vif_get_stats(const struct net_vif *v, struct net_vif_stats *s);

/* Exposed for unit tests: validates a copied TX slot chain.  On success
 * fills the fragment list and returns 0; else a negative NET_TXE_* reason. */
#define NET_TXE_FLAGS (-1)
#define NET_TXE_SLOTS (-2)
#define NET_TXE_FRAG  (-3)
#define NET_TXE_SIZE  (-4)
#define NET_TXE_GSO   (-5)
#define NET_TXE_GRANT (-6) /* not from net_tx_validate(): a fragment's grant was refused */

struct net_tx_frag {
	uint32_t gref;
	uint16_t offset, len;
};

struct net_tx_pkt {
	unsigned nr_frags;
	struct net_tx_frag frag[NETIF_MAX_SLOTS_PER_PACKET];
	uint32_t len;
	uint16_t flags;          /* first slot's NETIF_TXF_* */
	uint8_t gso_type;        /* NETIF_GSO_TYPE_* */
	uint16_t gso_size;
};

/* slots[0..n) is one packet's chain as copied from the ring; max_len the
 * largest packet allowed (MTU + Ethernet header, or 65549 with GSO); gso_ok
 * bit (1 << NETIF_GSO_TYPE_x) for the types the backend offered. */
int net_tx_validate(const union netif_tx_slot *slots, unsigned n, uint32_t max_len,
		    unsigned gso_ok, struct net_tx_pkt *pkt);

#endif
