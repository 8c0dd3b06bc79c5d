/* SPDX-License-Identifier: MIT */
/* The libaio engine: io_submit/io_getevents with eventfd notification.  Linux
 * AIO is only asynchronous with O_DIRECT (cache=none); with the page cache it
 * still works but io_submit may block.  Flush uses IOCB_CMD_FDSYNC (kernel
 * >= 4.18); when the kernel refuses it, and for discard/write-zeroes (no aio
 * opcode), the request runs inline in submit and its completion is queued
 * locally, so callers see one completion path. */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <libaio.h>

struct aio_slot {
	struct iocb cb;
	struct blk_req req;
	int64_t result;          /* for inline completions */
};

struct blk_engine {
	io_context_t ctx;
	int fd, efd;
	enum blk_cache cache;
	unsigned depth, in_flight;
	bool no_fdsync;
	struct aio_slot *slots;
	unsigned *free_list, free_n;
	unsigned *local, local_n;    /* slots completed inline, not yet reaped */
	struct io_event *events;
};

static void aio_close(struct blk_engine *e);

static int aio_open(struct blk_engine **out, int fd, const struct blk_engine_params *p)
{
	struct blk_engine *e = calloc(1, sizeof(*e));
	int rc = -ENOMEM;

	if (!e)
		return -ENOMEM;
	e->fd = fd;
	e->cache = p->cache;
	e->depth = p->queue_depth ? p->queue_depth : 128;
	e->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	e->slots = calloc(e->depth, sizeof(*e->slots));
	e->free_list = calloc(e->depth, sizeof(unsigned));
	e->local = calloc(e->depth, sizeof(unsigned));
	e->events = calloc(e->depth, sizeof(struct io_event));
	if (e->efd < 0 || !e->slots || !e->free_list || !e->local || !e->events)
		goto fail;
	for (unsigned i = 0; i < e->depth; i++)
		e->free_list[i] = e->depth - 1 - i;
	e->free_n = e->depth;
	if ((rc = io_setup((int)e->depth, &e->ctx)) < 0) {
		e->ctx = 0;
		goto fail;
	}
	*out = e;
	return 0;
fail:
	aio_close(e);
	return rc;
}

static void aio_complete_inline(struct blk_engine *e, unsigned idx, int64_t result)
{
	e->slots[idx].result = result;
	e->local[e->local_n++] = idx;
	blk_eventfd_signal(e->efd);
}

/* Prepares the iocb; returns false when the request must run inline. */
static bool aio_prep(struct blk_engine *e, struct aio_slot *s)
{
	const struct blk_req *r = &s->req;

	switch (r->op) {
	case BLK_OP_READ:
		io_prep_preadv(&s->cb, e->fd, r->iov, r->iovcnt, (long long)r->offset);
		break;
	case BLK_OP_WRITE:
		io_prep_pwritev2(&s->cb, e->fd, r->iov, r->iovcnt, (long long)r->offset,
				 (r->flags & BLK_REQ_FUA) && e->cache != BLK_CACHE_UNSAFE ? RWF_DSYNC : 0);
		break;
	case BLK_OP_FLUSH:
		if (e->no_fdsync || e->cache == BLK_CACHE_UNSAFE)
			return false;
		io_prep_fdsync(&s->cb, e->fd);
		break;
	default:
		return false;
	}
	io_set_eventfd(&s->cb, e->efd);
	return true;
}

static int aio_submit(struct blk_engine *e, const struct blk_req *reqs, unsigned n)
{
	struct iocb *cbs[64];
	unsigned accepted = 0;

	while (accepted < n && e->free_n) {
		unsigned nb = 0, first = accepted;
		/* Gather a batch of kernel-submittable requests; inline ones run now. */
		while (accepted < n && e->free_n && nb < 64) {
			unsigned idx = e->free_list[--e->free_n];
			struct aio_slot *s = &e->slots[idx];
			s->req = reqs[accepted++];
			e->in_flight++;
			if (aio_prep(e, s)) {
				s->cb.data = (void *)(uintptr_t)idx;
				cbs[nb++] = &s->cb;
			} else {
				aio_complete_inline(e, idx, blk_exec_sync(e->fd, &s->req, e->cache));
			}
		}
		(void)first;
		unsigned done = 0;
		while (done < nb) {
			int rc = io_submit(e->ctx, (long)(nb - done), cbs + done);
			if (rc == -EINTR || rc == -EAGAIN)
				continue;
			if (rc > 0) {
				done += (unsigned)rc;
				continue;
			}
			/* cbs[done] was refused: run it inline (FDSYNC unsupported) or fail it. */
			unsigned idx = (unsigned)(uintptr_t)cbs[done]->data;
			struct aio_slot *s = &e->slots[idx];
			if (s->req.op == BLK_OP_FLUSH && rc == -EINVAL) {
				e->no_fdsync = true;
				aio_complete_inline(e, idx, blk_exec_sync(e->fd, &s->req, e->cache));
			} else {
				aio_complete_inline(e, idx, rc ? rc : -EIO);
			}
			done++;
		}
	}
	return (int)accepted;
}

static int aio_reap(struct blk_engine *e, struct blk_completion *out, unsigned max, bool wait)
{
	unsigned n = 0;

	while (n < max && e->local_n) {
		unsigned idx = e->local[--e->local_n];
		out[n].cookie = e->slots[idx].req.cookie;
		out[n].result = e->slots[idx].result;
		e->free_list[e->free_n++] = idx;
		e->in_flight--;
		n++;
	}
	if (n == max || !e->in_flight)
		return (int)n;
	unsigned want = max - n;
	if (want > e->depth)
		want = e->depth;
	int got;
	do {
		got = io_getevents(e->ctx, (wait && !n) ? 1 : 0, (long)want, e->events, NULL);
	} while (got == -EINTR);
	if (got < 0)
		return n ? (int)n : got;
	for (int i = 0; i < got; i++) {
		unsigned idx = (unsigned)(uintptr_t)e->events[i].data;
		struct aio_slot *s = &e->slots[idx];
		long res = (long)e->events[i].res;
		if (s->req.op == BLK_OP_READ || s->req.op == BLK_OP_WRITE) {
			uint64_t want_bytes = blk_iov_bytes(s->req.iov, s->req.iovcnt);
			if (res >= 0 && (uint64_t)res < want_bytes)
				res = (long)blk_exec_sync(e->fd, &s->req, e->cache);
		} else if (res > 0) {
			res = 0;
		}
		out[n].cookie = s->req.cookie;
		out[n].result = res;
		e->free_list[e->free_n++] = idx;
		e->in_flight--;
		n++;
	}
	return (int)n;
}

static int aio_event_fd(struct blk_engine *e) { return e->efd; }
static unsigned aio_in_flight(struct blk_engine *e) { return e->in_flight; }

static void aio_close(struct blk_engine *e)
{
	struct blk_completion c[16];

	while (e->ctx && e->in_flight && aio_reap(e, c, 16, true) > 0)
		;
	if (e->ctx)
		io_destroy(e->ctx);
	if (e->efd >= 0)
		close(e->efd);
	free(e->slots);
	free(e->free_list);
	free(e->local);
	free(e->events);
	free(e);
}

const struct blk_engine_ops blk_engine_aio_ops = {
	.name = "libaio",
	.open = aio_open,
	.submit = aio_submit,
	.reap = aio_reap,
	.event_fd = aio_event_fd,
	.in_flight = aio_in_flight,
	.close = aio_close,
};
