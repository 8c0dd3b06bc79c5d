/* SPDX-License-Identifier: MIT */
/* A schema-valid libxml2 tree -> struct cfg_domain.  The schema fixed the
 * shape; this file converts text to numbers and enums, fills defaults, and
 * reports values the schema cannot bound (overflow, unit arithmetic). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_priv.h"

struct cfg_tree {
	const char *name;              /* file name for messages */
	struct cfg_diag *diag;
	int err;                       /* first error, -EINVAL or -ENOMEM */
};

static bool is_elem(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

static int line_of(xmlNodePtr n)
{
	long l = xmlGetLineNo(n);

	return l > 0 && l < 0x7fffffff ? (int)l : 0;
}

static void tree_error(struct cfg_tree *t, xmlNodePtr n, const char *what)
{
	cfg_diag_add(t->diag, "%s:%d: %s", t->name, line_of(n), what);
	if (!t->err)
		t->err = -EINVAL;
}

/* A malloc'ed copy of text content (libxml2's allocator stays inside). */
static char *tree_text(struct cfg_tree *t, xmlNodePtr n)
{
	xmlChar *x = xmlNodeGetContent(n);
	char *s = strdup(x ? (const char *)x : "");

	xmlFree(x);
	if (!s && !t->err)
		t->err = -ENOMEM;
	return s;
}

static char *tree_attr(struct cfg_tree *t, xmlNodePtr n, const char *attr)
{
	xmlChar *x = xmlGetProp(n, (const xmlChar *)attr);
	char *s;

	if (!x)
		return NULL;
	s = strdup((const char *)x);
	xmlFree(x);
	if (!s && !t->err)
		t->err = -ENOMEM;
	return s;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);

	if (errno || *end)
		return false;
	*v = x;
	return true;
}

static uint64_t tree_u64(struct cfg_tree *t, xmlNodePtr n, const char *s, const char *what)
{
	uint64_t v = 0;

	if (!parse_u64(s, &v)) {
		char msg[160];

		snprintf(msg, sizeof(msg), "%s: '%.40s' is not a number in 0..18446744073709551615",
			 what, s ? s : "");
		tree_error(t, n, msg);
	}
	return v;
}

static uint64_t tree_attr_u64(struct cfg_tree *t, xmlNodePtr n, const char *attr,
			      uint64_t dflt)
{
	char *s = tree_attr(t, n, attr);
	uint64_t v = dflt;

	if (s)
		v = tree_u64(t, n, s, attr);
	free(s);
	return v;
}

/* Index of attr's value in names[], or dflt when absent. */
static int tree_attr_enum(struct cfg_tree *t, xmlNodePtr n, const char *attr,
			  const char *const *names, int nr, int dflt)
{
	char *s = tree_attr(t, n, attr);
	int v = dflt;

	if (!s)
		return dflt;
	for (int i = 0; i < nr; i++)
		if (!strcmp(s, names[i]))
			v = i;
	free(s);
	return v;
}

static const char *const format_names[] = { "raw", "qcow2" };
static const char *const io_names[] = { "io_uring", "native", "threads" };
static const char *const cache_names[] = { "none", "writeback", "unsafe" };
static const char *const discard_names[] = { "ignore", "unmap" };
static const char *const bus_names[] = { "pv", "nvme" };
static const char *const model_names[] = { "pv", "e1000" };
static const char *const console_names[] = { "stdio", "pty", "file" };
#define N(a) ((int)(sizeof(a) / sizeof(a[0])))

static enum cfg_action tree_action(struct cfg_tree *t, xmlNodePtr n)
{
	char *s = tree_text(t, n);
	enum cfg_action a = s && !strcmp(s, "restart") ? CFG_ACTION_RESTART : CFG_ACTION_DESTROY;

	free(s);
	return a;
}

