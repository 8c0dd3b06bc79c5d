/* SPDX-License-Identifier: MIT */
/* pvblk frontend: rings, request building with grants, completions, recovery.
 * Freestanding (see blkfront.h). */
#include "blkfront.h"

#define PAGE 4096u
#define SLOT_BITS 16

static void bf_log(struct blkfront *bf, const char *msg)
{
	if (bf->f->env->log)
		bf->f->env->log(bf->f->env->opaque, msg);
}

static void q_free_list_init(struct blkfront_queue *q)
{
	for (uint32_t i = 0; i < q->nr_ents; i++) {
		q->shadow[i].in_use = false;
		q->shadow[i].next_free = (uint16_t)(i + 1);
	}
	q->free_head = 0;
	q->in_flight = 0;
}

static int q_setup(struct blkfront *bf, struct blkfront_queue *q, unsigned order)
{
	const struct pvfront_env *env = bf->f->env;
	uint64_t pa0 = 0;
	int err;

	for (unsigned i = 0; i < (1u << order); i++) {
		void *p = env->alloc_page(env->opaque);
		uint64_t pa;

		if (!p)
			return -PVFRONT_ENOMEM;
		pa = env->virt_to_phys(env->opaque, p);
		if (i == 0) {
			q->sh = p;
			pa0 = pa;
		} else if (pa != pa0 + (uint64_t)i * PAGE ||
			   (char *)p != (char *)q->sh + (size_t)i * PAGE) {
			return -PVFRONT_ENOMEM; /* the backend maps the ring as one run */
		}
		err = pvfront_gnt_grant(bf->f, bf->backend_id, pa >> 12, false, &q->ring_ref[i]);
		if (err)
			return err;
	}
	q->nr_ents = blkif_ring_nr_ents((size_t)PAGE << order);
	if (q->nr_ents > BLKFRONT_MAX_ENTS)
		q->nr_ents = BLKFRONT_MAX_ENTS;
	ring_shared_init(q->sh, 0);
	ring_front_init(&q->ring, q->sh, q->nr_ents, 0);
	q_free_list_init(q);
	return pvfront_evtchn_alloc(bf->f, bf->backend_id, &q->port);
}

int blkfront_init(struct blkfront *bf, struct pvfront *f, uint16_t backend_id,
		  unsigned nr_queues, unsigned ring_order)
{
	int err;

	if (nr_queues < 1 || nr_queues > BLKFRONT_MAX_QUEUES || ring_order > BLKFRONT_MAX_RING_ORDER)
		return -PVFRONT_EINVAL;
	__builtin_memset(bf, 0, sizeof(*bf));
	bf->f = f;
	bf->backend_id = backend_id;
	bf->nr_queues = nr_queues;
	bf->ring_order = ring_order;
	bf->feat.max_indirect_segs = BLKIF_MAX_INDIRECT_SEGMENTS;
	bf->feat.sector_size = 512;
	for (unsigned i = 0; i < nr_queues; i++)
		if ((err = q_setup(bf, &bf->q[i], ring_order)))
			return err;
	return 0;
}

uint32_t blkfront_max_io_bytes(const struct blkfront *bf)
{
	uint32_t segs = bf->feat.max_indirect_segs > BLKIF_MAX_SEGMENTS_PER_REQUEST ?
				bf->feat.max_indirect_segs : BLKIF_MAX_SEGMENTS_PER_REQUEST;

	/* One page less than the segments: a buffer need not start on a page. */
	return (segs - 1) * PAGE;
}

/* Grants the data pages and writes the segments into seg[]; on failure
 * revokes what it granted. */
