/* SPDX-License-Identifier: MIT */
/*
 * bench_ring: the shared ring between two threads pinned to two cores.
 *
 *   1. floor: one cache line bounced between the cores (round trip, ns)
 *   2. ring ping-pong round trip, one blkif request + response (ns), ratio
 *      to the floor (goal <= 1.5x)
 *   3. streaming blkif request+response pairs per second with batching,
 *      both sides polling (goal >= 10 M/s)
 *   4. eventfd writes per pair under saturation with event-index suppression
 *      and consumers that poll briefly before sleeping (goal <= 1/64)
 *
 * The machine may be shared: latency runs are 101 short alternating
 * floor / ping-pong rounds and the best round estimates the cost (the
 * median shows the noise); streaming runs are 25 short rounds, best and
 * median printed; notification counts are the median of 7 rounds.  Rows 2b and 4b are for information (8-byte entries; no
 * polling before sleeping).  Usage: bench_ring [scale], scale multiplies the
 * iteration counts (default 1).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <pvkvm/blkif.h>

#define TP_ROUNDS 25 /* streaming rounds */
#define NT_ROUNDS 7  /* notification rounds */
#define ROUNDS 101
#define POLL_NS 20000 /* consumers poll this long before sleeping */

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() __asm__ __volatile__("" ::: "memory")
#endif

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* For run 2b: 8-byte entries, to separate the index protocol's cost from
 * moving a blkif request (112 bytes, over two or three cache lines). */
PVKVM_RING_DEFINE(tiny, uint64_t, uint64_t);

/* ---- two pinned threads ---- */

struct pair_ctx;
typedef void (*side_fn)(struct pair_ctx *);

struct pair_ctx {
	int cpu[2];
	side_fn fn[2];
	pthread_barrier_t start;
	double elapsed_ns;      /* measured by side 0 */
	unsigned long iters;
	/* per-benchmark state */
	uint32_t line __attribute__((aligned(64)));
	struct ring_shared *sh;
	uint32_t nr_ents;
	struct ring_front f __attribute__((aligned(64)));
	struct ring_back b __attribute__((aligned(64)));
	int to_back, to_front;  /* eventfds */
	unsigned long kicks_to_back __attribute__((aligned(64)));
	unsigned long kicks_to_front __attribute__((aligned(64)));
	int failed;
	int tiny;               /* ring of 8-byte entries (run 2b) */
	double poll_ns;         /* run 4: consumers poll this long before sleeping */
};

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
		fprintf(stderr, "bench_ring: cannot pin to CPU %d\n", cpu);
		exit(2);
	}
}

static void *side1_main(void *arg)
{
	struct pair_ctx *c = arg;

	pin(c->cpu[1]);
	pthread_barrier_wait(&c->start);
	c->fn[1](c);
	return NULL;
}

static void run_pair(struct pair_ctx *c)
{
	pthread_t th;

	pthread_barrier_init(&c->start, NULL, 2);
	if (pthread_create(&th, NULL, side1_main, c) != 0) {
		fprintf(stderr, "bench_ring: pthread_create failed\n");
		exit(2);
	}
	pin(c->cpu[0]);
	pthread_barrier_wait(&c->start);
	c->fn[0](c);
	pthread_join(th, NULL);
	pthread_barrier_destroy(&c->start);
	if (c->failed) {
		fprintf(stderr, "bench_ring: protocol error in run\n");
		exit(2);
	}
}

/* ---- 1. floor ---- */

static void floor_a(struct pair_ctx *c)
{
	double t0 = now_ns();

	for (uint32_t i = 0; i < c->iters; i++) {
		__atomic_store_n(&c->line, 2 * i + 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&c->line, __ATOMIC_ACQUIRE) != 2 * i + 2)
			cpu_relax();
	}
	c->elapsed_ns = now_ns() - t0;
}

static void floor_b(struct pair_ctx *c)
{
	for (uint32_t i = 0; i < c->iters; i++) {
		while (__atomic_load_n(&c->line, __ATOMIC_ACQUIRE) != 2 * i + 1)
			cpu_relax();
		__atomic_store_n(&c->line, 2 * i + 2, __ATOMIC_RELEASE);
	}
}