static uint64_t unit_bytes(const char *u)
{
	static const struct { const char *name; uint64_t bytes; } units[] = {
		{ "b", 1 }, { "bytes", 1 }, { "KB", 1000 }, { "k", 1024 }, { "KiB", 1024 },
		{ "MB", 1000000 }, { "M", 1ull << 20 }, { "MiB", 1ull << 20 },
		{ "GB", 1000000000 }, { "G", 1ull << 30 }, { "GiB", 1ull << 30 },
		{ "TB", 1000000000000ull }, { "T", 1ull << 40 }, { "TiB", 1ull << 40 },
	};

	if (!u)
		return 1024; /* libvirt's default unit is KiB */
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(u, units[i].name))
			return units[i].bytes;
	return 0;
}

static void tree_memory(struct cfg_tree *t, xmlNodePtr n, struct cfg_domain *d)
{
	char *u = tree_attr(t, n, "unit"), *s = tree_text(t, n);
	uint64_t v = tree_u64(t, n, s, "memory"), ub = unit_bytes(u), bytes;

	d->memory_line = line_of(n);
	if (!ub)
		tree_error(t, n, "memory: unknown unit (expected b, KiB, MiB, GiB, TiB, KB, MB, GB, TB)");
	else if (__builtin_mul_overflow(v, ub, &bytes) || bytes > UINT64_MAX - 1023)
		tree_error(t, n, "memory: size overflows 64 bits");
	else
		d->memory_kib = bytes / 1024 + (bytes % 1024 != 0);
	free(u);
	free(s);
}

