/* SPDX-License-Identifier: MIT */
/* Host half of the platform self-test: grant checks, a held grant, an
 * event-channel ping-pong, the handshake. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pvback.h"
#include "pvback_bus.h"
#include "pvtest_back.h"

struct pvtest_back {
	struct pvback_bus_dev bus;
	struct pvback_dom *dom;
	struct pvback_evtchn *e;
	uint64_t port, ref[5], rounds;
	uint32_t *rw; /* gnt-rw, held while connected */
	int spin_us;
	double *t;    /* wake time of each round (ns), when timing */
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

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Waits for a send: polls without sleeping for spin_us first (a sleep and
 * wake-up costs ~10x the doorbell on a busy host), then sleeps. */
static int wait_send(struct pvtest_back *b, int timeout_ms)
{
	struct pollfd p = { .fd = b->e->wait_fd, .events = POLLIN };
	double until = now_ns() + b->spin_us * 1e3;

	while (b->spin_us && now_ns() < until)
		if (poll(&p, 1, 0) == 1)
			return 1;
	return poll(&p, 1, timeout_ms);
}

static int ping_pong(struct pvtest_back *b, int timeout_ms)
{
	for (uint64_t n = 1; n <= b->rounds; n++) {
		uint32_t v;

		do {
			if (wait_send(b, timeout_ms) != 1)
				return fail(b, -ETIMEDOUT, "round %llu: no send from the guest",
					    (unsigned long long)n);
			pvback_evtchn_ack(b->e);
			v = __atomic_load_n(b->rw, __ATOMIC_ACQUIRE);
		} while (v != 2 * n); /* a spurious wake: wait again */
		if (b->t)
			b->t[n - 1] = now_ns();
		__atomic_store_n(b->rw, (uint32_t)(2 * n + 1), __ATOMIC_RELEASE);
		if (pvback_evtchn_notify(b->dom, b->e))
			return fail(b, -EIO, "round %llu: notify failed", (unsigned long long)n);
	}
	return 0;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, c = *(const double *)y;

	return a < c ? -1 : a > c;
}

static void summarize(struct pvtest_back *b, struct pvtest_back_stats *st)
{
	uint64_t warm = b->rounds / 10, m = b->rounds - warm - 1;
	double *d;

	if (b->rounds < 20 || !(d = malloc(sizeof(*d) * m)))
		return;
	for (uint64_t i = 0; i < m; i++)
		d[i] = b->t[warm + i + 1] - b->t[warm + i];
	qsort(d, m, sizeof(*d), cmp_double);
	st->rounds = m;
	st->p50_us = d[m / 2] / 1e3;
	st->p99_us = d[m * 99 / 100] / 1e3;
	st->per_sec = (double)m / ((b->t[b->rounds - 1] - b->t[warm]) / 1e9);
	free(d);
}

static int serve(struct pvtest_back *b, const char *ctl_path, int timeout_ms, bool timing)
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
	if (timing && !(b->t = calloc(b->rounds ? b->rounds : 1, sizeof(*b->t))))
		return fail(b, -ENOMEM, "%llu round-trip timestamps", (unsigned long long)b->rounds);
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

int pvtest_back_run_opts(const char *store_sock, const char *ctl_path, uint16_t domid, uint32_t devid,
			 const struct pvtest_back_opts *o, struct pvtest_back_stats *st, char *why,
			 size_t why_len)
{
	struct pvtest_back b = { .why = why, .why_len = why_len, .spin_us = o->spin_us };
	struct xs_client *c;
	int err;

	why[0] = '\0';
	if ((err = xs_client_open(store_sock, &c)))
		return fail(&b, err, "store: %s", strerror(-err));
	err = pvback_bus_open(&b.bus, c, "pvtest", domid, devid);
	if (err)
		fail(&b, err, "device pvtest/%u of domain %u: %s", devid, domid, strerror(-err));
	else
		err = serve(&b, ctl_path, o->timeout_ms, st != NULL);
	if (!err && st && b.t)
		summarize(&b, st);
	free(b.t);
	if (b.e)
		pvback_evtchn_unbind(b.dom, b.e);
	pvback_detach(b.dom);
	xs_client_close(c);
	return err;
}

int pvtest_back_run(const char *store_sock, const char *ctl_path, uint16_t domid, uint32_t devid,
		    int timeout_ms, char *why, size_t why_len)
{
	struct pvtest_back_opts o = { .timeout_ms = timeout_ms };

	return pvtest_back_run_opts(store_sock, ctl_path, domid, devid, &o, NULL, why, why_len);
}