/* ---- ring set-up and the blkif message work ---- */

static void ring_setup(struct pair_ctx *c, size_t ring_bytes)
{
	c->sh = aligned_alloc(4096, ring_bytes);
	if (!c->sh) {
		fprintf(stderr, "bench_ring: out of memory\n");
		exit(2);
	}
	memset(c->sh, 0, ring_bytes);
	c->nr_ents = c->tiny ? tiny_ring_nr_ents(ring_bytes) : blkif_ring_nr_ents(ring_bytes);
	ring_shared_init(c->sh, 0);
	ring_front_init(&c->f, c->sh, c->nr_ents, 0);
	ring_back_attach(&c->b, c->sh, c->nr_ents);
	c->line = 0;
	c->failed = 0;
	c->kicks_to_back = c->kicks_to_front = 0;
}

/* A full-size read request: 11 segments of one page each. */
static void fill_req(union blkif_ring_req *r, uint64_t id)
{
	r->rw.op = BLKIF_OP_READ;
	r->rw.nr_segments = BLKIF_MAX_SEGMENTS_PER_REQUEST;
	r->rw.handle = 0;
	r->rw.flags = 0;
	r->rw.id = id;
	r->rw.sector = id * 88;
	for (unsigned s = 0; s < BLKIF_MAX_SEGMENTS_PER_REQUEST; s++) {
		r->rw.seg[s].gref = (uint32_t)(id + s);
		r->rw.seg[s].first_sect = 0;
		r->rw.seg[s].last_sect = 7;
	}
}

/* Backend: take one request and answer it (copy, check, respond). */
static void serve_one(struct pair_ctx *c)
{
	union blkif_ring_req req;
	struct blkif_response *rsp;

	blkif_back_take_req(&c->b, &req);
	rsp = blkif_back_rsp(&c->b);
	rsp->id = req.rw.id;
	rsp->op = req.op;
	rsp->status = req.rw.nr_segments == BLKIF_MAX_SEGMENTS_PER_REQUEST ? BLKIF_RSP_OKAY
									  : BLKIF_RSP_ERROR;
	c->b.rsp_prod_pvt++;
}

/* Frontend: take one response, check it answers request `expect`. */
static void take_one(struct pair_ctx *c, uint64_t expect)
{
	struct blkif_response rsp;

	blkif_front_take_rsp(&c->f, &rsp);
	if (rsp.id != expect || rsp.status != BLKIF_RSP_OKAY)
		c->failed = 1;
}

/* ---- 2. ping-pong ---- */

static void pingpong_front(struct pair_ctx *c)
{
	double t0 = now_ns();

	for (uint64_t i = 0; i < c->iters; i++) {
		int n;

		fill_req(blkif_front_req(&c->f), i);
		c->f.req_prod_pvt++;
		ring_front_push_reqs(&c->f);
		while ((n = ring_front_pending_rsps(&c->f)) == 0)
			cpu_relax();
		if (n < 0) {
			c->failed = 1;
			break;
		}
		take_one(c, i);
	}
	c->elapsed_ns = now_ns() - t0;
}

static void pingpong_back(struct pair_ctx *c)
{
	for (unsigned long i = 0; i < c->iters && !c->failed; i++) {
		int n;

		while ((n = ring_back_pending_reqs(&c->b)) == 0)
			cpu_relax();
		if (n < 0) {
			c->failed = 1;
			return;
		}
		serve_one(c);
		ring_back_push_rsps(&c->b);
	}
}


static void tiny_front(struct pair_ctx *c)
{
	double t0 = now_ns();

	for (uint64_t i = 0; i < c->iters; i++) {
		uint64_t rsp;
		int n;

		*tiny_front_req(&c->f) = i;
		c->f.req_prod_pvt++;
		ring_front_push_reqs(&c->f);
		while ((n = ring_front_pending_rsps(&c->f)) == 0)
			cpu_relax();
		tiny_front_take_rsp(&c->f, &rsp);
		if (n < 0 || rsp != i) {
			c->failed = 1;
			break;
		}
	}
	c->elapsed_ns = now_ns() - t0;
}

