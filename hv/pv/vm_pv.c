/* SPDX-License-Identifier: MIT */
/* The PV platform in the VMM: the "pv-platform" PCI function on every VM
 * (BAR0 MMIO registers, BAR2 port I/O registers, BAR4 MSI-X with one
 * upcall vector per vCPU bound to an irqfd), the platform context, the
 * control socket <run dir>/<name>.ctl, and the store: the domain is
 * introduced to <run dir>/store.sock at VM start and the ring proxied once
 * the guest takes the VMM's ring page or supplies its own.  Registered as an HV_DEVICE after the PCI host bridge. */
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../device.h"
#include "../pci/vm_pci.h"
#include "../rundir.h"
#include "../vm.h"
#include "ctl.h"
#include "platform_dev.h"
#include "pv_log.h"
#include "pvkvm/platform.h"
#include "store_dom.h"
#include "store_proxy.h"

#define TAG "pv"
/* The store ring page the VMM reserves: inside the e820-reserved range
 * [0x9fc00, 1 MiB) (hv/vm.c), below the ACPI tables at 0xe0000, so the
 * guest's RAM map never hands it out. */
#define PV_STORE_RING_GPA 0xd0000ull

struct hv_pv {
	struct hv_pci_dev pci; /* first: the PCI framework frees through it */
	struct hv_vm *vm;
	struct pv_gmem gmem;
	struct pv_plat_ops ops;
	struct pv_plat *plat;
	struct pv_plat_dev dev;
	struct pv_ctl_server *ctl;
	struct pv_store_proxy *store;
	bool introduced;
	char store_sock[320];
	int upcall_efd[PVKVM_MAX_VCPUS];
};

/* Not thread_started: the starter sets it after pthread_create returns, and
 * the vCPU may make its first hypercall before that.  The thread id itself is
 * stored by pthread_create before the thread runs (glibc). */
static struct hv_vcpu *current_vcpu(struct hv_vm *vm)
{
	pthread_t self = pthread_self();

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (pthread_equal(vm->vcpus[i].thread, self))
			return &vm->vcpus[i];
	return NULL;
}

static void bar0_io(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write)
{
	struct hv_pv *pv = opaque;
	struct hv_vcpu *v;
	uint32_t nr;

	if (is_write && offset == PVKVM_PLAT_REG_HCALL_TRIGGER && len == 4) {
		v = current_vcpu(pv->vm);
		memcpy(&nr, data, 4);
		if (!v)
			pv_log_err(TAG, "%s: hypercall %u from an unknown thread", pv->vm->name, nr);
		else if (pv_plat_dev_hcall_exit(&pv->dev, v->id, v->fd, nr))
			pv_log_warn(TAG, "%s: vcpu%u: hypercall %u: register access failed",
				    pv->vm->name, v->id, nr);
		return;
	}
	pv_plat_dev_io(&pv->dev, offset, data, len, is_write);
}

static void bar2_io(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write)
{
	struct hv_pv *pv = opaque;

	if (offset >= PVKVM_PLAT_PIO_SIZE || offset == PVKVM_PLAT_REG_HCALL_TRIGGER) {
		if (!is_write)
			memset(data, 0xff, len);
		return; /* the trigger needs MMIO (hypercall.h) */
	}
	pv_plat_dev_io(&pv->dev, offset, data, len, is_write);
}

static void bar_moved(struct hv_pci_dev *dev, unsigned bar, bool mapped, uint64_t addr)
{
	struct hv_pv *pv = (struct hv_pv *)dev;
	uint64_t b0 = pv->dev.bar0_gpa, b2 = pv->dev.bar2_port;

	if (bar == PVKVM_PLAT_BAR_MMIO)
		b0 = mapped ? addr : PV_BAR_UNSET;
	else if (bar == PVKVM_PLAT_BAR_PIO)
		b2 = mapped ? addr : PV_BAR_UNSET;
	else
		return;
	if (pv_plat_dev_set_bars(&pv->dev, b0, b2))
		pv_log_warn(TAG, "%s: doorbells of some ports fall back to VMM exits", pv->vm->name);
}

static int upcall_fd(void *opaque, uint32_t vcpu)
{
	struct hv_pv *pv = opaque;

	return vcpu < pv->vm->nr_vcpus ? pv->upcall_efd[vcpu] : -ENODEV;
}

static int doorbell_bind(void *opaque, uint32_t port, int efd)
{
	return pv_plat_dev_doorbell_bind(&((struct hv_pv *)opaque)->dev, port, efd);
}

static void doorbell_unbind(void *opaque, uint32_t port, int efd)
{
	pv_plat_dev_doorbell_unbind(&((struct hv_pv *)opaque)->dev, port, efd);
}

/* Runs on the caller's vCPU thread, so KVM_GET_SREGS of the caller is an
 * ioctl on our own vCPU.  The target's own thread loads the state
 * (hv_vcpu_start: a start request it applies between two KVM_RUN calls,
 * keeping its own APIC base); we never touch its fd. */
