/* SPDX-License-Identifier: MIT */
/* Store client over the store ring, polling. */
#include "pvfront_xs.h"

#define XS_SPIN_DEFAULT (UINT64_C(1) << 26)

static size_t xs_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static void xs_copy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
}

static bool xs_streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

int pvfront_xs_init(struct pvfront_xs *xs, struct pvfront *f)
{
	int64_t gfn = pvfront_hcall(f, PVKVM_HC_STORE_OP, PVKVM_STORE_GET_GFN, 0, 0);
	int64_t port = pvfront_hcall(f, PVKVM_HC_STORE_OP, PVKVM_STORE_GET_EVTCHN, 0, 0);

	if (gfn < 0)
		return (int)gfn;
	if (port < 0)
		return (int)port;
	xs->f = f;
	xs->ring = f->env->phys_to_virt(f->env->opaque, (uint64_t)gfn << PVKVM_PAGE_SHIFT);
	xs->port = (uint32_t)port;
	xs->req_id = 1;
	xs->spin_limit = XS_SPIN_DEFAULT;
	xs->ev_head = xs->ev_count = 0;
	return xs->ring ? 0 : -PVFRONT_EIO;
}

static int xs_wait(struct pvfront_xs *xs, uint64_t *spins)
{
	if (++*spins > xs->spin_limit)
		return -PVFRONT_ETIMEDOUT;
	pvfront_evtchn_poll(xs->f, xs->port);
	if (xs->f->env->relax)
		xs->f->env->relax(xs->f->env->opaque);
	return 0;
}

static int xs_put(struct pvfront_xs *xs, const void *data, uint32_t len, uint64_t *spins)
{
	const char *p = data;

	while (len) {
		uint32_t cons = __atomic_load_n(&xs->ring->req_cons, __ATOMIC_ACQUIRE);
		uint32_t prod = xs->ring->req_prod;
		uint32_t space = XENSTORE_RING_SIZE - (prod - cons);
		int err;

		if (prod - cons > XENSTORE_RING_SIZE)
			return -PVFRONT_EIO;
		if (space == 0) {
			pvfront_evtchn_send(xs->f, xs->port);
			if ((err = xs_wait(xs, spins)))
				return err;
			continue;
		}
		uint32_t chunk = XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(prod);
		if (chunk > space)
			chunk = space;
		if (chunk > len)
			chunk = len;
		xs_copy(&xs->ring->req[MASK_XENSTORE_IDX(prod)], p, chunk);
		__atomic_store_n(&xs->ring->req_prod, prod + chunk, __ATOMIC_RELEASE);
		p += chunk;
		len -= chunk;
	}
	return 0;
}

/* Reads len bytes into dst (NULL: discard). */
static int xs_get(struct pvfront_xs *xs, void *dst, uint32_t len, uint64_t *spins)
{
	char *d = dst;

	while (len) {
		uint32_t prod = __atomic_load_n(&xs->ring->rsp_prod, __ATOMIC_ACQUIRE);
		uint32_t cons = xs->ring->rsp_cons;
		int err;

		if (prod - cons > XENSTORE_RING_SIZE)
			return -PVFRONT_EIO;
		if (prod == cons) {
			if ((err = xs_wait(xs, spins)))
				return err;
			continue;
		}
		uint32_t chunk = XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(cons);
		if (chunk > prod - cons)
			chunk = prod - cons;
		if (chunk > len)
			chunk = len;
		if (d) {
			xs_copy(d, &xs->ring->rsp[MASK_XENSTORE_IDX(cons)], chunk);
			d += chunk;
		}
		__atomic_store_n(&xs->ring->rsp_cons, cons + chunk, __ATOMIC_RELEASE);
		len -= chunk;
		/* Room freed: the other side may be waiting to write more. */
		pvfront_evtchn_send(xs->f, xs->port);
	}
	return 0;
}

static int xs_take_event(struct pvfront_xs *xs, const struct xsd_sockmsg *h, uint64_t *spins)
{
	struct pvfront_xs_event *e;

	if (h->len > PVFRONT_XS_EVENT_MAX)
		return xs_get(xs, NULL, h->len, spins); /* too long for us: dropped */
	if (xs->ev_count == PVFRONT_XS_EVENTS) {
		xs->ev_head = (xs->ev_head + 1) % PVFRONT_XS_EVENTS;
		xs->ev_count--;
	}
	e = &xs->ev[(xs->ev_head + xs->ev_count) % PVFRONT_XS_EVENTS];
	e->len = h->len;
	xs->ev_count++;
	return xs_get(xs, e->data, h->len, spins);
}

