/* SPDX-License-Identifier: MIT */
/*
 * test=blkop: one block request, for checks made from the host side.
 *   op=read|write|flush|discard|zeroes offset=BYTES len=BYTES seed=1 dev=NAME
 * write fills the range with the load generator's pattern (mini/blkdev.h);
 * read checks it; discard and zeroes send the range as it is.  Exit 0 when
 * the device completed the request OK (and a read verified).
 */
#include "mini/blkdev.h"

static int blkop_parse(struct mini_blk_req *req, const char **name)
{
	static const struct { const char *name; uint8_t op; } ops[] = {
		{ "read", MINI_BLK_READ }, { "write", MINI_BLK_WRITE }, { "flush", MINI_BLK_FLUSH },
		{ "discard", MINI_BLK_DISCARD }, { "zeroes", MINI_BLK_WRITE_ZEROES },
	};
	uint64_t off = mini_opt_u64("offset", 0), len = mini_opt_u64("len", 4096);

	*name = mini_opt_str("op", "");
	for (unsigned i = 0; i < MINI_ARRAY_SIZE(ops); i++) {
		if (!strcmp(ops[i].name, *name)) {
			if (off % 512 || len > UINT32_MAX) {
				printf("blkop: offset must be a multiple of 512 and len < 4 GiB\n");
				return -1;
			}
			*req = (struct mini_blk_req){ .op = ops[i].op, .sector = off / 512,
						      .len_bytes = ops[i].op == MINI_BLK_FLUSH ? 0 : (uint32_t)len };
			return 0;
		}
	}
	printf("blkop: op=%s: want read, write, flush, discard or zeroes\n", *name);
	return -1;
}

static int blkop_main(const char *arg)
{
	struct mini_blkdev **devs, *d = NULL;
	unsigned n = mini_blk_probe_all(&devs);
	const char *want = mini_opt_str("dev", NULL), *name;
	uint64_t seed = mini_opt_u64("seed", 1), t0;
	struct mini_blk_req req;
	uint8_t *buf = NULL;
	int rc;

	(void)arg;
	for (unsigned i = 0; i < n && !d; i++)
		if (!want || !strcmp(devs[i]->name, want))
			d = devs[i];
	if (!d) {
		printf("blkop: no block device found\n");
		return MINI_EXIT_NODEV;
	}
	if (blkop_parse(&req, &name))
		return MINI_EXIT_USAGE;
	if (req.op == MINI_BLK_READ || req.op == MINI_BLK_WRITE) {
		buf = mini_pages_alloc((req.len_bytes + MINI_PAGE_SIZE - 1) / MINI_PAGE_SIZE);
		if (!buf)
			return MINI_EXIT_FAIL;
		req.buf_phys = (uintptr_t)buf;
		if (req.op == MINI_BLK_WRITE)
			mini_blk_pattern_fill(buf, req.sector, req.len_bytes / 512, seed);
	}
	t0 = mini_rdtsc();
	rc = mini_blk_sync(d, &req, 30000);
	printf("blkop: %s op=%s offset=%lu len=%u status=%d in %lu us\n", d->name, name,
	       (unsigned long)(req.sector * 512), req.len_bytes, rc,
	       (unsigned long)(mini_cycles_to_ns(mini_rdtsc() - t0) / 1000));
	if (!rc && req.op == MINI_BLK_READ &&
	    mini_blk_pattern_check(buf, req.sector, req.len_bytes / 512, seed, true))
		rc = MINI_BLK_EIO;
	return rc ? MINI_EXIT_FAIL : MINI_EXIT_OK;
}
MINI_PROGRAM(blkop, "blkop", "one request: op=read|write|flush|discard|zeroes offset= len= seed=", blkop_main);