static void tree_vcpu(struct cfg_tree *t, xmlNodePtr n, struct cfg_domain *d)
{
	char *s = tree_text(t, n);
	uint64_t v = tree_u64(t, n, s, "vcpu");

	/* Range is a semantic rule (cfg_domain_check); keep the value visible. */
	d->vcpus = v > UINT32_MAX ? UINT32_MAX : (unsigned int)v;
	d->vcpu_line = line_of(n);
	free(s);
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex digits with optional separators sep; exactly n bytes. */
static bool parse_hex_bytes(const char *s, char sep, uint8_t *out, size_t n)
{
	size_t i = 0;

	for (; *s && i < n; s++) {
		if (*s == sep)
			continue;
		int hi = hex_nibble(s[0]), lo = hi < 0 ? -1 : hex_nibble(s[1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i++] = (uint8_t)(hi << 4 | lo);
		s++;
	}
	return i == n && *s == '\0';
}

static void tree_os(struct cfg_tree *t, xmlNodePtr os, struct cfg_domain *d)
{
	for (xmlNodePtr n = os->children; n; n = n->next) {
		if (is_elem(n, "kernel")) {
			d->os.kernel = tree_text(t, n);
			d->os.kernel_line = line_of(n);
		} else if (is_elem(n, "initrd")) {
			d->os.initrd = tree_text(t, n);
			d->os.initrd_line = line_of(n);
		} else if (is_elem(n, "cmdline")) {
			d->os.cmdline = tree_text(t, n);
		} else if (is_elem(n, "loader")) {
			d->os.loader = tree_text(t, n);
			d->os.loader_line = line_of(n);
		}
	}
	if (!d->os.kernel && !d->os.loader)
		tree_error(t, os, "os: expected <kernel> (a PVH ELF or bzImage) or <loader>");
}

static void tree_iotune(struct cfg_tree *t, xmlNodePtr io, struct cfg_iotune *l)
{
	static const struct { const char *name; size_t off; } keys[] = {
		{ "total_bytes_sec", offsetof(struct cfg_iotune, total_bytes_sec) },
		{ "read_bytes_sec", offsetof(struct cfg_iotune, read_bytes_sec) },
		{ "write_bytes_sec", offsetof(struct cfg_iotune, write_bytes_sec) },
		{ "total_iops_sec", offsetof(struct cfg_iotune, total_iops_sec) },
		{ "read_iops_sec", offsetof(struct cfg_iotune, read_iops_sec) },
		{ "write_iops_sec", offsetof(struct cfg_iotune, write_iops_sec) },
	};

	for (xmlNodePtr n = io->children; n; n = n->next) {
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			if (!is_elem(n, keys[k].name))
				continue;
			char *s = tree_text(t, n);

			*(uint64_t *)((char *)l + keys[k].off) = tree_u64(t, n, s, keys[k].name);
			free(s);
		}
	}
}

static void tree_disk(struct cfg_tree *t, xmlNodePtr dn, struct cfg_disk *disk)
{
	char *type = tree_attr(t, dn, "type");

	disk->type = type && !strcmp(type, "block") ? CFG_DISK_BLOCK : CFG_DISK_FILE;
	disk->line = line_of(dn);
	free(type);
	for (xmlNodePtr n = dn->children; n; n = n->next) {
		if (is_elem(n, "driver")) {
			disk->format = tree_attr_enum(t, n, "type", format_names, N(format_names), 0);
			disk->io = tree_attr_enum(t, n, "io", io_names, N(io_names), 0);
			disk->cache = tree_attr_enum(t, n, "cache", cache_names, N(cache_names), 0);
			disk->discard = tree_attr_enum(t, n, "discard", discard_names,
						       N(discard_names), 0);
		} else if (is_elem(n, "source") && !disk->source) {
			disk->source = tree_attr(t, n, disk->type == CFG_DISK_BLOCK ? "dev" : "file");
		} else if (is_elem(n, "target") && !disk->target) {
			disk->target = tree_attr(t, n, "dev");
			disk->bus = tree_attr_enum(t, n, "bus", bus_names, N(bus_names), 0);
		} else if (is_elem(n, "readonly")) {
			disk->readonly = true;
		} else if (is_elem(n, "iotune")) {
			tree_iotune(t, n, &disk->iotune);
		}
	}
	if (!disk->source || !disk->target)
		tree_error(t, dn, "disk: expected <source> and <target dev=...>");
}

static void tree_rate(struct cfg_tree *t, xmlNodePtr n, struct cfg_bandwidth *bw)
{
	bw->average_kibps = tree_attr_u64(t, n, "average", 0);
	bw->peak_kibps = tree_attr_u64(t, n, "peak", 0);
	bw->burst_kib = tree_attr_u64(t, n, "burst", 0);
}

static void tree_nic(struct cfg_tree *t, xmlNodePtr in, struct cfg_nic *nic)
{
	nic->line = line_of(in);
	nic->mtu = 1500;
	for (xmlNodePtr n = in->children; n; n = n->next) {
		if (is_elem(n, "target") && !nic->tap) {
			nic->tap = tree_attr(t, n, "dev");
		} else if (is_elem(n, "mac")) {
			char *s = tree_attr(t, n, "address");

			nic->has_mac = true;
			if (!s || !parse_hex_bytes(s, ':', nic->mac, 6))
				tree_error(t, n, "mac: expected an address like 52:54:00:12:34:56");
			free(s);
		} else if (is_elem(n, "model")) {
			nic->model = tree_attr_enum(t, n, "type", model_names, N(model_names), 0);
		} else if (is_elem(n, "mtu")) {
			uint64_t mtu = tree_attr_u64(t, n, "size", 1500);

			nic->mtu = mtu > UINT32_MAX ? UINT32_MAX : (uint32_t)mtu;
		} else if (is_elem(n, "bandwidth")) {
			for (xmlNodePtr b = n->children; b; b = b->next) {
				if (is_elem(b, "inbound"))
					tree_rate(t, b, &nic->inbound);
				else if (is_elem(b, "outbound"))
					tree_rate(t, b, &nic->outbound);
			}
		}
	}
	if (!nic->tap)
		tree_error(t, in, "interface: expected <target dev=...> naming the TAP device");
}

static void tree_console(struct cfg_tree *t, xmlNodePtr cn, struct cfg_console *con)
{
	con->type = tree_attr_enum(t, cn, "type", console_names, N(console_names), 0);
	con->line = line_of(cn);
	for (xmlNodePtr n = cn->children; n; n = n->next)
		if (is_elem(n, "source") && !con->path)
			con->path = tree_attr(t, n, "path");
	if (con->type == CFG_CONSOLE_FILE && !con->path)
		tree_error(t, cn, "console type='file': expected <source path=...>");
}

static void tree_devices(struct cfg_tree *t, xmlNodePtr devs, struct cfg_domain *d)
{
	size_t nd = 0, nn = 0, nc = 0;

	for (xmlNodePtr n = devs->children; n; n = n->next) {
		nd += is_elem(n, "disk");
		nn += is_elem(n, "interface");
		nc += is_elem(n, "console");
	}
	if (nd > CFG_DISKS_MAX || nn > CFG_NICS_MAX || nc > 1) {
		char msg[128];

		snprintf(msg, sizeof(msg), "devices: at most %d disks, %d interfaces and 1 console",
			 CFG_DISKS_MAX, CFG_NICS_MAX);
		tree_error(t, devs, msg);
		return;
	}
	d->disks = nd ? calloc(nd, sizeof(*d->disks)) : NULL;
	d->nics = nn ? calloc(nn, sizeof(*d->nics)) : NULL;
	if ((nd && !d->disks) || (nn && !d->nics)) {
		t->err = -ENOMEM;
		return;
	}
	for (xmlNodePtr n = devs->children; n; n = n->next) {
		if (is_elem(n, "disk"))
			tree_disk(t, n, &d->disks[d->nr_disks++]);
		else if (is_elem(n, "interface"))
			tree_nic(t, n, &d->nics[d->nr_nics++]);
		else if (is_elem(n, "console"))
			tree_console(t, n, &d->console);
	}
}

static void tree_domain_child(struct cfg_tree *t, xmlNodePtr n, struct cfg_domain *d)
{
	if (is_elem(n, "name") && !d->name) {
		d->name = tree_text(t, n);
	} else if (is_elem(n, "uuid")) {
		char *s = tree_text(t, n);

		d->has_uuid = true;
		if (!s || !parse_hex_bytes(s, '-', d->uuid, 16))
			tree_error(t, n, "uuid: expected 32 hex digits like 4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
		free(s);
	} else if (is_elem(n, "memory")) {
		tree_memory(t, n, d);
	} else if (is_elem(n, "vcpu")) {
		tree_vcpu(t, n, d);
	} else if (is_elem(n, "os")) {
		tree_os(t, n, d);
	} else if (is_elem(n, "on_poweroff")) {
		d->on_poweroff = tree_action(t, n);
	} else if (is_elem(n, "on_reboot")) {
		d->on_reboot = tree_action(t, n);
	} else if (is_elem(n, "on_crash")) {
		d->on_crash = tree_action(t, n);
	} else if (is_elem(n, "devices")) {
		tree_devices(t, n, d);
	}
}

int cfg_tree_to_domain(xmlNodePtr root, const char *name, struct cfg_domain **out,
		       struct cfg_diag *diag)
{
	struct cfg_tree t = { .name = name, .diag = diag };
	struct cfg_domain *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->vcpus = 1;
	d->on_poweroff = CFG_ACTION_DESTROY;
	d->on_reboot = CFG_ACTION_RESTART;
	d->on_crash = CFG_ACTION_DESTROY;
	d->console.type = CFG_CONSOLE_STDIO;
	d->file = strdup(name);
	if (!d->file)
		t.err = -ENOMEM;
	if (!root || !is_elem(root, "domain"))
		tree_error(&t, root, "expected a <domain type='pvkvm'> root element");
	else
		for (xmlNodePtr n = root->children; n; n = n->next)
			tree_domain_child(&t, n, d);
	if (!t.err && !d->name)
		tree_error(&t, root, "domain: expected <name>");
	if (t.err) {
		cfg_domain_free(d);
		return t.err;
	}
	*out = d;
	return 0;
}