static int build_segs(struct blkfront *bf, const struct blkfront_io *io, struct blkif_segment *seg,
		      unsigned nr)
{
	bool ro = io->op == BLKIF_OP_WRITE; /* the backend only reads the page */
	uint64_t pos = io->buf_gpa, end = io->buf_gpa + io->len_bytes;

	for (unsigned i = 0; i < nr; i++) {
		uint64_t page_end = (pos & ~(uint64_t)(PAGE - 1)) + PAGE;
		uint64_t chunk_end = end < page_end ? end : page_end;
		int err = pvfront_gnt_grant(bf->f, bf->backend_id, pos >> 12, ro, &seg[i].gref);

		if (err) {
			while (i-- > 0)
				pvfront_gnt_revoke(bf->f, seg[i].gref);
			return err;
		}
		seg[i].first_sect = (uint8_t)((pos % PAGE) / BLKIF_SECTOR_BYTES);
		seg[i].last_sect = (uint8_t)(((chunk_end - 1) % PAGE) / BLKIF_SECTOR_BYTES);
		seg[i].reserved = 0;
		pos = chunk_end;
	}
	return 0;
}

static int fill_rw(struct blkfront *bf, struct blkfront_shadow *s, const struct blkfront_io *io)
{
	uint64_t first = io->buf_gpa >> 12, last = (io->buf_gpa + io->len_bytes - 1) >> 12;
	unsigned nr = (unsigned)(last - first + 1);
	int err;

	if (!io->len_bytes || io->len_bytes % BLKIF_SECTOR_BYTES || io->buf_gpa % BLKIF_SECTOR_BYTES ||
	    (io->flags & ~BLKIF_F_FUA))
		return -PVFRONT_EINVAL;
	if (nr <= BLKIF_MAX_SEGMENTS_PER_REQUEST) {
		struct blkif_request *r = &s->req.rw;

		r->op = io->op;
		r->nr_segments = (uint8_t)nr;
		r->flags = io->flags;
		r->sector = io->sector;
		return build_segs(bf, io, r->seg, nr);
	}
	struct blkif_request_indirect *r = &s->req.indirect;
	const struct pvfront_env *env = bf->f->env;

	if (nr > bf->feat.max_indirect_segs)
		return -PVFRONT_EINVAL;
	if (!s->ind_page && !(s->ind_page = env->alloc_page(env->opaque)))
		return -PVFRONT_ENOMEM;
	if ((err = build_segs(bf, io, s->ind_page, nr)))
		return err;
	err = pvfront_gnt_grant(bf->f, bf->backend_id,
				env->virt_to_phys(env->opaque, s->ind_page) >> 12, true, &s->ind_gref);
	if (err) {
		for (unsigned i = 0; i < nr; i++)
			pvfront_gnt_revoke(bf->f, ((struct blkif_segment *)s->ind_page)[i].gref);
		return err;
	}
	r->op = BLKIF_OP_INDIRECT;
	r->indirect_op = io->op;
	r->nr_segments = (uint16_t)nr;
	r->flags = io->flags;
	r->sector = io->sector;
	r->indirect_grefs[0] = s->ind_gref;
	return 0;
}

static int fill_req(struct blkfront *bf, struct blkfront_shadow *s, const struct blkfront_io *io)
{
	__builtin_memset(&s->req, 0, sizeof(s->req));
	s->ind_gref = 0;
	switch (io->op) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		return fill_rw(bf, s, io);
	case BLKIF_OP_FLUSH:
		s->req.rw.op = BLKIF_OP_FLUSH;
		return 0;
	case BLKIF_OP_DISCARD:
	case BLKIF_OP_WRITE_ZEROES:
		s->req.discard.op = io->op;
		s->req.discard.flags = io->flags;
		s->req.discard.sector = io->sector;
		s->req.discard.nr_sectors = io->nr_sectors;
		return 0;
	default:
		return -PVFRONT_EINVAL;
	}
}

static void publish(struct blkfront_queue *q, const struct blkfront_shadow *s)
{
	*blkif_front_req(&q->ring) = s->req;
	q->ring.req_prod_pvt++;
}

