/* SPDX-License-Identifier: MIT */
/* KVM GSI routing: irqchip defaults plus MSI routes for irqfds.
 *
 * KVM_SET_GSI_ROUTING replaces the table and waits for an SRCU grace period
 * (0.03-0.07 ms, 2-3 ms stalls on a loaded host, measured), so new and
 * changed routes are committed when an irqfd needs them (hv_msi_router_sync
 * before KVM_IRQFD): a guest that never enables MSI-X costs none, and one
 * that enables a function's vectors together costs one. */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "msi_route.h"
#include "pv_log.h"

#define TAG "pci"
#define MAX_MSI_ROUTES 1024
#define IRQCHIP_ENTRIES (16 * 2 + 8) /* GSI 0-15: PIC + IOAPIC; 16-23: IOAPIC */

struct hv_msi_router {
	pthread_mutex_t lock;
	int vm_fd;
	bool irqchip_routes;
	struct hv_msi_route routes[MAX_MSI_ROUTES]; /* sorted by gsi */
	bool live[MAX_MSI_ROUTES];                  /* routes[i] is in KVM's table */
	unsigned nr;
	unsigned committed_total;
	bool dirty;                                 /* routes differ from KVM's table */
};

int hv_msi_router_new(int vm_fd, bool irqchip_routes, struct hv_msi_router **out)
{
	struct hv_msi_router *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	r->vm_fd = vm_fd;
	r->irqchip_routes = irqchip_routes;
	*out = r;
	return 0;
}

void hv_msi_router_free(struct hv_msi_router *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int hv_msi_router_vm_fd(const struct hv_msi_router *r)
{
	return r->vm_fd;
}

void hv_msi_router_forget_vm(struct hv_msi_router *r)
{
	pthread_mutex_lock(&r->lock);
	r->vm_fd = -1;
	pthread_mutex_unlock(&r->lock);
}

static void irqchip_entry(struct kvm_irq_routing_entry *e, unsigned gsi, unsigned chip,
			  unsigned pin)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

/* Commits the whole table (caller holds the lock). */
static int router_commit(struct hv_msi_router *r)
{
	unsigned n = r->nr + (r->irqchip_routes ? IRQCHIP_ENTRIES : 0), k = 0;
	struct kvm_irq_routing *t;
	int ret = 0;

	t = calloc(1, sizeof(*t) + n * sizeof(t->entries[0]));
	if (!t)
		return -ENOMEM;
	if (r->irqchip_routes) {
		for (unsigned g = 0; g < 16; g++) {
			irqchip_entry(&t->entries[k++], g,
				      g < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, g % 8);
			irqchip_entry(&t->entries[k++], g, KVM_IRQCHIP_IOAPIC, g);
		}
		for (unsigned g = 16; g < 24; g++)
			irqchip_entry(&t->entries[k++], g, KVM_IRQCHIP_IOAPIC, g);
	}
	for (unsigned i = 0; i < r->nr; i++, k++) {
		t->entries[k].gsi = r->routes[i].gsi;
		t->entries[k].type = KVM_IRQ_ROUTING_MSI;
		t->entries[k].u.msi.address_lo = (uint32_t)r->routes[i].addr;
		t->entries[k].u.msi.address_hi = (uint32_t)(r->routes[i].addr >> 32);
		t->entries[k].u.msi.data = r->routes[i].data;
	}
	t->nr = n;
	if (r->vm_fd >= 0 && ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, t) < 0) {
		ret = -errno;
		pv_log_err(TAG, "KVM_SET_GSI_ROUTING (%u entries): %s", n, strerror(errno));
	}
	if (ret == 0) {
		r->committed_total = n;
		r->dirty = false;
		for (unsigned i = 0; i < r->nr; i++)
			r->live[i] = true;
	}
	free(t);
	return ret;
}

int hv_msi_router_sync(struct hv_msi_router *r)
{
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	if (r->dirty)
		ret = router_commit(r);
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int hv_msi_route_add(struct hv_msi_router *r, uint64_t addr, uint32_t data)
{
	unsigned gsi = HV_MSI_FIRST_GSI, i;
	int ret;

	pthread_mutex_lock(&r->lock);
	if (r->nr == MAX_MSI_ROUTES) {
		ret = -ENOSPC;
		goto out;
	}
	/* Lowest free GSI: routes are sorted, so the first gap. */
	for (i = 0; i < r->nr && r->routes[i].gsi == gsi; i++)
		gsi++;
	memmove(&r->routes[i + 1], &r->routes[i], (r->nr - i) * sizeof(r->routes[0]));
	memmove(&r->live[i + 1], &r->live[i], (r->nr - i) * sizeof(r->live[0]));
	r->routes[i] = (struct hv_msi_route){ .gsi = gsi, .addr = addr, .data = data };
	r->live[i] = false;
	r->nr++;
	r->dirty = true; /* committed by hv_msi_router_sync() */
	ret = (int)gsi;
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

static int route_find(struct hv_msi_router *r, unsigned gsi)
{
	for (unsigned i = 0; i < r->nr; i++)
		if (r->routes[i].gsi == gsi)
			return (int)i;
	return -ENOENT;
}

int hv_msi_route_update(struct hv_msi_router *r, unsigned gsi, uint64_t addr, uint32_t data)
{
	int i, ret;

	pthread_mutex_lock(&r->lock);
	i = route_find(r, gsi);
	if (i < 0) {
		ret = i;
	} else if (r->routes[i].addr == addr && r->routes[i].data == data) {
		ret = 0;
	} else {
		r->routes[i].addr = addr;
		r->routes[i].data = data;
		r->dirty = true; /* committed by hv_msi_router_sync() */
		ret = 0;
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int hv_msi_route_remove(struct hv_msi_router *r, unsigned gsi)
{
	int i, ret;

	pthread_mutex_lock(&r->lock);
	i = route_find(r, gsi);
	if (i < 0) {
		ret = i;
	} else {
		/* A route KVM never saw goes quietly; a live one is removed from
		 * KVM's table now (its irqfd is already gone). */
		bool was_live = r->live[i];

		memmove(&r->routes[i], &r->routes[i + 1],
			(r->nr - (unsigned)i - 1) * sizeof(r->routes[0]));
		memmove(&r->live[i], &r->live[i + 1], (r->nr - (unsigned)i - 1) * sizeof(r->live[0]));
		r->nr--;
		ret = was_live ? router_commit(r) : 0;
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

unsigned hv_msi_router_list(struct hv_msi_router *r, struct hv_msi_route *out, unsigned max,
			    unsigned *nr_total)
{
	unsigned n;

	pthread_mutex_lock(&r->lock);
	n = r->nr;
	memcpy(out, r->routes, (n < max ? n : max) * sizeof(*out));
	if (nr_total)
		*nr_total = r->committed_total;
	pthread_mutex_unlock(&r->lock);
	return n;
}
