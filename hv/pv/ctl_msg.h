/* SPDX-License-Identifier: MIT */
/* Sending and receiving one control-socket message (ctl_wire.h), shared by
 * the VMM's server and the backend library's client. */
#ifndef HV_PV_CTL_MSG_H
#define HV_PV_CTL_MSG_H

#include <stdint.h>

#include "ctl_wire.h"

#define PV_CTL_MAX_FDS 2

/* 0 or -errno; flags for sendmsg (MSG_DONTWAIT for pushes). */
int pv_ctl_send(int sock, uint16_t type, uint32_t seq, const void *payload, uint32_t len,
		const int *fds, unsigned nfds, int flags);
/* Receives one message: checks magic, version, that the packet was not
 * truncated and hdr.len matches; payload goes to buf (cap bytes).  Received
 * fds land in fds[] (*nfds of them; extra or unexpected ones are closed and
 * the message refused with -EBADMSG).  Returns payload length, 0 < on error,
 * -ECONNRESET on an orderly close. */
int pv_ctl_recv(int sock, struct pv_ctl_hdr *hdr, void *buf, uint32_t cap, int *fds,
		unsigned max_fds, unsigned *nfds);

#endif
