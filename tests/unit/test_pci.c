/* SPDX-License-Identifier: MIT */
/* PCI host bridge, device framework, MSI-X, the test device and the i8042,
 * driven the way a guest drives them: through the iobus, 0xcf8/0xcfc and the
 * BARs.  The MSI-X irqfd test uses a real KVM VM when /dev/kvm allows it. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <pthread.h>
#include <unistd.h>

#include "dev/i8042.h"
#include "loader.h"
#include "serial.h"
#include "vm.h"
#include "dev/testdev.h"
#include "iobus.h"
#include "pci/msi_route.h"
#include "pci/pci.h"


/* --- fixture --------------------------------------------------------------- */

#define MMIO32_BASE 0xc0000000ull
#define MMIO64_BASE 0x8000000000ull
#define ECAM_BASE 0xe0000000ull

struct msi_log {
	unsigned n;
	uint64_t addr;
	uint32_t data;
};

static struct hv_iobus pio, mmio;
static struct hv_pci_host host;
static struct hv_pci_dev *tdev;
static struct msi_log msis;
static int irq_levels[24]; /* last level set per GSI, -1: never */
static unsigned irq_calls;

static int record_irq(void *opaque, unsigned gsi, bool level)
{
	if (gsi < 24)
		irq_levels[gsi] = level;
	irq_calls++;
	return 0;
}

static int record_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct msi_log *l = opaque;

	l->n++;
	l->addr = addr;
	l->data = data;
	return 0;
}

static struct hv_pci_host_cfg host_cfg(int vm_fd)
{
	return (struct hv_pci_host_cfg){
		.pio = &pio, .mmio = &mmio, .vm_fd = vm_fd, .kvm_irqchip_routes = vm_fd >= 0,
		.io_base = 0xc000, .io_end = 0x10000,
		.mmio32_base = MMIO32_BASE, .mmio32_end = ECAM_BASE,
		.mmio64_base = MMIO64_BASE, .mmio64_end = MMIO64_BASE + (1ull << 32),
		.ecam_base = ECAM_BASE,
		.msi_signal = vm_fd >= 0 ? NULL : record_msi, .msi_opaque = &msis,
		.irq_line = vm_fd >= 0 ? NULL : record_irq,
	};
}

static void setup(void)
{
	struct hv_pci_host_cfg c = host_cfg(-1);

	memset(&msis, 0, sizeof(msis));
	memset(irq_levels, 0xff, sizeof(irq_levels));
	irq_calls = 0;
	CU_ASSERT_FATAL(hv_iobus_init(&pio) == 0);
	CU_ASSERT_FATAL(hv_iobus_init(&mmio) == 0);
	CU_ASSERT_FATAL(hv_pci_host_init(&host, &c) == 0);
	CU_ASSERT_FATAL(hv_pci_create_device(&host, "pvkvm-test", NULL, &tdev) == 0);
}

static void teardown(void)
{
	hv_pci_host_destroy(&host);
	hv_iobus_destroy(&pio);
	hv_iobus_destroy(&mmio);
}

static uint32_t io_read(struct hv_iobus *bus, uint64_t addr, unsigned len)
{
	uint32_t v = 0;

	hv_io_dispatch(bus, addr, &v, len, false);
	return len == 4 ? v : v & ((1u << (8 * len)) - 1);
}

static void io_write(struct hv_iobus *bus, uint64_t addr, uint32_t v, unsigned len)
{
	hv_io_dispatch(bus, addr, &v, len, true);
}

static uint64_t bar_addr_of(struct hv_pci_dev *dev, unsigned bar)
{
	uint64_t a = 0;

	return hv_pci_bar_addr(dev, bar, &a) ? a : 0;
}

static uint32_t cf8(unsigned slot, unsigned off)
{
	return 0x80000000u | slot << 11 | (off & 0xfc);
}

static uint32_t cfg_read(unsigned slot, unsigned off, unsigned len)
{
	io_write(&pio, 0xcf8, cf8(slot, off), 4);
	return io_read(&pio, 0xcfc + (off & 3), len);
}

static void cfg_write(unsigned slot, unsigned off, uint32_t v, unsigned len)
{
	io_write(&pio, 0xcf8, cf8(slot, off), 4);
	io_write(&pio, 0xcfc + (off & 3), v, len);
}

