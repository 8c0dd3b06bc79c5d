/* SPDX-License-Identifier: MIT */
/* Device discovery and the frontend half of the XenbusState handshake. */
#include "pvfront_bus.h"

#define BUS_TX_RETRIES 8

int pvfront_utoa(uint64_t v, char *buf, unsigned cap)
{
	char tmp[20];
	unsigned n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (n + 1 > cap)
		return -PVFRONT_E2BIG;
	for (unsigned i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return (int)n;
}

int pvfront_atou(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -PVFRONT_EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
			return -PVFRONT_EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* dst = a + b + c, NUL-terminated, or -E2BIG. */
static int path_join(char *dst, unsigned cap, const char *a, const char *b, const char *c)
{
	const char *parts[3] = { a, b, c };
	unsigned n = 0;

	for (unsigned i = 0; i < 3; i++)
		for (const char *p = parts[i]; p && *p; p++) {
			if (n + 1 >= cap)
				return -PVFRONT_E2BIG;
			dst[n++] = *p;
		}
	dst[n] = '\0';
	return 0;
}

static int discover_one(struct pvfront_xs *xs, const char *type, const char *id,
			struct pvfront_dev *d)
{
	char path[96], val[16];
	uint64_t v;
	int r;

	if (pvfront_atou(id, UINT32_MAX, &v))
		return -PVFRONT_EINVAL;
	d->id = (uint32_t)v;
	if ((r = path_join(d->nodename, sizeof(d->nodename), "device/", type, "/")) ||
	    (r = path_join(d->nodename, sizeof(d->nodename), d->nodename, id, NULL)) ||
	    (r = path_join(path, sizeof(path), d->nodename, "/backend", NULL)))
		return r;
	r = pvfront_xs_read(xs, 0, path, d->backend, sizeof(d->backend));
	if (r <= 0)
		return r < 0 ? r : -PVFRONT_EINVAL;
	if ((r = path_join(path, sizeof(path), d->nodename, "/backend-id", NULL)))
		return r;
	r = pvfront_xs_read(xs, 0, path, val, sizeof(val));
	if (r < 0)
		return r;
	if (pvfront_atou(val, 0x7fef, &v))
		return -PVFRONT_EINVAL;
	d->backend_id = (uint16_t)v;
	return 0;
}

int pvfront_bus_discover(struct pvfront_xs *xs, const char *type, struct pvfront_dev *devs,
			 unsigned max)
{
	char path[32], names[512];
	unsigned found = 0;
	int n, off = 0;

	if (path_join(path, sizeof(path), "device/", type, NULL))
		return -PVFRONT_EINVAL;
	n = pvfront_xs_directory(xs, 0, path, names, sizeof(names));
	if (n == -PVFRONT_ENOENT)
		return 0;
	if (n < 0)
		return n;
	for (int i = 0; i < n && found < max; i++) {
		const char *id = names + off;

		while (names[off])
			off++;
		off++;
		/* A malformed entry is skipped, not fatal: the others still work. */
		if (discover_one(xs, type, id, &devs[found]) == 0)
			found++;
	}
	return (int)found;
}

int pvfront_bus_set_state(struct pvfront_xs *xs, const struct pvfront_dev *dev, int state)
{
	char path[64], val[4];

	if (path_join(path, sizeof(path), dev->nodename, "/state", NULL))
		return -PVFRONT_E2BIG;
	pvfront_utoa((uint64_t)state, val, sizeof(val));
	return pvfront_xs_write(xs, 0, path, val);
}

int pvfront_bus_backend_state(struct pvfront_xs *xs, const struct pvfront_dev *dev)
{
	char path[128], val[8];
	uint64_t v;

	if (path_join(path, sizeof(path), dev->backend, "/state", NULL) ||
	    pvfront_xs_read(xs, 0, path, val, sizeof(val)) < 0 ||
	    pvfront_atou(val, PVFRONT_STATE_CLOSED, &v))
		return PVFRONT_STATE_UNKNOWN;
	return (int)v;
}

static int publish(struct pvfront_xs *xs, const struct pvfront_dev *dev, const char *const *keys,
		   const char *const *values, unsigned n)
{
	char path[112];
	uint32_t tx;
	int err;

	for (int attempt = 0; attempt < BUS_TX_RETRIES; attempt++) {
		if ((err = pvfront_xs_tx_start(xs, &tx)))
			return err;
		for (unsigned i = 0; i < n && !err; i++) {
			err = path_join(path, sizeof(path), dev->nodename, "/", keys[i]);
			if (!err)
				err = pvfront_xs_write(xs, tx, path, values[i]);
		}
		if (!err && !(err = path_join(path, sizeof(path), dev->nodename, "/state", NULL)))
			err = pvfront_xs_write(xs, tx, path, "3");
		if (err) {
			pvfront_xs_tx_end(xs, tx, false);
			return err;
		}
		err = pvfront_xs_tx_end(xs, tx, true);
		if (err != -PVFRONT_EAGAIN)
			return err;
	}
	return -PVFRONT_EAGAIN;
}

/* Waits until the backend's state satisfies want(state); -EIO on Closing/Closed
 * when closing_is_error. */
static int wait_backend(struct pvfront_xs *xs, const struct pvfront_dev *dev, int target,
			bool closing_is_error)
{
	char path[128];
	struct pvfront_xs_event ev;
	const char *p, *t;
	int err, st;

	if (path_join(path, sizeof(path), dev->backend, "/state", NULL))
		return -PVFRONT_E2BIG;
	if ((err = pvfront_xs_watch(xs, path, dev->nodename)))
		return err;
	for (;;) {
		st = pvfront_bus_backend_state(xs, dev);
		if (closing_is_error ? st == target : st != target)
			break;
		if (closing_is_error && st >= PVFRONT_STATE_CLOSING) {
			err = -PVFRONT_EIO;
			break;
		}
		err = pvfront_xs_next_event(xs, true, &ev, &p, &t);
		if (err < 0)
			break;
		err = 0;
	}
	pvfront_xs_unwatch(xs, path, dev->nodename);
	return err;
}

int pvfront_bus_connect(struct pvfront_xs *xs, const struct pvfront_dev *dev,
			const char *const *keys, const char *const *values, unsigned n)
{
	int err;

	if ((err = pvfront_bus_set_state(xs, dev, PVFRONT_STATE_INITIALISING)) ||
	    (err = publish(xs, dev, keys, values, n)) ||
	    (err = wait_backend(xs, dev, PVFRONT_STATE_CONNECTED, true)))
		return err;
	return pvfront_bus_set_state(xs, dev, PVFRONT_STATE_CONNECTED);
}

int pvfront_bus_close(struct pvfront_xs *xs, const struct pvfront_dev *dev)
{
	int err;

	if ((err = pvfront_bus_set_state(xs, dev, PVFRONT_STATE_CLOSING)) ||
	    (err = wait_backend(xs, dev, PVFRONT_STATE_CONNECTED, false)))
		return err;
	return pvfront_bus_set_state(xs, dev, PVFRONT_STATE_CLOSED);
}
