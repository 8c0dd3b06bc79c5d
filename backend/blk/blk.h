/* SPDX-License-Identifier: MIT */
/* The block storage layer: asynchronous I/O engines (io_uring, libaio, a sync
 * thread pool) and images (raw, qcow2) on top of them.  This is what a blkback
 * request handler or the NVMe model calls; it knows nothing about rings.
 *
 * Threading: an engine or image is driven by one thread at a time (submit,
 * reap and close from the same thread); engines may complete on their own
 * threads internally, but report through reap() only.  Completion readiness is
 * signalled on event_fd() (an eventfd: read it to clear, then reap). */
#ifndef PVKVM_BLK_H
#define PVKVM_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

enum blk_op {
	BLK_OP_READ = 0,
	BLK_OP_WRITE = 1,
	BLK_OP_FLUSH = 2,
	BLK_OP_DISCARD = 3,       /* may unmap; reads afterwards return zeros or old data */
	BLK_OP_WRITE_ZEROES = 4,  /* reads afterwards return zeros */
	BLK_OP_COUNT
};

#define BLK_REQ_FUA 0x1u /* write reaches stable storage before completion */

struct blk_req {
	uint8_t op;                /* enum blk_op */
	uint8_t flags;             /* BLK_REQ_* */
	uint64_t offset;           /* bytes */
	uint64_t len_bytes;        /* discard/write-zeroes only; read/write use the iovec */
	const struct iovec *iov;   /* read/write; must stay valid until completion */
	int iovcnt;
	void *cookie;              /* returned unchanged in the completion */
};

struct blk_completion {
	void *cookie;
	int64_t result;            /* bytes transferred (0 for flush/discard/zeroes) or -errno */
};

enum blk_engine_kind { BLK_ENGINE_URING = 0, BLK_ENGINE_AIO = 1, BLK_ENGINE_SYNC = 2 };
enum blk_cache { BLK_CACHE_NONE = 0, BLK_CACHE_WRITEBACK = 1, BLK_CACHE_UNSAFE = 2 };

struct blk_engine;

struct blk_engine_params {
	unsigned queue_depth;      /* max requests in flight; 0 = 128 */
	enum blk_cache cache;      /* UNSAFE turns flush into a no-op */
	unsigned nr_threads;       /* sync engine only; 0 = 4 */
	/* io_uring only: register [buf_base, buf_base+buf_len) (e.g. the guest
	 * memory mapping) as a fixed buffer; requests wholly inside it use
	 * READ/WRITE_FIXED.  0 = none. */
	void *buf_base;
	uint64_t buf_len;
};

struct blk_engine_ops {
	const char *name;
	/* fd is borrowed; the engine does not close it. */
	int (*open)(struct blk_engine **out, int fd, const struct blk_engine_params *p);
	/* Queues up to n requests; returns how many were accepted (0..n, fewer when
	 * the queue is full) or -errno.  Accepted requests always complete. */
	int (*submit)(struct blk_engine *e, const struct blk_req *reqs, unsigned n);
	/* Fills up to max completions; waits for at least one when wait is true
	 * and something is in flight.  Returns the count or -errno. */
	int (*reap)(struct blk_engine *e, struct blk_completion *out, unsigned max, bool wait);
	int (*event_fd)(struct blk_engine *e);
	unsigned (*in_flight)(struct blk_engine *e);
	/* Waits for everything in flight, then frees. */
	void (*close)(struct blk_engine *e);
};

const struct blk_engine_ops *blk_engine_get(enum blk_engine_kind kind);
int blk_engine_parse(const char *name, enum blk_engine_kind *out);   /* "io_uring|libaio|sync" */
int blk_cache_parse(const char *name, enum blk_cache *out);          /* "none|writeback|unsafe" */
const char *blk_op_name(unsigned op);

/* ---- images ---- */

enum blk_format { BLK_FMT_AUTO = 0, BLK_FMT_RAW = 1, BLK_FMT_QCOW2 = 2 };

struct blk_image_opts {
	const char *path;
	enum blk_format format;
	enum blk_engine_kind engine;
	enum blk_cache cache;
	bool readonly;
	unsigned sector_size;      /* logical sector: 0 = device's (BLKSSZGET) or 512; 512 or 4096 */
	unsigned queue_depth;      /* 0 = 128 */
	void *buf_base;            /* see blk_engine_params */
	uint64_t buf_len;
};

struct blk_op_stats {
	uint64_t requests, bytes, errors;
	uint64_t latency_ns_total, latency_ns_max;
};

struct blk_stats {
	struct blk_op_stats op[BLK_OP_COUNT];
};

struct blk_image;

/* Opens the image (and its backing chain).  Errors are logged with the path
 * and reason; returns -errno (-EINVAL malformed, -ENOTSUP unsupported feature,
 * -ELOOP backing loop, -EROFS corrupt image opened read-write). */
int blk_image_open(struct blk_image **out, const struct blk_image_opts *o);
/* Waits for in-flight requests, writes qcow2 metadata, frees. */
void blk_image_close(struct blk_image *img);

uint64_t blk_image_size(const struct blk_image *img);           /* virtual size, bytes */
unsigned blk_image_sector_size(const struct blk_image *img);
bool blk_image_readonly(const struct blk_image *img);
enum blk_format blk_image_format(const struct blk_image *img);

/* Same contract as blk_engine_ops.submit/reap, in guest terms: offsets are
 * virtual-disk offsets; every request is validated (op, alignment to the
 * logical sector, range inside the disk, writes on a read-only image) and a
 * bad one completes with -EINVAL/-EROFS/-ERANGE instead of being refused. */
int blk_image_submit(struct blk_image *img, const struct blk_req *reqs, unsigned n);
int blk_image_reap(struct blk_image *img, struct blk_completion *out, unsigned max, bool wait);
int blk_image_event_fd(struct blk_image *img);
unsigned blk_image_in_flight(const struct blk_image *img);
void blk_image_get_stats(const struct blk_image *img, struct blk_stats *out);

/* Synchronous convenience: one request, waits for it (tools and tests; the
 * image must have nothing else in flight).  Returns bytes or -errno. */
int64_t blk_image_io(struct blk_image *img, unsigned op, uint64_t offset, void *buf,
		     uint64_t len, unsigned flags);

/* ---- tools (pvkvm img, tests) ---- */

/* Creates a qcow2 image (version 2 or 3; cluster_size a power of two in
 * 4 KiB..2 MiB, 0 = 64 KiB), optionally on a backing file (backing_fmt
 * "raw"/"qcow2" or NULL).  Fails with -EEXIST if path exists. */
int blk_qcow2_create(const char *path, uint64_t size_bytes, unsigned cluster_size,
		     unsigned version, const char *backing, const char *backing_fmt);
int blk_raw_create(const char *path, uint64_t size_bytes);

struct blk_check_result {
	uint64_t corruptions, leaks;
	uint64_t allocated_clusters, total_clusters;
};
/* Cross-checks refcounts against every reference in the image.  Returns 0
 * (then see the counts) or -errno when the image cannot be checked. */
int blk_qcow2_check(const char *path, struct blk_check_result *res);

#endif
