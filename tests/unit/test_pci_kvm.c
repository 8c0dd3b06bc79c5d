/* SPDX-License-Identifier: MIT */
/* PCI through a real KVM VM (MSI-X irqfd routes, a vCPU probing the bridge
 * through 0xcf8/0xcfc) and the i8042 reset line; the tests that need a VM
 * pass vacuously, with a note, where /dev/kvm does not give one. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dev/i8042.h"
#include "dev/testdev.h"
#include "loader.h"
#include "pci/msi_route.h"
#include "serial.h"
#include "test_pci.h"
#include "vm.h"

/* --- MSI-X through a real KVM VM --------------------------------------------- */

static int kvm_vm_with_irqchip(int *kvm_fd, int *vcpu_fd)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm;

	if (kvm < 0)
		return -1;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		if (vm >= 0)
			close(vm);
		close(kvm);
		return -1;
	}
	*kvm_fd = kvm;
	*vcpu_fd = ioctl(vm, KVM_CREATE_VCPU, 0);
	return vm;
}

/* INTx goes through KVM_IRQ_LINE on the in-kernel IOAPIC. */
static void intx_goes_through_kvm_irq_line(void)
{
	struct hv_pci_dev d;

	hv_pci_dev_init(&d, "intx", 0x8086, 0x100e, 0x020000, 0);
	hv_pci_intx_init(&d);
	CU_ASSERT_FATAL(hv_pci_host_add(&host, &d, 9) == 0);
	CU_ASSERT_EQUAL(hv_pci_intx_set(&d, true), 0);
	CU_ASSERT_EQUAL(hv_pci_intx_set(&d, false), 0);
	host.slots[9] = NULL;
}

static void test_msix_irqfd_gets_gsi_route_in_kvm(void)
{
	struct hv_pci_host_cfg c;
	struct hv_msi_route routes[4];
	unsigned total = 0;
	int kvm, vcpu, vm = kvm_vm_with_irqchip(&kvm, &vcpu), efd, efd2;
	uint64_t tbl, one = 1;

	if (vm < 0) {
		fprintf(stderr, "note: no KVM VM with irqchip here; irqfd test skipped\n");
		return;
	}
	c = host_cfg(vm);
	CU_ASSERT_FATAL(hv_iobus_init(&pio) == 0 && hv_iobus_init(&mmio) == 0);
	CU_ASSERT_FATAL(hv_pci_host_init(&host, &c) == 0);
	CU_ASSERT_FATAL(hv_pci_create_device(&host, "pvkvm-test", NULL, &tdev) == 0);
	tbl = msix_setup_vector(0, 0xfee00000, 0x4030);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CU_ASSERT_EQUAL(hv_msix_vector_irqfd(tdev, 0, efd), 0);
	CU_ASSERT_EQUAL(hv_msi_router_list(host.router, routes, 4, &total), 1);
	CU_ASSERT_EQUAL(routes[0].gsi, HV_MSI_FIRST_GSI);
	CU_ASSERT_EQUAL(routes[0].addr, 0xfee00000);
	CU_ASSERT_EQUAL(routes[0].data, 0x4030);
	CU_ASSERT_EQUAL(total, 40 + 1); /* PIC+IOAPIC defaults kept */
	/* The guest reprograms the vector: the route follows. */
	io_write(&mmio, tbl + 8, 0x4031, 4);
	hv_msi_router_list(host.router, routes, 4, NULL);
	CU_ASSERT_EQUAL(routes[0].data, 0x4031);
	/* Masked: the irqfd is detached and a write shows up in the PBA. */
	io_write(&mmio, tbl + 12, 1, 4);
	CU_ASSERT_EQUAL(write(efd, &one, 8), 8);
	CU_ASSERT(hv_pci_msix_pending(tdev, 0));
	io_write(&mmio, tbl + 12, 0, 4);
	CU_ASSERT_FALSE(hv_pci_msix_pending(tdev, 0));
	/* A second vector gets the next GSI; notify from the VMM writes the fd. */
	msix_setup_vector(1, 0xfee00000, 0x4032);
	/* KVM takes one eventfd per irqfd (EBUSY otherwise). */
	efd2 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CU_ASSERT_EQUAL(hv_msix_vector_irqfd(tdev, 1, efd2), 0);
	CU_ASSERT_EQUAL(hv_msi_router_list(host.router, routes, 4, &total), 2);
	CU_ASSERT_EQUAL(routes[1].gsi, HV_MSI_FIRST_GSI + 1);
	CU_ASSERT_EQUAL(hv_pci_msix_notify(tdev, 1), 0);
	/* Unbinding removes the route. */
	CU_ASSERT_EQUAL(hv_msix_vector_irqfd(tdev, 0, -1), 0);
	CU_ASSERT_EQUAL(hv_msi_router_list(host.router, routes, 4, &total), 1);
	CU_ASSERT_EQUAL(total, 40 + 1);
	intx_goes_through_kvm_irq_line();
	/* Without an irqfd, notify goes through KVM_SIGNAL_MSI. */
	msix_setup_vector(2, 0xfee00000, 0x4033);
	{
		int r = hv_pci_msix_notify(tdev, 2);

		CU_ASSERT(r == 0 || vcpu < 0);
	}
	teardown();
	close(efd);
	close(efd2);
	if (vcpu >= 0)
		close(vcpu);
	close(vm);
	close(kvm);
}

