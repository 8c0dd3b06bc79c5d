/* SPDX-License-Identifier: MIT */
/* One queue: its ring, event channel, image handle and thread.  The thread
 * takes every published request (copied once, checked, grants mapped into an
 * iovec), submits them to the image in one batch, turns completions into
 * responses and publishes them with one event per batch at most (event
 * indexes decide).  When idle it polls the ring for poll_us, then arms
 * req_event and sleeps on the event channel, the image's completion eventfd
 * and its stop eventfd. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "blkback_int.h"
#include "pv_log.h"

#define TAG "blkback"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A reference beyond the frames we know may be in a grow push not yet read. */
static int q_gnt_map(struct blkback_queue *q, uint32_t gref, bool write, void **page)
{
	int err = pvback_gnt_map(q->dom, gref, write, page);

	if (err == -EINVAL && pvback_ctl_process(q->dom) == 0)
		err = pvback_gnt_map(q->dom, gref, write, page);
	return err;
}

static void q_respond(struct blkback_queue *q, uint64_t id, uint8_t op, int16_t status)
{
	struct blkif_response *r = blkif_back_rsp(&q->ring);

	r->id = id;
	r->op = op;
	r->reserved0 = 0;
	r->status = status;
	r->reserved1 = 0;
	q->ring.rsp_prod_pvt++;
	q->rsp_unpushed = true;
	if (status != BLKIF_RSP_OKAY)
		blkback_stat_add(&q->st.errors, 1);
}

static void q_unmap_all(struct blkback_queue *q, struct blkback_ioreq *io)
{
	for (unsigned i = 0; i < io->nr_mapped; i++)
		pvback_gnt_unmap(q->dom, io->grefs[i]);
	io->nr_mapped = 0;
}

/* Copies the segment list of an indirect request out of its (read-only)
 * indirect pages into q->segs. */
static int q_copy_indirect(struct blkback_queue *q, const struct blkback_decoded *dec)
{
	for (unsigned p = 0; p < dec->nr_ind_pages; p++) {
		unsigned first = p * BLKIF_SEGS_PER_INDIRECT_PAGE;
		unsigned n = dec->nr_segs - first;
		void *page;

		if (n > BLKIF_SEGS_PER_INDIRECT_PAGE)
			n = BLKIF_SEGS_PER_INDIRECT_PAGE;
		if (q_gnt_map(q, dec->ind_grefs[p], false, &page))
			return BLKIF_RSP_ERROR;
		memcpy(&q->segs[first], page, n * sizeof(struct blkif_segment));
		pvback_gnt_unmap(q->dom, dec->ind_grefs[p]);
	}
	return BLKIF_RSP_OKAY;
}

/* Maps every segment (writable when the disk is read into it) and builds the
 * iovec, merging segments that are adjacent in the guest-memory mapping. */
static int q_map_segs(struct blkback_queue *q, struct blkback_ioreq *io,
		      const struct blkback_decoded *dec)
{
	bool write = dec->blk_op == BLK_OP_READ;
	int n = 0;

	io->bytes = 0;
	for (unsigned i = 0; i < dec->nr_segs; i++) {
		const struct blkif_segment *s = &q->segs[i];
		size_t off = (size_t)s->first_sect * BLKIF_SECTOR_BYTES;
		size_t len = ((size_t)s->last_sect - s->first_sect + 1) * BLKIF_SECTOR_BYTES;
		uint8_t *page;

		if (q_gnt_map(q, s->gref, write, (void **)&page)) {
			q_unmap_all(q, io);
			return BLKIF_RSP_ERROR;
		}
		io->grefs[io->nr_mapped++] = s->gref;
		if (n && (uint8_t *)io->iov[n - 1].iov_base + io->iov[n - 1].iov_len == page + off) {
			io->iov[n - 1].iov_len += len;
		} else {
			io->iov[n].iov_base = page + off;
			io->iov[n].iov_len = len;
			n++;
		}
		io->bytes += len;
	}
	io->breq.iov = io->iov;
	io->breq.iovcnt = n;
	return BLKIF_RSP_OKAY;
}

/* Turns one checked request into an image request in the backlog, or
 * answers it with an error. */
