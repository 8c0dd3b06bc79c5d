/* SPDX-License-Identifier: MIT */
/*
 * The mini-guest's block-device interface: what the load generator
 * (progs/blk.c) drives, and what each block driver (virtio-blk now; pvblk
 * and NVMe later) provides.  Asynchronous and polled: submit queues
 * requests, poll reaps completions; nothing blocks, nothing interrupts.
 */
#ifndef MINI_BLKDEV_H
#define MINI_BLKDEV_H

#include "mini/mini.h"

enum { MINI_BLK_READ = 0, MINI_BLK_WRITE = 1, MINI_BLK_FLUSH = 2 };
enum { MINI_BLK_OK = 0, MINI_BLK_EIO = -5, MINI_BLK_EUNSUPP = -95 };

struct mini_blk_req {
	uint64_t sector;         /* in 512-byte units, multiple of sector_size/512 */
	uint64_t buf_phys;       /* physically contiguous buffer (phys == virt) */
	uint32_t len_bytes;      /* multiple of sector_size, <= max_io_bytes; 0 for flush */
	uint8_t op;              /* MINI_BLK_* */
	uint64_t tag;            /* the caller's, handed back in the completion */
};

struct mini_blk_cpl {
	uint64_t tag;
	int status;              /* MINI_BLK_OK or a negative MINI_BLK_E* */
};

struct mini_blkdev;
struct mini_blkdev_ops {
	/* Queues up to n requests and tells the device (one doorbell per call
	 * at most); returns how many it took: fewer than n when the queue is
	 * full.  Requests are checked against the limits below; a bad one
	 * completes with MINI_BLK_EIO rather than reaching the device. */
	unsigned (*submit)(struct mini_blkdev *d, const struct mini_blk_req *r, unsigned n);
	/* Reaps up to max completions into c; returns how many. */
	unsigned (*poll)(struct mini_blkdev *d, struct mini_blk_cpl *c, unsigned max);
};

struct mini_blkdev {
	char name[24];
	const struct mini_blkdev_ops *ops;
	uint32_t sector_size;       /* logical block size in bytes (512 or 4096) */
	uint64_t capacity_sectors;  /* in 512-byte units */
	uint32_t queue_depth;       /* requests that may be in flight at once */
	uint32_t max_io_bytes;      /* largest len_bytes of one request */
	bool read_only, has_flush;
	void *priv;                 /* the driver's */
};

/* A driver finds its devices and fills devs[0..ret) (ret <= max). */
struct mini_blk_driver {
	const char *name;
	unsigned (*probe)(struct mini_blkdev **devs, unsigned max);
};
#define MINI_BLK_DRIVER(ident, name_, probe_)                                   \
	static const struct mini_blk_driver mini_blk_driver_##ident              \
		__attribute__((used, section("mini_blk_drivers"), aligned(8))) = { \
		.name = name_, .probe = probe_ }

/* Runs every driver's probe once; returns the devices found. */
unsigned mini_blk_probe_all(struct mini_blkdev ***devs);

#endif
