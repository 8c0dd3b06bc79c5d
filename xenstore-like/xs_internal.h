/* SPDX-License-Identifier: MIT */
/* pvkvm-stored internals shared by the daemon's files:
 *   xs_tree.c     nodes, hash table, permissions
 *   xs_txn.c      optimistic transactions (overlay + generation checks)
 *   xs_watch.c    watches and event delivery
 *   xs_ops.c      one handler per wire operation
 *   xs_conn.c     connections, framing, output queues
 *   xs_daemon.c   context, epoll loop, domains
 *   xs_persist.c  journal + snapshot
 * Everything hangs off struct xs_daemon; the loop is single-threaded. */
#ifndef XS_INTERNAL_H
#define XS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <pthread.h>

#include "pvkvm/xs_wire.h"
#include "xs_daemon.h"

#define XS_PERM_NONE  0
#define XS_PERM_READ  1
#define XS_PERM_WRITE 2
#define XS_PERM_BOTH  3

#define XS_MAX_DOMID  65535u
#define XS_DOMID_NONE UINT32_MAX
#define XS_PERMS_MAX  64 /* hard bound, even for domain 0 */

struct xs_perm {
	uint32_t domid;
	uint32_t perm; /* XS_PERM_* */
};

/* A node.  perms[0] is the owner and the default for domains not listed.
 * The value and perms live in one allocation (data) to keep 1M nodes small. */
struct xs_node {
	struct xs_node *hnext;              /* hash chain */
	struct xs_node *parent;
	struct xs_node *child;              /* first child */
	struct xs_node *prev, *next;        /* siblings; first child's prev is the last */
	char *data;                         /* perms[nperms], then value */
	uint64_t gen;                       /* bumped on every change, and on child add/remove */
	uint32_t value_len;
	uint32_t nchildren;
	uint16_t nperms;
	uint16_t path_len;
	char path[];
};

static inline struct xs_perm *xs_node_perms(const struct xs_node *n)
{
	return (struct xs_perm *)(void *)n->data;
}
static inline char *xs_node_value(const struct xs_node *n)
{
	return n->data + n->nperms * sizeof(struct xs_perm);
}

struct xs_tree {
	struct xs_node **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
	uint64_t gen;    /* last generation handed out */
};

struct xs_domain {
	uint32_t domid;
	uint32_t nodes;    /* nodes owned */
	uint32_t watches;
	uint32_t txns;
	uint32_t target;   /* XS_DOMID_NONE or the domain this one manages */
	bool introduced;
};

struct xs_watch {
	struct xs_watch *hnext;      /* daemon's hash by path */
	struct xs_watch *conn_next;  /* connection's list */
	struct xs_conn *conn;
	char *token;
	bool relative;               /* registered with a relative path */
	uint32_t path_len;
	char path[];                 /* absolute, or @introduceDomain/@releaseDomain */
};

struct xs_buf {
	char *data;
	size_t head, len, cap; /* valid bytes are data[head .. head+len) */
};

struct xs_txn;

struct xs_conn {
	struct xs_conn *next, *prev;
	struct xs_daemon *d;
	int fd;
	uint32_t id;
	uint32_t domid;
	bool privileged;         /* domain 0 and not handed over */
	bool dead;               /* closing at the end of this loop turn */
	bool epollout;           /* EPOLLOUT armed */
	bool blocked;            /* input paused until the output queue drains */
	bool on_flush_list;
	struct xs_conn *flush_next;
	struct xs_buf in;
	struct xs_buf out;
	uint32_t out_msgs;       /* replies queued, not yet taken by the socket */
	struct xs_watch *watches;
	struct xs_txn *txns;
	uint32_t next_txid;
};

struct xs_persist;
struct xs_pending_conn;

struct xs_daemon {
	struct xs_daemon_opts opts;
	char *socket_path;
	int listen_fd;
	int epoll_fd;
	int stop_fd;             /* eventfd written by xs_daemon_stop() */
	int wake_fd;             /* eventfd: connections queued by xs_daemon_add_conn() */
	pthread_mutex_t pending_lock;
	struct xs_pending_conn *pending;
	struct xs_tree tree;
	struct xs_domain *doms[XS_MAX_DOMID + 1];
	struct xs_conn *conns;
	struct xs_conn *flush_list; /* conns with queued output, flushed each loop turn */
	uint32_t ndead;
	uint32_t next_conn_id;
	struct xs_watch **wbuckets;
	size_t nwbuckets;
	size_t nwatches;
	struct xs_persist *persist;
	struct xs_daemon_stats stats;
	bool replaying;          /* loading state: no journal, no watches */
};

/* A request after framing and validation of the header. */
struct xs_req {
	struct xs_conn *conn;
	struct xsd_sockmsg hdr;
	char *body;              /* hdr.len bytes + an extra NUL */
	struct xs_txn *txn;      /* NULL outside a transaction */
};

/* xs_tree.c */
int xs_tree_init(struct xs_tree *t);
void xs_tree_destroy(struct xs_tree *t);
struct xs_node *xs_tree_lookup(const struct xs_tree *t, const char *path, size_t len);
struct xs_node *xs_tree_insert(struct xs_tree *t, struct xs_node *parent, const char *path,
			       size_t len, const struct xs_perm *perms, unsigned nperms,
			       const void *value, size_t value_len);
