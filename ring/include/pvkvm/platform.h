/* SPDX-License-Identifier: MIT */
/* The pvkvm platform PCI device: how a guest finds pvkvm and talks to it.
 *
 * Discovery: a PCI function with the IDs below.  Its presence means "this guest
 * runs on pvkvm"; its BARs hold the registers the rest of the guest ABI uses
 * (hypercall.h, evtchn.h, grant.h).  docs/platform.md explains the choices.
 *
 *   BAR0  4 KiB MMIO   the registers below, 32-bit accesses only
 *   BAR2  16 B   port I/O  the same registers at the same offsets (for guests that
 *                      prefer port I/O; the mini-guest at CPL3 with IOPL=3 uses it)
 *
 * MSI-X: one vector per vCPU, vector i = event-channel upcall for vCPU i
 * (table and PBA in BAR4).  Polling guests leave MSI-X disabled and set each
 * vcpu_info.upcall_mask (evtchn.h). */
#ifndef PVKVM_PLATFORM_H
#define PVKVM_PLATFORM_H

#include "abi.h"

#define PVKVM_PLAT_VENDOR_ID    0x5056u /* "PV": private, not PCI-SIG assigned */
#define PVKVM_PLAT_DEVICE_ID    0x0001u
#define PVKVM_PLAT_CLASS        0xff8000u /* class ff (unassigned), subclass 80 */
#define PVKVM_PLAT_REVISION     1u

#define PVKVM_PLAT_BAR_MMIO     0
#define PVKVM_PLAT_BAR_PIO      2
#define PVKVM_PLAT_BAR_MSIX     4
#define PVKVM_PLAT_MMIO_SIZE    4096u
#define PVKVM_PLAT_PIO_SIZE     16u

/* Register offsets (bytes) inside BAR0 and BAR2.  All 32-bit, little-endian.
 *
 * DOORBELL (write, guest): the value written is an event-channel port; it is
 *   evtchn send for that port.  For a port bound to a backend the VMM has
 *   registered a KVM ioeventfd on this register with datamatch = port, so the
 *   write completes in the kernel and wakes the backend's eventfd with no exit
 *   to the VMM process.  Writes of other ports exit to the VMM, which treats
 *   them exactly like the evtchn send hypercall (errors are dropped: a doorbell
 *   has no result).  Reads return 0.
 * HCALL_PAGE_LO / HCALL_PAGE_HI (write, guest): guest-physical address of a
 *   4 KiB-aligned page of guest RAM the guest owns.  Writing HI commits: the
 *   VMM validates the address (aligned, inside RAM) and fills the page with
 *   the hypercall stubs (hypercall.h).  Read back: the committed address, or
 *   all-ones if the last commit was refused.
 * HCALL_TRIGGER (write, hypercall stubs only): the slow-path hypercall entry;
 *   the value is the hypercall number, the arguments are in the vCPU's
 *   registers (hypercall.h).  Guests never write it directly.
 * VERSION (read): PVKVM_PLAT_ABI_VERSION.
 * NR_VCPUS (read): the number of vCPUs the VM was created with. */
#define PVKVM_PLAT_REG_DOORBELL       0x00u
#define PVKVM_PLAT_REG_HCALL_TRIGGER  0x04u
#define PVKVM_PLAT_REG_HCALL_PAGE_LO  0x08u
#define PVKVM_PLAT_REG_HCALL_PAGE_HI  0x0cu
/* MMIO only (BAR2 is 16 bytes): */
#define PVKVM_PLAT_REG_VERSION        0x10u
#define PVKVM_PLAT_REG_NR_VCPUS       0x14u

/* Major in bits 31..16, minor in 15..0; a guest refuses a different major. */
#define PVKVM_PLAT_ABI_VERSION  0x00010000u

#endif