static uint64_t bar_addr(unsigned slot, unsigned bar)
{
	uint32_t lo = cfg_read(slot, HV_PCI_BAR0 + 4 * bar, 4);

	if (lo & 1)
		return lo & ~3u;
	if ((lo & 6) == 4)
		return (lo & ~0xfull) | (uint64_t)cfg_read(slot, HV_PCI_BAR0 + 4 * bar + 4, 4) << 32;
	return lo & ~0xfu;
}

/* Walks the capability list from 0x34; returns the offset of id or 0. */
static unsigned cap_find(unsigned slot, uint8_t id)
{
	unsigned off = cfg_read(slot, HV_PCI_CAP_PTR, 1);

	for (int guard = 0; off && guard < 48; guard++) {
		if (cfg_read(slot, off, 1) == id)
			return off;
		off = cfg_read(slot, off + 1, 1);
	}
	return 0;
}

/* Enables MSI-X and programs vector v with addr/data, unmasked. */
static uint64_t msix_setup_vector(unsigned v, uint64_t addr, uint32_t data)
{
	unsigned cap = cap_find(tdev->slot, HV_PCI_CAP_ID_MSIX);
	uint64_t tbl = bar_addr(tdev->slot, 2) + 16 * v;

	cfg_write(tdev->slot, cap + 2, 0x8000, 2);
	io_write(&mmio, tbl, (uint32_t)addr, 4);
	io_write(&mmio, tbl + 4, (uint32_t)(addr >> 32), 4);
	io_write(&mmio, tbl + 8, data, 4);
	io_write(&mmio, tbl + 12, 0, 4);
	return tbl;
}

static void doorbell(unsigned v)
{
	io_write(&mmio, bar_addr(tdev->slot, 0) + HV_TESTDEV_REG_DOORBELL, v, 4);
}

/* --- config space ------------------------------------------------------------ */

static void test_host_bridge_ids_read_through_cf8(void)
{
	setup();
	CU_ASSERT_EQUAL(cfg_read(0, 0, 4), HV_PCI_HOST_DEVICE << 16 | HV_PCI_HOST_VENDOR);
	CU_ASSERT_EQUAL(cfg_read(0, 0x0a, 2), 0x0600);
	teardown();
}

static void test_device_ids_and_class_read_through_cf8(void)
{
	setup();
	CU_ASSERT_EQUAL(tdev->slot, 1);
	CU_ASSERT_EQUAL(cfg_read(1, HV_PCI_VENDOR_ID, 2), HV_TESTDEV_VENDOR);
	CU_ASSERT_EQUAL(cfg_read(1, HV_PCI_DEVICE_ID, 2), HV_TESTDEV_DEVICE);
	CU_ASSERT_EQUAL(cfg_read(1, 0x08, 4) >> 8, 0xff0000);
	CU_ASSERT_EQUAL(cfg_read(1, HV_PCI_HEADER_TYPE, 1), 0);
	teardown();
}

static void test_absent_devices_read_all_ones(void)
{
	setup();
	CU_ASSERT_EQUAL(cfg_read(7, 0, 4), 0xffffffffu);
	CU_ASSERT_EQUAL(cfg_read(31, 0x10, 2), 0xffffu);
	/* Function 1 of a present device, and bus 1. */
	io_write(&pio, 0xcf8, 0x80000000u | 1 << 11 | 1 << 8, 4);
	CU_ASSERT_EQUAL(io_read(&pio, 0xcfc, 4), 0xffffffffu);
	io_write(&pio, 0xcf8, 0x80000000u | 1 << 16, 4);
	CU_ASSERT_EQUAL(io_read(&pio, 0xcfc, 4), 0xffffffffu);
	/* Enable bit clear: no config cycle at all. */
	io_write(&pio, 0xcf8, 1 << 11, 4);
	CU_ASSERT_EQUAL(io_read(&pio, 0xcfc, 4), 0xffffffffu);
	/* Writes to nothing are dropped, and slot 1 is unchanged. */
	cfg_write(7, 4, 0xffff, 2);
	CU_ASSERT_EQUAL(cfg_read(1, 0, 2), HV_TESTDEV_VENDOR);
	teardown();
}

static void test_cf8_latch_reads_back_and_ignores_narrow_access(void)
{
	setup();
	io_write(&pio, 0xcf8, 0x80000810u, 4);
	CU_ASSERT_EQUAL(io_read(&pio, 0xcf8, 4), 0x80000810u);
	io_write(&pio, 0xcfb, 0x01, 1); /* Linux's type-1 probe pokes 0xcfb */
	CU_ASSERT_EQUAL(io_read(&pio, 0xcf8, 4), 0x80000810u);
	CU_ASSERT_EQUAL(io_read(&pio, 0xcf9, 1), 0xff);
	teardown();
}

