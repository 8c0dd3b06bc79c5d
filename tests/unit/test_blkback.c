/* SPDX-License-Identifier: MIT */
/* blkback end to end in a host process: the core's blkfront in a harness
 * guest (memfd RAM, real VMM-side grants and event channels) against the real
 * backend on raw image files; plus the validation functions on hostile input. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blkback_fake_guest.h"
#include "blkback_int.h"

struct rig {
	struct pvback_dom *dom;
	struct blkback_dev *d;
	struct blkfront *bf;
	char path[256];
};

static struct harness_guest *g;

static int rig_up(struct rig *r, const char *opts, uint64_t size, unsigned nq, unsigned order,
		  const char *devname)
{
	struct blkback_disk_opts o;
	char spec[512], err[128];

	memset(r, 0, sizeof(*r));
	r->bf = calloc(1, sizeof(*r->bf));
	if (!r->bf || fg_image_new(r->path, sizeof(r->path), size))
		return -1;
	snprintf(spec, sizeof(spec), "%s%s%s", r->path, *opts ? "," : "", opts);
	if (blkback_disk_opts_parse(&o, spec, err, sizeof(err)))
		return -2;
	o.max_queues = nq > o.max_queues ? nq : o.max_queues;
	if (blkback_dev_open(&r->d, &o) || pvback_attach(&r->dom, g->ctl_path, devname))
		return -3;
	if (blkfront_init(r->bf, &g->front, 0, nq, order))
		return -4;
	fg_features_from(r->bf, r->d);
	return fg_connect(r->d, r->dom, r->bf) ? -5 : 0;
}

static void rig_down(struct rig *r)
{
	blkback_dev_close(r->d);
	if (r->dom)
		pvback_detach(r->dom);
	unlink(r->path);
	free(r->bf);
}

static int suite_init(void)
{
	g = fg_guest_new(256);
	return g ? 0 : 1;
}

static int suite_clean(void)
{
	harness_guest_free(g);
	return 0;
}

/* ---- validation on hostile copies ---- */

static const struct blkback_limits lim = {
	.nr_sectors = 2048, .sector_size = 512, .max_indirect_segs = 256,
};

static int check_rw(uint8_t op, uint8_t nseg, uint64_t sector, uint8_t first, uint8_t last,
		    uint8_t flags, const struct blkback_limits *l)
{
	union blkif_ring_req r;
	struct blkback_decoded d;
	int st;

	memset(&r, 0, sizeof(r));
	r.rw.op = op;
	r.rw.nr_segments = nseg;
	r.rw.sector = sector;
	r.rw.flags = flags;
	for (unsigned i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
		r.rw.seg[i].first_sect = first;
		r.rw.seg[i].last_sect = last;
	}
	st = blkback_req_check(&r, l, &d);
	if (st == BLKIF_RSP_OKAY && d.nr_segs)
		st = blkback_segs_check(r.rw.seg, l, &d);
	return st;
}

