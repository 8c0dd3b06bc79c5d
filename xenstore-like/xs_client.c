/* SPDX-License-Identifier: MIT */
/* The store client: a buffered socket reader, in-order reply matching, a
 * queue of watch events received while waiting for replies, and reconnection
 * that re-registers every watch (whose initial events then tell the caller
 * to re-read what it watches).  A request that fails because the daemon went
 * away is retried once after reconnecting, unless it was inside a
 * transaction: transactions die with the connection and report EAGAIN, which
 * xs_transaction_retry() turns into a fresh attempt. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "xs_client.h"

#define RBUF_SIZE (64 * 1024)

struct cl_watch {
	struct cl_watch *next;
	char *path, *token;
	xs_watch_cb cb;
	void *opaque;
};

struct cl_event {
	struct cl_event *next;
	size_t len;
	char data[]; /* "path\0token\0" */
};

struct xs_client {
	int fd;
	char *path;
	uint32_t next_req;
	unsigned reconnect_ms;
	bool reconnecting;
	struct cl_watch *watches;
	struct cl_event *ev_head, *ev_tail;
	size_t rhead, rlen;
	size_t wlen;            /* pipelined requests not yet sent */
	char rbuf[RBUF_SIZE];
	char wbuf[RBUF_SIZE];
};

static const char *const err_names[] = {
	[EINVAL] = "EINVAL", [EACCES] = "EACCES", [EEXIST] = "EEXIST", [EISDIR] = "EISDIR",
	[ENOENT] = "ENOENT", [ENOMEM] = "ENOMEM", [ENOSPC] = "ENOSPC", [EIO] = "EIO",
	[ENOTEMPTY] = "ENOTEMPTY", [ENOSYS] = "ENOSYS", [EROFS] = "EROFS", [EBUSY] = "EBUSY",
	[EAGAIN] = "EAGAIN", [EISCONN] = "EISCONN", [E2BIG] = "E2BIG", [EPERM] = "EPERM",
	[EDQUOT] = "EQUOTA",
};

int xs_error_to_errno(const char *s)
{
	for (size_t i = 0; i < sizeof(err_names) / sizeof(err_names[0]); i++)
		if (err_names[i] && !strcmp(err_names[i], s))
			return (int)i;
	return EIO;
}

