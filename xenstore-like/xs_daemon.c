/* SPDX-License-Identifier: MIT */
/* The daemon context and its event loop: one epoll set with the listening
 * socket, a stop eventfd and every connection; single-threaded, so the store
 * needs no locks.  Also the per-domain accounting used by permission and
 * quota checks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pv_log.h"
#include "xs_internal.h"

#define TAG "stored"

struct xs_pending_conn {
	struct xs_pending_conn *next;
	int fd;
	uint32_t domid;
};

void xs_quota_defaults(struct xs_quota *q)
{
	*q = (struct xs_quota){
		.nodes_per_domain = 1000,
		.node_size = 2048,
		.watches_per_domain = 128,
		.txns_per_domain = 10,
		.outstanding_per_conn = 20,
		.path_len = XENSTORE_REL_PATH_MAX,
		.perms_per_node = 5,
		.txn_nodes = 1024,
		.outq_bytes = 4u << 20,
	};
}

struct xs_domain *xs_domain_get(struct xs_daemon *d, uint32_t domid)
{
	struct xs_domain *dom;

	if (domid > XS_MAX_DOMID)
		return NULL;
	dom = d->doms[domid];
	if (dom)
		return dom;
	dom = calloc(1, sizeof(*dom));
	if (!dom)
		return NULL;
	dom->domid = domid;
	dom->target = XS_DOMID_NONE;
	d->doms[domid] = dom;
	return dom;
}

bool xs_conn_quota_applies(const struct xs_conn *c)
{
	return !c->privileged;
}

bool xs_conn_can(const struct xs_conn *c, const struct xs_perm *perms, unsigned n, unsigned want)
{
	const struct xs_domain *dom;
	unsigned p;

	if (c->privileged)
		return true;
	p = xs_perm_for(perms, n, c->domid);
	dom = c->d->doms[c->domid];
	if (dom && dom->target != XS_DOMID_NONE)
		p |= xs_perm_for(perms, n, dom->target);
	return (p & want) == want;
}

int xs_owner_charge(struct xs_daemon *d, const struct xs_conn *c, uint32_t owner)
{
	struct xs_domain *dom = xs_domain_get(d, owner);

	(void)c;
	if (dom)
		dom->nodes++;
	return 0;
}

void xs_owner_uncharge(struct xs_daemon *d, uint32_t owner)
{
	if (owner <= XS_MAX_DOMID && d->doms[owner] && d->doms[owner]->nodes)
		d->doms[owner]->nodes--;
}

static int listen_socket(struct xs_daemon *d, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &d->listen_fd };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* a stale socket from a killed daemon */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 128) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	d->listen_fd = fd;
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int xs_daemon_new(const struct xs_daemon_opts *opts, struct xs_daemon **out)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct xs_daemon *d = calloc(1, sizeof(*d));
	int rc = -ENOMEM;

	if (!d)
		return -ENOMEM;
	d->opts = *opts;
	if (!d->opts.snapshot_every)
		d->opts.snapshot_every = 100000;
	d->listen_fd = d->stop_fd = d->wake_fd = -1;
	pthread_mutex_init(&d->pending_lock, NULL);
	d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->epoll_fd < 0 || d->stop_fd < 0 || d->wake_fd < 0) {
		rc = -errno;
		goto fail;
	}
	ev.data.ptr = &d->stop_fd;
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->stop_fd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}
	ev.data.ptr = &d->wake_fd;
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->wake_fd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}
	if (xs_tree_init(&d->tree) || xs_watch_init(d) || !xs_domain_get(d, 0))
		goto fail;
	if (opts->state_dir && (rc = xs_persist_open(d, opts->state_dir)))
		goto fail;
	if (opts->socket_path) {
		d->socket_path = strdup(opts->socket_path);
		rc = d->socket_path ? listen_socket(d, opts->socket_path) : -ENOMEM;
		if (rc) {
			pv_log_err(TAG, "%s: cannot listen: %s", opts->socket_path, strerror(-rc));
			goto fail;
		}
	}
	*out = d;
	return 0;
fail:
	xs_daemon_free(d);
	return rc;
}

static void accept_all(struct xs_daemon *d)
{
	for (;;) {
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return;
		/* Socket clients are the host's own tools: domain 0. */
		if (!xs_conn_new(d, fd, 0))
			close(fd);
	}
}

/* Loop thread: adopt the connections queued by xs_daemon_add_conn(). */
static void take_pending(struct xs_daemon *d)
{
	struct xs_pending_conn *pc;
	uint64_t v;

	if (read(d->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pv_log_warn(TAG, "wake eventfd: %s", strerror(errno));
	pthread_mutex_lock(&d->pending_lock);
	pc = d->pending;
	d->pending = NULL;
	pthread_mutex_unlock(&d->pending_lock);
	while (pc) {
		struct xs_pending_conn *next = pc->next;

		if (!xs_conn_new(d, pc->fd, pc->domid)) {
			pv_log_err(TAG, "cannot serve connection for domain %u", pc->domid);
			close(pc->fd);
		}
		free(pc);
		pc = next;
	}
}

int xs_daemon_run(struct xs_daemon *d)
{
	struct epoll_event evs[64];

	for (;;) {
		int n = epoll_wait(d->epoll_fd, evs, 64, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			struct xs_conn *c = p;

			if (p == &d->stop_fd)
				return 0;
			if (p == &d->listen_fd) {
				accept_all(d);
				continue;
			}
			if (p == &d->wake_fd) {
				take_pending(d);
				continue;
			}
			if (c->dead)
				continue;
			if (evs[i].events & EPOLLOUT)
				xs_conn_on_writable(d, c);
			if (!c->dead && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				xs_conn_on_readable(d, c);
		}
		xs_conn_flush_all(d);
		xs_conn_reap(d);
	}
}

void xs_daemon_stop(struct xs_daemon *d)
{
	uint64_t one = 1;
	ssize_t rc = write(d->stop_fd, &one, sizeof(one));

	(void)rc;
}

int xs_daemon_add_conn(struct xs_daemon *d, int fd, uint32_t domid)
{
	struct xs_pending_conn *pc;
	uint64_t one = 1;

	if (domid > XS_MAX_DOMID || fd < 0)
		return -EINVAL;
	pc = malloc(sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	pc->fd = fd;
	pc->domid = domid;
	pthread_mutex_lock(&d->pending_lock);
	pc->next = d->pending;
	d->pending = pc;
	pthread_mutex_unlock(&d->pending_lock);
	return write(d->wake_fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

void xs_daemon_get_stats(struct xs_daemon *d, struct xs_daemon_stats *st)
{
	*st = d->stats;
	st->nodes = d->tree.count;
	st->watches = d->nwatches;
}

void xs_daemon_free(struct xs_daemon *d)
{
	if (!d)
		return;
	while (d->conns)
		xs_conn_free(d, d->conns);
	xs_persist_close(d);
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		if (d->socket_path)
			unlink(d->socket_path);
	}
	free(d->socket_path);
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	if (d->wake_fd >= 0)
		close(d->wake_fd);
	while (d->pending) {
		struct xs_pending_conn *pc = d->pending;

		d->pending = pc->next;
		close(pc->fd);
		free(pc);
	}
	pthread_mutex_destroy(&d->pending_lock);
	if (d->epoll_fd >= 0)
		close(d->epoll_fd);
	if (d->tree.buckets)
		xs_tree_destroy(&d->tree);
	xs_watch_destroy(d);
	for (size_t i = 0; i <= XS_MAX_DOMID; i++)
		free(d->doms[i]);
	free(d);
}