static int vcpu_start(void *opaque, uint32_t caller, uint32_t vcpu, const struct pvkvm_vcpu_regs *r)
{
	struct hv_pv *pv = opaque;
	struct hv_vm *vm = pv->vm;
	struct kvm_sregs s;
	struct kvm_regs regs = { .rip = r->rip, .rsp = r->rsp, .rdi = r->rdi,
				 .rflags = r->rflags | 2 };
	int err;

	if (caller >= vm->nr_vcpus || vcpu >= vm->nr_vcpus)
		return -EINVAL;
	if (ioctl(vm->vcpus[caller].fd, KVM_GET_SREGS, &s))
		return -errno;
	if (r->cr3)
		s.cr3 = r->cr3;
	err = hv_vcpu_start(vm, vcpu, &regs, &s);
	if (!err)
		pv_log_info(TAG, "%s: vcpu%u started at %#llx by vcpu%u", vm->name, vcpu,
			    (unsigned long long)r->rip, caller);
	return err;
}

static int shutdown_guest(void *opaque, uint32_t reason)
{
	struct hv_pv *pv = opaque;

	pv_log_info(TAG, "%s: guest asked for %s", pv->vm->name,
		    reason == PVKVM_SHUTDOWN_REBOOT ? "reboot" :
		    reason == PVKVM_SHUTDOWN_CRASH ? "crash" : "poweroff");
	if (reason == PVKVM_SHUTDOWN_REBOOT)
		hv_vm_request_reset(pv->vm);
	else
		hv_vm_request_stop(pv->vm, reason == PVKVM_SHUTDOWN_CRASH ? HV_EXIT_CRASH
									   : HV_EXIT_POWEROFF);
	return 0;
}

static void console_write(void *opaque, const char *buf, uint32_t len)
{
	struct hv_pv *pv = opaque;
	char clean[PVKVM_CONSOLE_MAX + 1];

	for (uint32_t i = 0; i < len; i++)
		clean[i] = (buf[i] >= 0x20 && buf[i] < 0x7f) || buf[i] == '\n' ? buf[i] : '?';
	clean[len] = '\0';
	/* With the caller's exit count: bench-evtchn counts the exits between
	 * two lines (each line is one exit itself). */
	struct hv_vcpu *v = current_vcpu(pv->vm);

	pv_log_info(TAG, "%s: guest console (vcpu%d, %llu exits): %s", pv->vm->name, v ? (int)v->id : -1,
		    v ? (unsigned long long)v->exits : 0ull, clean);
}

static void store_notify(void *opaque)
{
	struct hv_pv *pv = opaque;

	if (pv->store)
		pv_store_proxy_kick(pv->store);
}

/* Introduces the domain and starts the ring proxy; false when no store
 * answers (the guest's store ring then stays silent). */
static bool store_connect(struct hv_pv *pv)
{
	int fd, err;
	uint32_t port;

	if (access(pv->store_sock, F_OK)) {
		pv_log_warn(TAG, "%s: no store at %s: the guest's store ring stays silent",
			    pv->vm->name, pv->store_sock);
		return false;
	}
	pthread_mutex_lock(&pv->plat->lock);
	port = pv->plat->store_port;
	pthread_mutex_unlock(&pv->plat->lock);
	err = pv_store_introduce(pv->store_sock, pv->plat->domid, PV_STORE_RING_GPA >> 12, port, &fd);
	if (!err)
		err = pv_store_proxy_start(&pv->store, pv->plat, fd);
	if (err) {
		pv_log_err(TAG, "%s: store introduce: %s", pv->vm->name, strerror(-err));
		return false;
	}
	pv->introduced = true;
	return true;
}

/* The guest chose its ring (STORE_SET_GFN, or its first STORE_GET_GFN took
 * the reserved page).  Normally the proxy already runs (introduced at VM
 * start) and only needs a look at the ring; if no store answered then,
 * try again now. */
static void store_ring_set(void *opaque, uint64_t gfn, uint32_t port)
{
	struct hv_pv *pv = opaque;

	(void)gfn;
	(void)port;
	if (pv->store || store_connect(pv))
		pv_store_proxy_kick(pv->store);
}

static int pv_pci_setup(struct hv_pv *pv, struct hv_pci_host *host)
{
	int r;

	hv_pci_dev_init(&pv->pci, "pv-platform", PVKVM_PLAT_VENDOR_ID, PVKVM_PLAT_DEVICE_ID,
			PVKVM_PLAT_CLASS, PVKVM_PLAT_REVISION);
	pv->pci.bar_moved = bar_moved;
	r = hv_pci_bar_init(&pv->pci, PVKVM_PLAT_BAR_MMIO, HV_PCI_BAR_MMIO32, PVKVM_PLAT_MMIO_SIZE,
			    bar0_io, pv);
	if (!r)
		r = hv_pci_bar_init(&pv->pci, PVKVM_PLAT_BAR_PIO, HV_PCI_BAR_IO, PVKVM_PLAT_PIO_SIZE,
				    bar2_io, pv);
	if (!r)
		r = hv_pci_bar_init(&pv->pci, PVKVM_PLAT_BAR_MSIX, HV_PCI_BAR_MMIO32, 4096, NULL, NULL);
	if (!r)
		r = hv_pci_msix_init(&pv->pci, pv->vm->nr_vcpus, PVKVM_PLAT_BAR_MSIX, 0, 0x800);
	if (!r)
		r = hv_pci_host_add(host, &pv->pci, -1);
	for (unsigned i = 0; !r && i < pv->vm->nr_vcpus; i++) {
		pv->upcall_efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		r = pv->upcall_efd[i] < 0 ? -errno : hv_msix_vector_irqfd(&pv->pci, i, pv->upcall_efd[i]);
	}
	return r;
}

