/* SPDX-License-Identifier: MIT */
/* qcow2 copy-on-write of partially written clusters, without waiting for I/O
 * in the submitting thread.  A write that fills only part of a new cluster
 * needs the rest of the cluster's old content (backing file, compressed
 * cluster, shared data cluster, or zeros).  qcow2_write allocates the cluster
 * (refcount first) and hands it here with the new bytes:
 *  - when the old head and tail need no I/O wait (zeros, or in the page cache:
 *    preadv2 RWF_NOWAIT), they are merged at once and the engine writes the
 *    whole cluster like any allocating write;
 *  - otherwise a worker thread reads them, merges, writes the whole cluster and
 *    reports back on the engine's eventfd; the driving thread collects the job
 *    in blk_image_reap.
 * Either way the L2 entry is set only when the write has completed
 * (qcow2_commit): data before reference, as for every allocation.
 *
 * Workers touch only the job, its buffer and their own scratch buffers; the
 * backing image (whose qcow2 caches are not thread-safe) is read under
 * q->cow.backing_mu, which the driving thread's reads take too. */
#include "qcow2.h"
#include "engine.h"
#include "pv_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define TAG "qcow2"

struct qcow2_cow_job {
	struct qcow2_cow_job *next;
	struct img_req *r;
	uint64_t start, host;      /* guest offset of the cluster; new host cluster */
	uint64_t in_cl, n;         /* new bytes [in_cl, in_cl + n) already in buf */
	enum qcow2_cow_src src;
	uint64_t src_off, src_len; /* data cluster, or compressed extent */
	void *buf;                 /* one cluster, aligned (O_DIRECT) */
	int result;
};

/* Inflates a compressed cluster (raw deflate) from zin[0..n) into out. */
int qcow2_inflate(const void *zin, uint64_t n, void *out, uint64_t cluster_size)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, -12) != Z_OK)
		return -ENOMEM;
	zs.next_in = (unsigned char *)(uintptr_t)zin;
	zs.avail_in = (unsigned)n;
	zs.next_out = out;
	zs.avail_out = (unsigned)cluster_size;
	int rc = inflate(&zs, Z_FINISH);
	bool ok = (rc == Z_STREAM_END || rc == Z_BUF_ERROR || rc == Z_OK) && zs.avail_out == 0;
	inflateEnd(&zs);
	return ok ? 0 : -EIO;
}

int qcow2_backing_read(struct qcow2 *q, uint64_t off, void *buf, uint64_t len)
{
	/* A raw backing file is read with pread: no shared state, no lock. */
	bool lock = q->backing->q != NULL;
	if (lock)
		pthread_mutex_lock(&q->cow.backing_mu);
	int rc = blk_image_read_sync(q->backing, off, buf, len);
	if (lock)
		pthread_mutex_unlock(&q->cow.backing_mu);
	return rc;
}

/* Fills [off, off+len) of the job's cluster with its old content. */
static int cow_old(struct qcow2 *q, struct qcow2_cow_job *j, const void *scratch, uint64_t off,
		   uint64_t len)
{
	char *dst = (char *)j->buf + off;

	if (!len)
		return 0;
	switch (j->src) {
	case QCOW2_COW_ZERO:
		memset(dst, 0, len);
		return 0;
	case QCOW2_COW_DATA:
		return qcow2_pread_all(q->fd, dst, len, j->src_off + off);
	case QCOW2_COW_BACKING:
		return qcow2_backing_read(q, j->start + off, dst, len);
	case QCOW2_COW_COMPRESSED:
		/* Inflated once per job into scratch (cow_run). */
		memcpy(dst, (const char *)scratch + off, len);
		return 0;
	}
	return -EINVAL;
}

