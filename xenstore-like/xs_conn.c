/* SPDX-License-Identifier: MIT */
/* Connections: framing of the byte stream into xs_wire messages, and the
 * bounded output queue.  A message whose header claims more than
 * XENSTORE_PAYLOAD_MAX closes the connection (the stream cannot be resynced).
 * Replies and events are queued and flushed once per loop turn (one write
 * for a whole pipelined batch).  A connection that stops reading first has
 * its input paused (outstanding-request quota), and when watch events push
 * its queue past the bound, it is closed: nobody else waits for it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pv_log.h"
#include "xs_internal.h"

#define TAG "stored"
#define IN_CHUNK (64 * 1024)
#define PRIV_OUTSTANDING 1024

struct xs_conn *xs_conn_new(struct xs_daemon *d, int fd, uint32_t domid)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct xs_conn *c;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return NULL;
	if (!xs_domain_get(d, domid))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->d = d;
	c->fd = fd;
	c->id = ++d->next_conn_id;
	c->domid = domid;
	c->privileged = domid == 0;
	ev.data.ptr = c;
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		return NULL;
	}
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	d->stats.conns++;
	return c;
}

void xs_conn_free(struct xs_daemon *d, struct xs_conn *c)
{
	xs_watch_del_all(d, c);
	xs_txn_free_all(d, c);
	epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	xs_buf_free(&c->in);
	xs_buf_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	d->stats.conns--;
	free(c);
}

void xs_conn_kill(struct xs_conn *c, const char *why)
{
	if (c->dead)
		return;
	pv_log_info(TAG, "closing connection %u (domain %u): %s", c->id, c->domid, why);
	c->dead = true;
	c->d->ndead++;
	c->d->stats.conns_dropped++;
}

static void conn_epoll(struct xs_conn *c)
{
	struct epoll_event ev = { .data.ptr = c };

	ev.events = (c->blocked ? 0 : EPOLLIN) | (c->epollout ? EPOLLOUT : 0);
	epoll_ctl(c->d->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

int xs_conn_send(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
		 const void *payload, size_t len)
{
	struct xsd_sockmsg h = { type, req_id, tx_id, (uint32_t)len };

	if (c->dead)
		return -EPIPE;
	if (c->out.len + sizeof(h) + len > c->d->opts.quota.outq_bytes) {
		xs_conn_kill(c, "output queue full (client not reading)");
		return -ENOBUFS;
	}
	if (xs_buf_append(&c->out, &h, sizeof(h)) || xs_buf_append(&c->out, payload, len)) {
		xs_conn_kill(c, "out of memory");
		return -ENOMEM;
	}
	c->out_msgs++;
	if (!c->on_flush_list) {
		c->on_flush_list = true;
		c->flush_next = c->d->flush_list;
		c->d->flush_list = c;
	}
	return 0;
}

int xs_conn_send_error(struct xs_conn *c, const struct xsd_sockmsg *req, int err)
{
	const char *s = xs_errno_string(err);

	return xs_conn_send(c, XS_ERROR, req->req_id, req->tx_id, s, strlen(s) + 1);
}

/* Writes what the socket takes; arms EPOLLOUT for the rest. */
static void conn_flush(struct xs_conn *c)
{
	while (c->out.len && !c->dead) {
		ssize_t n = send(c->fd, c->out.data + c->out.head, c->out.len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				xs_conn_kill(c, "write failed");
			break;
		}
		c->out.head += (size_t)n;
		c->out.len -= (size_t)n;
	}
	if (!c->out.len) {
		c->out.head = 0;
		c->out_msgs = 0;
	}
	if (c->dead)
		return;
	if (!!c->out.len != c->epollout) {
		c->epollout = c->out.len != 0;
		conn_epoll(c);
	}
}

static uint32_t conn_outstanding_max(const struct xs_conn *c)
{
	return c->privileged ? PRIV_OUTSTANDING : c->d->opts.quota.outstanding_per_conn;
}

/* Handles every complete message in the input buffer. */
static void conn_process(struct xs_daemon *d, struct xs_conn *c)
{
	char body[XENSTORE_PAYLOAD_MAX + 1];

	while (!c->dead && c->in.len >= sizeof(struct xsd_sockmsg)) {
		struct xsd_sockmsg h;

		if (c->out_msgs >= conn_outstanding_max(c)) {
			conn_flush(c);
			if (c->out.len) {
				c->blocked = true;
				conn_epoll(c);
				return;
			}
		}
		memcpy(&h, c->in.data + c->in.head, sizeof(h));
		if (h.len > XENSTORE_PAYLOAD_MAX) {
			xs_conn_kill(c, "message longer than XENSTORE_PAYLOAD_MAX");
			return;
		}
		if (c->in.len < sizeof(h) + h.len)
			break;
		memcpy(body, c->in.data + c->in.head + sizeof(h), h.len);
		body[h.len] = '\0';
		c->in.head += sizeof(h) + h.len;
		c->in.len -= sizeof(h) + h.len;
		xs_ops_dispatch(d, c, &h, body);
	}
	if (!c->in.len)
		c->in.head = 0;
}

void xs_conn_on_readable(struct xs_daemon *d, struct xs_conn *c)
{
	ssize_t n;

	/* Unconsumed input is at most one partial message (input is paused
	 * while blocked), so the buffer stays near IN_CHUNK. */
	if (c->in.cap - c->in.head - c->in.len < IN_CHUNK / 2) {
		if (c->in.head) {
			memmove(c->in.data, c->in.data + c->in.head, c->in.len);
			c->in.head = 0;
		}
		if (c->in.cap - c->in.len < IN_CHUNK / 2) {
			char *nd = realloc(c->in.data, c->in.len + IN_CHUNK);

			if (!nd) {
				xs_conn_kill(c, "out of memory");
				return;
			}
			c->in.data = nd;
			c->in.cap = c->in.len + IN_CHUNK;
		}
	}
	n = recv(c->fd, c->in.data + c->in.head + c->in.len,
		 c->in.cap - c->in.head - c->in.len, 0);
	if (n == 0) {
		xs_conn_kill(c, "closed by peer");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			xs_conn_kill(c, "read failed");
		return;
	}
	c->in.len += (size_t)n;
	conn_process(d, c);
}

void xs_conn_on_writable(struct xs_daemon *d, struct xs_conn *c)
{
	conn_flush(c);
	if (!c->dead && c->blocked && !c->out.len) {
		c->blocked = false;
		conn_epoll(c);
		conn_process(d, c);
	}
}

void xs_conn_flush_all(struct xs_daemon *d)
{
	while (d->flush_list) {
		struct xs_conn *c = d->flush_list;

		d->flush_list = c->flush_next;
		c->on_flush_list = false;
		conn_flush(c);
	}
}

void xs_conn_reap(struct xs_daemon *d)
{
	struct xs_conn *c, *next;

	if (!d->ndead)
		return;
	xs_conn_flush_all(d); /* drop dead ones from the flush list first */
	for (c = d->conns; c; c = next) {
		next = c->next;
		if (c->dead)
			xs_conn_free(d, c);
	}
	d->ndead = 0;
}
