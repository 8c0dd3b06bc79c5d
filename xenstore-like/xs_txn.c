/* SPDX-License-Identifier: MIT */
/* Optimistic transactions.  A transaction is an overlay: the first time it
 * touches a path it copies the node (or notes its absence) together with the
 * node's generation; its reads and writes then see only the overlay.  At
 * commit every touched path must still have the generation it had when first
 * touched (0 = absent), else EAGAIN; then the changes are applied deepest
 * removals first, shallowest creations first.  Child creation and removal
 * bump the parent's generation, so a directory listing conflicts with a
 * concurrent child change.  Writes conflict too ("blind writes" are not
 * special), as in C xenstored. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xs_internal.h"

#define TXN_BUCKETS 256

struct xs_tentry {
	struct xs_tentry *hnext, *lnext;
	uint64_t gen_seen;
	bool exists;
	bool dirty;
	char *value;
	uint32_t vlen;
	unsigned nperms;
	struct xs_perm *perms;
	size_t len;
	char path[];
};

struct xs_txn {
	struct xs_txn *next;
	uint32_t id;
	struct xs_conn *conn;
	uint32_t nentries;
	struct xs_tentry *list;
	struct xs_tentry *buckets[TXN_BUCKETS];
};

static void entry_free(struct xs_tentry *e)
{
	free(e->value);
	free(e->perms);
	free(e);
}

static void txn_free(struct xs_daemon *d, struct xs_txn *t)
{
	struct xs_tentry *e, *next;

	for (e = t->list; e; e = next) {
		next = e->lnext;
		entry_free(e);
	}
	xs_domain_get(d, t->conn->domid)->txns--;
	free(t);
}

int xs_txn_start(struct xs_daemon *d, struct xs_conn *c, uint32_t *id)
{
	struct xs_domain *dom = xs_domain_get(d, c->domid);
	struct xs_txn *t;

	if (!dom)
		return -ENOMEM;
	if (xs_conn_quota_applies(c) && dom->txns >= d->opts.quota.txns_per_domain)
		return -EDQUOT;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	do
		t->id = ++c->next_txid;
	while (t->id == 0 || xs_txn_find(c, t->id));
	t->conn = c;
	t->next = c->txns;
	c->txns = t;
	dom->txns++;
	*id = t->id;
	return 0;
}

struct xs_txn *xs_txn_find(struct xs_conn *c, uint32_t id)
{
	for (struct xs_txn *t = c->txns; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

static void txn_unlink(struct xs_conn *c, struct xs_txn *t)
{
	struct xs_txn **pp = &c->txns;

	while (*pp != t)
		pp = &(*pp)->next;
	*pp = t->next;
}

void xs_txn_free_all(struct xs_daemon *d, struct xs_conn *c)
{
	while (c->txns) {
		struct xs_txn *t = c->txns;

		c->txns = t->next;
		txn_free(d, t);
	}
}

static int entry_set(struct xs_tentry *e, const void *value, size_t vlen,
		     const struct xs_perm *perms, unsigned np)
{
	char *nv = malloc(vlen + 1);
	struct xs_perm *npm = malloc(np * sizeof(*npm) + 1);

	if (!nv || !npm) {
		free(nv);
		free(npm);
		return -ENOMEM;
	}
	if (vlen)
		memcpy(nv, value, vlen);
	nv[vlen] = '\0';
	memcpy(npm, perms, np * sizeof(*npm));
	free(e->value);
	free(e->perms);
	e->value = nv;
	e->vlen = (uint32_t)vlen;
	e->perms = npm;
	e->nperms = np;
	return 0;
}

/* The overlay entry for path, created from the base tree on first touch. */
static int entry_get(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len,
		     struct xs_tentry **out)
{
	uint32_t h = xs_path_hash(path, len) & (TXN_BUCKETS - 1);
	struct xs_tentry *e;
	struct xs_node *n;

	for (e = t->buckets[h]; e; e = e->hnext)
		if (e->len == len && !memcmp(e->path, path, len)) {
			*out = e;
			return 0;
		}
	if (xs_conn_quota_applies(t->conn) && t->nentries >= d->opts.quota.txn_nodes)
		return -EDQUOT;
	e = calloc(1, sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e->path, path, len);
	e->len = len;
	n = xs_tree_lookup(&d->tree, path, len);
	if (n) {
		e->gen_seen = n->gen;
		e->exists = true;
		if (entry_set(e, xs_node_value(n), n->value_len, xs_node_perms(n), n->nperms)) {
			free(e);
			return -ENOMEM;
		}
	}
	e->hnext = t->buckets[h];
	t->buckets[h] = e;
	e->lnext = t->list;
	t->list = e;
	t->nentries++;
	*out = e;
	return 0;
}

