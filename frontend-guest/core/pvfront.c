/* SPDX-License-Identifier: MIT */
/* Frontend core: platform set-up, event channels, grants. */
#include "pvfront.h"
#include "pvkvm/platform.h"

#define GNT_NR_REFS (PVKVM_GNT_MAX_FRAMES * PVKVM_GNT_PER_FRAME)

static void front_log(struct pvfront *f, const char *msg)
{
	if (f->env->log)
		f->env->log(f->env->opaque, msg);
}

static void zero(void *p, size_t n)
{
	unsigned char *c = p;

	while (n--)
		*c++ = 0;
}

int64_t pvfront_hcall(struct pvfront *f, uint32_t nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return f->env->hypercall(f->env->opaque, nr, a1, a2, a3);
}

static uint64_t scratch_pa(struct pvfront *f)
{
	return f->env->virt_to_phys(f->env->opaque, f->scratch);
}

int pvfront_init(struct pvfront *f, const struct pvfront_env *env, uint16_t nr_vcpus)
{
	int64_t r;

	zero(f, sizeof(*f));
	f->env = env;
	if (nr_vcpus == 0 || nr_vcpus > PVKVM_MAX_VCPUS)
		return -PVFRONT_EINVAL;
	f->nr_vcpus = nr_vcpus;
	r = pvfront_hcall(f, PVKVM_HC_VERSION, PVKVM_VERSION_GET, 0, 0);
	if (r < 0 || (r >> 16) != (PVKVM_PLAT_ABI_VERSION >> 16)) {
		front_log(f, "pvfront: platform ABI version mismatch");
		return -PVFRONT_EPROTO;
	}
	f->scratch = env->alloc_page(env->opaque);
	f->si = env->alloc_page(env->opaque);
	if (!f->scratch || !f->si)
		return -PVFRONT_ENOMEM;
	for (unsigned v = 0; v < PVKVM_MAX_VCPUS; v++)
		f->si->vcpu_info[v].upcall_mask = 1;
	r = pvfront_hcall(f, PVKVM_HC_SHARED_INFO,
			  env->virt_to_phys(env->opaque, f->si) >> PVKVM_PAGE_SHIFT, 0, 0);
	return (int)r;
}

int pvfront_gnt_setup(struct pvfront *f, uint32_t nr_frames)
{
	uint64_t *list = f->scratch;
	int64_t r;

	if (nr_frames == 0 || nr_frames > PVKVM_GNT_MAX_FRAMES || nr_frames < f->gnt_nr_frames)
		return -PVFRONT_EINVAL;
	for (uint32_t i = f->gnt_nr_frames; i < nr_frames; i++) {
		f->gnt[i] = f->env->alloc_page(f->env->opaque);
		if (!f->gnt[i])
			return -PVFRONT_ENOMEM;
	}
	for (uint32_t i = 0; i < nr_frames; i++)
		list[i] = f->env->virt_to_phys(f->env->opaque, f->gnt[i]) >> PVKVM_PAGE_SHIFT;
	r = pvfront_hcall(f, PVKVM_HC_GRANT_SETUP, scratch_pa(f), nr_frames, 0);
	if (r == 0)
		f->gnt_nr_frames = nr_frames;
	return (int)r;
}

static struct pvkvm_grant_entry *gnt_entry(struct pvfront *f, uint32_t gref)
{
	return &f->gnt[gref / PVKVM_GNT_PER_FRAME][gref % PVKVM_GNT_PER_FRAME];
}

int pvfront_gnt_grant(struct pvfront *f, uint16_t domid, uint64_t gfn, bool readonly,
		      uint32_t *gref)
{
	uint32_t nr = f->gnt_nr_frames * PVKVM_GNT_PER_FRAME;

	if (gfn > UINT32_MAX)
		return -PVFRONT_EINVAL;
	for (uint32_t g = PVKVM_GNT_RESERVED; g < nr; g++) {
		uint64_t bit = UINT64_C(1) << (g % 64);
		struct pvkvm_grant_entry *e;

		/* Skip full words: a 1 MiB request takes 256 references. */
		if (g % 64 == 0 && f->gnt_used[g / 64] == UINT64_MAX) {
			g += 63;
			continue;
		}
		if (f->gnt_used[g / 64] & bit)
			continue;
		f->gnt_used[g / 64] |= bit;
		e = gnt_entry(f, g);
		e->frame = (uint32_t)gfn;
		e->domid = domid;
		/* Frame and domid must be visible before the permit. */
		__atomic_store_n(&e->flags,
				 (uint16_t)(PVKVM_GTF_PERMIT_ACCESS | (readonly ? PVKVM_GTF_READONLY : 0)),
				 __ATOMIC_RELEASE);
		*gref = g;
		return 0;
	}
	return -PVFRONT_ENOSPC;
}

