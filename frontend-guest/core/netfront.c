/* SPDX-License-Identifier: MIT */
/* pvnet frontend protocol: see netfront.h. */
#include "netfront.h"

#define NF_MASK (NETFRONT_RING_ENTS - 1)

static int nf_grant_page(struct netfront *nf, uint16_t domid, bool readonly,
			 struct netfront_buf *b)
{
	const struct pvfront_env *env = nf->f->env;

	b->va = env->alloc_page(env->opaque);
	if (!b->va)
		return -PVFRONT_ENOMEM;
	return pvfront_gnt_grant(nf->f, domid, env->virt_to_phys(env->opaque, b->va) >> 12,
				 readonly, &b->gref);
}

static int nf_queue_init(struct netfront *nf, struct netfront_queue *q, uint16_t domid)
{
	struct netfront_buf ring;
	int err;

	if ((err = nf_grant_page(nf, domid, false, &ring)))
		return err;
	q->tx_sh = ring.va;
	q->tx_ring_ref = ring.gref;
	if ((err = nf_grant_page(nf, domid, false, &ring)))
		return err;
	q->rx_sh = ring.va;
	q->rx_ring_ref = ring.gref;
	for (unsigned i = 0; i < NETFRONT_RING_ENTS; i++)
		if ((err = nf_grant_page(nf, domid, true, &q->txb[i])) ||
		    (err = nf_grant_page(nf, domid, false, &q->rxb[i])))
			return err;
	return pvfront_evtchn_alloc(nf->f, domid, &q->port);
}

int netfront_init(struct netfront *nf, struct pvfront *f, uint16_t backend_domid,
		  unsigned nr_queues)
{
	int err;

	if (nr_queues < 1 || nr_queues > NETFRONT_MAX_QUEUES)
		return -PVFRONT_EINVAL;
	__builtin_memset(nf, 0, sizeof(*nf));
	nf->f = f;
	nf->nr_queues = nr_queues;
	nf->mtu = 1500;
	for (unsigned i = 0; i < nr_queues; i++)
		if ((err = nf_queue_init(nf, &nf->q[i], backend_domid)))
			return err;
	netfront_reset_rings(nf);
	return 0;
}

/* Fresh rings with every rx page posted (id == ring index). */
static void nf_queue_reset(struct netfront *nf, struct netfront_queue *q)
{
	if (q->tx.nr_ents) /* not the first reset: what was in flight is lost */
		nf->stats.tx_lost += NETFRONT_RING_ENTS - q->tx_nr_free;
	__builtin_memset(q->tx_busy, 0, sizeof(q->tx_busy));
	ring_shared_init(q->tx_sh, 0);
	ring_shared_init(q->rx_sh, 0);
	ring_front_init(&q->tx, q->tx_sh, NETFRONT_RING_ENTS, 0);
	ring_front_init(&q->rx, q->rx_sh, NETFRONT_RING_ENTS, 0);
	q->tx_nr_free = NETFRONT_RING_ENTS;
	for (unsigned i = 0; i < NETFRONT_RING_ENTS; i++)
		q->tx_free[i] = (uint16_t)(NETFRONT_RING_ENTS - 1 - i);
	for (unsigned i = 0; i < NETFRONT_RING_ENTS; i++) {
		struct netif_rx_request *r = netif_rx_front_req(&q->rx);

		r->id = (uint16_t)i;
		r->reserved = 0;
		r->gref = q->rxb[i].gref;
		q->rx.req_prod_pvt++;
	}
	ring_front_publish_reqs(&q->rx);
	q->rx_unposted = 0;
	q->rx_held_head = q->rx_held_n = 0;
	q->tx_pending = false;
}

void netfront_reset_rings(struct netfront *nf)
{
	for (unsigned i = 0; i < nf->nr_queues; i++)
		nf_queue_reset(nf, &nf->q[i]);
}

