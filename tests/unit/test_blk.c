/* SPDX-License-Identifier: MIT */
/* Engines and the raw image layer: data integrity on every engine and cache
 * mode, flush/discard/write-zeroes effects on the file, logical-sector and
 * range validation, read-only refusal, completion notification. */
#include "blk.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define FILE_BYTES (16u << 20)

static char tmpdir[256];
static char path[300];

static int suite_init(void)
{
	const char *b = getenv("B");
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp-test_blk-XXXXXX", b ? b : "build");
	mkdir(b ? b : "build", 0755);
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(path, sizeof(path), "%s/disk.raw", tmpdir);
	return 0;
}

static int suite_clean(void)
{
	unlink(path);
	rmdir(tmpdir);
	return 0;
}

static void make_file(uint64_t size)
{
	unlink(path);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(ftruncate(fd, (off_t)size) == 0);
	close(fd);
}

static struct blk_image *open_img(enum blk_engine_kind e, enum blk_cache c, bool ro, unsigned ss)
{
	struct blk_image *img = NULL;
	struct blk_image_opts o = { .path = path, .format = BLK_FMT_RAW, .engine = e, .cache = c,
				    .readonly = ro, .sector_size = ss, .queue_depth = 32 };
	int rc = blk_image_open(&img, &o);
	CU_ASSERT_EQUAL(rc, 0);
	return rc ? NULL : img;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Batches of up to 16 disjoint random writes in flight, then a random read-back
 * of the whole file compared with a shadow copy. */
static void rw_verify(enum blk_engine_kind e, enum blk_cache c)
{
	unsigned char *shadow = calloc(1, FILE_BYTES), *buf;
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ (e * 7 + c);
	make_file(FILE_BYTES);
	struct blk_image *img = open_img(e, c, false, 0);
	CU_ASSERT_FATAL(img != NULL && shadow != NULL);
	CU_ASSERT_FATAL(posix_memalign((void **)&buf, 4096, FILE_BYTES) == 0);

	for (int round = 0; round < 20; round++) {
		struct blk_req q[16];
		struct iovec v[16][2];
		unsigned n = 0;
		uint64_t used_lo[16], used_hi[16];
		for (int k = 0; k < 16; k++) {
			uint64_t len = (1 + rnd(&seed) % 64) * 4096;
			uint64_t off = (rnd(&seed) % ((FILE_BYTES - len) / 512)) * 512;
			if (c == BLK_CACHE_NONE)
				off &= ~4095ull;
			bool clash = false;
			for (unsigned j = 0; j < n; j++)
				clash |= off < used_hi[j] && off + len > used_lo[j];
			if (clash)
				continue;
			used_lo[n] = off;
			used_hi[n] = off + len;
			unsigned char *p = buf + off;
			for (uint64_t i = 0; i < len; i++)
				p[i] = (unsigned char)rnd(&seed);
			memcpy(shadow + off, p, len);
			/* Two segments, to exercise vectored I/O. */
			v[n][0] = (struct iovec){ p, len / 2 & ~4095ull };
			v[n][1] = (struct iovec){ p + v[n][0].iov_len, len - v[n][0].iov_len };
			q[n] = (struct blk_req){ .op = BLK_OP_WRITE, .offset = off, .iov = v[n],
						 .iovcnt = v[n][0].iov_len ? 2 : 1, .cookie = (void *)(uintptr_t)(n + 1),
						 .flags = (round % 5 == 0) ? BLK_REQ_FUA : 0 };
			if (!v[n][0].iov_len)
				q[n].iov = &v[n][1];
			n++;
		}
		CU_ASSERT_EQUAL(blk_image_submit(img, q, n), (int)n);
		for (unsigned got = 0; got < n;) {
			struct blk_completion cpl[16];
			int r = blk_image_reap(img, cpl, 16, true);
			CU_ASSERT_FATAL(r > 0);
			for (int i = 0; i < r; i++) {
				unsigned idx = (unsigned)(uintptr_t)cpl[i].cookie - 1;
				CU_ASSERT_EQUAL(cpl[i].result, (int64_t)(used_hi[idx] - used_lo[idx]));
			}
			got += (unsigned)r;
		}
		if (round % 4 == 3)
			CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
	}
	memset(buf, 0, FILE_BYTES);
	for (uint64_t off = 0; off < FILE_BYTES;) {
		uint64_t len = (1 + rnd(&seed) % 128) * 4096;
		if (len > FILE_BYTES - off)
			len = FILE_BYTES - off;
		CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_READ, off, buf + off, len, 0), (int64_t)len);
		off += len;
	}
	CU_ASSERT(memcmp(buf, shadow, FILE_BYTES) == 0);
	struct blk_stats st;
	blk_image_get_stats(img, &st);
	CU_ASSERT(st.op[BLK_OP_WRITE].requests > 100 && st.op[BLK_OP_WRITE].errors == 0);
	CU_ASSERT_EQUAL(st.op[BLK_OP_READ].bytes, FILE_BYTES);
	blk_image_close(img);
	free(buf);
	free(shadow);
}

