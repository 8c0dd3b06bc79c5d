/* SPDX-License-Identifier: MIT */
/*
 * TSC frequency, in order of trust:
 *  1. CPUID 0x40000010 EAX (TSC kHz), the timing leaf pvkvm and KVM-based
 *     VMMs expose under the hypervisor range (QEMU with invtsc does too),
 *     as read at CPL0 by entry.S, else as CPL3 sees it;
 *  2. CPUID 0x15 (crystal ratio, Intel) when it names the crystal;
 *  3. CPUID 0x16 EAX (base MHz, Intel; nominal, ~1 % off);
 *  4. PIT channel 0 read back while it counts 10 ms (ports 0x40/0x43);
 *  5. otherwise 1 GHz, said as such ("guess").
 * An invariant TSC is assumed: the guest never sleeps and never migrates.
 */
#include "mini/mini.h"

static struct mini_clock mini_clock;

/* Leaves 0x40000000 and 0x40000010 as the trampoline read them at CPL0
 * (entry.S says why CPL3 may see other values on a PVM host). */
extern const uint32_t mini_cpuid_cpl0[8];

static uint64_t tsc_from_hv_leaf(void)
{
	uint32_t r[4];

	if (mini_cpuid_cpl0[0] >= 0x40000010 && mini_cpuid_cpl0[0] <= 0x400000ff && mini_cpuid_cpl0[4])
		return (uint64_t)mini_cpuid_cpl0[4] * 1000;
	mini_cpuid(0x1, 0, r);
	if (!(r[2] & (1u << 31)))        /* no hypervisor bit */
		return 0;
	mini_cpuid(0x40000000, 0, r);
	if (r[0] < 0x40000010 || r[0] > 0x400000ff)
		return 0;
	mini_cpuid(0x40000010, 0, r);
	return (uint64_t)r[0] * 1000;
}

static uint64_t tsc_from_leaf15_16(const char **src)
{
	uint32_t r[4];

	mini_cpuid(0x0, 0, r);
	if (r[0] >= 0x15) {
		mini_cpuid(0x15, 0, r);
		if (r[0] && r[1] && r[2]) {
			*src = "cpuid 0x15";
			return (uint64_t)r[2] * r[1] / r[0];
		}
	}
	mini_cpuid(0x0, 0, r);
	if (r[0] >= 0x16) {
		mini_cpuid(0x16, 0, r);
		if (r[0] & 0xffff) {
			*src = "cpuid 0x16 (nominal)";
			return (uint64_t)(r[0] & 0xffff) * 1000000;
		}
	}
	return 0;
}

/*
 * PIT channel 0 as a free-running 16-bit down-counter (mode 2, 1.193182 MHz),
 * read with latch commands; no interrupts are needed (IF stays 0) and no
 * port 0x61 gate (QEMU microvm has none).  Counts 10 ms of PIT ticks against
 * the TSC.  A read is three VM exits, and the vCPU may be preempted inside
 * one (the host is shared), so each end point is the best of several reads:
 * the one with the shortest TSC window around it.  Without a PIT the counter
 * never moves and the TSC bound ends the loop.  Leaves channel 0 in one-shot
 * mode 0 so it raises no periodic interrupt.
 */
struct pit_sample {
	uint64_t ticks, tsc, window;
};

struct pit_state {
	uint64_t ticks;     /* elapsed PIT ticks since the first read */
	uint16_t prev;
};

static void pit_sample(struct pit_state *ps, struct pit_sample *out)
{
	uint64_t t0 = mini_rdtsc(), t1;
	uint8_t lo, hi;
	uint16_t cur;

	mini_outb(0x43, 0x00);                  /* latch channel 0 */
	lo = mini_inb(0x40);
	hi = mini_inb(0x40);
	t1 = mini_rdtsc();
	cur = (uint16_t)(lo | hi << 8);
	ps->ticks += (uint16_t)(ps->prev - cur);  /* down-counter, wraps */
	ps->prev = cur;
	*out = (struct pit_sample){ ps->ticks, t0, t1 - t0 };
}

static void pit_best_sample(struct pit_state *ps, struct pit_sample *best)
{
	struct pit_sample s;

	pit_sample(ps, best);
	for (unsigned i = 1; i < 5; i++) {
		pit_sample(ps, &s);
		if (s.window < best->window)
			*best = s;
	}
}

static uint64_t tsc_from_pit(void)
{
	const uint64_t want = 1193182 / 100;    /* 10 ms */
	struct pit_state ps = { 0, 0 };
	struct pit_sample start, end, s;

	mini_outb(0x43, 0x34);                  /* ch0, lo/hi, mode 2 */
	mini_outb(0x40, 0);
	mini_outb(0x40, 0);                     /* period 65536 */
	pit_sample(&ps, &s);
	ps.ticks = 0;
	pit_best_sample(&ps, &start);
	do {
		pit_sample(&ps, &s);
		if (s.tsc - start.tsc > 4000000000ull)  /* >= 0.4 s at <= 10 GHz: no PIT */
			return 0;
	} while (s.ticks - start.ticks < want);
	pit_best_sample(&ps, &end);
	mini_outb(0x43, 0x30);                  /* ch0 mode 0: no periodic tick */
	mini_outb(0x40, 0xff);
	mini_outb(0x40, 0xff);
	return (end.tsc - start.tsc) * 1193182 / (end.ticks - start.ticks);
}

static void mini_clock_init(void)
{
	const char *src = NULL;
	uint64_t hz;

	hz = tsc_from_hv_leaf();
	if (hz) {
		src = "cpuid 0x40000010";
	} else if (!(hz = tsc_from_leaf15_16(&src))) {
		hz = tsc_from_pit();
		src = "pit calibration";
	}
	if (hz < 10000000) {     /* < 10 MHz: nothing above was believable */
		hz = 1000000000;
		src = "guess";
	}
	mini_clock.tsc_hz = hz;
	mini_clock.source = src;
}

const struct mini_clock *mini_clock_get(void)
{
	if (!mini_clock.tsc_hz)
		mini_clock_init();
	return &mini_clock;
}

uint64_t mini_cycles_to_ns(uint64_t cycles)
{
	uint64_t hz = mini_clock_get()->tsc_hz;

	/* split so that nothing overflows 64 bits below 18 GHz */
	return cycles / hz * 1000000000u + cycles % hz * 1000000000u / hz;
}

uint64_t mini_ns_to_cycles(uint64_t ns)
{
	uint64_t hz = mini_clock_get()->tsc_hz;

	return ns / 1000000000u * hz + ns % 1000000000u * hz / 1000000000u;
}
