/* SPDX-License-Identifier: MIT */
/* The per-guest control socket server (protocol in ctl_wire.h).  One thread
 * per server polls the listening socket and the connections; pushes caused by
 * guest hypercalls (grant frames, shared info, port changes) are sent from the
 * calling thread with MSG_DONTWAIT under the server lock, and a backend too
 * slow to take them is disconnected. */
#ifndef HV_PV_CTL_H
#define HV_PV_CTL_H

#include <stdint.h>

#include "plat.h"

#define PV_CTL_MAX_CONNS 16

struct pv_ctl_server;

/* Creates <run_dir>/<name>.ctl (replacing a stale one) serving plat; memfd
 * (not owned; dup'ed per attach) is the guest RAM of mem_size bytes. */
int pv_ctl_open(struct pv_ctl_server **out, struct pv_plat *plat, const char *run_dir,
		const char *name, int memfd, uint64_t mem_size);
/* Starts the server thread. */
int pv_ctl_start(struct pv_ctl_server *s);
/* Stops the thread, disconnects every backend, removes the socket. */
void pv_ctl_close(struct pv_ctl_server *s);
const char *pv_ctl_path(const struct pv_ctl_server *s);
/* Connections currently open (tests). */
unsigned pv_ctl_nr_conns(struct pv_ctl_server *s);

#endif
