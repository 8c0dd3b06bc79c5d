/* SPDX-License-Identifier: MIT */
/* The embedded backend for `pvkvm run --disk SPEC` (run_disks.c). */
#ifndef PVKVM_BLKBACK_RUN_H
#define PVKVM_BLKBACK_RUN_H

#include <stdint.h>

#define BLKBACK_RUN_MAX_DISKS 8

struct blkback_run_disks;

/* Validates a --disk SPEC (blkback_disk_opts_parse syntax); 0 or -EINVAL
 * with a message in err. */
int blkback_run_disk_check(const char *spec, char *err, unsigned errlen);
/* One serving thread per spec for the guest behind ctl (its <name>.ctl),
 * devices vbd 51712 + 16 * i created in store; domid 0 = the guest's, as the
 * control socket tells.  0 or -errno. */
int blkback_run_disks_start(struct blkback_run_disks **out, char *const *specs, unsigned n,
			    const char *ctl, const char *store, uint16_t domid);
/* Stops the threads (requests in flight complete); NULL is fine. */
void blkback_run_disks_stop(struct blkback_run_disks *d);

#endif
