/* SPDX-License-Identifier: MIT */
/* qcow2 refcounts and cluster allocation.
 *
 * Crash-safety rules kept here: a refcount is raised (written to the file)
 * before anything can point at the cluster, and lowered only after the
 * reference is gone from the file (deferred frees, applied after a metadata
 * flush).  A crash in between leaks a cluster; it never leaves a live
 * reference to a cluster with refcount 0. */
#include "qcow2.h"
#include "pv_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAG "qcow2"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Two table entries sharing a block would let one refcount update corrupt
 * another range (and blow up the block cache): refuse. */
static int rt_check_distinct(struct qcow2 *q)
{
	uint64_t *v = malloc(q->rt_entries * sizeof(uint64_t)), n = 0;
	int rc = 0;
	if (!v)
		return -ENOMEM;
	for (uint64_t i = 0; i < q->rt_entries; i++)
		if (q->rt[i])
			v[n++] = q->rt[i];
	qsort(v, n, sizeof(uint64_t), cmp_u64);
	for (uint64_t i = 1; i < n && !rc; i++)
		if (v[i] == v[i - 1])
			rc = -EINVAL;
	free(v);
	if (rc)
		pv_log_err(TAG, "%s: two refcount table entries share a block", q->img->path);
	return rc;
}

int qcow2_rc_load(struct qcow2 *q)
{
	uint64_t bytes = (uint64_t)q->rt_clusters * q->cluster_size;
	int rc;

	q->rt_entries = bytes / 8;
	q->rb_entries = (q->cluster_size * 8) >> q->refcount_order;
	q->rt = malloc(bytes);
	q->rb = calloc(q->rt_entries, sizeof(void *));
	if (!q->rt || !q->rb)
		return -ENOMEM;
	if ((rc = qcow2_pread_all(q->fd, q->rt, bytes, q->rt_off)) < 0)
		return rc;
	for (uint64_t i = 0; i < q->rt_entries; i++) {
		q->rt[i] = qcow2_be64(q->rt[i]);
		uint64_t off = q->rt[i] & QCOW2_OFFSET_MASK;
		if (q->rt[i] && (off != q->rt[i] || off % q->cluster_size || off >= q->host_end)) {
			pv_log_err(TAG, "%s: refcount table entry %llu invalid or outside the file",
				   q->img->path, (unsigned long long)i);
			return -EINVAL;
		}
	}
	return rt_check_distinct(q);
}

void qcow2_rc_free(struct qcow2 *q)
{
	if (q->rb)
		for (uint64_t i = 0; i < q->rt_entries; i++)
			free(q->rb[i]);
	free(q->rb);
	free(q->rt);
}

static uint64_t rb_get(const struct qcow2 *q, const void *blk, uint64_t i)
{
	const unsigned char *b = blk;
	unsigned order = q->refcount_order;
	if (order < 3) {
		unsigned bits = 1u << order;
		return (b[i * bits / 8] >> (i * bits % 8)) & ((1u << bits) - 1);
	}
	unsigned bytes = 1u << (order - 3);
	return qcow2_get_be(b + i * bytes, bytes);
}

/* Sets entry i and returns the byte range of the block that changed. */
static void rb_set(const struct qcow2 *q, void *blk, uint64_t i, uint64_t v, uint64_t *byte,
		   unsigned *nbytes)
{
	unsigned char *b = blk;
	unsigned order = q->refcount_order;
	if (order < 3) {
		unsigned bits = 1u << order, sh = (unsigned)(i * bits % 8);
		unsigned mask = ((1u << bits) - 1) << sh;
		*byte = i * bits / 8;
		b[*byte] = (unsigned char)((b[*byte] & ~mask) | ((v << sh) & mask));
		*nbytes = 1;
		return;
	}
	*nbytes = 1u << (order - 3);
	*byte = i * *nbytes;
	qcow2_put_be(b + *byte, *nbytes, v);
}

static uint64_t rc_max(const struct qcow2 *q)
{
	return q->refcount_order == 6 ? UINT64_MAX : (1ull << (1u << q->refcount_order)) - 1;
}

static int rb_load(struct qcow2 *q, uint64_t ri)
{
	void *b = malloc(q->cluster_size);
	if (!b)
		return -ENOMEM;
	int rc = qcow2_pread_all(q->fd, b, q->cluster_size, q->rt[ri]);
	if (rc < 0) {
		free(b);
		return rc;
	}
	q->rb[ri] = b;
	return 0;
}

int qcow2_rc_get(struct qcow2 *q, uint64_t cluster, uint64_t *out)
{
	uint64_t ri = cluster / q->rb_entries;
	int rc;

	*out = 0;
	if (ri >= q->rt_entries || !q->rt[ri])
		return 0;
	if (!q->rb[ri] && (rc = rb_load(q, ri)) < 0)
		return rc;
	*out = rb_get(q, q->rb[ri], cluster % q->rb_entries);
	return 0;
}

