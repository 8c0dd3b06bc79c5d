/* SPDX-License-Identifier: MIT */
/* ACPI tables for Linux SMP guests without firmware: RSDP (v2), RSDT, XSDT,
 * a hardware-reduced FADT (no PM timer, no SCI; reset register = i8042 port
 * 0x64 value 0xFE), a DSDT with COM1 and the PCI root bridge (windows,
 * _PRT), a MADT
 * (one local APIC per vCPU, the IOAPIC, IRQ0->GSI2 override, LINT1 NMI) and,
 * with ECAM, an MCFG.
 *
 * The guest finds the RSDP through the boot protocol (hvm_start_info's
 * rsdp_paddr, boot_params' acpi_rsdp_addr) or, if the tables are placed in
 * 0xE0000-0xFFFFF, by the legacy scan. */
#ifndef HV_ACPI_H
#define HV_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HV_ACPI_MAX_CPUS 255

struct hv_acpi_cfg {
	unsigned nr_cpus;        /* local APIC IDs and processor UIDs 0..nr_cpus-1 */
	uint32_t lapic_addr;     /* 0: 0xfee00000 */
	uint32_t ioapic_addr;    /* 0: 0xfec00000 */
	uint8_t ioapic_id;       /* 0: nr_cpus */
	bool no_ioapic;          /* leave the IOAPIC and its overrides out */
	/* Declare the 16550 at 0x3f8, IRQ 4 (PNP0501) in the DSDT: with
	 * hardware-reduced ACPI Linux maps ISA IRQs only for declared devices. */
	bool com1;
	/* PCI root bridge in the DSDT (bus 0); all zero: no PCI. */
	bool pci;
	uint32_t pci_io_base, pci_io_end;         /* [base, end) */
	uint64_t pci_mmio32_base, pci_mmio32_end;
	uint64_t pci_mmio64_base, pci_mmio64_end; /* 0/0: none */
	uint64_t ecam_base;                       /* 0: no MCFG (bus 0 only) */
	/* INTA of slot s (1..31) -> GSI base + s % 4, in the root's _PRT; 0: no _PRT. */
	uint8_t pci_intx_gsi_base;
};

/* Builds the tables into dst (len bytes, which the guest sees at gpa,
 * 16-byte aligned).  Returns the number of bytes used or -EINVAL (bad cfg)
 * / -ENOSPC (dst too small); *rsdp_gpa gets the RSDP's address. */
int hv_acpi_build(void *dst, size_t len, uint64_t gpa, const struct hv_acpi_cfg *cfg,
		  uint64_t *rsdp_gpa);

/* Sum of len bytes modulo 256 (0 for a valid table); for tests and checks. */
uint8_t hv_acpi_sum(const void *p, size_t len);

#endif