uint32_t netfront_port(const struct netfront *nf, unsigned q)
{
	return nf->q[q].port;
}

uint32_t netfront_tx_free_slots(const struct netfront *nf, unsigned q)
{
	const struct netfront_queue *nq = &nf->q[q];
	uint32_t ring = ring_front_free_reqs(&nq->tx);

	return ring < nq->tx_nr_free ? ring : nq->tx_nr_free;
}

/* ---- TX ---- */

static bool nf_offload_ok(const struct netfront *nf, const struct netfront_offload *off,
			  uint32_t len)
{
	if (!off || off->gso_type == NETIF_GSO_TYPE_NONE)
		return len <= nf->mtu + 18u;
	if (!off->csum_blank || off->gso_size == 0 || off->gso_size >= len)
		return false;
	return (off->gso_type == NETIF_GSO_TYPE_TCPV4 && nf->be_gso_tcpv4) ||
	       (off->gso_type == NETIF_GSO_TYPE_TCPV6 && nf->be_gso_tcpv6);
}

/* Copies len bytes from the iov cursor (*fi, *fo) to dst. */
static void nf_gather(uint8_t *dst, uint32_t len, const struct netfront_frag *iov, unsigned *fi,
		      uint32_t *fo)
{
	while (len) {
		uint32_t n = iov[*fi].len - *fo;

		if (n > len)
			n = len;
		__builtin_memcpy(dst, iov[*fi].data + *fo, n);
		dst += n;
		len -= n;
		*fo += n;
		if (*fo == iov[*fi].len) {
			(*fi)++;
			*fo = 0;
		}
	}
}

static void nf_put_gso(struct netfront_queue *q, const struct netfront_offload *off)
{
	struct netif_extra_info *e = &netif_tx_front_req(&q->tx)->extra;

	*e = (struct netif_extra_info){ .type = NETIF_EXTRA_TYPE_GSO, .gso_size = off->gso_size,
					 .gso_type = off->gso_type };
	q->tx.req_prod_pvt++;
}

int netfront_sendv(struct netfront *nf, unsigned qi, const struct netfront_frag *iov, unsigned n,
		   const struct netfront_offload *off)
{
	struct netfront_queue *q = &nf->q[qi];
	bool gso = off && off->gso_type != NETIF_GSO_TYPE_NONE;
	uint32_t len = 0, frags, fo = 0;
	unsigned fi = 0;
	uint16_t flags = 0;

	for (unsigned i = 0; i < n; i++) {
		if (iov[i].len > NETIF_MAX_PACKET_BYTES - len)
			return -PVFRONT_EINVAL;
		len += iov[i].len;
	}
	frags = (len + NETIF_PAGE_BYTES - 1) / NETIF_PAGE_BYTES;
	if (len < 14 || !nf_offload_ok(nf, off, len) || (frags > 1 && !nf->be_sg))
		return -PVFRONT_EINVAL;
	if (frags + (gso ? 1u : 0u) > netfront_tx_free_slots(nf, qi))
		return -PVFRONT_EAGAIN;
	if (off && off->csum_blank)
		flags |= NETIF_TXF_CSUM_BLANK;
	if (off && off->data_validated)
		flags |= NETIF_TXF_DATA_VALIDATED;
	for (uint32_t i = 0; i < frags; i++) {
		uint16_t id = q->tx_free[--q->tx_nr_free];
		uint32_t chunk = len - i * NETIF_PAGE_BYTES;
		struct netif_tx_request *r = &netif_tx_front_req(&q->tx)->req;

		if (chunk > NETIF_PAGE_BYTES)
			chunk = NETIF_PAGE_BYTES;
		nf_gather(q->txb[id].va, chunk, iov, &fi, &fo);
		r->gref = q->txb[id].gref;
		r->offset = 0;
		r->id = id;
		/* The first slot carries the whole length (netif.h). */
		r->size = (uint16_t)(i == 0 ? len : chunk);
		r->flags = (uint16_t)((i == 0 ? flags | (gso ? NETIF_TXF_EXTRA_INFO : 0) : 0) |
				      (i + 1 < frags ? NETIF_TXF_MORE_DATA : 0));
		q->tx_busy[id / 64] |= UINT64_C(1) << (id % 64);
		q->tx.req_prod_pvt++;
		if (i == 0 && gso)
			nf_put_gso(q, off);
	}
	q->tx_pending = true;
	nf->stats.tx_packets++;
	nf->stats.tx_bytes += len;
	return 0;
}

