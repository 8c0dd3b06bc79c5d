/* SPDX-License-Identifier: MIT */
/* libFuzzer: a hostile guest against the VMM side of the PV platform.  The
 * input fills guest RAM's first pages, then drives hypercalls (numbers and
 * argument registers from the input, biased to land inside RAM), platform
 * register writes, and backend-style raises on whatever shared-info page the
 * guest registered.  Oracle: no crash, no sanitizer report, results are 0 or
 * -errno for unknown/invalid requests. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evtchn_2l.h"
#include "plat.h"
#include "platform_dev.h"
#include "pv_log.h"

#define RAM (1u << 20)

static uint64_t take(const uint8_t **p, size_t *n, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && *n; i++, (*p)++, (*n)--)
		v |= (uint64_t)**p << (8 * i);
	return v;
}

/* Mostly addresses inside RAM, sometimes anything. */
static uint64_t arg(const uint8_t **p, size_t *n)
{
	uint8_t sel = (uint8_t)take(p, n, 1);
	uint64_t v = take(p, n, sel & 0x80 ? 8 : 3);

	return sel & 0x80 ? v : v % (RAM + 4096);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	struct pv_gmem_range r = { 0, RAM, 0 };
	struct pv_plat_ops ops = { 0 };
	struct pv_plat_dev dev;
	struct pv_gmem g;
	struct pv_plat *p;
	size_t seed = size < 3 * 4096 ? size : 3 * 4096;

	if (!ram) {
		ram = aligned_alloc(4096, RAM);
		pv_log_set_level(-1);
	}
	memset(ram, 0, RAM);
	memcpy(ram, data, seed);
	pv_gmem_init(&g, ram, RAM, &r, 1);
	p = pv_plat_new(3, 2, &g, &ops, NULL);
	pv_plat_dev_init(&dev, p, -1);
	pv_plat_dev_set_bars(&dev, 0xc0000000, 0xc000);
	for (int ops_left = 64; size > 0 && ops_left; ops_left--) {
		uint8_t op = (uint8_t)take(&data, &size, 1);
		uint64_t args[5];

		if (op < 200) {
			uint64_t nr = op % (PVKVM_HC_NR + 2);
			for (int i = 0; i < 5; i++)
				args[i] = i == 0 && (op & 1) ? take(&data, &size, 1) : arg(&data, &size);
			if (nr == PVKVM_HC_SCHED_OP)
				continue; /* no shutdown hook: -ENOSYS anyway */
			int64_t rv = pv_hcall_dispatch(p, (uint32_t)(op >> 7), nr, args);
			if (rv < -4095)
				abort();
		} else if (op < 230) {
			uint32_t v = (uint32_t)take(&data, &size, 4);
			pv_plat_dev_io(&dev, take(&data, &size, 1) & 0x1c, &v, 4, op & 1);
		} else {
			uint64_t gfn;
			uint32_t port = (uint32_t)take(&data, &size, 2) % PVKVM_EVTCHN_NR_PORTS;
			if (pv_plat_shinfo(p, &gfn) && port)
				evtchn_2l_raise(pv_gmem_ptr(&g, gfn << 12, 4096), port, op & 1);
			evtchn_raise(p->evtchn, port);
		}
	}
	pv_plat_dev_destroy(&dev);
	pv_plat_free(p);
	return 0;
}
