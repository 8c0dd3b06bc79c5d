/* SPDX-License-Identifier: MIT */
/* ACPI and MP tables: structure and checksums checked in C.
 *
 * `test_acpi --dump DIR --smp N` writes each ACPI table to DIR/<sig>.dat
 * instead, for tests/integration/hv_acpi_iasl.sh to disassemble with iasl. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "mptable.h"
#include "cunit_main.h"

#define GPA 0xe0000ull
#define BUF_LEN 0x10000

static uint8_t buf[BUF_LEN];

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static struct hv_acpi_cfg cfg_for(unsigned nr_cpus, bool ecam)
{
	return (struct hv_acpi_cfg){
		.nr_cpus = nr_cpus, .pci = true, .com1 = true,
		.pci_io_base = 0xc000, .pci_io_end = 0x10000,
		.pci_mmio32_base = 0xc0000000, .pci_mmio32_end = 0xe0000000,
		.pci_mmio64_base = 0x8000000000ull, .pci_mmio64_end = 0x10000000000ull,
		.ecam_base = ecam ? 0xe0000000 : 0, .pci_intx_gsi_base = 16,
	};
}

/* The table at guest address a, if it lies inside the buffer; NULL otherwise. */
static const uint8_t *table_at(uint64_t a)
{
	uint32_t len;

	if (a < GPA || a + 36 > GPA + BUF_LEN)
		return NULL;
	len = get32(buf + (a - GPA) + 4);
	if (len < 36 || a + len > GPA + BUF_LEN)
		return NULL;
	return buf + (a - GPA);
}

static int build(unsigned nr_cpus, bool ecam, uint64_t *rsdp)
{
	struct hv_acpi_cfg c = cfg_for(nr_cpus, ecam);

	memset(buf, 0xa5, sizeof(buf));
	return hv_acpi_build(buf, sizeof(buf), GPA, &c, rsdp);
}

/* Finds a table by signature through the XSDT. */
static const uint8_t *find_table(uint64_t rsdp, const char *sig)
{
	const uint8_t *xsdt = table_at(get64(buf + (rsdp - GPA) + 24));

	if (!xsdt)
		return NULL;
	for (uint32_t off = 36; off + 8 <= get32(xsdt + 4); off += 8) {
		const uint8_t *t = table_at(get64(xsdt + off));

		if (t && !memcmp(t, sig, 4))
			return t;
	}
	return NULL;
}

static void test_rsdp_v2_checksums_and_pointers(void)
{
	uint64_t rsdp = 0;
	const uint8_t *r;

	CU_ASSERT_FATAL(build(2, true, &rsdp) > 0);
	CU_ASSERT_EQUAL(rsdp & 15, 0);
	r = buf + (rsdp - GPA);
	CU_ASSERT(!memcmp(r, "RSD PTR ", 8));
	CU_ASSERT_EQUAL(r[15], 2);
	CU_ASSERT_EQUAL(hv_acpi_sum(r, 20), 0);
	CU_ASSERT_EQUAL(hv_acpi_sum(r, 36), 0);
	CU_ASSERT_EQUAL(get32(r + 20), 36);
	CU_ASSERT_PTR_NOT_NULL(table_at(get32(r + 16)));
	CU_ASSERT_PTR_NOT_NULL(table_at(get64(r + 24)));
}

