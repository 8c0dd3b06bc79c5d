/* SPDX-License-Identifier: MIT */
/* qcow2 mapping: the L2 cache, guest→host translation for reads and writes,
 * allocation with copy-on-write, zero/discard, compressed clusters, and the
 * ordered metadata flush.
 *
 * Ordering (crash safety): data of a newly allocated cluster is written (the
 * write has completed: synchronously for partial clusters, via qcow2_commit
 * for whole ones) before its L2 entry is set in the cache; dirty L2 tables
 * reach the file only in qcow2_flush_meta, after an fdatasync that makes the
 * data and refcounts durable, and the L1 table only after another.  So after
 * a crash every on-disk reference points at a cluster that holds its data and
 * has a refcount; at worst clusters leak. */
#include "qcow2.h"
#include "engine.h"
#include "pv_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAG "qcow2"

void qcow2_l2_cache_free(struct qcow2 *q)
{
	if (!q->l2c)
		return;
	for (unsigned i = 0; i < q->l2c_n; i++)
		free(q->l2c[i].tbl);
	free(q->l2c);
	q->l2c = NULL;
}

bool qcow2_meta_dirty(const struct qcow2 *q)
{
	return q->l1_dirty || q->pending_n || q->l2_dirty;
}

/* A host range a data cluster may occupy: inside the file, not the header,
 * the L1 table or the refcount table. */
int qcow2_check_host_range(const struct qcow2 *q, uint64_t off, uint64_t len)
{
	uint64_t l1_end = q->l1_off + (uint64_t)q->l1_size * 8;
	uint64_t rt_end = q->rt_off + (uint64_t)q->rt_clusters * q->cluster_size;

	if (off < q->cluster_size || off >= q->host_end || len > q->host_end - off ||
	    (off < l1_end && off + len > q->l1_off) || (off < rt_end && off + len > q->rt_off)) {
		pv_log_err(TAG, "%s: mapping to host offset %llu is invalid (corrupt image)",
			   q->img->path, (unsigned long long)off);
		return -EIO;
	}
	return 0;
}

int qcow2_flush_meta(struct qcow2 *q)
{
	int rc;

	if (!qcow2_meta_dirty(q))
		return qcow2_sync(q);
	/* 1: data and refcounts durable before any table points at them. */
	if ((rc = qcow2_sync(q)) < 0)
		return rc;
	for (unsigned i = 0; i < q->l2c_n; i++) {
		struct qcow2_l2_slot *s = &q->l2c[i];
		if (!s->dirty)
			continue;
		if ((rc = qcow2_pwrite_all(q->fd, s->tbl, q->cluster_size, s->off)) < 0)
			return rc;
		s->dirty = false;
	}
	q->l2_dirty = false;
	if (q->l1_dirty) {
		/* 2: new L2 tables durable before L1 points at them. */
		if ((rc = qcow2_sync(q)) < 0)
			return rc;
		uint64_t *be = malloc((size_t)q->l1_size * 8);
		if (!be)
			return -ENOMEM;
		for (uint32_t i = 0; i < q->l1_size; i++)
			be[i] = qcow2_be64(q->l1[i]);
		rc = qcow2_pwrite_all(q->fd, be, (uint64_t)q->l1_size * 8, q->l1_off);
		free(be);
		if (rc < 0)
			return rc;
		q->l1_dirty = false;
	}
	if ((rc = qcow2_sync(q)) < 0)
		return rc;
	/* 3: the old references are gone from the file; now refcounts may drop. */
	return qcow2_apply_deferred_frees(q);
}

static struct qcow2_l2_slot *l2_victim(struct qcow2 *q, int *rc)
{
	struct qcow2_l2_slot *v = &q->l2c[0];
	*rc = 0;
	for (unsigned i = 0; i < q->l2c_n; i++) {
		if (!q->l2c[i].off)
			return &q->l2c[i];
		if (q->l2c[i].lru < v->lru)
			v = &q->l2c[i];
	}
	if (v->dirty)
		*rc = qcow2_flush_meta(q); /* keeps the write order; rare with a sized cache */
	return v;
}

