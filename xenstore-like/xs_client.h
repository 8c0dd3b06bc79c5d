/* SPDX-License-Identifier: MIT */
/* Client library for pvkvm-stored (and any xenstored socket): synchronous
 * requests, transactions with a retry helper, watch callbacks, pipelining,
 * and transparent reconnection (watches re-registered) when the daemon
 * restarts.  One struct xs_client is used by one thread at a time.
 * Functions return 0 or -errno; store errors map back to errno values
 * (EQUOTA -> -EDQUOT). */
#ifndef XS_CLIENT_H
#define XS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvkvm/xs_wire.h"

struct xs_client;
typedef void (*xs_watch_cb)(void *opaque, const char *path, const char *token);

/* socket_path NULL: the default ($PVKVM_RUN_DIR/store.sock). */
int xs_client_open(const char *socket_path, struct xs_client **out);
void xs_client_close(struct xs_client *c);
/* How long a request waits for a restarted daemon (0: fail at once). */
void xs_client_set_reconnect_ms(struct xs_client *c, unsigned ms);

/* One request; *reply (NUL-terminated, malloc'd) may be NULL to discard. */
int xs_client_request(struct xs_client *c, uint32_t type, uint32_t tx, const void *payload,
		      size_t len, char **reply, size_t *reply_len);

int xs_read(struct xs_client *c, uint32_t tx, const char *path, char **value, size_t *len);
int xs_write(struct xs_client *c, uint32_t tx, const char *path, const void *value, size_t len);
int xs_mkdir(struct xs_client *c, uint32_t tx, const char *path);
int xs_rm(struct xs_client *c, uint32_t tx, const char *path);
/* *names: NULL-terminated array in one allocation (free(*names)). */
int xs_directory(struct xs_client *c, uint32_t tx, const char *path, char ***names, unsigned *n);
/* perms: "r0\0w1\0..." as the wire has them; *len bytes. */
int xs_get_perms(struct xs_client *c, uint32_t tx, const char *path, char **perms, size_t *len);
int xs_set_perms(struct xs_client *c, uint32_t tx, const char *path, const char *const *perms,
		 unsigned n);
int xs_transaction_start(struct xs_client *c, uint32_t *tx);
int xs_transaction_end(struct xs_client *c, uint32_t tx, bool commit);
/* Runs fn inside a transaction and commits, retrying from the start on
 * EAGAIN up to max_tries times.  fn returns 0 to commit, <0 to abort. */
int xs_transaction_retry(struct xs_client *c, int (*fn)(struct xs_client *c, uint32_t tx, void *opaque),
		 void *opaque, unsigned max_tries);

int xs_watch(struct xs_client *c, const char *path, const char *token, xs_watch_cb cb,
	     void *opaque);
int xs_unwatch(struct xs_client *c, const char *path, const char *token);
/* Waits up to timeout_ms (-1: forever) for watch events and runs their
 * callbacks; returns how many ran, or -errno. */
int xs_client_dispatch(struct xs_client *c, int timeout_ms);
int xs_client_fd(const struct xs_client *c);

/* Pipelining: send many, then receive their replies in order.  buf holds
 * XENSTORE_PAYLOAD_MAX + 1 bytes; watch events are queued for dispatch. */
int xs_client_send(struct xs_client *c, uint32_t type, uint32_t tx, const void *payload,
		   size_t len, uint32_t *req_id);
int xs_client_recv(struct xs_client *c, struct xsd_sockmsg *hdr, char *buf);
/* Sends queued requests now (xs_client_recv does so before it waits). */
int xs_client_flush(struct xs_client *c);

/* The default socket: $PVKVM_RUN_DIR/store.sock, PVKVM_RUN_DIR defaulting
 * to /run/pvkvm for root or $XDG_RUNTIME_DIR/pvkvm. */
int xs_default_socket_path(char *buf, size_t size);

/* "EQUOTA" -> EDQUOT, ... (EIO for unknown strings). */
int xs_error_to_errno(const char *s);

#endif
