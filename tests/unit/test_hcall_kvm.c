/* SPDX-License-Identifier: MIT */
/* The hypercall page and platform registers on real KVM: a CPL3 guest sets
 * its hypercall page through the MMIO registers and calls the stubs; the
 * exits go through pv_plat_dev_hcall_exit() into the real dispatcher.  Plus
 * the register model's hostile-access cases without KVM. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm_guest.h"
#include "platform_dev.h"
#include "pvkvm/platform.h"

#define RAM       (16ul << 20)
#define BAR0      0x3000000ul /* in the MMIO window above RAM */
#define PAGE_GPA  0x40000ul
#define ARG_GPA   0x41000ul
#define RES_GPA   0x42000ul
#define MSG_GPA   0x43000ul
#define DONE_PORT 0x10

struct hk {
	struct kvm_guest v;
	struct pv_gmem gmem;
	struct pv_plat *plat;
	struct pv_plat_dev dev;
	struct pv_plat_ops ops;
	char console[64];
};

static void on_console(void *o, const char *buf, uint32_t len)
{
	struct hk *h = o;

	snprintf(h->console, sizeof(h->console), "%.*s", (int)len, buf);
}

static int hk_init(struct hk *h, bool kvm)
{
	struct pv_gmem_range r = { 0, RAM, 0 };
	static uint8_t fake_ram[1 << 20] __attribute__((aligned(4096)));

	memset(h, 0, sizeof(*h));
	if (kvm) {
		int err = kvm_guest_new(&h->v, RAM);
		if (err)
			return err;
		pv_gmem_init(&h->gmem, h->v.ram, RAM, &r, 1);
	} else {
		r.size = sizeof(fake_ram);
		pv_gmem_init(&h->gmem, fake_ram, sizeof(fake_ram), &r, 1);
	}
	h->ops.console = on_console;
	h->plat = pv_plat_new(3, 1, &h->gmem, &h->ops, h);
	pv_plat_dev_init(&h->dev, h->plat, kvm ? h->v.vm : -1);
	h->ops.evtchn.doorbell_bind = pv_plat_dev_doorbell_bind;
	return 0;
}

static void hk_free(struct hk *h, bool kvm)
{
	pv_plat_dev_destroy(&h->dev);
	pv_plat_free(h->plat);
	if (kvm)
		kvm_guest_free(&h->v);
}

/* Calls stub nr with rdi, rsi; stores rax at RES_GPA + 8*slot. */
static void emit_hcall(struct kvm_asm *a, uint32_t nr, uint32_t rdi, uint32_t rsi, unsigned slot)
{
	asm_mov_edi(a, rdi);
	asm_mov_esi(a, rsi);
	asm_movabs_r11(a, PAGE_GPA + nr * PVKVM_HCALL_STUB_SIZE);
	asm_call_r11(a);
	asm_store_rax(a, RES_GPA + 8 * slot);
}

static void emit_guest(uint8_t *code)
{
	struct kvm_asm a = { code };

	asm_mov_eax(&a, PAGE_GPA); /* hypercall page: LO, then HI commits */
	asm_movabs_r11(&a, BAR0 + PVKVM_PLAT_REG_HCALL_PAGE_LO);
	asm_store_eax_at_r11(&a);
	asm_mov_eax(&a, 0);
	asm_movabs_r11(&a, BAR0 + PVKVM_PLAT_REG_HCALL_PAGE_HI);
	asm_store_eax_at_r11(&a);
	emit_hcall(&a, PVKVM_HC_VERSION, PVKVM_VERSION_GET, 0, 0);
	emit_hcall(&a, PVKVM_HC_EVTCHN_OP, PVKVM_EVTCHNOP_ALLOC_UNBOUND, ARG_GPA, 1);
	emit_hcall(&a, PVKVM_HCALL_MAX - 1, 0, 0, 2);                  /* unused number */
	emit_hcall(&a, PVKVM_HC_CONSOLE_WRITE, MSG_GPA, 5, 3);
	emit_hcall(&a, PVKVM_HC_EVTCHN_OP, PVKVM_EVTCHNOP_STATUS, RAM + 4096, 4); /* bad GPA */
	asm_movabs_r11(&a, BAR0 + PVKVM_PLAT_REG_VERSION);
	asm_load_eax_from_r11(&a);
	asm_store_rax(&a, RES_GPA + 8 * 5);
	asm_out_al(&a, DONE_PORT);
}

/* Runs to DONE, routing MMIO to the platform device; returns exits or -1. */
static long hk_run(struct hk *h)
{
	struct kvm_run *run = h->v.run;
	long exits = 0;

	for (;;) {
		if (ioctl(h->v.vcpu, KVM_RUN, 0) < 0)
			return -1;
		exits++;
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == DONE_PORT)
			return exits;
		if (run->exit_reason != KVM_EXIT_MMIO)
			return -1;
		uint64_t addr = run->mmio.phys_addr;
		uint32_t v;

		memcpy(&v, run->mmio.data, 4);
		if (run->mmio.is_write && pv_plat_dev_is_trigger(&h->dev, addr)) {
			if (pv_plat_dev_hcall_exit(&h->dev, 0, h->v.vcpu, v))
				return -1;
		} else if (addr >= BAR0 && addr < BAR0 + PVKVM_PLAT_MMIO_SIZE) {
			pv_plat_dev_io(&h->dev, addr - BAR0, run->mmio.data, run->mmio.len,
				       run->mmio.is_write);
		}
	}
}

