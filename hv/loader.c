/* SPDX-License-Identifier: MIT */
/* Kernel loading entry point and what the loaders share: mapping image
 * files, the command line, the initrd, and the entry register states. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "vm.h"

#define KERNEL_MAX (512ull << 20)
#define PAGE 4096ull

int hv_load_err(struct hv_load_ctx *c, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -e;
}

int hv_image_map(struct hv_image *img, const char *path, size_t max, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int e;

	img->path = path;
	img->data = NULL;
	img->size = 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		e = EINVAL;
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_size == 0 || (uint64_t)st.st_size > max) {
		e = EFBIG;
		snprintf(err, errlen, "%s: %s", path, st.st_size ? "file too large" : "empty file");
		goto fail;
	}
	img->data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (img->data == MAP_FAILED) {
		e = errno;
		img->data = NULL;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		goto fail;
	}
	img->size = (size_t)st.st_size;
	close(fd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -e;
}

void hv_image_unmap(struct hv_image *img)
{
	if (img->data)
		munmap((void *)img->data, img->size);
	img->data = NULL;
}

int hv_load_cmdline(struct hv_load_ctx *c, size_t max)
{
	const char *s = c->boot->cmdline ? c->boot->cmdline : "";
	size_t n = strlen(s);

	if (max > HV_BOOT_CMDLINE_MAX)
		max = HV_BOOT_CMDLINE_MAX;
	if (n + 1 > max)
		return hv_load_err(c, E2BIG, "command line too long (%zu bytes, the kernel takes %zu)", n, max - 1);
	char *dst = hv_vm_gpa_to_hva(c->vm, HV_BOOT_CMDLINE, n + 1);

	if (!dst)
		return hv_load_err(c, ENOMEM, "no guest RAM for the command line");
	memcpy(dst, s, n + 1);
	return 0;
}

int hv_load_initrd(struct hv_load_ctx *c, uint64_t limit)
{
	struct hv_image img;
	struct hv_vm *vm = c->vm;
	uint64_t top = vm->ram_below_4g;
	int r;

	if (!c->boot->initrd)
		return 0;
	/* Size is checked against the free space below, not here. */
	r = hv_image_map(&img, c->boot->initrd, (size_t)1 << 40, c->err, c->errlen);
	if (r < 0)
		return r;
	if (limit && limit + 1 < top)
		top = limit + 1;
	uint64_t start = (top - img.size) & ~(PAGE - 1);

	if (img.size > top || start < c->kernel_end) {
		hv_image_unmap(&img);
		return hv_load_err(c, EFBIG, "%s: initrd too big for guest memory (%zu bytes, %llu free below %#llx)",
				   c->boot->initrd, img.size,
				   (unsigned long long)(top > c->kernel_end ? top - c->kernel_end : 0),
				   (unsigned long long)top);
	}
	memcpy(hv_vm_gpa_to_hva(vm, start, img.size), img.data, img.size);
	c->initrd_gpa = start;
	c->initrd_size = img.size;
	hv_image_unmap(&img);
	return 0;
}

int hv_load_kernel(struct hv_vm *vm, const struct hv_boot *boot, char *err, size_t errlen)
{
	struct hv_load_ctx c = { .vm = vm, .boot = boot, .err = err, .errlen = errlen };
	struct hv_image img;
	int r = hv_image_map(&img, boot->kernel, KERNEL_MAX, err, errlen);

	if (r < 0)
		return r;
	if (img.size >= 4 && !memcmp(img.data, "\177ELF", 4))
		r = hv_load_pvh(&c, &img);
	else if (img.size >= 0x206 && !memcmp(img.data + 0x202, "HdrS", 4))
		r = hv_load_bzimage(&c, &img);
	else
		r = hv_load_err(&c, ENOEXEC, "%s: unknown image format (neither ELF nor a Linux bzImage)",
				boot->kernel);
	hv_image_unmap(&img);
	return r;
}

static struct kvm_segment flat_seg(uint16_t sel, uint8_t type, bool code64)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type, .present = 1,
		.s = 1, .g = 1, .db = code64 ? 0 : 1, .l = code64 ? 1 : 0,
	};
}

static int boot_set(struct hv_vm *vm, struct kvm_sregs *s, uint64_t rip, uint64_t rbx, uint64_t rsi)
{
	struct hv_vcpu *v = &vm->vcpus[0];
	struct kvm_regs r = { .rip = rip, .rbx = rbx, .rsi = rsi, .rflags = 2 };

	if (ioctl(v->fd, KVM_SET_SREGS, s) < 0 || ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	return 0;
}

/* PVH: 32-bit protected mode, flat segments, paging off, ebx = start info. */
int hv_boot_regs_pvh(struct hv_vm *vm, uint64_t entry, uint64_t start_info)
{
	struct kvm_sregs s;

	if (ioctl(vm->vcpus[0].fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.cs = flat_seg(0x08, 0xb, false);
	s.ds = s.es = s.fs = s.gs = s.ss = flat_seg(0x10, 0x3, false);
	s.cr0 = 0x11; /* PE, ET */
	s.cr4 = 0;
	s.efer = 0;
	return boot_set(vm, &s, entry, start_info, 0);
}

/* 4 GiB identity map with 2 MiB pages, and a GDT with 64-bit code at 0x10
 * and data at 0x18 (the selectors Linux's boot protocol documents). */
static int boot_build_long_mode(struct hv_vm *vm)
{
	uint64_t *gdt = hv_vm_gpa_to_hva(vm, HV_BOOT_GDT, 4 * 8);
	uint64_t *pml4 = hv_vm_gpa_to_hva(vm, HV_BOOT_PML4, 6 * PAGE);

	if (!gdt || !pml4)
		return -ENOMEM;
	gdt[0] = gdt[1] = 0;
	gdt[2] = 0x00af9b000000ffffull;
	gdt[3] = 0x00cf93000000ffffull;
	uint64_t *pdpt = pml4 + 512, *pd = pml4 + 1024;

	pml4[0] = (HV_BOOT_PML4 + PAGE) | 3;
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (HV_BOOT_PML4 + (2 + i) * PAGE) | 3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB */
	return 0;
}

int hv_boot_regs_linux64(struct hv_vm *vm, uint64_t entry, uint64_t zero_page)
{
	struct kvm_sregs s;
	int r = boot_build_long_mode(vm);

	if (r < 0)
		return r;
	if (ioctl(vm->vcpus[0].fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.gdt.base = HV_BOOT_GDT;
	s.gdt.limit = 4 * 8 - 1;
	s.cs = flat_seg(0x10, 0xb, true);
	s.ds = s.es = s.fs = s.gs = s.ss = flat_seg(0x18, 0x3, false);
	s.cr3 = HV_BOOT_PML4;
	s.cr4 = 0x20;        /* PAE */
	s.cr0 = 0x80000031;  /* PG, NE, ET, PE */
	s.efer = 0x500;      /* LME, LMA */
	return boot_set(vm, &s, entry, 0, zero_page);
}
