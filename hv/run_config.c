/* SPDX-License-Identifier: MIT */
/* Run options: sizes, the process title, and the seam to the domain XML
 * parser (config/), which fills struct hv_run_opts from <domain>. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "cfg_domain.h"
#include "pv_log.h"
#include "run.h"

/* Set by main(): the process's own argument vector, rewritten for ps. */
extern char **hv_main_argv;
extern int hv_main_argc;

void hv_run_opts_free(struct hv_run_opts *o)
{
	free(o->kernel);
	free(o->initrd);
	free(o->cmdline);
	free(o->console);
	o->kernel = o->initrd = o->cmdline = o->console = NULL;
	for (unsigned i = 0; i < o->nr_disks; i++)
		free(o->disks[i]);
	o->nr_disks = 0;
	for (unsigned i = 0; i < o->nr_nics; i++)
		free(o->nics[i]);
	o->nr_nics = 0;
}

int hv_run_opts_set(char **dst, const char *src)
{
	char *v = src ? strdup(src) : NULL;

	if (src && !v)
		return -ENOMEM;
	free(*dst);
	*dst = v;
	return 0;
}

int hv_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if ((*end == 'i' || *end == 'B') && shift)
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int xml_console(struct hv_run_opts *o, const struct cfg_console *c)
{
	char file[4200];

	if (c->type == CFG_CONSOLE_PTY)
		return hv_run_opts_set(&o->console, "pty");
	if (c->type == CFG_CONSOLE_FILE) {
		if ((size_t)snprintf(file, sizeof(file), "file:%s", c->path) >= sizeof(file))
			return -ENAMETOOLONG;
		return hv_run_opts_set(&o->console, file);
	}
	return hv_run_opts_set(&o->console, "stdio");
}

/* <disk bus='pv'> -> the --disk SPEC the embedded backend parses. */
static int xml_disks(struct hv_run_opts *o, const struct cfg_domain *d, char *err, size_t errlen)
{
	for (size_t i = 0; i < d->nr_disks; i++) {
		const struct cfg_disk *k = &d->disks[i];
		char spec[4200];

		if (k->bus != CFG_BUS_PV || i >= sizeof(o->disks) / sizeof(o->disks[0])) {
			snprintf(err, errlen, "%s:%d: only up to 8 <disk> with <target bus='pv'> are attached "
				 "by pvkvm run yet", d->file, k->line);
			return -1;
		}
		snprintf(spec, sizeof(spec), "%s,format=%s,io=%s,cache=%s,discard=%s%s", k->source,
			 cfg_disk_format_name(k->format), cfg_disk_io_name(k->io),
			 cfg_disk_cache_name(k->cache), cfg_disk_discard_name(k->discard),
			 k->readonly ? ",readonly" : "");
		if (hv_run_opts_set(&o->disks[o->nr_disks], spec) < 0)
			return -1;
		o->nr_disks++;
	}
	return 0;
}

/* <interface type='ethernet'> with model pv -> --nic specs (outbound
 * bandwidth, libvirt's KiB/s, limits guest->host). */
static int xml_nics(struct hv_run_opts *o, const struct cfg_domain *d, char *err, size_t errlen)
{
	char spec[160];

	for (size_t i = 0; i < d->nr_nics; i++) {
		const struct cfg_nic *n = &d->nics[i];
		const uint8_t *m = n->mac;
		int len;

		if (n->model != CFG_NIC_PV || !n->tap || i >= HV_MAX_NICS) {
			snprintf(err, errlen, "%s:%d: only up to %d <interface> with <model type='pv'/> "
				 "and a <target dev=> TAP are attached by pvkvm run yet", d->file, n->line,
				 HV_MAX_NICS);
			return -1;
		}
		len = snprintf(spec, sizeof(spec), "tap=%s,mtu=%u", n->tap, n->mtu ? n->mtu : 1500);
		if (n->has_mac)
			len += snprintf(spec + len, sizeof(spec) - (size_t)len,
					",mac=%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
		if (n->outbound.average_kibps)
			snprintf(spec + len, sizeof(spec) - (size_t)len, ",rate=%llu",
				 (unsigned long long)n->outbound.average_kibps * 1024);
		if (hv_run_opts_set(&o->nics[o->nr_nics], spec) < 0)
			return -1;
		o->nr_nics++;
	}
	return 0;
}

/* Copies what `pvkvm run` uses out of a checked domain. */
static int xml_to_opts(struct hv_run_opts *o, const struct cfg_domain *d, char *err, size_t errlen)
{
	if (!d->os.kernel) {
		snprintf(err, errlen, "%s: <os> has no <kernel> (firmware boot is not supported yet)", d->file);
		return -ENOTSUP;
	}
	if (xml_disks(o, d, err, errlen) < 0 || xml_nics(o, d, err, errlen) < 0)
		return -ENOTSUP;
	if (strlen(d->name) >= sizeof(o->name)) {
		snprintf(err, errlen, "%s: domain name longer than %zu bytes", d->file, sizeof(o->name) - 1);
		return -EINVAL;
	}
	snprintf(o->name, sizeof(o->name), "%s", d->name);
	o->mem_bytes = d->memory_kib << 10;
	o->nr_vcpus = d->vcpus;
	o->on_reboot = d->on_reboot == CFG_ACTION_RESTART ? HV_ON_REBOOT_RESTART : HV_ON_REBOOT_DESTROY;
	if (hv_run_opts_set(&o->kernel, d->os.kernel) < 0 || hv_run_opts_set(&o->initrd, d->os.initrd) < 0 ||
	    hv_run_opts_set(&o->cmdline, d->os.cmdline) < 0 || xml_console(o, &d->console) < 0) {
		snprintf(err, errlen, "%s: console path too long or out of memory", d->file);
		return -ENOMEM;
	}
	return 0;
}

int hv_run_opts_from_xml(struct hv_run_opts *opts, const char *path, char *err, size_t errlen)
{
	struct cfg_diag diag;
	struct cfg_domain *d = NULL;
	struct cfg_check_opts co = { 0 };
	int r;

	cfg_diag_init(&diag);
	r = cfg_parse_file(NULL, path, &d, &diag);
	if (r == 0)
		r = cfg_domain_check(d, &co, &diag);
	if (r < 0) {
		/* The first reason is the one-line error; the rest go to the log. */
		if (diag.nr)
			snprintf(err, errlen, "%s", diag.msg[0]);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
		for (unsigned i = 1; i < diag.nr; i++)
			pv_log_info("run", "%s", diag.msg[i]);
		goto out;
	}
	r = xml_to_opts(opts, d, err, errlen);
out:
	cfg_domain_free(d);
	cfg_diag_free(&diag);
	return r;
}

void hv_set_proctitle(const char *name)
{
	char title[64];

	snprintf(title, sizeof(title), "pvkvm:%s", name);
	prctl(PR_SET_NAME, title);
	if (!hv_main_argv || hv_main_argc < 1)
		return;
	/* The argument strings are contiguous: overwrite them all, so ps shows
	 * only the title (the environment after them is left alone). */
	char *start = hv_main_argv[0];
	char *end = hv_main_argv[hv_main_argc - 1] + strlen(hv_main_argv[hv_main_argc - 1]);
	size_t room = (size_t)(end - start);

	if (room == 0)
		return;
	memset(start, 0, room);
	memcpy(start, title, strlen(title) < room ? strlen(title) : room - 1);
}
