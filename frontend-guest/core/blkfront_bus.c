/* SPDX-License-Identifier: MIT */
/* pvblk frontend: the XenbusState handshake on the core's store client.
 * Backend keys are read after its InitWait; ours are published with
 * Initialised in one transaction by pvfront_bus_connect(). */
#include "blkfront.h"

static int path2(char *buf, unsigned cap, const char *a, const char *b)
{
	unsigned n = 0;

	for (const char *s = a; *s; s++)
		if (n + 1 < cap)
			buf[n++] = *s;
		else
			return -PVFRONT_E2BIG;
	if (n + 1 >= cap)
		return -PVFRONT_E2BIG;
	buf[n++] = '/';
	for (const char *s = b; *s; s++)
		if (n + 1 < cap)
			buf[n++] = *s;
		else
			return -PVFRONT_E2BIG;
	buf[n] = '\0';
	return 0;
}

int blkfront_bus_read_backend(struct pvfront_xs *xs, const struct pvfront_dev *dev,
			      const char *key, uint64_t max, uint64_t *out)
{
	char path[160], val[24];
	int err;

	if ((err = path2(path, sizeof(path), dev->backend, key)))
		return err;
	err = pvfront_xs_read(xs, 0, path, val, sizeof(val));
	if (err < 0)
		return err;
	return pvfront_atou(val, max, out);
}

/* Waits until the backend's state is lo..hi (watch on it). */
static int wait_backend_in(struct pvfront_xs *xs, const struct pvfront_dev *dev, int lo, int hi)
{
	char path[160];
	struct pvfront_xs_event ev;
	const char *p, *t;
	int err, st;

	if ((err = path2(path, sizeof(path), dev->backend, "state")) ||
	    (err = pvfront_xs_watch(xs, path, "blkfront")))
		return err;
	for (;;) {
		st = pvfront_bus_backend_state(xs, dev);
		if (st >= lo && st <= hi) {
			err = 0;
			break;
		}
		err = pvfront_xs_next_event(xs, true, &ev, &p, &t);
		if (err < 0)
			break;
	}
	pvfront_xs_unwatch(xs, path, "blkfront");
	return err;
}

static int read_features(struct blkfront *bf, struct pvfront_xs *xs, const struct pvfront_dev *dev)
{
	struct blkfront_features *ft = &bf->feat;
	uint64_t v;
	int err;

	if ((err = blkfront_bus_read_backend(xs, dev, BLKIF_KEY_SECTORS, UINT64_MAX / 512, &ft->sectors)))
		return err;
	if (blkfront_bus_read_backend(xs, dev, BLKIF_KEY_SECTOR_SIZE, 4096, &v) || (v != 512 && v != 4096))
		return -PVFRONT_EINVAL;
	ft->sector_size = (uint32_t)v;
#define FEAT(key, field) ft->field = !blkfront_bus_read_backend(xs, dev, key, 1, &v) && v
	FEAT(BLKIF_KEY_FEATURE_FLUSH, flush);
	FEAT(BLKIF_KEY_FEATURE_FUA, fua);
	FEAT(BLKIF_KEY_FEATURE_DISCARD, discard);
	FEAT(BLKIF_KEY_FEATURE_WRITE_ZEROES, write_zeroes);
#undef FEAT
	ft->readonly = !blkfront_bus_read_backend(xs, dev, BLKIF_KEY_INFO, 0xffff, &v) &&
		       (v & BLKIF_INFO_READONLY);
	v = 0;
	blkfront_bus_read_backend(xs, dev, BLKIF_KEY_FEATURE_MAX_INDIRECT, BLKIF_MAX_INDIRECT_SEGMENTS, &v);
	ft->max_indirect_segs = (uint32_t)v;
	v = 1;
	blkfront_bus_read_backend(xs, dev, BLKIF_KEY_MQ_MAX_QUEUES, 64, &v);
	ft->max_queues = v ? (uint32_t)v : 1;
	v = 0;
	blkfront_bus_read_backend(xs, dev, BLKIF_KEY_MAX_RING_PAGE_ORDER, RING_MAX_PAGE_ORDER, &v);
	ft->max_ring_order = (uint32_t)v;
	return 0;
}

/* Appends s to strbuf; returns the copy or NULL when full. */
static const char *sb_put(struct blkfront *bf, unsigned *used, const char *a, const char *b)
{
	char *dst = bf->strbuf + *used;
	unsigned cap = sizeof(bf->strbuf) - *used, n = 0;

	for (const char *s = a; s && *s; s++)
		if (n + 1 < cap)
			dst[n++] = *s;
	for (const char *s = b; s && *s; s++)
		if (n + 1 < cap)
			dst[n++] = *s;
	if (n + 1 >= cap)
		return NULL;
	dst[n++] = '\0';
	*used += n;
	return dst;
}

