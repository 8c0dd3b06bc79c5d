/* SPDX-License-Identifier: MIT */
/* TX: guest -> TAP.  Slots are copied out of the ring once, the copy is
 * validated, the fragments are mapped read-only and go to the TAP in one
 * writev() behind a virtio_net_hdr. */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net_int.h"
#include "pv_log.h"

#define TAG "netback"

#define TXF_KNOWN (NETIF_TXF_CSUM_BLANK | NETIF_TXF_DATA_VALIDATED | NETIF_TXF_MORE_DATA | \
		   NETIF_TXF_EXTRA_INFO)

static int tx_check_extra(const struct netif_extra_info *e, unsigned gso_ok, bool *have_gso,
			  struct net_tx_pkt *pkt)
{
	if (e->type != NETIF_EXTRA_TYPE_GSO || *have_gso)
		return NET_TXE_GSO;
	if ((e->flags & ~NETIF_EXTRA_FLAG_MORE) || e->reserved0 || e->gso_features ||
	    e->gso_size == 0 || e->gso_type == NETIF_GSO_TYPE_NONE || e->gso_type >= 8 ||
	    !(gso_ok & (1u << e->gso_type)))
		return NET_TXE_GSO;
	*have_gso = true;
	pkt->gso_type = e->gso_type;
	pkt->gso_size = e->gso_size;
	return 0;
}

int net_tx_validate(const union netif_tx_slot *slots, unsigned n, uint32_t max_len,
		    unsigned gso_ok, struct net_tx_pkt *pkt)
{
	const struct netif_tx_request *first = &slots[0].req;
	bool in_extras = first->flags & NETIF_TXF_EXTRA_INFO, have_gso = false;
	uint32_t rest = 0;
	int err;

	memset(pkt, 0, sizeof(*pkt));
	if (n > NET_TX_CHAIN_MAX)
		return NET_TXE_SLOTS;
	if (first->flags & ~TXF_KNOWN)
		return NET_TXE_FLAGS;
	pkt->flags = first->flags;
	pkt->len = first->size;
	pkt->nr_frags = 1;
	for (unsigned i = 1; i < n; i++) {
		if (in_extras) {
			if ((err = tx_check_extra(&slots[i].extra, gso_ok, &have_gso, pkt)))
				return err;
			in_extras = slots[i].extra.flags & NETIF_EXTRA_FLAG_MORE;
			continue;
		}
		const struct netif_tx_request *r = &slots[i].req;

		if (r->flags & ~(NETIF_TXF_MORE_DATA))
			return NET_TXE_FLAGS;
		if (((r->flags & NETIF_TXF_MORE_DATA) != 0) != (i + 1 < n))
			return NET_TXE_SLOTS;
		if (pkt->nr_frags == NETIF_MAX_SLOTS_PER_PACKET)
			return NET_TXE_SLOTS;
		if (r->size == 0 || (uint32_t)r->offset + r->size > NETIF_PAGE_BYTES)
			return NET_TXE_FRAG;
		pkt->frag[pkt->nr_frags++] = (struct net_tx_frag){ r->gref, r->offset, r->size };
		rest += r->size;
	}
	/* The chain must end where its flags say (tx_chain() cuts it so). */
	if (in_extras || ((first->flags & NETIF_TXF_MORE_DATA) != 0) != (pkt->nr_frags > 1))
		return NET_TXE_SLOTS;
	if (pkt->len < NET_ETH_HLEN || pkt->len > (have_gso ? NETIF_MAX_PACKET_BYTES : max_len) ||
	    rest >= pkt->len)
		return NET_TXE_SIZE;
	if ((uint32_t)first->offset + (pkt->len - rest) > NETIF_PAGE_BYTES)
		return NET_TXE_FRAG;
	pkt->frag[0] = (struct net_tx_frag){ first->gref, first->offset, (uint16_t)(pkt->len - rest) };
	/* GSO needs the checksum left to the host, and a segment smaller than the packet. */
	if (have_gso && (!(pkt->flags & NETIF_TXF_CSUM_BLANK) || pkt->gso_size >= pkt->len))
		return NET_TXE_GSO;
	return 0;
}

