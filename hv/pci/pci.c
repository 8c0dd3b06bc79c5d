/* SPDX-License-Identifier: MIT */
/* PCI host bridge: config mechanism 1 and ECAM dispatch, config-space write
 * masks, BAR sizing and moves, the capability list and the device-type list. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "msi_route.h"
#include "msix_internal.h"
#include "pci.h"
#include "pv_log.h"

#define TAG "pci"
#define CF8_ENABLE 0x80000000u
#define ECAM_BUS0_SIZE (1u << 20)

static uint32_t cfg_get32(const uint8_t *p, unsigned off)
{
	return (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 | (uint32_t)p[off + 2] << 16 |
	       (uint32_t)p[off + 3] << 24;
}

static void cfg_put(uint8_t *p, unsigned off, uint64_t v, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

void hv_pci_dev_init(struct hv_pci_dev *dev, const char *name, uint16_t vendor,
		     uint16_t device, uint32_t class_code, uint8_t revision)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	dev->slot = -1;
	cfg_put(dev->cfg, HV_PCI_VENDOR_ID, vendor, 2);
	cfg_put(dev->cfg, HV_PCI_DEVICE_ID, device, 2);
	cfg_put(dev->cfg, HV_PCI_CLASS_REVISION, (uint32_t)class_code << 8 | revision, 4);
	cfg_put(dev->cfg, HV_PCI_SUBSYS_VENDOR, vendor, 2);
	cfg_put(dev->cfg, HV_PCI_SUBSYS_VENDOR + 2, device, 2);
	cfg_put(dev->wmask, HV_PCI_COMMAND,
		HV_PCI_CMD_IO | HV_PCI_CMD_MEM | HV_PCI_CMD_MASTER | HV_PCI_CMD_INTX_DISABLE, 2);
	dev->wmask[0x0c] = 0xff; /* cache line size */
	dev->wmask[HV_PCI_INT_LINE] = 0xff;
	dev->cap_next = 0x40;
}

