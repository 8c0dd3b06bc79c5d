/* SPDX-License-Identifier: MIT */
/* The image layer: validates guest requests, translates them (raw: 1:1;
 * qcow2: through qcow2.c) into engine requests, and merges their completions
 * back into one completion per guest request, with per-op statistics. */
#include "image.h"
#include "pv_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#define TAG "blk"


static int probe_format(int fd, enum blk_format *fmt)
{
	unsigned char m[4];
	ssize_t n = pread(fd, m, 4, 0);
	if (n < 0)
		return -errno;
	*fmt = (n == 4 && !memcmp(m, "QFI\xfb", 4)) ? BLK_FMT_QCOW2 : BLK_FMT_RAW;
	return 0;
}

/* Size and logical sector of a raw file or block device. */
static int raw_geometry(struct blk_image *img, unsigned want_sector)
{
	struct stat st;
	unsigned dev_sector = 512;

	if (fstat(img->fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		int ss;
		if (ioctl(img->fd, BLKGETSIZE64, &img->size) < 0 || ioctl(img->fd, BLKSSZGET, &ss) < 0)
			return -errno;
		dev_sector = (unsigned)ss;
	} else if (S_ISREG(st.st_mode)) {
		img->size = (uint64_t)st.st_size;
	} else {
		pv_log_err(TAG, "%s: not a regular file or block device", img->path);
		return -EINVAL;
	}
	if (want_sector && want_sector < dev_sector) {
		pv_log_err(TAG, "%s: logical sector %u is smaller than the device's %u",
			   img->path, want_sector, dev_sector);
		return -EINVAL;
	}
	img->sector_size = want_sector ? want_sector : dev_sector;
	img->size -= img->size % img->sector_size;
	return 0;
}

static int image_alloc_queues(struct blk_image *img, unsigned depth)
{
	img->depth = depth;
	img->reqs = calloc(depth, sizeof(*img->reqs));
	img->done = calloc(depth, sizeof(int));
	if (!img->reqs || !img->done)
		return -ENOMEM;
	for (unsigned i = 0; i < depth; i++)
		img->reqs[i].next_free = i + 1 < depth ? (int)i + 1 : -1;
	img->free_head = 0;
	return 0;
}

static void image_free(struct blk_image *img)
{
	if (!img)
		return;
	if (img->q)
		qcow2_cow_fini(img->q); /* COW workers signal the engine's eventfd: stop them first */
	if (img->eng)
		img->ops->close(img->eng);
	if (img->q)
		qcow2_close(img->q);
	if (img->fd >= 0)
		close(img->fd);
	if (img->reqs)
		for (unsigned i = 0; i < img->depth; i++)
			free(img->reqs[i].iov), free(img->reqs[i].allocs);
	free(img->reqs);
	free(img->done);
	free(img->backlog);
	free(img->path);
	free(img);
}

static int image_open_common(struct blk_image **out, const struct blk_image_opts *o, bool nested,
			     const struct blk_chain *up)
{
	struct blk_image *img = calloc(1, sizeof(*img));
	int rc, meta_fd = -1;

	if (!img)
		return -ENOMEM;
	img->fd = -1;
	img->path = strdup(o->path);
	img->readonly = o->readonly || nested;
	img->nested = nested;
	img->cache = nested ? BLK_CACHE_WRITEBACK : o->cache;
	img->format = o->format;
	if (o->sector_size && o->sector_size != 512 && o->sector_size != 4096) {
		pv_log_err(TAG, "%s: logical sector size must be 512 or 4096", o->path);
		rc = -EINVAL;
		goto fail;
	}
	int flags = (img->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	img->fd = open(o->path, flags | (img->cache == BLK_CACHE_NONE ? O_DIRECT : 0));
	if (img->fd < 0) {
		rc = -errno;
		pv_log_err(TAG, "%s: %s", o->path, strerror(errno));
		goto fail;
	}
	if (img->format == BLK_FMT_AUTO && (rc = probe_format(img->fd, &img->format)) < 0) {
		/* O_DIRECT pread of 4 bytes fails: probe through a buffered fd. */
		int pfd = open(o->path, O_RDONLY | O_CLOEXEC);
		rc = pfd < 0 ? -errno : probe_format(pfd, &img->format);
		if (pfd >= 0)
			close(pfd);
		if (rc < 0)
			goto fail;
	}
	if ((rc = raw_geometry(img, o->sector_size)) < 0)
		goto fail;
	if (img->format == BLK_FMT_QCOW2) {
		meta_fd = open(o->path, flags);
		if (meta_fd < 0) {
			rc = -errno;
			goto fail;
		}
		struct stat st;
		if (fstat(meta_fd, &st) < 0) {
			rc = -errno;
			goto fail;
		}
		struct blk_chain me = { .dev = st.st_dev, .ino = st.st_ino,
					.depth = up ? up->depth + 1 : 0, .up = up };
		for (const struct blk_chain *c = up; c; c = c->up) {
			if (c->dev == me.dev && c->ino == me.ino) {
				pv_log_err(TAG, "%s: backing file loop", o->path);
				rc = -ELOOP;
				goto fail;
			}
		}
		if ((rc = qcow2_open(&img->q, img, meta_fd, &me)) < 0)
			goto fail;
	}
	*out = img;
	return 0;
fail:
	if (meta_fd >= 0 && !img->q)
		close(meta_fd);
	image_free(img);
	return rc;
}

int blk_image_open_nested(struct blk_image **out, const char *path, enum blk_format fmt,
			  const struct blk_chain *chain)
{
	struct blk_image_opts o = { .path = path, .format = fmt, .readonly = true,
				    .cache = BLK_CACHE_WRITEBACK };
	return image_open_common(out, &o, true, chain);
}

int blk_image_open(struct blk_image **out, const struct blk_image_opts *o)
{
	struct blk_image *img;
	int rc = image_open_common(&img, o, false, NULL);
	unsigned depth = o->queue_depth ? o->queue_depth : 128;

	if (rc < 0)
		return rc;
	struct blk_engine_params p = { .queue_depth = depth, .cache = o->cache,
				       .buf_base = o->buf_base, .buf_len = o->buf_len };
	img->ops = blk_engine_get(o->engine);
	if (!img->ops) {
		rc = -EINVAL;
		goto fail;
	}
	if ((rc = image_alloc_queues(img, depth)) < 0)
		goto fail;
	if ((rc = img->ops->open(&img->eng, img->fd, &p)) < 0) {
		pv_log_err(TAG, "%s: cannot start the %s engine: %s", o->path, img->ops->name,
			   strerror(-rc));
		goto fail;
	}
	*out = img;
	return 0;
fail:
	image_free(img);
	return rc;
}

void blk_image_close(struct blk_image *img)
{
	struct blk_completion c[32];

	if (!img)
		return;
	while (!img->nested && img->in_flight && blk_image_reap(img, c, 32, true) > 0)
		;
	if (img->q && !img->readonly)
		qcow2_flush_meta(img->q);
	image_free(img);
}

uint64_t blk_image_size(const struct blk_image *img) { return img->size; }
unsigned blk_image_sector_size(const struct blk_image *img) { return img->sector_size; }
bool blk_image_readonly(const struct blk_image *img) { return img->readonly; }
enum blk_format blk_image_format(const struct blk_image *img) { return img->format; }
int blk_image_event_fd(struct blk_image *img) { return img->ops->event_fd(img->eng); }
unsigned blk_image_in_flight(const struct blk_image *img) { return img->in_flight; }
void blk_image_get_stats(const struct blk_image *img, struct blk_stats *out) { *out = img->stats; }
