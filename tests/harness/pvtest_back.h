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

#endif
