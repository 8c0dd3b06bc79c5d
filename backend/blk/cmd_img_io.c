/* SPDX-License-Identifier: MIT */
/* `pvkvm img io`: a qemu-io-like driver of the block layer, for tests and for
 * poking at an image by hand.  Each command is one argument string. */
#include "blk.h"
#include "pv_command.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int blk_cmd_img_io(int argc, char **argv);

static int io_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	unsigned sh = 0;
	if (end == s)
		return -EINVAL;
	if (*end == 'k' || *end == 'K') sh = 10;
	else if (*end == 'm' || *end == 'M') sh = 20;
	else if (*end == 'g' || *end == 'G') sh = 30;
	else if (*end)
		return -EINVAL;
	*out = (uint64_t)v << sh;
	return 0;
}

/* One command: "write|read [-P BYTE] OFF LEN", "dump OFF LEN" (to stdout),
 * "discard|zero OFF LEN", "flush". */
static int io_one(struct blk_image *img, char *cmd, void *buf, uint64_t chunk)
{
	char *tok[6];
	int n = 0, pat = -1;
	for (char *t = strtok(cmd, " "); t && n < 6; t = strtok(NULL, " "))
		tok[n++] = t;
	if (!n)
		return 0;
	if (!strcmp(tok[0], "flush"))
		return blk_image_io(img, BLK_OP_FLUSH, 0, NULL, 0, 0) < 0 ? -EIO : 0;
	int i = 1;
	if (n > 2 && !strcmp(tok[1], "-P")) {
		pat = (int)strtol(tok[2], NULL, 0) & 0xff;
		i = 3;
	}
	uint64_t off, len;
	if (n - i != 2 || io_size(tok[i], &off) < 0 || io_size(tok[i + 1], &len) < 0)
		return -EINVAL;
	bool dump = !strcmp(tok[0], "dump");
	unsigned op = !strcmp(tok[0], "write") ? BLK_OP_WRITE : (!strcmp(tok[0], "read") || dump) ? BLK_OP_READ
		: !strcmp(tok[0], "discard") ? BLK_OP_DISCARD : !strcmp(tok[0], "zero") ? BLK_OP_WRITE_ZEROES
		: BLK_OP_COUNT;
	if (op == BLK_OP_COUNT)
		return -EINVAL;
	if (op == BLK_OP_DISCARD || op == BLK_OP_WRITE_ZEROES) {
		int64_t r = blk_image_io(img, op, off, NULL, len, 0);
		return r < 0 ? (int)r : 0;
	}
	for (uint64_t done = 0; done < len;) {
		uint64_t m = len - done < chunk ? len - done : chunk;
		if (op == BLK_OP_WRITE)
			memset(buf, pat < 0 ? 0xcd : pat, m);
		int64_t r = blk_image_io(img, op, off + done, buf, m, 0);
		if (r < 0)
			return (int)r;
		if (dump && fwrite(buf, 1, m, stdout) != m)
			return -EIO;
		if (op == BLK_OP_READ && pat >= 0) {
			for (uint64_t k = 0; k < m; k++) {
				if (((unsigned char *)buf)[k] != pat) {
					fprintf(stderr, "pvkvm img io: mismatch at %llu: 0x%02x, expected 0x%02x\n",
						(unsigned long long)(off + done + k), ((unsigned char *)buf)[k], pat);
					return -EILSEQ;
				}
			}
		}
		done += m;
	}
	return 0;
}

int blk_cmd_img_io(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "engine", required_argument, NULL, 'e' }, { "cache", required_argument, NULL, 'c' },
		{ "sector-size", required_argument, NULL, 's' }, { NULL, 0, NULL, 0 } };
	struct blk_image_opts o = { .format = BLK_FMT_AUTO, .engine = BLK_ENGINE_SYNC,
				    .cache = BLK_CACHE_WRITEBACK };
	struct blk_image *img;
	int c, rc = 0;
	void *buf;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:", lo, NULL)) != -1) {
		if (c == 'f' && !strcmp(optarg, "raw"))
			o.format = BLK_FMT_RAW;
		else if (c == 'f' && !strcmp(optarg, "qcow2"))
			o.format = BLK_FMT_QCOW2;
		else if (c == 'e' && !blk_engine_parse(optarg, &o.engine))
			;
		else if (c == 'c' && !blk_cache_parse(optarg, &o.cache))
			;
		else if (c == 's')
			o.sector_size = (unsigned)strtoul(optarg, NULL, 0);
		else {
			fprintf(stderr, "pvkvm img io: bad option (see pvkvm img --help)\n");
			return PV_EXIT_USER;
		}
	}
	if (argc - optind < 1) {
		fprintf(stderr, "pvkvm img io: no image given\n");
		return PV_EXIT_USER;
	}
	o.path = argv[optind++];
	if ((rc = blk_image_open(&img, &o)) < 0) {
		fprintf(stderr, "pvkvm img io: %s: %s\n", o.path, strerror(-rc));
		return PV_EXIT_USER;
	}
	const uint64_t chunk = 1u << 20;
	if (posix_memalign(&buf, 4096, chunk)) {
		blk_image_close(img);
		return PV_EXIT_HOST;
	}
	for (; optind < argc && !rc; optind++) {
		char *cmd = strdup(argv[optind]);
		rc = cmd ? io_one(img, cmd, buf, chunk) : -ENOMEM;
		if (rc < 0 && rc != -EILSEQ)
			fprintf(stderr, "pvkvm img io: '%s': %s\n", argv[optind], strerror(-rc));
		free(cmd);
	}
	free(buf);
	blk_image_close(img);
	return rc ? PV_EXIT_USER : PV_EXIT_OK;
}
