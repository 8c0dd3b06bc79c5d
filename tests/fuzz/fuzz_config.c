/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the domain XML parser: parse, check (without touching
 * files), and for every accepted document verify that write -> parse gives an
 * equal struct.  The same bytes, as a file, go through the kernel and qcow2
 * recognisers (hostile ELF headers).  Built and run by `make fuzz-config`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "cfg_domain.h"
#include "cfg_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct cfg_parser *fuzz_parser;

static void fuzz_silence(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cfg_diag diag;

	(void)argc;
	(void)argv;
	/* Errors libxml2 raises outside a parser context (encoding, memory) go
	 * to its generic handler: keep them off the fuzzer's output. */
	xmlSetGenericErrorFunc(NULL, fuzz_silence);
	cfg_diag_init(&diag);
	fuzz_parser = cfg_parser_new(&diag);
	cfg_diag_free(&diag);
	if (!fuzz_parser)
		abort();
	return 0;
}

static void fuzz_roundtrip(const struct cfg_domain *d)
{
	struct cfg_domain *again = NULL;
	struct cfg_diag diag;
	char *xml = NULL;
	size_t len = 0;

	if (cfg_domain_write_mem(d, &xml, &len))
		abort();
	cfg_diag_init(&diag);
	if (cfg_parse_memory(fuzz_parser, "written", xml, len, &again, &diag) ||
	    !cfg_domain_equal(d, again))
		abort(); /* the writer produced something the parser reads differently */
	cfg_domain_free(again);
	cfg_diag_free(&diag);
	free(xml);
}

static int fuzz_memfd = -1;

static void fuzz_image(const uint8_t *data, size_t size)
{
	if (fuzz_memfd < 0)
		fuzz_memfd = memfd_create("fuzz-image", MFD_CLOEXEC);
	if (fuzz_memfd < 0 || ftruncate(fuzz_memfd, 0) < 0 ||
	    pwrite(fuzz_memfd, data, size, 0) != (ssize_t)size)
		return;
	(void)cfg_image_kernel_kind(fuzz_memfd);
	(void)cfg_image_is_qcow2(fuzz_memfd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_check_opts opts = { .skip_files = true, .host_memory_kib = 1u << 24 };
	struct cfg_domain *d = NULL;
	struct cfg_diag diag;

	cfg_diag_init(&diag);
	if (cfg_parse_memory(fuzz_parser, "fuzz.xml", data, size, &d, &diag) == 0) {
		cfg_domain_check(d, &opts, &diag);
		fuzz_roundtrip(d);
	}
	for (unsigned int i = 0; i < diag.nr; i++)
		if (strchr(diag.msg[i], '\n'))
			abort(); /* messages are one line each */
	cfg_domain_free(d);
	cfg_diag_free(&diag);
	fuzz_image(data, size);
	return 0;
}