int netfront_send(struct netfront *nf, unsigned qi, const void *pkt, uint32_t len,
		  const struct netfront_offload *off)
{
	struct netfront_frag one = { pkt, len };

	return netfront_sendv(nf, qi, &one, 1, off);
}

void netfront_tx_flush(struct netfront *nf, unsigned qi)
{
	struct netfront_queue *q = &nf->q[qi];

	if (!q->tx_pending)
		return;
	q->tx_pending = false;
	if (ring_front_push_reqs(&q->tx)) {
		pvfront_evtchn_send(nf->f, q->port);
		nf->stats.doorbells++;
	}
}

int netfront_tx_reap(struct netfront *nf, unsigned qi)
{
	struct netfront_queue *q = &nf->q[qi];
	int n = ring_front_pending_rsps(&q->tx), pkts = 0;

	if (n < 0)
		return -PVFRONT_EPROTO;
	while (n-- > 0) {
		struct netif_tx_response r;

		netif_tx_front_take_rsp(&q->tx, &r);
		if (r.status == NETIF_RSP_NULL)
			continue;
		/* A repeated or unknown id would corrupt the free stack. */
		if (r.id >= NETFRONT_RING_ENTS ||
		    !(q->tx_busy[r.id / 64] & (UINT64_C(1) << (r.id % 64))))
			return -PVFRONT_EPROTO;
		q->tx_busy[r.id / 64] &= ~(UINT64_C(1) << (r.id % 64));
		q->tx_free[q->tx_nr_free++] = r.id;
		if (r.status != NETIF_RSP_OKAY)
			nf->stats.tx_errors++;
		pkts++;
	}
	return pkts;
}

/* ---- RX ---- */

/* Takes one packet's responses into pkt: slots consumed, 0 if the packet is
 * not complete yet, -EPROTO for a malformed one. */
static int nf_rx_gather(struct netfront_queue *q, int avail, struct netfront_rx_pkt *pkt,
			uint32_t *first_idx)
{
	uint32_t idx = q->rx.rsp_cons;
	int used = 0;
	bool more = true;

	__builtin_memset(pkt, 0, sizeof(*pkt));
	*first_idx = idx;
	while (more) {
		union netif_rx_slot s;

		if (used >= avail)
			return 0;
		s = netif_rx_ring_slot_(q->rx.sh, q->rx.nr_ents, idx + (uint32_t)used)->rsp;
		used++;
		if (s.rsp.status <= 0 || s.rsp.id != ((idx + (uint32_t)used - 1) & NF_MASK) ||
		    (uint32_t)s.rsp.offset + (uint32_t)s.rsp.status > NETIF_PAGE_BYTES ||
		    pkt->nr_frags == NETIF_MAX_SLOTS_PER_PACKET)
			return s.rsp.status <= 0 && pkt->nr_frags == 0 ? -PVFRONT_EAGAIN
								      : -PVFRONT_EPROTO;
		if (pkt->nr_frags == 0) {
			pkt->off.csum_blank = s.rsp.flags & NETIF_RXF_CSUM_BLANK;
			pkt->off.data_validated = s.rsp.flags & NETIF_RXF_DATA_VALIDATED;
		}
		pkt->frag[pkt->nr_frags].data =
			(const uint8_t *)q->rxb[s.rsp.id].va + s.rsp.offset;
		pkt->frag[pkt->nr_frags++].len = (uint32_t)s.rsp.status;
		pkt->len += (uint32_t)s.rsp.status;
		more = s.rsp.flags & NETIF_RXF_MORE_DATA;
		if (s.rsp.flags & NETIF_RXF_EXTRA_INFO) {
			if (used >= avail)
				return 0;
			s = netif_rx_ring_slot_(q->rx.sh, q->rx.nr_ents, idx + (uint32_t)used)->rsp;
			used++;
			if (s.extra.type != NETIF_EXTRA_TYPE_GSO || s.extra.flags)
				return -PVFRONT_EPROTO;
			pkt->off.gso_type = s.extra.gso_type;
			pkt->off.gso_size = s.extra.gso_size;
		}
	}
	return used;
}

