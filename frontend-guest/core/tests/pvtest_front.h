/* SPDX-License-Identifier: MIT */
/* The guest half of the platform self-test ("pvtest" device), portable: the
 * mini-guest runs it for test=evtchn / test=grant, the host harness runs it
 * in a thread.  The host half is tests/harness/pvtest_back.c.
 *
 * Protocol over device/pvtest/<id> (all keys in the frontend directory unless
 * noted):
 *   frontend publishes: event-channel, gnt-rw (a page granted read-write),
 *     gnt-ro (read-only), gnt-foreign (granted to domain 7), gnt-revoked
 *     (granted then revoked), gnt-outside (a frame beyond RAM), rounds;
 *     then state Initialised.
 *   backend checks every grant (rw maps for write; ro maps for read but not
 *     for write; foreign and revoked -EPERM; outside -EFAULT), keeps gnt-rw
 *     mapped, writes backend/grant-checks = "ok" or what failed, binds the
 *     port, state Connected.
 *   frontend: grant-checks must be "ok"; revoking gnt-rw must fail (-EBUSY);
 *     then `rounds` ping-pongs: it writes n to the rw page's first word and
 *     sends; the backend answers n + 1 and notifies; the frontend polls.
 *   frontend Closing -> backend unmaps gnt-rw, Closed -> frontend revokes
 *     gnt-rw (must succeed now), Closed. */
#ifndef PVTEST_FRONT_H
#define PVTEST_FRONT_H

#include "pvfront_bus.h"

/* 0, or a negative step number (PVTEST_E_*) saying which check failed. */
#define PVTEST_E_DISCOVER   -1
#define PVTEST_E_SETUP      -2
#define PVTEST_E_CONNECT    -3
#define PVTEST_E_CHECKS     -4
#define PVTEST_E_REVOKE_HELD -5
#define PVTEST_E_PINGPONG   -6
#define PVTEST_E_CLOSE      -7
#define PVTEST_E_REVOKE     -8

int pvtest_front_run(struct pvfront *f, struct pvfront_xs *xs, uint32_t rounds);
const char *pvtest_front_strerror(int err);

#endif
