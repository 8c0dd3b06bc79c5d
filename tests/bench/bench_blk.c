/* SPDX-License-Identifier: MIT */
/* pvblk without a VM: the core's blkfront in a harness guest (memfd RAM, the
 * real VMM-side grants and event channels, doorbells as eventfd writes) drives
 * the real blkback on an image file; one job, fio-like RESULT line.  The guest
 * thread polls like the mini-guest's vCPU does.  What this leaves out compared
 * to a guest on KVM: the ioeventfd exit of a doorbell (2.7-7 us here, only
 * taken when the backend sleeps) and guest page-table walks.
 * Usage: bench_blk IMG RW BS QD SECONDS [ENGINE [POLL_US]]
 *        RW: randread randwrite read write */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>

#include "blkback_fake_guest.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct job {
	bool write, random;
	uint32_t bs, qd;
	uint64_t secs, disk_bytes;
};

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Runs the job; lat[] gets every completion's latency. */
static uint64_t run(struct blkfront *bf, struct harness_guest *g, uint8_t *bufs, const struct job *j,
		    uint64_t *lat, uint64_t lat_cap, uint64_t *n_lat)
{
	uint64_t t_sub[BLKFRONT_MAX_ENTS], seed = 0x12345678, seq = 0, ios = 0, idle_since = 0;
	uint64_t end = now_ns() + j->secs * 1000000000u, blocks = j->disk_bytes / j->bs;
	uint32_t free_slots[BLKFRONT_MAX_ENTS], nfree = 0;
	struct blkfront_cpl c[64];

	for (uint32_t i = 0; i < j->qd; i++)
		free_slots[nfree++] = i;
	for (;;) {
		bool stop = now_ns() >= end;

		while (!stop && nfree) {
			uint32_t slot = free_slots[--nfree];
			uint64_t blk = j->random ? rng(&seed) % blocks : seq++ % blocks;
			struct blkfront_io io = {
				.op = j->write ? BLKIF_OP_WRITE : BLKIF_OP_READ, .tag = slot,
				.sector = blk * j->bs / 512, .len_bytes = j->bs,
				.buf_gpa = harness_gpa(g, bufs + (size_t)slot * j->bs),
			};

			t_sub[slot] = now_ns();
			if (blkfront_submit(bf, 0, &io)) {
				free_slots[nfree++] = slot;
				break;
			}
		}
		blkfront_kick(bf, 0);
		if (stop && blkfront_in_flight(bf, 0) == 0)
			break;
		int n = blkfront_poll(bf, 0, c, 64);
		if (n < 0)
			break;
		uint64_t t = now_ns();
		/* A vCPU spins; a host thread on a shared machine gives the
		 * backend its core back after a while. */
		if (n == 0) {
			if (!idle_since)
				idle_since = t;
			else if (t - idle_since > 20000)
				sched_yield();
			continue;
		}
		idle_since = 0;
		for (int i = 0; i < n; i++) {
			if (c[i].status)
				fprintf(stderr, "bench_blk: I/O error %d\n", c[i].status);
			if (*n_lat < lat_cap)
				lat[(*n_lat)++] = t - t_sub[c[i].tag];
			free_slots[nfree++] = (uint32_t)c[i].tag;
			ios++;
		}
	}
	return ios;
}

int main(int argc, char **argv)
{
	struct blkback_disk_opts o;
	struct blkback_dev *d = NULL;
	struct pvback_dom *dom = NULL;
	struct harness_guest *g;
	struct blkfront *bf = calloc(1, sizeof(*bf));
	struct blkback_stats st;
	struct job j = { 0 };
	char spec[4200], err[128];
	uint64_t lat_cap = 8u << 20, n_lat = 0, *lat = malloc(lat_cap * 8);

	if (argc < 6 || !bf || !lat) {
		fprintf(stderr, "usage: bench_blk IMG RW BS QD SECONDS [ENGINE [POLL_US]]\n");
		return 1;
	}
	j.write = strstr(argv[2], "write") != NULL;
	j.random = !strncmp(argv[2], "rand", 4);
	j.bs = (uint32_t)strtoul(argv[3], NULL, 0);
	j.qd = (uint32_t)strtoul(argv[4], NULL, 0);
	j.secs = strtoull(argv[5], NULL, 0);
	if (!j.bs || j.bs % 4096 || j.bs > (1u << 20) || !j.qd || j.qd > 64) {
		fprintf(stderr, "bench_blk: bs must be 4k..1M in 4k steps, qd 1..64\n");
		return 1;
	}
	snprintf(spec, sizeof(spec), "%s,cache=none,io=%s,poll-us=%s,ring-page-order=1", argv[1],
		 argc > 6 ? argv[6] : "io_uring", argc > 7 ? argv[7] : "0");
	if (blkback_disk_opts_parse(&o, spec, err, sizeof(err))) {
		fprintf(stderr, "bench_blk: %s\n", err);
		return 1;
	}
	g = fg_guest_new((unsigned)((j.qd * (uint64_t)j.bs * 2) >> 20) + 32);
	uint8_t *bufs = g ? fg_alloc(g, (size_t)j.qd * j.bs) : NULL;
	if (!bufs || blkback_dev_open(&d, &o) || pvback_attach(&dom, g->ctl_path, "vbd/1") ||
	    blkfront_init(bf, &g->front, 0, 1, 1)) {
		fprintf(stderr, "bench_blk: setup failed\n");
		return 2;
	}
	fg_features_from(bf, d);
	j.disk_bytes = blkback_dev_sectors(d) * 512;
	if (fg_connect(d, dom, bf)) {
		fprintf(stderr, "bench_blk: connect failed\n");
		return 2;
	}
	memset(bufs, 0xa5, (size_t)j.qd * j.bs);
	uint64_t cpu0 = cpu_ns(RUSAGE_SELF), t0 = now_ns();
	uint64_t ios = run(bf, g, bufs, &j, lat, lat_cap, &n_lat);
	uint64_t wall = now_ns() - t0, cpu = cpu_ns(RUSAGE_SELF) - cpu0;
	blkback_dev_get_stats(d, &st);
	blkback_dev_disconnect(d);
	blkback_dev_get_stats(d, &st);
	qsort(lat, n_lat, 8, cmp_u64);
	uint64_t sum = 0;
	for (uint64_t i = 0; i < n_lat; i++)
		sum += lat[i];
	printf("RESULT rw=%s bs=%u qd=%u ios=%llu iops=%.0f mibps=%.1f lat_mean_ns=%llu lat_p50_ns=%llu "
	       "lat_p99_ns=%llu be_cpu_us_per_io=%.2f cpu_us_per_io=%.2f notifies=%llu wakeups=%llu\n",
	       argv[2], j.bs, j.qd, (unsigned long long)ios, ios * 1e9 / wall,
	       ios * (double)j.bs * 1e9 / wall / 1048576.0,
	       (unsigned long long)(n_lat ? sum / n_lat : 0),
	       (unsigned long long)(n_lat ? lat[n_lat / 2] : 0),
	       (unsigned long long)(n_lat ? lat[n_lat * 99 / 100] : 0),
	       ios ? st.cpu_ns / 1e3 / ios : 0, ios ? cpu / 1e3 / ios : 0,
	       (unsigned long long)st.notifies, (unsigned long long)st.wakeups);
	blkback_dev_close(d);
	pvback_detach(dom);
	harness_guest_free(g);
	free(bf);
	free(lat);
	return 0;
}
