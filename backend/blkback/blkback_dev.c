/* SPDX-License-Identifier: MIT */
/* A served disk: its options, geometry, queues and statistics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkback_int.h"
#include "pv_log.h"

#define TAG "blkback"

static int parse_uint(const char *v, unsigned max, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n > max)
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

static int opt_engine(const char *v, enum blk_engine_kind *out)
{
	/* The domain XML's names (native = Linux AIO, threads = sync pool). */
	if (!strcmp(v, "native"))
		v = "libaio";
	else if (!strcmp(v, "threads"))
		v = "sync";
	return blk_engine_parse(v, out);
}

static int opt_one(struct blkback_disk_opts *o, char *kv)
{
	char *v = strchr(kv, '=');

	if (!strcmp(kv, "readonly") || !strcmp(kv, "ro")) {
		o->readonly = true;
		return 0;
	}
	if (!v)
		return -EINVAL;
	*v++ = '\0';
	if (!strcmp(kv, "format")) {
		if (!strcmp(v, "raw"))
			o->format = BLK_FMT_RAW;
		else if (!strcmp(v, "qcow2"))
			o->format = BLK_FMT_QCOW2;
		else
			return -EINVAL;
		return 0;
	}
	if (!strcmp(kv, "io"))
		return opt_engine(v, &o->engine);
	if (!strcmp(kv, "cache"))
		return blk_cache_parse(v, &o->cache);
	if (!strcmp(kv, "discard")) {
		o->discard = !strcmp(v, "unmap");
		return o->discard || !strcmp(v, "ignore") ? 0 : -EINVAL;
	}
	if (!strcmp(kv, "sector-size")) {
		int err = parse_uint(v, 4096, &o->sector_size);

		return err || (o->sector_size != 512 && o->sector_size != 4096) ? -EINVAL : 0;
	}
	if (!strcmp(kv, "queues"))
		return parse_uint(v, BLKBACK_MAX_QUEUES, &o->max_queues) || !o->max_queues ? -EINVAL : 0;
	if (!strcmp(kv, "ring-page-order"))
		return parse_uint(v, RING_MAX_PAGE_ORDER, &o->max_ring_page_order);
	if (!strcmp(kv, "poll-us"))
		return parse_uint(v, 1000000, &o->poll_us);
	return -EINVAL;
}

int blkback_disk_opts_parse(struct blkback_disk_opts *o, char *spec, char *err, unsigned errlen)
{
	char *save = NULL, *tok;

	*o = (struct blkback_disk_opts){ .engine = BLK_ENGINE_URING, .cache = BLK_CACHE_NONE,
					 .max_queues = 1, .max_ring_page_order = 2, .poll_us = 0 };
	tok = strtok_r(spec, ",", &save);
	if (!tok || !*tok) {
		snprintf(err, errlen, "disk: missing image path");
		return -EINVAL;
	}
	o->path = tok;
	while ((tok = strtok_r(NULL, ",", &save))) {
		char copy[64];

		snprintf(copy, sizeof(copy), "%s", tok);
		if (opt_one(o, tok)) {
			snprintf(err, errlen, "%s: bad disk option '%s'", o->path, copy);
			return -EINVAL;
		}
	}
	return 0;
}

int blkback_dev_open(struct blkback_dev **out, const struct blkback_disk_opts *o)
{
	struct blk_image_opts io = { .path = o->path, .format = o->format, .engine = BLK_ENGINE_SYNC,
				     .cache = o->cache, .readonly = o->readonly,
				     .sector_size = o->sector_size, .queue_depth = 4 };
	struct blkback_dev *d;
	int err;

	if (!o->path || strlen(o->path) >= sizeof(d->path) ||
	    o->max_ring_page_order > RING_MAX_PAGE_ORDER || o->max_queues > BLKBACK_MAX_QUEUES ||
	    o->max_indirect_segs > BLKIF_MAX_INDIRECT_SEGMENTS)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->o = *o;
	snprintf(d->path, sizeof(d->path), "%s", o->path);
	d->o.path = d->path;
	if (!d->o.max_queues)
		d->o.max_queues = 1;
	if (!d->o.max_indirect_segs)
		d->o.max_indirect_segs = BLKIF_MAX_INDIRECT_SEGMENTS;
	for (unsigned i = 0; i < BLKBACK_MAX_QUEUES; i++)
		d->q[i].stop_fd = -1;
	err = blk_image_open(&d->probe, &io);
	if (err) {
		free(d);
		return err;
	}
	d->size_bytes = blk_image_size(d->probe);
	d->sector_size = blk_image_sector_size(d->probe);
	d->format = blk_image_format(d->probe);
	d->o.readonly = blk_image_readonly(d->probe);
	/* qcow2 metadata is not shared between image handles: one queue. */
	if (d->format == BLK_FMT_QCOW2)
		d->o.max_queues = 1;
	/* Each queue opens its own handle on connect; a second qcow2 handle
	 * open at the same time would race on metadata. */
	blk_image_close(d->probe);
	d->probe = NULL;
	*out = d;
	return 0;
}