/* Copies the chain at req_cons (without consuming it): its slot count, 0
 * when it is not completely published yet.  Ids are kept for the answers,
 * the first NET_TX_CHAIN_MAX slots for validation. */
static unsigned tx_chain(struct net_queue *q, unsigned avail, union netif_tx_slot *slots)
{
	struct ring_back *b = &q->tx;
	bool extras = false, more;
	uint16_t first_flags = 0;
	unsigned i = 0;

	do {
		union netif_tx_slot s;

		if (i >= avail)
			return 0;
		s = netif_tx_ring_slot_(b->sh, b->nr_ents, b->req_cons + i)->req;
		if (i < NET_TX_CHAIN_MAX)
			slots[i] = s;
		q->chain_extra[i] = extras;
		q->chain_id[i] = extras ? 0 : s.req.id;
		if (i == 0) {
			first_flags = s.req.flags;
			extras = first_flags & NETIF_TXF_EXTRA_INFO;
			more = extras || (first_flags & NETIF_TXF_MORE_DATA);
		} else if (extras) {
			extras = s.extra.flags & NETIF_EXTRA_FLAG_MORE;
			more = extras || (first_flags & NETIF_TXF_MORE_DATA);
		} else {
			more = s.req.flags & NETIF_TXF_MORE_DATA;
		}
		i++;
	} while (more);
	return i;
}

static void tx_answer(struct net_queue *q, unsigned n, int16_t status)
{
	struct ring_back *b = &q->tx;

	for (unsigned i = 0; i < n; i++) {
		struct netif_tx_response *r = netif_tx_back_rsp(b);

		r->id = q->chain_id[i];
		r->status = q->chain_extra[i] ? NETIF_RSP_NULL : status;
		b->rsp_prod_pvt++;
	}
	b->req_cons += n;
}

static void tx_count_bad(struct net_queue *q, int reason)
{
	struct net_vif_stats *st = &q->st;

	NET_STAT_ADD(st->tx_bad, 1);
	switch (reason) {
	case NET_TXE_FLAGS: NET_STAT_ADD(st->tx_bad_flags, 1); break;
	case NET_TXE_SLOTS: NET_STAT_ADD(st->tx_bad_slots, 1); break;
	case NET_TXE_FRAG: NET_STAT_ADD(st->tx_bad_frag, 1); break;
	case NET_TXE_SIZE: NET_STAT_ADD(st->tx_bad_size, 1); break;
	case NET_TXE_GSO: NET_STAT_ADD(st->tx_bad_gso, 1); break;
	case NET_TXE_GRANT: NET_STAT_ADD(st->tx_bad_grant, 1); break;
	default: break;
	}
}

/* The virtio_net_hdr for pkt; hdr bytes are gathered from the mapped frags
 * into private memory first, so the guest cannot change what we parsed. */
static int tx_vnet_hdr(const struct net_tx_pkt *pkt, const struct iovec *iov,
		       struct virtio_net_hdr *h)
{
	uint8_t head[256]; /* Ethernet + VLAN + IPv4/v6 + TCP, options included */
	uint32_t got = 0;

	memset(h, 0, sizeof(*h));
	if (!(pkt->flags & NETIF_TXF_CSUM_BLANK)) {
		if (pkt->flags & NETIF_TXF_DATA_VALIDATED)
			h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
		return 0;
	}
	for (unsigned i = 0; i < pkt->nr_frags && got < sizeof(head); i++) {
		uint32_t n = iov[i].iov_len < sizeof(head) - got ? (uint32_t)iov[i].iov_len
								  : (uint32_t)sizeof(head) - got;

		memcpy(head + got, iov[i].iov_base, n);
		got += n;
	}
	if (net_csum_locate(head, got, h))
		return NET_TXE_FLAGS;
	if (pkt->gso_type) {
		h->gso_type = pkt->gso_type == NETIF_GSO_TYPE_TCPV4 ? VIRTIO_NET_HDR_GSO_TCPV4
								   : VIRTIO_NET_HDR_GSO_TCPV6;
		h->gso_size = pkt->gso_size;
		/* net_csum_locate() refuses UDP-with-GSO: hdr_len covers TCP. */
		if (h->csum_offset != 16)
			return NET_TXE_GSO;
	}
	return 0;
}

