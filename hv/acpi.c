/* SPDX-License-Identifier: MIT */
/* ACPI table builder (see acpi.h).  Layouts from the ACPI 6.3 specification:
 * every table is a 36-byte header plus its body, 8-byte aligned, and sums to
 * zero modulo 256. */
#include <errno.h>
#include <string.h>

#include "acpi.h"

#define OEM_ID "PVKVM "
#define OEM_TABLE_ID "PVKVMTBL"
#define CREATOR_ID "PVKV"
#define HDR_LEN 36
#define FADT_LEN 276
#define AML_MAX 2048
#define AML_DEPTH 6

struct acpi_buf {
	uint8_t *p;
	size_t len, pos;
	uint64_t gpa;
	int err;
};

uint8_t hv_acpi_sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *b++);
	return s;
}

static void put(uint8_t *p, size_t off, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

/* Reserves len bytes at 8-byte alignment; returns their offset in the buffer. */
static size_t buf_alloc(struct acpi_buf *b, size_t len)
{
	size_t off = (b->pos + 7) & ~(size_t)7;

	if (b->err || off + len > b->len || off + len < off) {
		b->err = -ENOSPC;
		return 0;
	}
	memset(b->p + off, 0, len);
	b->pos = off + len;
	return off;
}

static uint64_t buf_gpa(const struct acpi_buf *b, size_t off)
{
	return b->gpa + off;
}

/* Fills the standard header and sets the checksum; the body is in place. */
static void table_finish(struct acpi_buf *b, size_t off, const char *sig, uint32_t len,
			 uint8_t rev)
{
	uint8_t *t = b->p + off;

	if (b->err)
		return;
	memcpy(t, sig, 4);
	put(t, 4, len, 4);
	t[8] = rev;
	t[9] = 0;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID, 8);
	put(t, 24, 1, 4);
	memcpy(t + 28, CREATOR_ID, 4);
	put(t, 32, 1, 4);
	t[9] = (uint8_t)-hv_acpi_sum(t, len);
}

/* --- AML for the DSDT ----------------------------------------------------- */

struct aml {
	uint8_t b[AML_MAX];
	size_t n;
	size_t open[AML_DEPTH]; /* positions of unfinished PkgLengths */
	unsigned depth;
	bool overflow;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->n + n > sizeof(a->b)) {
		a->overflow = true;
		return;
	}
	memcpy(a->b + a->n, p, n);
	a->n += n;
}

static void aml_byte(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

static void aml_int(struct aml *a, uint64_t v)
{
	if (v <= 1) {
		aml_byte(a, (uint8_t)v); /* ZeroOp / OneOp */
	} else if (v <= 0xff) {
		aml_byte(a, 0x0a);
		aml_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, 0x0b);
		aml_le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, 0x0c);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, 0x0e);
		aml_le(a, v, 8);
	}
}

/* Opens a PkgLength; aml_pkg_end() encodes it once the contents are known. */
static void aml_pkg_begin(struct aml *a)
{
	if (a->depth == AML_DEPTH) {
		a->overflow = true;
		return;
	}
	a->open[a->depth++] = a->n;
}

static void aml_pkg_end(struct aml *a)
{
	size_t start, body, total;
	uint8_t enc[3];
	unsigned k;

	if (a->overflow || a->depth == 0)
		return;
	start = a->open[--a->depth];
	body = a->n - start;
	if (body + 1 < 0x40) {
		total = body + 1;
		enc[0] = (uint8_t)total;
		k = 1;
	} else if (body + 2 < 0x1000) {
		total = body + 2;
		enc[0] = (uint8_t)(0x40 | (total & 0xf));
		enc[1] = (uint8_t)(total >> 4);
		k = 2;
	} else {
		total = body + 3;
		enc[0] = (uint8_t)(0x80 | (total & 0xf));
		enc[1] = (uint8_t)(total >> 4);
		enc[2] = (uint8_t)(total >> 12);
		k = 3;
	}
	if (a->n + k > sizeof(a->b)) {
		a->overflow = true;
		return;
	}
	memmove(a->b + start + k, a->b + start, body);
	memcpy(a->b + start, enc, k);
	a->n += k;
}

static void aml_name_int(struct aml *a, const char *seg, uint64_t v)
{
	aml_byte(a, 0x08); /* NameOp */
	aml_bytes(a, seg, 4);
	aml_int(a, v);
}

