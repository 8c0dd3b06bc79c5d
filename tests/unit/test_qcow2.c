/* SPDX-License-Identifier: MIT */
/* qcow2 through the image layer: round trips on v2/v3 and several cluster
 * sizes, backing chains and copy-on-write, zero/discard, metadata caching,
 * and hostile images refused or failing the request cleanly. */
#include "blk.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static char tmpdir[256];

static const char *tpath(const char *name)
{
	static char p[4][400];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", tmpdir, name);
	return p[i];
}

static int suite_init(void)
{
	const char *b = getenv("B");
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp-test_qcow2-XXXXXX", b ? b : "build");
	mkdir(b ? b : "build", 0755);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int open_q(struct blk_image **img, const char *p, bool ro, enum blk_engine_kind e,
		  enum blk_cache c)
{
	struct blk_image_opts o = { .path = p, .format = BLK_FMT_QCOW2, .engine = e, .cache = c,
				    .readonly = ro, .queue_depth = 32 };
	return blk_image_open(img, &o);
}

static void *abuf(uint64_t len)
{
	void *b = NULL;
	CU_ASSERT_FATAL(posix_memalign(&b, 4096, len) == 0);
	return b;
}

static void assert_clean(const char *p)
{
	struct blk_check_result r;
	CU_ASSERT_EQUAL(blk_qcow2_check(p, &r), 0);
	CU_ASSERT_EQUAL(r.corruptions, 0);
	CU_ASSERT_EQUAL(r.leaks, 0);
}

/* Random writes (sub-cluster to multi-cluster), read back, reopen, read back. */
static void roundtrip(unsigned cs, unsigned version, enum blk_engine_kind e, enum blk_cache c)
{
	const uint64_t size = 24u << 20;
	const char *p = tpath("rt.qcow2");
	unsigned char *shadow = calloc(1, size), *buf = abuf(size);
	uint64_t seed = cs * 31 + version;
	struct blk_image *img;

	unlink(p);
	CU_ASSERT_FATAL(blk_qcow2_create(p, size, cs, version, NULL, NULL) == 0);
	CU_ASSERT_FATAL(open_q(&img, p, false, e, c) == 0);
	for (int i = 0; i < 120; i++) {
		uint64_t len = (1 + rnd(&seed) % 160) * 4096;
		uint64_t off = (rnd(&seed) % ((size - len) / 4096)) * 4096;
		for (uint64_t k = 0; k < len; k++)
			buf[k] = (unsigned char)rnd(&seed);
		memcpy(shadow + off, buf, len);
		CU_ASSERT_EQUAL_FATAL(blk_image_io(img, BLK_OP_WRITE, off, buf, len, 0), (int64_t)len);
		if (i % 40 == 39)
			CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
	}
	for (int pass = 0; pass < 2; pass++) {
		memset(buf, 0xee, size);
		for (uint64_t off = 0; off < size; off += 1u << 20)
			CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_READ, off, buf + off, 1u << 20, 0), 1 << 20);
		CU_ASSERT(memcmp(buf, shadow, size) == 0);
		blk_image_close(img);
		if (pass == 0)
			CU_ASSERT_FATAL(open_q(&img, p, true, e, c) == 0);
	}
	assert_clean(p);
	free(shadow);
	free(buf);
}

static void test_roundtrip_v3_64k_uring_none(void) { roundtrip(65536, 3, BLK_ENGINE_URING, BLK_CACHE_NONE); }
static void test_roundtrip_v3_4k_aio_none(void) { roundtrip(4096, 3, BLK_ENGINE_AIO, BLK_CACHE_NONE); }
static void test_roundtrip_v2_64k_sync_writeback(void) { roundtrip(65536, 2, BLK_ENGINE_SYNC, BLK_CACHE_WRITEBACK); }
static void test_roundtrip_v3_2m_uring_writeback(void) { roundtrip(2u << 20, 3, BLK_ENGINE_URING, BLK_CACHE_WRITEBACK); }
static void test_roundtrip_v2_512k_uring_unsafe(void) { roundtrip(512u << 10, 2, BLK_ENGINE_URING, BLK_CACHE_UNSAFE); }

static uint64_t file_sum(const char *p)
{
	FILE *f = fopen(p, "rb");
	uint64_t h = 1469598103934665603ull;
	int ch;
	if (!f)
		return 0;
	while ((ch = fgetc(f)) != EOF)
		h = (h ^ (unsigned)ch) * 1099511628211ull;
	fclose(f);
	return h;
}