static int l2_fill(struct qcow2 *q, uint64_t off, uint32_t l1i, bool fresh,
		   struct qcow2_l2_slot **out)
{
	int rc;
	struct qcow2_l2_slot *s = l2_victim(q, &rc);
	if (rc < 0)
		return rc;
	if (s->off)
		q->l1_slot[s->l1i] = -1;
	if (!s->tbl && posix_memalign((void **)&s->tbl, 4096, q->cluster_size))
		return -ENOMEM;
	s->off = 0;
	s->dirty = false;
	if (fresh)
		memset(s->tbl, 0, q->cluster_size);
	else if ((rc = qcow2_pread_all(q->fd, s->tbl, q->cluster_size, off)) < 0)
		return rc;
	s->off = off;
	s->l1i = l1i;
	q->l1_slot[l1i] = (int32_t)(s - q->l2c);
	s->lru = ++q->lru_clock;
	*out = s;
	return 0;
}

int qcow2_l2_get(struct qcow2 *q, uint64_t l1i, bool alloc, struct qcow2_l2_slot **out)
{
	uint64_t e = q->l1[l1i], off = e & QCOW2_OFFSET_MASK;
	int rc;

	*out = NULL;
	if (!off) {
		if (!alloc)
			return 0;
		bool fresh;
		if ((rc = qcow2_alloc_cluster(q, &off, &fresh)) < 0 ||
		    (rc = l2_fill(q, off, (uint32_t)l1i, true, out)) < 0)
			return rc;
		(*out)->dirty = true;
		q->l2_dirty = true;
		q->l1[l1i] = off | QCOW2_OFLAG_COPIED;
		q->l1_dirty = true;
		return 0;
	}
	if (off % q->cluster_size || qcow2_check_host_range(q, off, q->cluster_size) < 0)
		return -EIO;
	if (alloc && !(e & QCOW2_OFLAG_COPIED)) {
		pv_log_err(TAG, "%s: shared L2 table (snapshot) cannot be written", q->img->path);
		return -EIO;
	}
	int32_t idx = q->l1_slot[l1i];
	if (idx >= 0 && q->l2c[idx].off == off) {
		q->l2c[idx].lru = ++q->lru_clock;
		*out = &q->l2c[idx];
		return 0;
	}
	return l2_fill(q, off, (uint32_t)l1i, false, out);
}

/* The host extent [*off, *off + *len) holding compressed cluster e, checked. */
static int compressed_extent(const struct qcow2 *q, uint64_t e, uint64_t *off, uint64_t *len)
{
	unsigned x = 62 - (q->cluster_bits - 8);
	uint64_t nsect = ((e >> x) & ((1ull << (q->cluster_bits - 8)) - 1)) + 1;

	*off = e & ((1ull << x) - 1);
	*len = nsect * 512 - (*off & 511);
	if (*len > 2 * q->cluster_size || *off < q->cluster_size || *off >= q->host_end)
		return -EIO;
	if (*len > q->host_end - *off)
		*len = q->host_end - *off; /* the sector count may overshoot the file */
	return 0;
}

/* Decompresses the cluster described by L2 entry e into q->bounce. */
static int read_compressed(struct qcow2 *q, uint64_t e)
{
	uint64_t off, csize;
	int rc = compressed_extent(q, e, &off, &csize);

	if (rc < 0)
		return rc;
	ssize_t n = pread(q->fd, q->zbuf, csize, (off_t)off);
	if (n <= 0)
		return -EIO;
	return qcow2_inflate(q->zbuf, (uint64_t)n, q->bounce, q->cluster_size);
}