/* KVM refusing KVM_IRQFD (here: a pipe is not an eventfd) is reported with
 * KVM's error even when logging it fails (stderr closed: the log's write
 * sets errno to EBADF), and the vector is left unbound. */
static void test_msix_irqfd_refused_by_kvm_returns_kvms_error(void)
{
	struct hv_pci_host_cfg c;
	struct hv_msi_route routes[1];
	unsigned total = 0;
	int kvm, vcpu, vm = kvm_vm_with_irqchip(&kvm, &vcpu), pfd[2], err_fd, r;

	if (vm < 0) {
		fprintf(stderr, "note: no KVM VM with irqchip here; irqfd test skipped\n");
		return;
	}
	c = host_cfg(vm);
	CU_ASSERT_FATAL(pipe2(pfd, O_CLOEXEC) == 0);
	CU_ASSERT_FATAL(hv_iobus_init(&pio) == 0 && hv_iobus_init(&mmio) == 0);
	CU_ASSERT_FATAL(hv_pci_host_init(&host, &c) == 0);
	CU_ASSERT_FATAL(hv_pci_create_device(&host, "pvkvm-test", NULL, &tdev) == 0);
	msix_setup_vector(0, 0xfee00000, 0x4030);
	fflush(stderr);
	err_fd = dup(2);
	close(2);
	r = hv_msix_vector_irqfd(tdev, 0, pfd[0]);
	dup2(err_fd, 2);
	close(err_fd);
	CU_ASSERT_EQUAL(r, -EINVAL);
	CU_ASSERT_EQUAL(hv_msi_router_list(host.router, routes, 1, &total), 0);
	teardown();
	close(pfd[0]);
	close(pfd[1]);
	if (vcpu >= 0)
		close(vcpu);
	close(vm);
	close(kvm);
}

/* --- a real vCPU drives the bridge (KVM-selftest style) ----------------------- */

static void *guest_watchdog(void *arg)
{
	struct hv_vm *vm = arg;

	for (int i = 0; i < 200 && !hv_vm_stopping(vm); i++)
		usleep(50000);
	if (!hv_vm_stopping(vm))
		hv_vm_request_stop(vm, 0x7777);
	return NULL;
}

/* 32-bit guest code at the PVH entry: reads slot 1's IDs through 0xcf8/0xcfc,
 * moves BAR0 to 0xd0000000 and BAR1 to port 0xd000 through 0xcfc, then
 * stores the IDs into the MMIO scratch register, the I/O BAR's ID into the
 * I/O scratch register, and exits with the MMIO ID's low byte. */
static const uint8_t pci_guest[] = {
	0xb8, 0x00, 0x08, 0x00, 0x80, 0x66, 0xba, 0xf8, 0x0c, 0xef, /* cf8 = slot 1, reg 0 */
	0x66, 0xba, 0xfc, 0x0c, 0xed, 0x89, 0xc3,                   /* ebx = IDs */
	0xb8, 0x10, 0x08, 0x00, 0x80, 0x66, 0xba, 0xf8, 0x0c, 0xef, /* cf8 = BAR0 */
	0x66, 0xba, 0xfc, 0x0c, 0xb8, 0x00, 0x00, 0x00, 0xd0, 0xef, /* BAR0 = 0xd0000000 */
	0xb8, 0x14, 0x08, 0x00, 0x80, 0x66, 0xba, 0xf8, 0x0c, 0xef, /* cf8 = BAR1 */
	0x66, 0xba, 0xfc, 0x0c, 0xb8, 0x00, 0xd0, 0x00, 0x00, 0xef, /* BAR1 = 0xd000 */
	0x66, 0xba, 0x04, 0xd0, 0xed,                               /* in eax, 0xd004 */
	0x66, 0xba, 0x00, 0xd0, 0xef,                               /* out 0xd000, eax */
	0x89, 0x1d, 0x04, 0x00, 0x00, 0xd0,                         /* [0xd0000004] = ebx */
	0xa1, 0x00, 0x00, 0x00, 0xd0,                               /* eax = [0xd0000000] */
	0xe7, 0xf4,                                                 /* debug exit */
};

