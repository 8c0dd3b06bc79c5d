/* SPDX-License-Identifier: MIT */
/* struct hv_vm: one guest — the KVM VM, its memory, I/O buses and vCPUs.
 *
 * Threads: the thread that calls hv_vm_run() is the VM's main loop (signals,
 * console input, stop requests); each vCPU runs KVM_RUN in its own thread
 * and dispatches port/MMIO exits through vm->pio / vm->mmio.  Device models
 * run on the vCPU thread that touched them, so they lock their own state.
 *
 * Guest-physical layout: RAM from 0 up to min(mem, HV_PCI_HOLE_START); the
 * PCI hole [HV_PCI_HOLE_START, 4 GiB) holds no RAM (MMIO, LAPIC, IOAPIC);
 * the rest of RAM starts at 4 GiB.  The host maps all RAM as one contiguous
 * MAP_SHARED mapping of vm->memfd (offset = low part, then high part), so a
 * backend that receives the memfd maps the same pages. */
#ifndef HV_VM_H
#define HV_VM_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iobus.h"

#define HV_PCI_HOLE_START 0xc0000000ull /* 3 GiB */
#define HV_4G             0x100000000ull
#define HV_MAX_VCPUS      64
#define HV_MAX_E820       32
#define HV_NAME_MAX       48

/* Signal used to kick vCPU threads out of KVM_RUN (handler does nothing). */
#define HV_SIG_KICK SIGUSR1

/* Exit status of `pvkvm run` for each way a guest can end (hv/README.md). */
enum {
	HV_EXIT_POWEROFF = 0,     /* guest powered off or halted for good */
	HV_EXIT_HOST = 2,         /* KVM or VMM failure while running */
	HV_EXIT_CRASH = 3,        /* guest reported a crash (PV shutdown) */
	HV_EXIT_TRIPLE_FAULT = 4, /* KVM_EXIT_SHUTDOWN */
	HV_EXIT_SIGNAL_BASE = 128 /* + signal number */
};

enum hv_stop_reason {
	HV_STOP_NONE = 0,
	HV_STOP_EXIT,   /* status given (debug-exit port, poweroff, crash, ...) */
	HV_STOP_RESET,  /* guest asked for a reboot */
};

struct hv_vm;

struct kvm_regs;
struct kvm_sregs;

struct hv_vcpu {
	struct hv_vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	uint64_t exits;            /* KVM_RUN returns (exits to this process); own thread only */
	/* hv_vcpu_start(): state the vCPU's own thread loads before KVM_RUN
	 * (KVM_SET_REGS from another thread would wait for KVM_RUN to return). */
	pthread_mutex_t start_lock;
	pthread_cond_t start_cond;
	bool started;              /* vCPU 0: by the loader; others: hv_vcpu_start() */
	bool thread_running;       /* set by the vCPU thread itself, under start_lock */
	bool start_pending;
	struct kvm_regs *start_regs;
	struct kvm_sregs *start_sregs;
};

struct hv_e820 {
	uint64_t addr, size;
	uint32_t type; /* PVH_MEMMAP_* (= E820 types) */
};

struct hv_vm_opts {
	const char *name;
	uint64_t mem_bytes;
	unsigned nr_vcpus;
	bool hugepages;       /* MFD_HUGETLB 2 MiB pages (must be reserved on the host) */
	bool no_irqchip;      /* tests: no in-kernel PIC/IOAPIC/LAPIC/PIT, HLT exits */
	uint16_t domid;       /* the guest's domain id (hv_rundir_claim_domid); 0: 1 */
};

/* Main-loop callback for a file descriptor (console input, signals, control socket). */
typedef void (*hv_poll_fn)(struct hv_vm *vm, int fd, void *opaque);
#define HV_MAX_POLL 16

/* Opaque per-subsystem state other parts hang on the VM. */
struct hv_pci;
struct hv_pv;
struct hv_serial;
struct hv_console;
struct hv_i8042;

struct hv_vm {
	char name[HV_NAME_MAX];
	uint16_t domid;           /* its domain in the store and on event channels */
	int kvm_fd, vm_fd;
	int memfd;
	uint8_t *ram;             /* host mapping of all guest RAM */
	uint64_t ram_bytes;       /* total */
	uint64_t ram_below_4g;    /* [0, ram_below_4g) */
	uint64_t ram_above_4g;    /* [4 GiB, 4 GiB + ram_above_4g) */
	bool hugepages;
	bool irqchip;             /* in-kernel PIC+IOAPIC+LAPIC */
	bool pvm;                 /* host KVM is kvm_pvm (CPL0 emulated) */
	uint32_t tsc_khz;

