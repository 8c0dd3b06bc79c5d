/* SPDX-License-Identifier: MIT */
/* KVM-selftest style tests of the VMM: a few bytes of 32-bit guest code on
 * the real /dev/kvm per test, asserting the exits and the device state.
 * Guest code runs at CPL0, which PVM hosts emulate: keep it tiny. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "console.h"
#include "loader.h"
#include "serial.h"
#include "test_hv.h"
#include "vm.h"
#include "cunit_main.h"

#define CODE_GPA 0x100000u

static bool have_kvm;

bool test_hv_have_kvm(void)
{
	return have_kvm;
}

struct tvm {
	struct hv_vm *vm;
	pthread_t watchdog;
};

static void *watchdog(void *arg)
{
	struct hv_vm *vm = arg;

	for (int i = 0; i < 200 && !hv_vm_stopping(vm); i++)
		usleep(50000);
	if (!hv_vm_stopping(vm))
		hv_vm_request_stop(vm, 0x7777); /* a value no test expects */
	return NULL;
}

static struct hv_vm *tvm_new(const uint8_t *code, size_t len)
{
	struct hv_vm_opts o = { .name = "test", .mem_bytes = 8u << 20, .nr_vcpus = 1, .no_irqchip = true };
	struct hv_vm *vm;
	const char *err;

	if (hv_vm_create(&vm, &o, &err) < 0)
		return NULL;
	memcpy(hv_vm_gpa_to_hva(vm, CODE_GPA, len), code, len);
	hv_boot_regs_pvh(vm, CODE_GPA, 0);
	return vm;
}

/* Runs until a stop request; returns the exit status. */
static int tvm_run(struct hv_vm *vm)
{
	pthread_t t;

	pthread_create(&t, NULL, watchdog, vm);
	hv_vm_run(vm);
	pthread_join(t, NULL);
	return vm->exit_status;
}

struct pio_dev {
	uint8_t out80, out82[4];
	unsigned n82;
	uint16_t out84;
	uint32_t out88;
	unsigned reads81;
};

static void pio_dev_io(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	struct pio_dev *d = opaque;

	if (!is_write) {
		d->reads81++;
		memset(data, 0x9c, len);
		return;
	}
	if (off == 0)
		d->out80 = *(uint8_t *)data;
	else if (off == 2 && d->n82 < 4)
		d->out82[d->n82++] = *(uint8_t *)data;
	else if (off == 4 && len == 2)
		memcpy(&d->out84, data, 2);
	else if (off == 8 && len == 4)
		memcpy(&d->out88, data, 4);
}

static void test_pio_out_in_reach_the_device_with_size(void)
{
	static const uint8_t code[] = {
		0xb0, 0x42,                   /* mov al, 0x42 */
		0xe6, 0x80,                   /* out 0x80, al */
		0xe4, 0x81,                   /* in al, 0x81 (device: 0x9c) */
		0xe6, 0x82,                   /* out 0x82, al */
		0x66, 0xb8, 0x34, 0x12,       /* mov ax, 0x1234 */
		0x66, 0xe7, 0x84,             /* out 0x84, ax */
		0xb8, 0x78, 0x56, 0x34, 0x12, /* mov eax, 0x12345678 */
		0xe7, 0x88,                   /* out 0x88, eax */
		0xe4, 0x90,                   /* in al, 0x90 (nobody: 0xff) */
		0xe6, 0x82,                   /* out 0x82, al */
		0xb8, 0x05, 0x00, 0x00, 0x00, /* mov eax, 5 */
		0xe7, 0xf4,                   /* out 0xf4, eax */
	};
	struct pio_dev d = { 0 };
	struct hv_vm *vm;

	if (!have_kvm)
		return;
	vm = tvm_new(code, sizeof(code));
	CU_ASSERT_FATAL(vm != NULL);
	CU_ASSERT_EQUAL(hv_io_register(&vm->pio, 0x80, 16, pio_dev_io, &d), 0);
	hv_debug_exit_init(vm);
	CU_ASSERT_EQUAL(tvm_run(vm), 5);
	CU_ASSERT_EQUAL(d.out80, 0x42);
	CU_ASSERT_EQUAL(d.reads81, 1u);
	CU_ASSERT_EQUAL(d.n82, 2u);
	CU_ASSERT_EQUAL(d.out82[0], 0x9c);
	CU_ASSERT_EQUAL(d.out82[1], 0xff);
	CU_ASSERT_EQUAL(d.out84, 0x1234);
	CU_ASSERT_EQUAL(d.out88, 0x12345678u);
	hv_vm_destroy(vm);
}

struct mmio_dev {
	uint64_t wr_off;
	uint32_t wr_val;
	unsigned writes, reads;
};