static void test_readonly_bits_stay_readonly(void)
{
	uint32_t ids, cls, status_cap;

	setup();
	ids = cfg_read(1, 0, 4);
	cls = cfg_read(1, 8, 4);
	status_cap = cfg_read(1, HV_PCI_STATUS, 2);
	cfg_write(1, 0, 0, 4);
	cfg_write(1, 8, 0x12345678, 4);
	cfg_write(1, HV_PCI_STATUS, 0, 2);
	cfg_write(1, HV_PCI_CAP_PTR, 0, 1);
	cfg_write(1, HV_PCI_HEADER_TYPE, 0x80, 1);
	cfg_write(1, HV_PCI_INT_PIN, 1, 1);
	CU_ASSERT_EQUAL(cfg_read(1, 0, 4), ids);
	CU_ASSERT_EQUAL(cfg_read(1, 8, 4), cls);
	CU_ASSERT_EQUAL(cfg_read(1, HV_PCI_STATUS, 2), status_cap);
	CU_ASSERT(cfg_read(1, HV_PCI_CAP_PTR, 1) != 0);
	CU_ASSERT_EQUAL(cfg_read(1, HV_PCI_HEADER_TYPE, 1), 0);
	CU_ASSERT_EQUAL(cfg_read(1, HV_PCI_INT_PIN, 1), 0);
	/* Writable: interrupt line; command keeps only its defined bits. */
	cfg_write(1, HV_PCI_INT_LINE, 0x0b, 1);
	CU_ASSERT_EQUAL(cfg_read(1, HV_PCI_INT_LINE, 1), 0x0b);
	CU_ASSERT_FALSE(hv_pci_bus_master_enabled(tdev));
	cfg_write(1, HV_PCI_COMMAND, 0xffff, 2);
	CU_ASSERT_EQUAL(cfg_read(1, HV_PCI_COMMAND, 2), 0x0407);
	CU_ASSERT(hv_pci_bus_master_enabled(tdev));
	/* No expansion ROM: sizing reads zero. */
	cfg_write(1, HV_PCI_ROM_ADDRESS, 0xffffffff, 4);
	CU_ASSERT_EQUAL(cfg_read(1, HV_PCI_ROM_ADDRESS, 4), 0);
	teardown();
}

static void test_unaligned_and_odd_size_config_access(void)
{
	uint32_t dw;

	setup();
	dw = cfg_read(1, 0, 4);
	io_write(&pio, 0xcf8, cf8(1, 0), 4);
	CU_ASSERT_EQUAL(io_read(&pio, 0xcfd, 1), (dw >> 8) & 0xff);
	CU_ASSERT_EQUAL(io_read(&pio, 0xcfe, 2), dw >> 16);
	CU_ASSERT_EQUAL(io_read(&pio, 0xcfd, 2), (dw >> 8) & 0xffff);
	/* A word at 0xcff runs past the data window: the first byte only. */
	CU_ASSERT_EQUAL(io_read(&pio, 0xcff, 2) & 0xff, dw >> 24);
	/* A dword at 0xcfe: clipped, never past the window. */
	io_read(&pio, 0xcfe, 4);
	/* ECAM sees the same bytes, at any size. */
	CU_ASSERT_EQUAL(io_read(&mmio, ECAM_BASE + (1 << 15), 4), dw);
	CU_ASSERT_EQUAL(io_read(&mmio, ECAM_BASE + (1 << 15) + 3, 1), dw >> 24);
	CU_ASSERT_EQUAL(io_read(&mmio, ECAM_BASE + (1 << 15) + 0x100, 4), 0);
	CU_ASSERT_EQUAL(io_read(&mmio, ECAM_BASE + (9 << 15), 4), 0xffffffffu);
	teardown();
}

/* --- BARs ------------------------------------------------------------------- */

