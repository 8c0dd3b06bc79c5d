/* SPDX-License-Identifier: MIT */
/*
 * The generic shared ring between a frontend (guest) and a backend (host):
 * Xen's ring.h idea, written for pvkvm.  Layout and protocol: docs/ring.md.
 *
 * Shared memory (one or 2^order contiguous pages, granted by the frontend):
 *
 *   offset   0  req_prod   written by the frontend, read by the backend
 *   offset  64  req_event  written by the backend,  read by the frontend
 *   offset 128  rsp_prod   written by the backend,  read by the frontend
 *   offset 192  rsp_event  written by the frontend, read by the backend
 *   offset 256  entries[nr_ents], each a union of one request and one response
 *
 * Each index sits on its own 64-byte cache line so the two sides never write
 * the same line.  nr_ents is the largest power of two that fits in the ring's
 * bytes (ring_nr_ents()).  Indexes are free-running 32-bit counters; an
 * entry's slot is index & (nr_ents - 1), and all comparisons are done on
 * differences, so wrap-around at 2^32 needs no special case.
 *
 * A request and its response share a slot: the backend writes the response
 * for a request into the slot at rsp_prod, which is never ahead of the
 * requests it has consumed.  The frontend may reuse a slot once it consumed
 * the response written there.
 *
 * The peer is not trusted: ring_back_pending_reqs() and
 * ring_front_pending_rsps() return RING_ERR_OVERFLOW when the peer's producer
 * index is outside what it could legally have written.  A backend then stops
 * using the ring (disconnects the device); nothing it did so far touched
 * memory outside the ring.  A peer that writes a bad event index only loses
 * its own notifications.
 *
 * Three worlds: userspace and the freestanding mini-guest (GCC/Clang __atomic
 * builtins, no libc), and Linux kernel modules (__KERNEL__: smp_* barriers,
 * READ_ONCE/WRITE_ONCE).
 */
#ifndef PVKVM_RING_H
#define PVKVM_RING_H

#include "abi.h"

#ifdef __KERNEL__
#include <linux/compiler.h>
#include <asm/barrier.h>
/* Publish: everything written before becomes visible no later than *p. */
#define RING_STORE_RELEASE(p, v) do { smp_wmb(); WRITE_ONCE(*(p), (v)); } while (0)
#define RING_LOAD_ACQUIRE(p) ring_load_acquire_(p)
static inline uint32_t ring_load_acquire_(const uint32_t *p)
{
	uint32_t v = READ_ONCE(*p);

	smp_rmb();
	return v;
}
#define RING_STORE_RELAXED(p, v) WRITE_ONCE(*(p), (v))
#define RING_FENCE_FULL() smp_mb()
#define RING_COMPILER_BARRIER() barrier()
#else
#define RING_STORE_RELEASE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define RING_LOAD_ACQUIRE(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define RING_STORE_RELAXED(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define RING_FENCE_FULL() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define RING_COMPILER_BARRIER() __asm__ __volatile__("" ::: "memory")
#endif

#define RING_CACHE_LINE 64u
#define RING_HDR_BYTES 256u
#define RING_PAGE_BYTES 4096u
/* Largest ring a backend accepts: 2^4 = 16 pages ("max-ring-page-order"). */
#define RING_MAX_PAGE_ORDER 4u
/* Upper bound on nr_ents, so counts fit an int. */
#define RING_MAX_ENTS 0x40000000u
/* Returned when the peer moved its producer index further than it could. */
#define RING_ERR_OVERFLOW (-71) /* -EPROTO on Linux */

