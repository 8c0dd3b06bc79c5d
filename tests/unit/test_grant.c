/* SPDX-License-Identifier: MIT */
/* Grants end to end: frontend core grants, VMM registry, backend checks. */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "pvback.h"
#include "cunit_main.h"

static struct harness_guest *g;
static struct pvback_dom *be;

static void setup(uint32_t frames)
{
	CU_ASSERT_FATAL(harness_guest_new(&g, 8 << 20, 2) == 0);
	CU_ASSERT_FATAL(pvfront_gnt_setup(&g->front, frames) == 0);
	CU_ASSERT_FATAL(pvback_attach(&be, g->ctl_path, "vbd/51712") == 0);
}

static void teardown(void)
{
	pvback_detach(be);
	harness_guest_free(g);
	be = NULL;
	g = NULL;
}

static uint64_t page_gfn(void *p)
{
	return harness_gpa(g, p) >> 12;
}

static void test_backend_maps_valid_grant_and_sees_guest_data(void)
{
	uint8_t *page;
	void *bp;
	uint32_t ref;

	setup(1);
	page = harness_alloc_page(g);
	memcpy(page, "hello", 6);
	CU_ASSERT_FATAL(pvfront_gnt_grant(&g->front, 0, page_gfn(page), false, &ref) == 0);
	CU_ASSERT_FATAL(pvback_gnt_map(be, ref, true, &bp) == 0);
	CU_ASSERT_STRING_EQUAL(bp, "hello");
	memcpy(bp, "world", 6);
	CU_ASSERT_STRING_EQUAL((char *)page, "world");
	CU_ASSERT(pvfront_gnt_in_use(&g->front, ref));
	pvback_gnt_unmap(be, ref);
	CU_ASSERT(!pvfront_gnt_in_use(&g->front, ref));
	teardown();
}

static void test_backend_refuses_wrong_domid(void)
{
	void *bp;
	uint32_t ref;

	setup(1);
	CU_ASSERT_FATAL(pvfront_gnt_grant(&g->front, 7, page_gfn(harness_alloc_page(g)), false, &ref) == 0);
	CU_ASSERT_EQUAL(pvback_gnt_map(be, ref, false, &bp), -EPERM);
	teardown();
}

static void test_backend_refuses_revoked_grant(void)
{
	void *bp;
	uint32_t ref;

	setup(1);
	CU_ASSERT_FATAL(pvfront_gnt_grant(&g->front, 0, page_gfn(harness_alloc_page(g)), false, &ref) == 0);
	CU_ASSERT_EQUAL(pvfront_gnt_revoke(&g->front, ref), 0);
	CU_ASSERT_EQUAL(pvback_gnt_map(be, ref, false, &bp), -EPERM);
	teardown();
}

static void test_backend_refuses_write_to_readonly_grant(void)
{
	void *bp;
	uint32_t ref;

	setup(1);
	CU_ASSERT_FATAL(pvfront_gnt_grant(&g->front, 0, page_gfn(harness_alloc_page(g)), true, &ref) == 0);
	CU_ASSERT_EQUAL(pvback_gnt_map(be, ref, true, &bp), -EACCES);
	CU_ASSERT_EQUAL(pvback_gnt_map(be, ref, false, &bp), 0);
	pvback_gnt_unmap(be, ref);
	teardown();
}

static void test_backend_refuses_frame_outside_guest_ram(void)
{
	uint64_t bad[] = { (HARNESS_HOLE_GPA >> 12) - 1, UINT32_MAX, (8 << 20) >> 12 };
	void *bp;
	uint32_t ref;

	setup(1);
	for (unsigned i = 0; i < 3; i++) {
		CU_ASSERT_FATAL(pvfront_gnt_grant(&g->front, 0, bad[i], false, &ref) == 0);
		CU_ASSERT_EQUAL(pvback_gnt_map(be, ref, false, &bp), -EFAULT);
		/* A refused map leaves the grant revocable. */
		CU_ASSERT_EQUAL(pvfront_gnt_revoke(&g->front, ref), 0);
	}
	teardown();
}

static void test_backend_refuses_reserved_and_unregistered_refs(void)
{
	void *bp;

	setup(1);
	CU_ASSERT_EQUAL(pvback_gnt_map(be, 0, false, &bp), -EINVAL);
	CU_ASSERT_EQUAL(pvback_gnt_map(be, PVKVM_GNT_RESERVED - 1, false, &bp), -EINVAL);
	CU_ASSERT_EQUAL(pvback_gnt_map(be, PVKVM_GNT_PER_FRAME, false, &bp), -EINVAL);
	CU_ASSERT_EQUAL(pvback_gnt_map(be, UINT32_MAX, false, &bp), -EINVAL);
	/* An unused entry inside the table is simply not granted. */
	CU_ASSERT_EQUAL(pvback_gnt_map(be, 100, false, &bp), -EPERM);
	teardown();
}

