/* SPDX-License-Identifier: MIT */
/*
 * Notification suppression never loses a wake-up.
 *
 * 1. A model check: the producer's steps (publish, then fence + read the
 *    peer's event index and maybe notify) and the consumer's steps (check,
 *    consume, arm the event index, re-check, sleep until notified) are
 *    interleaved in every possible order by a depth-first search over copies
 *    of a real ring, using the real ring functions for each step.  Any final
 *    state where the consumer sleeps with work pending is a lost wake-up.
 *    A consumer without the re-check must be caught, or the model has no teeth.
 * 2. A two-thread stress run: millions of requests and responses through a
 *    small ring, both sides sleeping on eventfds with event-index
 *    suppression; order and count are checked, and a wait that times out
 *    (a lost wake-up) fails the test.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "test_ring.h"

/* ---- model check ---- */

enum cons_pc { C_CHECK, C_ARM, C_RECHECK, C_SLEEP };

struct world {
	union tst_mem mem;
	struct ring_front f;
	struct ring_back b;
	int responses;        /* direction: 0 requests, 1 responses */
	const uint32_t *batches;
	unsigned nr_batches;
	unsigned batch;       /* producer: next batch */
	int prod_step;        /* 0: publish next; 1: check-notify */
	uint32_t old_prod;    /* returned by publish, used by check-notify */
	enum cons_pc pc;
	int kicks;            /* eventfd counter (notifications not yet read) */
	uint32_t consumed, total;
	int recheck;          /* 0: broken consumer that skips the re-check */
};

struct model_result {
	unsigned long paths;
	unsigned long lost;
	unsigned long misordered;
};

static void world_fix(struct world *w)
{
	w->f.sh = &w->mem.sh;
	w->b.sh = &w->mem.sh;
}

static void producer_step(struct world *w)
{
	if (w->prod_step == 0) {
		uint32_t n = w->batches[w->batch];

		for (uint32_t i = 0; i < n; i++) {
			if (w->responses) {
				tst_back_rsp(&w->b)->seq = w->b.rsp_prod_pvt;
				w->b.rsp_prod_pvt++;
			} else {
				tst_front_req(&w->f)->seq = w->f.req_prod_pvt;
				w->f.req_prod_pvt++;
			}
		}
		w->old_prod = w->responses ? ring_back_publish_rsps(&w->b)
					   : ring_front_publish_reqs(&w->f);
		w->prod_step = 1;
		return;
	}
	if (w->responses ? ring_back_need_notify(&w->b, w->old_prod)
			 : ring_front_need_notify(&w->f, w->old_prod))
		w->kicks++;
	w->prod_step = 0;
	w->batch++;
}

static int cons_pending(struct world *w)
{
	return w->responses ? ring_front_pending_rsps(&w->f) : ring_back_pending_reqs(&w->b);
}

static void cons_take_all(struct world *w, int n, struct model_result *res)
{
	for (int i = 0; i < n; i++) {
		uint32_t expect = w->responses ? w->f.rsp_cons : w->b.req_cons;
		uint32_t seq;

		if (w->responses) {
			struct tst_rsp r;

			tst_front_take_rsp(&w->f, &r);
			seq = r.seq;
		} else {
			struct tst_req r;

			tst_back_take_req(&w->b, &r);
			seq = r.seq;
		}
		if (seq != expect)
			res->misordered++;
		w->consumed++;
	}
}

/* One consumer step; returns 0 when the consumer is blocked. */
static int consumer_step(struct world *w, struct model_result *res)
{
	int n;

	switch (w->pc) {
	case C_CHECK:
		n = cons_pending(w);
		if (n > 0)
			cons_take_all(w, n, res);
		else
			w->pc = C_ARM;
		return 1;
	case C_ARM:
		if (w->responses)
			ring_front_arm_event(&w->f);
		else
			ring_back_arm_event(&w->b);
		w->pc = w->recheck ? C_RECHECK : C_SLEEP;
		return 1;
	case C_RECHECK:
		w->pc = cons_pending(w) > 0 ? C_CHECK : C_SLEEP;
		return 1;
	case C_SLEEP:
		if (!w->kicks)
			return 0;
		w->kicks = 0; /* eventfd read */
		w->pc = C_CHECK;
		return 1;
	}
	return 0;
}

