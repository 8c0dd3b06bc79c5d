/* SPDX-License-Identifier: MIT */
/* Helpers for the blkback tests and bench: a harness guest (memfd RAM, real
 * VMM-side platform) with the core's blkfront, and raw image files. */
#ifndef BLKBACK_FAKE_GUEST_H
#define BLKBACK_FAKE_GUEST_H

#include <stdint.h>

#include "blkback.h"
#include "blkfront.h"
#include "harness.h"
#include "pvback.h"

/* A guest with ram_mib of RAM, grant table of 64 frames. */
struct harness_guest *fg_guest_new(unsigned ram_mib);
/* n consecutive zeroed pages of guest RAM. */
void *fg_alloc(struct harness_guest *g, size_t bytes);
/* A fresh raw image of size bytes in $TMPDIR (or /var/tmp: O_DIRECT needs a
 * real file system); path in buf. 0 or -errno. */
int fg_image_new(char *buf, size_t cap, uint64_t size);
/* Features as the backend would advertise them for d. */
void fg_features_from(struct blkfront *bf, struct blkback_dev *d);
/* Connects d to bf's rings over dom (what blkback_bus_connect does, without
 * a store). */
int fg_connect(struct blkback_dev *d, struct pvback_dom *dom, struct blkfront *bf);
/* One synchronous request on queue q: submit, kick, poll (10 s bound).
 * Returns the response status, or -1000 on timeout/-errno + -2000. */
int fg_io(struct blkfront *bf, unsigned q, uint8_t op, uint8_t flags, uint64_t sector,
	  void *buf, uint32_t len, struct harness_guest *g);
/* Waits for one completion (10 s bound); status or -1000. */
int fg_wait_one(struct blkfront *bf, unsigned q, uint64_t *tag);
/* Starts build/bin/pvkvm-blkback (next to the test binary's directory) with
 * args (NULL-terminated); returns its pid or -1. */
int fg_spawn_blkback(const char *const *args);
/* kill -9 and reap. */
void fg_kill9(int pid);
/* Writes n_ios writes of io_bytes at qd from buf (guest RAM holding
 * n_ios * io_bytes), sector = i * io_bytes / 512; calls mid(opaque) once after
 * `mid_after` completions (with requests in flight), e.g. to kill and restart
 * the backend.  0 or the first bad status. */
int fg_write_stream(struct blkfront *bf, struct harness_guest *g, uint8_t *buf, unsigned n_ios,
		    uint32_t io_bytes, unsigned qd, unsigned mid_after, void (*mid)(void *), void *opaque);

/* Deterministic pattern for (sector, seed). */
void fg_fill(void *buf, size_t len, uint64_t sector, uint32_t seed);

#endif
