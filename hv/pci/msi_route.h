/* SPDX-License-Identifier: MIT */
/* The VM's KVM GSI routing table.  KVM_SET_GSI_ROUTING replaces the whole
 * table, so one owner keeps it: the in-kernel irqchip's default routes
 * (GSI 0-23 to PIC/IOAPIC, when the VM uses them) plus one MSI route per
 * irqfd-bound vector, from GSI 24 up. */
#ifndef HV_PCI_MSI_ROUTE_H
#define HV_PCI_MSI_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#define HV_MSI_FIRST_GSI 24

struct hv_msi_router;

struct hv_msi_route {
	unsigned gsi;
	uint64_t addr;
	uint32_t data;
};

/* vm_fd < 0: the table is kept but not committed (unit tests). */
int hv_msi_router_new(int vm_fd, bool irqchip_routes, struct hv_msi_router **out);
void hv_msi_router_free(struct hv_msi_router *r);
/* Returns the new route's GSI (>= HV_MSI_FIRST_GSI) or -errno.  Added and
 * updated routes reach KVM with the next hv_msi_router_sync(); a removed
 * route that KVM has is removed there at once. */
int hv_msi_route_add(struct hv_msi_router *r, uint64_t addr, uint32_t data);
int hv_msi_route_update(struct hv_msi_router *r, unsigned gsi, uint64_t addr, uint32_t data);
int hv_msi_route_remove(struct hv_msi_router *r, unsigned gsi);
/* Commits the table if it changed: call before KVM_IRQFD on a route's GSI
 * and after changing the route of an attached irqfd.  0 or -errno. */
int hv_msi_router_sync(struct hv_msi_router *r);
/* The MSI routes as last committed, sorted by GSI; returns how many there
 * are (copies at most max).  *nr_total gets the number of KVM entries
 * committed, irqchip routes included (may be NULL). */
unsigned hv_msi_router_list(struct hv_msi_router *r, struct hv_msi_route *out, unsigned max,
			    unsigned *nr_total);
int hv_msi_router_vm_fd(const struct hv_msi_router *r);
/* The VM goes away with its table: from now on keep the table, commit nothing. */
void hv_msi_router_forget_vm(struct hv_msi_router *r);

#endif