/* Word (0x88), DWord (0x87) or QWord (0x8a) address space descriptor.
 * type: 0 memory, 1 I/O, 2 bus numbers; [min, max] inclusive. */
static void aml_addr_space(struct aml *a, unsigned size, uint8_t type, uint8_t tflags,
			   uint64_t min, uint64_t max)
{
	static const uint8_t tag[9] = { [2] = 0x88, [4] = 0x87, [8] = 0x8a };

	aml_byte(a, tag[size]);
	aml_le(a, 3 + 5 * size, 2);
	aml_byte(a, type);
	aml_byte(a, 0x0c); /* producer, MinFixed, MaxFixed, positive decode */
	aml_byte(a, tflags);
	aml_le(a, 0, size);       /* granularity */
	aml_le(a, min, size);
	aml_le(a, max, size);
	aml_le(a, 0, size);       /* translation offset */
	aml_le(a, max - min + 1, size);
}

/* _CRS of the root bridge: bus 0, the config ports, and the BAR windows. */
static void aml_pci_crs(struct aml *a, const struct hv_acpi_cfg *c)
{
	static const uint8_t cf8_ports[] = { 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08 };
	size_t size_at;

	aml_byte(a, 0x08);
	aml_bytes(a, "_CRS", 4);
	aml_byte(a, 0x11); /* BufferOp */
	aml_pkg_begin(a);
	aml_byte(a, 0x0b); /* WordConst buffer size, patched below */
	size_at = a->n;
	aml_le(a, 0, 2);
	aml_addr_space(a, 2, 2, 0, 0, 0);
	aml_bytes(a, cf8_ports, sizeof(cf8_ports));
	aml_addr_space(a, 2, 1, 3, 0, 0x0cf7);
	if (c->pci_io_end > c->pci_io_base)
		aml_addr_space(a, 2, 1, 3, c->pci_io_base, c->pci_io_end - 1);
	aml_addr_space(a, 4, 0, 1, c->pci_mmio32_base, c->pci_mmio32_end - 1);
	if (c->pci_mmio64_end > c->pci_mmio64_base)
		aml_addr_space(a, 8, 0, 1, c->pci_mmio64_base, c->pci_mmio64_end - 1);
	aml_byte(a, 0x79); /* end tag; checksum 0 = "treat as valid" */
	aml_byte(a, 0);
	if (!a->overflow)
		put(a->b, size_at, a->n - size_at - 2, 2);
	aml_pkg_end(a);
}

/* _PRT: INTA of each slot to its GSI (no link devices: source = 0). */
static void aml_pci_prt(struct aml *a, const struct hv_acpi_cfg *c)
{
	aml_byte(a, 0x08);
	aml_bytes(a, "_PRT", 4);
	aml_byte(a, 0x12); /* PackageOp */
	aml_pkg_begin(a);
	aml_byte(a, 31);   /* slots 1..31 */
	for (unsigned slot = 1; slot < 32; slot++) {
		aml_byte(a, 0x12);
		aml_pkg_begin(a);
		aml_byte(a, 4);
		aml_int(a, (uint64_t)slot << 16 | 0xffff); /* any function of slot */
		aml_int(a, 0);                             /* pin INTA */
		aml_int(a, 0);                             /* source: a GSI */
		aml_int(a, c->pci_intx_gsi_base + slot % 4);
		aml_pkg_end(a);
	}
	aml_pkg_end(a);
}

/* Device (COM1): PNP0501 at 0x3f8-0x3ff, IRQ 4 (edge, active high). */
static void aml_com1(struct aml *a)
{
	static const uint8_t crs[] = {
		0x11, 0x10, 0x0a, 0x0d,                         /* Buffer (13) */
		0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, /* IO (Decode16, 0x3f8, 8) */
		0x22, 0x10, 0x00,                               /* IRQNoFlags () {4} */
		0x79, 0x00,                                     /* end tag */
	};

	aml_byte(a, 0x5b); /* DeviceOp */
	aml_byte(a, 0x82);
	aml_pkg_begin(a);
	aml_bytes(a, "COM1", 4);
	aml_name_int(a, "_HID", 0x0105d041); /* EisaId("PNP0501") */
	aml_name_int(a, "_UID", 0);
	aml_byte(a, 0x08);
	aml_bytes(a, "_CRS", 4);
	aml_bytes(a, crs, sizeof(crs));
	aml_pkg_end(a);
}