int blkfront_submit(struct blkfront *bf, unsigned qi, const struct blkfront_io *io)
{
	struct blkfront_queue *q = &bf->q[qi];
	struct blkfront_shadow *s;
	uint16_t idx;
	int err;

	if (qi >= bf->nr_queues)
		return -PVFRONT_EINVAL;
	if (q->free_head >= q->nr_ents || ring_front_free_reqs(&q->ring) == 0)
		return -PVFRONT_EAGAIN;
	idx = q->free_head;
	s = &q->shadow[idx];
	if ((err = fill_req(bf, s, io)))
		return err;
	q->free_head = s->next_free;
	s->gen++;
	s->tag = io->tag;
	s->in_use = true;
	/* id = generation << 16 | slot: a stale or forged id is recognised. */
	s->req.rw.id = ((uint64_t)s->gen << SLOT_BITS) | idx;
	q->in_flight++;
	publish(q, s);
	return 0;
}

void blkfront_kick(struct blkfront *bf, unsigned qi)
{
	struct blkfront_queue *q = &bf->q[qi];

	if (q->ring.req_prod_pvt != q->ring.req_pushed && ring_front_push_reqs(&q->ring))
		pvfront_evtchn_send(bf->f, q->port);
}

static void revoke_or_log(struct blkfront *bf, uint32_t gref)
{
	if (pvfront_gnt_revoke(bf->f, gref))
		bf_log(bf, "blkfront: grant still in use after its response; leaked");
}

static void release(struct blkfront *bf, struct blkfront_shadow *s)
{
	const union blkif_ring_req *r = &s->req;

	if (r->op == BLKIF_OP_READ || r->op == BLKIF_OP_WRITE) {
		for (unsigned i = 0; i < r->rw.nr_segments; i++)
			revoke_or_log(bf, r->rw.seg[i].gref);
	} else if (r->op == BLKIF_OP_INDIRECT) {
		const struct blkif_segment *seg = s->ind_page;

		for (unsigned i = 0; i < r->indirect.nr_segments; i++)
			revoke_or_log(bf, seg[i].gref);
		revoke_or_log(bf, s->ind_gref);
	}
}

int blkfront_poll(struct blkfront *bf, unsigned qi, struct blkfront_cpl *out, unsigned max)
{
	struct blkfront_queue *q = &bf->q[qi];
	struct blkif_response rsp;
	unsigned got = 0;
	int n;

	if (bf->broken)
		return -PVFRONT_EPROTO;
	n = ring_front_pending_rsps(&q->ring);
	if (n < 0) {
		bf->broken = true;
		bf_log(bf, "blkfront: backend wrote an impossible rsp_prod");
		return -PVFRONT_EPROTO;
	}
	while (n-- > 0 && got < max) {
		blkif_front_take_rsp(&q->ring, &rsp);
		uint32_t idx = (uint32_t)(rsp.id & ((1u << SLOT_BITS) - 1));
		struct blkfront_shadow *s = idx < q->nr_ents ? &q->shadow[idx] : NULL;

		if (!s || !s->in_use || s->req.rw.id != rsp.id) {
			bf->bogus_rsps++;
			continue;
		}
		release(bf, s);
		s->in_use = false;
		s->next_free = q->free_head;
		q->free_head = (uint16_t)idx;
		q->in_flight--;
		out[got].tag = s->tag;
		out[got].status = rsp.status;
		got++;
	}
	return (int)got;
}

int blkfront_arm(struct blkfront *bf, unsigned qi)
{
	int n = ring_front_final_check_rsps(&bf->q[qi].ring);

	return n < 0 ? -PVFRONT_EPROTO : n;
}

unsigned blkfront_in_flight(const struct blkfront *bf, unsigned qi)
{
	return bf->q[qi].in_flight;
}

void blkfront_recover(struct blkfront *bf)
{
	for (unsigned qi = 0; qi < bf->nr_queues; qi++) {
		struct blkfront_queue *q = &bf->q[qi];
		ring_shared_init(q->sh, 0);
		ring_front_init(&q->ring, q->sh, q->nr_ents, 0);
		/* Requests in flight are republished in slot order; the block
		 * layer does not order requests that are in flight together. */
		for (uint32_t i = 0; i < q->nr_ents; i++)
			if (q->shadow[i].in_use)
				publish(q, &q->shadow[i]);
	}
	bf->broken = false;
}
