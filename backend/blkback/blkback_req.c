/* SPDX-License-Identifier: MIT */
/* Validation of one blkif request, on the private copy taken from the ring.
 * Pure functions: no grants, no I/O, so the hostile cases are unit-tested
 * directly (tests/unit/test_blkback.c). */
#include "blkback_int.h"

static int check_range(const struct blkback_limits *l, uint64_t sector, uint64_t nr)
{
	uint64_t per = l->sector_size / BLKIF_SECTOR_BYTES;

	if (nr == 0 || sector > l->nr_sectors || nr > l->nr_sectors - sector)
		return BLKIF_RSP_ERROR;
	/* 4096-byte logical sectors: start and length in whole logical sectors. */
	if (per > 1 && (sector % per || nr % per))
		return BLKIF_RSP_ERROR;
	return BLKIF_RSP_OKAY;
}

static int check_rw(const struct blkif_request *rw, const struct blkback_limits *l,
		    struct blkback_decoded *out)
{
	if (rw->flags & ~BLKIF_F_FUA)
		return BLKIF_RSP_EOPNOTSUPP;
	if ((rw->flags & BLKIF_F_FUA) && rw->op != BLKIF_OP_WRITE)
		return BLKIF_RSP_EOPNOTSUPP;
	if (rw->op == BLKIF_OP_FLUSH) {
		if (rw->nr_segments != 0)
			return BLKIF_RSP_ERROR;
		out->blk_op = BLK_OP_FLUSH;
		return BLKIF_RSP_OKAY;
	}
	if (rw->nr_segments < 1 || rw->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
		return BLKIF_RSP_ERROR;
	if (rw->op == BLKIF_OP_WRITE && l->readonly)
		return BLKIF_RSP_ERROR;
	out->blk_op = rw->op == BLKIF_OP_READ ? BLK_OP_READ : BLK_OP_WRITE;
	out->blk_flags = (rw->flags & BLKIF_F_FUA) ? BLK_REQ_FUA : 0;
	out->sector = rw->sector;
	out->nr_segs = rw->nr_segments;
	return BLKIF_RSP_OKAY;
}

static int check_discard(const struct blkif_request_discard *r, const struct blkback_limits *l,
			 struct blkback_decoded *out)
{
	if (r->op == BLKIF_OP_DISCARD) {
		if (!l->discard || r->flags)
			return BLKIF_RSP_EOPNOTSUPP;
		out->blk_op = BLK_OP_DISCARD;
	} else {
		if (r->flags & ~BLKIF_F_ZEROES_UNMAP)
			return BLKIF_RSP_EOPNOTSUPP;
		out->blk_op = BLK_OP_WRITE_ZEROES;
	}
	if (l->readonly)
		return BLKIF_RSP_ERROR;
	out->sector = r->sector;
	out->nr_sectors = r->nr_sectors;
	return check_range(l, r->sector, r->nr_sectors);
}

static int check_indirect(const struct blkif_request_indirect *r, const struct blkback_limits *l,
			  struct blkback_decoded *out)
{
	if (l->max_indirect_segs == 0)
		return BLKIF_RSP_EOPNOTSUPP;
	if (r->indirect_op != BLKIF_OP_READ && r->indirect_op != BLKIF_OP_WRITE)
		return BLKIF_RSP_ERROR;
	if (r->flags & ~BLKIF_F_FUA)
		return BLKIF_RSP_EOPNOTSUPP;
	if ((r->flags & BLKIF_F_FUA) && r->indirect_op != BLKIF_OP_WRITE)
		return BLKIF_RSP_EOPNOTSUPP;
	if (r->nr_segments < 1 || r->nr_segments > l->max_indirect_segs)
		return BLKIF_RSP_ERROR;
	if (r->indirect_op == BLKIF_OP_WRITE && l->readonly)
		return BLKIF_RSP_ERROR;
	out->blk_op = r->indirect_op == BLKIF_OP_READ ? BLK_OP_READ : BLK_OP_WRITE;
	out->blk_flags = (r->flags & BLKIF_F_FUA) ? BLK_REQ_FUA : 0;
	out->sector = r->sector;
	out->nr_segs = r->nr_segments;
	out->nr_ind_pages = (r->nr_segments + BLKIF_SEGS_PER_INDIRECT_PAGE - 1) /
			    BLKIF_SEGS_PER_INDIRECT_PAGE;
	for (unsigned i = 0; i < out->nr_ind_pages; i++)
		out->ind_grefs[i] = r->indirect_grefs[i];
	return BLKIF_RSP_OKAY;
}

int blkback_req_check(const union blkif_ring_req *r, const struct blkback_limits *l,
		      struct blkback_decoded *out)
{
	*out = (struct blkback_decoded){ .id = r->rw.id, .rsp_op = r->op };
	switch (r->op) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
	case BLKIF_OP_FLUSH:
		return check_rw(&r->rw, l, out);
	case BLKIF_OP_DISCARD:
	case BLKIF_OP_WRITE_ZEROES:
		return check_discard(&r->discard, l, out);
	case BLKIF_OP_INDIRECT:
		return check_indirect(&r->indirect, l, out);
	default:
		return BLKIF_RSP_EOPNOTSUPP;
	}
}

int blkback_segs_check(const struct blkif_segment *s, const struct blkback_limits *l,
		       struct blkback_decoded *out)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < out->nr_segs; i++) {
		if (s[i].first_sect > s[i].last_sect || s[i].last_sect >= BLKIF_SECTORS_PER_PAGE)
			return BLKIF_RSP_ERROR;
		total += (uint64_t)s[i].last_sect - s[i].first_sect + 1;
	}
	out->nr_sectors = total;
	return check_range(l, out->sector, total);
}
