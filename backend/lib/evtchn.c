/* SPDX-License-Identifier: MIT */
/* Backend event channels: bind over the control socket, wait on an eventfd,
 * raise into the guest's shared info. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "ctl_msg.h"
#include "evtchn_2l.h"
#include "pvback_int.h"

int pvback_evtchn_bind(struct pvback_dom *d, uint32_t port, struct pvback_evtchn **out)
{
	union {
		struct pv_ctl_evtchn_bound b;
		struct pv_ctl_error e;
		unsigned char raw[PV_CTL_MAX_MSG];
	} r;
	struct pv_ctl_port req = { .port = port };
	struct pv_ctl_hdr h;
	struct pvback_evtchn *e = NULL;
	int fds[PV_CTL_MAX_FDS], err;
	unsigned nfds = 0, slot;

	pthread_mutex_lock(&d->lock);
	for (slot = 0; slot < PVBACK_MAX_EVTCHN && d->evtchn[slot]; slot++)
		;
	err = -ENOSPC;
	if (slot == PVBACK_MAX_EVTCHN)
		goto out;
	err = pvback_request(d, PV_CTL_EVTCHN_BIND, &req, sizeof(req), &h, &r, sizeof(r), fds, &nfds);
	if (err)
		goto out;
	if (h.type == PV_CTL_ERROR && h.len == sizeof(r.e)) {
		err = r.e.err < 0 ? r.e.err : -EPROTO;
		goto out;
	}
	err = -EPROTO;
	if (h.type != PV_CTL_EVTCHN_BOUND || h.len != sizeof(r.b) || r.b.port != port ||
	    r.b.vcpu >= d->nr_vcpus || nfds != 1u + !!r.b.has_raise)
		goto out;
	err = -ENOMEM;
	e = calloc(1, sizeof(*e));
	if (!e)
		goto out;
	e->port = port;
	e->vcpu = r.b.vcpu;
	e->wait_fd = fds[0];
	e->raise_fd = r.b.has_raise ? fds[1] : -1;
	nfds = 0;
	d->evtchn[slot] = e;
	*out = e;
	err = 0;
out:
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	pthread_mutex_unlock(&d->lock);
	return err;
}

void pvback_evtchn_unbind(struct pvback_dom *d, struct pvback_evtchn *e)
{
	union {
		struct pv_ctl_ok ok;
		unsigned char raw[PV_CTL_MAX_MSG];
	} r;
	struct pv_ctl_port req = { .port = e->port };
	struct pv_ctl_hdr h;
	int fds[PV_CTL_MAX_FDS];
	unsigned nfds = 0;

	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < PVBACK_MAX_EVTCHN; i++)
		if (d->evtchn[i] == e)
			d->evtchn[i] = NULL;
	/* A closed port needs no unbind; a failed one is cleaned up when we go. */
	if (!e->closed &&
	    !pvback_request(d, PV_CTL_EVTCHN_UNBIND, &req, sizeof(req), &h, &r, sizeof(r), fds, &nfds))
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
	pthread_mutex_unlock(&d->lock);
	close(e->wait_fd);
	if (e->raise_fd >= 0)
		close(e->raise_fd);
	free(e);
}

int pvback_evtchn_notify(struct pvback_dom *d, struct pvback_evtchn *e)
{
	struct pvkvm_shared_info *si = __atomic_load_n(&d->shinfo, __ATOMIC_ACQUIRE);
	uint64_t one = 1;

	if (!si)
		return -ENODEV;
	if (e->closed)
		return -EPIPE;
	if (evtchn_2l_raise(si, e->port, __atomic_load_n(&e->vcpu, __ATOMIC_ACQUIRE)) &&
	    e->raise_fd >= 0 && write(e->raise_fd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	return 0;
}

uint64_t pvback_evtchn_ack(struct pvback_evtchn *e)
{
	uint64_t v = 0;

	if (read(e->wait_fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}