/* Gives back n consumed rx slots: the page at ring index i is posted again
 * at the next request index (ids follow ring indexes). */
static void nf_rx_repost(struct netfront_queue *q, uint32_t first, int n)
{
	for (int i = 0; i < n; i++) {
		uint32_t from = (first + (uint32_t)i) & NF_MASK, to = q->rx.req_prod_pvt & NF_MASK;
		struct netif_rx_request *r = netif_rx_front_req(&q->rx);
		struct netfront_buf b = q->rxb[from];

		q->rxb[from] = q->rxb[to];
		q->rxb[to] = b;
		r->id = (uint16_t)to;
		r->reserved = 0;
		r->gref = b.gref;
		q->rx.req_prod_pvt++;
	}
}

/* The slots of taken packets wait in ring order until released: the oldest
 * unreleased slot is rx_unposted, the held FIFO counts slots per packet. */
static void nf_rx_hold(struct netfront_queue *q, uint16_t slots)
{
	q->rx_held[(q->rx_held_head + q->rx_held_n) & NF_MASK] = slots;
	q->rx_held_n++;
}

int netfront_rx_take(struct netfront *nf, unsigned qi, struct netfront_rx_pkt *pkt)
{
	struct netfront_queue *q = &nf->q[qi];
	int avail = ring_front_pending_rsps(&q->rx);

	if (avail < 0)
		return -PVFRONT_EPROTO;
	while (avail > 0) {
		uint32_t first;
		int used = nf_rx_gather(q, avail, pkt, &first);

		if (used == 0)
			return 0;
		if (used == -PVFRONT_EAGAIN) {
			/* An unused buffer handed back (dropped packet, refused
			 * grant): it goes back with the packet taken before it. */
			nf->stats.rx_errors++;
			q->rx.rsp_cons++;
			avail--;
			if (q->rx_held_n)
				q->rx_held[(q->rx_held_head + q->rx_held_n - 1) & NF_MASK]++;
			else
				nf_rx_repost(q, q->rx_unposted++, 1);
			continue;
		}
		if (used < 0)
			return -PVFRONT_EPROTO;
		q->rx.rsp_cons += (uint32_t)used;
		nf_rx_hold(q, (uint16_t)used);
		nf->stats.rx_packets++;
		nf->stats.rx_bytes += pkt->len;
		return 1;
	}
	return 0;
}

void netfront_rx_release(struct netfront *nf, unsigned qi, unsigned n)
{
	struct netfront_queue *q = &nf->q[qi];

	while (n-- > 0 && q->rx_held_n) {
		uint16_t slots = q->rx_held[q->rx_held_head];

		nf_rx_repost(q, q->rx_unposted, slots);
		q->rx_unposted += slots;
		q->rx_held_head = (q->rx_held_head + 1) & NF_MASK;
		q->rx_held_n--;
	}
	if (ring_front_push_reqs(&q->rx)) {
		pvfront_evtchn_send(nf->f, q->port);
		nf->stats.doorbells++;
	}
}

