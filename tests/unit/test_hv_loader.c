/* SPDX-License-Identifier: MIT */
/* hv/load_*.c: images built in memory, good and hostile. */
#include <elf.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "loader.h"
#include "pvkvm/boot.h"
#include "test_hv.h"
#include "vm.h"
#include "cunit_main.h"

static char img_path[] = "/tmp/test_hv_img_XXXXXX";
static char rd_path[] = "/tmp/test_hv_rd_XXXXXX";

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* A minimal PVH ELF32: a note with the entry, one 16-byte PT_LOAD. */
struct pvh_img {
	Elf32_Ehdr eh;
	Elf32_Phdr ph[2];
	uint8_t pad[0x80 - sizeof(Elf32_Ehdr) - 2 * sizeof(Elf32_Phdr)];
	uint32_t note[5];
	uint8_t pad2[0x100 - 0x80 - 20];
	uint8_t code[16];
};

static void pvh_img_init(struct pvh_img *im, uint32_t load_addr)
{
	memset(im, 0, sizeof(*im));
	memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
	im->eh.e_ident[EI_CLASS] = ELFCLASS32;
	im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	im->eh.e_machine = EM_386;
	im->eh.e_phoff = offsetof(struct pvh_img, ph);
	im->eh.e_phentsize = sizeof(Elf32_Phdr);
	im->eh.e_phnum = 2;
	im->ph[0] = (Elf32_Phdr){ .p_type = PT_NOTE, .p_offset = 0x80, .p_filesz = 20 };
	im->ph[1] = (Elf32_Phdr){ .p_type = PT_LOAD, .p_offset = 0x100, .p_paddr = load_addr,
				  .p_filesz = 16, .p_memsz = 0x2000 };
	im->note[0] = 4;
	im->note[1] = 4;
	im->note[2] = PVH_ELFNOTE_PHYS32_ENTRY;
	memcpy(&im->note[3], "Xen", 4);
	im->note[4] = load_addr + 4;
	memset(im->code, 0x90, sizeof(im->code));
}

static struct hv_vm *loader_vm(void)
{
	struct hv_vm_opts o = { .name = "ld", .mem_bytes = 32u << 20, .nr_vcpus = 1, .no_irqchip = true };
	struct hv_vm *vm = NULL;
	const char *err;

	if (hv_vm_create(&vm, &o, &err) < 0)
		return NULL;
	return vm;
}

static int load(struct hv_vm *vm, const void *img, size_t len, const char *initrd, const char *cmdline,
		char *err, size_t errlen)
{
	struct hv_boot b = { .kernel = img_path, .initrd = initrd, .cmdline = cmdline };

	write_file(img_path, img, len);
	return hv_load_kernel(vm, &b, err, errlen);
}

static void test_pvh_elf_loads_start_info_cmdline_initrd_and_regs(void)
{
	struct pvh_img im;
	struct hv_vm *vm;
	struct kvm_regs r;
	char err[256] = "";
	uint8_t rd[5000];

	if (!test_hv_have_kvm() || !(vm = loader_vm()))
		return;
	pvh_img_init(&im, 0x200000);
	memset(rd, 0xab, sizeof(rd));
	write_file(rd_path, rd, sizeof(rd));
	CU_ASSERT_EQUAL_FATAL(load(vm, &im, sizeof(im), rd_path, "console=ttyS0 x=1", err, sizeof(err)), 0);
	struct pvh_start_info *si = hv_vm_gpa_to_hva(vm, HV_BOOT_START_INFO, sizeof(*si));

	CU_ASSERT_EQUAL(si->magic, PVH_START_MAGIC);
	CU_ASSERT_EQUAL(si->memmap_entries, vm->nr_e820);
	CU_ASSERT_STRING_EQUAL((char *)hv_vm_gpa_to_hva(vm, si->cmdline_paddr, 1), "console=ttyS0 x=1");
	CU_ASSERT_EQUAL_FATAL(si->nr_modules, 1u);
	struct pvh_module *m = hv_vm_gpa_to_hva(vm, si->modlist_paddr, sizeof(*m));

	CU_ASSERT_EQUAL(m->size, sizeof(rd));
	CU_ASSERT(m->paddr >= 0x202000 && m->paddr + m->size <= (32u << 20));
	CU_ASSERT_EQUAL(memcmp(hv_vm_gpa_to_hva(vm, m->paddr, m->size), rd, sizeof(rd)), 0);
	struct pvh_memmap_entry *e = hv_vm_gpa_to_hva(vm, si->memmap_paddr, sizeof(*e) * si->memmap_entries);

	CU_ASSERT_EQUAL(e[si->memmap_entries - 1].addr + e[si->memmap_entries - 1].size, 32u << 20);
	CU_ASSERT_EQUAL(memcmp(hv_vm_gpa_to_hva(vm, 0x200000, 16), im.code, 16), 0);
	CU_ASSERT_EQUAL_FATAL(ioctl(vm->vcpus[0].fd, KVM_GET_REGS, &r), 0);
	CU_ASSERT_EQUAL(r.rip, 0x200004u);
	CU_ASSERT_EQUAL(r.rbx, HV_BOOT_START_INFO);
	hv_vm_destroy(vm);
	unlink(rd_path);
}

