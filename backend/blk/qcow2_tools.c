/* SPDX-License-Identifier: MIT */
/* qcow2 creation and consistency check (for `pvkvm img` and tests). */
#include "qcow2.h"
#include "pv_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAG "qcow2"

static uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

struct layout {
	uint64_t cs, l1_size, l1_c, rt_c, rb_n, meta;
};

static void plan(struct layout *l, uint64_t size, unsigned cs)
{
	uint64_t l2e = cs / 8, rbe = (uint64_t)cs * 8 / 16;
	/* Size the refcount table for twice the fully allocated image, so it
	 * never needs to grow (growing is not implemented). */
	uint64_t data_c = div_up(size, cs);
	l->cs = cs;
	l->l1_size = div_up(size, (uint64_t)cs * l2e);
	l->l1_c = l->l1_size ? div_up(l->l1_size * 8, cs) : 1;
	uint64_t max_host = 2 * (data_c + div_up(data_c, l2e) + 64);
	l->rt_c = div_up(div_up(max_host, rbe) * 8, cs);
	l->rb_n = 1;
	for (int i = 0; i < 4; i++) {
		l->meta = 1 + l->rt_c + l->rb_n + l->l1_c;
		l->rb_n = div_up(l->meta, rbe);
	}
	l->meta = 1 + l->rt_c + l->rb_n + l->l1_c;
}

static int write_header(unsigned char *c0, const struct layout *l, uint64_t size, unsigned version,
			const char *backing, const char *bfmt)
{
	unsigned cb = (unsigned)__builtin_ctzll(l->cs);
	uint64_t pos = version == 3 ? QCOW2_HDR_V3_LEN : QCOW2_HDR_V2_LEN;

	qcow2_put_be(c0, 4, QCOW2_MAGIC);
	qcow2_put_be(c0 + 4, 4, version);
	qcow2_put_be(c0 + 20, 4, cb);
	qcow2_put_be(c0 + 24, 8, size);
	qcow2_put_be(c0 + 36, 4, l->l1_size);
	qcow2_put_be(c0 + 40, 8, (1 + l->rt_c + l->rb_n) * l->cs);
	qcow2_put_be(c0 + 48, 8, l->cs);
	qcow2_put_be(c0 + 56, 4, l->rt_c);
	if (version == 3) {
		qcow2_put_be(c0 + 96, 4, 4);
		qcow2_put_be(c0 + 100, 4, QCOW2_HDR_V3_LEN);
	}
	if (bfmt && *bfmt) {
		size_t n = strlen(bfmt);
		if (n >= 32)
			return -EINVAL;
		qcow2_put_be(c0 + pos, 4, QCOW2_EXT_BACKING_FMT);
		qcow2_put_be(c0 + pos + 4, 4, n);
		memcpy(c0 + pos + 8, bfmt, n);
		pos += 8 + ((n + 7) & ~7ull);
	}
	pos += 8; /* end-of-extensions marker (zeros) */
	if (backing) {
		size_t n = strlen(backing);
		if (n >= 1024 || pos + n > l->cs)
			return -ENAMETOOLONG;
		qcow2_put_be(c0 + 8, 8, pos);
		qcow2_put_be(c0 + 16, 4, n);
		memcpy(c0 + pos, backing, n);
	}
	return 0;
}

int blk_qcow2_create(const char *path, uint64_t size, unsigned cs, unsigned version,
		     const char *backing, const char *bfmt)
{
	struct layout l;
	unsigned char *buf = NULL;
	int fd, rc;

	if (!cs)
		cs = 65536;
	if (cs < 4096 || cs > (2u << 20) || (cs & (cs - 1)) || (version != 2 && version != 3) ||
	    size > QCOW2_MAX_SIZE)
		return -EINVAL;
	plan(&l, size, cs);
	if (!(buf = calloc(l.meta, cs)))
		return -ENOMEM;
	if ((rc = write_header(buf, &l, size, version, backing, bfmt)) < 0)
		goto out;
	/* Refcount table entries -> blocks; blocks: every metadata cluster = 1. */
	unsigned char *rt = buf + cs, *rb = buf + (1 + l.rt_c) * cs;
	uint64_t rbe = (uint64_t)cs / 2;
	for (uint64_t i = 0; i < l.rb_n; i++)
		qcow2_put_be(rt + i * 8, 8, (1 + l.rt_c + i) * cs);
	for (uint64_t c = 0; c < l.meta; c++)
		qcow2_put_be(rb + (c / rbe) * cs + (c % rbe) * 2, 2, 1);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = qcow2_pwrite_all(fd, buf, l.meta * cs, 0);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc < 0)
		unlink(path);
out:
	free(buf);
	return rc;
}

