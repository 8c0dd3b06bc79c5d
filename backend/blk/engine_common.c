/* SPDX-License-Identifier: MIT */
/* Engine lookup, parsing, and the synchronous request body every engine
 * falls back to (discard and write-zeroes via fallocate, flush via fdatasync). */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <sys/uio.h>

const struct blk_engine_ops *blk_engine_get(enum blk_engine_kind kind)
{
	switch (kind) {
	case BLK_ENGINE_URING: return &blk_engine_uring_ops;
	case BLK_ENGINE_AIO: return &blk_engine_aio_ops;
	case BLK_ENGINE_SYNC: return &blk_engine_sync_ops;
	}
	return NULL;
}

int blk_engine_parse(const char *name, enum blk_engine_kind *out)
{
	if (!strcmp(name, "io_uring") || !strcmp(name, "uring"))
		*out = BLK_ENGINE_URING;
	else if (!strcmp(name, "libaio") || !strcmp(name, "aio") || !strcmp(name, "native"))
		*out = BLK_ENGINE_AIO;
	else if (!strcmp(name, "sync") || !strcmp(name, "threads"))
		*out = BLK_ENGINE_SYNC;
	else
		return -EINVAL;
	return 0;
}

int blk_cache_parse(const char *name, enum blk_cache *out)
{
	if (!strcmp(name, "none") || !strcmp(name, "directsync"))
		*out = BLK_CACHE_NONE;
	else if (!strcmp(name, "writeback"))
		*out = BLK_CACHE_WRITEBACK;
	else if (!strcmp(name, "unsafe"))
		*out = BLK_CACHE_UNSAFE;
	else
		return -EINVAL;
	return 0;
}

const char *blk_op_name(unsigned op)
{
	static const char *const names[BLK_OP_COUNT] = {
		"read", "write", "flush", "discard", "write-zeroes" };
	return op < BLK_OP_COUNT ? names[op] : "?";
}

uint64_t blk_iov_bytes(const struct iovec *iov, int iovcnt)
{
	uint64_t n = 0;
	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

void blk_eventfd_signal(int efd)
{
	uint64_t one = 1;
	if (efd >= 0 && write(efd, &one, sizeof(one)) < 0) {
		/* EAGAIN means the counter is saturated: still signalled. */
	}
}

int blk_exec_discard(int fd, uint64_t off, uint64_t len)
{
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
		return errno == EOPNOTSUPP ? 0 : -errno; /* discard is advisory */
	return 0;
}

static int write_zeros_slow(int fd, uint64_t off, uint64_t len)
{
	const size_t chunk = 1 << 20;
	void *buf;
	int rc = 0;

	/* Aligned so it also works on an O_DIRECT descriptor. */
	if (posix_memalign(&buf, 4096, chunk))
		return -ENOMEM;
	memset(buf, 0, chunk);
	while (len) {
		size_t n = len < chunk ? (size_t)len : chunk;
		ssize_t w = pwrite(fd, buf, n, (off_t)off);
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			break;
		}
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	free(buf);
	return rc;
}

int blk_exec_write_zeroes(int fd, uint64_t off, uint64_t len)
{
	if (!fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
		return 0;
	if (errno != EOPNOTSUPP && errno != EINVAL)
		return -errno;
	/* A punched hole reads as zeros too. */
	if (!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
		return 0;
	return write_zeros_slow(fd, off, len);
}

static int64_t rw_loop(int fd, const struct blk_req *r, int rwflags)
{
	struct iovec iov[64];
	const struct iovec *v = r->iov;
	int cnt = r->iovcnt;
	uint64_t done = 0, total = blk_iov_bytes(r->iov, r->iovcnt);

	if (r->op == BLK_OP_READ) {
		ssize_t n = preadv(fd, v, cnt, (off_t)r->offset);
		if (n < 0)
			return -errno;
		if ((uint64_t)n == total)
			return n;
		done = (uint64_t)n;
	} else {
		ssize_t n = pwritev2(fd, v, cnt, (off_t)r->offset, rwflags);
		if (n < 0)
			return -errno;
		if ((uint64_t)n == total)
			return n;
		done = (uint64_t)n;
	}
	/* Short transfer: continue segment by segment (rare; keeps the fast path simple). */
	if (cnt > 64)
		return -EIO;
	memcpy(iov, v, sizeof(iov[0]) * (size_t)cnt);
	while (done < total) {
		uint64_t skip = done;
		int i = 0;
		while (skip >= iov[i].iov_len)
			skip -= iov[i++].iov_len;
		struct iovec one = { (char *)iov[i].iov_base + skip, iov[i].iov_len - skip };
		ssize_t n = r->op == BLK_OP_READ ? preadv(fd, &one, 1, (off_t)(r->offset + done))
			: pwritev2(fd, &one, 1, (off_t)(r->offset + done), rwflags);
		if (n < 0)
			return -errno;
		if (n == 0) {
			if (r->op == BLK_OP_WRITE)
				return -EIO;
			/* Past the end of the file: the rest reads as zeros. */
			for (int k = i; k < cnt; k++) {
				memset((char *)iov[k].iov_base + (k == i ? skip : 0), 0,
				       iov[k].iov_len - (k == i ? skip : 0));
			}
			return (int64_t)total;
		}
		done += (uint64_t)n;
	}
	return (int64_t)done;
}

int64_t blk_exec_sync(int fd, const struct blk_req *r, enum blk_cache cache)
{
	switch (r->op) {
	case BLK_OP_READ:
		return rw_loop(fd, r, 0);
	case BLK_OP_WRITE:
		return rw_loop(fd, r, (r->flags & BLK_REQ_FUA) && cache != BLK_CACHE_UNSAFE ? RWF_DSYNC : 0);
	case BLK_OP_FLUSH:
		if (cache == BLK_CACHE_UNSAFE)
			return 0;
		return fdatasync(fd) < 0 ? -errno : 0;
	case BLK_OP_DISCARD:
		return blk_exec_discard(fd, r->offset, r->len_bytes);
	case BLK_OP_WRITE_ZEROES:
		return blk_exec_write_zeroes(fd, r->offset, r->len_bytes);
	}
	return -EINVAL;
}
