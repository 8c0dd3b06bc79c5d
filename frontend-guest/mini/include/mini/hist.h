/* SPDX-License-Identifier: MIT */
/* Latency histogram with log-linear buckets: 16 per power of two, so any
 * percentile is within ~3 % of the true value; exact count, sum, min, max. */
#ifndef MINI_HIST_H
#define MINI_HIST_H

#include "mini/mini.h"

#define MINI_HIST_SUB 16
#define MINI_HIST_BUCKETS (61 * MINI_HIST_SUB)

struct mini_hist {
	uint64_t count, sum, min, max;
	uint64_t bucket[MINI_HIST_BUCKETS];
};

void mini_hist_init(struct mini_hist *h);
void mini_hist_add(struct mini_hist *h, uint64_t v);
/* Value at percentile pct (0..100), the middle of its bucket, clamped to [min, max]. */
uint64_t mini_hist_percentile(const struct mini_hist *h, unsigned pct);

#endif