/* The shared header.  Entries follow at RING_HDR_BYTES. */
struct ring_shared {
	/* Requests [0, req_prod) are published.  Frontend writes (release)
	 * after filling the entries; backend reads (acquire) and checks it is
	 * at most nr_ents ahead of its rsp_prod_pvt and not behind req_cons. */
	uint32_t req_prod;
	uint8_t pad0[RING_CACHE_LINE - 4];
	/* Backend writes: "notify me when req_prod passes this index".  The
	 * frontend reads it only to decide whether to send an event. */
	uint32_t req_event;
	uint8_t pad1[RING_CACHE_LINE - 4];
	/* Responses [0, rsp_prod) are published.  Backend writes (release);
	 * frontend reads (acquire) and checks it is not beyond the requests it
	 * published nor behind the responses it consumed. */
	uint32_t rsp_prod;
	uint8_t pad2[RING_CACHE_LINE - 4];
	/* Frontend writes: "notify me when rsp_prod passes this index". */
	uint32_t rsp_event;
	uint8_t pad3[RING_CACHE_LINE - 4];
};

PVKVM_ASSERT_SIZE(struct ring_shared, 256);
PVKVM_ASSERT_OFFSET(struct ring_shared, req_prod, 0);
PVKVM_ASSERT_OFFSET(struct ring_shared, req_event, 64);
PVKVM_ASSERT_OFFSET(struct ring_shared, rsp_prod, 128);
PVKVM_ASSERT_OFFSET(struct ring_shared, rsp_event, 192);

/* Frontend private state (never shared). */
struct ring_front {
	struct ring_shared *sh;
	uint32_t nr_ents;      /* power of two */
	uint32_t req_prod_pvt; /* next request slot to fill */
	uint32_t req_pushed;   /* req_prod as last published by us */
	uint32_t rsp_cons;     /* next response to consume */
};

/* Backend private state (never shared). */
struct ring_back {
	struct ring_shared *sh;
	uint32_t nr_ents;      /* power of two */
	uint32_t req_cons;     /* next request to consume */
	uint32_t rsp_prod_pvt; /* next response slot to fill */
	uint32_t rsp_pushed;   /* rsp_prod as last published by us */
};

/* Number of entries of entry_bytes that a ring of ring_bytes (header
 * included) holds: the largest power of two that fits, 0 if none. */
static inline uint32_t ring_nr_ents(size_t ring_bytes, size_t entry_bytes)
{
	size_t fit, n = 1;

	if (entry_bytes == 0 || ring_bytes < RING_HDR_BYTES + entry_bytes)
		return 0;
	fit = (ring_bytes - RING_HDR_BYTES) / entry_bytes;
	while (n * 2 <= fit && n < RING_MAX_ENTS)
		n *= 2;
	return (uint32_t)n;
}

/* Frontend, once, before granting the ring: all indexes start at `start`
 * (0 normally; tests use values near 2^32).  Entries are not touched. */
static inline void ring_shared_init(struct ring_shared *sh, uint32_t start)
{
	RING_STORE_RELAXED(&sh->req_prod, start);
	RING_STORE_RELAXED(&sh->rsp_prod, start);
	RING_STORE_RELAXED(&sh->req_event, start + 1);
	RING_STORE_RELEASE(&sh->rsp_event, start + 1);
}

static inline void ring_front_init(struct ring_front *f, struct ring_shared *sh,
				   uint32_t nr_ents, uint32_t start)
{
	f->sh = sh;
	f->nr_ents = nr_ents;
	f->req_prod_pvt = start;
	f->req_pushed = start;
	f->rsp_cons = start;
}

/* Backend attach: the starting point is read once from the (untrusted)
 * shared rsp_prod; any value is acceptable because every later check is
 * relative to it.  After a backend restart this replays the requests the
 * previous instance took but never answered. */
static inline void ring_back_attach(struct ring_back *b, struct ring_shared *sh,
				    uint32_t nr_ents)
{
	uint32_t start = RING_LOAD_ACQUIRE(&sh->rsp_prod);

	b->sh = sh;
	b->nr_ents = nr_ents;
	b->req_cons = start;
	b->rsp_prod_pvt = start;
	b->rsp_pushed = start;
}

static inline void *ring_entry_(struct ring_shared *sh, uint32_t nr_ents,
				size_t entry_bytes, uint32_t idx)
{
	return (char *)sh + RING_HDR_BYTES + (size_t)(idx & (nr_ents - 1)) * entry_bytes;
}