static void test_bar_sizing_probe_returns_size_mask(void)
{
	uint32_t bar0, bar1;

	setup();
	bar0 = cfg_read(1, 0x10, 4);
	bar1 = cfg_read(1, 0x14, 4);
	cfg_write(1, 0x10, 0xffffffff, 4);
	CU_ASSERT_EQUAL(cfg_read(1, 0x10, 4), 0xfffff000u); /* 4 KiB, mem32 */
	cfg_write(1, 0x14, 0xffffffff, 4);
	CU_ASSERT_EQUAL(cfg_read(1, 0x14, 4), 0x0000fff1u); /* 16 ports, I/O */
	cfg_write(1, 0x18, 0xffffffff, 4);
	cfg_write(1, 0x1c, 0xffffffff, 4);
	CU_ASSERT_EQUAL(cfg_read(1, 0x18, 4), 0xfffff004u); /* 4 KiB, mem64 */
	CU_ASSERT_EQUAL(cfg_read(1, 0x1c, 4), 0xffffffffu);
	cfg_write(1, 0x20, 0xffffffff, 4); /* unused BAR */
	CU_ASSERT_EQUAL(cfg_read(1, 0x20, 4), 0);
	cfg_write(1, 0x10, bar0, 4);
	cfg_write(1, 0x14, bar1, 4);
	CU_ASSERT_EQUAL(cfg_read(1, 0x10, 4), bar0);
	CU_ASSERT_EQUAL(cfg_read(1, 0x14, 4), bar1);
	teardown();
}

static void test_firmware_assignment_places_bars_in_windows(void)
{
	setup();
	CU_ASSERT(bar_addr(1, 0) >= MMIO32_BASE && bar_addr(1, 0) < ECAM_BASE);
	CU_ASSERT(bar_addr(1, 1) >= 0xc000 && bar_addr(1, 1) < 0x10000);
	CU_ASSERT(bar_addr(1, 2) >= MMIO64_BASE);
	CU_ASSERT_EQUAL(cfg_read(1, HV_PCI_COMMAND, 2) & 3, 3);
	CU_ASSERT_EQUAL(io_read(&mmio, bar_addr(1, 0), 4), HV_TESTDEV_MAGIC);
	CU_ASSERT_EQUAL(io_read(&pio, bar_addr(1, 1) + 4, 4), HV_TESTDEV_MAGIC);
	teardown();
}

static void test_bar_reprogramming_moves_mmio_range(void)
{
	uint64_t old, now, hit;
	uint32_t v = 0;

	setup();
	old = bar_addr(1, 0);
	cfg_write(1, 0x10, 0xd0000000u, 4);
	CU_ASSERT_EQUAL(bar_addr(1, 0), 0xd0000000u);
	/* The old address is inside the bridge's window but nothing decodes it. */
	CU_ASSERT(hv_io_dispatch(&mmio, old, &v, 4, false));
	CU_ASSERT_EQUAL(v, 0xffffffffu);
	CU_ASSERT_EQUAL(io_read(&mmio, 0xd0000000u, 4), HV_TESTDEV_MAGIC);
	CU_ASSERT(hv_pci_bar_addr(tdev, 0, &hit) && hit == 0xd0000000u);
	/* The 64-bit BAR moves when either half changes. */
	cfg_write(1, 0x18, 0x10000000, 4);
	now = bar_addr(1, 2);
	CU_ASSERT_EQUAL(now, MMIO64_BASE + 0x10000000);
	CU_ASSERT(hv_pci_bar_addr(tdev, 2, &hit) && hit == now);
	/* High half 0: 0x10000000 is RAM, outside every window: no decode... */
	cfg_write(1, 0x1c, 0, 4);
	CU_ASSERT_FALSE(hv_pci_bar_addr(tdev, 2, &hit));
	/* ...until the low half points into the 32-bit window. */
	cfg_write(1, 0x18, 0xd0100000u, 4);
	CU_ASSERT(hv_pci_bar_addr(tdev, 2, &hit) && hit == 0xd0100000u);
	teardown();
}

static void test_io_bar_moves_through_cfc_on_same_bus(void)
{
	setup();
	cfg_write(1, 0x14, 0xd000, 4);
	CU_ASSERT_EQUAL(io_read(&pio, 0xd004, 4), HV_TESTDEV_MAGIC);
	io_write(&pio, 0xd000, 0xabcd1234u, 4);
	CU_ASSERT_EQUAL(io_read(&pio, 0xd000, 4), 0xabcd1234u);
	/* Port addresses are 16 bits: the upper half of the BAR is read-only. */
	cfg_write(1, 0x14, 0xabcdfff0, 4);
	CU_ASSERT_EQUAL(cfg_read(1, 0x14, 4), 0xfff1);
	CU_ASSERT_EQUAL(io_read(&pio, 0xfff4, 4), HV_TESTDEV_MAGIC);
	teardown();
}

