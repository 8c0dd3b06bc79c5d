/* SPDX-License-Identifier: MIT */
/* Introduce and release a guest in the store (see store_dom.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store_dom.h"
#include "xs_client.h"

static int home_create(struct xs_client *c, uint16_t domid)
{
	char home[40], owner[16];
	const char *perms[] = { owner };
	uint32_t tx;
	int err;

	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	snprintf(owner, sizeof(owner), "n%u", domid); /* owner domid, others none */
	for (int tries = 0; tries < 8; tries++) {
		if ((err = xs_transaction_start(c, &tx)))
			return err;
		err = xs_mkdir(c, tx, home);
		if (!err)
			err = xs_set_perms(c, tx, home, perms, 1);
		if (err) {
			xs_transaction_end(c, tx, false);
			return err;
		}
		err = xs_transaction_end(c, tx, true);
		if (err != -EAGAIN)
			return err;
	}
	return -EAGAIN;
}

int pv_store_introduce(const char *store_sock, uint16_t domid, uint64_t ring_gfn, uint32_t port,
		       int *guest_fd)
{
	struct xs_client *c = NULL, *g = NULL;
	char args[64];
	int n, err, fd;

	if (domid == 0 || ring_gfn > UINT32_MAX)
		return -EINVAL;
	if ((err = xs_client_open(store_sock, &c)))
		return err;
	xs_client_set_reconnect_ms(c, 0); /* a vCPU thread waits on this: fail fast */
	err = home_create(c, domid);
	n = snprintf(args, sizeof(args), "%u%c%llu%c%u", domid, 0, (unsigned long long)ring_gfn, 0, port);
	if (!err)
		err = xs_client_request(c, XS_INTRODUCE, 0, args, (size_t)n + 1, NULL, NULL);
	xs_client_close(c);
	if (err)
		return err;
	/* The guest's own connection: privileged until handed over, then the
	 * guest's domid for good.  No reconnection: a new daemon needs a new
	 * handover. */
	if ((err = xs_client_open(store_sock, &g)))
		return err;
	xs_client_set_reconnect_ms(g, 0);
	n = snprintf(args, sizeof(args), "%u", domid);
	err = xs_client_request(g, XS_PVKVM_HANDOVER, 0, args, (size_t)n + 1, NULL, NULL);
	fd = err ? -1 : dup(xs_client_fd(g));
	if (!err && fd < 0)
		err = -errno;
	xs_client_close(g);
	if (!err)
		*guest_fd = fd;
	return err;
}

int pv_store_release(const char *store_sock, uint16_t domid)
{
	struct xs_client *c;
	char arg[16];
	int n = snprintf(arg, sizeof(arg), "%u", domid), err;

	if ((err = xs_client_open(store_sock, &c)))
		return err;
	xs_client_set_reconnect_ms(c, 0); /* VM teardown must not wait for a dead store */
	err = xs_client_request(c, XS_RELEASE, 0, arg, (size_t)n + 1, NULL, NULL);
	xs_client_close(c);
	return err;
}

int pv_store_forget(const char *store_sock, uint16_t domid)
{
	struct xs_client *c;
	char arg[16], home[40];
	int n = snprintf(arg, sizeof(arg), "%u", domid), err;

	if (domid == 0)
		return -EINVAL;
	if ((err = xs_client_open(store_sock, &c)))
		return err;
	xs_client_set_reconnect_ms(c, 0);
	err = xs_client_request(c, XS_RELEASE, 0, arg, (size_t)n + 1, NULL, NULL);
	if (!err || err == -ENOENT) {
		snprintf(home, sizeof(home), "/local/domain/%u", domid);
		err = xs_rm(c, 0, home);
		if (err == -ENOENT)
			err = 0;
	}
	xs_client_close(c);
	return err;
}

struct add_dev {
	uint16_t domid;
	const char *type;
	uint32_t devid;
	const char *const *keys, *const *values;
	unsigned n;
};

static int write_str(struct xs_client *c, uint32_t tx, const char *dir, const char *key,
		     const char *value)
{
	char path[192];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, key) >= sizeof(path))
		return -ENAMETOOLONG;
	return xs_write(c, tx, path, value, strlen(value));
}

static int add_device_tx(struct xs_client *c, uint32_t tx, void *opaque)
{
	const struct add_dev *a = opaque;
	char fe[96], be[96], dir[96], dom[16], p_guest[16], p_dom0[16];
	const char *fe_perms[] = { p_guest, "r0" }, *be_perms[] = { "n0", p_guest };
	int err;

	snprintf(fe, sizeof(fe), "/local/domain/%u/device/%s/%u", a->domid, a->type, a->devid);
	snprintf(be, sizeof(be), "/local/domain/0/backend/%s/%u/%u", a->type, a->domid, a->devid);
	snprintf(dom, sizeof(dom), "%u", a->domid);
	snprintf(p_guest, sizeof(p_guest), "n%u", a->domid);
	snprintf(p_dom0, sizeof(p_dom0), "r%u", a->domid);
	be_perms[1] = p_dom0;
	if ((err = xs_mkdir(c, tx, be)) || (err = xs_set_perms(c, tx, be, be_perms, 2)) ||
	    (err = write_str(c, tx, be, "frontend", fe)) ||
	    (err = write_str(c, tx, be, "frontend-id", dom)) ||
	    (err = write_str(c, tx, be, "state", "1")))
		return err;
	for (unsigned i = 0; i < a->n; i++)
		if ((err = write_str(c, tx, be, a->keys[i], a->values[i])))
			return err;
	/* device/ and device/<type>/ are created implicitly as dom0's: let the
	 * guest list them (read-only, as Xen's toolstack does) so it can
	 * discover its devices.  Children inherit the parent's permissions. */
	snprintf(dir, sizeof(dir), "/local/domain/%u/device/%s", a->domid, a->type);
	if ((err = xs_mkdir(c, tx, dir)) || (err = xs_set_perms(c, tx, dir, be_perms, 2)))
		return err;
	*strrchr(dir, '/') = '\0';
	if ((err = xs_set_perms(c, tx, dir, be_perms, 2)))
		return err;
	if ((err = xs_mkdir(c, tx, fe)) || (err = xs_set_perms(c, tx, fe, fe_perms, 2)) ||
	    (err = write_str(c, tx, fe, "backend", be)) ||
	    (err = write_str(c, tx, fe, "backend-id", "0")) ||
	    (err = write_str(c, tx, fe, "state", "1")))
		return err;
	return 0;
}

int pv_store_add_device(const char *store_sock, uint16_t domid, const char *type, uint32_t devid,
			const char *const *be_keys, const char *const *be_values, unsigned n)
{
	struct add_dev a = { domid, type, devid, be_keys, be_values, n };
	struct xs_client *c;
	int err;

	if (domid == 0 || strlen(type) > 8 || strchr(type, '/'))
		return -EINVAL;
	if ((err = xs_client_open(store_sock, &c)))
		return err;
	err = xs_transaction_retry(c, add_device_tx, &a, 8);
	xs_client_close(c);
	return err;
}