/* Current L2 entry for guest offset goff (0 when no L2 table). */
static int l2_entry(struct qcow2 *q, uint64_t goff, uint64_t *e)
{
	uint64_t cl = goff >> q->cluster_bits;
	struct qcow2_l2_slot *s;
	int rc = qcow2_l2_get(q, cl / q->l2_entries, false, &s);
	*e = (rc == 0 && s) ? qcow2_be64(s->tbl[cl % q->l2_entries]) : 0;
	return rc;
}

/* Host offset of a plain data cluster entry, or 0; -EIO when invalid. */
static int64_t data_host(struct qcow2 *q, uint64_t e)
{
	if (e & QCOW2_OFLAG_COMPRESSED)
		return 0;
	uint64_t off = e & QCOW2_OFFSET_MASK;
	if (!off || (q->version >= 3 && (e & QCOW2_OFLAG_ZERO)))
		return 0;
	if (off % q->cluster_size || qcow2_check_host_range(q, off, q->cluster_size) < 0)
		return -EIO;
	return (int64_t)off;
}

/* Fills buf with the current content of [goff, goff+n) for the parts that are
 * not plain data (zero, backing, compressed).  Used by reads and COW. */
static int read_unmapped(struct qcow2 *q, uint64_t e, uint64_t goff, void *buf, uint64_t n)
{
	int rc;

	if (e & QCOW2_OFLAG_COMPRESSED) {
		if ((rc = read_compressed(q, e)) < 0)
			return rc;
		memcpy(buf, (char *)q->bounce + (goff & (q->cluster_size - 1)), n);
		return 0;
	}
	if ((e & QCOW2_OFFSET_MASK) || (q->version >= 3 && (e & QCOW2_OFLAG_ZERO)) || !q->backing) {
		memset(buf, 0, n);
		return 0;
	}
	return qcow2_backing_read(q, goff, buf, n);
}

struct extent {
	uint64_t rel, host, len;
};

/* Sends (async) or performs (sync, into buf) the pending data extent. */
static int extent_flush(struct qcow2 *q, struct img_req *r, const struct blk_req *req,
			struct extent *x, char *buf)
{
	int rc = 0;
	if (!x->len)
		return 0;
	if (r)
		rc = blk_image_emit(q->img, r, req, x->rel, x->host, x->len);
	else
		rc = qcow2_pread_all(q->fd, buf + x->rel, x->len, x->host);
	x->len = 0;
	return rc;
}

static int extent_add(struct qcow2 *q, struct img_req *r, const struct blk_req *req,
		      struct extent *x, char *buf, uint64_t rel, uint64_t host, uint64_t n)
{
	if (x->len && x->host + x->len == host && x->rel + x->len == rel) {
		x->len += n;
		return 0;
	}
	int rc = extent_flush(q, r, req, x, buf);
	*x = (struct extent){ rel, host, n };
	return rc;
}

/* Reads [off, off+len): plain data through the engine when r is set (else
 * pread into buf); zero, backing and compressed parts synchronously. */
static int read_range(struct qcow2 *q, struct img_req *r, const struct blk_req *req,
		      uint64_t off, uint64_t len, char *buf)
{
	struct extent x = { 0, 0, 0 };
	int rc = 0;

	for (uint64_t pos = 0; pos < len;) {
		uint64_t goff = off + pos, in_cl = goff & (q->cluster_size - 1), e;
		uint64_t n = q->cluster_size - in_cl < len - pos ? q->cluster_size - in_cl : len - pos;
		int64_t h;
		if ((rc = l2_entry(q, goff, &e)) < 0 || (h = data_host(q, e)) < 0)
			return rc < 0 ? rc : -EIO;
		if (h) {
			rc = extent_add(q, r, req, &x, buf, pos, (uint64_t)h + in_cl, n);
		} else if (!r) {
			rc = read_unmapped(q, e, goff, buf + pos, n);
		} else if (!(e & QCOW2_OFLAG_COMPRESSED) && !q->backing) {
			blk_iov_zero(req->iov, req->iovcnt, pos, n);
		} else if ((rc = read_unmapped(q, e, goff, q->tmp, n)) == 0) {
			blk_iov_copy_to(req->iov, req->iovcnt, pos, q->tmp, n);
		}
		if (rc < 0)
			return rc;
		pos += n;
	}
	return extent_flush(q, r, req, &x, buf);
}

