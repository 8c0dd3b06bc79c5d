/* SPDX-License-Identifier: MIT */
/* A vif's life: TAP, connect (rings, event channels, offloads), one thread
 * per queue, token bucket, statistics. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "net_int.h"
#include "pv_log.h"

#define TAG "netback"

uint64_t net_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void net_bucket_init(struct net_bucket *b, uint64_t rate, uint64_t burst)
{
	uint64_t floor = 2 * (uint64_t)NETIF_MAX_PACKET_BYTES;

	pthread_mutex_init(&b->lock, NULL);
	b->rate = rate;
	b->burst = burst ? burst : rate / 50;
	if (b->burst < floor)
		b->burst = floor;
	b->tokens = b->burst;
	b->last_ns = net_now_ns();
}

uint64_t net_bucket_take(struct net_bucket *b, uint32_t len)
{
	uint64_t now, wait = 0;

	if (!b->rate)
		return 0;
	pthread_mutex_lock(&b->lock);
	now = net_now_ns();
	/* Refill in whole bytes; the remainder of the interval stays in last_ns. */
	uint64_t add = (now - b->last_ns) * b->rate / 1000000000u;
	if (add) {
		b->tokens = b->tokens + add > b->burst ? b->burst : b->tokens + add;
		b->last_ns += add * 1000000000u / b->rate;
	}
	if (b->tokens >= len)
		b->tokens -= len;
	else
		wait = (len - b->tokens) * 1000000000u / b->rate + 1;
	pthread_mutex_unlock(&b->lock);
	return wait;
}

static void vif_fail(struct net_queue *q, const char *why)
{
	struct net_vif *v = q->vif;

	if (!__atomic_exchange_n(&v->failed, true, __ATOMIC_SEQ_CST))
		pv_log_warn(TAG, "%s: queue %u: %s: vif disconnected", v->ifname, q->idx, why);
	__atomic_store_n(&v->stop, true, __ATOMIC_SEQ_CST);
	uint64_t one = 1;
	if (write(v->stop_fd, &one, sizeof(one)) < 0)
		pv_log_debug(TAG, "stop eventfd: %s", strerror(errno));
}

/* Sleeps until an event, the TAP (when rx buffers are ready), the control
 * socket (queue 0) or the rate-limit timer.  Returns false to stop. */
static bool queue_sleep(struct net_queue *q, uint64_t wait_ns)
{
	struct net_vif *v = q->vif;
	struct pollfd p[5];
	int n = 0, ctl = -1, timeout = wait_ns ? (int)(wait_ns / 1000000u) + 1 : 1000;

	p[n++] = (struct pollfd){ .fd = v->stop_fd, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = q->ev_tx->wait_fd, .events = POLLIN };
	if (q->ev_rx != q->ev_tx)
		p[n++] = (struct pollfd){ .fd = q->ev_rx->wait_fd, .events = POLLIN };
	if (net_rx_ready(q))
		p[n++] = (struct pollfd){ .fd = q->tap_fd, .events = POLLIN };
	if (q->idx == 0) {
		ctl = n;
		p[n++] = (struct pollfd){ .fd = pvback_ctl_fd(v->d), .events = POLLIN };
	}
	if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR)
		return false;
	NET_STAT_ADD(q->st.wakeups, 1);
	if (p[0].revents)
		return false;
	if (ctl >= 0 && p[ctl].revents && pvback_ctl_process(v->d) == -ECONNRESET) {
		vif_fail(q, "control socket closed");
		return false;
	}
	pvback_evtchn_ack(q->ev_tx);
	if (q->ev_rx != q->ev_tx)
		pvback_evtchn_ack(q->ev_rx);
	return true;
}

/* Nothing moved: arm the event indexes and re-check (ring.h's no-lost-wakeup
 * rule).  True when there is work after all. */
static bool queue_rearm(struct net_queue *q, bool throttled, int *err)
{
	int tx = throttled ? 0 : ring_back_final_check_reqs(&q->tx), rx = 0;

	if (!net_rx_ready(q))
		rx = ring_back_final_check_reqs(&q->rx);
	if (tx < 0 || rx < 0)
		*err = tx < 0 ? tx : rx;
	return tx != 0 || rx != 0;
}

