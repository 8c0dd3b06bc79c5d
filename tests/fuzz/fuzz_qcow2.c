/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the input is a qcow2 file.  Opens it read-only and reads
 * a few ranges, then read-write (sync engine) and writes, zeroes, discards,
 * flushes, and finally runs the consistency check.  Anything but a clean
 * refusal or -errno result is a bug (ASan/UBSan make it visible). */
#include "image.h"
#include "pv_log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256], path[300];
static unsigned char *buf;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/fuzz_qcow2-XXXXXX", t ? t : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/img.qcow2", dir);
	if (posix_memalign((void **)&buf, 4096, 1 << 17))
		abort();
	pv_log_use_syslog("fuzz_qcow2"); /* refusals are expected: keep stderr for ASan */
	return 0;
}

static void read_some(struct blk_image *img)
{
	uint64_t sz = blk_image_size(img);
	uint64_t offs[4] = { 0, sz / 2, sz > 8192 ? sz - 8192 : 0, 65536 };
	for (int i = 0; i < 4; i++)
		if (offs[i] < sz)
			blk_image_read_sync(img, offs[i] & ~511ull, buf, 8192);
}

static void write_some(void)
{
	struct blk_image *img;
	struct blk_image_opts o = { .path = path, .format = BLK_FMT_QCOW2, .engine = BLK_ENGINE_SYNC,
				    .cache = BLK_CACHE_UNSAFE, .queue_depth = 4 };
	if (blk_image_open(&img, &o) < 0)
		return;
	uint64_t sz = blk_image_size(img);
	memset(buf, 0xa5, 1 << 17);
	blk_image_io(img, BLK_OP_WRITE, 0, buf, 4096, 0);
	if (sz > (1u << 17))
		blk_image_io(img, BLK_OP_WRITE, (sz / 2) & ~4095ull, buf, 1 << 17, 0);
	blk_image_io(img, BLK_OP_READ, 0, buf, 8192, 0);
	blk_image_io(img, BLK_OP_WRITE_ZEROES, 512, NULL, 1024, 0);
	blk_image_io(img, BLK_OP_DISCARD, 0, NULL, sz < (1u << 20) ? sz & ~511ull : 1u << 20, 0);
	blk_image_io(img, BLK_OP_FLUSH, 0, NULL, 0, 0);
	blk_image_close(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blk_image *img;
	struct blk_check_result r;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (blk_image_open_nested(&img, path, BLK_FMT_QCOW2, NULL) == 0) {
		read_some(img);
		blk_image_close(img);
		write_some();
		blk_qcow2_check(path, &r);
	}
	return 0;
}
