/* SPDX-License-Identifier: MIT */
/* A host process playing a guest, no VM: guest RAM is a memfd, the real
 * VMM-side platform (hv/pv) serves hypercalls and the control socket, and the
 * frontend core runs against it through an environment that calls the
 * hypercall dispatcher directly and emulates KVM's ioeventfd for doorbells. */
#ifndef HARNESS_H
#define HARNESS_H

#include <pthread.h>
#include <stdint.h>

#include "ctl.h"
#include "plat.h"
#include "store_proxy.h"
#include "pvfront.h"

#define HARNESS_DOMID 5
/* RAM: two ranges with a hole, to exercise the layout code. */
#define HARNESS_HOLE_GPA (UINT64_C(1) << 30)

struct harness_guest {
	int memfd;
	uint8_t *ram;
	uint64_t ram_size;
	uint64_t next_gpa; /* page allocator (range 0) */
	struct pv_gmem gmem;
	struct pv_plat_ops ops;
	struct pv_plat *plat;
	struct pv_ctl_server *ctl;
	struct pvfront_env env;
	struct pvfront front;
	uint32_t nr_vcpus;
	int upcall_fd[PVKVM_MAX_VCPUS];
	pthread_mutex_t db_lock;
	int db_fd[PVKVM_EVTCHN_NR_PORTS]; /* "ioeventfd" registrations */
	uint64_t vmm_exits;   /* doorbells and hypercalls that reached the VMM */
	int shutdown_reason;  /* -1: none */
	struct pv_store_proxy *store;
	char run_dir[64];
	char ctl_path[128];
};

/* ram_size bytes (split in two ranges), nr_vcpus, a control socket under a
 * fresh temporary run dir, and an initialised frontend core. */
int harness_guest_new(struct harness_guest **out, uint64_t ram_size, uint32_t nr_vcpus);
void harness_guest_free(struct harness_guest *g);
/* The guest-physical address of a host pointer into its RAM. */
uint64_t harness_gpa(struct harness_guest *g, const void *p);
void *harness_alloc_page(struct harness_guest *g);
/* A hypercall as a vCPU would make it. */
int64_t harness_hcall(struct harness_guest *g, uint32_t vcpu, uint64_t nr, uint64_t a1,
		      uint64_t a2, uint64_t a3);

/* Gives the guest a store ring proxied to store_fd (a byte stream speaking
 * xs_wire: a socketpair to a fake store, or pvkvm-stored). */
int harness_store_attach(struct harness_guest *g, int store_fd);

#endif