static void test_every_table_sums_to_zero_and_rsdt_matches_xsdt(void)
{
	uint64_t rsdp = 0;
	const uint8_t *r, *rsdt, *xsdt;
	unsigned n;

	CU_ASSERT_FATAL(build(4, true, &rsdp) > 0);
	r = buf + (rsdp - GPA);
	rsdt = table_at(get32(r + 16));
	xsdt = table_at(get64(r + 24));
	CU_ASSERT_FATAL(rsdt && xsdt);
	CU_ASSERT(!memcmp(rsdt, "RSDT", 4) && !memcmp(xsdt, "XSDT", 4));
	CU_ASSERT_EQUAL(hv_acpi_sum(rsdt, get32(rsdt + 4)), 0);
	CU_ASSERT_EQUAL(hv_acpi_sum(xsdt, get32(xsdt + 4)), 0);
	n = (get32(xsdt + 4) - 36) / 8;
	CU_ASSERT_EQUAL(n, 3); /* FACP, APIC, MCFG */
	CU_ASSERT_EQUAL((get32(rsdt + 4) - 36) / 4, n);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *t = table_at(get64(xsdt + 36 + 8 * i));

		CU_ASSERT_FATAL(t != NULL);
		CU_ASSERT_EQUAL(get32(rsdt + 36 + 4 * i), get64(xsdt + 36 + 8 * i));
		CU_ASSERT_EQUAL(hv_acpi_sum(t, get32(t + 4)), 0);
		CU_ASSERT_EQUAL((t - buf) % 8, 0);
	}
}

static void test_fadt_is_hw_reduced_and_points_to_valid_dsdt(void)
{
	uint64_t rsdp = 0;
	const uint8_t *f, *d;

	CU_ASSERT_FATAL(build(1, false, &rsdp) > 0);
	f = find_table(rsdp, "FACP");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL(get32(f + 4), 276);
	CU_ASSERT_EQUAL(f[8], 6);
	CU_ASSERT(get32(f + 112) & (1u << 20));
	CU_ASSERT_EQUAL(get32(f + 76), 0);  /* no PM timer */
	CU_ASSERT_EQUAL(f[116], 1);         /* reset register in I/O space */
	CU_ASSERT_EQUAL(get64(f + 120), 0x64);
	CU_ASSERT_EQUAL(f[128], 0xfe);
	CU_ASSERT_EQUAL(get64(f + 140), get32(f + 40));
	d = table_at(get64(f + 140));
	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT(!memcmp(d, "DSDT", 4));
	CU_ASSERT_EQUAL(hv_acpi_sum(d, get32(d + 4)), 0);
	CU_ASSERT_PTR_NOT_NULL(memmem(d, get32(d + 4), "PCI0", 4));
	CU_ASSERT_PTR_NOT_NULL(memmem(d, get32(d + 4), "_CRS", 4));
	CU_ASSERT_PTR_NOT_NULL(memmem(d, get32(d + 4), "_PRT", 4));
	CU_ASSERT_PTR_NOT_NULL(memmem(d, get32(d + 4), "COM1", 4));
	CU_ASSERT_PTR_NULL(find_table(rsdp, "MCFG"));
}

/* Counts MADT subtables of type; checks each length stays inside the table. */
static unsigned madt_count(const uint8_t *m, uint8_t type)
{
	unsigned n = 0;

	for (uint32_t off = 44; off + 2 <= get32(m + 4);) {
		if (m[off + 1] < 2 || off + m[off + 1] > get32(m + 4)) {
			CU_FAIL("MADT subtable runs past the table");
			break;
		}
		if (m[off] == type)
			n++;
		off += m[off + 1];
	}
	return n;
}

static void test_madt_lists_one_local_apic_per_vcpu(void)
{
	static const unsigned cpus[] = { 1, 2, 3, 8, 64, 255 };

	for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		uint64_t rsdp = 0;
		const uint8_t *m;

		CU_ASSERT_FATAL(build(cpus[i], false, &rsdp) > 0);
		m = find_table(rsdp, "APIC");
		CU_ASSERT_FATAL(m != NULL);
		CU_ASSERT_EQUAL(madt_count(m, 0), cpus[i]);
		CU_ASSERT_EQUAL(madt_count(m, 1), 1);
		CU_ASSERT_EQUAL(madt_count(m, 2), 1);
		CU_ASSERT_EQUAL(get32(m + 36), 0xfee00000);
		/* The override: ISA IRQ 0 -> GSI 2. */
		for (uint32_t off = 44; off < get32(m + 4); off += m[off + 1])
			if (m[off] == 2)
				CU_ASSERT(m[off + 3] == 0 && get32(m + off + 4) == 2);
	}
}

