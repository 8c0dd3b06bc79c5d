/* SPDX-License-Identifier: MIT */
/* The configuration store's wire protocol, numbered as Xen's xs_wire.h so that
 * Xen's own clients (libxenstore, xenstore-utils, Linux xenbus) talk to
 * pvkvm-stored unchanged.
 *
 * Every message, in either direction, is a 16-byte header followed by `len`
 * payload bytes (len <= XENSTORE_PAYLOAD_MAX).  The payload is a sequence of
 * NUL-terminated strings whose count depends on the type; a READ reply and a
 * WRITE request's value are raw bytes (not NUL-terminated).
 *
 * Who writes what:
 *   type    client: the operation; daemon: the same type in the reply, or
 *           XS_ERROR (payload = one of the error strings below + NUL), or
 *           XS_WATCH_EVENT for an unsolicited event (payload "path\0token\0").
 *   req_id  client: any value; daemon: echoes it (0 in watch events).
 *   tx_id   client: 0 or an id from TRANSACTION_START; daemon: echoes it.
 *   len     writer: payload length.  The reader must reject len >
 *           XENSTORE_PAYLOAD_MAX before reading the payload. */
#ifndef PVKVM_XS_WIRE_H
#define PVKVM_XS_WIRE_H

#include "abi.h"

/* Message types (xsd_sockmsg_type in Xen 4.17; 20 was XS_RESTRICT, removed). */
#define XS_CONTROL              0  /* "cmd\0args...\0"; XS_DEBUG in old Xen */
#define XS_DIRECTORY            1  /* "path\0" -> "child\0child\0..." */
#define XS_READ                 2  /* "path\0" -> value bytes */
#define XS_GET_PERMS            3  /* "path\0" -> "w0\0r1\0..." */
#define XS_WATCH                4  /* "path\0token\0" -> "OK\0" */
#define XS_UNWATCH              5  /* "path\0token\0" -> "OK\0" */
#define XS_TRANSACTION_START    6  /* "\0" -> "txid\0" */
#define XS_TRANSACTION_END      7  /* "T\0" commit or "F\0" abort -> "OK\0" */
#define XS_INTRODUCE            8  /* "domid\0mfn\0port\0" -> "OK\0" */
#define XS_RELEASE              9  /* "domid\0" -> "OK\0" */
#define XS_GET_DOMAIN_PATH      10 /* "domid\0" -> "/local/domain/<domid>\0" */
#define XS_WRITE                11 /* "path\0value bytes" -> "OK\0" */
#define XS_MKDIR                12 /* "path\0" -> "OK\0" */
#define XS_RM                   13 /* "path\0" -> "OK\0" */
#define XS_SET_PERMS            14 /* "path\0perm\0perm\0..." -> "OK\0" */
#define XS_WATCH_EVENT          15 /* daemon -> client: "path\0token\0" */
#define XS_ERROR                16 /* daemon -> client: "EINVAL\0" ... */
#define XS_IS_DOMAIN_INTRODUCED 17 /* "domid\0" -> "T\0" or "F\0" */
#define XS_RESUME               18 /* "domid\0" -> "OK\0" */
#define XS_SET_TARGET           19 /* "domid\0target\0" -> "OK\0" */
#define XS_RESET_WATCHES        21 /* "" -> "OK\0" */
#define XS_DIRECTORY_PART       22 /* "path\0offset\0" -> "gen\0child\0...[\0]" */
#define XS_TYPE_COUNT           23

/* pvkvm extension, above Xen's range: a privileged (domain 0) connection
 * hands itself over to a guest.  Payload "domid\0"; reply "OK\0".  From then on
 * the connection acts as that domain, unprivileged, for good: the VMM opens
 * one such connection per guest and proxies the guest's store ring over it. */
#define XS_PVKVM_HANDOVER       0x7001

#define XS_INVALID              0xffff

/* Write modes some old clients append to WRITE paths (unused by the daemon). */
#define XS_WRITE_NONE        "NONE"
#define XS_WRITE_CREATE      "CREATE"
#define XS_WRITE_CREATE_EXCL "CREATE|EXCL"

/* Error strings, as Xen sends them (xsd_errors[]), plus oxenstored's EQUOTA. */
#define XS_ERR_EINVAL    "EINVAL"
#define XS_ERR_EACCES    "EACCES"
#define XS_ERR_EEXIST    "EEXIST"
#define XS_ERR_EISDIR    "EISDIR"
#define XS_ERR_ENOENT    "ENOENT"
#define XS_ERR_ENOMEM    "ENOMEM"
#define XS_ERR_ENOSPC    "ENOSPC"
#define XS_ERR_EIO       "EIO"
#define XS_ERR_ENOTEMPTY "ENOTEMPTY"
#define XS_ERR_ENOSYS    "ENOSYS"
#define XS_ERR_EROFS     "EROFS"
#define XS_ERR_EBUSY     "EBUSY"
#define XS_ERR_EAGAIN    "EAGAIN"
#define XS_ERR_EISCONN   "EISCONN"
#define XS_ERR_E2BIG     "E2BIG"
#define XS_ERR_EPERM     "EPERM"
#define XS_ERR_EQUOTA    "EQUOTA"

struct xsd_sockmsg {
	uint32_t type;   /* XS_* */
	uint32_t req_id; /* chosen by the client, echoed by the daemon */
	uint32_t tx_id;  /* 0 or a transaction id */
	uint32_t len;    /* payload bytes that follow, <= XENSTORE_PAYLOAD_MAX */
};
PVKVM_ASSERT_SIZE(struct xsd_sockmsg, 16);
PVKVM_ASSERT_OFFSET(struct xsd_sockmsg, type, 0);
PVKVM_ASSERT_OFFSET(struct xsd_sockmsg, req_id, 4);
PVKVM_ASSERT_OFFSET(struct xsd_sockmsg, tx_id, 8);
PVKVM_ASSERT_OFFSET(struct xsd_sockmsg, len, 12);

/* Index of the path and the token in a watch event's payload strings. */
#define XS_WATCH_PATH  0
#define XS_WATCH_TOKEN 1

#define XENSTORE_PAYLOAD_MAX  4096
#define XENSTORE_ABS_PATH_MAX 3072
#define XENSTORE_REL_PATH_MAX 2048

#endif