static void explore(const struct world *w, struct model_result *res)
{
	int moved = 0;

	if (w->batch < w->nr_batches) {
		struct world next = *w;

		world_fix(&next);
		producer_step(&next);
		explore(&next, res);
		moved = 1;
	}
	{
		struct world next = *w;

		world_fix(&next);
		if (consumer_step(&next, res)) {
			explore(&next, res);
			moved = 1;
		}
	}
	if (moved)
		return;
	res->paths++;
	if (w->consumed != w->total)
		res->lost++;
}

/* Starts the model with the producer's ring already primed (for responses,
 * the requests they answer are published and taken). */
static struct model_result run_model(uint32_t start, int responses, int recheck,
				     const uint32_t *batches, unsigned nr_batches)
{
	struct model_result res = { 0, 0, 0 };
	struct world w;

	memset(&w, 0, sizeof(w));
	world_fix(&w);
	ring_shared_init(&w.mem.sh, start);
	ring_front_init(&w.f, &w.mem.sh, TST_NR, start);
	ring_back_attach(&w.b, &w.mem.sh, TST_NR);
	w.responses = responses;
	w.batches = batches;
	w.nr_batches = nr_batches;
	w.recheck = recheck;
	w.pc = C_CHECK;
	for (unsigned i = 0; i < nr_batches; i++)
		w.total += batches[i];
	if (responses) {
		struct tst_req r;

		w.f.req_prod_pvt += w.total;
		ring_front_push_reqs(&w.f);
		for (uint32_t i = 0; i < w.total; i++)
			tst_back_take_req(&w.b, &r);
	}
	explore(&w, &res);
	return res;
}

static const uint32_t model_batches[][3] = {
	{ 1, 1, 1 }, { 1, 2, 0 }, { 2, 1, 0 }, { 3, 0, 0 }, { 1, 3, 2 }, { 4, 4, 0 },
};

static void test_no_interleaving_of_push_and_final_check_loses_a_wakeup(void)
{
	static const uint32_t starts[] = { 0, 0xfffffffeu, 0x7fffffffu };
	unsigned long paths = 0;

	for (unsigned s = 0; s < 3; s++) {
		for (int dir = 0; dir < 2; dir++) {
			for (unsigned k = 0; k < 6; k++) {
				unsigned nb = model_batches[k][2] ? 3 : model_batches[k][1] ? 2 : 1;
				struct model_result r = run_model(starts[s], dir, 1,
								  model_batches[k], nb);

				CU_ASSERT_EQUAL(r.lost, 0);
				CU_ASSERT_EQUAL(r.misordered, 0);
				paths += r.paths;
			}
		}
	}
	if (getenv("RING_MODEL_VERBOSE"))
		fprintf(stderr, "model: %lu interleavings\n", paths);
	CU_ASSERT(paths > 1000); /* the search really enumerated interleavings */
}

static void test_model_catches_consumer_that_skips_recheck(void)
{
	/* Needs a stale event index: the second batch lands between the
	 * consumer's empty check and its arming. */
	static const uint32_t two[] = { 1, 1 };

	for (int dir = 0; dir < 2; dir++) {
		struct model_result r = run_model(0, dir, 0, two, 2);

		CU_ASSERT(r.lost > 0);
	}
}

/* ---- two-thread stress ---- */

#define STRESS_WAIT_MS 10000

struct stress {
	union tst_mem mem;
	struct ring_front f;
	struct ring_back b;
	int to_back, to_front; /* eventfds */
	uint32_t total;
	int failed;            /* set by either thread, read at the end */
	unsigned long notifies_to_back, notifies_to_front;
	unsigned long sleeps, sleeps_back;
};

static void kick(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		abort();
}

/* Sleep until kicked; 0 on a kick, -1 on a timeout (a lost wake-up). */
static int wait_kick(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t v;
	int rc;

	do
		rc = poll(&pfd, 1, STRESS_WAIT_MS);
	while (rc < 0 && errno == EINTR);
	if (rc <= 0)
		return -1;
	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return -1;
	return 0;
}

/* Poll briefly before the final check and sleep, as real backends do; the
 * sleep path stays exercised (the ring is tiny) but syscalls drop. */
static void spin_briefly(const struct stress *st, int backend)
{
	for (int i = 0; i < 64; i++) {
		if (backend ? ring_back_pending_reqs(&st->b) : ring_front_pending_rsps(&st->f))
			return;
		__builtin_ia32_pause();
	}
}

