/* SPDX-License-Identifier: MIT */
/*
 * Polled virtio-blk over virtio-mmio (QEMU microvm), legacy and modern.
 * One request = header descriptor, data descriptor(s) (split by size_max),
 * status descriptor.  Headers and status bytes live in a per-head array so a
 * completion finds its request by the used element's id alone.
 */
#include "mini/blkdev.h"
#include "mini/virtio.h"

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define CFG_CAPACITY 0
#define CFG_SIZE_MAX 8
#define CFG_SEG_MAX 12
#define CFG_BLK_SIZE 20
#define CFG_MAX_DISCARD_SECTORS 36
#define CFG_MAX_WRITE_ZEROES_SECTORS 48

#define MAX_IO_BYTES (1u << 20)
#define MAX_SEGS 8
#define MAX_DEVS 4
#define QUEUE_SIZE 256

struct vblk_slot {
	struct {
		uint32_t type, ioprio;
		uint64_t sector;
	} hdr;
	struct {                  /* discard / write-zeroes range, device-readable */
		uint64_t sector;
		uint32_t nr_sectors, flags;
	} range;
	uint8_t status;
	uint64_t tag;
};

struct vblk {
	struct mini_blkdev bd;
	struct virtio_dev vdev;
	struct virtq vq;
	struct vblk_slot *slots;       /* indexed by head descriptor id */
	uint32_t seg_bytes;            /* largest data descriptor */
	struct mini_blk_cpl pending[QUEUE_SIZE];   /* rejected requests, reported by poll */
	unsigned nr_pending;
};

static struct vblk vblks[MAX_DEVS];

static uint32_t op_limit(const struct vblk *v, uint8_t op)
{
	switch (op) {
	case MINI_BLK_READ: return v->bd.max_io_bytes;
	case MINI_BLK_WRITE: return v->bd.read_only ? 0 : v->bd.max_io_bytes;
	case MINI_BLK_DISCARD: return v->bd.read_only ? 0 : v->bd.max_discard_bytes;
	case MINI_BLK_WRITE_ZEROES: return v->bd.read_only ? 0 : v->bd.max_write_zeroes_bytes;
	default: return 0;
	}
}

static bool req_valid(const struct vblk *v, const struct mini_blk_req *r)
{
	uint64_t ss = v->bd.sector_size / 512, nr = r->len_bytes / 512;

	if (r->op == MINI_BLK_FLUSH)
		return v->bd.has_flush;
	return r->len_bytes && r->len_bytes % v->bd.sector_size == 0 &&
	       r->len_bytes <= op_limit(v, r->op) && r->sector % ss == 0 &&
	       r->sector <= v->bd.capacity_sectors && nr <= v->bd.capacity_sectors - r->sector;
}

static uint32_t req_type(uint8_t op)
{
	switch (op) {
	case MINI_BLK_READ: return VIRTIO_BLK_T_IN;
	case MINI_BLK_WRITE: return VIRTIO_BLK_T_OUT;
	case MINI_BLK_DISCARD: return VIRTIO_BLK_T_DISCARD;
	case MINI_BLK_WRITE_ZEROES: return VIRTIO_BLK_T_WRITE_ZEROES;
	default: return VIRTIO_BLK_T_FLUSH;
	}
}

