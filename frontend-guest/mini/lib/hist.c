/* SPDX-License-Identifier: MIT */
#include "mini/hist.h"

void mini_hist_init(struct mini_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

static unsigned bucket_of(uint64_t v)
{
	unsigned e;

	if (v < MINI_HIST_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);          /* >= 4 */
	return (e - 3) * MINI_HIST_SUB + (unsigned)((v >> (e - 4)) & (MINI_HIST_SUB - 1));
}

static uint64_t bucket_mid(unsigned b)
{
	unsigned e = b / MINI_HIST_SUB + 3, sub = b % MINI_HIST_SUB;

	if (b < MINI_HIST_SUB)
		return b;
	return ((uint64_t)(MINI_HIST_SUB + sub) << (e - 4)) + ((1ull << (e - 4)) >> 1);
}

void mini_hist_add(struct mini_hist *h, uint64_t v)
{
	unsigned b = bucket_of(v);

	h->bucket[b < MINI_HIST_BUCKETS ? b : MINI_HIST_BUCKETS - 1]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

uint64_t mini_hist_percentile(const struct mini_hist *h, unsigned pct)
{
	uint64_t rank, seen = 0, v;

	if (!h->count)
		return 0;
	rank = (h->count * pct + 99) / 100;              /* nearest-rank, 1-based */
	if (!rank)
		rank = 1;
	for (unsigned b = 0; b < MINI_HIST_BUCKETS; b++) {
		seen += h->bucket[b];
		if (seen >= rank) {
			v = bucket_mid(b);
			return v < h->min ? h->min : v > h->max ? h->max : v;
		}
	}
	return h->max;
}
