/* SPDX-License-Identifier: MIT */
/* The sync engine: a pool of threads doing preadv/pwritev2/fdatasync/fallocate.
 * Submissions go into a bounded queue; workers post completions to a list and
 * bump the eventfd.  The portable fallback when io_uring and libaio are absent. */
#include "engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

struct sync_slot {
	struct blk_req req;
	int64_t result;
};

struct blk_engine {
	int fd, efd;
	enum blk_cache cache;
	unsigned depth, nr_threads;
	pthread_t *threads;
	pthread_mutex_t lock;
	pthread_cond_t work_cv, done_cv;
	/* Rings of slot indexes: pending -> (worker) -> done -> (reap) -> free. */
	struct sync_slot *slots;
	unsigned *pending, *done, *free_list;
	unsigned pend_head, pend_n, done_head, done_n, free_n;
	unsigned in_flight;
	bool stop;
};

static void *sync_worker(void *arg)
{
	struct blk_engine *e = arg;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (!e->pend_n && !e->stop)
			pthread_cond_wait(&e->work_cv, &e->lock);
		if (!e->pend_n && e->stop)
			break;
		unsigned idx = e->pending[e->pend_head];
		e->pend_head = (e->pend_head + 1) % e->depth;
		e->pend_n--;
		pthread_mutex_unlock(&e->lock);

		e->slots[idx].result = blk_exec_sync(e->fd, &e->slots[idx].req, e->cache);

		pthread_mutex_lock(&e->lock);
		e->done[(e->done_head + e->done_n) % e->depth] = idx;
		e->done_n++;
		pthread_cond_broadcast(&e->done_cv);
		blk_eventfd_signal(e->efd);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static void sync_close(struct blk_engine *e);

static int sync_open(struct blk_engine **out, int fd, const struct blk_engine_params *p)
{
	struct blk_engine *e = calloc(1, sizeof(*e));
	int rc = -ENOMEM;

	if (!e)
		return -ENOMEM;
	e->fd = fd;
	e->cache = p->cache;
	e->depth = p->queue_depth ? p->queue_depth : 128;
	e->nr_threads = p->nr_threads ? p->nr_threads : 4;
	e->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->work_cv, NULL);
	pthread_cond_init(&e->done_cv, NULL);
	e->slots = calloc(e->depth, sizeof(*e->slots));
	e->pending = calloc(e->depth, sizeof(unsigned));
	e->done = calloc(e->depth, sizeof(unsigned));
	e->free_list = calloc(e->depth, sizeof(unsigned));
	e->threads = calloc(e->nr_threads, sizeof(pthread_t));
	if (e->efd < 0 || !e->slots || !e->pending || !e->done || !e->free_list || !e->threads)
		goto fail;
	for (unsigned i = 0; i < e->depth; i++)
		e->free_list[i] = e->depth - 1 - i;
	e->free_n = e->depth;
	for (unsigned i = 0; i < e->nr_threads; i++) {
		if ((rc = -pthread_create(&e->threads[i], NULL, sync_worker, e))) {
			e->nr_threads = i;
			goto fail;
		}
	}
	*out = e;
	return 0;
fail:
	sync_close(e);
	return rc;
}

static int sync_submit(struct blk_engine *e, const struct blk_req *reqs, unsigned n)
{
	unsigned i;

	pthread_mutex_lock(&e->lock);
	for (i = 0; i < n && e->free_n; i++) {
		unsigned idx = e->free_list[--e->free_n];
		e->slots[idx].req = reqs[i];
		e->pending[(e->pend_head + e->pend_n) % e->depth] = idx;
		e->pend_n++;
		e->in_flight++;
	}
	if (i)
		pthread_cond_broadcast(&e->work_cv);
	pthread_mutex_unlock(&e->lock);
	return (int)i;
}

static int sync_reap(struct blk_engine *e, struct blk_completion *out, unsigned max, bool wait)
{
	unsigned n = 0;

	pthread_mutex_lock(&e->lock);
	while (wait && !e->done_n && e->in_flight)
		pthread_cond_wait(&e->done_cv, &e->lock);
	while (n < max && e->done_n) {
		unsigned idx = e->done[e->done_head];
		e->done_head = (e->done_head + 1) % e->depth;
		e->done_n--;
		out[n].cookie = e->slots[idx].req.cookie;
		out[n].result = e->slots[idx].result;
		n++;
		e->free_list[e->free_n++] = idx;
		e->in_flight--;
	}
	pthread_mutex_unlock(&e->lock);
	return (int)n;
}

static int sync_event_fd(struct blk_engine *e) { return e->efd; }

static unsigned sync_in_flight(struct blk_engine *e)
{
	pthread_mutex_lock(&e->lock);
	unsigned n = e->in_flight;
	pthread_mutex_unlock(&e->lock);
	return n;
}

static void sync_close(struct blk_engine *e)
{
	pthread_mutex_lock(&e->lock);
	e->stop = true;
	pthread_cond_broadcast(&e->work_cv);
	pthread_mutex_unlock(&e->lock);
	for (unsigned i = 0; i < e->nr_threads; i++)
		pthread_join(e->threads[i], NULL);
	if (e->efd >= 0)
		close(e->efd);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->work_cv);
	pthread_cond_destroy(&e->done_cv);
	free(e->slots);
	free(e->pending);
	free(e->done);
	free(e->free_list);
	free(e->threads);
	free(e);
}

const struct blk_engine_ops blk_engine_sync_ops = {
	.name = "sync",
	.open = sync_open,
	.submit = sync_submit,
	.reap = sync_reap,
	.event_fd = sync_event_fd,
	.in_flight = sync_in_flight,
	.close = sync_close,
};
