/* SPDX-License-Identifier: MIT */
/* Request flow through an image: validate, split (qcow2), hand to the engine,
 * merge completions.  A guest request ("parent") completes when all its
 * engine sub-requests have; requests answered without the engine (invalid,
 * zero/backing reads, qcow2 metadata ops) complete through the done ring and
 * a poke of the engine's eventfd so a poller wakes up. */
#include "image.h"
#include "engine.h"
#include "pv_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>

#define IMG_MAX_IOV 1024

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void blk_iov_copy_from(const struct iovec *iov, int cnt, uint64_t rel, void *dst, uint64_t len)
{
	char *d = dst;
	for (int i = 0; i < cnt && len; i++) {
		if (rel >= iov[i].iov_len) {
			rel -= iov[i].iov_len;
			continue;
		}
		uint64_t n = iov[i].iov_len - rel;
		if (n > len)
			n = len;
		memcpy(d, (char *)iov[i].iov_base + rel, n);
		d += n;
		len -= n;
		rel = 0;
	}
}

void blk_iov_copy_to(const struct iovec *iov, int cnt, uint64_t rel, const void *src, uint64_t len)
{
	const char *s = src;
	for (int i = 0; i < cnt && len; i++) {
		if (rel >= iov[i].iov_len) {
			rel -= iov[i].iov_len;
			continue;
		}
		uint64_t n = iov[i].iov_len - rel;
		if (n > len)
			n = len;
		if (s)
			memcpy((char *)iov[i].iov_base + rel, s, n);
		else
			memset((char *)iov[i].iov_base + rel, 0, n);
		if (s)
			s += n;
		len -= n;
		rel = 0;
	}
}

void blk_iov_zero(const struct iovec *iov, int cnt, uint64_t rel, uint64_t len)
{
	blk_iov_copy_to(iov, cnt, rel, NULL, len);
}

static void backlog_drain(struct blk_image *img)
{
	if (!img->backlog_ready)
		return;
	int n = img->ops->submit(img->eng, img->backlog, img->backlog_ready);
	if (n <= 0)
		return;
	memmove(img->backlog, img->backlog + n, (img->backlog_n - (unsigned)n) * sizeof(*img->backlog));
	img->backlog_n -= (unsigned)n;
	img->backlog_ready -= (unsigned)n;
}

static int backlog_push(struct blk_image *img, const struct blk_req *r)
{
	if (img->backlog_n == img->backlog_cap) {
		unsigned cap = img->backlog_cap ? img->backlog_cap * 2 : 64;
		struct blk_req *b = realloc(img->backlog, cap * sizeof(*b));
		if (!b)
			return -ENOMEM;
		img->backlog = b;
		img->backlog_cap = cap;
	}
	img->backlog[img->backlog_n++] = *r;
	return 0;
}