#define RW_TEST(eng, cache, E, C) \
	static void test_rw_verify_##eng##_##cache(void) { rw_verify(E, C); }
RW_TEST(uring, none, BLK_ENGINE_URING, BLK_CACHE_NONE)
RW_TEST(uring, writeback, BLK_ENGINE_URING, BLK_CACHE_WRITEBACK)
RW_TEST(uring, unsafe, BLK_ENGINE_URING, BLK_CACHE_UNSAFE)
RW_TEST(aio, none, BLK_ENGINE_AIO, BLK_CACHE_NONE)
RW_TEST(aio, writeback, BLK_ENGINE_AIO, BLK_CACHE_WRITEBACK)
RW_TEST(aio, unsafe, BLK_ENGINE_AIO, BLK_CACHE_UNSAFE)
RW_TEST(sync, none, BLK_ENGINE_SYNC, BLK_CACHE_NONE)
RW_TEST(sync, writeback, BLK_ENGINE_SYNC, BLK_CACHE_WRITEBACK)
RW_TEST(sync, unsafe, BLK_ENGINE_SYNC, BLK_CACHE_UNSAFE)

static bool range_is_hole(uint64_t off, uint64_t len)
{
	int fd = open(path, O_RDONLY);
	off_t h = lseek(fd, (off_t)off, SEEK_HOLE);
	off_t d = lseek(fd, (off_t)off, SEEK_DATA);
	close(fd);
	/* A hole starts at off and no data begins before off+len. */
	return h == (off_t)off && (d < 0 || d >= (off_t)(off + len));
}

static bool reads_zero(struct blk_image *img, uint64_t off, uint64_t len, void *buf)
{
	memset(buf, 0xff, len);
	if (blk_image_io(img, BLK_OP_READ, off, buf, len, 0) != (int64_t)len)
		return false;
	for (uint64_t i = 0; i < len; i++)
		if (((unsigned char *)buf)[i])
			return false;
	return true;
}

/* Discard punches a hole in the file; write-zeroes reads back zeros; flush
 * succeeds; the file size is kept. */
static void discard_zero(enum blk_engine_kind e, enum blk_cache c)
{
	void *buf = NULL;
	struct stat st;
	make_file(FILE_BYTES);
	struct blk_image *img = open_img(e, c, false, 0);
	CU_ASSERT_FATAL(img && posix_memalign(&buf, 4096, 4u << 20) == 0);
	memset(buf, 0x5c, 4u << 20);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_WRITE, 0, buf, 4u << 20, 0), 4 << 20);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_DISCARD, 1u << 20, NULL, 1u << 20, 0), 0);
	CU_ASSERT(range_is_hole(1u << 20, 1u << 20));
	CU_ASSERT(reads_zero(img, 1u << 20, 1u << 20, buf));
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_WRITE_ZEROES, 3u << 20, NULL, 512u << 10, 0), 0);
	CU_ASSERT(reads_zero(img, 3u << 20, 512u << 10, buf));
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_READ, 0, buf, 4096, 0), 4096);
	CU_ASSERT_EQUAL(((unsigned char *)buf)[0], 0x5c);
	blk_image_close(img);
	CU_ASSERT(stat(path, &st) == 0 && st.st_size == FILE_BYTES);
	free(buf);
}

static void test_discard_zero_uring(void) { discard_zero(BLK_ENGINE_URING, BLK_CACHE_NONE); }
static void test_discard_zero_aio(void) { discard_zero(BLK_ENGINE_AIO, BLK_CACHE_NONE); }
static void test_discard_zero_sync(void) { discard_zero(BLK_ENGINE_SYNC, BLK_CACHE_WRITEBACK); }

static int64_t one(struct blk_image *img, unsigned op, uint64_t off, void *buf, uint64_t len)
{
	return blk_image_io(img, op, off, buf, len, 0);
}

static void test_4k_sector_refuses_512_aligned_requests(void)
{
	void *buf = NULL;
	make_file(FILE_BYTES);
	struct blk_image *img = open_img(BLK_ENGINE_URING, BLK_CACHE_NONE, false, 4096);
	CU_ASSERT_FATAL(img && posix_memalign(&buf, 4096, 8192) == 0);
	CU_ASSERT_EQUAL(blk_image_sector_size(img), 4096);
	CU_ASSERT_EQUAL(one(img, BLK_OP_WRITE, 512, buf, 4096), -EINVAL);
	CU_ASSERT_EQUAL(one(img, BLK_OP_WRITE, 4096, buf, 512), -EINVAL);
	CU_ASSERT_EQUAL(one(img, BLK_OP_DISCARD, 4096, NULL, 1024), -EINVAL);
	CU_ASSERT_EQUAL(one(img, BLK_OP_WRITE, 4096, buf, 8192), 8192);
	CU_ASSERT_EQUAL(one(img, BLK_OP_READ, 8192, buf, 4096), 4096);
	blk_image_close(img);
	free(buf);
}

