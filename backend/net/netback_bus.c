/* SPDX-License-Identifier: MIT */
/* The vif's side of the XenbusState handshake: publish what the backend
 * offers, read (untrusted) what the frontend published, connect. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "netback_bus.h"
#include "pvkvm/evtchn.h"
#include "pv_log.h"

#define TAG "netback"

static int be_write(struct pvback_bus_dev *b, uint32_t tx, const char *key, const char *val)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", b->be, key);
	return xs_write(b->c, tx, path, val, strlen(val));
}

int net_bus_publish(struct pvback_bus_dev *b, const struct net_vif_config *cfg)
{
	char mac[18], mtu[12], nq[12];
	const char *keys[] = { NETIF_KEY_MAC, NETIF_KEY_MTU, NETIF_KEY_FEATURE_SG,
			       NETIF_KEY_FEATURE_GSO_TCPV4, NETIF_KEY_FEATURE_GSO_TCPV6,
			       NETIF_KEY_FEATURE_RX_COPY, NETIF_KEY_FEATURE_IPV6_CSUM,
			       NETIF_KEY_FEATURE_SPLIT_EVTCHN, NETIF_KEY_MQ_MAX_QUEUES };
	const char *vals[] = { mac, mtu, "1", "1", "1", "1", "1", "1", nq };
	int err = 0;

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", cfg->mac[0], cfg->mac[1],
		 cfg->mac[2], cfg->mac[3], cfg->mac[4], cfg->mac[5]);
	snprintf(mtu, sizeof(mtu), "%u", cfg->mtu ? cfg->mtu : 1500);
	snprintf(nq, sizeof(nq), "%u", cfg->max_queues ? cfg->max_queues : 1);
	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]) && !err; i++)
		err = be_write(b, 0, keys[i], vals[i]);
	return err;
}

/* A "0"/"1" feature key; missing means 0. */
static bool fe_flag(struct pvback_bus_dev *b, const char *key)
{
	uint64_t v;

	return pvback_bus_read_fe_uint(b, key, 1, &v) == 0 && v == 1;
}

static int fe_queue_uint(struct pvback_bus_dev *b, unsigned nq, unsigned q, const char *key,
			 uint64_t max, uint64_t *out)
{
	char k[64];

	if (nq > 1)
		snprintf(k, sizeof(k), NETIF_KEY_QUEUE_FMT "/%s", q, key);
	else
		snprintf(k, sizeof(k), "%s", key);
	return pvback_bus_read_fe_uint(b, k, max, out);
}

static int fe_read_queue(struct pvback_bus_dev *b, unsigned nq, unsigned q,
			 struct net_vif_frontend *fe)
{
	uint64_t tx, rx, p, ptx, prx;
	int err;

	if ((err = fe_queue_uint(b, nq, q, NETIF_KEY_TX_RING_REF, UINT32_MAX, &tx)) ||
	    (err = fe_queue_uint(b, nq, q, NETIF_KEY_RX_RING_REF, UINT32_MAX, &rx)))
		return err;
	if (fe_queue_uint(b, nq, q, NETIF_KEY_EVENT_CHANNEL, PVKVM_EVTCHN_NR_PORTS - 1, &p) == 0) {
		ptx = prx = p;
	} else if ((err = fe_queue_uint(b, nq, q, NETIF_KEY_EVENT_CHANNEL_TX,
					PVKVM_EVTCHN_NR_PORTS - 1, &ptx)) ||
		   (err = fe_queue_uint(b, nq, q, NETIF_KEY_EVENT_CHANNEL_RX,
					PVKVM_EVTCHN_NR_PORTS - 1, &prx))) {
		return err;
	}
	fe->q[q].tx_ring_ref = (uint32_t)tx;
	fe->q[q].rx_ring_ref = (uint32_t)rx;
	fe->q[q].port_tx = (uint32_t)ptx;
	fe->q[q].port_rx = (uint32_t)prx;
	return 0;
}

int net_bus_read_frontend(struct pvback_bus_dev *b, unsigned max_queues,
			  struct net_vif_frontend *fe)
{
	uint64_t nq = 1;
	int err;

	memset(fe, 0, sizeof(*fe));
	/* rx by copy is the only mode: a frontend that does not ask for it
	 * expects something else. */
	if (!fe_flag(b, NETIF_KEY_REQUEST_RX_COPY))
		return -EPROTO;
	err = pvback_bus_read_fe_uint(b, NETIF_KEY_MQ_NUM_QUEUES, NET_MAX_QUEUES, &nq);
	if (err == -ENOENT)
		nq = 1;
	else if (err)
		return -EINVAL;
	if (nq < 1 || nq > max_queues)
		return -EINVAL;
	fe->nr_queues = (unsigned)nq;
	for (unsigned q = 0; q < fe->nr_queues; q++)
		if ((err = fe_read_queue(b, fe->nr_queues, q, fe)))
			return err;
	fe->sg = fe_flag(b, NETIF_KEY_FEATURE_SG);
	fe->gso_tcpv4 = fe->sg && fe_flag(b, NETIF_KEY_FEATURE_GSO_TCPV4);
	fe->gso_tcpv6 = fe->sg && fe_flag(b, NETIF_KEY_FEATURE_GSO_TCPV6);
	fe->rx_csum_blank = !fe_flag(b, NETIF_KEY_FEATURE_NO_CSUM);
	return 0;
}

int net_bus_connect(struct net_vif *v, struct pvback_bus_dev *b, int timeout_ms)
{
	struct net_vif_frontend fe;
	int err, st;

	if ((err = net_bus_publish(b, net_vif_config(v))) ||
	    (err = pvback_bus_set_state(b, PVBACK_STATE_INITWAIT)))
		return err;
	/* Exactly Initialised: a Connected left over from an earlier backend
	 * names rings the frontend is about to replace. */
	st = pvback_bus_wait_frontend(b, PVBACK_STATE_INITIALISED, PVBACK_STATE_INITIALISED,
				      timeout_ms);
	if (st < 0)
		return st;
	if ((err = net_bus_read_frontend(b, net_vif_config(v)->max_queues, &fe)) ||
	    (err = net_vif_connect(v, &fe))) {
		pv_log_warn(TAG, "%s: frontend %s: cannot connect: %s", net_vif_ifname(v), b->fe,
			    strerror(-err));
		pvback_bus_set_state(b, PVBACK_STATE_CLOSING);
		return err;
	}
	return pvback_bus_set_state(b, PVBACK_STATE_CONNECTED);
}
