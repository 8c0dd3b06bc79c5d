/* SPDX-License-Identifier: MIT */
/* Plugs the i8042 and the firmware tables into every VM (HV_DEVICE).
 *
 * Tables live in the BIOS area the VMM reserves in e820 (0x9fc00-0xfffff):
 * ACPI at 0xE0000 (its RSDP is also where the legacy scan looks) and the MP
 * table at 0xF0000; vm->rsdp_gpa tells the loaders (PVH start info, Linux
 * zero page) where the RSDP is.  They describe what exists when they run
 * (HV_DEV_ORDER_TABLES): the vCPUs, the in-kernel IOAPIC, the PCI bridge. */
#include <errno.h>
#include <stdlib.h>

#include "../acpi.h"
#include "../device.h"
#include "../mptable.h"
#include "../pci/vm_pci.h"
#include "../vm.h"
#include "i8042.h"
#include "pv_log.h"

#define TAG "hv"
#define ACPI_GPA 0xe0000ull
#define ACPI_SIZE 0x10000ull
#define MPTABLE_GPA 0xf0000ull
#define MPTABLE_SIZE 0x10000ull

static void vm_i8042_reset(void *opaque)
{
	hv_vm_request_reset(opaque);
}

static int vm_i8042_init(struct hv_vm *vm)
{
	struct hv_i8042 *k = calloc(1, sizeof(*k));
	int r;

	if (!k)
		return -ENOMEM;
	r = hv_i8042_init(k, &vm->pio, vm_i8042_reset, vm);
	if (r < 0) {
		free(k);
		return r;
	}
	vm->i8042 = k;
	return 0;
}

static void vm_i8042_exit(struct hv_vm *vm)
{
	if (!vm->i8042)
		return;
	hv_i8042_destroy(vm->i8042);
	free(vm->i8042);
	vm->i8042 = NULL;
}

HV_DEVICE(i8042, "i8042", HV_DEV_ORDER_LEGACY, vm_i8042_init, vm_i8042_exit);

static int vm_tables_init(struct hv_vm *vm)
{
	void *acpi = hv_vm_gpa_to_hva(vm, ACPI_GPA, ACPI_SIZE);
	void *mp = hv_vm_gpa_to_hva(vm, MPTABLE_GPA, MPTABLE_SIZE);
	struct hv_acpi_cfg ac = { .nr_cpus = vm->nr_vcpus, .no_ioapic = !vm->irqchip, .com1 = true };
	struct hv_mptable_cfg mc = { .nr_cpus = vm->nr_vcpus };
	int r;

	vm->rsdp_gpa = 0;
	if (!acpi || !mp || vm->ram_below_4g <= 0x100000) {
		pv_log_debug(TAG, "%s: no BIOS area in RAM: no ACPI or MP tables", vm->name);
		return 0;
	}
	if (vm->pci) {
		ac.pci = true;
		ac.pci_io_base = HV_VM_PCI_IO_BASE;
		ac.pci_io_end = HV_VM_PCI_IO_END;
		ac.pci_mmio32_base = HV_VM_PCI_MMIO32_BASE;
		ac.pci_mmio32_end = HV_VM_PCI_MMIO32_END;
		ac.ecam_base = HV_VM_PCI_ECAM_BASE;
		ac.pci_intx_gsi_base = HV_PCI_INTX_GSI_BASE;
		mc.pci_intx_gsi_base = HV_PCI_INTX_GSI_BASE;
	}
	r = hv_acpi_build(acpi, ACPI_SIZE, ACPI_GPA, &ac, &vm->rsdp_gpa);
	if (r < 0)
		return r;
	/* The MP table describes IOAPIC routing; without an irqchip, leave it out. */
	if (vm->irqchip && (r = hv_mptable_build(mp, MPTABLE_SIZE, MPTABLE_GPA, &mc)) < 0)
		return r;
	return 0;
}

static void vm_tables_exit(struct hv_vm *vm)
{
	vm->rsdp_gpa = 0;
}

HV_DEVICE(tables, "acpi-mptable", HV_DEV_ORDER_TABLES, vm_tables_init, vm_tables_exit);
