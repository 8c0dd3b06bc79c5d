/* SPDX-License-Identifier: MIT */
/*
 * The mini-guest's network-device interface: what the net layer (net/) and
 * the programs drive, and what each NIC driver (virtio-net now; pvnet and
 * e1000 later) provides.  Polled, no interrupts: tx copies a frame into the
 * driver's own buffer and queues it, tx_flush tells the device (one doorbell
 * at most, and only when the device asked for one), rx hands out received
 * frames in place until rx_release gives their buffers back to the device.
 */
#ifndef MINI_NETDEV_H
#define MINI_NETDEV_H

#include "mini/mini.h"

#define MINI_ETH_HLEN 14u
/* Largest frame a driver must accept (9000-byte MTU + Ethernet header). */
#define MINI_NET_MAX_MTU 9000u
#define MINI_NET_MAX_FRAME (MINI_NET_MAX_MTU + MINI_ETH_HLEN)
/* Most buffers one received frame may span (4 KiB buffers, 9014 bytes). */
#define MINI_NET_MAX_FRAGS 8u

struct mini_iov {
	const void *base;
	uint32_t len;
};

/* One received frame.  frag[0] holds at least the first
 * min(len, MINI_NET_RX_HEAD) bytes, so Ethernet/IPv4/UDP headers are
 * contiguous.  Valid until rx_release. */
#define MINI_NET_RX_HEAD 128u
/* The L4 checksum was not filled in: the frame comes from a sender on this
 * host that left it to offload (virtio's NEEDS_CSUM, netif's CSUM_BLANK); the
 * data never crossed a wire.  It cannot be verified and is accepted. */
#define MINI_NET_RXF_CSUM_BLANK 0x1u
struct mini_net_frame {
	uint32_t len;                  /* whole frame, Ethernet header included */
	uint16_t nr_frags;
	uint16_t flags;                /* MINI_NET_RXF_* */
	struct {
		const uint8_t *data;
		uint32_t len;
	} frag[MINI_NET_MAX_FRAGS];
	uint32_t priv[MINI_NET_MAX_FRAGS];   /* the driver's (buffer ids) */
};

struct mini_netdev;
struct mini_netdev_ops {
	/* Copies the frame (iov[0..n), Ethernet header first, no FCS) into a
	 * tx buffer and queues it.  Returns 0, -1 when every tx buffer is in
	 * flight (call tx_flush and retry), -2 when the frame is empty or
	 * longer than MINI_ETH_HLEN + mtu. */
	int (*tx)(struct mini_netdev *d, const struct mini_iov *iov, unsigned n);
	/* Makes queued frames visible to the device (doorbell only when needed)
	 * and reaps finished tx buffers.  Returns the free tx buffers. */
	unsigned (*tx_flush)(struct mini_netdev *d);
	/* Takes up to max received frames; returns how many. */
	unsigned (*rx)(struct mini_netdev *d, struct mini_net_frame *f, unsigned max);
	/* Gives the frames' buffers back to the device (one doorbell at most). */
	void (*rx_release)(struct mini_netdev *d, struct mini_net_frame *f, unsigned n);
};

struct mini_netdev_stats {
	uint64_t tx_frames, tx_bytes, tx_kicks, tx_full;
	uint64_t rx_frames, rx_bytes, rx_kicks, rx_bad;   /* rx_bad: malformed from the device */
};

struct mini_netdev {
	char name[24];
	const struct mini_netdev_ops *ops;
	uint8_t mac[6];
	uint32_t mtu;              /* largest L3 packet the device carries (<= MINI_NET_MAX_MTU) */
	uint32_t tx_slots;         /* frames that may be queued at once */
	struct mini_netdev_stats stats;
	void *priv;                /* the driver's */
};

/* A driver finds its devices and fills devs[0..ret) (ret <= max). mtu is
 * the largest MTU the program wants (drivers size rx buffers for it). */
struct mini_net_driver {
	const char *name;
	unsigned (*probe)(struct mini_netdev **devs, unsigned max, uint32_t mtu);
};
#define MINI_NET_DRIVER(ident, name_, probe_)                                   \
	static const struct mini_net_driver mini_net_driver_##ident              \
		__attribute__((used, section("mini_net_drivers"), aligned(8))) = { \
		.name = name_, .probe = probe_ }

/* Runs every driver's probe once; returns the devices found. */
unsigned mini_net_probe_all(struct mini_netdev ***devs, uint32_t mtu);

#endif