/* Slices [rel, rel+len) of iov into r's iovec storage; returns the index. */
static int iov_slice(struct img_req *r, const struct iovec *iov, int cnt, uint64_t rel,
		     uint64_t len, int *out_cnt)
{
	int start = (int)r->iov_n;
	for (int i = 0; i < cnt && len; i++) {
		if (rel >= iov[i].iov_len) {
			rel -= iov[i].iov_len;
			continue;
		}
		if (r->iov_n == r->iov_cap) {
			unsigned cap = r->iov_cap ? r->iov_cap * 2 : 16;
			struct iovec *v = realloc(r->iov, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			r->iov = v;
			r->iov_cap = cap;
		}
		uint64_t n = iov[i].iov_len - rel;
		if (n > len)
			n = len;
		r->iov[r->iov_n++] = (struct iovec){ (char *)iov[i].iov_base + rel, n };
		len -= n;
		rel = 0;
	}
	*out_cnt = (int)r->iov_n - start;
	return start;
}

int blk_image_emit(struct blk_image *img, struct img_req *r, const struct blk_req *orig,
		   uint64_t rel, uint64_t host, uint64_t len)
{
	int cnt, start = iov_slice(r, orig->iov, orig->iovcnt, rel, len, &cnt);
	if (start < 0)
		return start;
	/* r->iov may move on later slices: store the index, fix up in flush_subs. */
	struct blk_req sub = { .op = orig->op, .flags = orig->flags, .offset = host,
			       .iov = (const struct iovec *)(uintptr_t)start, .iovcnt = cnt,
			       .cookie = r };
	int rc = backlog_push(img, &sub);
	if (!rc)
		r->pending++;
	return rc;
}

static void complete_parent(struct blk_image *img, struct img_req *r)
{
	img->done[(img->done_head + img->done_n) % img->depth] = (int)(r - img->reqs);
	img->done_n++;
}

static int validate(const struct blk_image *img, const struct blk_req *q, uint64_t *len)
{
	uint64_t ss = img->sector_size;

	if (q->op >= BLK_OP_COUNT)
		return -EINVAL;
	if (q->op == BLK_OP_FLUSH) {
		*len = 0;
		return 0;
	}
	if (img->readonly && q->op != BLK_OP_READ)
		return -EROFS;
	if (q->op == BLK_OP_READ || q->op == BLK_OP_WRITE) {
		if (q->iovcnt <= 0 || q->iovcnt > IMG_MAX_IOV || !q->iov)
			return -EINVAL;
		*len = 0;
		for (int i = 0; i < q->iovcnt; i++) {
			/* O_DIRECT needs sector-multiple segments at 512-aligned addresses. */
			if (img->cache == BLK_CACHE_NONE &&
			    (((uintptr_t)q->iov[i].iov_base | q->iov[i].iov_len) & 511))
				return -EINVAL;
			*len += q->iov[i].iov_len;
		}
	} else {
		*len = q->len_bytes;
	}
	if (!*len || q->offset % ss || *len % ss)
		return -EINVAL;
	if (q->offset > img->size || *len > img->size - q->offset)
		return -ERANGE;
	return 0;
}

static int engine_collect(struct blk_image *img, bool wait);
static void parent_done(struct blk_image *img, struct img_req *r);

/* Also before a metadata flush: then a cluster freed by the flush cannot
 * still receive an old in-flight write, and every finished allocation has
 * its L2 entry. */
void blk_image_drain(struct blk_image *img)
{
	while (img->backlog_ready || img->ops->in_flight(img->eng) ||
	       (img->q && qcow2_cow_outstanding(img->q)))
		if (engine_collect(img, true) < 0)
			break;
}

int blk_image_wait_some(struct blk_image *img)
{
	if (!img->backlog_ready && !img->ops->in_flight(img->eng) &&
	    !(img->q && qcow2_cow_outstanding(img->q)))
		return -EIO; /* nothing that could make progress */
	return engine_collect(img, true);
}

/* Routes one validated request; returns 0 or -errno (the request's result). */
static int dispatch(struct blk_image *img, struct img_req *r, const struct blk_req *q, uint64_t len)
{
	if (!img->q) {
		struct blk_req sub = *q;
		sub.cookie = r;
		sub.iov = NULL; /* raw: use the caller's iovec as is, see flush_subs */
		r->pending++;
		int start, cnt;
		if (q->op == BLK_OP_READ || q->op == BLK_OP_WRITE) {
			start = iov_slice(r, q->iov, q->iovcnt, 0, len, &cnt);
			if (start < 0)
				return start;
			sub.iov = (const struct iovec *)(uintptr_t)start;
			sub.iovcnt = cnt;
		}
		return backlog_push(img, &sub);
	}
	switch (q->op) {
	case BLK_OP_READ:
		return qcow2_read(img->q, r, q);
	case BLK_OP_WRITE:
		return qcow2_write(img->q, r, q);
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		return qcow2_discard(img->q, q->offset, len, q->op == BLK_OP_WRITE_ZEROES);
	case BLK_OP_FLUSH:
		/* Steady state: no metadata changed, the flush is async in the engine. */
		if (qcow2_meta_dirty(img->q)) {
			blk_image_drain(img);
			int rc = qcow2_flush_meta(img->q);
			if (rc < 0)
				return rc;
			return 0;
		}
		struct blk_req sub = { .op = BLK_OP_FLUSH, .cookie = r };
		r->pending++;
		return backlog_push(img, &sub);
	}
	return -EINVAL;
}

/* Turns the index-encoded iovecs of r's new sub-requests into pointers (the
 * slice array is final now) and lets the engine take what it can. */
static void flush_subs(struct blk_image *img)
{
	/* Everything past backlog_ready belongs to the request just built. */
	for (unsigned i = img->backlog_ready; i < img->backlog_n; i++) {
		struct blk_req *s = &img->backlog[i];
		struct img_req *r = s->cookie;
		if (s->op == BLK_OP_READ || s->op == BLK_OP_WRITE)
			s->iov = r->iov + (uintptr_t)s->iov;
	}
	img->backlog_ready = img->backlog_n;
	backlog_drain(img);
}

int blk_image_submit(struct blk_image *img, const struct blk_req *reqs, unsigned n)
{
	unsigned i;
	bool local = false;

	for (i = 0; i < n && img->free_head >= 0; i++) {
		const struct blk_req *q = &reqs[i];
		struct img_req *r = &img->reqs[img->free_head];
		uint64_t len = 0;

		img->free_head = r->next_free;
		r->cookie = q->cookie;
		r->op = q->op;
		r->t0_ns = now_ns();
		r->pending = 0;
		r->iov_n = 0;
		r->alloc_n = 0;
		r->building = true;
		img->in_flight++;
		int rc = validate(img, q, &len);
		if (!rc)
			rc = dispatch(img, r, q, len);
		r->bytes = (q->op == BLK_OP_READ || q->op == BLK_OP_WRITE) ? len : 0;
		r->result = rc < 0 ? rc : (int64_t)r->bytes;
		if (rc < 0 && q->op < BLK_OP_COUNT)
			pv_log_debug("blk", "%s: %s at %llu: %s", img->path, blk_op_name(q->op),
				     (unsigned long long)q->offset, strerror(-rc));
		r->building = false;
		flush_subs(img);
		if (!r->pending) {
			/* Its sub-requests may all have finished while it was built
			 * (a drain inside qcow2_write): map its clusters now. */
			parent_done(img, r);
			local = true;
		}
	}
	if (local)
		blk_eventfd_signal(img->ops->event_fd(img->eng));
	return (int)i;
}

static void finish(struct blk_image *img, struct img_req *r, struct blk_completion *c)
{
	uint64_t dt = now_ns() - r->t0_ns;
	unsigned op = r->op < BLK_OP_COUNT ? r->op : 0;
	struct blk_op_stats *s = &img->stats.op[op];

	c->cookie = r->cookie;
	c->result = r->result;
	s->requests++;
	if (r->result < 0)
		s->errors++;
	else
		s->bytes += (uint64_t)r->result;
	s->latency_ns_total += dt;
	if (dt > s->latency_ns_max)
		s->latency_ns_max = dt;
	r->next_free = img->free_head;
	img->free_head = (int)(r - img->reqs);
	img->in_flight--;
}

/* The parent's last sub-request is done: its new clusters get their L2
 * entries (qcow2), then it completes. */
static void parent_done(struct blk_image *img, struct img_req *r)
{
	if (r->alloc_n) {
		int rc = qcow2_commit(img->q, r);
		if (rc < 0 && r->result >= 0)
			r->result = rc;
	}
	complete_parent(img, r);
}

void blk_image_sub_done(struct blk_image *img, struct img_req *r, int64_t result)
{
	if (result < 0 && r->result >= 0)
		r->result = result;
	if (--r->pending == 0 && !r->building)
		parent_done(img, r);
}

/* Collects engine completions and finished copy-on-write jobs.  With wait,
 * blocks until at least one arrives: on the engine alone or the COW workers
 * alone when only one of them has work, else on the engine's eventfd, which
 * both signal. */
static int engine_collect(struct blk_image *img, bool wait)
{
	struct blk_completion c[64];
	bool cow = img->q && qcow2_cow_outstanding(img->q);
	bool eng_busy = img->ops->in_flight(img->eng) > 0;
	bool both = wait && cow && eng_busy, cleared = false;
	int n;

	for (;;) {
		n = img->ops->reap(img->eng, c, 64, wait && !cow);
		for (int i = 0; i < n; i++)
			blk_image_sub_done(img, c[i].cookie, c[i].result < 0 ? c[i].result : 0);
		if (cow && n >= 0)
			n += qcow2_cow_collect(img->q, wait && !eng_busy);
		if (n || !both)
			break;
		struct pollfd p = { .fd = img->ops->event_fd(img->eng), .events = POLLIN };
		uint64_t v;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return -errno;
		if (read(p.fd, &v, sizeof(v)) < 0) {
			/* EAGAIN: nothing to clear; look again anyway. */
		}
		cleared = true;
	}
	/* Whoever polls the eventfd must still see what was collected here. */
	if (cleared)
		blk_eventfd_signal(img->ops->event_fd(img->eng));
	backlog_drain(img);
	return n;
}

int blk_image_reap(struct blk_image *img, struct blk_completion *out, unsigned max, bool wait)
{
	unsigned n = 0;

	if (img->backlog_n)
		backlog_drain(img);
	if (engine_collect(img, false) < 0 && !img->done_n)
		return -EIO;
	while (!img->done_n && wait && img->in_flight) {
		int rc = engine_collect(img, true);
		if (rc < 0)
			return rc;
	}
	while (n < max && img->done_n) {
		struct img_req *r = &img->reqs[img->done[img->done_head]];
		img->done_head = (img->done_head + 1) % img->depth;
		img->done_n--;
		finish(img, r, &out[n++]);
	}
	return (int)n;
}

int64_t blk_image_io(struct blk_image *img, unsigned op, uint64_t offset, void *buf,
		     uint64_t len, unsigned flags)
{
	struct iovec v = { buf, len };
	struct blk_req q = { .op = (uint8_t)op, .flags = (uint8_t)flags, .offset = offset,
			     .len_bytes = len, .iov = &v, .iovcnt = 1 };
	struct blk_completion c;
	int rc = blk_image_submit(img, &q, 1);

	if (rc != 1)
		return rc < 0 ? rc : -EBUSY;
	do {
		rc = blk_image_reap(img, &c, 1, true);
	} while (rc == 0);
	return rc < 0 ? rc : c.result;
}

int blk_image_read_sync(struct blk_image *img, uint64_t off, void *buf, uint64_t len)
{
	if (off >= img->size) {
		memset(buf, 0, len);
		return 0;
	}
	if (len > img->size - off) {
		memset((char *)buf + (img->size - off), 0, len - (img->size - off));
		len = img->size - off;
	}
	if (img->q)
		return qcow2_read_sync(img->q, off, buf, len);
	while (len) {
		ssize_t n = pread(img->fd, buf, len, (off_t)off);
		if (n < 0)
			return -errno;
		if (n == 0) {
			memset(buf, 0, len);
			break;
		}
		buf = (char *)buf + n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}
