/* SPDX-License-Identifier: MIT */
/* Internal to backend/blk: qcow2 on-disk constants and the open-image state.
 * Layout facts are from the qcow2 specification (QEMU docs/interop/qcow2.txt). */
#ifndef BLK_QCOW2_H
#define BLK_QCOW2_H

#include "image.h"

#include <pthread.h>

#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_HDR_V2_LEN 72u
#define QCOW2_HDR_V3_LEN 104u

#define QCOW2_INCOMPAT_DIRTY   (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2   (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN   (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_COMPRESSION)

#define QCOW2_EXT_END 0u
#define QCOW2_EXT_BACKING_FMT 0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857u

#define QCOW2_OFLAG_COPIED     (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO       1ull
#define QCOW2_OFFSET_MASK      0x00fffffffffffe00ull

#define QCOW2_MAX_BACKING_DEPTH 16
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_RT_BYTES (8u << 20)
#define QCOW2_MAX_SIZE (1ull << 56)       /* virtual size cap (64 PiB) */

struct qcow2_l2_slot {
	uint64_t off;          /* host offset of the table; 0 = empty slot */
	uint64_t *tbl;         /* big-endian, as on disk */
	uint64_t lru;
	uint32_t l1i;          /* the L1 entry it belongs to */
	bool dirty;
};

/* Where the old content of a cluster being copied on write comes from. */
enum qcow2_cow_src { QCOW2_COW_ZERO, QCOW2_COW_DATA, QCOW2_COW_BACKING, QCOW2_COW_COMPRESSED };

#define QCOW2_COW_THREADS 4

struct qcow2_cow_job;

/* Partial-cluster copy-on-write workers (qcow2_cow.c). */
struct qcow2_cow {
	bool inited, stop;
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	struct qcow2_cow_job *queue, *queue_tail, *done;
	unsigned outstanding;      /* queued, running or done but not collected (driving thread only) */
	pthread_t threads[QCOW2_COW_THREADS];
	unsigned nr_threads;       /* started on the first job */
	int efd;                   /* the image's eventfd, poked on each finished job */
	pthread_mutex_t backing_mu;  /* serialises reads of a qcow2 backing image */
};

struct qcow2 {
	struct blk_image *img;
	int fd;                /* buffered fd for metadata (the image's fd may be O_DIRECT) */
	bool ro;
	uint32_t version, cluster_bits, refcount_order, header_len;
	uint64_t cluster_size, size;
	uint64_t incompat, compat, autoclear;
	uint32_t l1_size, rt_clusters, nb_snapshots;
	uint64_t l1_off, rt_off, snapshots_off;
	uint64_t *l1;          /* host order */
	bool l1_dirty;
	unsigned l2_entries;   /* entries per L2 table */
	struct qcow2_l2_slot *l2c;
	unsigned l2c_n;
	int32_t *l1_slot;      /* L1 index -> cache slot or -1: O(1) lookups */
	bool l2_dirty;         /* some cached L2 table is dirty */
	uint64_t lru_clock;
	uint64_t *rt;          /* refcount table, host order */
	uint64_t rt_entries;
	void **rb;             /* cached refcount blocks (raw), indexed like rt */
	uint64_t rb_entries;   /* refcounts per block */
	bool rt_growing;       /* rt_grow: the new table is only in memory */
	uint64_t host_end;     /* first cluster-aligned byte past everything allocated */
	uint64_t file_size;    /* the file's size as we last set or saw it */
	uint64_t *pending_free;   /* clusters unreferenced since the last flush */
	unsigned pending_n, pending_cap;
	uint64_t *reuse;       /* freed clusters safe to hand out again */
	unsigned reuse_n, reuse_cap;
	struct qcow2_alloc *pend;  /* allocations whose data write is in flight */
	unsigned pend_n, pend_cap;
	struct blk_image *backing;
	char backing_name[1024];
	char backing_fmt[32];
	char incompat_names[64][47];  /* from the feature name table, for messages */
	void *bounce;          /* one cluster, aligned, for COW and compressed reads */
	void *zbuf;            /* compressed input buffer */
	void *tmp;             /* one cluster, aligned: COW source and staging */
	struct qcow2_cow cow;
};

/* qcow2_refcount.c */
int qcow2_rc_load(struct qcow2 *q);
void qcow2_rc_free(struct qcow2 *q);
int qcow2_rc_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc);
int qcow2_rc_update(struct qcow2 *q, uint64_t cluster, int delta);
/* *fresh: the cluster was never written (reads as zeros). */
int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *host_off, bool *fresh);
int qcow2_defer_free(struct qcow2 *q, uint64_t host_off);
int qcow2_apply_deferred_frees(struct qcow2 *q);

/* qcow2_cow.c */
int qcow2_cow_init(struct qcow2 *q);
void qcow2_cow_fini(struct qcow2 *q);
/* Copy-on-write of one cluster for r, whose last allocs entry is this
 * cluster: merged here and written by the engine when the old content needs
 * no I/O wait, else read, merged and written by a worker. */
int qcow2_cow_queue(struct qcow2 *q, struct img_req *r, const struct blk_req *req, uint64_t rel,
		    uint64_t start, uint64_t host, uint64_t in_cl, uint64_t n,
		    enum qcow2_cow_src src, uint64_t src_off, uint64_t src_len);
int qcow2_inflate(const void *zin, uint64_t n, void *out, uint64_t cluster_size);
/* Reads the backing image (any thread). */
int qcow2_backing_read(struct qcow2 *q, uint64_t off, void *buf, uint64_t len);

/* qcow2_map.c */
int qcow2_l2_get(struct qcow2 *q, uint64_t l1_index, bool alloc, struct qcow2_l2_slot **out);
int qcow2_check_host_range(const struct qcow2 *q, uint64_t off, uint64_t len);
void qcow2_l2_cache_free(struct qcow2 *q);

static inline uint64_t qcow2_be64(uint64_t v) { return __builtin_bswap64(v); }
uint64_t qcow2_get_be(const void *p, unsigned bytes);
void qcow2_put_be(void *p, unsigned bytes, uint64_t v);
int qcow2_pread_all(int fd, void *buf, uint64_t len, uint64_t off);
int qcow2_pwrite_all(int fd, const void *buf, uint64_t len, uint64_t off);
int qcow2_sync(struct qcow2 *q);

#endif
