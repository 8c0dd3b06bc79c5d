/* SPDX-License-Identifier: MIT */
/* Hypercall dispatch: copy each argument once, validate, act. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plat.h"
#include "pv_log.h"
#include "pvkvm/platform.h"

static int64_t hc_version(uint64_t cmd)
{
	if (cmd == PVKVM_VERSION_GET)
		return PVKVM_PLAT_ABI_VERSION;
	if (cmd == PVKVM_FEATURES_GET)
		return PVKVM_FEAT_EVTCHN_2L | PVKVM_FEAT_GNTTAB_V1 | PVKVM_FEAT_VCPU_UP |
		       PVKVM_FEAT_DOORBELL;
	return -ENOSYS;
}

static bool gpa_aligned(uint64_t gpa, uint64_t align)
{
	return (gpa & (align - 1)) == 0;
}

static int64_t evtchn_op_port(struct pv_plat *p, uint64_t cmd, uint64_t gpa)
{
	struct pvkvm_evtchn_port_op op;

	if (!gpa_aligned(gpa, 4) || pv_gmem_read(&p->gmem, gpa, &op, sizeof(op)))
		return -EFAULT;
	if (cmd == PVKVM_EVTCHNOP_SEND)
		return evtchn_send(p->evtchn, op.port);
	if (cmd == PVKVM_EVTCHNOP_CLOSE)
		return evtchn_close(p->evtchn, op.port);
	return evtchn_unmask(p->evtchn, op.port);
}

static int64_t evtchn_op_alloc(struct pv_plat *p, uint64_t gpa)
{
	struct pvkvm_evtchn_alloc_unbound a;
	uint32_t port;
	int err;

	if (!gpa_aligned(gpa, 4) || pv_gmem_read(&p->gmem, gpa, &a, sizeof(a)))
		return -EFAULT;
	if (a.dom != PVKVM_DOMID_SELF && a.dom != p->domid)
		return -EPERM;
	err = evtchn_alloc_unbound(p->evtchn, a.remote_dom, &port);
	if (err)
		return err;
	a.port = port;
	if (pv_gmem_write(&p->gmem, gpa, &a, sizeof(a))) {
		evtchn_close(p->evtchn, port);
		return -EFAULT;
	}
	return 0;
}

static int64_t hc_evtchn_op(struct pv_plat *p, uint64_t cmd, uint64_t gpa)
{
	struct pvkvm_evtchn_bind_vcpu b;
	struct pvkvm_evtchn_status st;
	int err;

	switch (cmd) {
	case PVKVM_EVTCHNOP_ALLOC_UNBOUND:
		return evtchn_op_alloc(p, gpa);
	case PVKVM_EVTCHNOP_SEND:
	case PVKVM_EVTCHNOP_CLOSE:
	case PVKVM_EVTCHNOP_UNMASK:
		return evtchn_op_port(p, cmd, gpa);
	case PVKVM_EVTCHNOP_BIND_VCPU:
		if (!gpa_aligned(gpa, 4) || pv_gmem_read(&p->gmem, gpa, &b, sizeof(b)))
			return -EFAULT;
		return evtchn_bind_vcpu(p->evtchn, b.port, b.vcpu);
	case PVKVM_EVTCHNOP_STATUS:
		if (!gpa_aligned(gpa, 4) || pv_gmem_read(&p->gmem, gpa, &st, sizeof(st)))
			return -EFAULT;
		err = evtchn_status(p->evtchn, st.port, &st);
		if (err)
			return err;
		return pv_gmem_write(&p->gmem, gpa, &st, sizeof(st));
	}
	return -ENOSYS;
}

static void plat_changed(struct pv_plat *p, int what)
{
	pv_plat_change_fn fn;
	void *opaque;

	pthread_mutex_lock(&p->lock);
	fn = p->change_fn;
	opaque = p->change_opaque;
	pthread_mutex_unlock(&p->lock);
	if (fn)
		fn(opaque, what);
}

static int64_t hc_grant_setup(struct pv_plat *p, uint64_t gpa, uint64_t nr)
{
	uint64_t gfns[PVKVM_GNT_MAX_FRAMES];

	if (nr > PVKVM_GNT_MAX_FRAMES)
		return -EINVAL;
	if (nr && (!gpa_aligned(gpa, 8) || pv_gmem_read(&p->gmem, gpa, gfns, nr * 8)))
		return -EFAULT;
	for (uint64_t i = 0; i < nr; i++) {
		if (!pv_gmem_gfn_ok(&p->gmem, gfns[i]))
			return -EFAULT;
		for (uint64_t j = 0; j < i; j++)
			if (gfns[j] == gfns[i])
				return -EINVAL;
	}
	pthread_mutex_lock(&p->lock);
	memcpy(p->gnt_gfns, gfns, nr * 8);
	p->gnt_nr = (uint32_t)nr;
	pthread_mutex_unlock(&p->lock);
	plat_changed(p, PV_PLAT_CHANGE_GNT);
	return 0;
}

static int64_t hc_shared_info(struct pv_plat *p, uint64_t gfn)
{
	if (!pv_gmem_gfn_ok(&p->gmem, gfn))
		return -EFAULT;
	pthread_mutex_lock(&p->lock);
	p->shinfo_gfn = gfn;
	p->shinfo_set = true;
	pthread_mutex_unlock(&p->lock);
	evtchn_set_shared_info(p->evtchn, pv_gmem_ptr(&p->gmem, gfn << 12, 4096));
	plat_changed(p, PV_PLAT_CHANGE_SHINFO);
	return 0;
}

/* The ring is chosen now (gfn: the guest's page or the VMM's reserved one). */
static int64_t store_ring_choose(struct pv_plat *p, uint64_t gfn)
{
	int64_t ret = pv_plat_set_store_ring(p, gfn);

	if (ret)
		return ret;
	if (p->ops && p->ops->store_ring_set)
		p->ops->store_ring_set(p->opaque, gfn, p->store_port);
	return 0;
}

