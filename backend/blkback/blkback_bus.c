/* SPDX-License-Identifier: MIT */
/* The backend half of the vbd XenbusState handshake: advertise, wait for the
 * frontend's rings, connect.  Every frontend key is guest-written and
 * range-checked by pvback_bus_read_fe_uint(). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "blkback_int.h"
#include "pv_log.h"
#include "pvback_bus.h"

#define TAG "blkback"

static int be_write(struct pvback_bus_dev *b, const char *key, uint64_t v)
{
	char path[160], val[24];
	int n = snprintf(val, sizeof(val), "%llu", (unsigned long long)v);

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", b->be, key) >= sizeof(path))
		return -ENAMETOOLONG;
	return xs_write(b->c, 0, path, val, (size_t)n);
}

static int be_advertise(struct blkback_dev *d, struct pvback_bus_dev *b)
{
	const struct blkback_disk_opts *o = &d->o;
	struct { const char *key; uint64_t v; } kv[] = {
		{ BLKIF_KEY_SECTORS, blkback_dev_sectors(d) },
		{ BLKIF_KEY_SECTOR_SIZE, d->sector_size },
		{ BLKIF_KEY_PHYSICAL_SECTOR_SIZE, d->sector_size > 4096 ? d->sector_size : 4096 },
		{ BLKIF_KEY_INFO, o->readonly ? BLKIF_INFO_READONLY : 0 },
		{ BLKIF_KEY_FEATURE_FLUSH, 1 },
		{ BLKIF_KEY_FEATURE_FUA, 1 },
		{ BLKIF_KEY_FEATURE_DISCARD, o->discard && !o->readonly },
		{ BLKIF_KEY_DISCARD_GRANULARITY, d->sector_size },
		{ BLKIF_KEY_DISCARD_ALIGNMENT, 0 },
		{ BLKIF_KEY_FEATURE_WRITE_ZEROES, !o->readonly },
		{ BLKIF_KEY_FEATURE_PERSISTENT, 0 },
		{ BLKIF_KEY_FEATURE_MAX_INDIRECT, o->max_indirect_segs },
		{ BLKIF_KEY_MQ_MAX_QUEUES, o->max_queues },
		{ BLKIF_KEY_MAX_RING_PAGE_ORDER, o->max_ring_page_order },
	};
	char path[160];
	int err = 0;

	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]) && !err; i++)
		err = be_write(b, kv[i].key, kv[i].v);
	snprintf(path, sizeof(path), "%s/%s", b->be, BLKIF_KEY_MODE);
	if (!err)
		err = xs_write(b->c, 0, path, o->readonly ? "r" : "w", 1);
	return err;
}

/* One queue's keys under prefix ("" or "queue-N/"). */
static int fe_read_queue(struct pvback_bus_dev *b, const char *prefix, unsigned max_order,
			 struct blkback_queue_cfg *q)
{
	char key[64];
	uint64_t v;
	int err;

	snprintf(key, sizeof(key), "%s%s", prefix, BLKIF_KEY_RING_PAGE_ORDER);
	err = pvback_bus_read_fe_uint(b, key, max_order, &v);
	if (err == -ENOENT && prefix[0]) /* Xen puts the order at the top level */
		err = pvback_bus_read_fe_uint(b, BLKIF_KEY_RING_PAGE_ORDER, max_order, &v);
	if (err == -ENOENT) {
		v = 0;
		err = 0;
	}
	if (err)
		return err;
	q->ring_order = (uint32_t)v;
	for (unsigned i = 0; i < (1u << q->ring_order); i++) {
		if (q->ring_order == 0)
			snprintf(key, sizeof(key), "%s%s", prefix, BLKIF_KEY_RING_REF);
		else
			snprintf(key, sizeof(key), "%s" BLKIF_KEY_RING_REF_FMT, prefix, i);
		if ((err = pvback_bus_read_fe_uint(b, key, UINT32_MAX, &v)))
			return err;
		q->ring_ref[i] = (uint32_t)v;
	}
	snprintf(key, sizeof(key), "%s%s", prefix, BLKIF_KEY_EVENT_CHANNEL);
	if ((err = pvback_bus_read_fe_uint(b, key, UINT32_MAX, &v)))
		return err;
	q->port = (uint32_t)v;
	return 0;
}

