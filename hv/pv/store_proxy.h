/* SPDX-License-Identifier: MIT */
/* The guest's store ring proxied to the store over a byte-stream connection
 * (to pvkvm-stored, already handed over to the guest's domid, or an
 * embedded store's socketpair).  The proxy moves bytes only; the store parses
 * and checks every message, so it never touches guest memory and the guest
 * reaches nothing the store would not grant its domid.  One thread per
 * guest; woken by the guest's sends on the store port (pv_plat_ops.store_notify
 * -> pv_store_proxy_kick) and by the connection. */
#ifndef HV_PV_STORE_PROXY_H
#define HV_PV_STORE_PROXY_H

#include "plat.h"

struct pv_store_proxy;

/* Takes ownership of store_fd.  The ring must be set (pv_plat_set_store_ring
 * or the guest's STORE_SET_GFN) before bytes move; until then kicks are
 * ignored. */
int pv_store_proxy_start(struct pv_store_proxy **out, struct pv_plat *plat, int store_fd);
void pv_store_proxy_kick(struct pv_store_proxy *sp);
/* Stops the thread, closes the connection. */
void pv_store_proxy_stop(struct pv_store_proxy *sp);
/* True once the guest broke the ring (bad index) or the store hung up. */
bool pv_store_proxy_dead(struct pv_store_proxy *sp);

#endif
