/* SPDX-License-Identifier: MIT */
/* MP table builder (see mptable.h); layouts from the MP spec 1.4, ch. 4. */
#include <errno.h>
#include <string.h>

#include "mptable.h"

#define FPS_LEN 16
#define HDR_LEN 44
#define CPU_LEN 20
#define ENTRY_LEN 8
#define NR_ISA_IRQS 16
#define BUS_PCI 0
#define BUS_ISA 1

static void put(uint8_t *p, size_t off, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

#define NR_PCI_SLOTS 31 /* slot 0 is the host bridge */

/* Entries after the processors: 2 buses, the IOAPIC, 15 ISA IRQs, the PCI
 * slots' INTA, 2 LINTs. */
static unsigned nr_other_entries(const struct hv_mptable_cfg *cfg)
{
	return 2 + 1 + (NR_ISA_IRQS - 1) + (cfg->pci_intx_gsi_base ? NR_PCI_SLOTS : 0) + 2;
}

size_t hv_mptable_size(const struct hv_mptable_cfg *cfg)
{
	return FPS_LEN + HDR_LEN + (size_t)cfg->nr_cpus * CPU_LEN + nr_other_entries(cfg) * ENTRY_LEN;
}

static uint8_t *entry_irq(uint8_t *e, uint8_t type, uint8_t irqtype, uint8_t bus, uint8_t irq,
			  uint8_t dst_id, uint8_t dst_pin)
{
	e[0] = type; /* 3: I/O interrupt, 4: local interrupt */
	e[1] = irqtype;
	put(e, 2, bus == BUS_PCI ? 0x0f : 0, 2); /* PCI: level, active low; ISA: conform */
	e[4] = bus;
	e[5] = irq;
	e[6] = dst_id;
	e[7] = dst_pin;
	return e + ENTRY_LEN;
}

static uint8_t *entry_bus(uint8_t *e, uint8_t id, const char *name)
{
	e[0] = 1;
	e[1] = id;
	memcpy(e + 2, name, 6);
	return e + ENTRY_LEN;
}

int hv_mptable_build(void *dst, size_t len, uint64_t gpa, const struct hv_mptable_cfg *cfg)
{
	size_t need = hv_mptable_size(cfg);
	uint8_t *fps = dst, *hdr = fps + FPS_LEN, *e = hdr + HDR_LEN;
	uint8_t ioapic = cfg->ioapic_id ? cfg->ioapic_id : (uint8_t)cfg->nr_cpus;

	if (cfg->nr_cpus == 0 || cfg->nr_cpus > HV_MPTABLE_MAX_CPUS || (gpa & 15) ||
	    gpa + need > (1ull << 32))
		return -EINVAL;
	if (len < need)
		return -ENOSPC;
	memset(dst, 0, need);
	for (unsigned i = 0; i < cfg->nr_cpus; i++, e += CPU_LEN) {
		e[0] = 0;
		e[1] = (uint8_t)i;                   /* local APIC ID */
		e[2] = 0x14;                         /* local APIC version */
		e[3] = (uint8_t)(1 | (i == 0) << 1); /* enabled, BSP */
		put(e, 4, 0x600, 4);                 /* CPU signature: family 6 */
		put(e, 8, 0x201, 4);                 /* features: FPU, APIC */
	}
	e = entry_bus(e, BUS_PCI, "PCI   ");
	e = entry_bus(e, BUS_ISA, "ISA   ");
	e[0] = 2; /* I/O APIC */
	e[1] = ioapic;
	e[2] = 0x11;
	e[3] = 1; /* usable */
	put(e, 4, cfg->ioapic_addr ? cfg->ioapic_addr : 0xfec00000u, 4);
	e += ENTRY_LEN;
	/* ISA IRQ n -> pin n, except the PIT's IRQ0, which is wired to pin 2. */
	for (uint8_t irq = 0; irq < NR_ISA_IRQS; irq++) {
		if (irq == 2)
			continue;
		e = entry_irq(e, 3, 0, BUS_ISA, irq, ioapic, irq == 0 ? 2 : irq);
	}
	for (uint8_t slot = 1; cfg->pci_intx_gsi_base && slot <= NR_PCI_SLOTS; slot++)
		e = entry_irq(e, 3, 0, BUS_PCI, (uint8_t)(slot << 2), ioapic,
			      (uint8_t)(cfg->pci_intx_gsi_base + slot % 4));
	e = entry_irq(e, 4, 3, BUS_ISA, 0, 0xff, 0); /* ExtINT -> LINT0 */
	e = entry_irq(e, 4, 1, BUS_ISA, 0, 0xff, 1); /* NMI -> LINT1 */

	memcpy(hdr, "PCMP", 4);
	put(hdr, 4, (size_t)(e - hdr), 2);
	hdr[6] = 4; /* spec revision 1.4 */
	memcpy(hdr + 8, "PVKVM   ", 8);
	memcpy(hdr + 16, "PVKVM-VM    ", 12);
	put(hdr, 34, cfg->nr_cpus + nr_other_entries(cfg), 2);
	put(hdr, 36, cfg->lapic_addr ? cfg->lapic_addr : 0xfee00000u, 4);
	hdr[7] = (uint8_t)-sum(hdr, (size_t)(e - hdr));

	memcpy(fps, "_MP_", 4);
	put(fps, 4, gpa + FPS_LEN, 4);
	fps[8] = 1; /* length in 16-byte units */
	fps[9] = 4;
	fps[10] = (uint8_t)-sum(fps, FPS_LEN);
	return (int)need;
}
