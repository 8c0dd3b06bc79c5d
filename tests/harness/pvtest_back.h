/* SPDX-License-Identifier: MIT */
/* The host half of the platform self-test (protocol in
 * frontend-guest/core/tests/pvtest_front.h), built on the backend library:
 * the "host test backend" for the harness and for the mini-guest. */
#ifndef PVTEST_BACK_H
#define PVTEST_BACK_H

#include <stddef.h>
#include <stdint.h>

/* Serves device pvtest/<devid> of guest domid until the frontend closes.
 * 0, or -errno with a one-line reason in why. */
int pvtest_back_run(const char *store_sock, const char *ctl_path, uint16_t domid, uint32_t devid,
		    int timeout_ms, char *why, size_t why_len);

struct pvtest_back_opts {
	int timeout_ms;
	int spin_us;  /* ping-pong: poll the event channel this long before sleeping */
};

/* The ping-pong as a benchmark: the time between successive backend wakes
 * is one round trip (guest send -> backend wake -> notify -> guest sees it
 * -> next send); the first 10% are warm-up. */
struct pvtest_back_stats {
	uint64_t rounds;   /* measured round trips */
	double p50_us, p99_us, per_sec;
};

/* pvtest_back_run() with options; stats (may be NULL) filled on success. */
int pvtest_back_run_opts(const char *store_sock, const char *ctl_path, uint16_t domid, uint32_t devid,
			 const struct pvtest_back_opts *o, struct pvtest_back_stats *st, char *why,
			 size_t why_len);

#endif