static const struct {
	const char *name;
	int err;
} xs_errors[] = {
	{ "EINVAL", PVFRONT_EINVAL }, { "EACCES", PVFRONT_EACCES }, { "EEXIST", PVFRONT_EEXIST },
	{ "ENOENT", PVFRONT_ENOENT }, { "ENOMEM", PVFRONT_ENOMEM }, { "ENOSPC", PVFRONT_ENOSPC },
	{ "EIO", PVFRONT_EIO }, { "ENOTEMPTY", PVFRONT_ENOTEMPTY }, { "ENOSYS", PVFRONT_ENOSYS },
	{ "EBUSY", PVFRONT_EBUSY }, { "EAGAIN", PVFRONT_EAGAIN }, { "E2BIG", PVFRONT_E2BIG },
	{ "EPERM", PVFRONT_EPERM },
};

static int xs_error(const char *s, uint32_t len)
{
	if (len == 0 || s[len - 1] != '\0')
		return -PVFRONT_EIO;
	for (unsigned i = 0; i < sizeof(xs_errors) / sizeof(xs_errors[0]); i++)
		if (xs_streq(s, xs_errors[i].name))
			return -xs_errors[i].err;
	return -PVFRONT_EIO;
}

/* Reads messages until the reply to req_id; queues watch events. */
static int xs_reply(struct pvfront_xs *xs, uint32_t req_id, uint32_t type, char *reply,
		    uint32_t cap, uint64_t *spins)
{
	struct xsd_sockmsg h;
	char errbuf[16];
	int err;

	for (;;) {
		if ((err = xs_get(xs, &h, sizeof(h), spins)))
			return err;
		if (h.len > XENSTORE_PAYLOAD_MAX)
			return -PVFRONT_EIO; /* the stream cannot be trusted any more */
		if (h.type == XS_WATCH_EVENT) {
			if ((err = xs_take_event(xs, &h, spins)))
				return err;
			continue;
		}
		if (h.req_id != req_id)
			return -PVFRONT_EIO;
		if (h.type == XS_ERROR) {
			uint32_t n = h.len < sizeof(errbuf) ? h.len : sizeof(errbuf);

			if ((err = xs_get(xs, errbuf, n, spins)) ||
			    (err = xs_get(xs, NULL, h.len - n, spins)))
				return err;
			return xs_error(errbuf, n);
		}
		if (h.type != type)
			return -PVFRONT_EIO;
		if (h.len > cap) {
			err = xs_get(xs, NULL, h.len, spins);
			return err ? err : -PVFRONT_E2BIG;
		}
		err = xs_get(xs, reply, h.len, spins);
		return err ? err : (int)h.len;
	}
}

int pvfront_xs_request(struct pvfront_xs *xs, uint32_t type, uint32_t tx, const char *const *strs,
		       unsigned n, bool last_raw, char *reply, uint32_t cap)
{
	struct xsd_sockmsg h = { .type = type, .req_id = xs->req_id++, .tx_id = tx, .len = 0 };
	uint64_t spins = 0;
	int err;

	for (unsigned i = 0; i < n; i++) {
		size_t l = xs_strlen(strs[i]) + !(last_raw && i == n - 1);

		if (l > XENSTORE_PAYLOAD_MAX - h.len)
			return -PVFRONT_E2BIG;
		h.len += (uint32_t)l;
	}
	if ((err = xs_put(xs, &h, sizeof(h), &spins)))
		return err;
	for (unsigned i = 0; i < n; i++) {
		uint32_t l = (uint32_t)xs_strlen(strs[i]) + !(last_raw && i == n - 1);

		if ((err = xs_put(xs, strs[i], l, &spins)))
			return err;
	}
	pvfront_evtchn_send(xs->f, xs->port);
	return xs_reply(xs, h.req_id, type, reply, cap, &spins);
}

static int xs_simple(struct pvfront_xs *xs, uint32_t type, uint32_t tx, const char *const *strs,
		     unsigned n, bool last_raw)
{
	char ok[8];
	int r = pvfront_xs_request(xs, type, tx, strs, n, last_raw, ok, sizeof(ok));

	return r < 0 ? r : 0;
}

