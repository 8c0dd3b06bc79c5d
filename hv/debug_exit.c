/* SPDX-License-Identifier: MIT */
/* The debug-exit port (PVKVM_PORT_DEBUG_EXIT): how a test guest ends the VM
 * with a status, compatible with QEMU's isa-debug-exit at the same port. */
#include <string.h>

#include "device.h"
#include "pvkvm/boot.h"
#include "serial.h"
#include "vm.h"

/* Debug-exit port: any write ends the VM; a 32-bit write of S gives status
 * S & 0xff (narrower writes give their value). */
static void debug_exit_io(void *opaque, uint64_t off, void *data, unsigned len, bool is_write)
{
	struct hv_vm *vm = opaque;
	uint32_t v = 0;

	if (!is_write || off != 0)
		return;
	memcpy(&v, data, len < 4 ? len : 4);
	hv_vm_request_stop(vm, (int)(v & 0xff));
}

int hv_debug_exit_init(struct hv_vm *vm)
{
	return hv_io_register(&vm->pio, PVKVM_PORT_DEBUG_EXIT, 4, debug_exit_io, vm);
}

static void debug_exit_free(struct hv_vm *vm)
{
	hv_io_unregister(&vm->pio, PVKVM_PORT_DEBUG_EXIT);
}
HV_DEVICE(debug_exit, "debug-exit", HV_DEV_ORDER_LEGACY, hv_debug_exit_init, debug_exit_free);
