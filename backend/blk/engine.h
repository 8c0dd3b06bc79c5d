/* SPDX-License-Identifier: MIT */
/* Internal to backend/blk: helpers shared by the engines. */
#ifndef BLK_ENGINE_H
#define BLK_ENGINE_H

#include "blk.h"

extern const struct blk_engine_ops blk_engine_uring_ops;
extern const struct blk_engine_ops blk_engine_aio_ops;
extern const struct blk_engine_ops blk_engine_sync_ops;

/* Runs one request synchronously on fd (the sync engine's worker body and
 * the other engines' fallback).  Returns bytes or -errno. */
int64_t blk_exec_sync(int fd, const struct blk_req *r, enum blk_cache cache);
/* discard: punch a hole; write-zeroes: zero-range, else punch, else write zeros. */
int blk_exec_discard(int fd, uint64_t off, uint64_t len);
int blk_exec_write_zeroes(int fd, uint64_t off, uint64_t len);
uint64_t blk_iov_bytes(const struct iovec *iov, int iovcnt);
void blk_eventfd_signal(int efd);

#endif
