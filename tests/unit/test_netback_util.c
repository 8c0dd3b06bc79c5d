/* SPDX-License-Identifier: MIT */
/* Helpers for the netback tests: see test_netback_util.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test_netback_util.h"

uint64_t tnet_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

int tnet_enter_netns(void)
{
	int fd;

	if (unshare(CLONE_NEWNET))
		return -errno;
	/* Loopback up, so the namespace's own sockets work. */
	tnet_link("lo", true);
	fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			fprintf(stderr, "disable_ipv6: %s\n", strerror(errno));
		close(fd);
	}
	return 0;
}

int tnet_link(const char *ifname, bool up)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		err = -errno;
	ifr.ifr_flags = (short)(up ? ifr.ifr_flags | IFF_UP : ifr.ifr_flags & ~IFF_UP);
	if (!err && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		err = -errno;
	close(s);
	return err;
}

struct harness_guest *tnet_guest_new(void)
{
	struct harness_guest *g;

	if (harness_guest_new(&g, 64 << 20, 1))
		return NULL;
	if (pvfront_gnt_setup(&g->front, 16)) {
		harness_guest_free(g);
		return NULL;
	}
	return g;
}

static int tnet_tap_info(struct tnet_vif *t)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", net_vif_ifname(t->v));
	if (ioctl(s, SIOCGIFINDEX, &ifr) < 0)
		err = -errno;
	close(s);
	if (err)
		return err;
	t->ifindex = ifr.ifr_ifindex;
	return 0;
}

static int tnet_mac(struct tnet_vif *t)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", net_vif_ifname(t->v));
	if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
		err = -errno;
	else
		memcpy(t->tap_mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	return err;
}

static int tnet_packet_socket(struct tnet_vif *t)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = t->ifindex };
	int rcvbuf = 8 << 20;

	t->pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (t->pkt_fd < 0)
		return -errno;
	setsockopt(t->pkt_fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (bind(t->pkt_fd, (struct sockaddr *)&sll, sizeof(sll)))
		return -errno;
	return 0;
}

int tnet_vif_new(struct tnet_vif *t, struct harness_guest *g, const char *tap,
		 const struct net_vif_config *cfg)
{
	struct net_vif_config c = *cfg;
	struct net_vif_frontend *fe = &t->fe;
	struct net_vif_frontend fe0 = { .nr_queues = 1, .rx_csum_blank = true, .gso_tcpv4 = true,
				       .gso_tcpv6 = true, .sg = true };
	int err;

	memset(t, 0, sizeof(*t));
	*fe = fe0;
	t->pkt_fd = -1;
	snprintf(c.tap, sizeof(c.tap), "%s", tap);
	fe->nr_queues = c.max_queues ? c.max_queues : 1;
	if ((err = netfront_init(&t->nf, &g->front, 0, fe->nr_queues)))
		return err;
	t->nf.mtu = c.mtu ? c.mtu : 1500;
	t->nf.be_sg = t->nf.be_gso_tcpv4 = t->nf.be_gso_tcpv6 = true;
	memcpy(t->nf.mac, c.mac, 6);
	for (unsigned q = 0; q < fe->nr_queues; q++) {
		fe->q[q].tx_ring_ref = t->nf.q[q].tx_ring_ref;
		fe->q[q].rx_ring_ref = t->nf.q[q].rx_ring_ref;
		fe->q[q].port_tx = fe->q[q].port_rx = t->nf.q[q].port;
	}
	if ((err = pvback_attach(&t->d, g->ctl_path, "vif/0")) ||
	    (err = net_vif_new(&t->v, t->d, &c)) || (err = net_vif_connect(t->v, fe)) ||
	    (err = tnet_tap_info(t)) || (err = tnet_mac(t)))
		return err;
	char path[96];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", net_vif_ifname(t->v));
	int fd = open(path, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			err = 0;
		close(fd);
	}
	if ((err = tnet_link(net_vif_ifname(t->v), true)))
		return err;
	return tnet_packet_socket(t);
}

