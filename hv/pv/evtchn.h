/* SPDX-License-Identifier: MIT */
/* VMM-side event-channel table of one guest.
 *
 * Port states: free -> unbound (guest alloc_unbound) -> interdomain (a backend
 * bound it over the control socket) -> back to unbound when the backend goes
 * away (so a restarted backend can bind again) -> free (guest close).  Ports
 * the VMM serves itself (the store ring) are in state VMM.
 *
 * Threads: vCPU threads (hypercalls, doorbell exits) and the control-socket
 * thread call in; one mutex guards the table.  Callbacks run without it. */
#ifndef HV_PV_EVTCHN_H
#define HV_PV_EVTCHN_H

#include <stdint.h>

#include "pvkvm/evtchn.h"

/* What the table needs from the VMM (KVM) or from a test harness. */
struct evtchn_host_ops {
	/* Make guest doorbell writes of `port` signal efd in the kernel
	 * (KVM_IOEVENTFD, datamatch = port).  0 or -errno. */
	int (*doorbell_bind)(void *opaque, uint32_t port, int efd);
	void (*doorbell_unbind)(void *opaque, uint32_t port, int efd);
	/* The eventfd that raises vcpu's upcall (a KVM irqfd on its MSI-X
	 * vector); owned by the host.  -errno if there is none. */
	int (*upcall_fd)(void *opaque, uint32_t vcpu);
};

/* Who is told when a backend-bound port changes under it. */
#define EVTCHN_CHANGE_VCPU   1 /* guest bind_vcpu: new vCPU / upcall fd */
#define EVTCHN_CHANGE_CLOSED 2 /* guest closed the port */
typedef void (*evtchn_change_fn)(void *opaque, void *owner, uint32_t port, int change,
				 uint32_t vcpu);
typedef void (*evtchn_vmm_fn)(void *opaque, uint32_t port);

struct evtchn_table;

struct evtchn_table *evtchn_table_new(uint16_t domid, uint32_t nr_vcpus,
				      const struct evtchn_host_ops *ops, void *opaque);
void evtchn_table_free(struct evtchn_table *t);
void evtchn_set_shared_info(struct evtchn_table *t, struct pvkvm_shared_info *si);
void evtchn_set_listener(struct evtchn_table *t, evtchn_change_fn fn, void *opaque);

/* Guest operations (from the hypercall dispatcher): 0 or -errno. */
int evtchn_alloc_unbound(struct evtchn_table *t, uint16_t remote_dom, uint32_t *port);
int evtchn_close(struct evtchn_table *t, uint32_t port);
int evtchn_unmask(struct evtchn_table *t, uint32_t port);
int evtchn_bind_vcpu(struct evtchn_table *t, uint32_t port, uint32_t vcpu);
int evtchn_status(struct evtchn_table *t, uint32_t port, struct pvkvm_evtchn_status *st);
int evtchn_send(struct evtchn_table *t, uint32_t port);

/* VMM-served port (store ring): guest sends call fn. */
int evtchn_alloc_vmm(struct evtchn_table *t, evtchn_vmm_fn fn, void *opaque, uint32_t *port);
/* Raise a port towards the guest (2-level algorithm + upcall). */
int evtchn_raise(struct evtchn_table *t, uint32_t port);

/* Backend side (control socket).  bind: the port must be unbound with
 * remote_dom == backend_dom.  *wait_fd is a new eventfd (the caller owns it)
 * the guest's sends signal; *vcpu is the port's vCPU, whose upcall fd
 * evtchn_upcall_fd() returns. */
int evtchn_backend_bind(struct evtchn_table *t, uint32_t port, uint16_t backend_dom,
			void *owner, int *wait_fd, uint32_t *vcpu);
int evtchn_backend_unbind(struct evtchn_table *t, uint32_t port, void *owner);
void evtchn_backend_release(struct evtchn_table *t, void *owner);
int evtchn_upcall_fd(struct evtchn_table *t, uint32_t vcpu);

#endif
