/* SPDX-License-Identifier: MIT */
/* The kernel's VM teardown off the exit path (vm.h: hv_vm_reap_after_exit).
 *
 * Destroying a VM with an in-kernel irqchip and PIT waits for a series of
 * SRCU grace periods and a kthread's exit: closing the VM fd takes 5-30 ms
 * on a loaded host (measured; 0.3 ms without the irqchip).  Whoever drops
 * the last reference pays, and a process's exit status reaches its parent
 * only after its exit has closed all its files.  So at the final exit a
 * reaper process takes extra references: it shares our address space (the
 * guest RAM mapping, KVM's mm) and holds copies of the VM's fds, and is
 * killed by the kernel once we are gone (PR_SET_PDEATHSIG); the last
 * references, and the waiting, are then its own. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vm.h"

#define REAPER_STACK (64u << 10)
#define REAPER_MAX_KEEP (HV_MAX_VCPUS + 4)

/* Sanitizer runtimes do not expect a CLONE_VM child on our main thread's
 * TLS: those builds tear down in place. */
#if defined(__SANITIZE_ADDRESS__)
#define REAPER_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REAPER_SANITIZED 1
#endif
#endif
#ifndef REAPER_SANITIZED
#define REAPER_SANITIZED 0
#endif

struct reaper_arg {
	pid_t parent;
	unsigned nr_keep;
	int keep[REAPER_MAX_KEEP]; /* ascending */
};

/* Runs in the reaper, on its own stack, sharing our memory but with the
 * thread pointer of our main thread: system calls through syscall() only
 * (no cancellation points, no TLS). */
static int reaper_main(void *p)
{
	const struct reaper_arg *a = p;
	unsigned lo = 0;

	/* Its copies of everything but the VM's fds would keep pipes and
	 * sockets open after we exit. */
	for (unsigned i = 0; i <= a->nr_keep; i++) {
		unsigned hi = i < a->nr_keep ? (unsigned)a->keep[i] : ~0u;

		if (hi > lo)
			syscall(SYS_close_range, lo, hi - 1, 0);
		lo = hi + 1;
	}
	syscall(SYS_prctl, PR_SET_NAME, "pvkvm-reaper", 0, 0, 0);
	syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (syscall(SYS_getppid) != a->parent)
		return 0; /* already gone */
	for (;;)
		syscall(SYS_pause);
	return 0;
}

static int cmp_int(const void *x, const void *y)
{
	return *(const int *)x - *(const int *)y;
}

static void reaper_keep(struct reaper_arg *a, int fd)
{
	if (fd >= 0 && a->nr_keep < REAPER_MAX_KEEP)
		a->keep[a->nr_keep++] = fd;
}

int hv_vm_reap_after_exit(struct hv_vm *vm)
{
	struct reaper_arg *a;
	void *stack;
	int nul;

	if (REAPER_SANITIZED)
		return -ENOTSUP;
	if (vm->nr_vcpus + 3 > REAPER_MAX_KEEP)
		return -E2BIG;
	stack = mmap(NULL, REAPER_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -errno;
	/* The argument lives in the reaper's stack mapping, which we never
	 * touch again (nor unmap: the reaper may run after we have returned). */
	a = stack;
	memset(a, 0, sizeof(*a));
	a->parent = getpid();
	reaper_keep(a, vm->kvm_fd);
	reaper_keep(a, vm->vm_fd);
	reaper_keep(a, vm->memfd);
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		reaper_keep(a, vm->vcpus[i].fd);
	qsort(a->keep, a->nr_keep, sizeof(a->keep[0]), cmp_int);
	/* The reaper's copies of stdio would hold the caller's pipe or
	 * terminal until it runs: give it /dev/null there (so do we, for the
	 * little left of our life; nothing is printed after the guest ends). */
	fflush(NULL);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0)
		return -errno;
	for (int fd = 0; fd < 3; fd++)
		dup2(nul, fd);
	close(nul);
	if (clone(reaper_main, (char *)stack + REAPER_STACK, CLONE_VM | SIGCHLD, a) < 0)
		return -errno;
	return 0;
}
