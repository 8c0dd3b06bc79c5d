/* SPDX-License-Identifier: MIT */
/* pvkvm-stored as a library: one struct xs_daemon per store, no globals, so
 * the VMM can run one in a thread and tests can run two in one process.
 *
 *   xs_daemon_new(&opts, &d)   load the state dir, bind the socket
 *   xs_daemon_run(d)           event loop until xs_daemon_stop() (any thread)
 *   xs_daemon_free(d)          close everything; the state dir stays */
#ifndef XS_DAEMON_H
#define XS_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xs_quota {
	uint32_t nodes_per_domain;     /* Xen: quota-nb-entry-per-domain, 1000 */
	uint32_t node_size;            /* Xen: quota-max-entry-size, 2048 bytes */
	uint32_t watches_per_domain;   /* Xen: quota-nb-watch-per-domain, 128 */
	uint32_t txns_per_domain;      /* Xen: quota-max-transaction, 10 */
	uint32_t outstanding_per_conn; /* Xen: quota-req-outstanding, 20 */
	uint32_t path_len;             /* Xen: quota-max-path-len, 2048 */
	uint32_t perms_per_node;       /* Xen: quota-nb-perms-per-node, 5 */
	uint32_t txn_nodes;            /* Xen: quota-trans-nodes, 1024 */
	uint32_t outq_bytes;           /* ours: output queue bound, then disconnect */
};

struct xs_daemon_opts {
	const char *socket_path;  /* NULL: no listening socket (add_conn only) */
	const char *state_dir;    /* NULL: nothing persisted */
	struct xs_quota quota;    /* fill with xs_quota_defaults() */
	uint32_t snapshot_every;  /* journal records between snapshots; 0: 100000 */
	bool fsync_journal;       /* fsync each record (power-loss safe, slower) */
};

struct xs_daemon;

void xs_quota_defaults(struct xs_quota *q);
int xs_daemon_new(const struct xs_daemon_opts *opts, struct xs_daemon **out);
/* Runs the event loop in the calling thread until xs_daemon_stop(). */
int xs_daemon_run(struct xs_daemon *d);
/* Async-signal-safe and thread-safe: makes xs_daemon_run() return. */
void xs_daemon_stop(struct xs_daemon *d);
void xs_daemon_free(struct xs_daemon *d);
/* Serve an already-connected stream socket as domain `domid` (0 privileged).
 * Thread-safe: the loop thread picks it up.  The daemon owns fd afterwards. */
int xs_daemon_add_conn(struct xs_daemon *d, int fd, uint32_t domid);

/* Statistics for tests and benchmarks. */
struct xs_daemon_stats {
	uint64_t nodes;
	uint64_t conns;
	uint64_t watches;
	uint64_t requests;
	uint64_t conns_dropped;
};
void xs_daemon_get_stats(struct xs_daemon *d, struct xs_daemon_stats *st);

#endif
