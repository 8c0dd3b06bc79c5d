/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport and polled split virtqueues.  Every register access
 * is an exit to the VMM, so the data path touches one register (QueueNotify)
 * and only when the device has not set VRING_USED_F_NO_NOTIFY; we set
 * VRING_AVAIL_F_NO_INTERRUPT because we poll the used ring.
 */
#include "mini/virtio.h"

enum {
	REG_MAGIC = 0x000, REG_VERSION = 0x004, REG_DEVICE_ID = 0x008,
	REG_DEVICE_FEATURES = 0x010, REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024,
	REG_GUEST_PAGE_SIZE = 0x028,    /* legacy */
	REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM_MAX = 0x034, REG_QUEUE_NUM = 0x038,
	REG_QUEUE_ALIGN = 0x03c, REG_QUEUE_PFN = 0x040,   /* legacy */
	REG_QUEUE_READY = 0x044, REG_QUEUE_NOTIFY = 0x050,
	REG_STATUS = 0x070,
	REG_QUEUE_DESC_LO = 0x080, REG_QUEUE_DESC_HI = 0x084,
	REG_QUEUE_AVAIL_LO = 0x090, REG_QUEUE_AVAIL_HI = 0x094,
	REG_QUEUE_USED_LO = 0x0a0, REG_QUEUE_USED_HI = 0x0a4,
	REG_CONFIG_GENERATION = 0x0fc, REG_CONFIG = 0x100,
};
enum { ST_ACK = 1, ST_DRIVER = 2, ST_DRIVER_OK = 4, ST_FEATURES_OK = 8, ST_FAILED = 128 };
#define VIRTIO_MMIO_MAGIC 0x74726976u   /* "virt" */
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1
#define QUEUE_ALIGN 4096u

static uint32_t rd(const struct virtio_dev *d, unsigned off)
{
	return mini_mmio_read32(d->base + off);
}

static void wr(const struct virtio_dev *d, unsigned off, uint32_t v)
{
	mini_mmio_write32(d->base + off, v);
}

int virtio_mmio_probe(unsigned slot, uint32_t device_id, struct virtio_dev *d)
{
	*d = (struct virtio_dev){ .base = VIRTIO_MMIO_BASE + (uint64_t)slot * VIRTIO_MMIO_STRIDE };
	if (slot >= VIRTIO_MMIO_SLOTS || rd(d, REG_MAGIC) != VIRTIO_MMIO_MAGIC)
		return -1;
	d->version = rd(d, REG_VERSION);
	d->device_id = rd(d, REG_DEVICE_ID);
	if ((d->version != 1 && d->version != 2) || d->device_id != device_id)
		return -1;
	return 0;
}