static void fill(struct blk_image *img, unsigned char *shadow, uint64_t off, uint64_t len, int pat)
{
	unsigned char *b = abuf(len);
	memset(b, pat, len);
	memcpy(shadow + off, b, len);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_WRITE, off, b, len, 0), (int64_t)len);
	free(b);
}

static void verify(struct blk_image *img, const unsigned char *shadow, uint64_t size)
{
	unsigned char *b = abuf(size);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_READ, 0, b, size, 0), (int64_t)size);
	CU_ASSERT(memcmp(b, shadow, size) == 0);
	free(b);
}

/* raw base <- qcow2 mid <- qcow2 top: reads merge the chain, partial writes
 * copy the rest of the cluster up, and no backing file changes. */
static void test_backing_chain_depth3_cow_never_writes_backing(void)
{
	const uint64_t size = 8u << 20;
	const char *base = tpath("base.raw"), *mid = tpath("mid.qcow2"), *top = tpath("top.qcow2");
	unsigned char *shadow = calloc(1, size);
	struct blk_image *img;

	unlink(base); unlink(mid); unlink(top);
	CU_ASSERT_FATAL(blk_raw_create(base, size) == 0);
	struct blk_image_opts ro = { .path = base, .format = BLK_FMT_RAW, .engine = BLK_ENGINE_SYNC };
	CU_ASSERT_FATAL(blk_image_open(&img, &ro) == 0);
	fill(img, shadow, 0, size, 0x11);
	blk_image_close(img);
	CU_ASSERT_FATAL(blk_qcow2_create(mid, size, 65536, 3, "base.raw", "raw") == 0);
	CU_ASSERT_FATAL(open_q(&img, mid, false, BLK_ENGINE_URING, BLK_CACHE_NONE) == 0);
	fill(img, shadow, 1u << 20, 1u << 20, 0x22);
	fill(img, shadow, 3u << 20, 4096, 0x23);
	blk_image_close(img);
	CU_ASSERT_FATAL(blk_qcow2_create(top, size, 65536, 3, "mid.qcow2", "qcow2") == 0);
	uint64_t sb = file_sum(base), sm = file_sum(mid);
	CU_ASSERT_FATAL(open_q(&img, top, false, BLK_ENGINE_URING, BLK_CACHE_NONE) == 0);
	verify(img, shadow, size);
	fill(img, shadow, (1u << 20) + 4096, 8192, 0x33);    /* partial over mid */
	fill(img, shadow, (3u << 20) + 8192, 4096, 0x34);    /* partial next to mid's 4K */
	fill(img, shadow, 6u << 20, 65536, 0x35);            /* full cluster over base */
	fill(img, shadow, (7u << 20) + 512, 512, 0x36);      /* one sector over base */
	verify(img, shadow, size);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
	blk_image_close(img);
	CU_ASSERT_FATAL(open_q(&img, top, true, BLK_ENGINE_SYNC, BLK_CACHE_WRITEBACK) == 0);
	verify(img, shadow, size);
	blk_image_close(img);
	CU_ASSERT_EQUAL(file_sum(base), sb);
	CU_ASSERT_EQUAL(file_sum(mid), sm);
	assert_clean(top);
	free(shadow);
}

static void test_zeroes_and_discard_hide_backing_data(void)
{
	const uint64_t size = 4u << 20;
	const char *base = tpath("zb.qcow2"), *top = tpath("zt.qcow2");
	unsigned char *shadow = calloc(1, size);
	struct blk_image *img;

	unlink(base); unlink(top);
	CU_ASSERT_FATAL(blk_qcow2_create(base, size, 65536, 3, NULL, NULL) == 0);
	CU_ASSERT_FATAL(open_q(&img, base, false, BLK_ENGINE_SYNC, BLK_CACHE_WRITEBACK) == 0);
	fill(img, shadow, 0, size, 0x77);
	blk_image_close(img);
	CU_ASSERT_FATAL(blk_qcow2_create(top, size, 65536, 3, "zb.qcow2", NULL) == 0);
	CU_ASSERT_FATAL(open_q(&img, top, false, BLK_ENGINE_URING, BLK_CACHE_WRITEBACK) == 0);
	fill(img, shadow, 0, 131072, 0x78);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_WRITE_ZEROES, 0, NULL, 65536, 0), 0);        /* allocated, full */
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_WRITE_ZEROES, 69632, NULL, 4096, 0), 0);     /* allocated, partial */
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_WRITE_ZEROES, 1u << 20, NULL, 65536, 0), 0); /* backing, full */
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_WRITE_ZEROES, (2u << 20) + 512, NULL, 1024, 0), 0); /* backing, partial */
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_DISCARD, 3u << 20, NULL, 131072, 0), 0);
	memset(shadow, 0, 65536);
	memset(shadow + 69632, 0, 4096);
	memset(shadow + (1u << 20), 0, 65536);
	memset(shadow + (2u << 20) + 512, 0, 1024);
	memset(shadow + (3u << 20), 0, 131072);
	verify(img, shadow, size);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
	blk_image_close(img);
	CU_ASSERT_FATAL(open_q(&img, top, true, BLK_ENGINE_SYNC, BLK_CACHE_WRITEBACK) == 0);
	verify(img, shadow, size);
	blk_image_close(img);
	assert_clean(top);
	free(shadow);
}