static void q_prepare(struct blkback_queue *q, const union blkif_ring_req *copy)
{
	struct blkback_decoded dec;
	struct blkback_ioreq *io;
	int st = blkback_req_check(copy, &q->lim, &dec);

	if (st == BLKIF_RSP_OKAY && dec.nr_segs) {
		if (copy->op == BLKIF_OP_INDIRECT)
			st = q_copy_indirect(q, &dec);
		else
			memcpy(q->segs, copy->rw.seg, dec.nr_segs * sizeof(struct blkif_segment));
		if (st == BLKIF_RSP_OKAY)
			st = blkback_segs_check(q->segs, &q->lim, &dec);
	}
	if (st != BLKIF_RSP_OKAY) {
		blkback_stat_add(&q->st.invalid, 1);
		q_respond(q, dec.id, dec.rsp_op, (int16_t)st);
		return;
	}
	io = q->free; /* never empty: at most nr_ents requests are unanswered */
	q->free = io->next_free;
	io->id = dec.id;
	io->rsp_op = dec.rsp_op;
	io->blk_op = dec.blk_op;
	io->nr_mapped = 0;
	io->bytes = 0;
	io->breq = (struct blk_req){ .op = dec.blk_op, .flags = dec.blk_flags,
				     .offset = dec.sector * BLKIF_SECTOR_BYTES,
				     .len_bytes = dec.nr_sectors * BLKIF_SECTOR_BYTES, .cookie = io };
	if (dec.nr_segs && q_map_segs(q, io, &dec) != BLKIF_RSP_OKAY) {
		blkback_stat_add(&q->st.invalid, 1);
		q_respond(q, io->id, io->rsp_op, BLKIF_RSP_ERROR);
		io->next_free = q->free;
		q->free = io;
		return;
	}
	io->t0_ns = now_ns();
	q->backlog[q->nr_backlog++] = io->breq;
}

/* Takes every published request; -EPROTO on an impossible index. */
static int q_take_reqs(struct blkback_queue *q)
{
	union blkif_ring_req copy;
	int n = ring_back_pending_reqs(&q->ring), done = 0;

	if (n < 0)
		return -EPROTO;
	while (n > 0) {
		for (int i = 0; i < n; i++) {
			blkif_back_take_req(&q->ring, &copy);
			q_prepare(q, &copy);
		}
		done += n;
		n = ring_back_pending_reqs(&q->ring);
		if (n < 0)
			return -EPROTO;
	}
	return done;
}

static int q_submit_backlog(struct blkback_queue *q)
{
	int n;

	if (!q->nr_backlog)
		return 0;
	n = blk_image_submit(q->img, q->backlog, q->nr_backlog);
	if (n < 0) {
		/* The image refused the whole batch: answer each with an error. */
		for (unsigned i = 0; i < q->nr_backlog; i++) {
			struct blkback_ioreq *io = q->backlog[i].cookie;

			q_unmap_all(q, io);
			q_respond(q, io->id, io->rsp_op, BLKIF_RSP_ERROR);
			io->next_free = q->free;
			q->free = io;
		}
		q->nr_backlog = 0;
		return n;
	}
	memmove(q->backlog, q->backlog + n, (q->nr_backlog - (unsigned)n) * sizeof(*q->backlog));
	q->nr_backlog -= (unsigned)n;
	return n;
}

static void q_account(struct blkback_queue *q, struct blkback_ioreq *io, uint64_t lat)
{
	static const size_t field[BLK_OP_COUNT] = {
		[BLK_OP_READ] = offsetof(struct blkback_stats, rd_req),
		[BLK_OP_WRITE] = offsetof(struct blkback_stats, wr_req),
		[BLK_OP_FLUSH] = offsetof(struct blkback_stats, flush_req),
		[BLK_OP_DISCARD] = offsetof(struct blkback_stats, discard_req),
		[BLK_OP_WRITE_ZEROES] = offsetof(struct blkback_stats, zeroes_req),
	};

	blkback_stat_add((uint64_t *)((char *)&q->st + field[io->blk_op]), 1);
	if (io->blk_op == BLK_OP_READ)
		blkback_stat_add(&q->st.rd_bytes, io->bytes);
	else if (io->blk_op == BLK_OP_WRITE)
		blkback_stat_add(&q->st.wr_bytes, io->bytes);
	blkback_stat_add(&q->st.lat_ns_total, lat);
	if (lat > __atomic_load_n(&q->st.lat_ns_max, __ATOMIC_RELAXED))
		__atomic_store_n(&q->st.lat_ns_max, lat, __ATOMIC_RELAXED);
}

static int q_reap(struct blkback_queue *q, bool wait)
{
	int n = blk_image_reap(q->img, q->cpl, q->nr_ents, wait);
	uint64_t t = n > 0 ? now_ns() : 0;

	for (int i = 0; i < n; i++) {
		struct blkback_ioreq *io = q->cpl[i].cookie;
		bool ok = q->cpl[i].result >= 0 &&
			  (io->blk_op > BLK_OP_WRITE || (uint64_t)q->cpl[i].result == io->bytes);

		q_unmap_all(q, io);
		q_account(q, io, t - io->t0_ns);
		q_respond(q, io->id, io->rsp_op, ok ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR);
		io->next_free = q->free;
		q->free = io;
	}
	return n;
}

