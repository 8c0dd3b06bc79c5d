/* SPDX-License-Identifier: MIT */
/* Unit tests of libpvcfg: the examples validate, defaults and units resolve,
 * parse -> write -> parse is identity, kernel and image detection.  The
 * invalid-document table is in test_config_invalid.c. */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "cfg_image.h"
#include "test_config.h"
#include "cunit_main.h"

#define EXAMPLES_DIR "config/examples"

char test_cfg_dir[64];

static int write_file(const char *name, const void *buf, size_t len)
{
	char path[128];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", test_cfg_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	ok = write(fd, buf, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -1;
}

/* A minimal ELF64 with one PT_NOTE holding a note (name, type). */
static int write_elf(const char *file, const char *note_name, uint32_t note_type)
{
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		Elf64_Nhdr nh;
		char name[4];
		uint32_t desc;
	} __attribute__((packed)) img;

	memset(&img, 0, sizeof(img));
	memcpy(img.eh.e_ident, ELFMAG, SELFMAG);
	img.eh.e_ident[EI_CLASS] = ELFCLASS64;
	img.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img.eh.e_ident[EI_VERSION] = EV_CURRENT;
	img.eh.e_type = ET_EXEC;
	img.eh.e_machine = EM_X86_64;
	img.eh.e_phoff = sizeof(Elf64_Ehdr);
	img.eh.e_phentsize = sizeof(Elf64_Phdr);
	img.eh.e_phnum = 1;
	img.eh.e_ehsize = sizeof(Elf64_Ehdr);
	img.ph.p_type = PT_NOTE;
	img.ph.p_offset = offsetof(__typeof__(img), nh);
	img.ph.p_filesz = sizeof(img.nh) + 4 + 4;
	img.nh.n_namesz = 4;
	img.nh.n_descsz = 4;
	img.nh.n_type = note_type;
	memcpy(img.name, note_name, 4);
	img.desc = 0x100000;
	return write_file(file, &img, sizeof(img));
}

int test_cfg_fixtures_create(void)
{
	static unsigned char buf[65536];
	int rc = 0;

	snprintf(test_cfg_dir, sizeof(test_cfg_dir), "/tmp/pvkvm-cfgtest.XXXXXX");
	if (!mkdtemp(test_cfg_dir))
		return -1;
	rc |= write_elf("pvh.elf", "Xen", CFG_XEN_ELFNOTE_PHYS32_ENTRY);
	rc |= write_elf("nopvh.elf", "GNU", 3);
	memset(buf, 0, sizeof(buf));
	buf[510] = 0x55;
	buf[511] = 0xaa;
	memcpy(buf + 0x202, "HdrS", 4);
	rc |= write_file("bzImage", buf, 4096);
	memset(buf, 0, 4096);
	rc |= write_file("disk.raw", buf, sizeof(buf));
	rc |= write_file("disk2.raw", buf, sizeof(buf));
	rc |= write_file("initrd.img", buf, 512);
	memcpy(buf, "QFI\xfb\0\0\0\3", 8);
	rc |= write_file("disk.qcow2", buf, sizeof(buf));
	memcpy(buf, "junk, not a kernel", 18);
	rc |= write_file("junk.bin", buf, 4096);
	return rc ? -1 : 0;
}

int test_cfg_fixtures_remove(void)
{
	static const char *const files[] = { "pvh.elf", "nopvh.elf", "bzImage", "disk.raw",
		"disk2.raw", "initrd.img", "disk.qcow2", "junk.bin", "console.log" };
	char path[128];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", test_cfg_dir, files[i]);
		unlink(path);
	}
	return rmdir(test_cfg_dir) ? -1 : 0;
}