static void test_guest_calls_hypercall_stubs_through_the_page(void)
{
	struct hk h;
	struct kvm_regs regs = { 0 };
	int err = hk_init(&h, true);

	if (err == -ENOENT || err == -EACCES) {
		printf("SKIP (no /dev/kvm) ");
		return;
	}
	CU_ASSERT_FATAL(err == 0);
	CU_ASSERT_EQUAL(pv_plat_dev_set_bars(&h.dev, BAR0, PV_BAR_UNSET), 0);
	emit_guest(h.v.ram + KVM_GUEST_CODE_GPA);
	memcpy(h.v.ram + MSG_GPA, "hello", 5);
	struct pvkvm_evtchn_alloc_unbound *au = (void *)(h.v.ram + ARG_GPA);
	au->dom = PVKVM_DOMID_SELF;
	CU_ASSERT_FATAL(kvm_guest_setup_cpl3(&h.v, &regs) == 0);
	long exits = hk_run(&h);
	CU_ASSERT(exits > 0);
	int64_t *res = (void *)(h.v.ram + RES_GPA);
	CU_ASSERT_EQUAL(res[0], PVKVM_PLAT_ABI_VERSION);
	CU_ASSERT_EQUAL(res[1], 0);
	CU_ASSERT(au->port > 0);
	CU_ASSERT_EQUAL(res[2], -ENOSYS);
	CU_ASSERT_EQUAL(res[3], 5);
	CU_ASSERT_STRING_EQUAL(h.console, "hello");
	CU_ASSERT_EQUAL(res[4], -EFAULT);
	CU_ASSERT_EQUAL((uint32_t)res[5], PVKVM_PLAT_ABI_VERSION);
	/* 2 page-register writes + 5 hypercalls + 1 register read + DONE. */
	CU_ASSERT_EQUAL(exits, 9);
	hk_free(&h, true);
}

static uint32_t rd(struct hk *h, uint64_t off)
{
	uint32_t v;

	pv_plat_dev_io(&h->dev, off, &v, 4, false);
	return v;
}

static void wr(struct hk *h, uint64_t off, uint32_t v)
{
	pv_plat_dev_io(&h->dev, off, &v, 4, true);
}

static void test_platform_registers_refuse_hostile_accesses(void)
{
	struct hk h;
	uint64_t v8 = 0x1234;
	uint8_t b = 7;

	CU_ASSERT_FATAL(hk_init(&h, false) == 0);
	pv_plat_dev_set_bars(&h.dev, BAR0, 0xc000);
	/* Misaligned, outside RAM, and wrapping hypercall pages are refused. */
	wr(&h, PVKVM_PLAT_REG_HCALL_PAGE_LO, 0x1001);
	wr(&h, PVKVM_PLAT_REG_HCALL_PAGE_HI, 0);
	CU_ASSERT_EQUAL(rd(&h, PVKVM_PLAT_REG_HCALL_PAGE_LO), 0xffffffff);
	wr(&h, PVKVM_PLAT_REG_HCALL_PAGE_LO, 0xfffff000);
	wr(&h, PVKVM_PLAT_REG_HCALL_PAGE_HI, 0xffffffff);
	CU_ASSERT_EQUAL(rd(&h, PVKVM_PLAT_REG_HCALL_PAGE_HI), 0xffffffff);
	wr(&h, PVKVM_PLAT_REG_HCALL_PAGE_LO, 0x2000);
	wr(&h, PVKVM_PLAT_REG_HCALL_PAGE_HI, 0);
	CU_ASSERT_EQUAL(rd(&h, PVKVM_PLAT_REG_HCALL_PAGE_LO), 0x2000);
	/* Odd sizes and offsets: writes ignored, reads zero. */
	pv_plat_dev_io(&h.dev, PVKVM_PLAT_REG_HCALL_PAGE_HI, &v8, 8, true);
	pv_plat_dev_io(&h.dev, PVKVM_PLAT_REG_HCALL_PAGE_LO + 1, &b, 1, true);
	CU_ASSERT_EQUAL(rd(&h, PVKVM_PLAT_REG_HCALL_PAGE_LO), 0x2000);
	pv_plat_dev_io(&h.dev, PVKVM_PLAT_REG_VERSION, &v8, 8, false);
	CU_ASSERT_EQUAL(v8, 0);
	CU_ASSERT_EQUAL(rd(&h, 0xffc), 0);
	CU_ASSERT_EQUAL(rd(&h, 0x100000), 0);
	CU_ASSERT_EQUAL(rd(&h, PVKVM_PLAT_REG_NR_VCPUS), 1);
	/* Doorbells of bad ports through the slow path are dropped. */
	wr(&h, PVKVM_PLAT_REG_DOORBELL, 0);
	wr(&h, PVKVM_PLAT_REG_DOORBELL, 0xffffffff);
	wr(&h, PVKVM_PLAT_REG_HCALL_TRIGGER, 3); /* only via the exit path */
	hk_free(&h, false);
}

static void test_stub_page_layout(void)
{
	static uint8_t page[4096];
	uint64_t trig;

	pv_hcall_page_fill(page, BAR0 + PVKVM_PLAT_REG_HCALL_TRIGGER);
	for (uint32_t nr = 0; nr < PVKVM_HCALL_MAX; nr++) {
		uint8_t *s = page + 32 * nr;
		uint32_t got;

		memcpy(&got, s + 1, 4);
		memcpy(&trig, s + 7, 8);
		CU_ASSERT(s[0] == 0xb8 && got == nr && trig == BAR0 + 4 && s[18] == 0xc3 && s[19] == 0xcc);
	}
	CU_ASSERT_EQUAL(page[4095], 0xcc);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("hcall", NULL, NULL);
	CU_add_test(s, "guest_calls_hypercall_stubs_through_the_page", test_guest_calls_hypercall_stubs_through_the_page);
	CU_add_test(s, "platform_registers_refuse_hostile_accesses", test_platform_registers_refuse_hostile_accesses);
	CU_add_test(s, "stub_page_layout", test_stub_page_layout);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	int failed = (int)CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