static void pv_free(struct hv_pci_dev *dev)
{
	struct hv_pv *pv = (struct hv_pv *)dev;

	for (unsigned i = 0; i < PVKVM_MAX_VCPUS; i++)
		if (pv->upcall_efd[i] >= 0)
			close(pv->upcall_efd[i]);
	pv_plat_dev_destroy(&pv->dev);
	pv_plat_free(pv->plat);
	free(pv);
}

static int pv_gmem_from_vm(struct hv_pv *pv)
{
	struct hv_vm *vm = pv->vm;
	struct pv_gmem_range r[2] = {
		{ .gpa = 0, .size = vm->ram_below_4g, .offset = 0 },
		{ .gpa = UINT64_C(1) << 32, .size = vm->ram_above_4g, .offset = vm->ram_below_4g },
	};

	return pv_gmem_init(&pv->gmem, vm->ram, vm->ram_bytes, r, vm->ram_above_4g ? 2 : 1);
}

static int pv_vm_init(struct hv_vm *vm)
{
	struct hv_pci_host *host = hv_vm_pci_host(vm);
	char dir[256];
	struct hv_pv *pv;
	int r;

	if (!host)
		return 0; /* no PCI, no platform device: a plain HVM guest */
	if (vm->nr_vcpus > PVKVM_MAX_VCPUS)
		return -EINVAL;
	pv = calloc(1, sizeof(*pv));
	if (!pv)
		return -ENOMEM;
	pv->vm = vm;
	for (unsigned i = 0; i < PVKVM_MAX_VCPUS; i++)
		pv->upcall_efd[i] = -1;
	pv->ops = (struct pv_plat_ops){
		.evtchn = { doorbell_bind, doorbell_unbind, upcall_fd },
		.shutdown = shutdown_guest,
		.vcpu_up = vcpu_start,
		.console = console_write,
		.store_notify = store_notify,
		.store_ring_set = store_ring_set,
	};
	r = pv_gmem_from_vm(pv);
	pv->plat = r ? NULL : pv_plat_new(vm->domid, vm->nr_vcpus, &pv->gmem, &pv->ops, pv);
	if (!pv->plat) {
		free(pv);
		return r ? r : -ENOMEM;
	}
	pv_plat_dev_init(&pv->dev, pv->plat, vm->vm_fd);
	r = pv_pci_setup(pv, host);
	pv->pci.free = pv_free;
	vm->pv = pv;
	if (r)
		return r; /* the PCI host frees pv on destroy */
	r = hv_rundir_path(dir, sizeof(dir), true);
	if (!r)
		r = pv_ctl_open(&pv->ctl, pv->plat, dir, vm->name, vm->memfd, vm->ram_bytes);
	if (!r)
		r = pv_ctl_start(pv->ctl);
	if (r) {
		/* The guest still runs; only backends cannot reach it. */
		pv_log_err(TAG, "%s: control socket: %s; no backends can attach", vm->name,
			   strerror(-r));
		pv_ctl_close(pv->ctl);
		pv->ctl = NULL;
	}
	if (!hv_rundir_path(dir, sizeof(dir), false))
		snprintf(pv->store_sock, sizeof(pv->store_sock), "%s/store.sock", dir);
	/* Xen's toolstack introduces a domain when it builds it: the guest's
	 * home exists and @introduceDomain fires before the guest runs. */
	r = vm->ram_below_4g >= PV_STORE_RING_GPA + 4096 ?
	    pv_plat_store_reserve(pv->plat, PV_STORE_RING_GPA >> 12) : -ENOSPC;
	if (r)
		pv_log_warn(TAG, "%s: no VMM store ring page: %s", vm->name, strerror(-r));
	else if (pv->store_sock[0])
		store_connect(pv);
	return 0;
}

static void pv_vm_exit(struct hv_vm *vm)
{
	struct hv_pv *pv = vm->pv;

	if (!pv)
		return;
	/* The VM goes away with its doorbell ioeventfds: don't deassign them
	 * one by one (an SRCU grace period each) when ports close below. */
	pthread_mutex_lock(&pv->dev.lock);
	pv->dev.vm_fd = -1;
	pthread_mutex_unlock(&pv->dev.lock);
	pv_store_proxy_stop(pv->store);
	pv->store = NULL;
	if (pv->introduced)
		pv_store_release(pv->store_sock, pv->plat->domid);
	pv_ctl_close(pv->ctl);
	pv->ctl = NULL;
	vm->pv = NULL; /* the PCI host frees the rest (pv_free) */
}

HV_DEVICE(pv_platform, "pv-platform", HV_DEV_ORDER_DEVICE, pv_vm_init, pv_vm_exit);