/* True when the event index `event` lies in the just-published range
 * (old, new]: the peer asked to be woken at an index we just passed. */
static inline int ring_need_notify_(uint32_t old, uint32_t new_idx, uint32_t event)
{
	return (uint32_t)(new_idx - event) < (uint32_t)(new_idx - old);
}

/* ---- frontend: produce requests ---- */

/* Request slots the frontend may fill now (0 = ring full). */
static inline uint32_t ring_front_free_reqs(const struct ring_front *f)
{
	return f->nr_ents - (f->req_prod_pvt - f->rsp_cons);
}

/* Publish the filled requests; returns the previous req_prod for
 * ring_front_need_notify().  Split from it only so tests can interleave. */
static inline uint32_t ring_front_publish_reqs(struct ring_front *f)
{
	uint32_t old = f->req_pushed;

	RING_STORE_RELEASE(&f->sh->req_prod, f->req_prod_pvt);
	f->req_pushed = f->req_prod_pvt;
	return old;
}

/* The full fence orders our req_prod store before the req_event load; the
 * backend's ring_back_final_check_reqs() orders the other way round, so at
 * least one side sees the other's write: no lost wake-up. */
static inline int ring_front_need_notify(const struct ring_front *f, uint32_t old)
{
	RING_FENCE_FULL();
	return ring_need_notify_(old, f->req_pushed, RING_LOAD_ACQUIRE(&f->sh->req_event));
}

/* Publish requests; returns 1 when the backend must be sent an event. */
static inline int ring_front_push_reqs(struct ring_front *f)
{
	return ring_front_need_notify(f, ring_front_publish_reqs(f));
}

/* ---- frontend: consume responses ---- */

/* Responses published and not yet consumed, or RING_ERR_OVERFLOW when the
 * backend's rsp_prod is beyond the requests we published or behind what we
 * consumed.  Entries below the returned count are safe to read. */
static inline int ring_front_pending_rsps(const struct ring_front *f)
{
	uint32_t prod = RING_LOAD_ACQUIRE(&f->sh->rsp_prod);
	uint32_t avail = prod - f->rsp_cons;

	if (avail > f->req_pushed - f->rsp_cons)
		return RING_ERR_OVERFLOW;
	return (int)avail;
}

/* Ask for an event when the next response is published. */
static inline void ring_front_arm_event(struct ring_front *f)
{
	RING_STORE_RELAXED(&f->sh->rsp_event, f->rsp_cons + 1);
	RING_FENCE_FULL();
}

/* Before sleeping: pending responses; when none, arms the event index and
 * re-checks, so a response published meanwhile is seen (returns > 0) or will
 * send an event.  0 means "sleep until the event". */
static inline int ring_front_final_check_rsps(struct ring_front *f)
{
	int n = ring_front_pending_rsps(f);

	if (n != 0)
		return n;
	ring_front_arm_event(f);
	return ring_front_pending_rsps(f);
}

/* ---- backend: consume requests ---- */

/* Requests published and not yet consumed, or RING_ERR_OVERFLOW when the
 * frontend's req_prod is more than nr_ents ahead of our responses (it would
 * overwrite requests in flight) or behind what we consumed. */
static inline int ring_back_pending_reqs(const struct ring_back *b)
{
	uint32_t prod = RING_LOAD_ACQUIRE(&b->sh->req_prod);
	uint32_t ahead = prod - b->rsp_prod_pvt;
	uint32_t consumed = b->req_cons - b->rsp_prod_pvt;

	if (ahead > b->nr_ents || ahead < consumed)
		return RING_ERR_OVERFLOW;
	return (int)(ahead - consumed);
}

static inline void ring_back_arm_event(struct ring_back *b)
{
	RING_STORE_RELAXED(&b->sh->req_event, b->req_cons + 1);
	RING_FENCE_FULL();
}

