/* SPDX-License-Identifier: MIT */
/* Linux bzImage through the x86 boot protocol (Documentation/arch/x86/boot.rst):
 * zero page with the setup header, e820 and command line; initrd below the
 * kernel's initrd_addr_max; 64-bit entry.
 *
 * When the payload is LZ4 (Debian's kernels), the VMM unpacks it and loads
 * the vmlinux ELF itself, entering startup_64 directly: on a PVM host the
 * guest's own decompressor runs at emulated CPL0 speed (> 150 s measured),
 * the VMM does it in ~50 ms.  Other payloads use the kernel's decompressor
 * (64-bit entry at code32_start + 0x200). */
#include <errno.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "vm.h"

/* Setup header offsets in the zero page and the image. */
#define BP_ACPI_RSDP      0x070
#define BP_EXT_RD_IMAGE   0x0c0
#define BP_EXT_RD_SIZE    0x0c4
#define BP_E820_ENTRIES   0x1e8
#define HDR_SETUP_SECTS   0x1f1
#define HDR_JUMP          0x200
#define HDR_VERSION       0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS     0x211
#define HDR_CODE32_START  0x214
#define HDR_RD_IMAGE      0x218
#define HDR_RD_SIZE       0x21c
#define HDR_HEAP_END      0x224
#define HDR_CMD_LINE_PTR  0x228
#define HDR_INITRD_MAX    0x22c
#define HDR_XLOADFLAGS    0x236
#define HDR_CMDLINE_SIZE  0x238
#define HDR_PAYLOAD_OFF   0x248
#define HDR_PAYLOAD_LEN   0x24c
#define HDR_PREF_ADDRESS  0x258
#define HDR_INIT_SIZE     0x260
#define HDR_END           0x268
#define BP_E820_TABLE     0x2d0
#define BP_E820_MAX       128

#define LOADED_HIGH  0x01
#define CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define LZ4_LEGACY_MAGIC 0x184c2102u
#define LZ4_LEGACY_BLOCK (8u << 20)

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

struct bz {
	uint32_t setup_size, version, cmdline_size, initrd_max;
	uint64_t pref_address, init_size;
	const uint8_t *pm;        /* protected-mode kernel in the file */
	size_t pm_size;
};

static int bz_parse(struct hv_load_ctx *c, const struct hv_image *img, struct bz *b)
{
	const uint8_t *d = img->data;

	if (img->size < HDR_END)
		return hv_load_err(c, ENOEXEC, "%s: truncated Linux setup header", img->path);
	b->version = d[HDR_VERSION] | d[HDR_VERSION + 1] << 8;
	if (b->version < 0x206)
		return hv_load_err(c, ENOEXEC, "%s: boot protocol %u.%02u too old (need 2.06)", img->path,
				   b->version >> 8, b->version & 0xff);
	if (!(d[HDR_XLOADFLAGS] & XLF_KERNEL_64))
		return hv_load_err(c, ENOEXEC, "%s: not a 64-bit kernel (no XLF_KERNEL_64)", img->path);
	b->setup_size = ((d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : 4) + 1u) * 512;
	if (b->setup_size >= img->size)
		return hv_load_err(c, ENOEXEC, "%s: truncated kernel (setup only)", img->path);
	b->pm = d + b->setup_size;
	b->pm_size = img->size - b->setup_size;
	b->cmdline_size = rd32(d + HDR_CMDLINE_SIZE);
	b->initrd_max = rd32(d + HDR_INITRD_MAX);
	memcpy(&b->pref_address, d + HDR_PREF_ADDRESS, 8);
	memcpy(&b->init_size, d + HDR_INIT_SIZE, 8);
	if (b->pref_address < 0x100000 || b->pref_address >= HV_PCI_HOLE_START || (b->pref_address & 0xfff))
		b->pref_address = 0x1000000;
	return 0;
}

/* Unpacks an LZ4 legacy-format payload (8 MiB blocks, then Linux's le32
 * uncompressed size).  Returns a malloc'd buffer or NULL (not LZ4 / corrupt). */
static uint8_t *bz_unpack_lz4(const struct bz *b, const uint8_t *d, size_t *out_size)
{
	uint32_t off = rd32(d + HDR_PAYLOAD_OFF), len = rd32(d + HDR_PAYLOAD_LEN);

	if (len < 12 || off > b->pm_size || len > b->pm_size - off || rd32(b->pm + off) != LZ4_LEGACY_MAGIC)
		return NULL;
	const uint8_t *p = b->pm + off, *end = p + len - 4;
	uint32_t total = rd32(end);

	if (total == 0 || total > (512u << 20))
		return NULL;
	uint8_t *out = malloc(total);
	size_t done = 0;

	if (!out)
		return NULL;
	p += 4;
	while (end - p >= 4) {
		uint32_t csize = rd32(p);

		p += 4;
		if (csize == LZ4_LEGACY_MAGIC)
			continue;
		if (csize > (size_t)(end - p) || csize > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK))
			goto bad;
		size_t room = total - done < LZ4_LEGACY_BLOCK ? total - done : LZ4_LEGACY_BLOCK;
		int n = LZ4_decompress_safe((const char *)p, (char *)out + done, (int)csize, (int)room);

		if (n < 0)
			goto bad;
		done += (size_t)n;
		p += csize;
	}
	if (done != total)
		goto bad;
	*out_size = done;
	return out;
