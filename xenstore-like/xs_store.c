/* SPDX-License-Identifier: MIT */
/* The store as a request sees it: the base tree, or a transaction's overlay
 * on it.  xs_ops.c checks permissions and quotas against these views; the
 * xs_apply_* functions are the only code that changes the base tree, and
 * they keep ownership counts, the journal and watches in step. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xs_internal.h"

int xs_buf_append(struct xs_buf *b, const void *p, size_t n)
{
	if (b->head + b->len + n > b->cap) {
		if (b->head && b->len + n <= b->cap) {
			memmove(b->data, b->data + b->head, b->len);
			b->head = 0;
		} else {
			size_t cap = b->cap ? b->cap : 4096;
			char *nd;

			while (cap < b->len + n)
				cap *= 2;
			nd = malloc(cap);
			if (!nd)
				return -ENOMEM;
			if (b->len)
				memcpy(nd, b->data + b->head, b->len);
			free(b->data);
			b->data = nd;
			b->cap = cap;
			b->head = 0;
		}
	}
	memcpy(b->data + b->head + b->len, p, n);
	b->len += n;
	return 0;
}

void xs_buf_free(struct xs_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

size_t xs_parent_len(const char *path, size_t len)
{
	while (len > 1 && path[len - 1] != '/')
		len--;
	return len > 1 ? len - 1 : 1;
}

int xs_view_get(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len,
		struct xs_nodeview *v)
{
	struct xs_node *n;

	if (t)
		return xs_txn_get(d, t, path, len, v);
	n = xs_tree_lookup(&d->tree, path, len);
	if (!n)
		return -ENOENT;
	v->value = xs_node_value(n);
	v->vlen = n->value_len;
	v->perms = xs_node_perms(n);
	v->nperms = n->nperms;
	v->gen = n->gen;
	return 0;
}

int xs_view_put(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len,
		const void *value, size_t vlen, const struct xs_perm *perms, unsigned np)
{
	if (t)
		return xs_txn_put(d, t, path, len, value, vlen, perms, np);
	return xs_apply_put(d, path, len, value, vlen, perms, np);
}

int xs_view_rm(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len)
{
	if (t)
		return xs_txn_rm(d, t, path, len);
	return xs_apply_rm(d, path, len);
}

int xs_view_children(struct xs_daemon *d, struct xs_txn *t, const char *path, size_t len,
		     struct xs_buf *out)
{
	struct xs_node *n, *c;

	if (t)
		return xs_txn_children(d, t, path, len, out);
	n = xs_tree_lookup(&d->tree, path, len);
	if (!n)
		return -ENOENT;
	for (c = n->child; c; c = c->next) {
		size_t off = xs_parent_len(c->path, c->path_len);

		off += (off > 1); /* skip the '/' unless the parent is the root */
		if (xs_buf_append(out, c->path + off, c->path_len - off + 1))
			return -ENOMEM;
	}
	return 0;
}

/* Creates or replaces one node; its parent must exist. */
int xs_apply_put(struct xs_daemon *d, const char *path, size_t len, const void *value,
		 size_t vlen, const struct xs_perm *perms, unsigned np)
{
	struct xs_node *n = xs_tree_lookup(&d->tree, path, len);
	struct xs_change ch;

	if (n) {
		uint32_t old_owner = xs_node_perms(n)[0].domid;

		if (xs_node_set(&d->tree, n, perms, np, value, vlen))
			return -ENOMEM;
		if (old_owner != perms[0].domid) {
			xs_owner_uncharge(d, old_owner);
			xs_owner_charge(d, NULL, perms[0].domid);
		}
	} else {
		size_t plen = xs_parent_len(path, len);
		struct xs_node *parent = xs_tree_lookup(&d->tree, path, plen);

		if (!parent || len == 1)
			return -ENOENT;
		n = xs_tree_insert(&d->tree, parent, path, len, perms, np, value, vlen);
		if (!n)
			return -ENOMEM;
		xs_owner_charge(d, NULL, perms[0].domid);
	}
	if (d->replaying)
		return 0;
	xs_persist_note_put(d, n);
	ch = (struct xs_change){ path, len, xs_node_perms(n), n->nperms, false };
	xs_watch_fire(d, &ch);
	return 0;
}

static void remove_subtree(struct xs_daemon *d, struct xs_node *n)
{
	/* Iterative post-order walk: depth is bounded only by the path length. */
	struct xs_node *stop = n->parent;

	while (n != stop) {
		struct xs_node *up;

		if (n->child) {
			n = n->child;
			continue;
		}
		up = n->parent;
		xs_owner_uncharge(d, xs_node_perms(n)[0].domid);
		xs_tree_remove_leaf(&d->tree, n);
		n = up;
	}
}

int xs_apply_rm(struct xs_daemon *d, const char *path, size_t len)
{
	struct xs_node *n = xs_tree_lookup(&d->tree, path, len);
	struct xs_perm perms[XS_PERMS_MAX];
	unsigned np;
	struct xs_change ch;

	if (!n)
		return -ENOENT;
	if (len == 1)
		return -EINVAL; /* the root stays */
	np = n->nperms < XS_PERMS_MAX ? n->nperms : XS_PERMS_MAX;
	memcpy(perms, xs_node_perms(n), np * sizeof(perms[0]));
	remove_subtree(d, n);
	if (d->replaying)
		return 0;
	xs_persist_note_del(d, path, len);
	ch = (struct xs_change){ path, len, perms, np, true };
	xs_watch_fire(d, &ch);
	return 0;
}
