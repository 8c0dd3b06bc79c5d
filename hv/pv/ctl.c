/* SPDX-License-Identifier: MIT */
/* Control socket server: accept dom0 backends, hand them guest memory, grant
 * frames, shared info and event-channel eventfds; survive hostile peers. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_msg.h"
#include "pv_log.h"

struct pv_ctl_conn {
	int fd;
	bool attached;
	bool dead;
	char device[60];
};

struct pv_ctl_server {
	pthread_mutex_t lock;
	struct pv_plat *plat;
	int listen_fd;
	int wake_fd;
	int memfd;
	uint64_t mem_size;
	pthread_t thread;
	bool started;
	bool stop;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct pv_ctl_conn *conns[PV_CTL_MAX_CONNS];
};

static int conn_reply_err(struct pv_ctl_conn *c, uint32_t seq, uint16_t req, int err)
{
	struct pv_ctl_error e = { .err = err, .req_type = req };

	return pv_ctl_send(c->fd, PV_CTL_ERROR, seq, &e, sizeof(e), NULL, 0, MSG_DONTWAIT);
}

/* Pushes, under s->lock. */
static void push_shinfo(struct pv_ctl_server *s, struct pv_ctl_conn *c)
{
	struct pv_ctl_shinfo m = { 0 };

	m.set = pv_plat_shinfo(s->plat, &m.gfn);
	if (pv_ctl_send(c->fd, PV_CTL_SHINFO, 0, &m, sizeof(m), NULL, 0, MSG_DONTWAIT))
		c->dead = true;
}

static void push_gnt(struct pv_ctl_server *s, struct pv_ctl_conn *c)
{
	struct pv_ctl_gnt_frames m = { 0 };

	m.nr = pv_plat_gnt_frames(s->plat, m.gfn);
	if (pv_ctl_send(c->fd, PV_CTL_GNT_FRAMES, 0, &m, sizeof(m), NULL, 0, MSG_DONTWAIT))
		c->dead = true;
}

static void wake(struct pv_ctl_server *s)
{
	uint64_t one = 1;

	if (write(s->wake_fd, &one, sizeof(one)) < 0)
		pv_log_warn("ctl", "wake: %s", strerror(errno));
}

static void on_plat_change(void *opaque, int what)
{
	struct pv_ctl_server *s = opaque;
	bool any_dead = false;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < PV_CTL_MAX_CONNS; i++) {
		struct pv_ctl_conn *c = s->conns[i];

		if (!c || !c->attached || c->dead)
			continue;
		if (what == PV_PLAT_CHANGE_GNT)
			push_gnt(s, c);
		else
			push_shinfo(s, c);
		any_dead |= c->dead;
	}
	pthread_mutex_unlock(&s->lock);
	if (any_dead)
		wake(s);
}

static void on_evtchn_change(void *opaque, void *owner, uint32_t port, int change, uint32_t vcpu)
{
	struct pv_ctl_server *s = opaque;
	struct pv_ctl_evtchn_changed m = { .port = port, .change = (uint32_t)change, .vcpu = vcpu };
	int fd = -1;

	if (change == EVTCHN_CHANGE_VCPU)
		fd = evtchn_upcall_fd(s->plat->evtchn, vcpu);
	m.has_raise = fd >= 0;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < PV_CTL_MAX_CONNS; i++) {
		struct pv_ctl_conn *c = s->conns[i];

		if (c != owner || c->dead)
			continue;
		if (pv_ctl_send(c->fd, PV_CTL_EVTCHN_CHANGED, 0, &m, sizeof(m), &fd,
				fd >= 0 ? 1 : 0, MSG_DONTWAIT)) {
			c->dead = true;
			wake(s);
		}
	}
	pthread_mutex_unlock(&s->lock);
}

static bool device_name_ok(const char *d, size_t cap)
{
	size_t n = strnlen(d, cap);

	if (n == 0 || n == cap)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= '0' && d[i] <= '9') ||
		      d[i] == '/' || d[i] == '_' || d[i] == '-'))
			return false;
	return true;
}