int blk_raw_create(const char *path, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* ---- check ---- */

struct chk {
	struct qcow2 *q;
	uint32_t *ref;
	uint64_t n;
	struct blk_check_result *res;
};

static void chk_ref(struct chk *c, uint64_t off, uint64_t len, const char *what)
{
	if (off % c->q->cluster_size && strcmp(what, "compressed")) {
		pv_log_err(TAG, "ERROR %s offset %#llx unaligned", what, (unsigned long long)off);
		c->res->corruptions++;
		return;
	}
	for (uint64_t o = off & ~(c->q->cluster_size - 1); o < off + len; o += c->q->cluster_size) {
		uint64_t cl = o >> c->q->cluster_bits;
		if (cl >= c->n) {
			pv_log_err(TAG, "ERROR %s at %#llx is outside the image file", what,
				   (unsigned long long)o);
			c->res->corruptions++;
			return;
		}
		c->ref[cl]++;
	}
}

static int chk_l2(struct chk *c, uint64_t l2off, uint64_t *tbl)
{
	struct qcow2 *q = c->q;
	int rc = qcow2_pread_all(q->fd, tbl, q->cluster_size, l2off);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < q->l2_entries; i++) {
		uint64_t e = qcow2_be64(tbl[i]);
		if (e & QCOW2_OFLAG_COMPRESSED) {
			unsigned x = 62 - (q->cluster_bits - 8);
			uint64_t off = e & ((1ull << x) - 1);
			uint64_t ns = ((e >> x) & ((1ull << (q->cluster_bits - 8)) - 1)) + 1;
			uint64_t end = ((off & ~511ull) + ns * 512);
			/* The last sector may extend past EOF; count only what is inside. */
			if (end > c->n * q->cluster_size && off < c->n * q->cluster_size)
				end = c->n * q->cluster_size;
			chk_ref(c, off, end - off, "compressed");
			c->res->allocated_clusters++;
		} else if (e & QCOW2_OFFSET_MASK) {
			chk_ref(c, e & QCOW2_OFFSET_MASK, q->cluster_size, "data cluster");
			c->res->allocated_clusters++;
		}
	}
	return 0;
}

static int chk_walk(struct chk *c)
{
	struct qcow2 *q = c->q;
	uint64_t *tbl = malloc(q->cluster_size);
	int rc = 0;

	if (!tbl)
		return -ENOMEM;
	chk_ref(c, 0, q->cluster_size, "header");
	chk_ref(c, q->rt_off, (uint64_t)q->rt_clusters * q->cluster_size, "refcount table");
	chk_ref(c, q->l1_off, (uint64_t)q->l1_size * 8, "L1 table");
	for (uint64_t i = 0; i < q->rt_entries; i++)
		if (q->rt[i])
			chk_ref(c, q->rt[i], q->cluster_size, "refcount block");
	for (uint32_t i = 0; i < q->l1_size && rc >= 0; i++) {
		uint64_t off = q->l1[i] & QCOW2_OFFSET_MASK;
		if (!off)
			continue;
		if (off % q->cluster_size || (off >> q->cluster_bits) >= c->n) {
			pv_log_err(TAG, "ERROR L2 table %#llx outside the file or unaligned",
				   (unsigned long long)off);
			c->res->corruptions++;
			continue;
		}
		chk_ref(c, off, q->cluster_size, "L2 table");
		rc = chk_l2(c, off, tbl);
	}
	free(tbl);
	return rc;
}

int blk_qcow2_check(const char *path, struct blk_check_result *res)
{
	struct blk_image *img;
	struct chk c = { .res = res };
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = blk_image_open_nested(&img, path, BLK_FMT_QCOW2, NULL)) < 0)
		return rc;
	c.q = img->q;
	if (c.q->nb_snapshots) {
		pv_log_err(TAG, "%s: checking images with internal snapshots is not supported", path);
		rc = -ENOTSUP;
		goto out;
	}
	c.n = c.q->host_end >> c.q->cluster_bits;
	res->total_clusters = div_up(c.q->size, c.q->cluster_size);
	if (c.n > (1ull << 28) || !(c.ref = calloc(c.n ? c.n : 1, sizeof(uint32_t)))) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = chk_walk(&c)) < 0)
		goto out;
	uint64_t last = c.q->rt_entries * c.q->rb_entries;
	for (uint64_t cl = 0; cl < last; cl++) {
		uint64_t have, want = cl < c.n ? c.ref[cl] : 0;
		if (cl >= c.n && !c.q->rt[cl / c.q->rb_entries]) {
			cl += c.q->rb_entries - 1 - cl % c.q->rb_entries;
			continue;
		}
		if ((rc = qcow2_rc_get(c.q, cl, &have)) < 0)
			goto out;
		if (have < want) {
			pv_log_err(TAG, "ERROR cluster %llu refcount=%llu reference=%llu",
				   (unsigned long long)cl, (unsigned long long)have, (unsigned long long)want);
			res->corruptions++;
		} else if (have > want) {
			pv_log_warn(TAG, "Leaked cluster %llu refcount=%llu reference=%llu",
				    (unsigned long long)cl, (unsigned long long)have, (unsigned long long)want);
			res->leaks++;
		}
	}
out:
	free(c.ref);
	blk_image_close(img);
	return rc;
}
