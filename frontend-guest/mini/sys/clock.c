/* SPDX-License-Identifier: MIT */
/*
 * TSC frequency, in order of trust:
 *  1. CPUID 0x40000010 EAX (TSC kHz), the timing leaf pvkvm and KVM-based
 *     VMMs expose under the hypervisor range (QEMU with invtsc does too);
 *  2. CPUID 0x15 (crystal ratio, Intel) when it names the crystal;
 *  3. CPUID 0x16 EAX (base MHz, Intel; nominal, ~1 % off);
 *  4. PIT channel 0 read back while it counts 20 ms (ports 0x40/0x43);
 *  5. otherwise 1 GHz, said as such ("guess").
 * An invariant TSC is assumed: the guest never sleeps and never migrates.
 */
#include "mini/mini.h"

struct mini_clock mini_clock;

static uint64_t tsc_from_hv_leaf(void)
{
	uint32_t r[4];

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
 * port 0x61 gate (QEMU microvm has none).  Counts 20 ms of PIT ticks against
 * the TSC.  Each read is a few VM exits; the start and end reads cost the
 * same, so that mostly cancels.  Without a PIT the counter never moves and
 * the TSC bound ends the loop.  Leaves channel 0 in one-shot mode 0.
 */
static uint16_t pit_read(void)
{
	uint8_t lo, hi;

	mini_outb(0x43, 0x00);                  /* latch channel 0 */
	lo = mini_inb(0x40);
	hi = mini_inb(0x40);
	return (uint16_t)(lo | hi << 8);
}

static uint64_t tsc_from_pit(void)
{
	const uint64_t want = 1193182 / 50;     /* 20 ms */
	uint64_t ticks = 0, t0, t1;
	uint16_t prev, cur;

	mini_outb(0x43, 0x34);                  /* ch0, lo/hi, mode 2 */
	mini_outb(0x40, 0);
	mini_outb(0x40, 0);                     /* period 65536 */
	prev = pit_read();
	t0 = mini_rdtsc();
	while (ticks < want) {
		cur = pit_read();
		ticks += (uint16_t)(prev - cur);  /* down-counter, wraps */
		prev = cur;
		if (mini_rdtsc() - t0 > 4000000000ull)  /* >= 0.4 s at <= 10 GHz: no PIT */
			return 0;
	}
	t1 = mini_rdtsc();
	mini_outb(0x43, 0x30);                  /* ch0 mode 0: stop the periodic tick */
	mini_outb(0x40, 0xff);
	mini_outb(0x40, 0xff);
	return (t1 - t0) * 1193182 / ticks;
}

void mini_clock_init(void)
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

uint64_t mini_cycles_to_ns(uint64_t cycles)
{
	uint64_t hz = mini_clock.tsc_hz;

	/* split so that nothing overflows 64 bits below 18 GHz */
	return cycles / hz * 1000000000u + cycles % hz * 1000000000u / hz;
}

uint64_t mini_ns_to_cycles(uint64_t ns)
{
	uint64_t hz = mini_clock.tsc_hz;

	return ns / 1000000000u * hz + ns % 1000000000u * hz / 1000000000u;
}
