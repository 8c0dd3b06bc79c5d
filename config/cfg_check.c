/* SPDX-License-Identifier: MIT */
/* Semantic rules the schema cannot express: sizes against this host, files
 * that must exist with the right access, duplicates, MACs, image formats and
 * kernel kinds.  Every broken rule gives one message; all are reported. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "cfg_domain.h"
#include "cfg_image.h"

struct cfg_checker {
	const struct cfg_domain *d;
	const struct cfg_check_opts *opts;
	struct cfg_diag *diag;
	int nr_errors;
};

__attribute__((format(printf, 3, 4)))
static void check_fail(struct cfg_checker *c, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cfg_diag_add(c->diag, "%s:%d: %s", c->d->file ? c->d->file : "(domain)", line, msg);
	c->nr_errors++;
}

static uint64_t host_memory_kib(void)
{
	struct sysinfo si;

	if (sysinfo(&si) < 0)
		return UINT64_MAX;
	return (uint64_t)si.totalram * si.mem_unit / 1024;
}

static void check_sizes(struct cfg_checker *c)
{
	const struct cfg_domain *d = c->d;
	uint64_t host = c->opts->host_memory_kib ? c->opts->host_memory_kib : host_memory_kib();

	if (d->memory_kib == 0)
		check_fail(c, d->memory_line, "memory: must be greater than 0");
	else if (d->memory_kib > host)
		check_fail(c, d->memory_line,
			   "memory: %llu KiB is more than this host has (%llu KiB); lower <memory>",
			   (unsigned long long)d->memory_kib, (unsigned long long)host);
	if (d->vcpus < 1 || d->vcpus > CFG_VCPUS_MAX)
		check_fail(c, d->vcpu_line, "vcpu: %u is out of range, expected 1..%d",
			   d->vcpus, CFG_VCPUS_MAX);
	if (!d->os.kernel && d->os.loader)
		check_fail(c, d->os.loader_line,
			   "os: firmware boot (<loader> without <kernel>) is not supported yet; add <kernel>");
}

/* Open path for reading (and check write access unless readonly); on failure
 * report it and return -1. */
