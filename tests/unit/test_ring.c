/* SPDX-License-Identifier: MIT */
/* Unit tests of the shared ring (ring/include/pvkvm/ring.h): sizes, empty and
 * full, wrap-around of the 32-bit indexes, batching, event-index notification
 * suppression, and rejection of indexes a hostile peer could write.  The
 * interleaving model and the two-thread stress run are in
 * test_ring_concurrency.c. */
#include <stdlib.h>
#include <string.h>

#include <pvkvm/blkif.h>
#include <pvkvm/netif.h>

#include "test_ring.h"

struct tst_pair {
	union tst_mem mem;
	struct ring_front f;
	struct ring_back b;
};

static void pair_init(struct tst_pair *p, uint32_t start)
{
	memset(&p->mem, 0xa5, sizeof(p->mem));
	ring_shared_init(&p->mem.sh, start);
	ring_front_init(&p->f, &p->mem.sh, TST_NR, start);
	ring_back_attach(&p->b, &p->mem.sh, TST_NR);
}

/* Frontend queues n requests numbered from seq; returns push's notify. */
static int front_send(struct tst_pair *p, uint32_t seq, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct tst_req *r = tst_front_req(&p->f);

		r->seq = seq + i;
		r->payload = ~(seq + i);
		p->f.req_prod_pvt++;
	}
	return ring_front_push_reqs(&p->f);
}

/* Backend takes every pending request, checks the numbering continues from
 * *expect, answers each; returns how many it took. */
static int back_serve(struct tst_pair *p, uint32_t *expect)
{
	int n = ring_back_pending_reqs(&p->b);

	CU_ASSERT_FATAL(n >= 0);
	for (int i = 0; i < n; i++) {
		struct tst_req req;
		struct tst_rsp *rsp;

		tst_back_take_req(&p->b, &req);
		CU_ASSERT_EQUAL(req.seq, *expect);
		CU_ASSERT_EQUAL(req.payload, ~*expect);
		(*expect)++;
		rsp = tst_back_rsp(&p->b);
		rsp->seq = req.seq;
		rsp->status = 0;
		p->b.rsp_prod_pvt++;
	}
	ring_back_push_rsps(&p->b);
	return n;
}

static int front_collect(struct tst_pair *p, uint32_t *expect)
{
	int n = ring_front_pending_rsps(&p->f);

	CU_ASSERT_FATAL(n >= 0);
	for (int i = 0; i < n; i++) {
		struct tst_rsp rsp;

		tst_front_take_rsp(&p->f, &rsp);
		CU_ASSERT_EQUAL(rsp.seq, *expect);
		(*expect)++;
	}
	return n;
}

static void test_nr_ents_is_largest_power_of_two_that_fits(void)
{
	CU_ASSERT_EQUAL(blkif_ring_nr_ents(4096), 32);
	CU_ASSERT_EQUAL(blkif_ring_nr_ents(4096u << 1), 64);
	CU_ASSERT_EQUAL(blkif_ring_nr_ents(4096u << RING_MAX_PAGE_ORDER), 512);
	CU_ASSERT_EQUAL(netif_tx_ring_nr_ents(4096), 256);
	CU_ASSERT_EQUAL(netif_rx_ring_nr_ents(4096), 256);
	CU_ASSERT_EQUAL(tst_ring_nr_ents(sizeof(union tst_mem)), TST_NR);
	CU_ASSERT_EQUAL(tst_ring_nr_ents(sizeof(union tst_mem) - 1), TST_NR / 2);
	CU_ASSERT_EQUAL(ring_nr_ents(RING_HDR_BYTES, 8), 0);
	CU_ASSERT_EQUAL(ring_nr_ents(4096, 0), 0);
	CU_ASSERT_EQUAL(ring_nr_ents(RING_HDR_BYTES + 8, 8), 1);
}

static void test_fresh_ring_is_empty_on_both_sides(void)
{
	struct tst_pair p;

	pair_init(&p, 0);
	CU_ASSERT_EQUAL(ring_front_free_reqs(&p.f), TST_NR);
	CU_ASSERT_EQUAL(ring_back_pending_reqs(&p.b), 0);
	CU_ASSERT_EQUAL(ring_front_pending_rsps(&p.f), 0);
	CU_ASSERT_EQUAL(ring_back_final_check_reqs(&p.b), 0);
	CU_ASSERT_EQUAL(ring_front_final_check_rsps(&p.f), 0);
}