static void test_bad_sector_size_refused(void)
{
	struct blk_image *img;
	struct blk_image_opts o = { .path = path, .format = BLK_FMT_RAW, .sector_size = 1024 };
	make_file(FILE_BYTES);
	CU_ASSERT_EQUAL(blk_image_open(&img, &o), -EINVAL);
}

static void test_out_of_range_and_unaligned_fail_cleanly(void)
{
	void *buf = NULL;
	make_file(FILE_BYTES);
	struct blk_image *img = open_img(BLK_ENGINE_AIO, BLK_CACHE_NONE, false, 0);
	CU_ASSERT_FATAL(img && posix_memalign(&buf, 4096, 8192) == 0);
	CU_ASSERT_EQUAL(one(img, BLK_OP_READ, FILE_BYTES, buf, 4096), -ERANGE);
	CU_ASSERT_EQUAL(one(img, BLK_OP_READ, FILE_BYTES - 4096, buf, 8192), -ERANGE);
	CU_ASSERT_EQUAL(one(img, BLK_OP_WRITE, ~0ull - 511, buf, 4096), -ERANGE);
	CU_ASSERT_EQUAL(one(img, BLK_OP_DISCARD, 0, NULL, ~0ull - 511), -ERANGE);
	CU_ASSERT_EQUAL(one(img, BLK_OP_READ, 100, buf, 4096), -EINVAL);
	CU_ASSERT_EQUAL(one(img, BLK_OP_READ, 0, (char *)buf + 1, 512), -EINVAL); /* O_DIRECT alignment */
	CU_ASSERT_EQUAL(one(img, BLK_OP_READ, 0, buf, 0), -EINVAL);
	CU_ASSERT_EQUAL(one(img, 77, 0, buf, 512), -EINVAL);
	CU_ASSERT_EQUAL(one(img, BLK_OP_READ, 0, buf, 4096), 4096); /* still serving */
	struct blk_stats st;
	blk_image_get_stats(img, &st);
	CU_ASSERT(st.op[BLK_OP_READ].errors >= 5);
	blk_image_close(img);
	free(buf);
}

static void test_readonly_refuses_writes(void)
{
	char buf[4096] = { 0 };
	make_file(FILE_BYTES);
	struct blk_image *img = open_img(BLK_ENGINE_SYNC, BLK_CACHE_WRITEBACK, true, 0);
	CU_ASSERT_FATAL(img != NULL);
	CU_ASSERT(blk_image_readonly(img));
	CU_ASSERT_EQUAL(one(img, BLK_OP_WRITE, 0, buf, 4096), -EROFS);
	CU_ASSERT_EQUAL(one(img, BLK_OP_DISCARD, 0, NULL, 4096), -EROFS);
	CU_ASSERT_EQUAL(one(img, BLK_OP_WRITE_ZEROES, 0, NULL, 4096), -EROFS);
	CU_ASSERT_EQUAL(one(img, BLK_OP_READ, 0, buf, 4096), 4096);
	CU_ASSERT_EQUAL(one(img, BLK_OP_FLUSH, 0, NULL, 0), 0);
	blk_image_close(img);
}

static void test_eventfd_signals_completion(void)
{
	for (int e = 0; e < 3; e++) {
		void *buf = NULL;
		make_file(FILE_BYTES);
		struct blk_image *img = open_img((enum blk_engine_kind)e, BLK_CACHE_NONE, false, 0);
		CU_ASSERT_FATAL(img && posix_memalign(&buf, 4096, 4096) == 0);
		struct iovec v = { buf, 4096 };
		struct blk_req q = { .op = BLK_OP_READ, .offset = 8192, .iov = &v, .iovcnt = 1, .cookie = &v };
		struct blk_req bad = { .op = BLK_OP_READ, .offset = 3, .iov = &v, .iovcnt = 1, .cookie = buf };
		CU_ASSERT_EQUAL(blk_image_submit(img, &q, 1), 1);
		CU_ASSERT_EQUAL(blk_image_submit(img, &bad, 1), 1);
		struct pollfd p = { .fd = blk_image_event_fd(img), .events = POLLIN };
		CU_ASSERT_EQUAL(poll(&p, 1, 5000), 1);
		struct blk_completion c[2];
		int got = 0;
		while (got < 2) {
			int r = blk_image_reap(img, c + got, 2 - (unsigned)got, true);
			CU_ASSERT_FATAL(r > 0);
			got += r;
		}
		for (int i = 0; i < 2; i++)
			CU_ASSERT_EQUAL(c[i].result, c[i].cookie == &v ? 4096 : -EINVAL);
		blk_image_close(img);
		free(buf);
	}
}