static int rt_grow(struct qcow2 *q, uint64_t need_ri);

/* A new refcount block for range ri, placed at the end of the file.  If the
 * block's own cluster falls in range ri it describes itself; otherwise its
 * refcount goes into the next range's (new, self-describing) block.  While
 * the table grows (rt_grow) the new table is not on disk yet: the entry is
 * set in memory only and written with the whole table. */
static int rb_create(struct qcow2 *q, uint64_t ri)
{
	uint64_t b_off, b_cl;
	unsigned char be[8];
	int rc;

	if (ri >= q->rt_entries && (rc = rt_grow(q, ri)) < 0)
		return rc;
	if (q->rt[ri])
		return 0; /* created while growing the table */
	b_off = q->host_end;
	b_cl = b_off >> q->cluster_bits;
	void *blk = calloc(1, q->cluster_size);
	if (!blk)
		return -ENOMEM;
	q->host_end += q->cluster_size;
	q->rb[ri] = blk;
	bool self = b_cl / q->rb_entries == ri;
	if (self) {
		uint64_t byte;
		unsigned nb;
		rb_set(q, blk, b_cl % q->rb_entries, 1, &byte, &nb);
	}
	if ((rc = qcow2_pwrite_all(q->fd, blk, q->cluster_size, b_off)) < 0)
		goto fail;
	q->rt[ri] = b_off; /* in memory first: the update below may need range ri */
	if (!self && (rc = qcow2_rc_update(q, b_cl, 1)) < 0)
		goto fail;
	if (q->rt_growing)
		return 0;
	/* The block must be on disk before the table points at it. */
	if ((rc = qcow2_sync(q)) < 0)
		goto fail;
	qcow2_put_be(be, 8, b_off);
	if ((rc = qcow2_pwrite_all(q->fd, be, 8, q->rt_off + ri * 8)) < 0)
		goto fail;
	return 0;
fail:
	q->rt[ri] = 0;
	q->rb[ri] = NULL;
	free(blk);
	return rc;
}

/* Resizes the in-memory table (and block cache index) to n entries. */
static int rt_resize(struct qcow2 *q, uint64_t n)
{
	uint64_t *rt = realloc(q->rt, n * sizeof(uint64_t));
	if (!rt)
		return -ENOMEM;
	q->rt = rt;
	void **rb = realloc(q->rb, n * sizeof(void *));
	if (!rb)
		return -ENOMEM;
	q->rb = rb;
	for (uint64_t i = q->rt_entries; i < n; i++) {
		q->rt[i] = 0;
		q->rb[i] = NULL;
	}
	q->rt_entries = n;
	return 0;
}

/* Moves the refcount table to a bigger one at the end of the file, in an
 * order that is safe at every step (QEMU's order): the new table's clusters
 * get refcounts (creating refcount blocks for them as needed), the new table
 * is written and synced, the header is switched to it with one write and
 * synced, and only then are the old table's clusters freed (at the next
 * metadata flush).  A crash before the switch leaks the new clusters. */
static int rt_grow(struct qcow2 *q, uint64_t need_ri)
{
	uint64_t old_off = q->rt_off, old_c = q->rt_clusters, per = q->cluster_size / 8;
	uint64_t nc = old_c * 2;
	unsigned char hdr[12];
	int rc;

	if (q->rt_growing)
		return -EIO; /* the new table is sized so this cannot recurse */
	/* Room for need_ri, the table itself and its blocks, then some. */
	while (nc * per < need_ri + 1 + 2 * (nc + 2) / q->rb_entries + 2)
		nc *= 2;
	if (nc * q->cluster_size > QCOW2_MAX_RT_BYTES) {
		pv_log_err(TAG, "%s: refcount table cannot grow past %u bytes", q->img->path,
			   QCOW2_MAX_RT_BYTES);
		return -ENOSPC;
	}
	if ((rc = rt_resize(q, nc * per)) < 0)
		return rc;
	uint64_t new_off = q->host_end;
	q->host_end += nc * q->cluster_size;
	q->rt_growing = true;
	for (uint64_t c = 0; c < nc && !rc; c++)
		rc = qcow2_rc_update(q, (new_off >> q->cluster_bits) + c, 1);
	q->rt_growing = false;
	if (rc < 0)
		return rc;
	uint64_t *be = malloc(nc * q->cluster_size);
	if (!be)
		return -ENOMEM;
	for (uint64_t i = 0; i < q->rt_entries; i++)
		be[i] = qcow2_be64(q->rt[i]);
	rc = qcow2_pwrite_all(q->fd, be, nc * q->cluster_size, new_off);
	free(be);
	if (rc < 0 || (rc = qcow2_sync(q)) < 0)
		return rc;
	qcow2_put_be(hdr, 8, new_off);
	qcow2_put_be(hdr + 8, 4, nc);
	if ((rc = qcow2_pwrite_all(q->fd, hdr, sizeof(hdr), 48)) < 0 || (rc = qcow2_sync(q)) < 0)
		return rc;
	q->rt_off = new_off;
	q->rt_clusters = (uint32_t)nc;
	pv_log_info(TAG, "%s: refcount table grown to %llu clusters", q->img->path,
		    (unsigned long long)nc);
	for (uint64_t c = 0; c < old_c && !rc; c++)
		rc = qcow2_defer_free(q, old_off + c * q->cluster_size);
	return rc;
}

