/* SPDX-License-Identifier: MIT */
/* The 2-level raise algorithm of pvkvm/evtchn.h, shared by the VMM and the
 * backend library (both write the guest's shared-info page directly). */
#ifndef HV_PV_EVTCHN_2L_H
#define HV_PV_EVTCHN_2L_H

#include <stdbool.h>
#include <stdint.h>

#include "pvkvm/evtchn.h"

/* Marks port pending for vcpu; true when the caller must signal the vCPU's
 * upcall (its irqfd).  port and vcpu are the caller's validated values. */
static inline bool evtchn_2l_raise(struct pvkvm_shared_info *si, uint32_t port, uint32_t vcpu)
{
	uint32_t w = port / 64;
	uint64_t bit = UINT64_C(1) << (port % 64);
	uint64_t selbit = UINT64_C(1) << w;
	struct pvkvm_vcpu_info *vi = &si->vcpu_info[vcpu];

	if (__atomic_fetch_or(&si->evtchn_pending[w], bit, __ATOMIC_SEQ_CST) & bit)
		return false;
	if (__atomic_load_n(&si->evtchn_mask[w], __ATOMIC_SEQ_CST) & bit)
		return false;
	if (__atomic_fetch_or(&vi->pending_sel, selbit, __ATOMIC_SEQ_CST) & selbit)
		return false;
	__atomic_store_n(&vi->upcall_pending, 1, __ATOMIC_SEQ_CST);
	return __atomic_load_n(&vi->upcall_mask, __ATOMIC_SEQ_CST) == 0;
}

/* EVTCHNOP_UNMASK: clear the mask and, if the port is pending, raise as if
 * it had just become pending. */
static inline bool evtchn_2l_unmask(struct pvkvm_shared_info *si, uint32_t port, uint32_t vcpu)
{
	uint32_t w = port / 64;
	uint64_t bit = UINT64_C(1) << (port % 64);
	uint64_t selbit = UINT64_C(1) << w;
	struct pvkvm_vcpu_info *vi = &si->vcpu_info[vcpu];

	__atomic_fetch_and(&si->evtchn_mask[w], ~bit, __ATOMIC_SEQ_CST);
	if (!(__atomic_load_n(&si->evtchn_pending[w], __ATOMIC_SEQ_CST) & bit))
		return false;
	if (__atomic_fetch_or(&vi->pending_sel, selbit, __ATOMIC_SEQ_CST) & selbit)
		return false;
	__atomic_store_n(&vi->upcall_pending, 1, __ATOMIC_SEQ_CST);
	return __atomic_load_n(&vi->upcall_mask, __ATOMIC_SEQ_CST) == 0;
}

#endif
