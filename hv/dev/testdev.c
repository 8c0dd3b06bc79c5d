/* SPDX-License-Identifier: MIT */
/* The pvkvm test device (see testdev.h for its registers). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testdev.h"

static uint32_t reg_read(const void *data, unsigned len)
{
	uint32_t v = 0;

	memcpy(&v, data, len < 4 ? len : 4);
	return v;
}

static void reg_write(void *data, unsigned len, uint32_t v)
{
	memset(data, 0, len);
	memcpy(data, &v, len < 4 ? len : 4);
}

static void testdev_mmio(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write)
{
	struct hv_testdev *t = opaque;
	uint32_t v = is_write ? reg_read(data, len) : 0xffffffffu, vector = v;

	pthread_mutex_lock(&t->lock);
	switch (offset) {
	case HV_TESTDEV_REG_ID:
		v = is_write ? v : HV_TESTDEV_MAGIC;
		break;
	case HV_TESTDEV_REG_SCRATCH:
		if (is_write)
			t->scratch = v;
		v = t->scratch;
		break;
	case HV_TESTDEV_REG_DOORBELL:
		if (is_write)
			t->doorbells++;
		v = 0;
		break;
	case HV_TESTDEV_REG_DOORBELLS:
		v = t->doorbells;
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&t->lock);
	if (!is_write) {
		reg_write(data, len, v);
		return;
	}
	/* Outside the device lock: notify takes the MSI-X lock. */
	if (offset == HV_TESTDEV_REG_DOORBELL && vector < HV_TESTDEV_NR_VECTORS)
		hv_pci_msix_notify(&t->pci, vector);
}

static void testdev_pio(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write)
{
	struct hv_testdev *t = opaque;
	uint32_t v = 0xffffffffu;

	pthread_mutex_lock(&t->lock);
	if (offset == 0 && is_write)
		t->io_scratch = reg_read(data, len);
	if (offset == 0)
		v = t->io_scratch;
	else if (offset == 4)
		v = HV_TESTDEV_MAGIC;
	pthread_mutex_unlock(&t->lock);
	if (!is_write)
		reg_write(data, len, v);
}

static void testdev_free(struct hv_pci_dev *dev)
{
	struct hv_testdev *t = (struct hv_testdev *)dev;

	pthread_mutex_destroy(&t->lock);
	free(t);
}

int hv_testdev_create(struct hv_pci_host *host, const char *args, struct hv_pci_dev **out)
{
	struct hv_testdev *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	/* Class 0xff0000: "device does not fit any defined class". */
	hv_pci_dev_init(&t->pci, "pvkvm-test", HV_TESTDEV_VENDOR, HV_TESTDEV_DEVICE, 0xff0000, 1);
	pthread_mutex_init(&t->lock, NULL);
	r = hv_pci_bar_init(&t->pci, 0, HV_PCI_BAR_MMIO32, 4096, testdev_mmio, t);
	if (r == 0)
		r = hv_pci_bar_init(&t->pci, 1, HV_PCI_BAR_IO, 16, testdev_pio, t);
	if (r == 0)
		r = hv_pci_bar_init(&t->pci, 2, HV_PCI_BAR_MMIO64, 4096, NULL, NULL);
	if (r == 0)
		r = hv_pci_msix_init(&t->pci, HV_TESTDEV_NR_VECTORS, 2, 0, 0x800);
	if (r == 0)
		r = hv_pci_host_add(host, &t->pci, -1);
	if (r < 0) {
		hv_pci_dev_cleanup(&t->pci);
		testdev_free(&t->pci);
		return r;
	}
	t->pci.free = testdev_free;
	if (out)
		*out = &t->pci;
	return 0;
}

HV_PCI_DEVICE_TYPE(testdev, "pvkvm-test", hv_testdev_create);
