/* SPDX-License-Identifier: MIT */
#include <CUnit/Basic.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test_xs_util.h"

static void *fx_thread(void *arg)
{
	struct fx *f = arg;

	xs_daemon_run(f->d);
	return NULL;
}

int fx_restart(struct fx *f)
{
	int rc = xs_daemon_new(&f->opts, &f->d);

	if (rc)
		return rc;
	return pthread_create(&f->th, NULL, fx_thread, f) ? -EAGAIN : 0;
}

int fx_start(struct fx *f, const struct xs_quota *q)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_xs.XXXXXX");
	if (!mkdtemp(f->dir))
		return -errno;
	snprintf(f->sock, sizeof(f->sock), "%s/s", f->dir);
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	if (q)
		f->opts.quota = *q;
	else
		xs_quota_defaults(&f->opts.quota);
	f->opts.socket_path = f->sock;
	f->opts.state_dir = f->state;
	return fx_restart(f);
}

void fx_stop(struct fx *f)
{
	if (!f->d)
		return;
	xs_daemon_stop(f->d);
	pthread_join(f->th, NULL);
	xs_daemon_free(f->d);
	f->d = NULL;
}

void fx_done(struct fx *f)
{
	char cmd[160];

	fx_stop(f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", f->dir);
}

struct xs_client *fx_client(struct fx *f)
{
	struct xs_client *c = NULL;

	if (xs_client_open(f->sock, &c))
		return NULL;
	return c;
}

struct xs_client *fx_guest(struct fx *f, unsigned domid)
{
	struct xs_client *c = fx_client(f);
	char id[16];

	if (!c)
		return NULL;
	xs_client_set_reconnect_ms(c, 0); /* a reconnect would be domain 0 */
	snprintf(id, sizeof(id), "%u", domid);
	if (xs_client_request(c, XS_PVKVM_HANDOVER, 0, id, strlen(id) + 1, NULL, NULL)) {
		xs_client_close(c);
		return NULL;
	}
	return c;
}

int raw_connect(struct fx *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int raw_send(int fd, uint32_t type, uint32_t req_id, uint32_t tx, const void *p, size_t len)
{
	struct xsd_sockmsg h = { type, req_id, tx, (uint32_t)len };
	char buf[sizeof(h) + 8192];

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), p, len);
	return send(fd, buf, sizeof(h) + len, MSG_NOSIGNAL) == (ssize_t)(sizeof(h) + len) ? 0 : -errno;
}

static int read_exact(int fd, void *buf, size_t len, int timeout_ms)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		n = recv(fd, (char *)buf + got, len - got, 0);
		if (n <= 0)
			return -ECONNRESET;
		got += (size_t)n;
	}
	return 0;
}

int raw_recv(int fd, struct xsd_sockmsg *h, char *buf, int timeout_ms)
{
	int rc = read_exact(fd, h, sizeof(*h), timeout_ms);

	if (rc)
		return rc;
	if (h->len > XENSTORE_PAYLOAD_MAX)
		return -EPROTO;
	rc = read_exact(fd, buf, h->len, timeout_ms);
	buf[h->len] = '\0';
	return rc;
}

int raw_call(int fd, uint32_t type, const void *p, size_t len, char *buf)
{
	struct xsd_sockmsg h;
	int rc = raw_send(fd, type, 77, 0, p, len);

	while (!rc) {
		rc = raw_recv(fd, &h, buf, 2000);
		if (!rc && h.type != XS_WATCH_EVENT)
			return (int)h.type;
	}
	return rc;
}

void evlog_cb(void *opaque, const char *path, const char *token)
{
	struct evlog *e = opaque;

	if (e->n < 64) {
		snprintf(e->path[e->n], sizeof(e->path[0]), "%s", path);
		snprintf(e->token[e->n], sizeof(e->token[0]), "%s", token);
	}
	e->n++;
}

int evlog_drain(struct xs_client *c, int quiet_ms)
{
	int total = 0, n;

	while ((n = xs_client_dispatch(c, quiet_ms)) > 0)
		total += n;
	return n < 0 ? n : total;
}

bool evlog_has(const struct evlog *e, const char *path)
{
	for (int i = 0; i < e->n && i < 64; i++)
		if (!strcmp(e->path[i], path))
			return true;
	return false;
}

const char *xs_get(struct xs_client *c, const char *path)
{
	static char buf[XENSTORE_PAYLOAD_MAX + 1];
	char *v;
	size_t len;

	if (xs_read(c, 0, path, &v, &len))
		return NULL;
	memcpy(buf, v, len + 1);
	free(v);
	return buf;
}

void fx_make_home(struct xs_client *c, unsigned domid)
{
	char p[64], owner[16];
	const char *perms[] = { owner };

	snprintf(p, sizeof(p), "/local/domain/%u", domid);
	snprintf(owner, sizeof(owner), "n%u", domid);
	CU_ASSERT_EQUAL(xs_mkdir(c, 0, p), 0);
	CU_ASSERT_EQUAL(xs_set_perms(c, 0, p, perms, 1), 0);
}
