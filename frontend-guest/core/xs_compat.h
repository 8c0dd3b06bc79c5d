/* SPDX-License-Identifier: MIT */
/* The store ring and wire definitions the core needs.  The project's
 * ring/include/pvkvm/xs_ring.h and xs_wire.h (Xen's layout and numbers) are
 * used when present; until they are, the same facts from Xen's public
 * xenstore_domain_interface and xs_wire.h are declared here. */
#ifndef PVFRONT_XS_COMPAT_H
#define PVFRONT_XS_COMPAT_H

#include "pvkvm/abi.h"

#if defined(__has_include)
#if __has_include("pvkvm/xs_ring.h") && __has_include("pvkvm/xs_wire.h")
#include "pvkvm/xs_ring.h"
#include "pvkvm/xs_wire.h"
#define PVFRONT_HAVE_XS_HEADERS 1
#endif
#endif

#ifndef PVFRONT_HAVE_XS_HEADERS
#define XENSTORE_RING_SIZE 1024
typedef uint32_t XENSTORE_RING_IDX;
#define MASK_XENSTORE_IDX(idx) ((idx) & (XENSTORE_RING_SIZE - 1))
struct xenstore_domain_interface {
	char req[XENSTORE_RING_SIZE];
	char rsp[XENSTORE_RING_SIZE];
	XENSTORE_RING_IDX req_cons, req_prod, rsp_cons, rsp_prod;
	uint32_t server_features, connection, error;
};
PVKVM_ASSERT_OFFSET(struct xenstore_domain_interface, req_cons, 2048);
struct xsd_sockmsg {
	uint32_t type, req_id, tx_id, len;
};
#define XENSTORE_ERROR_RINGIDX 2
#define XS_DIRECTORY         1
#define XS_READ              2
#define XS_WATCH             4
#define XS_UNWATCH           5
#define XS_TRANSACTION_START 6
#define XS_TRANSACTION_END   7
#define XS_WRITE             11
#define XS_RM                13
#define XS_WATCH_EVENT       15
#define XS_ERROR             16
#define XENSTORE_PAYLOAD_MAX 4096
#endif

#endif
