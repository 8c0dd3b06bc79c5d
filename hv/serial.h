/* SPDX-License-Identifier: MIT */
/* 8250/16550A UART on COM1 (0x3f8, IRQ 4), the guest console. */
#ifndef HV_SERIAL_H
#define HV_SERIAL_H

struct hv_vm;
struct hv_console;

/* Registers COM1 on vm->pio and attaches con's input; sets vm->serial. */
int hv_serial_init(struct hv_vm *vm, struct hv_console *con);
void hv_serial_free(struct hv_vm *vm);

/* Debug-exit port 0xf4: a 32-bit write of S stops the VM with status S & 0xff. */
int hv_debug_exit_init(struct hv_vm *vm);

#endif
