/* SPDX-License-Identifier: MIT */
/* Store ring <-> store connection byte pump. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pv_log.h"
#include "store_proxy.h"
#include "xs_compat.h"

struct pv_store_proxy {
	struct pv_plat *plat;
	int fd;
	int kick_fd;
	pthread_t thread;
	bool stop;
	bool dead;
	uint32_t pend_len, pend_off; /* store bytes not yet in the rsp ring */
	char pend[XENSTORE_RING_SIZE];
};

static struct xenstore_domain_interface *proxy_ring(struct pv_store_proxy *sp)
{
	uint64_t gfn;
	bool set;

	pthread_mutex_lock(&sp->plat->lock);
	set = sp->plat->store_set;
	gfn = sp->plat->store_gfn;
	pthread_mutex_unlock(&sp->plat->lock);
	return set ? pv_gmem_ptr(&sp->plat->gmem, gfn << 12, 4096) : NULL;
}

/* Guest requests -> store.  Returns bytes moved or -errno. */
static int pump_requests(struct pv_store_proxy *sp, struct xenstore_domain_interface *r)
{
	uint32_t cons = r->req_cons;
	uint32_t prod = __atomic_load_n(&r->req_prod, __ATOMIC_ACQUIRE);
	char buf[XENSTORE_RING_SIZE];
	uint32_t n = prod - cons;
	ssize_t w;

	if (n > XENSTORE_RING_SIZE) {
		__atomic_store_n(&r->error, XENSTORE_ERROR_RINGIDX, __ATOMIC_RELEASE);
		return -EPROTO;
	}
	for (uint32_t i = 0; i < n; i++)
		buf[i] = r->req[MASK_XENSTORE_IDX(cons + i)];
	if (n == 0)
		return 0;
	w = send(sp->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w < 0)
		return errno == EAGAIN ? 0 : -errno;
	__atomic_store_n(&r->req_cons, cons + (uint32_t)w, __ATOMIC_RELEASE);
	return (int)w;
}

/* Store replies -> guest. */
static int pump_replies(struct pv_store_proxy *sp, struct xenstore_domain_interface *r)
{
	uint32_t prod = r->rsp_prod;
	uint32_t cons = __atomic_load_n(&r->rsp_cons, __ATOMIC_ACQUIRE);
	uint32_t space, moved = 0;

	if (prod - cons > XENSTORE_RING_SIZE) {
		__atomic_store_n(&r->error, XENSTORE_ERROR_RINGIDX, __ATOMIC_RELEASE);
		return -EPROTO;
	}
	if (sp->pend_len == 0) {
		ssize_t n = recv(sp->fd, sp->pend, sizeof(sp->pend), MSG_DONTWAIT);

		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		sp->pend_len = (uint32_t)n;
		sp->pend_off = 0;
	}
	space = XENSTORE_RING_SIZE - (prod - cons);
	while (space && sp->pend_off < sp->pend_len) {
		r->rsp[MASK_XENSTORE_IDX(prod + moved)] = sp->pend[sp->pend_off++];
		moved++;
		space--;
	}
	if (sp->pend_off == sp->pend_len)
		sp->pend_len = 0;
	__atomic_store_n(&r->rsp_prod, prod + moved, __ATOMIC_RELEASE);
	return (int)moved;
}

static void *proxy_thread(void *arg)
{
	struct pv_store_proxy *sp = arg;

	while (!__atomic_load_n(&sp->stop, __ATOMIC_ACQUIRE)) {
		/* A dead proxy polls only its kicks: a hung-up fd would spin. */
		struct pollfd p[2] = { { .fd = sp->kick_fd, .events = POLLIN },
				       { .fd = sp->dead ? -1 : sp->fd, .events = sp->pend_len ? 0 : POLLIN } };
		struct xenstore_domain_interface *r;
		uint64_t v;
		int a = 0, b = 0;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if ((p[0].revents & POLLIN) && read(sp->kick_fd, &v, sizeof(v)) < 0)
			v = 0;
		r = proxy_ring(sp);
		if (!r && (p[1].revents & (POLLHUP | POLLERR))) {
			/* The store went away before the guest chose its ring. */
			pv_log_warn("store", "domain %u: store connection closed", sp->plat->domid);
			__atomic_store_n(&sp->dead, true, __ATOMIC_RELEASE);
		}
		if (!r || sp->dead)
			continue;
		a = pump_requests(sp, r);
		if (a >= 0)
			b = pump_replies(sp, r);
		if (a < 0 || b < 0) {
			pv_log_warn("store", "domain %u: store ring stopped: %s", sp->plat->domid,
				    strerror(a < 0 ? -a : -b));
			__atomic_store_n(&sp->dead, true, __ATOMIC_RELEASE);
			continue;
		}
		if (a > 0 || b > 0)
			pv_plat_store_raise(sp->plat);
	}
	return NULL;
}

int pv_store_proxy_start(struct pv_store_proxy **out, struct pv_plat *plat, int store_fd)
{
	struct pv_store_proxy *sp = calloc(1, sizeof(*sp));
	int err;

	if (!sp)
		return -ENOMEM;
	sp->plat = plat;
	sp->fd = store_fd;
	sp->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sp->kick_fd < 0) {
		err = -errno;
		free(sp);
		return err;
	}
	err = pthread_create(&sp->thread, NULL, proxy_thread, sp);
	if (err) {
		close(sp->kick_fd);
		free(sp);
		return -err;
	}
	*out = sp;
	return 0;
}

void pv_store_proxy_kick(struct pv_store_proxy *sp)
{
	uint64_t one = 1;

	if (write(sp->kick_fd, &one, sizeof(one)) < 0)
		pv_log_warn("store", "kick: %s", strerror(errno));
}

void pv_store_proxy_stop(struct pv_store_proxy *sp)
{
	if (!sp)
		return;
	__atomic_store_n(&sp->stop, true, __ATOMIC_RELEASE);
	pv_store_proxy_kick(sp);
	pthread_join(sp->thread, NULL);
	close(sp->kick_fd);
	close(sp->fd);
	free(sp);
}

bool pv_store_proxy_dead(struct pv_store_proxy *sp)
{
	return __atomic_load_n(&sp->dead, __ATOMIC_ACQUIRE);
}
