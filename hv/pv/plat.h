/* SPDX-License-Identifier: MIT */
/* The PV platform of one guest: hypercall dispatch, shared info, grant-frame
 * registry, event channels, store-ring parameters.  The VMM core creates one
 * per VM and feeds it hypercall exits; the control socket (ctl.h) serves its
 * state to backends.  Nothing here touches KVM: what needs KVM comes in
 * through struct pv_plat_ops, so the host harness runs the same code. */
#ifndef HV_PV_PLAT_H
#define HV_PV_PLAT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "evtchn.h"
#include "gmem.h"
#include "pvkvm/grant.h"
#include "pvkvm/hypercall.h"

struct pv_plat_ops {
	struct evtchn_host_ops evtchn;
	/* sched_op shutdown: the VMM ends the VM with the on_* action for
	 * reason (PVKVM_SHUTDOWN_*).  Returns only on failure. */
	int (*shutdown)(void *opaque, uint32_t reason);
	/* Start vCPU `vcpu` with regs, copying control state from `caller`. */
	int (*vcpu_up)(void *opaque, uint32_t caller, uint32_t vcpu,
		       const struct pvkvm_vcpu_regs *regs);
	void (*console)(void *opaque, const char *buf, uint32_t len);
	/* The guest notified the store ring's port. */
	void (*store_notify)(void *opaque);
	/* The guest supplied its store ring page (STORE_SET_GFN): the VMM
	 * introduces the domain and starts the proxy.  May be NULL. */
	void (*store_ring_set)(void *opaque, uint64_t gfn, uint32_t port);
};

/* What changed, for the control socket's pushes. */
#define PV_PLAT_CHANGE_GNT    1
#define PV_PLAT_CHANGE_SHINFO 2
typedef void (*pv_plat_change_fn)(void *opaque, int what);

struct pv_plat {
	pthread_mutex_t lock;
	uint16_t domid;
	uint32_t nr_vcpus;
	struct pv_gmem gmem;
	const struct pv_plat_ops *ops;
	void *opaque;
	struct evtchn_table *evtchn;
	bool shinfo_set;
	uint64_t shinfo_gfn;
	uint32_t gnt_nr;
	uint64_t gnt_gfns[PVKVM_GNT_MAX_FRAMES];
	bool store_set;            /* the ring page is chosen (store_gfn) */
	uint64_t store_gfn;
	bool store_port_set;       /* the store port is allocated (store_port) */
	uint32_t store_port;
	bool store_rsv_set;        /* the VMM reserved a ring page (store_rsv_gfn) */
	uint64_t store_rsv_gfn;
	pv_plat_change_fn change_fn;
	void *change_opaque;
};

/* gmem is copied (not owned).  NULL on bad arguments or no memory. */
struct pv_plat *pv_plat_new(uint16_t domid, uint32_t nr_vcpus, const struct pv_gmem *gmem,
			    const struct pv_plat_ops *ops, void *opaque);
void pv_plat_free(struct pv_plat *p);
void pv_plat_set_listener(struct pv_plat *p, pv_plat_change_fn fn, void *opaque);

/* One hypercall from vCPU `vcpu`: nr and the five argument registers as the
 * guest left them.  Returns the value for rax (>= 0 or -errno).  Every
 * argument is checked; hostile values get an error, never a crash. */
int64_t pv_hcall_dispatch(struct pv_plat *p, uint32_t vcpu, uint64_t nr, const uint64_t args[5]);

/* The ring page is gfn from now on (the guest's STORE_SET_GFN, or the VMM's
 * reserved page on the guest's first STORE_GET_GFN): zeroes it and allocates
 * the store port if pv_plat_store_reserve() did not.  -EEXIST once set. */
int pv_plat_set_store_ring(struct pv_plat *p, uint64_t gfn);
/* The VMM reserved page gfn (outside the guest's RAM map) for the store ring
 * and allocates the store port now, so the domain can be introduced before
 * the guest runs.  STORE_GET_GFN hands the page out; a guest that prefers its
 * own page still calls STORE_SET_GFN first. */
int pv_plat_store_reserve(struct pv_plat *p, uint64_t gfn);
/* The ring's GFN if the ring is set (STORE_GET_GFN's answer); -ENOENT. */
int64_t pv_plat_store_gfn(struct pv_plat *p);
/* Raise the store port towards the guest (the store proxy has replies). */
int pv_plat_store_raise(struct pv_plat *p);

/* Snapshots for the control socket. */
uint32_t pv_plat_gnt_frames(struct pv_plat *p, uint64_t *gfns);
bool pv_plat_shinfo(struct pv_plat *p, uint64_t *gfn);

#endif
