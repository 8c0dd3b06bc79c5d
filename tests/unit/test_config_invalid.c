/* SPDX-License-Identifier: MIT */
/* Invalid domain documents: each is refused (-EINVAL) with a message naming
 * the file, the line and what was wrong or expected.  One CUnit test per
 * document, named for the rule it proves. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "test_config.h"

enum stage { PARSE, CHECK };

#define OS_PVH "<os><kernel>@DIR@/pvh.elf</kernel></os>"
#define DOM(body) "<domain type='pvkvm'><name>t</name><memory unit='MiB'>64</memory>" body "</domain>"
#define DEVS(devs) DOM(OS_PVH "<devices>" devs "</devices>")
#define DISK(drv, file, dev) \
	"<disk type='file'><driver name='pvkvm' type='" drv "'/><source file='" file \
	"'/><target dev='" dev "'/></disk>"
#define NIC(tap, mac) \
	"<interface type='ethernet'><target dev='" tap "'/><mac address='" mac "'/></interface>"

/* X(test name, stage that refuses it, document, substring of a message). */
#define INVALID_CASES(X)                                                                   \
	X(malformed_unclosed_root_is_refused, PARSE,                                        \
	  "<domain type='pvkvm'>\n<name>t</name>\n", "test.xml:3: ")                         \
	X(malformed_tag_mismatch_names_line, PARSE,                                         \
	  "<domain type='pvkvm'>\n<name>t</nam>\n</domain>", "test.xml:2: Opening and ending tag mismatch") \
	X(empty_document_is_refused, PARSE, "", "Document is empty")                        \
	X(non_xml_text_is_refused, PARSE, "memory=64M", "Start tag expected")               \
	X(doctype_with_entities_is_refused, PARSE,                                          \
	  "<!DOCTYPE domain [<!ENTITY a 'aaaa'>]>" DOM(OS_PVH), "DOCTYPE is not allowed")   \
	X(unknown_root_element_is_refused, PARSE,                                           \
	  "<vm type='pvkvm'><name>t</name></vm>", "test.xml:1: expected the root element <domain type='pvkvm'>, got <vm>")       \
	X(domain_type_other_than_pvkvm_is_refused, PARSE,                                   \
	  "<domain type='kvm'><name>t</name><memory>1</memory>" OS_PVH "</domain>", "<domain> needs type='pvkvm' (got 'kvm')")  \
	X(missing_name_is_refused, PARSE,                                                   \
	  "<domain type='pvkvm'><memory>1</memory>" OS_PVH "</domain>", "test.xml:1: <domain> lacks a <name> element")      \
	X(missing_memory_is_refused, PARSE,                                                 \
	  "<domain type='pvkvm'><name>t</name>" OS_PVH "</domain>", "<domain> lacks a <memory> element")               \
	X(unknown_element_is_named, PARSE, DOM(OS_PVH "<floppy/>"), "unexpected element <floppy> in <domain>; expected one of: name, uuid")               \
	X(unknown_memory_unit_is_refused, PARSE,                                            \
	  "<domain type='pvkvm'><name>t</name><memory unit='XB'>1</memory>" OS_PVH "</domain>", \
	  "unit")                                                                            \
	X(memory_not_a_number_is_refused, PARSE,                                            \
	  "<domain type='pvkvm'><name>t</name><memory>lots</memory>" OS_PVH "</domain>", "<memory>: 'lots' is not valid; expected a whole number") \
	X(memory_overflowing_64_bits_is_refused, PARSE,                                     \
	  "<domain type='pvkvm'><name>t</name><memory unit='TiB'>99999999999</memory>" OS_PVH "</domain>", \
	  "memory: size overflows 64 bits")                                                 \
	X(disk_format_vmdk_is_refused, PARSE, DEVS(DISK("vmdk", "/i", "xvda")), "Invalid attribute type for element driver")     \
	X(interface_type_bridge_is_refused, PARSE,                                          \
	  DEVS("<interface type='bridge'><target dev='t0'/></interface>"), "interface")     \
	X(malformed_mac_is_refused, PARSE, DEVS(NIC("t0", "52:54:00:12:34")), "mac")        \
	X(disk_without_target_is_refused, PARSE,                                            \
	  DEVS("<disk type='file'><source file='/i'/></disk>"), "disk")                     \
	X(console_file_without_path_is_refused, PARSE,                                      \
	  DEVS("<console type='file'/>"), "console")                                        \
	X(malformed_uuid_is_refused, PARSE,                                                 \
	  "<domain type='pvkvm'><name>t</name><uuid>not-a-uuid</uuid><memory>1</memory>" OS_PVH "</domain>", \
	  "<uuid>: 'not-a-uuid' is not valid; expected 32 hex digits")                                                                            \
	X(unknown_lifecycle_action_is_refused, PARSE,                                       \
	  DOM(OS_PVH "<on_crash>preserve</on_crash>"), "<on_crash>: 'preserve' is not valid; expected destroy or restart")                          \
	X(relative_kernel_path_is_refused, PARSE,                                           \
	  DOM("<os><kernel>vmlinux</kernel></os>"), "<kernel>: 'vmlinux' is not valid; expected an absolute path")                               \
	X(unknown_disk_bus_is_refused, PARSE,                                               \
	  DEVS("<disk type='file'><source file='/i'/><target dev='vda' bus='virtio'/></disk>"), "Invalid attribute bus for element target") \
	X(os_without_kernel_or_loader_is_refused, PARSE,                                    \
	  DOM("<os><cmdline>x</cmdline></os>"), "os: expected <kernel>")                    \
	X(zero_memory_is_refused, CHECK,                                                    \
	  "<domain type='pvkvm'><name>t</name><memory>0</memory>" OS_PVH "</domain>",       \
	  "test.xml:1: memory: must be greater than 0")                                     \
	X(memory_above_host_is_refused, CHECK,                                              \
	  "<domain type='pvkvm'><name>t</name><memory unit='GiB'>2</memory>" OS_PVH "</domain>", \
	  "more than this host has (1048576 KiB)")                                          \
	X(zero_vcpus_are_refused, CHECK, DOM(OS_PVH "<vcpu>0</vcpu>"), "vcpu: 0 is out of range, expected 1..255") \
	X(vcpus_above_255_are_refused, CHECK, DOM(OS_PVH "<vcpu>256</vcpu>"), "vcpu: 256 is out of range") \
	X(missing_kernel_file_is_refused, CHECK,                                            \
	  DOM("<os><kernel>@DIR@/nonexistent</kernel></os>"), "cannot open for reading: No such file") \
	X(elf_kernel_without_pvh_note_is_refused, CHECK,                                    \
	  DOM("<os><kernel>@DIR@/nopvh.elf</kernel></os>"), "without a PVH entry note")     \
	X(kernel_of_unknown_format_is_refused, CHECK,                                       \
	  DOM("<os><kernel>@DIR@/junk.bin</kernel></os>"), "expected a PVH ELF or a Linux bzImage") \
	X(missing_initrd_is_refused, CHECK,                                                 \
	  DOM("<os><kernel>@DIR@/bzImage</kernel><initrd>@DIR@/none.img</initrd></os>"), "initrd: ") \
	X(missing_disk_image_is_refused, CHECK, DEVS(DISK("raw", "@DIR@/none.raw", "xvda")), \
	  "disk xvda: ")                                                                     \
	X(qcow2_image_declared_raw_is_refused, CHECK,                                       \
	  DEVS(DISK("raw", "@DIR@/disk.qcow2", "xvda")), "declared raw but the file is a qcow2 image") \
	X(raw_image_declared_qcow2_is_refused, CHECK,                                       \
	  DEVS(DISK("qcow2", "@DIR@/disk.raw", "xvda")), "declared qcow2 but not a qcow2 image") \
	X(block_disk_on_regular_file_is_refused, CHECK,                                     \
	  DEVS("<disk type='block'><source dev='@DIR@/disk.raw'/><target dev='xvda'/></disk>"), \
	  "not a block device; use <disk type='file'>")                                     \
	X(duplicate_disk_target_is_refused, CHECK,                                          \
	  DEVS(DISK("raw", "@DIR@/disk.raw", "xvda") "\n" DISK("raw", "@DIR@/disk2.raw", "xvda")), \
	  "test.xml:2: disk: duplicate target dev 'xvda' (also on line 1)")                 \
	X(duplicate_mac_is_refused, CHECK,                                                  \
	  DEVS(NIC("t0", "52:54:00:00:00:01") NIC("t1", "52:54:00:00:00:01")), "duplicate mac address") \
	X(duplicate_tap_is_refused, CHECK,                                                  \
	  DEVS(NIC("t0", "52:54:00:00:00:01") NIC("t0", "52:54:00:00:00:02")), "interface: duplicate target dev 't0'") \
	X(multicast_mac_is_refused, CHECK, DEVS(NIC("t0", "01:00:5e:00:00:01")), "is a multicast address") \
	X(zero_mac_is_refused, CHECK, DEVS(NIC("t0", "00:00:00:00:00:00")), "is not a valid address") \
	X(tiny_mtu_is_refused, CHECK,                                                       \
	  DEVS("<interface type='ethernet'><target dev='t0'/><mtu size='20'/></interface>"), \
	  "mtu 20 is out of range, expected 68..65535")                                     \
	X(iotune_total_with_read_is_refused, CHECK,                                         \
	  DEVS("<disk type='file'><source file='@DIR@/disk.raw'/><target dev='xvda'/><iotune>" \
	       "<total_iops_sec>10</total_iops_sec><read_iops_sec>5</read_iops_sec></iotune></disk>"), \
	  "total_iops_sec cannot be combined with read_iops_sec")                          \
	X(console_log_in_missing_directory_is_refused, CHECK,                               \
	  DEVS("<console type='file'><source path='@DIR@/nodir/log'/></console>"), "cannot create the log file there") \
	X(firmware_only_boot_is_refused, CHECK,                                             \
	  DOM("<os><loader>@DIR@/bzImage</loader></os>"), "firmware boot (<loader> without <kernel>) is not supported yet")

