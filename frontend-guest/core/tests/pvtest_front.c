/* SPDX-License-Identifier: MIT */
/* Guest half of the platform self-test (protocol in pvtest_front.h). */
#include "pvtest_front.h"

#define PVTEST_SPINS (UINT64_C(1) << 28)
#define PVTEST_FOREIGN_DOM 7
#define PVTEST_OUTSIDE_GFN 0xfffff000u

struct pvtest {
	struct pvfront *f;
	struct pvfront_xs *xs;
	struct pvfront_dev dev;
	uint32_t port;
	uint32_t ref[5]; /* rw, ro, foreign, revoked, outside */
	volatile uint32_t *rw_page;
};

static uint64_t gfn_of(struct pvfront *f, void *p)
{
	return f->env->virt_to_phys(f->env->opaque, p) >> PVKVM_PAGE_SHIFT;
}

static int grant_pages(struct pvtest *t)
{
	struct pvfront *f = t->f;
	uint16_t be = t->dev.backend_id;
	void *rw = f->env->alloc_page(f->env->opaque), *ro = f->env->alloc_page(f->env->opaque);

	if (!rw || !ro)
		return -PVFRONT_ENOMEM;
	t->rw_page = rw;
	if (pvfront_gnt_grant(f, be, gfn_of(f, rw), false, &t->ref[0]) ||
	    pvfront_gnt_grant(f, be, gfn_of(f, ro), true, &t->ref[1]) ||
	    pvfront_gnt_grant(f, PVTEST_FOREIGN_DOM, gfn_of(f, ro), false, &t->ref[2]) ||
	    pvfront_gnt_grant(f, be, PVTEST_OUTSIDE_GFN, false, &t->ref[4]) ||
	    /* Last, so no later grant reuses the revoked reference. */
	    pvfront_gnt_grant(f, be, gfn_of(f, ro), false, &t->ref[3]) ||
	    pvfront_gnt_revoke(f, t->ref[3]))
		return -PVFRONT_EIO;
	return 0;
}

static int connect(struct pvtest *t, uint32_t rounds)
{
	static const char *const keys[] = { "event-channel", "gnt-rw", "gnt-ro", "gnt-foreign",
					    "gnt-revoked", "gnt-outside", "rounds" };
	char num[7][12];
	const char *vals[7];
	uint64_t v[7] = { t->port, t->ref[0], t->ref[1], t->ref[2], t->ref[3], t->ref[4], rounds };

	for (unsigned i = 0; i < 7; i++) {
		pvfront_utoa(v[i], num[i], sizeof(num[i]));
		vals[i] = num[i];
	}
	return pvfront_bus_connect(t->xs, &t->dev, keys, vals, 7);
}

static bool checks_ok(struct pvtest *t)
{
	char path[128], buf[64];
	unsigned n = 0;

	for (const char *s = t->dev.backend; *s && n < sizeof(path) - 16; s++)
		path[n++] = *s;
	for (const char *s = "/grant-checks"; *s; s++)
		path[n++] = *s;
	path[n] = '\0';
	return pvfront_xs_read(t->xs, 0, path, buf, sizeof(buf)) == 2 && buf[0] == 'o' && buf[1] == 'k';
}

/* A console line through the hypercall (one VMM exit): the VMM logs it with
 * its exit count, so bench-evtchn counts the exits between two marks. */
static void mark(struct pvtest *t, const char *msg)
{
	char *buf = t->f->scratch;
	uint32_t n = 0;

	while (msg[n] && n < 64) {
		buf[n] = msg[n];
		n++;
	}
	pvfront_hcall(t->f, PVKVM_HC_CONSOLE_WRITE, t->f->env->virt_to_phys(t->f->env->opaque, buf), n, 0);
}

static int ping_pong(struct pvtest *t, uint32_t rounds)
{
	int err = 0;

	mark(t, "pvtest: ping-pong start");
	for (uint32_t n = 1; n <= rounds && !err; n++) {
		uint64_t spins = 0;

		__atomic_store_n(t->rw_page, 2 * n, __ATOMIC_RELEASE);
		pvfront_evtchn_send(t->f, t->port);
		while (!pvfront_evtchn_poll(t->f, t->port) && !err)
			if (++spins > PVTEST_SPINS)
				err = PVTEST_E_PINGPONG;
		if (!err && __atomic_load_n(t->rw_page, __ATOMIC_ACQUIRE) != 2 * n + 1)
			err = PVTEST_E_PINGPONG;
	}
	mark(t, "pvtest: ping-pong end");
	return err;
}

int pvtest_front_run(struct pvfront *f, struct pvfront_xs *xs, uint32_t rounds)
{
	struct pvtest t = { .f = f, .xs = xs };
	int err;

	if (pvfront_bus_discover(xs, "pvtest", &t.dev, 1) != 1)
		return PVTEST_E_DISCOVER;
	if ((!f->gnt_nr_frames && pvfront_gnt_setup(f, 1)) ||
	    pvfront_evtchn_alloc(f, t.dev.backend_id, &t.port) || grant_pages(&t))
		return PVTEST_E_SETUP;
	if (connect(&t, rounds))
		return PVTEST_E_CONNECT;
	if (!checks_ok(&t))
		return PVTEST_E_CHECKS;
	if (pvfront_gnt_revoke(f, t.ref[0]) != -PVFRONT_EBUSY)
		return PVTEST_E_REVOKE_HELD;
	if ((err = ping_pong(&t, rounds)))
		return err;
	if (pvfront_bus_close(xs, &t.dev))
		return PVTEST_E_CLOSE;
	if (pvfront_gnt_revoke(f, t.ref[0]) || pvfront_gnt_revoke(f, t.ref[1]) ||
	    pvfront_gnt_revoke(f, t.ref[2]) || pvfront_gnt_revoke(f, t.ref[4]))
		return PVTEST_E_REVOKE;
	pvfront_evtchn_close(f, t.port);
	return 0;
}

const char *pvtest_front_strerror(int err)
{
	switch (err) {
	case 0: return "ok";
	case PVTEST_E_DISCOVER: return "no device/pvtest in the store";
	case PVTEST_E_SETUP: return "grant/evtchn setup failed";
	case PVTEST_E_CONNECT: return "handshake failed";
	case PVTEST_E_CHECKS: return "backend's grant checks did not all hold";
	case PVTEST_E_REVOKE_HELD: return "revoked a grant the backend holds";
	case PVTEST_E_PINGPONG: return "event-channel ping-pong failed";
	case PVTEST_E_CLOSE: return "close handshake failed";
	case PVTEST_E_REVOKE: return "revoke after close failed";
	}
	return "unknown";
}