static void *stress_backend(void *arg)
{
	struct stress *st = arg;
	uint32_t expect = 0;

	while (expect < st->total && !__atomic_load_n(&st->failed, __ATOMIC_RELAXED)) {
		int n;

		spin_briefly(st, 1);
		n = ring_back_final_check_reqs(&st->b);
		if (n < 0)
			goto fail;
		if (n == 0) {
			st->sleeps_back++;
			if (wait_kick(st->to_back) < 0)
				goto fail;
			continue;
		}
		for (int i = 0; i < n; i++) {
			struct tst_req req;
			struct tst_rsp *rsp;

			tst_back_take_req(&st->b, &req);
			if (req.seq != expect || req.payload != ~expect)
				goto fail;
			expect++;
			rsp = tst_back_rsp(&st->b);
			rsp->seq = req.seq;
			rsp->status = req.payload;
			st->b.rsp_prod_pvt++;
		}
		if (ring_back_push_rsps(&st->b)) {
			st->notifies_to_front++;
			kick(st->to_front);
		}
	}
	return NULL;
fail:
	__atomic_store_n(&st->failed, 1, __ATOMIC_RELAXED);
	kick(st->to_front);
	return NULL;
}

/* Frontend: fill what is free (in batches of up to 5), collect responses,
 * sleep only when it can do neither. */
static int stress_frontend(struct stress *st)
{
	uint32_t sent = 0, got = 0;

	while (got < st->total) {
		uint32_t room = ring_front_free_reqs(&st->f), n = st->total - sent;
		int ready;

		if (__atomic_load_n(&st->failed, __ATOMIC_RELAXED))
			return -1;
		if (n > room)
			n = room;
		if (n > 5)
			n = 5;
		for (uint32_t i = 0; i < n; i++, sent++) {
			struct tst_req *r = tst_front_req(&st->f);

			r->seq = sent;
			r->payload = ~sent;
			st->f.req_prod_pvt++;
		}
		if (n && ring_front_push_reqs(&st->f)) {
			st->notifies_to_back++;
			kick(st->to_back);
		}
		ready = n ? ring_front_pending_rsps(&st->f) : ring_front_final_check_rsps(&st->f);
		if (ready < 0)
			return -1;
		if (ready == 0 && n == 0) {
			spin_briefly(st, 0);
			ready = ring_front_final_check_rsps(&st->f);
			if (ready < 0)
				return -1;
			if (ready == 0) {
				st->sleeps++;
				if (wait_kick(st->to_front) < 0)
					return -1;
			}
		}
		for (int i = 0; i < ready; i++, got++) {
			struct tst_rsp rsp;

			tst_front_take_rsp(&st->f, &rsp);
			if (rsp.seq != got || rsp.status != ~got)
				return -1;
		}
	}
	return 0;
}

static void test_two_threads_pass_millions_in_order_without_lost_wakeup(void)
{
	struct stress *st = calloc(1, sizeof(*st));
	const char *env = getenv("PVKVM_RING_STRESS_N");
	pthread_t th;
	int rc;

	CU_ASSERT_FATAL(st != NULL);
	st->total = env ? (uint32_t)strtoul(env, NULL, 0) : 2000000u;
	st->to_back = eventfd(0, EFD_CLOEXEC);
	st->to_front = eventfd(0, EFD_CLOEXEC);
	CU_ASSERT_FATAL(st->to_back >= 0 && st->to_front >= 0);
	ring_shared_init(&st->mem.sh, 0xfffff000u);
	ring_front_init(&st->f, &st->mem.sh, TST_NR, 0xfffff000u);
	ring_back_attach(&st->b, &st->mem.sh, TST_NR);
	CU_ASSERT_FATAL(pthread_create(&th, NULL, stress_backend, st) == 0);
	rc = stress_frontend(st);
	if (rc < 0) {
		__atomic_store_n(&st->failed, 1, __ATOMIC_RELAXED);
		kick(st->to_back);
	}
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st->failed, 0);
	/* Both sides really slept on their eventfds at some point. */
	CU_ASSERT(st->sleeps > 0 && st->sleeps_back > 0);
	CU_ASSERT_EQUAL(st->f.rsp_cons - 0xfffff000u, st->total);
	CU_ASSERT_EQUAL(st->b.req_cons - 0xfffff000u, st->total);
	close(st->to_back);
	close(st->to_front);
	free(st);
}

static const struct cunit_test ring_concurrency_tests[] = {
	CUNIT_TEST(test_no_interleaving_of_push_and_final_check_loses_a_wakeup),
	CUNIT_TEST(test_model_catches_consumer_that_skips_recheck),
	CUNIT_TEST(test_two_threads_pass_millions_in_order_without_lost_wakeup),
};

void ring_test_add_concurrency(void)
{
	CUNIT_SUITE("ring-concurrency", NULL, NULL, ring_concurrency_tests);
}
