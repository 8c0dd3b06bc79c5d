/* SPDX-License-Identifier: MIT */
/* vCPU threads and the VM main loop.
 *
 * Each vCPU thread loops on KVM_RUN and hands port/MMIO exits to the I/O
 * buses.  Stopping: any thread records a stop request and signals stop_efd;
 * the main loop then sets immediate_exit on every vCPU and sends HV_SIG_KICK,
 * so a vCPU inside KVM_RUN returns EINTR and one about to enter it returns at
 * once (no lost wake-up), then joins the threads. */
#include <errno.h>
#include <linux/kvm.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "pv_log.h"
#include "vm.h"

#define TAG "hv"

bool hv_vm_stopping(struct hv_vm *vm)
{
	return __atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) != HV_STOP_NONE;
}

static void vm_request(struct hv_vm *vm, enum hv_stop_reason why, int status)
{
	uint64_t one = 1;

	pthread_mutex_lock(&vm->lock);
	if (vm->stop_reason == HV_STOP_NONE) {
		vm->exit_status = status;
		__atomic_store_n(&vm->stop_reason, why, __ATOMIC_SEQ_CST);
	}
	pthread_mutex_unlock(&vm->lock);
	if (write(vm->stop_efd, &one, sizeof(one)) < 0)
		pv_log_debug(TAG, "stop eventfd: %s", strerror(errno));
}

void hv_vm_request_stop(struct hv_vm *vm, int status)
{
	vm_request(vm, HV_STOP_EXIT, status);
}

void hv_vm_request_reset(struct hv_vm *vm)
{
	vm_request(vm, HV_STOP_RESET, 0);
}

void hv_vcpu_dump(struct hv_vcpu *v, const char *why)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		pv_log_err(TAG, "%s: %s on vcpu%u (registers unavailable)", v->vm->name, why, v->id);
		return;
	}
	pv_log_err(TAG, "%s: %s on vcpu%u: rip=%#llx rsp=%#llx rflags=%#llx cs=%#x cr0=%#llx "
		   "cr2=%#llx cr3=%#llx cr4=%#llx efer=%#llx",
		   v->vm->name, why, v->id, r.rip, r.rsp, r.rflags, s.cs.selector,
		   s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
}

static void vcpu_exit_io(struct hv_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *p = (uint8_t *)run + run->io.data_offset;
	bool wr = run->io.direction == KVM_EXIT_IO_OUT;

	for (uint32_t i = 0; i < run->io.count; i++, p += run->io.size)
		hv_io_dispatch(&v->vm->pio, run->io.port, p, run->io.size, wr);
}

