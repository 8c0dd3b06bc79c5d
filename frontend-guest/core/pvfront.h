/* SPDX-License-Identifier: MIT */
/* The portable frontend core: hypercalls, event channels and grants as a
 * guest uses them.  Freestanding C (stdint/stddef/stdbool and compiler
 * __atomic builtins only), compiled into the mini-guest, Linux modules and the
 * host test harness; everything environment-specific goes through struct
 * pvfront_env.
 *
 * Concurrency: one struct pvfront is used by one thread at a time (the
 * environment serializes); hypercall argument structs live in its scratch
 * page.  Grant entries and event bits are shared with the VMM and backends
 * and are only touched with atomics. */
#ifndef PVFRONT_H
#define PVFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvkvm/evtchn.h"
#include "pvkvm/grant.h"
#include "pvkvm/hypercall.h"

/* Linux errno values (the ABI's), since freestanding code has no errno.h. */
#define PVFRONT_EPERM   1
#define PVFRONT_ENOENT  2
#define PVFRONT_EIO     5
#define PVFRONT_EAGAIN  11
#define PVFRONT_ENOMEM  12
#define PVFRONT_EBUSY   16
#define PVFRONT_EINVAL  22
#define PVFRONT_ENOSPC  28
#define PVFRONT_ENOSYS  38
#define PVFRONT_EPROTO  71

struct pvfront_env {
	void *opaque;
	/* A zeroed, 4 KiB-aligned page of guest RAM, or NULL. */
	void *(*alloc_page)(void *opaque);
	uint64_t (*virt_to_phys)(void *opaque, const void *va);
	void *(*phys_to_virt)(void *opaque, uint64_t pa);
	/* Write port to the platform DOORBELL register (port I/O or MMIO). */
	void (*doorbell)(void *opaque, uint32_t port);
	/* Call hypercall nr (hypercall page stub); returns rax. */
	int64_t (*hypercall)(void *opaque, uint32_t nr, uint64_t a1, uint64_t a2, uint64_t a3);
	/* Optional: one line of diagnostics. */
	void (*log)(void *opaque, const char *msg);
	/* Optional: called in polling loops (pause, or yield in a host process). */
	void (*relax)(void *opaque);
};

struct pvfront {
	const struct pvfront_env *env;
	uint16_t nr_vcpus;
	void *scratch;                        /* hypercall argument page */
	struct pvkvm_shared_info *si;
	uint32_t gnt_nr_frames;
	struct pvkvm_grant_entry *gnt[PVKVM_GNT_MAX_FRAMES];
	/* Bit set: reference allocated by this frontend (granted or not). */
	uint64_t gnt_used[PVKVM_GNT_MAX_FRAMES * PVKVM_GNT_PER_FRAME / 64];
};

/* Checks the ABI version, allocates and registers the shared-info page with
 * every vCPU's upcall masked (polling).  0 or -errno. */
int pvfront_init(struct pvfront *f, const struct pvfront_env *env, uint16_t nr_vcpus);

/* Grants. */
int pvfront_gnt_setup(struct pvfront *f, uint32_t nr_frames);
/* Grants gfn to domid; *gref the reference. */
int pvfront_gnt_grant(struct pvfront *f, uint16_t domid, uint64_t gfn, bool readonly,
		      uint32_t *gref);
/* Revokes and frees gref: -EBUSY while the backend holds it (READING or
 * WRITING set), -EINVAL for a reference we do not own. */
int pvfront_gnt_revoke(struct pvfront *f, uint32_t gref);
bool pvfront_gnt_in_use(const struct pvfront *f, uint32_t gref);

/* Event channels. */
int pvfront_evtchn_alloc(struct pvfront *f, uint16_t remote_dom, uint32_t *port);
int pvfront_evtchn_close(struct pvfront *f, uint32_t port);
int pvfront_evtchn_unmask(struct pvfront *f, uint32_t port);
void pvfront_evtchn_mask(struct pvfront *f, uint32_t port);
/* Guest -> backend: the doorbell (no hypercall, no VMM exit when bound). */
void pvfront_evtchn_send(struct pvfront *f, uint32_t port);
/* Polling: true (and the bit cleared) if port was pending. */
bool pvfront_evtchn_poll(struct pvfront *f, uint32_t port);

/* Raw hypercall through the environment. */
int64_t pvfront_hcall(struct pvfront *f, uint32_t nr, uint64_t a1, uint64_t a2, uint64_t a3);

#endif
