/* SPDX-License-Identifier: MIT */
/*
 * C entry at CPL3: copy what the loader gave us (start info, memory map,
 * command line) into private memory and check it, bring up console, clock
 * and page allocator, then run the program named by test=NAME[:ARG].
 */
#include "mini/mini.h"
#include "pvkvm/boot.h"

struct mini_bootinfo mini_boot;
extern const struct mini_program __start_mini_programs[], __stop_mini_programs[];
extern const char __image_start[], __image_end[];
void mini_start(uint32_t start_info_paddr);

void mini_exit(int status)
{
	printf("mini: exit status %d\n", status);
	mini_outl(PVKVM_PORT_DEBUG_EXIT, (uint32_t)status);
	for (;;)              /* no debug-exit device: spin (the caller's timeout ends us) */
		mini_pause();
}

/* Copies the start info; returns NULL when it is not usable. */
static const char *boot_copy(uint32_t paddr, struct mini_mem_range *res, unsigned *nr_res)
{
	struct pvh_start_info si;
	const char *cmd;
	size_t n;

	if (!paddr || paddr >= (4ull << 30) - sizeof(si))
		return "start info address out of range";
	memcpy(&si, (const void *)(uintptr_t)paddr, sizeof(si));
	if (si.magic != PVH_START_MAGIC)
		return "bad start info magic";
	res[(*nr_res)++] = (struct mini_mem_range){ paddr, sizeof(si), 0 };
	if (si.version < 1 || !si.memmap_paddr || !si.memmap_entries)
		return "start info has no memory map (version 0)";
	if (si.memmap_entries > MINI_MAX_MEMMAP || si.memmap_paddr >= (4ull << 30))
		return "memory map too large or out of range";
	for (unsigned i = 0; i < si.memmap_entries; i++) {
		struct pvh_memmap_entry e;

		memcpy(&e, (const void *)(uintptr_t)(si.memmap_paddr + i * sizeof(e)), sizeof(e));
		mini_boot.memmap[i] = (struct mini_mem_range){ e.addr, e.size, e.type };
	}
	mini_boot.nr_memmap = si.memmap_entries;
	cmd = si.cmdline_paddr && si.cmdline_paddr < (4ull << 30) ?
		(const char *)(uintptr_t)si.cmdline_paddr : "";
	for (n = 0; n < sizeof(mini_boot.cmdline) - 1 && cmd[n]; n++)
		mini_boot.cmdline[n] = cmd[n];
	mini_boot.cmdline[n] = '\0';
	mini_boot.cmdline_truncated = cmd[n] != '\0';
	mini_boot.rsdp = si.rsdp_paddr;
	mini_boot.nr_modules = si.nr_modules;
	for (unsigned i = 0; i < si.nr_modules && i < 8 && si.modlist_paddr < (4ull << 30); i++) {
		struct pvh_module m;

		memcpy(&m, (const void *)(uintptr_t)(si.modlist_paddr + i * sizeof(m)), sizeof(m));
		res[(*nr_res)++] = (struct mini_mem_range){ m.paddr, m.size, 0 };
	}
	return NULL;
}

const struct mini_program *mini_program_find(const char *name)
{
	for (const struct mini_program *p = __start_mini_programs; p < __stop_mini_programs; p++)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

void mini_program_list(void)
{
	for (const struct mini_program *p = __start_mini_programs; p < __stop_mini_programs; p++)
		printf("  test=%-10s %s\n", p->name, p->summary);
}

static int run_program(void)
{
	char name[64];
	const char *test = mini_opt_str("test", "demo"), *colon = strchr(test, ':');
	size_t n = colon ? (size_t)(colon - test) : strlen(test);
	const struct mini_program *p;

	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, test, n);
	name[n] = '\0';
	p = mini_program_find(name);
	if (!p) {
		printf("mini: unknown program test=%s; programs:\n", name);
		mini_program_list();
		return MINI_EXIT_USAGE;
	}
	return p->main(colon ? colon + 1 : "");
}

void mini_start(uint32_t start_info_paddr)
{
	struct mini_mem_range reserved[16];
	unsigned nr_res = 0;
	const char *err;

	mini_console_init();
	mini_exc_init();
	reserved[nr_res++] = (struct mini_mem_range){
		(uintptr_t)__image_start, (uintptr_t)(__image_end - __image_start), 0 };
	err = boot_copy(start_info_paddr, reserved, &nr_res);
	if (err) {
		printf("mini: %s\n", err);
		mini_exit(MINI_EXIT_FAIL);
	}
	if (mini_boot.cmdline_truncated || mini_cmdline_parse(mini_boot.cmdline)) {
		printf("mini: command line too long (max %zu bytes, 48 words)\n",
		       sizeof(mini_boot.cmdline) - 1);
		mini_exit(MINI_EXIT_USAGE);
	}
	if (mini_mm_init(mini_boot.memmap, mini_boot.nr_memmap, reserved, nr_res)) {
		printf("mini: no usable RAM above 1 MiB in the memory map\n");
		mini_exit(MINI_EXIT_FAIL);
	}
	mini_exit(run_program());
}