static void mmio_dev_io(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	struct mmio_dev *d = opaque;

	if (is_write) {
		d->writes++;
		d->wr_off = off;
		memcpy(&d->wr_val, data, len < 4 ? len : 4);
	} else {
		uint32_t v = 0x11223344 + (uint32_t)off;

		d->reads++;
		memcpy(data, &v, len < 4 ? len : 4);
	}
}

static void test_mmio_read_write_in_pci_hole_reach_the_device(void)
{
	static const uint8_t code[] = {
		0xb8, 0x00, 0x10, 0x00, 0xd0,       /* mov eax, 0xd0001000 */
		0xc7, 0x40, 0x08, 0xef, 0xbe, 0xad, 0xde, /* mov dword [eax+8], 0xdeadbeef */
		0x8b, 0x50, 0x04,                   /* mov edx, [eax+4] (0x11223348) */
		0x89, 0xd0,                         /* mov eax, edx */
		0xe7, 0xf4,                         /* out 0xf4, eax -> status 0x48 */
	};
	struct mmio_dev d = { 0 };
	struct hv_vm *vm;

	if (!have_kvm)
		return;
	vm = tvm_new(code, sizeof(code));
	CU_ASSERT_FATAL(vm != NULL);
	CU_ASSERT_EQUAL(hv_io_register(&vm->mmio, 0xd0001000, 0x1000, mmio_dev_io, &d), 0);
	hv_debug_exit_init(vm);
	CU_ASSERT_EQUAL(tvm_run(vm), 0x48);
	CU_ASSERT_EQUAL(d.writes, 1u);
	CU_ASSERT_EQUAL(d.wr_off, 8u);
	CU_ASSERT_EQUAL(d.wr_val, 0xdeadbeefu);
	CU_ASSERT_EQUAL(d.reads, 1u);
	hv_vm_destroy(vm);
}

static void test_serial_output_reaches_console_file(void)
{
	static const uint8_t code[] = {
		0x66, 0xba, 0xfd, 0x03,       /* mov dx, 0x3fd (LSR) */
		0xec,                         /* in al, dx */
		0x88, 0xc3,                   /* mov bl, al */
		0x66, 0xba, 0xf8, 0x03,       /* mov dx, 0x3f8 */
		0xb0, 'o', 0xee,              /* mov al, 'o'; out dx, al */
		0xb0, 'k', 0xee,              /* mov al, 'k'; out dx, al */
		0xb0, '\n', 0xee,             /* mov al, '\n'; out dx, al */
		0x88, 0xd8,                   /* mov al, bl */
		0xe6, 0xf4,                   /* out 0xf4, al -> status = LSR */
	};
	char path[] = "/tmp/test_hv_serial_XXXXXX", spec[64], buf[16] = "";
	struct hv_console *con;
	const char *err;
	struct hv_vm *vm;
	int fd;

	if (!have_kvm)
		return;
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(spec, sizeof(spec), "file:%s", path);
	CU_ASSERT_FATAL(hv_console_open(&con, spec, &err) == 0);
	vm = tvm_new(code, sizeof(code));
	CU_ASSERT_FATAL(vm != NULL);
	CU_ASSERT_EQUAL(hv_serial_init(vm, con), 0);
	hv_debug_exit_init(vm);
	CU_ASSERT_EQUAL(tvm_run(vm), 0x60); /* THRE | TEMT, no data */
	CU_ASSERT_EQUAL(read(fd, buf, sizeof(buf) - 1), 3);
	CU_ASSERT_STRING_EQUAL(buf, "ok\n");
	hv_serial_free(vm);
	hv_vm_destroy(vm);
	hv_console_close(con);
	close(fd);
	unlink(path);
}

static void test_debug_exit_status_is_low_byte_of_write(void)
{
	static const uint8_t code[] = {
		0xb8, 0xa5, 0x34, 0x12, 0x00, /* mov eax, 0x1234a5 */
		0xe7, 0xf4,                   /* out 0xf4, eax */
		0xeb, 0xfe,                   /* jmp $ (never reached) */
	};
	struct hv_vm *vm;

	if (!have_kvm)
		return;
	vm = tvm_new(code, sizeof(code));
	CU_ASSERT_FATAL(vm != NULL);
	hv_debug_exit_init(vm);
	CU_ASSERT_EQUAL(tvm_run(vm), 0xa5);
	CU_ASSERT_EQUAL(vm->stop_reason, HV_STOP_EXIT);
	hv_vm_destroy(vm);
}

