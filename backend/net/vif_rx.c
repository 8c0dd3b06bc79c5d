/* SPDX-License-Identifier: MIT */
/* RX: TAP -> guest.  The frontend's rx requests are taken and mapped
 * writable before a packet arrives, so one readv() lands it in guest pages.
 * Answers go out strictly in the order requests were taken: the frontend
 * finds the buffer an extra slot consumed by its ring index. */
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net_int.h"

static struct net_rxbuf *stash_at(struct net_queue *q, unsigned i)
{
	return &q->stash[(q->stash_head + i) & (NET_RX_STASH - 1)];
}

/* Takes rx requests until a largest packet fits; RING_ERR_OVERFLOW if the
 * frontend's index is impossible. */
static int rx_refill(struct net_queue *q)
{
	int avail = ring_back_pending_reqs(&q->rx);

	if (avail < 0)
		return avail;
	while (q->stash_n < q->rx_need && avail-- > 0) {
		struct netif_rx_request req;
		struct net_rxbuf *b = stash_at(q, q->stash_n++);

		netif_rx_back_take_req(&q->rx, &req);
		b->id = req.id;
		b->gref = req.gref;
		if (pvback_gnt_map(q->vif->d, req.gref, true, &b->page)) {
			b->page = NULL;
			NET_STAT_ADD(q->st.rx_bad_grant, 1);
		}
	}
	return 0;
}

/* Answers the oldest stashed request (unused buffer: status <= 0). */
static void rx_answer(struct net_queue *q, uint16_t offset, uint16_t flags, int16_t status)
{
	struct net_rxbuf *b = stash_at(q, 0);
	struct netif_rx_response *r = &netif_rx_back_rsp(&q->rx)->rsp;

	r->id = b->id;
	r->offset = offset;
	r->flags = flags;
	r->status = status;
	q->rx.rsp_prod_pvt++;
	if (b->page)
		pvback_gnt_unmap(q->vif->d, b->gref);
	q->stash_head = (q->stash_head + 1) & (NET_RX_STASH - 1);
	q->stash_n--;
}

/* Returns buffers with a refused grant (and the good ones queued before
 * them, unused) so the first rx_need entries are all usable. */
static unsigned rx_skip_bad(struct net_queue *q)
{
	unsigned skipped = 0;

	for (unsigned i = 0; i < q->stash_n && i < q->rx_need; i++) {
		if (stash_at(q, i)->page)
			continue;
		while (i-- > 0)
			rx_answer(q, 0, 0, NETIF_RSP_DROPPED);
		rx_answer(q, 0, 0, NETIF_RSP_ERROR);
		skipped++;
		i = (unsigned)-1; /* rescan from the new head */
	}
	return skipped;
}

bool net_rx_ready(const struct net_queue *q)
{
	return q->stash_n >= q->rx_need;
}

static uint16_t rx_flags(const struct virtio_net_hdr *h)
{
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return NETIF_RXF_CSUM_BLANK | NETIF_RXF_DATA_VALIDATED;
	return h->flags & VIRTIO_NET_HDR_F_DATA_VALID ? NETIF_RXF_DATA_VALIDATED : 0;
}

static void rx_put_gso(struct net_queue *q, const struct virtio_net_hdr *h)
{
	struct netif_extra_info *e = &netif_rx_back_rsp(&q->rx)->extra;
	struct net_rxbuf *b = stash_at(q, 0);

	*e = (struct netif_extra_info){
		.type = NETIF_EXTRA_TYPE_GSO,
		.gso_size = h->gso_size,
		.gso_type = (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_TCPV6
				    ? NETIF_GSO_TYPE_TCPV6 : NETIF_GSO_TYPE_TCPV4,
	};
	q->rx.rsp_prod_pvt++;
	if (b->page)
		pvback_gnt_unmap(q->vif->d, b->gref);
	q->stash_head = (q->stash_head + 1) & (NET_RX_STASH - 1);
	q->stash_n--;
}

/* One packet from the TAP: 1 moved, 0 none (TAP empty). */
static int rx_one(struct net_queue *q)
{
	struct iovec iov[1 + NETIF_MAX_SLOTS_PER_PACKET];
	struct virtio_net_hdr h;
	unsigned n = q->rx_data_slots, used;
	uint32_t len, cap = n * NETIF_PAGE_BYTES;
	bool gso;
	ssize_t r;

	iov[0] = (struct iovec){ &h, sizeof(h) };
	for (unsigned i = 0; i < n; i++)
		iov[1 + i] = (struct iovec){ stash_at(q, i)->page, NETIF_PAGE_BYTES };
	r = readv(q->tap_fd, iov, (int)n + 1);
	if (r <= (ssize_t)sizeof(h))
		return 0;
	len = (uint32_t)(r - (ssize_t)sizeof(h));
	gso = (h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE;
	if (len > cap || (gso && q->rx_need == n)) {
		/* tun reports the full length of a packet it truncated. */
		NET_STAT_ADD(q->st.rx_truncated, 1);
		return 1;
	}
	used = (len + NETIF_PAGE_BYTES - 1) / NETIF_PAGE_BYTES;
	for (unsigned i = 0; i < used; i++) {
		uint32_t chunk = i + 1 < used ? NETIF_PAGE_BYTES : len - i * NETIF_PAGE_BYTES;
		uint16_t f = (i == 0 ? rx_flags(&h) : 0) |
			     (i + 1 < used ? NETIF_RXF_MORE_DATA : (gso ? NETIF_RXF_EXTRA_INFO : 0));

		rx_answer(q, 0, f, (int16_t)chunk);
	}
	if (gso)
		rx_put_gso(q, &h);
	NET_STAT_ADD(q->st.rx_packets, 1);
	NET_STAT_ADD(q->st.rx_bytes, len);
	return 1;
}

int net_rx_process(struct net_queue *q)
{
	uint32_t before = q->rx.rsp_prod_pvt;
	int done = 0, err;

	while (done < NET_BATCH) {
		/* Each round consumes ring requests, so this ends. */
		do {
			if ((err = rx_refill(q)))
				return err;
		} while (rx_skip_bad(q));
		if (!net_rx_ready(q) || !rx_one(q))
			break;
		done++;
	}
	if (q->rx.rsp_prod_pvt != before && ring_back_push_rsps(&q->rx)) {
		pvback_evtchn_notify(q->vif->d, q->ev_rx);
		NET_STAT_ADD(q->st.notify_sent, 1);
	}
	return done;
}

void net_rx_release(struct net_queue *q)
{
	while (q->stash_n) {
		struct net_rxbuf *b = stash_at(q, 0);

		if (b->page)
			pvback_gnt_unmap(q->vif->d, b->gref);
		q->stash_head = (q->stash_head + 1) & (NET_RX_STASH - 1);
		q->stash_n--;
	}
}
