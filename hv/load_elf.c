/* SPDX-License-Identifier: MIT */
/* ELF images: PT_LOAD segments at their physical addresses, the PVH entry
 * from the "Xen" note of type PHYS32_ENTRY, and the PVH start info. */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "loader.h"
#include "pvkvm/boot.h"
#include "vm.h"

/* One program header, widened from either ELF class. */
struct elf_ph {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

struct elf_info {
	bool is64;
	uint64_t entry, phoff;
	unsigned phnum, phentsize;
};

static int elf_header(struct hv_load_ctx *c, const struct hv_image *img, struct elf_info *ei)
{
	const uint8_t *d = img->data;

	if (img->size < EI_NIDENT)
		return hv_load_err(c, ENOEXEC, "%s: truncated ELF header", img->path);
	ei->is64 = d[EI_CLASS] == ELFCLASS64;
	if ((d[EI_CLASS] != ELFCLASS64 && d[EI_CLASS] != ELFCLASS32) || d[EI_DATA] != ELFDATA2LSB)
		return hv_load_err(c, ENOEXEC, "%s: not a little-endian ELF32/ELF64 image", img->path);
	if (ei->is64) {
		Elf64_Ehdr h;

		if (img->size < sizeof(h))
			return hv_load_err(c, ENOEXEC, "%s: truncated ELF header", img->path);
		memcpy(&h, d, sizeof(h));
		if (h.e_machine != EM_X86_64)
			return hv_load_err(c, ENOEXEC, "%s: not an x86 ELF image", img->path);
		*ei = (struct elf_info){ true, h.e_entry, h.e_phoff, h.e_phnum, h.e_phentsize };
		if (ei->phentsize != sizeof(Elf64_Phdr))
			return hv_load_err(c, ENOEXEC, "%s: bad ELF program header size", img->path);
	} else {
		Elf32_Ehdr h;

		if (img->size < sizeof(h))
			return hv_load_err(c, ENOEXEC, "%s: truncated ELF header", img->path);
		memcpy(&h, d, sizeof(h));
		if (h.e_machine != EM_386 && h.e_machine != EM_X86_64)
			return hv_load_err(c, ENOEXEC, "%s: not an x86 ELF image", img->path);
		*ei = (struct elf_info){ false, h.e_entry, h.e_phoff, h.e_phnum, h.e_phentsize };
		if (ei->phentsize != sizeof(Elf32_Phdr))
			return hv_load_err(c, ENOEXEC, "%s: bad ELF program header size", img->path);
	}
	if (ei->phnum == 0 || ei->phoff > img->size ||
	    (uint64_t)ei->phnum * ei->phentsize > img->size - ei->phoff)
		return hv_load_err(c, ENOEXEC, "%s: ELF program headers outside the file", img->path);
	return 0;
}

static struct elf_ph elf_ph(const struct hv_image *img, const struct elf_info *ei, unsigned i)
{
	const uint8_t *p = img->data + ei->phoff + (uint64_t)i * ei->phentsize;

	if (ei->is64) {
		Elf64_Phdr h;

		memcpy(&h, p, sizeof(h));
		return (struct elf_ph){ h.p_type, h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz };
	}
	Elf32_Phdr h;

