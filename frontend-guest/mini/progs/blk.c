/* SPDX-License-Identifier: MIT */
/*
 * test=blk: an fio-like load generator over struct mini_blkdev.
 *   dev=NAME rw=read|write|rw|randread|randwrite|randrw bs=4k qd=1 runtime=5
 *   (or runtime_ms=) size=BYTES offset=BYTES verify=0|1 rwmix=70 seed=1
 *   loops=N (sequential passes over the region, 0 = until runtime)
 *   ios=N (stop after N I/Os, 0 = until runtime)
 *   readback=1 (then read the region once, verifying; a second RESULT line)
 *   fsync=N (after every N writes: drain, flush, and print "blk: flushed through
 *   byte X" -- for a first sequential write pass, every byte of [offset, X)
 *   is then durable; the durability tests kill the VMM and check that)
 *   detach_wait_ms=N (at the end: print "blk: waiting for detach", wait up to
 *   N ms for the host to unplug the device (pvkvm detach-disk), and fail if not)
 * Written data carries a per-512-byte pattern: {"MINIBLK1", sector, seed,
 * mix(sector, seed, i)...}; verify=1 checks it on every read (so a read job
 * expects the region to have been written with the same seed).  Prints fio-like
 * lines and one machine-readable "RESULT key=value ..." line.
 */
#include "mini/blkdev.h"
#include "mini/hist.h"

#define MAX_QD 256
#define MAX_BAD_REPORTS 5

struct blk_job {
	const char *rw;
	bool rand, verify;
	unsigned read_pct;            /* 100 read, 0 write, else mixed */
	uint64_t bs, qd, offset, size, runtime_ns, seed, loops, max_ios, fsync;
};

struct blk_io {
	uint8_t *buf;
	uint64_t off;                 /* bytes from the device start */
	uint64_t t_submit;
	uint8_t op;
};

struct blk_stats {
	struct mini_hist lat[2];      /* ns, by MINI_BLK_READ / MINI_BLK_WRITE */
	uint64_t bytes[2], errors, verify_errors;
};

struct blk_run {
	struct blk_job job;
	struct mini_blkdev *dev;
	struct blk_io io[MAX_QD];
	uint16_t free_ids[MAX_QD];
	unsigned nr_free;
	uint64_t next_seq, issued, rng, passes;
	bool stopping, draining;      /* draining: let in-flight I/O finish for a flush */
	uint64_t writes_since_flush;
	struct blk_stats st;
};

static struct blk_run run;    /* large (histograms): static, not on the stack */

static uint64_t rng_next(uint64_t *s)   /* xorshift64* */
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static int job_parse(struct blk_job *j, const struct mini_blkdev *d)
{
	static const struct { const char *name; bool rand; unsigned read_pct; } modes[] = {
		{ "read", false, 100 }, { "write", false, 0 }, { "randread", true, 100 },
		{ "randwrite", true, 0 }, { "randrw", true, 50 }, { "rw", false, 50 },
	};
	uint64_t cap = d->capacity_sectors * 512, rt_ms;
	unsigned m;

	j->rw = mini_opt_str("rw", "randread");
	for (m = 0; m < MINI_ARRAY_SIZE(modes) && strcmp(modes[m].name, j->rw); m++)
		;
	if (m == MINI_ARRAY_SIZE(modes)) {
		printf("blk: rw=%s: want read, write, randread, randwrite, randrw or rw\n", j->rw);
		return -1;
	}
	j->rand = modes[m].rand;
	j->read_pct = modes[m].read_pct == 50 ? (unsigned)mini_opt_u64("rwmix", 70) : modes[m].read_pct;
	j->bs = mini_opt_u64("bs", 4096);
	j->qd = mini_opt_u64("qd", 1);
	j->offset = mini_opt_u64("offset", 0);
	j->size = mini_opt_u64("size", cap > j->offset ? cap - j->offset : 0);
	rt_ms = mini_opt_u64("runtime_ms", mini_opt_u64("runtime", 5) * 1000);
	j->runtime_ns = rt_ms * 1000000;
	j->verify = mini_opt_u64("verify", 0) != 0;
	j->seed = mini_opt_u64("seed", 1);
	j->loops = mini_opt_u64("loops", 0);
	j->max_ios = mini_opt_u64("ios", 0);
	j->fsync = mini_opt_u64("fsync", 0);
	if (!j->bs || j->bs % d->sector_size || j->bs > d->max_io_bytes) {
		printf("blk: bs=%lu: want a multiple of %u up to %u\n", (unsigned long)j->bs,
		       d->sector_size, d->max_io_bytes);
		return -1;
	}
	if (!j->qd || j->qd > d->queue_depth || j->qd > MAX_QD) {
		printf("blk: qd=%lu: want 1..%u\n", (unsigned long)j->qd,
		       d->queue_depth < MAX_QD ? d->queue_depth : MAX_QD);
		return -1;
	}
	if (j->read_pct > 100 || j->offset % j->bs || j->size < j->bs || j->offset > cap ||
	    j->size > cap - j->offset) {
		printf("blk: offset/size/rwmix outside the device (%lu bytes)\n", (unsigned long)cap);
		return -1;
	}
	j->size -= j->size % j->bs;
	if (!rt_ms && !j->loops && !j->max_ios)
		j->runtime_ns = 5000000000ull;
	return 0;
}