int qcow2_read(struct qcow2 *q, struct img_req *r, const struct blk_req *req)
{
	return read_range(q, r, req, req->offset, blk_iov_bytes(req->iov, req->iovcnt), NULL);
}

int qcow2_read_sync(struct qcow2 *q, uint64_t off, void *buf, uint64_t len)
{
	return read_range(q, NULL, NULL, off, len, buf);
}

/* Drops the references an old L2 entry held, after the next metadata flush. */
static int free_old(struct qcow2 *q, uint64_t e)
{
	int rc = 0;
	if (e & QCOW2_OFLAG_COMPRESSED) {
		unsigned x = 62 - (q->cluster_bits - 8);
		uint64_t off = e & ((1ull << x) - 1);
		uint64_t nsect = ((e >> x) & ((1ull << (q->cluster_bits - 8)) - 1)) + 1;
		uint64_t end = off + nsect * 512 - (off & 511);
		for (uint64_t c = off & ~(q->cluster_size - 1); c < end && !rc; c += q->cluster_size)
			if (c < q->host_end)
				rc = qcow2_defer_free(q, c);
		return rc;
	}
	if (e & QCOW2_OFFSET_MASK)
		rc = qcow2_defer_free(q, e & QCOW2_OFFSET_MASK);
	return rc;
}

static int set_entry(struct qcow2 *q, uint64_t goff, uint64_t newe)
{
	uint64_t cl = goff >> q->cluster_bits;
	struct qcow2_l2_slot *s;
	int rc = qcow2_l2_get(q, cl / q->l2_entries, true, &s);
	if (rc < 0)
		return rc;
	uint64_t old = qcow2_be64(s->tbl[cl % q->l2_entries]);
	if (old == newe)
		return 0;
	s->tbl[cl % q->l2_entries] = qcow2_be64(newe);
	s->dirty = true;
	q->l2_dirty = true;
	return free_old(q, old);
}

/* Pending run of fully overwritten new clusters, written with one pwritev. */
struct alloc_run {
	uint64_t rel, goff, host, len;
	const struct blk_req *req;
};

/* Writes [rel, rel+len) of a request's iovec at host offset off, synchronously,
 * 64 segments per pwritev. */
static int iov_pwrite(int fd, const struct iovec *iov, int cnt, uint64_t rel, uint64_t len,
		      uint64_t off)
{
	struct iovec v[64];
	int i = 0;

	while (len) {
		int n = 0;
		uint64_t chunk = 0;
		for (; i < cnt && n < 64 && chunk < len; i++) {
			if (rel >= iov[i].iov_len) {
				rel -= iov[i].iov_len;
				continue;
			}
			uint64_t m = iov[i].iov_len - rel < len - chunk ? iov[i].iov_len - rel : len - chunk;
			v[n++] = (struct iovec){ (char *)iov[i].iov_base + rel, m };
			chunk += m;
			rel = 0;
		}
		if (!n)
			return -EINVAL;
		ssize_t w = pwritev(fd, v, n, (off_t)off);
		if (w < 0)
			return -errno;
		if ((uint64_t)w != chunk)
			return -EIO; /* short write to a regular file: treat as failure */
		off += chunk;
		len -= chunk;
	}
	return 0;
}

static int alloc_push(struct qcow2_alloc **arr, unsigned *n, unsigned *cap, struct qcow2_alloc a)
{
	if (*n == *cap) {
		unsigned c = *cap ? *cap * 2 : 8;
		struct qcow2_alloc *p = realloc(*arr, c * sizeof(*p));
		if (!p)
			return -ENOMEM;
		*arr = p;
		*cap = c;
	}
	(*arr)[(*n)++] = a;
	return 0;
}