static void test_validation_refuses_every_malformed_request(void)
{
	struct blkback_limits ro = lim, ss4k = lim, nodisc = lim;
	union blkif_ring_req r;
	struct blkback_decoded d;

	ro.readonly = true;
	ss4k.sector_size = 4096;
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_READ, 1, 0, 0, 7, 0, &lim), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_WRITE, 11, 2048 - 88, 0, 7, BLKIF_F_FUA, &lim), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_READ, 0, 0, 0, 7, 0, &lim), BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_READ, 12, 0, 0, 7, 0, &lim), BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_READ, 255, 0, 0, 7, 0, &lim), BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_READ, 1, 2048 - 7, 0, 7, 0, &lim), BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_READ, 1, 2048, 0, 0, 0, &lim), BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_READ, 1, UINT64_MAX - 2, 0, 7, 0, &lim), BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_READ, 1, 0, 5, 4, 0, &lim), BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_READ, 1, 0, 0, 8, 0, &lim), BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_READ, 1, 0, 200, 255, 0, &lim), BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_WRITE, 1, 0, 0, 7, 0, &ro), BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_READ, 1, 0, 0, 7, 0, &ro), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_READ, 1, 0, 0, 7, BLKIF_F_FUA, &lim), BLKIF_RSP_EOPNOTSUPP);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_WRITE, 1, 0, 0, 7, 0x80, &lim), BLKIF_RSP_EOPNOTSUPP);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_FLUSH, 0, 0, 0, 0, 0, &ro), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_FLUSH, 1, 0, 0, 7, 0, &lim), BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(check_rw(2, 1, 0, 0, 7, 0, &lim), BLKIF_RSP_EOPNOTSUPP);
	CU_ASSERT_EQUAL(check_rw(0xff, 1, 0, 0, 7, 0, &lim), BLKIF_RSP_EOPNOTSUPP);
	/* 4096-byte logical sectors: whole logical sectors only. */
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_READ, 1, 8, 0, 7, 0, &ss4k), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_READ, 1, 4, 0, 7, 0, &ss4k), BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(check_rw(BLKIF_OP_READ, 1, 8, 0, 3, 0, &ss4k), BLKIF_RSP_ERROR);
	/* Discard / write-zeroes. */
	memset(&r, 0, sizeof(r));
	r.discard.op = BLKIF_OP_DISCARD;
	r.discard.nr_sectors = 8;
	CU_ASSERT_EQUAL(blkback_req_check(&r, &nodisc, &d), BLKIF_RSP_EOPNOTSUPP);
	nodisc.discard = true;
	CU_ASSERT_EQUAL(blkback_req_check(&r, &nodisc, &d), BLKIF_RSP_OKAY);
	r.discard.nr_sectors = 0;
	CU_ASSERT_EQUAL(blkback_req_check(&r, &nodisc, &d), BLKIF_RSP_ERROR);
	r.discard.sector = 8;
	r.discard.nr_sectors = UINT64_MAX - 4;
	CU_ASSERT_EQUAL(blkback_req_check(&r, &nodisc, &d), BLKIF_RSP_ERROR);
	r.discard.op = BLKIF_OP_WRITE_ZEROES;
	r.discard.nr_sectors = 2040;
	CU_ASSERT_EQUAL(blkback_req_check(&r, &lim, &d), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(blkback_req_check(&r, &ro, &d), BLKIF_RSP_ERROR);
	r.discard.nr_sectors = 2041;
	CU_ASSERT_EQUAL(blkback_req_check(&r, &lim, &d), BLKIF_RSP_ERROR);
	/* Indirect. */
	memset(&r, 0, sizeof(r));
	r.indirect.op = BLKIF_OP_INDIRECT;
	r.indirect.indirect_op = BLKIF_OP_WRITE;
	r.indirect.nr_segments = 256;
	CU_ASSERT_EQUAL(blkback_req_check(&r, &lim, &d), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(d.nr_ind_pages, 1);
	r.indirect.nr_segments = 257;
	CU_ASSERT_EQUAL(blkback_req_check(&r, &lim, &d), BLKIF_RSP_ERROR);
	r.indirect.nr_segments = 0;
	CU_ASSERT_EQUAL(blkback_req_check(&r, &lim, &d), BLKIF_RSP_ERROR);
	r.indirect.nr_segments = 4;
	r.indirect.indirect_op = BLKIF_OP_FLUSH;
	CU_ASSERT_EQUAL(blkback_req_check(&r, &lim, &d), BLKIF_RSP_ERROR);
	r.indirect.indirect_op = BLKIF_OP_INDIRECT;
	CU_ASSERT_EQUAL(blkback_req_check(&r, &lim, &d), BLKIF_RSP_ERROR);
	r.indirect.indirect_op = BLKIF_OP_WRITE;
	CU_ASSERT_EQUAL(blkback_req_check(&r, &ro, &d), BLKIF_RSP_ERROR);
	struct blkback_limits noind = lim;
	noind.max_indirect_segs = 0;
	CU_ASSERT_EQUAL(blkback_req_check(&r, &noind, &d), BLKIF_RSP_EOPNOTSUPP);
}

/* ---- data through every engine and cache mode ---- */

static void host_expect(const char *path, uint64_t off, const void *want, size_t len)
{
	void *buf = malloc(len);
	int fd = open(path, O_RDONLY);

	CU_ASSERT_FATAL(fd >= 0 && buf);
	CU_ASSERT_EQUAL(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	CU_ASSERT(memcmp(buf, want, len) == 0);
	close(fd);
	free(buf);
}

static void integrity(const char *opts)
{
	static const struct { uint64_t sector; uint32_t buf_off, len; } io[] = {
		{ 0, 0, 4096 },              /* one page */
		{ 16, 512, 1536 },           /* inside a page, not at its start */
		{ 100, 0, 44 * 1024 },       /* 11 segments: the direct maximum */
		{ 200, 2048, 12 * 1024 },    /* 4 segments, partial first and last */
		{ 2048, 0, 1020 * 1024 },    /* 255 segments: indirect */
		{ 30000, 0, 512 * 1024 },    /* indirect, 512 KiB */
	};
	struct rig r;
	uint8_t *wbuf, *rbuf;

	CU_ASSERT_FATAL(rig_up(&r, opts, 32 << 20, 1, 0, "vbd/1") == 0);
	wbuf = fg_alloc(g, 1 << 20);
	rbuf = fg_alloc(g, 1 << 20);
	CU_ASSERT_FATAL(wbuf && rbuf);
	for (size_t i = 0; i < sizeof(io) / sizeof(io[0]); i++) {
		fg_fill(wbuf + io[i].buf_off, io[i].len, io[i].sector, 7);
		CU_ASSERT_EQUAL(fg_io(r.bf, 0, BLKIF_OP_WRITE, 0, io[i].sector, wbuf + io[i].buf_off,
				      io[i].len, g), BLKIF_RSP_OKAY);
		memset(rbuf, 0, 1 << 20);
		CU_ASSERT_EQUAL(fg_io(r.bf, 0, BLKIF_OP_READ, 0, io[i].sector, rbuf + io[i].buf_off,
				      io[i].len, g), BLKIF_RSP_OKAY);
		CU_ASSERT(memcmp(rbuf + io[i].buf_off, wbuf + io[i].buf_off, io[i].len) == 0);
		CU_ASSERT_EQUAL(fg_io(r.bf, 0, BLKIF_OP_FLUSH, 0, 0, NULL, 0, g), BLKIF_RSP_OKAY);
		host_expect(r.path, io[i].sector * 512, wbuf + io[i].buf_off, io[i].len);
	}
	/* 32 writes in flight at once (one batch), FUA, then 32 reads. */
	for (unsigned i = 0; i < 32; i++) {
		struct blkfront_io w = { .op = BLKIF_OP_WRITE, .flags = i % 2 ? BLKIF_F_FUA : 0,
					 .sector = 40000 + i * 8, .len_bytes = 4096, .tag = i,
					 .buf_gpa = harness_gpa(g, wbuf + i * 4096) };

		fg_fill(wbuf + i * 4096, 4096, w.sector, 9);
		CU_ASSERT_EQUAL(blkfront_submit(r.bf, 0, &w), 0);
	}
	blkfront_kick(r.bf, 0);
	for (unsigned i = 0; i < 32; i++)
		CU_ASSERT_EQUAL(fg_wait_one(r.bf, 0, NULL), BLKIF_RSP_OKAY);
	for (unsigned i = 0; i < 32; i++) {
		struct blkfront_io rd = { .op = BLKIF_OP_READ, .sector = 40000 + i * 8, .len_bytes = 4096,
					  .buf_gpa = harness_gpa(g, rbuf + i * 4096) };

		CU_ASSERT_EQUAL(blkfront_submit(r.bf, 0, &rd), 0);
	}
	blkfront_kick(r.bf, 0);
	for (unsigned i = 0; i < 32; i++)
		CU_ASSERT_EQUAL(fg_wait_one(r.bf, 0, NULL), BLKIF_RSP_OKAY);
	CU_ASSERT(memcmp(rbuf, wbuf, 32 * 4096) == 0);
	struct blkback_stats st;
	blkback_dev_get_stats(r.d, &st);
	CU_ASSERT(st.wr_req >= 38 && st.rd_req >= 38 && st.errors == 0);
	rig_down(&r);
}

static void test_integrity_io_uring_cache_none(void) { integrity("io=io_uring,cache=none"); }
static void test_integrity_io_uring_writeback(void) { integrity("io=io_uring,cache=writeback"); }
static void test_integrity_native_cache_none(void) { integrity("io=native,cache=none"); }
static void test_integrity_native_writeback(void) { integrity("io=native,cache=writeback"); }
static void test_integrity_threads_cache_none(void) { integrity("io=threads,cache=none"); }
static void test_integrity_threads_writeback(void) { integrity("io=threads,cache=writeback"); }
static void test_integrity_4k_sectors_multiqueue_multipage(void)
{
	struct rig r;
	uint8_t *wbuf, *rbuf;

	CU_ASSERT_FATAL(rig_up(&r, "sector-size=4096,queues=2,ring-page-order=2", 8 << 20, 2, 2,
			       "vbd/1") == 0);
	CU_ASSERT_EQUAL(r.bf->q[0].nr_ents, 128);
	wbuf = fg_alloc(g, 64 << 10);
	rbuf = fg_alloc(g, 64 << 10);
	for (unsigned q = 0; q < 2; q++) {
		fg_fill(wbuf, 64 << 10, q * 1000, 3);
		CU_ASSERT_EQUAL(fg_io(r.bf, q, BLKIF_OP_WRITE, 0, q * 1000 + 8, wbuf, 64 << 10, g), 0);
		CU_ASSERT_EQUAL(fg_io(r.bf, q, BLKIF_OP_READ, 0, q * 1000 + 8, rbuf, 64 << 10, g), 0);
		CU_ASSERT(memcmp(rbuf, wbuf, 64 << 10) == 0);
	}
	/* Not a whole logical sector. */
	CU_ASSERT_EQUAL(fg_io(r.bf, 0, BLKIF_OP_READ, 0, 4, rbuf, 4096, g), BLKIF_RSP_ERROR);
	CU_ASSERT_EQUAL(fg_io(r.bf, 1, BLKIF_OP_READ, 0, 8, rbuf, 2048, g), BLKIF_RSP_ERROR);
	rig_down(&r);
}

static uint64_t host_allocated(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (uint64_t)st.st_blocks * 512;
}

static void test_discard_and_write_zeroes_reach_the_host_file(void)
{
	struct rig r;
	uint8_t *buf, *zero;
	uint64_t before;

	CU_ASSERT_FATAL(rig_up(&r, "discard=unmap", 16 << 20, 1, 0, "vbd/1") == 0);
	buf = fg_alloc(g, 1 << 20);
	zero = calloc(1, 1 << 20);
	fg_fill(buf, 1 << 20, 0, 5);
	CU_ASSERT_EQUAL(fg_io(r.bf, 0, BLKIF_OP_WRITE, 0, 0, buf, 1 << 20, g), 0);
	CU_ASSERT_EQUAL(fg_io(r.bf, 0, BLKIF_OP_WRITE, 0, 4096, buf, 1 << 20, g), 0);
	CU_ASSERT_EQUAL(fg_io(r.bf, 0, BLKIF_OP_FLUSH, 0, 0, NULL, 0, g), 0);
	before = host_allocated(r.path);
	CU_ASSERT(before >= 2 << 20);
	CU_ASSERT_EQUAL(fg_io(r.bf, 0, BLKIF_OP_DISCARD, 0, 0, NULL, 1 << 20, g), 0);
	CU_ASSERT(host_allocated(r.path) <= before - (1 << 20));
	host_expect(r.path, 0, zero, 1 << 20);
	CU_ASSERT_EQUAL(fg_io(r.bf, 0, BLKIF_OP_WRITE_ZEROES, 0, 4096 + 8, NULL, 64 << 10, g), 0);
	host_expect(r.path, (4096 + 8) * 512, zero, 64 << 10);
	host_expect(r.path, 4096 * 512, buf, 4096);
	host_expect(r.path, (4096 + 136) * 512, buf + (68 << 10), 4096);
	free(zero);
	rig_down(&r);
	/* Without discard=unmap the op is not supported. */
	CU_ASSERT_FATAL(rig_up(&r, "", 1 << 20, 1, 0, "vbd/1") == 0);
	CU_ASSERT_EQUAL(fg_io(r.bf, 0, BLKIF_OP_DISCARD, 0, 0, NULL, 4096, g), BLKIF_RSP_EOPNOTSUPP);
	rig_down(&r);
}

/* Writes a raw request into the ring, publishes it, waits for its status. */
static int raw_req(struct rig *r, const union blkif_ring_req *req)
{
	struct blkfront_queue *q = &r->bf->q[0];
	struct blkif_response rsp;

	*blkif_front_req(&q->ring) = *req;
	q->ring.req_prod_pvt++;
	if (ring_front_push_reqs(&q->ring))
		pvfront_evtchn_send(&g->front, q->port);
	for (int i = 0; i < 200000; i++) {
		if (ring_front_pending_rsps(&q->ring) > 0) {
			blkif_front_take_rsp(&q->ring, &rsp);
			return rsp.id == req->rw.id ? rsp.status : -100;
		}
		if (blkback_dev_broken(r->d))
			return -200;
		usleep(50);
	}
	return -300;
}

static uint32_t grant(void *page, bool ro)
{
	uint32_t ref = 0;

	CU_ASSERT_FATAL(pvfront_gnt_grant(&g->front, 0, harness_gpa(g, page) >> 12, ro, &ref) == 0);
	return ref;
}

static void good_disk_still_serves(struct rig *good, uint8_t *buf)
{
	fg_fill(buf, 4096, 77, 1);
	CU_ASSERT_EQUAL(fg_io(good->bf, 0, BLKIF_OP_WRITE, 0, 77, buf, 4096, g), 0);
	CU_ASSERT_EQUAL(fg_io(good->bf, 0, BLKIF_OP_READ, 0, 77, buf, 4096, g), 0);
}

static void test_bad_requests_get_errors_and_other_disk_keeps_serving(void)
{
	struct rig bad, good, ro;
	union blkif_ring_req q;
	uint8_t *page = fg_alloc(g, 4096), *ind = fg_alloc(g, 4096), *gbuf = fg_alloc(g, 4096);
	uint32_t rw_ref = grant(page, false), ro_ref = grant(page, true), ungranted = 4000;
	struct blkif_segment *iseg = (void *)ind;

	CU_ASSERT_FATAL(rig_up(&bad, "", 1 << 20, 1, 0, "vbd/1") == 0);
	CU_ASSERT_FATAL(rig_up(&good, "", 1 << 20, 1, 0, "vbd/2") == 0);
	CU_ASSERT_FATAL(rig_up(&ro, "readonly", 1 << 20, 1, 0, "vbd/3") == 0);
#define RW(op_, nseg, sect, ref, first, last)                                          \
	do {                                                                           \
		memset(&q, 0, sizeof(q));                                              \
		q.rw.op = (op_); q.rw.nr_segments = (nseg); q.rw.sector = (sect);      \
		q.rw.id = 0x1234;                                                      \
		for (int i_ = 0; i_ < 11; i_++) {                                      \
			q.rw.seg[i_].gref = (ref); q.rw.seg[i_].first_sect = (first);  \
			q.rw.seg[i_].last_sect = (last);                               \
		}                                                                      \
	} while (0)
	RW(BLKIF_OP_READ, 1, 0, rw_ref, 0, 7);
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_OKAY);
	RW(9, 1, 0, rw_ref, 0, 7);
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_EOPNOTSUPP);
	RW(BLKIF_OP_READ, 0, 0, rw_ref, 0, 7);
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_ERROR);
	RW(BLKIF_OP_READ, 12, 0, rw_ref, 0, 7);
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_ERROR);
	RW(BLKIF_OP_READ, 1, 2048 - 4, rw_ref, 0, 7);
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_ERROR);
	RW(BLKIF_OP_READ, 1, UINT64_MAX - 3, rw_ref, 0, 7);
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_ERROR);
	RW(BLKIF_OP_READ, 1, 0, rw_ref, 6, 2);
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_ERROR);
	RW(BLKIF_OP_READ, 1, 0, rw_ref, 0, 8);
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_ERROR);
	RW(BLKIF_OP_READ, 1, 0, ungranted, 0, 7);          /* not granted */
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_ERROR);
	RW(BLKIF_OP_READ, 1, 0, 0xfffffff0u, 0, 7);         /* outside the table */
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_ERROR);
	RW(BLKIF_OP_READ, 1, 0, ro_ref, 0, 7);             /* read into a read-only grant */
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_ERROR);
	RW(BLKIF_OP_WRITE, 1, 0, ro_ref, 0, 7);            /* write from it is fine */
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_OKAY);
	RW(BLKIF_OP_READ, 1, 0, rw_ref, 0, 7);
	q.rw.flags = BLKIF_F_FUA;
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_EOPNOTSUPP);
	RW(BLKIF_OP_FLUSH, 2, 0, rw_ref, 0, 7);
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_ERROR);
	RW(BLKIF_OP_WRITE, 1, 0, rw_ref, 0, 7);
	CU_ASSERT_EQUAL(raw_req(&ro, &q), BLKIF_RSP_ERROR);
	memset(&q, 0, sizeof(q));
	q.discard.op = BLKIF_OP_DISCARD;
	q.discard.nr_sectors = 8;
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_EOPNOTSUPP);
	q.discard.op = BLKIF_OP_WRITE_ZEROES;
	CU_ASSERT_EQUAL(raw_req(&ro, &q), BLKIF_RSP_ERROR);
	q.discard.sector = 2044;
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_ERROR);
	/* Indirect: bad indirect grant, a bad segment inside, too many. */
	memset(&q, 0, sizeof(q));
	q.indirect.op = BLKIF_OP_INDIRECT;
	q.indirect.indirect_op = BLKIF_OP_READ;
	q.indirect.nr_segments = 2;
	q.indirect.indirect_grefs[0] = ungranted;
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_ERROR);
	q.indirect.indirect_grefs[0] = grant(ind, true);
	iseg[0] = (struct blkif_segment){ .gref = rw_ref, .first_sect = 0, .last_sect = 7 };
	iseg[1] = (struct blkif_segment){ .gref = rw_ref, .first_sect = 0, .last_sect = 9 };
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_ERROR);
	iseg[1].last_sect = 7;
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_OKAY);
	iseg[1].gref = ro_ref;
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_ERROR);
	q.indirect.nr_segments = 300;
	CU_ASSERT_EQUAL(raw_req(&bad, &q), BLKIF_RSP_ERROR);
	/* Every refusal left the grants free for the guest to revoke. */
	CU_ASSERT(!pvfront_gnt_in_use(&g->front, rw_ref));
	CU_ASSERT(!pvfront_gnt_in_use(&g->front, ro_ref));
	CU_ASSERT(!blkback_dev_broken(bad.d));
	struct blkback_stats st;
	blkback_dev_get_stats(bad.d, &st);
	CU_ASSERT(st.invalid >= 15);
	good_disk_still_serves(&good, gbuf);
	rig_down(&bad);
	rig_down(&good);
	rig_down(&ro);
}