/* Builds one request's chain; false when the ring has no room for it. */
static bool vblk_queue_one(struct vblk *v, const struct mini_blk_req *r)
{
	bool data = r->op == MINI_BLK_READ || r->op == MINI_BLK_WRITE;
	bool range = r->op == MINI_BLK_DISCARD || r->op == MINI_BLK_WRITE_ZEROES;
	unsigned nseg = data ? (r->len_bytes + v->seg_bytes - 1) / v->seg_bytes : range ? 1 : 0;
	uint16_t ids[MAX_SEGS + 2];
	struct vblk_slot *s;
	int head = virtq_alloc_chain(&v->vq, nseg + 2, ids);

	if (head < 0)
		return false;
	s = &v->slots[head];
	s->hdr.type = req_type(r->op);
	s->hdr.ioprio = 0;
	s->hdr.sector = data ? r->sector : 0;
	s->status = 0xff;
	s->tag = r->tag;
	v->vq.desc[ids[0]].addr = (uintptr_t)&s->hdr;
	v->vq.desc[ids[0]].len = sizeof(s->hdr);
	if (range) {
		s->range.sector = r->sector;
		s->range.nr_sectors = r->len_bytes / 512;
		s->range.flags = 0;      /* write-zeroes: no unmap; the device may still */
		v->vq.desc[ids[1]].addr = (uintptr_t)&s->range;
		v->vq.desc[ids[1]].len = sizeof(s->range);
	}
	for (unsigned i = 0; data && i < nseg; i++) {
		uint32_t off = i * v->seg_bytes, len = r->len_bytes - off;

		v->vq.desc[ids[1 + i]].addr = r->buf_phys + off;
		v->vq.desc[ids[1 + i]].len = len < v->seg_bytes ? len : v->seg_bytes;
		if (r->op == MINI_BLK_READ)
			v->vq.desc[ids[1 + i]].flags |= VRING_DESC_F_WRITE;
	}
	v->vq.desc[ids[nseg + 1]].addr = (uintptr_t)&s->status;
	v->vq.desc[ids[nseg + 1]].len = 1;
	v->vq.desc[ids[nseg + 1]].flags |= VRING_DESC_F_WRITE;
	virtq_publish(&v->vq, (uint16_t)head);
	return true;
}

static unsigned vblk_submit(struct mini_blkdev *bd, const struct mini_blk_req *r, unsigned n)
{
	struct vblk *v = bd->priv;
	unsigned done = 0, queued = 0;

	for (; done < n; done++) {
		if (!req_valid(v, &r[done])) {
			if (v->nr_pending == QUEUE_SIZE)
				break;
			v->pending[v->nr_pending++] = (struct mini_blk_cpl){ r[done].tag, MINI_BLK_EIO };
			continue;
		}
		if (!vblk_queue_one(v, &r[done]))
			break;
		queued++;
	}
	if (queued)
		virtq_kick(&v->vq);
	return done;
}

static unsigned vblk_poll(struct mini_blkdev *bd, struct mini_blk_cpl *c, unsigned max)
{
	struct vblk *v = bd->priv;
	unsigned n = 0;
	uint16_t head;
	uint32_t len;

	while (n < max && v->nr_pending)
		c[n++] = v->pending[--v->nr_pending];
	while (n < max) {
		int got = virtq_next_used(&v->vq, &head, &len);

		if (got < 0) {
			printf("%s: device returned a bad used id; giving up\n", bd->name);
			mini_exit(MINI_EXIT_FAIL);
		}
		if (!got)
			break;
		c[n].tag = v->slots[head].tag;
		c[n].status = v->slots[head].status == 0 ? MINI_BLK_OK :
			      v->slots[head].status == 2 ? MINI_BLK_EUNSUPP : MINI_BLK_EIO;
		n++;
		virtq_free_chain(&v->vq, head);
	}
	return n;
}

static const struct mini_blkdev_ops vblk_ops = { .submit = vblk_submit, .poll = vblk_poll };

/* A range op's byte limit: the device's sector count, capped to fit 32 bits. */
static uint32_t range_limit(uint32_t sectors, uint32_t bs)
{
	uint64_t bytes = (uint64_t)sectors * 512;

	if (bytes > (1u << 30))
		bytes = 1u << 30;
	return (uint32_t)(bytes - bytes % bs);
}

