/* SPDX-License-Identifier: MIT */
/*
 * pvnet in the mini-guest: struct mini_netdev over the frontend core's
 * netfront (frontend-guest/core/netfront.c), on the PV platform environment
 * of frontend-guest/core/mini/pv_mini.c.  One queue.  tx hands the frame's
 * pieces to netfront_sendv, which copies them once into its granted tx pages;
 * rx is zero-copy: netfront_rx_take lends the granted rx pages themselves and
 * rx_release gives the whole batch back with one ring publish (a frame the
 * net layer cannot take in place, more than MINI_NET_MAX_FRAGS pages or a
 * short first page, is copied into a bounce buffer instead).
 */
#include "mini/netdev.h"
#include "mini/pci.h"
#include "netfront.h"
#include "pv_mini.h"
#include "pvkvm/platform.h"

#define RX_BOUNCE 32u                  /* = the most frames one rx call takes */
#define RX_BOUNCE_BYTES 9216u
#define GNT_FRAMES 2u                  /* 1024 grant references */

struct pvnet {
	struct mini_netdev nd;
	struct netfront nf;
	struct pvfront_dev dev;
	uint8_t *rx_bounce;            /* RX_BOUNCE x RX_BOUNCE_BYTES */
};

static struct pvnet pvn;

static int pvnet_tx(struct mini_netdev *nd, const struct mini_iov *iov, unsigned n)
{
	struct pvnet *p = nd->priv;
	struct netfront_frag fr[8];
	uint32_t len = 0;
	int rc;

	if (n > sizeof(fr) / sizeof(fr[0]))
		return -2;
	for (unsigned i = 0; i < n; i++) {
		if (iov[i].len > MINI_NET_MAX_FRAME - len)
			return -2;
		fr[i] = (struct netfront_frag){ iov[i].base, iov[i].len };
		len += iov[i].len;
	}
	if (!len || len > MINI_ETH_HLEN + nd->mtu)
		return -2;
	rc = netfront_sendv(&p->nf, 0, fr, n, NULL);
	if (rc == -PVFRONT_EAGAIN && netfront_tx_reap(&p->nf, 0) > 0)
		rc = netfront_sendv(&p->nf, 0, fr, n, NULL);
	if (rc == -PVFRONT_EAGAIN) {
		nd->stats.tx_full++;
		return -1;
	}
	if (rc)
		return -2;
	nd->stats.tx_frames++;
	nd->stats.tx_bytes += len;
	return 0;
}

static unsigned pvnet_tx_flush(struct mini_netdev *nd)
{
	struct pvnet *p = nd->priv;
	uint64_t bells = p->nf.stats.doorbells;

	netfront_tx_flush(&p->nf, 0);
	nd->stats.tx_kicks += p->nf.stats.doorbells - bells;
	if (netfront_tx_reap(&p->nf, 0) < 0) {
		printf("%s: backend wrote a bad tx response; giving up\n", nd->name);
		mini_exit(MINI_EXIT_FAIL);
	}
	return netfront_tx_free_slots(&p->nf, 0);
}

/* Fills f from pkt: in place when the net layer can read it there, else
 * copied into bounce slot i. */
static void pvnet_rx_frame(struct pvnet *p, const struct netfront_rx_pkt *pkt,
			   struct mini_net_frame *f, unsigned i)
{
	uint32_t head = pkt->len < MINI_NET_RX_HEAD ? pkt->len : MINI_NET_RX_HEAD;
	uint8_t *dst;

	f->len = pkt->len;
	f->flags = pkt->off.csum_blank ? MINI_NET_RXF_CSUM_BLANK : 0;
	if (pkt->nr_frags <= MINI_NET_MAX_FRAGS && pkt->nr_frags && pkt->frag[0].len >= head) {
		f->nr_frags = (uint16_t)pkt->nr_frags;
		for (unsigned k = 0; k < pkt->nr_frags; k++) {
			f->frag[k].data = pkt->frag[k].data;
			f->frag[k].len = pkt->frag[k].len;
		}
		return;
	}
	dst = p->rx_bounce + (size_t)i * RX_BOUNCE_BYTES;
	f->len = 0;
	for (unsigned k = 0; k < pkt->nr_frags && f->len + pkt->frag[k].len <= RX_BOUNCE_BYTES; k++) {
		memcpy(dst + f->len, pkt->frag[k].data, pkt->frag[k].len);
		f->len += pkt->frag[k].len;
	}
	if (f->len != pkt->len)
		p->nd.stats.rx_bad++;          /* longer than any MTU we offered */
	f->nr_frags = 1;
	f->frag[0].data = dst;
	f->frag[0].len = f->len;
}

