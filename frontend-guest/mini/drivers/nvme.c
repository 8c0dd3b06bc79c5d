/* SPDX-License-Identifier: MIT */
/*
 * Polled NVMe (PCI class 01:08:02): admin queue, identify, one I/O queue pair
 * with interrupts off, namespace 1.  PRPs point at the caller's physically
 * contiguous buffer (a per-command PRP list page beyond two pages).  Each
 * doorbell is an MMIO write (a VM exit), so submit rings the SQ tail once per
 * batch and poll rings the CQ head once per batch.
 */
#include "mini/blkdev.h"
#include "mini/pci.h"

#define REG_CAP 0x00
#define REG_CC 0x14
#define REG_CSTS 0x1c
#define REG_AQA 0x24
#define REG_ASQ 0x28
#define REG_ACQ 0x30
#define REG_DBS 0x1000

#define OP_ADMIN_CREATE_SQ 0x01
#define OP_ADMIN_CREATE_CQ 0x05
#define OP_ADMIN_IDENTIFY 0x06
#define OP_FLUSH 0x00
#define OP_WRITE 0x01
#define OP_READ 0x02
#define OP_WRITE_ZEROES 0x08
#define OP_DSM 0x09

#define ADMIN_DEPTH 8
#define IO_QUEUE_MAX 256
#define MAX_IO_BYTES (1u << 20)
#define MAX_DEVS 2

