/* SPDX-License-Identifier: MIT */
/*
 * pvnet in the mini-guest: struct mini_netdev over the frontend core's
 * netfront (frontend-guest/core/netfront.c), on the PV platform environment
 * of frontend-guest/core/mini/pv_mini.c.  One queue.  tx gathers the frame
 * and netfront_send copies it into its granted tx pages; rx copies each
 * packet out of the granted rx pages inside netfront_recv's callback (the
 * core reposts the pages when the callback returns), so rx_release has
 * nothing to give back.
 */
#include "mini/netdev.h"
#include "mini/pci.h"
#include "netfront.h"
#include "pv_mini.h"
#include "pvkvm/platform.h"

#define RX_BOUNCE 32u
#define RX_BOUNCE_BYTES 9216u
#define GNT_FRAMES 2u                  /* 1024 grant references */

struct pvnet {
	struct mini_netdev nd;
	struct netfront nf;
	struct pvfront_dev dev;
	uint8_t tx_frame[MINI_NET_MAX_FRAME];
	uint8_t *rx_bounce;            /* RX_BOUNCE x RX_BOUNCE_BYTES */
	struct mini_net_frame *rx_out; /* the rx call's frames */
	unsigned rx_n, rx_max;
};

static struct pvnet pvn;

static int pvnet_tx(struct mini_netdev *nd, const struct mini_iov *iov, unsigned n)
{
	struct pvnet *p = nd->priv;
	uint32_t len = 0;
	int rc;

	for (unsigned i = 0; i < n; i++) {
		if (iov[i].len > MINI_NET_MAX_FRAME - len)
			return -2;
		memcpy(p->tx_frame + len, iov[i].base, iov[i].len);
		len += iov[i].len;
	}
	if (!len || len > MINI_ETH_HLEN + nd->mtu)
		return -2;
	rc = netfront_send(&p->nf, 0, p->tx_frame, len, NULL);
	if (rc == -PVFRONT_EAGAIN && netfront_tx_reap(&p->nf, 0) > 0)
		rc = netfront_send(&p->nf, 0, p->tx_frame, len, NULL);
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

static void pvnet_rx_one(void *opaque, const struct netfront_rx_pkt *pkt)
{
	struct pvnet *p = opaque;
	struct mini_net_frame *f;
	uint8_t *dst;

	if (p->rx_n == p->rx_max || pkt->len > RX_BOUNCE_BYTES) {
		p->nd.stats.rx_bad++;
		return;
	}
	dst = p->rx_bounce + (size_t)p->rx_n * RX_BOUNCE_BYTES;
	f = &p->rx_out[p->rx_n++];
	f->len = 0;
	for (unsigned i = 0; i < pkt->nr_frags; i++) {
		memcpy(dst + f->len, pkt->frag[i].data, pkt->frag[i].len);
		f->len += pkt->frag[i].len;
	}
	f->nr_frags = 1;
	f->flags = pkt->off.csum_blank ? MINI_NET_RXF_CSUM_BLANK : 0;
	f->frag[0].data = dst;
	f->frag[0].len = f->len;
	p->nd.stats.rx_frames++;
	p->nd.stats.rx_bytes += f->len;
}

static unsigned pvnet_rx(struct mini_netdev *nd, struct mini_net_frame *f, unsigned max)
{
	struct pvnet *p = nd->priv;
	uint64_t bells = p->nf.stats.doorbells;

	p->rx_out = f;
	p->rx_n = 0;
	p->rx_max = max < RX_BOUNCE ? max : RX_BOUNCE;
	if (netfront_recv(&p->nf, 0, pvnet_rx_one, p, p->rx_max) < 0) {
		printf("%s: backend wrote a bad rx response; giving up\n", nd->name);
		mini_exit(MINI_EXIT_FAIL);
	}
	nd->stats.rx_kicks += p->nf.stats.doorbells - bells;
	return p->rx_n;
}

static void pvnet_rx_release(struct mini_netdev *nd, struct mini_net_frame *f, unsigned n)
{
	(void)nd, (void)f, (void)n;    /* copied out in pvnet_rx: nothing to give back */
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
