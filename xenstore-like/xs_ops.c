/* SPDX-License-Identifier: MIT */
/* One handler per wire operation.  The body was copied out of the socket
 * buffer and NUL-padded by xs_conn.c; every string argument is still checked
 * to end inside hdr.len, every path is canonicalised and validated before any
 * lookup, and every change is checked against the caller's permissions and
 * quotas here, against the view (base tree or transaction) it acts on. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_log.h"
#include "xs_internal.h"

#define TAG "stored"

struct op_ctx {
	struct xs_daemon *d;
	struct xs_conn *c;
	struct xsd_sockmsg *hdr;
	char *body;
	struct xs_txn *t;
	char path[XENSTORE_ABS_PATH_MAX + 64];
	size_t len;
	bool relative;
};

const char *xs_errno_string(int err)
{
	switch (err) {
	case EINVAL: return XS_ERR_EINVAL;
	case EACCES: return XS_ERR_EACCES;
	case EEXIST: return XS_ERR_EEXIST;
	case EISDIR: return XS_ERR_EISDIR;
	case ENOENT: return XS_ERR_ENOENT;
	case ENOMEM: return XS_ERR_ENOMEM;
	case ENOSPC: return XS_ERR_ENOSPC;
	case ENOTEMPTY: return XS_ERR_ENOTEMPTY;
	case ENOSYS: return XS_ERR_ENOSYS;
	case EROFS: return XS_ERR_EROFS;
	case EBUSY: return XS_ERR_EBUSY;
	case EAGAIN: return XS_ERR_EAGAIN;
	case EISCONN: return XS_ERR_EISCONN;
	case E2BIG: return XS_ERR_E2BIG;
	case EPERM: return XS_ERR_EPERM;
	case EDQUOT: return XS_ERR_EQUOTA;
	default: return XS_ERR_EIO;
	}
}

/* The idx-th NUL-terminated string of the body, or NULL if it does not end
 * inside the payload. */
static const char *arg_str(const struct op_ctx *o, unsigned idx)
{
	size_t off = 0, len = o->hdr->len;

	for (unsigned i = 0;; i++) {
		const char *e = off < len ? memchr(o->body + off, '\0', len - off) : NULL;

		if (!e)
			return NULL;
		if (i == idx)
			return o->body + off;
		off = (size_t)(e - o->body) + 1;
	}
}

