/* SPDX-License-Identifier: MIT */
/*
 * Polled virtio-net over virtio-mmio (QEMU microvm), legacy and modern, one
 * rx and one tx queue, no offloads (the net layer computes and checks every
 * checksum).  Descriptor i of either queue always points at buffer i, so a
 * used id names its buffer directly:
 *   rx: every buffer stays posted; with VIRTIO_NET_F_MRG_RXBUF they are
 *       4 KiB pages and a large frame spans num_buffers of them, otherwise
 *       each buffer holds a whole frame of the MTU asked for ("big buffers").
 *   tx: tx copies the frame after a zeroed header into a free buffer and
 *       publishes it; tx_flush rings the doorbell only when the device has
 *       not said it is already processing (VRING_USED_F_NO_NOTIFY).
 */
#include "mini/netdev.h"
#include "mini/virtio.h"

#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_F_ANY_LAYOUT 27

#define CFG_MAC 0
#define CFG_MTU 10

#define QUEUE_SIZE 256
#define MRG_BUF_BYTES 4096u
#define MAX_DEVS 2
#define RXQ 0
#define TXQ 1

/* virtio_net_hdr; num_buffers exists with MRG_RXBUF or VERSION_1 */
struct vnet_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
	uint16_t num_buffers;
};

struct vnet {
	struct mini_netdev nd;
	struct virtio_dev vdev;
	struct virtq rxq, txq;
	uint32_t hdr_len;              /* 10 or 12 */
	bool mrg;
	uint32_t rx_buf_bytes, tx_buf_bytes;
	uint8_t *rx_bufs, *tx_bufs;
	unsigned tx_unkicked;          /* published since the last tx_flush */
};

static struct vnet vnets[MAX_DEVS];

static void tx_reap(struct vnet *v)
{
	uint16_t id;
	uint32_t len;
	int got;

	while ((got = virtq_next_used(&v->txq, &id, &len)) > 0)
		virtq_free_chain(&v->txq, id);
	if (got < 0) {
		printf("%s: device returned a bad tx used id; giving up\n", v->nd.name);
		mini_exit(MINI_EXIT_FAIL);
	}
}

static int vnet_tx(struct mini_netdev *nd, const struct mini_iov *iov, unsigned n)
{
	struct vnet *v = nd->priv;
	uint32_t total = 0;
	uint16_t id;
	uint8_t *p;

	for (unsigned i = 0; i < n; i++)
		total += iov[i].len;
	if (!total || total > MINI_ETH_HLEN + nd->mtu)
		return -2;
	if (!v->txq.nr_free)
		tx_reap(v);
	if (virtq_alloc_chain(&v->txq, 1, &id) < 0) {
		nd->stats.tx_full++;
		return -1;
	}
	p = v->tx_bufs + (size_t)id * v->tx_buf_bytes;
	memset(p, 0, v->hdr_len);
	p += v->hdr_len;
	for (unsigned i = 0; i < n; i++) {
		memcpy(p, iov[i].base, iov[i].len);
		p += iov[i].len;
	}
	v->txq.desc[id].addr = (uintptr_t)(v->tx_bufs + (size_t)id * v->tx_buf_bytes);
	v->txq.desc[id].len = v->hdr_len + total;
	virtq_publish(&v->txq, id);
	v->tx_unkicked++;
	nd->stats.tx_frames++;
	nd->stats.tx_bytes += total;
	return 0;
}

static unsigned vnet_tx_flush(struct mini_netdev *nd)
{
	struct vnet *v = nd->priv;

	if (v->tx_unkicked && virtq_kick(&v->txq))
		nd->stats.tx_kicks++;
	v->tx_unkicked = 0;
	tx_reap(v);
	return v->txq.nr_free;
}

static uint8_t *rx_buf(const struct vnet *v, uint16_t id)
{
	return v->rx_bufs + (size_t)id * v->rx_buf_bytes;
}

/* The next used rx buffer; waits a little for the rest of a multi-buffer
 * frame, which the device publishes together. */
