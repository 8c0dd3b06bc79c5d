/* SPDX-License-Identifier: MIT */
/* The per-guest PV platform context. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plat.h"

struct pv_plat *pv_plat_new(uint16_t domid, uint32_t nr_vcpus, const struct pv_gmem *gmem,
			    const struct pv_plat_ops *ops, void *opaque)
{
	struct pv_plat *p;

	if (domid == 0 || domid >= PVKVM_DOMID_SELF || !gmem || !gmem->nr)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->evtchn = evtchn_table_new(domid, nr_vcpus, ops ? &ops->evtchn : NULL, opaque);
	if (!p->evtchn) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->domid = domid;
	p->nr_vcpus = nr_vcpus;
	p->gmem = *gmem;
	p->gmem.owned = false; /* the caller keeps the mapping */
	p->ops = ops;
	p->opaque = opaque;
	return p;
}

void pv_plat_free(struct pv_plat *p)
{
	if (!p)
		return;
	evtchn_table_free(p->evtchn);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void pv_plat_set_listener(struct pv_plat *p, pv_plat_change_fn fn, void *opaque)
{
	pthread_mutex_lock(&p->lock);
	p->change_fn = fn;
	p->change_opaque = opaque;
	pthread_mutex_unlock(&p->lock);
}

static void store_port_sent(void *opaque, uint32_t port)
{
	struct pv_plat *p = opaque;

	(void)port;
	if (p->ops && p->ops->store_notify)
		p->ops->store_notify(p->opaque);
}

/* Under p->lock. */
static int store_port_alloc(struct pv_plat *p)
{
	uint32_t port;
	int err;

	if (p->store_port_set)
		return 0;
	err = evtchn_alloc_vmm(p->evtchn, store_port_sent, p, &port);
	if (!err) {
		p->store_port = port;
		p->store_port_set = true;
	}
	return err;
}

int pv_plat_set_store_ring(struct pv_plat *p, uint64_t gfn)
{
	int err;

	if (!pv_gmem_gfn_ok(&p->gmem, gfn))
		return -EFAULT;
	pthread_mutex_lock(&p->lock);
	err = p->store_set ? -EEXIST : store_port_alloc(p);
	if (!err) {
		memset(pv_gmem_ptr(&p->gmem, gfn << 12, 4096), 0, 4096);
		p->store_gfn = gfn;
		p->store_set = true;
	}
	pthread_mutex_unlock(&p->lock);
	return err;
}

int pv_plat_store_reserve(struct pv_plat *p, uint64_t gfn)
{
	int err;

	if (!pv_gmem_gfn_ok(&p->gmem, gfn))
		return -EFAULT;
	pthread_mutex_lock(&p->lock);
	err = store_port_alloc(p);
	if (!err) {
		p->store_rsv_gfn = gfn;
		p->store_rsv_set = true;
	}
	pthread_mutex_unlock(&p->lock);
	return err;
}

int64_t pv_plat_store_gfn(struct pv_plat *p)
{
	int64_t r;

	pthread_mutex_lock(&p->lock);
	r = p->store_set ? (int64_t)p->store_gfn : -ENOENT;
	pthread_mutex_unlock(&p->lock);
	return r;
}

int pv_plat_store_raise(struct pv_plat *p)
{
	uint32_t port;

	bool set;

	pthread_mutex_lock(&p->lock);
	set = p->store_set;
	port = p->store_port;
	pthread_mutex_unlock(&p->lock);
	return set ? evtchn_raise(p->evtchn, port) : -ENOENT;
}

uint32_t pv_plat_gnt_frames(struct pv_plat *p, uint64_t *gfns)
{
	uint32_t nr;

	pthread_mutex_lock(&p->lock);
	nr = p->gnt_nr;
	memcpy(gfns, p->gnt_gfns, nr * sizeof(*gfns));
	pthread_mutex_unlock(&p->lock);
	return nr;
}

bool pv_plat_shinfo(struct pv_plat *p, uint64_t *gfn)
{
	bool set;

	pthread_mutex_lock(&p->lock);
	set = p->shinfo_set;
	*gfn = p->shinfo_gfn;
	pthread_mutex_unlock(&p->lock);
	return set;
}