static void test_mcfg_describes_ecam_for_bus_0(void)
{
	uint64_t rsdp = 0;
	const uint8_t *m;

	CU_ASSERT_FATAL(build(1, true, &rsdp) > 0);
	m = find_table(rsdp, "MCFG");
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL(get32(m + 4), 60);
	CU_ASSERT_EQUAL(get64(m + 44), 0xe0000000);
	CU_ASSERT_EQUAL(m[54], 0);
	CU_ASSERT_EQUAL(m[55], 0);
}

static void test_bad_config_and_small_buffer_are_refused(void)
{
	struct hv_acpi_cfg c = cfg_for(0, false);
	uint64_t rsdp = 0;
	int used;

	CU_ASSERT_EQUAL(hv_acpi_build(buf, sizeof(buf), GPA, &c, &rsdp), -EINVAL);
	c.nr_cpus = 256;
	CU_ASSERT_EQUAL(hv_acpi_build(buf, sizeof(buf), GPA, &c, &rsdp), -EINVAL);
	c.nr_cpus = 1;
	CU_ASSERT_EQUAL(hv_acpi_build(buf, sizeof(buf), GPA + 8, &c, &rsdp), -EINVAL);
	CU_ASSERT_EQUAL(hv_acpi_build(buf, sizeof(buf), 0xfffffff0ull, &c, &rsdp), -EINVAL);
	c.pci_mmio32_end = c.pci_mmio32_base;
	CU_ASSERT_EQUAL(hv_acpi_build(buf, sizeof(buf), GPA, &c, &rsdp), -EINVAL);
	c = cfg_for(4, true);
	used = hv_acpi_build(buf, sizeof(buf), GPA, &c, &rsdp);
	CU_ASSERT_FATAL(used > 0);
	for (int len = 0; len < used; len += 7)
		CU_ASSERT_EQUAL(hv_acpi_build(buf, (size_t)len, GPA, &c, &rsdp), -ENOSPC);
	CU_ASSERT_EQUAL(hv_acpi_build(buf, (size_t)used, GPA, &c, &rsdp), used);
}

static void test_mptable_checksums_and_processor_entries(void)
{
	static const unsigned cpus[] = { 1, 4, 255 };

	for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		/* With PCI interrupt entries for the middle case only. */
		struct hv_mptable_cfg c = { .nr_cpus = cpus[i], .pci_intx_gsi_base = i == 1 ? 16 : 0 };
		const uint8_t *fps = buf, *hdr;
		unsigned procs = 0, bsps = 0, entries, pci_irqs = 0;
		uint32_t off;
		int used;

		memset(buf, 0xa5, sizeof(buf));
		used = hv_mptable_build(buf, sizeof(buf), 0xf0000, &c);
		CU_ASSERT_FATAL(used > 0 && (size_t)used == hv_mptable_size(&c));
		CU_ASSERT(!memcmp(fps, "_MP_", 4));
		CU_ASSERT_EQUAL(hv_acpi_sum(fps, 16), 0);
		CU_ASSERT_EQUAL(get32(fps + 4), 0xf0010);
		hdr = buf + 16;
		CU_ASSERT(!memcmp(hdr, "PCMP", 4));
		CU_ASSERT_EQUAL(hv_acpi_sum(hdr, hdr[4] | hdr[5] << 8), 0);
		entries = hdr[34] | hdr[35] << 8;
		off = 44;
		for (unsigned e = 0; e < entries; e++) {
			if (hdr[off] == 0) {
				procs++;
				bsps += (hdr[off + 3] & 2) != 0;
				off += 20;
			} else {
				CU_ASSERT(hdr[off] >= 1 && hdr[off] <= 4);
				/* PCI bus 0, INTA of slot s -> pin 16 + s % 4 */
				if (hdr[off] == 3 && hdr[off + 4] == 0) {
					pci_irqs++;
					CU_ASSERT_EQUAL(hdr[off + 7], 16 + (hdr[off + 5] >> 2) % 4);
				}
				off += 8;
			}
		}
		CU_ASSERT_EQUAL(off, (uint32_t)(hdr[4] | hdr[5] << 8));
		CU_ASSERT_EQUAL(procs, cpus[i]);
		CU_ASSERT_EQUAL(bsps, 1);
		CU_ASSERT_EQUAL(pci_irqs, c.pci_intx_gsi_base ? 31u : 0u);
	}
	{
		struct hv_mptable_cfg c = { .nr_cpus = 0 };

		CU_ASSERT_EQUAL(hv_mptable_build(buf, sizeof(buf), 0xf0000, &c), -EINVAL);
		c.nr_cpus = 2;
		CU_ASSERT_EQUAL(hv_mptable_build(buf, 40, 0xf0000, &c), -ENOSPC);
		CU_ASSERT_EQUAL(hv_mptable_build(buf, sizeof(buf), 0xf0004, &c), -EINVAL);
	}
}