static void test_discarded_clusters_freed_and_reused(void)
{
	const uint64_t size = 8u << 20;
	const char *p = tpath("disc.qcow2");
	unsigned char *shadow = calloc(1, size);
	struct blk_image *img;
	struct stat st1, st2;

	unlink(p);
	CU_ASSERT_FATAL(blk_qcow2_create(p, size, 65536, 3, NULL, NULL) == 0);
	CU_ASSERT_FATAL(open_q(&img, p, false, BLK_ENGINE_URING, BLK_CACHE_NONE) == 0);
	fill(img, shadow, 0, 2u << 20, 0x41);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_DISCARD, 0, NULL, 2u << 20, 0), 0);
	memset(shadow, 0, 2u << 20);
	verify(img, shadow, size);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
	CU_ASSERT(stat(p, &st1) == 0);
	fill(img, shadow, 4u << 20, 2u << 20, 0x42);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
	CU_ASSERT(stat(p, &st2) == 0);
	CU_ASSERT_EQUAL(st1.st_size, st2.st_size); /* the freed clusters were reused */
	verify(img, shadow, size);
	blk_image_close(img);
	assert_clean(p);
	free(shadow);
}

static uint64_t read_syscalls(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];
	uint64_t v = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "syscr: %lu", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

/* Steady state on an allocated image: one read syscall per guest read (the
 * sync engine's preadv), no metadata reads. */
static void test_allocated_random_reads_cost_no_metadata_reads(void)
{
	const uint64_t size = 64u << 20;
	const char *p = tpath("warm.qcow2");
	unsigned char *shadow = calloc(1, size), *b = abuf(4096);
	struct blk_image *img;
	uint64_t seed = 42;

	unlink(p);
	CU_ASSERT_FATAL(blk_qcow2_create(p, size, 65536, 3, NULL, NULL) == 0);
	CU_ASSERT_FATAL(open_q(&img, p, false, BLK_ENGINE_SYNC, BLK_CACHE_NONE) == 0);
	fill(img, shadow, 0, size, 0x55);
	blk_image_close(img);
	CU_ASSERT_FATAL(open_q(&img, p, true, BLK_ENGINE_SYNC, BLK_CACHE_NONE) == 0);
	for (uint64_t off = 0; off < size; off += 1u << 20)  /* warm the L2 cache */
		CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_READ, off, b, 4096, 0), 4096);
	uint64_t before = read_syscalls();
	for (int i = 0; i < 1000; i++)
		CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_READ, (rnd(&seed) % (size / 4096)) * 4096, b, 4096, 0), 4096);
	uint64_t reads = read_syscalls() - before;
	/* 1000 data reads; eventfd reads are not ours, allow none beyond. */
	if (reads != 1000)
		fprintf(stderr, "read syscalls: %lu\n", reads);
	CU_ASSERT(reads >= 1000 && reads <= 1001);
	blk_image_close(img);
	free(shadow);
	free(b);
}

/* Guest requests may carry many segments (indirect descriptors): allocating
 * and COW writes must not be limited to a fixed iovec count. */
