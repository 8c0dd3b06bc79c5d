/* SPDX-License-Identifier: MIT */
/* Minimal i8042: reset requests and a controller that answers its probes. */
#include <errno.h>
#include <string.h>

#include "i8042.h"
#include "pv_log.h"

#define TAG "i8042"
#define STATUS_OBF 0x01
#define STATUS_SYS 0x04 /* system flag: POST passed */
#define STATUS_CMD 0x08 /* last write was to 0x64 */
#define PORT61_OUT2 0x20
#define PORT61_REFRESH 0x10

/* Handles a command byte written to 0x64; returns true when it asks for reset. */
static bool i8042_command(struct hv_i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case 0x20: /* read configuration byte */
		k->out = k->cmd_byte;
		k->out_full = true;
		break;
	case 0x60: /* write configuration byte: data follows on 0x60 */
	case 0xd1: /* write output port: data follows */
	case 0xd2: case 0xd3: case 0xd4: /* write to kbd/aux buffers: data ignored */
		k->pending_cmd = cmd;
		break;
	case 0xaa: /* controller self-test */
		k->out = 0x55;
		k->out_full = true;
		break;
	case 0xab: case 0xa9: /* interface tests: pass */
		k->out = 0x00;
		k->out_full = true;
		break;
	case 0xd0: /* read output port: A20 on, not in reset */
		k->out = 0x03;
		k->out_full = true;
		break;
	case 0xfe: /* pulse the reset line */
		return true;
	default: /* enable/disable kbd/aux and the rest: accepted, no effect */
		break;
	}
	return false;
}

static bool i8042_data_write(struct hv_i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;

	k->pending_cmd = 0;
	if (cmd == 0x60)
		k->cmd_byte = v;
	/* Output port bit 0 low holds the CPU in reset. */
	return cmd == 0xd1 && !(v & 1);
}

static void i8042_port(struct hv_i8042 *k, unsigned port, void *data, unsigned len, bool is_write)
{
	uint8_t *p = data, v = is_write ? p[0] : 0xff;
	bool reset = false;

	pthread_mutex_lock(&k->lock);
	switch (port) {
	case 0x60: /* data */
		if (is_write) {
			reset = i8042_data_write(k, v);
		} else {
			v = k->out_full ? k->out : 0;
			k->out_full = false;
		}
		break;
	case 0x61: /* speaker/PIT gate; OUT2 and refresh toggle so delay loops end */
		if (is_write) {
			k->port61 = v & 0x0f;
		} else {
			k->port61 ^= PORT61_REFRESH;
			v = k->port61 | PORT61_OUT2;
		}
		break;
	case 0x64: /* status / command */
		if (is_write)
			reset = i8042_command(k, v);
		else
			v = (uint8_t)(STATUS_SYS | (k->out_full ? STATUS_OBF : 0));
		break;
	default:
		break;
	}
	if (reset)
		k->resets++;
	pthread_mutex_unlock(&k->lock);
	if (!is_write) {
		memset(data, 0, len);
		p[0] = v;
	}
	if (reset) {
		pv_log_debug(TAG, "guest requested a reset");
		if (k->reset)
			k->reset(k->opaque);
	}
}

/* The iobus passes offsets relative to each range, so one trampoline per port. */
static void i8042_io60(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write)
{
	i8042_port(opaque, 0x60, data, len, is_write);
}

static void i8042_io61(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write)
{
	i8042_port(opaque, 0x61, data, len, is_write);
}

static void i8042_io64(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write)
{
	i8042_port(opaque, 0x64, data, len, is_write);
}

int hv_i8042_init(struct hv_i8042 *k, struct hv_iobus *pio, void (*reset)(void *opaque),
		  void *opaque)
{
	int r;

	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	k->pio = pio;
	k->reset = reset;
	k->opaque = opaque;
	k->cmd_byte = 0x45; /* kbd interrupt on, system flag, translation: PC default */
	r = hv_io_register(pio, 0x60, 1, i8042_io60, k);
	if (r < 0)
		goto fail;
	r = hv_io_register(pio, 0x64, 1, i8042_io64, k);
	if (r < 0) {
		hv_io_unregister(pio, 0x60);
		goto fail;
	}
	k->has61 = hv_io_register(pio, 0x61, 1, i8042_io61, k) == 0;
	return 0;
fail:
	pthread_mutex_destroy(&k->lock);
	return r;
}

void hv_i8042_destroy(struct hv_i8042 *k)
{
	if (!k->pio)
		return;
	hv_io_unregister(k->pio, 0x60);
	hv_io_unregister(k->pio, 0x64);
	if (k->has61)
		hv_io_unregister(k->pio, 0x61);
	pthread_mutex_destroy(&k->lock);
	k->pio = NULL;
}
