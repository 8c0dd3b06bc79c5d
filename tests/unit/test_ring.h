/* SPDX-License-Identifier: MIT */
/* Shared by the ring unit test files: the test ring type and the suites. */
#ifndef TEST_RING_H
#define TEST_RING_H

#include <pvkvm/ring.h>
#include "cunit_main.h"

struct tst_req {
	uint32_t seq;
	uint32_t payload;
};

struct tst_rsp {
	uint32_t seq;
	uint32_t status;
};

PVKVM_RING_DEFINE(tst, struct tst_req, struct tst_rsp);

/* A ring of TST_NR entries in private memory, aligned like a page. */
#define TST_NR 8u
union tst_mem {
	struct ring_shared sh;
	unsigned char bytes[RING_HDR_BYTES + TST_NR * sizeof(union tst_ring_entry)];
	uint64_t align;
};

void ring_test_add_concurrency(void);

#endif