static int cl_connect(struct xs_client *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(c->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, c->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	c->fd = fd;
	c->rhead = c->rlen = 0;
	return 0;
}

int xs_client_open(const char *socket_path, struct xs_client **out)
{
	char def[4096];
	struct xs_client *c;
	int rc;

	if (!socket_path) {
		if (xs_default_socket_path(def, sizeof(def)))
			return -ENAMETOOLONG;
		socket_path = def;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(socket_path))) {
		free(c);
		return -ENOMEM;
	}
	c->fd = -1;
	c->reconnect_ms = 5000;
	rc = cl_connect(c);
	if (rc) {
		free(c->path);
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void xs_client_close(struct xs_client *c)
{
	if (!c)
		return;
	while (c->watches) {
		struct cl_watch *w = c->watches;

		c->watches = w->next;
		free(w->path);
		free(w->token);
		free(w);
	}
	while (c->ev_head) {
		struct cl_event *e = c->ev_head;

		c->ev_head = e->next;
		free(e);
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c->path);
	free(c);
}

void xs_client_set_reconnect_ms(struct xs_client *c, unsigned ms)
{
	c->reconnect_ms = ms;
}

int xs_client_fd(const struct xs_client *c)
{
	return c->fd;
}

static int write_all(int fd, const void *p, size_t len)
{
	const char *b = p;

	while (len) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static int cl_flush(struct xs_client *c)
{
	int rc = c->wlen ? write_all(c->fd, c->wbuf, c->wlen) : 0;

	c->wlen = 0;
	return rc;
}

int xs_client_flush(struct xs_client *c)
{
	return cl_flush(c);
}

/* Queues a request; pipelined requests leave in large writes, flushed when
 * the buffer fills or the caller waits for a reply. */
int xs_client_send(struct xs_client *c, uint32_t type, uint32_t tx, const void *payload,
		   size_t len, uint32_t *req_id)
{
	struct xsd_sockmsg h = { type, ++c->next_req, tx, (uint32_t)len };
	int rc;

	if (len > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	if (c->fd < 0)
		return -ENOTCONN;
	if (c->wlen + sizeof(h) + len > sizeof(c->wbuf) && (rc = cl_flush(c)))
		return rc;
	memcpy(c->wbuf + c->wlen, &h, sizeof(h));
	if (len)
		memcpy(c->wbuf + c->wlen + sizeof(h), payload, len);
	c->wlen += sizeof(h) + len;
	if (req_id)
		*req_id = h.req_id;
	return 0;
}

/* Ensures n bytes are buffered; blocks. */
static int fill(struct xs_client *c, size_t n)
{
	if (c->rhead + n > RBUF_SIZE) {
		memmove(c->rbuf, c->rbuf + c->rhead, c->rlen);
		c->rhead = 0;
	}
	/* About to wait for the daemon: send what is queued first. */
	if (c->rlen < n && c->wlen) {
		int rc = cl_flush(c);

		if (rc)
			return rc;
	}
	while (c->rlen < n) {
		ssize_t r = recv(c->fd, c->rbuf + c->rhead + c->rlen, RBUF_SIZE - c->rhead - c->rlen, 0);

		if (r == 0)
			return -ECONNRESET;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c->rlen += (size_t)r;
	}
	return 0;
}

static int queue_event(struct xs_client *c, const char *data, size_t len)
{
	struct cl_event *e = malloc(sizeof(*e) + len + 2);

	if (!e)
		return -ENOMEM;
	memcpy(e->data, data, len);
	e->data[len] = e->data[len + 1] = '\0';
	e->len = len;
	e->next = NULL;
	if (c->ev_tail)
		c->ev_tail->next = e;
	else
		c->ev_head = e;
	c->ev_tail = e;
	return 0;
}

/* Next message from the daemon; watch events are queued, not returned. */
static int recv_one(struct xs_client *c, struct xsd_sockmsg *h, char *buf, bool events_too)
{
	for (;;) {
		int rc;

		if (c->fd < 0)
			return -ENOTCONN;
		rc = fill(c, sizeof(*h));
		if (rc)
			return rc;
		memcpy(h, c->rbuf + c->rhead, sizeof(*h));
		if (h->len > XENSTORE_PAYLOAD_MAX)
			return -EPROTO;
		rc = fill(c, sizeof(*h) + h->len);
		if (rc)
			return rc;
		memcpy(buf, c->rbuf + c->rhead + sizeof(*h), h->len);
		buf[h->len] = '\0';
		c->rhead += sizeof(*h) + h->len;
		c->rlen -= sizeof(*h) + h->len;
		if (h->type != XS_WATCH_EVENT || events_too)
			return 0;
		rc = queue_event(c, buf, h->len);
		if (rc)
			return rc;
	}
}

int xs_client_recv(struct xs_client *c, struct xsd_sockmsg *hdr, char *buf)
{
	return recv_one(c, hdr, buf, false);
}

static int reconnect(struct xs_client *c)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	unsigned waited = 0;
	int rc;

	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	c->wlen = 0;
	if (!c->reconnect_ms || c->reconnecting)
		return -ECONNRESET;
	while ((rc = cl_connect(c)) && waited < c->reconnect_ms) {
		nanosleep(&pause, NULL);
		waited += 50;
	}
	if (rc)
		return rc;
	c->reconnecting = true;
	for (struct cl_watch *w = c->watches; w && !rc; w = w->next) {
		size_t pl = strlen(w->path), tl = strlen(w->token);
		char buf[XENSTORE_PAYLOAD_MAX];

		if (pl + tl + 2 > sizeof(buf))
			continue;
		memcpy(buf, w->path, pl + 1);
		memcpy(buf + pl + 1, w->token, tl + 1);
		rc = xs_client_request(c, XS_WATCH, 0, buf, pl + tl + 2, NULL, NULL);
	}
	c->reconnecting = false;
	return rc;
}

static int request_once(struct xs_client *c, uint32_t type, uint32_t tx, const void *payload,
			size_t len, char **reply, size_t *reply_len)
{
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	struct xsd_sockmsg h;
	uint32_t id;
	int rc = xs_client_send(c, type, tx, payload, len, &id);

	if (!rc)
		rc = recv_one(c, &h, buf, false);
	if (rc)
		return rc;
	if (h.req_id != id)
		return -EPROTO;
	if (h.type == XS_ERROR)
		return -xs_error_to_errno(buf);
	if (reply) {
		*reply = malloc(h.len + 1);
		if (!*reply)
			return -ENOMEM;
		memcpy(*reply, buf, h.len + 1);
	}
	if (reply_len)
		*reply_len = h.len;
	return 0;
}

static bool is_conn_error(int rc)
{
	return rc == -ECONNRESET || rc == -EPIPE || rc == -ENOTCONN || rc == -EPROTO;
}

int xs_client_request(struct xs_client *c, uint32_t type, uint32_t tx, const void *payload,
		      size_t len, char **reply, size_t *reply_len)
{
	int rc = request_once(c, type, tx, payload, len, reply, reply_len);

	if (!is_conn_error(rc) || c->reconnecting)
		return rc;
	rc = reconnect(c);
	if (rc)
		return rc;
	/* The daemon restarted: a transaction is gone, anything else is
	 * safe to send again (the store ops are idempotent). */
	if (tx || type == XS_TRANSACTION_END)
		return -EAGAIN;
	return request_once(c, type, tx, payload, len, reply, reply_len);
}

/* Builds "a\0b\0..." from strings; returns the length or -E2BIG. */
static int pack(char *buf, size_t size, const char *const *s, unsigned n)
{
	size_t used = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t l = strlen(s[i]) + 1;

		if (used + l > size)
			return -E2BIG;
		memcpy(buf + used, s[i], l);
		used += l;
	}
	return (int)used;
}

static int path_req(struct xs_client *c, uint32_t type, uint32_t tx, const char *path,
		    char **reply, size_t *len)
{
	size_t l = strlen(path) + 1;

	if (l > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	return xs_client_request(c, type, tx, path, l, reply, len);
}

int xs_read(struct xs_client *c, uint32_t tx, const char *path, char **value, size_t *len)
{
	return path_req(c, XS_READ, tx, path, value, len);
}

int xs_write(struct xs_client *c, uint32_t tx, const char *path, const void *value, size_t len)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t pl = strlen(path) + 1;

	if (pl + len > sizeof(buf))
		return -E2BIG;
	memcpy(buf, path, pl);
	if (len)
		memcpy(buf + pl, value, len);
	return xs_client_request(c, XS_WRITE, tx, buf, pl + len, NULL, NULL);
}

int xs_mkdir(struct xs_client *c, uint32_t tx, const char *path)
{
	return path_req(c, XS_MKDIR, tx, path, NULL, NULL);
}

int xs_rm(struct xs_client *c, uint32_t tx, const char *path)
{
	return path_req(c, XS_RM, tx, path, NULL, NULL);
}

/* A directory too big for one reply, in DIRECTORY_PART pieces: each reply
 * is "gen\0" + names from the byte offset asked for, and ends with an empty
 * name once complete.  A generation change means it changed meanwhile:
 * start over. */
static int directory_parts(struct xs_client *c, uint32_t tx, const char *path, char **out,
			   size_t *out_len)
{
	char req[XENSTORE_PAYLOAD_MAX], gen[32] = "", *reply, *all = NULL;
	size_t pl = strlen(path) + 1, len, used = 0;
	int rc = 0;

	if (pl + 24 > sizeof(req))
		return -E2BIG;
	for (int rounds = 0; rounds < 100000; rounds++) {
		size_t glen, body;
		char *n;

		memcpy(req, path, pl);
		len = pl + (size_t)snprintf(req + pl, sizeof(req) - pl, "%zu", used) + 1;
		rc = xs_client_request(c, XS_DIRECTORY_PART, tx, req, len, &reply, &len);
		if (rc)
			break;
		glen = strnlen(reply, len) + 1;
		if (glen > len || glen > sizeof(gen)) {
			free(reply);
			rc = -EPROTO;
			break;
		}
		if (used && strcmp(gen, reply)) { /* changed under us */
			used = 0;
			memcpy(gen, reply, glen);
			free(reply);
			continue;
		}
		memcpy(gen, reply, glen);
		body = len - glen;
		n = realloc(all, used + body + 1);
		if (!n) {
			free(reply);
			rc = -ENOMEM;
			break;
		}
		all = n;
		memcpy(all + used, reply + glen, body);
		free(reply);
		/* Complete when the piece ends with the empty name. */
		if (body == 0 || (body >= 1 && all[used + body - 1] == '\0' &&
				  (body == 1 || all[used + body - 2] == '\0'))) {
			used += body ? body - 1 : 0;
			all[used] = '\0';
			*out = all;
			*out_len = used;
			return 0;
		}
		used += body;
	}
	free(all);
	return rc ? rc : -EPROTO;
}

int xs_directory(struct xs_client *c, uint32_t tx, const char *path, char ***names, unsigned *n)
{
	char *reply, **v;
	size_t len, count = 0;
	int rc = path_req(c, XS_DIRECTORY, tx, path, &reply, &len);

	if (rc == -E2BIG)
		rc = directory_parts(c, tx, path, &reply, &len);
	if (rc)
		return rc;
	for (size_t i = 0; i < len; i++)
		count += reply[i] == '\0';
	v = malloc((count + 1) * sizeof(*v) + len + 1);
	if (!v) {
		free(reply);
		return -ENOMEM;
	}
	memcpy((char *)(v + count + 1), reply, len + 1);
	for (size_t i = 0, off = 0; i < count; i++) {
		v[i] = (char *)(v + count + 1) + off;
		off += strlen(v[i]) + 1;
	}
	v[count] = NULL;
	free(reply);
	*names = v;
	*n = (unsigned)count;
	return 0;
}

int xs_get_perms(struct xs_client *c, uint32_t tx, const char *path, char **perms, size_t *len)
{
	return path_req(c, XS_GET_PERMS, tx, path, perms, len);
}

int xs_set_perms(struct xs_client *c, uint32_t tx, const char *path, const char *const *perms,
		 unsigned n)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	const char *p1[] = { path };
	int a = pack(buf, sizeof(buf), p1, 1), b;

	if (a < 0)
		return a;
	b = pack(buf + a, sizeof(buf) - (size_t)a, perms, n);
	if (b < 0)
		return b;
	return xs_client_request(c, XS_SET_PERMS, tx, buf, (size_t)(a + b), NULL, NULL);
}

int xs_transaction_start(struct xs_client *c, uint32_t *tx)
{
	char *reply;
	int rc = xs_client_request(c, XS_TRANSACTION_START, 0, "", 1, &reply, NULL);

	if (rc)
		return rc;
	*tx = (uint32_t)strtoul(reply, NULL, 10);
	free(reply);
	return *tx ? 0 : -EPROTO;
}

int xs_transaction_end(struct xs_client *c, uint32_t tx, bool commit)
{
	return xs_client_request(c, XS_TRANSACTION_END, tx, commit ? "T" : "F", 2, NULL, NULL);
}

int xs_transaction_retry(struct xs_client *c, int (*fn)(struct xs_client *c, uint32_t tx, void *opaque),
		 void *opaque, unsigned max_tries)
{
	int rc = -EAGAIN;

	for (unsigned i = 0; i < max_tries && rc == -EAGAIN; i++) {
		uint32_t tx;

		rc = xs_transaction_start(c, &tx);
		if (rc)
			return rc;
		rc = fn(c, tx, opaque);
		if (rc) {
			xs_transaction_end(c, tx, false);
			if (rc != -EAGAIN)
				return rc;
			continue;
		}
		rc = xs_transaction_end(c, tx, true);
	}
	return rc;
}

int xs_watch(struct xs_client *c, const char *path, const char *token, xs_watch_cb cb,
	     void *opaque)
{
	const char *s[] = { path, token };
	char buf[XENSTORE_PAYLOAD_MAX];
	struct cl_watch *w;
	int len = pack(buf, sizeof(buf), s, 2), rc;

	if (len < 0)
		return len;
	w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(path)) || !(w->token = strdup(token))) {
		if (w)
			free(w->path);
		free(w);
		return -ENOMEM;
	}
	w->cb = cb;
	w->opaque = opaque;
	rc = xs_client_request(c, XS_WATCH, 0, buf, (size_t)len, NULL, NULL);
	if (rc) {
		free(w->path);
		free(w->token);
		free(w);
		return rc;
	}
	w->next = c->watches;
	c->watches = w;
	return 0;
}