static void test_command_decode_bits_map_and_unmap_bars(void)
{
	uint64_t a;
	uint32_t v;

	setup();
	a = bar_addr(1, 0);
	cfg_write(1, HV_PCI_COMMAND, HV_PCI_CMD_IO, 2);
	CU_ASSERT_FALSE(hv_pci_bar_addr(tdev, 0, &(uint64_t){ 0 }));
	CU_ASSERT_EQUAL(io_read(&mmio, a, 4), 0xffffffffu);
	CU_ASSERT_EQUAL(io_read(&pio, bar_addr(1, 1) + 4, 4), HV_TESTDEV_MAGIC);
	cfg_write(1, HV_PCI_COMMAND, HV_PCI_CMD_MEM, 2);
	v = io_read(&pio, bar_addr(1, 1) + 4, 4);
	CU_ASSERT_EQUAL(v, 0xffffffffu);
	CU_ASSERT_EQUAL(io_read(&mmio, a, 4), HV_TESTDEV_MAGIC);
	teardown();
}

static void test_bar_outside_windows_or_overlapping_does_not_decode(void)
{
	struct hv_pci_dev *second;
	uint64_t a, a1;

	setup();
	/* Onto the ECAM window, outside the MMIO window: no decode. */
	cfg_write(1, 0x10, (uint32_t)ECAM_BASE, 4);
	CU_ASSERT_FALSE(hv_pci_bar_addr(tdev, 0, &a));
	CU_ASSERT_EQUAL(io_read(&mmio, ECAM_BASE, 2), HV_PCI_HOST_VENDOR);
	cfg_write(1, 0x10, 0xd0000000u, 4);
	CU_ASSERT(hv_pci_bar_addr(tdev, 0, &a) && a == 0xd0000000u);
	/* Onto another device's BAR: the first one keeps it. */
	CU_ASSERT_FATAL(hv_pci_create_device(&host, "pvkvm-test", NULL, &second) == 0);
	CU_ASSERT_FATAL(hv_pci_bar_addr(second, 0, &a1));
	cfg_write((unsigned)second->slot, 0x10, 0xd0000000u, 4);
	CU_ASSERT_FALSE(hv_pci_bar_addr(second, 0, &a1));
	io_write(&mmio, 0xd0000000u + HV_TESTDEV_REG_SCRATCH, 77, 4);
	CU_ASSERT_EQUAL(((struct hv_testdev *)tdev)->scratch, 77);
	CU_ASSERT_EQUAL(((struct hv_testdev *)second)->scratch, 0);
	teardown();
}

/* --- capabilities and MSI-X --------------------------------------------------- */

static void test_capability_walk_finds_msix(void)
{
	unsigned cap;

	setup();
	CU_ASSERT(cfg_read(1, HV_PCI_STATUS, 2) & HV_PCI_STATUS_CAP_LIST);
	cap = cap_find(1, HV_PCI_CAP_ID_MSIX);
	CU_ASSERT_FATAL(cap >= 0x40);
	CU_ASSERT_EQUAL(cfg_read(1, cap + 2, 2) & 0x7ff, HV_TESTDEV_NR_VECTORS - 1);
	CU_ASSERT_EQUAL(cfg_read(1, cap + 4, 4), 0x000 | 2); /* table at 0 in BAR2 */
	CU_ASSERT_EQUAL(cfg_read(1, cap + 8, 4), 0x800 | 2); /* PBA at 0x800 */
	CU_ASSERT_EQUAL(cap_find(0, HV_PCI_CAP_ID_MSIX), 0);
	teardown();
}

static void test_cap_add_chains_and_runs_out_of_space(void)
{
	struct hv_pci_dev d;
	uint8_t body[30] = { 0 };
	int first, r = 0, n = 0;

	hv_pci_dev_init(&d, "caps", 1, 2, 0, 0);
	first = hv_pci_cap_add(&d, HV_PCI_CAP_ID_VNDR, body, sizeof(body), NULL);
	CU_ASSERT_EQUAL(first, 0x40);
	CU_ASSERT_EQUAL(d.cfg[HV_PCI_CAP_PTR], 0x40);
	while ((r = hv_pci_cap_add(&d, HV_PCI_CAP_ID_VNDR, body, sizeof(body), NULL)) > 0)
		n++;
	CU_ASSERT_EQUAL(r, -ENOSPC);
	CU_ASSERT_EQUAL(n, 5); /* 6 x 32 bytes fit in 0x40..0xff */
	CU_ASSERT_EQUAL(d.cfg[0x41], 0x60);
}

