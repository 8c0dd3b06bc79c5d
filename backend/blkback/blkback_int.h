/* SPDX-License-Identifier: MIT */
/* blkback internals shared by blkback_*.c (not an API). */
#ifndef PVKVM_BLKBACK_INT_H
#define PVKVM_BLKBACK_INT_H

#include <pthread.h>
#include <sys/uio.h>

#include "blkback.h"
#include "pvback.h"

/* What validation needs to know about the disk. */
struct blkback_limits {
	uint64_t nr_sectors;        /* 512-byte units */
	unsigned sector_size;       /* logical, bytes */
	unsigned max_indirect_segs; /* 0: indirect refused */
	bool readonly, discard;
};

/* A request after blkback_req_check(): only these fields are used later. */
struct blkback_decoded {
	uint64_t id;
	uint8_t rsp_op;      /* echoed: the request's op */
	uint8_t blk_op;      /* enum blk_op */
	uint8_t blk_flags;   /* BLK_REQ_* */
	uint64_t sector;
	uint64_t nr_sectors; /* discard/zeroes; read/write: filled by blkback_segs_check() */
	unsigned nr_segs;    /* read/write */
	unsigned nr_ind_pages;
	uint32_t ind_grefs[BLKIF_MAX_INDIRECT_PAGES];
};

/* BLKIF_RSP_OKAY, or the status to answer with. */
int blkback_req_check(const union blkif_ring_req *r, const struct blkback_limits *l,
		      struct blkback_decoded *out);
/* Checks the segments of a read/write (copied already) and the whole range
 * against the disk; sets out->nr_sectors.  BLKIF_RSP_OKAY or _ERROR. */
int blkback_segs_check(const struct blkif_segment *s, const struct blkback_limits *l,
		       struct blkback_decoded *out);

/* One request in flight. */
struct blkback_ioreq {
	struct blkback_queue *q;
	uint64_t id;
	uint8_t rsp_op;
	uint8_t blk_op;
	unsigned nr_mapped;
	uint64_t bytes;
	uint64_t t0_ns;
	struct blk_req breq;
	uint32_t *grefs;    /* [max segs] mapped grants, unmapped at completion */
	struct iovec *iov;  /* [max segs] */
	struct blkback_ioreq *next_free;
};

struct blkback_queue {
	struct blkback_dev *dev;
	unsigned idx;
	struct pvback_dom *dom;
	struct ring_back ring;
	uint32_t ring_refs[1u << RING_MAX_PAGE_ORDER];
	unsigned nr_ring_refs;     /* mapped */
	struct pvback_evtchn *ev;
	struct blk_image *img;
	struct blkback_limits lim;
	unsigned max_segs;
	struct blkback_ioreq *ioreqs, *free;
	struct blkif_segment *segs; /* scratch: the copy of a request's segments */
	struct blk_req *backlog;    /* accepted from the ring, not yet taken by the image */
	unsigned nr_backlog;
	struct blk_completion *cpl;
	unsigned nr_ents;
	int stop_fd;
	pthread_t thread;
	bool started;
	bool stop;                  /* atomic */
	bool rsp_unpushed;
	struct blkback_stats st;    /* fields updated with relaxed atomics */
	uint64_t cpu_sampled_ns;    /* queue thread only: last q_sample_cpu() */
};

struct blkback_dev {
	struct blkback_disk_opts o;
	char path[4096];
	struct blk_image *probe;    /* open while not connected (geometry) */
	uint64_t size_bytes;
	unsigned sector_size;
	enum blk_format format;
	unsigned nr_queues;
	struct blkback_queue q[BLKBACK_MAX_QUEUES];
	bool connected;
	bool broken;                /* atomic */
	struct blkback_stats base;  /* totals of earlier connections */
};

int blkback_queue_start(struct blkback_queue *q, const struct blkback_queue_cfg *cfg);
void blkback_queue_stop(struct blkback_queue *q);

static inline void blkback_stat_add(uint64_t *f, uint64_t v)
{
	__atomic_fetch_add(f, v, __ATOMIC_RELAXED);
}

#endif
