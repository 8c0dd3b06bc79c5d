/* SPDX-License-Identifier: MIT */
/* MSI-X: the vector table and pending-bit array in a BAR, per-vector and
 * function masking, delivery by KVM_SIGNAL_MSI or by irqfd + GSI route.
 *
 * An irqfd-bound vector is attached to KVM only while it is deliverable
 * (MSI-X enabled, function and vector unmasked).  While detached, writes to
 * its eventfd accumulate in the counter; KVM_IRQFD checks the counter when
 * it attaches, so a vector raised while masked is delivered on unmask. */
#include <errno.h>
#include <linux/kvm.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "msi_route.h"
#include "msix_internal.h"
#include "pci.h"
#include "pv_log.h"

#define TAG "pci"
#define MSIX_MAX_VECTORS 2048
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_FMASK 0x4000
#define MSIX_VEC_MASKED 0x1
#define MSIX_ENTRY_SIZE 16

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct msix_irqfd {
	int efd;  /* -1: not bound */
	int gsi;
	bool attached;
};

struct hv_msix {
	pthread_mutex_t lock;
	struct hv_pci_dev *dev;
	unsigned nr, bar, cap;
	uint32_t table_off, pba_off;
	bool enabled, fmask;
	struct msix_entry *table;
	uint64_t *pba;
	struct msix_irqfd *irqfd;
};

static uint64_t entry_addr(const struct msix_entry *e)
{
	return (uint64_t)e->addr_hi << 32 | e->addr_lo;
}

static bool vec_deliverable(const struct hv_msix *m, unsigned v)
{
	return m->enabled && !m->fmask && !(m->table[v].ctrl & MSIX_VEC_MASKED);
}

