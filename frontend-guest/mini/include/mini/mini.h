/* SPDX-License-Identifier: MIT */
/*
 * The mini-guest's runtime: everything runs at CPL3 with IOPL=3 and
 * interrupts off, physical == virtual (identity map of the low 4 GiB).
 * Nothing here may fault or enter CPL0; devices are polled.
 */
#ifndef MINI_MINI_H
#define MINI_MINI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define MINI_PAGE_SIZE 4096u
#define MINI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Exit statuses (pvkvm exits with S, QEMU's isa-debug-exit with (S<<1)|1). */
enum {
	MINI_EXIT_OK = 0,
	MINI_EXIT_FAIL = 1,       /* a test program found an error */
	MINI_EXIT_USAGE = 2,      /* bad command line */
	MINI_EXIT_NODEV = 3,      /* the device a program needs is absent */
	MINI_EXIT_EXCEPTION = 126 /* CPU exception (see mini_exc_report) */
};

/* ---- port and MMIO access (legal at CPL3 with IOPL=3) ---- */
static inline void mini_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t mini_inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void mini_outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint32_t mini_mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)(uintptr_t)addr;
}
static inline void mini_mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)addr = v;
}
static inline uint64_t mini_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline void mini_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}
static inline void mini_pause(void) { __asm__ volatile("pause"); }
/* Orders our stores to shared memory against the device's view (x86: the
 * compiler barrier suffices for store-store; mfence for store-load). */
static inline void mini_barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void mini_mb(void) { __asm__ volatile("mfence" ::: "memory"); }

/* ---- libc subset (lib/) ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parses an unsigned decimal or 0x-hex number with an optional k/m/g/t
 * suffix (powers of 1024).  Returns 0, or -1 on junk or overflow. */
int mini_parse_u64(const char *s, uint64_t *out);

/* ---- console (sys/console.c): COM1, polled ---- */
void mini_console_init(void);
void mini_console_write(const char *s, size_t n);

/* ---- exit (sys/start.c) ---- */
__attribute__((noreturn)) void mini_exit(int status);

/* ---- clock (sys/clock.c) ---- */
struct mini_clock {
	uint64_t tsc_hz;
	const char *source;      /* where tsc_hz came from */
};
/* Determined on first use: a PIT calibration costs 10 ms, which programs
 * that never look at the clock (test=exit:N, boot benchmarks) do not pay. */
const struct mini_clock *mini_clock_get(void);
uint64_t mini_cycles_to_ns(uint64_t cycles);
uint64_t mini_ns_to_cycles(uint64_t ns);

/* ---- memory (sys/mm.c): pages over the PVH memory map ---- */
struct mini_mem_range {
	uint64_t addr, size;
	uint32_t type;
};
/* 0, or -1 when no RAM can hold the allocator's bitmap. */
int mini_mm_init(const struct mini_mem_range *map, unsigned n,
		 const struct mini_mem_range *reserved, unsigned nr_reserved);
/* End of what the identity map may cover (RAM above it is not used). */
uint64_t mini_mm_mapped_top(void);
/* Physically contiguous, page-aligned, zeroed; NULL when none fits. */
void *mini_pages_alloc(size_t nr_pages);
void mini_pages_free(void *p, size_t nr_pages);
size_t mini_pages_free_count(void);
size_t mini_pages_total(void);

/* ---- boot information, copied out of the start info (sys/start.c) ---- */
#define MINI_MAX_MEMMAP 32
struct mini_bootinfo {
	struct mini_mem_range memmap[MINI_MAX_MEMMAP];
	unsigned nr_memmap;
	char cmdline[1024];
	bool cmdline_truncated;
	uint64_t rsdp;
	unsigned nr_modules;
};
extern struct mini_bootinfo mini_boot;

/* ---- command line (sys/cmdline.c): "key=value key2 ..." ---- */
int mini_cmdline_parse(const char *cmdline);
/* Value of key, or def when absent ("" for a bare key). */
const char *mini_opt_str(const char *key, const char *def);
/* Numeric value (with k/m/g suffix); prints an error and exits with
 * MINI_EXIT_USAGE when the value is not a number. */
uint64_t mini_opt_u64(const char *key, uint64_t def);
unsigned mini_opt_count(void);
void mini_opt_get(unsigned i, const char **key, const char **value);

/* ---- CPU exceptions (sys/exc.c) ---- */
void mini_exc_init(void);

/* ---- programs: selected by test=NAME[:ARG] ---- */
struct mini_program {
	const char *name;
	const char *summary;
	int (*main)(const char *arg);   /* arg: text after "NAME:", or "" */
};
#define MINI_PROGRAM(ident, name_, summary_, fn)                          \
	static const struct mini_program mini_program_##ident              \
		__attribute__((used, section("mini_programs"), aligned(8))) = { \
		.name = name_, .summary = summary_, .main = fn }
const struct mini_program *mini_program_find(const char *name);
void mini_program_list(void);

#endif