static void *queue_thread(void *arg)
{
	struct net_queue *q = arg;
	struct net_vif *v = q->vif;
	uint64_t idle_since = 0, wait_ns;
	char name[16];
	int err = 0;

	/* Named in /proc/PID/task/TID/comm: benchmarks measure its CPU time. */
	snprintf(name, sizeof(name), "netback-q%u", q->idx);
	pthread_setname_np(pthread_self(), name);

	while (!__atomic_load_n(&v->stop, __ATOMIC_ACQUIRE)) {
		int tx = net_tx_process(q, &wait_ns);
		int rx = tx < 0 ? 0 : net_rx_process(q);

		if (tx < 0 || rx < 0) {
			vif_fail(q, "impossible ring index or endless slot chain");
			break;
		}
		if (tx > 0 || rx > 0) {
			idle_since = 0;
			continue;
		}
		if (!idle_since)
			idle_since = net_now_ns();
		if (!wait_ns && net_now_ns() - idle_since < NET_POLL_NS) {
			__builtin_ia32_pause();
			continue;
		}
		idle_since = 0;
		if (queue_rearm(q, wait_ns != 0, &err))
			continue;
		if (err) {
			vif_fail(q, "impossible ring index");
			break;
		}
		if (!queue_sleep(q, wait_ns))
			break;
	}
	return NULL;
}

int net_vif_new(struct net_vif **out, struct pvback_dom *d, const struct net_vif_config *cfg)
{
	struct net_vif *v;
	int err;

	if ((cfg->mtu && (cfg->mtu < NET_MTU_MIN || cfg->mtu > NET_MTU_MAX)) ||
	    cfg->max_queues > NET_MAX_QUEUES)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->d = d;
	v->cfg = *cfg;
	if (!v->cfg.mtu)
		v->cfg.mtu = 1500;
	if (!v->cfg.max_queues)
		v->cfg.max_queues = 1;
	v->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	err = v->stop_fd < 0 ? -errno : 0;
	if (!err)
		err = net_tap_open(cfg->tap, v->cfg.max_queues, v->tap_fd, v->ifname);
	if (err) {
		if (v->stop_fd >= 0)
			close(v->stop_fd);
		free(v);
		return err;
	}
	v->nr_tap_fds = v->cfg.max_queues;
	if ((err = net_tap_set_mtu(v->ifname, v->cfg.mtu)))
		pv_log_warn(TAG, "%s: mtu %u: %s", v->ifname, v->cfg.mtu, strerror(-err));
	net_bucket_init(&v->bucket, v->cfg.rate_bytes_per_s, v->cfg.burst_bytes);
	*out = v;
	return 0;
}

static int queue_map_ring(struct net_queue *q, uint32_t ref, bool *mapped, struct ring_back *b)
{
	void *page;
	int err = pvback_gnt_map(q->vif->d, ref, true, &page);

	if (err)
		return err;
	*mapped = true;
	ring_back_attach(b, page, NET_RING_ENTS);
	return 0;
}

static void queue_release(struct net_queue *q)
{
	struct pvback_dom *d = q->vif->d;

	net_rx_release(q);
	if (q->tx_mapped)
		pvback_gnt_unmap(d, q->tx_ring_ref);
	if (q->rx_mapped)
		pvback_gnt_unmap(d, q->rx_ring_ref);
	if (q->ev_rx && q->ev_rx != q->ev_tx)
		pvback_evtchn_unbind(d, q->ev_rx);
	if (q->ev_tx)
		pvback_evtchn_unbind(d, q->ev_tx);
	q->tx_mapped = q->rx_mapped = false;
	q->ev_tx = q->ev_rx = NULL;
}

static int queue_setup(struct net_vif *v, unsigned i)
{
	struct net_queue *q = &v->q[i];
	uint32_t max_rx;
	int err;

	memset(q, 0, sizeof(*q));
	q->vif = v;
	q->idx = i;
	q->tap_fd = v->tap_fd[i];
	q->tx_ring_ref = v->fe.q[i].tx_ring_ref;
	q->rx_ring_ref = v->fe.q[i].rx_ring_ref;
	max_rx = v->fe.gso_tcpv4 || v->fe.gso_tcpv6 ? NETIF_MAX_PACKET_BYTES : v->tx_max_len;
	q->rx_data_slots = (max_rx + NETIF_PAGE_BYTES - 1) / NETIF_PAGE_BYTES;
	q->rx_need = q->rx_data_slots + (max_rx == NETIF_MAX_PACKET_BYTES ? 1 : 0);
	if ((err = queue_map_ring(q, q->tx_ring_ref, &q->tx_mapped, &q->tx)) ||
	    (err = queue_map_ring(q, q->rx_ring_ref, &q->rx_mapped, &q->rx)) ||
	    (err = pvback_evtchn_bind(v->d, v->fe.q[i].port_tx, &q->ev_tx)))
		return err;
	if (v->fe.q[i].port_rx == v->fe.q[i].port_tx)
		q->ev_rx = q->ev_tx;
	else if ((err = pvback_evtchn_bind(v->d, v->fe.q[i].port_rx, &q->ev_rx)))
		return err;
	return 0;
}

