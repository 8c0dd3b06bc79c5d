/* SPDX-License-Identifier: MIT */
/* VM creation: /dev/kvm, memfd-backed RAM around the PCI hole, in-kernel
 * irqchip and PIT, vCPUs with CPUID and MSRs.  Nothing here touches guest
 * RAM: pages are faulted in by the guest (or a loader) on first use. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "pv_log.h"
#include "vm.h"
#include "pvkvm/boot.h"

#define TAG "hv"
#define HUGE_2M (2ull << 20)

/* CPUID leaves we add (hv/README.md).  KVM's own leaves move to 0x40000100,
 * where Linux and KVM still find them (they scan in steps of 0x100). */
#define CPUID_PVKVM_BASE 0x40000000u
#define CPUID_PVKVM_TSC  0x40000010u
#define CPUID_KVM_MOVED  0x40000100u

#define MSR_IA32_MISC_ENABLE 0x000001a0
#define MSR_MTRR_DEF_TYPE    0x000002ff

static int vm_fail(const char **err, const char *what, int e)
{
	*err = what;
	return -e;
}

static bool host_is_pvm(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

static int vm_setup_ram(struct hv_vm *vm, const struct hv_vm_opts *o, const char **err)
{
	struct sysinfo si;
	unsigned flags = MFD_CLOEXEC;
	uint64_t size = o->mem_bytes;

	if (size < (1u << 20))
		return vm_fail(err, "guest memory below 1 MiB", EINVAL);
	if (sysinfo(&si) == 0 && size > (uint64_t)si.totalram * si.mem_unit)
		return vm_fail(err, "guest memory larger than the host's RAM", E2BIG);
	if (o->hugepages) {
		flags |= MFD_HUGETLB | (21u << 26) /* MFD_HUGE_2MB */;
		size = (size + HUGE_2M - 1) & ~(HUGE_2M - 1);
	}
	vm->memfd = memfd_create(vm->name, flags);
	if (vm->memfd < 0)
		return vm_fail(err, o->hugepages ? "memfd_create(MFD_HUGETLB)" : "memfd_create", errno);
	if (ftruncate(vm->memfd, (off_t)size) < 0)
		return vm_fail(err, "sizing guest memory", errno);
	/* Hugetlb pages are reserved at mmap time, so a shortage fails here;
	 * ordinary RAM is not reserved (MAP_NORESERVE): untouched pages cost nothing. */
	vm->ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | (o->hugepages ? 0 : MAP_NORESERVE), vm->memfd, 0);
	if (vm->ram == MAP_FAILED) {
		vm->ram = NULL;
		return vm_fail(err, o->hugepages ? "mapping guest memory (not enough free hugepages?)"
						 : "mapping guest memory", errno);
	}
	vm->ram_bytes = size;
	vm->ram_below_4g = size < HV_PCI_HOLE_START ? size : HV_PCI_HOLE_START;
	vm->ram_above_4g = size - vm->ram_below_4g;

	struct kvm_userspace_memory_region low = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = vm->ram_below_4g,
		.userspace_addr = (uintptr_t)vm->ram,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &low) < 0)
		return vm_fail(err, "KVM_SET_USER_MEMORY_REGION", errno);
	if (vm->ram_above_4g) {
		struct kvm_userspace_memory_region high = {
			.slot = 1, .guest_phys_addr = HV_4G, .memory_size = vm->ram_above_4g,
			.userspace_addr = (uintptr_t)vm->ram + vm->ram_below_4g,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &high) < 0)
			return vm_fail(err, "KVM_SET_USER_MEMORY_REGION (above 4 GiB)", errno);
	}
	return 0;
}

/* The guest's memory map: conventional memory below the EBDA, the BIOS
 * area reserved (Linux expects it), RAM from 1 MiB, RAM above 4 GiB. */
static void vm_setup_e820(struct hv_vm *vm)
{
	uint64_t low = vm->ram_below_4g;

	vm->nr_e820 = 0;
	hv_vm_e820_add(vm, 0, low < 0x9fc00 ? low : 0x9fc00, PVH_MEMMAP_RAM);
	if (low > 0x100000) {
		hv_vm_e820_add(vm, 0x9fc00, 0x100000 - 0x9fc00, PVH_MEMMAP_RESERVED);
		hv_vm_e820_add(vm, 0x100000, low - 0x100000, PVH_MEMMAP_RAM);
	}
	if (vm->ram_above_4g)
		hv_vm_e820_add(vm, HV_4G, vm->ram_above_4g, PVH_MEMMAP_RAM);
}

