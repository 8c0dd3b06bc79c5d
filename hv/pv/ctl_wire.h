/* SPDX-License-Identifier: MIT */
/* The per-guest control socket protocol (VMM <-> backends).
 *
 * An AF_UNIX SOCK_SEQPACKET socket `<name>.ctl` in the run directory; only
 * peers with uid 0 or the VMM's own uid (SO_PEERCRED) are accepted.  Each
 * packet is one message: struct pv_ctl_hdr then exactly hdr.len payload bytes
 * (the size the type requires).  File descriptors travel with SCM_RIGHTS, from
 * the VMM only.  A reply carries the request's seq; pushes carry seq 0.  A
 * peer that sends a malformed message, a message out of order, or any fd is
 * disconnected (its event channels go back to unbound); the VMM carries on.
 *
 *   backend -> VMM            VMM -> backend
 *   ATTACH {device}           ATTACH_OK {layout} + fd[memfd]
 *                             then pushes SHINFO and GNT_FRAMES (now and on change)
 *   EVTCHN_BIND {port}        EVTCHN_BOUND {port, vcpu} + fd[wait, raise]
 *   EVTCHN_UNBIND {port}      OK
 *                             EVTCHN_CHANGED {port, change, vcpu} [+ fd[raise]]
 *   any failed request        ERROR {err, req_type}
 *
 * Re-attach after a backend restart is a fresh connection doing ATTACH and
 * EVTCHN_BIND again: ports a dead connection had bound return to unbound, and
 * the guest's grants and rings are untouched. */
#ifndef HV_PV_CTL_WIRE_H
#define HV_PV_CTL_WIRE_H

#include <stdint.h>

#include "gmem.h"

#define PV_CTL_MAGIC       0x4c544350u /* "PCTL" */
#define PV_CTL_VERSION     1u
#define PV_CTL_MAX_MSG     1024u       /* header + payload */

#define PV_CTL_ATTACH         1u
#define PV_CTL_ATTACH_OK      2u
#define PV_CTL_GNT_FRAMES     3u
#define PV_CTL_SHINFO         4u
#define PV_CTL_EVTCHN_BIND    5u
#define PV_CTL_EVTCHN_BOUND   6u
#define PV_CTL_EVTCHN_UNBIND  7u
#define PV_CTL_EVTCHN_CHANGED 8u
#define PV_CTL_ERROR          9u
#define PV_CTL_OK             10u

struct pv_ctl_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t len; /* payload bytes after this header */
	uint32_t seq;
};

struct pv_ctl_attach {
	uint32_t flags;   /* 0 */
	char device[60];  /* "vbd/51712": NUL-terminated, [a-z0-9/_-] */
};

struct pv_ctl_attach_ok {
	uint16_t domid;       /* the guest */
	uint16_t backend_dom; /* what grants and ports must name: 0 */
	uint32_t nr_vcpus;
	uint64_t mem_size;    /* bytes to map from the memfd */
	uint32_t nr_ranges;
	uint32_t pad;
	struct pv_gmem_range r[PV_GMEM_MAX_RANGES];
};

struct pv_ctl_gnt_frames {
	uint32_t nr; /* <= 64 */
	uint32_t pad;
	uint64_t gfn[64];
};

struct pv_ctl_shinfo {
	uint32_t set; /* 0: the guest has not registered one yet */
	uint32_t pad;
	uint64_t gfn;
};

struct pv_ctl_port {
	uint32_t port;
};

struct pv_ctl_evtchn_bound {
	uint32_t port;
	uint32_t vcpu; /* fds: [0] wait (guest sends), [1] raise (vcpu's upcall), -1 if none */
	uint32_t has_raise;
};

struct pv_ctl_evtchn_changed {
	uint32_t port;
	uint32_t change; /* 1 vcpu changed (fd: new raise), 2 closed by the guest */
	uint32_t vcpu;
	uint32_t has_raise;
};

struct pv_ctl_error {
	int32_t err; /* -errno */
	uint32_t req_type;
};

struct pv_ctl_ok {
	uint32_t req_type;
};

_Static_assert(sizeof(struct pv_ctl_hdr) + sizeof(struct pv_ctl_gnt_frames) <= PV_CTL_MAX_MSG,
	       "gnt frames fit a message");

#endif
