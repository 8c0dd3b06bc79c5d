/* SPDX-License-Identifier: MIT */
/* The node store: every node is in one hash table keyed by its full path
 * (O(1) lookups for READ/WRITE) and linked to its parent and siblings (for
 * DIRECTORY and subtree removal).  Value and perms share one allocation. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_internal.h"

uint32_t xs_path_hash(const char *p, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)p[i]) * 16777619u;
	return h;
}

int xs_tree_init(struct xs_tree *t)
{
	static const struct xs_perm root_perm = { 0, XS_PERM_NONE };

	memset(t, 0, sizeof(*t));
	t->nbuckets = 1024;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	if (!xs_tree_insert(t, NULL, "/", 1, &root_perm, 1, "", 0)) {
		free(t->buckets);
		return -ENOMEM;
	}
	return 0;
}

void xs_tree_destroy(struct xs_tree *t)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct xs_node *n = t->buckets[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			free(n->data);
			free(n);
		}
	}
	free(t->buckets);
	t->buckets = NULL;
}

struct xs_node *xs_tree_lookup(const struct xs_tree *t, const char *path, size_t len)
{
	struct xs_node *n = t->buckets[xs_path_hash(path, len) & (t->nbuckets - 1)];

	for (; n; n = n->hnext)
		if (n->path_len == len && !memcmp(n->path, path, len))
			return n;
	return NULL;
}

static void tree_grow(struct xs_tree *t)
{
	size_t nb = t->nbuckets * 2;
	struct xs_node **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* keep the old table: slower, still correct */
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct xs_node *n = t->buckets[i], *next;

		for (; n; n = next) {
			size_t h = xs_path_hash(n->path, n->path_len) & (nb - 1);

			next = n->hnext;
			n->hnext = b[h];
			b[h] = n;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

static char *node_data_new(const struct xs_perm *perms, unsigned nperms, const void *value,
			   size_t value_len)
{
	size_t pbytes = nperms * sizeof(struct xs_perm);
	char *data = malloc(pbytes + value_len + 1);

	if (!data)
		return NULL;
	memcpy(data, perms, pbytes);
	if (value_len)
		memcpy(data + pbytes, value, value_len);
	data[pbytes + value_len] = '\0';
	return data;
}

struct xs_node *xs_tree_insert(struct xs_tree *t, struct xs_node *parent, const char *path,
			       size_t len, const struct xs_perm *perms, unsigned nperms,
			       const void *value, size_t value_len)
{
	struct xs_node *n = calloc(1, sizeof(*n) + len + 1);
	size_t h;

	if (!n)
		return NULL;
	n->data = node_data_new(perms, nperms, value, value_len);
	if (!n->data) {
		free(n);
		return NULL;
	}
	memcpy(n->path, path, len);
	n->path_len = (uint16_t)len;
	n->nperms = (uint16_t)nperms;
	n->value_len = (uint32_t)value_len;
	n->gen = ++t->gen;
	n->parent = parent;
	if (parent) {
		/* Children keep creation order, as in Xen: the first child's
		 * prev points at the last one, so appending is O(1). */
		struct xs_node *first = parent->child;

		if (first) {
			n->prev = first->prev;
			first->prev->next = n;
			first->prev = n;
		} else {
			parent->child = n;
			n->prev = n;
		}
		parent->nchildren++;
		parent->gen = ++t->gen;
	}
	if (t->count >= t->nbuckets)
		tree_grow(t);
	h = xs_path_hash(path, len) & (t->nbuckets - 1);
	n->hnext = t->buckets[h];
	t->buckets[h] = n;
	t->count++;
	return n;
}

int xs_node_set(struct xs_tree *t, struct xs_node *n, const struct xs_perm *perms,
		unsigned nperms, const void *value, size_t value_len)
{
	char *data = node_data_new(perms, nperms, value, value_len);

	if (!data)
		return -ENOMEM;
	free(n->data);
	n->data = data;
	n->nperms = (uint16_t)nperms;
	n->value_len = (uint32_t)value_len;
	n->gen = ++t->gen;
	return 0;
}

/* Removes a node without children from the table and its parent. */
void xs_tree_remove_leaf(struct xs_tree *t, struct xs_node *n)
{
	struct xs_node **pp = &t->buckets[xs_path_hash(n->path, n->path_len) & (t->nbuckets - 1)];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	if (n->parent) {
		struct xs_node *first = n->parent->child;

		if (n == first)
			n->parent->child = n->next;
		else
			n->prev->next = n->next;
		if (n->next)
			n->next->prev = n->prev;
		else if (n != first)
			first->prev = n->prev;
		n->parent->nchildren--;
		n->parent->gen = ++t->gen;
	}
	t->count--;
	free(n->data);
	free(n);
}

/* Xen's rule: perms[0] is the owner, who has every right; a listed domain
 * gets its entry; anyone else gets perms[0]'s bits. */
unsigned xs_perm_for(const struct xs_perm *perms, unsigned nperms, uint32_t domid)
{
	if (!nperms)
		return XS_PERM_NONE;
	if (perms[0].domid == domid)
		return XS_PERM_BOTH;
	for (unsigned i = 1; i < nperms; i++)
		if (perms[i].domid == domid)
			return perms[i].perm;
	return perms[0].perm;
}

static int perm_letter(char c)
{
	switch (c) {
	case 'n': return XS_PERM_NONE;
	case 'r': return XS_PERM_READ;
	case 'w': return XS_PERM_WRITE;
	case 'b': return XS_PERM_BOTH;
	default: return -1;
	}
}

/* Parses "r0\0w3\0..." (len bytes, entries NUL-separated, last NUL optional). */
int xs_perms_parse(const char *s, size_t len, struct xs_perm *out, unsigned max, unsigned *n)
{
	size_t i = 0;
	unsigned k = 0;

	while (i < len) {
		const char *e = memchr(s + i, '\0', len - i);
		size_t elen = e ? (size_t)(e - (s + i)) : len - i;
		unsigned long v = 0;
		int p;

		if (elen < 2 || elen > 6 || (p = perm_letter(s[i])) < 0)
			return -EINVAL;
		for (size_t j = 1; j < elen; j++) {
			if (!isdigit((unsigned char)s[i + j]))
				return -EINVAL;
			v = v * 10 + (unsigned long)(s[i + j] - '0');
		}
		if (v > XS_MAX_DOMID)
			return -EINVAL;
		if (k >= max)
			return -ENOSPC;
		out[k].domid = (uint32_t)v;
		out[k].perm = (uint32_t)p;
		k++;
		i += elen + 1;
	}
	if (!k)
		return -EINVAL;
	*n = k;
	return 0;
}

size_t xs_perms_format(const struct xs_perm *p, unsigned n, char *buf, size_t size)
{
	static const char letters[] = "nrwb";
	size_t used = 0;

	for (unsigned i = 0; i < n; i++) {
		int w = snprintf(buf + used, size - used, "%c%u", letters[p[i].perm & 3], p[i].domid);

		if (w < 0 || (size_t)w + 1 > size - used)
			break;
		used += (size_t)w + 1; /* keep the NUL */
	}
	return used;
}

/* Absolute path: "/" or "/comp/comp", components of [A-Za-z0-9_@-]. */
bool xs_path_valid(const char *p, size_t len)
{
	if (len == 0 || len > XENSTORE_ABS_PATH_MAX || p[0] != '/')
		return false;
	if (len == 1)
		return true;
	if (p[len - 1] == '/')
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = p[i];

		if (c == '/') {
			if (p[i - 1] == '/')
				return false;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '_' && c != '-' && c != '@')
			return false;
	}
	return true;
}