static void aml_pci_root(struct aml *a, const struct hv_acpi_cfg *c)
{
	aml_byte(a, 0x5b); /* DeviceOp */
	aml_byte(a, 0x82);
	aml_pkg_begin(a);
	aml_bytes(a, "PCI0", 4);
	aml_name_int(a, "_HID", 0x030ad041); /* EisaId("PNP0A03") */
	if (c->ecam_base)
		aml_name_int(a, "_CID", 0x080ad041); /* EisaId("PNP0A08"): PCIe */
	aml_name_int(a, "_UID", 0);
	aml_name_int(a, "_SEG", 0);
	aml_name_int(a, "_BBN", 0);
	aml_pci_crs(a, c);
	if (c->pci_intx_gsi_base && !c->no_ioapic)
		aml_pci_prt(a, c);
	aml_pkg_end(a);
}

static size_t build_dsdt(struct acpi_buf *b, const struct hv_acpi_cfg *c)
{
	struct aml a = { .n = 0 };
	size_t off;

	if (c->pci || c->com1) {
		aml_byte(&a, 0x10); /* Scope (\\_SB) */
		aml_pkg_begin(&a);
		aml_bytes(&a, "\\_SB_", 5);
		if (c->com1)
			aml_com1(&a);
		if (c->pci)
			aml_pci_root(&a, c);
		aml_pkg_end(&a);
	}
	if (a.overflow) {
		b->err = -ENOSPC;
		return 0;
	}
	off = buf_alloc(b, HDR_LEN + a.n);
	if (!b->err)
		memcpy(b->p + off + HDR_LEN, a.b, a.n);
	table_finish(b, off, "DSDT", (uint32_t)(HDR_LEN + a.n), 2);
	return off;
}

/* --- FADT, MADT, MCFG, root tables ----------------------------------------- */

static void gas_io8(uint8_t *p, uint16_t port)
{
	p[0] = 1;  /* system I/O space */
	p[1] = 8;  /* register bit width */
	p[2] = 0;  /* bit offset */
	p[3] = 1;  /* byte access */
	put(p, 4, port, 8);
}

static size_t build_fadt(struct acpi_buf *b, size_t dsdt)
{
	size_t off = buf_alloc(b, FADT_LEN);
	uint8_t *t = b->p + off;

	if (b->err)
		return 0;
	put(t, 40, buf_gpa(b, dsdt), 4);
	/* IAPC_BOOT_ARCH: no VGA, no CMOS RTC probing quirks; 8042 not
	 * advertised, so Linux does not probe a keyboard that is not there. */
	put(t, 109, 1u << 2, 2);
	/* Flags: WBINVD, power/sleep buttons absent, RESET_REG_SUP, HW_REDUCED_ACPI. */
	put(t, 112, 1u << 0 | 1u << 4 | 1u << 5 | 1u << 10 | 1u << 20, 4);
	gas_io8(t + 116, 0x64);
	t[128] = 0xfe; /* reset value: i8042 "pulse reset line" */
	t[131] = 3;    /* FADT minor version: ACPI 6.3 */
	put(t, 140, buf_gpa(b, dsdt), 8);
	table_finish(b, off, "FACP", FADT_LEN, 6);
	return off;
}

static size_t build_madt(struct acpi_buf *b, const struct hv_acpi_cfg *c)
{
	size_t len = HDR_LEN + 8 + 8 * c->nr_cpus + 6 + (c->no_ioapic ? 0 : 12 + 10);
	size_t off = buf_alloc(b, len), p;
	uint8_t *t = b->p + off;

	if (b->err)
		return 0;
	put(t, 36, c->lapic_addr ? c->lapic_addr : 0xfee00000u, 4);
	put(t, 40, 1, 4); /* PCAT_COMPAT: dual 8259s present */
	p = 44;
	for (unsigned i = 0; i < c->nr_cpus; i++, p += 8) {
		t[p] = 0; /* processor local APIC */
		t[p + 1] = 8;
		t[p + 2] = (uint8_t)i; /* ACPI processor UID */
		t[p + 3] = (uint8_t)i; /* APIC ID */
		put(t, p + 4, 1, 4);   /* enabled */
	}
	if (!c->no_ioapic) {
		t[p] = 1; /* I/O APIC */
		t[p + 1] = 12;
		t[p + 2] = c->ioapic_id ? c->ioapic_id : (uint8_t)c->nr_cpus;
		put(t, p + 4, c->ioapic_addr ? c->ioapic_addr : 0xfec00000u, 4);
		put(t, p + 8, 0, 4); /* GSI base */
		p += 12;
		t[p] = 2; /* interrupt source override: ISA IRQ0 (PIT) -> GSI 2 */
		t[p + 1] = 10;
		t[p + 2] = 0;
		t[p + 3] = 0;
		put(t, p + 4, 2, 4);
		put(t, p + 8, 0, 2); /* conforms to bus: edge, active high */
		p += 10;
	}
	t[p] = 4; /* local APIC NMI: all processors, LINT1 */
	t[p + 1] = 6;
	t[p + 2] = 0xff;
	put(t, p + 3, 0, 2);
	t[p + 5] = 1;
	table_finish(b, off, "APIC", (uint32_t)len, 5);
	return off;
}