bad:
	free(out);
	return NULL;
}

/* Loads the kernel proper; *entry is its 64-bit entry point. */
static int bz_load_kernel(struct hv_load_ctx *c, const struct hv_image *img, const struct bz *b, uint64_t *entry)
{
	size_t vsize = 0;
	uint8_t *vmlinux = bz_unpack_lz4(b, img->data, &vsize);

	if (vmlinux) {
		struct hv_image v = { .path = img->path, .data = vmlinux, .size = vsize };
		uint64_t pvh_entry;
		int r = hv_elf_load(c, &v, &pvh_entry, entry);

		free(vmlinux);
		if (r < 0)
			return r;
		/* vmlinux's e_entry is the physical address of startup_64. */
		if (!hv_vm_gpa_to_hva(c->vm, *entry, 1))
			return hv_load_err(c, ENOEXEC, "%s: unpacked kernel entry outside RAM", img->path);
		return 0;
	}
	uint64_t need = b->init_size > b->pm_size ? b->init_size : b->pm_size;
	uint8_t *dst = hv_vm_gpa_to_hva(c->vm, b->pref_address, need);

	if (!dst)
		return hv_load_err(c, ENOMEM, "%s: kernel needs %llu MiB at %#llx, more than guest memory",
				   img->path, (unsigned long long)((b->pref_address + need) >> 20),
				   (unsigned long long)b->pref_address);
	memcpy(dst, b->pm, b->pm_size);
	c->kernel_end = b->pref_address + need;
	*entry = b->pref_address + 0x200;
	return 0;
}

static int bz_build_zero_page(struct hv_load_ctx *c, const struct hv_image *img, const struct bz *b,
			      uint64_t kernel_addr)
{
	struct hv_vm *vm = c->vm;
	uint8_t *zp = hv_vm_gpa_to_hva(vm, HV_BOOT_ZERO_PAGE, 4096);
	size_t hdr_end = 0x202 + img->data[HDR_JUMP + 1];

	if (!zp)
		return hv_load_err(c, ENOMEM, "no guest RAM for the zero page");
	memset(zp, 0, 4096);
	if (hdr_end > HDR_END)
		hdr_end = HDR_END;
	memcpy(zp + HDR_SETUP_SECTS, img->data + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
	zp[HDR_TYPE_OF_LOADER] = 0xff;
	zp[HDR_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
	zp[HDR_HEAP_END] = 0x00;
	zp[HDR_HEAP_END + 1] = 0xfe;
	wr32(zp + HDR_CODE32_START, (uint32_t)kernel_addr);
	wr32(zp + HDR_CMD_LINE_PTR, HV_BOOT_CMDLINE);
	wr32(zp + HDR_RD_IMAGE, (uint32_t)c->initrd_gpa);
	wr32(zp + HDR_RD_SIZE, (uint32_t)c->initrd_size);
	wr32(zp + BP_EXT_RD_IMAGE, (uint32_t)(c->initrd_gpa >> 32));
	wr32(zp + BP_EXT_RD_SIZE, (uint32_t)(c->initrd_size >> 32));
	memcpy(zp + BP_ACPI_RSDP, &vm->rsdp_gpa, 8);
	if (vm->nr_e820 > BP_E820_MAX)
		return hv_load_err(c, E2BIG, "memory map too long for the zero page");
	zp[BP_E820_ENTRIES] = (uint8_t)vm->nr_e820;
	for (unsigned i = 0; i < vm->nr_e820; i++) {
		uint8_t *e = zp + BP_E820_TABLE + 20 * i;

		memcpy(e, &vm->e820[i].addr, 8);
		memcpy(e + 8, &vm->e820[i].size, 8);
		wr32(e + 16, vm->e820[i].type);
	}
	return 0;
}

int hv_load_bzimage(struct hv_load_ctx *c, const struct hv_image *img)
{
	struct bz b = { 0 };
	uint64_t entry;
	int r = bz_parse(c, img, &b);

	if (r < 0 || (r = bz_load_kernel(c, img, &b, &entry)) < 0)
		return r;
	if ((r = hv_load_cmdline(c, b.cmdline_size ? (size_t)b.cmdline_size + 1 : 256)) < 0)
		return r;
	if ((r = hv_load_initrd(c, b.initrd_max ? b.initrd_max : 0x37ffffff)) < 0)
		return r;
	if ((r = bz_build_zero_page(c, img, &b, b.pref_address)) < 0)
		return r;
	r = hv_boot_regs_linux64(c->vm, entry, HV_BOOT_ZERO_PAGE);
	if (r < 0)
		return hv_load_err(c, -r, "setting vCPU registers");
	return 0;
}
