/* SPDX-License-Identifier: MIT */
/* PCI bus 0 via 0xcf8/0xcfc: read-only discovery (see mini/pci.h). */
#include "mini/pci.h"

#define PCI_CFG_ADDR 0xcf8
#define PCI_CFG_DATA 0xcfc
#define PCI_COMMAND 0x04
#define PCI_CLASS_REV 0x08
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_STATUS_CAP_LIST (1u << 20)   /* in the dword at 0x04 */

static struct mini_pci_dev pci_devs[MINI_PCI_MAX_DEVS];
static unsigned nr_pci_devs;
static bool pci_scanned;

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static uint32_t cfg_addr(uint8_t bus, uint8_t dev, uint8_t fn, unsigned off)
{
	return 1u << 31 | (uint32_t)bus << 16 | (uint32_t)dev << 11 | (uint32_t)fn << 8 | (off & 0xfc);
}

static uint32_t cfg_read(uint8_t bus, uint8_t dev, uint8_t fn, unsigned off)
{
	mini_outl(PCI_CFG_ADDR, cfg_addr(bus, dev, fn, off));
	return inl(PCI_CFG_DATA);
}

uint32_t mini_pci_cfg_read32(const struct mini_pci_dev *d, unsigned off)
{
	return cfg_read(d->bus, d->dev, d->fn, off);
}

void mini_pci_cfg_write32(const struct mini_pci_dev *d, unsigned off, uint32_t v)
{
	mini_outl(PCI_CFG_ADDR, cfg_addr(d->bus, d->dev, d->fn, off));
	mini_outl(PCI_CFG_DATA, v);
}

static void read_bars(struct mini_pci_dev *d)
{
	for (unsigned i = 0; i < 6; i++) {
		uint32_t v = mini_pci_cfg_read32(d, PCI_BAR0 + 4 * i);

		if (v & 1) {
			d->bar[i].type = MINI_PCI_BAR_IO;
			d->bar[i].addr = v & ~3u;
		} else if ((v & 6) == 4 && i < 5) {
			d->bar[i].type = MINI_PCI_BAR_MEM64;
			d->bar[i].addr = (v & ~0xfu) | (uint64_t)mini_pci_cfg_read32(d, PCI_BAR0 + 4 * (i + 1)) << 32;
			i++;     /* the upper half stays MINI_PCI_BAR_NONE */
		} else if (v) {
			d->bar[i].type = MINI_PCI_BAR_MEM32;
			d->bar[i].addr = v & ~0xfu;
		}
	}
}

static void add_function(uint8_t dev, uint8_t fn, uint32_t id)
{
	struct mini_pci_dev *d;
	uint8_t hdr;

	if (nr_pci_devs == MINI_PCI_MAX_DEVS)
		return;
	d = &pci_devs[nr_pci_devs++];
	*d = (struct mini_pci_dev){ .bus = 0, .dev = dev, .fn = fn,
				    .vendor = (uint16_t)id, .device = (uint16_t)(id >> 16) };
	d->class_rev = mini_pci_cfg_read32(d, PCI_CLASS_REV);
	hdr = (uint8_t)(mini_pci_cfg_read32(d, PCI_HEADER_TYPE & ~3u) >> 16);
	if ((hdr & 0x7f) == 0)     /* bridges have only two BARs and other fields: skip */
		read_bars(d);
}

unsigned mini_pci_scan(const struct mini_pci_dev **devs)
{
	if (!pci_scanned) {
		pci_scanned = true;
		for (uint8_t dev = 0; dev < 32; dev++) {
			uint32_t id = cfg_read(0, dev, 0, 0);
			uint8_t nfn;

			if ((uint16_t)id == 0xffff || (uint16_t)id == 0)
				continue;
			nfn = cfg_read(0, dev, 0, PCI_HEADER_TYPE & ~3u) >> 16 & 0x80 ? 8 : 1;
			add_function(dev, 0, id);
			for (uint8_t fn = 1; fn < nfn; fn++) {
				id = cfg_read(0, dev, fn, 0);
				if ((uint16_t)id != 0xffff && (uint16_t)id != 0)
					add_function(dev, fn, id);
			}
		}
	}
	*devs = pci_devs;
	return nr_pci_devs;
}

const struct mini_pci_dev *mini_pci_find(uint16_t vendor, uint16_t device)
{
	const struct mini_pci_dev *devs;
	unsigned n = mini_pci_scan(&devs);

	for (unsigned i = 0; i < n; i++)
		if (devs[i].vendor == vendor && devs[i].device == device)
			return &devs[i];
	return NULL;
}

unsigned mini_pci_find_cap(const struct mini_pci_dev *d, uint8_t id)
{
	unsigned off, hops = 0;

	if (!(mini_pci_cfg_read32(d, PCI_COMMAND) & PCI_STATUS_CAP_LIST))
		return 0;
	off = mini_pci_cfg_read32(d, PCI_CAP_PTR) & 0xfc;
	while (off >= 0x40 && hops++ < 48) {     /* a looping list must not hang us */
		uint32_t v = mini_pci_cfg_read32(d, off);

		if ((uint8_t)v == id)
			return off;
		off = (v >> 8) & 0xfc;
	}
	return 0;
}

void mini_pci_enable(const struct mini_pci_dev *d)
{
	uint32_t v = mini_pci_cfg_read32(d, PCI_COMMAND);

	/* status bits are write-1-to-clear: write back only the command half */
	mini_pci_cfg_write32(d, PCI_COMMAND, (v & 0xffff) | 0x7);
}