static void test_guest_cannot_revoke_while_backend_holds_grant(void)
{
	void *bp, *bp2;
	uint32_t ref;

	setup(1);
	CU_ASSERT_FATAL(pvfront_gnt_grant(&g->front, 0, page_gfn(harness_alloc_page(g)), false, &ref) == 0);
	CU_ASSERT_FATAL(pvback_gnt_map(be, ref, false, &bp) == 0);
	CU_ASSERT_FATAL(pvback_gnt_map(be, ref, true, &bp2) == 0);
	CU_ASSERT_EQUAL(pvfront_gnt_revoke(&g->front, ref), -PVFRONT_EBUSY);
	pvback_gnt_unmap(be, ref);
	CU_ASSERT_EQUAL(pvfront_gnt_revoke(&g->front, ref), -PVFRONT_EBUSY);
	pvback_gnt_unmap(be, ref);
	CU_ASSERT_EQUAL(pvfront_gnt_revoke(&g->front, ref), 0);
	CU_ASSERT_EQUAL(pvback_gnt_map(be, ref, false, &bp), -EPERM);
	teardown();
}

static void test_detach_releases_held_grants(void)
{
	void *bp;
	uint32_t ref;

	setup(1);
	CU_ASSERT_FATAL(pvfront_gnt_grant(&g->front, 0, page_gfn(harness_alloc_page(g)), false, &ref) == 0);
	CU_ASSERT_FATAL(pvback_gnt_map(be, ref, true, &bp) == 0);
	pvback_detach(be);
	be = NULL;
	CU_ASSERT_EQUAL(pvfront_gnt_revoke(&g->front, ref), 0);
	harness_guest_free(g);
	g = NULL;
}

static void test_grown_table_is_pushed_to_attached_backend(void)
{
	void *bp;
	uint32_t ref = 0;

	setup(1);
	CU_ASSERT_FATAL(pvfront_gnt_setup(&g->front, 3) == 0);
	/* Fill frame 0 so the next grant lands in a new frame. */
	for (uint32_t i = PVKVM_GNT_RESERVED; i <= PVKVM_GNT_PER_FRAME; i++)
		CU_ASSERT_FATAL(pvfront_gnt_grant(&g->front, 0, page_gfn(harness_alloc_page(g)), false, &ref) == 0);
	CU_ASSERT(ref >= PVKVM_GNT_PER_FRAME);
	CU_ASSERT_EQUAL(pvback_ctl_process(be), 0);
	CU_ASSERT_EQUAL(pvback_gnt_map(be, ref, false, &bp), 0);
	pvback_gnt_unmap(be, ref);
	teardown();
}

static void test_grant_setup_rejects_hostile_arguments(void)
{
	uint64_t *list;

	CU_ASSERT_FATAL(harness_guest_new(&g, 8 << 20, 1) == 0);
	list = harness_alloc_page(g);
	uint64_t pa = harness_gpa(g, list);
	list[0] = page_gfn(harness_alloc_page(g));
	list[1] = list[0];
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_GRANT_SETUP, pa, 2, 0), -EINVAL);
	list[1] = 0x7fffffffffffULL;
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_GRANT_SETUP, pa, 2, 0), -EFAULT);
	list[1] = UINT64_MAX;
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_GRANT_SETUP, pa, 2, 0), -EFAULT);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_GRANT_SETUP, pa, PVKVM_GNT_MAX_FRAMES + 1, 0), -EINVAL);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_GRANT_SETUP, pa, UINT64_MAX, 0), -EINVAL);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_GRANT_SETUP, pa + 4, 1, 0), -EFAULT);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_GRANT_SETUP, (4 << 20) - 8, 2, 0), -EFAULT);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_GRANT_SETUP, UINT64_MAX - 7, 1, 0), -EFAULT);
	CU_ASSERT_EQUAL(harness_hcall(g, 0, PVKVM_HC_GRANT_SETUP, pa, 1, 0), 0);
	harness_guest_free(g);
	g = NULL;
}

static const struct cunit_test grant_tests[] = {
	CUNIT_TEST_BARE(test_backend_maps_valid_grant_and_sees_guest_data),
	CUNIT_TEST_BARE(test_backend_refuses_wrong_domid),
	CUNIT_TEST_BARE(test_backend_refuses_revoked_grant),
	CUNIT_TEST_BARE(test_backend_refuses_write_to_readonly_grant),
	CUNIT_TEST_BARE(test_backend_refuses_frame_outside_guest_ram),
	CUNIT_TEST_BARE(test_backend_refuses_reserved_and_unregistered_refs),
	CUNIT_TEST_BARE(test_guest_cannot_revoke_while_backend_holds_grant),
	CUNIT_TEST_BARE(test_detach_releases_held_grants),
	CUNIT_TEST_BARE(test_grown_table_is_pushed_to_attached_backend),
	CUNIT_TEST_BARE(test_grant_setup_rejects_hostile_arguments),
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CUNIT_SUITE("grant", NULL, NULL, grant_tests);
	return cunit_run_all();
}
