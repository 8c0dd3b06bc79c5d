/* SPDX-License-Identifier: MIT */
/* The pvkvm test device: a PCI device for tests of the device framework and
 * for the mini-guest's PCI probe.  Registers:
 *   BAR0 (MMIO32, 4 KiB)  0x00 ID (RO, HV_TESTDEV_MAGIC)  0x04 scratch (RW)
 *                         0x08 doorbell (WO: raises MSI-X vector = value)
 *                         0x0c doorbell count (RO)
 *   BAR1 (IO, 16 ports)   0x0 scratch (RW)  0x4 ID (RO)
 *   BAR2 (MMIO64, 4 KiB)  MSI-X table at 0, PBA at 0x800, 4 vectors */
#ifndef HV_DEV_TESTDEV_H
#define HV_DEV_TESTDEV_H

#include <pthread.h>
#include <stdint.h>

#include "../pci/pci.h"

/* 0x1234 is the experimental vendor ID QEMU's bochs device also uses. */
#define HV_TESTDEV_VENDOR 0x1234
#define HV_TESTDEV_DEVICE 0x11e9
#define HV_TESTDEV_MAGIC 0x766b7670u /* "pvkv" */
#define HV_TESTDEV_NR_VECTORS 4
#define HV_TESTDEV_REG_ID 0x00
#define HV_TESTDEV_REG_SCRATCH 0x04
#define HV_TESTDEV_REG_DOORBELL 0x08
#define HV_TESTDEV_REG_DOORBELLS 0x0c

struct hv_testdev {
	struct hv_pci_dev pci;
	pthread_mutex_t lock;
	uint32_t scratch, io_scratch, doorbells;
};

/* Creates the device and adds it to host (HV_PCI_DEVICE_TYPE "pvkvm-test"). */
int hv_testdev_create(struct hv_pci_host *host, const char *args, struct hv_pci_dev **out);

#endif
