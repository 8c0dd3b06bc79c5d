/* SPDX-License-Identifier: MIT */
/* net_back: one vif served through the store on its own thread. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netback_bus.h"
#include "pv_log.h"

#define TAG "netback"
#define NB_TICK_MS 200

struct net_back {
	struct net_back_opts o;
	char ctl_path[256];
	char store_sock[256];
	struct pvback_dom *d;
	struct net_vif *v;
	struct xs_client *c;
	struct pvback_bus_dev bus;
	pthread_t thread;
	bool stop;
	bool ever_connected;
	bool guest_gone;
};

static bool nb_stopping(struct net_back *nb)
{
	return __atomic_load_n(&nb->stop, __ATOMIC_ACQUIRE);
}

static void nb_on_state(void *opaque, const char *path, const char *token)
{
}

/* While connected: until the frontend closes or restarts, the vif fails,
 * or we are stopped.  Returns the frontend's last state. */
static int nb_serve(struct net_back *nb)
{
	char path[160], token[32];
	bool seen_connected = false;
	int st = 0;

	snprintf(path, sizeof(path), "%s/state", nb->bus.fe);
	snprintf(token, sizeof(token), "netback-%u", nb->o.devid);
	xs_watch(nb->c, path, token, nb_on_state, nb);
	while (!nb_stopping(nb) && !net_vif_failed(nb->v)) {
		st = pvback_bus_frontend_state(&nb->bus);
		/* Initialised before Connected is the frontend finishing this
		 * handshake; after it, the frontend is starting a new one. */
		seen_connected |= st == PVBACK_STATE_CONNECTED;
		if (st != PVBACK_STATE_CONNECTED && (seen_connected || st != PVBACK_STATE_INITIALISED))
			break;
		if (xs_client_dispatch(nb->c, NB_TICK_MS) < 0)
			break;
	}
	xs_unwatch(nb->c, path, token);
	return st;
}

static void *nb_thread(void *arg)
{
	struct net_back *nb = arg;

	while (!nb_stopping(nb)) {
		if (pvback_ctl_process(nb->d) == -ECONNRESET) {
			pv_log_info(TAG, "%s: domain %u went away", net_vif_ifname(nb->v), nb->o.domid);
			__atomic_store_n(&nb->guest_gone, true, __ATOMIC_RELEASE);
			break;
		}
		int err = net_bus_connect(nb->v, &nb->bus, NB_TICK_MS);

		if (err == -ETIMEDOUT)
			continue;
		if (err) {
			/* A bad frontend: wait until it changes its state. */
			pvback_bus_wait_frontend(&nb->bus, PVBACK_STATE_INITIALISING,
						 PVBACK_STATE_INITWAIT, NB_TICK_MS * 5);
			continue;
		}
		__atomic_store_n(&nb->ever_connected, true, __ATOMIC_RELEASE);
		pv_log_info(TAG, "%s: domain %u vif %u connected", net_vif_ifname(nb->v),
			    nb->o.domid, nb->o.devid);
		int st = nb_serve(nb);

		if (nb_stopping(nb))
			break;
		net_vif_disconnect(nb->v);
		if (st == PVBACK_STATE_INITIALISING || st == PVBACK_STATE_INITIALISED)
			continue; /* the frontend reconnects: offer InitWait at once */
		pvback_bus_set_state(&nb->bus, PVBACK_STATE_CLOSED);
		/* Let a closing frontend reach Closed before offering InitWait again. */
		pvback_bus_wait_frontend(&nb->bus, PVBACK_STATE_CLOSED, PVBACK_STATE_CLOSED,
					 NB_TICK_MS * 5);
	}
	return NULL;
}

static void nb_free(struct net_back *nb)
{
	net_vif_free(nb->v);
	if (nb->d)
		pvback_detach(nb->d);
	if (nb->c)
		xs_client_close(nb->c);
	free(nb);
}

int net_back_start(struct net_back **out, const struct net_back_opts *o)
{
	struct net_back *nb = calloc(1, sizeof(*nb));
	char dev[32];
	int err;

	if (!nb)
		return -ENOMEM;
	nb->o = *o;
	snprintf(nb->ctl_path, sizeof(nb->ctl_path), "%s", o->ctl_path);
	nb->o.ctl_path = nb->ctl_path;
	if (o->store_sock) {
		snprintf(nb->store_sock, sizeof(nb->store_sock), "%s", o->store_sock);
		nb->o.store_sock = nb->store_sock;
	}
	snprintf(dev, sizeof(dev), "vif/%u", o->devid);
	if ((err = pvback_attach(&nb->d, nb->ctl_path, dev)) ||
	    (err = net_vif_new(&nb->v, nb->d, &o->cfg)) ||
	    (err = xs_client_open(nb->o.store_sock, &nb->c)) ||
	    (err = pvback_bus_open(&nb->bus, nb->c, "vif", o->domid, o->devid)) ||
	    /* Keys visible when start returns (hot-plug callers read them). */
	    (err = net_bus_publish(&nb->bus, &o->cfg)) ||
	    (err = -pthread_create(&nb->thread, NULL, nb_thread, nb))) {
		nb_free(nb);
		return err;
	}
	*out = nb;
	return 0;
}

void net_back_stop(struct net_back *nb)
{
	if (!nb)
		return;
	__atomic_store_n(&nb->stop, true, __ATOMIC_RELEASE);
	pthread_join(nb->thread, NULL);
	nb_free(nb);
}

void net_back_close(struct net_back *nb)
{
	if (!nb)
		return;
	__atomic_store_n(&nb->stop, true, __ATOMIC_RELEASE);
	pthread_join(nb->thread, NULL);
	net_vif_disconnect(nb->v);
	pvback_bus_set_state(&nb->bus, PVBACK_STATE_CLOSED);
	nb_free(nb);
}

struct net_vif *net_back_vif(struct net_back *nb)
{
	return nb->v;
}

bool net_back_guest_gone(struct net_back *nb)
{
	return __atomic_load_n(&nb->guest_gone, __ATOMIC_ACQUIRE);
}

bool net_back_connected(struct net_back *nb)
{
	return __atomic_load_n(&nb->ever_connected, __ATOMIC_ACQUIRE) && net_vif_connected(nb->v);
}