static int fe_read_rings(struct blkback_dev *d, struct pvback_bus_dev *b,
			 struct blkback_queue_cfg *q, unsigned *nr)
{
	uint64_t n = 1;
	int err = pvback_bus_read_fe_uint(b, BLKIF_KEY_MQ_NUM_QUEUES, d->o.max_queues, &n);

	if (err == -ENOENT)
		return *nr = 1, fe_read_queue(b, "", d->o.max_ring_page_order, &q[0]);
	if (err || n == 0)
		return err ? err : -EINVAL;
	*nr = (unsigned)n;
	for (unsigned i = 0; i < *nr; i++) {
		char prefix[24];

		snprintf(prefix, sizeof(prefix), BLKIF_KEY_QUEUE_FMT "/", i);
		if ((err = fe_read_queue(b, prefix, d->o.max_ring_page_order, &q[i])))
			return err;
	}
	return 0;
}

int blkback_bus_connect(struct blkback_dev *d, struct xs_client *c, struct pvback_dom *dom,
			uint16_t fe_domid, uint32_t devid, int timeout_ms)
{
	struct blkback_queue_cfg q[BLKBACK_MAX_QUEUES];
	struct pvback_bus_dev b;
	unsigned nr = 0;
	int err;

	memset(q, 0, sizeof(q));
	if ((err = pvback_bus_open(&b, c, "vbd", fe_domid, devid)))
		return err;
	if ((err = be_advertise(d, &b)) || (err = pvback_bus_set_state(&b, PVBACK_STATE_INITWAIT)))
		goto fail;
	/* Exactly Initialised: a frontend still Connected to a backend that
	 * died first re-publishes fresh rings (blkfront_recover) when it sees
	 * us in InitWait; its old ring may hold overwritten request slots. */
	err = pvback_bus_wait_frontend(&b, PVBACK_STATE_INITIALISED, PVBACK_STATE_INITIALISED,
				       timeout_ms);
	if (err < 0)
		goto fail;
	if ((err = fe_read_rings(d, &b, q, &nr))) {
		pv_log_err(TAG, "%s: frontend %u/%u published bad ring keys (%s)", d->path, fe_domid,
			   devid, strerror(-err));
		goto fail;
	}
	if ((err = blkback_dev_connect(d, dom, q, nr)))
		goto fail;
	if ((err = pvback_bus_set_state(&b, PVBACK_STATE_CONNECTED)))
		goto fail;
	return 0;
fail:
	blkback_dev_disconnect(d);
	pvback_bus_set_state(&b, PVBACK_STATE_CLOSED);
	return err;
}

int blkback_bus_disconnect(struct blkback_dev *d, struct xs_client *c, uint16_t fe_domid,
			   uint32_t devid)
{
	struct pvback_bus_dev b;
	int err = pvback_bus_open(&b, c, "vbd", fe_domid, devid);

	if (!err)
		pvback_bus_set_state(&b, PVBACK_STATE_CLOSING);
	blkback_dev_disconnect(d);
	if (!err)
		err = pvback_bus_set_state(&b, PVBACK_STATE_CLOSED);
	return err;
}

int blkback_bus_write_stats(struct blkback_dev *d, struct xs_client *c, uint16_t fe_domid,
			    uint32_t devid)
{
	struct blkback_stats s;
	struct pvback_bus_dev b;
	uint64_t nreq;
	int err = pvback_bus_open(&b, c, "vbd", fe_domid, devid);

	if (err)
		return err;
	blkback_dev_get_stats(d, &s);
	nreq = s.rd_req + s.wr_req + s.flush_req + s.discard_req + s.zeroes_req;
	struct { const char *key; uint64_t v; } kv[] = {
		{ "statistics/rd_req", s.rd_req }, { "statistics/wr_req", s.wr_req },
		{ "statistics/f_req", s.flush_req }, { "statistics/ds_req", s.discard_req },
		{ "statistics/wz_req", s.zeroes_req }, { "statistics/rd_sect", s.rd_bytes / 512 },
		{ "statistics/wr_sect", s.wr_bytes / 512 }, { "statistics/errors", s.errors },
		{ "statistics/invalid", s.invalid },
		{ "statistics/lat_avg_ns", nreq ? s.lat_ns_total / nreq : 0 },
		{ "statistics/lat_max_ns", s.lat_ns_max },
	};
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]) && !err; i++)
		err = be_write(&b, kv[i].key, kv[i].v);
	return err;
}
