/* SPDX-License-Identifier: MIT */
/* Internal to backend/blk: the image object shared by image.c and qcow2*.c. */
#ifndef BLK_IMAGE_H
#define BLK_IMAGE_H

#include "blk.h"

struct qcow2;

/* A run of new qcow2 clusters whose data write is in flight; its L2 entries
 * are set when the write completes (never before: crash safety). */
struct qcow2_alloc {
	uint64_t goff, host, len;
	void *buf;             /* copy-on-write buffer being written; freed on commit */
};

struct img_req {
	void *cookie;
	uint8_t op;
	int64_t result;        /* first error, else bytes */
	uint64_t bytes, t0_ns;
	unsigned pending;      /* engine sub-requests not yet completed */
	bool building;         /* still being split; do not complete yet */
	struct iovec *iov;     /* storage for sub-request iovec slices */
	unsigned iov_n, iov_cap;
	struct qcow2_alloc *allocs;
	unsigned alloc_n, alloc_cap;
	int next_free;
};

struct blk_image {
	char *path;
	int fd;                /* data fd: O_DIRECT with cache=none */
	enum blk_format format;
	enum blk_cache cache;
	bool readonly, nested; /* nested: a backing file, read synchronously */
	unsigned sector_size;
	uint64_t size;
	const struct blk_engine_ops *ops;
	struct blk_engine *eng;
	struct qcow2 *q;
	unsigned depth, in_flight;
	struct img_req *reqs;
	int free_head;
	int *done;             /* ring of completed parents to hand out */
	unsigned done_head, done_n;
	struct blk_req *backlog;   /* sub-requests the engine has not accepted */
	unsigned backlog_n, backlog_cap;
	unsigned backlog_ready;    /* leading entries complete (iovecs final) */
	struct blk_stats stats;
};

/* The chain of images being opened, innermost first: loop detection. */
struct blk_chain {
	uint64_t dev, ino;
	unsigned depth;
	const struct blk_chain *up;
};

/* Opens an image for use as a backing file: read-only, no engine. */
int blk_image_open_nested(struct blk_image **out, const char *path, enum blk_format fmt,
			  const struct blk_chain *chain);
/* Reads synchronously (backing-file reads); beyond the end reads zeros. */
int blk_image_read_sync(struct blk_image *img, uint64_t off, void *buf, uint64_t len);

/* Called by the qcow2 mapper: queue [rel, rel+len) of the request's iovec
 * as an engine request at host offset host. */
int blk_image_emit(struct blk_image *img, struct img_req *r, const struct blk_req *orig,
		   uint64_t rel, uint64_t host, uint64_t len);

/* One sub-request of r finished with result (0 or -errno): the parent
 * completes (after qcow2_commit) when it was the last. */
void blk_image_sub_done(struct blk_image *img, struct img_req *r, int64_t result);

/* Waits for at least one sub-request or COW job of other requests to
 * finish (qcow2 waiting for one cluster's allocation); -EIO when nothing is
 * in flight that could. */
int blk_image_wait_some(struct blk_image *img);

/* Completes every data request already handed on (not the one being built);
 * qcow2 calls this before touching a cluster with an allocation in flight. */
void blk_image_drain(struct blk_image *img);

/* qcow2 */
int qcow2_commit(struct qcow2 *q, struct img_req *r);
int qcow2_open(struct qcow2 **out, struct blk_image *img, int meta_fd,
	       const struct blk_chain *chain);
void qcow2_close(struct qcow2 *q);
/* Stops the copy-on-write workers (idempotent; qcow2_close calls it too). */
void qcow2_cow_fini(struct qcow2 *q);
int qcow2_read(struct qcow2 *q, struct img_req *r, const struct blk_req *req);
int qcow2_write(struct qcow2 *q, struct img_req *r, const struct blk_req *req);
int qcow2_discard(struct qcow2 *q, uint64_t off, uint64_t len, bool zero);
bool qcow2_meta_dirty(const struct qcow2 *q);
/* Copy-on-write jobs outstanding; collect hands finished ones to
 * blk_image_sub_done (waiting for one with wait). */
unsigned qcow2_cow_outstanding(const struct qcow2 *q);
int qcow2_cow_collect(struct qcow2 *q, bool wait);
int qcow2_flush_meta(struct qcow2 *q);
int qcow2_read_sync(struct qcow2 *q, uint64_t off, void *buf, uint64_t len);

/* iovec helpers */
void blk_iov_copy_from(const struct iovec *iov, int cnt, uint64_t rel, void *dst, uint64_t len);
void blk_iov_copy_to(const struct iovec *iov, int cnt, uint64_t rel, const void *src, uint64_t len);
void blk_iov_zero(const struct iovec *iov, int cnt, uint64_t rel, uint64_t len);

#endif