static int cow_run(struct qcow2 *q, struct qcow2_cow_job *j, void *zin, void *scratch)
{
	int rc;

	if (j->src == QCOW2_COW_COMPRESSED) {
		ssize_t got = pread(q->fd, zin, j->src_len, (off_t)j->src_off);
		if (got <= 0)
			return -EIO;
		if ((rc = qcow2_inflate(zin, (uint64_t)got, scratch, q->cluster_size)) < 0)
			return rc;
	}
	uint64_t tail = j->in_cl + j->n;
	if ((rc = cow_old(q, j, scratch, 0, j->in_cl)) < 0 ||
	    (rc = cow_old(q, j, scratch, tail, q->cluster_size - tail)) < 0)
		return rc;
	return qcow2_pwrite_all(q->img->fd, j->buf, q->cluster_size, j->host);
}

static void *cow_worker(void *arg)
{
	struct qcow2 *q = arg;
	struct qcow2_cow *c = &q->cow;
	void *zin = malloc(2 * q->cluster_size + 1024), *scratch = malloc(q->cluster_size);

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->queue && !c->stop)
			pthread_cond_wait(&c->work_cv, &c->mu);
		if (!c->queue)
			break;
		struct qcow2_cow_job *j = c->queue;
		c->queue = j->next;
		if (!c->queue)
			c->queue_tail = NULL;
		pthread_mutex_unlock(&c->mu);
		j->result = (zin && scratch) ? cow_run(q, j, zin, scratch) : -ENOMEM;
		pthread_mutex_lock(&c->mu);
		j->next = c->done;
		c->done = j;
		pthread_cond_signal(&c->done_cv);
		blk_eventfd_signal(c->efd); /* a poller on the image's eventfd wakes up */
	}
	pthread_mutex_unlock(&c->mu);
	free(zin);
	free(scratch);
	return NULL;
}

static int cow_start_workers(struct qcow2 *q)
{
	struct qcow2_cow *c = &q->cow;
	c->efd = blk_image_event_fd(q->img);
	for (; c->nr_threads < QCOW2_COW_THREADS; c->nr_threads++) {
		if (pthread_create(&c->threads[c->nr_threads], NULL, cow_worker, q) != 0) {
			if (!c->nr_threads)
				return -EAGAIN;
			break;
		}
	}
	return 0;
}

int qcow2_cow_init(struct qcow2 *q)
{
	struct qcow2_cow *c = &q->cow;
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->backing_mu, NULL);
	pthread_cond_init(&c->work_cv, NULL);
	pthread_cond_init(&c->done_cv, NULL);
	c->efd = -1;
	c->inited = true;
	return 0;
}

void qcow2_cow_fini(struct qcow2 *q)
{
	struct qcow2_cow *c = &q->cow;
	if (!c->inited)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_broadcast(&c->work_cv);
	pthread_mutex_unlock(&c->mu);
	for (unsigned i = 0; i < c->nr_threads; i++)
		pthread_join(c->threads[i], NULL);
	/* Jobs never collected (only when the image is torn down in error). */
	for (struct qcow2_cow_job *j = c->done, *nx; j; j = nx) {
		nx = j->next;
		free(j->buf);
		free(j);
	}
	c->done = NULL;
	c->nr_threads = 0;
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->backing_mu);
	pthread_cond_destroy(&c->work_cv);
	pthread_cond_destroy(&c->done_cv);
	c->inited = false;
}

/* Reads [off, off+len) of the job's old content only if that needs no I/O
 * wait (page cache, zeros): preadv2 with RWF_NOWAIT.  -EAGAIN otherwise. */
