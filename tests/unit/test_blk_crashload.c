/* SPDX-License-Identifier: MIT */
/* Crash-test helper for tests/integration/qcow2_crash.sh (not a unit test).
 *
 *   blk_crashload stress IMG LOG RUN CACHE    random 4 KiB-block writes, queue depth 8, a flush
 *                                             every few batches; after each flush returns, the
 *                                             flushed writes are appended to LOG.  Runs until killed.
 *   blk_crashload verify IMG LOG              every block holds its last flushed write or a later
 *                                             one (never older data, never garbage).
 * Each block is stamped with (magic, block number, sequence) and a body derived from them. */
#include "blk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BS 4096u
#define MAGIC 0x70766b766d626c6bull

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void stamp(unsigned char *b, uint64_t blk, uint64_t seq)
{
	uint64_t h[3] = { MAGIC, blk, seq }, s = blk * 0x9e3779b97f4a7c15ull + seq + 1;
	memcpy(b, h, sizeof(h));
	for (unsigned i = sizeof(h); i < BS; i += 8) {
		uint64_t v = rnd(&s);
		memcpy(b + i, &v, 8);
	}
}

static int open_img(struct blk_image **img, const char *p, bool ro, enum blk_cache c)
{
	struct blk_image_opts o = { .path = p, .engine = ro ? BLK_ENGINE_SYNC : BLK_ENGINE_URING,
				    .cache = c, .readonly = ro, .queue_depth = 16 };
	return blk_image_open(img, &o);
}

static int stress(const char *img_path, const char *log_path, uint64_t seed, enum blk_cache c)
{
	struct blk_image *img;
	unsigned char *buf;
	int log = open(log_path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (log < 0 || open_img(&img, img_path, false, c) < 0)
		return 2;
	/* Sequence numbers grow across runs (run N starts at N * 10^9) so the
	 * log of every run can be checked against the final image. */
	uint64_t nblk = blk_image_size(img) / BS, seq = seed * 1000000000ull + 1;
	seed = seed * 7919 + 1;
	if (posix_memalign((void **)&buf, 4096, 8 * 16 * BS))
		return 2;
	char pending[8192];
	size_t plen = 0;
	for (unsigned batch = 0;; batch++) {
		struct blk_req q[8];
		struct iovec v[8];
		uint64_t lo[8], n[8];
		unsigned k = 0;
		for (unsigned i = 0; i < 8; i++) {
			uint64_t cnt = 1 + rnd(&seed) % 16, st = rnd(&seed) % (nblk - cnt);
			bool clash = false;
			for (unsigned j = 0; j < k; j++)
				clash |= st < lo[j] + n[j] && st + cnt > lo[j];
			if (clash)
				continue;
			for (uint64_t b = 0; b < cnt; b++)
				stamp(buf + (k * 16 + b) * BS, st + b, seq);
			lo[k] = st;
			n[k] = cnt;
			v[k] = (struct iovec){ buf + k * 16 * BS, cnt * BS };
			q[k] = (struct blk_req){ .op = BLK_OP_WRITE, .offset = st * BS, .iov = &v[k], .iovcnt = 1 };
			plen += (size_t)snprintf(pending + plen, sizeof(pending) - plen, "%llu %llu %llu\n",
					 (unsigned long long)st, (unsigned long long)cnt, (unsigned long long)seq);
			seq++;
			k++;
		}
		if (blk_image_submit(img, q, k) != (int)k)
			return 2;
		for (unsigned got = 0; got < k;) {
			struct blk_completion cp[8];
			int r = blk_image_reap(img, cp, 8, true);
			if (r <= 0)
				return 2;
			for (int i = 0; i < r; i++) {
				if (cp[i].result < 0) {
					fprintf(stderr, "write failed: %s\n", strerror((int)-cp[i].result));
					return 2;
				}
			}
			got += (unsigned)r;
		}
		if (batch % 4 == 3 || plen > sizeof(pending) - 1024) {
			if (blk_image_io(img, BLK_OP_FLUSH, 0, NULL, 0, 0) != 0)
				return 2;
			/* Only now are these writes promised durable. */
			if (write(log, pending, plen) != (ssize_t)plen)
				return 2;
			plen = 0;
		}
	}
}

static int verify(const char *img_path, const char *log_path)
{
	struct blk_image *img;
	unsigned char *b, *want;
	FILE *f = fopen(log_path, "r");
	if (open_img(&img, img_path, true, BLK_CACHE_WRITEBACK) < 0)
		return 2;
	uint64_t nblk = blk_image_size(img) / BS, st, cnt, seq, bad = 0, checked = 0;
	uint64_t *last = calloc(nblk, sizeof(uint64_t));
	if (!last || posix_memalign((void **)&b, 4096, BS) || posix_memalign((void **)&want, 4096, BS))
		return 2;
	while (f && fscanf(f, "%lu %lu %lu", &st, &cnt, &seq) == 3)
		for (uint64_t i = st; i < st + cnt && i < nblk; i++)
			last[i] = seq;
	for (uint64_t i = 0; i < nblk; i++) {
		uint64_t h[3];
		if (blk_image_io(img, BLK_OP_READ, i * BS, b, BS, 0) != BS) {
			bad++;
			continue;
		}
		memcpy(h, b, sizeof(h));
		if (h[0] == MAGIC) {
			stamp(want, i, h[2]);
			if (h[1] != i || h[2] < last[i] || memcmp(b, want, BS)) {
				if (bad++ < 5)
					fprintf(stderr, "block %lu: holds seq %lu of block %lu, flushed seq %lu\n",
						i, h[2], h[1], last[i]);
			}
		} else {
			bool zero = true;
			for (unsigned k = 0; k < BS; k++)
				zero &= !b[k];
			if (!zero || last[i]) {
				if (bad++ < 5)
					fprintf(stderr, "block %lu: %s, flushed seq %lu\n", i,
						zero ? "zeros" : "garbage", last[i]);
			}
		}
		checked += last[i] != 0;
	}
	printf("verified %lu blocks (%lu with flushed writes), %lu bad\n", nblk, checked, bad);
	blk_image_close(img);
	free(last);
	free(b);
	free(want);
	if (f)
		fclose(f);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	enum blk_cache c = BLK_CACHE_NONE;
	if (argc == 6 && !strcmp(argv[1], "stress") && !blk_cache_parse(argv[5], &c))
		return stress(argv[2], argv[3], strtoull(argv[4], NULL, 0), c);
	if (argc == 4 && !strcmp(argv[1], "verify"))
		return verify(argv[2], argv[3]);
	fprintf(stderr, "usage: blk_crashload stress IMG LOG SEED CACHE | verify IMG LOG\n");
	return 1;
}
