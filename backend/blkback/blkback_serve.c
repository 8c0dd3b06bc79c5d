/* SPDX-License-Identifier: MIT */
/* One device served end to end: the loop of pvkvm-blkback and of the thread
 * `pvkvm run` starts per disk.  Threads: this one (control socket pushes,
 * store, statistics) plus the queue threads of blkback_queue.c. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "blkback_int.h"
#include "pv_log.h"
#include "pvback_bus.h"
#include "store_dom.h"
#include "xs_client.h"

#define TAG "blkback"
#define STATE_POLL_MS 250
#define CLOSE_WAIT_MS 2000

struct serve_ctx {
	const struct blkback_serve_opts *o;
	int stop_fd;
	struct blkback_dev *dev;
	struct pvback_dom *dom;
	struct xs_client *xs;
	uint16_t domid; /* o->domid, or the attached guest's when 0 */
};

enum serve_end { END_STOP, END_GUEST_GONE, END_FRONTEND_CLOSED, END_BROKEN, END_ERROR };

static bool stopped(const struct serve_ctx *c)
{
	struct pollfd p = { .fd = c->stop_fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Handshake, retried in short waits so a stop request is seen. */
static int serve_connect(struct serve_ctx *c)
{
	const struct blkback_serve_opts *o = c->o;
	uint64_t t0 = ms_now();

	if (!c->xs)
		return blkback_dev_connect(c->dev, c->dom, &o->direct, 1);
	for (;;) {
		int err = blkback_bus_connect(c->dev, c->xs, c->dom, c->domid, o->devid, 500);

		if (err != -ETIMEDOUT)
			return err;
		if (stopped(c))
			return -ECANCELED;
		if (o->connect_timeout_ms && ms_now() - t0 > (uint64_t)o->connect_timeout_ms)
			return -ETIMEDOUT;
		if (pvback_ctl_process(c->dom) < 0)
			return -ECONNRESET; /* the guest is gone */
	}
}

static int frontend_state(struct serve_ctx *c)
{
	struct pvback_bus_dev bus;

	if (pvback_bus_open(&bus, c->xs, "vbd", c->domid, c->o->devid))
		return 0;
	return pvback_bus_frontend_state(&bus);
}

static enum serve_end serve_connected(struct serve_ctx *c)
{
	unsigned stats_ms = c->o->stats_ms ? c->o->stats_ms : 1000;
	uint64_t last_stats = ms_now();

	for (;;) {
		struct pollfd p[2] = { { .fd = pvback_ctl_fd(c->dom), .events = POLLIN },
				       { .fd = c->stop_fd, .events = POLLIN } };

		if (poll(p, 2, STATE_POLL_MS) < 0 && errno != EINTR)
			return END_ERROR;
		if (p[1].revents)
			return END_STOP;
		if (p[0].revents && pvback_ctl_process(c->dom) < 0)
			return END_GUEST_GONE;
		if (blkback_dev_broken(c->dev))
			return END_BROKEN;
		if (!c->xs)
			continue;
		if (frontend_state(c) >= PVBACK_STATE_CLOSING)
			return END_FRONTEND_CLOSED;
		if (ms_now() - last_stats >= stats_ms) {
			blkback_bus_write_stats(c->dev, c->xs, c->domid, c->o->devid);
			last_stats = ms_now();
		}
	}
}

/* Stopped (detach-disk, SIGTERM): Closing first and give the frontend up to
 * CLOSE_WAIT_MS to finish what it has in flight and answer Closed, as Xen's
 * hot-unplug does; a frontend that does not answer is closed anyway. */
static void serve_close_handshake(struct serve_ctx *c)
{
	struct pvback_bus_dev b;
	uint64_t t0 = ms_now();

	if (pvback_bus_open(&b, c->xs, "vbd", c->domid, c->o->devid) ||
	    pvback_bus_set_state(&b, PVBACK_STATE_CLOSING))
		return;
	while (ms_now() - t0 < CLOSE_WAIT_MS) {
		int st = frontend_state(c);

		if (st == 0 || st >= PVBACK_STATE_CLOSED)
			break;
		if (pvback_ctl_process(c->dom) < 0)
			break;
		usleep(10000);
	}
}

/* The device directories must be created after the VMM introduced the
 * domain (its home owned by the guest), or they would not be the guest's. */
static int serve_create(struct serve_ctx *c)
{
	const char *k[] = { BLKIF_KEY_PARAMS }, *v[] = { c->o->disk.path };
	char home[32], *perms = NULL;
	size_t len;
	int err;

	snprintf(home, sizeof(home), "/local/domain/%u", c->domid);
	for (;;) {
		err = xs_get_perms(c->xs, 0, home, &perms, &len);
		free(perms);
		perms = NULL;
		if (err != -ENOENT)
			break;
		if (stopped(c) || pvback_ctl_process(c->dom) < 0)
			return -ECANCELED;
		usleep(20000);
	}
	if (!err)
		err = pv_store_add_device(c->o->store_sock, c->domid, "vbd", c->o->devid, k, v, 1);
	if (err)
		pv_log_err(TAG, "%s: create vbd %u of domain %u: %s", c->o->store_sock, c->o->devid,
			   c->domid, strerror(-err));
	return err;
}

static int serve_setup(struct serve_ctx *c)
{
	const struct blkback_serve_opts *o = c->o;
	char dev[32];
	int err;

	snprintf(dev, sizeof(dev), "vbd/%u", o->devid);
	if ((err = blkback_dev_open(&c->dev, &o->disk)))
		return err;
	if ((err = pvback_attach(&c->dom, o->ctl_path, dev))) {
		pv_log_err(TAG, "%s: attach %s: %s", o->ctl_path, dev, strerror(-err));
		return -ECONNREFUSED;
	}
	c->domid = o->domid ? o->domid : pvback_domid(c->dom);
	if (o->store_sock && (err = xs_client_open(o->store_sock, &c->xs))) {
		pv_log_err(TAG, "%s: %s", o->store_sock, strerror(-err));
		return -ECONNREFUSED;
	}
	if (o->create && c->xs)
		return serve_create(c);
	return 0;
}

int blkback_serve(const struct blkback_serve_opts *o, int stop_fd)
{
	struct serve_ctx c = { .o = o, .stop_fd = stop_fd };
	enum serve_end end = END_ERROR;
	int err = serve_setup(&c);

	if (o->ready_fd > 0 && write(o->ready_fd, &err, sizeof(err)) != sizeof(err))
		pv_log_warn(TAG, "vbd %u: ready: %s", o->devid, strerror(errno));
	while (!err) {
		if ((err = serve_connect(&c))) {
			if (err != -ECANCELED && err != -ECONNRESET)
				pv_log_err(TAG, "vbd %u: connect: %s", o->devid, strerror(-err));
			break;
		}
		pv_log_info(TAG, "serving %s to domain %u as vbd %u", c.dev->path, c.domid, o->devid);
		end = serve_connected(&c);
		if (c.xs && end == END_STOP)
			serve_close_handshake(&c);
		if (c.xs)
			blkback_bus_disconnect(c.dev, c.xs, c.domid, o->devid);
		else
			blkback_dev_disconnect(c.dev);
		/* A closed or hostile frontend may connect again (reboot); the
		 * direct mode has nobody to reconnect with. */
		if (!c.xs || end == END_STOP || end == END_GUEST_GONE || end == END_ERROR)
			break;
	}
	if (err == -ECANCELED || err == -ECONNRESET)
		err = 0;
	if (!err && end == END_ERROR)
		err = -EIO;
	blkback_dev_close(c.dev);
	if (c.xs)
		xs_client_close(c.xs);
	if (c.dom)
		pvback_detach(c.dom);
	return err;
}

/* ---- the embedded thread ---- */

struct blkback_server {
	struct blkback_serve_opts o;
	char ctl[256], store[256], path[4096];
	int stop_fd;
	int result;
	pthread_t thread;
};

static void *server_main(void *arg)
{
	struct blkback_server *s = arg;

	s->result = blkback_serve(&s->o, s->stop_fd);
	if (s->result)
		pv_log_err(TAG, "vbd %u: %s", s->o.devid, strerror(-s->result));
	return NULL;
}

int blkback_server_start(struct blkback_server **out, const struct blkback_serve_opts *o)
{
	struct blkback_server *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	if (!o->ctl_path || !o->disk.path || strlen(o->ctl_path) >= sizeof(s->ctl) ||
	    (o->store_sock && strlen(o->store_sock) >= sizeof(s->store)) ||
	    strlen(o->disk.path) >= sizeof(s->path)) {
		free(s);
		return -EINVAL;
	}
	s->o = *o;
	s->o.ctl_path = strcpy(s->ctl, o->ctl_path);
	s->o.store_sock = o->store_sock ? strcpy(s->store, o->store_sock) : NULL;
	s->o.disk.path = strcpy(s->path, o->disk.path);
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0 || (err = -pthread_create(&s->thread, NULL, server_main, s))) {
		err = s->stop_fd < 0 ? -errno : err;
		if (s->stop_fd >= 0)
			close(s->stop_fd);
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

void blkback_server_stop(struct blkback_server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	if (write(s->stop_fd, &one, sizeof(one)) < 0)
		pv_log_warn(TAG, "vbd %u: stop: %s", s->o.devid, strerror(errno));
	pthread_join(s->thread, NULL);
	close(s->stop_fd);
	free(s);
}