int hv_vm_e820_add(struct hv_vm *vm, uint64_t addr, uint64_t size, uint32_t type)
{
	if (vm->nr_e820 >= HV_MAX_E820)
		return -ENOSPC;
	vm->e820[vm->nr_e820++] = (struct hv_e820){ .addr = addr, .size = size, .type = type };
	return 0;
}

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

static int vm_get_cpuid(struct hv_vm *vm, const char **err)
{
	/* 256 entries: one call on today's hosts (~80 used), not an E2BIG retry (0.3 ms each). */
	for (uint32_t n = 256; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (n + 2) * sizeof(c->entries[0]));

		if (!c)
			return vm_fail(err, "allocating CPUID", ENOMEM);
		c->nent = n;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			vm->cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return vm_fail(err, "KVM_GET_SUPPORTED_CPUID", errno);
	}
	return vm_fail(err, "KVM_GET_SUPPORTED_CPUID", E2BIG);
}

/* Fix up KVM's supported set into what we show guests (hv/README.md). */
static void vm_patch_cpuid(struct hv_vm *vm)
{
	struct kvm_cpuid2 *c = vm->cpuid;
	struct kvm_cpuid_entry2 *e;

	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function >= CPUID_PVKVM_BASE && c->entries[i].function < CPUID_KVM_MOVED)
			c->entries[i].function += CPUID_KVM_MOVED - CPUID_PVKVM_BASE;
	e = cpuid_find(c, CPUID_KVM_MOVED, 0);
	if (e)
		e->eax = CPUID_KVM_MOVED + 1;
	e = cpuid_find(c, 1, 0);
	/* Masking features here (say cmpxchg16b or XSAVE, which KVM's emulator
	 * cannot run at CPL0 on PVM) does not work on PVM: it replaces leaf 1
	 * with the host's on KVM_SET_CPUID2 (measured), so we do not try. */
	if (e)
		e->ecx |= 1u << 31; /* hypervisor present */
	struct kvm_cpuid_entry2 sig = {
		.function = CPUID_PVKVM_BASE, .eax = CPUID_PVKVM_TSC,
	};
	memcpy(&sig.ebx, "pvkv", 4);
	memcpy(&sig.ecx, "mpvk", 4);
	memcpy(&sig.edx, "vmpv", 4);
	struct kvm_cpuid_entry2 tsc = {
		.function = CPUID_PVKVM_TSC, .eax = vm->tsc_khz, .ebx = 1000000, /* LAPIC timer: 1 GHz */
	};
	c->entries[c->nent++] = sig;
	c->entries[c->nent++] = tsc;
}

static int vcpu_set_cpuid(struct hv_vcpu *v)
{
	struct kvm_cpuid2 *t = v->vm->cpuid;
	size_t sz = sizeof(*t) + t->nent * sizeof(t->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	int r = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, t, sz);
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffff) | (v->id << 24);
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = v->id;
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		r = -errno;
	free(c);
	return r;
}

static int vcpu_set_msrs(struct hv_vcpu *v)
{
	static const struct kvm_msr_entry e[] = {
		{ .index = MSR_IA32_MISC_ENABLE, .data = 1 },  /* fast strings */
		{ .index = MSR_MTRR_DEF_TYPE, .data = 0x806 }, /* MTRRs on, default WB */
	};
	/* struct kvm_msrs ends in a flexible array: build it in a raw buffer. */
	uint64_t buf[(sizeof(struct kvm_msrs) + sizeof(e)) / 8 + 1] = { 0 };
	struct kvm_msrs *m = (struct kvm_msrs *)buf;

	m->nmsrs = 2;
	memcpy(m->entries, e, sizeof(e));
	int n = ioctl(v->fd, KVM_SET_MSRS, m);

	if (n != 2)
		pv_log_debug(TAG, "vcpu%u: KVM_SET_MSRS set %d of 2", v->id, n);
	return 0;
}

static int vm_create_vcpus(struct hv_vm *vm, const char **err)
{
	int mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	if (mmap_size <= 0)
		return vm_fail(err, "KVM_GET_VCPU_MMAP_SIZE", errno);
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return vm_fail(err, "allocating vCPUs", ENOMEM);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		vm->vcpus[i].fd = -1;
		pthread_mutex_init(&vm->vcpus[i].start_lock, NULL);
		pthread_cond_init(&vm->vcpus[i].start_cond, NULL);
	}
	vm->vcpus[0].started = true;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct hv_vcpu *v = &vm->vcpus[i];

		v->vm = vm;
		v->id = i;
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
		if (v->fd < 0)
			return vm_fail(err, "KVM_CREATE_VCPU", errno);
		v->run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			return vm_fail(err, "mapping kvm_run", errno);
		}
		if (i == 0) {
			int khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);

			vm->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
			vm_patch_cpuid(vm);
		}
		int r = vcpu_set_cpuid(v);

		if (r < 0)
			return vm_fail(err, "KVM_SET_CPUID2", -r);
		vcpu_set_msrs(v);
	}
	return 0;
}