static struct mini_blkdev *pick_device(void)
{
	struct mini_blkdev **devs;
	unsigned n = mini_blk_probe_all(&devs);
	const char *want = mini_opt_str("dev", NULL);

	for (unsigned i = 0; i < n; i++)
		if (!want || !strcmp(devs[i]->name, want))
			return devs[i];
	printf("blk: no block device%s%s found (%u probed)\n", want ? " named " : "", want ? want : "", n);
	return NULL;
}

/* Fills one request for io slot id; false when the job has issued everything. */
static bool io_prepare(struct blk_run *r, uint16_t id, struct mini_blk_req *req)
{
	struct blk_job *j = &r->job;
	struct blk_io *io = &r->io[id];
	uint64_t nblocks = j->size / j->bs;

	if (r->stopping || r->draining || (j->max_ios && r->issued >= j->max_ios))
		return false;
	if (j->rand) {
		io->off = j->offset + rng_next(&r->rng) % nblocks * j->bs;
	} else {
		if (r->next_seq >= j->size) {
			r->next_seq = 0;
			if (j->loops && ++r->passes >= j->loops) {
				r->stopping = true;
				return false;
			}
		}
		io->off = j->offset + r->next_seq;
		r->next_seq += j->bs;
	}
	io->op = j->read_pct == 100 ? MINI_BLK_READ : j->read_pct == 0 ? MINI_BLK_WRITE :
		 rng_next(&r->rng) % 100 < j->read_pct ? MINI_BLK_READ : MINI_BLK_WRITE;
	if (io->op == MINI_BLK_WRITE && j->verify)
		mini_blk_pattern_fill(io->buf, io->off / 512, j->bs / 512, j->seed);
	*req = (struct mini_blk_req){ .sector = io->off / 512, .buf_phys = (uintptr_t)io->buf,
				      .len_bytes = (uint32_t)j->bs, .op = io->op, .tag = id };
	r->issued++;
	return true;
}

static void io_complete(struct blk_run *r, const struct mini_blk_cpl *c, uint64_t now)
{
	struct blk_io *io = &r->io[c->tag];

	if (c->status) {
		if (r->st.errors++ < MAX_BAD_REPORTS)
			printf("blk: %s at byte %lu failed (%d)\n", io->op ? "write" : "read",
			       (unsigned long)io->off, c->status);
	} else {
		mini_hist_add(&r->st.lat[io->op], mini_cycles_to_ns(now - io->t_submit));
		r->st.bytes[io->op] += r->job.bs;
		if (io->op == MINI_BLK_WRITE && r->job.fsync && ++r->writes_since_flush >= r->job.fsync)
			r->draining = true;
		if (io->op == MINI_BLK_READ && r->job.verify)
			r->st.verify_errors += mini_blk_pattern_check(io->buf, io->off / 512,
								      r->job.bs / 512, r->job.seed,
								      r->st.verify_errors < MAX_BAD_REPORTS);
	}
	r->free_ids[r->nr_free++] = (uint16_t)c->tag;
}

/* Makes written data durable before we report (and before the host looks). */
static int flush_device(struct mini_blkdev *d)
{
	struct mini_blk_req req = { .op = MINI_BLK_FLUSH };

	return d->has_flush ? mini_blk_sync(d, &req, 30000) : 0;
}

/* fsync=N: everything issued so far has completed; make it durable. */
static void blk_periodic_flush(struct blk_run *r)
{
	int rc = flush_device(r->dev);

	if (rc) {
		printf("blk: flush failed (%d)\n", rc);
		r->st.errors++;
		r->stopping = true;
	} else if (!r->job.rand && r->job.fsync) {
		printf("blk: flushed through byte %lu\n", (unsigned long)(r->job.offset +
		       (r->passes ? r->job.size : r->next_seq)));
	}
	r->writes_since_flush = 0;
	r->draining = false;
}

/* Keeps qd requests in flight until the job ends; returns elapsed cycles.
 * Requests the driver could not take yet stay in pend[] for the next round. */