static int64_t hc_store_op(struct pv_plat *p, uint64_t cmd, uint64_t arg)
{
	int64_t ret;
	bool rsv;
	uint64_t rsv_gfn;

	switch (cmd) {
	case PVKVM_STORE_GET_GFN:
		pthread_mutex_lock(&p->lock);
		rsv = !p->store_set && p->store_rsv_set;
		rsv_gfn = p->store_rsv_gfn;
		pthread_mutex_unlock(&p->lock);
		/* First ask: the VMM's page becomes the ring.  Two vCPUs asking at
		 * once: one sets it, the other gets -EEXIST and the same answer. */
		if (rsv && (ret = store_ring_choose(p, rsv_gfn)) && ret != -EEXIST)
			return ret;
		return pv_plat_store_gfn(p);
	case PVKVM_STORE_GET_EVTCHN:
		pthread_mutex_lock(&p->lock);
		ret = p->store_port_set ? (int64_t)p->store_port : -ENOENT;
		pthread_mutex_unlock(&p->lock);
		return ret;
	case PVKVM_STORE_SET_GFN:
		ret = store_ring_choose(p, arg);
		return ret ? ret : p->store_port;
	}
	return -ENOSYS;
}

static int64_t hc_console(struct pv_plat *p, uint64_t gpa, uint64_t len)
{
	char buf[PVKVM_CONSOLE_MAX];

	if (len > PVKVM_CONSOLE_MAX)
		return -EINVAL;
	if (pv_gmem_read(&p->gmem, gpa, buf, len))
		return -EFAULT;
	if (p->ops && p->ops->console)
		p->ops->console(p->opaque, buf, (uint32_t)len);
	return (int64_t)len;
}

static int64_t hc_vcpu_up(struct pv_plat *p, uint32_t caller, uint64_t vcpu, uint64_t gpa)
{
	struct pvkvm_vcpu_regs r;

	if (vcpu == 0 || vcpu >= p->nr_vcpus)
		return -EINVAL;
	if (!gpa_aligned(gpa, 8) || pv_gmem_read(&p->gmem, gpa, &r, sizeof(r)))
		return -EFAULT;
	for (unsigned i = 0; i < 3; i++)
		if (r.reserved[i])
			return -EINVAL;
	if (r.cr3 & 0xfff)
		return -EINVAL;
	if (!p->ops || !p->ops->vcpu_up)
		return -ENOSYS;
	return p->ops->vcpu_up(p->opaque, caller, (uint32_t)vcpu, &r);
}

static int64_t hc_sched_op(struct pv_plat *p, uint64_t cmd, uint64_t reason)
{
	if (cmd != PVKVM_SCHED_SHUTDOWN)
		return -ENOSYS;
	if (reason > PVKVM_SHUTDOWN_CRASH)
		return -EINVAL;
	if (!p->ops || !p->ops->shutdown)
		return -ENOSYS;
	return p->ops->shutdown(p->opaque, (uint32_t)reason);
}

int64_t pv_hcall_dispatch(struct pv_plat *p, uint32_t vcpu, uint64_t nr, const uint64_t args[5])
{
	if (vcpu >= p->nr_vcpus)
		return -EINVAL;
	switch (nr) {
	case PVKVM_HC_VERSION:
		return hc_version(args[0]);
	case PVKVM_HC_EVTCHN_OP:
		return hc_evtchn_op(p, args[0], args[1]);
	case PVKVM_HC_GRANT_SETUP:
		return hc_grant_setup(p, args[0], args[1]);
	case PVKVM_HC_SHARED_INFO:
		return hc_shared_info(p, args[0]);
	case PVKVM_HC_STORE_OP:
		return hc_store_op(p, args[0], args[1]);
	case PVKVM_HC_SCHED_OP:
		return hc_sched_op(p, args[0], args[1]);
	case PVKVM_HC_CONSOLE_WRITE:
		return hc_console(p, args[0], args[1]);
	case PVKVM_HC_VCPU_UP:
		return hc_vcpu_up(p, vcpu, args[0], args[1]);
	}
	return -ENOSYS;
}