static void test_triple_fault_is_reported_not_hung(void)
{
	static const uint8_t code[] = { 0x0f, 0x0b }; /* ud2 with an empty IDT */
	struct kvm_sregs s;
	struct hv_vm *vm;

	if (!have_kvm)
		return;
	vm = tvm_new(code, sizeof(code));
	CU_ASSERT_FATAL(vm != NULL);
	CU_ASSERT_FATAL(ioctl(vm->vcpus[0].fd, KVM_GET_SREGS, &s) == 0);
	s.idt.base = 0;
	s.idt.limit = 0;
	CU_ASSERT_FATAL(ioctl(vm->vcpus[0].fd, KVM_SET_SREGS, &s) == 0);
	CU_ASSERT_EQUAL(tvm_run(vm), HV_EXIT_TRIPLE_FAULT);
	hv_vm_destroy(vm);
}

static void test_stop_request_kicks_vcpu_in_guest_loop(void)
{
	static const uint8_t code[] = { 0xeb, 0xfe }; /* jmp $ */
	struct hv_vm *vm;
	pthread_t t;

	if (!have_kvm)
		return;
	vm = tvm_new(code, sizeof(code));
	CU_ASSERT_FATAL(vm != NULL);
	pthread_create(&t, NULL, watchdog, vm);
	usleep(100000);
	hv_vm_request_stop(vm, 143);
	hv_vm_run(vm);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(vm->exit_status, 143);
	hv_vm_destroy(vm);
}

static void test_ram_above_hole_starts_at_4g(void)
{
	struct hv_vm_opts o = { .name = "big", .mem_bytes = 3328ull << 20, .nr_vcpus = 1, .no_irqchip = true };
	struct hv_vm *vm;
	const char *err;

	if (!have_kvm)
		return;
	CU_ASSERT_FATAL(hv_vm_create(&vm, &o, &err) == 0);
	CU_ASSERT_EQUAL(vm->ram_below_4g, HV_PCI_HOLE_START);
	CU_ASSERT_EQUAL(vm->ram_above_4g, 256ull << 20);
	CU_ASSERT_PTR_NULL(hv_vm_gpa_to_hva(vm, HV_PCI_HOLE_START, 1));
	CU_ASSERT_PTR_NULL(hv_vm_gpa_to_hva(vm, HV_PCI_HOLE_START - 4, 8));
	CU_ASSERT_PTR_EQUAL(hv_vm_gpa_to_hva(vm, HV_4G, 4096), vm->ram + HV_PCI_HOLE_START);
	CU_ASSERT_PTR_NULL(hv_vm_gpa_to_hva(vm, HV_4G + (256ull << 20) - 4, 8));
	CU_ASSERT_EQUAL(vm->e820[vm->nr_e820 - 1].addr, HV_4G);
	CU_ASSERT_EQUAL(vm->e820[vm->nr_e820 - 1].size, 256ull << 20);
	hv_vm_destroy(vm);
}

/* Port 0x70 on vCPU 0 starts vCPU 1 at AP_GPA with vCPU 0's control state;
 * vCPU 1's code ends the VM with status 0x33 while vCPU 0 spins. */
#define AP_GPA 0x101000u
#define MSR_APIC_BASE_BSP (1ull << 8)
static void start_ap_io(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	struct hv_vm *vm = opaque;
	struct kvm_regs r = { .rip = AP_GPA, .rflags = 2 };
	struct kvm_sregs s;

	if (!is_write || ioctl(vm->vcpus[0].fd, KVM_GET_SREGS, &s) < 0)
		return;
	*(uint8_t *)data = (uint8_t)hv_vcpu_start(vm, 1, &r, &s);
	if (hv_vcpu_start(vm, 1, &r, &s) != -EBUSY || hv_vcpu_start(vm, 7, &r, &s) != -EINVAL)
		hv_vm_request_stop(vm, 0x66);
}

static void vcpu_start_case(bool irqchip)
{
	static const uint8_t bsp[] = { 0xe6, 0x70, 0xeb, 0xfe };        /* out 0x70, al; jmp $ */
	static const uint8_t ap[] = { 0xb0, 0x33, 0xe6, 0xf4, 0xeb, 0xfe }; /* mov al, 0x33; out 0xf4, al */
	struct hv_vm_opts o = { .name = "smp", .mem_bytes = 8u << 20, .nr_vcpus = 2, .no_irqchip = !irqchip };
	struct hv_vm *vm;
	const char *err;

	if (!have_kvm)
		return;
	CU_ASSERT_FATAL(hv_vm_create(&vm, &o, &err) == 0);
	memcpy(hv_vm_gpa_to_hva(vm, CODE_GPA, sizeof(bsp)), bsp, sizeof(bsp));
	memcpy(hv_vm_gpa_to_hva(vm, AP_GPA, sizeof(ap)), ap, sizeof(ap));
	hv_boot_regs_pvh(vm, CODE_GPA, 0);
	hv_io_register(&vm->pio, 0x70, 1, start_ap_io, vm);
	hv_debug_exit_init(vm);
	CU_ASSERT_EQUAL(tvm_run(vm), 0x33);
	CU_ASSERT_TRUE(vm->vcpus[1].started);
	if (irqchip) {
		struct kvm_sregs s0, s1;

		/* The AP took the BSP's control state but kept its own APIC. */
		CU_ASSERT_FATAL(ioctl(vm->vcpus[0].fd, KVM_GET_SREGS, &s0) == 0);
		CU_ASSERT_FATAL(ioctl(vm->vcpus[1].fd, KVM_GET_SREGS, &s1) == 0);
		CU_ASSERT_TRUE(s0.apic_base & MSR_APIC_BASE_BSP);
		CU_ASSERT_FALSE(s1.apic_base & MSR_APIC_BASE_BSP);
		CU_ASSERT_EQUAL(s1.cr0, s0.cr0);
	}
	hv_vm_destroy(vm);
}