static uint64_t blk_loop(struct blk_run *r)
{
	static struct mini_blk_req pend[MAX_QD];
	static struct mini_blk_cpl cpls[MAX_QD];
	unsigned npend = 0;
	uint64_t t0 = mini_rdtsc(), deadline = r->job.runtime_ns ?
		t0 + mini_ns_to_cycles(r->job.runtime_ns) : UINT64_MAX, now = t0;

	for (;;) {
		unsigned taken = 0, got;

		while (r->nr_free && io_prepare(r, r->free_ids[r->nr_free - 1], &pend[npend])) {
			r->nr_free--;
			npend++;
		}
		if (!npend && r->nr_free == r->job.qd && r->draining) {
			blk_periodic_flush(r);
			continue;
		}
		if (!npend && r->nr_free == r->job.qd)
			break;     /* nothing in flight and nothing more to issue */
		if (npend) {
			now = mini_rdtsc();
			for (unsigned i = 0; i < npend; i++)
				r->io[pend[i].tag].t_submit = now;
			taken = r->dev->ops->submit(r->dev, pend, npend);
			memmove(pend, pend + taken, (npend - taken) * sizeof(pend[0]));
			npend -= taken;
		}
		got = r->dev->ops->poll(r->dev, cpls, MAX_QD);
		now = mini_rdtsc();
		for (unsigned i = 0; i < got; i++)
			io_complete(r, &cpls[i], now);
		if (now >= deadline)
			r->stopping = true;
	}
	return now - t0;
}

/* Prints v/100 with two decimals. */
static void fmt_centi(char *buf, size_t n, uint64_t v)
{
	snprintf(buf, n, "%lu.%02lu", (unsigned long)(v / 100), (unsigned long)(v % 100));
}

/* MiB/s times 100, without 64-bit overflow below ~16 TiB moved. */
static uint64_t mibps_centi(uint64_t bytes, uint64_t ns)
{
	uint64_t us = ns / 1000;

	return us ? bytes * 1000000 / us * 100 / (1 << 20) : 0;
}

static void report_dir(const struct blk_run *r, int op, uint64_t ns)
{
	const struct mini_hist *h = &r->st.lat[op];
	uint64_t iops = ns ? h->count * 1000000000ull / ns : 0;
	char bw[24], mean[24], p50[24], p99[24], mx[24];

	if (!h->count)
		return;
	fmt_centi(bw, sizeof(bw), mibps_centi(r->st.bytes[op], ns));
	fmt_centi(mean, sizeof(mean), h->sum / h->count / 10);
	fmt_centi(p50, sizeof(p50), mini_hist_percentile(h, 50) / 10);
	fmt_centi(p99, sizeof(p99), mini_hist_percentile(h, 99) / 10);
	fmt_centi(mx, sizeof(mx), h->max / 10);
	printf("blk: %-5s: ios=%lu IOPS=%lu BW=%s MiB/s lat(us) mean=%s p50=%s p99=%s max=%s\n",
	       op == MINI_BLK_READ ? "read" : "write", (unsigned long)h->count,
	       (unsigned long)iops, bw, mean, p50, p99, mx);
}

static void report(const struct blk_run *r, uint64_t ns)
{
	struct mini_hist all = r->st.lat[0];
	const struct mini_hist *w = &r->st.lat[1];
	uint64_t bytes = r->st.bytes[0] + r->st.bytes[1];
	char bw[24];

	/* merge the write histogram into a copy of the read one for the totals */
	for (unsigned b = 0; b < MINI_HIST_BUCKETS; b++)
		all.bucket[b] += w->bucket[b];
	all.count += w->count;
	all.sum += w->sum;
	all.min = w->min < all.min ? w->min : all.min;
	all.max = w->max > all.max ? w->max : all.max;
	report_dir(r, MINI_BLK_READ, ns);
	report_dir(r, MINI_BLK_WRITE, ns);
	fmt_centi(bw, sizeof(bw), mibps_centi(bytes, ns));
	printf("RESULT dev=%s rw=%s bs=%lu qd=%lu runtime_ms=%lu ios=%lu iops=%lu mibps=%s "
	       "lat_mean_ns=%lu lat_p50_ns=%lu lat_p99_ns=%lu lat_max_ns=%lu "
	       "read_ios=%lu write_ios=%lu errors=%lu verify=%d verify_errors=%lu\n",
	       r->dev->name, r->job.rw, (unsigned long)r->job.bs, (unsigned long)r->job.qd,
	       (unsigned long)(ns / 1000000), (unsigned long)all.count,
	       (unsigned long)(ns ? all.count * 1000000000ull / ns : 0), bw,
	       (unsigned long)(all.count ? all.sum / all.count : 0),
	       (unsigned long)mini_hist_percentile(&all, 50), (unsigned long)mini_hist_percentile(&all, 99),
	       (unsigned long)all.max, (unsigned long)r->st.lat[0].count, (unsigned long)w->count,
	       (unsigned long)r->st.errors, r->job.verify, (unsigned long)r->st.verify_errors);
}