static void tiny_back(struct pair_ctx *c)
{
	for (unsigned long i = 0; i < c->iters && !c->failed; i++) {
		uint64_t req;
		int n;

		while ((n = ring_back_pending_reqs(&c->b)) == 0)
			cpu_relax();
		if (n < 0) {
			c->failed = 1;
			return;
		}
		tiny_back_take_req(&c->b, &req);
		*tiny_back_rsp(&c->b) = req;
		c->b.rsp_prod_pvt++;
		ring_back_push_rsps(&c->b);
	}
}

/* ---- 3. streaming, polling ---- */

static void stream_front(struct pair_ctx *c)
{
	uint64_t sent = 0, got = 0;
	double t0 = now_ns();

	while (got < c->iters) {
		uint32_t room = ring_front_free_reqs(&c->f);
		int n;

		for (; room && sent < c->iters; room--, sent++) {
			fill_req(blkif_front_req(&c->f), sent);
			c->f.req_prod_pvt++;
		}
		ring_front_push_reqs(&c->f);
		n = ring_front_pending_rsps(&c->f);
		if (n < 0) {
			c->failed = 1;
			break;
		}
		if (n == 0)
			cpu_relax();
		for (; n > 0; n--)
			take_one(c, got++);
	}
	c->elapsed_ns = now_ns() - t0;
}

static void stream_back(struct pair_ctx *c)
{
	unsigned long done = 0;

	while (done < c->iters && !c->failed) {
		int n = ring_back_pending_reqs(&c->b);

		if (n < 0) {
			c->failed = 1;
			return;
		}
		if (n == 0) {
			cpu_relax();
			continue;
		}
		for (int i = 0; i < n; i++)
			serve_one(c);
		done += (unsigned long)n;
		ring_back_push_rsps(&c->b);
	}
}

/* ---- 4. notifications under saturation ---- */

