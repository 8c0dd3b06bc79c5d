/* SPDX-License-Identifier: MIT */
/* Device models register themselves once, in their own file:
 *
 *     HV_DEVICE(serial, "serial", HV_DEV_ORDER_LEGACY, serial_dev_init, serial_dev_exit);
 *
 * hv_devices_init() calls every init in ascending order after the VM exists
 * and before the kernel is loaded (so ACPI tables can add to vm->e820), and
 * the exits in reverse order after the vCPUs have stopped.  The object must
 * be linked directly (PVKVM_OBJS), not through an archive. */
#ifndef HV_DEVICE_H
#define HV_DEVICE_H

struct hv_vm;

enum {
	HV_DEV_ORDER_LEGACY = 10,   /* serial, debug-exit, i8042 */
	HV_DEV_ORDER_BUS = 20,      /* PCI host bridge */
	HV_DEV_ORDER_DEVICE = 30,   /* devices on the bus */
	HV_DEV_ORDER_TABLES = 90,   /* ACPI / MP tables describing the above */
};

struct hv_device {
	const char *name;
	int order;
	int (*init)(struct hv_vm *vm);  /* 0 or -errno */
	void (*exit)(struct hv_vm *vm); /* may be NULL */
};

#define HV_DEVICE(ident, name_, order_, init_, exit_)                            \
	static const struct hv_device hv_device_##ident                          \
		__attribute__((used, section("hv_devices"), aligned(8))) = {      \
		.name = name_, .order = order_, .init = init_, .exit = exit_ }

/* 0, or -errno with *failed naming the device. */
int hv_devices_init(struct hv_vm *vm, const char **failed);
void hv_devices_exit(struct hv_vm *vm);

#endif