static void test_many_segment_writes_allocate_correctly(void)
{
	const uint64_t size = 4u << 20;
	const char *p = tpath("segs.qcow2");
	unsigned char *shadow = calloc(1, size), *b = abuf(1u << 20);
	struct iovec v[256];
	struct blk_image *img;

	unlink(p);
	CU_ASSERT_FATAL(blk_qcow2_create(p, size, 65536, 3, NULL, NULL) == 0);
	CU_ASSERT_FATAL(open_q(&img, p, false, BLK_ENGINE_URING, BLK_CACHE_NONE) == 0);
	for (int i = 0; i < 256; i++) {
		memset(b + i * 4096, i, 4096);
		v[i] = (struct iovec){ b + i * 4096, 4096 };
	}
	struct blk_req q = { .op = BLK_OP_WRITE, .offset = 0, .iov = v, .iovcnt = 256 };
	struct blk_completion c;
	CU_ASSERT_EQUAL(blk_image_submit(img, &q, 1), 1);
	CU_ASSERT_EQUAL(blk_image_reap(img, &c, 1, true), 1);
	CU_ASSERT_EQUAL(c.result, 1 << 20);
	memcpy(shadow, b, 1u << 20);
	q.offset = (2u << 20) + 8192;  /* unaligned to clusters: COW head and tail */
	q.iovcnt = 100;
	CU_ASSERT_EQUAL(blk_image_submit(img, &q, 1), 1);
	CU_ASSERT_EQUAL(blk_image_reap(img, &c, 1, true), 1);
	CU_ASSERT_EQUAL(c.result, 100 * 4096);
	memcpy(shadow + q.offset, b, 100 * 4096);
	verify(img, shadow, size);
	blk_image_close(img);
	assert_clean(p);
	free(shadow);
	free(b);
}

/* A small write into an empty image writes only its bytes; the cluster's
 * rest reads as zeros, also when the file was cut short under it. */
static void test_small_write_into_empty_cluster_reads_zeros_around(void)
{
	const char *p = tpath("fresh.qcow2");
	unsigned char *b = abuf(65536);
	struct blk_image *img;
	struct stat st;

	unlink(p);
	CU_ASSERT_FATAL(blk_qcow2_create(p, 1u << 20, 65536, 3, NULL, NULL) == 0);
	CU_ASSERT_FATAL(stat(p, &st) == 0);
	uint64_t before = (uint64_t)st.st_size;
	CU_ASSERT_FATAL(open_q(&img, p, false, BLK_ENGINE_AIO, BLK_CACHE_NONE) == 0);
	memset(b, 0x7e, 4096);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_WRITE, 8192, b, 4096, 0), 4096);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
	blk_image_close(img);
	/* New L2 table + one data cluster, the data cluster last; the space
	 * grown ahead of allocation was trimmed at close. */
	CU_ASSERT(stat(p, &st) == 0 && (uint64_t)st.st_size == before + 2 * 65536);
	CU_ASSERT_FATAL(truncate(p, (off_t)(before + 65536 + 12288)) == 0); /* cut inside the cluster */
	CU_ASSERT_FATAL(open_q(&img, p, true, BLK_ENGINE_URING, BLK_CACHE_WRITEBACK) == 0);
	memset(b, 0xff, 65536);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_READ, 0, b, 65536, 0), 65536);
	for (unsigned i = 0; i < 65536; i++)
		if (b[i] != (i >= 8192 && i < 12288 ? 0x7e : 0)) {
			CU_FAIL("wrong byte");
			break;
		}
	blk_image_close(img);
	free(b);
}

/* Allocating writes in flight together (queue depth 16), disjoint bytes but
 * often the same new clusters: whole-cluster allocations run through the
 * engine and map on completion; a write meeting one in flight waits for it. */
static void concurrent_alloc(enum blk_engine_kind eng, enum blk_cache cache)
{
	const uint64_t size = 8u << 20, cs = 65536;
	const char *p = tpath("conc.qcow2");
	unsigned char *shadow = calloc(1, size), *b = abuf(16 * 262144);
	uint64_t seed = 7 + eng;
	struct blk_image *img;

	unlink(p);
	CU_ASSERT_FATAL(blk_qcow2_create(p, size, cs, 3, NULL, NULL) == 0);
	CU_ASSERT_FATAL(open_q(&img, p, false, eng, cache) == 0);
	for (int round = 0; round < 40; round++) {
		struct blk_req q[16];
		struct iovec v[16];
		uint64_t lo[16], hi[16];
		unsigned n = 0;
		for (int k = 0; k < 16; k++) {
			bool big = rnd(&seed) % 2;
			uint64_t len = big ? cs * (1 + rnd(&seed) % 4) : 4096;
			uint64_t off = big ? (rnd(&seed) % (size / cs - 4)) * cs
					   : (rnd(&seed) % (size / 4096)) * 4096;
			bool clash = false;
			for (unsigned j = 0; j < n; j++)
				clash |= off < hi[j] && off + len > lo[j];
			if (clash)
				continue;
			lo[n] = off;
			hi[n] = off + len;
			unsigned char *d = b + n * 262144;
			for (uint64_t i = 0; i < len; i++)
				d[i] = (unsigned char)rnd(&seed);
			memcpy(shadow + off, d, len);
			v[n] = (struct iovec){ d, len };
			q[n] = (struct blk_req){ .op = BLK_OP_WRITE, .offset = off, .iov = &v[n], .iovcnt = 1 };
			n++;
		}
		CU_ASSERT_EQUAL_FATAL(blk_image_submit(img, q, n), (int)n);
		for (unsigned got = 0; got < n;) {
			struct blk_completion c[16];
			int r = blk_image_reap(img, c, 16, true);
			CU_ASSERT_FATAL(r > 0);
			for (int i = 0; i < r; i++)
				CU_ASSERT(c[i].result > 0);
			got += (unsigned)r;
		}
		if (round % 10 == 9)
			CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
	}
	verify(img, shadow, size);
	blk_image_close(img);
	CU_ASSERT_FATAL(open_q(&img, p, true, BLK_ENGINE_SYNC, BLK_CACHE_WRITEBACK) == 0);
	verify(img, shadow, size);
	blk_image_close(img);
	assert_clean(p);
	free(shadow);
	free(b);
}

