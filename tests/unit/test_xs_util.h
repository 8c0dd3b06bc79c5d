/* SPDX-License-Identifier: MIT */
/* Harness for the store tests: a pvkvm-stored running in a thread of the
 * test process on a temporary socket and state directory, clients as domain
 * 0 or handed over to a guest domid, and raw sockets for hostile input. */
#ifndef TEST_XS_UTIL_H
#define TEST_XS_UTIL_H

#include <pthread.h>
#include <stdbool.h>

#include "xs_client.h"
#include "xs_daemon.h"

struct fx {
	struct xs_daemon *d;
	pthread_t th;
	char dir[64];
	char sock[100];
	char state[128];
	struct xs_daemon_opts opts;
};

/* Starts a daemon; q NULL = Xen defaults.  Keeps f->dir across restarts. */
int fx_start(struct fx *f, const struct xs_quota *q);
int fx_restart(struct fx *f);
void fx_stop(struct fx *f);
void fx_done(struct fx *f); /* stop + remove the directory */
struct xs_client *fx_client(struct fx *f);
struct xs_client *fx_guest(struct fx *f, unsigned domid);

/* Raw wire access. */
int raw_connect(struct fx *f);
int raw_send(int fd, uint32_t type, uint32_t req_id, uint32_t tx, const void *p, size_t len);
/* 0, -ETIMEDOUT, or -ECONNRESET when the daemon closed the connection. */
int raw_recv(int fd, struct xsd_sockmsg *h, char *buf, int timeout_ms);
/* Sends and waits for the reply; returns its type (XS_ERROR ...) or -errno. */
int raw_call(int fd, uint32_t type, const void *p, size_t len, char *buf);

/* Watch events collected by a callback. */
struct evlog {
	int n;
	char path[64][256];
	char token[64][64];
};
void evlog_cb(void *opaque, const char *path, const char *token);
/* Dispatches until no event arrives for quiet_ms. */
int evlog_drain(struct xs_client *c, int quiet_ms);
bool evlog_has(const struct evlog *e, const char *path);

/* Shorthands that return the value (static buffer) or NULL. */
const char *xs_get(struct xs_client *c, const char *path);

#define SETUP(f, c)                                   \
	struct fx f;                                  \
	struct xs_client *c;                          \
	CU_ASSERT_FATAL(fx_start(&f, NULL) == 0);     \
	c = fx_client(&f);                            \
	CU_ASSERT_FATAL(c != NULL)

#define W(c, p, v) CU_ASSERT_EQUAL(xs_write(c, 0, p, v, strlen(v)), 0)

/* Gives domain `domid` its home /local/domain/<domid>, owned by it. */
void fx_make_home(struct xs_client *c, unsigned domid);

void test_xs_register_ops(void);
void test_xs_register_perms(void);
void test_xs_register_txn(void);
void test_xs_register_bad(void);

#endif