static int msi_signal(struct hv_pci_host *host, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32),
			       .data = data };

	if (host->cfg.msi_signal)
		return host->cfg.msi_signal(host->cfg.msi_opaque, addr, data);
	if (host->cfg.vm_fd < 0)
		return -ENODEV;
	/* 0 means the guest blocked it (APIC off): not our error. */
	if (ioctl(host->cfg.vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		return -errno;
	return 0;
}

static int irqfd_ioctl(struct hv_msix *m, unsigned v, bool assign)
{
	struct kvm_irqfd req = { .fd = (uint32_t)m->irqfd[v].efd, .gsi = (uint32_t)m->irqfd[v].gsi,
				 .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };
	int r;

	/* The route first: it reaches KVM only when an irqfd needs it. */
	if (assign && (r = hv_msi_router_sync(m->dev->host->router)) < 0)
		return r;
	if (ioctl(m->dev->host->cfg.vm_fd, KVM_IRQFD, &req) < 0) {
		int err = errno; /* the log below may change errno */

		pv_log_err(TAG, "%s: KVM_IRQFD %s vector %u: %s", m->dev->name,
			   assign ? "assign" : "deassign", v, strerror(err));
		return -err;
	}
	m->irqfd[v].attached = assign;
	return 0;
}

/* Applies vector v's current table entry and masks (caller holds m->lock). */
static void vec_update(struct hv_msix *m, unsigned v)
{
	struct msix_entry *e = &m->table[v];
	struct msix_irqfd *f = &m->irqfd[v];
	bool ok = vec_deliverable(m, v);

	if (f->efd >= 0) {
		hv_msi_route_update(m->dev->host->router, (unsigned)f->gsi, entry_addr(e), e->data);
		if (ok != f->attached)
			irqfd_ioctl(m, v, ok);
		else if (f->attached)
			hv_msi_router_sync(m->dev->host->router); /* a live irqfd's new target */
		return;
	}
	if (ok && (m->pba[v / 64] >> (v % 64) & 1)) {
		m->pba[v / 64] &= ~(1ull << (v % 64));
		msi_signal(m->dev->host, entry_addr(e), e->data);
	}
}

int hv_pci_msix_init(struct hv_pci_dev *dev, unsigned nr_vectors, unsigned bar,
		     uint32_t table_offset, uint32_t pba_offset)
{
	uint64_t tlen = (uint64_t)nr_vectors * MSIX_ENTRY_SIZE, plen = (nr_vectors + 63) / 64 * 8;
	uint8_t body[10], wmask[10] = { 0, 0xc0 };
	struct hv_msix *m;
	int off;

	if (dev->msix || nr_vectors == 0 || nr_vectors > MSIX_MAX_VECTORS ||
	    bar >= HV_PCI_NR_BARS || (table_offset | pba_offset) & 7)
		return -EINVAL;
	if ((dev->bar[bar].type != HV_PCI_BAR_MMIO32 && dev->bar[bar].type != HV_PCI_BAR_MMIO64) ||
	    table_offset + tlen > dev->bar[bar].size || pba_offset + plen > dev->bar[bar].size ||
	    (table_offset < pba_offset + plen && pba_offset < table_offset + tlen))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->table = calloc(nr_vectors, sizeof(*m->table));
	m->pba = calloc(plen / 8, sizeof(*m->pba));
	m->irqfd = calloc(nr_vectors, sizeof(*m->irqfd));
	if (!m->table || !m->pba || !m->irqfd)
		goto nomem;
	for (unsigned v = 0; v < nr_vectors; v++) {
		m->table[v].ctrl = MSIX_VEC_MASKED;
		m->irqfd[v].efd = -1;
	}
	body[0] = (uint8_t)(nr_vectors - 1);
	body[1] = (uint8_t)((nr_vectors - 1) >> 8);
	memcpy(&body[2], &(uint32_t){ table_offset | bar }, 4);
	memcpy(&body[6], &(uint32_t){ pba_offset | bar }, 4);
	off = hv_pci_cap_add(dev, HV_PCI_CAP_ID_MSIX, body, sizeof(body), wmask);
	if (off < 0) {
		hv_msix_free(&(struct hv_pci_dev){ .msix = m });
		return off;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->dev = dev;
	m->nr = nr_vectors;
	m->bar = bar;
	m->cap = (unsigned)off;
	m->table_off = table_offset;
	m->pba_off = pba_offset;
	dev->msix = m;
	return 0;
nomem:
	free(m->table);
	free(m->pba);
	free(m->irqfd);
	free(m);
	return -ENOMEM;
}

void hv_msix_free(struct hv_pci_dev *dev)
{
	struct hv_msix *m = dev->msix;

	if (!m)
		return;
	if (m->dev) {
		for (unsigned v = 0; v < m->nr; v++)
			if (m->irqfd[v].efd >= 0)
				hv_msix_vector_irqfd(dev, v, -1);
		pthread_mutex_destroy(&m->lock);
	}
	free(m->table);
	free(m->pba);
	free(m->irqfd);
	free(m);
	dev->msix = NULL;
}

bool hv_msix_cfg_is_control(const struct hv_msix *m, unsigned off)
{
	return off == m->cap + 2 || off == m->cap + 3;
}

void hv_msix_cfg_update(struct hv_pci_dev *dev)
{
	struct hv_msix *m = dev->msix;
	uint16_t ctrl;

	pthread_mutex_lock(&dev->host->cfg_lock);
	ctrl = (uint16_t)(dev->cfg[m->cap + 2] | dev->cfg[m->cap + 3] << 8);
	pthread_mutex_unlock(&dev->host->cfg_lock);
	pthread_mutex_lock(&m->lock);
	m->enabled = ctrl & MSIX_CTRL_ENABLE;
	m->fmask = ctrl & MSIX_CTRL_FMASK;
	for (unsigned v = 0; v < m->nr; v++)
		vec_update(m, v);
	pthread_mutex_unlock(&m->lock);
}

/* PBA bit of v; for a detached irqfd vector, "its eventfd has a count". */
static bool vec_pending(struct hv_msix *m, unsigned v)
{
	struct msix_irqfd *f = &m->irqfd[v];

	if (f->efd >= 0) {
		struct pollfd p = { .fd = f->efd, .events = POLLIN };

		return !f->attached && poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
	}
	return m->pba[v / 64] >> (v % 64) & 1;
}

static void table_access(struct hv_msix *m, uint64_t off, uint8_t *p, unsigned len,
			 bool is_write)
{
	uint8_t *t = (uint8_t *)m->table;
	uint64_t end = (uint64_t)m->nr * MSIX_ENTRY_SIZE;

	/* The spec allows aligned dword and qword accesses; others are ignored. */
	if ((len != 4 && len != 8) || (off & (len - 1)) || off + len > end) {
		if (!is_write)
			memset(p, 0xff, len);
		return;
	}
	if (!is_write) {
		memcpy(p, t + off, len);
		return;
	}
	memcpy(t + off, p, len);
	/* Reserved control bits read as zero. */
	m->table[off / MSIX_ENTRY_SIZE].ctrl &= MSIX_VEC_MASKED;
	vec_update(m, (unsigned)(off / MSIX_ENTRY_SIZE));
}

static void pba_read(struct hv_msix *m, uint64_t off, uint8_t *p, unsigned len)
{
	for (unsigned i = 0; i < len; i++) {
		uint64_t bit0 = (off + i) * 8;

		p[i] = 0;
		for (unsigned b = 0; b < 8; b++)
			if (bit0 + b < m->nr && vec_pending(m, (unsigned)(bit0 + b)))
				p[i] |= (uint8_t)(1u << b);
	}
}

bool hv_msix_bar_access(struct hv_msix *m, unsigned bar, uint64_t offset, void *data,
			unsigned len, bool is_write)
{
	uint64_t tlen = (uint64_t)m->nr * MSIX_ENTRY_SIZE, plen = (m->nr + 63) / 64 * 8;

	if (bar != m->bar)
		return false;
	if (offset >= m->table_off && offset < m->table_off + tlen) {
		pthread_mutex_lock(&m->lock);
		table_access(m, offset - m->table_off, data, len, is_write);
		pthread_mutex_unlock(&m->lock);
		return true;
	}
	if (offset >= m->pba_off && offset < m->pba_off + plen) {
		if (!is_write) {
			uint64_t left = m->pba_off + plen - offset;

			/* Bytes past the PBA read as zero, not as the caller's buffer. */
			if (len > left) {
				memset((uint8_t *)data + left, 0, len - left);
				len = (unsigned)left;
			}
			pthread_mutex_lock(&m->lock);
			pba_read(m, offset - m->pba_off, data, len);
			pthread_mutex_unlock(&m->lock);
		}
		return true;
	}
	return false;
}

int hv_pci_msix_notify(struct hv_pci_dev *dev, unsigned vector)
{
	struct hv_msix *m = dev->msix;
	int r = 0;

	if (!m || vector >= m->nr || !dev->host)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	if (m->irqfd[vector].efd >= 0) {
		if (write(m->irqfd[vector].efd, &(uint64_t){ 1 }, 8) != 8)
			r = -errno;
	} else if (vec_deliverable(m, vector)) {
		r = msi_signal(dev->host, entry_addr(&m->table[vector]), m->table[vector].data);
	} else {
		m->pba[vector / 64] |= 1ull << (vector % 64);
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

static int irqfd_unbind(struct hv_msix *m, unsigned v)
{
	struct msix_irqfd *f = &m->irqfd[v];

	if (f->efd < 0)
		return 0;
	if (f->attached)
		irqfd_ioctl(m, v, false);
	hv_msi_route_remove(m->dev->host->router, (unsigned)f->gsi);
	f->efd = -1;
	f->gsi = -1;
	f->attached = false;
	return 0;
}

int hv_msix_vector_irqfd(struct hv_pci_dev *dev, unsigned vector, int eventfd)
{
	struct hv_msix *m = dev->msix;
	int r, gsi;

	if (!m || vector >= m->nr || !dev->host)
		return -EINVAL;
	if (dev->host->cfg.vm_fd < 0)
		return -ENODEV;
	pthread_mutex_lock(&m->lock);
	irqfd_unbind(m, vector);
	r = 0;
	if (eventfd < 0)
		goto out;
	gsi = hv_msi_route_add(dev->host->router, entry_addr(&m->table[vector]),
			       m->table[vector].data);
	if (gsi < 0) {
		r = gsi;
		goto out;
	}
	m->irqfd[vector] = (struct msix_irqfd){ .efd = eventfd, .gsi = gsi };
	/* A vector raised before binding is carried over in the eventfd. */
	if (m->pba[vector / 64] >> (vector % 64) & 1) {
		m->pba[vector / 64] &= ~(1ull << (vector % 64));
		if (write(eventfd, &(uint64_t){ 1 }, 8) != 8)
			pv_log_warn(TAG, "%s: vector %u: eventfd write failed", dev->name, vector);
	}
	if (vec_deliverable(m, vector) && (r = irqfd_ioctl(m, vector, true)) < 0)
		irqfd_unbind(m, vector);
out:
	pthread_mutex_unlock(&m->lock);
	return r;
}

bool hv_pci_msix_masked(struct hv_pci_dev *dev, unsigned vector)
{
	struct hv_msix *m = dev->msix;
	bool masked;

	if (!m || vector >= m->nr)
		return true;
	pthread_mutex_lock(&m->lock);
	masked = !vec_deliverable(m, vector);
	pthread_mutex_unlock(&m->lock);
	return masked;
}

bool hv_pci_msix_pending(struct hv_pci_dev *dev, unsigned vector)
{
	struct hv_msix *m = dev->msix;
	bool p;

	if (!m || vector >= m->nr)
		return false;
	pthread_mutex_lock(&m->lock);
	p = vec_pending(m, vector);
	pthread_mutex_unlock(&m->lock);
	return p;
}
