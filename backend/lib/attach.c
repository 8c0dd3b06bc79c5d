/* SPDX-License-Identifier: MIT */
/* Attaching to a guest through its control socket; pushes from the VMM. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_msg.h"
#include "pvback_int.h"
#include "pv_log.h"

#define PVBACK_REPLY_TIMEOUT_MS 5000

static void take_gnt_frames(struct pvback_dom *d, const struct pv_ctl_gnt_frames *m)
{
	uint32_t nr = m->nr;

	if (nr > PVKVM_GNT_MAX_FRAMES)
		return;
	/* A frame outside RAM makes the references in it unusable, not the rest. */
	for (uint32_t i = 0; i < nr; i++)
		d->gnt_gfns[i] = pv_gmem_gfn_ok(&d->gmem, m->gfn[i]) ? m->gfn[i] : UINT64_MAX;
	d->gnt_nr = nr;
}

static void take_shinfo(struct pvback_dom *d, const struct pv_ctl_shinfo *m)
{
	void *si = m->set ? pv_gmem_ptr(&d->gmem, m->gfn << 12, 4096) : NULL;

	__atomic_store_n(&d->shinfo, (struct pvkvm_shared_info *)si, __ATOMIC_RELEASE);
}

static void take_changed(struct pvback_dom *d, const struct pv_ctl_evtchn_changed *m,
			 int *fds, unsigned nfds)
{
	for (unsigned i = 0; i < PVBACK_MAX_EVTCHN; i++) {
		struct pvback_evtchn *e = d->evtchn[i];

		if (!e || e->port != m->port)
			continue;
		if (m->change == 2) {
			e->closed = true;
		} else if (m->vcpu < d->nr_vcpus) {
			/* dup2 swaps the fd under a concurrent notify without
			 * ever leaving a closed number behind. */
			if (e->raise_fd >= 0 && nfds) {
				dup2(fds[0], e->raise_fd);
				close(fds[0]);
			} else if (nfds) {
				e->raise_fd = fds[0];
			}
			__atomic_store_n(&e->vcpu, m->vcpu, __ATOMIC_RELEASE);
			nfds = 0;
		}
	}
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
}

/* Handles a push; false if the message was not one. */
static bool take_push(struct pvback_dom *d, const struct pv_ctl_hdr *h, const void *buf,
		      int *fds, unsigned nfds)
{
	if (h->seq != 0)
		return false;
	if (h->type == PV_CTL_GNT_FRAMES && h->len == sizeof(struct pv_ctl_gnt_frames))
		take_gnt_frames(d, buf);
	else if (h->type == PV_CTL_SHINFO && h->len == sizeof(struct pv_ctl_shinfo))
		take_shinfo(d, buf);
	else if (h->type == PV_CTL_EVTCHN_CHANGED && h->len == sizeof(struct pv_ctl_evtchn_changed)) {
		take_changed(d, buf, fds, nfds);
		return true;
	} else
		pv_log_warn("pvback", "unexpected control message type %u", h->type);
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	return true;
}

int pvback_request(struct pvback_dom *d, uint16_t type, const void *req, uint32_t len,
		   struct pv_ctl_hdr *h, void *reply, uint32_t cap, int *fds, unsigned *nfds)
{
	uint32_t seq = ++d->seq ? d->seq : ++d->seq;
	int err = pv_ctl_send(d->sock, type, seq, req, len, NULL, 0, 0);