static int parse_uint(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

/* Xen's path length quota does not count a leading "/local/domain/<id>". */
static size_t domain_prefix_len(const char *path)
{
	static const char prefix[] = "/local/domain/";
	size_t n = sizeof(prefix) - 1;

	if (strncmp(path, prefix, n) || path[n] < '0' || path[n] > '9')
		return 0;
	while (path[n] >= '0' && path[n] <= '9')
		n++;
	return path[n] == '/' || path[n] == '\0' ? n : 0;
}

/* Canonicalise a path argument into o->path: relative paths go under
 * /local/domain/<domid>; unprivileged callers get Xen's path length quota. */
static int canon_path(struct op_ctx *o, const char *s)
{
	size_t slen;
	int n = 0;

	if (!s)
		return -EINVAL;
	slen = strlen(s);
	o->relative = s[0] != '/';
	if (slen > XENSTORE_ABS_PATH_MAX)
		return -EINVAL;
	if (o->relative)
		n = snprintf(o->path, sizeof(o->path), "/local/domain/%u/", o->c->domid);
	if (n < 0 || (size_t)n + slen >= sizeof(o->path))
		return -EINVAL;
	memcpy(o->path + n, s, slen + 1);
	o->len = (size_t)n + slen;
	if (!xs_path_valid(o->path, o->len))
		return -EINVAL;
	if (xs_conn_quota_applies(o->c) && o->len - domain_prefix_len(o->path) > o->d->opts.quota.path_len)
		return -EINVAL;
	return 0;
}

static int reply(struct op_ctx *o, const void *p, size_t len)
{
	return xs_conn_send(o->c, o->hdr->type, o->hdr->req_id, o->hdr->tx_id, p, len);
}

static int reply_ok(struct op_ctx *o)
{
	return reply(o, "OK", 3);
}

static int need_priv(const struct op_ctx *o)
{
	return o->c->privileged ? 0 : -EACCES;
}

static int get_checked(struct op_ctx *o, unsigned want, struct xs_nodeview *v)
{
	int rc = xs_view_get(o->d, o->t, o->path, o->len, v);

	if (rc)
		return rc;
	return xs_conn_can(o->c, v->perms, v->nperms, want) ? 0 : -EACCES;
}

static int op_read(struct op_ctx *o)
{
	struct xs_nodeview v;
	int rc = canon_path(o, arg_str(o, 0));

	if (!rc)
		rc = get_checked(o, XS_PERM_READ, &v);
	return rc ? rc : reply(o, v.value, v.vlen);
}

static int op_get_perms(struct op_ctx *o)
{
	struct xs_nodeview v;
	char buf[XENSTORE_PAYLOAD_MAX];
	int rc = canon_path(o, arg_str(o, 0));

	if (!rc)
		rc = get_checked(o, XS_PERM_READ, &v);
	return rc ? rc : reply(o, buf, xs_perms_format(v.perms, v.nperms, buf, sizeof(buf)));
}

/* Writes value at o->path, creating missing ancestors with the nearest
 * existing ancestor's perms (owned by the caller when unprivileged). */
static int create_or_write(struct op_ctx *o, const void *value, size_t vlen, bool mkdir)
{
	struct xs_perm perms[XS_PERMS_MAX];
	struct xs_nodeview v;
	size_t alen = o->len, missing = 0;
	unsigned np;
	int rc;

	if (xs_conn_quota_applies(o->c) && vlen > o->d->opts.quota.node_size)
		return -EDQUOT;
	rc = xs_view_get(o->d, o->t, o->path, o->len, &v);
	if (!rc) {
		if (!xs_conn_can(o->c, v.perms, v.nperms, XS_PERM_WRITE))
			return -EACCES;
		if (mkdir)
			return 0;
		memcpy(perms, v.perms, v.nperms * sizeof(perms[0]));
		return xs_view_put(o->d, o->t, o->path, o->len, value, vlen, perms, v.nperms);
	}
	while (rc == -ENOENT) {
		missing++;
		alen = xs_parent_len(o->path, alen);
		rc = xs_view_get(o->d, o->t, o->path, alen, &v);
	}
	if (rc)
		return rc;
	if (!xs_conn_can(o->c, v.perms, v.nperms, XS_PERM_WRITE))
		return -EACCES;
	np = v.nperms < XS_PERMS_MAX ? v.nperms : XS_PERMS_MAX;
	memcpy(perms, v.perms, np * sizeof(perms[0]));
	if (!o->c->privileged)
		perms[0].domid = o->c->domid;
	if (xs_conn_quota_applies(o->c)) {
		struct xs_domain *dom = xs_domain_get(o->d, o->c->domid);

		if (!dom || dom->nodes + missing > o->d->opts.quota.nodes_per_domain)
			return -EDQUOT;
	}
	/* Create from the top down: each prefix ends at the next '/'. */
	for (size_t end = alen + (alen > 1); end <= o->len; end++) {
		if (end != o->len && o->path[end] != '/')
			continue;
		rc = xs_view_put(o->d, o->t, o->path, end, end == o->len ? value : "",
				 end == o->len ? vlen : 0, perms, np);
		if (rc)
			return rc;
	}
	return 0;
}

static int op_write(struct op_ctx *o)
{
	const char *p = arg_str(o, 0);
	size_t off;
	int rc = canon_path(o, p);

	if (rc)
		return rc;
	off = strlen(p) + 1;
	rc = create_or_write(o, o->body + off, o->hdr->len - off, false);
	return rc ? rc : reply_ok(o);
}

static int op_mkdir(struct op_ctx *o)
{
	int rc = canon_path(o, arg_str(o, 0));

	if (!rc)
		rc = create_or_write(o, "", 0, true);
	return rc ? rc : reply_ok(o);
}

static int op_rm(struct op_ctx *o)
{
	struct xs_nodeview v;
	int rc = canon_path(o, arg_str(o, 0));

	if (rc)
		return rc;
	if (o->len == 1)
		return -EINVAL;
	rc = xs_view_get(o->d, o->t, o->path, o->len, &v);
	if (rc == -ENOENT) {
		/* Xen: removing a missing node whose parent exists succeeds. */
		rc = xs_view_get(o->d, o->t, o->path, xs_parent_len(o->path, o->len), &v);
		return rc ? rc : reply_ok(o);
	}
	if (rc)
		return rc;
	if (!xs_conn_can(o->c, v.perms, v.nperms, XS_PERM_WRITE))
		return -EACCES;
	rc = xs_view_rm(o->d, o->t, o->path, o->len);
	return rc ? rc : reply_ok(o);
}

static int op_set_perms(struct op_ctx *o)
{
	struct xs_perm perms[XS_PERMS_MAX];
	struct xs_nodeview v;
	const char *p = arg_str(o, 0);
	unsigned np, max = XS_PERMS_MAX;
	size_t off;
	char *value;
	int rc = canon_path(o, p);

	if (rc)
		return rc;
	off = strlen(p) + 1;
	if (xs_conn_quota_applies(o->c))
		max = o->d->opts.quota.perms_per_node;
	rc = xs_perms_parse(o->body + off, o->hdr->len - off, perms, max, &np);
	if (rc)
		return rc == -ENOSPC ? -EDQUOT : rc;
	rc = xs_view_get(o->d, o->t, o->path, o->len, &v);
	if (rc)
		return rc;
	if (!o->c->privileged) {
		struct xs_domain *dom = xs_domain_get(o->d, o->c->domid);
		uint32_t owner = v.perms[0].domid;

		if (owner != o->c->domid && !(dom && dom->target == owner))
			return -EACCES;
		if (perms[0].domid != owner)
			return -EPERM; /* only domain 0 gives nodes away */
	}
	value = malloc(v.vlen + 1);
	if (!value)
		return -ENOMEM;
	memcpy(value, v.value, v.vlen);
	rc = xs_view_put(o->d, o->t, o->path, o->len, value, v.vlen, perms, np);
	free(value);
	return rc ? rc : reply_ok(o);
}

static int list_children(struct op_ctx *o, struct xs_buf *kids, uint64_t *gen)
{
	struct xs_nodeview v;
	int rc = canon_path(o, arg_str(o, 0));

	if (!rc)
		rc = get_checked(o, XS_PERM_READ, &v);
	if (!rc)
		rc = xs_view_children(o->d, o->t, o->path, o->len, kids);
	*gen = v.gen;
	return rc;
}

static int op_directory(struct op_ctx *o)
{
	struct xs_buf kids = { 0 };
	uint64_t gen = 0;
	int rc = list_children(o, &kids, &gen);

	if (!rc && kids.len > XENSTORE_PAYLOAD_MAX)
		rc = -E2BIG;
	if (!rc)
		rc = reply(o, kids.data ? kids.data + kids.head : "", kids.len);
	xs_buf_free(&kids);
	return rc;
}

/* "path\0offset\0" -> "gen\0" + whole names from byte offset, and a final
 * empty string when the listing is complete. */
static int op_directory_part(struct op_ctx *o)
{
	struct xs_buf kids = { 0 };
	char out[XENSTORE_PAYLOAD_MAX];
	uint64_t gen = 0;
	uint32_t offset;
	size_t used, pos;
	int rc = parse_uint(arg_str(o, 1), UINT32_MAX, &offset);

	if (!rc)
		rc = list_children(o, &kids, &gen);
	if (rc)
		goto out;
	used = (size_t)snprintf(out, sizeof(out), "%" PRIu64, gen) + 1;
	if (offset > kids.len) {
		rc = -EINVAL;
		goto out;
	}
	for (pos = offset; pos < kids.len;) {
		size_t n = strlen(kids.data + kids.head + pos) + 1;

		if (used + n > sizeof(out) - 1)
			break;
		memcpy(out + used, kids.data + kids.head + pos, n);
		used += n;
		pos += n;
	}
	if (pos == kids.len)
		out[used++] = '\0';
	rc = reply(o, out, used);
out:
	xs_buf_free(&kids);
	return rc;
}

static int op_watch(struct op_ctx *o)
{
	const char *p = arg_str(o, 0), *token = arg_str(o, 1);
	char ev[XENSTORE_PAYLOAD_MAX];
	size_t plen, tlen;
	int rc;

	if (!p || !token)
		return -EINVAL;
	if (p[0] == '@') {
		if (strcmp(p, "@introduceDomain") && strcmp(p, "@releaseDomain"))
			return -EINVAL;
		snprintf(o->path, sizeof(o->path), "%s", p);
		o->relative = false;
	} else if ((rc = canon_path(o, p))) {
		return rc;
	}
	if (o->hdr->type == XS_UNWATCH) {
		rc = xs_watch_del(o->d, o->c, o->path, token);
		return rc ? rc : reply_ok(o);
	}
	rc = xs_watch_add(o->d, o->c, o->path, token, o->relative);
	if (rc)
		return rc;
	rc = reply_ok(o);
	/* A new watch fires once, with the path as the caller gave it. */
	plen = strlen(p);
	tlen = strlen(token);
	if (!rc && plen + tlen + 2 <= sizeof(ev)) {
		memcpy(ev, p, plen + 1);
		memcpy(ev + plen + 1, token, tlen + 1);
		rc = xs_conn_send(o->c, XS_WATCH_EVENT, 0, 0, ev, plen + tlen + 2);
	}
	return rc;
}

static int op_txn_start(struct op_ctx *o)
{
	char buf[16];
	uint32_t id;
	int rc;

	if (o->hdr->tx_id)
		return -EBUSY; /* no nesting */
	rc = xs_txn_start(o->d, o->c, &id);
	if (rc)
		return rc;
	return reply(o, buf, (size_t)snprintf(buf, sizeof(buf), "%u", id) + 1);
}

static int op_txn_end(struct op_ctx *o)
{
	const char *arg = arg_str(o, 0);
	int rc;

	if (!o->t)
		return -ENOENT;
	if (!arg || (strcmp(arg, "T") && strcmp(arg, "F")))
		return -EINVAL;
	rc = xs_txn_end(o->d, o->c, o->t, arg[0] == 'T');
	o->t = NULL;
	return rc ? rc : reply_ok(o);
}

static int op_domid_arg(struct op_ctx *o, unsigned idx, uint32_t *domid)
{
	return parse_uint(arg_str(o, idx), XS_MAX_DOMID, domid);
}

static int op_introduce(struct op_ctx *o)
{
	struct xs_domain *dom;
	uint32_t domid, mfn, port;
	int rc = need_priv(o);

	if (!rc)
		rc = op_domid_arg(o, 0, &domid);
	/* The ring is the VMM's business here: mfn and port are only checked. */
	if (!rc)
		rc = parse_uint(arg_str(o, 1), UINT32_MAX, &mfn);
	if (!rc)
		rc = parse_uint(arg_str(o, 2), UINT32_MAX, &port);
	if (!rc && domid == 0)
		rc = -EINVAL;
	if (rc)
		return rc;
	dom = xs_domain_get(o->d, domid);
	if (!dom)
		return -ENOMEM;
	if (!dom->introduced) {
		dom->introduced = true;
		xs_watch_fire_special(o->d, "@introduceDomain", domid);
	}
	return reply_ok(o);
}

/* RELEASE: the domain's watches and its /local/domain/<domid> subtree go. */
static int op_release(struct op_ctx *o)
{
	struct xs_domain *dom;
	uint32_t domid;
	char home[48];
	int n, rc = need_priv(o);

	if (!rc)
		rc = op_domid_arg(o, 0, &domid);
	if (rc)
		return rc;
	dom = domid ? o->d->doms[domid] : NULL;
	if (!dom || !dom->introduced)
		return -ENOENT;
	dom->introduced = false;
	for (struct xs_conn *c = o->d->conns; c; c = c->next)
		if (c->domid == domid && !c->privileged)
			xs_watch_del_all(o->d, c);
	n = snprintf(home, sizeof(home), "/local/domain/%u", domid);
	xs_apply_rm(o->d, home, (size_t)n);
	xs_watch_fire_special(o->d, "@releaseDomain", domid);
	return reply_ok(o);
}

static int op_get_domain_path(struct op_ctx *o)
{
	char buf[48];
	uint32_t domid;
	int rc = op_domid_arg(o, 0, &domid);

	if (rc)
		return rc;
	return reply(o, buf, (size_t)snprintf(buf, sizeof(buf), "/local/domain/%u", domid) + 1);
}

static int op_is_introduced(struct op_ctx *o)
{
	uint32_t domid;
	int rc = op_domid_arg(o, 0, &domid);
	bool yes;

	if (rc)
		return rc;
	yes = domid == 0 || (o->d->doms[domid] && o->d->doms[domid]->introduced);
	return reply(o, yes ? "T" : "F", 2);
}

static int op_resume(struct op_ctx *o)
{
	uint32_t domid;
	int rc = need_priv(o);

	if (!rc)
		rc = op_domid_arg(o, 0, &domid);
	if (rc)
		return rc;
	if (!o->d->doms[domid] || !o->d->doms[domid]->introduced)
		return -ENOENT;
	return reply_ok(o);
}

static int op_set_target(struct op_ctx *o)
{
	struct xs_domain *dom;
	uint32_t domid, target;
	int rc = need_priv(o);

	if (!rc)
		rc = op_domid_arg(o, 0, &domid);
	if (!rc)
		rc = op_domid_arg(o, 1, &target);
	if (rc)
		return rc;
	dom = xs_domain_get(o->d, domid);
	if (!dom)
		return -ENOMEM;
	dom->target = target;
	return reply_ok(o);
}

static int op_reset_watches(struct op_ctx *o)
{
	xs_watch_del_all(o->d, o->c);
	xs_txn_free_all(o->d, o->c);
	return reply_ok(o);
}

/* CONTROL: "check", "log", "print <text>", "quota", "memreport". */
static int op_control(struct op_ctx *o)
{
	const char *cmd = arg_str(o, 0);
	const struct xs_quota *q = &o->d->opts.quota;
	char buf[1024];
	int n, rc = need_priv(o);

	if (rc)
		return rc;
	if (!cmd)
		return -EINVAL;
	if (!strcmp(cmd, "check") || !strcmp(cmd, "log"))
		return reply_ok(o);
	if (!strcmp(cmd, "print")) {
		pv_log_info(TAG, "control print: %s", arg_str(o, 1) ? arg_str(o, 1) : "");
		return reply_ok(o);
	}
	if (!strcmp(cmd, "quota"))
		n = snprintf(buf, sizeof(buf),
			     "nodes-per-domain %u\nnode-size %u\nwatches-per-domain %u\n"
			     "transactions-per-domain %u\noutstanding-requests %u\npath-length %u\n"
			     "perms-per-node %u\ntransaction-nodes %u\n",
			     q->nodes_per_domain, q->node_size, q->watches_per_domain,
			     q->txns_per_domain, q->outstanding_per_conn, q->path_len,
			     q->perms_per_node, q->txn_nodes);
	else if (!strcmp(cmd, "memreport"))
		n = snprintf(buf, sizeof(buf), "nodes %zu\nwatches %zu\nrequests %" PRIu64 "\n",
			     o->d->tree.count, o->d->nwatches, o->d->stats.requests);
	else
		return -EINVAL;
	return reply(o, buf, (size_t)n + 1);
}

/* pvkvm: a privileged connection becomes the guest domid's, for good. */
static int op_handover(struct op_ctx *o)
{
	uint32_t domid;
	int rc = need_priv(o);

	if (!rc)
		rc = op_domid_arg(o, 0, &domid);
	if (rc)
		return rc;
	if (domid == 0)
		return -EINVAL;
	if (o->c->watches || o->c->txns)
		return -EBUSY;
	if (!xs_domain_get(o->d, domid))
		return -ENOMEM;
	rc = reply_ok(o);
	o->c->domid = domid;
	o->c->privileged = false;
	return rc;
}

typedef int (*op_fn)(struct op_ctx *o);

static op_fn op_handler(uint32_t type)
{
	switch (type) {
	case XS_CONTROL: return op_control;
	case XS_DIRECTORY: return op_directory;
	case XS_READ: return op_read;
	case XS_GET_PERMS: return op_get_perms;
	case XS_WATCH: return op_watch;
	case XS_UNWATCH: return op_watch;
	case XS_TRANSACTION_START: return op_txn_start;
	case XS_TRANSACTION_END: return op_txn_end;
	case XS_INTRODUCE: return op_introduce;
	case XS_RELEASE: return op_release;
	case XS_GET_DOMAIN_PATH: return op_get_domain_path;
	case XS_WRITE: return op_write;
	case XS_MKDIR: return op_mkdir;
	case XS_RM: return op_rm;
	case XS_SET_PERMS: return op_set_perms;
	case XS_IS_DOMAIN_INTRODUCED: return op_is_introduced;
	case XS_RESUME: return op_resume;
	case XS_SET_TARGET: return op_set_target;
	case XS_RESET_WATCHES: return op_reset_watches;
	case XS_DIRECTORY_PART: return op_directory_part;
	case XS_PVKVM_HANDOVER: return op_handover;
	default: return NULL;
	}
}

static bool op_uses_txn(uint32_t type)
{
	switch (type) {
	case XS_DIRECTORY: case XS_READ: case XS_GET_PERMS: case XS_TRANSACTION_END:
	case XS_WRITE: case XS_MKDIR: case XS_RM: case XS_SET_PERMS: case XS_DIRECTORY_PART:
		return true;
	default:
		return false;
	}
}

void xs_ops_dispatch(struct xs_daemon *d, struct xs_conn *c, struct xsd_sockmsg *hdr, char *body)
{
	struct op_ctx oc, *o = &oc;
	op_fn fn = op_handler(hdr->type);
	int rc;

	d->stats.requests++;
	memset(o, 0, offsetof(struct op_ctx, path));
	o->d = d;
	o->c = c;
	o->hdr = hdr;
	o->body = body;
	if (!fn) {
		rc = -EINVAL;
		goto out;
	}
	if (hdr->tx_id && op_uses_txn(hdr->type)) {
		o->t = xs_txn_find(c, hdr->tx_id);
		if (!o->t) {
			rc = -ENOENT;
			goto out;
		}
	}
	rc = fn(o);
out:
	xs_persist_commit(d);
	if (rc < 0)
		xs_conn_send_error(c, hdr, -rc);
}