static void test_hostile_ring_index_disconnects_only_that_device(void)
{
	struct rig bad, good;
	uint8_t *gbuf = fg_alloc(g, 4096);

	CU_ASSERT_FATAL(rig_up(&bad, "", 1 << 20, 1, 0, "vbd/1") == 0);
	CU_ASSERT_FATAL(rig_up(&good, "", 1 << 20, 1, 0, "vbd/2") == 0);
	struct blkfront_queue *q = &bad.bf->q[0];
	__atomic_store_n(&q->sh->req_prod, q->ring.req_prod_pvt + q->nr_ents + 5, __ATOMIC_RELEASE);
	pvfront_evtchn_send(&g->front, q->port);
	for (int i = 0; i < 1000 && !blkback_dev_broken(bad.d); i++)
		usleep(1000);
	CU_ASSERT(blkback_dev_broken(bad.d));
	good_disk_still_serves(&good, gbuf);
	rig_down(&bad);
	rig_down(&good);
}

struct restart_ctx {
	struct blkfront *bf;
	const char *const *args;
	int pid;
	unsigned in_flight_at_kill;
};

static void kill_and_restart(void *opaque)
{
	struct restart_ctx *c = opaque;

	c->in_flight_at_kill = blkfront_in_flight(c->bf, 0);
	fg_kill9(c->pid);
	for (int i = 0; i < 2000 && pv_ctl_nr_conns(g->ctl); i++)
		usleep(1000);
	blkfront_recover(c->bf);
	c->pid = fg_spawn_blkback(c->args);
	blkfront_kick(c->bf, 0);
}

