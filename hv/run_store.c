/* SPDX-License-Identifier: MIT */
/* The store a `pvkvm run` uses (run_store.h): the daemon on
 * <run dir>/store.sock, or one embedded in this process.
 *
 * Finding and embedding happen under an flock on <run dir>/store.lock, so
 * two `pvkvm run` starting together end with one store: the first embeds
 * it, the second finds it answering.  (The store library unlinks a stale
 * socket path before binding, so embedding without the lock could steal the
 * path from a store that just started.) */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pv_log.h"
#include "run_store.h"
#include "xs_daemon.h"

#define TAG "run"

struct hv_store {
	char sock[320];
	struct xs_daemon *d; /* NULL: a daemon of someone else */
	pthread_t thread;
};

int hv_store_mode_parse(const char *s, enum hv_store_mode *mode)
{
	if (!strcmp(s, "auto"))
		*mode = HV_STORE_AUTO;
	else if (!strcmp(s, "embedded"))
		*mode = HV_STORE_EMBEDDED;
	else if (!strcmp(s, "daemon"))
		*mode = HV_STORE_DAEMON;
	else
		return -EINVAL;
	return 0;
}

/* True when something accepts connections on path (a listening store). */
static bool store_answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		close(fd);
		return false;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static void *store_thread(void *arg)
{
	struct hv_store *st = arg;
	int r = xs_daemon_run(st->d);

	if (r)
		pv_log_err(TAG, "embedded store stopped: %s", strerror(-r));
	return NULL;
}

static int store_embed(struct hv_store *st, const char *dir, char *err, size_t errlen)
{
	char state[320];
	/* A small journal: every `pvkvm run` replays it, and each guest adds ~10
	 * records (introduce, release, its keys). */
	struct xs_daemon_opts o = { .socket_path = st->sock, .state_dir = state, .snapshot_every = 1024 };
	sigset_t all, old;
	int r;

	snprintf(state, sizeof(state), "%s/store-state", dir);
	xs_quota_defaults(&o.quota);
	r = xs_daemon_new(&o, &st->d);
	if (r) {
		snprintf(err, errlen, "embedded store on %s: %s", st->sock, strerror(-r));
		st->d = NULL;
		return r;
	}
	/* The store thread takes no process signals: the main loop reads them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&st->thread, NULL, store_thread, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		snprintf(err, errlen, "embedded store thread: %s", strerror(-r));
		xs_daemon_free(st->d);
		st->d = NULL;
	}
	return r;
}

int hv_store_open(enum hv_store_mode mode, const char *dir, struct hv_store **out, char *err,
		  size_t errlen)
{
	struct hv_store *st = calloc(1, sizeof(*st));
	char lock[320];
	int lfd = -1, r = 0;

	if (!st)
		return -ENOMEM;
	if ((size_t)snprintf(st->sock, sizeof(st->sock), "%s/store.sock", dir) >= sizeof(st->sock) ||
	    (size_t)snprintf(lock, sizeof(lock), "%s/store.lock", dir) >= sizeof(lock)) {
		snprintf(err, errlen, "run directory path too long");
		free(st);
		return -ENAMETOOLONG;
	}
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", lock, strerror(errno));
		goto out;
	}
	bool up = store_answers(st->sock);

	if (mode == HV_STORE_DAEMON && !up) {
		snprintf(err, errlen, "--store daemon: no store answers on %s (start pvkvm-stored)", st->sock);
		r = -ECONNREFUSED;
	} else if (mode == HV_STORE_EMBEDDED && up) {
		snprintf(err, errlen, "--store embedded: a store already answers on %s "
			 "(use --store auto or daemon)", st->sock);
		r = -EADDRINUSE;
	} else if (!up) {
		r = store_embed(st, dir, err, errlen);
		if (!r)
			pv_log_info(TAG, "embedded store on %s", st->sock);
	} else {
		pv_log_info(TAG, "using the store on %s", st->sock);
	}
out:
	if (lfd >= 0)
		close(lfd);
	if (r) {
		free(st);
		return r;
	}
	*out = st;
	return 0;
}

const char *hv_store_socket(const struct hv_store *st)
{
	return st->sock;
}

bool hv_store_embedded(const struct hv_store *st)
{
	return st->d != NULL;
}

void hv_store_close(struct hv_store *st)
{
	if (!st)
		return;
	if (st->d) {
		/* Other guests that found this store through store.sock lose it
		 * here (hv/README.md); a pvkvm-stored daemon outlives guests. */
		pv_log_info(TAG, "embedded store on %s stops", st->sock);
		xs_daemon_stop(st->d);
		pthread_join(st->thread, NULL);
		xs_daemon_free(st->d); /* unlinks the socket */
	}
	free(st);
}
