/* SPDX-License-Identifier: MIT */
/* pvkvm hypercalls: numbers, calling convention and argument structures.
 *
 * The guest writes the GPA of a page it owns to the platform device's
 * HCALL_PAGE registers (platform.h); the VMM fills it with one 32-byte stub
 * per hypercall.  A guest calls hypercall_page + 32 * nr with the System V
 * registers rdi, rsi, rdx, r10, r8 holding arguments 1..5; the result comes
 * back in rax: >= 0 on success, -errno (Linux values) on failure.  The stub
 * clobbers rax and r11 only.  Stub bytes are the VMM's business (today: load
 * nr into eax, the trigger register's MMIO address into r11, store eax to
 * (r11), ret: an MMIO exit to the VMM that reads and writes the registers) so
 * the mechanism can change without changing guests.  Stubs are callable from
 * CPL3 (the mini-guest) when the page and the BAR are mapped user-accessible.
 *
 * Pointer arguments are guest-physical addresses (GPAs).  The VMM copies an
 * argument structure out of guest RAM once, validates it, acts, and writes
 * back only the documented OUT fields.  A GPA that is misaligned for its
 * structure, crosses out of RAM, or wraps is -EFAULT.  Unknown hypercall
 * numbers and sub-commands are -ENOSYS; reserved fields must be zero (-EINVAL)
 * so they can be given a meaning later. */
#ifndef PVKVM_HYPERCALL_H
#define PVKVM_HYPERCALL_H

#include "abi.h"

#define PVKVM_HCALL_STUB_SIZE 32u
#define PVKVM_HCALL_MAX       16u /* stubs in the page; nr >= this: -ENOSYS */

/* version(cmd): cmd VERSION_GET -> PVKVM_PLAT_ABI_VERSION;
 * cmd FEATURES_GET -> bitmap of PVKVM_FEAT_*. */
#define PVKVM_HC_VERSION        0u
#define PVKVM_VERSION_GET       0u
#define PVKVM_FEATURES_GET      1u
#define PVKVM_FEAT_EVTCHN_2L    (1u << 0)
#define PVKVM_FEAT_GNTTAB_V1    (1u << 1)
#define PVKVM_FEAT_VCPU_UP      (1u << 2)
#define PVKVM_FEAT_DOORBELL     (1u << 3)

/* evtchn_op(cmd, arg_gpa): cmd is PVKVM_EVTCHNOP_* and arg the matching
 * struct from evtchn.h. */
#define PVKVM_HC_EVTCHN_OP      1u

/* grant_table_setup(frames_gpa, nr_frames): frames_gpa points to nr_frames
 * uint64_t GFNs of pages the guest allocated for its grant table (grant.h),
 * 8-byte aligned, inside RAM.  Each GFN must be inside RAM and distinct.
 * Replaces any earlier list (grow by re-registering the longer list; backends
 * get the new list pushed).  nr_frames 0 unregisters.  1 <= nr_frames <=
 * PVKVM_GNT_MAX_FRAMES or -EINVAL.  Returns 0. */
#define PVKVM_HC_GRANT_SETUP    2u

/* shared_info(gfn): the page that holds struct pvkvm_shared_info (evtchn.h).
 * The VMM never clears it (the guest does, before registering).  gfn inside
 * RAM or -EFAULT.  May be called again to move it (the VMM and attached
 * backends switch; events raised during the switch may be seen on the old
 * page only, so a guest moving it re-scans).  Returns 0. */
#define PVKVM_HC_SHARED_INFO    3u

/* store_op(cmd, arg): the store ring (Xen's xenstore_domain_interface shape,
 * xs_ring.h) and its event channel.
 *   STORE_GET_GFN:     -> GFN of the ring page, or -ENOENT if none.  The VMM
 *                      reserves a page outside the guest's RAM map: the first
 *                      GET_GFN makes it the ring (zeroed) and returns it.
 *   STORE_GET_EVTCHN:  -> the store event-channel port, or -ENOENT
 *   STORE_SET_GFN(gfn): the guest supplies its own ring page instead (before
 *                      any GET_GFN); the VMM zeroes it and binds a port.
 *                      -EEXIST if a ring is already set.  Returns the port. */
#define PVKVM_HC_STORE_OP       4u
#define PVKVM_STORE_GET_GFN     0u
#define PVKVM_STORE_GET_EVTCHN  1u
#define PVKVM_STORE_SET_GFN     2u

/* sched_op(cmd, reason): cmd SCHED_SHUTDOWN with reason POWEROFF, REBOOT or
 * CRASH ends the VM with the matching on_poweroff / on_reboot / on_crash
 * action of its configuration.  Does not return on success; -EINVAL for an
 * unknown reason. */
#define PVKVM_HC_SCHED_OP       5u
#define PVKVM_SCHED_SHUTDOWN    0u
#define PVKVM_SHUTDOWN_POWEROFF 0u
#define PVKVM_SHUTDOWN_REBOOT   1u
#define PVKVM_SHUTDOWN_CRASH    2u

/* console_write(gpa, len): len bytes at gpa to the VMM's log, for early
 * debugging.  len <= PVKVM_CONSOLE_MAX, else -EINVAL.  Returns len. */
#define PVKVM_HC_CONSOLE_WRITE  6u
#define PVKVM_CONSOLE_MAX       1024u

/* vcpu_up(vcpu, regs_gpa): start secondary vCPU `vcpu` (1 <= vcpu < NR_VCPUS,
 * not yet started, else -EINVAL / -EBUSY) with struct pvkvm_vcpu_regs.  The
 * new vCPU copies the caller's control and segment state (CR0, CR4, EFER,
 * GDT/IDT, segments) so a 64-bit guest needs no INIT/SIPI and no real-mode
 * trampoline; rip/rsp/rdi/cr3/rflags come from the struct.  Returns 0 once
 * the vCPU is runnable. */
#define PVKVM_HC_VCPU_UP        7u

#define PVKVM_HC_NR             8u

/* Written by the guest, read once by the VMM. */
struct pvkvm_vcpu_regs {
	uint64_t rip;
	uint64_t rsp;
	uint64_t rdi;    /* first argument to the entry function */
	uint64_t cr3;    /* 0: copy the caller's */
	uint64_t rflags; /* bit 1 is forced on; IF and IOPL as given */
	uint64_t reserved[3]; /* must be zero */
};
PVKVM_ASSERT_SIZE(struct pvkvm_vcpu_regs, 64);
PVKVM_ASSERT_OFFSET(struct pvkvm_vcpu_regs, rflags, 32);

#endif
