/* SPDX-License-Identifier: MIT */
/*
 * CPU exceptions.  The mini-guest expects none: an exception at CPL3 without
 * an IDT would triple-fault (a silent exit under -no-reboot).  So we install
 * 32 interrupt gates whose stubs (entry.S) call mini_exc_report at CPL0, which
 * names the vector and RIP and exits with MINI_EXIT_EXCEPTION.  The IDT is
 * ordinary user-accessible memory, so it is filled here at CPL3 (native speed)
 * rather than by a loop in the CPL0 trampoline.
 */
#include "mini/mini.h"

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, reserved;
};

struct mini_exc_frame {
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

extern struct idt_gate mini_idt[32];
extern const char mini_exc_stubs[];
void mini_exc_report(const struct mini_exc_frame *f);

static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound", "#UD invalid opcode", "#NM no FPU", "#DF double fault", "coproc",
	"#TS invalid TSS", "#NP segment not present", "#SS stack fault",
	"#GP general protection", "#PF page fault", "reserved", "#MF x87 error",
	"#AC alignment check", "#MC machine check", "#XM SIMD error", "#VE virtualization",
	"#CP control protection",
};

void mini_exc_init(void)
{
	for (unsigned v = 0; v < 32; v++) {
		uint64_t a = (uintptr_t)mini_exc_stubs + 16 * v;

		mini_idt[v] = (struct idt_gate){
			.off_lo = (uint16_t)a, .sel = 0x08, .type = 0x8e,
			.off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32),
		};
	}
}

/* Runs at CPL0 (emulated, slow on PVM hosts: fine, it runs once). */
void mini_exc_report(const struct mini_exc_frame *f)
{
	const char *name = f->vector < 32 && exc_names[f->vector] ? exc_names[f->vector] : "?";
	uint64_t cr2 = 0;

	if (f->vector == 14)
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	printf("\nmini: CPU exception %lu (%s) at rip=0x%lx error=0x%lx rsp=0x%lx cr2=0x%lx\n",
	       (unsigned long)f->vector, name, (unsigned long)f->rip, (unsigned long)f->error,
	       (unsigned long)f->rsp, (unsigned long)cr2);
	mini_exit(MINI_EXIT_EXCEPTION);
}
