/* SPDX-License-Identifier: MIT */
/* VMM-side event channels: port allocation and state, doorbell (ioeventfd)
 * registration for backend-bound ports, raising towards the guest. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "evtchn.h"
#include "evtchn_2l.h"
#include "pv_log.h"

struct evtchn_port {
	uint8_t state;        /* PVKVM_EVTCHNSTAT_* */
	uint16_t remote_dom;
	uint32_t vcpu;
	int efd;              /* interdomain: the eventfd guest sends signal */
	void *owner;          /* interdomain: the control connection */
	evtchn_vmm_fn fn;     /* VMM-served */
	void *fn_opaque;
};

struct evtchn_table {
	pthread_mutex_t lock;
	uint16_t domid;
	uint32_t nr_vcpus;
	const struct evtchn_host_ops *ops;
	void *opaque;
	struct pvkvm_shared_info *si;
	evtchn_change_fn change_fn;
	void *change_opaque;
	struct evtchn_port port[PVKVM_EVTCHN_NR_PORTS];
};

struct evtchn_table *evtchn_table_new(uint16_t domid, uint32_t nr_vcpus,
				      const struct evtchn_host_ops *ops, void *opaque)
{
	struct evtchn_table *t;

	if (nr_vcpus == 0 || nr_vcpus > PVKVM_MAX_VCPUS)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->domid = domid;
	t->nr_vcpus = nr_vcpus;
	t->ops = ops;
	t->opaque = opaque;
	for (uint32_t p = 0; p < PVKVM_EVTCHN_NR_PORTS; p++)
		t->port[p].efd = -1;
	return t;
}

static void port_drop_backend(struct evtchn_table *t, uint32_t p)
{
	struct evtchn_port *e = &t->port[p];

	if (e->efd >= 0) {
		if (t->ops && t->ops->doorbell_unbind)
			t->ops->doorbell_unbind(t->opaque, p, e->efd);
		close(e->efd);
	}
	e->efd = -1;
	e->owner = NULL;
}

