/* SPDX-License-Identifier: MIT */
/* The io_uring engine: one ring per engine, the image fd registered as fixed
 * file 0, optionally one registered buffer (the guest memory mapping) used
 * with READ/WRITE_FIXED.  A submit call is one io_uring_submit (one syscall
 * for the whole batch); reap drains the CQ without a syscall when completions
 * are already there. */
#include "engine.h"
#include "pv_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <sys/eventfd.h>
#include <liburing.h>

struct uring_slot {
	struct blk_req req;
	bool fallback_done;
};

struct blk_engine {
	struct io_uring ring;
	int fd, efd;
	enum blk_cache cache;
	unsigned depth, in_flight;
	bool fixed_buf;
	char *buf_base;
	uint64_t buf_len;
	struct uring_slot *slots;
	unsigned *free_list, free_n;
};

static void uring_close(struct blk_engine *e);

static int uring_open(struct blk_engine **out, int fd, const struct blk_engine_params *p)
{
	struct blk_engine *e = calloc(1, sizeof(*e));
	int rc;

	if (!e)
		return -ENOMEM;
	e->fd = fd;
	e->efd = -1;
	e->cache = p->cache;
	e->depth = p->queue_depth ? p->queue_depth : 128;
	e->slots = calloc(e->depth, sizeof(*e->slots));
	e->free_list = calloc(e->depth, sizeof(unsigned));
	if (!e->slots || !e->free_list) {
		free(e->slots);
		free(e->free_list);
		free(e);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < e->depth; i++)
		e->free_list[i] = e->depth - 1 - i;
	e->free_n = e->depth;
	rc = io_uring_queue_init(e->depth, &e->ring, 0);
	if (rc < 0) {
		free(e->slots);
		free(e->free_list);
		free(e);
		return rc;
	}
	e->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->efd < 0 || (rc = io_uring_register_eventfd(&e->ring, e->efd)) < 0)
		goto fail;
	if ((rc = io_uring_register_files(&e->ring, &fd, 1)) < 0)
		goto fail;
	if (p->buf_base && p->buf_len) {
		struct iovec v = { p->buf_base, p->buf_len };
		/* Pins the pages once instead of per request; skipped silently when
		 * the kernel refuses (RLIMIT_MEMLOCK, size > 1 GiB). */
		int r = io_uring_register_buffers(&e->ring, &v, 1);
		if (r == 0) {
			e->fixed_buf = true;
			e->buf_base = p->buf_base;
			e->buf_len = p->buf_len;
		} else {
			pv_log_warn("blk", "io_uring: cannot register %llu-byte buffer (%s); using plain reads/writes",
				    (unsigned long long)p->buf_len, strerror(-r));
		}
	}
	*out = e;
	return 0;
fail:
	rc = rc < 0 ? rc : -errno;
	uring_close(e);
	return rc;
}

static bool uring_fixed_ok(struct blk_engine *e, const struct blk_req *r)
{
	if (!e->fixed_buf || r->iovcnt != 1)
		return false;
	char *b = r->iov[0].iov_base;
	return b >= e->buf_base && (uint64_t)(b - e->buf_base) + r->iov[0].iov_len <= e->buf_len;
}

static void uring_prep(struct blk_engine *e, struct io_uring_sqe *sqe, const struct blk_req *r)
{
	switch (r->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		if (uring_fixed_ok(e, r)) {
			if (r->op == BLK_OP_READ)
				io_uring_prep_read_fixed(sqe, 0, r->iov[0].iov_base,
							 (unsigned)r->iov[0].iov_len, r->offset, 0);
			else
				io_uring_prep_write_fixed(sqe, 0, r->iov[0].iov_base,
							  (unsigned)r->iov[0].iov_len, r->offset, 0);
		} else if (r->op == BLK_OP_READ) {
			io_uring_prep_readv(sqe, 0, r->iov, (unsigned)r->iovcnt, r->offset);
		} else {
			io_uring_prep_writev(sqe, 0, r->iov, (unsigned)r->iovcnt, r->offset);
		}
		if (r->op == BLK_OP_WRITE && (r->flags & BLK_REQ_FUA) && e->cache != BLK_CACHE_UNSAFE)
			sqe->rw_flags = RWF_DSYNC;
		break;
	case BLK_OP_FLUSH:
		if (e->cache == BLK_CACHE_UNSAFE) {
			io_uring_prep_nop(sqe);
			return;
		}
		io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
		break;
	case BLK_OP_DISCARD:
		io_uring_prep_fallocate(sqe, 0, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					r->offset, r->len_bytes);
		break;
	case BLK_OP_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, 0, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
					r->offset, r->len_bytes);
		break;
	default:
		io_uring_prep_nop(sqe);
		return;
	}
	sqe->flags |= IOSQE_FIXED_FILE;
}

