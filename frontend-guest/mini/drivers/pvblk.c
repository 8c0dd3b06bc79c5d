/* SPDX-License-Identifier: MIT */
/* pvblk in the mini-guest: the core's blkfront (frontend-guest/core/blkfront.c)
 * behind the mini_blkdev interface.  Devices are the store's device/vbd/<id>
 * entries (waited for up to pvblk_wait_ms= after boot, default 0, so the
 * toolstack may create them after the guest started); each is connected with
 * the XenbusState handshake, one queue, a 4-page ring (128 requests).
 * Polled: submit publishes and rings at most one doorbell (only when the
 * backend sleeps), poll reaps responses.  A backend restart (pvkvm-blkback
 * killed and started again) is noticed when requests make no progress for
 * PVBLK_STALL_MS and the backend's state left Connected: the core then
 * republishes every request in flight (blkfront_bus_reconnect).  Hot-unplug:
 * wait_detach answers the backend's Closing with Closed. */
#include "blkfront.h"
#include "mini/blkdev.h"
#include "mini/mini.h"
#include "pv_mini.h"

#define PVBLK_MAX_DEVS 2
#define PVBLK_ERRQ 8
#define PVBLK_STALL_MS 50

struct pvblk {
	struct mini_blkdev bd;
	struct blkfront bf;
	struct pvfront_xs *xs;
	struct pvfront_dev dev;
	uint64_t last_progress;  /* rdtsc of the last completion or idle poll */
	unsigned reconnects;
	/* Requests refused before reaching the ring, completed by poll. */
	uint64_t err_tag[PVBLK_ERRQ];
	int err_status[PVBLK_ERRQ];
	unsigned nr_err;
};

static struct pvblk pvblk_devs[PVBLK_MAX_DEVS];

static int op_of(uint8_t mini_op)
{
	switch (mini_op) {
	case MINI_BLK_READ: return BLKIF_OP_READ;
	case MINI_BLK_WRITE: return BLKIF_OP_WRITE;
	case MINI_BLK_FLUSH: return BLKIF_OP_FLUSH;
	default: return -1;
	}
}

static unsigned pvblk_submit(struct mini_blkdev *bd, const struct mini_blk_req *r, unsigned n)
{
	struct pvblk *p = bd->priv;
	unsigned taken = 0;

	for (; taken < n; taken++) {
		struct blkfront_io io = { .sector = r[taken].sector, .buf_gpa = r[taken].buf_phys,
					  .len_bytes = r[taken].len_bytes, .tag = r[taken].tag };
		int op = op_of(r[taken].op), err;

		if (p->nr_err == PVBLK_ERRQ)
			break;
		io.op = (uint8_t)op;
		err = op < 0 ? -PVFRONT_EINVAL : blkfront_submit(&p->bf, 0, &io);
		if (err == -PVFRONT_EAGAIN)
			break;
		if (err) {
			p->err_tag[p->nr_err] = r[taken].tag;
			p->err_status[p->nr_err++] = MINI_BLK_EIO;
		}
	}
	blkfront_kick(&p->bf, 0);
	return taken;
}

/* Requests stalled: a backend that went away and came back (its state is
 * InitWait again) gets every request in flight again. */
static void pvblk_check_backend(struct pvblk *p)
{
	int st = pvfront_bus_backend_state(p->xs, &p->dev), err;

	p->last_progress = mini_rdtsc();
	if (st == PVFRONT_STATE_CONNECTED || st == 0)
		return;
	if (st != PVFRONT_STATE_INITWAIT && st != PVFRONT_STATE_INITIALISING)
		return; /* Closing/Closed: being unplugged; wait_detach handles it */
	printf("pvblk: %s: backend restarted, resubmitting %u requests\n", p->bd.name,
	       blkfront_in_flight(&p->bf, 0));
	err = blkfront_bus_reconnect(&p->bf, p->xs, &p->dev);
	if (err)
		printf("pvblk: %s: reconnect failed (%d)\n", p->bd.name, err);
	else
		p->reconnects++;
	p->last_progress = mini_rdtsc();
}