static void expect_fail(const void *img, size_t len, const char *initrd, const char *cmdline, const char *msg)
{
	struct hv_vm *vm = loader_vm();
	char err[256] = "";

	CU_ASSERT_FATAL(vm != NULL);
	CU_ASSERT(load(vm, img, len, initrd, cmdline, err, sizeof(err)) < 0);
	if (!strstr(err, msg))
		printf("\n  expected '%s' in: %s\n", msg, err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, msg));
	CU_ASSERT_PTR_NULL(strchr(err, '\n'));
	hv_vm_destroy(vm);
}

static void test_hostile_elf_images_get_one_line_errors(void)
{
	struct pvh_img im;

	if (!test_hv_have_kvm())
		return;
	pvh_img_init(&im, 0x200000);
	expect_fail(&im, 30, NULL, NULL, "truncated ELF header");
	expect_fail(&im, 0x60, NULL, NULL, "outside the file");
	pvh_img_init(&im, 0x1fff000);   /* memsz runs past 32 MiB */
	expect_fail(&im, sizeof(im), NULL, NULL, "outside guest RAM");
	pvh_img_init(&im, 0xfffff000);  /* address wraps */
	expect_fail(&im, sizeof(im), NULL, NULL, "outside guest RAM");
	pvh_img_init(&im, 0x200000);
	im.note[2] = 17;
	expect_fail(&im, sizeof(im), NULL, NULL, "without a PVH entry note");
	pvh_img_init(&im, 0x200000);
	im.note[1] = 0x1000;            /* note runs past its segment */
	expect_fail(&im, sizeof(im), NULL, NULL, "malformed ELF note");
	pvh_img_init(&im, 0x200000);
	im.ph[1].p_filesz = 0x10000;    /* more file bytes than the file has */
	expect_fail(&im, sizeof(im), NULL, NULL, "outside the file");
	pvh_img_init(&im, 0x200000);
	im.eh.e_phnum = 0xffff;
	expect_fail(&im, sizeof(im), NULL, NULL, "outside the file");
	expect_fail("just some text, not a kernel", 28, NULL, NULL, "unknown image format");
}

static void test_initrd_and_cmdline_limits_enforced(void)
{
	struct pvh_img im;
	char *big = malloc(5000);

	if (!test_hv_have_kvm() || !big)
		return;
	pvh_img_init(&im, 0x200000);
	memset(big, 'a', 4999);
	big[4999] = 0;
	expect_fail(&im, sizeof(im), NULL, big, "command line too long");
	write_file(rd_path, "x", 1);
	CU_ASSERT_EQUAL_FATAL(truncate(rd_path, 40u << 20), 0); /* sparse 40 MiB > 32 MiB RAM */
	expect_fail(&im, sizeof(im), rd_path, NULL, "initrd too big");
	expect_fail(&im, sizeof(im), "/nonexistent/initrd", NULL, "No such file");
	unlink(rd_path);
	free(big);
}

static void test_bzimage_header_checks(void)
{
	uint8_t *bz = calloc(1, 0x4000);

	if (!test_hv_have_kvm() || !bz)
		return;
	memcpy(bz + 0x202, "HdrS", 4);
	bz[0x1f1] = 4;
	bz[0x206] = 0x05; /* 2.05 */
	bz[0x207] = 0x02;
	expect_fail(bz, 0x4000, NULL, NULL, "too old");
	bz[0x206] = 0x0f;
	expect_fail(bz, 0x4000, NULL, NULL, "not a 64-bit kernel");
	bz[0x236] = 1;
	expect_fail(bz, 0x240, NULL, NULL, "truncated Linux setup header");
	expect_fail(bz, 0x900, NULL, NULL, "truncated kernel");
	memcpy(bz + 0x260, &(uint64_t){ 1ull << 30 }, 8); /* init_size 1 GiB */
	expect_fail(bz, 0x4000, NULL, NULL, "more than guest memory");
	free(bz);
}

static int loader_cleanup(void)
{
	unlink(img_path);
	unlink(rd_path);
	return 0;
}

static const struct cunit_test hv_loader_tests[] = {
	CUNIT_TEST(test_pvh_elf_loads_start_info_cmdline_initrd_and_regs),
	CUNIT_TEST(test_hostile_elf_images_get_one_line_errors),
	CUNIT_TEST(test_initrd_and_cmdline_limits_enforced),
	CUNIT_TEST(test_bzimage_header_checks),
};

void test_hv_loader_add(void)
{
	int fd = mkstemp(img_path);

	if (fd >= 0)
		close(fd);
	fd = mkstemp(rd_path);
	if (fd >= 0)
		close(fd);
	CUNIT_SUITE("hv_loader", NULL, loader_cleanup, hv_loader_tests);
}