static bool alloc_in_flight(const struct qcow2 *q, uint64_t goff)
{
	for (unsigned i = 0; i < q->pend_n; i++)
		if (goff >= q->pend[i].goff && goff - q->pend[i].goff < q->pend[i].len)
			return true;
	return false;
}

/* Called when every engine request of r has completed: the data of r's new
 * clusters is in place (or failed), so their L2 entries may now be set. */
int qcow2_commit(struct qcow2 *q, struct img_req *r)
{
	int rc = 0;

	for (unsigned i = 0; i < r->alloc_n; i++) {
		const struct qcow2_alloc *a = &r->allocs[i];
		for (unsigned k = 0; k < q->pend_n; k++) {
			if (q->pend[k].goff == a->goff && q->pend[k].host == a->host) {
				q->pend[k] = q->pend[--q->pend_n];
				break;
			}
		}
		free(a->buf);
		/* A failed write leaks its clusters; it never maps them. */
		for (uint64_t o = 0; r->result >= 0 && !rc && o < a->len; o += q->cluster_size)
			rc = set_entry(q, a->goff + o, (a->host + o) | QCOW2_OFLAG_COPIED);
	}
	r->alloc_n = 0;
	return rc;
}

/* Writes a run of fully overwritten new clusters.  Normally through the
 * engine, the L2 entries following in qcow2_commit; FUA writes synchronously
 * so the metadata can be flushed before they complete. */
static int run_flush(struct qcow2 *q, struct img_req *r, struct alloc_run *a)
{
	int rc;

	if (!a->len)
		return 0;
	if (r && !(a->req->flags & BLK_REQ_FUA)) {
		struct qcow2_alloc al = { a->goff, a->host, a->len, NULL };
		if ((rc = alloc_push(&r->allocs, &r->alloc_n, &r->alloc_cap, al)) < 0 ||
		    (rc = alloc_push(&q->pend, &q->pend_n, &q->pend_cap, al)) < 0)
			return rc;
		a->len = 0;
		return blk_image_emit(q->img, r, a->req, a->rel, al.host, al.len);
	}
	if ((rc = iov_pwrite(q->img->fd, a->req->iov, a->req->iovcnt, a->rel, a->len, a->host)) < 0)
		return rc;
	/* Data is in place: now the L2 entries may point at it. */
	for (uint64_t o = 0; o < a->len; o += q->cluster_size)
		if ((rc = set_entry(q, a->goff + o, (a->host + o) | QCOW2_OFLAG_COPIED)) < 0)
			return rc;
	a->len = 0;
	return 0;
}

static bool reads_as_zero(const struct qcow2 *q, uint64_t e)
{
	if (e & QCOW2_OFLAG_COMPRESSED)
		return false;
	if (q->version >= 3 && (e & QCOW2_OFLAG_ZERO))
		return true;
	return !(e & QCOW2_OFFSET_MASK) && !q->backing;
}

/* Copy-on-write of one partially written cluster: old content (backing,
 * zero, compressed or a shared data cluster) + new bytes into a new cluster.
 * req == NULL writes zeros.  A new cluster past the end of the file already
 * reads as zeros, so when the old content is zeros only the new bytes are
 * written and the file is extended over the rest (4 KiB instead of a whole
 * cluster for a small write into an empty image). */
