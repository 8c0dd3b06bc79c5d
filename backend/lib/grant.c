/* SPDX-License-Identifier: MIT */
/* Grant checks: the only way a backend reaches guest memory. */
#include <errno.h>

#include "pvback_int.h"

#define GNT_CAS_TRIES 64

/* The {flags, domid} pair as one little-endian 32-bit word, so the check and
 * the in-use mark happen on the same value (Xen's trick). */
static uint32_t *gnt_word(struct pvback_dom *d, uint32_t gref)
{
	uint64_t gfn;

	if (gref < PVKVM_GNT_RESERVED || gref / PVKVM_GNT_PER_FRAME >= d->gnt_nr)
		return NULL;
	gfn = d->gnt_gfns[gref / PVKVM_GNT_PER_FRAME];
	if (gfn == UINT64_MAX)
		return NULL;
	return pv_gmem_ptr(&d->gmem, (gfn << PVKVM_PAGE_SHIFT) + (gref % PVKVM_GNT_PER_FRAME) * 8, 8);
}

/* Validates one snapshot of the word; 0 or the -errno map returns. */
static int gnt_word_check(uint32_t w, uint16_t backend_dom, bool write)
{
	uint16_t flags = (uint16_t)w;

	if ((flags & PVKVM_GTF_TYPE_MASK) != PVKVM_GTF_PERMIT_ACCESS)
		return -EPERM;
	if ((uint16_t)(w >> 16) != backend_dom)
		return -EPERM;
	if (write && (flags & PVKVM_GTF_READONLY))
		return -EACCES;
	return 0;
}

static void gnt_clear_inuse(uint32_t *word)
{
	__atomic_fetch_and(word, ~(uint32_t)PVKVM_GTF_INUSE, __ATOMIC_SEQ_CST);
}

static int gnt_mark(uint32_t *word, uint16_t backend_dom, bool write)
{
	uint32_t set = PVKVM_GTF_READING | (write ? PVKVM_GTF_WRITING : 0);
	uint32_t w = __atomic_load_n(word, __ATOMIC_SEQ_CST);

	for (int i = 0; i < GNT_CAS_TRIES; i++) {
		int err = gnt_word_check(w, backend_dom, write);

		if (err)
			return err;
		if ((w | set) == w ||
		    __atomic_compare_exchange_n(word, &w, w | set, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return 0;
	}
	return -EAGAIN;
}

int pvback_gnt_map(struct pvback_dom *d, uint32_t gref, bool write, void **page)
{
	uint32_t *word;
	uint64_t frame;
	void *p;
	int err;

	pthread_mutex_lock(&d->lock);
	word = gnt_word(d, gref);
	err = -EINVAL;
	if (!word || d->pins[gref] == UINT16_MAX)
		goto out;
	err = gnt_mark(word, d->backend_dom, write);
	if (err)
		goto out;
	/* Read the frame only now: the guest cannot revoke past our mark. */
	frame = __atomic_load_n((uint32_t *)word + 1, __ATOMIC_SEQ_CST);
	p = pv_gmem_ptr(&d->gmem, frame << PVKVM_PAGE_SHIFT, PVKVM_PAGE_SIZE);
	if (!p) {
		if (d->pins[gref] == 0)
			gnt_clear_inuse(word);
		err = -EFAULT;
		goto out;
	}
	d->pins[gref]++;
	*page = p;
out:
	pthread_mutex_unlock(&d->lock);
	return err;
}

void pvback_gnt_unmap(struct pvback_dom *d, uint32_t gref)
{
	uint32_t *word;

	pthread_mutex_lock(&d->lock);
	word = gnt_word(d, gref);
	if (word && d->pins[gref] && --d->pins[gref] == 0)
		gnt_clear_inuse(word);
	pthread_mutex_unlock(&d->lock);
}

void pvback_gnt_release_all(struct pvback_dom *d)
{
	pthread_mutex_lock(&d->lock);
	for (uint32_t g = 0; g < PVKVM_GNT_MAX_FRAMES * PVKVM_GNT_PER_FRAME; g++) {
		uint32_t *word;

		if (!d->pins[g])
			continue;
		d->pins[g] = 0;
		word = gnt_word(d, g);
		if (word)
			gnt_clear_inuse(word);
	}
	pthread_mutex_unlock(&d->lock);
}