static void test_uring_registered_buffer_io(void)
{
	void *mem;
	CU_ASSERT_FATAL(posix_memalign(&mem, 4096, 1u << 20) == 0);
	make_file(FILE_BYTES);
	struct blk_image *img = NULL;
	struct blk_image_opts o = { .path = path, .format = BLK_FMT_RAW, .engine = BLK_ENGINE_URING,
				    .cache = BLK_CACHE_NONE, .buf_base = mem, .buf_len = 1u << 20 };
	CU_ASSERT_FATAL(blk_image_open(&img, &o) == 0);
	memset(mem, 0x3e, 65536);
	CU_ASSERT_EQUAL(one(img, BLK_OP_WRITE, 65536, mem, 65536), 65536);
	memset((char *)mem + 65536, 0, 65536);
	CU_ASSERT_EQUAL(one(img, BLK_OP_READ, 65536, (char *)mem + 65536, 65536), 65536);
	CU_ASSERT(memcmp(mem, (char *)mem + 65536, 65536) == 0);
	blk_image_close(img);
	free(mem);
}

static void test_queue_full_accepts_partial_batch(void)
{
	void *buf = NULL;
	make_file(FILE_BYTES);
	struct blk_image *img = NULL;
	struct blk_image_opts o = { .path = path, .format = BLK_FMT_RAW, .engine = BLK_ENGINE_URING,
				    .cache = BLK_CACHE_WRITEBACK, .queue_depth = 4 };
	CU_ASSERT_FATAL(blk_image_open(&img, &o) == 0 && posix_memalign(&buf, 4096, 4096) == 0);
	struct iovec v = { buf, 4096 };
	struct blk_req q[8];
	for (int i = 0; i < 8; i++)
		q[i] = (struct blk_req){ .op = BLK_OP_READ, .offset = (uint64_t)i * 4096, .iov = &v, .iovcnt = 1 };
	CU_ASSERT_EQUAL(blk_image_submit(img, q, 8), 4);
	struct blk_completion c[8];
	int got = 0;
	while (got < 4)
		got += blk_image_reap(img, c, 8, true);
	CU_ASSERT_EQUAL(blk_image_submit(img, q + 4, 4), 4);
	blk_image_close(img);
	free(buf);
}

int main(void)
{
	CU_pSuite s;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("blk_engines", suite_init, suite_clean);
	CU_add_test(s, "test_rw_verify_uring_none", test_rw_verify_uring_none);
	CU_add_test(s, "test_rw_verify_uring_writeback", test_rw_verify_uring_writeback);
	CU_add_test(s, "test_rw_verify_uring_unsafe", test_rw_verify_uring_unsafe);
	CU_add_test(s, "test_rw_verify_aio_none", test_rw_verify_aio_none);
	CU_add_test(s, "test_rw_verify_aio_writeback", test_rw_verify_aio_writeback);
	CU_add_test(s, "test_rw_verify_aio_unsafe", test_rw_verify_aio_unsafe);
	CU_add_test(s, "test_rw_verify_sync_none", test_rw_verify_sync_none);
	CU_add_test(s, "test_rw_verify_sync_writeback", test_rw_verify_sync_writeback);
	CU_add_test(s, "test_rw_verify_sync_unsafe", test_rw_verify_sync_unsafe);
	CU_add_test(s, "test_discard_zero_uring", test_discard_zero_uring);
	CU_add_test(s, "test_discard_zero_aio", test_discard_zero_aio);
	CU_add_test(s, "test_discard_zero_sync", test_discard_zero_sync);
	CU_add_test(s, "test_4k_sector_refuses_512_aligned_requests", test_4k_sector_refuses_512_aligned_requests);
	CU_add_test(s, "test_bad_sector_size_refused", test_bad_sector_size_refused);
	CU_add_test(s, "test_out_of_range_and_unaligned_fail_cleanly", test_out_of_range_and_unaligned_fail_cleanly);
	CU_add_test(s, "test_readonly_refuses_writes", test_readonly_refuses_writes);
	CU_add_test(s, "test_eventfd_signals_completion", test_eventfd_signals_completion);
	CU_add_test(s, "test_uring_registered_buffer_io", test_uring_registered_buffer_io);
	CU_add_test(s, "test_queue_full_accepts_partial_batch", test_queue_full_accepts_partial_batch);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