static int uring_submit(struct blk_engine *e, const struct blk_req *reqs, unsigned n)
{
	unsigned i;
	int rc;

	for (i = 0; i < n && e->free_n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);
		if (!sqe)
			break;
		unsigned idx = e->free_list[--e->free_n];
		e->slots[idx].req = reqs[i];
		uring_prep(e, sqe, &reqs[i]);
		io_uring_sqe_set_data64(sqe, idx);
		e->in_flight++;
	}
	if (!i)
		return 0;
	do {
		rc = io_uring_submit(&e->ring);
	} while (rc == -EINTR);
	return rc < 0 ? rc : (int)i;
}

/* Fixes up what io_uring reports but the contract does not allow. */
static int64_t uring_result(struct blk_engine *e, struct uring_slot *s, int res)
{
	const struct blk_req *r = &s->req;

	if (r->op >= BLK_OP_COUNT)
		return -EINVAL;
	if (r->op == BLK_OP_DISCARD && res == -EOPNOTSUPP)
		return 0;
	if (r->op == BLK_OP_WRITE_ZEROES && (res == -EOPNOTSUPP || res == -EINVAL))
		return blk_exec_write_zeroes(e->fd, r->offset, r->len_bytes);
	if ((r->op == BLK_OP_READ || r->op == BLK_OP_WRITE) && res >= 0 &&
	    (uint64_t)res < blk_iov_bytes(r->iov, r->iovcnt))
		return blk_exec_sync(e->fd, r, e->cache); /* short transfer: redo it whole */
	if (r->op == BLK_OP_FLUSH || r->op == BLK_OP_DISCARD || r->op == BLK_OP_WRITE_ZEROES)
		return res < 0 ? res : 0;
	return res;
}

static int uring_reap(struct blk_engine *e, struct blk_completion *out, unsigned max, bool wait)
{
	unsigned n = 0;
	struct io_uring_cqe *cqe;

	while (n < max) {
		int rc = io_uring_peek_cqe(&e->ring, &cqe);
		if (rc == -EAGAIN) {
			if (!wait || n || !e->in_flight)
				break;
			rc = io_uring_wait_cqe(&e->ring, &cqe);
			if (rc == -EINTR)
				continue;
		}
		if (rc < 0)
			return n ? (int)n : rc;
		unsigned idx = (unsigned)io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&e->ring, cqe);
		out[n].cookie = e->slots[idx].req.cookie;
		out[n].result = uring_result(e, &e->slots[idx], res);
		n++;
		e->free_list[e->free_n++] = idx;
		e->in_flight--;
	}
	return (int)n;
}

static int uring_event_fd(struct blk_engine *e) { return e->efd; }
static unsigned uring_in_flight(struct blk_engine *e) { return e->in_flight; }

static void uring_close(struct blk_engine *e)
{
	struct blk_completion c[16];

	while (e->in_flight && uring_reap(e, c, 16, true) > 0)
		;
	io_uring_queue_exit(&e->ring);
	if (e->efd >= 0)
		close(e->efd);
	free(e->slots);
	free(e->free_list);
	free(e);
}

const struct blk_engine_ops blk_engine_uring_ops = {
	.name = "io_uring",
	.open = uring_open,
	.submit = uring_submit,
	.reap = uring_reap,
	.event_fd = uring_event_fd,
	.in_flight = uring_in_flight,
	.close = uring_close,
};
