/* SPDX-License-Identifier: MIT */
/* The VM's PCI host bridge (vm->pci), created by the "pci" HV_DEVICE at
 * HV_DEV_ORDER_BUS.  Devices (HV_DEV_ORDER_DEVICE) add themselves with
 * hv_pci_host_add(hv_vm_pci_host(vm), ...) or hv_pci_create_device(). */
#ifndef HV_PCI_VM_PCI_H
#define HV_PCI_VM_PCI_H

#include "pci.h"

struct hv_vm;

/* The guest-physical layout the VMM gives the host bridge. */
#define HV_VM_PCI_IO_BASE     0xc000u
#define HV_VM_PCI_IO_END      0x10000u
#define HV_VM_PCI_MMIO32_BASE 0xc0000000ull /* = HV_PCI_HOLE_START */
#define HV_VM_PCI_MMIO32_END  0xe0000000ull
#define HV_VM_PCI_ECAM_BASE   0xe0000000ull /* bus 0 only: 1 MiB */
#define HV_VM_PCI_ECAM_SIZE   0x100000ull

struct hv_pci {
	struct hv_pci_host host;
};

/* NULL until the "pci" device ran (or if it is not linked in). */
struct hv_pci_host *hv_vm_pci_host(struct hv_vm *vm);

#endif