void tnet_vif_free(struct tnet_vif *t)
{
	if (t->pkt_fd >= 0)
		close(t->pkt_fd);
	net_vif_free(t->v);
	if (t->d)
		pvback_detach(t->d);
	t->v = NULL;
	t->d = NULL;
	t->pkt_fd = -1;
}

void tnet_frame(uint8_t *buf, uint32_t len, const uint8_t dst[6], const uint8_t src[6],
		uint32_t seed)
{
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	buf[12] = TNET_ETHERTYPE >> 8;
	buf[13] = TNET_ETHERTYPE & 0xff;
	for (uint32_t i = 14; i < len; i++)
		buf[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

int tnet_host_recv(struct tnet_vif *t, uint16_t ethertype, uint8_t *buf, uint32_t cap, int timeout_ms)
{
	uint64_t end = tnet_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = t->pkt_fd, .events = POLLIN };
		struct sockaddr_ll sll;
		socklen_t sl = sizeof(sll);
		int64_t left = (int64_t)(end - tnet_now_ms());
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) != 1)
			return -1;
		n = recvfrom(t->pkt_fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&sll, &sl);
		if (n >= 14 && sll.sll_pkttype != PACKET_OUTGOING && buf[12] == (ethertype >> 8) &&
		    buf[13] == (ethertype & 0xff))
			return (int)n;
	}
}

int tnet_host_send(struct tnet_vif *t, const uint8_t *buf, uint32_t len)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = t->ifindex,
				   .sll_halen = 6 };

	memcpy(sll.sll_addr, buf, 6);
	return sendto(t->pkt_fd, buf, len, 0, (struct sockaddr *)&sll, sizeof(sll)) == (ssize_t)len
		       ? 0 : -errno;
}

struct tnet_rx {
	uint8_t *buf;
	uint32_t cap;
	int len;
	struct netfront_offload *off;
	uint16_t ethertype;
};

static void tnet_rx_cb(void *opaque, const struct netfront_rx_pkt *pkt)
{
	struct tnet_rx *r = opaque;
	uint32_t got = 0;

	if (r->len >= 0 || pkt->len < 14 || pkt->frag[0].len < 14 ||
	    pkt->frag[0].data[12] != (r->ethertype >> 8) || pkt->frag[0].data[13] != (r->ethertype & 0xff))
		return;
	for (unsigned i = 0; i < pkt->nr_frags && got + pkt->frag[i].len <= r->cap; i++) {
		memcpy(r->buf + got, pkt->frag[i].data, pkt->frag[i].len);
		got += pkt->frag[i].len;
	}
	r->len = (int)got;
	if (r->off)
		*r->off = pkt->off;
}

int tnet_guest_recv(struct tnet_vif *t, uint16_t ethertype, uint8_t *buf, uint32_t cap,
		    int timeout_ms, struct netfront_offload *off)
{
	struct tnet_rx r = { buf, cap, -1, off, ethertype };
	uint64_t end = tnet_now_ms() + (uint64_t)timeout_ms;

	while (r.len < 0 && tnet_now_ms() < end) {
		if (netfront_recv(&t->nf, 0, tnet_rx_cb, &r, 1) == 0)
			usleep(100);
	}
	return r.len;
}

int tnet_guest_send(struct tnet_vif *t, const uint8_t *buf, uint32_t len,
		    const struct netfront_offload *off)
{
	int err;

	for (int i = 0; i < 20000; i++) {
		err = netfront_send(&t->nf, 0, buf, len, off);
		if (err != -PVFRONT_EAGAIN)
			break;
		netfront_tx_flush(&t->nf, 0);
		if (netfront_tx_reap(&t->nf, 0) == 0)
			usleep(50);
	}
	netfront_tx_flush(&t->nf, 0);
	return err;
}