static int cow_old_nowait(struct qcow2 *q, struct qcow2_cow_job *j, uint64_t off, uint64_t len)
{
	struct iovec v = { (char *)j->buf + off, len };
	int fd = q->fd;
	uint64_t at = j->src_off + off;

	if (!len || j->src == QCOW2_COW_ZERO) {
		memset(v.iov_base, 0, len);
		return 0;
	}
	if (j->src == QCOW2_COW_BACKING) {
		const struct blk_image *b = q->backing;
		if (b->q)
			return -EAGAIN; /* a qcow2 backing image: its metadata may need I/O */
		at = j->start + off;
		fd = b->fd;
		if (at >= b->size) {
			memset(v.iov_base, 0, len);
			return 0;
		}
		if (len > b->size - at) {
			memset((char *)v.iov_base + (b->size - at), 0, len - (b->size - at));
			v.iov_len = b->size - at;
		}
	} else if (j->src != QCOW2_COW_DATA) {
		return -EAGAIN;
	}
	ssize_t got = preadv2(fd, &v, 1, (off_t)at, RWF_NOWAIT);
	return got == (ssize_t)v.iov_len ? 0 : -EAGAIN;
}

int qcow2_cow_queue(struct qcow2 *q, struct img_req *r, const struct blk_req *req, uint64_t rel,
		    uint64_t start, uint64_t host, uint64_t in_cl, uint64_t n,
		    enum qcow2_cow_src src, uint64_t src_off, uint64_t src_len)
{
	struct qcow2_cow *c = &q->cow;
	struct qcow2_cow_job *j = calloc(1, sizeof(*j));
	int rc;

	if (!j || posix_memalign(&j->buf, 4096, q->cluster_size)) {
		free(j);
		return -ENOMEM;
	}
	*j = (struct qcow2_cow_job){ .r = r, .start = start, .host = host, .in_cl = in_cl, .n = n,
				     .src = src, .src_off = src_off, .src_len = src_len, .buf = j->buf };
	blk_iov_copy_from(req->iov, req->iovcnt, rel, (char *)j->buf + in_cl, n);
	if (cow_old_nowait(q, j, 0, in_cl) == 0 &&
	    cow_old_nowait(q, j, in_cl + n, q->cluster_size - in_cl - n) == 0) {
		/* Old content was at hand: no worker, the engine writes the
		 * merged cluster; the buffer lives until r commits. */
		struct iovec v = { j->buf, q->cluster_size };
		struct blk_req w = { .op = BLK_OP_WRITE, .iov = &v, .iovcnt = 1 };
		r->allocs[r->alloc_n - 1].buf = j->buf;
		free(j);
		return blk_image_emit(q->img, r, &w, 0, host, q->cluster_size);
	}
	if (!c->nr_threads && (rc = cow_start_workers(q)) < 0) {
		free(j->buf);
		free(j);
		return rc;
	}
	r->pending++;
	c->outstanding++;
	pthread_mutex_lock(&c->mu);
	if (c->queue_tail)
		c->queue_tail->next = j;
	else
		c->queue = j;
	c->queue_tail = j;
	pthread_cond_signal(&c->work_cv);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

/* Hands finished jobs to the image layer (blk_image_sub_done); with wait,
 * blocks until at least one job finishes if any is outstanding. */
int qcow2_cow_collect(struct qcow2 *q, bool wait)
{
	struct qcow2_cow *c = &q->cow;
	int n = 0;

	if (!c->outstanding)
		return 0;
	pthread_mutex_lock(&c->mu);
	while (wait && !c->done)
		pthread_cond_wait(&c->done_cv, &c->mu);
	struct qcow2_cow_job *j = c->done;
	c->done = NULL;
	pthread_mutex_unlock(&c->mu);
	for (struct qcow2_cow_job *nx; j; j = nx, n++) {
		nx = j->next;
		c->outstanding--;
		if (j->result < 0)
			pv_log_err(TAG, "%s: copy-on-write of guest offset %llu: %s", q->img->path,
				   (unsigned long long)j->start, strerror(-j->result));
		blk_image_sub_done(q->img, j->r, j->result < 0 ? j->result : 0);
		free(j->buf);
		free(j);
	}
	return n;
}

unsigned qcow2_cow_outstanding(const struct qcow2 *q)
{
	return q->cow.outstanding;
}
