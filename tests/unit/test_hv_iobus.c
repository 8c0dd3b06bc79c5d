/* SPDX-License-Identifier: MIT */
/* hv/iobus.c: range bookkeeping and dispatch, no KVM needed. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "iobus.h"
#include "test_hv.h"
#include "cunit_main.h"

struct rec {
	unsigned calls;
	uint64_t last_off;
	uint32_t last_val;
};

static void rec_io(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	struct rec *r = opaque;

	__atomic_add_fetch(&r->calls, 1, __ATOMIC_RELAXED);
	r->last_off = off;
	if (is_write)
		memcpy(&r->last_val, data, len < 4 ? len : 4);
	else
		memset(data, 0x5a, len);
}

static void test_iobus_rejects_overlap_accepts_adjacent(void)
{
	struct hv_iobus bus;
	struct rec r = { 0 };

	CU_ASSERT_EQUAL(hv_iobus_init(&bus), 0);
	CU_ASSERT_EQUAL(hv_io_register(&bus, 0x100, 0x10, rec_io, &r), 0);
	CU_ASSERT_EQUAL(hv_io_register(&bus, 0x108, 0x10, rec_io, &r), -EEXIST);
	CU_ASSERT_EQUAL(hv_io_register(&bus, 0xf8, 0x10, rec_io, &r), -EEXIST);
	CU_ASSERT_EQUAL(hv_io_register(&bus, 0x0, 0x1000, rec_io, &r), -EEXIST);
	CU_ASSERT_EQUAL(hv_io_register(&bus, 0x110, 0x10, rec_io, &r), 0);
	CU_ASSERT_EQUAL(hv_io_register(&bus, 0xf0, 0x10, rec_io, &r), 0);
	CU_ASSERT_EQUAL(hv_io_register(&bus, 0x200, 0, rec_io, &r), -EINVAL);
	CU_ASSERT_EQUAL(hv_io_register(&bus, UINT64_MAX - 1, 4, rec_io, &r), -EINVAL);
	CU_ASSERT_EQUAL(hv_io_register(&bus, UINT64_MAX, 1, rec_io, &r), 0);
	CU_ASSERT_EQUAL(bus.nr, 4u);
	hv_iobus_destroy(&bus);
}

static void test_iobus_dispatch_offset_and_miss_reads_ones(void)
{
	struct hv_iobus bus;
	struct rec r = { 0 };
	uint32_t v = 0xcafe;

	hv_iobus_init(&bus);
	hv_io_register(&bus, 0x3f8, 8, rec_io, &r);
	CU_ASSERT_TRUE(hv_io_dispatch(&bus, 0x3fd, &v, 1, true));
	CU_ASSERT_EQUAL(r.last_off, 5u);
	CU_ASSERT_EQUAL(r.last_val & 0xff, 0xfe);
	CU_ASSERT_TRUE(hv_io_dispatch(&bus, 0x3f8, &v, 4, false));
	CU_ASSERT_EQUAL(v, 0x5a5a5a5au);
	v = 0;
	CU_ASSERT_FALSE(hv_io_dispatch(&bus, 0x400, &v, 2, false));
	CU_ASSERT_EQUAL(v, 0xffffu);
	CU_ASSERT_FALSE(hv_io_dispatch(&bus, 0x3f7, &v, 1, true));
	CU_ASSERT_EQUAL(r.calls, 2u);
	hv_iobus_destroy(&bus);
}

static void test_iobus_unregister_removes_range(void)
{
	struct hv_iobus bus;
	struct rec r = { 0 };
	uint8_t b;

	hv_iobus_init(&bus);
	hv_io_register(&bus, 0x10, 4, rec_io, &r);
	hv_io_register(&bus, 0x20, 4, rec_io, &r);
	CU_ASSERT_EQUAL(hv_io_unregister(&bus, 0x12), -ENOENT);
	CU_ASSERT_EQUAL(hv_io_unregister(&bus, 0x10), 0);
	CU_ASSERT_EQUAL(hv_io_unregister(&bus, 0x10), -ENOENT);
	CU_ASSERT_FALSE(hv_io_dispatch(&bus, 0x10, &b, 1, false));
	CU_ASSERT_TRUE(hv_io_dispatch(&bus, 0x21, &b, 1, false));
	CU_ASSERT_EQUAL(hv_io_register(&bus, 0x10, 0x10, rec_io, &r), 0);
	hv_iobus_destroy(&bus);
}

struct conc {
	struct hv_iobus *bus;
	struct rec *fixed;
	unsigned iters;
	unsigned hits;
};

static void *conc_dispatch(void *arg)
{
	struct conc *c = arg;
	uint32_t v = 1;

	for (unsigned i = 0; i < c->iters; i++)
		if (hv_io_dispatch(c->bus, 0x1000 + (i & 7), &v, 4, true))
			c->hits++;
	return NULL;
}

static void *conc_churn(void *arg)
{
	struct conc *c = arg;
	struct rec other = { 0 };

	for (unsigned i = 0; i < c->iters / 4; i++) {
		uint64_t base = 0x2000 + (i % 64) * 0x10;

		hv_io_register(c->bus, base, 0x10, rec_io, &other);
		hv_io_unregister(c->bus, base);
	}
	return NULL;
}

/* Ranges come and go (a guest moving BARs) while vCPUs dispatch: no
 * dispatch to the stable range may be lost. */
static void test_iobus_concurrent_dispatch_while_registering(void)
{
	struct hv_iobus bus;
	struct rec fixed = { 0 };
	struct conc c[4];
	pthread_t t[4];

	hv_iobus_init(&bus);
	hv_io_register(&bus, 0x1000, 8, rec_io, &fixed);
	for (int i = 0; i < 4; i++) {
		c[i] = (struct conc){ .bus = &bus, .fixed = &fixed, .iters = 20000 };
		pthread_create(&t[i], NULL, i == 3 ? conc_churn : conc_dispatch, &c[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT_EQUAL(c[0].hits + c[1].hits + c[2].hits, 60000u);
	CU_ASSERT_EQUAL(fixed.calls, 60000u);
	CU_ASSERT_EQUAL(bus.nr, 1u);
	hv_iobus_destroy(&bus);
}

static const struct cunit_test hv_iobus_tests[] = {
	CUNIT_TEST(test_iobus_rejects_overlap_accepts_adjacent),
	CUNIT_TEST(test_iobus_dispatch_offset_and_miss_reads_ones),
	CUNIT_TEST(test_iobus_unregister_removes_range),
	CUNIT_TEST(test_iobus_concurrent_dispatch_while_registering),
};

void test_hv_iobus_add(void)
{
	CUNIT_SUITE("hv_iobus", NULL, NULL, hv_iobus_tests);
}