void hv_pci_dev_cleanup(struct hv_pci_dev *dev)
{
	hv_msix_free(dev);
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int hv_pci_bar_init(struct hv_pci_dev *dev, unsigned bar, enum hv_pci_bar_type type,
		    uint64_t size, hv_io_fn fn, void *opaque)
{
	unsigned off = HV_PCI_BAR0 + 4 * bar;
	uint32_t lo_flags;

	if (bar >= HV_PCI_NR_BARS || dev->bar[bar].type != HV_PCI_BAR_NONE || !pow2(size))
		return -EINVAL;
	switch (type) {
	case HV_PCI_BAR_IO:
		if (size < 4 || size > 256)
			return -EINVAL;
		lo_flags = 0x1;
		/* x86 port space is 16 bits; the upper half reads as zero. */
		cfg_put(dev->wmask, off, 0xffffu & ~(uint32_t)(size - 1), 4);
		break;
	case HV_PCI_BAR_MMIO32:
		if (size < 4096)
			size = 4096;
		if (size > (1ull << 31))
			return -EINVAL;
		lo_flags = 0x0;
		cfg_put(dev->wmask, off, ~(uint32_t)(size - 1), 4);
		break;
	case HV_PCI_BAR_MMIO64:
		if (size < 4096)
			size = 4096;
		if (bar + 1 >= HV_PCI_NR_BARS || dev->bar[bar + 1].type != HV_PCI_BAR_NONE ||
		    size > (1ull << 40))
			return -EINVAL;
		lo_flags = 0x4;
		cfg_put(dev->wmask, off, (uint32_t)~(size - 1) & ~0xfu, 4);
		cfg_put(dev->wmask, off + 4, (uint32_t)(~(size - 1) >> 32), 4);
		dev->bar[bar + 1].type = HV_PCI_BAR_UPPER;
		break;
	default:
		return -EINVAL;
	}
	cfg_put(dev->cfg, off, lo_flags, 4);
	dev->bar[bar] = (struct hv_pci_bar){ .type = type, .size = size, .fn = fn,
					     .opaque = opaque, .dev = dev, .index = bar };
	return 0;
}

int hv_pci_cap_add(struct hv_pci_dev *dev, uint8_t cap_id, const void *body,
		   unsigned body_len, const void *wmask_body)
{
	unsigned off = dev->cap_next, total = 2 + body_len;

	if (off + total > HV_PCI_CFG_SIZE)
		return -ENOSPC;
	dev->cfg[off] = cap_id;
	dev->cfg[off + 1] = 0;
	memcpy(&dev->cfg[off + 2], body, body_len);
	if (wmask_body)
		memcpy(&dev->wmask[off + 2], wmask_body, body_len);
	dev->cfg[dev->cap_last_ptr ? dev->cap_last_ptr : HV_PCI_CAP_PTR] = (uint8_t)off;
	dev->cap_last_ptr = (uint8_t)(off + 1);
	dev->cfg[HV_PCI_STATUS] |= HV_PCI_STATUS_CAP_LIST;
	dev->cap_next = (uint8_t)((off + total + 3) & ~3u);
	if (off + total + 3 > 0xff)
		dev->cap_next = 0xfc; /* full: the next add fails the size check */
	return (int)off;
}

/* The address BAR i decodes at, from config space (caller holds cfg_lock). */
static bool bar_decode(const struct hv_pci_dev *dev, unsigned i, uint64_t *addr)
{
	const struct hv_pci_bar *b = &dev->bar[i];
	uint16_t cmd = (uint16_t)(dev->cfg[HV_PCI_COMMAND] | dev->cfg[HV_PCI_COMMAND + 1] << 8);
	uint32_t lo = cfg_get32(dev->cfg, HV_PCI_BAR0 + 4 * i);
	uint64_t a;

	switch (b->type) {
	case HV_PCI_BAR_IO:
		a = lo & ~3u;
		if (!(cmd & HV_PCI_CMD_IO) || a + b->size > 0x10000)
			return false;
		break;
	case HV_PCI_BAR_MMIO32:
		a = lo & ~0xfu;
		if (!(cmd & HV_PCI_CMD_MEM))
			return false;
		break;
	case HV_PCI_BAR_MMIO64:
		a = (lo & ~0xfull) | (uint64_t)cfg_get32(dev->cfg, HV_PCI_BAR0 + 4 * i + 4) << 32;
		if (!(cmd & HV_PCI_CMD_MEM))
			return false;
		break;
	default:
		return false;
	}
	if (a == 0 || a + b->size < a)
		return false;
	*addr = a;
	return true;
}

bool hv_pci_bar_addr(struct hv_pci_dev *dev, unsigned bar, uint64_t *addr)
{
	bool mapped = false;

	if (bar >= HV_PCI_NR_BARS || !dev->host)
		return false;
	pthread_rwlock_rdlock(&dev->host->map_lock);
	if (dev->bar[bar].mapped) {
		*addr = dev->bar[bar].mapped_addr;
		mapped = true;
	}
	pthread_rwlock_unlock(&dev->host->map_lock);
	return mapped;
}

/* Every access to a BAR lands here first: MSI-X table/PBA, then the device. */
static void bar_io(struct hv_pci_bar *b, uint64_t offset, void *data, unsigned len, bool is_write)
{
	if (b->dev->msix && hv_msix_bar_access(b->dev->msix, b->index, offset, data, len, is_write))
		return;
	if (b->fn)
		b->fn(b->opaque, offset, data, len, is_write);
	else if (!is_write)
		memset(data, 0xff, len);
}

/* An access inside one of the host bridge's windows: find the decoding BAR
 * (a few dozen at most) under the read lock, so it cannot move meanwhile. */
static void window_io(struct hv_pci_host *host, bool io, uint64_t addr, void *data,
		      unsigned len, bool is_write)
{
	struct hv_pci_bar *hit = NULL;

	pthread_rwlock_rdlock(&host->map_lock);
	for (unsigned i = 0; i < host->nr_decoding; i++) {
		struct hv_pci_bar *b = host->decoding[i];

		if ((b->type == HV_PCI_BAR_IO) == io && addr >= b->mapped_addr &&
		    addr - b->mapped_addr < b->size) {
			hit = b;
			break;
		}
	}
	if (hit)
		bar_io(hit, addr - hit->mapped_addr, data, len, is_write);
	else if (!is_write)
		memset(data, 0xff, len); /* master abort */
	pthread_rwlock_unlock(&host->map_lock);
}

static void window_io_ports(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	struct hv_pci_host *host = opaque;

	window_io(host, true, host->cfg.io_base + off, data, len, is_write);
}

static void window_mmio32(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	struct hv_pci_host *host = opaque;

	window_io(host, false, host->cfg.mmio32_base + off, data, len, is_write);
}

static void window_mmio64(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	struct hv_pci_host *host = opaque;

	window_io(host, false, host->cfg.mmio64_base + off, data, len, is_write);
}

static bool in_window(uint64_t a, uint64_t size, uint64_t base, uint64_t end)
{
	return a >= base && a < end && size <= end - a;
}

/* Whether BAR b may decode at a: inside a window of its kind and clear of
 * every other decoding BAR (caller holds map_lock for writing). */
static bool bar_fits(const struct hv_pci_host *host, const struct hv_pci_bar *b, uint64_t a)
{
	const struct hv_pci_host_cfg *c = &host->cfg;
	bool io = b->type == HV_PCI_BAR_IO;

	if (io ? !in_window(a, b->size, c->io_base, c->io_end)
	       : !in_window(a, b->size, c->mmio32_base, c->mmio32_end) &&
			 (b->type != HV_PCI_BAR_MMIO64 ||
			  !in_window(a, b->size, c->mmio64_base, c->mmio64_end)))
		return false;
	for (unsigned i = 0; i < host->nr_decoding; i++) {
		const struct hv_pci_bar *o = host->decoding[i];

		if (o != b && (o->type == HV_PCI_BAR_IO) == io && a < o->mapped_addr + o->size &&
		    o->mapped_addr < a + b->size)
			return false;
	}
	return true;
}

static void decoding_remove(struct hv_pci_host *host, struct hv_pci_bar *b)
{
	for (unsigned i = 0; i < host->nr_decoding; i++) {
		if (host->decoding[i] != b)
			continue;
		host->decoding[i] = host->decoding[--host->nr_decoding];
		break;
	}
	b->mapped = false;
}

/* Brings the decode table in line with the BARs' config space.  map_lock is
 * taken before cfg_lock, so the last sync always applies the newest state. */
static void bars_sync(struct hv_pci_dev *dev)
{
	struct hv_pci_host *host = dev->host;
	bool want[HV_PCI_NR_BARS], moved[HV_PCI_NR_BARS] = { false };
	uint64_t addr[HV_PCI_NR_BARS];

	pthread_rwlock_wrlock(&host->map_lock);
	pthread_mutex_lock(&host->cfg_lock);
	for (unsigned i = 0; i < HV_PCI_NR_BARS; i++)
		want[i] = bar_decode(dev, i, &addr[i]);
	pthread_mutex_unlock(&host->cfg_lock);
	for (unsigned i = 0; i < HV_PCI_NR_BARS; i++) {
		struct hv_pci_bar *b = &dev->bar[i];

		if (b->mapped && (!want[i] || addr[i] != b->mapped_addr)) {
			decoding_remove(host, b);
			moved[i] = true;
		}
		if (want[i] && !b->mapped) {
			if (bar_fits(host, b, addr[i])) {
				b->mapped = true;
				b->mapped_addr = addr[i];
				host->decoding[host->nr_decoding++] = b;
				moved[i] = true;
			} else {
				pv_log_debug(TAG, "%s: BAR%u at 0x%llx outside the windows or overlapping",
					     dev->name, i, (unsigned long long)addr[i]);
			}
		}
		want[i] = b->mapped;
		addr[i] = b->mapped_addr;
	}
	pthread_rwlock_unlock(&host->map_lock);
	for (unsigned i = 0; i < HV_PCI_NR_BARS && dev->bar_moved; i++)
		if (moved[i])
			dev->bar_moved(dev, i, want[i], addr[i]);
}

static void bars_unmap(struct hv_pci_dev *dev)
{
	pthread_rwlock_wrlock(&dev->host->map_lock);
	for (unsigned i = 0; i < HV_PCI_NR_BARS; i++)
		if (dev->bar[i].mapped)
			decoding_remove(dev->host, &dev->bar[i]);
	pthread_rwlock_unlock(&dev->host->map_lock);
}

void hv_pci_intx_init(struct hv_pci_dev *dev)
{
	dev->intx_pin = true;
	dev->cfg[HV_PCI_INT_PIN] = 1; /* INTA */
}

static int irq_line(struct hv_pci_host *host, unsigned gsi, bool level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level };

	if (host->cfg.irq_line)
		return host->cfg.irq_line(host->cfg.irq_opaque, gsi, level);
	if (host->cfg.vm_fd < 0 || !host->cfg.kvm_irqchip_routes)
		return -ENODEV;
	return ioctl(host->cfg.vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

/* Recomputes what dev drives onto its GSI (caller holds cfg_lock). */
static int intx_update(struct hv_pci_dev *dev)
{
	struct hv_pci_host *host = dev->host;
	unsigned gsi = HV_PCI_INTX_GSI(dev->slot);
	unsigned *n = &host->intx_asserted[gsi - HV_PCI_INTX_GSI_BASE];
	bool disabled = dev->cfg[HV_PCI_COMMAND + 1] & (HV_PCI_CMD_INTX_DISABLE >> 8);
	bool out = dev->intx_level && !disabled;

	/* Status bit 3: the device's interrupt is pending, disabled or not. */
	dev->cfg[HV_PCI_STATUS] = (uint8_t)((dev->cfg[HV_PCI_STATUS] & ~0x08) |
					    (dev->intx_level ? 0x08 : 0));
	if (out == dev->intx_out)
		return 0;
	dev->intx_out = out;
	*n = out ? *n + 1 : *n - 1;
	if (*n == (out ? 1u : 0u))
		return irq_line(host, gsi, out);
	return 0;
}

int hv_pci_intx_set(struct hv_pci_dev *dev, bool level)
{
	int r;

	if (!dev->intx_pin || !dev->host)
		return -EINVAL;
	pthread_mutex_lock(&dev->host->cfg_lock);
	dev->intx_level = level;
	r = intx_update(dev);
	pthread_mutex_unlock(&dev->host->cfg_lock);
	return r;
}

static struct hv_pci_dev *dev_at(struct hv_pci_host *host, unsigned bus, unsigned devfn)
{
	if (bus != 0 || (devfn & 7) != 0 || (devfn >> 3) >= HV_PCI_MAX_SLOTS)
		return NULL;
	return host->slots[devfn >> 3];
}

void hv_pci_cfg_access(struct hv_pci_host *host, unsigned bus, unsigned devfn,
		       unsigned offset, void *data, unsigned len, bool is_write)
{
	struct hv_pci_dev *dev = dev_at(host, bus, devfn);
	uint8_t *p = data;
	bool bars = false, msix = false;

	if (!dev) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&host->cfg_lock);
	for (unsigned i = 0; i < len; i++) {
		unsigned o = offset + i;

		if (o >= HV_PCI_CFG_SIZE) {
			if (!is_write)
				p[i] = 0; /* no extended capabilities */
			continue;
		}
		if (!is_write) {
			p[i] = dev->cfg[o];
			continue;
		}
		dev->cfg[o] = (uint8_t)((dev->cfg[o] & ~dev->wmask[o]) | (p[i] & dev->wmask[o]));
		if (o == HV_PCI_COMMAND || (o >= HV_PCI_BAR0 && o < HV_PCI_BAR0 + 24))
			bars = true;
		if (dev->msix && hv_msix_cfg_is_control(dev->msix, o))
			msix = true;
	}
	if (is_write && dev->intx_pin && offset <= HV_PCI_COMMAND + 1 && offset + len > HV_PCI_COMMAND)
		intx_update(dev);
	pthread_mutex_unlock(&host->cfg_lock);
	if (bars)
		bars_sync(dev);
	if (msix)
		hv_msix_cfg_update(dev);
	if (is_write && dev->cfg_written && offset < HV_PCI_CFG_SIZE)
		dev->cfg_written(dev, offset, len);
}

/* 0xcf8: the 32-bit address latch; 0xcfc-0xcff: the data window. */
static void conf1_io(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write)
{
	struct hv_pci_host *host = opaque;
	uint32_t addr;

	if (offset < 4) {
		if (offset != 0 || len != 4) {
			if (!is_write)
				memset(data, 0xff, len);
			return;
		}
		pthread_mutex_lock(&host->cfg_lock);
		if (is_write)
			memcpy(&host->cf8, data, 4);
		else
			memcpy(data, &host->cf8, 4);
		pthread_mutex_unlock(&host->cfg_lock);
		return;
	}
	pthread_mutex_lock(&host->cfg_lock);
	addr = host->cf8;
	pthread_mutex_unlock(&host->cfg_lock);
	if (len > 8 - offset)
		len = (unsigned)(8 - offset);
	if (!(addr & CF8_ENABLE)) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	hv_pci_cfg_access(host, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
			  (addr & 0xfc) + (unsigned)(offset - 4), data, len, is_write);
}

static void ecam_io(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write)
{
	unsigned reg = offset & 0xfff;

	if (len > 0x1000 - reg)
		len = 0x1000 - reg;
	hv_pci_cfg_access(opaque, (unsigned)(offset >> 20), (offset >> 12) & 0xff, reg, data,
			  len, is_write);
}

static bool host_cfg_valid(const struct hv_pci_host_cfg *c)
{
	if (!c->pio || !c->mmio || c->io_base >= c->io_end || c->io_end > 0x10000 ||
	    c->mmio32_base >= c->mmio32_end || c->mmio32_end > (1ull << 32) ||
	    c->mmio64_base > c->mmio64_end)
		return false;
	if (c->ecam_base && ((c->ecam_base & (ECAM_BUS0_SIZE - 1)) ||
			     (c->ecam_base < c->mmio32_end && c->ecam_base + ECAM_BUS0_SIZE > c->mmio32_base) ||
			     (c->ecam_base < c->mmio64_end && c->ecam_base + ECAM_BUS0_SIZE > c->mmio64_base)))
		return false;
	return true;
}

/* Claims base..end on bus for the host bridge; records success in *flag. */
static int host_claim(struct hv_iobus *bus, uint64_t base, uint64_t end, hv_io_fn fn,
		      struct hv_pci_host *host, bool *flag)
{
	int r = hv_io_register(bus, base, end - base, fn, host);

	if (r < 0)
		pv_log_err(TAG, "cannot claim 0x%llx-0x%llx for the PCI host bridge: %s",
			   (unsigned long long)base, (unsigned long long)end - 1, strerror(-r));
	*flag = r == 0;
	return r;
}

int hv_pci_host_init(struct hv_pci_host *host, const struct hv_pci_host_cfg *cfg)
{
	const struct hv_pci_host_cfg *c = cfg;
	int r;

	memset(host, 0, sizeof(*host));
	if (!host_cfg_valid(cfg))
		return -EINVAL;
	host->cfg = *cfg;
	host->io_next = cfg->io_base;
	host->mmio32_next = cfg->mmio32_base;
	host->mmio64_next = cfg->mmio64_base;
	pthread_mutex_init(&host->cfg_lock, NULL);
	pthread_rwlock_init(&host->map_lock, NULL);
	host->locks_ready = true;
	r = hv_msi_router_new(cfg->vm_fd, cfg->kvm_irqchip_routes, &host->router);
	if (r == 0)
		r = host_claim(c->pio, 0xcf8, 0xd00, conf1_io, host, &host->conf1_registered);
	if (r == 0)
		r = host_claim(c->pio, c->io_base, c->io_end, window_io_ports, host,
			       &host->io_registered);
	if (r == 0)
		r = host_claim(c->mmio, c->mmio32_base, c->mmio32_end, window_mmio32, host,
			       &host->mmio32_registered);
	if (r == 0 && c->mmio64_end > c->mmio64_base)
		r = host_claim(c->mmio, c->mmio64_base, c->mmio64_end, window_mmio64, host,
			       &host->mmio64_registered);
	if (r == 0 && c->ecam_base)
		r = host_claim(c->mmio, c->ecam_base, c->ecam_base + ECAM_BUS0_SIZE, ecam_io, host,
			       &host->ecam_registered);
	if (r < 0)
		goto fail;
	hv_pci_dev_init(&host->bridge, "host-bridge", HV_PCI_HOST_VENDOR, HV_PCI_HOST_DEVICE,
			0x060000, 2);
	host->bridge.host = host;
	host->bridge.slot = 0;
	host->slots[0] = &host->bridge;
	return 0;
fail:
	hv_pci_host_destroy(host);
	return r;
}

void hv_pci_host_destroy(struct hv_pci_host *host)
{
	const struct hv_pci_host_cfg *c = &host->cfg;

	/* The VM goes away with its GSI routes and irqfds: undoing them one by
	 * one would cost a KVM_SET_GSI_ROUTING (an SRCU grace period, 0.2-1.3 ms
	 * on a loaded host) per MSI-X vector, and a workqueue flush per irqfd.
	 * With vm_fd < 0, hv_msix_free() below leaves them to the VM's end. */
	host->cfg.vm_fd = -1;
	if (host->router)
		hv_msi_router_forget_vm(host->router);
	for (unsigned s = 1; s < HV_PCI_MAX_SLOTS; s++) {
		struct hv_pci_dev *dev = host->slots[s];

		if (!dev)
			continue;
		bars_unmap(dev);
		hv_msix_free(dev);
		if (dev->intx_pin)
			hv_pci_intx_set(dev, false);
		host->slots[s] = NULL;
		if (dev->free)
			dev->free(dev);
	}
	if (host->ecam_registered)
		hv_io_unregister(c->mmio, c->ecam_base);
	if (host->mmio64_registered)
		hv_io_unregister(c->mmio, c->mmio64_base);
	if (host->mmio32_registered)
		hv_io_unregister(c->mmio, c->mmio32_base);
	if (host->io_registered)
		hv_io_unregister(c->pio, c->io_base);
	if (host->conf1_registered)
		hv_io_unregister(c->pio, 0xcf8);
	host->ecam_registered = host->mmio64_registered = host->mmio32_registered = false;
	host->io_registered = host->conf1_registered = false;
	hv_msi_router_free(host->router);
	host->router = NULL;
	if (host->locks_ready) {
		pthread_mutex_destroy(&host->cfg_lock);
		pthread_rwlock_destroy(&host->map_lock);
		host->locks_ready = false;
	}
}

/* Places BAR b in [*next, end) at its natural alignment, as firmware would. */
static int bar_place(struct hv_pci_dev *dev, unsigned i, uint64_t *next, uint64_t end)
{
	uint64_t size = dev->bar[i].size, a = (*next + size - 1) & ~(size - 1);
	unsigned off = HV_PCI_BAR0 + 4 * i;

	if (a < *next || a + size > end || a + size < a)
		return -ENOSPC;
	*next = a + size;
	cfg_put(dev->cfg, off, (cfg_get32(dev->cfg, off) & 0xf) | (uint32_t)a, 4);
	if (dev->bar[i].type == HV_PCI_BAR_MMIO64)
		cfg_put(dev->cfg, off + 4, a >> 32, 4);
	return 0;
}

static int bars_assign(struct hv_pci_host *host, struct hv_pci_dev *dev)
{
	uint16_t cmd = 0;
	int r = 0;

	for (unsigned i = 0; i < HV_PCI_NR_BARS && r == 0; i++) {
		const struct hv_pci_host_cfg *c = &host->cfg;

		switch (dev->bar[i].type) {
		case HV_PCI_BAR_IO:
			r = bar_place(dev, i, &host->io_next, c->io_end);
			cmd |= HV_PCI_CMD_IO;
			break;
		case HV_PCI_BAR_MMIO64:
		case HV_PCI_BAR_MMIO32:
			/* Without a 64-bit window, 64-bit BARs go below 4 GiB. */
			if (dev->bar[i].type == HV_PCI_BAR_MMIO64 && c->mmio64_end > c->mmio64_base)
				r = bar_place(dev, i, &host->mmio64_next, c->mmio64_end);
			else
				r = bar_place(dev, i, &host->mmio32_next, c->mmio32_end);
			cmd |= HV_PCI_CMD_MEM;
			break;
		default:
			break;
		}
	}
	dev->cfg[HV_PCI_COMMAND] |= (uint8_t)cmd;
	return r;
}

int hv_pci_host_add(struct hv_pci_host *host, struct hv_pci_dev *dev, int slot)
{
	int r;

	if (slot < 0) {
		for (slot = 1; slot < HV_PCI_MAX_SLOTS && host->slots[slot]; slot++)
			;
	}
	if (slot <= 0 || slot >= HV_PCI_MAX_SLOTS)
		return -ENOSPC;
	if (host->slots[slot])
		return -EBUSY;
	r = bars_assign(host, dev);
	if (r < 0) {
		pv_log_err(TAG, "%s: no room for its BARs in the PCI windows", dev->name);
		return r;
	}
	dev->host = host;
	dev->slot = slot;
	if (dev->intx_pin)
		dev->cfg[HV_PCI_INT_LINE] = (uint8_t)HV_PCI_INTX_GSI(slot);
	pthread_mutex_lock(&host->cfg_lock);
	host->slots[slot] = dev;
	pthread_mutex_unlock(&host->cfg_lock);
	bars_sync(dev);
	return 0;
}

void *hv_pci_gpa_to_hva(struct hv_pci_host *host, uint64_t gpa, uint64_t len)
{
	if (!host->cfg.gpa_to_hva)
		return NULL;
	return host->cfg.gpa_to_hva(host->cfg.mem_opaque, gpa, len);
}

bool hv_pci_bus_master_enabled(struct hv_pci_dev *dev)
{
	bool on;

	if (!dev->host)
		return false;
	pthread_mutex_lock(&dev->host->cfg_lock);
	on = dev->cfg[HV_PCI_COMMAND] & HV_PCI_CMD_MASTER;
	pthread_mutex_unlock(&dev->host->cfg_lock);
	return on;
}

/* Weak, so a build without any device type still links. */
extern const struct hv_pci_dev_type __start_hv_pci_dev_types[] __attribute__((weak));
extern const struct hv_pci_dev_type __stop_hv_pci_dev_types[] __attribute__((weak));

const struct hv_pci_dev_type *hv_pci_dev_type_find(const char *name)
{
	for (const struct hv_pci_dev_type *t = __start_hv_pci_dev_types;
	     t && t < __stop_hv_pci_dev_types; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

int hv_pci_create_device(struct hv_pci_host *host, const char *name, const char *args,
			 struct hv_pci_dev **out)
{
	const struct hv_pci_dev_type *t = hv_pci_dev_type_find(name);

	if (!t)
		return -ENOENT;
	return t->create(host, args, out);
}