static void test_killed_backend_restarts_and_frontend_resubmits_in_flight(void)
{
	enum { N = 160, IO = 256 << 10 };
	struct blkfront *bf = calloc(1, sizeof(*bf));
	char path[256], spec[300], ref[16], port[16];
	uint8_t *buf = fg_alloc(g, (size_t)N * IO);
	struct restart_ctx c = { .bf = bf };

	CU_ASSERT_FATAL(bf && buf && fg_image_new(path, sizeof(path), (uint64_t)N * IO) == 0);
	CU_ASSERT_FATAL(blkfront_init(bf, &g->front, 0, 1, 0) == 0);
	snprintf(spec, sizeof(spec), "%s,cache=none,io=io_uring", path);
	snprintf(ref, sizeof(ref), "%u", bf->q[0].ring_ref[0]);
	snprintf(port, sizeof(port), "%u", bf->q[0].port);
	const char *args[] = { "--ctl", g->ctl_path, "--domid", "5", "--devid", "9", "--disk", spec,
			       "--ring-ref", ref, "--event-channel", port, NULL };
	c.args = args;
	for (unsigned i = 0; i < N; i++)
		fg_fill(buf + (size_t)i * IO, IO, (uint64_t)i * IO / 512, 11);
	c.pid = fg_spawn_blkback(args);
	CU_ASSERT_FATAL(c.pid > 0);
	CU_ASSERT_EQUAL(fg_write_stream(bf, g, buf, N, IO, 32, N / 3, kill_and_restart, &c), 0);
	CU_ASSERT(c.in_flight_at_kill > 0);
	CU_ASSERT_EQUAL(fg_io(bf, 0, BLKIF_OP_FLUSH, 0, 0, NULL, 0, g), 0);
	for (unsigned i = 0; i < N; i++)
		host_expect(path, (uint64_t)i * IO, buf + (size_t)i * IO, IO);
	CU_ASSERT_EQUAL(bf->bogus_rsps, 0);
	kill(c.pid, SIGTERM);
	waitpid(c.pid, NULL, 0);
	for (int i = 0; i < 2000 && pv_ctl_nr_conns(g->ctl); i++)
		usleep(1000);
	unlink(path);
	free(bf);
}

