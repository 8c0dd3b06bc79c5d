/* SPDX-License-Identifier: MIT */
/* A minimal i8042 keyboard controller: enough for a guest to reset the
 * machine (command 0xFE on port 0x64, or clearing bit 0 of the output port
 * with command 0xD1) and to probe the controller without hanging.  No
 * keyboard or mouse is attached.  Port 0x61 (system control port B) answers
 * benignly when the in-kernel PIT does not take it. */
#ifndef HV_DEV_I8042_H
#define HV_DEV_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../iobus.h"

struct hv_i8042 {
	pthread_mutex_t lock;
	struct hv_iobus *pio;
	void (*reset)(void *opaque); /* the VM's reset request */
	void *opaque;
	uint8_t cmd_byte;    /* controller configuration byte */
	uint8_t pending_cmd; /* command waiting for its data byte on 0x60, or 0 */
	uint8_t out;         /* output buffer */
	bool out_full;
	uint8_t port61;
	bool has61;
	unsigned resets;     /* reset requests seen (tests) */
};

/* Registers ports 0x60, 0x61 (unless taken) and 0x64 on pio. */
int hv_i8042_init(struct hv_i8042 *k, struct hv_iobus *pio, void (*reset)(void *opaque),
		  void *opaque);
void hv_i8042_destroy(struct hv_i8042 *k);

#endif