void blkback_dev_close(struct blkback_dev *d)
{
	if (!d)
		return;
	blkback_dev_disconnect(d);
	free(d);
}

uint64_t blkback_dev_sectors(const struct blkback_dev *d)
{
	return d->size_bytes / BLKIF_SECTOR_BYTES;
}

unsigned blkback_dev_sector_size(const struct blkback_dev *d)
{
	return d->sector_size;
}

unsigned blkback_dev_max_queues(const struct blkback_dev *d)
{
	return d->o.max_queues;
}

const struct blkback_disk_opts *blkback_dev_opts(const struct blkback_dev *d)
{
	return &d->o;
}

int blkback_dev_connect(struct blkback_dev *d, struct pvback_dom *dom,
			const struct blkback_queue_cfg *cfg, unsigned nr_queues)
{
	int err = 0;

	if (d->connected || nr_queues < 1 || nr_queues > d->o.max_queues)
		return -EINVAL;
	for (unsigned i = 0; i < nr_queues; i++)
		if (cfg[i].ring_order > d->o.max_ring_page_order)
			return -EINVAL;
	d->broken = false;
	d->nr_queues = nr_queues;
	for (unsigned i = 0; i < nr_queues && !err; i++) {
		struct blkback_queue *q = &d->q[i];

		memset(q, 0, sizeof(*q));
		q->dev = d;
		q->idx = i;
		q->dom = dom;
		q->stop_fd = -1;
		q->max_segs = d->o.max_indirect_segs > BLKIF_MAX_SEGMENTS_PER_REQUEST ?
				      d->o.max_indirect_segs : BLKIF_MAX_SEGMENTS_PER_REQUEST;
		q->lim = (struct blkback_limits){
			.nr_sectors = blkback_dev_sectors(d), .sector_size = d->sector_size,
			.max_indirect_segs = d->o.max_indirect_segs, .readonly = d->o.readonly,
			.discard = d->o.discard,
		};
		err = blkback_queue_start(q, &cfg[i]);
		if (err)
			pv_log_err(TAG, "%s: queue %u: cannot connect: %s", d->path, i, strerror(-err));
	}
	d->connected = true;
	if (err)
		blkback_dev_disconnect(d);
	return err;
}

static void stats_add(struct blkback_stats *a, const struct blkback_stats *b)
{
	const uint64_t *s = (const uint64_t *)b;
	uint64_t *t = (uint64_t *)a;

	for (size_t i = 0; i < sizeof(*a) / sizeof(uint64_t); i++) {
		uint64_t v = __atomic_load_n(&s[i], __ATOMIC_RELAXED);

		if (i == offsetof(struct blkback_stats, lat_ns_max) / sizeof(uint64_t))
			t[i] = v > t[i] ? v : t[i];
		else
			t[i] += v;
	}
}

void blkback_dev_disconnect(struct blkback_dev *d)
{
	if (!d->connected)
		return;
	for (unsigned i = 0; i < d->nr_queues; i++) {
		blkback_queue_stop(&d->q[i]);
		stats_add(&d->base, &d->q[i].st);
		memset(&d->q[i].st, 0, sizeof(d->q[i].st));
	}
	d->connected = false;
}

bool blkback_dev_connected(const struct blkback_dev *d)
{
	return d->connected;
}

bool blkback_dev_broken(const struct blkback_dev *d)
{
	return __atomic_load_n(&d->broken, __ATOMIC_RELAXED);
}

void blkback_dev_get_stats(const struct blkback_dev *d, struct blkback_stats *out)
{
	*out = d->base;
	if (d->connected)
		for (unsigned i = 0; i < d->nr_queues; i++)
			stats_add(out, &d->q[i].st);
}