void evtchn_table_free(struct evtchn_table *t)
{
	if (!t)
		return;
	for (uint32_t p = 0; p < PVKVM_EVTCHN_NR_PORTS; p++)
		port_drop_backend(t, p);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void evtchn_set_shared_info(struct evtchn_table *t, struct pvkvm_shared_info *si)
{
	pthread_mutex_lock(&t->lock);
	t->si = si;
	pthread_mutex_unlock(&t->lock);
}

void evtchn_set_listener(struct evtchn_table *t, evtchn_change_fn fn, void *opaque)
{
	pthread_mutex_lock(&t->lock);
	t->change_fn = fn;
	t->change_opaque = opaque;
	pthread_mutex_unlock(&t->lock);
}

static int port_alloc_locked(struct evtchn_table *t, uint32_t *port)
{
	for (uint32_t p = 1; p < PVKVM_EVTCHN_NR_PORTS; p++) {
		if (t->port[p].state == PVKVM_EVTCHNSTAT_CLOSED) {
			struct evtchn_port *e = &t->port[p];

			e->vcpu = 0;
			e->remote_dom = 0;
			e->fn = NULL;
			e->fn_opaque = NULL;
			*port = p;
			return 0;
		}
	}
	return -ENOSPC;
}

static bool port_valid(uint32_t port)
{
	return port > 0 && port < PVKVM_EVTCHN_NR_PORTS;
}

int evtchn_alloc_unbound(struct evtchn_table *t, uint16_t remote_dom, uint32_t *port)
{
	int err;

	if (remote_dom == t->domid || remote_dom >= PVKVM_DOMID_SELF)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	err = port_alloc_locked(t, port);
	if (!err) {
		t->port[*port].state = PVKVM_EVTCHNSTAT_UNBOUND;
		t->port[*port].remote_dom = remote_dom;
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

int evtchn_alloc_vmm(struct evtchn_table *t, evtchn_vmm_fn fn, void *opaque, uint32_t *port)
{
	int err;

	pthread_mutex_lock(&t->lock);
	err = port_alloc_locked(t, port);
	if (!err) {
		t->port[*port].state = PVKVM_EVTCHNSTAT_VMM;
		t->port[*port].fn = fn;
		t->port[*port].fn_opaque = opaque;
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

int evtchn_close(struct evtchn_table *t, uint32_t port)
{
	evtchn_change_fn fn = NULL;
	void *owner = NULL, *fn_opaque = NULL;

	if (!port_valid(port))
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	struct evtchn_port *e = &t->port[port];
	if (e->state == PVKVM_EVTCHNSTAT_CLOSED || e->state == PVKVM_EVTCHNSTAT_VMM) {
		pthread_mutex_unlock(&t->lock);
		return e->state == PVKVM_EVTCHNSTAT_VMM ? -EPERM : -EINVAL;
	}
	if (e->state == PVKVM_EVTCHNSTAT_INTERDOMAIN) {
		owner = e->owner;
		fn = t->change_fn;
		fn_opaque = t->change_opaque;
		port_drop_backend(t, port);
	}
	e->state = PVKVM_EVTCHNSTAT_CLOSED;
	pthread_mutex_unlock(&t->lock);
	if (fn)
		fn(fn_opaque, owner, port, EVTCHN_CHANGE_CLOSED, 0);
	return 0;
}

/* Signals vcpu's upcall; called without the lock. */
static void upcall_kick(struct evtchn_table *t, uint32_t vcpu)
{
	int fd = t->ops && t->ops->upcall_fd ? t->ops->upcall_fd(t->opaque, vcpu) : -1;
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) != sizeof(one))
		pv_log_warn("evtchn", "upcall for vcpu %u: write failed", vcpu);
}

int evtchn_unmask(struct evtchn_table *t, uint32_t port)
{
	bool kick = false;
	uint32_t vcpu = 0;

	if (!port_valid(port))
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	if (!t->si) {
		pthread_mutex_unlock(&t->lock);
		return -ENODEV;
	}
	vcpu = t->port[port].vcpu;
	kick = evtchn_2l_unmask(t->si, port, vcpu);
	pthread_mutex_unlock(&t->lock);
	if (kick)
		upcall_kick(t, vcpu);
	return 0;
}

int evtchn_bind_vcpu(struct evtchn_table *t, uint32_t port, uint32_t vcpu)
{
	evtchn_change_fn fn = NULL;
	void *owner = NULL, *fn_opaque = NULL;

	if (!port_valid(port) || vcpu >= t->nr_vcpus)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	struct evtchn_port *e = &t->port[port];
	if (e->state == PVKVM_EVTCHNSTAT_CLOSED) {
		pthread_mutex_unlock(&t->lock);
		return -EINVAL;
	}
	e->vcpu = vcpu;
	if (e->state == PVKVM_EVTCHNSTAT_INTERDOMAIN) {
		owner = e->owner;
		fn = t->change_fn;
		fn_opaque = t->change_opaque;
	}
	pthread_mutex_unlock(&t->lock);
	if (fn)
		fn(fn_opaque, owner, port, EVTCHN_CHANGE_VCPU, vcpu);
	return 0;
}

int evtchn_status(struct evtchn_table *t, uint32_t port, struct pvkvm_evtchn_status *st)
{
	if (!port_valid(port))
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	st->port = port;
	st->status = t->port[port].state;
	st->remote_dom = t->port[port].remote_dom;
	st->pad = 0;
	st->vcpu = t->port[port].vcpu;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int evtchn_send(struct evtchn_table *t, uint32_t port)
{
	evtchn_vmm_fn fn = NULL;
	void *fn_opaque = NULL;
	uint64_t one = 1;
	int err = 0;

	if (!port_valid(port))
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	struct evtchn_port *e = &t->port[port];
	switch (e->state) {
	case PVKVM_EVTCHNSTAT_INTERDOMAIN:
		/* The slow path of a doorbell: same effect, through the VMM. */
		if (write(e->efd, &one, sizeof(one)) != sizeof(one))
			err = -EIO;
		break;
	case PVKVM_EVTCHNSTAT_VMM:
		fn = e->fn;
		fn_opaque = e->fn_opaque;
		break;
	case PVKVM_EVTCHNSTAT_UNBOUND:
		break; /* nobody listens yet: dropped, as in Xen */
	default:
		err = -EINVAL;
	}
	pthread_mutex_unlock(&t->lock);
	if (fn)
		fn(fn_opaque, port);
	return err;
}

int evtchn_raise(struct evtchn_table *t, uint32_t port)
{
	bool kick;
	uint32_t vcpu;

	if (!port_valid(port))
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	if (!t->si || t->port[port].state == PVKVM_EVTCHNSTAT_CLOSED) {
		pthread_mutex_unlock(&t->lock);
		return t->si ? -EINVAL : -ENODEV;
	}
	vcpu = t->port[port].vcpu;
	kick = evtchn_2l_raise(t->si, port, vcpu);
	pthread_mutex_unlock(&t->lock);
	if (kick)
		upcall_kick(t, vcpu);
	return 0;
}

int evtchn_backend_bind(struct evtchn_table *t, uint32_t port, uint16_t backend_dom,
			void *owner, int *wait_fd, uint32_t *vcpu)
{
	int efd, dup_fd, err;

	if (!port_valid(port))
		return -EINVAL;
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return -errno;
	pthread_mutex_lock(&t->lock);
	struct evtchn_port *e = &t->port[port];
	err = -EINVAL;
	if (e->state == PVKVM_EVTCHNSTAT_INTERDOMAIN)
		err = -EBUSY;
	if (e->state != PVKVM_EVTCHNSTAT_UNBOUND)
		goto out_unlock;
	err = -EPERM;
	if (e->remote_dom != backend_dom)
		goto out_unlock;
	err = t->ops && t->ops->doorbell_bind ? t->ops->doorbell_bind(t->opaque, port, efd) : 0;
	if (err)
		goto out_unlock;
	dup_fd = fcntl(efd, F_DUPFD_CLOEXEC, 3);
	if (dup_fd < 0)
		dup_fd = -errno;
	if (dup_fd < 0) {
		err = dup_fd;
		if (t->ops && t->ops->doorbell_unbind)
			t->ops->doorbell_unbind(t->opaque, port, efd);
		goto out_unlock;
	}
	e->state = PVKVM_EVTCHNSTAT_INTERDOMAIN;
	e->efd = efd;
	e->owner = owner;
	*vcpu = e->vcpu;
	*wait_fd = dup_fd;
	pthread_mutex_unlock(&t->lock);
	return 0;
out_unlock:
	pthread_mutex_unlock(&t->lock);
	close(efd);
	return err;
}

int evtchn_backend_unbind(struct evtchn_table *t, uint32_t port, void *owner)
{
	int err = -EINVAL;

	if (!port_valid(port))
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	struct evtchn_port *e = &t->port[port];
	if (e->state == PVKVM_EVTCHNSTAT_INTERDOMAIN && e->owner == owner) {
		port_drop_backend(t, port);
		e->state = PVKVM_EVTCHNSTAT_UNBOUND;
		err = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

void evtchn_backend_release(struct evtchn_table *t, void *owner)
{
	pthread_mutex_lock(&t->lock);
	for (uint32_t p = 1; p < PVKVM_EVTCHN_NR_PORTS; p++) {
		struct evtchn_port *e = &t->port[p];

		if (e->state == PVKVM_EVTCHNSTAT_INTERDOMAIN && e->owner == owner) {
			port_drop_backend(t, p);
			e->state = PVKVM_EVTCHNSTAT_UNBOUND;
		}
	}
	pthread_mutex_unlock(&t->lock);
}

int evtchn_upcall_fd(struct evtchn_table *t, uint32_t vcpu)
{
	if (vcpu >= t->nr_vcpus || !t->ops || !t->ops->upcall_fd)
		return -ENODEV;
	return t->ops->upcall_fd(t->opaque, vcpu);
}
