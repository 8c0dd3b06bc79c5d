/* SPDX-License-Identifier: MIT */
/* Net backend internals shared by its files. */
#ifndef NET_INT_H
#define NET_INT_H

#include <linux/virtio_net.h>
#include <pthread.h>

#include "netback.h"
#include "pvkvm/ring.h"

/* Extra-info slots one packet may carry (only GSO is defined). */
#define NET_TX_MAX_EXTRAS 2u
#define NET_TX_CHAIN_MAX (NETIF_MAX_SLOTS_PER_PACKET + NET_TX_MAX_EXTRAS)
/* Packets a queue moves per direction before it looks at the other one. */
#define NET_BATCH 64
/* How long a queue thread keeps polling its rings before it sleeps: a
 * doorbell costs the guest 2.6-7 us here, a wake-up costs us about as much. */
#define NET_POLL_NS 20000
#define NET_ETH_HLEN 14u
#define NET_VLAN_HLEN 4u

/* Counters are written by one thread and read by any: relaxed stores. */
#define NET_STAT_ADD(field, n) \
	__atomic_store_n(&(field), (field) + (uint64_t)(n), __ATOMIC_RELAXED)

struct net_bucket {
	pthread_mutex_t lock;
	uint64_t rate;   /* bytes per second, 0: unlimited */
	uint64_t burst;  /* bytes */
	uint64_t tokens; /* bytes */
	uint64_t last_ns;
};

/* An rx request taken from the ring and mapped (page NULL: grant refused). */
struct net_rxbuf {
	uint16_t id;
	uint32_t gref;
	void *page;
};

/* Rings are one page: 256 entries for tx and rx alike. */
#define NET_RING_ENTS 256u
#define NET_RX_STASH 32u /* >= NETIF_MAX_SLOTS_PER_PACKET, power of two */

struct net_queue {
	struct net_vif *vif;
	unsigned idx;
	int tap_fd;
	pthread_t thread;
	bool running;
	uint32_t tx_ring_ref, rx_ring_ref;
	bool tx_mapped, rx_mapped;
	struct ring_back tx, rx;
	struct pvback_evtchn *ev_tx, *ev_rx; /* may be the same */
	/* RX: requests taken and mapped, oldest first. */
	struct net_rxbuf stash[NET_RX_STASH];
	unsigned stash_head, stash_n;
	unsigned rx_data_slots; /* pages a largest packet needs */
	unsigned rx_need;       /* + the GSO extra's slot */
	/* TX: ids of the chain being answered (copied once). */
	uint16_t chain_id[NET_RING_ENTS];
	bool chain_extra[NET_RING_ENTS];
	struct net_vif_stats st;
};

struct net_vif {
	struct pvback_dom *d;
	struct net_vif_config cfg;
	char ifname[IFNAMSIZ];
	int tap_fd[NET_MAX_QUEUES];
	unsigned nr_tap_fds;
	int stop_fd;
	bool stop;
	bool failed;
	bool connected;
	struct net_vif_frontend fe;
	uint32_t tx_max_len;   /* non-GSO packet limit: MTU + Ethernet + VLAN */
	unsigned gso_ok;       /* bit per NETIF_GSO_TYPE_ the TAP accepts from us */
	unsigned nr_queues;
	struct net_queue q[NET_MAX_QUEUES];
	struct net_bucket bucket;
	struct net_vif_stats base; /* counters of earlier connections */
};

/* tap.c */
int net_tap_open(const char *name, unsigned nr_queues, int *fds, char *ifname);
int net_tap_set_offload(int fd, bool csum, bool tso4, bool tso6);
int net_tap_set_mtu(const char *ifname, uint32_t mtu);

/* bucket (vif.c) */
void net_bucket_init(struct net_bucket *b, uint64_t rate, uint64_t burst);
/* 0: len bytes may go now (taken); else nanoseconds to wait. */
uint64_t net_bucket_take(struct net_bucket *b, uint32_t len);
uint64_t net_now_ns(void);

/* vif_tx.c: moves up to NET_BATCH packets; returns how many slots it
 * consumed, or RING_ERR_OVERFLOW (hostile ring).  *wait_ns: rate limit. */
int net_tx_process(struct net_queue *q, uint64_t *wait_ns);
/* vif_rx.c: returns packets moved, or RING_ERR_OVERFLOW. */
int net_rx_process(struct net_queue *q);
/* Buffers enough for the largest packet are mapped (tap worth polling). */
bool net_rx_ready(const struct net_queue *q);
void net_rx_release(struct net_queue *q);
/* Ethernet/IP header walk for CSUM_BLANK: csum_start/offset and header
 * length from the first bytes of a packet.  0 or -EINVAL. */
int net_csum_locate(const uint8_t *p, uint32_t len, struct virtio_net_hdr *h);

#endif