int pvfront_xs_read(struct pvfront_xs *xs, uint32_t tx, const char *path, char *buf, uint32_t cap)
{
	int r;

	if (cap == 0)
		return -PVFRONT_E2BIG;
	r = pvfront_xs_request(xs, XS_READ, tx, &path, 1, false, buf, cap - 1);
	if (r >= 0)
		buf[r] = '\0';
	return r;
}

int pvfront_xs_write(struct pvfront_xs *xs, uint32_t tx, const char *path, const char *value)
{
	const char *s[2] = { path, value };

	return xs_simple(xs, XS_WRITE, tx, s, 2, true);
}

int pvfront_xs_rm(struct pvfront_xs *xs, uint32_t tx, const char *path)
{
	return xs_simple(xs, XS_RM, tx, &path, 1, false);
}

int pvfront_xs_directory(struct pvfront_xs *xs, uint32_t tx, const char *path, char *buf,
			 uint32_t cap)
{
	int r = pvfront_xs_request(xs, XS_DIRECTORY, tx, &path, 1, false, buf, cap);
	int count = 0;

	if (r < 0)
		return r;
	if (r > 0 && buf[r - 1] != '\0')
		return -PVFRONT_EIO;
	for (int i = 0; i < r; i++)
		count += buf[i] == '\0';
	return count;
}

int pvfront_xs_tx_start(struct pvfront_xs *xs, uint32_t *tx)
{
	const char *empty = "";
	char buf[16];
	uint32_t v = 0;
	int r = pvfront_xs_request(xs, XS_TRANSACTION_START, 0, &empty, 1, false, buf, sizeof(buf) - 1);

	if (r < 0)
		return r;
	buf[r] = '\0';
	for (int i = 0; buf[i]; i++) {
		if (buf[i] < '0' || buf[i] > '9' || v > UINT32_MAX / 10 - 1)
			return -PVFRONT_EIO;
		v = v * 10 + (uint32_t)(buf[i] - '0');
	}
	*tx = v;
	return v ? 0 : -PVFRONT_EIO;
}

int pvfront_xs_tx_end(struct pvfront_xs *xs, uint32_t tx, bool commit)
{
	const char *s = commit ? "T" : "F";

	return xs_simple(xs, XS_TRANSACTION_END, tx, &s, 1, false);
}

int pvfront_xs_watch(struct pvfront_xs *xs, const char *path, const char *token)
{
	const char *s[2] = { path, token };

	return xs_simple(xs, XS_WATCH, 0, s, 2, false);
}

int pvfront_xs_unwatch(struct pvfront_xs *xs, const char *path, const char *token)
{
	const char *s[2] = { path, token };

	return xs_simple(xs, XS_UNWATCH, 0, s, 2, false);
}

int pvfront_xs_next_event(struct pvfront_xs *xs, bool wait, struct pvfront_xs_event *ev,
			  const char **path, const char **token)
{
	uint64_t spins = 0;

	while (xs->ev_count == 0) {
		uint32_t prod = __atomic_load_n(&xs->ring->rsp_prod, __ATOMIC_ACQUIRE);
		struct xsd_sockmsg h;
		int err;

		if (prod == xs->ring->rsp_cons) {
			if (!wait)
				return 0;
			if ((err = xs_wait(xs, &spins)))
				return err;
			continue;
		}
		/* Only events arrive unsolicited. */
		if ((err = xs_get(xs, &h, sizeof(h), &spins)))
			return err;
		if (h.type != XS_WATCH_EVENT || h.len > XENSTORE_PAYLOAD_MAX)
			return -PVFRONT_EIO;
		if ((err = xs_take_event(xs, &h, &spins)))
			return err;
	}
	*ev = xs->ev[xs->ev_head];
	xs->ev_head = (xs->ev_head + 1) % PVFRONT_XS_EVENTS;
	xs->ev_count--;
	/* "path\0token\0": both must be terminated inside the event. */
	uint32_t i = 0;
	while (i < ev->len && ev->data[i])
		i++;
	if (ev->len == 0 || i + 1 >= ev->len || ev->data[ev->len - 1] != '\0')
		return -PVFRONT_EIO;
	*path = ev->data;
	*token = ev->data + i + 1;
	return 1;
}