static int handle_attach(struct pv_ctl_server *s, struct pv_ctl_conn *c, uint32_t seq,
			 const struct pv_ctl_attach *a)
{
	struct pv_ctl_attach_ok ok = { 0 };
	struct pv_plat *p = s->plat;
	int err;

	if (c->attached || a->flags || !device_name_ok(a->device, sizeof(a->device)))
		return -EPROTO;
	memcpy(c->device, a->device, sizeof(c->device));
	ok.domid = p->domid;
	ok.backend_dom = 0;
	ok.nr_vcpus = p->nr_vcpus;
	ok.mem_size = s->mem_size;
	ok.nr_ranges = p->gmem.nr;
	memcpy(ok.r, p->gmem.r, sizeof(ok.r));
	err = pv_ctl_send(c->fd, PV_CTL_ATTACH_OK, seq, &ok, sizeof(ok), &s->memfd, 1, MSG_DONTWAIT);
	if (err)
		return err;
	c->attached = true;
	pv_log_info("ctl", "backend attached for %s", c->device);
	push_shinfo(s, c);
	push_gnt(s, c);
	return 0;
}

static int handle_bind(struct pv_ctl_server *s, struct pv_ctl_conn *c, uint32_t seq, uint32_t port)
{
	struct pv_ctl_evtchn_bound b = { .port = port };
	int fds[2], err;

	err = evtchn_backend_bind(s->plat->evtchn, port, 0, c, &fds[0], &b.vcpu);
	if (err)
		return conn_reply_err(c, seq, PV_CTL_EVTCHN_BIND, err);
	fds[1] = evtchn_upcall_fd(s->plat->evtchn, b.vcpu);
	b.has_raise = fds[1] >= 0;
	err = pv_ctl_send(c->fd, PV_CTL_EVTCHN_BOUND, seq, &b, sizeof(b), fds,
			  b.has_raise ? 2 : 1, MSG_DONTWAIT);
	close(fds[0]);
	if (err)
		evtchn_backend_unbind(s->plat->evtchn, port, c);
	return err;
}

/* One request; a negative return disconnects the peer. */
static int conn_handle(struct pv_ctl_server *s, struct pv_ctl_conn *c)
{
	union {
		struct pv_ctl_attach attach;
		struct pv_ctl_port port;
		unsigned char raw[PV_CTL_MAX_MSG];
	} u;
	struct pv_ctl_hdr h;
	unsigned nfds;
	int fds[1];
	int n = pv_ctl_recv(c->fd, &h, &u, sizeof(u), fds, 0, &nfds);

	if (n < 0)
		return n;
	switch (h.type) {
	case PV_CTL_ATTACH:
		if (h.len != sizeof(u.attach))
			return -EPROTO;
		return handle_attach(s, c, h.seq, &u.attach);
	case PV_CTL_EVTCHN_BIND:
	case PV_CTL_EVTCHN_UNBIND:
		if (h.len != sizeof(u.port) || !c->attached)
			return -EPROTO;
		if (h.type == PV_CTL_EVTCHN_BIND)
			return handle_bind(s, c, h.seq, u.port.port);
		n = evtchn_backend_unbind(s->plat->evtchn, u.port.port, c);
		if (n)
			return conn_reply_err(c, h.seq, h.type, n);
		struct pv_ctl_ok ok = { .req_type = h.type };
		return pv_ctl_send(c->fd, PV_CTL_OK, h.seq, &ok, sizeof(ok), NULL, 0, MSG_DONTWAIT);
	}
	return -EPROTO;
}

static void conn_free_locked(struct pv_ctl_server *s, unsigned i)
{
	struct pv_ctl_conn *c = s->conns[i];

	evtchn_backend_release(s->plat->evtchn, c);
	if (c->attached)
		pv_log_info("ctl", "backend for %s disconnected", c->device);
	close(c->fd);
	free(c);
	s->conns[i] = NULL;
}

