/* SPDX-License-Identifier: MIT */
/* pvnet: the netif frontend protocol (ring/include/pvkvm/netif.h) in the
 * portable core, for polling guests (mini-guest), Linux modules and the host
 * harness.  Per queue: one tx and one rx ring page, one event channel, and
 * NETFRONT_RING_ENTS granted buffer pages each way, granted once at
 * netfront_init() (no per-packet grant operations).
 *
 *   TX: netfront_send() copies a packet into free tx pages (one slot per
 *   4 KiB, plus a GSO extra slot), netfront_tx_flush() publishes and rings
 *   the doorbell only when the backend asked (event index); responses are
 *   reaped by netfront_tx_reap() (also called by send when full).
 *   netfront_sendv() gathers a frame from pieces.
 *   RX: every rx page is posted with id == ring index; netfront_recv() hands
 *   complete packets to a callback as page fragments and reposts the pages;
 *   netfront_rx_take()/netfront_rx_release() hold them until the caller is done.
 *   Grants: about 2 * NETFRONT_RING_ENTS + 2 references per queue (give
 *   pvfront_gnt_setup() 2 frames per queue beyond other users).
 *
 * Store (netfront_connect()): reads mac and mtu from the backend directory,
 * publishes tx-ring-ref, rx-ring-ref, event-channel (queue-N/ when several
 * queues), request-rx-copy, feature-sg/-gso-tcpv4/-rx-notify, then runs
 * the XenbusState handshake.  netfront_check_backend() notices a backend
 * that left Connected (restart) and reconnects with fresh rings: in-flight
 * tx packets are dropped and counted, rx pages are posted again.
 *
 * Not thread-safe: one caller per struct netfront (or per queue, for the
 * per-queue calls, when the environment serializes store access). */
#ifndef NETFRONT_H
#define NETFRONT_H

#include "pvfront_bus.h"
#include "pvkvm/netif.h"
#include "pvkvm/ring.h"

#define NETFRONT_MAX_QUEUES 4u
#define NETFRONT_RING_ENTS 256u /* one-page rings: tx (12-byte) and rx (8-byte) entries */

struct netfront_buf {
	void *va;
	uint32_t gref;
};

/* Offload metadata for a packet (tx) or as the backend delivered it (rx). */
struct netfront_offload {
	bool csum_blank;     /* L4 checksum not filled in (host completes / local sender) */
	bool data_validated; /* checksum known good */
	uint8_t gso_type;    /* NETIF_GSO_TYPE_*, NONE for none */
	uint16_t gso_size;
};

struct netfront_frag {
	const uint8_t *data;
	uint32_t len;
};

struct netfront_rx_pkt {
	unsigned nr_frags;
	struct netfront_frag frag[NETIF_MAX_SLOTS_PER_PACKET];
	uint32_t len;
	struct netfront_offload off;
};

struct netfront_stats {
	uint64_t tx_packets, tx_bytes, tx_errors; /* errors: backend said ERROR/DROPPED */
	uint64_t tx_lost;      /* in flight when the backend went away */
	uint64_t rx_packets, rx_bytes, rx_errors; /* errors: malformed responses, drops */
	uint64_t doorbells;    /* events sent to the backend */
	uint64_t reconnects;
};

struct netfront_queue {
	struct ring_front tx, rx;
	struct ring_shared *tx_sh, *rx_sh;
	uint32_t tx_ring_ref, rx_ring_ref;
	uint32_t port;
	struct netfront_buf txb[NETFRONT_RING_ENTS]; /* by tx request id */
	uint16_t tx_free[NETFRONT_RING_ENTS];        /* stack of free tx buffer ids */
	uint32_t tx_nr_free;
	uint64_t tx_busy[NETFRONT_RING_ENTS / 64];   /* ids the backend owes an answer */
	struct netfront_buf rxb[NETFRONT_RING_ENTS]; /* by rx request id (= ring index) */
	bool tx_pending; /* requests written, not yet published */
	uint32_t rx_unposted;                        /* oldest rx slot not given back */
	uint16_t rx_held[NETFRONT_RING_ENTS];        /* slots per taken packet, FIFO */
	uint32_t rx_held_head, rx_held_n;
};

