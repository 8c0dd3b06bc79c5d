/* SPDX-License-Identifier: MIT */
/*
 * PVH entry of the mini-guest: 32-bit protected mode, paging off, %ebx =
 * struct pvh_start_info.  Everything here runs at CPL0, which a PVM host
 * emulates ~4000x slower than native, so this path is straight-line: the page
 * tables are prebuilt data (no loop), the IDT is filled later from CPL3
 * (mini_exc_init), and we iretq to CPL3 with IOPL=3 and IF=0 after ~50
 * instructions.  Only an exception brings the CPU back to CPL0 (exc_common).
 */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS   0x1b      /* GDT entry 3, RPL 3 */
#define USER_CS   0x23      /* GDT entry 4, RPL 3 */
#define TSS_SEL   0x28

	.section .note.Xen, "a", @note
	.balign 4
	.long 4                 /* namesz */
	.long 4                 /* descsz */
	.long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start

	.section .boot, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	mov %ebx, %esi                  /* survives until mini_start(%rdi) */
	/* The VMM's hypervisor leaves, read here because CPUID at CPL3 is not
	 * intercepted on a PVM host (AMD has no CPUID faulting): CPL3 sees the
	 * host's leaves, CPL0 (emulated) sees the VMM's.  sys/clock.c uses them. */
	mov $0x40000000, %eax
	xor %ecx, %ecx
	cpuid
	mov %eax, mini_cpuid_cpl0 + 0
	mov %ebx, mini_cpuid_cpl0 + 4
	mov %ecx, mini_cpuid_cpl0 + 8
	mov %edx, mini_cpuid_cpl0 + 12
	mov $0x40000010, %eax
	xor %ecx, %ecx
	cpuid
	mov %eax, mini_cpuid_cpl0 + 16
	mov %ebx, mini_cpuid_cpl0 + 20
	mov %ecx, mini_cpuid_cpl0 + 24
	mov %edx, mini_cpuid_cpl0 + 28
	mov $mini_pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x620, %eax                 /* PAE | OSFXSR | OSXMMEXCPT */
	mov %eax, %cr4
	mov $0xc0000080, %ecx           /* EFER */
	rdmsr
	or $0x100, %eax                 /* LME */
	wrmsr
	mov %cr0, %eax
	and $~0x4, %eax                 /* EM off: SSE usable */
	or $0x80000003, %eax            /* PG | MP | PE */
	mov %eax, %cr0
	/* TSS base into its descriptor (the image sits below 16 MiB). */
	mov $mini_tss, %eax
	mov %ax, gdt_tss + 2
	shr $16, %eax
	mov %al, gdt_tss + 4
	lgdt gdtr
	ljmp $KERNEL_CS, $long64

	.code64
long64:
	mov $KERNEL_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov $TSS_SEL, %eax
	ltr %ax
	lidt idtr
	lea mini_kstack_top(%rip), %rsp
	pushq $USER_DS
	lea mini_ustack_top(%rip), %rax
	pushq %rax
	pushq $0x3002                   /* IOPL=3, IF=0, reserved bit 1 */
	pushq $USER_CS
	lea user_entry(%rip), %rax
	pushq %rax
	iretq

	.text
user_entry:                             /* CPL3 from here on */
	mov $USER_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	/* Loaders zero .bss, but do not rely on it (native speed here). */
	lea __bss_start(%rip), %rdi
	lea __bss_end(%rip), %rcx
	sub %rdi, %rcx
	xor %eax, %eax
	cld
	rep stosb
	mov %esi, %edi
	call mini_start
1:	jmp 1b

/*
 * Exception stubs, 16 bytes apart (mini_exc_init computes their addresses).
 * Vectors with a CPU error code: 8, 10-14, 17, 21, 29, 30; others push 0.
 */
	.balign 16
	.globl mini_exc_stubs
mini_exc_stubs:
	vec = 0
	.rept 32
	.balign 16
	.if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30
	.else
	pushq $0
	.endif
	pushq $vec
	jmp exc_common
	vec = vec + 1
	.endr

exc_common:                             /* CPL0: report and exit, never return */
	mov %rsp, %rdi                  /* struct mini_exc_frame */
	and $~0xf, %rsp
	call mini_exc_report
2:	jmp 2b

/* The GDT is writable: ltr marks the TSS descriptor busy, and we patch its base. */
	.data
	.balign 16
gdt:
	.quad 0
	.quad 0x00209a0000000000        /* 0x08 kernel code64 */
	.quad 0x0000920000000000        /* 0x10 kernel data */
	.quad 0x0000f20000000000        /* 0x18 user data */
	.quad 0x0020fa0000000000        /* 0x20 user code64 */
gdt_tss:
	.quad 0x0000890000002068        /* 0x28 TSS (limit 0x2068), base patched */
	.quad 0
gdt_end:
	.balign 2
gdtr:
	.word gdt_end - gdt - 1
	.long gdt
	.balign 2
idtr:
	.word 32 * 16 - 1
	.quad mini_idt

/*
 * Identity map of the low 4 GiB with 2 MiB pages, user-accessible, as data
 * (a loop at CPL0 would cost milliseconds here).  The top GiB holds the MMIO
 * hole (virtio-mmio at 0xfeb00000, PCI BARs from 0xc0000000): uncached.
 */
	.data
	.balign 4096
	.globl mini_pml4
mini_pml4:
	.quad mini_pdpt + 0x7
	.fill 511, 8, 0
	.globl mini_pdpt
mini_pdpt:
	.quad mini_pd + 0x0000 + 0x7
	.quad mini_pd + 0x1000 + 0x7
	.quad mini_pd + 0x2000 + 0x7
	.quad mini_pd + 0x3000 + 0x7
	.fill 508, 8, 0                 /* 4-64 GiB: filled from CPL3 by sys/mm.c */
mini_pd:
	pg = 0
	.rept 1536
	.quad (pg << 21) + 0x87         /* P | RW | US | PS */
	pg = pg + 1
	.endr
	.rept 512
	.quad (pg << 21) + 0x9f         /* P | RW | US | PWT | PCD | PS */
	pg = pg + 1
	.endr

/*
 * 64-bit TSS: RSP0 for exceptions, and an I/O bitmap allowing every port.
 * IOPL=3 alone should make port I/O legal at CPL3, but the PVM host checks
 * the TSS bitmap once TR is loaded (measured: outb at CPL3 then faults).
 */
	.balign 16
	.globl mini_cpuid_cpl0
mini_cpuid_cpl0:                        /* leaves 0x40000000 and 0x40000010, as CPL0 saw them */
	.fill 8, 4, 0

	.balign 16
	.globl mini_tss
mini_tss:
	.long 0
	.quad mini_kstack_top           /* RSP0: exceptions from CPL3 land here */
	.fill 0x66 - 12, 1, 0
	.word 0x68                      /* I/O bitmap offset */
	.fill 8192, 1, 0                /* every port allowed */
	.byte 0xff

	.section .bss
	.balign 16
	.globl mini_idt
mini_idt:
	.skip 32 * 16

/* Page directories for RAM above 4 GiB (2 MiB pages; the PVM host
 * rejects 1 GiB pages although CPUID offers them), filled on demand from
 * CPL3; not zeroed at boot, so only the ones used are ever touched. */
	.section .stack, "aw", @nobits
	.balign 4096
	.globl mini_pd_high
mini_pd_high:
	.skip 60 * 4096

	.balign 4096
	.skip 16384
mini_kstack_top:
	.skip 262144
	.globl mini_ustack_top
mini_ustack_top:

	.section .note.GNU-stack, "", @progbits
