/* SPDX-License-Identifier: MIT */
/* Watches.  They are kept in a hash table keyed by the watched path, so a
 * change at /a/b/c looks up /a/b/c, /a/b, /a and / (O(depth), not
 * O(watches)).  A removal also fires watches below the removed node, found by
 * a scan (removals are rare next to writes).  The event carries the changed
 * path, or the watch's own path when the watched node went away with an
 * ancestor, made relative again for watches registered relative. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_internal.h"

int xs_watch_init(struct xs_daemon *d)
{
	d->nwbuckets = 4096;
	d->wbuckets = calloc(d->nwbuckets, sizeof(*d->wbuckets));
	return d->wbuckets ? 0 : -ENOMEM;
}

void xs_watch_destroy(struct xs_daemon *d)
{
	free(d->wbuckets);
	d->wbuckets = NULL;
}

static struct xs_watch **bucket(struct xs_daemon *d, const char *path, size_t len)
{
	return &d->wbuckets[xs_path_hash(path, len) & (d->nwbuckets - 1)];
}

static void send_event(struct xs_conn *c, const struct xs_watch *w, const char *path, size_t len)
{
	char buf[XENSTORE_ABS_PATH_MAX + XENSTORE_PAYLOAD_MAX + 2];
	size_t tlen = strlen(w->token), off = 0;

	if (w->relative && path[0] == '/') {
		/* Strip "/local/domain/<domid>/" again. */
		int n = snprintf(buf, sizeof(buf), "/local/domain/%u/", c->domid);

		if (n > 0 && len > (size_t)n && !memcmp(path, buf, (size_t)n))
			off = (size_t)n;
	}
	len -= off;
	if (len + tlen + 2 > XENSTORE_PAYLOAD_MAX)
		return;
	memcpy(buf, path + off, len);
	buf[len] = '\0';
	memcpy(buf + len + 1, w->token, tlen + 1);
	xs_conn_send(c, XS_WATCH_EVENT, 0, 0, buf, len + tlen + 2);
}

static bool watcher_may_see(const struct xs_conn *c, const struct xs_change *ch)
{
	if (c->dead)
		return false;
	return xs_conn_can(c, ch->perms, ch->nperms, XS_PERM_READ);
}

static void fire_at(struct xs_daemon *d, const char *wpath, size_t wlen, const struct xs_change *ch)
{
	for (struct xs_watch *w = *bucket(d, wpath, wlen); w; w = w->hnext)
		if (w->path_len == wlen && !memcmp(w->path, wpath, wlen) &&
		    watcher_may_see(w->conn, ch))
			send_event(w->conn, w, ch->path, ch->len);
}

void xs_watch_fire(struct xs_daemon *d, const struct xs_change *ch)
{
	size_t len = ch->len;

	if (!d->nwatches)
		return;
	for (;;) {
		fire_at(d, ch->path, len, ch);
		if (len == 1)
			break;
		len = xs_parent_len(ch->path, len);
	}
	if (!ch->removed)
		return;
	for (size_t i = 0; i < d->nwbuckets; i++)
		for (struct xs_watch *w = d->wbuckets[i]; w; w = w->hnext)
			if (w->path_len > ch->len && w->path[ch->len] == '/' &&
			    !memcmp(w->path, ch->path, ch->len) && watcher_may_see(w->conn, ch))
				send_event(w->conn, w, w->path, w->path_len);
}

/* @introduceDomain / @releaseDomain go to privileged connections and to a
 * domain that manages (SET_TARGET) the domain concerned. */
void xs_watch_fire_special(struct xs_daemon *d, const char *name, uint32_t domid)
{
	size_t len = strlen(name);

	for (struct xs_watch *w = *bucket(d, name, len); w; w = w->hnext) {
		struct xs_domain *dom;

		if (w->path_len != len || memcmp(w->path, name, len) || w->conn->dead)
			continue;
		dom = xs_domain_get(d, w->conn->domid);
		if (w->conn->privileged || (dom && dom->target == domid))
			send_event(w->conn, w, name, len);
	}
}

int xs_watch_add(struct xs_daemon *d, struct xs_conn *c, const char *path, const char *token,
		 bool relative)
{
	struct xs_domain *dom = xs_domain_get(d, c->domid);
	size_t len = strlen(path);
	struct xs_watch *w;

	for (w = c->watches; w; w = w->conn_next)
		if (!strcmp(w->path, path) && !strcmp(w->token, token))
			return -EEXIST;
	if (!dom)
		return -ENOMEM;
	if (xs_conn_quota_applies(c) && dom->watches >= d->opts.quota.watches_per_domain)
		return -EDQUOT;
	w = calloc(1, sizeof(*w) + len + 1);
	if (!w || !(w->token = strdup(token))) {
		free(w);
		return -ENOMEM;
	}
	memcpy(w->path, path, len + 1);
	w->path_len = (uint32_t)len;
	w->relative = relative;
	w->conn = c;
	w->conn_next = c->watches;
	c->watches = w;
	w->hnext = *bucket(d, path, len);
	*bucket(d, path, len) = w;
	dom->watches++;
	d->nwatches++;
	return 0;
}

static void watch_unlink(struct xs_daemon *d, struct xs_watch *w)
{
	struct xs_watch **pp = bucket(d, w->path, w->path_len);

	while (*pp != w)
		pp = &(*pp)->hnext;
	*pp = w->hnext;
	xs_domain_get(d, w->conn->domid)->watches--;
	d->nwatches--;
	free(w->token);
	free(w);
}

int xs_watch_del(struct xs_daemon *d, struct xs_conn *c, const char *path, const char *token)
{
	for (struct xs_watch **pp = &c->watches; *pp; pp = &(*pp)->conn_next) {
		struct xs_watch *w = *pp;

		if (!strcmp(w->path, path) && !strcmp(w->token, token)) {
			*pp = w->conn_next;
			watch_unlink(d, w);
			return 0;
		}
	}
	return -ENOENT;
}

void xs_watch_del_all(struct xs_daemon *d, struct xs_conn *c)
{
	while (c->watches) {
		struct xs_watch *w = c->watches;

		c->watches = w->conn_next;
		watch_unlink(d, w);
	}
}
