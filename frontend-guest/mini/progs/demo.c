/* SPDX-License-Identifier: MIT */
/* test=demo (the default): print what the guest sees.  Lines starting with
 * "mini: " and a key are stable across VMMs where the fact is (tests compare
 * the cpu, memory and command-line lines between pvkvm and QEMU). */
#include "mini/pci.h"

static const char *mem_type(uint32_t t)
{
	switch (t) {
	case 1: return "ram";
	case 2: return "reserved";
	case 3: return "acpi";
	case 4: return "acpi-nvs";
	default: return "other";
	}
}

/* What the trampoline set up: CPL3, IOPL=3, interrupts off.  A PVM host
 * runs guest CPL3 as host user mode and virtualizes IOPL and IF, so there
 * pushfq shows the host's flags (iopl 0, interrupts on); port I/O still
 * works because PVM emulates it against the guest's state. */
static void show_privilege(void)
{
	uint64_t cs, rflags;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	__asm__ volatile("pushfq; pop %0" : "=r"(rflags));
	printf("mini: cpl %lu; pushfq shows iopl %lu, interrupts %s\n", (unsigned long)(cs & 3),
	       (unsigned long)(rflags >> 12 & 3), rflags & 0x200 ? "on" : "off");
}

extern const uint32_t mini_cpuid_cpl0[8];

static void show_cpu(void)
{
	static const struct { unsigned reg, bit; const char *name; } feats[] = {
		{ 3, 25, "sse" }, { 3, 26, "sse2" }, { 2, 0, "sse3" }, { 2, 19, "sse4.1" },
		{ 2, 20, "sse4.2" }, { 2, 23, "popcnt" }, { 2, 25, "aes" }, { 2, 28, "avx" },
		{ 2, 30, "rdrand" }, { 2, 31, "hypervisor" }, { 3, 4, "tsc" },
	};
	uint32_t r[4], brand[13] = { 0 };
	char vendor[13];

	mini_cpuid(0, 0, r);
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = '\0';
	printf("mini: cpu vendor %s\n", vendor);
	mini_cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000004) {
		for (unsigned i = 0; i < 3; i++)
			mini_cpuid(0x80000002 + i, 0, brand + 4 * i);
		printf("mini: cpu brand %s\n", (const char *)brand);
	}
	mini_cpuid(1, 0, r);
	printf("mini: cpu family %u model %u stepping %u\n",
	       ((r[0] >> 8) & 0xf) + ((r[0] >> 20) & 0xff), ((r[0] >> 4) & 0xf) | ((r[0] >> 12) & 0xf0),
	       r[0] & 0xf);
	printf("mini: cpu features");
	for (unsigned i = 0; i < MINI_ARRAY_SIZE(feats); i++)
		if (r[feats[i].reg] >> feats[i].bit & 1)
			printf(" %s", feats[i].name);
	printf("\n");
	if (r[2] & (1u << 31)) {
		mini_cpuid(0x40000000, 0, r);
		memcpy(vendor, &r[1], 4);
		memcpy(vendor + 4, &r[2], 4);
		memcpy(vendor + 8, &r[3], 4);
		printf("mini: hypervisor signature \"%s\" max leaf 0x%x (cpuid at CPL3)\n", vendor, r[0]);
	}
	memcpy(vendor, &mini_cpuid_cpl0[1], 12);
	printf("mini: hypervisor signature \"%s\" max leaf 0x%x (cpuid at CPL0: the VMM's)\n",
	       vendor, mini_cpuid_cpl0[0]);
}

static void show_pci(void)
{
	static const char *const bar_kind[] = { "", "io", "mem32", "mem64" };
	const struct mini_pci_dev *devs;
	unsigned n = mini_pci_scan(&devs);

	if (!n)
		printf("mini: pci: no devices on bus 0 (no 0xcf8/0xcfc bus, as on QEMU microvm)\n");
	for (unsigned i = 0; i < n; i++) {
		const struct mini_pci_dev *d = &devs[i];

		printf("mini: pci %02x:%02x.%u %04x:%04x class %06x", d->bus, d->dev, d->fn, d->vendor,
		       d->device, d->class_rev >> 8);
		for (unsigned b = 0; b < 6; b++)
			if (d->bar[b].type)
				printf(" bar%u %s 0x%lx", b, bar_kind[d->bar[b].type],
				       (unsigned long)d->bar[b].addr);
		if (mini_pci_find_cap(d, 0x11))
			printf(" msix");
		printf("\n");
	}
}

static int demo_main(const char *arg)
{
	uint64_t ram = 0, t0, t1;
	unsigned nr_ram = 0;
	uint64_t spin = 0;

	printf("mini: hello from CPL3 (mini-guest demo)\n");
	show_privilege();
	printf("mini: command line \"%s\"\n", mini_boot.cmdline);
	for (unsigned i = 0; i < mini_opt_count(); i++) {
		const char *k, *v;

		mini_opt_get(i, &k, &v);
		printf("mini: option %s = \"%s\"\n", k, v);
	}
	for (unsigned i = 0; i < mini_boot.nr_memmap; i++) {
		const struct mini_mem_range *m = &mini_boot.memmap[i];

		if (!m->size)
			continue;
		printf("mini: memmap %016lx-%016lx %s\n", (unsigned long)m->addr,
		       (unsigned long)(m->addr + m->size - 1), mem_type(m->type));
		if (m->type == 1) {
			ram += m->size;
			nr_ram++;
		}
	}
	printf("mini: ram %lu KiB in %u ranges\n", (unsigned long)(ram >> 10), nr_ram);
	printf("mini: allocator has %zu free pages\n", mini_pages_free_count());
	show_cpu();
	show_pci();
	printf("mini: tsc %lu kHz (from %s)\n", (unsigned long)(mini_clock_get()->tsc_hz / 1000),
	       mini_clock_get()->source);
	t0 = mini_rdtsc();
	for (unsigned i = 0; i < 10000000; i++) {
		spin += i;
		__asm__ volatile("" : "+r"(spin));   /* keep the loop */
	}
	t1 = mini_rdtsc();
	printf("mini: 1e7 loop iterations in %lu us (CPL3 runs native)\n",
	       (unsigned long)(mini_cycles_to_ns(t1 - t0) / 1000));
	(void)arg;
	printf("demo OK\n");
	return MINI_EXIT_OK;
}
MINI_PROGRAM(demo, "demo", "print memory map, command line, CPU and clock (default)", demo_main);

static int exit_main(const char *arg)
{
	uint64_t v;

	if (mini_parse_u64(arg, &v) || v > 127) {
		printf("mini: test=exit:N needs N in 0..127, got \"%s\"\n", arg);
		return MINI_EXIT_USAGE;
	}
	return (int)v;
}
MINI_PROGRAM(exit, "exit", "exit:N exits with status N (0..127)", exit_main);

static int fault_main(const char *arg)
{
	(void)arg;
	printf("mini: reading unmapped address 0x100000000 (expect a #PF report)\n");
	return (int)*(volatile uint32_t *)(uintptr_t)0x100000000ull;
}
MINI_PROGRAM(fault, "fault", "touch an unmapped page: shows the exception report", fault_main);