int netfront_recv(struct netfront *nf, unsigned qi, netfront_rx_cb cb, void *opaque,
		  unsigned budget)
{
	struct netfront_queue *q = &nf->q[qi];
	struct netfront_rx_pkt pkt;
	unsigned done = 0;
	int r = 0;

	/* Packets the caller still holds through netfront_rx_take() stay held. */
	unsigned held = q->rx_held_n;

	while (done < budget && (r = netfront_rx_take(nf, qi, &pkt)) == 1) {
		cb(opaque, &pkt);
		done++;
		if (!held)
			netfront_rx_release(nf, qi, 1);
	}
	if (r < 0)
		return r;
	if (!done && !held)
		netfront_rx_release(nf, qi, 0); /* unused buffers reposted: publish them */
	return (int)done;
}

bool netfront_arm(struct netfront *nf, unsigned qi)
{
	struct netfront_queue *q = &nf->q[qi];

	return ring_front_final_check_rsps(&q->rx) != 0 || ring_front_final_check_rsps(&q->tx) != 0;
}

/* ---- store ---- */

static int nf_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int netfront_parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int hi = nf_hex(s[3 * i]), lo = hi < 0 ? -1 : nf_hex(s[3 * i + 1]);
		char sep = s[3 * i + 2];

		if (lo < 0 || sep != (i == 5 ? '\0' : ':'))
			return -PVFRONT_EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* path = backend dir + "/" + key; value read into buf. */
static int nf_read_backend(struct netfront *nf, const char *key, char *buf, uint32_t cap)
{
	char path[160];
	unsigned n = 0;

	for (const char *p = nf->dev.backend; *p && n < sizeof(path) - 1; p++)
		path[n++] = *p;
	if (n < sizeof(path) - 1)
		path[n++] = '/';
	for (const char *p = key; *p && n < sizeof(path) - 1; p++)
		path[n++] = *p;
	path[n] = '\0';
	return pvfront_xs_read(nf->xs, 0, path, buf, cap);
}

static bool nf_backend_flag(struct netfront *nf, const char *key)
{
	char v[8];

	return nf_read_backend(nf, key, v, sizeof(v)) == 1 && v[0] == '1';
}

static int nf_read_backend_params(struct netfront *nf)
{
	char v[24];
	uint64_t mtu;
	int err;

	if ((err = nf_read_backend(nf, NETIF_KEY_MAC, v, sizeof(v))) < 0 ||
	    netfront_parse_mac(v, nf->mac))
		return err < 0 ? err : -PVFRONT_EINVAL;
	nf->mtu = 1500;
	if (nf_read_backend(nf, NETIF_KEY_MTU, v, sizeof(v)) > 0) {
		if (pvfront_atou(v, 65535, &mtu) || mtu < 68)
			return -PVFRONT_EINVAL;
		nf->mtu = (uint32_t)mtu;
	}
	nf->be_sg = nf_backend_flag(nf, NETIF_KEY_FEATURE_SG);
	nf->be_gso_tcpv4 = nf->be_sg && nf_backend_flag(nf, NETIF_KEY_FEATURE_GSO_TCPV4);
	nf->be_gso_tcpv6 = nf->be_sg && nf_backend_flag(nf, NETIF_KEY_FEATURE_GSO_TCPV6);
	if (nf->mtu + 18u > NETIF_PAGE_BYTES && !nf->be_sg)
		return -PVFRONT_EINVAL;
	return 0;
}

#define NF_KEYS_PER_QUEUE 3u
#define NF_MAX_KEYS (8u + NF_KEYS_PER_QUEUE * NETFRONT_MAX_QUEUES)

struct nf_keys {
	const char *key[NF_MAX_KEYS];
	const char *val[NF_MAX_KEYS];
	char buf[NETFRONT_MAX_QUEUES][NF_KEYS_PER_QUEUE][2][32];
	char nq[4];
	unsigned n;
};

static void nf_key(struct nf_keys *k, const char *key, const char *val)
{
	k->key[k->n] = key;
	k->val[k->n++] = val;
}