static void test_frontend_ignores_forged_responses_and_detects_overflow(void)
{
	struct blkfront *bf = calloc(1, sizeof(*bf));
	struct blkfront_cpl c[4];
	uint8_t *buf = fg_alloc(g, 4096);
	struct blkfront_io io = { .op = BLKIF_OP_READ, .len_bytes = 4096, .tag = 99 };

	CU_ASSERT_FATAL(bf && blkfront_init(bf, &g->front, 0, 1, 0) == 0);
	io.buf_gpa = harness_gpa(g, buf);
	CU_ASSERT_EQUAL(blkfront_submit(bf, 0, &io), 0);
	blkfront_kick(bf, 0);
	struct blkfront_queue *q = &bf->q[0];
	uint64_t id = q->shadow[0].req.rw.id;
	/* Play a backend: a forged id, a stale generation, then the real one. */
	struct blkif_response *slot = (void *)((char *)q->sh + RING_HDR_BYTES);
	*slot = (struct blkif_response){ .id = id + 1, .op = BLKIF_OP_READ };
	__atomic_store_n(&q->sh->rsp_prod, 1, __ATOMIC_RELEASE);
	CU_ASSERT_EQUAL(blkfront_poll(bf, 0, c, 4), 0);
	CU_ASSERT_EQUAL(bf->bogus_rsps, 1);
	CU_ASSERT_EQUAL(blkfront_in_flight(bf, 0), 1);
	/* More responses than requests published: the ring is broken. */
	__atomic_store_n(&q->sh->rsp_prod, 3, __ATOMIC_RELEASE);
	CU_ASSERT_EQUAL(blkfront_poll(bf, 0, c, 4), -PVFRONT_EPROTO);
	/* The grants of the request in flight are kept for a recovery. */
	CU_ASSERT_EQUAL(blkfront_in_flight(bf, 0), 1);
	blkfront_recover(bf);
	CU_ASSERT_EQUAL(q->ring.req_prod_pvt, 1);
	CU_ASSERT_EQUAL(q->shadow[0].req.rw.id, id);
	*slot = (struct blkif_response){ .id = id, .op = BLKIF_OP_READ, .status = 0 };
	blkfront_kick(bf, 0);
	__atomic_store_n(&q->sh->rsp_prod, 1, __ATOMIC_RELEASE);
	CU_ASSERT_EQUAL(blkfront_poll(bf, 0, c, 4), 1);
	CU_ASSERT_EQUAL(c[0].tag, 99);
	CU_ASSERT_EQUAL(blkfront_in_flight(bf, 0), 0);
	/* Requests the protocol cannot carry are refused up front. */
	io.len_bytes = 1000;
	CU_ASSERT_EQUAL(blkfront_submit(bf, 0, &io), -PVFRONT_EINVAL);
	io.len_bytes = 4096;
	io.buf_gpa += 100;
	CU_ASSERT_EQUAL(blkfront_submit(bf, 0, &io), -PVFRONT_EINVAL);
	free(bf);
}