int qcow2_rc_update(struct qcow2 *q, uint64_t cluster, int delta)
{
	uint64_t ri = cluster / q->rb_entries, byte, v;
	unsigned nb;
	int rc;

	if (ri >= q->rt_entries || !q->rt[ri]) {
		if (delta < 0)
			return -EIO;
		if ((rc = rb_create(q, ri)) < 0)
			return rc;
	}
	if (!q->rb[ri] && !q->rt[ri])
		return -EIO;
	if (!q->rb[ri] && (rc = rb_load(q, ri)) < 0)
		return rc;
	v = rb_get(q, q->rb[ri], cluster % q->rb_entries);
	if (delta < 0 && v == 0) {
		pv_log_err(TAG, "%s: refcount underflow at cluster %llu", q->img->path,
			   (unsigned long long)cluster);
		return -EIO;
	}
	if (delta > 0 && v == rc_max(q)) {
		pv_log_err(TAG, "%s: refcount overflow at cluster %llu", q->img->path,
			   (unsigned long long)cluster);
		return -ERANGE;
	}
	v = delta > 0 ? v + 1 : v - 1;
	rb_set(q, q->rb[ri], cluster % q->rb_entries, v, &byte, &nb);
	return qcow2_pwrite_all(q->fd, (char *)q->rb[ri] + byte, nb, q->rt[ri] + byte);
}

/* Writes that extend a file are serialised by file systems (ext4 takes the
 * inode lock exclusively and completes them synchronously), so the file is
 * grown ahead of allocation in steps; close trims what was not used. */
#define QCOW2_GROW_BYTES (32ull << 20)

int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *host_off, bool *fresh)
{
	uint64_t off, cur;
	int rc;

	*fresh = false;
	if (q->reuse_n) {
		off = q->reuse[--q->reuse_n];
	} else {
		/* Skip clusters past EOF that a refcount block already claims. */
		for (unsigned tries = 0;; tries++) {
			off = q->host_end;
			q->host_end += q->cluster_size;
			if ((rc = qcow2_rc_get(q, off >> q->cluster_bits, &cur)) < 0)
				return rc;
			if (!cur)
				break;
			if (tries > 1024)
				return -EIO;
		}
		*fresh = true; /* past everything ever allocated: never written */
	}
	if ((rc = qcow2_rc_update(q, off >> q->cluster_bits, 1)) < 0)
		return rc;
	if (q->host_end > q->file_size) {
		uint64_t want = q->host_end + QCOW2_GROW_BYTES;
		if (ftruncate(q->fd, (off_t)want) < 0)
			return -errno;
		q->file_size = want;
	}
	*host_off = off;
	return 0;
}

static int push(uint64_t **arr, unsigned *n, unsigned *cap, uint64_t v)
{
	if (*n == *cap) {
		unsigned c = *cap ? *cap * 2 : 64;
		uint64_t *a = realloc(*arr, c * sizeof(uint64_t));
		if (!a)
			return -ENOMEM;
		*arr = a;
		*cap = c;
	}
	(*arr)[(*n)++] = v;
	return 0;
}

int qcow2_defer_free(struct qcow2 *q, uint64_t host_off)
{
	return push(&q->pending_free, &q->pending_n, &q->pending_cap, host_off);
}

int qcow2_apply_deferred_frees(struct qcow2 *q)
{
	int rc = 0;

	for (unsigned i = 0; i < q->pending_n; i++) {
		uint64_t cl = q->pending_free[i] >> q->cluster_bits, v;
		if ((rc = qcow2_rc_update(q, cl, -1)) < 0 || (rc = qcow2_rc_get(q, cl, &v)) < 0)
			break;
		if (!v && (rc = push(&q->reuse, &q->reuse_n, &q->reuse_cap, cl << q->cluster_bits)) < 0)
			break;
	}
	q->pending_n = 0;
	return rc;
}