static void test_concurrent_allocating_writes_uring(void) { concurrent_alloc(BLK_ENGINE_URING, BLK_CACHE_NONE); }
static void test_concurrent_allocating_writes_aio(void) { concurrent_alloc(BLK_ENGINE_AIO, BLK_CACHE_NONE); }
static void test_concurrent_allocating_writes_sync(void) { concurrent_alloc(BLK_ENGINE_SYNC, BLK_CACHE_WRITEBACK); }

/* Partial-cluster writes at queue depth 16 over a backing file whose every
 * 512-byte sector differs, at both ends and the middle of clusters, often
 * several in flight in one new cluster: the copy-on-write runs off the
 * submitting thread and must merge old head/tail and new bytes exactly,
 * serialise writes meeting in one cluster, and never touch the backing. */
static void cow_concurrent(enum blk_engine_kind eng, enum blk_cache cache, bool qcow2_backing)
{
	const uint64_t size = 4u << 20, cs = 65536;
	const char *base = tpath("cbase.raw"), *mid = tpath("cmid.qcow2"), *top = tpath("ctop.qcow2");
	unsigned char *shadow = malloc(size), *b = abuf(16 * 8192);
	uint64_t seed = 99 + eng * 2 + qcow2_backing;
	struct blk_image *img;

	unlink(base); unlink(mid); unlink(top);
	for (uint64_t i = 0; i < size; i++)
		shadow[i] = (unsigned char)((i >> 9) * 7 + (i >> 17) + 1);
	int fd = open(base, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_FATAL(fd >= 0 && pwrite(fd, shadow, size, 0) == (ssize_t)size);
	close(fd);
	const char *back = "cbase.raw", *bfmt = "raw";
	if (qcow2_backing) {
		/* The middle layer holds part of the data itself. */
		CU_ASSERT_FATAL(blk_qcow2_create(mid, size, cs, 3, "cbase.raw", "raw") == 0);
		CU_ASSERT_FATAL(open_q(&img, mid, false, BLK_ENGINE_SYNC, BLK_CACHE_WRITEBACK) == 0);
		fill(img, shadow, 1u << 20, 1u << 20, 0x5c);
		blk_image_close(img);
		back = "cmid.qcow2";
		bfmt = "qcow2";
	}
	uint64_t sb = file_sum(base);
	CU_ASSERT_FATAL(blk_qcow2_create(top, size, cs, 3, back, bfmt) == 0);
	CU_ASSERT_FATAL(open_q(&img, top, false, eng, cache) == 0);
	for (int round = 0; round < 60; round++) {
		struct blk_req q[16];
		struct iovec v[16];
		uint64_t lo[16], hi[16];
		unsigned n = 0;
		for (int k = 0; k < 16; k++) {
			uint64_t len = 512 * (1 + rnd(&seed) % 16), cl = rnd(&seed) % (size / cs), off;
			switch (rnd(&seed) % 3) {
			case 0: off = cl * cs; break;                          /* head */
			case 1: off = cl * cs + cs - len; break;               /* tail */
			default: off = cl * cs + 512 * (rnd(&seed) % ((cs - len) / 512)); break;
			}
			bool clash = false;
			for (unsigned j = 0; j < n; j++)
				clash |= off < hi[j] && off + len > lo[j];
			if (clash)
				continue;
			lo[n] = off;
			hi[n] = off + len;
			unsigned char *d = b + n * 8192;
			for (uint64_t i = 0; i < len; i++)
				d[i] = (unsigned char)(rnd(&seed) | 0x80);
			memcpy(shadow + off, d, len);
			v[n] = (struct iovec){ d, len };
			q[n] = (struct blk_req){ .op = BLK_OP_WRITE, .offset = off, .iov = &v[n], .iovcnt = 1 };
			n++;
		}
		CU_ASSERT_EQUAL_FATAL(blk_image_submit(img, q, n), (int)n);
		for (unsigned got = 0; got < n;) {
			struct blk_completion c[16];
			int r = blk_image_reap(img, c, 16, true);
			CU_ASSERT_FATAL(r > 0);
			for (int i = 0; i < r; i++)
				CU_ASSERT(c[i].result > 0);
			got += (unsigned)r;
		}
		if (round % 20 == 19)
			CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
	}
	verify(img, shadow, size);
	blk_image_close(img);
	CU_ASSERT_FATAL(open_q(&img, top, true, BLK_ENGINE_SYNC, BLK_CACHE_WRITEBACK) == 0);
	verify(img, shadow, size);
	blk_image_close(img);
	CU_ASSERT_EQUAL(file_sum(base), sb);
	assert_clean(top);
	free(shadow);
	free(b);
}

static void test_partial_writes_over_raw_backing_merge_uring(void) { cow_concurrent(BLK_ENGINE_URING, BLK_CACHE_NONE, false); }
static void test_partial_writes_over_qcow2_backing_merge_aio(void) { cow_concurrent(BLK_ENGINE_AIO, BLK_CACHE_NONE, true); }
static void test_partial_writes_over_raw_backing_merge_sync(void) { cow_concurrent(BLK_ENGINE_SYNC, BLK_CACHE_WRITEBACK, false); }

/* Overlapping requests in one batch: a write or discard touching clusters
 * whose allocation is still in flight waits for it, so the later request
 * wins, as it would on a raw disk with requests applied in order. */
static void test_write_into_cluster_being_allocated_waits(void)
{
	const uint64_t size = 2u << 20;
	const char *p = tpath("wait.qcow2");
	unsigned char *shadow = calloc(1, size), *b = abuf(3 * 131072);
	struct blk_image *img;

	unlink(p);
	CU_ASSERT_FATAL(blk_qcow2_create(p, size, 65536, 3, NULL, NULL) == 0);
	CU_ASSERT_FATAL(open_q(&img, p, false, BLK_ENGINE_URING, BLK_CACHE_NONE) == 0);
	memset(b, 0x10, 131072);
	memset(b + 131072, 0x20, 4096);
	memset(b + 262144, 0x30, 131072);
	struct iovec v[3] = { { b, 131072 }, { b + 131072, 4096 }, { b + 262144, 131072 } };
	struct blk_req q[4] = {
		{ .op = BLK_OP_WRITE, .offset = 0, .iov = &v[0], .iovcnt = 1 },
		{ .op = BLK_OP_WRITE, .offset = 65536 + 4096, .iov = &v[1], .iovcnt = 1 },
		{ .op = BLK_OP_WRITE, .offset = 262144, .iov = &v[2], .iovcnt = 1 },
		{ .op = BLK_OP_DISCARD, .offset = 262144, .len_bytes = 65536 },
	};
	CU_ASSERT_EQUAL(blk_image_submit(img, q, 4), 4);
	for (int got = 0; got < 4;) {
		struct blk_completion c[4];
		int r = blk_image_reap(img, c, 4, true);
		CU_ASSERT_FATAL(r > 0);
		for (int i = 0; i < r; i++)
			CU_ASSERT(c[i].result >= 0);
		got += r;
	}
	memset(shadow, 0x10, 131072);
	memset(shadow + 65536 + 4096, 0x20, 4096);
	memset(shadow + 262144 + 65536, 0x30, 65536);
	verify(img, shadow, size);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_FLUSH, 0, NULL, 0, 0), 0);
	blk_image_close(img);
	assert_clean(p);
	free(shadow);
	free(b);
}