static void test_msix_table_write_delivers_unmasked_vector(void)
{
	setup();
	msix_setup_vector(1, 0xfee01000, 0x4041);
	doorbell(1);
	CU_ASSERT_EQUAL(msis.n, 1);
	CU_ASSERT_EQUAL(msis.addr, 0xfee01000);
	CU_ASSERT_EQUAL(msis.data, 0x4041);
	CU_ASSERT_FALSE(hv_pci_msix_masked(tdev, 1));
	teardown();
}

static void test_msix_masked_vector_sets_pba_and_fires_on_unmask(void)
{
	uint64_t tbl, pba;

	setup();
	tbl = msix_setup_vector(2, 0xfee00000, 0x31);
	pba = bar_addr(1, 2) + 0x800;
	io_write(&mmio, tbl + 12, 1, 4);
	CU_ASSERT_EQUAL(io_read(&mmio, tbl + 12, 4), 1);
	doorbell(2);
	CU_ASSERT_EQUAL(msis.n, 0);
	CU_ASSERT_EQUAL(io_read(&mmio, pba, 4), 1u << 2);
	CU_ASSERT(hv_pci_msix_pending(tdev, 2));
	io_write(&mmio, tbl + 12, 0, 4);
	CU_ASSERT_EQUAL(msis.n, 1);
	CU_ASSERT_EQUAL(msis.data, 0x31);
	CU_ASSERT_EQUAL(io_read(&mmio, pba, 4), 0);
	/* PBA is read-only. */
	io_write(&mmio, pba, 0xff, 4);
	CU_ASSERT_EQUAL(io_read(&mmio, pba, 4), 0);
	teardown();
}

static void test_msix_function_mask_and_disable_hold_delivery(void)
{
	unsigned cap;

	setup();
	msix_setup_vector(0, 0xfee00000, 0x22);
	cap = cap_find(1, HV_PCI_CAP_ID_MSIX);
	cfg_write(1, cap + 2, 0xc000, 2); /* enabled + function mask */
	CU_ASSERT_EQUAL(cfg_read(1, cap + 2, 2), 0xc000 | (HV_TESTDEV_NR_VECTORS - 1));
	doorbell(0);
	CU_ASSERT_EQUAL(msis.n, 0);
	cfg_write(1, cap + 2, 0x8000, 2);
	CU_ASSERT_EQUAL(msis.n, 1);
	cfg_write(1, cap + 2, 0x0000, 2); /* disabled */
	doorbell(0);
	CU_ASSERT_EQUAL(msis.n, 1);
	CU_ASSERT(hv_pci_msix_masked(tdev, 0));
	teardown();
}

static void test_msix_odd_table_accesses_are_ignored(void)
{
	uint64_t tbl;

	setup();
	tbl = msix_setup_vector(3, 0xfee00000, 0x55);
	io_write(&mmio, tbl + 8, 0x99, 1);     /* byte write: ignored */
	io_write(&mmio, tbl + 10, 0x9999, 2);  /* word write: ignored */
	io_write(&mmio, tbl + 6, 0x77, 4);     /* misaligned dword: ignored */
	CU_ASSERT_EQUAL(io_read(&mmio, tbl + 8, 4), 0x55);
	CU_ASSERT_EQUAL(io_read(&mmio, tbl + 8, 2), 0xffff);
	/* Reserved vector-control bits read as zero. */
	io_write(&mmio, tbl + 12, 0xfffffffe, 4);
	CU_ASSERT_EQUAL(io_read(&mmio, tbl + 12, 4), 0);
	/* A qword write sets address low+high at once. */
	{
		uint64_t q = 0x00000001fee02000ull;

		hv_io_dispatch(&mmio, tbl, &q, 8, true);
		CU_ASSERT_EQUAL(io_read(&mmio, tbl + 4, 4), 1);
	}
	teardown();
}

static void test_hostile_config_and_bar_values_never_crash(void)
{
	unsigned seed = 12345;

	setup();
	for (int i = 0; i < 20000; i++) {
		unsigned r = (unsigned)rand_r(&seed), len = 1u << (r % 3);
		uint32_t v = (uint32_t)rand_r(&seed) * 2654435761u;
		uint64_t a;

		io_write(&pio, 0xcf8, (uint32_t)rand_r(&seed) | 0x80000000u, 4);
		if (r & 8)
			io_write(&pio, 0xcfc + (r >> 4) % 4, v, len);
		else
			io_read(&pio, 0xcfc + (r >> 4) % 4, len);
		if (hv_pci_bar_addr(tdev, 2, &a)) { /* MSI-X table and PBA, any size */
			uint64_t q = (uint64_t)v << 32 | r, off = a + (v % 4096);
			unsigned qlen = 1u << ((r >> 8) % 4);

			hv_io_dispatch(&mmio, off, &q, qlen, (r >> 12) & 1);
			hv_pci_msix_notify(tdev, (r >> 16) % HV_TESTDEV_NR_VECTORS);
		}
		if (hv_pci_bar_addr(tdev, 0, &a))
			io_write(&mmio, a + (v % 4096), v, len);
		io_write(&mmio, ECAM_BASE + (r % (1u << 20)), v, len);
	}
	/* The host bridge still answers. */
	CU_ASSERT_EQUAL(cfg_read(0, 0, 2), HV_PCI_HOST_VENDOR);
	teardown();
}