static unsigned pvnet_rx(struct mini_netdev *nd, struct mini_net_frame *f, unsigned max)
{
	struct pvnet *p = nd->priv;
	uint64_t bells = p->nf.stats.doorbells;
	struct netfront_rx_pkt pkt;
	unsigned n = 0;
	int r = 0;

	if (max > RX_BOUNCE)
		max = RX_BOUNCE;
	while (n < max && (r = netfront_rx_take(&p->nf, 0, &pkt)) == 1) {
		pvnet_rx_frame(p, &pkt, &f[n], n);
		p->nd.stats.rx_frames++;
		p->nd.stats.rx_bytes += f[n].len;
		n++;
	}
	if (r < 0) {
		printf("%s: backend wrote a bad rx response; giving up\n", nd->name);
		mini_exit(MINI_EXIT_FAIL);
	}
	if (!n)
		netfront_rx_release(&p->nf, 0, 0); /* unused buffers handed back: repost them */
	nd->stats.rx_kicks += p->nf.stats.doorbells - bells;
	return n;
}

/* The whole batch goes back in one publish (one doorbell at most). */
static void pvnet_rx_release(struct mini_netdev *nd, struct mini_net_frame *f, unsigned n)
{
	struct pvnet *p = nd->priv;
	uint64_t bells = p->nf.stats.doorbells;

	(void)f;
	netfront_rx_release(&p->nf, 0, n);
	nd->stats.rx_kicks += p->nf.stats.doorbells - bells;
}

static const struct mini_netdev_ops pvnet_ops = {
	.tx = pvnet_tx, .tx_flush = pvnet_tx_flush, .rx = pvnet_rx, .rx_release = pvnet_rx_release,
};

static int pvnet_setup(struct pvnet *p, struct pvfront *f, struct pvfront_xs *xs, uint32_t mtu)
{
	int rc;

	p->rx_bounce = mini_pages_alloc(RX_BOUNCE * RX_BOUNCE_BYTES / MINI_PAGE_SIZE);
	if (!p->rx_bounce)
		return -PVFRONT_ENOMEM;
	/* one queue grants 2 ring pages and 2 x NETFRONT_RING_ENTS buffer pages */
	if (f->gnt_nr_frames < GNT_FRAMES && (rc = pvfront_gnt_setup(f, GNT_FRAMES)))
		return rc;
	if ((rc = netfront_init(&p->nf, f, p->dev.backend_id, 1)) ||
	    (rc = netfront_connect(&p->nf, xs, &p->dev)))
		return rc;
	p->nd = (struct mini_netdev){ .ops = &pvnet_ops, .priv = p, .tx_slots = NETFRONT_RING_ENTS,
				      .mtu = p->nf.mtu < mtu ? p->nf.mtu : mtu };
	memcpy(p->nd.mac, p->nf.mac, 6);
	snprintf(p->nd.name, sizeof(p->nd.name), "pvnet%u", p->dev.id);
	return 0;
}

static unsigned pvnet_probe(struct mini_netdev **devs, unsigned max, uint32_t mtu)
{
	struct pvfront *f;
	struct pvfront_xs *xs;
	int rc;

	/* Silent on other VMMs: the platform device says we run on pvkvm. */
	if (!max || !mini_pci_find(PVKVM_PLAT_VENDOR_ID, PVKVM_PLAT_DEVICE_ID))
		return 0;
	if (pv_mini_store(&f, &xs))
		return 0;
	rc = pvfront_bus_discover(xs, "vif", &pvn.dev, 1);
	if (rc < 1) {
		if (rc < 0)
			printf("pvnet: device discovery failed (%d)\n", rc);
		return 0;
	}
	rc = pvnet_setup(&pvn, f, xs, mtu);
	if (rc) {
		printf("pvnet: %s: connect failed (%d)\n", pvn.dev.nodename, rc);
		return 0;
	}
	printf("%s: %s backend %s, mtu %u, %u-slot rings%s\n", pvn.nd.name, pvn.dev.nodename,
	       pvn.dev.backend, pvn.nd.mtu, NETFRONT_RING_ENTS, pvn.nf.be_sg ? ", scatter-gather" : "");
	devs[0] = &pvn.nd;
	return 1;
}
MINI_NET_DRIVER(pvnet, "pvnet", pvnet_probe);
