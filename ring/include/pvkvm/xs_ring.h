/* SPDX-License-Identifier: MIT */
/* The guest's store ring: one page shaped like Xen's xenstore_domain_interface.
 * The guest writes requests (xs_wire.h messages, byte stream) into req[] and
 * reads replies and watch events from rsp[].  The VMM, not the store daemon,
 * reads and writes this page; it forwards the bytes over a connection handed
 * to the guest's domid (XS_PVKVM_HANDOVER).  The store event channel signals
 * "indexes moved" in both directions.
 *
 * Indexes are free-running uint32 counters; the byte at index i lives at
 * ring[MASK_XENSTORE_IDX(i)].  A reader must check prod - cons <=
 * XENSTORE_RING_SIZE before trusting prod (the other side may be hostile),
 * read prod, then issue a read barrier before reading the bytes; a writer
 * writes the bytes, a write barrier, then prod. */
#ifndef PVKVM_XS_RING_H
#define PVKVM_XS_RING_H

#include "abi.h"

#define XENSTORE_RING_SIZE 1024
typedef uint32_t XENSTORE_RING_IDX;
#define MASK_XENSTORE_IDX(idx) ((idx) & (XENSTORE_RING_SIZE - 1))

/* server_features bits (written by the VMM, read by the guest). */
#define XENSTORE_SERVER_FEATURE_RECONNECTION 1
#define XENSTORE_SERVER_FEATURE_ERROR        2

/* connection values. */
#define XENSTORE_CONNECTED 0 /* the steady state */
#define XENSTORE_RECONNECT 1 /* guest asks for a reset; VMM sets back to 0 */

/* error values (written by the VMM, read by the guest). */
#define XENSTORE_ERROR_NONE    0
#define XENSTORE_ERROR_COMM    1 /* bad index seen: ring is dead */
#define XENSTORE_ERROR_RINGIDX 2
#define XENSTORE_ERROR_PROTO   3

struct xenstore_domain_interface {
	char req[XENSTORE_RING_SIZE];   /* guest writes request bytes */
	char rsp[XENSTORE_RING_SIZE];   /* VMM writes reply and event bytes */
	XENSTORE_RING_IDX req_cons;     /* VMM writes: request bytes consumed */
	XENSTORE_RING_IDX req_prod;     /* guest writes: request bytes produced */
	XENSTORE_RING_IDX rsp_cons;     /* guest writes: reply bytes consumed */
	XENSTORE_RING_IDX rsp_prod;     /* VMM writes: reply bytes produced */
	uint32_t server_features;       /* VMM writes once before the guest runs */
	uint32_t connection;            /* guest writes RECONNECT, VMM writes CONNECTED */
	uint32_t error;                 /* VMM writes XENSTORE_ERROR_* */
};
PVKVM_ASSERT_SIZE(struct xenstore_domain_interface, 2076);
PVKVM_ASSERT_OFFSET(struct xenstore_domain_interface, req, 0);
PVKVM_ASSERT_OFFSET(struct xenstore_domain_interface, rsp, 1024);
PVKVM_ASSERT_OFFSET(struct xenstore_domain_interface, req_cons, 2048);
PVKVM_ASSERT_OFFSET(struct xenstore_domain_interface, req_prod, 2052);
PVKVM_ASSERT_OFFSET(struct xenstore_domain_interface, rsp_cons, 2056);
PVKVM_ASSERT_OFFSET(struct xenstore_domain_interface, rsp_prod, 2060);
PVKVM_ASSERT_OFFSET(struct xenstore_domain_interface, server_features, 2064);
PVKVM_ASSERT_OFFSET(struct xenstore_domain_interface, connection, 2068);
PVKVM_ASSERT_OFFSET(struct xenstore_domain_interface, error, 2072);

#endif
