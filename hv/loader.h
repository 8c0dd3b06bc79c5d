/* SPDX-License-Identifier: MIT */
/* Kernel loaders: PVH ELF (the mini-guest, a Linux vmlinux) and Linux bzImage
 * through the x86 boot protocol.  They fill guest RAM and set vCPU 0's
 * registers; every field of the image is checked against the file and RAM.
 *
 * Low guest memory used by the loaders (all below 1 MiB, in e820 RAM): */
#ifndef HV_LOADER_H
#define HV_LOADER_H

#include <stddef.h>
#include <stdint.h>

#define HV_BOOT_GDT        0x0500
#define HV_BOOT_START_INFO 0x6000 /* pvh_start_info, then memmap and modules */
#define HV_BOOT_ZERO_PAGE  0x7000 /* Linux boot_params */
#define HV_BOOT_PML4       0x9000 /* 4 GiB identity map: PML4, PDPT, 4 PDs */
#define HV_BOOT_CMDLINE    0x20000
#define HV_BOOT_CMDLINE_MAX 4096

struct hv_vm;

struct hv_boot {
	const char *kernel;
	const char *initrd;   /* NULL for none */
	const char *cmdline;  /* NULL for empty */
};

/* Loads and prepares vCPU 0.  0, or -errno with a one-line reason in err. */
int hv_load_kernel(struct hv_vm *vm, const struct hv_boot *boot, char *err, size_t errlen);

/* Internals shared by the loaders (loader.c). */
struct hv_image {
	const char *path;
	const uint8_t *data;
	size_t size;
};
struct hv_load_ctx {
	struct hv_vm *vm;
	const struct hv_boot *boot;
	char *err;
	size_t errlen;
	uint64_t kernel_end;     /* first byte above the loaded kernel */
	uint64_t initrd_gpa, initrd_size;
};

int hv_image_map(struct hv_image *img, const char *path, size_t max, char *err, size_t errlen);
void hv_image_unmap(struct hv_image *img);
int hv_load_err(struct hv_load_ctx *c, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Copies the initrd below min(limit, low RAM), above kernel_end. */
int hv_load_initrd(struct hv_load_ctx *c, uint64_t limit);
int hv_load_cmdline(struct hv_load_ctx *c, size_t max);

/* ELF: loads PT_LOAD segments at their physical addresses.  pvh_entry is 0
 * when the image has no PVH note. */
int hv_elf_load(struct hv_load_ctx *c, const struct hv_image *img, uint64_t *pvh_entry, uint64_t *elf_entry);
int hv_load_pvh(struct hv_load_ctx *c, const struct hv_image *img);
int hv_load_bzimage(struct hv_load_ctx *c, const struct hv_image *img);

/* Register set-up for the two entry conventions. */
int hv_boot_regs_pvh(struct hv_vm *vm, uint64_t entry, uint64_t start_info);
int hv_boot_regs_linux64(struct hv_vm *vm, uint64_t entry, uint64_t zero_page);

#endif