static int check_open(struct cfg_checker *c, int line, const char *what, const char *path,
		      bool writable)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		check_fail(c, line, "%s: %s: cannot open for reading: %s", what, path,
			   strerror(errno));
		return -1;
	}
	if (writable && access(path, W_OK) < 0) {
		check_fail(c, line, "%s: %s: not writable (%s); fix the permissions or add <readonly/>",
			   what, path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void check_kernel(struct cfg_checker *c)
{
	const struct cfg_os *os = &c->d->os;
	int fd;

	if (os->kernel) {
		fd = check_open(c, os->kernel_line, "kernel", os->kernel, false);
		if (fd >= 0) {
			enum cfg_kernel_kind kind = cfg_image_kernel_kind(fd);

			if (kind == CFG_KERNEL_ELF_NOT_PVH)
				check_fail(c, os->kernel_line,
					   "kernel: %s: an ELF file without a PVH entry note (Xen ELF note type 18); "
					   "build the kernel with CONFIG_PVH=y or use its bzImage", os->kernel);
			else if (kind == CFG_KERNEL_UNKNOWN)
				check_fail(c, os->kernel_line,
					   "kernel: %s: expected a PVH ELF or a Linux bzImage", os->kernel);
			close(fd);
		}
	}
	if (os->initrd && (fd = check_open(c, os->initrd_line, "initrd", os->initrd, false)) >= 0)
		close(fd);
	if (os->loader && (fd = check_open(c, os->loader_line, "loader", os->loader, false)) >= 0)
		close(fd);
}

static void check_disk_file(struct cfg_checker *c, const struct cfg_disk *disk)
{
	char what[CFG_NAME_MAX + 8];
	struct stat st;
	int fd;

	snprintf(what, sizeof(what), "disk %.16s", disk->target);
	fd = check_open(c, disk->line, what, disk->source, !disk->readonly);

	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0) {
		check_fail(c, disk->line, "disk %s: %s: %s", disk->target, disk->source,
			   strerror(errno));
	} else if (disk->type == CFG_DISK_FILE && !S_ISREG(st.st_mode)) {
		check_fail(c, disk->line, "disk %s: %s: not a regular file%s", disk->target,
			   disk->source, S_ISBLK(st.st_mode) ? "; use <disk type='block'> with <source dev=...>" : "");
	} else if (disk->type == CFG_DISK_BLOCK && !S_ISBLK(st.st_mode)) {
		check_fail(c, disk->line, "disk %s: %s: not a block device%s", disk->target,
			   disk->source, S_ISREG(st.st_mode) ? "; use <disk type='file'> with <source file=...>" : "");
	} else {
		bool qcow2 = cfg_image_is_qcow2(fd);

		if (qcow2 && disk->format == CFG_FORMAT_RAW)
			check_fail(c, disk->line,
				   "disk %s: %s: declared raw but the file is a qcow2 image; set <driver type='qcow2'/>",
				   disk->target, disk->source);
		else if (!qcow2 && disk->format == CFG_FORMAT_QCOW2)
			check_fail(c, disk->line,
				   "disk %s: %s: declared qcow2 but not a qcow2 image (bad magic); set <driver type='raw'/>",
				   disk->target, disk->source);
	}
	close(fd);
}

static void check_iotune(struct cfg_checker *c, const struct cfg_disk *disk)
{
	const struct cfg_iotune *l = &disk->iotune;

	if (l->total_bytes_sec && (l->read_bytes_sec || l->write_bytes_sec))
		check_fail(c, disk->line,
			   "disk %s: iotune: total_bytes_sec cannot be combined with read_bytes_sec or write_bytes_sec",
			   disk->target);
	if (l->total_iops_sec && (l->read_iops_sec || l->write_iops_sec))
		check_fail(c, disk->line,
			   "disk %s: iotune: total_iops_sec cannot be combined with read_iops_sec or write_iops_sec",
			   disk->target);
}

static void check_disks(struct cfg_checker *c)
{
	const struct cfg_domain *d = c->d;

	for (size_t i = 0; i < d->nr_disks; i++) {
		const struct cfg_disk *disk = &d->disks[i];

		for (size_t j = 0; j < i; j++)
			if (!strcmp(disk->target, d->disks[j].target))
				check_fail(c, disk->line, "disk: duplicate target dev '%s' (also on line %d)",
					   disk->target, d->disks[j].line);
		check_iotune(c, disk);
		if (!c->opts->skip_files)
			check_disk_file(c, disk);
	}
}

static void check_nic(struct cfg_checker *c, size_t i)
{
	const struct cfg_nic *nic = &c->d->nics[i];
	const uint8_t *m = nic->mac;

	if (nic->has_mac && (m[0] & 1))
		check_fail(c, nic->line, "interface %s: mac %02x:%02x:%02x:%02x:%02x:%02x is a multicast "
			   "address; the first byte must be even (e.g. 52:54:00:...)", nic->tap,
			   m[0], m[1], m[2], m[3], m[4], m[5]);
	else if (nic->has_mac && !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
		check_fail(c, nic->line, "interface %s: mac 00:00:00:00:00:00 is not a valid address",
			   nic->tap);
	if (nic->mtu < 68 || nic->mtu > 65535)
		check_fail(c, nic->line, "interface %s: mtu %u is out of range, expected 68..65535",
			   nic->tap, nic->mtu);
	for (size_t j = 0; j < i; j++) {
		const struct cfg_nic *o = &c->d->nics[j];

		if (!strcmp(nic->tap, o->tap))
			check_fail(c, nic->line, "interface: duplicate target dev '%s' (also on line %d)",
				   nic->tap, o->line);
		if (nic->has_mac && o->has_mac && !memcmp(nic->mac, o->mac, 6))
			check_fail(c, nic->line, "interface %s: duplicate mac address (also on line %d)",
				   nic->tap, o->line);
	}
}

static void check_console(struct cfg_checker *c)
{
	const struct cfg_console *con = &c->d->console;
	char *dir;

	if (con->type != CFG_CONSOLE_FILE || !con->path || c->opts->skip_files)
		return;
	dir = strdup(con->path);
	if (!dir)
		return;
	if (access(dirname(dir), W_OK) < 0)
		check_fail(c, con->line, "console: %s: cannot create the log file there: %s",
			   con->path, strerror(errno));
	free(dir);
}

int cfg_domain_check(const struct cfg_domain *d, const struct cfg_check_opts *opts,
		     struct cfg_diag *diag)
{
	static const struct cfg_check_opts defaults;
	struct cfg_checker c = { .d = d, .opts = opts ? opts : &defaults, .diag = diag };

	check_sizes(&c);
	if (!c.opts->skip_files)
		check_kernel(&c);
	check_disks(&c);
	for (size_t i = 0; i < d->nr_nics; i++)
		check_nic(&c, i);
	check_console(&c);
	return c.nr_errors ? -EINVAL : 0;
}

int cfg_domain_load(const char *path, const struct cfg_check_opts *opts,
		    struct cfg_domain **out, struct cfg_diag *diag)
{
	int rc = cfg_parse_file(NULL, path, out, diag);

	if (rc)
		return rc;
	rc = cfg_domain_check(*out, opts, diag);
	if (rc) {
		cfg_domain_free(*out);
		*out = NULL;
	}
	return rc;
}
