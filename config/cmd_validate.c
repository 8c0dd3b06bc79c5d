/* SPDX-License-Identifier: MIT */
/* `pvkvm validate FILE...`: schema and semantic checks of domain XML files. */
#include <stdio.h>
#include <string.h>

#include "cfg_domain.h"
#include "pv_command.h"

static void validate_usage(FILE *out)
{
	fprintf(out,
		"usage: pvkvm validate [--quiet] [--no-file-checks] [--print] FILE...\n"
		"\n"
		"Check guest descriptions (libvirt-style domain XML) without starting anything.\n"
		"Each FILE is parsed, validated against the RelaxNG schema built into pvkvm\n"
		"(the same text as config/domain.rng), then checked against this host:\n"
		"  - memory is above 0 and within the host's RAM, 1 <= vcpu <= 255;\n"
		"  - the kernel, initrd and disk images exist and can be read, and disks\n"
		"    can be written unless marked <readonly/>;\n"
		"  - the kernel is a PVH ELF (Xen ELF note 18) or a Linux bzImage;\n"
		"  - a disk declared raw is not a qcow2 image, and one declared qcow2 is;\n"
		"  - target devices, TAP names and MAC addresses are unique; MACs are unicast.\n"
		"\n"
		"Options:\n"
		"  -q, --quiet           print nothing when the file is valid\n"
		"      --no-file-checks  skip the checks that open files (kernel, images, console\n"
		"                        log); for checking a description on another machine\n"
		"      --print           write the description back out with every default filled in\n"
		"  -h, --help            this text\n"
		"\n"
		"Errors are printed one per line as FILE:LINE: message.\n"
		"Exit status: 0 every FILE is valid, 1 some FILE is invalid or unreadable.\n");
}

struct validate_opts {
	bool quiet, print;
	struct cfg_check_opts check;
};

static int validate_one(struct cfg_parser *parser, const char *path,
			const struct validate_opts *o)
{
	struct cfg_diag diag;
	struct cfg_domain *d = NULL;
	int rc;

	cfg_diag_init(&diag);
	rc = cfg_parse_file(parser, path, &d, &diag);
	if (!rc)
		rc = cfg_domain_check(d, &o->check, &diag);
	if (rc) {
		cfg_diag_print(&diag, stderr);
		if (!diag.nr)
			fprintf(stderr, "%s: invalid (%s)\n", path, strerror(-rc));
	} else if (o->print) {
		cfg_domain_write(d, stdout);
	} else if (!o->quiet) {
		printf("%s: valid: domain '%s', %llu MiB, %u vCPU%s, %zu disk%s, %zu interface%s\n",
		       path, d->name, (unsigned long long)(d->memory_kib / 1024), d->vcpus,
		       d->vcpus == 1 ? "" : "s", d->nr_disks, d->nr_disks == 1 ? "" : "s",
		       d->nr_nics, d->nr_nics == 1 ? "" : "s");
	}
	cfg_domain_free(d);
	cfg_diag_free(&diag);
	return rc;
}

static int cmd_validate(int argc, char **argv)
{
	struct validate_opts o = { 0 };
	struct cfg_parser *parser;
	struct cfg_diag diag;
	int bad = 0, i;

	if (pv_command_wants_help(argc, argv)) {
		validate_usage(stdout);
		return PV_EXIT_OK;
	}
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
			o.quiet = true;
		} else if (!strcmp(argv[i], "--no-file-checks")) {
			o.check.skip_files = true;
		} else if (!strcmp(argv[i], "--print")) {
			o.print = true;
		} else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else {
			fprintf(stderr, "pvkvm validate: unknown option '%s' (try --help)\n", argv[i]);
			return PV_EXIT_USER;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "pvkvm validate: expected a domain XML FILE (try --help)\n");
		return PV_EXIT_USER;
	}
	cfg_diag_init(&diag);
	parser = cfg_parser_new(&diag);
	if (!parser) {
		cfg_diag_print(&diag, stderr);
		cfg_diag_free(&diag);
		return PV_EXIT_HOST;
	}
	for (; i < argc; i++)
		bad += validate_one(parser, argv[i], &o) != 0;
	cfg_parser_free(parser);
	cfg_diag_free(&diag);
	return bad ? PV_EXIT_USER : PV_EXIT_OK;
}
PV_COMMAND(validate, "validate", "check a domain XML file against the schema and this host",
	   cmd_validate);