static int vblk_setup(struct vblk *v, unsigned idx)
{
	uint64_t want = 1u << VIRTIO_BLK_F_SIZE_MAX | 1u << VIRTIO_BLK_F_SEG_MAX |
			1u << VIRTIO_BLK_F_RO | 1u << VIRTIO_BLK_F_BLK_SIZE | 1u << VIRTIO_BLK_F_FLUSH |
			1u << VIRTIO_BLK_F_DISCARD | 1u << VIRTIO_BLK_F_WRITE_ZEROES;
	uint32_t size_max = 0, seg_max = MAX_SEGS, bs = 512;
	unsigned per_req;

	if (virtio_dev_init(&v->vdev, want))
		return -1;
	if (v->vdev.features >> VIRTIO_BLK_F_SIZE_MAX & 1)
		size_max = virtio_config_read32(&v->vdev, CFG_SIZE_MAX);
	if (v->vdev.features >> VIRTIO_BLK_F_SEG_MAX & 1)
		seg_max = virtio_config_read32(&v->vdev, CFG_SEG_MAX);
	if (v->vdev.features >> VIRTIO_BLK_F_BLK_SIZE & 1)
		bs = virtio_config_read32(&v->vdev, CFG_BLK_SIZE);
	if (bs < 512 || bs > 65536 || (bs & (bs - 1)) || !seg_max)
		return -1;
	v->seg_bytes = size_max >= MINI_PAGE_SIZE && size_max < MAX_IO_BYTES ?
		       size_max / MINI_PAGE_SIZE * MINI_PAGE_SIZE : MAX_IO_BYTES;
	if (seg_max > MAX_SEGS)
		seg_max = MAX_SEGS;
	v->bd = (struct mini_blkdev){
		.ops = &vblk_ops, .sector_size = bs, .priv = v,
		.capacity_sectors = virtio_config_read64(&v->vdev, CFG_CAPACITY),
		.read_only = v->vdev.features >> VIRTIO_BLK_F_RO & 1,
		.has_flush = v->vdev.features >> VIRTIO_BLK_F_FLUSH & 1,
	};
	snprintf(v->bd.name, sizeof(v->bd.name), "virtio-blk%u", idx);
	v->bd.max_io_bytes = v->seg_bytes * seg_max < MAX_IO_BYTES ? v->seg_bytes * seg_max : MAX_IO_BYTES;
	v->bd.max_io_bytes -= v->bd.max_io_bytes % bs;
	if (v->vdev.features >> VIRTIO_BLK_F_DISCARD & 1)
		v->bd.max_discard_bytes = range_limit(virtio_config_read32(&v->vdev, CFG_MAX_DISCARD_SECTORS), bs);
	if (v->vdev.features >> VIRTIO_BLK_F_WRITE_ZEROES & 1)
		v->bd.max_write_zeroes_bytes =
			range_limit(virtio_config_read32(&v->vdev, CFG_MAX_WRITE_ZEROES_SECTORS), bs);
	if (virtq_init(&v->vq, &v->vdev, 0, QUEUE_SIZE))
		return -1;
	per_req = 2 + (v->bd.max_io_bytes + v->seg_bytes - 1) / v->seg_bytes;
	v->bd.queue_depth = v->vq.size / per_req;
	v->slots = mini_pages_alloc((v->vq.size * sizeof(*v->slots) + MINI_PAGE_SIZE - 1) / MINI_PAGE_SIZE);
	if (!v->slots || !v->bd.queue_depth)
		return -1;
	return virtio_dev_ready(&v->vdev);
}

static unsigned vblk_probe(struct mini_blkdev **devs, unsigned max)
{
	unsigned n = 0;

	for (unsigned slot = 0; slot < VIRTIO_MMIO_SLOTS && n < max && n < MAX_DEVS; slot++) {
		struct vblk *v = &vblks[n];

		if (virtio_mmio_probe(slot, VIRTIO_ID_BLOCK, &v->vdev))
			continue;
		if (vblk_setup(v, n)) {
			printf("virtio-blk: device in slot %u failed to initialise\n", slot);
			continue;
		}
		printf("%s: virtio-mmio v%u slot %u, %lu sectors of %u bytes, queue %u, depth %u, max io %u%s%s%s%s\n",
		       v->bd.name, v->vdev.version, slot, (unsigned long)v->bd.capacity_sectors,
		       v->bd.sector_size, v->vq.size, v->bd.queue_depth, v->bd.max_io_bytes,
		       v->bd.read_only ? ", read-only" : "", v->bd.has_flush ? ", flush" : "",
		       v->bd.max_discard_bytes ? ", discard" : "",
		       v->bd.max_write_zeroes_bytes ? ", write-zeroes" : "");
		devs[n++] = &v->bd;
	}
	return n;
}
MINI_BLK_DRIVER(virtio_blk, "virtio-blk", vblk_probe);
