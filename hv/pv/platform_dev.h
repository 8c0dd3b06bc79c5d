/* SPDX-License-Identifier: MIT */
/* The PV platform device's registers (pvkvm/platform.h) and the KVM glue of
 * the platform: hypercall page stubs, the hypercall exit, and doorbell
 * ioeventfds that follow the BARs.  The PCI function itself (config space,
 * BAR sizing, MSI-X vectors -> upcall irqfds) is registered with the PCI
 * framework by the VMM; it calls pv_plat_dev_set_bars() whenever the guest
 * programs a BAR and routes BAR0/BAR2 accesses to pv_plat_dev_io(), except
 * HCALL_TRIGGER writes, which need the vCPU: pv_plat_dev_hcall_exit(). */
#ifndef HV_PV_PLATFORM_DEV_H
#define HV_PV_PLATFORM_DEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "plat.h"

#define PV_BAR_UNSET UINT64_MAX

struct pv_plat_dev {
	pthread_mutex_t lock;
	struct pv_plat *plat;
	int vm_fd;           /* for KVM_IOEVENTFD; -1: no KVM (tests) */
	uint64_t bar0_gpa;   /* MMIO registers, or PV_BAR_UNSET */
	uint64_t bar2_port;  /* port I/O registers, or PV_BAR_UNSET */
	uint32_t page_lo;
	uint64_t page_gpa;   /* committed hypercall page, or UINT64_MAX */
	unsigned refusals_logged; /* a guest must not flood the log */
	int db_efd[PVKVM_EVTCHN_NR_PORTS]; /* bound doorbells, for BAR moves */
};

void pv_plat_dev_init(struct pv_plat_dev *d, struct pv_plat *plat, int vm_fd);
void pv_plat_dev_destroy(struct pv_plat_dev *d);
/* The evtchn_host_ops doorbell half for KVM; opaque = the pv_plat_dev.  The
 * VMM copies these into its struct pv_plat_ops (upcall_fd is its own: the
 * irqfd of the vCPU's MSI-X route). */
int pv_plat_dev_doorbell_bind(void *opaque, uint32_t port, int efd);
void pv_plat_dev_doorbell_unbind(void *opaque, uint32_t port, int efd);
/* BARs moved: re-register doorbells and rewrite the stubs.  0 or -errno. */
int pv_plat_dev_set_bars(struct pv_plat_dev *d, uint64_t bar0_gpa, uint64_t bar2_port);

/* hv_io_fn-compatible register access for BAR0 and BAR2 (offset relative). */
void pv_plat_dev_io(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write);
bool pv_plat_dev_is_trigger(struct pv_plat_dev *d, uint64_t mmio_addr);
/* A write of nr to HCALL_TRIGGER by vCPU `vcpu` (its KVM fd): reads the
 * argument registers, dispatches, writes rax.  0 or -errno (KVM failures). */
int pv_plat_dev_hcall_exit(struct pv_plat_dev *d, uint32_t vcpu, int vcpu_fd, uint32_t nr);

/* Fills a 4 KiB page with PVKVM_HCALL_MAX stubs that write their number to
 * trigger_gpa (hypercall.h); the rest is int3. */
void pv_hcall_page_fill(uint8_t *page, uint64_t trigger_gpa);

#endif