static void test_guest_probes_and_moves_bars_through_cf8(void)
{
	struct hv_vm_opts o = { .name = "pci", .mem_bytes = 8u << 20, .nr_vcpus = 1,
				.no_irqchip = true };
	struct hv_pci_host_cfg c;
	struct hv_testdev *t;
	struct hv_vm *vm;
	const char *err;
	pthread_t wd;

	if (hv_vm_create(&vm, &o, &err) < 0) {
		fprintf(stderr, "note: no KVM VM here (%s); guest test skipped\n", err);
		return;
	}
	memcpy(hv_vm_gpa_to_hva(vm, 0x100000, sizeof(pci_guest)), pci_guest, sizeof(pci_guest));
	hv_boot_regs_pvh(vm, 0x100000, 0);
	c = host_cfg(-1);
	c.pio = &vm->pio;
	c.mmio = &vm->mmio;
	CU_ASSERT_FATAL(hv_pci_host_init(&host, &c) == 0);
	CU_ASSERT_FATAL(hv_pci_create_device(&host, "pvkvm-test", NULL, &tdev) == 0);
	CU_ASSERT_FATAL(hv_debug_exit_init(vm) == 0);
	pthread_create(&wd, NULL, guest_watchdog, vm);
	hv_vm_run(vm);
	pthread_join(wd, NULL);
	t = (struct hv_testdev *)tdev;
	CU_ASSERT_EQUAL(vm->exit_status, HV_TESTDEV_MAGIC & 0xff);
	CU_ASSERT_EQUAL(t->scratch, (uint32_t)HV_TESTDEV_DEVICE << 16 | HV_TESTDEV_VENDOR);
	CU_ASSERT_EQUAL(t->io_scratch, HV_TESTDEV_MAGIC);
	CU_ASSERT_EQUAL(bar_addr_of(tdev, 0), 0xd0000000u);
	CU_ASSERT_EQUAL(bar_addr_of(tdev, 1), 0xd000u);
	hv_vm_stop_vcpus(vm);
	hv_pci_host_destroy(&host);
	hv_vm_destroy(vm);
}

static void guest_reset(void *opaque)
{
	hv_vm_request_reset(opaque);
}

/* The guest pulses the i8042 reset line: the VM stops with a reset request. */
static void test_guest_i8042_fe_stops_vm_for_reset(void)
{
	static const uint8_t code[] = {
		0xb0, 0xaa, 0xe6, 0x64, /* self-test */
		0xe4, 0x60,             /* in al, 0x60 (0x55) */
		0xb0, 0xfe, 0xe6, 0x64, /* pulse reset */
		0xb0, 0x09, 0xe7, 0xf4, /* not reached: debug exit 9 */
	};
	struct hv_vm_opts o = { .name = "kbd", .mem_bytes = 8u << 20, .nr_vcpus = 1,
				.no_irqchip = true };
	struct hv_i8042 k;
	struct hv_vm *vm;
	const char *err;
	pthread_t wd;
	enum hv_stop_reason why;

	if (hv_vm_create(&vm, &o, &err) < 0) {
		fprintf(stderr, "note: no KVM VM here (%s); guest test skipped\n", err);
		return;
	}
	memcpy(hv_vm_gpa_to_hva(vm, 0x100000, sizeof(code)), code, sizeof(code));
	hv_boot_regs_pvh(vm, 0x100000, 0);
	CU_ASSERT_FATAL(hv_i8042_init(&k, &vm->pio, guest_reset, vm) == 0);
	CU_ASSERT_FATAL(hv_debug_exit_init(vm) == 0);
	pthread_create(&wd, NULL, guest_watchdog, vm);
	why = hv_vm_run(vm);
	pthread_join(wd, NULL);
	CU_ASSERT_EQUAL(why, HV_STOP_RESET);
	CU_ASSERT_EQUAL(k.resets, 1);
	hv_vm_stop_vcpus(vm);
	hv_i8042_destroy(&k);
	hv_vm_destroy(vm);
}

/* --- i8042 ------------------------------------------------------------------ */

static void count_reset(void *opaque)
{
	(*(unsigned *)opaque)++;
}

static void test_i8042_fe_command_requests_reset(void)
{
	struct hv_iobus bus;
	struct hv_i8042 k;
	unsigned resets = 0;

	CU_ASSERT_FATAL(hv_iobus_init(&bus) == 0);
	CU_ASSERT_FATAL(hv_i8042_init(&k, &bus, count_reset, &resets) == 0);
	io_write(&bus, 0x64, 0xfe, 1);
	CU_ASSERT_EQUAL(resets, 1);
	/* Output port with bit 0 clear holds the CPU in reset, too. */
	io_write(&bus, 0x64, 0xd1, 1);
	io_write(&bus, 0x60, 0x00, 1);
	CU_ASSERT_EQUAL(resets, 2);
	io_write(&bus, 0x64, 0xd1, 1);
	io_write(&bus, 0x60, 0x03, 1);
	CU_ASSERT_EQUAL(resets, 2);
	hv_i8042_destroy(&k);
	hv_iobus_destroy(&bus);
}

