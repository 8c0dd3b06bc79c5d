/* SPDX-License-Identifier: MIT */
/* struct cfg_domain -> domain XML.  Every value is written explicitly (no
 * reliance on defaults), memory in KiB, so parsing the output gives back an
 * equal struct. */
#include <errno.h>
#include <stdlib.h>

#include "cfg_domain.h"

static void put_escaped(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '\'': fputs("&apos;", out); break;
		case '"': fputs("&quot;", out); break;
		default: fputc(*s, out);
		}
	}
}

static void put_elem(FILE *out, const char *indent, const char *tag, const char *val)
{
	if (!val)
		return;
	fprintf(out, "%s<%s>", indent, tag);
	put_escaped(out, val);
	fprintf(out, "</%s>\n", tag);
}

static void put_attr(FILE *out, const char *name, const char *val)
{
	fprintf(out, " %s='", name);
	put_escaped(out, val);
	fputc('\'', out);
}

static void write_iotune(FILE *out, const struct cfg_iotune *l)
{
	const struct { const char *name; uint64_t v; } k[] = {
		{ "total_bytes_sec", l->total_bytes_sec }, { "read_bytes_sec", l->read_bytes_sec },
		{ "write_bytes_sec", l->write_bytes_sec }, { "total_iops_sec", l->total_iops_sec },
		{ "read_iops_sec", l->read_iops_sec }, { "write_iops_sec", l->write_iops_sec },
	};
	bool any = false;

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		any |= k[i].v != 0;
	if (!any)
		return;
	fputs("      <iotune>\n", out);
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (k[i].v)
			fprintf(out, "        <%s>%llu</%s>\n", k[i].name,
				(unsigned long long)k[i].v, k[i].name);
	fputs("      </iotune>\n", out);
}

static void write_disk(FILE *out, const struct cfg_disk *disk)
{
	bool block = disk->type == CFG_DISK_BLOCK;

	fprintf(out, "    <disk type='%s' device='disk'>\n", block ? "block" : "file");
	fprintf(out, "      <driver name='pvkvm' type='%s' io='%s' cache='%s' discard='%s'/>\n",
		cfg_disk_format_name(disk->format), cfg_disk_io_name(disk->io),
		cfg_disk_cache_name(disk->cache), cfg_disk_discard_name(disk->discard));
	fputs("      <source", out);
	put_attr(out, block ? "dev" : "file", disk->source);
	fputs("/>\n      <target", out);
	put_attr(out, "dev", disk->target);
	fprintf(out, " bus='%s'/>\n", cfg_disk_bus_name(disk->bus));
	if (disk->readonly)
		fputs("      <readonly/>\n", out);
	write_iotune(out, &disk->iotune);
	fputs("    </disk>\n", out);
}

static void write_rate(FILE *out, const char *tag, const struct cfg_bandwidth *bw)
{
	fprintf(out, "        <%s average='%llu'", tag, (unsigned long long)bw->average_kibps);
	if (bw->peak_kibps)
		fprintf(out, " peak='%llu'", (unsigned long long)bw->peak_kibps);
	if (bw->burst_kib)
		fprintf(out, " burst='%llu'", (unsigned long long)bw->burst_kib);
	fputs("/>\n", out);
}

static bool rate_set(const struct cfg_bandwidth *bw)
{
	return bw->average_kibps || bw->peak_kibps || bw->burst_kib;
}

static void write_nic(FILE *out, const struct cfg_nic *nic)
{
	fputs("    <interface type='ethernet'>\n      <target", out);
	put_attr(out, "dev", nic->tap);
	fputs("/>\n", out);
	if (nic->has_mac)
		fprintf(out, "      <mac address='%02x:%02x:%02x:%02x:%02x:%02x'/>\n",
			nic->mac[0], nic->mac[1], nic->mac[2], nic->mac[3], nic->mac[4],
			nic->mac[5]);
	fprintf(out, "      <model type='%s'/>\n", cfg_nic_model_name(nic->model));
	fprintf(out, "      <mtu size='%u'/>\n", nic->mtu);
	if (rate_set(&nic->inbound) || rate_set(&nic->outbound)) {
		fputs("      <bandwidth>\n", out);
		if (rate_set(&nic->inbound))
			write_rate(out, "inbound", &nic->inbound);
		if (rate_set(&nic->outbound))
			write_rate(out, "outbound", &nic->outbound);
		fputs("      </bandwidth>\n", out);
	}
	fputs("    </interface>\n", out);
}

static void write_console(FILE *out, const struct cfg_console *con)
{
	fprintf(out, "    <console type='%s'", cfg_console_type_name(con->type));
	if (con->type == CFG_CONSOLE_FILE && con->path) {
		fputs(">\n      <source", out);
		put_attr(out, "path", con->path);
		fputs("/>\n    </console>\n", out);
	} else {
		fputs("/>\n", out);
	}
}

static void write_os(FILE *out, const struct cfg_os *os)
{
	fputs("  <os>\n", out);
	put_elem(out, "    ", "kernel", os->kernel);
	put_elem(out, "    ", "initrd", os->initrd);
	put_elem(out, "    ", "cmdline", os->cmdline);
	put_elem(out, "    ", "loader", os->loader);
	fputs("  </os>\n", out);
}

int cfg_domain_write(const struct cfg_domain *d, FILE *out)
{
	const uint8_t *u = d->uuid;

	fputs("<domain type='pvkvm'>\n", out);
	put_elem(out, "  ", "name", d->name);
	if (d->has_uuid)
		fprintf(out, "  <uuid>%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
			"%02x%02x%02x%02x%02x%02x</uuid>\n", u[0], u[1], u[2], u[3], u[4],
			u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	fprintf(out, "  <memory unit='KiB'>%llu</memory>\n", (unsigned long long)d->memory_kib);
	fprintf(out, "  <vcpu>%u</vcpu>\n", d->vcpus);
	write_os(out, &d->os);
	fprintf(out, "  <on_poweroff>%s</on_poweroff>\n", cfg_action_name(d->on_poweroff));
	fprintf(out, "  <on_reboot>%s</on_reboot>\n", cfg_action_name(d->on_reboot));
	fprintf(out, "  <on_crash>%s</on_crash>\n", cfg_action_name(d->on_crash));
	fputs("  <devices>\n", out);
	for (size_t i = 0; i < d->nr_disks; i++)
		write_disk(out, &d->disks[i]);
	for (size_t i = 0; i < d->nr_nics; i++)
		write_nic(out, &d->nics[i]);
	write_console(out, &d->console);
	fputs("  </devices>\n</domain>\n", out);
	return ferror(out) ? -EIO : 0;
}

int cfg_domain_write_mem(const struct cfg_domain *d, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	int rc;

	if (!f)
		return -errno;
	rc = cfg_domain_write(d, f);
	if (fclose(f) != 0 && !rc)
		rc = -ENOMEM;
	if (rc) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}