struct netfront {
	struct pvfront *f;
	struct pvfront_xs *xs;
	struct pvfront_dev dev;
	uint8_t mac[6];
	uint32_t mtu;
	bool be_sg, be_gso_tcpv4, be_gso_tcpv6;
	/* Set between netfront_init() and netfront_connect(): what this guest's
	 * stack takes on rx.  Off (the default), the host completes checksums
	 * and segments TCP before the packet reaches the rings. */
	bool rx_csum_offload; /* packets may arrive with the L4 checksum blank */
	bool rx_gso;          /* packets may arrive as one GSO packet (<= 64 KiB) */
	unsigned nr_queues;
	bool connected;
	struct netfront_queue q[NETFRONT_MAX_QUEUES];
	struct netfront_stats stats;
};

/* Allocates and grants (to backend_domid) rings and buffers for nr_queues
 * queues, and one event channel per queue.  ~2 MiB of pages per queue. */
int netfront_init(struct netfront *nf, struct pvfront *f, uint16_t backend_domid,
		  unsigned nr_queues);
/* Store handshake for dev (from pvfront_bus_discover(.., "vif", ..)): reads
 * mac/mtu/features, publishes ours, waits for Connected.  0 or -errno. */
int netfront_connect(struct netfront *nf, struct pvfront_xs *xs, const struct pvfront_dev *dev);
/* Without a store (tests, or a toolstack that passes the values itself):
 * fresh rings, rx pages posted. */
void netfront_reset_rings(struct netfront *nf);
/* Backend state check (one store read): when the backend is no longer
 * Connected, waits for it to come back and reconnects.  0 connected
 * (1 if it reconnected), -errno otherwise. */
int netfront_check_backend(struct netfront *nf);
/* Closing -> Closed handshake. */
int netfront_disconnect(struct netfront *nf);

/* Queues a packet (len <= 65549; > 4096 needs feature-sg): copied into tx
 * pages.  -EAGAIN when the ring or the buffers are full (reap and retry),
 * -EINVAL bad length or offload.  Publish with netfront_tx_flush(). */
int netfront_send(struct netfront *nf, unsigned q, const void *pkt, uint32_t len,
		  const struct netfront_offload *off);
/* The same from pieces (e.g. headers and payload): one copy into tx pages. */
int netfront_sendv(struct netfront *nf, unsigned q, const struct netfront_frag *iov, unsigned n,
		   const struct netfront_offload *off);
/* Publishes queued requests; doorbell only if the backend waits for one. */
void netfront_tx_flush(struct netfront *nf, unsigned q);
/* Frees the buffers of answered tx requests: how many, or -EPROTO. */
int netfront_tx_reap(struct netfront *nf, unsigned q);
/* Tx slots currently free (a packet of len bytes needs ceil(len/4096) + GSO). */
uint32_t netfront_tx_free_slots(const struct netfront *nf, unsigned q);

typedef void (*netfront_rx_cb)(void *opaque, const struct netfront_rx_pkt *pkt);
/* Delivers up to budget complete packets (the pages are reposted after the
 * callback returns: copy what you keep).  Returns packets delivered, or
 * -EPROTO when the backend wrote an impossible index or response. */
int netfront_recv(struct netfront *nf, unsigned q, netfront_rx_cb cb, void *opaque,
		  unsigned budget);
/* Arms the response event indexes; true if something arrived meanwhile
 * (poll again instead of sleeping). */
/* Zero-copy receive for drivers that hold frames (the mini-guest's
 * rx/rx_release): the next complete packet, its pages kept until released.
 * 1 taken, 0 none yet, -EPROTO.  Release in take order: the oldest n. */
int netfront_rx_take(struct netfront *nf, unsigned q, struct netfront_rx_pkt *pkt);
void netfront_rx_release(struct netfront *nf, unsigned q, unsigned n);
bool netfront_arm(struct netfront *nf, unsigned q);
uint32_t netfront_port(const struct netfront *nf, unsigned q);

/* "aa:bb:cc:dd:ee:ff" -> mac. 0 or -EINVAL. */
int netfront_parse_mac(const char *s, uint8_t mac[6]);

#endif
