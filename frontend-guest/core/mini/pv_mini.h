/* SPDX-License-Identifier: MIT */
/* The mini-guest's PV environment for drivers (drivers/pvnet.c). */
#ifndef PV_MINI_H
#define PV_MINI_H

#include "pvfront_xs.h"

/* Probes the platform device and brings up the store client, once; 0 and
 * the core's handles, or a MINI_EXIT_* status (also on later calls). */
int pv_mini_store(struct pvfront **f, struct pvfront_xs **xs);

#endif