	struct hv_iobus pio, mmio;

	unsigned nr_vcpus;
	struct hv_vcpu *vcpus;
	struct kvm_cpuid2 *cpuid; /* template, patched per vCPU */

	/* Memory map handed to the guest; loaders read it, ACPI may add to it. */
	struct hv_e820 e820[HV_MAX_E820];
	unsigned nr_e820;
	uint64_t rsdp_gpa;        /* 0 if no ACPI tables */

	/* Stop handshake: any thread calls hv_vm_request_*; the main loop acts. */
	pthread_mutex_t lock;
	enum hv_stop_reason stop_reason;
	int exit_status;
	int stop_efd;             /* eventfd the main loop polls */

	/* Main-loop fds; changed only before hv_vm_run() or from a callback. */
	struct { int fd; hv_poll_fn fn; void *opaque; } poll[HV_MAX_POLL];
	unsigned nr_poll;

	struct hv_serial *serial;
	struct hv_console *console;
	struct hv_pci *pci;
	struct hv_i8042 *i8042;
	struct hv_pv *pv;
};

/* Create the VM: /dev/kvm, memfd RAM (not touched), irqchip, PIT, vCPUs
 * (registers unset).  -errno; on failure *err names what failed. */
int hv_vm_create(struct hv_vm **out, const struct hv_vm_opts *opts, const char **err);
void hv_vm_destroy(struct hv_vm *vm);
/* At the process's final exit, before hv_vm_destroy(): leaves the kernel's
 * teardown of the VM (5-30 ms of SRCU grace periods with an in-kernel
 * irqchip) to a reaper process that holds the VM's fds and our address space
 * until this process has exited, so the exit status is not kept waiting.
 * Points stdio at /dev/null.  Call after everything a user can see is
 * cleaned up (run-dir entries, sockets, terminal).  0 or -errno (then
 * hv_vm_destroy() simply does the teardown itself).  hv/vm_reaper.c. */
int hv_vm_reap_after_exit(struct hv_vm *vm);

/* Host address of [gpa, gpa+len) if it lies entirely in one RAM block, else NULL. */
void *hv_vm_gpa_to_hva(struct hv_vm *vm, uint64_t gpa, uint64_t len);

/* Add an entry to the guest memory map (e.g. ACPI tables); -ENOSPC when full. */
int hv_vm_e820_add(struct hv_vm *vm, uint64_t addr, uint64_t size, uint32_t type);

/* Raise or lower an ISA/GSI interrupt line (in-kernel irqchip). */
int hv_vm_irq_line(struct hv_vm *vm, unsigned irq, int level);

/* Ask the main loop to end the VM with `status` (first request wins), or to reboot. */
void hv_vm_request_stop(struct hv_vm *vm, int status);
void hv_vm_request_reset(struct hv_vm *vm);
bool hv_vm_stopping(struct hv_vm *vm);

/* Watch fd for input in the main loop (readable or hung up → fn). */
int hv_vm_poll_add(struct hv_vm *vm, int fd, hv_poll_fn fn, void *opaque);
void hv_vm_poll_del(struct hv_vm *vm, int fd);

/* Start vCPU threads (vCPU 0 only runnable; others wait for the guest's
 * bring-up through the in-kernel LAPIC), then wait for a stop request.
 * Returns the stop reason; vm->exit_status holds the status. */
enum hv_stop_reason hv_vm_run(struct hv_vm *vm);

/* Starts secondary vCPU `id` at the given registers (a PV vcpu-up; Linux's
 * INIT/SIPI needs nothing from us: the in-kernel LAPIC handles it).  Callable
 * from any thread, typically the caller vCPU's.  -EINVAL bad id, -EBUSY
 * already started.  Without an in-kernel irqchip, secondary vCPUs wait for
 * this before their first KVM_RUN. */
int hv_vcpu_start(struct hv_vm *vm, unsigned id, const struct kvm_regs *regs, const struct kvm_sregs *sregs);

/* Kick every vCPU out of KVM_RUN and join the threads. */
void hv_vm_stop_vcpus(struct hv_vm *vm);

/* Report a vCPU's registers (triple fault, internal error) through pv_log. */
void hv_vcpu_dump(struct hv_vcpu *vcpu, const char *why);

#endif