static void kick(int fd, unsigned long *count)
{
	uint64_t one = 1;

	(*count)++;
	if (write(fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		exit(2);
}

static void sleep_on(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

/* Poll `pending` for up to POLL_NS; returns its last value. */
static int poll_briefly(struct pair_ctx *c, int backend)
{
	double until = now_ns() + c->poll_ns;
	int n;

	do {
		n = backend ? ring_back_pending_reqs(&c->b) : ring_front_pending_rsps(&c->f);
		if (n)
			return n;
		cpu_relax();
	} while (now_ns() < until);
	return 0;
}

static void notify_front(struct pair_ctx *c)
{
	uint64_t sent = 0, got = 0;
	double t0 = now_ns();

	while (got < c->iters) {
		uint32_t room = ring_front_free_reqs(&c->f);
		int n;

		if (room && sent < c->iters) {
			for (; room && sent < c->iters; room--, sent++) {
				fill_req(blkif_front_req(&c->f), sent);
				c->f.req_prod_pvt++;
			}
			if (ring_front_push_reqs(&c->f))
				kick(c->to_back, &c->kicks_to_back);
			n = ring_front_pending_rsps(&c->f);
		} else {
			/* Nothing to send: wait for responses, poll then sleep. */
			n = poll_briefly(c, 0);
			if (n == 0)
				n = ring_front_final_check_rsps(&c->f);
			if (n == 0) {
				sleep_on(c->to_front);
				continue;
			}
		}
		if (n < 0) {
			c->failed = 1;
			break;
		}
		for (; n > 0; n--)
			take_one(c, got++);
	}
	c->elapsed_ns = now_ns() - t0;
}

static void notify_back(struct pair_ctx *c)
{
	unsigned long done = 0;

	while (done < c->iters) {
		int n = poll_briefly(c, 1);

		if (n == 0)
			n = ring_back_final_check_reqs(&c->b);
		if (n < 0) {
			c->failed = 1;
			return;
		}
		if (n == 0) {
			sleep_on(c->to_back);
			continue;
		}
		for (int i = 0; i < n; i++)
			serve_one(c);
		done += (unsigned long)n;
		if (ring_back_push_rsps(&c->b))
			kick(c->to_front, &c->kicks_to_front);
	}
}

/* ---- driver ---- */

struct stats {
	double v[ROUNDS];
	int n;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double st_min(struct stats *s)
{
	qsort(s->v, (size_t)s->n, sizeof(s->v[0]), cmp_double);
	return s->v[0];
}

static double st_median(struct stats *s)
{
	qsort(s->v, (size_t)s->n, sizeof(s->v[0]), cmp_double);
	return s->v[s->n / 2];
}

/* One run: ns per iteration; *kicks gets eventfd writes per iteration. */
static double run_once(struct pair_ctx *c, side_fn a, side_fn b, unsigned long iters,
		       size_t ring_bytes, double *kicks)
{
	double ns;

	ring_setup(c, ring_bytes);
	c->fn[0] = a;
	c->fn[1] = b;
	c->iters = iters;
	run_pair(c);
	ns = c->elapsed_ns / (double)iters;
	if (kicks)
		*kicks = (double)(c->kicks_to_back + c->kicks_to_front) / (double)iters;
	free(c->sh);
	c->sh = NULL;
	return ns;
}

static int pick_cpus(int cpu[2])
{
	cpu_set_t set;
	int found = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -1;
	for (int i = 0; i < CPU_SETSIZE && found < 2; i++)
		if (CPU_ISSET(i, &set))
			cpu[found++] = i;
	return found == 2 ? 0 : -1;
}

struct results {
	struct stats floor, pp, ratio, tiny, st, st_big, nt, kicks, nt0, kicks0;
};

/* Latency pairs alternate floor / ping-pong so both see the same
 * neighbours; throughput runs follow.  The machine is shared, so the
 * best run is the estimate of the cost and the median shows the noise. */
static void run_all(struct pair_ctx *c, unsigned long scale, struct results *r)
{
	const size_t page = 4096, big = 4096u << RING_MAX_PAGE_ORDER;

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < ROUNDS; i++) {
		double f = run_once(c, floor_a, floor_b, 20000 * scale, page, NULL);
		double p = run_once(c, pingpong_front, pingpong_back, 20000 * scale, page, NULL);
		double t;

		c->tiny = 1;
		t = run_once(c, tiny_front, tiny_back, 20000 * scale, page, NULL);
		c->tiny = 0;
		r->tiny.v[r->tiny.n++] = t;
		r->floor.v[r->floor.n++] = f;
		r->pp.v[r->pp.n++] = p;
		r->ratio.v[r->ratio.n++] = p / f;
	}
	/* Short throughput rounds too (~20-50 ms each), so some fall between
	 * the neighbours' time slices. */
	for (int i = 0; i < TP_ROUNDS; i++) {
		r->st.v[r->st.n++] = 1e3 / run_once(c, stream_front, stream_back,
						     500000 * scale, page, NULL);
		r->st_big.v[r->st_big.n++] = 1e3 / run_once(c, stream_front, stream_back,
							     500000 * scale, big, NULL);
	}
	for (int i = 0; i < NT_ROUNDS; i++) {
		double k;

		c->poll_ns = POLL_NS;
		r->nt.v[r->nt.n++] = 1e3 / run_once(c, notify_front, notify_back,
						     1000000 * scale, page, &k);
		r->kicks.v[r->kicks.n++] = k;
		c->poll_ns = 0;
		r->nt0.v[r->nt0.n++] = 1e3 / run_once(c, notify_front, notify_back,
						       100000 * scale, page, &k);
		r->kicks0.v[r->kicks0.n++] = k;
	}
}

static double st_max(struct stats *s)
{
	qsort(s->v, (size_t)s->n, sizeof(s->v[0]), cmp_double);
	return s->v[s->n - 1];
}

static void print_results(const struct pair_ctx *c, struct results *r)
{
	const size_t big = 4096u << RING_MAX_PAGE_ORDER;
	double fmin = st_min(&r->floor), pmin = st_min(&r->pp), kmed = st_median(&r->kicks);
	double stmax = st_max(&r->st), bigmax = st_max(&r->st_big);

	printf("bench-ring: two threads pinned to CPUs %d and %d; blkif entries of %zu bytes;\n"
	       "1-page ring = %u entries, %zu KiB ring = %u entries.  Latency: best (median) of\n"
	       "%d alternating floor/ping-pong runs; throughput: best (median) of %d runs.\n",
	       c->cpu[0], c->cpu[1], sizeof(union blkif_ring_entry), blkif_ring_nr_ents(4096),
	       big / 1024, blkif_ring_nr_ents(big), ROUNDS, TP_ROUNDS);
	if (fmin > 300.0)
		printf("WARNING: floor %.0f ns is far above an idle machine's (45-110 ns): the two threads\n"
		       "rarely ran at the same time (busy machine); every figure below is dominated by that.\n",
		       fmin);
	printf("%-46s %-22s %-16s %s\n", "figure", "measured (median)", "anchor / goal", "ratio");
	printf("%-46s %6.1f ns (%6.1f)     %-16s %s\n", "1 floor: cache line round trip", fmin,
	       st_median(&r->floor), "-", "1.00x (anchor)");
	printf("%-46s %6.1f ns (%6.1f)     %-16s %.2fx floor, median per-round %.2fx (goal <= 1.5x)\n",
	       "2 ring ping-pong round trip, blkif req+rsp", pmin, st_median(&r->pp), "floor",
	       pmin / fmin, st_median(&r->ratio));
	printf("%-46s %6.1f ns (%6.1f)     %-16s %.2fx floor (information)\n",
	       "2b ring ping-pong round trip, 8-byte entries", st_min(&r->tiny),
	       st_median(&r->tiny), "floor", st_min(&r->tiny) / fmin);
	printf("%-46s %6.2f M/s (%6.2f)    %-16s %.2fx goal\n", "3 streaming pairs/s, 1-page ring, batched",
	       stmax, st_median(&r->st), ">= 10 M/s", stmax / 10.0);
	printf("%-46s %6.2f M/s (%6.2f)    %-16s %.2fx goal\n", "3b streaming pairs/s, 16-page ring",
	       bigmax, st_median(&r->st_big), ">= 10 M/s", bigmax / 10.0);
	printf("%-46s %.6f (1 per %.0f)  %-16s %s\n", "4 eventfd writes per pair, saturated, median",
	       kmed, kmed > 0 ? 1.0 / kmed : 0.0, "<= 1/64", kmed <= 1.0 / 64 ? "met" : "NOT met");
	printf("%-46s %6.2f M/s median, with event-index suppression and %d us polling\n",
	       "  pairs/s during run 4", st_median(&r->nt), POLL_NS / 1000);
	printf("%-46s %.6f (1 per %.1f), %.2f M/s (information: suppression alone)\n",
	       "4b same, consumers sleep at once (no polling)", st_median(&r->kicks0),
	       st_median(&r->kicks0) > 0 ? 1.0 / st_median(&r->kicks0) : 0.0, st_median(&r->nt0));
}

int main(int argc, char **argv)
{
	struct pair_ctx *c = aligned_alloc(64, (sizeof(struct pair_ctx) + 63) & ~(size_t)63);
	unsigned long scale = argc > 1 ? strtoul(argv[1], NULL, 0) : 1;
	struct results r;

	if (!c || scale == 0) {
		fprintf(stderr, "usage: bench_ring [scale]\n");
		return 1;
	}
	memset(c, 0, sizeof(*c));
	if (pick_cpus(c->cpu) < 0) {
		fprintf(stderr, "bench_ring: needs two CPUs in its affinity mask\n");
		return 2;
	}
	c->to_back = eventfd(0, EFD_CLOEXEC);
	c->to_front = eventfd(0, EFD_CLOEXEC);
	if (c->to_back < 0 || c->to_front < 0) {
		perror("bench_ring: eventfd");
		return 2;
	}
	run_all(c, scale, &r);
	print_results(c, &r);
	close(c->to_back);
	close(c->to_front);
	free(c);
	return 0;
}
