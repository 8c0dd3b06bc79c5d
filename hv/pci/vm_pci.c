/* SPDX-License-Identifier: MIT */
/* Wires the PCI host bridge into a VM: its buses, VM fd, irqchip routes and
 * memory, and the ECAM window reserved in the guest's memory map. */
#include <errno.h>
#include <stdlib.h>

#include "../device.h"
#include "../vm.h"
#include "pvkvm/boot.h"
#include "vm_pci.h"

struct hv_pci_host *hv_vm_pci_host(struct hv_vm *vm)
{
	return vm->pci ? &vm->pci->host : NULL;
}

static void *vm_pci_gpa_to_hva(void *opaque, uint64_t gpa, uint64_t len)
{
	return hv_vm_gpa_to_hva(opaque, gpa, len);
}

static int vm_pci_init(struct hv_vm *vm)
{
	struct hv_pci_host_cfg c = {
		.pio = &vm->pio, .mmio = &vm->mmio, .vm_fd = vm->vm_fd,
		.kvm_irqchip_routes = vm->irqchip,
		.io_base = HV_VM_PCI_IO_BASE, .io_end = HV_VM_PCI_IO_END,
		.mmio32_base = HV_VM_PCI_MMIO32_BASE, .mmio32_end = HV_VM_PCI_MMIO32_END,
		.ecam_base = HV_VM_PCI_ECAM_BASE,
		.gpa_to_hva = vm_pci_gpa_to_hva, .mem_opaque = vm,
	};
	struct hv_pci *pci = calloc(1, sizeof(*pci));
	int r;

	if (!pci)
		return -ENOMEM;
	r = hv_pci_host_init(&pci->host, &c);
	if (r == 0)
		r = hv_vm_e820_add(vm, HV_VM_PCI_ECAM_BASE, HV_VM_PCI_ECAM_SIZE, PVH_MEMMAP_RESERVED);
	if (r < 0) {
		hv_pci_host_destroy(&pci->host);
		free(pci);
		return r;
	}
	vm->pci = pci;
	return 0;
}

static void vm_pci_exit(struct hv_vm *vm)
{
	if (!vm->pci)
		return;
	hv_pci_host_destroy(&vm->pci->host);
	free(vm->pci);
	vm->pci = NULL;
}

HV_DEVICE(pci, "pci", HV_DEV_ORDER_BUS, vm_pci_init, vm_pci_exit);