char *test_cfg_subst(const char *xml)
{
	size_t dl = strlen(test_cfg_dir), n = 0;
	char *out = malloc(strlen(xml) * (dl + 1) + 1);

	if (!out)
		abort();
	for (const char *p = xml; *p;) {
		if (!strncmp(p, "@DIR@", 5)) {
			memcpy(out + n, test_cfg_dir, dl);
			n += dl;
			p += 5;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	return out;
}

int test_cfg_run(const char *xml, bool parse_only, uint64_t host_kib, struct cfg_diag *diag)
{
	struct cfg_check_opts opts = { .host_memory_kib = host_kib };
	struct cfg_domain *d = NULL;
	char *text = test_cfg_subst(xml);
	int rc = cfg_parse_memory(NULL, "test.xml", text, strlen(text), &d, diag);

	if (!rc && !parse_only)
		rc = cfg_domain_check(d, &opts, diag);
	cfg_domain_free(d);
	free(text);
	return rc;
}

static char *fixture(const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", test_cfg_dir, name) < 0)
		abort();
	return p;
}

/* Some readable block device of this host, for <disk type='block'>. */
static char *find_block_device(void)
{
	DIR *dir = opendir("/sys/block");
	struct dirent *e;
	char *found = NULL;

	while (dir && !found && (e = readdir(dir))) {
		char path[300];
		struct stat st;

		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		int fd;

		if (e->d_name[0] == '.' || stat(path, &st) || !S_ISBLK(st.st_mode) || access(path, W_OK))
			continue;
		/* access() is not enough: a sandbox may still refuse the open. */
		fd = open(path, O_RDONLY | O_NONBLOCK);
		if (fd >= 0) {
			close(fd);
			found = strdup(path);
		}
	}
	if (dir)
		closedir(dir);
	return found;
}

/* Point every file of an example at a fixture of the right kind. */
static bool example_use_fixtures(struct cfg_domain *d)
{
	bool bz = d->os.kernel && strstr(d->os.kernel, "bzImage");

	free(d->os.kernel);
	d->os.kernel = fixture(bz ? "bzImage" : "pvh.elf");
	if (d->os.initrd) {
		free(d->os.initrd);
		d->os.initrd = fixture("initrd.img");
	}
	for (size_t i = 0; i < d->nr_disks; i++) {
		struct cfg_disk *disk = &d->disks[i];

		free(disk->source);
		if (disk->type == CFG_DISK_BLOCK) {
			disk->source = find_block_device();
			if (!disk->source)
				return false;
		} else {
			disk->source = fixture(disk->format == CFG_FORMAT_QCOW2 ? "disk.qcow2" :
					       i ? "disk2.raw" : "disk.raw");
		}
	}
	if (d->console.path) {
		free(d->console.path);
		d->console.path = fixture("console.log");
	}
	return true;
}

static void test_every_example_validates(void)
{
	DIR *dir = opendir(EXAMPLES_DIR);
	struct dirent *e;
	int nr = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	while ((e = readdir(dir))) {
		char path[300];
		struct cfg_diag diag;
		struct cfg_domain *d = NULL;

		if (!strstr(e->d_name, ".xml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", EXAMPLES_DIR, e->d_name);
		cfg_diag_init(&diag);
		CU_ASSERT_EQUAL(cfg_parse_file(NULL, path, &d, &diag), 0);
		if (d && example_use_fixtures(d)) {
			CU_ASSERT_EQUAL(cfg_domain_check(d, NULL, &diag), 0);
		} else if (d) {
			printf("  note: %s: no block device on this host, file checks skipped\n", path);
		}
		if (diag.nr)
			cfg_diag_print(&diag, stdout);
		cfg_domain_free(d);
		cfg_diag_free(&diag);
		nr++;
	}
	closedir(dir);
	CU_ASSERT(nr >= 4);
}

static void roundtrip_one(const char *path, const char *text)
{
	struct cfg_domain *a = NULL, *b = NULL;
	struct cfg_diag diag;
	char *xml = NULL, *xml2 = NULL;
	size_t len = 0, len2 = 0;

	cfg_diag_init(&diag);
	if (path) {
		CU_ASSERT_EQUAL_FATAL(cfg_parse_file(NULL, path, &a, &diag), 0);
	} else {
		CU_ASSERT_EQUAL_FATAL(cfg_parse_memory(NULL, "rt.xml", text, strlen(text), &a, &diag), 0);
	}
	CU_ASSERT_EQUAL_FATAL(cfg_domain_write_mem(a, &xml, &len), 0);
	CU_ASSERT_EQUAL(cfg_parse_memory(NULL, "written.xml", xml, len, &b, &diag), 0);
	if (diag.nr)
		cfg_diag_print(&diag, stdout);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT(cfg_domain_equal(a, b));
	/* Writing is deterministic: the second generation is byte-identical. */
	CU_ASSERT_EQUAL(cfg_domain_write_mem(b, &xml2, &len2), 0);
	CU_ASSERT(len == len2 && xml2 && !memcmp(xml, xml2, len));
	free(xml);
	free(xml2);
	cfg_domain_free(a);
	cfg_domain_free(b);
	cfg_diag_free(&diag);
}

static void test_roundtrip_every_example_is_identity(void)
{
	static const char *const ex[] = { "minimal.xml", "pv-disk-nic.xml",
		"fullvirt-qcow2-nvme-e1000.xml", "two-nics-block.xml" };
	char path[300];

	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", EXAMPLES_DIR, ex[i]);
		roundtrip_one(path, NULL);
	}
}

static void test_roundtrip_keeps_special_characters(void)
{
	roundtrip_one(NULL,
		"<domain type='pvkvm'><name>a.b-c_d+e</name><memory unit='b'>1025</memory>"
		"<os><kernel>/k &amp; &lt;x&gt; 'q' \"d\"</kernel>"
		"<cmdline>a=&quot;1&quot; b='2' &amp;&amp; &lt;3&gt;</cmdline>"
		"<loader>/fw.bin</loader></os>"
		"<devices><console type='file'><source path='/log &amp; x'/></console>"
		"<interface type='ethernet'><target dev='t0'/><bandwidth><outbound average='0' burst='7'/>"
		"</bandwidth></interface></devices></domain>");
}

static struct cfg_domain *parse_text(const char *xml)
{
	struct cfg_domain *d = NULL;
	struct cfg_diag diag;

	cfg_diag_init(&diag);
	if (cfg_parse_memory(NULL, "t.xml", xml, strlen(xml), &d, &diag))
		cfg_diag_print(&diag, stdout);
	cfg_diag_free(&diag);
	return d;
}

static void test_defaults_are_filled_in(void)
{
	struct cfg_domain *d = parse_text(
		"<domain type='pvkvm'><name>m</name><memory>1024</memory><os><kernel>/k</kernel></os>"
		"<devices><disk type='file'><source file='/i'/><target dev='xvda'/></disk>"
		"<interface type='ethernet'><target dev='tap0'/></interface></devices></domain>");

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(d->memory_kib, 1024);
	CU_ASSERT_EQUAL(d->vcpus, 1);
	CU_ASSERT_EQUAL(d->on_poweroff, CFG_ACTION_DESTROY);
	CU_ASSERT_EQUAL(d->on_reboot, CFG_ACTION_RESTART);
	CU_ASSERT_EQUAL(d->on_crash, CFG_ACTION_DESTROY);
	CU_ASSERT_EQUAL(d->console.type, CFG_CONSOLE_STDIO);
	CU_ASSERT_EQUAL(d->nr_disks, 1);
	CU_ASSERT_EQUAL(d->disks[0].format, CFG_FORMAT_RAW);
	CU_ASSERT_EQUAL(d->disks[0].io, CFG_IO_URING);
	CU_ASSERT_EQUAL(d->disks[0].cache, CFG_CACHE_NONE);
	CU_ASSERT_EQUAL(d->disks[0].discard, CFG_DISCARD_IGNORE);
	CU_ASSERT_EQUAL(d->disks[0].bus, CFG_BUS_PV);
	CU_ASSERT_FALSE(d->disks[0].readonly);
	CU_ASSERT_EQUAL(d->nr_nics, 1);
	CU_ASSERT_EQUAL(d->nics[0].model, CFG_NIC_PV);
	CU_ASSERT_EQUAL(d->nics[0].mtu, 1500);
	CU_ASSERT_FALSE(d->nics[0].has_mac);
	cfg_domain_free(d);
}

static void test_example_values_are_read(void)
{
	struct cfg_domain *d = NULL;
	struct cfg_diag diag;

	cfg_diag_init(&diag);
	CU_ASSERT_EQUAL_FATAL(cfg_parse_file(NULL, EXAMPLES_DIR "/pv-disk-nic.xml", &d, &diag), 0);
	CU_ASSERT_STRING_EQUAL(d->name, "web1");
	CU_ASSERT(d->has_uuid && d->uuid[0] == 0x4d && d->uuid[15] == 0xa0);
	CU_ASSERT_EQUAL(d->memory_kib, 1024 * 1024);
	CU_ASSERT_EQUAL(d->vcpus, 2);
	CU_ASSERT_STRING_EQUAL(d->os.cmdline, "console=hvc0 root=/dev/xvda rw");
	CU_ASSERT_EQUAL(d->disks[0].discard, CFG_DISCARD_UNMAP);
	CU_ASSERT_EQUAL(d->disks[0].iotune.total_iops_sec, 20000);
	CU_ASSERT_EQUAL(d->disks[0].iotune.write_bytes_sec, 52428800);
	CU_ASSERT_EQUAL(d->disks[0].line, 17);
	CU_ASSERT_STRING_EQUAL(d->nics[0].tap, "tap-web1");
	CU_ASSERT(d->nics[0].has_mac && d->nics[0].mac[5] == 0x56);
	CU_ASSERT_EQUAL(d->nics[0].mtu, 9000);
	CU_ASSERT_EQUAL(d->nics[0].inbound.peak_kibps, 250000);
	CU_ASSERT_EQUAL(d->nics[0].inbound.burst_kib, 1024);
	CU_ASSERT_EQUAL(d->nics[0].outbound.average_kibps, 125000);
	CU_ASSERT_EQUAL(d->console.type, CFG_CONSOLE_PTY);
	cfg_domain_free(d);
	cfg_diag_free(&diag);
}

static void test_memory_units_convert_to_kib(void)
{
	static const struct { const char *unit, *value; uint64_t kib; } cases[] = {
		{ "b", "1", 1 }, { "bytes", "2048", 2 }, { "KB", "1024", 1000 },
		{ "k", "5", 5 }, { "MiB", "64", 65536 }, { "MB", "1", 977 },
		{ "G", "2", 2097152 }, { "GB", "1", 976563 }, { "TiB", "1", 1ull << 30 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char xml[256];
		struct cfg_domain *d;

		snprintf(xml, sizeof(xml), "<domain type='pvkvm'><name>m</name><memory unit='%s'>%s"
			 "</memory><os><kernel>/k</kernel></os></domain>", cases[i].unit, cases[i].value);
		d = parse_text(xml);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		CU_ASSERT_EQUAL(d->memory_kib, cases[i].kib);
		cfg_domain_free(d);
	}
}

static enum cfg_kernel_kind kind_of(const char *name)
{
	char *p = fixture(name);
	int fd = open(p, O_RDONLY);
	enum cfg_kernel_kind k = fd < 0 ? (enum cfg_kernel_kind)-1 : cfg_image_kernel_kind(fd);

	if (fd >= 0)
		close(fd);
	free(p);
	return k;
}

static void test_kernel_kinds_are_recognised(void)
{
	CU_ASSERT_EQUAL(kind_of("pvh.elf"), CFG_KERNEL_PVH_ELF);
	CU_ASSERT_EQUAL(kind_of("nopvh.elf"), CFG_KERNEL_ELF_NOT_PVH);
	CU_ASSERT_EQUAL(kind_of("bzImage"), CFG_KERNEL_BZIMAGE);
	CU_ASSERT_EQUAL(kind_of("junk.bin"), CFG_KERNEL_UNKNOWN);
	CU_ASSERT_EQUAL(kind_of("disk.qcow2"), CFG_KERNEL_UNKNOWN);
}

/* Hostile ELF headers: offsets past the end, huge counts, note sizes that
 * wrap.  Each must be "not PVH", quickly and without reading out of bounds. */
static void test_hostile_elf_headers_are_not_pvh(void)
{
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		Elf64_Nhdr nh;
		char name[4];
	} __attribute__((packed)) img;

	for (int v = 0; v < 5; v++) {
		memset(&img, 0, sizeof(img));
		memcpy(img.eh.e_ident, ELFMAG, SELFMAG);
		img.eh.e_ident[EI_CLASS] = ELFCLASS64;
		img.eh.e_ident[EI_DATA] = ELFDATA2LSB;
		img.eh.e_phoff = sizeof(Elf64_Ehdr);
		img.eh.e_phentsize = sizeof(Elf64_Phdr);
		img.eh.e_phnum = 1;
		img.ph.p_type = PT_NOTE;
		img.ph.p_offset = offsetof(__typeof__(img), nh);
		img.ph.p_filesz = sizeof(img.nh) + 4;
		img.nh.n_namesz = 4;
		img.nh.n_type = CFG_XEN_ELFNOTE_PHYS32_ENTRY;
		memcpy(img.name, "Xen", 4);
		if (v == 0)
			img.eh.e_phoff = UINT64_MAX - 8;          /* table past the end */
		else if (v == 1)
			img.eh.e_phnum = 0xffff;                  /* absurd count */
		else if (v == 2)
			img.nh.n_namesz = 0xfffffffe;             /* rounds up past 2^32 */
		else if (v == 3)
			img.ph.p_filesz = UINT64_MAX;             /* region larger than file */
		else
			img.eh.e_phentsize = 8;                   /* entries too small */
		CU_ASSERT_EQUAL_FATAL(write_file("hostile.elf", &img, sizeof(img)), 0);
		enum cfg_kernel_kind k = kind_of("hostile.elf");

		/* A region larger than the file cannot be read whole: not PVH. */
		CU_ASSERT_EQUAL(k, CFG_KERNEL_ELF_NOT_PVH);
	}
	char *path = fixture("hostile.elf");

	unlink(path);
	free(path);
}

static void test_default_mac_is_stable_unicast_and_distinct(void)
{
	struct cfg_domain d = { .name = (char *)"router" };
	uint8_t a[6], b[6], a2[6];

	cfg_nic_default_mac(&d, 0, a);
	cfg_nic_default_mac(&d, 1, b);
	cfg_nic_default_mac(&d, 0, a2);
	CU_ASSERT(!memcmp(a, a2, 6));
	CU_ASSERT(memcmp(a, b, 6) != 0);
	CU_ASSERT_EQUAL(a[0] & 1, 0);
	CU_ASSERT_EQUAL(a[0] & 2, 2);
}

static void test_load_parses_and_checks(void)
{
	struct cfg_domain *d = (struct cfg_domain *)1;
	struct cfg_diag diag;

	cfg_diag_init(&diag);
	/* The example's kernel path does not exist here: load must refuse it. */
	CU_ASSERT_EQUAL(cfg_domain_load(EXAMPLES_DIR "/minimal.xml", NULL, &d, &diag), -EINVAL);
	CU_ASSERT_PTR_NULL(d);
	CU_ASSERT(cfg_diag_contains(&diag, "minimal.xml:6: kernel: /var/lib/pvkvm/mini-guest.elf"));
	cfg_diag_free(&diag);
	struct cfg_check_opts skip = { .skip_files = true };

	CU_ASSERT_EQUAL(cfg_domain_load(EXAMPLES_DIR "/minimal.xml", &skip, &d, &diag), 0);
	CU_ASSERT_PTR_NOT_NULL(d);
	cfg_domain_free(d);
	cfg_diag_free(&diag);
}

static void test_parser_is_reusable_across_documents(void)
{
	struct cfg_diag diag;
	struct cfg_parser *p;
	const char *good = "<domain type='pvkvm'><name>m</name><memory>1</memory><os><kernel>/k</kernel></os></domain>";
	const char *bad = "<domain type='pvkvm'><name>m</name></domain>";

	cfg_diag_init(&diag);
	p = cfg_parser_new(&diag);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (int i = 0; i < 20; i++) {
		struct cfg_domain *d = NULL;
		const char *x = i % 2 ? bad : good;
		int rc = cfg_parse_memory(p, "r.xml", x, strlen(x), &d, &diag);

		CU_ASSERT_EQUAL(rc, i % 2 ? -EINVAL : 0);
		cfg_domain_free(d);
	}
	cfg_parser_free(p);
	cfg_diag_free(&diag);
}

static const struct cunit_test config_tests[] = {
	CUNIT_TEST_BARE(test_every_example_validates),
	CUNIT_TEST_BARE(test_roundtrip_every_example_is_identity),
	CUNIT_TEST_BARE(test_roundtrip_keeps_special_characters),
	CUNIT_TEST_BARE(test_defaults_are_filled_in),
	CUNIT_TEST_BARE(test_example_values_are_read),
	CUNIT_TEST_BARE(test_memory_units_convert_to_kib),
	CUNIT_TEST_BARE(test_kernel_kinds_are_recognised),
	CUNIT_TEST_BARE(test_hostile_elf_headers_are_not_pvh),
	CUNIT_TEST_BARE(test_default_mac_is_stable_unicast_and_distinct),
	CUNIT_TEST_BARE(test_load_parses_and_checks),
	CUNIT_TEST_BARE(test_parser_is_reusable_across_documents),
};

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CUNIT_SUITE("config", test_cfg_fixtures_create, test_cfg_fixtures_remove, config_tests);
	test_cfg_add_invalid_suite();
	return cunit_run_all();
}
