/* SPDX-License-Identifier: MIT */
/* Runs the HV_DEVICE() registrations (device.h) in order. */
#include <stdlib.h>

#include "device.h"
#include "vm.h"

/* Weak: a binary that links no device (a unit test) has no such section. */
extern const struct hv_device __start_hv_devices[] __attribute__((weak));
extern const struct hv_device __stop_hv_devices[] __attribute__((weak));

static size_t devices_sorted(const struct hv_device **out, size_t max)
{
	size_t n = 0;

	for (const struct hv_device *d = __start_hv_devices; d && d < __stop_hv_devices && n < max; d++)
		out[n++] = d;
	/* Insertion sort: a handful of devices, stable for equal orders. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && out[j - 1]->order > out[j]->order; j--) {
			const struct hv_device *t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

int hv_devices_init(struct hv_vm *vm, const char **failed)
{
	const struct hv_device *d[64];
	size_t n = devices_sorted(d, 64);

	for (size_t i = 0; i < n; i++) {
		int r = d[i]->init(vm);

		if (r < 0) {
			*failed = d[i]->name;
			while (i-- > 0)
				if (d[i]->exit)
					d[i]->exit(vm);
			return r;
		}
	}
	return 0;
}

void hv_devices_exit(struct hv_vm *vm)
{
	const struct hv_device *d[64];
	size_t n = devices_sorted(d, 64);

	while (n-- > 0)
		if (d[n]->exit)
			d[n]->exit(vm);
}
