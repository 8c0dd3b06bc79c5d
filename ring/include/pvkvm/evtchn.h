/* SPDX-License-Identifier: MIT */
/* Event channels: Xen's 2-level scheme over a shared-info page in guest RAM.
 *
 * A port is a bit in evtchn_pending[] and evtchn_mask[] (port p: word p / 64,
 * bit p % 64).  Port 0 is never valid.  Each port is bound to one vCPU
 * (vCPU 0 at allocation); its word index p / 64 is a bit in that vCPU's
 * pending_sel.
 *
 * Raising port p (the backend library, or the VMM for its own ports) is
 * exactly, with atomic read-modify-writes on the shared words:
 *   1. set pending bit p; if it was already set, stop;
 *   2. if mask bit p is set, stop (unmask re-raises);
 *   3. set bit p/64 in the bound vCPU's pending_sel; if it was already set, stop;
 *   4. set upcall_pending = 1;
 *   5. if upcall_mask == 0, signal the vCPU's upcall (an MSI-X vector of the
 *      platform device raised through a KVM irqfd).
 * A guest that handles upcalls: clear upcall_pending, xchg pending_sel with 0,
 * for each set bit xchg-scan pending & ~mask, handle the ports.  A polling
 * guest keeps upcall_mask = 1 and reads evtchn_pending directly (clearing a
 * pending bit with an atomic AND before handling it).  A guest that clears
 * upcall_mask must then re-check upcall_pending (an event raised while it was
 * masked sent no upcall).
 *
 * Guest -> other end (send): write the port to the platform DOORBELL register
 * (platform.h) or call EVTCHNOP_SEND.  The backend's eventfd wakes. */
#ifndef PVKVM_EVTCHN_H
#define PVKVM_EVTCHN_H

#include "abi.h"

#define PVKVM_MAX_VCPUS         32u
#define PVKVM_EVTCHN_WORDS      64u
#define PVKVM_EVTCHN_NR_PORTS   (PVKVM_EVTCHN_WORDS * 64u) /* 4096 */
#define PVKVM_DOMID_SELF        0x7ff0u

/* Per-vCPU event state, inside shared_info.  64 bytes. */
struct pvkvm_vcpu_info {
	/* Set to 1 by the raiser (step 4); cleared by the guest before scanning. */
	uint8_t upcall_pending;
	/* Written by the guest only: 1 = do not signal the upcall vector. */
	uint8_t upcall_mask;
	uint8_t pad0[6];
	/* Bit w set by the raiser (step 3) when word w of evtchn_pending gained a
	 * pending unmasked port for this vCPU; the guest xchg's it with 0. */
	uint64_t pending_sel;
	uint8_t reserved[48]; /* zero; room for time info later */
};
PVKVM_ASSERT_SIZE(struct pvkvm_vcpu_info, 64);
PVKVM_ASSERT_OFFSET(struct pvkvm_vcpu_info, upcall_mask, 1);
PVKVM_ASSERT_OFFSET(struct pvkvm_vcpu_info, pending_sel, 8);

/* One 4 KiB page, allocated and zeroed by the guest, registered with
 * PVKVM_HC_SHARED_INFO.  Every field is written with atomic operations by
 * the side named; the reader must not trust any value beyond its meaning as
 * a bit (the VMM and backends never index anything with guest-written data
 * from this page). */
struct pvkvm_shared_info {
	struct pvkvm_vcpu_info vcpu_info[PVKVM_MAX_VCPUS];
	/* Raisers set bits; the guest clears them. */
	uint64_t evtchn_pending[PVKVM_EVTCHN_WORDS];
	/* The guest sets and clears bits (or EVTCHNOP_UNMASK clears); raisers only read. */
	uint64_t evtchn_mask[PVKVM_EVTCHN_WORDS];
	uint8_t reserved[1024];
};
PVKVM_ASSERT_SIZE(struct pvkvm_shared_info, 4096);
PVKVM_ASSERT_OFFSET(struct pvkvm_shared_info, evtchn_pending, 2048);
PVKVM_ASSERT_OFFSET(struct pvkvm_shared_info, evtchn_mask, 2560);

/* PVKVM_HC_EVTCHN_OP sub-commands and their argument structs (at arg_gpa,
 * naturally aligned).  IN fields written by the guest, OUT fields by the VMM. */

/* Allocate a port that domain remote_dom may bind (a backend binds it through
 * the control socket).  The port starts masked=0, bound to vCPU 0. */
#define PVKVM_EVTCHNOP_ALLOC_UNBOUND 0u
struct pvkvm_evtchn_alloc_unbound {
	uint16_t dom;        /* IN: PVKVM_DOMID_SELF or the guest's own domid */
	uint16_t remote_dom; /* IN: the domain allowed to bind (0 = host) */
	uint32_t port;       /* OUT */
};
PVKVM_ASSERT_SIZE(struct pvkvm_evtchn_alloc_unbound, 8);

/* Send: like the doorbell, with an error result. */
#define PVKVM_EVTCHNOP_SEND   1u
/* Close: the port becomes free; a backend bound to it is told (its eventfds
 * stop working). */
#define PVKVM_EVTCHNOP_CLOSE  2u
/* Unmask: clear the mask bit and re-raise if the port is pending. */
#define PVKVM_EVTCHNOP_UNMASK 3u
struct pvkvm_evtchn_port_op {
	uint32_t port; /* IN */
};
PVKVM_ASSERT_SIZE(struct pvkvm_evtchn_port_op, 4);

/* Bind the port's notifications to another vCPU. */
#define PVKVM_EVTCHNOP_BIND_VCPU 4u
struct pvkvm_evtchn_bind_vcpu {
	uint32_t port; /* IN */
	uint32_t vcpu; /* IN: < NR_VCPUS */
};
PVKVM_ASSERT_SIZE(struct pvkvm_evtchn_bind_vcpu, 8);

#define PVKVM_EVTCHNOP_STATUS 5u
#define PVKVM_EVTCHNSTAT_CLOSED      0u /* free */
#define PVKVM_EVTCHNSTAT_UNBOUND     1u /* allocated, remote end not bound */
#define PVKVM_EVTCHNSTAT_INTERDOMAIN 2u /* a backend has bound it */
#define PVKVM_EVTCHNSTAT_VMM         3u /* served by the VMM itself (store ring) */
struct pvkvm_evtchn_status {
	uint32_t port;       /* IN */
	uint32_t status;     /* OUT: PVKVM_EVTCHNSTAT_* */
	uint16_t remote_dom; /* OUT */
	uint16_t pad;        /* OUT: 0 */
	uint32_t vcpu;       /* OUT */
};
PVKVM_ASSERT_SIZE(struct pvkvm_evtchn_status, 16);
PVKVM_ASSERT_OFFSET(struct pvkvm_evtchn_status, vcpu, 12);

#endif