/* ---- hostile images ---- */

static const char *fresh(uint64_t size)
{
	const char *p = tpath("bad.qcow2");
	unlink(p);
	CU_ASSERT_FATAL(blk_qcow2_create(p, size, 65536, 3, NULL, NULL) == 0);
	return p;
}

static void poke(const char *p, uint64_t off, unsigned bytes, uint64_t v)
{
	unsigned char b[8];
	for (unsigned i = 0; i < bytes; i++)
		b[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	int fd = open(p, O_WRONLY);
	CU_ASSERT(pwrite(fd, b, bytes, (off_t)off) == (ssize_t)bytes);
	close(fd);
}

static uint64_t peek(const char *p, uint64_t off)
{
	unsigned char b[8];
	uint64_t v = 0;
	int fd = open(p, O_RDONLY);
	CU_ASSERT(pread(fd, b, 8, (off_t)off) == 8);
	close(fd);
	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

static int try_open(const char *p, bool ro)
{
	struct blk_image *img;
	int rc = open_q(&img, p, ro, BLK_ENGINE_SYNC, BLK_CACHE_WRITEBACK);
	if (!rc)
		blk_image_close(img);
	return rc;
}

static void test_bad_headers_refused(void)
{
	struct { uint64_t off; unsigned bytes; uint64_t v; int rc; } cases[] = {
		{ 0, 4, 0x514649fa, -EINVAL },               /* magic */
		{ 4, 4, 4, -ENOTSUP },                       /* version */
		{ 20, 4, 30, -EINVAL },                      /* cluster_bits */
		{ 20, 4, 8, -EINVAL },
		{ 24, 8, 1ull << 62, -EINVAL },              /* huge size */
		{ 32, 4, 1, -ENOTSUP },                      /* encryption */
		{ 36, 4, 0, -EINVAL },                       /* L1 too small for size */
		{ 36, 4, 0x7fffffff, -EINVAL },              /* L1 huge */
		{ 40, 8, 1ull << 40, -EINVAL },              /* L1 outside the file */
		{ 40, 8, 65536 + 512, -EINVAL },             /* L1 unaligned */
		{ 48, 8, 1ull << 40, -EINVAL },              /* refcount table outside */
		{ 56, 4, 0, -EINVAL },                       /* no refcount table */
		{ 72, 8, 1ull << 20, -ENOTSUP },             /* unknown incompatible feature */
		{ 72, 8, 1ull << 2, -ENOTSUP },              /* external data file */
		{ 96, 4, 7, -EINVAL },                       /* refcount order */
		{ 100, 4, 1 << 20, -EINVAL },                /* header length */
		{ 16, 4, 2000, -EINVAL },                    /* backing name too long */
		{ 104, 4, 0xe2792aca, 0 },                   /* extension with ... */
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = fresh(64u << 20);
		poke(p, cases[i].off, cases[i].bytes, cases[i].v);
		if (i == sizeof(cases) / sizeof(cases[0]) - 1) {
			poke(p, 108, 4, 0xfffffff0);  /* ... a length running off the cluster */
			cases[i].rc = -EINVAL;
		}
		int rc = try_open(p, true);
		if (rc != cases[i].rc)
			fprintf(stderr, "case %u: got %d want %d\n", i, rc, cases[i].rc);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
	}
}

static void test_corrupt_bit_refuses_rw_allows_ro(void)
{
	const char *p = fresh(1u << 20);
	poke(p, 72, 8, 2);
	CU_ASSERT_EQUAL(try_open(p, false), -EROFS);
	CU_ASSERT_EQUAL(try_open(p, true), 0);
	poke(p, 72, 8, 1); /* dirty */
	CU_ASSERT_EQUAL(try_open(p, false), -ENOTSUP);
	CU_ASSERT_EQUAL(try_open(p, true), 0);
}

static void test_bad_l1_l2_entries_fail_the_request(void)
{
	const char *p = fresh(4u << 20);
	struct blk_image *img;
	unsigned char *b = abuf(131072);
	memset(b, 0x61, 131072);
	CU_ASSERT_FATAL(open_q(&img, p, false, BLK_ENGINE_SYNC, BLK_CACHE_WRITEBACK) == 0);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_WRITE, 0, b, 131072, 0), 131072);
	blk_image_close(img);
	uint64_t l1_off = peek(p, 40);
	uint64_t l2 = peek(p, l1_off) & 0x00fffffffffffe00ull;
	CU_ASSERT_FATAL(l2 != 0);
	poke(p, l2, 8, (1ull << 63) | (1ull << 45));          /* entry 0 far outside the file */
	poke(p, l2 + 8, 8, (1ull << 63) | peek(p, 48));        /* entry 1 onto the refcount table */
	CU_ASSERT_FATAL(open_q(&img, p, false, BLK_ENGINE_URING, BLK_CACHE_WRITEBACK) == 0);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_READ, 0, b, 4096, 0), -EIO);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_READ, 65536, b, 4096, 0), -EIO);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_WRITE, 65536, b, 4096, 0), -EIO);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_READ, 1u << 20, b, 4096, 0), 4096); /* still serving */
	blk_image_close(img);
	struct blk_check_result r;
	CU_ASSERT_EQUAL(blk_qcow2_check(p, &r), 0);
	CU_ASSERT(r.corruptions > 0);
	/* L1 entry pointing at the header cluster. */
	p = fresh(4u << 20);
	poke(p, peek(p, 40), 8, (1ull << 63) | 0);
	poke(p, peek(p, 40), 8, (1ull << 63) | 512);
	CU_ASSERT_FATAL(open_q(&img, p, false, BLK_ENGINE_SYNC, BLK_CACHE_WRITEBACK) == 0);
	CU_ASSERT_EQUAL(blk_image_io(img, BLK_OP_READ, 0, b, 4096, 0), -EIO);
	blk_image_close(img);
	free(b);
}