static bool rx_next(struct vnet *v, uint16_t *id, uint32_t *len, bool wait)
{
	uint64_t t0 = mini_rdtsc();

	for (;;) {
		int got = virtq_next_used(&v->rxq, id, len);

		if (got < 0) {
			printf("%s: device returned a bad rx used id; giving up\n", v->nd.name);
			mini_exit(MINI_EXIT_FAIL);
		}
		if (got)
			return true;
		if (!wait || mini_rdtsc() - t0 > mini_ns_to_cycles(1000000))
			return false;
		mini_pause();
	}
}

/* Collects one frame starting at buffer id; false when it is malformed (its
 * buffers are then in f->priv[0..nr_frags) for the caller to repost). */
static bool rx_frame(struct vnet *v, uint16_t id, uint32_t len, struct mini_net_frame *f)
{
	const struct vnet_hdr *h = (const struct vnet_hdr *)rx_buf(v, id);
	unsigned nbuf = v->mrg ? h->num_buffers : 1;
	bool ok = len >= v->hdr_len + MINI_ETH_HLEN && len <= v->rx_buf_bytes &&
		  nbuf >= 1 && nbuf <= MINI_NET_MAX_FRAGS;

	f->nr_frags = 1;
	f->flags = 0;                 /* no VIRTIO_NET_F_GUEST_CSUM: checksums are complete */
	f->priv[0] = id;
	f->frag[0].data = rx_buf(v, id) + v->hdr_len;
	f->frag[0].len = len >= v->hdr_len ? len - v->hdr_len : 0;
	f->len = f->frag[0].len;
	if (nbuf > MINI_NET_MAX_FRAGS)
		nbuf = 1;           /* cannot hold them: the rest surface as bad frames */
	for (unsigned i = 1; i < nbuf; i++) {
		if (!rx_next(v, &id, &len, true))
			return false;
		f->priv[f->nr_frags] = id;
		f->frag[f->nr_frags].data = rx_buf(v, id);
		f->frag[f->nr_frags].len = len;
		f->nr_frags++;
		ok = ok && len && len <= v->rx_buf_bytes;
		f->len += len;
	}
	/* headers must be contiguous: frag 0 holds at least MINI_NET_RX_HEAD bytes */
	return ok && f->frag[0].len >= (f->len < MINI_NET_RX_HEAD ? f->len : MINI_NET_RX_HEAD);
}

static void vnet_rx_release(struct mini_netdev *nd, struct mini_net_frame *f, unsigned n)
{
	struct vnet *v = nd->priv;

	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < f[i].nr_frags; k++)
			virtq_publish(&v->rxq, (uint16_t)f[i].priv[k]);
	if (n && virtq_kick(&v->rxq))
		nd->stats.rx_kicks++;
}

static unsigned vnet_rx(struct mini_netdev *nd, struct mini_net_frame *f, unsigned max)
{
	struct vnet *v = nd->priv;
	unsigned n = 0;
	uint16_t id;
	uint32_t len;

	while (n < max && rx_next(v, &id, &len, false)) {
		if (!rx_frame(v, id, len, &f[n])) {
			nd->stats.rx_bad++;
			vnet_rx_release(nd, &f[n], 1);
			continue;
		}
		nd->stats.rx_frames++;
		nd->stats.rx_bytes += f[n].len;
		n++;
	}
	return n;
}

static const struct mini_netdev_ops vnet_ops = {
	.tx = vnet_tx, .tx_flush = vnet_tx_flush, .rx = vnet_rx, .rx_release = vnet_rx_release,
};

static void *alloc_bytes(size_t bytes)
{
	return mini_pages_alloc((bytes + MINI_PAGE_SIZE - 1) / MINI_PAGE_SIZE);
}