static int cow_partial(struct qcow2 *q, const struct blk_req *req, uint64_t rel, uint64_t goff,
		       uint64_t n, uint64_t e)
{
	uint64_t in_cl = goff & (q->cluster_size - 1), start = goff - in_cl, host;
	int64_t h = data_host(q, e);
	bool fresh;
	int rc;

	if (h < 0)
		return -EIO;
	if ((rc = qcow2_alloc_cluster(q, &host, &fresh)) < 0)
		return rc;
	if (req && fresh && reads_as_zero(q, e)) {
		/* The file already covers the cluster (grown ahead); the rest is a hole. */
		if ((rc = iov_pwrite(q->img->fd, req->iov, req->iovcnt, rel, n, host + in_cl)) < 0)
			return rc;
		return set_entry(q, start, host | QCOW2_OFLAG_COPIED);
	}
	if (h)
		rc = qcow2_pread_all(q->fd, q->tmp, q->cluster_size, (uint64_t)h);
	else
		rc = read_unmapped(q, e, start, q->tmp, q->cluster_size);
	if (rc < 0)
		return rc;
	if (req)
		blk_iov_copy_from(req->iov, req->iovcnt, rel, (char *)q->tmp + in_cl, n);
	else
		memset((char *)q->tmp + in_cl, 0, n);
	if ((rc = qcow2_pwrite_all(q->img->fd, q->tmp, q->cluster_size, host)) < 0)
		return rc;
	return set_entry(q, start, host | QCOW2_OFLAG_COPIED);
}

/* Copy-on-write of one partially written cluster without waiting for I/O in
 * this thread.  A fresh cluster over zeros needs only the new bytes written
 * (the rest of the file is a hole): straight to the engine.  Anything else
 * goes to the COW workers (qcow2_cow.c).  Either way the allocation is
 * pending until the data is written; qcow2_commit maps it. */
static int cow_async(struct qcow2 *q, struct img_req *r, const struct blk_req *req, uint64_t rel,
		     uint64_t goff, uint64_t n, uint64_t e)
{
	uint64_t in_cl = goff & (q->cluster_size - 1), start = goff - in_cl, host;
	uint64_t src_off = 0, src_len = 0;
	enum qcow2_cow_src src = QCOW2_COW_ZERO;
	int64_t h = data_host(q, e);
	bool fresh;
	int rc;

	if (h < 0)
		return -EIO;
	if (e & QCOW2_OFLAG_COMPRESSED) {
		src = QCOW2_COW_COMPRESSED;
		if ((rc = compressed_extent(q, e, &src_off, &src_len)) < 0)
			return rc;
	} else if (h) {
		src = QCOW2_COW_DATA;
		src_off = (uint64_t)h;
	} else if (!reads_as_zero(q, e)) {
		src = QCOW2_COW_BACKING;
	}
	if ((rc = qcow2_alloc_cluster(q, &host, &fresh)) < 0)
		return rc;
	struct qcow2_alloc al = { start, host, q->cluster_size, NULL };
	if ((rc = alloc_push(&r->allocs, &r->alloc_n, &r->alloc_cap, al)) < 0 ||
	    (rc = alloc_push(&q->pend, &q->pend_n, &q->pend_cap, al)) < 0)
		return rc;
	if (fresh && src == QCOW2_COW_ZERO)
		return blk_image_emit(q->img, r, req, rel, host + in_cl, n);
	return qcow2_cow_queue(q, r, req, rel, start, host, in_cl, n, src, src_off, src_len);
}

static int write_alloc(struct qcow2 *q, struct img_req *r, struct alloc_run *a,
		       const struct blk_req *req, uint64_t rel, uint64_t goff, uint64_t n, uint64_t e)
{
	uint64_t host;
	bool fresh;
	int rc;

	if (n < q->cluster_size) {
		if ((rc = run_flush(q, r, a)) < 0)
			return rc;
		if (r && !(req->flags & BLK_REQ_FUA))
			return cow_async(q, r, req, rel, goff, n, e);
		return cow_partial(q, req, rel, goff, n, e);
	}
	if ((rc = qcow2_alloc_cluster(q, &host, &fresh)) < 0)
		return rc;
	if (a->len && a->host + a->len == host && a->rel + a->len == rel && a->len < (8u << 20)) {
		a->len += n;
		return 0;
	}
	if ((rc = run_flush(q, r, a)) < 0)
		return rc;
	*a = (struct alloc_run){ rel, goff, host, n, req };
	return 0;
}