static void test_vcpu_start_runs_secondary_vcpu(void)
{
	vcpu_start_case(false);
}

/* With the in-kernel LAPIC the AP already sits in KVM_RUN (waiting for
 * INIT/SIPI): the start must kick it out and make it runnable, and it keeps
 * its own (non-BSP) APIC base. */
static void test_vcpu_start_kicks_ap_waiting_in_kernel(void)
{
	vcpu_start_case(true);
}

static void reset_port_io(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	if (is_write)
		hv_vm_request_reset(opaque);
}

/* What an i8042 or PV reset does: the main loop returns HV_STOP_RESET, and a
 * later stop request does not override the first one. */
static void test_reset_request_ends_run_with_reset_reason(void)
{
	static const uint8_t code[] = {
		0xe6, 0x64,                   /* out 0x64, al (test reset port) */
		0xb0, 0x09, 0xe6, 0xf4,       /* mov al, 9; out 0xf4, al (too late) */
		0xeb, 0xfe,
	};
	struct hv_vm *vm;

	if (!have_kvm)
		return;
	vm = tvm_new(code, sizeof(code));
	CU_ASSERT_FATAL(vm != NULL);
	hv_io_register(&vm->pio, 0x64, 1, reset_port_io, vm);
	hv_debug_exit_init(vm);
	tvm_run(vm);
	CU_ASSERT_EQUAL(vm->stop_reason, HV_STOP_RESET);
	hv_vm_destroy(vm);
}

static void test_gpa_to_hva_checks_bounds_and_hole(void)
{
	struct hv_vm_opts o = { .name = "t", .mem_bytes = 8u << 20, .nr_vcpus = 1, .no_irqchip = true };
	struct hv_vm *vm;
	const char *err;

	if (!have_kvm)
		return;
	CU_ASSERT_FATAL(hv_vm_create(&vm, &o, &err) == 0);
	CU_ASSERT_PTR_NOT_NULL(hv_vm_gpa_to_hva(vm, 0, 8u << 20));
	CU_ASSERT_PTR_NULL(hv_vm_gpa_to_hva(vm, 0, (8u << 20) + 1));
	CU_ASSERT_PTR_NULL(hv_vm_gpa_to_hva(vm, (8u << 20) - 4, 8));
	CU_ASSERT_PTR_NULL(hv_vm_gpa_to_hva(vm, UINT64_MAX - 2, 8));
	CU_ASSERT_PTR_NULL(hv_vm_gpa_to_hva(vm, HV_4G, 1));
	CU_ASSERT_EQUAL(vm->ram_above_4g, 0u);
	hv_vm_destroy(vm);
}

static const struct cunit_test hv_guest_tests[] = {
	CUNIT_TEST(test_pio_out_in_reach_the_device_with_size),
	CUNIT_TEST(test_mmio_read_write_in_pci_hole_reach_the_device),
	CUNIT_TEST(test_serial_output_reaches_console_file),
	CUNIT_TEST(test_debug_exit_status_is_low_byte_of_write),
	CUNIT_TEST(test_triple_fault_is_reported_not_hung),
	CUNIT_TEST(test_stop_request_kicks_vcpu_in_guest_loop),
	CUNIT_TEST(test_reset_request_ends_run_with_reset_reason),
	CUNIT_TEST(test_vcpu_start_runs_secondary_vcpu),
	CUNIT_TEST(test_vcpu_start_kicks_ap_waiting_in_kernel),
	CUNIT_TEST(test_ram_above_hole_starts_at_4g),
	CUNIT_TEST(test_gpa_to_hva_checks_bounds_and_hole),
};

int main(void)
{
	have_kvm = access("/dev/kvm", R_OK | W_OK) == 0;
	if (!have_kvm)
		printf("SKIP: /dev/kvm not usable, KVM guest tests pass vacuously\n");
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CUNIT_SUITE("hv_guest", NULL, NULL, hv_guest_tests);
	test_hv_iobus_add();
	test_hv_loader_add();
	return cunit_run_all();
}