static void test_full_ring_has_no_free_slot_until_responses_consumed(void)
{
	struct tst_pair p;
	uint32_t req_seq = 0, rsp_seq = 0;

	pair_init(&p, 0);
	front_send(&p, 0, TST_NR);
	CU_ASSERT_EQUAL(ring_front_free_reqs(&p.f), 0);
	CU_ASSERT_EQUAL(ring_back_pending_reqs(&p.b), (int)TST_NR);
	CU_ASSERT_EQUAL(back_serve(&p, &req_seq), (int)TST_NR);
	/* Responses published but not consumed still hold the slots. */
	CU_ASSERT_EQUAL(ring_front_free_reqs(&p.f), 0);
	CU_ASSERT_EQUAL(front_collect(&p, &rsp_seq), (int)TST_NR);
	CU_ASSERT_EQUAL(ring_front_free_reqs(&p.f), TST_NR);
	CU_ASSERT_EQUAL(ring_back_pending_reqs(&p.b), 0);
}

/* Many laps around the ring with uneven batches, starting 256 below 2^32 so
 * every index wraps; order and payload must survive. */
static void test_wraps_through_32bit_index_overflow(void)
{
	static const uint32_t batches[] = { 1, 3, 8, 5, 2, 7, 4, 6 };
	struct tst_pair p;
	uint32_t sent = 0, req_seq = 0, rsp_seq = 0;

	pair_init(&p, 0xffffff00u);
	for (unsigned i = 0; sent < 4096; i++) {
		uint32_t n = batches[i % 8];

		if (n > ring_front_free_reqs(&p.f))
			n = ring_front_free_reqs(&p.f);
		front_send(&p, sent, n);
		sent += n;
		back_serve(&p, &req_seq);
		if (i % 3 == 0)
			continue; /* let responses pile up sometimes */
		front_collect(&p, &rsp_seq);
	}
	back_serve(&p, &req_seq);
	front_collect(&p, &rsp_seq);
	CU_ASSERT_EQUAL(req_seq, sent);
	CU_ASSERT_EQUAL(rsp_seq, sent);
	CU_ASSERT(p.f.rsp_cons < 0xffffff00u); /* wrapped */
	CU_ASSERT_EQUAL(ring_front_free_reqs(&p.f), TST_NR);
}

static void test_batch_push_notifies_once_then_suppresses(void)
{
	struct tst_pair p;
	uint32_t seq = 0;

	pair_init(&p, 0xfffffffeu);
	/* Backend idle with its event armed: the first batch notifies once. */
	CU_ASSERT_EQUAL(ring_back_final_check_reqs(&p.b), 0);
	CU_ASSERT_EQUAL(front_send(&p, 0, 5), 1);
	/* Backend has not re-armed: further pushes stay silent. */
	CU_ASSERT_EQUAL(front_send(&p, 5, 2), 0);
	CU_ASSERT_EQUAL(ring_back_pending_reqs(&p.b), 7);
	back_serve(&p, &seq);
	CU_ASSERT_EQUAL(seq, 7);
	/* An empty push never notifies. */
	CU_ASSERT_EQUAL(ring_front_push_reqs(&p.f), 0);
	/* Re-armed after draining: the next push notifies again. */
	CU_ASSERT_EQUAL(ring_back_final_check_reqs(&p.b), 0);
	CU_ASSERT_EQUAL(front_send(&p, 7, 1), 1);
}

static void test_response_push_notifies_only_when_frontend_armed(void)
{
	struct tst_pair p;
	uint32_t req_seq = 0, rsp_seq = 0;
	int n;

	pair_init(&p, 0);
	front_send(&p, 0, 4);
	/* Initial rsp_event = start + 1: the first response batch notifies. */
	n = ring_back_pending_reqs(&p.b);
	for (int i = 0; i < n; i++) {
		struct tst_req req;

		tst_back_take_req(&p.b, &req);
		req_seq++;
		tst_back_rsp(&p.b)->seq = req.seq;
		p.b.rsp_prod_pvt++;
		if (i == 0)
			CU_ASSERT_EQUAL(ring_back_push_rsps(&p.b), 1);
	}
	CU_ASSERT_EQUAL(ring_back_push_rsps(&p.b), 0);
	front_collect(&p, &rsp_seq);
	CU_ASSERT_EQUAL(rsp_seq, 4);
	CU_ASSERT_EQUAL(ring_front_final_check_rsps(&p.f), 0);
	front_send(&p, 4, 1);
	CU_ASSERT_EQUAL(back_serve(&p, &req_seq), 1);
	/* back_serve's push crossed the re-armed rsp_event. */
	CU_ASSERT_EQUAL(p.mem.sh.rsp_event, 5);
}

