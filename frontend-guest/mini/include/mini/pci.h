/* SPDX-License-Identifier: MIT */
/*
 * PCI bus 0 through configuration mechanism 1 (ports 0xcf8/0xcfc, legal at
 * CPL3 with IOPL=3).  The VMM (pvkvm, or firmware under QEMU -M pc) has
 * assigned the BARs and enabled decoding; we only read them, so scanning
 * moves nothing.  QEMU's microvm has no such bus: the scan finds nothing.
 */
#ifndef MINI_PCI_H
#define MINI_PCI_H

#include "mini/mini.h"

#define MINI_PCI_MAX_DEVS 32

enum { MINI_PCI_BAR_NONE, MINI_PCI_BAR_IO, MINI_PCI_BAR_MEM32, MINI_PCI_BAR_MEM64 };

struct mini_pci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint32_t class_rev;           /* class << 8 | revision */
	struct {
		uint8_t type;             /* MINI_PCI_BAR_* (the upper half of a 64-bit BAR: NONE) */
		uint64_t addr;
	} bar[6];
};

uint32_t mini_pci_cfg_read32(const struct mini_pci_dev *d, unsigned off);
void mini_pci_cfg_write32(const struct mini_pci_dev *d, unsigned off, uint32_t v);
/* Finds every function on bus 0 (once; later calls return the same table). */
unsigned mini_pci_scan(const struct mini_pci_dev **devs);
/* The first function with these IDs, or NULL. */
const struct mini_pci_dev *mini_pci_find(uint16_t vendor, uint16_t device);
/* Config-space offset of capability id, or 0. */
unsigned mini_pci_find_cap(const struct mini_pci_dev *d, uint8_t id);
/* Sets memory/IO decode and bus mastering in the command register. */
void mini_pci_enable(const struct mini_pci_dev *d);

#endif
