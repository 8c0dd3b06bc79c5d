/* SPDX-License-Identifier: MIT */
/* The net backend on the store: keys of backend/vif/<domid>/<id>/ and the
 * frontend's device/vif/<id>/ (ring/include/pvkvm/netif.h), the handshake,
 * and net_back: one vif served end to end on its own thread (what
 * `pvkvm run` embeds and `pvkvm-netback` runs). */
#ifndef NETBACK_BUS_H
#define NETBACK_BUS_H

#include "netback.h"
#include "pvback_bus.h"

/* mac, mtu, feature-sg, feature-gso-tcpv4/6, feature-rx-copy,
 * feature-ipv6-csum-offload, feature-split-event-channels,
 * multi-queue-max-queues. */
int net_bus_publish(struct pvback_bus_dev *b, const struct net_vif_config *cfg);
/* Reads and range-checks the frontend's keys (request-rx-copy must be 1). */
int net_bus_read_frontend(struct pvback_bus_dev *b, unsigned max_queues,
			  struct net_vif_frontend *fe);
/* publish, InitWait, wait for the frontend's Initialised, connect the vif,
 * Connected.  On a bad frontend: Closing and -errno. */
int net_bus_connect(struct net_vif *v, struct pvback_bus_dev *b, int timeout_ms);

struct net_back_opts {
	const char *ctl_path;   /* the guest's <name>.ctl */
	const char *store_sock; /* NULL: the default store socket */
	uint16_t domid;
	uint32_t devid;
	struct net_vif_config cfg;
};

struct net_back;

/* Starts a thread that attaches to the guest, opens the TAP and serves the
 * vif through handshakes until net_back_stop(): when the frontend closes
 * (or the vif fails), the backend goes Closed and waits for the frontend to
 * start over.  0 or -errno (the TAP and attachment are made before it
 * returns, so errors there are reported here). */
int net_back_start(struct net_back **out, const struct net_back_opts *o);
/* Stops serving without touching the store (as a crash would): the
 * frontend notices when a new backend starts.  Frees nb. */
void net_back_stop(struct net_back *nb);
/* Graceful: backend state Closed, then stop. */
void net_back_close(struct net_back *nb);
struct net_vif *net_back_vif(struct net_back *nb);
/* The guest's control socket closed (the VMM exited): the thread ended. */
bool net_back_guest_gone(struct net_back *nb);
/* True once the vif reached Connected at least once since start. */
bool net_back_connected(struct net_back *nb);

#endif
