/* SPDX-License-Identifier: MIT */
/* File kind detection.  The file is untrusted: every offset and size read from
 * it is bounded before use, and reads go through pread into local buffers. */
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_image.h"

#define NOTE_REGION_MAX (64 * 1024)
#define NOTE_BYTES_BUDGET (1024 * 1024) /* all note regions of one file together */
#define PHDRS_MAX 256
#define SHDRS_MAX 4096

static bool read_exact(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	if (off > (uint64_t)INT64_MAX)
		return false;
	n = pread(fd, buf, len, (off_t)off);
	return n >= 0 && (size_t)n == len;
}

/* Walk the notes in [off, off+size) for name "Xen", type 18.  *budget bounds
 * the bytes read over all regions, so a file listing thousands of huge note
 * sections costs at most NOTE_BYTES_BUDGET of reads. */
static bool notes_have_pvh(int fd, uint64_t off, uint64_t size, size_t *budget)
{
	unsigned char *buf;
	size_t pos = 0, len = size > NOTE_REGION_MAX ? NOTE_REGION_MAX : (size_t)size;
	bool found = false;

	if (len > *budget)
		len = *budget;
	*budget -= len;
	if (!len)
		return false;

	buf = malloc(len ? len : 1);
	if (!buf || !read_exact(fd, buf, len, off))
		goto out;
	while (len - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;

		memcpy(&nh, buf + pos, sizeof(nh));
		pos += sizeof(nh);
		size_t namesz = ((size_t)nh.n_namesz + 3) & ~(size_t)3;
		size_t descsz = ((size_t)nh.n_descsz + 3) & ~(size_t)3;

		if (namesz > len - pos || descsz > len - pos - namesz)
			break;
		if (nh.n_namesz == 4 && !memcmp(buf + pos, "Xen", 4) &&
		    nh.n_type == CFG_XEN_ELFNOTE_PHYS32_ENTRY) {
			found = true;
			break;
		}
		pos += namesz + descsz;
	}
out:
	free(buf);
	return found;
}

/* ELF64 and ELF32 differ only in field widths: normalise each header. */
struct elf_region { uint32_t type; uint64_t off, size; };

static bool elf_scan(int fd, bool is64, uint64_t tab_off, unsigned int entsize,
		     unsigned int num, bool sections, size_t *budget)
{
	size_t want = sections ? (is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr))
			       : (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr));

	if (entsize < want || num > (sections ? SHDRS_MAX : PHDRS_MAX))
		return false;
	for (unsigned int i = 0; i < num; i++) {
		unsigned char raw[sizeof(Elf64_Shdr)];
		struct elf_region r;

		if (!read_exact(fd, raw, want, tab_off + (uint64_t)i * entsize))
			return false;
		if (sections && is64) {
			Elf64_Shdr *s = (Elf64_Shdr *)raw;
			r = (struct elf_region){ s->sh_type, s->sh_offset, s->sh_size };
		} else if (sections) {
			Elf32_Shdr *s = (Elf32_Shdr *)raw;
			r = (struct elf_region){ s->sh_type, s->sh_offset, s->sh_size };
		} else if (is64) {
			Elf64_Phdr *p = (Elf64_Phdr *)raw;
			r = (struct elf_region){ p->p_type, p->p_offset, p->p_filesz };
		} else {
			Elf32_Phdr *p = (Elf32_Phdr *)raw;
			r = (struct elf_region){ p->p_type, p->p_offset, p->p_filesz };
		}
		if (r.type == (sections ? SHT_NOTE : PT_NOTE) && notes_have_pvh(fd, r.off, r.size, budget))
			return true;
	}
	return false;
}

static bool elf_is_pvh(int fd, const unsigned char *ident)
{
	size_t budget = NOTE_BYTES_BUDGET;

	if (ident[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;

		if (!read_exact(fd, &eh, sizeof(eh), 0))
			return false;
		return elf_scan(fd, true, eh.e_phoff, eh.e_phentsize, eh.e_phnum, false, &budget) ||
		       elf_scan(fd, true, eh.e_shoff, eh.e_shentsize, eh.e_shnum, true, &budget);
	}
	Elf32_Ehdr eh;

	if (!read_exact(fd, &eh, sizeof(eh), 0))
		return false;
	return elf_scan(fd, false, eh.e_phoff, eh.e_phentsize, eh.e_phnum, false, &budget) ||
	       elf_scan(fd, false, eh.e_shoff, eh.e_shentsize, eh.e_shnum, true, &budget);
}

enum cfg_kernel_kind cfg_image_kernel_kind(int fd)
{
	unsigned char hdr[0x206];

	if (read_exact(fd, hdr, EI_NIDENT, 0) && !memcmp(hdr, ELFMAG, SELFMAG)) {
		if ((hdr[EI_CLASS] != ELFCLASS64 && hdr[EI_CLASS] != ELFCLASS32) ||
		    hdr[EI_DATA] != ELFDATA2LSB)
			return CFG_KERNEL_ELF_NOT_PVH;
		return elf_is_pvh(fd, hdr) ? CFG_KERNEL_PVH_ELF : CFG_KERNEL_ELF_NOT_PVH;
	}
	if (read_exact(fd, hdr, sizeof(hdr), 0) && hdr[510] == 0x55 && hdr[511] == 0xaa &&
	    !memcmp(hdr + 0x202, "HdrS", 4))
		return CFG_KERNEL_BZIMAGE;
	return CFG_KERNEL_UNKNOWN;
}

bool cfg_image_is_qcow2(int fd)
{
	unsigned char magic[4];

	return read_exact(fd, magic, sizeof(magic), 0) && !memcmp(magic, "QFI\xfb", 4);
}