int xs_unwatch(struct xs_client *c, const char *path, const char *token)
{
	const char *s[] = { path, token };
	char buf[XENSTORE_PAYLOAD_MAX];
	int len = pack(buf, sizeof(buf), s, 2);

	if (len < 0)
		return len;
	for (struct cl_watch **pp = &c->watches; *pp; pp = &(*pp)->next) {
		struct cl_watch *w = *pp;

		if (!strcmp(w->path, path) && !strcmp(w->token, token)) {
			*pp = w->next;
			free(w->path);
			free(w->token);
			free(w);
			break;
		}
	}
	return xs_client_request(c, XS_UNWATCH, 0, buf, (size_t)len, NULL, NULL);
}

static int run_events(struct xs_client *c)
{
	int n = 0;

	while (c->ev_head) {
		struct cl_event *e = c->ev_head;
		const char *path = e->data, *token = e->data + strlen(e->data) + 1;

		c->ev_head = e->next;
		if (!c->ev_head)
			c->ev_tail = NULL;
		if ((size_t)(token - e->data) <= e->len) {
			for (struct cl_watch *w = c->watches; w; w = w->next)
				if (!strcmp(w->token, token) && w->cb) {
					w->cb(w->opaque, path, token);
					break;
				}
			n++;
		}
		free(e);
	}
	return n;
}

int xs_client_dispatch(struct xs_client *c, int timeout_ms)
{
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	struct xsd_sockmsg h;
	int rc;

	if (c->ev_head)
		return run_events(c);
	if (!c->rlen) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };

		rc = poll(&p, 1, timeout_ms);
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return 0;
	}
	rc = recv_one(c, &h, buf, true);
	if (is_conn_error(rc)) {
		rc = reconnect(c);
		return rc ? rc : run_events(c);
	}
	if (rc)
		return rc;
	if (h.type == XS_WATCH_EVENT)
		queue_event(c, buf, h.len);
	return run_events(c);
}
