/* SPDX-License-Identifier: MIT */
/* Intel MultiProcessor Specification 1.4 tables, for kernels booted without
 * ACPI (acpi=off): the floating pointer, then the configuration table with
 * one processor entry per vCPU, a PCI bus 0 and an ISA bus 1, the IOAPIC,
 * ISA IRQ 0-15 routed to IOAPIC pins (IRQ0 -> pin 2), optionally the PCI
 * slots' INTA, and the local interrupts (LINT0 ExtINT, LINT1 NMI).
 *
 * Linux looks for the floating pointer in the first KiB of the EBDA, the
 * last KiB of base memory (0x9fc00 with 639 KiB) or 0xF0000-0xFFFFF, so
 * build it at one of those addresses (and keep it out of the e820 RAM). */
#ifndef HV_MPTABLE_H
#define HV_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define HV_MPTABLE_MAX_CPUS 255

struct hv_mptable_cfg {
	unsigned nr_cpus;     /* local APIC IDs 0..nr_cpus-1; CPU 0 is the BSP */
	uint32_t lapic_addr;  /* 0: 0xfee00000 */
	uint32_t ioapic_addr; /* 0: 0xfec00000 */
	uint8_t ioapic_id;    /* 0: nr_cpus */
	/* PCI bus 0: INTA of slot s (1..31) -> IOAPIC pin base + s % 4,
	 * level-triggered, active low; 0: no PCI interrupt entries. */
	uint8_t pci_intx_gsi_base;
};

/* Builds the tables into dst (len bytes, seen by the guest at gpa, 16-byte
 * aligned, below 4 GiB).  Returns the bytes used, -EINVAL or -ENOSPC. */
int hv_mptable_build(void *dst, size_t len, uint64_t gpa, const struct hv_mptable_cfg *cfg);

/* The size hv_mptable_build() needs for cfg. */
size_t hv_mptable_size(const struct hv_mptable_cfg *cfg);

#endif
