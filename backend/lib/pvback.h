/* SPDX-License-Identifier: MIT */
/* The backend library: what pvkvm-blkback and pvkvm-netback use to serve a
 * guest.  Attach through the guest's control socket, map its RAM once, check
 * and use grants, bind and notify event channels.
 *
 * Threads: every function may be called from any thread; one mutex per
 * attachment guards the control connection and the grant pin table.  Grant
 * map/unmap is the per-request cost: a check and two compare-and-swaps, no
 * system call. */
#ifndef PVBACK_H
#define PVBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "gmem.h"

struct pvback_dom;

struct pvback_evtchn {
	uint32_t port;
	int wait_fd;  /* eventfd: readable when the guest sent on port; read 8 bytes to clear */
	int raise_fd; /* the vCPU's upcall eventfd (KVM irqfd), -1 if none */
	uint32_t vcpu;
	bool closed;  /* the guest closed the port */
};

/* Connects to ctl_path (a guest's <name>.ctl), attaches for device
 * ("vbd/51712") and maps the guest's memory.  0 or -errno. */
int pvback_attach(struct pvback_dom **out, const char *ctl_path, const char *device);
/* Unbinds everything, unmaps, closes.  Grants still held are released. */
void pvback_detach(struct pvback_dom *d);

uint16_t pvback_domid(const struct pvback_dom *d);
const struct pv_gmem *pvback_gmem(const struct pvback_dom *d);
/* The control connection: poll it for POLLIN and call pvback_ctl_process()
 * to take pushes (grant-frame and shared-info updates, port changes).
 * -ECONNRESET when the VMM went away. */
int pvback_ctl_fd(const struct pvback_dom *d);
int pvback_ctl_process(struct pvback_dom *d);

/* Grants.  map checks the entry (reference inside the registered table,
 * PERMIT_ACCESS, domid == 0, READONLY vs write) and marks it in use with a
 * compare-and-swap, then checks the frame is inside guest RAM; *page points
 * to the granted 4 KiB in the one mapping.  Errors: -EINVAL bad reference,
 * -EPERM not granted to us (wrong domid, revoked), -EACCES write to a
 * read-only grant, -EFAULT frame outside guest RAM, -EAGAIN the guest kept
 * changing the entry.  Each successful map needs one unmap. */
int pvback_gnt_map(struct pvback_dom *d, uint32_t gref, bool write, void **page);
void pvback_gnt_unmap(struct pvback_dom *d, uint32_t gref);

/* Event channels. */
int pvback_evtchn_bind(struct pvback_dom *d, uint32_t port, struct pvback_evtchn **out);
void pvback_evtchn_unbind(struct pvback_dom *d, struct pvback_evtchn *e);
/* Raise the port towards the guest: pending bit, and the upcall when the
 * 2-level rules say so.  No system call when the guest polls. */
int pvback_evtchn_notify(struct pvback_dom *d, struct pvback_evtchn *e);
/* Consume the wake-ups the guest's sends left on wait_fd: returns how many
 * (0 if none), never blocks. */
uint64_t pvback_evtchn_ack(struct pvback_evtchn *e);

#endif