/* readback=1: after the job, read the whole region once and check the
 * pattern (one boot writes and verifies: QEMU -M pc takes seconds to boot). */
static void blk_readback(struct blk_run *r)
{
	uint64_t errors = r->st.errors, verify_errors = r->st.verify_errors;

	r->job.rw = "read";
	r->job.rand = false;
	r->job.read_pct = 100;
	r->job.verify = true;
	r->job.loops = 1;
	r->job.runtime_ns = 0;
	r->job.max_ios = 0;
	r->job.fsync = 0;
	r->next_seq = r->issued = r->passes = 0;
	r->stopping = r->draining = false;
	memset(&r->st, 0, sizeof(r->st));
	mini_hist_init(&r->st.lat[0]);
	mini_hist_init(&r->st.lat[1]);
	printf("blk: read back offset=%lu size=%lu with verification\n", (unsigned long)r->job.offset,
	       (unsigned long)r->job.size);
	report(r, mini_cycles_to_ns(blk_loop(r)));
	r->st.errors += errors;
	r->st.verify_errors += verify_errors;
}

/* detach_wait_ms=N: the host unplugs the device now (hot-plug tests). */
static int blk_wait_detach(struct mini_blkdev *d)
{
	int rc;

	if (!d->ops->wait_detach) {
		printf("blk: %s cannot be hot-unplugged\n", d->name);
		return -1;
	}
	printf("blk: waiting for detach\n");
	rc = d->ops->wait_detach(d, mini_opt_u64("detach_wait_ms", 0));
	printf(rc ? "blk: %s was not detached (%d)\n" : "blk: %s detached\n", d->name, rc);
	return rc;
}

static int blk_main(const char *arg)
{
	struct blk_run *r = &run;
	uint64_t cycles, ns;

	(void)arg;
	r->dev = pick_device();
	if (!r->dev)
		return MINI_EXIT_NODEV;
	if (job_parse(&r->job, r->dev))
		return MINI_EXIT_USAGE;
	r->rng = r->job.seed * 0x9e3779b97f4a7c15ull | 1;
	for (unsigned i = 0; i < r->job.qd; i++) {
		r->io[i].buf = mini_pages_alloc((r->job.bs + MINI_PAGE_SIZE - 1) / MINI_PAGE_SIZE);
		if (!r->io[i].buf) {
			printf("blk: out of memory for %lu buffers of %lu bytes\n",
			       (unsigned long)r->job.qd, (unsigned long)r->job.bs);
			return MINI_EXIT_FAIL;
		}
		if (!r->job.verify)   /* something other than zeroes, written once */
			mini_blk_pattern_fill(r->io[i].buf, i, r->job.bs / 512, r->job.seed);
		r->free_ids[r->nr_free++] = (uint16_t)i;
	}
	mini_hist_init(&r->st.lat[0]);
	mini_hist_init(&r->st.lat[1]);
	printf("blk: job dev=%s rw=%s bs=%lu qd=%lu offset=%lu size=%lu runtime_ms=%lu loops=%lu ios=%lu verify=%d seed=%lu fsync=%lu",
	       r->dev->name, r->job.rw, (unsigned long)r->job.bs, (unsigned long)r->job.qd,
	       (unsigned long)r->job.offset, (unsigned long)r->job.size,
	       (unsigned long)(r->job.runtime_ns / 1000000), (unsigned long)r->job.loops,
	       (unsigned long)r->job.max_ios, r->job.verify, (unsigned long)r->job.seed,
	       (unsigned long)r->job.fsync);
	if (r->job.read_pct != 0 && r->job.read_pct != 100)
		printf(" rwmix=%u", r->job.read_pct);
	printf("\n");
	cycles = blk_loop(r);
	ns = mini_cycles_to_ns(cycles);
	if (r->st.lat[1].count)
		blk_periodic_flush(r);     /* the final flush, reported like the others */
	report(r, ns);
	if (mini_opt_u64("readback", 0) && !r->st.errors)
		blk_readback(r);
	if (mini_opt_u64("detach_wait_ms", 0) && blk_wait_detach(r->dev))
		r->st.errors++;
	if (r->st.errors || r->st.verify_errors) {
		printf("blk: FAILED: %lu I/O errors, %lu sectors failed verification\n",
		       (unsigned long)r->st.errors, (unsigned long)r->st.verify_errors);
		return MINI_EXIT_FAIL;
	}
	printf("blk OK\n");
	return MINI_EXIT_OK;
}
MINI_PROGRAM(blk, "blk", "block load generator: dev= rw= bs= qd= runtime= size= verify= rwmix=", blk_main);