/* Maps, builds the header and writes one validated packet. */
static int tx_send(struct net_queue *q, const struct net_tx_pkt *pkt)
{
	struct pvback_dom *d = q->vif->d;
	struct iovec iov[1 + NETIF_MAX_SLOTS_PER_PACKET];
	struct virtio_net_hdr h;
	unsigned mapped;
	int err = 0;
	ssize_t r;

	for (mapped = 0; mapped < pkt->nr_frags; mapped++) {
		void *page;

		if (pvback_gnt_map(d, pkt->frag[mapped].gref, false, &page)) {
			err = NET_TXE_GRANT;
			goto out;
		}
		iov[1 + mapped].iov_base = (uint8_t *)page + pkt->frag[mapped].offset;
		iov[1 + mapped].iov_len = pkt->frag[mapped].len;
	}
	if ((err = tx_vnet_hdr(pkt, iov + 1, &h)))
		goto out;
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	r = writev(q->tap_fd, iov, (int)pkt->nr_frags + 1);
	if (r == (ssize_t)(sizeof(h) + pkt->len)) {
		NET_STAT_ADD(q->st.tx_packets, 1);
		NET_STAT_ADD(q->st.tx_bytes, pkt->len);
	} else {
		NET_STAT_ADD(q->st.tx_dropped, 1);
	}
out:
	while (mapped-- > 0)
		pvback_gnt_unmap(d, pkt->frag[mapped].gref);
	return err;
}

/* One packet: 1 done (slots consumed), 0 nothing to do, -EAGAIN throttled,
 * RING_ERR_OVERFLOW hostile. */
static int tx_one(struct net_queue *q, unsigned avail, uint64_t *wait_ns)
{
	union netif_tx_slot slots[NET_TX_CHAIN_MAX];
	struct net_tx_pkt pkt;
	unsigned n = tx_chain(q, avail, slots);
	int err;

	if (n == 0)
		/* A chain that fills the whole ring can never end. */
		return avail >= q->tx.nr_ents ? RING_ERR_OVERFLOW : 0;
	err = net_tx_validate(slots, n, q->vif->tx_max_len, q->vif->gso_ok, &pkt);
	if (!err && (*wait_ns = net_bucket_take(&q->vif->bucket, pkt.len)) != 0) {
		NET_STAT_ADD(q->st.tx_throttled, 1);
		return -EAGAIN;
	}
	if (!err)
		err = tx_send(q, &pkt);
	if (err)
		tx_count_bad(q, err);
	tx_answer(q, n, err ? NETIF_RSP_ERROR : NETIF_RSP_OKAY);
	return 1;
}

int net_tx_process(struct net_queue *q, uint64_t *wait_ns)
{
	int avail = ring_back_pending_reqs(&q->tx), done = 0;
	uint32_t before = q->tx.req_cons;

	*wait_ns = 0;
	if (avail < 0)
		return avail;
	while (avail > 0 && done < NET_BATCH) {
		int r = tx_one(q, (unsigned)avail, wait_ns);

		if (r < 0 && r != -EAGAIN)
			return r;
		if (r <= 0)
			break;
		done++;
		avail = ring_back_pending_reqs(&q->tx);
		if (avail < 0)
			return avail;
	}
	if (q->tx.req_cons != before && ring_back_push_rsps(&q->tx)) {
		pvback_evtchn_notify(q->vif->d, q->ev_tx);
		NET_STAT_ADD(q->st.notify_sent, 1);
	}
	return (int)(q->tx.req_cons - before);
}