static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || len != sizeof(cred))
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void server_accept(struct pv_ctl_server *s)
{
	struct pv_ctl_conn *c;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	unsigned i;

	if (fd < 0)
		return;
	if (!peer_allowed(fd)) {
		pv_log_warn("ctl", "%s: refused a peer that is not domain 0", s->path);
		close(fd);
		return;
	}
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < PV_CTL_MAX_CONNS && s->conns[i]; i++)
		;
	c = i < PV_CTL_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		pthread_mutex_unlock(&s->lock);
		pv_log_warn("ctl", "%s: too many connections", s->path);
		close(fd);
		return;
	}
	c->fd = fd;
	s->conns[i] = c;
	pthread_mutex_unlock(&s->lock);
}

static void *server_thread(void *arg)
{
	struct pv_ctl_server *s = arg;
	struct pollfd pfd[PV_CTL_MAX_CONNS + 2];
	int idx[PV_CTL_MAX_CONNS + 2];

	for (;;) {
		unsigned n = 0;
		uint64_t v;

		pthread_mutex_lock(&s->lock);
		if (s->stop) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		for (unsigned i = 0; i < PV_CTL_MAX_CONNS; i++) {
			if (s->conns[i] && s->conns[i]->dead)
				conn_free_locked(s, i);
			if (!s->conns[i])
				continue;
			pfd[n] = (struct pollfd){ .fd = s->conns[i]->fd, .events = POLLIN };
			idx[n++] = (int)i;
		}
		pthread_mutex_unlock(&s->lock);
		pfd[n] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
		pfd[n + 1] = (struct pollfd){ .fd = s->wake_fd, .events = POLLIN };
		if (poll(pfd, n + 2, -1) < 0)
			continue;
		if (pfd[n + 1].revents && read(s->wake_fd, &v, sizeof(v)) < 0)
			v = 0;
		if (pfd[n].revents & POLLIN)
			server_accept(s);
		for (unsigned k = 0; k < n; k++) {
			if (!pfd[k].revents)
				continue;
			pthread_mutex_lock(&s->lock);
			struct pv_ctl_conn *c = s->conns[idx[k]];
			int err = conn_handle(s, c);
			if (err && err != -EAGAIN) {
				if (err != -ECONNRESET)
					pv_log_warn("ctl", "%s: dropping peer: %s", s->path, strerror(-err));
				c->dead = true;
			}
			pthread_mutex_unlock(&s->lock);
		}
	}
}

int pv_ctl_open(struct pv_ctl_server **out, struct pv_plat *plat, const char *run_dir,
		const char *name, int memfd, uint64_t mem_size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pv_ctl_server *s;
	int err;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.ctl", run_dir, name) >=
	    sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->plat = plat;
	s->memfd = memfd;
	s->mem_size = mem_size;
	memcpy(s->path, sa.sun_path, sizeof(s->path));
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->wake_fd < 0 || s->listen_fd < 0)
		goto fail_errno;
	unlink(sa.sun_path);
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(s->listen_fd, 8))
		goto fail_errno;
	pv_plat_set_listener(plat, on_plat_change, s);
	evtchn_set_listener(plat->evtchn, on_evtchn_change, s);
	*out = s;
	return 0;
fail_errno:
	err = -errno;
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	free(s);
	return err;
}

int pv_ctl_start(struct pv_ctl_server *s)
{
	int err = pthread_create(&s->thread, NULL, server_thread, s);

	if (err)
		return -err;
	s->started = true;
	return 0;
}

void pv_ctl_close(struct pv_ctl_server *s)
{
	if (!s)
		return;
	pv_plat_set_listener(s->plat, NULL, NULL);
	evtchn_set_listener(s->plat->evtchn, NULL, NULL);
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_mutex_unlock(&s->lock);
	wake(s);
	if (s->started)
		pthread_join(s->thread, NULL);
	for (unsigned i = 0; i < PV_CTL_MAX_CONNS; i++)
		if (s->conns[i])
			conn_free_locked(s, i);
	unlink(s->path);
	close(s->listen_fd);
	close(s->wake_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const char *pv_ctl_path(const struct pv_ctl_server *s)
{
	return s->path;
}

unsigned pv_ctl_nr_conns(struct pv_ctl_server *s)
{
	unsigned n = 0;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < PV_CTL_MAX_CONNS; i++)
		n += s->conns[i] && !s->conns[i]->dead;
	pthread_mutex_unlock(&s->lock);
	return n;
}