int xs_txn_get(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len,
	       struct xs_nodeview *v)
{
	struct xs_tentry *e;
	int rc = entry_get(d, t, path, len, &e);

	if (rc)
		return rc;
	if (!e->exists)
		return -ENOENT;
	v->value = e->value;
	v->vlen = e->vlen;
	v->perms = e->perms;
	v->nperms = e->nperms;
	v->gen = e->gen_seen;
	return 0;
}

int xs_txn_put(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len,
	       const void *value, size_t vlen, const struct xs_perm *perms, unsigned np)
{
	struct xs_tentry *e;
	int rc = entry_get(d, t, path, len, &e);

	if (rc)
		return rc;
	rc = entry_set(e, value, vlen, perms, np);
	if (rc)
		return rc;
	e->exists = true;
	e->dirty = true;
	return 0;
}

static bool is_child_of(const char *child, size_t clen, const char *path, size_t len)
{
	return clen > len && xs_parent_len(child, clen) == len && !memcmp(child, path, len);
}

int xs_txn_children(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len,
		    struct xs_buf *out)
{
	struct xs_tentry *e, *ce;
	struct xs_node *n, *c;
	size_t skip = len + (len > 1);
	int rc = entry_get(d, t, path, len, &e);

	if (rc)
		return rc;
	if (!e->exists)
		return -ENOENT;
	n = xs_tree_lookup(&d->tree, path, len);
	for (c = n ? n->child : NULL; c; c = c->next) {
		rc = entry_get(d, t, c->path, c->path_len, &ce);
		if (rc)
			return rc;
		if (ce->exists && xs_buf_append(out, c->path + skip, c->path_len - skip + 1))
			return -ENOMEM;
	}
	for (ce = t->list; ce; ce = ce->lnext) {
		if (!ce->exists || !is_child_of(ce->path, ce->len, path, len) ||
		    xs_tree_lookup(&d->tree, ce->path, ce->len))
			continue;
		if (xs_buf_append(out, ce->path + skip, ce->len - skip + 1))
			return -ENOMEM;
	}
	return 0;
}

int xs_txn_rm(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len)
{
	struct xs_buf kids = { 0 };
	struct xs_tentry *e;
	char *child = NULL;
	int rc = xs_txn_children(d, t, path, len, &kids);

	if (rc)
		goto out;
	child = malloc(len + 2 + XENSTORE_ABS_PATH_MAX);
	if (!child) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t off = 0; off < kids.len;) {
		const char *name = kids.data + kids.head + off;
		size_t nlen = strlen(name), clen = len;

		memcpy(child, path, len);
		if (len > 1)
			child[clen++] = '/';
		memcpy(child + clen, name, nlen);
		clen += nlen;
		off += nlen + 1;
		rc = xs_txn_rm(d, t, child, clen);
		if (rc)
			goto out;
	}
	rc = entry_get(d, t, path, len, &e);
	if (rc)
		goto out;
	e->exists = false;
	e->dirty = true;
out:
	free(child);
	xs_buf_free(&kids);
	return rc;
}

static int by_len_desc(const void *a, const void *b)
{
	const struct xs_tentry *x = *(struct xs_tentry *const *)a, *y = *(struct xs_tentry *const *)b;

	return (x->len < y->len) - (x->len > y->len);
}

static int txn_apply(struct xs_daemon *d, struct xs_txn *t)
{
	struct xs_tentry **v = malloc((t->nentries + 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (struct xs_tentry *e = t->list; e; e = e->lnext)
		if (e->dirty)
			v[n++] = e;
	qsort(v, n, sizeof(*v), by_len_desc);
	for (size_t i = 0; i < n; i++)
		if (!v[i]->exists && xs_tree_lookup(&d->tree, v[i]->path, v[i]->len))
			xs_apply_rm(d, v[i]->path, v[i]->len);
	for (size_t i = n; i-- > 0;)
		if (v[i]->exists)
			xs_apply_put(d, v[i]->path, v[i]->len, v[i]->value, v[i]->vlen,
				     v[i]->perms, v[i]->nperms);
	free(v);
	return 0;
}

int xs_txn_end(struct xs_daemon *d, struct xs_conn *c, struct xs_txn *t, bool commit)
{
	int rc = 0;

	txn_unlink(c, t);
	if (commit) {
		for (struct xs_tentry *e = t->list; e; e = e->lnext) {
			struct xs_node *n = xs_tree_lookup(&d->tree, e->path, e->len);

			if ((n ? n->gen : 0) != e->gen_seen) {
				rc = -EAGAIN;
				break;
			}
		}
		if (!rc)
			rc = txn_apply(d, t);
	}
	txn_free(d, t);
	return rc;
}