static int vm_setup_irqchip(struct hv_vm *vm, const char **err)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	/* Needed by VMX for real-mode emulation; placed in the PCI hole. */
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){ 0xfeffc000 }) < 0)
		pv_log_debug(TAG, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfeffd000ul) < 0)
		pv_log_debug(TAG, "KVM_SET_TSS_ADDR: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return vm_fail(err, "KVM_CREATE_IRQCHIP", errno);
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return vm_fail(err, "KVM_CREATE_PIT2", errno);
	vm->irqchip = true;
	return 0;
}

static int vm_create_kvm(struct hv_vm *vm, const struct hv_vm_opts *o, const char **err)
{
	int r;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return vm_fail(err, "/dev/kvm", errno);
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return vm_fail(err, "/dev/kvm: unsupported KVM API version", ENOTSUP);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return vm_fail(err, "KVM_CREATE_VM", errno);
	vm->pvm = host_is_pvm();
	/* RAM before the irqchip: with an irqchip in place, adding a memory
	 * slot costs 6-11 ms here (measured), without it ~0.1 ms. */
	if ((r = vm_setup_ram(vm, o, err)) < 0)
		return r;
	if (!o->no_irqchip && (r = vm_setup_irqchip(vm, err)) < 0)
		return r;
	vm_setup_e820(vm);
	if ((r = vm_get_cpuid(vm, err)) < 0)
		return r;
	return vm_create_vcpus(vm, err);
}

int hv_vm_create(struct hv_vm **out, const struct hv_vm_opts *o, const char **err)
{
	struct hv_vm *vm = calloc(1, sizeof(*vm));
	int r;

	*out = NULL;
	if (!vm)
		return vm_fail(err, "allocating the VM", ENOMEM);
	vm->kvm_fd = vm->vm_fd = vm->memfd = vm->stop_efd = -1;
	snprintf(vm->name, sizeof(vm->name), "%s", o->name ? o->name : "guest");
	vm->domid = o->domid ? o->domid : 1;
	vm->hugepages = o->hugepages;
	vm->nr_vcpus = o->nr_vcpus ? o->nr_vcpus : 1;
	if (vm->nr_vcpus > HV_MAX_VCPUS) {
		free(vm);
		return vm_fail(err, "too many vCPUs (at most 64)", EINVAL);
	}
	pthread_mutex_init(&vm->lock, NULL);
	if (hv_iobus_init(&vm->pio) < 0 || hv_iobus_init(&vm->mmio) < 0) {
		r = vm_fail(err, "I/O bus", ENOMEM);
		goto fail;
	}
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0) {
		r = vm_fail(err, "eventfd", errno);
		goto fail;
	}
	r = vm_create_kvm(vm, o, err);
	if (r < 0)
		goto fail;
	*out = vm;
	return 0;
fail:
	hv_vm_destroy(vm);
	return r;
}

void hv_vm_destroy(struct hv_vm *vm)
{
	if (!vm)
		return;
	hv_vm_stop_vcpus(vm);
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0));
		if (vm->vcpus[i].fd >= 0)
			close(vm->vcpus[i].fd);
		free(vm->vcpus[i].start_regs);
		free(vm->vcpus[i].start_sregs);
		pthread_mutex_destroy(&vm->vcpus[i].start_lock);
		pthread_cond_destroy(&vm->vcpus[i].start_cond);
	}
	free(vm->vcpus);
	free(vm->cpuid);
	if (vm->ram)
		munmap(vm->ram, vm->ram_bytes);
	int fds[] = { vm->memfd, vm->vm_fd, vm->kvm_fd, vm->stop_efd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	hv_iobus_destroy(&vm->pio);
	hv_iobus_destroy(&vm->mmio);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

void *hv_vm_gpa_to_hva(struct hv_vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t end = gpa + len;

	if (end < gpa)
		return NULL;
	if (end <= vm->ram_below_4g)
		return vm->ram + gpa;
	if (gpa >= HV_4G && end - HV_4G <= vm->ram_above_4g)
		return vm->ram + vm->ram_below_4g + (gpa - HV_4G);
	return NULL;
}

int hv_vm_irq_line(struct hv_vm *vm, unsigned irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level ? 1 : 0 };

	if (!vm->irqchip)
		return -ENODEV;
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}
