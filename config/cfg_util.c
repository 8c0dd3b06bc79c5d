/* SPDX-License-Identifier: MIT */
/* Diagnostics list, enum names, struct comparison and freeing. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_priv.h"

void cfg_diag_init(struct cfg_diag *diag)
{
	memset(diag, 0, sizeof(*diag));
}

void cfg_diag_free(struct cfg_diag *diag)
{
	for (unsigned int i = 0; i < diag->nr; i++)
		free(diag->msg[i]);
	cfg_diag_init(diag);
}

void cfg_diag_add(struct cfg_diag *diag, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	if (!diag)
		return;
	if (diag->nr >= CFG_DIAG_MAX) {
		diag->dropped++;
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		diag->dropped++;
		return;
	}
	/* One line each: libxml2 messages end in '\n' and may embed more. */
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	diag->msg[diag->nr++] = s;
}

void cfg_diag_print(const struct cfg_diag *diag, FILE *out)
{
	for (unsigned int i = 0; i < diag->nr; i++)
		fprintf(out, "%s\n", diag->msg[i]);
	if (diag->dropped)
		fprintf(out, "(%u more messages not shown)\n", diag->dropped);
}

bool cfg_diag_contains(const struct cfg_diag *diag, const char *needle)
{
	for (unsigned int i = 0; i < diag->nr; i++)
		if (strstr(diag->msg[i], needle))
			return true;
	return false;
}

#define NAME_OF(table, v) \
	((unsigned int)(v) < sizeof(table) / sizeof(table[0]) ? table[v] : "?")

const char *cfg_action_name(enum cfg_action a)
{
	static const char *const t[] = { "destroy", "restart" };
	return NAME_OF(t, a);
}

const char *cfg_disk_format_name(enum cfg_disk_format f)
{
	static const char *const t[] = { "raw", "qcow2" };
	return NAME_OF(t, f);
}

const char *cfg_disk_io_name(enum cfg_disk_io io)
{
	static const char *const t[] = { "io_uring", "native", "threads" };
	return NAME_OF(t, io);
}

const char *cfg_disk_cache_name(enum cfg_disk_cache c)
{
	static const char *const t[] = { "none", "writeback", "unsafe" };
	return NAME_OF(t, c);
}

const char *cfg_disk_discard_name(enum cfg_disk_discard d)
{
	static const char *const t[] = { "ignore", "unmap" };
	return NAME_OF(t, d);
}

const char *cfg_disk_bus_name(enum cfg_disk_bus b)
{
	static const char *const t[] = { "pv", "nvme" };
	return NAME_OF(t, b);
}

const char *cfg_nic_model_name(enum cfg_nic_model m)
{
	static const char *const t[] = { "pv", "e1000" };
	return NAME_OF(t, m);
}

const char *cfg_console_type_name(enum cfg_console_type t_)
{
	static const char *const t[] = { "stdio", "pty", "file" };
	return NAME_OF(t, t_);
}

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool disk_equal(const struct cfg_disk *a, const struct cfg_disk *b)
{
	return a->type == b->type && a->format == b->format && a->io == b->io &&
	       a->cache == b->cache && a->discard == b->discard && a->bus == b->bus &&
	       str_eq(a->source, b->source) && str_eq(a->target, b->target) &&
	       a->readonly == b->readonly &&
	       !memcmp(&a->iotune, &b->iotune, sizeof(a->iotune));
}

static bool nic_equal(const struct cfg_nic *a, const struct cfg_nic *b)
{
	return str_eq(a->tap, b->tap) && a->has_mac == b->has_mac &&
	       (!a->has_mac || !memcmp(a->mac, b->mac, 6)) && a->model == b->model &&
	       a->mtu == b->mtu &&
	       !memcmp(&a->inbound, &b->inbound, sizeof(a->inbound)) &&
	       !memcmp(&a->outbound, &b->outbound, sizeof(a->outbound));
}

bool cfg_domain_equal(const struct cfg_domain *a, const struct cfg_domain *b)
{
	if (!str_eq(a->name, b->name) || a->has_uuid != b->has_uuid ||
	    (a->has_uuid && memcmp(a->uuid, b->uuid, 16)) ||
	    a->memory_kib != b->memory_kib || a->vcpus != b->vcpus ||
	    !str_eq(a->os.kernel, b->os.kernel) || !str_eq(a->os.initrd, b->os.initrd) ||
	    !str_eq(a->os.cmdline, b->os.cmdline) || !str_eq(a->os.loader, b->os.loader) ||
	    a->on_poweroff != b->on_poweroff || a->on_reboot != b->on_reboot ||
	    a->on_crash != b->on_crash || a->nr_disks != b->nr_disks ||
	    a->nr_nics != b->nr_nics || a->console.type != b->console.type ||
	    !str_eq(a->console.path, b->console.path))
		return false;
	for (size_t i = 0; i < a->nr_disks; i++)
		if (!disk_equal(&a->disks[i], &b->disks[i]))
			return false;
	for (size_t i = 0; i < a->nr_nics; i++)
		if (!nic_equal(&a->nics[i], &b->nics[i]))
			return false;
	return true;
}

void cfg_nic_default_mac(const struct cfg_domain *d, size_t i, uint8_t mac[6])
{
	/* FNV-1a over name and index: stable across runs, differs per NIC. */
	uint32_t h = 2166136261u;

	for (const char *p = d->name ? d->name : ""; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (unsigned int k = 0; k < sizeof(i); k++)
		h = (h ^ (uint8_t)(i >> (8 * k))) * 16777619u;
	mac[0] = 0x52;   /* locally administered, unicast, as QEMU's 52:54:00 */
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

void cfg_domain_free(struct cfg_domain *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nr_disks; i++) {
		free(d->disks[i].source);
		free(d->disks[i].target);
	}
	for (size_t i = 0; i < d->nr_nics; i++)
		free(d->nics[i].tap);
	free(d->disks);
	free(d->nics);
	free(d->name);
	free(d->os.kernel);
	free(d->os.initrd);
	free(d->os.cmdline);
	free(d->os.loader);
	free(d->console.path);
	free(d->file);
	free(d);
}

void cfg_diag_move(struct cfg_diag *dst, struct cfg_diag *src)
{
	for (unsigned int i = 0; i < src->nr; i++) {
		if (dst->nr < CFG_DIAG_MAX)
			dst->msg[dst->nr++] = src->msg[i];
		else {
			free(src->msg[i]);
			dst->dropped++;
		}
	}
	dst->dropped += src->dropped;
	cfg_diag_init(src);
}
