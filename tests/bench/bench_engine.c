/* SPDX-License-Identifier: MIT */
/* Host-side load generator on the block layer (the guest path comes later):
 *
 *   bench_engine FILE raw|qcow2 io_uring|libaio|sync JOB QD SECONDS
 *   JOB: randread4k | randwrite4k | seqread1m | seqwrite1m
 *
 * Keeps QD requests in flight for SECONDS (sequential jobs wrap around at the
 * end of the disk, like fio's time_based); SECONDS 0 = one sequential pass.
 * Prints: iops MiB/s lat_mean_us lat_p50_us lat_p99_us. */
#include "blk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

struct slot {
	struct iovec v;
	uint64_t t0;
};

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: bench_engine FILE raw|qcow2 ENGINE JOB QD SECONDS\n");
		return 1;
	}
	struct blk_image_opts o = { .path = argv[1], .cache = BLK_CACHE_NONE };
	o.format = !strcmp(argv[2], "qcow2") ? BLK_FMT_QCOW2 : BLK_FMT_RAW;
	if (blk_engine_parse(argv[3], &o.engine) < 0)
		return 1;
	const char *job = argv[4];
	unsigned qd = (unsigned)atoi(argv[5]);
	double secs = atof(argv[6]);
	bool rnd = !strncmp(job, "rand", 4), wr = strstr(job, "write") != NULL;
	uint64_t bs = strstr(job, "1m") ? 1u << 20 : 4096;
	o.queue_depth = qd;
	struct blk_image *img;
	char *region = NULL;
	if (posix_memalign((void **)&region, 4096, bs * qd))
		return 2;
	if (getenv("BENCH_FIXED") && !strcmp(getenv("BENCH_FIXED"), "1")) {
		o.buf_base = region;
		o.buf_len = bs * qd;
	}
	if (blk_image_open(&img, &o) < 0)
		return 2;
	uint64_t size = blk_image_size(img), nblk = size / bs, next = 0, seed = 88172645463325252ull;
	struct slot *s = calloc(qd, sizeof(*s));
	size_t lat_cap = 1u << 24, nlat = 0;
	uint32_t *lat = malloc(lat_cap * sizeof(uint32_t));
	/* All buffers in one region, so BENCH_FIXED=1 can register it with
	 * io_uring the way blkback registers guest memory. */
	for (unsigned i = 0; i < qd; i++) {
		s[i].v.iov_base = region + i * bs;
		memset(s[i].v.iov_base, 0x5a + (int)i, bs);
		s[i].v.iov_len = bs;
	}
	uint64_t t_start = now_ns(), t_end = t_start + (uint64_t)(secs * 1e9), done = 0;
	unsigned inflight = 0;
	bool stop = false;
	struct blk_req *q = calloc(qd, sizeof(*q));
	unsigned *free_s = malloc(qd * sizeof(unsigned)), nfree = qd;
	for (unsigned i = 0; i < qd; i++)
		free_s[i] = i;
	for (;;) {
		unsigned n = 0;
		uint64_t t = now_ns();
		while (!stop && nfree) {
			uint64_t b;
			if (rnd) {
				seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
				b = seed % nblk;
			} else {
				if (next >= nblk && secs <= 0) { stop = true; break; }
				if (next >= nblk)
					next = 0;
				b = next++;
			}
			unsigned i = free_s[--nfree];
			s[i].t0 = t;
			q[n++] = (struct blk_req){ .op = wr ? BLK_OP_WRITE : BLK_OP_READ, .offset = b * bs,
						   .iov = &s[i].v, .iovcnt = 1, .cookie = &s[i] };
		}
		if (n && blk_image_submit(img, q, n) != (int)n)
			return 2;
		inflight += n;
		if (!inflight)
			break;
		struct blk_completion c[64];
		int r = blk_image_reap(img, c, 64, true);
		if (r < 0)
			return 2;
		t = now_ns();
		for (int i = 0; i < r; i++) {
			struct slot *sl = c[i].cookie;
			if (c[i].result != (int64_t)bs) {
				fprintf(stderr, "I/O error %lld\n", (long long)c[i].result);
				return 2;
			}
			if (nlat < lat_cap)
				lat[nlat++] = (uint32_t)((t - sl->t0) / 100); /* 0.1 us units */
			free_s[nfree++] = (unsigned)(sl - s);
			done++;
		}
		inflight -= (unsigned)r;
		if (secs > 0 && t >= t_end)
			stop = true;
	}
	double el = (double)(now_ns() - t_start) / 1e9, sum = 0;
	for (size_t i = 0; i < nlat; i++)
		sum += lat[i];
	qsort(lat, nlat, sizeof(uint32_t), cmp_u32);
	printf("%.0f %.1f %.1f %.1f %.1f\n", (double)done / el, (double)done * (double)bs / el / 1048576.0,
	       nlat ? sum / (double)nlat / 10 : 0, nlat ? lat[nlat / 2] / 10.0 : 0,
	       nlat ? lat[nlat * 99 / 100] / 10.0 : 0);
	blk_image_close(img);
	return 0;
}