static void test_i8042_probe_answers_and_ports_are_benign(void)
{
	struct hv_iobus bus;
	struct hv_i8042 k;
	unsigned resets = 0;
	uint8_t p61a, p61b;

	CU_ASSERT_FATAL(hv_iobus_init(&bus) == 0);
	CU_ASSERT_FATAL(hv_i8042_init(&k, &bus, count_reset, &resets) == 0);
	CU_ASSERT_EQUAL(io_read(&bus, 0x64, 1) & 1, 0);
	io_write(&bus, 0x64, 0xaa, 1);
	CU_ASSERT_EQUAL(io_read(&bus, 0x64, 1) & 1, 1);
	CU_ASSERT_EQUAL(io_read(&bus, 0x60, 1), 0x55);
	CU_ASSERT_EQUAL(io_read(&bus, 0x64, 1) & 1, 0);
	io_write(&bus, 0x64, 0x60, 1);
	io_write(&bus, 0x60, 0x20, 1);
	io_write(&bus, 0x64, 0x20, 1);
	CU_ASSERT_EQUAL(io_read(&bus, 0x60, 1), 0x20);
	p61a = (uint8_t)io_read(&bus, 0x61, 1);
	p61b = (uint8_t)io_read(&bus, 0x61, 1);
	CU_ASSERT(p61a & 0x20);
	CU_ASSERT_NOT_EQUAL(p61a & 0x10, p61b & 0x10);
	for (unsigned v = 0; v < 256; v++)
		if (v != 0xfe && v != 0xd1)
			io_write(&bus, 0x64, v, 1);
	io_write(&bus, 0x60, 0xff, 4);
	CU_ASSERT_EQUAL(resets, 0);
	hv_i8042_destroy(&k);
	hv_iobus_destroy(&bus);
}

/* Routes reach KVM with their irqfds (msi_route.c): binding vectors of a
 * function whose MSI-X is off commits nothing; the first deliverable vector
 * commits every pending route at once. */
static void test_msix_irqfd_routes_committed_when_vector_deliverable(void)
{
	struct hv_pci_host_cfg c;
	struct hv_msi_route routes[4];
	unsigned total = 99;
	int kvm, vcpu, vm = kvm_vm_with_irqchip(&kvm, &vcpu), efd[2];

	if (vm < 0) {
		fprintf(stderr, "note: no KVM VM with irqchip here; irqfd test skipped\n");
		return;
	}
	c = host_cfg(vm);
	CU_ASSERT_FATAL(hv_iobus_init(&pio) == 0 && hv_iobus_init(&mmio) == 0);
	CU_ASSERT_FATAL(hv_pci_host_init(&host, &c) == 0);
	CU_ASSERT_FATAL(hv_pci_create_device(&host, "pvkvm-test", NULL, &tdev) == 0);
	for (unsigned i = 0; i < 2; i++) {
		efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		CU_ASSERT_EQUAL(hv_msix_vector_irqfd(tdev, i, efd[i]), 0);
	}
	CU_ASSERT_EQUAL(hv_msi_router_list(host.router, routes, 4, &total), 2);
	CU_ASSERT_EQUAL(total, 0); /* MSI-X off: no KVM_SET_GSI_ROUTING yet */
	msix_setup_vector(0, 0xfee00000, 0x4040);
	hv_msi_router_list(host.router, routes, 4, &total);
	CU_ASSERT_EQUAL(total, 40 + 2); /* PIC+IOAPIC defaults and both routes */
	CU_ASSERT_EQUAL(routes[0].data, 0x4040);
	teardown();
	close(efd[0]);
	close(efd[1]);
	if (vcpu >= 0)
		close(vcpu);
	close(vm);
	close(kvm);
}

static const struct cunit_test pci_kvm_tests[] = {
	CUNIT_TEST(test_msix_irqfd_gets_gsi_route_in_kvm),
	CUNIT_TEST(test_msix_irqfd_routes_committed_when_vector_deliverable),
	CUNIT_TEST(test_msix_irqfd_refused_by_kvm_returns_kvms_error),
	CUNIT_TEST(test_guest_probes_and_moves_bars_through_cf8),
	CUNIT_TEST(test_guest_i8042_fe_stops_vm_for_reset),
	CUNIT_TEST(test_i8042_fe_command_requests_reset),
	CUNIT_TEST(test_i8042_probe_answers_and_ports_are_benign),
};

void test_pci_add_kvm_suite(void)
{
	CUNIT_SUITE("pci_kvm", NULL, NULL, pci_kvm_tests);
}