static int add_key(struct blkfront *bf, unsigned *used, const char *prefix, const char *key,
		   uint64_t v)
{
	char num[24];

	if (pvfront_utoa(v, num, sizeof(num)) < 0)
		return -PVFRONT_E2BIG;
	bf->keys[bf->nr_keys] = sb_put(bf, used, prefix, key);
	bf->vals[bf->nr_keys] = sb_put(bf, used, num, NULL);
	if (!bf->keys[bf->nr_keys] || !bf->vals[bf->nr_keys])
		return -PVFRONT_E2BIG;
	bf->nr_keys++;
	return 0;
}

static int build_keys(struct blkfront *bf)
{
	unsigned used = 0;
	int err = 0;

	bf->nr_keys = 0;
	if (bf->nr_queues > 1)
		err = add_key(bf, &used, "", BLKIF_KEY_MQ_NUM_QUEUES, bf->nr_queues);
	if (!err && bf->ring_order)
		err = add_key(bf, &used, "", BLKIF_KEY_RING_PAGE_ORDER, bf->ring_order);
	for (unsigned qi = 0; qi < bf->nr_queues && !err; qi++) {
		char prefix[16] = "queue-";

		if (bf->nr_queues == 1)
			prefix[0] = '\0';
		else {
			pvfront_utoa(qi, prefix + 6, 6);
			unsigned n = 0;
			while (prefix[n])
				n++;
			prefix[n] = '/';
			prefix[n + 1] = '\0';
		}
		for (unsigned i = 0; i < (1u << bf->ring_order) && !err; i++) {
			char key[16] = "ring-ref";

			if (bf->ring_order)
				pvfront_utoa(i, key + 8, 8);
			err = add_key(bf, &used, prefix, key, bf->q[qi].ring_ref[i]);
		}
		if (!err)
			err = add_key(bf, &used, prefix, BLKIF_KEY_EVENT_CHANNEL, bf->q[qi].port);
	}
	if (!err) {
		bf->keys[bf->nr_keys] = sb_put(bf, &used, BLKIF_KEY_PROTOCOL, NULL);
		bf->vals[bf->nr_keys] = sb_put(bf, &used, BLKIF_PROTOCOL_NATIVE, NULL);
		err = bf->keys[bf->nr_keys] && bf->vals[bf->nr_keys] ? 0 : -PVFRONT_E2BIG;
		bf->nr_keys += !err;
	}
	return err;
}

int blkfront_bus_connect(struct blkfront *bf, struct pvfront_xs *xs,
			 const struct pvfront_dev *dev, unsigned want_queues, unsigned want_order)
{
	struct blkfront_features ft;
	int err;

	if ((err = wait_backend_in(xs, dev, PVFRONT_STATE_INITWAIT, PVFRONT_STATE_INITWAIT)))
		return err;
	/* Features first (blkfront_init clears bf). */
	bf->f = xs->f;
	if ((err = read_features(bf, xs, dev)))
		return err;
	ft = bf->feat;
	if (want_queues > ft.max_queues)
		want_queues = ft.max_queues;
	if (want_queues > BLKFRONT_MAX_QUEUES)
		want_queues = BLKFRONT_MAX_QUEUES;
	if (want_order > ft.max_ring_order)
		want_order = ft.max_ring_order;
	if ((err = blkfront_init(bf, xs->f, dev->backend_id, want_queues ? want_queues : 1, want_order)))
		return err;
	bf->feat = ft;
	if ((err = build_keys(bf)))
		return err;
	return pvfront_bus_connect(xs, dev, bf->keys, bf->vals, bf->nr_keys);
}

int blkfront_bus_reconnect(struct blkfront *bf, struct pvfront_xs *xs,
			   const struct pvfront_dev *dev)
{
	int err;

	if ((err = wait_backend_in(xs, dev, PVFRONT_STATE_INITWAIT, PVFRONT_STATE_INITWAIT)))
		return err;
	blkfront_recover(bf);
	if ((err = pvfront_bus_connect(xs, dev, bf->keys, bf->vals, bf->nr_keys)))
		return err;
	for (unsigned qi = 0; qi < bf->nr_queues; qi++)
		blkfront_kick(bf, qi);
	return 0;
}