static void q_push(struct blkback_queue *q)
{
	if (!q->rsp_unpushed || __atomic_load_n(&q->dev->broken, __ATOMIC_RELAXED))
		return;
	q->rsp_unpushed = false;
	if (ring_back_push_rsps(&q->ring)) {
		pvback_evtchn_notify(q->dom, q->ev);
		blkback_stat_add(&q->st.notifies, 1);
	}
}

/* One pass: requests in, batch out, completions back.  >0 if anything moved. */
static int q_pass(struct blkback_queue *q)
{
	int taken = q_take_reqs(q), reaped;

	if (taken < 0)
		return taken;
	q_submit_backlog(q);
	reaped = q_reap(q, false);
	if (reaped > 0 && q->nr_backlog)
		q_submit_backlog(q);
	q_push(q);
	return taken + (reaped > 0 ? reaped : 0);
}

static void q_sleep(struct blkback_queue *q)
{
	struct pollfd p[3] = {
		{ .fd = q->ev->wait_fd, .events = POLLIN },
		{ .fd = blk_image_event_fd(q->img), .events = POLLIN },
		{ .fd = q->stop_fd, .events = POLLIN },
	};

	if (ring_back_final_check_reqs(&q->ring) != 0)
		return;
	blkback_stat_add(&q->st.wakeups, 1);
	if (poll(p, 3, 1000) <= 0)
		return;
	if (p[0].revents)
		pvback_evtchn_ack(q->ev);
	if (p[1].revents) {
		uint64_t v;

		if (read(p[1].fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			pv_log_debug(TAG, "queue %u: completion eventfd: %s", q->idx, strerror(errno));
	}
}

static void q_hostile(struct blkback_queue *q)
{
	pv_log_err(TAG, "%s queue %u: impossible ring index from the guest; device disconnected",
		   q->dev->path, q->idx);
	__atomic_store_n(&q->dev->broken, true, __ATOMIC_RELAXED);
}

/* The thread's CPU time, for the statistics.  A real system call (no vDSO
 * for thread clocks): at most every CPU_SAMPLE_NS, not before every sleep
 * (at QD1 that was one more system call per request; perf trace, 2026-11-26). */
#define CPU_SAMPLE_NS 20000000ull
static void q_sample_cpu(struct blkback_queue *q)
{
	struct timespec ts;
	uint64_t t = now_ns();

	if (t - q->cpu_sampled_ns < CPU_SAMPLE_NS)
		return;
	q->cpu_sampled_ns = t;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
		__atomic_store_n(&q->st.cpu_ns, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec,
				 __ATOMIC_RELAXED);
}

/* A lone request in flight (QD1): wait for its completion spinning up to
 * LONE_SPIN_NS instead of sleeping on the completion eventfd -- a fast disk
 * completes within that, and the second sleep/wake-up per request was most of
 * the backend's QD1 latency (pvkvm 4k randread QD1 p50 76 -> 43 us, QD32 IOPS
 * unchanged, 2026-11-26).  With more in flight completions keep coming and
 * spinning would only take the core from the polling vCPU (see poll_us). */
#define LONE_SPIN_NS 20000ull

static void *q_thread(void *arg)
{
	struct blkback_queue *q = arg;
	uint64_t idle_since = now_ns(), poll_ns = (uint64_t)q->dev->o.poll_us * 1000;
	unsigned passes = 0;

	while (!__atomic_load_n(&q->stop, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&q->dev->broken, __ATOMIC_RELAXED)) {
		int n = q_pass(q);

		if ((++passes & 1023) == 0)
			q_sample_cpu(q);
		if (n < 0) {
			q_hostile(q);
			break;
		}
		if (n > 0) {
			idle_since = 0;
			continue;
		}
		if (!idle_since)
			idle_since = now_ns();
		if ((poll_ns || blk_image_in_flight(q->img) == 1) &&
		    now_ns() - idle_since < (poll_ns ? poll_ns : LONE_SPIN_NS)) {
			__builtin_ia32_pause();
			continue;
		}
		q_sample_cpu(q);
		q_sleep(q);
		idle_since = 0;
	}
	/* Requests in flight still own grants: finish them (responses are
	 * published unless the ring is hostile). */
	for (unsigned i = 0; i < q->nr_backlog; i++) /* never submitted: the frontend resubmits */
		q_unmap_all(q, q->backlog[i].cookie);
	q->nr_backlog = 0;
	while (blk_image_in_flight(q->img) > 0)
		if (q_reap(q, true) < 0)
			break;
	q_push(q);
	q->cpu_sampled_ns = 0;
	q_sample_cpu(q);
	return NULL;
}

/* Maps the ring pages, which must be one contiguous run of guest memory. */
static int q_map_ring(struct blkback_queue *q, const struct blkback_queue_cfg *cfg)
{
	unsigned nr = 1u << cfg->ring_order;
	uint8_t *base = NULL;
	int err;

	for (unsigned i = 0; i < nr; i++) {
		void *page;

		err = q_gnt_map(q, cfg->ring_ref[i], true, &page);
		if (err)
			return err;
		q->ring_refs[q->nr_ring_refs++] = cfg->ring_ref[i];
		if (i == 0)
			base = page;
		else if ((uint8_t *)page != base + (size_t)i * BLKIF_PAGE_BYTES)
			return -EINVAL;
	}
	q->nr_ents = blkif_ring_nr_ents((size_t)nr * BLKIF_PAGE_BYTES);
	ring_back_attach(&q->ring, (struct ring_shared *)base, q->nr_ents);
	return 0;
}

static int q_alloc(struct blkback_queue *q)
{
	unsigned n = q->nr_ents, segs = q->max_segs;

	q->ioreqs = calloc(n, sizeof(*q->ioreqs));
	q->backlog = calloc(n, sizeof(*q->backlog));
	q->cpl = calloc(n, sizeof(*q->cpl));
	q->segs = calloc(segs, sizeof(*q->segs));
	if (!q->ioreqs || !q->backlog || !q->cpl || !q->segs)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		struct blkback_ioreq *io = &q->ioreqs[i];

		io->q = q;
		io->grefs = calloc(segs, sizeof(*io->grefs));
		io->iov = calloc(segs, sizeof(*io->iov));
		if (!io->grefs || !io->iov)
			return -ENOMEM;
		io->next_free = q->free;
		q->free = io;
	}
	return 0;
}

static int q_open_image(struct blkback_queue *q)
{
	struct blkback_dev *d = q->dev;
	const struct pv_gmem *gm = pvback_gmem(q->dom);
	struct blk_image_opts io = {
		.path = d->path, .format = d->format, .engine = d->o.engine, .cache = d->o.cache,
		.readonly = d->o.readonly, .sector_size = d->sector_size, .queue_depth = q->nr_ents,
	};

	if (d->o.fixed_bufs && d->o.engine == BLK_ENGINE_URING) {
		io.buf_base = gm->base;
		io.buf_len = gm->map_size;
	}
	return blk_image_open(&q->img, &io);
}

int blkback_queue_start(struct blkback_queue *q, const struct blkback_queue_cfg *cfg)
{
	int err;

	q->stop = false;
	q->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->stop_fd < 0)
		return -errno;
	err = q_map_ring(q, cfg);
	if (!err)
		err = q_alloc(q);
	if (!err)
		err = pvback_evtchn_bind(q->dom, cfg->port, &q->ev);
	if (!err)
		err = q_open_image(q);
	if (!err)
		err = -pthread_create(&q->thread, NULL, q_thread, q);
	if (err)
		return err;
	q->started = true;
	return 0;
}

