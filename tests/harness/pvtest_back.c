/* SPDX-License-Identifier: MIT */
/* Host half of the platform self-test: grant checks, a held grant, an
 * event-channel ping-pong, the handshake. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pvback.h"
#include "pvback_bus.h"
#include "pvtest_back.h"

struct pvtest_back {
	struct pvback_bus_dev bus;
	struct pvback_dom *dom;
	struct pvback_evtchn *e;
	uint64_t port, ref[5], rounds;
	uint32_t *rw; /* gnt-rw, held while connected */
	char *why;
	size_t why_len;
};

static int fail(struct pvtest_back *b, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->why, b->why_len, fmt, ap);
	va_end(ap);
	return err < 0 ? err : -EIO;
}

/* The expected result of mapping each published reference; gnt-rw stays
 * mapped (held) on success. */
static void check_grants(struct pvtest_back *b, char *res, size_t len)
{
	static const char *const name[] = { "rw", "ro", "foreign", "revoked", "outside" };
	static const int want_write[] = { 0, -EACCES, -EPERM, -EPERM, -EFAULT };
	void *rw = NULL, *p;
	int r;

	snprintf(res, len, "ok");
	for (int i = 0; i < 5; i++) {
		r = pvback_gnt_map(b->dom, (uint32_t)b->ref[i], true, &p);
		if (r == 0 && i == 0)
			rw = p;
		else if (r == 0)
			pvback_gnt_unmap(b->dom, (uint32_t)b->ref[i]);
		if (r != want_write[i]) {
			snprintf(res, len, "gnt-%s for write: got %d, want %d", name[i], r, want_write[i]);
			goto bad;
		}
	}
	if (pvback_gnt_map(b->dom, (uint32_t)b->ref[1], false, &p) != 0) {
		snprintf(res, len, "gnt-ro for read refused");
		goto bad;
	}
	pvback_gnt_unmap(b->dom, (uint32_t)b->ref[1]);
	b->rw = rw;
	return;
bad:
	if (rw)
		pvback_gnt_unmap(b->dom, (uint32_t)b->ref[0]);
}

static int read_keys(struct pvtest_back *b)
{
	static const char *const keys[] = { "gnt-rw", "gnt-ro", "gnt-foreign", "gnt-revoked", "gnt-outside" };
	int err;

	if ((err = pvback_bus_read_fe_uint(&b->bus, "event-channel", 4095, &b->port)) ||
	    (err = pvback_bus_read_fe_uint(&b->bus, "rounds", 10000000, &b->rounds)))
		return fail(b, err, "frontend keys event-channel/rounds: %s", strerror(-err));
	for (int i = 0; i < 5; i++)
		if ((err = pvback_bus_read_fe_uint(&b->bus, keys[i], UINT32_MAX, &b->ref[i])))
			return fail(b, err, "frontend key %s: %s", keys[i], strerror(-err));
	return 0;
}

static int ping_pong(struct pvtest_back *b, int timeout_ms)
{
	for (uint64_t n = 1; n <= b->rounds; n++) {
		struct pollfd p = { .fd = b->e->wait_fd, .events = POLLIN };
		uint32_t v;

		do {
			if (poll(&p, 1, timeout_ms) != 1)
				return fail(b, -ETIMEDOUT, "round %llu: no send from the guest",
					    (unsigned long long)n);
			pvback_evtchn_ack(b->e);
			v = __atomic_load_n(b->rw, __ATOMIC_ACQUIRE);
		} while (v != 2 * n); /* a spurious wake: wait again */
		__atomic_store_n(b->rw, (uint32_t)(2 * n + 1), __ATOMIC_RELEASE);
		if (pvback_evtchn_notify(b->dom, b->e))
			return fail(b, -EIO, "round %llu: notify failed", (unsigned long long)n);
	}
	return 0;
}

static int serve(struct pvtest_back *b, const char *ctl_path, int timeout_ms)
{
	char res[96], path[128];
	int err, st;

	if ((err = pvback_bus_set_state(&b->bus, PVBACK_STATE_INITWAIT)))
		return fail(b, err, "set InitWait: %s", strerror(-err));
	st = pvback_bus_wait_frontend(&b->bus, PVBACK_STATE_INITIALISED, PVBACK_STATE_CONNECTED, timeout_ms);
	if (st < 0)
		return fail(b, st, "frontend never Initialised: %s", strerror(-st));
	if ((err = read_keys(b)))
		return err;
	if ((err = pvback_attach(&b->dom, ctl_path, "pvtest/0")))
		return fail(b, err, "%s: attach: %s", ctl_path, strerror(-err));
	check_grants(b, res, sizeof(res));
	snprintf(path, sizeof(path), "%s/grant-checks", b->bus.be);
	if ((err = xs_write(b->bus.c, 0, path, res, strlen(res))))
		return fail(b, err, "write grant-checks: %s", strerror(-err));
	if (!b->rw)
		return fail(b, -EIO, "grant checks: %s", res);
	if ((err = pvback_evtchn_bind(b->dom, (uint32_t)b->port, &b->e)))
		return fail(b, err, "bind port %llu: %s", (unsigned long long)b->port, strerror(-err));
	if ((err = pvback_bus_set_state(&b->bus, PVBACK_STATE_CONNECTED)) || (err = ping_pong(b, timeout_ms)))
		return err < 0 && !b->why[0] ? fail(b, err, "connect: %s", strerror(-err)) : err;
	st = pvback_bus_wait_frontend(&b->bus, PVBACK_STATE_CLOSING, PVBACK_STATE_CLOSED, timeout_ms);
	if (st < 0)
		return fail(b, st, "frontend never closed: %s", strerror(-st));
	pvback_gnt_unmap(b->dom, (uint32_t)b->ref[0]);
	b->rw = NULL;
	return pvback_bus_set_state(&b->bus, PVBACK_STATE_CLOSED);
}

int pvtest_back_run(const char *store_sock, const char *ctl_path, uint16_t domid, uint32_t devid,
		    int timeout_ms, char *why, size_t why_len)
{
	struct pvtest_back b = { .why = why, .why_len = why_len };
	struct xs_client *c;
	int err;

	why[0] = '\0';
	if ((err = xs_client_open(store_sock, &c)))
		return fail(&b, err, "store: %s", strerror(-err));
	err = pvback_bus_open(&b.bus, c, "pvtest", domid, devid);
	if (err)
		fail(&b, err, "device pvtest/%u of domain %u: %s", devid, domid, strerror(-err));
	else
		err = serve(&b, ctl_path, timeout_ms);
	if (b.e)
		pvback_evtchn_unbind(b.dom, b.e);
	pvback_detach(b.dom);
	xs_client_close(c);
	return err;
}
