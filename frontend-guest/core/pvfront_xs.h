/* SPDX-License-Identifier: MIT */
/* Store client over the store ring (Xen's xenstore_domain_interface shape,
 * xs_wire messages), for polling guests.  Synchronous: one request at a time;
 * watch events that arrive meanwhile are queued (PVFRONT_XS_EVENTS deep, the
 * oldest dropped when full, as a watch may fire spuriously anyway).
 * Strings are NUL-terminated; paths relative to /local/domain/<domid>/ are
 * accepted as the store resolves them. */
#ifndef PVFRONT_XS_H
#define PVFRONT_XS_H

#include "pvfront.h"
#include "xs_compat.h"

#define PVFRONT_ETIMEDOUT 110
#define PVFRONT_E2BIG     7
#define PVFRONT_EACCES    13
#define PVFRONT_EEXIST    17
#define PVFRONT_ENOTEMPTY 39

#define PVFRONT_XS_EVENTS    4
#define PVFRONT_XS_EVENT_MAX 256

struct pvfront_xs_event {
	uint32_t len; /* "path\0token\0" */
	char data[PVFRONT_XS_EVENT_MAX];
};

struct pvfront_xs {
	struct pvfront *f;
	struct xenstore_domain_interface *ring;
	uint32_t port;
	uint32_t req_id;
	uint64_t spin_limit; /* relax() calls before a request gives up */
	uint32_t ev_head, ev_count;
	struct pvfront_xs_event ev[PVFRONT_XS_EVENTS];
};

/* Finds the ring and port with the store_op hypercall. */
int pvfront_xs_init(struct pvfront_xs *xs, struct pvfront *f);

/* Returns the value length (value NUL-terminated in buf), or -errno;
 * -E2BIG if it does not fit cap - 1. */
int pvfront_xs_read(struct pvfront_xs *xs, uint32_t tx, const char *path, char *buf, uint32_t cap);
int pvfront_xs_write(struct pvfront_xs *xs, uint32_t tx, const char *path, const char *value);
int pvfront_xs_rm(struct pvfront_xs *xs, uint32_t tx, const char *path);
/* Children as consecutive NUL-terminated names in buf; returns their count. */
int pvfront_xs_directory(struct pvfront_xs *xs, uint32_t tx, const char *path, char *buf,
			 uint32_t cap);
int pvfront_xs_tx_start(struct pvfront_xs *xs, uint32_t *tx);
/* -EAGAIN: the transaction conflicted; retry it. */
int pvfront_xs_tx_end(struct pvfront_xs *xs, uint32_t tx, bool commit);
int pvfront_xs_watch(struct pvfront_xs *xs, const char *path, const char *token);
int pvfront_xs_unwatch(struct pvfront_xs *xs, const char *path, const char *token);
/* Next watch event: 1 with path and token pointing into ev, 0 if none (when
 * !wait), or -errno.  ev must outlive the pointers. */
int pvfront_xs_next_event(struct pvfront_xs *xs, bool wait, struct pvfront_xs_event *ev,
			  const char **path, const char **token);

/* Generic request: payload is n NUL-terminated strings (the last one's NUL
 * omitted when last_raw, for WRITE values).  Reply payload into reply (cap
 * bytes); returns its length or -errno (XS_ERROR mapped to errno). */
int pvfront_xs_request(struct pvfront_xs *xs, uint32_t type, uint32_t tx, const char *const *strs,
		       unsigned n, bool last_raw, char *reply, uint32_t cap);

#endif
