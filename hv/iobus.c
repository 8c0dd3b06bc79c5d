/* SPDX-License-Identifier: MIT */
/* Port-I/O and MMIO dispatch (iobus.h): a sorted array of non-overlapping
 * ranges searched by binary search under a read lock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iobus.h"

int hv_iobus_init(struct hv_iobus *bus)
{
	memset(bus, 0, sizeof(*bus));
	return -pthread_rwlock_init(&bus->lock, NULL);
}

void hv_iobus_destroy(struct hv_iobus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
	pthread_rwlock_destroy(&bus->lock);
}

/* Index of the first range whose base is greater than addr. */
static unsigned iobus_upper(const struct hv_iobus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (bus->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The range holding addr, or NULL.  Caller holds the lock. */
static const struct hv_io_range *iobus_find(const struct hv_iobus *bus, uint64_t addr)
{
	unsigned i = iobus_upper(bus, addr);

	if (i == 0)
		return NULL;
	const struct hv_io_range *r = &bus->ranges[i - 1];

	return addr - r->base < r->len ? r : NULL;
}

int hv_io_register(struct hv_iobus *bus, uint64_t base, uint64_t len, hv_io_fn fn, void *opaque)
{
	int r = 0;

	if (len == 0 || base + len - 1 < base || !fn)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	unsigned i = iobus_upper(bus, base);

	if ((i > 0 && base - bus->ranges[i - 1].base < bus->ranges[i - 1].len) ||
	    (i < bus->nr && bus->ranges[i].base <= base + len - 1)) {
		r = -EEXIST;
		goto out;
	}
	if (bus->nr == bus->cap) {
		unsigned cap = bus->cap ? bus->cap * 2 : 16;
		struct hv_io_range *n = realloc(bus->ranges, cap * sizeof(*n));

		if (!n) {
			r = -ENOMEM;
			goto out;
		}
		bus->ranges = n;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->nr - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct hv_io_range){ .base = base, .len = len, .fn = fn, .opaque = opaque };
	bus->nr++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return r;
}

int hv_io_unregister(struct hv_iobus *bus, uint64_t base)
{
	int r = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	unsigned i = iobus_upper(bus, base);

	if (i > 0 && bus->ranges[i - 1].base == base) {
		i--;
		memmove(&bus->ranges[i], &bus->ranges[i + 1], (bus->nr - i - 1) * sizeof(bus->ranges[0]));
		bus->nr--;
		r = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return r;
}

bool hv_io_dispatch(struct hv_iobus *bus, uint64_t addr, void *data, unsigned len, bool is_write)
{
	const struct hv_io_range *r;
	bool hit = false;

	if (!is_write)
		memset(data, 0xff, len);
	pthread_rwlock_rdlock(&bus->lock);
	r = iobus_find(bus, addr);
	if (r) {
		/* The handler runs under the read lock, so a range cannot be
		 * unregistered (and its opaque freed) while an access is in flight. */
		r->fn(r->opaque, addr - r->base, data, len, is_write);
		hit = true;
	}
	pthread_rwlock_unlock(&bus->lock);
	return hit;
}
