/* SPDX-License-Identifier: MIT */
/* Console backends for the guest's serial port: stdio (raw terminal with an
 * escape key), a pty (for --daemonize and `pvkvm console`), or a file. */
#ifndef HV_CONSOLE_H
#define HV_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

struct hv_vm;

/* Ctrl-] then 'x' quits; Ctrl-] twice sends one Ctrl-]. */
#define HV_CONSOLE_ESCAPE 0x1d

typedef void (*hv_console_input_fn)(void *opaque, const uint8_t *buf, size_t len);

struct hv_console;

/* spec: "stdio", "pty", "file:PATH" or "none".  -errno, *err says what failed. */
int hv_console_open(struct hv_console **out, const char *spec, const char **err);
/* Restores the terminal. */
void hv_console_close(struct hv_console *con);
/* Path of the pty slave, or NULL for other backends. */
const char *hv_console_pty_path(const struct hv_console *con);
/* Guest output: never blocks for long (a pty nobody reads drops output). */
void hv_console_write(struct hv_console *con, const void *buf, size_t len);
/* Feed input to fn from the VM's main loop; the escape sequence stops vm. */
int hv_console_attach(struct hv_console *con, struct hv_vm *vm, hv_console_input_fn fn, void *opaque);

/* Copy between the terminal and a pty path until the escape sequence or
 * hang-up (`pvkvm console`).  Returns 0 or -errno. */
int hv_console_relay(const char *pty_path);

#endif