/* "queue-<q>/<key>" when several queues, else "<key>". */
static const char *nf_qkey(char *dst, unsigned nq, unsigned q, const char *key)
{
	unsigned n = 0;

	if (nq > 1) {
		for (const char *p = "queue-"; *p; p++)
			dst[n++] = *p;
		n += (unsigned)pvfront_utoa(q, dst + n, 4);
		dst[n++] = '/';
	}
	for (; *key && n < 31; key++)
		dst[n++] = *key;
	dst[n] = '\0';
	return dst;
}

static void nf_build_keys(struct netfront *nf, struct nf_keys *k)
{
	static const char *const qkeys[NF_KEYS_PER_QUEUE] = {
		NETIF_KEY_TX_RING_REF, NETIF_KEY_RX_RING_REF, NETIF_KEY_EVENT_CHANNEL };

	k->n = 0;
	for (unsigned q = 0; q < nf->nr_queues; q++) {
		uint32_t v[NF_KEYS_PER_QUEUE] = { nf->q[q].tx_ring_ref, nf->q[q].rx_ring_ref,
						  nf->q[q].port };

		for (unsigned i = 0; i < NF_KEYS_PER_QUEUE; i++) {
			pvfront_utoa(v[i], k->buf[q][i][1], 32);
			nf_key(k, nf_qkey(k->buf[q][i][0], nf->nr_queues, q, qkeys[i]), k->buf[q][i][1]);
		}
	}
	pvfront_utoa(nf->nr_queues, k->nq, sizeof(k->nq));
	nf_key(k, NETIF_KEY_MQ_NUM_QUEUES, k->nq);
	nf_key(k, NETIF_KEY_REQUEST_RX_COPY, "1");
	nf_key(k, NETIF_KEY_FEATURE_RX_NOTIFY, "1");
	nf_key(k, NETIF_KEY_FEATURE_SG, nf->be_sg ? "1" : "0");
	/* Our rx capabilities (the backend's keys said what we may send). */
	nf_key(k, NETIF_KEY_FEATURE_NO_CSUM, nf->rx_csum_offload ? "0" : "1");
	nf_key(k, NETIF_KEY_FEATURE_GSO_TCPV4, nf->rx_gso && nf->rx_csum_offload ? "1" : "0");
	nf_key(k, NETIF_KEY_FEATURE_GSO_TCPV6, nf->rx_gso && nf->rx_csum_offload ? "1" : "0");
}

static int nf_handshake(struct netfront *nf)
{
	struct nf_keys k;
	int err;

	nf->connected = false;
	if ((err = nf_read_backend_params(nf)))
		return err;
	netfront_reset_rings(nf);
	nf_build_keys(nf, &k);
	err = pvfront_bus_connect(nf->xs, &nf->dev, k.key, k.val, k.n);
	nf->connected = err == 0;
	return err;
}

int netfront_connect(struct netfront *nf, struct pvfront_xs *xs, const struct pvfront_dev *dev)
{
	nf->xs = xs;
	nf->dev = *dev;
	return nf_handshake(nf);
}

int netfront_check_backend(struct netfront *nf)
{
	int st = pvfront_bus_backend_state(nf->xs, &nf->dev), err;

	if (nf->connected && st == PVFRONT_STATE_CONNECTED)
		return 0;
	/* A restarted backend starts over at InitWait; one that is still
	 * Closing/Closed has not come back yet. */
	if (st != PVFRONT_STATE_INITWAIT && st != PVFRONT_STATE_CONNECTED)
		return -PVFRONT_EAGAIN;
	if ((err = nf_handshake(nf)))
		return err;
	nf->stats.reconnects++;
	return 1;
}

int netfront_disconnect(struct netfront *nf)
{
	nf->connected = false;
	return pvfront_bus_close(nf->xs, &nf->dev);
}