static unsigned pvblk_poll(struct mini_blkdev *bd, struct mini_blk_cpl *c, unsigned max)
{
	struct pvblk *p = bd->priv;
	struct blkfront_cpl cpl[32];
	unsigned got = 0;
	int n;

	while (p->nr_err && got < max) {
		p->nr_err--;
		c[got].tag = p->err_tag[p->nr_err];
		c[got++].status = p->err_status[p->nr_err];
	}
	if (got == max)
		return got;
	n = blkfront_poll(&p->bf, 0, cpl, max - got < 32 ? max - got : 32);
	if (n > 0 || !blkfront_in_flight(&p->bf, 0))
		p->last_progress = mini_rdtsc();
	else if (n == 0 && mini_rdtsc() - p->last_progress > mini_ns_to_cycles(PVBLK_STALL_MS * 1000000ull))
		pvblk_check_backend(p);
	for (int i = 0; i < n; i++) {
		c[got].tag = cpl[i].tag;
		c[got++].status = cpl[i].status == BLKIF_RSP_OKAY ? MINI_BLK_OK :
				  cpl[i].status == BLKIF_RSP_EOPNOTSUPP ? MINI_BLK_EUNSUPP : MINI_BLK_EIO;
	}
	return got;
}

/* Hot-unplug: the backend goes Closing; we answer Closing, then Closed. */
static int pvblk_wait_detach(struct mini_blkdev *bd, uint64_t timeout_ms)
{
	struct pvblk *p = bd->priv;
	uint64_t t0 = mini_rdtsc(), limit = mini_ns_to_cycles(timeout_ms * 1000000);

	while (pvfront_bus_backend_state(p->xs, &p->dev) < PVFRONT_STATE_CLOSING) {
		uint64_t t1 = mini_rdtsc();

		if (t1 - t0 > limit)
			return MINI_BLK_EIO;
		while (mini_rdtsc() - t1 < mini_ns_to_cycles(10000000))
			; /* 10 ms between store reads */
	}
	if (blkfront_in_flight(&p->bf, 0) || pvfront_bus_close(p->xs, &p->dev))
		return MINI_BLK_EIO;
	return MINI_BLK_OK;
}

static const struct mini_blkdev_ops pvblk_ops = { .submit = pvblk_submit, .poll = pvblk_poll,
						  .wait_detach = pvblk_wait_detach };

static unsigned pvblk_probe(struct mini_blkdev **devs, unsigned max)
{
	struct pvfront_dev found[PVBLK_MAX_DEVS];
	uint64_t t0 = mini_rdtsc(), wait = mini_ns_to_cycles(mini_opt_u64("pvblk_wait_ms", 0) * 1000000);
	struct pvfront_xs *xs;
	struct pvfront *f;
	unsigned got = 0;
	int n;

	if (pv_mini_store(&f, &xs))
		return 0;
	/* 32 frames: 16k references, 128 requests x 128 pages in flight. */
	if (f->gnt_nr_frames < 32 && pvfront_gnt_setup(f, 32)) {
		printf("pvblk: grant table setup failed\n");
		return 0;
	}
	while ((n = pvfront_bus_discover(xs, "vbd", found, PVBLK_MAX_DEVS)) <= 0)
		if (mini_rdtsc() - t0 > wait) {
			if (wait)
				printf("pvblk: no device/vbd in the store (%d)\n", n);
			return 0;
		}
	for (int i = 0; i < n && got < max; i++) {
		struct pvblk *p = &pvblk_devs[got];
		int err = blkfront_bus_connect(&p->bf, xs, &found[i], 1, 2);

		if (err) {
			printf("pvblk: %s: connect failed (%d)\n", found[i].nodename, err);
			continue;
		}
		snprintf(p->bd.name, sizeof(p->bd.name), "pvblk%u", got);
		p->bd.ops = &pvblk_ops;
		p->bd.sector_size = p->bf.feat.sector_size;
		p->bd.capacity_sectors = p->bf.feat.sectors;
		p->bd.queue_depth = p->bf.q[0].nr_ents;
		/* The load generator's buffers are page-aligned: a full
		 * indirect request (1 MiB) fits; an unaligned one that needs
		 * one page more completes with MINI_BLK_EIO. */
		p->bd.max_io_bytes = p->bf.feat.max_indirect_segs > BLKIF_MAX_SEGMENTS_PER_REQUEST ?
					     p->bf.feat.max_indirect_segs * 4096u :
					     blkfront_max_io_bytes(&p->bf);
		p->bd.read_only = p->bf.feat.readonly;
		p->bd.has_flush = p->bf.feat.flush;
		p->bd.priv = p;
		p->xs = xs;
		p->dev = found[i];
		p->last_progress = mini_rdtsc();
		printf("pvblk: %s: %s, %lu sectors of 512, sector size %u, %u entries, max I/O %u KiB%s\n",
		       p->bd.name, found[i].nodename, (unsigned long)p->bd.capacity_sectors,
		       p->bd.sector_size, p->bd.queue_depth, p->bd.max_io_bytes >> 10,
		       p->bd.read_only ? ", read-only" : "");
		devs[got++] = &p->bd;
	}
	return got;
}

MINI_BLK_DRIVER(pvblk, "pvblk", pvblk_probe);
