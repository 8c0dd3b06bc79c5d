/* SPDX-License-Identifier: MIT */
/* The PCI test fixture (defined in test_pci.c) shared with test_pci_kvm.c:
 * a host bridge on private I/O and MMIO buses with the pvkvm-test device. */
#ifndef TEST_PCI_H
#define TEST_PCI_H

#include <stdint.h>

#include "iobus.h"
#include "pci/pci.h"
#include "cunit_main.h"

extern struct hv_iobus pio, mmio;
extern struct hv_pci_host host;
extern struct hv_pci_dev *tdev;

/* Bridge configuration on pio/mmio; vm_fd >= 0 routes MSIs and INTx via KVM. */
struct hv_pci_host_cfg host_cfg(int vm_fd);
void teardown(void);
uint32_t io_read(struct hv_iobus *bus, uint64_t addr, unsigned len);
void io_write(struct hv_iobus *bus, uint64_t addr, uint32_t v, unsigned len);
uint64_t bar_addr_of(struct hv_pci_dev *dev, unsigned bar);
/* Enables MSI-X on tdev and programs vector v unmasked; returns its entry. */
uint64_t msix_setup_vector(unsigned v, uint64_t addr, uint32_t data);

void test_pci_add_kvm_suite(void);

#endif
