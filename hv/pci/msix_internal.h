/* SPDX-License-Identifier: MIT */
/* Hooks between the config-space/BAR code (pci.c) and MSI-X (msix.c). */
#ifndef HV_PCI_MSIX_INTERNAL_H
#define HV_PCI_MSIX_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

struct hv_msix;
struct hv_pci_dev;

/* Serves an access to BAR bar if it falls in the table or PBA. */
bool hv_msix_bar_access(struct hv_msix *m, unsigned bar, uint64_t offset, void *data,
			unsigned len, bool is_write);
/* True if config offset off is the MSI-X message control word. */
bool hv_msix_cfg_is_control(const struct hv_msix *m, unsigned off);
/* Re-reads enable/function-mask from config space and applies them. */
void hv_msix_cfg_update(struct hv_pci_dev *dev);
void hv_msix_free(struct hv_pci_dev *dev);

#endif
