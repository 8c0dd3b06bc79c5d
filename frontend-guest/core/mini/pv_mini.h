/* SPDX-License-Identifier: MIT */
/* What the mini-guest's PV device drivers get from pv_mini.c. */
#ifndef PV_MINI_H
#define PV_MINI_H

#include "pvfront_xs.h"

/* The pv platform (hypercall page), a grant table and the store client, set
 * up on first use.  0, or MINI_EXIT_NODEV when there is no pv platform or no
 * store. */
int pv_mini_platform(struct pvfront **f, struct pvfront_xs **xs);

#endif