static void test_backing_loops_refused(void)
{
	const char *a = tpath("loop_a.qcow2"), *bb = tpath("loop_b.qcow2"), *s = tpath("self.qcow2");
	unlink(a); unlink(bb); unlink(s);
	CU_ASSERT_FATAL(blk_qcow2_create(s, 1u << 20, 65536, 3, "self.qcow2", "qcow2") == 0);
	CU_ASSERT_EQUAL(try_open(s, true), -ELOOP);
	CU_ASSERT_FATAL(blk_qcow2_create(a, 1u << 20, 65536, 3, "loop_b.qcow2", "qcow2") == 0);
	CU_ASSERT_FATAL(blk_qcow2_create(bb, 1u << 20, 65536, 3, "loop_a.qcow2", "qcow2") == 0);
	CU_ASSERT_EQUAL(try_open(a, true), -ELOOP);
	CU_ASSERT_EQUAL(try_open(tpath("missing.qcow2"), true), -ENOENT);
}

static void test_refcount_table_entry_outside_file_refused(void)
{
	const char *p = fresh(1u << 20);
	poke(p, peek(p, 48), 8, 1ull << 40);
	CU_ASSERT_EQUAL(try_open(p, true), -EINVAL);
}

static void test_refcount_overflow_detected_by_check(void)
{
	const char *p = fresh(1u << 20);
	/* Header cluster's refcount: 0 while referenced = corruption. */
	uint64_t rb = peek(p, peek(p, 48));
	poke(p, rb, 2, 0);
	struct blk_check_result r;
	CU_ASSERT_EQUAL(blk_qcow2_check(p, &r), 0);
	CU_ASSERT(r.corruptions >= 1);
	poke(p, rb, 2, 0xffff); /* saturated: a leak, not corruption */
	CU_ASSERT_EQUAL(blk_qcow2_check(p, &r), 0);
	CU_ASSERT_EQUAL(r.corruptions, 0);
	CU_ASSERT(r.leaks >= 1);
}