static int vif_check_frontend(struct net_vif *v, const struct net_vif_frontend *fe)
{
	if (fe->nr_queues < 1 || fe->nr_queues > v->cfg.max_queues)
		return -EINVAL;
	/* Without scatter-gather a packet must fit one page each way. */
	if (!fe->sg && (v->cfg.mtu + NET_ETH_HLEN + NET_VLAN_HLEN > NETIF_PAGE_BYTES ||
			fe->gso_tcpv4 || fe->gso_tcpv6))
		return -EINVAL;
	return 0;
}

int net_vif_connect(struct net_vif *v, const struct net_vif_frontend *fe)
{
	bool csum = fe->rx_csum_blank;
	unsigned i;
	int err;

	if (v->connected)
		return -EBUSY;
	if ((err = vif_check_frontend(v, fe)))
		return err;
	/* Grant frames the guest registered since the last look. */
	if ((err = pvback_ctl_process(v->d)))
		return err;
	v->fe = *fe;
	v->tx_max_len = v->cfg.mtu + NET_ETH_HLEN + NET_VLAN_HLEN;
	v->gso_ok = fe->sg ? (1u << NETIF_GSO_TYPE_TCPV4) | (1u << NETIF_GSO_TYPE_TCPV6) : 0;
	for (i = 0; i < v->nr_tap_fds; i++)
		if ((err = net_tap_set_offload(v->tap_fd[i], csum, csum && fe->gso_tcpv4,
					       csum && fe->gso_tcpv6)))
			return err;
	v->fe.gso_tcpv4 = csum && fe->gso_tcpv4;
	v->fe.gso_tcpv6 = csum && fe->gso_tcpv6;
	v->stop = false;
	v->failed = false;
	v->nr_queues = fe->nr_queues;
	for (i = 0; i < v->nr_queues; i++)
		if ((err = queue_setup(v, i)))
			goto fail;
	for (i = 0; i < v->nr_queues; i++) {
		if ((err = -pthread_create(&v->q[i].thread, NULL, queue_thread, &v->q[i])))
			goto fail;
		v->q[i].running = true;
	}
	v->connected = true;
	return 0;
fail:
	v->connected = true;
	net_vif_disconnect(v);
	return err;
}

static void stats_add(struct net_vif_stats *a, const struct net_vif_stats *b)
{
	const uint64_t *s = (const uint64_t *)b;
	uint64_t *d = (uint64_t *)a;

	for (size_t i = 0; i < sizeof(*a) / sizeof(uint64_t); i++)
		d[i] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

void net_vif_disconnect(struct net_vif *v)
{
	uint64_t one = 1;

	if (!v->connected)
		return;
	__atomic_store_n(&v->stop, true, __ATOMIC_SEQ_CST);
	if (write(v->stop_fd, &one, sizeof(one)) < 0)
		pv_log_debug(TAG, "stop eventfd: %s", strerror(errno));
	for (unsigned i = 0; i < v->nr_queues; i++) {
		if (v->q[i].running)
			pthread_join(v->q[i].thread, NULL);
		v->q[i].running = false;
		queue_release(&v->q[i]);
		stats_add(&v->base, &v->q[i].st);
		memset(&v->q[i].st, 0, sizeof(v->q[i].st));
	}
	if (read(v->stop_fd, &one, sizeof(one)) < 0)
		pv_log_debug(TAG, "stop eventfd drained");
	v->connected = false;
}

void net_vif_free(struct net_vif *v)
{
	if (!v)
		return;
	net_vif_disconnect(v);
	for (unsigned i = 0; i < v->nr_tap_fds; i++)
		close(v->tap_fd[i]);
	close(v->stop_fd);
	pthread_mutex_destroy(&v->bucket.lock);
	free(v);
}

bool net_vif_failed(const struct net_vif *v)
{
	return __atomic_load_n(&v->failed, __ATOMIC_SEQ_CST);
}

bool net_vif_connected(const struct net_vif *v)
{
	return v->connected && !net_vif_failed(v);
}

const char *net_vif_ifname(const struct net_vif *v)
{
	return v->ifname;
}

const struct net_vif_config *net_vif_config(const struct net_vif *v)
{
	return &v->cfg;
}

void net_vif_get_stats(const struct net_vif *v, struct net_vif_stats *s)
{
	*s = v->base;
	if (v->connected)
		for (unsigned i = 0; i < v->nr_queues; i++)
			stats_add(s, &v->q[i].st);
}