	while (!err) {
		struct pollfd p = { .fd = d->sock, .events = POLLIN };

		if (poll(&p, 1, PVBACK_REPLY_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		err = pv_ctl_recv(d->sock, h, reply, cap, fds, PV_CTL_MAX_FDS, nfds);
		if (err < 0)
			return err;
		err = 0;
		if (h->seq == seq)
			return 0;
		if (!take_push(d, h, reply, fds, *nfds))
			return -EPROTO;
	}
	return err;
}

int pvback_ctl_process(struct pvback_dom *d)
{
	unsigned char buf[PV_CTL_MAX_MSG];
	struct pv_ctl_hdr h;
	int fds[PV_CTL_MAX_FDS], err = 0;
	unsigned nfds;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		struct pollfd p = { .fd = d->sock, .events = POLLIN };

		if (poll(&p, 1, 0) <= 0)
			break;
		err = pv_ctl_recv(d->sock, &h, buf, sizeof(buf), fds, PV_CTL_MAX_FDS, &nfds);
		if (err < 0)
			break;
		err = 0;
		if (!take_push(d, &h, buf, fds, nfds)) {
			err = -EPROTO;
			break;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return err;
}

/* The VMM pushes shared info and then the grant frames right after
 * ATTACH_OK.  Wait for both: a non-blocking drain here raced with the VMM's
 * thread and left a freshly attached backend without its grant frames. */
static int attach_take_initial_pushes(struct pvback_dom *d)
{
	unsigned char buf[PV_CTL_MAX_MSG];
	struct pv_ctl_hdr h;
	int fds[PV_CTL_MAX_FDS], err;
	unsigned nfds;

	for (int i = 0; i < 2; i++) {
		struct pollfd p = { .fd = d->sock, .events = POLLIN };

		if (poll(&p, 1, PVBACK_REPLY_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		err = pv_ctl_recv(d->sock, &h, buf, sizeof(buf), fds, PV_CTL_MAX_FDS, &nfds);
		if (err < 0)
			return err;
		pthread_mutex_lock(&d->lock);
		err = take_push(d, &h, buf, fds, nfds) ? 0 : -EPROTO;
		pthread_mutex_unlock(&d->lock);
		if (err)
			return err;
	}
	return 0;
}

static int ctl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int attach_handshake(struct pvback_dom *d, const char *device)
{
	struct pv_ctl_attach a = { 0 };
	union {
		struct pv_ctl_attach_ok ok;
		struct pv_ctl_error err;
		unsigned char raw[PV_CTL_MAX_MSG];
	} r;
	struct pv_ctl_hdr h;
	int fds[PV_CTL_MAX_FDS], err;
	unsigned nfds = 0;

	if (strlen(device) >= sizeof(a.device))
		return -ENAMETOOLONG;
	strcpy(a.device, device);
	err = pvback_request(d, PV_CTL_ATTACH, &a, sizeof(a), &h, &r, sizeof(r), fds, &nfds);
	if (err)
		return err;
	if (h.type == PV_CTL_ERROR && h.len == sizeof(r.err)) {
		err = r.err.err < 0 ? r.err.err : -EPROTO;
		goto out;
	}
	err = -EPROTO;
	if (h.type != PV_CTL_ATTACH_OK || h.len != sizeof(r.ok) || nfds != 1 ||
	    r.ok.nr_ranges > PV_GMEM_MAX_RANGES || r.ok.nr_vcpus > PVKVM_MAX_VCPUS)
		goto out;
	err = pv_gmem_open(&d->gmem, fds[0], r.ok.mem_size, r.ok.r, r.ok.nr_ranges);
	if (err)
		goto out;
	nfds = 0; /* the memfd now belongs to d->gmem */
	d->domid = r.ok.domid;
	d->backend_dom = r.ok.backend_dom;
	d->nr_vcpus = r.ok.nr_vcpus;
out:
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	return err;
}

int pvback_attach(struct pvback_dom **out, const char *ctl_path, const char *device)
{
	struct pvback_dom *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	d->gmem.memfd = -1;
	d->pins = calloc(PVKVM_GNT_MAX_FRAMES * PVKVM_GNT_PER_FRAME, sizeof(*d->pins));
	d->sock = ctl_connect(ctl_path);
	err = d->sock < 0 ? d->sock : d->pins ? attach_handshake(d, device) : -ENOMEM;
	if (err) {
		if (d->sock >= 0)
			close(d->sock);
		free(d->pins);
		pthread_mutex_destroy(&d->lock);
		free(d);
		return err;
	}
	err = attach_take_initial_pushes(d);
	if (err) {
		pvback_detach(d);
		return err;
	}
	*out = d;
	return 0;
}

void pvback_detach(struct pvback_dom *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < PVBACK_MAX_EVTCHN; i++)
		if (d->evtchn[i])
			pvback_evtchn_unbind(d, d->evtchn[i]);
	pvback_gnt_release_all(d);
	close(d->sock);
	pv_gmem_close(&d->gmem);
	free(d->pins);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

uint16_t pvback_domid(const struct pvback_dom *d)
{
	return d->domid;
}

const struct pv_gmem *pvback_gmem(const struct pvback_dom *d)
{
	return &d->gmem;
}

int pvback_ctl_fd(const struct pvback_dom *d)
{
	return d->sock;
}