int qcow2_write(struct qcow2 *q, struct img_req *r, const struct blk_req *req)
{
	uint64_t len = blk_iov_bytes(req->iov, req->iovcnt);
	struct extent x = { 0, 0, 0 };
	struct alloc_run a = { 0, 0, 0, 0, req };
	bool allocated = false;
	int rc = 0;

	for (uint64_t pos = 0; pos < len && !rc;) {
		uint64_t goff = req->offset + pos, in_cl = goff & (q->cluster_size - 1), e;
		uint64_t n = q->cluster_size - in_cl < len - pos ? q->cluster_size - in_cl : len - pos;
		struct qcow2_l2_slot *s;
		uint64_t cl = goff >> q->cluster_bits;
		if ((rc = qcow2_l2_get(q, cl / q->l2_entries, true, &s)) < 0)
			break;
		e = qcow2_be64(s->tbl[cl % q->l2_entries]);
		int64_t h = data_host(q, e);
		if (h < 0) {
			rc = -EIO;
		} else if (h && (e & QCOW2_OFLAG_COPIED)) {
			rc = extent_add(q, r, req, &x, NULL, pos, (uint64_t)h + in_cl, n);
		} else if (q->pend_n && alloc_in_flight(q, goff)) {
			/* Another request is allocating this cluster: wait until it
			 * finishes (which maps it), not for everything, then look again. */
			while (!rc && alloc_in_flight(q, goff))
				rc = blk_image_wait_some(q->img) < 0 ? -EIO : 0;
			continue;
		} else {
			allocated = true;
			rc = write_alloc(q, r, &a, req, pos, goff, n, e);
		}
		pos += n;
	}
	if (!rc)
		rc = run_flush(q, r, &a);
	if (!rc)
		rc = extent_flush(q, r, req, &x, NULL);
	if (!rc && allocated && (req->flags & BLK_REQ_FUA))
		rc = qcow2_flush_meta(q);
	return rc;
}

/* Discard and write-zeroes.  Whole clusters change their L2 entry (unmapped,
 * or the v3 zero flag when a backing file would otherwise show through);
 * partial clusters are zeroed in place for write-zeroes, ignored for discard. */
int qcow2_discard(struct qcow2 *q, uint64_t off, uint64_t len, bool zero)
{
	int rc = 0;

	if (q->pend_n)
		blk_image_drain(q->img); /* no allocation may land after this */

	for (uint64_t pos = 0; pos < len && !rc;) {
		uint64_t goff = off + pos, in_cl = goff & (q->cluster_size - 1), e;
		uint64_t n = q->cluster_size - in_cl < len - pos ? q->cluster_size - in_cl : len - pos;
		pos += n;
		if ((rc = l2_entry(q, goff, &e)) < 0)
			break;
		if (n == q->cluster_size) {
			if (!q->backing)
				rc = e ? set_entry(q, goff, 0) : 0;
			else if (q->version >= 3)
				rc = set_entry(q, goff, QCOW2_OFLAG_ZERO);
			else if (zero)
				rc = cow_partial(q, NULL, 0, goff, n, e);
			continue;
		}
		if (!zero)
			continue;
		int64_t h = data_host(q, e);
		if (h < 0)
			rc = -EIO;
		else if (h && (e & QCOW2_OFLAG_COPIED))
			rc = blk_exec_write_zeroes(q->img->fd, (uint64_t)h + in_cl, n);
		else if (h || (e & QCOW2_OFLAG_COMPRESSED) || (q->backing && !(q->version >= 3 && (e & QCOW2_OFLAG_ZERO))))
			rc = cow_partial(q, NULL, 0, goff, n, e);
	}
	return rc;
}
