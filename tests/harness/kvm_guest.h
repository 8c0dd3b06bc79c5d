/* SPDX-License-Identifier: MIT */
/* A bare KVM guest for tests and benchmarks: one vCPU, memfd RAM, 64-bit,
 * identity-mapped user-accessible 2 MiB pages over the first 64 MiB (RAM
 * below, an MMIO window above), running hand-assembled code at CPL3 with
 * IOPL=3 and IF=0 (native speed on PVM hosts). */
#ifndef KVM_GUEST_H
#define KVM_GUEST_H

#include <linux/kvm.h>
#include <stdint.h>

#define KVM_GUEST_MAP_SIZE (64ul << 20)
#define KVM_GUEST_CODE_GPA 0x10000ul
#define KVM_GUEST_STACK    0x8000ul

struct kvm_guest {
	int kvm, vm, vcpu, memfd;
	uint8_t *ram;
	uint64_t ram_size;
	struct kvm_run *run;
};

/* -ENOENT when /dev/kvm is missing (callers SKIP), other -errno on failure. */
int kvm_guest_new(struct kvm_guest *v, uint64_t ram_size);
/* Page tables, segments for CPL3, and regs (rip defaults to CODE_GPA). */
int kvm_guest_setup_cpl3(struct kvm_guest *v, struct kvm_regs *regs);
void kvm_guest_free(struct kvm_guest *v);

/* A tiny x86-64 emitter for test code. */
struct kvm_asm {
	uint8_t *p;
};
void asm_bytes(struct kvm_asm *a, const void *b, unsigned n);
void asm_mov_eax(struct kvm_asm *a, uint32_t v);
void asm_mov_edi(struct kvm_asm *a, uint32_t v);
void asm_mov_esi(struct kvm_asm *a, uint32_t v);
void asm_movabs_r11(struct kvm_asm *a, uint64_t v);
void asm_store_eax_at_r11(struct kvm_asm *a);   /* mov %eax,(%r11) */
void asm_load_eax_from_r11(struct kvm_asm *a);  /* mov (%r11),%eax */
void asm_call_r11(struct kvm_asm *a);
void asm_store_rax(struct kvm_asm *a, uint64_t addr); /* movabs %rax,addr */
void asm_out_al(struct kvm_asm *a, uint8_t port);

#endif