static int dump_one(const char *dir, const uint8_t *t)
{
	char path[4096], sig[5];
	FILE *f;
	size_t len = get32(t + 4);

	memcpy(sig, t, 4);
	sig[4] = 0;
	for (int i = 0; i < 4; i++)
		sig[i] = (char)(sig[i] >= 'A' && sig[i] <= 'Z' ? sig[i] + 32 : sig[i]);
	snprintf(path, sizeof(path), "%s/%s.dat", dir, sig);
	f = fopen(path, "wb");
	if (!f || fwrite(t, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "test_acpi: %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

/* Writes every table reachable from the RSDP (and the DSDT) to dir. */
static int dump_tables(const char *dir, unsigned nr_cpus)
{
	uint64_t rsdp = 0;
	const uint8_t *xsdt, *fadt;
	int r = build(nr_cpus, true, &rsdp), bad = 0;

	if (r < 0) {
		fprintf(stderr, "test_acpi: build failed: %s\n", strerror(-r));
		return 1;
	}
	xsdt = table_at(get64(buf + (rsdp - GPA) + 24));
	fadt = find_table(rsdp, "FACP");
	if (!xsdt || !fadt)
		return 1;
	bad |= dump_one(dir, xsdt);
	bad |= dump_one(dir, table_at(get32(buf + (rsdp - GPA) + 16)));
	for (uint32_t off = 36; off + 8 <= get32(xsdt + 4); off += 8)
		bad |= dump_one(dir, table_at(get64(xsdt + off)));
	bad |= dump_one(dir, table_at(get64(fadt + 140)));
	return bad;
}

static const struct cunit_test acpi_tests[] = {
	CUNIT_TEST(test_rsdp_v2_checksums_and_pointers),
	CUNIT_TEST(test_every_table_sums_to_zero_and_rsdt_matches_xsdt),
	CUNIT_TEST(test_fadt_is_hw_reduced_and_points_to_valid_dsdt),
	CUNIT_TEST(test_madt_lists_one_local_apic_per_vcpu),
	CUNIT_TEST(test_mcfg_describes_ecam_for_bus_0),
	CUNIT_TEST(test_bad_config_and_small_buffer_are_refused),
	CUNIT_TEST(test_mptable_checksums_and_processor_entries),
};

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "--dump") && !strcmp(argv[3], "--smp"))
		return dump_tables(argv[2], (unsigned)strtoul(argv[4], NULL, 10));
	if (argc != 1) {
		fprintf(stderr, "usage: test_acpi [--dump DIR --smp N]\n");
		return 2;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CUNIT_SUITE("acpi", NULL, NULL, acpi_tests);
	return cunit_run_all();
}
