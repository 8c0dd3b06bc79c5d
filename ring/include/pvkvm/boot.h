/* SPDX-License-Identifier: MIT */
/*
 * Boot interface between the VMM (or QEMU) and a PVH guest such as the
 * mini-guest.  Layout of Xen's hvm_start_info (arch-x86/hvm/start_info.h),
 * which QEMU's PVH loader also produces, so one binary boots on both.
 *
 * Entry: 32-bit protected mode, paging off, flat 4 GiB CS/DS, %ebx holds the
 * guest-physical address of struct pvh_start_info.  The entry address comes
 * from an ELF note of type PVH_ELFNOTE_PHYS32_ENTRY owned by "Xen".
 * All structures below are written by the VMM before the first instruction
 * and only read by the guest.
 */
#ifndef PVKVM_BOOT_H
#define PVKVM_BOOT_H

#include "abi.h"

#define PVH_ELFNOTE_NAME "Xen"
#define PVH_ELFNOTE_PHYS32_ENTRY 18

#define PVH_START_MAGIC 0x336ec578u
#define PVH_START_VERSION 1

struct pvh_start_info {
	uint32_t magic;          /* PVH_START_MAGIC */
	uint32_t version;        /* 1: memmap fields valid */
	uint32_t flags;          /* 0 */
	uint32_t nr_modules;     /* entries at modlist_paddr (initrd first) */
	uint64_t modlist_paddr;  /* struct pvh_module[nr_modules] */
	uint64_t cmdline_paddr;  /* NUL-terminated command line, 0 if none */
	uint64_t rsdp_paddr;     /* ACPI RSDP, 0 if none */
	uint64_t memmap_paddr;   /* struct pvh_memmap_entry[memmap_entries] */
	uint32_t memmap_entries;
	uint32_t reserved;       /* 0 */
};

struct pvh_module {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;  /* 0 if none */
	uint64_t reserved;
};

/* E820 types */
#define PVH_MEMMAP_RAM      1
#define PVH_MEMMAP_RESERVED 2
#define PVH_MEMMAP_ACPI     3

struct pvh_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;           /* PVH_MEMMAP_* */
	uint32_t reserved;
};

PVKVM_ASSERT_SIZE(struct pvh_start_info, 56);
PVKVM_ASSERT_OFFSET(struct pvh_start_info, modlist_paddr, 16);
PVKVM_ASSERT_OFFSET(struct pvh_start_info, cmdline_paddr, 24);
PVKVM_ASSERT_OFFSET(struct pvh_start_info, rsdp_paddr, 32);
PVKVM_ASSERT_OFFSET(struct pvh_start_info, memmap_paddr, 40);
PVKVM_ASSERT_OFFSET(struct pvh_start_info, memmap_entries, 48);
PVKVM_ASSERT_SIZE(struct pvh_module, 32);
PVKVM_ASSERT_SIZE(struct pvh_memmap_entry, 24);
PVKVM_ASSERT_OFFSET(struct pvh_memmap_entry, type, 16);

/*
 * Fixed legacy I/O ports every pvkvm guest may use (also what the tests pass
 * to QEMU, so the mini-guest behaves the same on both):
 *  - COM1 8250 UART, the console.
 *  - Debug exit: a 32-bit write of status S ends the VM; pvkvm exits with S
 *    (0..255).  QEMU's isa-debug-exit at the same port exits with (S<<1)|1.
 */
#define PVKVM_PORT_COM1       0x3f8
#define PVKVM_PORT_DEBUG_EXIT 0xf4

#endif
