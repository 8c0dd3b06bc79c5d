/* SPDX-License-Identifier: MIT */
/* Backend library internals shared by its files. */
#ifndef PVBACK_INT_H
#define PVBACK_INT_H

#include <pthread.h>

#include "ctl_wire.h"
#include "pvback.h"
#include "pvkvm/evtchn.h"
#include "pvkvm/grant.h"

#define PVBACK_MAX_EVTCHN 64

struct pvback_dom {
	pthread_mutex_t lock;
	int sock;
	uint32_t seq;
	uint16_t domid;
	uint16_t backend_dom;
	uint32_t nr_vcpus;
	struct pv_gmem gmem;
	struct pvkvm_shared_info *shinfo; /* inside gmem; atomically replaced */
	uint32_t gnt_nr;
	uint64_t gnt_gfns[PVKVM_GNT_MAX_FRAMES]; /* UINT64_MAX: frame outside RAM */
	uint16_t *pins; /* per reference: uses in flight */
	struct pvback_evtchn *evtchn[PVBACK_MAX_EVTCHN];
};

/* Sends a request and waits for its reply (taking pushes meanwhile); the
 * caller holds d->lock.  Reply fds in fds[] (*nfds). */
int pvback_request(struct pvback_dom *d, uint16_t type, const void *req, uint32_t len,
		   struct pv_ctl_hdr *h, void *reply, uint32_t cap, int *fds, unsigned *nfds);
void pvback_gnt_release_all(struct pvback_dom *d);

#endif