int xs_node_set(struct xs_tree *t, struct xs_node *n, const struct xs_perm *perms,
		unsigned nperms, const void *value, size_t value_len);
void xs_tree_remove_leaf(struct xs_tree *t, struct xs_node *n);
uint32_t xs_path_hash(const char *p, size_t len);
unsigned xs_perm_for(const struct xs_perm *perms, unsigned nperms, uint32_t domid);
int xs_perms_parse(const char *s, size_t len, struct xs_perm *out, unsigned max, unsigned *n);
size_t xs_perms_format(const struct xs_perm *p, unsigned n, char *buf, size_t size);
bool xs_path_valid(const char *p, size_t len);

/* xs_daemon.c: domains, permission and quota helpers */
struct xs_domain *xs_domain_get(struct xs_daemon *d, uint32_t domid);
bool xs_conn_can(const struct xs_conn *c, const struct xs_perm *perms, unsigned n, unsigned want);
bool xs_conn_quota_applies(const struct xs_conn *c);
/* Ownership accounting on node creation/removal/owner change. */
int xs_owner_charge(struct xs_daemon *d, const struct xs_conn *c, uint32_t owner);
void xs_owner_uncharge(struct xs_daemon *d, uint32_t owner);

/* xs_store.c: the store as one request sees it (base tree, or a
 * transaction's overlay), and the mutations applied to the base tree. */
struct xs_nodeview {
	const char *value;
	uint32_t vlen;
	const struct xs_perm *perms;
	unsigned nperms;
	uint64_t gen;
};
int xs_view_get(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len,
		struct xs_nodeview *v);
int xs_view_put(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len,
		const void *value, size_t vlen, const struct xs_perm *perms, unsigned np);
int xs_view_rm(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len);
/* Appends the children's names, each NUL-terminated, to out. */
int xs_view_children(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len,
		     struct xs_buf *out);
int xs_apply_put(struct xs_daemon *d, const char *path, size_t len, const void *value,
		 size_t vlen, const struct xs_perm *perms, unsigned np);
int xs_apply_rm(struct xs_daemon *d, const char *path, size_t len);
size_t xs_parent_len(const char *path, size_t len);
int xs_buf_append(struct xs_buf *b, const void *p, size_t n);
void xs_buf_free(struct xs_buf *b);

/* xs_watch.c */
struct xs_change {
	const char *path;
	size_t len;
	const struct xs_perm *perms; /* for the watchers' read check */
	unsigned nperms;
	bool removed;                /* also fire watches below path */
};
int xs_watch_add(struct xs_daemon *d, struct xs_conn *c, const char *path, const char *token,
		 bool relative);
int xs_watch_del(struct xs_daemon *d, struct xs_conn *c, const char *path, const char *token);
void xs_watch_del_all(struct xs_daemon *d, struct xs_conn *c);
void xs_watch_fire(struct xs_daemon *d, const struct xs_change *ch);
void xs_watch_fire_special(struct xs_daemon *d, const char *name, uint32_t domid);
int xs_watch_init(struct xs_daemon *d);
void xs_watch_destroy(struct xs_daemon *d);

/* xs_txn.c */
int xs_txn_start(struct xs_daemon *d, struct xs_conn *c, uint32_t *id);
struct xs_txn *xs_txn_find(struct xs_conn *c, uint32_t id);
int xs_txn_end(struct xs_daemon *d, struct xs_conn *c, struct xs_txn *t, bool commit);
void xs_txn_free_all(struct xs_daemon *d, struct xs_conn *c);
int xs_txn_get(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len,
	       struct xs_nodeview *v);
int xs_txn_put(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len,
	       const void *value, size_t vlen, const struct xs_perm *perms, unsigned np);
int xs_txn_rm(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len);
int xs_txn_children(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len,
		    struct xs_buf *out);

/* xs_ops.c */
void xs_ops_dispatch(struct xs_daemon *d, struct xs_conn *c, struct xsd_sockmsg *hdr, char *body);
const char *xs_errno_string(int err);

/* xs_conn.c */
struct xs_conn *xs_conn_new(struct xs_daemon *d, int fd, uint32_t domid);
void xs_conn_free(struct xs_daemon *d, struct xs_conn *c);
int xs_conn_send(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
		 const void *payload, size_t len);
int xs_conn_send_error(struct xs_conn *c, const struct xsd_sockmsg *req, int err);
void xs_conn_on_readable(struct xs_daemon *d, struct xs_conn *c);
void xs_conn_on_writable(struct xs_daemon *d, struct xs_conn *c);
void xs_conn_kill(struct xs_conn *c, const char *why);
void xs_conn_flush_all(struct xs_daemon *d);
void xs_conn_reap(struct xs_daemon *d);

/* xs_persist.c */
int xs_persist_open(struct xs_daemon *d, const char *dir);
void xs_persist_close(struct xs_daemon *d);
void xs_persist_note_put(struct xs_daemon *d, const struct xs_node *n);
void xs_persist_note_del(struct xs_daemon *d, const char *path, size_t len);
int xs_persist_commit(struct xs_daemon *d);

#endif