static void test_unknown_device_type_is_enoent(void)
{
	setup();
	CU_ASSERT_EQUAL(hv_pci_create_device(&host, "no-such-device", NULL, NULL), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(hv_pci_dev_type_find("pvkvm-test"));
	teardown();
}

static void test_slots_fill_up_and_bar_validation(void)
{
	struct hv_pci_dev d;
	int n = 0;

	setup();
	while (hv_pci_create_device(&host, "pvkvm-test", NULL, NULL) == 0)
		n++;
	CU_ASSERT(n >= 1 && n <= HV_PCI_MAX_SLOTS - 2);
	hv_pci_dev_init(&d, "bad", 1, 2, 0, 0);
	CU_ASSERT_EQUAL(hv_pci_bar_init(&d, 0, HV_PCI_BAR_IO, 3, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(hv_pci_bar_init(&d, 0, HV_PCI_BAR_IO, 512, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(hv_pci_bar_init(&d, 5, HV_PCI_BAR_MMIO64, 4096, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(hv_pci_bar_init(&d, 6, HV_PCI_BAR_MMIO32, 4096, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(hv_pci_bar_init(&d, 0, HV_PCI_BAR_MMIO32, 4096, NULL, NULL), 0);
	CU_ASSERT_EQUAL(hv_pci_bar_init(&d, 0, HV_PCI_BAR_MMIO32, 4096, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(hv_pci_msix_init(&d, 4, 0, 4, 0x800), -EINVAL);   /* misaligned */
	CU_ASSERT_EQUAL(hv_pci_msix_init(&d, 4, 0, 0, 0x20), -EINVAL);    /* overlap */
	CU_ASSERT_EQUAL(hv_pci_msix_init(&d, 512, 0, 0, 0x800), -EINVAL); /* too big */
	CU_ASSERT_EQUAL(hv_pci_msix_init(&d, 4, 0, 0, 0x800), 0);
	hv_pci_dev_cleanup(&d);
	teardown();
}

/* --- INTx ------------------------------------------------------------------- */

static struct hv_pci_dev *intx_dev_add(struct hv_pci_dev *d, int slot)
{
	hv_pci_dev_init(d, "intx", 0x8086, 0x100e, 0x020000, 0);
	hv_pci_intx_init(d);
	CU_ASSERT_FATAL(hv_pci_host_add(&host, d, slot) == 0);
	return d;
}

static void test_intx_pin_line_and_level_follow_the_device(void)
{
	struct hv_pci_dev d;

	setup();
	intx_dev_add(&d, 6);
	CU_ASSERT_EQUAL(cfg_read(6, HV_PCI_INT_PIN, 1), 1);
	CU_ASSERT_EQUAL(cfg_read(6, HV_PCI_INT_LINE, 1), HV_PCI_INTX_GSI(6));
	CU_ASSERT_EQUAL(HV_PCI_INTX_GSI(6), 18);
	CU_ASSERT_EQUAL(hv_pci_intx_set(&d, true), 0);
	CU_ASSERT_EQUAL(irq_levels[18], 1);
	CU_ASSERT(cfg_read(6, HV_PCI_STATUS, 2) & 0x08);
	/* INTX_DISABLE drops the line but keeps the status bit. */
	cfg_write(6, HV_PCI_COMMAND, HV_PCI_CMD_INTX_DISABLE, 2);
	CU_ASSERT_EQUAL(irq_levels[18], 0);
	CU_ASSERT(cfg_read(6, HV_PCI_STATUS, 2) & 0x08);
	cfg_write(6, HV_PCI_COMMAND, 0, 2);
	CU_ASSERT_EQUAL(irq_levels[18], 1);
	CU_ASSERT_EQUAL(hv_pci_intx_set(&d, false), 0);
	CU_ASSERT_EQUAL(irq_levels[18], 0);
	CU_ASSERT_FALSE(cfg_read(6, HV_PCI_STATUS, 2) & 0x08);
	/* A device without a pin has none. */
	CU_ASSERT_EQUAL(hv_pci_intx_set(tdev, true), -EINVAL);
	CU_ASSERT_EQUAL(cfg_read(1, HV_PCI_INT_PIN, 1), 0);
	host.slots[6] = NULL; /* d lives on this stack */
	teardown();
}

static void test_intx_shared_gsi_stays_up_while_any_device_asserts(void)
{
	struct hv_pci_dev a, b;
	unsigned calls;

	setup();
	intx_dev_add(&a, 3);
	intx_dev_add(&b, 7); /* 3 % 4 == 7 % 4: same GSI 19 */
	hv_pci_intx_set(&a, true);
	hv_pci_intx_set(&b, true);
	calls = irq_calls;
	CU_ASSERT_EQUAL(irq_levels[19], 1);
	hv_pci_intx_set(&a, false);
	CU_ASSERT_EQUAL(irq_levels[19], 1);
	hv_pci_intx_set(&a, false); /* repeated: no change */
	CU_ASSERT_EQUAL(irq_calls, calls);
	hv_pci_intx_set(&b, false);
	CU_ASSERT_EQUAL(irq_levels[19], 0);
	host.slots[3] = host.slots[7] = NULL;
	teardown();
}

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
	/* INTx goes through KVM_IRQ_LINE on the in-kernel IOAPIC. */
	{
		struct hv_pci_dev d;

		hv_pci_dev_init(&d, "intx", 0x8086, 0x100e, 0x020000, 0);
		hv_pci_intx_init(&d);
		CU_ASSERT_FATAL(hv_pci_host_add(&host, &d, 9) == 0);
		CU_ASSERT_EQUAL(hv_pci_intx_set(&d, true), 0);
		CU_ASSERT_EQUAL(hv_pci_intx_set(&d, false), 0);
		host.slots[9] = NULL;
	}
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

static void test_msix_irqfd_without_vm_is_enodev(void)
{
	setup();
	CU_ASSERT_EQUAL(hv_msix_vector_irqfd(tdev, 0, 0), -ENODEV);
	CU_ASSERT_EQUAL(hv_msix_vector_irqfd(tdev, 99, 0), -EINVAL);
	CU_ASSERT_EQUAL(hv_pci_msix_notify(tdev, 99), -EINVAL);
	teardown();
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

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
#define T(f) { #f, f }
		T(test_host_bridge_ids_read_through_cf8),
		T(test_device_ids_and_class_read_through_cf8),
		T(test_absent_devices_read_all_ones),
		T(test_cf8_latch_reads_back_and_ignores_narrow_access),
		T(test_readonly_bits_stay_readonly),
		T(test_unaligned_and_odd_size_config_access),
		T(test_bar_sizing_probe_returns_size_mask),
		T(test_firmware_assignment_places_bars_in_windows),
		T(test_bar_reprogramming_moves_mmio_range),
		T(test_io_bar_moves_through_cfc_on_same_bus),
		T(test_command_decode_bits_map_and_unmap_bars),
		T(test_bar_outside_windows_or_overlapping_does_not_decode),
		T(test_capability_walk_finds_msix),
		T(test_cap_add_chains_and_runs_out_of_space),
		T(test_msix_table_write_delivers_unmasked_vector),
		T(test_msix_masked_vector_sets_pba_and_fires_on_unmask),
		T(test_msix_function_mask_and_disable_hold_delivery),
		T(test_msix_odd_table_accesses_are_ignored),
		T(test_hostile_config_and_bar_values_never_crash),
		T(test_unknown_device_type_is_enoent),
		T(test_slots_fill_up_and_bar_validation),
		T(test_msix_irqfd_without_vm_is_enodev),
		T(test_intx_pin_line_and_level_follow_the_device),
		T(test_intx_shared_gsi_stays_up_while_any_device_asserts),
		T(test_msix_irqfd_gets_gsi_route_in_kvm),
		T(test_msix_irqfd_routes_committed_when_vector_deliverable),
		T(test_guest_probes_and_moves_bars_through_cf8),
		T(test_guest_i8042_fe_stops_vm_for_reset),
		T(test_i8042_fe_command_requests_reset),
		T(test_i8042_probe_answers_and_ports_are_benign),
#undef T
	};
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("pci", NULL, NULL);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