/* Returns false when the vCPU must stop. */
static bool vcpu_handle_exit(struct hv_vcpu *v)
{
	struct kvm_run *run = v->run;
	struct hv_vm *vm = v->vm;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_exit_io(v);
		return true;
	case KVM_EXIT_MMIO:
		hv_io_dispatch(&vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
			       run->mmio.is_write);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC: nothing can wake the vCPU. */
		pv_log_info(TAG, "%s: vcpu%u halted", vm->name, v->id);
		hv_vm_request_stop(vm, HV_EXIT_POWEROFF);
		return false;
	case KVM_EXIT_SHUTDOWN:
		hv_vcpu_dump(v, "triple fault");
		hv_vm_request_stop(vm, HV_EXIT_TRIPLE_FAULT);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
			hv_vm_request_reset(vm);
		else if (run->system_event.type == KVM_SYSTEM_EVENT_CRASH)
			hv_vm_request_stop(vm, HV_EXIT_CRASH);
		else
			hv_vm_request_stop(vm, HV_EXIT_POWEROFF);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		pv_log_err(TAG, "%s: KVM internal error, suberror %u", vm->name, run->internal.suberror);
		hv_vcpu_dump(v, "internal error");
		hv_vm_request_stop(vm, HV_EXIT_HOST);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		pv_log_err(TAG, "%s: vcpu%u entry failed, reason %#llx", vm->name, v->id,
			   (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		hv_vm_request_stop(vm, HV_EXIT_HOST);
		return false;
	default:
		pv_log_err(TAG, "%s: vcpu%u: unhandled exit reason %u", vm->name, v->id, run->exit_reason);
		hv_vcpu_dump(v, "unhandled exit");
		hv_vm_request_stop(vm, HV_EXIT_HOST);
		return false;
	}
}

int hv_vcpu_start(struct hv_vm *vm, unsigned id, const struct kvm_regs *regs, const struct kvm_sregs *sregs)
{
	struct hv_vcpu *v;
	int r = 0;

	if (id >= vm->nr_vcpus)
		return -EINVAL;
	v = &vm->vcpus[id];
	pthread_mutex_lock(&v->start_lock);
	if (v->started || v->start_pending) {
		r = -EBUSY;
		goto out;
	}
	if (!v->start_regs)
		v->start_regs = malloc(sizeof(*v->start_regs));
	if (!v->start_sregs)
		v->start_sregs = malloc(sizeof(*v->start_sregs));
	if (!v->start_regs || !v->start_sregs) {
		r = -ENOMEM;
		goto out;
	}
	*v->start_regs = *regs;
	*v->start_sregs = *sregs;
	v->start_pending = true;
	pthread_cond_signal(&v->start_cond);
	/* Out of KVM_RUN (an AP waiting for INIT/SIPI sits inside it).  Under
	 * start_lock, so the vCPU cannot load the state and clear
	 * immediate_exit before we set it. */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (v->thread_running)
		pthread_kill(v->thread, HV_SIG_KICK);
out:
	pthread_mutex_unlock(&v->start_lock);
	return r;
}

/* On the vCPU's own thread: load a pending start, or (no irqchip) wait for
 * one.  Returns false when the VM stops while waiting. */
static bool vcpu_take_start(struct hv_vcpu *v)
{
	bool ok = true;

	pthread_mutex_lock(&v->start_lock);
	while (!v->started && !v->start_pending && !v->vm->irqchip && !hv_vm_stopping(v->vm))
		pthread_cond_wait(&v->start_cond, &v->start_lock);
	if (v->start_pending) {
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
		struct kvm_sregs own;

		/* The control state is the starter's (typically the BSP's), but the
		 * APIC base is this vCPU's: copying the BSP flag would make two
		 * bootstrap processors.  No interrupt is pending on a fresh AP. */
		if (ioctl(v->fd, KVM_GET_SREGS, &own) == 0)
			v->start_sregs->apic_base = own.apic_base;
		memset(v->start_sregs->interrupt_bitmap, 0, sizeof(v->start_sregs->interrupt_bitmap));
		if (ioctl(v->fd, KVM_SET_SREGS, v->start_sregs) < 0 || ioctl(v->fd, KVM_SET_REGS, v->start_regs) < 0 ||
		    (v->vm->irqchip && ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0)) {
			pv_log_err(TAG, "%s: starting vcpu%u: %s", v->vm->name, v->id, strerror(errno));
			hv_vm_request_stop(v->vm, HV_EXIT_HOST);
			ok = false;
		}
		v->start_pending = false;
		v->started = true;
		/* Undo hv_vcpu_start()'s kick, then look at the stop flag again: a
		 * stop stores its reason before its own immediate_exit, so either
		 * we see the reason here or its immediate_exit survives (seq_cst). */
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	}
	if (__atomic_load_n(&v->vm->stop_reason, __ATOMIC_SEQ_CST) != HV_STOP_NONE)
		ok = false;
	pthread_mutex_unlock(&v->start_lock);
	return ok;
}

static void kick_handler(int sig)
{
	(void)sig;
}

static void *vcpu_thread(void *arg)
{
	struct hv_vcpu *v = arg;
	sigset_t kick;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", v->id);
	prctl(PR_SET_NAME, name);
	sigemptyset(&kick);
	sigaddset(&kick, HV_SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	/* From here on a start request kicks us; before, we find it pending. */
	pthread_mutex_lock(&v->start_lock);
	v->thread_running = true;
	pthread_mutex_unlock(&v->start_lock);
	while (!hv_vm_stopping(v->vm)) {
		if (!vcpu_take_start(v))
			break;
		int rr = ioctl(v->fd, KVM_RUN, 0);

		v->exits++;
		if (rr < 0) {
			/* immediate_exit stays as the kicker left it: a stop
			 * keeps it set; a start request is cleared by
			 * vcpu_take_start() on this thread. */
			if (errno == EINTR || errno == EAGAIN)
				continue;
			pv_log_err(TAG, "%s: vcpu%u: KVM_RUN: %s", v->vm->name, v->id, strerror(errno));
			hv_vm_request_stop(v->vm, HV_EXIT_HOST);
			break;
		}
		if (!vcpu_handle_exit(v))
			break;
	}
	pthread_mutex_lock(&v->start_lock);
	v->thread_running = false;
	pthread_mutex_unlock(&v->start_lock);
	return NULL;
}

static int vm_start_vcpus(struct hv_vm *vm)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	sigset_t all, old;
	int r = 0;

	/* No SA_RESTART: the kick must interrupt KVM_RUN. */
	sigaction(HV_SIG_KICK, &sa, NULL);
	/* vCPU threads start with every signal blocked, then unblock only the kick:
	 * process signals (SIGTERM, SIGINT) go to the main loop's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		r = -pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (r < 0)
			break;
		vm->vcpus[i].thread_started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

void hv_vm_stop_vcpus(struct hv_vm *vm)
{
	if (!hv_vm_stopping(vm))
		vm_request(vm, HV_STOP_EXIT, HV_EXIT_POWEROFF);
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++) {
		struct hv_vcpu *v = &vm->vcpus[i];

		if (!v->thread_started)
			continue;
		if (v->run)
			__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_mutex_lock(&v->start_lock);
		pthread_cond_broadcast(&v->start_cond); /* an AP waiting to be started */
		pthread_mutex_unlock(&v->start_lock);
		pthread_kill(v->thread, HV_SIG_KICK);
	}
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].thread_started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].thread_started = false;
		}
	}
}