int virtio_dev_init(struct virtio_dev *d, uint64_t wanted)
{
	uint64_t offered;

	wr(d, REG_STATUS, 0);
	for (unsigned i = 0; i < 1000 && rd(d, REG_STATUS); i++)
		mini_pause();
	wr(d, REG_STATUS, ST_ACK);
	wr(d, REG_STATUS, ST_ACK | ST_DRIVER);
	wr(d, REG_DEVICE_FEATURES_SEL, 0);
	offered = rd(d, REG_DEVICE_FEATURES);
	if (d->version == 2) {
		wr(d, REG_DEVICE_FEATURES_SEL, 1);
		offered |= (uint64_t)rd(d, REG_DEVICE_FEATURES) << 32;
		wanted |= 1ull << VIRTIO_F_VERSION_1;
		if (!(offered >> VIRTIO_F_VERSION_1 & 1))
			goto fail;
	}
	d->features = offered & wanted;
	wr(d, REG_DRIVER_FEATURES_SEL, 0);
	wr(d, REG_DRIVER_FEATURES, (uint32_t)d->features);
	if (d->version == 2) {
		wr(d, REG_DRIVER_FEATURES_SEL, 1);
		wr(d, REG_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
		wr(d, REG_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
		if (!(rd(d, REG_STATUS) & ST_FEATURES_OK))
			goto fail;
	} else {
		wr(d, REG_GUEST_PAGE_SIZE, MINI_PAGE_SIZE);
	}
	return 0;
fail:
	wr(d, REG_STATUS, ST_FAILED);
	return -1;
}

int virtio_dev_ready(struct virtio_dev *d)
{
	uint32_t st = ST_ACK | ST_DRIVER | ST_DRIVER_OK | (d->version == 2 ? ST_FEATURES_OK : 0);

	wr(d, REG_STATUS, st);
	return rd(d, REG_STATUS) & ST_FAILED ? -1 : 0;
}

uint32_t virtio_config_read32(const struct virtio_dev *d, unsigned off)
{
	return rd(d, REG_CONFIG + off);
}

uint64_t virtio_config_read64(const struct virtio_dev *d, unsigned off)
{
	uint32_t gen, lo, hi;

	do {     /* modern devices flag a config change between the two halves */
		gen = d->version == 2 ? rd(d, REG_CONFIG_GENERATION) : 0;
		lo = rd(d, REG_CONFIG + off);
		hi = rd(d, REG_CONFIG + off + 4);
	} while (d->version == 2 && gen != rd(d, REG_CONFIG_GENERATION));
	return (uint64_t)hi << 32 | lo;
}

/* Legacy layout (also fine for modern): descriptors, avail ring, then the
 * used ring at the next QUEUE_ALIGN boundary, all in one contiguous run. */
static size_t ring_bytes(uint16_t n, size_t *used_off)
{
	size_t avail_end = 16u * n + 6 + 2u * n;

	*used_off = (avail_end + QUEUE_ALIGN - 1) / QUEUE_ALIGN * QUEUE_ALIGN;
	return *used_off + 6 + 8u * n;
}

static void queue_addresses(const struct virtio_dev *d, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(d, REG_QUEUE_DESC_LO, (uint32_t)desc);
	wr(d, REG_QUEUE_DESC_HI, (uint32_t)(desc >> 32));
	wr(d, REG_QUEUE_AVAIL_LO, (uint32_t)avail);
	wr(d, REG_QUEUE_AVAIL_HI, (uint32_t)(avail >> 32));
	wr(d, REG_QUEUE_USED_LO, (uint32_t)used);
	wr(d, REG_QUEUE_USED_HI, (uint32_t)(used >> 32));
	wr(d, REG_QUEUE_READY, 1);
}

int virtq_init(struct virtq *q, const struct virtio_dev *d, uint16_t index, uint16_t max_size)
{
	uint32_t max;
	uint16_t n = 1;
	size_t used_off, bytes;
	uint8_t *mem;

	wr(d, REG_QUEUE_SEL, index);
	max = rd(d, REG_QUEUE_NUM_MAX);
	if (!max || (d->version == 2 && rd(d, REG_QUEUE_READY)))
		return -1;
	while ((uint32_t)n * 2 <= max && n * 2 <= max_size)  /* legacy needs a power of two */
		n *= 2;
	bytes = ring_bytes(n, &used_off);
	mem = mini_pages_alloc((bytes + MINI_PAGE_SIZE - 1) / MINI_PAGE_SIZE);
	if (!mem)
		return -1;
	*q = (struct virtq){ .size = n, .nr_free = n, .index = index, .dev = d,
			     .desc = (struct vring_desc *)mem,
			     .avail = (volatile uint16_t *)(mem + 16u * n),
			     .used = mem + used_off };
	for (uint16_t i = 0; i < n; i++)
		q->desc[i].next = (uint16_t)(i + 1);
	q->avail[0] = VRING_AVAIL_F_NO_INTERRUPT;
	wr(d, REG_QUEUE_NUM, n);
	if (d->version == 1) {
		wr(d, REG_QUEUE_ALIGN, QUEUE_ALIGN);
		wr(d, REG_QUEUE_PFN, (uint32_t)((uintptr_t)mem / MINI_PAGE_SIZE));
	} else {
		queue_addresses(d, (uintptr_t)q->desc, (uintptr_t)q->avail, (uintptr_t)q->used);
	}
	return 0;
}

int virtq_alloc_chain(struct virtq *q, unsigned n, uint16_t *ids)
{
	if (n == 0 || n > q->nr_free)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		ids[i] = q->free_head;
		q->free_head = q->desc[q->free_head].next;
	}
	q->nr_free = (uint16_t)(q->nr_free - n);
	for (unsigned i = 0; i < n; i++) {
		q->desc[ids[i]].flags = i + 1 < n ? VRING_DESC_F_NEXT : 0;
		q->desc[ids[i]].next = i + 1 < n ? ids[i + 1] : 0;
	}
	return ids[0];
}

void virtq_publish(struct virtq *q, uint16_t head)
{
	q->avail[2 + q->avail_idx % q->size] = head;
	mini_barrier();                   /* x86: stores are not reordered with stores */
	q->avail_idx++;
	q->avail[1] = q->avail_idx;
}

bool virtq_kick(struct virtq *q)
{
	mini_mb();                        /* avail idx store before the used flags load */
	if (*(volatile uint16_t *)q->used & VRING_USED_F_NO_NOTIFY)
		return false;
	mini_mmio_write32(q->dev->base + REG_QUEUE_NOTIFY, q->index);
	return true;
}

int virtq_next_used(struct virtq *q, uint16_t *head, uint32_t *len)
{
	volatile uint32_t *elem;

	if (*(volatile uint16_t *)(q->used + 2) == q->last_used)
		return 0;
	mini_barrier();                   /* x86: loads are not reordered with loads */
	elem = (volatile uint32_t *)(q->used + 4 + 8u * (q->last_used % q->size));
	if (elem[0] >= q->size)           /* a device bug must not send us off the ring */
		return -1;
	*head = (uint16_t)elem[0];
	*len = elem[1];
	q->last_used++;
	return 1;
}

void virtq_free_chain(struct virtq *q, uint16_t head)
{
	uint16_t id = head, n = 1;

	while (q->desc[id].flags & VRING_DESC_F_NEXT && n < q->size) {
		id = q->desc[id].next;
		n++;
	}
	q->desc[id].next = q->free_head;
	q->free_head = head;
	q->nr_free = (uint16_t)(q->nr_free + n);
}