	memcpy(&h, p, sizeof(h));
	return (struct elf_ph){ h.p_type, h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz };
}

/* Walks the notes of one PT_NOTE segment for the PVH entry. */
static int elf_find_pvh_note(const struct hv_image *img, const struct elf_ph *ph, uint64_t *entry)
{
	uint64_t off = ph->offset, end = ph->offset + ph->filesz;

	if (end < off || end > img->size)
		return -ENOEXEC;
	while (end - off >= 12) {
		uint32_t n[3];

		memcpy(n, img->data + off, sizeof(n));
		uint64_t name_off = off + 12;
		uint64_t desc_off = name_off + (((uint64_t)n[0] + 3) & ~3ull);
		uint64_t next = desc_off + (((uint64_t)n[1] + 3) & ~3ull);

		if (next > end)
			return -ENOEXEC;
		if (n[2] == PVH_ELFNOTE_PHYS32_ENTRY && n[0] == 4 &&
		    !memcmp(img->data + name_off, PVH_ELFNOTE_NAME, 4) && (n[1] == 4 || n[1] == 8)) {
			uint64_t v = 0;

			memcpy(&v, img->data + desc_off, n[1]);
			*entry = v;
			return 0;
		}
		off = next;
	}
	return -ENOENT;
}

int hv_elf_load(struct hv_load_ctx *c, const struct hv_image *img, uint64_t *pvh_entry, uint64_t *elf_entry)
{
	struct elf_info ei = { 0 };
	unsigned loaded = 0;
	int r = elf_header(c, img, &ei);

	if (r < 0)
		return r;
	*pvh_entry = 0;
	*elf_entry = ei.entry;
	for (unsigned i = 0; i < ei.phnum; i++) {
		struct elf_ph ph = elf_ph(img, &ei, i);

		if (ph.type == PT_NOTE && !*pvh_entry) {
			if (elf_find_pvh_note(img, &ph, pvh_entry) == -ENOEXEC)
				return hv_load_err(c, ENOEXEC, "%s: malformed ELF note segment", img->path);
			continue;
		}
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		if (ph.filesz > ph.memsz || ph.offset > img->size || ph.filesz > img->size - ph.offset)
			return hv_load_err(c, ENOEXEC, "%s: ELF segment %u outside the file", img->path, i);
		uint8_t *dst = hv_vm_gpa_to_hva(c->vm, ph.paddr, ph.memsz);

		if (!dst || ph.paddr < 0x100000)
			return hv_load_err(c, ENOEXEC, "%s: ELF segment %u at %#llx+%#llx is outside guest RAM",
					   img->path, i, (unsigned long long)ph.paddr,
					   (unsigned long long)ph.memsz);
		/* Fresh memfd pages are zero: the bss needs no clearing. */
		memcpy(dst, img->data + ph.offset, ph.filesz);
		if (ph.paddr + ph.memsz > c->kernel_end)
			c->kernel_end = ph.paddr + ph.memsz;
		loaded++;
	}
	if (!loaded)
		return hv_load_err(c, ENOEXEC, "%s: no loadable ELF segment", img->path);
	return 0;
}

/* pvh_start_info, its memory map and module list, at HV_BOOT_START_INFO. */
static int pvh_build_start_info(struct hv_load_ctx *c)
{
	struct hv_vm *vm = c->vm;
	size_t si_size = sizeof(struct pvh_start_info);
	size_t map_size = vm->nr_e820 * sizeof(struct pvh_memmap_entry);
	uint64_t map_gpa = HV_BOOT_START_INFO + si_size;
	uint64_t mod_gpa = map_gpa + map_size;
	uint8_t *base = hv_vm_gpa_to_hva(vm, HV_BOOT_START_INFO, si_size + map_size + sizeof(struct pvh_module));

	if (!base || mod_gpa + sizeof(struct pvh_module) > HV_BOOT_ZERO_PAGE)
		return hv_load_err(c, ENOMEM, "no guest RAM for the PVH start info");
	struct pvh_start_info si = {
		.magic = PVH_START_MAGIC, .version = PVH_START_VERSION,
		.cmdline_paddr = HV_BOOT_CMDLINE, .rsdp_paddr = vm->rsdp_gpa,
		.memmap_paddr = map_gpa, .memmap_entries = vm->nr_e820,
	};
	for (unsigned i = 0; i < vm->nr_e820; i++) {
		struct pvh_memmap_entry e = {
			.addr = vm->e820[i].addr, .size = vm->e820[i].size, .type = vm->e820[i].type,
		};
		memcpy(base + si_size + i * sizeof(e), &e, sizeof(e));
	}
	if (c->initrd_size) {
		struct pvh_module m = { .paddr = c->initrd_gpa, .size = c->initrd_size };

		memcpy(base + si_size + map_size, &m, sizeof(m));
		si.nr_modules = 1;
		si.modlist_paddr = mod_gpa;
	}
	memcpy(base, &si, sizeof(si));
	return 0;
}

int hv_load_pvh(struct hv_load_ctx *c, const struct hv_image *img)
{
	uint64_t entry, elf_entry;
	int r = hv_elf_load(c, img, &entry, &elf_entry);

	if (r < 0)
		return r;
	if (!entry)
		return hv_load_err(c, ENOEXEC, "%s: ELF image without a PVH entry note (Xen, type 18)", img->path);
	if (!hv_vm_gpa_to_hva(c->vm, entry, 1))
		return hv_load_err(c, ENOEXEC, "%s: PVH entry %#llx outside guest RAM", img->path,
				   (unsigned long long)entry);
	if ((r = hv_load_cmdline(c, HV_BOOT_CMDLINE_MAX)) < 0 || (r = hv_load_initrd(c, 0)) < 0 ||
	    (r = pvh_build_start_info(c)) < 0)
		return r;
	r = hv_boot_regs_pvh(c->vm, entry, HV_BOOT_START_INFO);
	if (r < 0)
		return hv_load_err(c, -r, "setting vCPU registers");
	return 0;
}