int hv_vm_poll_add(struct hv_vm *vm, int fd, hv_poll_fn fn, void *opaque)
{
	if (vm->nr_poll >= HV_MAX_POLL)
		return -ENOSPC;
	vm->poll[vm->nr_poll].fd = fd;
	vm->poll[vm->nr_poll].fn = fn;
	vm->poll[vm->nr_poll].opaque = opaque;
	vm->nr_poll++;
	return 0;
}

void hv_vm_poll_del(struct hv_vm *vm, int fd)
{
	for (unsigned i = 0; i < vm->nr_poll; i++) {
		if (vm->poll[i].fd == fd) {
			vm->poll[i] = vm->poll[--vm->nr_poll];
			return;
		}
	}
}

enum hv_stop_reason hv_vm_run(struct hv_vm *vm)
{
	int r = vm_start_vcpus(vm);

	if (r < 0) {
		pv_log_err(TAG, "%s: starting vCPU threads: %s", vm->name, strerror(-r));
		vm_request(vm, HV_STOP_EXIT, HV_EXIT_HOST);
	}
	while (!hv_vm_stopping(vm)) {
		struct pollfd pfd[HV_MAX_POLL + 1];
		unsigned n = vm->nr_poll;

		pfd[0] = (struct pollfd){ .fd = vm->stop_efd, .events = POLLIN };
		for (unsigned i = 0; i < n; i++)
			pfd[i + 1] = (struct pollfd){ .fd = vm->poll[i].fd, .events = POLLIN };
		if (poll(pfd, n + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			pv_log_err(TAG, "%s: poll: %s", vm->name, strerror(errno));
			vm_request(vm, HV_STOP_EXIT, HV_EXIT_HOST);
			break;
		}
		for (unsigned i = 0; i < n && !hv_vm_stopping(vm); i++)
			if (pfd[i + 1].revents && vm->poll[i].fd == pfd[i + 1].fd)
				vm->poll[i].fn(vm, pfd[i + 1].fd, vm->poll[i].opaque);
	}
	hv_vm_stop_vcpus(vm);
	/* After the joins: each count was written by its own thread only.
	 * bench-evtchn reads this line to count exits per round trip. */
	uint64_t exits = 0;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		exits += vm->vcpus[i].exits;
	pv_log_info(TAG, "%s: %llu exits to the VMM (all vCPUs)", vm->name, (unsigned long long)exits);
	return vm->stop_reason;
}
