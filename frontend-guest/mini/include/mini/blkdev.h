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

/* discard and write-zeroes name a range (sector, len_bytes) and carry no buffer */
enum { MINI_BLK_READ = 0, MINI_BLK_WRITE = 1, MINI_BLK_FLUSH = 2, MINI_BLK_DISCARD = 3,
       MINI_BLK_WRITE_ZEROES = 4 };
enum { MINI_BLK_OK = 0, MINI_BLK_EIO = -5, MINI_BLK_EUNSUPP = -95 };

struct mini_blk_req {
	uint64_t sector;         /* in 512-byte units, multiple of sector_size/512 */
	uint64_t buf_phys;       /* physically contiguous buffer (phys == virt); read/write only */
	uint32_t len_bytes;      /* multiple of sector_size, <= the op's limit below; 0 for flush */
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
	/* Optional (hot-pluggable devices): waits up to timeout_ms for the host
	 * to unplug the device and completes the unplug; nothing may be in
	 * flight.  MINI_BLK_OK or MINI_BLK_EIO (timeout). */
	int (*wait_detach)(struct mini_blkdev *d, uint64_t timeout_ms);
};

struct mini_blkdev {
	char name[24];
	const struct mini_blkdev_ops *ops;
	uint32_t sector_size;       /* logical block size in bytes (512 or 4096) */
	uint64_t capacity_sectors;  /* in 512-byte units */
	uint32_t queue_depth;       /* requests that may be in flight at once */
	uint32_t max_io_bytes;      /* largest len_bytes of one read or write */
	uint32_t max_discard_bytes; /* largest discard, 0 when unsupported */
	uint32_t max_write_zeroes_bytes;  /* largest write-zeroes, 0 when unsupported */
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
/* Submits one request and waits for it: its status, or MINI_BLK_EIO after timeout_ms. */
int mini_blk_sync(struct mini_blkdev *d, const struct mini_blk_req *req, uint64_t timeout_ms);

/*
 * The data pattern of the load generator and of host-side checks: each
 * 512-byte sector s holds 64 little-endian u64 words {MINI_BLK_PATTERN_MAGIC
 * ("MINIBLK1"), s, seed, mix(s, seed, i) for i = 3..63}, s counted in
 * 512-byte units from the start of the device.
 */
#define MINI_BLK_PATTERN_MAGIC 0x314b4c42494e494dull
void mini_blk_pattern_fill(uint8_t *buf, uint64_t sector, uint64_t nr_sectors, uint64_t seed);
/* Returns how many sectors differ; prints the first when report. */
unsigned mini_blk_pattern_check(const uint8_t *buf, uint64_t sector, uint64_t nr_sectors,
				uint64_t seed, bool report);

#endif
