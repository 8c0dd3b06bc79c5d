/* SPDX-License-Identifier: MIT */
/* Port-I/O and MMIO dispatch from vCPU exits to device models.
 *
 * A device registers a range once; vCPU threads call hv_io_dispatch() for each
 * KVM_EXIT_IO / KVM_EXIT_MMIO.  Ranges may be added and removed while vCPUs run
 * (a guest reprogramming a PCI BAR), so the bus takes a reader-writer lock:
 * dispatch is a read-side lookup, (un)registering a write. */
#ifndef HV_IOBUS_H
#define HV_IOBUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* offset is relative to the registered base; data holds len (1, 2, 4 or 8)
 * bytes, little-endian; for reads the handler fills it (unhandled bytes read
 * as all-ones, which the bus pre-fills). */
typedef void (*hv_io_fn)(void *opaque, uint64_t offset, void *data, unsigned len, bool is_write);

struct hv_io_range {
	uint64_t base;
	uint64_t len;
	hv_io_fn fn;
	void *opaque;
};

struct hv_iobus {
	pthread_rwlock_t lock;
	struct hv_io_range *ranges; /* sorted by base, non-overlapping */
	unsigned nr, cap;
};

int hv_iobus_init(struct hv_iobus *bus);
void hv_iobus_destroy(struct hv_iobus *bus);
/* -EEXIST if the range overlaps another, -EINVAL for len 0 or wrap-around. */
int hv_io_register(struct hv_iobus *bus, uint64_t base, uint64_t len, hv_io_fn fn, void *opaque);
/* Removes the range starting at base; -ENOENT if there is none. */
int hv_io_unregister(struct hv_iobus *bus, uint64_t base);
/* Returns false when no device claims addr (reads then see all-ones). */
bool hv_io_dispatch(struct hv_iobus *bus, uint64_t addr, void *data, unsigned len, bool is_write);

#endif