/* Same contract as ring_front_final_check_rsps(), for requests. */
static inline int ring_back_final_check_reqs(struct ring_back *b)
{
	int n = ring_back_pending_reqs(b);

	if (n != 0)
		return n;
	ring_back_arm_event(b);
	return ring_back_pending_reqs(b);
}

/* ---- backend: produce responses ---- */

static inline uint32_t ring_back_publish_rsps(struct ring_back *b)
{
	uint32_t old = b->rsp_pushed;

	RING_STORE_RELEASE(&b->sh->rsp_prod, b->rsp_prod_pvt);
	b->rsp_pushed = b->rsp_prod_pvt;
	return old;
}

static inline int ring_back_need_notify(const struct ring_back *b, uint32_t old)
{
	RING_FENCE_FULL();
	return ring_need_notify_(old, b->rsp_pushed, RING_LOAD_ACQUIRE(&b->sh->rsp_event));
}

/* Publish responses; returns 1 when the frontend must be sent an event. */
static inline int ring_back_push_rsps(struct ring_back *b)
{
	return ring_back_need_notify(b, ring_back_publish_rsps(b));
}

/*
 * PVKVM_RING_DEFINE(name, req_t, rsp_t) makes the typed entry accessors:
 *
 *   union name_ring_entry                     one slot
 *   name_ring_nr_ents(ring_bytes)             entries in a ring of that size
 *   name_front_req(f)                         slot to fill at req_prod_pvt
 *                                             (caller then does f->req_prod_pvt++)
 *   name_front_take_rsp(f, rsp_t *dst)        copy the response at rsp_cons, advance
 *   name_back_take_req(b, req_t *dst)         copy the request at req_cons, advance
 *   name_back_rsp(b)                          slot to fill at rsp_prod_pvt
 *                                             (caller then does b->rsp_prod_pvt++)
 *
 * Incoming entries are copied out exactly once (the peer may rewrite the
 * slot at any time); validate and use only the copy.  Use the counts from
 * the pending/final-check functions as the bound on take calls, and
 * ring_front_free_reqs() as the bound on front_req calls.  End the macro
 * with a semicolon.
 */
#define PVKVM_RING_DEFINE(name, req_t, rsp_t)                                          \
	union name##_ring_entry {                                                      \
		req_t req;                                                             \
		rsp_t rsp;                                                             \
	};                                                                             \
	static inline uint32_t name##_ring_nr_ents(size_t ring_bytes)                  \
	{                                                                              \
		return ring_nr_ents(ring_bytes, sizeof(union name##_ring_entry));      \
	}                                                                              \
	static inline union name##_ring_entry *name##_ring_slot_(                      \
		struct ring_shared *sh, uint32_t nr_ents, uint32_t idx)                \
	{                                                                              \
		return (union name##_ring_entry *)ring_entry_(                         \
			sh, nr_ents, sizeof(union name##_ring_entry), idx);            \
	}                                                                              \
	static inline req_t *name##_front_req(struct ring_front *f)                    \
	{                                                                              \
		return &name##_ring_slot_(f->sh, f->nr_ents, f->req_prod_pvt)->req;    \
	}                                                                              \
	static inline void name##_front_take_rsp(struct ring_front *f, rsp_t *dst)     \
	{                                                                              \
		*dst = name##_ring_slot_(f->sh, f->nr_ents, f->rsp_cons)->rsp;         \
		RING_COMPILER_BARRIER();                                               \
		f->rsp_cons++;                                                         \
	}                                                                              \
	static inline void name##_back_take_req(struct ring_back *b, req_t *dst)       \
	{                                                                              \
		*dst = name##_ring_slot_(b->sh, b->nr_ents, b->req_cons)->req;         \
		RING_COMPILER_BARRIER();                                               \
		b->req_cons++;                                                         \
	}                                                                              \
	static inline rsp_t *name##_back_rsp(struct ring_back *b)                      \
	{                                                                              \
		return &name##_ring_slot_(b->sh, b->nr_ents, b->rsp_prod_pvt)->rsp;    \
	}                                                                              \
	typedef union name##_ring_entry name##_ring_entry_t

#endif