static void test_final_check_sees_work_published_before_arming(void)
{
	struct tst_pair p;

	pair_init(&p, 0);
	CU_ASSERT_EQUAL(ring_back_final_check_reqs(&p.b), 0);
	front_send(&p, 0, 2);
	CU_ASSERT_EQUAL(ring_back_final_check_reqs(&p.b), 2);
	/* Work found: the event index was not moved. */
	CU_ASSERT_EQUAL(p.mem.sh.req_event, 1);
}

static void test_backend_rejects_req_prod_more_than_ring_ahead(void)
{
	struct tst_pair p;
	uint32_t s = 0xfffffff0u, seq = 0;

	pair_init(&p, s);
	p.mem.sh.req_prod = s + TST_NR;
	CU_ASSERT_EQUAL(ring_back_pending_reqs(&p.b), (int)TST_NR);
	p.mem.sh.req_prod = s + TST_NR + 1;
	CU_ASSERT_EQUAL(ring_back_pending_reqs(&p.b), RING_ERR_OVERFLOW);
	CU_ASSERT_EQUAL(ring_back_final_check_reqs(&p.b), RING_ERR_OVERFLOW);
	p.mem.sh.req_prod = s + 0x80000000u;
	CU_ASSERT_EQUAL(ring_back_pending_reqs(&p.b), RING_ERR_OVERFLOW);
	/* After 3 answered, the legal window moves with rsp_prod_pvt. */
	pair_init(&p, s);
	front_send(&p, 0, 3);
	back_serve(&p, &seq);
	p.mem.sh.req_prod = s + 3 + TST_NR;
	CU_ASSERT_EQUAL(ring_back_pending_reqs(&p.b), (int)TST_NR);
	p.mem.sh.req_prod = s + 4 + TST_NR;
	CU_ASSERT_EQUAL(ring_back_pending_reqs(&p.b), RING_ERR_OVERFLOW);
}

static void test_backend_rejects_req_prod_moving_backwards(void)
{
	struct tst_pair p;
	struct tst_req req;

	pair_init(&p, 0xfffffffcu);
	front_send(&p, 0, 6);
	for (int i = 0; i < 4; i++)
		tst_back_take_req(&p.b, &req); /* consumed 4, answered none */
	p.mem.sh.req_prod = p.b.req_cons - 1;
	CU_ASSERT_EQUAL(ring_back_pending_reqs(&p.b), RING_ERR_OVERFLOW);
	p.mem.sh.req_prod = p.b.req_cons;
	CU_ASSERT_EQUAL(ring_back_pending_reqs(&p.b), 0);
	p.mem.sh.req_prod = 0xfffffffcu - 1;
	CU_ASSERT_EQUAL(ring_back_pending_reqs(&p.b), RING_ERR_OVERFLOW);
}

static void test_frontend_rejects_rsp_prod_beyond_requests(void)
{
	struct tst_pair p;
	uint32_t s = 0xfffffffdu;

	pair_init(&p, s);
	front_send(&p, 0, 5);
	p.f.req_prod_pvt++; /* queued, not published: cannot be answered */
	p.mem.sh.rsp_prod = s + 5;
	CU_ASSERT_EQUAL(ring_front_pending_rsps(&p.f), 5);
	p.mem.sh.rsp_prod = s + 6;
	CU_ASSERT_EQUAL(ring_front_pending_rsps(&p.f), RING_ERR_OVERFLOW);
	CU_ASSERT_EQUAL(ring_front_final_check_rsps(&p.f), RING_ERR_OVERFLOW);
	p.mem.sh.rsp_prod = s + TST_NR + 1;
	CU_ASSERT_EQUAL(ring_front_pending_rsps(&p.f), RING_ERR_OVERFLOW);
}

