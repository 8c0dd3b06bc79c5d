/* SPDX-License-Identifier: MIT */
/* `pvkvm run --disk SPEC`: the embedded backend, one blkback_server thread per
 * disk in the VMM process.  Each creates its device in the store once the
 * guest introduced itself (vbd 51712, 51728, ... as Xen numbers xvda, xvdb)
 * and serves it through the guest's own control socket, in the store the
 * guest was introduced to (embedded in pvkvm run or pvkvm-stored). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkback.h"
#include "blkback_run.h"

struct blkback_run_disks {
	unsigned n;
	struct blkback_server *s[BLKBACK_RUN_MAX_DISKS];
};

int blkback_run_disk_check(const char *spec, char *err, unsigned errlen)
{
	struct blkback_disk_opts o;
	char *copy = strdup(spec);
	int r;

	if (!copy)
		return -ENOMEM;
	r = blkback_disk_opts_parse(&o, copy, err, errlen);
	free(copy);
	return r;
}

int blkback_run_disks_start(struct blkback_run_disks **out, char *const *specs, unsigned n,
			    const char *ctl, const char *store, uint16_t domid)
{
	struct blkback_run_disks *d;
	char err[256];
	int r = 0;

	*out = NULL;
	if (n == 0)
		return 0;
	if (n > BLKBACK_RUN_MAX_DISKS)
		return -E2BIG;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	for (unsigned i = 0; i < n && !r; i++) {
		struct blkback_serve_opts o = { .ctl_path = ctl, .store_sock = store, .domid = domid,
						.devid = 51712 + 16 * i, .create = true };
		char *copy = strdup(specs[i]);

		r = copy ? blkback_disk_opts_parse(&o.disk, copy, err, sizeof(err)) : -ENOMEM;
		if (!r)
			r = blkback_server_start(&d->s[d->n], &o);
		if (!r)
			d->n++;
		free(copy);
	}
	if (r) {
		blkback_run_disks_stop(d);
		return r;
	}
	*out = d;
	return 0;
}

void blkback_run_disks_stop(struct blkback_run_disks *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->n; i++)
		blkback_server_stop(d->s[i]);
	free(d);
}
