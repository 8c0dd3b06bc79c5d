/* SPDX-License-Identifier: MIT */
/* PCI host bridge, device framework, MSI-X and the test device, driven the
 * way a guest drives them: through the iobus, 0xcf8/0xcfc and the BARs.
 * The tests needing a real KVM VM, and the i8042, are in test_pci_kvm.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/testdev.h"
#include "test_pci.h"


/* --- fixture --------------------------------------------------------------- */

#define MMIO32_BASE 0xc0000000ull
#define MMIO64_BASE 0x8000000000ull
#define ECAM_BASE 0xe0000000ull

struct msi_log {
	unsigned n;
	uint64_t addr;
	uint32_t data;
};

struct hv_iobus pio, mmio;
struct hv_pci_host host;
struct hv_pci_dev *tdev;
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

struct hv_pci_host_cfg host_cfg(int vm_fd)
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

void teardown(void)
{
	hv_pci_host_destroy(&host);
	hv_iobus_destroy(&pio);
	hv_iobus_destroy(&mmio);
}

uint32_t io_read(struct hv_iobus *bus, uint64_t addr, unsigned len)
{
	uint32_t v = 0;

	hv_io_dispatch(bus, addr, &v, len, false);
	return len == 4 ? v : v & ((1u << (8 * len)) - 1);
}

void io_write(struct hv_iobus *bus, uint64_t addr, uint32_t v, unsigned len)
{
	hv_io_dispatch(bus, addr, &v, len, true);
}

uint64_t bar_addr_of(struct hv_pci_dev *dev, unsigned bar)
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
uint64_t msix_setup_vector(unsigned v, uint64_t addr, uint32_t data)
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

/* A read running past the end of the PBA gets zeros for the bytes beyond it,
 * not whatever the VMM's buffer held before (kvm_run's stale MMIO data). */
static void test_msix_pba_read_past_its_end_is_zero_filled(void)
{
	unsigned cap, nr;
	uint64_t pba_end;
	uint8_t buf[8];

	setup();
	cap = cap_find(tdev->slot, HV_PCI_CAP_ID_MSIX);
	nr = (cfg_read(tdev->slot, cap + 2, 2) & 0x7ff) + 1;
	pba_end = bar_addr(tdev->slot, 2) + (cfg_read(tdev->slot, cap + 8, 4) & ~7u) +
		  (nr + 63) / 64 * 8;
	memset(buf, 0xaa, sizeof(buf));
	hv_io_dispatch(&mmio, pba_end - 4, buf, 8, false);
	for (unsigned i = 0; i < sizeof(buf); i++)
		CU_ASSERT_EQUAL(buf[i], 0);
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

static void test_msix_irqfd_without_vm_is_enodev(void)
{
	setup();
	CU_ASSERT_EQUAL(hv_msix_vector_irqfd(tdev, 0, 0), -ENODEV);
	CU_ASSERT_EQUAL(hv_msix_vector_irqfd(tdev, 99, 0), -EINVAL);
	CU_ASSERT_EQUAL(hv_pci_msix_notify(tdev, 99), -EINVAL);
	teardown();
}


static const struct cunit_test pci_tests[] = {
	CUNIT_TEST(test_host_bridge_ids_read_through_cf8),
	CUNIT_TEST(test_device_ids_and_class_read_through_cf8),
	CUNIT_TEST(test_absent_devices_read_all_ones),
	CUNIT_TEST(test_cf8_latch_reads_back_and_ignores_narrow_access),
	CUNIT_TEST(test_readonly_bits_stay_readonly),
	CUNIT_TEST(test_unaligned_and_odd_size_config_access),
	CUNIT_TEST(test_bar_sizing_probe_returns_size_mask),
	CUNIT_TEST(test_firmware_assignment_places_bars_in_windows),
	CUNIT_TEST(test_bar_reprogramming_moves_mmio_range),
	CUNIT_TEST(test_io_bar_moves_through_cfc_on_same_bus),
	CUNIT_TEST(test_command_decode_bits_map_and_unmap_bars),
	CUNIT_TEST(test_bar_outside_windows_or_overlapping_does_not_decode),
	CUNIT_TEST(test_capability_walk_finds_msix),
	CUNIT_TEST(test_cap_add_chains_and_runs_out_of_space),
	CUNIT_TEST(test_msix_table_write_delivers_unmasked_vector),
	CUNIT_TEST(test_msix_masked_vector_sets_pba_and_fires_on_unmask),
	CUNIT_TEST(test_msix_function_mask_and_disable_hold_delivery),
	CUNIT_TEST(test_msix_odd_table_accesses_are_ignored),
	CUNIT_TEST(test_msix_pba_read_past_its_end_is_zero_filled),
	CUNIT_TEST(test_hostile_config_and_bar_values_never_crash),
	CUNIT_TEST(test_unknown_device_type_is_enoent),
	CUNIT_TEST(test_slots_fill_up_and_bar_validation),
	CUNIT_TEST(test_msix_irqfd_without_vm_is_enodev),
	CUNIT_TEST(test_intx_pin_line_and_level_follow_the_device),
	CUNIT_TEST(test_intx_shared_gsi_stays_up_while_any_device_asserts),
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CUNIT_SUITE("pci", NULL, NULL, pci_tests);
	test_pci_add_kvm_suite();
	return cunit_run_all();
}