static void test_frontend_rejects_rsp_prod_moving_backwards(void)
{
	struct tst_pair p;
	struct tst_rsp rsp;
	uint32_t s = 0xfffffffeu;

	pair_init(&p, s);
	front_send(&p, 0, 4);
	p.mem.sh.rsp_prod = s + 3;
	tst_front_take_rsp(&p.f, &rsp);
	tst_front_take_rsp(&p.f, &rsp);
	p.mem.sh.rsp_prod = s + 1;
	CU_ASSERT_EQUAL(ring_front_pending_rsps(&p.f), RING_ERR_OVERFLOW);
	p.mem.sh.rsp_prod = s - 1;
	CU_ASSERT_EQUAL(ring_front_pending_rsps(&p.f), RING_ERR_OVERFLOW);
}

static void test_backend_attach_takes_any_start_from_shared_page(void)
{
	struct tst_pair p;

	pair_init(&p, 0);
	p.mem.sh.rsp_prod = 0x12345678u;
	p.mem.sh.req_prod = 0x12345678u + 2;
	ring_back_attach(&p.b, &p.mem.sh, TST_NR);
	CU_ASSERT_EQUAL(ring_back_pending_reqs(&p.b), 2);
	p.mem.sh.req_prod = 0x12345678u - 2;
	CU_ASSERT_EQUAL(ring_back_pending_reqs(&p.b), RING_ERR_OVERFLOW);
}

/* The copy taken by the backend is what it validates and uses; the
 * frontend rewriting the slot afterwards changes nothing. */
static void test_taken_request_is_private_copy(void)
{
	struct tst_pair p;
	struct tst_req req;

	pair_init(&p, 0);
	front_send(&p, 42, 1);
	tst_back_take_req(&p.b, &req);
	((union tst_ring_entry *)(p.mem.bytes + RING_HDR_BYTES))[0].req.seq = 7;
	CU_ASSERT_EQUAL(req.seq, 42);
}

static void test_blkif_request_variants_share_the_slot(void)
{
	union blkif_ring_req r;

	memset(&r, 0, sizeof(r));
	r.discard.op = BLKIF_OP_DISCARD;
	r.discard.id = 9;
	CU_ASSERT_EQUAL(r.op, BLKIF_OP_DISCARD);
	CU_ASSERT_EQUAL(r.rw.id, 9);
	CU_ASSERT_EQUAL(r.indirect.id, 9);
	CU_ASSERT(BLKIF_MAX_INDIRECT_SEGMENTS * BLKIF_PAGE_BYTES >= 512u * 1024u);
}

/* Whatever a hostile peer writes, an accepted count never lets the reader
 * past the ring: backend: req_cons + n stays within nr_ents of
 * rsp_prod_pvt; frontend: rsp_cons + n stays within what it published. */
static void test_random_hostile_indexes_never_open_more_than_the_ring(void)
{
	struct tst_pair p;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned accepted = 0, rejected = 0;

	for (int i = 0; i < 200000; i++) {
		uint32_t base, cons_off, pushed_off, prod;
		int n;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
		base = (uint32_t)x;
		cons_off = (uint32_t)(x >> 32) % (TST_NR + 1);
		pushed_off = (uint32_t)(x >> 40) % (TST_NR + 1);
		/* Peer index: near the legal window half the time, anywhere else. */
		prod = (x >> 63) ? base + (uint32_t)((x >> 48) % (3 * TST_NR)) - TST_NR
				 : (uint32_t)(x >> 16);
		pair_init(&p, base);
		p.b.req_cons = base + cons_off;
		p.mem.sh.req_prod = prod;
		n = ring_back_pending_reqs(&p.b);
		if (n >= 0) {
			CU_ASSERT((uint32_t)(p.b.req_cons + (uint32_t)n - p.b.rsp_prod_pvt) <= TST_NR);
			CU_ASSERT_EQUAL((uint32_t)(p.b.req_cons + (uint32_t)n), prod);
			accepted++;
		} else {
			CU_ASSERT_EQUAL(n, RING_ERR_OVERFLOW);
			rejected++;
		}
		p.f.req_pushed = base + pushed_off;
		p.f.req_prod_pvt = p.f.req_pushed;
		p.mem.sh.rsp_prod = prod;
		n = ring_front_pending_rsps(&p.f);
		if (n >= 0) {
			CU_ASSERT((uint32_t)n <= pushed_off && p.f.rsp_cons + (uint32_t)n == prod);
		} else {
			CU_ASSERT_EQUAL(n, RING_ERR_OVERFLOW);
		}
	}
	CU_ASSERT(accepted > 1000 && rejected > 1000);
}