static size_t build_mcfg(struct acpi_buf *b, const struct hv_acpi_cfg *c)
{
	size_t len = HDR_LEN + 8 + 16, off = buf_alloc(b, len);
	uint8_t *t = b->p + off;

	if (b->err)
		return 0;
	put(t, 44, c->ecam_base, 8);
	put(t, 52, 0, 2); /* segment */
	t[54] = 0;        /* start bus */
	t[55] = 0;        /* end bus */
	table_finish(b, off, "MCFG", (uint32_t)len, 1);
	return off;
}

static size_t build_sdt(struct acpi_buf *b, const char *sig, const size_t *tables,
			unsigned n, unsigned entry_size)
{
	size_t len = HDR_LEN + entry_size * n, off = buf_alloc(b, len);

	if (b->err)
		return 0;
	for (unsigned i = 0; i < n; i++)
		put(b->p + off, HDR_LEN + entry_size * i, buf_gpa(b, tables[i]), entry_size);
	table_finish(b, off, sig, (uint32_t)len, 1);
	return off;
}

static void build_rsdp(struct acpi_buf *b, size_t rsdp, size_t rsdt, size_t xsdt)
{
	uint8_t *t = b->p + rsdp;

	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, OEM_ID, 6);
	t[15] = 2; /* ACPI 2.0+ */
	put(t, 16, buf_gpa(b, rsdt), 4);
	put(t, 20, 36, 4);
	put(t, 24, buf_gpa(b, xsdt), 8);
	t[8] = (uint8_t)-hv_acpi_sum(t, 20);
	t[32] = (uint8_t)-hv_acpi_sum(t, 36);
}

static bool cfg_valid(const struct hv_acpi_cfg *c, uint64_t gpa, size_t len)
{
	if (c->nr_cpus == 0 || c->nr_cpus > HV_ACPI_MAX_CPUS || (gpa & 15) ||
	    gpa + len > (1ull << 32) || gpa + len < gpa)
		return false; /* the RSDT holds 32-bit pointers */
	if (c->pci && (c->pci_mmio32_base >= c->pci_mmio32_end ||
		       c->pci_mmio32_end > (1ull << 32) || c->pci_io_end > 0x10000 ||
		       c->pci_io_base > c->pci_io_end || c->pci_mmio64_base > c->pci_mmio64_end))
		return false;
	return true;
}

int hv_acpi_build(void *dst, size_t len, uint64_t gpa, const struct hv_acpi_cfg *cfg,
		  uint64_t *rsdp_gpa)
{
	struct acpi_buf b = { .p = dst, .len = len, .gpa = gpa };
	size_t rsdp, dsdt, tables[3], rsdt, xsdt;
	unsigned n = 0;

	if (!cfg_valid(cfg, gpa, len))
		return -EINVAL;
	rsdp = buf_alloc(&b, 36);
	dsdt = build_dsdt(&b, cfg);
	tables[n++] = build_fadt(&b, dsdt);
	tables[n++] = build_madt(&b, cfg);
	if (cfg->ecam_base)
		tables[n++] = build_mcfg(&b, cfg);
	rsdt = build_sdt(&b, "RSDT", tables, n, 4);
	xsdt = build_sdt(&b, "XSDT", tables, n, 8);
	if (b.err)
		return b.err;
	build_rsdp(&b, rsdp, rsdt, xsdt);
	*rsdp_gpa = buf_gpa(&b, rsdp);
	return (int)b.pos;
}
