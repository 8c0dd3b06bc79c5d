/* SPDX-License-Identifier: MIT */
/* The pvblk protocol, frontend side, in the portable core (freestanding, like
 * pvfront.c): rings granted to the backend, requests built with grants
 * (direct up to 11 pages, indirect beyond), completions checked against the
 * requests in flight, and recovery: after a backend restart the rings are
 * reset and every request still in flight is published again with the same
 * grants (blkfront_recover), so nothing the guest submitted is lost.
 *
 * Concurrency: a queue is driven by one thread at a time (submit, kick, poll
 * on the same queue); different queues may run on different vCPUs.  Memory:
 * struct blkfront is caller-provided (~80 KiB); ring pages and indirect pages
 * come from env->alloc_page (a multi-page ring needs consecutive pages). */
#ifndef BLKFRONT_H
#define BLKFRONT_H

#include "pvfront.h"
#include "pvfront_bus.h"
#include "pvkvm/blkif.h"

#define BLKFRONT_MAX_QUEUES 4u
#define BLKFRONT_MAX_RING_ORDER 2u
#define BLKFRONT_MAX_ENTS 128u /* blkif entries in 2^2 pages */

/* One I/O as the block layer above sees it. */
struct blkfront_io {
	uint8_t op;          /* BLKIF_OP_READ/WRITE/FLUSH/DISCARD/WRITE_ZEROES */
	uint8_t flags;       /* BLKIF_F_FUA (write), BLKIF_F_ZEROES_UNMAP */
	uint64_t sector;     /* 512-byte units */
	uint64_t nr_sectors; /* discard / write-zeroes only */
	uint64_t buf_gpa;    /* read/write: guest-physical, contiguous, 512-aligned */
	uint32_t len_bytes;  /* read/write: multiple of 512, <= blkfront_max_io_bytes() */
	uint64_t tag;        /* the caller's, returned in the completion */
};

struct blkfront_cpl {
	uint64_t tag;
	int status;          /* BLKIF_RSP_OKAY / _ERROR / _EOPNOTSUPP */
};

/* What the backend advertised (blkfront_bus_connect fills it; tests may). */
struct blkfront_features {
	uint64_t sectors;            /* 512-byte units */
	uint32_t sector_size;
	bool readonly, flush, fua, discard, write_zeroes;
	uint32_t max_indirect_segs;  /* 0: no indirect */
	uint32_t max_queues, max_ring_order;
};

struct blkfront_shadow {
	union blkif_ring_req req; /* as published; republished by recover */
	uint64_t tag;
	void *ind_page;           /* this slot's indirect page, allocated on first use */
	uint32_t ind_gref;        /* 0: none granted */
	uint16_t gen;
	uint16_t next_free;
	bool in_use;
};

struct blkfront_queue {
	struct ring_front ring;
	struct ring_shared *sh;
	uint32_t ring_ref[1u << BLKFRONT_MAX_RING_ORDER];
	uint32_t port;
	uint32_t nr_ents;
	uint32_t in_flight;
	uint16_t free_head;
	struct blkfront_shadow shadow[BLKFRONT_MAX_ENTS];
};

struct blkfront {
	struct pvfront *f;
	uint16_t backend_id;
	struct blkfront_features feat;
	unsigned nr_queues, ring_order;
	bool broken;              /* the backend wrote an impossible rsp_prod */
	uint64_t bogus_rsps;      /* responses naming no request in flight (ignored) */
	struct blkfront_queue q[BLKFRONT_MAX_QUEUES];
	/* Store keys as published (blkfront_bus_*). */
	unsigned nr_keys;
	const char *keys[4 + 3 * BLKFRONT_MAX_QUEUES * 5];
	const char *vals[4 + 3 * BLKFRONT_MAX_QUEUES * 5];
	char strbuf[2048];
};

/* Allocates and grants the rings (2^ring_order pages per queue) and one event
 * channel per queue.  0 or -errno. */
int blkfront_init(struct blkfront *bf, struct pvfront *f, uint16_t backend_id,
		  unsigned nr_queues, unsigned ring_order);
/* Largest len_bytes of one request given the backend's features. */
uint32_t blkfront_max_io_bytes(const struct blkfront *bf);
/* Queues one request (not yet visible to the backend: blkfront_kick).
 * 0, -EAGAIN when the queue is full, -EINVAL for a request that cannot be
 * expressed (the backend would refuse it anyway), -ENOSPC out of grants. */
int blkfront_submit(struct blkfront *bf, unsigned q, const struct blkfront_io *io);
/* Publishes queued requests; one doorbell at most, only when the backend
 * asked for it (event index). */
void blkfront_kick(struct blkfront *bf, unsigned q);
/* Reaps up to max completions (grants revoked); -EPROTO once the backend
 * broke the ring. */
int blkfront_poll(struct blkfront *bf, unsigned q, struct blkfront_cpl *out, unsigned max);
/* Before sleeping on the event channel: arms rsp_event; >0 if responses
 * arrived meanwhile (poll again instead of sleeping). */
int blkfront_arm(struct blkfront *bf, unsigned q);
unsigned blkfront_in_flight(const struct blkfront *bf, unsigned q);
/* The backend went away: reset every ring (same pages, grants, ports) and
 * republish all requests in flight (with their grants).  Call with no backend
 * attached to the rings; then reconnect (blkfront_bus_reconnect) or attach
 * the new backend, and kick. */
void blkfront_recover(struct blkfront *bf);

/* ---- the XenbusState handshake (store client of the core) ---- */

/* Waits for the backend's InitWait, reads its features, sets up want_queues /
 * want_order (reduced to what it offers) and connects.  0 or -errno. */
int blkfront_bus_connect(struct blkfront *bf, struct pvfront_xs *xs,
			 const struct pvfront_dev *dev, unsigned want_queues, unsigned want_order);
/* After a backend restart (its state went back to InitWait): recover the
 * rings, republish the keys, wait for Connected, kick every queue. */
int blkfront_bus_reconnect(struct blkfront *bf, struct pvfront_xs *xs,
			   const struct pvfront_dev *dev);
/* Reads one backend key as a number (0 or -errno). */
int blkfront_bus_read_backend(struct pvfront_xs *xs, const struct pvfront_dev *dev,
			      const char *key, uint64_t max, uint64_t *out);

#endif
