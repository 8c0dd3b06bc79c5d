/* SPDX-License-Identifier: MIT */
/*
 * virtio over MMIO (virtio 1.x spec section 4.2), legacy (version 1) and
 * modern (version 2), with polled split virtqueues.  QEMU's microvm puts
 * 24 transports at 0xfeb00000 + 512*i.
 */
#ifndef MINI_VIRTIO_H
#define MINI_VIRTIO_H

#include "mini/mini.h"

#define VIRTIO_MMIO_BASE 0xfeb00000ull
#define VIRTIO_MMIO_STRIDE 0x200
#define VIRTIO_MMIO_SLOTS 24

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_F_VERSION_1 32

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2

struct virtio_dev {
	uint64_t base;
	uint32_t version;          /* 1 legacy, 2 modern */
	uint32_t device_id;
	uint64_t features;         /* negotiated */
};

struct virtq {
	uint16_t size, free_head, nr_free, avail_idx, last_used;
	uint16_t index;
	struct vring_desc *desc;
	volatile uint16_t *avail;  /* flags, idx, ring[size] */
	volatile uint8_t *used;    /* flags, idx, {id, len}[size] */
	const struct virtio_dev *dev;
};

/* Finds the transport in slot i; 0 when it holds a device of type device_id. */
int virtio_mmio_probe(unsigned slot, uint32_t device_id, struct virtio_dev *d);
/* Reset, ACKNOWLEDGE|DRIVER, feature negotiation (wanted & offered; modern
 * requires VERSION_1).  Returns 0 or -1 (device refused FEATURES_OK). */
int virtio_dev_init(struct virtio_dev *d, uint64_t wanted);
int virtio_dev_ready(struct virtio_dev *d);
uint32_t virtio_config_read32(const struct virtio_dev *d, unsigned off);
uint64_t virtio_config_read64(const struct virtio_dev *d, unsigned off);

/* Sets up queue index with at most max_size entries, polled (no interrupts). */
int virtq_init(struct virtq *q, const struct virtio_dev *d, uint16_t index, uint16_t max_size);
/* Takes n chained descriptors; returns the head, or -1 when too few are free. */
int virtq_alloc_chain(struct virtq *q, unsigned n, uint16_t *ids);
/* Makes a chain visible to the device (no doorbell yet). */
void virtq_publish(struct virtq *q, uint16_t head);
/* Rings the doorbell unless the device said it is polling anyway; true when it rang. */
bool virtq_kick(struct virtq *q);
/* Next used element: returns 1 and fills head and len, 0 when none, -1 on a bad id from the device. */
int virtq_next_used(struct virtq *q, uint16_t *head, uint32_t *len);
void virtq_free_chain(struct virtq *q, uint16_t head);

#endif