struct nvme_sqe {
	uint32_t cdw0, nsid;
	uint64_t rsvd, mptr, prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {
	uint32_t result, rsvd;
	uint16_t sq_head, sq_id, cid, status;   /* status bit 0: phase */
};

struct nvme_queue {
	struct nvme_sqe *sq;
	volatile struct nvme_cqe *cq;
	uint16_t size, sq_tail, cq_head, phase, qid;
	uint64_t sq_db, cq_db;
};

struct nvme_cmd_slot {
	uint64_t tag;
	uint64_t *prp_list;           /* one page */
	uint64_t *dsm_range;          /* 16 bytes used */
	bool busy;
};

struct nvme {
	struct mini_blkdev bd;
	uint64_t regs;
	struct nvme_queue admin, io;
	struct nvme_cmd_slot slots[IO_QUEUE_MAX];
	uint16_t free_cids[IO_QUEUE_MAX], nr_free;
	uint32_t nsid, lba_shift;
	bool has_dsm, has_write_zeroes;
	struct mini_blk_cpl rejected[IO_QUEUE_MAX];    /* invalid requests, reported by poll */
	unsigned nr_rejected;
	uint16_t cq_head_rung;        /* last CQ head told to the controller */
};

static struct nvme nvmes[MAX_DEVS];

static uint32_t rd32(const struct nvme *n, unsigned off)
{
	return mini_mmio_read32(n->regs + off);
}

static void wr32(const struct nvme *n, unsigned off, uint32_t v)
{
	mini_mmio_write32(n->regs + off, v);
}

static void wr64(const struct nvme *n, unsigned off, uint64_t v)
{
	wr32(n, off, (uint32_t)v);
	wr32(n, off + 4, (uint32_t)(v >> 32));
}

static int queue_init(struct nvme *n, struct nvme_queue *q, uint16_t qid, uint16_t size, unsigned dstrd)
{
	q->sq = mini_pages_alloc((size * sizeof(struct nvme_sqe) + MINI_PAGE_SIZE - 1) / MINI_PAGE_SIZE);
	q->cq = mini_pages_alloc((size * sizeof(struct nvme_cqe) + MINI_PAGE_SIZE - 1) / MINI_PAGE_SIZE);
	if (!q->sq || !q->cq)
		return -1;
	q->size = size;
	q->qid = qid;
	q->phase = 1;
	q->sq_tail = q->cq_head = 0;
	q->sq_db = n->regs + REG_DBS + (2u * qid) * (4u << dstrd);
	q->cq_db = n->regs + REG_DBS + (2u * qid + 1) * (4u << dstrd);
	return 0;
}

static void sq_push(struct nvme_queue *q, const struct nvme_sqe *e)
{
	q->sq[q->sq_tail] = *e;
	q->sq_tail = (uint16_t)((q->sq_tail + 1) % q->size);
}

static void sq_ring(struct nvme_queue *q)
{
	mini_barrier();               /* x86: the entries are visible before the doorbell */
	mini_mmio_write32(q->sq_db, q->sq_tail);
}

/* Next completion, or NULL; the caller rings the CQ doorbell. */
static volatile struct nvme_cqe *cq_next(struct nvme_queue *q)
{
	volatile struct nvme_cqe *e = &q->cq[q->cq_head];

	if ((e->status & 1) != q->phase)
		return NULL;
	mini_barrier();
	q->cq_head = (uint16_t)((q->cq_head + 1) % q->size);
	if (!q->cq_head)
		q->phase ^= 1;
	return e;
}

/* One admin command, waited for (setup only).  Returns the NVMe status (0 ok) or -1 on timeout. */
static int admin_cmd(struct nvme *n, struct nvme_sqe *e)
{
	volatile struct nvme_cqe *c;
	uint64_t t0 = mini_rdtsc(), limit = mini_ns_to_cycles(5000000000ull);

	e->cdw0 |= (uint32_t)n->admin.sq_tail << 16;      /* cid */
	sq_push(&n->admin, e);
	sq_ring(&n->admin);
	while (!(c = cq_next(&n->admin)))
		if (mini_rdtsc() - t0 > limit)
			return -1;
	mini_mmio_write32(n->admin.cq_db, n->admin.cq_head);
	return c->status >> 1;
}

static int wait_ready(const struct nvme *n, uint32_t want, uint64_t timeout_ms)
{
	uint64_t t0 = mini_rdtsc(), limit = mini_ns_to_cycles(timeout_ms * 1000000);

	while ((rd32(n, REG_CSTS) & 1) != want) {
		if (rd32(n, REG_CSTS) & 2)          /* controller fatal status */
			return -1;
		if (mini_rdtsc() - t0 > limit)
			return -1;
	}
	return 0;
}

static int controller_enable(struct nvme *n, unsigned *dstrd)
{
	uint64_t cap = (uint64_t)rd32(n, REG_CAP + 4) << 32 | rd32(n, REG_CAP);
	uint64_t timeout_ms = ((cap >> 24) & 0xff) * 500 + 500;
	uint16_t mqes = (uint16_t)(cap & 0xffff);

	*dstrd = (cap >> 32) & 0xf;
	if (((cap >> 48) & 0xf) > 0)          /* MPSMIN above 4 KiB: we only do 4 KiB pages */
		return -1;
	wr32(n, REG_CC, 0);
	if (wait_ready(n, 0, timeout_ms) || queue_init(n, &n->admin, 0, ADMIN_DEPTH, *dstrd))
		return -1;
	wr32(n, REG_AQA, (ADMIN_DEPTH - 1) << 16 | (ADMIN_DEPTH - 1));
	wr64(n, REG_ASQ, (uintptr_t)n->admin.sq);
	wr64(n, REG_ACQ, (uintptr_t)n->admin.cq);
	wr32(n, REG_CC, 1 | 6u << 16 | 4u << 20);   /* EN, IOSQES 64 B, IOCQES 16 B, 4 KiB pages */
	if (wait_ready(n, 1, timeout_ms))
		return -1;
	n->io.size = (uint16_t)(mqes + 1 < IO_QUEUE_MAX ? mqes + 1 : IO_QUEUE_MAX);
	return 0;
}

/* Identify controller and namespace 1: limits, optional commands, size. */
static int identify(struct nvme *n)
{
	uint8_t *id = mini_pages_alloc(1);
	struct nvme_sqe e = { .cdw0 = OP_ADMIN_IDENTIFY, .cdw10 = 1 };
	uint32_t max_io = MAX_IO_BYTES;
	uint16_t oncs;
	uint8_t flbas;

	if (!id)
		return -1;
	e.prp1 = (uintptr_t)id;
	if (admin_cmd(n, &e))
		return -1;
	if (id[77] && (4096ull << id[77]) < max_io)     /* MDTS, in units of the 4 KiB page */
		max_io = 4096u << id[77];
	memcpy(&oncs, id + 520, 2);
	n->has_dsm = oncs >> 2 & 1;
	n->has_write_zeroes = oncs >> 3 & 1;
	n->bd.has_flush = true;                          /* flush is mandatory */
	n->nsid = 1;
	e = (struct nvme_sqe){ .cdw0 = OP_ADMIN_IDENTIFY, .nsid = 1, .cdw10 = 0, .prp1 = (uintptr_t)id };
	memset(id, 0, MINI_PAGE_SIZE);
	if (admin_cmd(n, &e))
		return -1;
	memcpy(&n->bd.capacity_sectors, id, 8);          /* NSZE, in LBAs for now */
	flbas = id[26] & 0xf;
	n->lba_shift = id[128 + 4 * flbas + 2];
	if (n->lba_shift < 9 || n->lba_shift > 16 || !n->bd.capacity_sectors)
		return -1;
	n->bd.capacity_sectors <<= n->lba_shift - 9;
	n->bd.sector_size = 1u << n->lba_shift;
	n->bd.max_io_bytes = max_io;
	n->bd.max_discard_bytes = n->has_dsm ? 1u << 30 : 0;
	n->bd.max_write_zeroes_bytes = n->has_write_zeroes ? (uint32_t)(65536ull << n->lba_shift < (1u << 30) ?
					65536ull << n->lba_shift : 1u << 30) : 0;
	mini_pages_free(id, 1);
	return 0;
}

static int create_io_queues(struct nvme *n, unsigned dstrd)
{
	struct nvme_sqe cq = { .cdw0 = OP_ADMIN_CREATE_CQ }, sq = { .cdw0 = OP_ADMIN_CREATE_SQ };

	if (queue_init(n, &n->io, 1, n->io.size, dstrd))
		return -1;
	cq.prp1 = (uintptr_t)n->io.cq;
	cq.cdw10 = (uint32_t)(n->io.size - 1) << 16 | 1;
	cq.cdw11 = 1;                                    /* physically contiguous, no interrupts */
	sq.prp1 = (uintptr_t)n->io.sq;
	sq.cdw10 = (uint32_t)(n->io.size - 1) << 16 | 1;
	sq.cdw11 = 1u << 16 | 1;                         /* CQ 1, physically contiguous */
	if (admin_cmd(n, &cq) || admin_cmd(n, &sq))
		return -1;
	for (uint16_t i = 0; i + 1 < n->io.size; i++) {  /* one slot short: a full SQ looks empty */
		n->slots[i].prp_list = mini_pages_alloc(1);
		if (!n->slots[i].prp_list)
			return -1;
		n->slots[i].dsm_range = n->slots[i].prp_list + 256;   /* upper half of the page */
		n->free_cids[n->nr_free++] = i;
	}
	n->bd.queue_depth = n->nr_free;
	return 0;
}

static bool req_valid(const struct nvme *n, const struct mini_blk_req *r)
{
	uint64_t ss = n->bd.sector_size / 512, nr = r->len_bytes / 512, limit;

	switch (r->op) {
	case MINI_BLK_FLUSH: return true;
	case MINI_BLK_READ: case MINI_BLK_WRITE: limit = n->bd.max_io_bytes; break;
	case MINI_BLK_DISCARD: limit = n->bd.max_discard_bytes; break;
	case MINI_BLK_WRITE_ZEROES: limit = n->bd.max_write_zeroes_bytes; break;
	default: return false;
	}
	return r->len_bytes && r->len_bytes <= limit && r->len_bytes % n->bd.sector_size == 0 &&
	       r->sector % ss == 0 && r->sector <= n->bd.capacity_sectors &&
	       nr <= n->bd.capacity_sectors - r->sector &&
	       ((r->op != MINI_BLK_READ && r->op != MINI_BLK_WRITE) || r->buf_phys % 4 == 0);
}

/* Data pointer: PRP1, and PRP2 as the second page or a list of the rest. */
static void set_prps(struct nvme_sqe *e, struct nvme_cmd_slot *s, uint64_t buf, uint32_t len)
{
	uint64_t first = MINI_PAGE_SIZE - buf % MINI_PAGE_SIZE, page = buf + first;
	unsigned i = 0;

	e->prp1 = buf;
	if (len <= first)
		return;
	if (len - first <= MINI_PAGE_SIZE) {
		e->prp2 = page;
		return;
	}
	for (uint64_t left = len - first; left; page += MINI_PAGE_SIZE, i++) {
		s->prp_list[i] = page;
		left = left > MINI_PAGE_SIZE ? left - MINI_PAGE_SIZE : 0;
	}
	e->prp2 = (uintptr_t)s->prp_list;
}

static void build_cmd(struct nvme *n, const struct mini_blk_req *r, uint16_t cid, struct nvme_sqe *e)
{
	struct nvme_cmd_slot *s = &n->slots[cid];
	uint64_t lba = r->sector >> (n->lba_shift - 9);
	uint32_t nlb = r->len_bytes >> n->lba_shift;

	*e = (struct nvme_sqe){ .cdw0 = (uint32_t)cid << 16, .nsid = n->nsid,
				.cdw10 = (uint32_t)lba, .cdw11 = (uint32_t)(lba >> 32), .cdw12 = nlb - 1 };
	switch (r->op) {
	case MINI_BLK_READ: case MINI_BLK_WRITE:
		e->cdw0 |= r->op == MINI_BLK_READ ? OP_READ : OP_WRITE;
		set_prps(e, s, r->buf_phys, r->len_bytes);
		break;
	case MINI_BLK_WRITE_ZEROES:
		e->cdw0 |= OP_WRITE_ZEROES;
		break;
	case MINI_BLK_DISCARD:         /* dataset management, one range, deallocate */
		e->cdw0 |= OP_DSM;
		s->dsm_range[0] = (uint64_t)nlb << 32;       /* context attributes 0, NLB */
		s->dsm_range[1] = lba;
		e->prp1 = (uintptr_t)s->dsm_range;
		e->cdw10 = 0;
		e->cdw11 = 1u << 2;
		e->cdw12 = 0;
		break;
	default:
		e->cdw0 |= OP_FLUSH;
		e->cdw10 = e->cdw11 = e->cdw12 = 0;
	}
}

static unsigned nvme_submit(struct mini_blkdev *bd, const struct mini_blk_req *r, unsigned cnt)
{
	struct nvme *n = bd->priv;
	unsigned done = 0, queued = 0;

	for (; done < cnt; done++) {
		struct nvme_sqe e;
		uint16_t cid;

		if (!req_valid(n, &r[done])) {
			if (n->nr_rejected == IO_QUEUE_MAX)
				break;
			n->rejected[n->nr_rejected++] = (struct mini_blk_cpl){ r[done].tag, MINI_BLK_EIO };
			continue;
		}
		if (!n->nr_free)
			break;
		cid = n->free_cids[--n->nr_free];
		n->slots[cid].tag = r[done].tag;
		n->slots[cid].busy = true;
		build_cmd(n, &r[done], cid, &e);
		sq_push(&n->io, &e);
		queued++;
	}
	if (queued)
		sq_ring(&n->io);
	return done;
}

static unsigned nvme_poll(struct mini_blkdev *bd, struct mini_blk_cpl *c, unsigned max)
{
	struct nvme *n = bd->priv;
	volatile struct nvme_cqe *e;
	unsigned got = 0;

	while (got < max && n->nr_rejected)
		c[got++] = n->rejected[--n->nr_rejected];
	while (got < max && (e = cq_next(&n->io))) {
		uint16_t cid = e->cid, sc = e->status >> 1;

		if (cid >= n->io.size - 1 || !n->slots[cid].busy) {
			printf("%s: completion for unknown command %u; giving up\n", bd->name, cid);
			mini_exit(MINI_EXIT_FAIL);
		}
		n->slots[cid].busy = false;
		c[got].tag = n->slots[cid].tag;
		c[got].status = !sc ? MINI_BLK_OK : (sc & 0xff) == 0x01 && !(sc >> 8) ? MINI_BLK_EUNSUPP :
				MINI_BLK_EIO;
		got++;
		n->free_cids[n->nr_free++] = cid;
	}
	if (got && n->io.cq_head != n->cq_head_rung) {
		mini_mmio_write32(n->io.cq_db, n->io.cq_head);
		n->cq_head_rung = n->io.cq_head;
	}
	return got;
}

static const struct mini_blkdev_ops nvme_ops = { .submit = nvme_submit, .poll = nvme_poll };

static unsigned nvme_probe(struct mini_blkdev **devs, unsigned max)
{
	const struct mini_pci_dev *pci;
	unsigned nr_pci = mini_pci_scan(&pci), found = 0;

	for (unsigned i = 0; i < nr_pci && found < max && found < MAX_DEVS; i++) {
		struct nvme *n = &nvmes[found];
		unsigned dstrd;

		if (pci[i].class_rev >> 8 != 0x010802)
			continue;
		if ((pci[i].bar[0].type != MINI_PCI_BAR_MEM32 && pci[i].bar[0].type != MINI_PCI_BAR_MEM64) ||
		    !pci[i].bar[0].addr || pci[i].bar[0].addr >= (4ull << 30)) {
			printf("nvme: %02x:%02x.%u: BAR0 not in the MMIO hole below 4 GiB\n",
			       pci[i].bus, pci[i].dev, pci[i].fn);
			continue;
		}
		*n = (struct nvme){ .regs = pci[i].bar[0].addr, .bd = { .ops = &nvme_ops, .priv = n } };
		mini_pci_enable(&pci[i]);
		if (controller_enable(n, &dstrd) || identify(n) || create_io_queues(n, dstrd)) {
			printf("nvme: %02x:%02x.%u: controller did not come up\n", pci[i].bus, pci[i].dev, pci[i].fn);
			continue;
		}
		snprintf(n->bd.name, sizeof(n->bd.name), "nvme%u", found);
		printf("%s: pci %02x:%02x.%u, %lu sectors of %u bytes, queue %u, depth %u, max io %u%s%s\n",
		       n->bd.name, pci[i].bus, pci[i].dev, pci[i].fn, (unsigned long)n->bd.capacity_sectors,
		       n->bd.sector_size, n->io.size, n->bd.queue_depth, n->bd.max_io_bytes,
		       n->has_dsm ? ", discard" : "", n->has_write_zeroes ? ", write-zeroes" : "");
		devs[found++] = &n->bd;
	}
	return found;
}
MINI_BLK_DRIVER(nvme, "nvme", nvme_probe);