/* Each 4 KiB page of block b at generation gen starts with {b, page, gen}. */
static void gen_fill(uint8_t *p, unsigned b, uint32_t bytes, uint64_t gen)
{
	for (uint32_t off = 0; off < bytes; off += 4096) {
		uint64_t *w = (uint64_t *)(p + off);

		w[0] = b;
		w[1] = off / 4096;
		w[2] = gen;
		for (unsigned i = 3; i < 512; i++)
			w[i] = gen * 0x9e3779b97f4a7c15ull + b * 131 + i;
	}
}

/* Every page on the host file holds a whole generation >= acked[b]. */
static unsigned durability_violations(const char *path, unsigned nblk, uint32_t bytes,
				      const uint64_t *acked, uint64_t newest)
{
	uint8_t *want = malloc(4096), *page = malloc(4096);
	int fd = open(path, O_RDONLY);
	unsigned bad = 0;

	for (unsigned b = 0; b < nblk && fd >= 0; b++)
		for (uint32_t off = 0; off < bytes; off += 4096) {
			uint64_t gen;

			if (pread(fd, page, 4096, (off_t)b * bytes + off) != 4096) {
				bad++;
				continue;
			}
			gen = ((uint64_t *)page)[2];
			gen_fill(want, b, 4096, gen);
			((uint64_t *)want)[1] = off / 4096;
			bool whole = !memcmp(page + 24, want + 24, 4096 - 24) && ((uint64_t *)page)[0] == b;
			if (gen < acked[b] || gen > newest || (gen && !whole))
				bad++;
		}
	if (fd >= 0)
		close(fd);
	free(want);
	free(page);
	return fd < 0 ? 1 : bad;
}