static bool gref_owned(const struct pvfront *f, uint32_t gref)
{
	return gref >= PVKVM_GNT_RESERVED && gref < f->gnt_nr_frames * PVKVM_GNT_PER_FRAME &&
	       (f->gnt_used[gref / 64] & (UINT64_C(1) << (gref % 64)));
}

bool pvfront_gnt_in_use(const struct pvfront *f, uint32_t gref)
{
	if (!gref_owned(f, gref))
		return false;
	return __atomic_load_n(&f->gnt[gref / PVKVM_GNT_PER_FRAME][gref % PVKVM_GNT_PER_FRAME].flags,
			       __ATOMIC_ACQUIRE) & PVKVM_GTF_INUSE;
}

int pvfront_gnt_revoke(struct pvfront *f, uint32_t gref)
{
	struct pvkvm_grant_entry *e;
	uint16_t flags;

	if (!gref_owned(f, gref))
		return -PVFRONT_EINVAL;
	e = gnt_entry(f, gref);
	flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
	do {
		if (flags & PVKVM_GTF_INUSE)
			return -PVFRONT_EBUSY;
	} while (!__atomic_compare_exchange_n(&e->flags, &flags, 0, false, __ATOMIC_SEQ_CST,
					      __ATOMIC_ACQUIRE));
	f->gnt_used[gref / 64] &= ~(UINT64_C(1) << (gref % 64));
	return 0;
}

int pvfront_evtchn_alloc(struct pvfront *f, uint16_t remote_dom, uint32_t *port)
{
	struct pvkvm_evtchn_alloc_unbound *a = f->scratch;
	int64_t r;

	a->dom = PVKVM_DOMID_SELF;
	a->remote_dom = remote_dom;
	a->port = 0;
	r = pvfront_hcall(f, PVKVM_HC_EVTCHN_OP, PVKVM_EVTCHNOP_ALLOC_UNBOUND, scratch_pa(f), 0);
	if (r == 0)
		*port = a->port;
	return (int)r;
}

static int evtchn_port_op(struct pvfront *f, uint32_t cmd, uint32_t port)
{
	struct pvkvm_evtchn_port_op *op = f->scratch;

	op->port = port;
	return (int)pvfront_hcall(f, PVKVM_HC_EVTCHN_OP, cmd, scratch_pa(f), 0);
}

int pvfront_evtchn_close(struct pvfront *f, uint32_t port)
{
	return evtchn_port_op(f, PVKVM_EVTCHNOP_CLOSE, port);
}

int pvfront_evtchn_unmask(struct pvfront *f, uint32_t port)
{
	return evtchn_port_op(f, PVKVM_EVTCHNOP_UNMASK, port);
}

void pvfront_evtchn_mask(struct pvfront *f, uint32_t port)
{
	if (port && port < PVKVM_EVTCHN_NR_PORTS)
		__atomic_fetch_or(&f->si->evtchn_mask[port / 64], UINT64_C(1) << (port % 64),
				  __ATOMIC_SEQ_CST);
}

void pvfront_evtchn_send(struct pvfront *f, uint32_t port)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* ring writes before the doorbell */
	f->env->doorbell(f->env->opaque, port);
}

bool pvfront_evtchn_poll(struct pvfront *f, uint32_t port)
{
	uint64_t bit = UINT64_C(1) << (port % 64);

	if (!port || port >= PVKVM_EVTCHN_NR_PORTS)
		return false;
	if (!(__atomic_load_n(&f->si->evtchn_pending[port / 64], __ATOMIC_ACQUIRE) & bit))
		return false;
	return __atomic_fetch_and(&f->si->evtchn_pending[port / 64], ~bit, __ATOMIC_SEQ_CST) & bit;
}
