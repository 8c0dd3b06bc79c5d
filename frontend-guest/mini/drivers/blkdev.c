/* SPDX-License-Identifier: MIT */
/* Block-device registry: every MINI_BLK_DRIVER is probed once. */
#include "mini/blkdev.h"

#define MAX_BLKDEVS 16

extern const struct mini_blk_driver __start_mini_blk_drivers[], __stop_mini_blk_drivers[];
static struct mini_blkdev *blkdevs[MAX_BLKDEVS];
static unsigned nr_blkdevs;
static bool probed;

unsigned mini_blk_probe_all(struct mini_blkdev ***devs)
{
	if (!probed) {
		for (const struct mini_blk_driver *drv = __start_mini_blk_drivers;
		     drv < __stop_mini_blk_drivers; drv++)
			nr_blkdevs += drv->probe(blkdevs + nr_blkdevs, MAX_BLKDEVS - nr_blkdevs);
		probed = true;
	}
	*devs = blkdevs;
	return nr_blkdevs;
}

int mini_blk_sync(struct mini_blkdev *d, const struct mini_blk_req *req, uint64_t timeout_ms)
{
	struct mini_blk_cpl c;
	uint64_t t0 = mini_rdtsc(), limit = mini_ns_to_cycles(timeout_ms * 1000000);

	while (!d->ops->submit(d, req, 1))
		if (mini_rdtsc() - t0 > limit)
			return MINI_BLK_EIO;
	while (!d->ops->poll(d, &c, 1))
		if (mini_rdtsc() - t0 > limit)
			return MINI_BLK_EIO;
	return c.status;
}

static uint64_t pattern_word(uint64_t sector, uint64_t seed, unsigned i)
{
	uint64_t x = sector * 0x9e3779b97f4a7c15ull ^ seed ^ ((uint64_t)i << 56);

	x ^= x >> 31;
	return x * 0xbf58476d1ce4e5b9ull;
}

void mini_blk_pattern_fill(uint8_t *buf, uint64_t sector, uint64_t nr, uint64_t seed)
{
	for (uint64_t s = 0; s < nr; s++) {
		uint64_t *w = (uint64_t *)(buf + s * 512);

		w[0] = MINI_BLK_PATTERN_MAGIC;
		w[1] = sector + s;
		w[2] = seed;
		for (unsigned i = 3; i < 64; i++)
			w[i] = pattern_word(sector + s, seed, i);
	}
}

unsigned mini_blk_pattern_check(const uint8_t *buf, uint64_t sector, uint64_t nr, uint64_t seed,
				bool report)
{
	unsigned bad = 0;

	for (uint64_t s = 0; s < nr; s++) {
		const uint64_t *w = (const uint64_t *)(buf + s * 512);
		bool ok = w[0] == MINI_BLK_PATTERN_MAGIC && w[1] == sector + s && w[2] == seed;

		for (unsigned i = 3; ok && i < 64; i++)
			ok = w[i] == pattern_word(sector + s, seed, i);
		if (!ok && bad++ == 0 && report)
			printf("blk: verify error at sector %lu: magic %lx sector %lu seed %lu\n",
			       (unsigned long)(sector + s), (unsigned long)w[0], (unsigned long)w[1],
			       (unsigned long)w[2]);
	}
	return bad;
}
