/* SPDX-License-Identifier: MIT */
/* Backend half of the XenbusState handshake. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pvback.h"
#include "pvback_bus.h"

static int parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int pvback_bus_open(struct pvback_bus_dev *b, struct xs_client *c, const char *type,
		    uint16_t fe_domid, uint32_t devid)
{
	char path[128], want[96], *fe = NULL;
	size_t len;
	int err;

	memset(b, 0, sizeof(*b));
	b->c = c;
	b->fe_domid = fe_domid;
	b->devid = devid;
	if ((size_t)snprintf(b->be, sizeof(b->be), "/local/domain/0/backend/%s/%u/%u", type,
			     fe_domid, devid) >= sizeof(b->be) ||
	    (size_t)snprintf(want, sizeof(want), "/local/domain/%u/device/%s/%u", fe_domid, type,
			     devid) >= sizeof(want))
		return -ENAMETOOLONG;
	snprintf(path, sizeof(path), "%s/frontend", b->be);
	if ((err = xs_read(c, 0, path, &fe, &len)))
		return err;
	err = len == strlen(want) && !memcmp(fe, want, len) ? 0 : -EINVAL;
	free(fe);
	if (!err)
		memcpy(b->fe, want, sizeof(want));
	return err;
}

int pvback_bus_set_state(struct pvback_bus_dev *b, int state)
{
	char path[128], v[4];
	int n = snprintf(v, sizeof(v), "%d", state);

	snprintf(path, sizeof(path), "%s/state", b->be);
	return xs_write(b->c, 0, path, v, (size_t)n);
}

int pvback_bus_read_fe_uint(struct pvback_bus_dev *b, const char *key, uint64_t max, uint64_t *out)
{
	char path[160], *v = NULL;
	size_t len;
	int err;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", b->fe, key) >= sizeof(path))
		return -ENAMETOOLONG;
	if ((err = xs_read(b->c, 0, path, &v, &len)))
		return err;
	err = parse_uint(v, len, max, out);
	free(v);
	return err;
}

int pvback_bus_frontend_state(struct pvback_bus_dev *b)
{
	uint64_t v;

	return pvback_bus_read_fe_uint(b, "state", PVBACK_STATE_CLOSED, &v) ? 0 : (int)v;
}

static void on_state(void *opaque, const char *path, const char *token)
{
	(void)opaque;
	(void)path;
	(void)token;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int pvback_bus_wait_frontend(struct pvback_bus_dev *b, int lo, int hi, int timeout_ms)
{
	char path[128], token[32];
	struct timespec t0;
	int err, st;

	snprintf(path, sizeof(path), "%s/state", b->fe);
	snprintf(token, sizeof(token), "pvback-%u", b->devid);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((err = xs_watch(b->c, path, token, on_state, b)))
		return err;
	for (;;) {
		st = pvback_bus_frontend_state(b);
		if (st >= lo && st <= hi) {
			err = st;
			break;
		}
		long left = timeout_ms - ms_since(&t0);
		if (left <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		err = xs_client_dispatch(b->c, (int)left);
		if (err < 0)
			break;
	}
	xs_unwatch(b->c, path, token);
	return err;
}

int pvback_guest_domid(const char *ctl_path, uint16_t *domid)
{
	struct pvback_dom *dom;
	int err = pvback_attach(&dom, ctl_path, "probe");

	if (err)
		return err;
	*domid = pvback_domid(dom);
	pvback_detach(dom);
	return 0;
}

bool pvback_store_dev_exists(struct xs_client *c, const char *type, uint16_t domid, unsigned dev)
{
	char path[96], *v;
	size_t len;

	snprintf(path, sizeof(path), "/local/domain/%u/device/%s/%u/backend", domid, type, dev);
	if (xs_read(c, 0, path, &v, &len))
		return false;
	free(v);
	return true;
}

void pvback_store_rm_device(const char *store_sock, const char *type, uint16_t domid,
			    unsigned dev)
{
	struct xs_client *c;
	char path[96];

	if (xs_client_open(store_sock, &c))
		return;
	snprintf(path, sizeof(path), "/local/domain/0/backend/%s/%u/%u", type, domid, dev);
	xs_rm(c, 0, path);
	snprintf(path, sizeof(path), "/local/domain/%u/device/%s/%u", domid, type, dev);
	xs_rm(c, 0, path);
	xs_client_close(c);
}