/* Also undoes a partly failed start. */
void blkback_queue_stop(struct blkback_queue *q)
{
	uint64_t one = 1;

	if (q->started) {
		__atomic_store_n(&q->stop, true, __ATOMIC_RELEASE);
		if (write(q->stop_fd, &one, sizeof(one)) < 0)
			pv_log_warn(TAG, "queue %u: stop: %s", q->idx, strerror(errno));
		pthread_join(q->thread, NULL);
		q->started = false;
	}
	if (q->img)
		blk_image_close(q->img);
	q->img = NULL;
	if (q->ev)
		pvback_evtchn_unbind(q->dom, q->ev);
	q->ev = NULL;
	for (unsigned i = 0; i < q->nr_ring_refs; i++)
		pvback_gnt_unmap(q->dom, q->ring_refs[i]);
	q->nr_ring_refs = 0;
	for (unsigned i = 0; q->ioreqs && i < q->nr_ents; i++) {
		free(q->ioreqs[i].grefs);
		free(q->ioreqs[i].iov);
	}
	free(q->ioreqs);
	free(q->backlog);
	free(q->cpl);
	free(q->segs);
	q->ioreqs = NULL;
	q->backlog = NULL;
	q->cpl = NULL;
	q->segs = NULL;
	q->free = NULL;
	if (q->stop_fd >= 0)
		close(q->stop_fd);
	q->stop_fd = -1;
}