struct invalid_case {
	const char *name;
	enum stage stage;
	const char *xml;
	const char *expect;
};

static const struct invalid_case invalid_cases[] = {
#define CASE_ENTRY(n, st, x, e) { #n, st, x, e },
	INVALID_CASES(CASE_ENTRY)
};

static void run_invalid(const char *name)
{
	const struct invalid_case *c = NULL;
	struct cfg_diag diag;
	int rc;

	for (size_t i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]); i++)
		if (!strcmp(invalid_cases[i].name, name))
			c = &invalid_cases[i];
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	cfg_diag_init(&diag);
	/* Parse-stage documents must already fail to parse; check-stage ones
	 * must parse and then fail the semantic checks. */
	rc = test_cfg_run(c->xml, true, 0, &diag);
	if (c->stage == PARSE) {
		CU_ASSERT_EQUAL(rc, -EINVAL);
	} else {
		CU_ASSERT_EQUAL(rc, 0);
		rc = test_cfg_run(c->xml, false, 1024 * 1024, &diag);
		CU_ASSERT_EQUAL(rc, -EINVAL);
	}
	if (!cfg_diag_contains(&diag, c->expect)) {
		printf("\n  %s: expected a message containing \"%s\", got:\n", name, c->expect);
		cfg_diag_print(&diag, stdout);
		CU_FAIL("expected message missing");
	}
	for (unsigned int i = 0; i < diag.nr; i++)
		CU_ASSERT(strncmp(diag.msg[i], "test.xml:", 9) == 0);
	cfg_diag_free(&diag);
}

#define CASE_FUNC(n, st, x, e) static void test_##n(void) { run_invalid(#n); }
INVALID_CASES(CASE_FUNC)

void test_cfg_add_invalid_suite(void)
{
	CU_pSuite s = CU_add_suite("config_invalid", test_cfg_fixtures_create,
				   test_cfg_fixtures_remove);
#define CASE_ADD(n, st, x, e) CU_add_test(s, #n, test_##n);
	INVALID_CASES(CASE_ADD)
}
