/* SPDX-License-Identifier: MIT */
/* A bare KVM guest for tests and benchmarks (see kvm_guest.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_guest.h"

int kvm_guest_new(struct kvm_guest *v, uint64_t ram_size)
{
	struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = ram_size };
	long run_size;

	memset(v, 0, sizeof(*v));
	v->kvm = v->vm = v->vcpu = v->memfd = -1;
	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0)
		return -errno;
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	v->memfd = memfd_create("kvm-guest-ram", MFD_CLOEXEC);
	if (v->vm < 0 || v->memfd < 0 || ftruncate(v->memfd, (off_t)ram_size))
		goto fail;
	v->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->memfd, 0);
	if (v->ram == MAP_FAILED) {
		v->ram = NULL;
		goto fail;
	}
	v->ram_size = ram_size;
	r.userspace_addr = (uint64_t)v->ram;
	if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &r))
		goto fail;
	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	run_size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (v->vcpu < 0 || run_size <= 0)
		goto fail;
	v->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		goto fail;
	}
	return 0;
fail:;
	int err = -errno;
	kvm_guest_free(v);
	return err ? err : -EIO;
}

int kvm_guest_setup_cpl3(struct kvm_guest *v, struct kvm_regs *regs)
{
	uint64_t *pml4 = (void *)(v->ram + 0x1000), *pdpt = (void *)(v->ram + 0x2000);
	uint64_t *pd = (void *)(v->ram + 0x3000);
	struct kvm_sregs s;

	pml4[0] = 0x2000 | 7;
	pdpt[0] = 0x3000 | 7;
	for (unsigned i = 0; i < KVM_GUEST_MAP_SIZE >> 21; i++)
		pd[i] = (i * 0x200000ul) | 0x87; /* present, writable, user, 2 MiB */
	if (ioctl(v->vcpu, KVM_GET_SREGS, &s))
		return -errno;
	struct kvm_segment seg = { .limit = 0xffffffff, .present = 1, .type = 3, .s = 1, .g = 1,
				   .dpl = 3, .selector = 0x23 };
	s.ds = s.es = s.fs = s.gs = s.ss = seg;
	seg.type = 11;
	seg.l = 1;
	seg.selector = 0x2b;
	s.cs = seg;
	s.cr3 = 0x1000;
	s.cr4 = 0x20;        /* PAE */
	s.cr0 = 0x80050033;  /* PG, AM, WP, NE, ET, MP, PE */
	s.efer = 0x500;      /* LME, LMA */
	if (!regs->rip)
		regs->rip = KVM_GUEST_CODE_GPA;
	if (!regs->rsp)
		regs->rsp = KVM_GUEST_STACK;
	regs->rflags = 0x3002; /* IOPL=3, IF=0 */
	if (ioctl(v->vcpu, KVM_SET_SREGS, &s) || ioctl(v->vcpu, KVM_SET_REGS, regs))
		return -errno;
	return 0;
}

void kvm_guest_free(struct kvm_guest *v)
{
	if (v->run)
		munmap(v->run, (size_t)ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0));
	if (v->ram)
		munmap(v->ram, v->ram_size);
	if (v->vcpu >= 0)
		close(v->vcpu);
	if (v->memfd >= 0)
		close(v->memfd);
	if (v->vm >= 0)
		close(v->vm);
	if (v->kvm >= 0)
		close(v->kvm);
	memset(v, 0, sizeof(*v));
	v->kvm = v->vm = v->vcpu = v->memfd = -1;
}

void asm_bytes(struct kvm_asm *a, const void *b, unsigned n)
{
	memcpy(a->p, b, n);
	a->p += n;
}

static void asm_op_imm32(struct kvm_asm *a, uint8_t op, uint32_t v)
{
	asm_bytes(a, &op, 1);
	asm_bytes(a, &v, 4);
}

void asm_mov_eax(struct kvm_asm *a, uint32_t v)
{
	asm_op_imm32(a, 0xb8, v);
}

void asm_mov_edi(struct kvm_asm *a, uint32_t v)
{
	asm_op_imm32(a, 0xbf, v);
}

void asm_mov_esi(struct kvm_asm *a, uint32_t v)
{
	asm_op_imm32(a, 0xbe, v);
}

void asm_movabs_r11(struct kvm_asm *a, uint64_t v)
{
	asm_bytes(a, "\x49\xbb", 2);
	asm_bytes(a, &v, 8);
}

void asm_store_eax_at_r11(struct kvm_asm *a)
{
	asm_bytes(a, "\x41\x89\x03", 3);
}

void asm_load_eax_from_r11(struct kvm_asm *a)
{
	asm_bytes(a, "\x41\x8b\x03", 3);
}

void asm_call_r11(struct kvm_asm *a)
{
	asm_bytes(a, "\x41\xff\xd3", 3);
}

void asm_store_rax(struct kvm_asm *a, uint64_t addr)
{
	asm_bytes(a, "\x48\xa3", 2);
	asm_bytes(a, &addr, 8);
}

void asm_out_al(struct kvm_asm *a, uint8_t port)
{
	uint8_t b[2] = { 0xe6, port };

	asm_bytes(a, b, 2);
}
