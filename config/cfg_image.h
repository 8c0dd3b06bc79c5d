/* SPDX-License-Identifier: MIT */
/* Recognising what a file holds from its first bytes: kernel kinds the VMM can
 * boot and qcow2 images.  Read-only, bounded reads through pread(2). */
#ifndef CFG_IMAGE_H
#define CFG_IMAGE_H

#include <stdbool.h>

enum cfg_kernel_kind {
	CFG_KERNEL_UNKNOWN = 0,
	CFG_KERNEL_PVH_ELF,      /* ELF32/64 with a "Xen" note of type 18 (PHYS32_ENTRY) */
	CFG_KERNEL_BZIMAGE,      /* x86 boot protocol: 0xaa55 at 510, "HdrS" at 0x202 */
	CFG_KERNEL_ELF_NOT_PVH,  /* an ELF file without the PVH entry note */
};

#define CFG_XEN_ELFNOTE_PHYS32_ENTRY 18

enum cfg_kernel_kind cfg_image_kernel_kind(int fd);
/* True when the file starts with the qcow2 magic "QFI\xfb". */
bool cfg_image_is_qcow2(int fd);

#endif
