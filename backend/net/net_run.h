/* SPDX-License-Identifier: MIT */
/* The vifs of one guest as `pvkvm run` serves them: embedded net_back
 * threads (the same code as pvkvm-netback), devices created in the store. */
#ifndef NET_RUN_H
#define NET_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "netback.h"

#define NET_RUN_MAX_NICS 8

/* "tap=NAME[,mac=aa:bb:cc:dd:ee:ff][,mtu=N][,rate=N[k|m|g]][,queues=N]"
 * (rate: guest->host bytes per second).  Unset mac: 52:54:00:00:<domid>:<index>.
 * 0, or -EINVAL with a reason in err. */
int net_nic_parse(const char *spec, uint16_t domid, unsigned index, struct net_vif_config *cfg,
		  char *err, size_t errlen);

struct net_run;

/* Creates vif/<i> in the store (store_sock) for each spec and starts its
 * backend thread, attached through the guest's control socket ctl_path.
 * 0, or -errno with a reason in err (nothing left running). */
int net_run_start(struct net_run **out, const char *ctl_path, const char *store_sock,
		  uint16_t domid, const char *const *specs, unsigned n, char *err, size_t errlen);
/* Tells each frontend the backend closes, stops the threads, removes the
 * devices from the store.  NULL is fine. */
void net_run_stop(struct net_run *r);

#endif
