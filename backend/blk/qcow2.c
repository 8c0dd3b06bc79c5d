/* SPDX-License-Identifier: MIT */
/* qcow2: opening an image.  The header and everything it points at come from
 * a file anyone may have written, so each field is range-checked before use;
 * a bad image is refused with the reason, never trusted. */
#include "qcow2.h"
#include "pv_log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define TAG "qcow2"

uint64_t qcow2_get_be(const void *p, unsigned bytes)
{
	const unsigned char *b = p;
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v = (v << 8) | b[i];
	return v;
}

void qcow2_put_be(void *p, unsigned bytes, uint64_t v)
{
	unsigned char *b = p;
	for (unsigned i = bytes; i-- > 0; v >>= 8)
		b[i] = (unsigned char)v;
}

int qcow2_pread_all(int fd, void *buf, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* metadata past the end of the file */
		buf = (char *)buf + n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int qcow2_pwrite_all(int fd, const void *buf, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (const char *)buf + n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int qcow2_sync(struct qcow2 *q)
{
	if (q->img->cache == BLK_CACHE_UNSAFE)
		return 0;
	return fdatasync(q->fd) < 0 ? -errno : 0;
}

static int hdr_fail(struct qcow2 *q, int rc, const char *why)
{
	pv_log_err(TAG, "%s: %s", q->img->path, why);
	return rc;
}

static int parse_header(struct qcow2 *q, const unsigned char *h, uint64_t file_size)
{
	if (qcow2_get_be(h, 4) != QCOW2_MAGIC)
		return hdr_fail(q, -EINVAL, "not a qcow2 image (bad magic)");
	q->version = (uint32_t)qcow2_get_be(h + 4, 4);
	if (q->version != 2 && q->version != 3)
		return hdr_fail(q, -ENOTSUP, "unsupported qcow2 version");
	q->cluster_bits = (uint32_t)qcow2_get_be(h + 20, 4);
	if (q->cluster_bits < 9 || q->cluster_bits > 21)
		return hdr_fail(q, -EINVAL, "cluster size outside 512 B..2 MiB");
	q->cluster_size = 1ull << q->cluster_bits;
	q->size = qcow2_get_be(h + 24, 8);
	if (q->size > QCOW2_MAX_SIZE)
		return hdr_fail(q, -EINVAL, "virtual size too large");
	if (qcow2_get_be(h + 32, 4))
		return hdr_fail(q, -ENOTSUP, "encrypted images are not supported");
	q->l1_size = (uint32_t)qcow2_get_be(h + 36, 4);
	q->l1_off = qcow2_get_be(h + 40, 8);
	q->rt_off = qcow2_get_be(h + 48, 8);
	q->rt_clusters = (uint32_t)qcow2_get_be(h + 56, 4);
	q->nb_snapshots = (uint32_t)qcow2_get_be(h + 60, 4);
	q->snapshots_off = qcow2_get_be(h + 64, 8);
	q->refcount_order = 4;
	q->header_len = QCOW2_HDR_V2_LEN;
	if (q->version == 3) {
		q->incompat = qcow2_get_be(h + 72, 8);
		q->compat = qcow2_get_be(h + 80, 8);
		q->autoclear = qcow2_get_be(h + 88, 8);
		q->refcount_order = (uint32_t)qcow2_get_be(h + 96, 4);
		q->header_len = (uint32_t)qcow2_get_be(h + 100, 4);
		if (q->header_len < QCOW2_HDR_V3_LEN || q->header_len > q->cluster_size ||
		    q->header_len % 8)
			return hdr_fail(q, -EINVAL, "bad header length");
		if (q->refcount_order > 6)
			return hdr_fail(q, -EINVAL, "refcount order above 6");
	}
	q->l2_entries = (unsigned)(q->cluster_size / 8);
	uint64_t per_l1 = q->cluster_size * q->l2_entries;
	uint64_t need_l1 = (q->size + per_l1 - 1) / per_l1;
	if (q->l1_size < need_l1)
		return hdr_fail(q, -EINVAL, "L1 table too small for the virtual size");
	if ((uint64_t)q->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return hdr_fail(q, -EINVAL, "L1 table too large");
	if ((q->l1_off % q->cluster_size) || (q->l1_size && !q->l1_off) ||
	    q->l1_off > file_size || (uint64_t)q->l1_size * 8 > file_size - q->l1_off)
		return hdr_fail(q, -EINVAL, "L1 table offset invalid or outside the file");
	if (!q->rt_clusters || (q->rt_off % q->cluster_size) || !q->rt_off ||
	    (uint64_t)q->rt_clusters * q->cluster_size > QCOW2_MAX_RT_BYTES ||
	    q->rt_off > file_size || (uint64_t)q->rt_clusters * q->cluster_size > file_size - q->rt_off)
		return hdr_fail(q, -EINVAL, "refcount table offset or size invalid");
	return 0;
}

static int check_features(struct qcow2 *q, const unsigned char *h)
{
	uint64_t unknown = q->incompat & ~QCOW2_INCOMPAT_KNOWN;
	char msg[512];

	if (unknown) {
		int len = snprintf(msg, sizeof(msg), "unsupported incompatible features 0x%llx:",
				   (unsigned long long)unknown);
		/* Name them from the image's feature name table when it has one. */
		for (unsigned b = 0; b < 64 && len < (int)sizeof(msg) - 60; b++) {
			if (!(unknown & (1ull << b)))
				continue;
			const char *name = q->incompat_names[b][0] ? q->incompat_names[b] :
				b == 2 ? "external data file" : b == 4 ? "extended L2 entries" : "unknown";
			len += snprintf(msg + len, sizeof(msg) - (size_t)len, " %s (bit %u)", name, b);
		}
		return hdr_fail(q, -ENOTSUP, msg);
	}
	if ((q->incompat & QCOW2_INCOMPAT_COMPRESSION) &&
	    (q->header_len <= 104 || h[104] != 0))
		return hdr_fail(q, -ENOTSUP, "compression type other than zlib");
	if (!q->ro && (q->incompat & QCOW2_INCOMPAT_CORRUPT))
		return hdr_fail(q, -EROFS, "image marked corrupt; open it read-only or repair it");
	if (!q->ro && (q->incompat & QCOW2_INCOMPAT_DIRTY))
		return hdr_fail(q, -ENOTSUP, "image is dirty (lazy refcounts); run qemu-img check -r all");
	if (!q->ro && q->nb_snapshots)
		return hdr_fail(q, -ENOTSUP, "writing images with internal snapshots is not supported");
	if (!q->ro && q->refcount_order > 6)
		return hdr_fail(q, -ENOTSUP, "refcount order not supported");
	return 0;
}

/* Header extensions and the backing file name, all inside the first cluster. */
static int parse_extensions(struct qcow2 *q, const unsigned char *c0)
{
	uint64_t pos = q->version == 2 ? QCOW2_HDR_V2_LEN : q->header_len;
	uint64_t bf_off = qcow2_get_be(c0 + 8, 8);
	uint32_t bf_len = (uint32_t)qcow2_get_be(c0 + 16, 4);

	while (pos + 8 <= q->cluster_size) {
		uint32_t type = (uint32_t)qcow2_get_be(c0 + pos, 4);
		uint32_t len = (uint32_t)qcow2_get_be(c0 + pos + 4, 4);
		if (type == QCOW2_EXT_END)
			break;
		if (len > q->cluster_size - pos - 8)
			return hdr_fail(q, -EINVAL, "header extension runs past the first cluster");
		if (type == QCOW2_EXT_BACKING_FMT) {
			if (len >= sizeof(q->backing_fmt))
				return hdr_fail(q, -EINVAL, "backing format name too long");
			memcpy(q->backing_fmt, c0 + pos + 8, len);
			q->backing_fmt[len] = 0;
		}
		if (type == QCOW2_EXT_FEATURE_TABLE) {
			for (uint32_t k = 0; k + 48 <= len; k += 48) {
				const unsigned char *f = c0 + pos + 8 + k;
				if (f[0] == 0 && f[1] < 64) { /* incompatible feature */
					memcpy(q->incompat_names[f[1]], f + 2, 46);
					q->incompat_names[f[1]][46] = 0;
				}
			}
		}
		/* Other extensions (bitmaps, ...) are optional: skipped. */
		pos += 8 + ((len + 7ull) & ~7ull);
	}
	if (bf_off || bf_len) {
		if (!bf_len || bf_len >= sizeof(q->backing_name) || bf_off > q->cluster_size ||
		    bf_len > q->cluster_size - bf_off)
			return hdr_fail(q, -EINVAL, "backing file name outside the first cluster");
		memcpy(q->backing_name, c0 + bf_off, bf_len);
		q->backing_name[bf_len] = 0;
		if (strlen(q->backing_name) != bf_len)
			return hdr_fail(q, -EINVAL, "backing file name contains NUL");
	}
	return 0;
}

static int open_backing(struct qcow2 *q, const struct blk_chain *chain)
{
	char path[4096];
	enum blk_format fmt = BLK_FMT_AUTO;

	if (!q->backing_name[0])
		return 0;
	if (chain->depth + 1 >= QCOW2_MAX_BACKING_DEPTH)
		return hdr_fail(q, -ELOOP, "backing chain too deep");
	if (q->backing_name[0] == '/') {
		snprintf(path, sizeof(path), "%s", q->backing_name);
	} else {
		/* Relative names are relative to the image's directory. */
		char *dup = strdup(q->img->path);
		if (!dup)
			return -ENOMEM;
		snprintf(path, sizeof(path), "%s/%s", dirname(dup), q->backing_name);
		free(dup);
	}
	if (!strcmp(q->backing_fmt, "raw"))
		fmt = BLK_FMT_RAW;
	else if (!strcmp(q->backing_fmt, "qcow2"))
		fmt = BLK_FMT_QCOW2;
	else if (q->backing_fmt[0])
		return hdr_fail(q, -ENOTSUP, "backing format not supported");
	int rc = blk_image_open_nested(&q->backing, path, fmt, chain);
	if (rc < 0)
		pv_log_err(TAG, "%s: cannot open backing file %s", q->img->path, path);
	return rc;
}

static int load_l1(struct qcow2 *q)
{
	if (!q->l1_size)
		return 0;
	q->l1 = malloc((size_t)q->l1_size * 8);
	if (!q->l1)
		return -ENOMEM;
	int rc = qcow2_pread_all(q->fd, q->l1, (uint64_t)q->l1_size * 8, q->l1_off);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < q->l1_size; i++)
		q->l1[i] = qcow2_be64(q->l1[i]);
	return 0;
}

static int qcow2_open_body(struct qcow2 *q, const struct blk_chain *chain)
{
	unsigned char *c0 = NULL;
	struct stat st;
	int rc;

	if (fstat(q->fd, &st) < 0)
		return -errno;
	c0 = calloc(1, 2u << 20);
	if (!c0)
		return -ENOMEM;
	ssize_t n = pread(q->fd, c0, 2u << 20, 0);
	if (n < (ssize_t)QCOW2_HDR_V2_LEN) {
		rc = hdr_fail(q, -EINVAL, "file too short for a qcow2 header");
		goto out;
	}
	if ((rc = parse_header(q, c0, (uint64_t)st.st_size)) < 0 ||
	    (rc = parse_extensions(q, c0)) < 0 || (rc = check_features(q, c0)) < 0)
		goto out;
	q->host_end = ((uint64_t)st.st_size + q->cluster_size - 1) & ~(q->cluster_size - 1);
	q->file_size = (uint64_t)st.st_size;
	if ((rc = load_l1(q)) < 0 || (rc = qcow2_rc_load(q)) < 0)
		goto out;
	rc = -ENOMEM;
	if (posix_memalign(&q->bounce, 4096, q->cluster_size) ||
	    posix_memalign(&q->tmp, 4096, q->cluster_size) ||
	    !(q->zbuf = malloc(2 * q->cluster_size + 1024)))
		goto out;
	/* Enough L2 tables to map 8 GiB (or the whole disk), capped at 32 MiB of cache. */
	uint64_t cover = q->size < (8ull << 30) ? q->size : (8ull << 30);
	uint64_t want = cover / (q->cluster_size * q->l2_entries) + 4;
	if (want * q->cluster_size > (32u << 20))
		want = (32u << 20) / q->cluster_size;
	q->l2c_n = (unsigned)(want < 4 ? 4 : want);
	if (!(q->l2c = calloc(q->l2c_n, sizeof(*q->l2c))) ||
	    !(q->l1_slot = malloc(((size_t)q->l1_size + 1) * sizeof(int32_t))))
		goto out;
	for (uint32_t i = 0; i < q->l1_size; i++)
		q->l1_slot[i] = -1;
	if ((rc = open_backing(q, chain)) < 0)
		goto out;
	if (!q->ro && q->version == 3 && q->autoclear) {
		/* Bits we do not know must be cleared when we write (spec). */
		unsigned char z[8] = { 0 };
		q->autoclear = 0;
		if ((rc = qcow2_pwrite_all(q->fd, z, 8, 88)) < 0)
			goto out;
	}
	rc = 0;
out:
	free(c0);
	return rc;
}

int qcow2_open(struct qcow2 **out, struct blk_image *img, int meta_fd, const struct blk_chain *chain)
{
	struct qcow2 *q = calloc(1, sizeof(*q));
	if (!q) {
		close(meta_fd);
		return -ENOMEM;
	}
	q->img = img;
	q->fd = meta_fd;
	q->ro = img->readonly;
	qcow2_cow_init(q);
	int rc = qcow2_open_body(q, chain);
	if (rc < 0) {
		qcow2_close(q);
		return rc;
	}
	/* Clusters smaller than a page put metadata (written through the page
	 * cache) and data in the same pages; an O_DIRECT data write to such a
	 * page while its cached copy is dirty makes the kernel fail the next
	 * fsync with EIO.  Those images keep their data in the page cache too
	 * (still durable at flush: the fdatasync covers the whole file). */
	if (!q->ro && img->cache == BLK_CACHE_NONE && q->cluster_size < (uint64_t)sysconf(_SC_PAGESIZE)) {
		int fl = fcntl(img->fd, F_GETFL);
		if (fl < 0 || fcntl(img->fd, F_SETFL, fl & ~O_DIRECT) < 0) {
			rc = -errno;
			qcow2_close(q);
			return rc;
		}
		pv_log_info(TAG, "%s: %llu-byte clusters: data goes through the page cache", img->path,
			    (unsigned long long)q->cluster_size);
	}
	img->size = q->size - q->size % (img->sector_size ? img->sector_size : 512);
	*out = q;
	return 0;
}

void qcow2_close(struct qcow2 *q)
{
	if (!q)
		return;
	qcow2_cow_fini(q); /* every job was collected: the image has nothing in flight */
	/* Give back the space grown ahead of allocation (see qcow2_alloc_cluster). */
	if (!q->ro && q->file_size > q->host_end && q->host_end && ftruncate(q->fd, (off_t)q->host_end) < 0)
		pv_log_warn(TAG, "%s: cannot trim the file: %s", q->img->path, strerror(errno));
	if (q->backing)
		blk_image_close(q->backing);
	qcow2_l2_cache_free(q);
	qcow2_rc_free(q);
	free(q->l1);
	free(q->l1_slot);
	free(q->bounce);
	free(q->zbuf);
	free(q->tmp);
	free(q->pending_free);
	free(q->pend);
	free(q->reuse);
	close(q->fd);
	free(q);
}