/* A 4-page blkif ring (128 entries) through the generated accessors, with
 * indexes crossing 2^32: every entry lands inside the ring's bytes and
 * requests come out in order. */
static void test_blkif_multi_page_ring_carries_requests_across_wrap(void)
{
	const size_t bytes = 4u * RING_PAGE_BYTES;
	unsigned char *mem = aligned_alloc(RING_PAGE_BYTES, bytes);
	struct ring_shared *sh = (struct ring_shared *)mem;
	uint32_t nr = blkif_ring_nr_ents(bytes), start = 0xffffffc0u;
	uint64_t sent = 0, served = 0, answered = 0;
	struct ring_front f;
	struct ring_back b;

	CU_ASSERT_FATAL(mem != NULL);
	CU_ASSERT_EQUAL_FATAL(nr, 128);
	ring_shared_init(sh, start);
	ring_front_init(&f, sh, nr, start);
	ring_back_attach(&b, sh, nr);
	while (answered < 1000) {
		int n;

		while (ring_front_free_reqs(&f) && sent < 1000) {
			union blkif_ring_req *r = blkif_front_req(&f);

			CU_ASSERT((unsigned char *)r >= mem + RING_HDR_BYTES &&
				  (unsigned char *)(r + 1) <= mem + bytes);
			r->rw.op = BLKIF_OP_WRITE;
			r->rw.id = sent++;
			f.req_prod_pvt++;
		}
		ring_front_push_reqs(&f);
		n = ring_back_pending_reqs(&b);
		CU_ASSERT_FATAL(n >= 0 && n <= (int)nr);
		for (int i = 0; i < n / 2 + 1 && i < n; i++) {
			union blkif_ring_req req;
			struct blkif_response *rsp;

			blkif_back_take_req(&b, &req);
			CU_ASSERT_EQUAL(req.rw.id, served);
			served++;
			rsp = blkif_back_rsp(&b);
			rsp->id = req.rw.id;
			rsp->op = req.op;
			rsp->status = BLKIF_RSP_OKAY;
			b.rsp_prod_pvt++;
		}
		ring_back_push_rsps(&b);
		n = ring_front_pending_rsps(&f);
		CU_ASSERT_FATAL(n >= 0);
		while (n-- > 0) {
			struct blkif_response rsp;

			blkif_front_take_rsp(&f, &rsp);
			CU_ASSERT_EQUAL(rsp.id, answered);
			answered++;
		}
	}
	CU_ASSERT(f.rsp_cons < start); /* wrapped */
	free(mem);
}

static const struct cunit_test ring_tests[] = {
	CUNIT_TEST(test_nr_ents_is_largest_power_of_two_that_fits),
	CUNIT_TEST(test_fresh_ring_is_empty_on_both_sides),
	CUNIT_TEST(test_full_ring_has_no_free_slot_until_responses_consumed),
	CUNIT_TEST(test_wraps_through_32bit_index_overflow),
	CUNIT_TEST(test_batch_push_notifies_once_then_suppresses),
	CUNIT_TEST(test_response_push_notifies_only_when_frontend_armed),
	CUNIT_TEST(test_final_check_sees_work_published_before_arming),
	CUNIT_TEST(test_backend_rejects_req_prod_more_than_ring_ahead),
	CUNIT_TEST(test_backend_rejects_req_prod_moving_backwards),
	CUNIT_TEST(test_frontend_rejects_rsp_prod_beyond_requests),
	CUNIT_TEST(test_frontend_rejects_rsp_prod_moving_backwards),
	CUNIT_TEST(test_backend_attach_takes_any_start_from_shared_page),
	CUNIT_TEST(test_taken_request_is_private_copy),
	CUNIT_TEST(test_blkif_request_variants_share_the_slot),
	CUNIT_TEST(test_random_hostile_indexes_never_open_more_than_the_ring),
	CUNIT_TEST(test_blkif_multi_page_ring_carries_requests_across_wrap),
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CUNIT_SUITE("ring", NULL, NULL, ring_tests);
	ring_test_add_concurrency();
	return cunit_run_all();
}