int main(void)
{
	CU_pSuite s;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("qcow2", suite_init, suite_clean);
#define T(f) CU_add_test(s, #f, f)
	T(test_roundtrip_v3_64k_uring_none);
	T(test_roundtrip_v3_4k_aio_none);
	T(test_roundtrip_v2_64k_sync_writeback);
	T(test_roundtrip_v3_2m_uring_writeback);
	T(test_roundtrip_v2_512k_uring_unsafe);
	T(test_backing_chain_depth3_cow_never_writes_backing);
	T(test_zeroes_and_discard_hide_backing_data);
	T(test_discarded_clusters_freed_and_reused);
	T(test_allocated_random_reads_cost_no_metadata_reads);
	T(test_many_segment_writes_allocate_correctly);
	T(test_concurrent_allocating_writes_uring);
	T(test_concurrent_allocating_writes_aio);
	T(test_concurrent_allocating_writes_sync);
	T(test_write_into_cluster_being_allocated_waits);
	T(test_partial_writes_over_raw_backing_merge_uring);
	T(test_partial_writes_over_qcow2_backing_merge_aio);
	T(test_partial_writes_over_raw_backing_merge_sync);
	T(test_small_write_into_empty_cluster_reads_zeros_around);
	T(test_bad_headers_refused);
	T(test_corrupt_bit_refuses_rw_allows_ro);
	T(test_bad_l1_l2_entries_fail_the_request);
	T(test_backing_loops_refused);
	T(test_refcount_table_entry_outside_file_refused);
	T(test_refcount_overflow_detected_by_check);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