static int vnet_queues(struct vnet *v)
{
	uint16_t id;

	if (virtq_init(&v->rxq, &v->vdev, RXQ, QUEUE_SIZE) || virtq_init(&v->txq, &v->vdev, TXQ, QUEUE_SIZE))
		return -1;
	v->rx_buf_bytes = v->mrg ? MRG_BUF_BYTES : (v->hdr_len + MINI_ETH_HLEN + 4 + v->nd.mtu + 63) & ~63u;
	v->tx_buf_bytes = (v->hdr_len + MINI_ETH_HLEN + v->nd.mtu + 63) & ~63u;
	v->rx_bufs = alloc_bytes((size_t)v->rx_buf_bytes * v->rxq.size);
	v->tx_bufs = alloc_bytes((size_t)v->tx_buf_bytes * v->txq.size);
	if (!v->rx_bufs || !v->tx_bufs)
		return -1;
	while (virtq_alloc_chain(&v->rxq, 1, &id) >= 0) {
		v->rxq.desc[id].addr = (uintptr_t)rx_buf(v, id);
		v->rxq.desc[id].len = v->rx_buf_bytes;
		v->rxq.desc[id].flags = VRING_DESC_F_WRITE;
		virtq_publish(&v->rxq, id);
	}
	v->nd.tx_slots = v->txq.size;
	return 0;
}

static int vnet_setup(struct vnet *v, unsigned idx, uint32_t mtu)
{
	uint64_t want = 1ull << VIRTIO_NET_F_MTU | 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_MRG_RXBUF |
			(v->vdev.version == 1 ? 1ull << VIRTIO_F_ANY_LAYOUT : 0);
	uint32_t w;

	if (mini_opt_u64("mrg_rxbuf", 1) == 0)
		want &= ~(1ull << VIRTIO_NET_F_MRG_RXBUF);
	if (virtio_dev_init(&v->vdev, want))
		return -1;
	v->nd = (struct mini_netdev){ .ops = &vnet_ops, .priv = v, .mtu = mtu,
				      .mac = { 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + idx) } };
	snprintf(v->nd.name, sizeof(v->nd.name), "virtio-net%u", idx);
	v->mrg = v->vdev.features >> VIRTIO_NET_F_MRG_RXBUF & 1;
	v->hdr_len = v->mrg || v->vdev.version == 2 ? 12 : 10;
	if (v->vdev.features >> VIRTIO_NET_F_MAC & 1) {
		w = virtio_config_read32(&v->vdev, CFG_MAC);
		memcpy(v->nd.mac, &w, 4);
		w = virtio_config_read32(&v->vdev, CFG_MAC + 4);
		memcpy(v->nd.mac + 4, &w, 2);
	}
	if (v->vdev.features >> VIRTIO_NET_F_MTU & 1) {
		w = virtio_config_read32(&v->vdev, CFG_MTU - 2) >> 16;
		if (w < 68)
			return -1;
		if (w < v->nd.mtu)
			v->nd.mtu = w;
	}
	if (vnet_queues(v) || virtio_dev_ready(&v->vdev))
		return -1;
	if (virtq_kick(&v->rxq))
		v->nd.stats.rx_kicks++;
	return 0;
}

static unsigned vnet_probe(struct mini_netdev **devs, unsigned max, uint32_t mtu)
{
	unsigned n = 0;

	for (unsigned slot = VIRTIO_MMIO_SLOTS; slot-- > 0 && n < max && n < MAX_DEVS;) {
		struct vnet *v = &vnets[n];

		if (virtio_mmio_probe(slot, VIRTIO_ID_NET, &v->vdev))
			continue;
		if (vnet_setup(v, n, mtu)) {
			printf("virtio-net: device in slot %u failed to initialise\n", slot);
			continue;
		}
		printf("%s: virtio-mmio v%u slot %u, mtu %u%s, rx %u x %u-byte buffers%s, tx %u\n",
		       v->nd.name, v->vdev.version, slot, v->nd.mtu,
		       v->vdev.features >> VIRTIO_NET_F_MTU & 1 ? " (device)" : "", v->rxq.size,
		       v->rx_buf_bytes, v->mrg ? " (mergeable)" : "", v->txq.size);
		devs[n++] = &v->nd;
	}
	return n;
}
MINI_NET_DRIVER(virtio_net, "virtio-net", vnet_probe);