static void test_flushed_writes_survive_repeated_backend_kills(void)
{
	enum { NBLK = 64, BS = 16 << 10, ROUNDS = 10, QD = 16 };
	struct blkfront *bf = calloc(1, sizeof(*bf));
	uint64_t acked[NBLK] = { 0 };
	char path[256], spec[300], ref[16], port[16];
	uint8_t *buf = fg_alloc(g, (size_t)NBLK * BS);
	unsigned kills = 0, violations = 0;
	int pid;

	CU_ASSERT_FATAL(bf && buf && fg_image_new(path, sizeof(path), (uint64_t)NBLK * BS) == 0);
	CU_ASSERT_FATAL(blkfront_init(bf, &g->front, 0, 1, 0) == 0);
	snprintf(spec, sizeof(spec), "%s,cache=writeback,io=io_uring", path);
	snprintf(ref, sizeof(ref), "%u", bf->q[0].ring_ref[0]);
	snprintf(port, sizeof(port), "%u", bf->q[0].port);
	const char *args[] = { "--ctl", g->ctl_path, "--domid", "5", "--devid", "10", "--disk", spec,
			       "--ring-ref", ref, "--event-channel", port, NULL };
	pid = fg_spawn_blkback(args);
	for (uint64_t gen = 1; gen <= ROUNDS; gen++) {
		unsigned next = 0, done = 0;

		for (unsigned b = 0; b < NBLK; b++)
			gen_fill(buf + (size_t)b * BS, b, BS, gen);
		while (done < NBLK) {
			while (next < NBLK && blkfront_in_flight(bf, 0) < QD) {
				struct blkfront_io io = { .op = BLKIF_OP_WRITE, .len_bytes = BS,
							  .sector = (uint64_t)next * BS / 512,
							  .buf_gpa = harness_gpa(g, buf + (size_t)next * BS) };
				CU_ASSERT_FATAL(blkfront_submit(bf, 0, &io) == 0);
				next++;
			}
			blkfront_kick(bf, 0);
			if (gen % 3 == 0 && done == NBLK / 2) {
				/* Kill with writes in flight; what was flushed is there. */
				fg_kill9(pid);
				kills++;
				violations += durability_violations(path, NBLK, BS, acked, gen);
				for (int i = 0; i < 2000 && pv_ctl_nr_conns(g->ctl); i++)
					usleep(1000);
				blkfront_recover(bf);
				pid = fg_spawn_blkback(args);
				blkfront_kick(bf, 0);
			}
			CU_ASSERT_EQUAL_FATAL(fg_wait_one(bf, 0, NULL), 0);
			done++;
		}
		CU_ASSERT_EQUAL_FATAL(fg_io(bf, 0, BLKIF_OP_FLUSH, 0, 0, NULL, 0, g), 0);
		for (unsigned b = 0; b < NBLK; b++)
			acked[b] = gen;
	}
	fg_kill9(pid);
	violations += durability_violations(path, NBLK, BS, acked, ROUNDS);
	CU_ASSERT_EQUAL(kills, ROUNDS / 3);
	CU_ASSERT_EQUAL(violations, 0);
	for (int i = 0; i < 2000 && pv_ctl_nr_conns(g->ctl); i++)
		usleep(1000);
	unlink(path);
	free(bf);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("blkback", suite_init, suite_clean);
	CU_add_test(s, "validation_refuses_every_malformed_request", test_validation_refuses_every_malformed_request);
	CU_add_test(s, "integrity_io_uring_cache_none", test_integrity_io_uring_cache_none);
	CU_add_test(s, "integrity_io_uring_writeback", test_integrity_io_uring_writeback);
	CU_add_test(s, "integrity_native_cache_none", test_integrity_native_cache_none);
	CU_add_test(s, "integrity_native_writeback", test_integrity_native_writeback);
	CU_add_test(s, "integrity_threads_cache_none", test_integrity_threads_cache_none);
	CU_add_test(s, "integrity_threads_writeback", test_integrity_threads_writeback);
	CU_add_test(s, "integrity_4k_sectors_multiqueue_multipage", test_integrity_4k_sectors_multiqueue_multipage);
	CU_add_test(s, "discard_and_write_zeroes_reach_the_host_file", test_discard_and_write_zeroes_reach_the_host_file);
	CU_add_test(s, "bad_requests_get_errors_and_other_disk_keeps_serving", test_bad_requests_get_errors_and_other_disk_keeps_serving);
	CU_add_test(s, "hostile_ring_index_disconnects_only_that_device", test_hostile_ring_index_disconnects_only_that_device);
	CU_add_test(s, "killed_backend_restarts_and_frontend_resubmits_in_flight", test_killed_backend_restarts_and_frontend_resubmits_in_flight);
	CU_add_test(s, "frontend_ignores_forged_responses_and_detects_overflow", test_frontend_ignores_forged_responses_and_detects_overflow);
	CU_add_test(s, "flushed_writes_survive_repeated_backend_kills", test_flushed_writes_survive_repeated_backend_kills);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	int failed = (int)CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
