/* SPDX-License-Identifier: MIT */
/* bench-net, host-harness path: a fake guest (the pvnet frontend core in this
 * process over a memfd) -> shared rings -> netback -> a TAP inside a network
 * namespace this process creates -> host UDP sockets in that namespace.
 * Anchor, same run: a plain TAP writer (no rings, no grants) into the same
 * TAP: the floor of netback's data path.  Prints markdown rows on fd 1 (and
 * fd 3 when open, for RESULTS.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "test_netback_util.h"

#define BN_TAP "pvbench0"
#define BN_PORT_SINK 7000
#define BN_PORT_GUEST 7001
#define BN_PORT_ECHO 7002

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x99, 0x00, 0x02 };
static struct harness_guest *g;
static struct tnet_vif vif;
static double run_s = 1.0;
static FILE *res;

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static double cpu_s(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return (double)r.ru_utime.tv_sec + (double)r.ru_stime.tv_sec +
	       ((double)r.ru_utime.tv_usec + (double)r.ru_stime.tv_usec) / 1e6;
}

static void row(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void row(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (res) {
		va_start(ap, fmt);
		vfprintf(res, fmt, ap);
		va_end(ap);
		fflush(res);
	}
	fflush(stdout);
}

static uint16_t csum16(const uint8_t *p, unsigned len)
{
	uint32_t s = 0;

	for (unsigned i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Ethernet/IPv4/UDP (or ICMP echo when icmp) 10.99.0.2 -> 10.99.0.1; UDP
 * checksum 0 (none).  Returns the frame length. */
static uint32_t bn_frame(uint8_t *f, bool icmp, uint16_t dport, uint32_t payload, uint32_t seq)
{
	uint32_t l4len = 8 + payload, iplen = 20 + l4len;
	uint8_t *ip = f + 14, *l4 = ip + 20;

	memset(f, 0, 14 + iplen);
	memcpy(f, vif.tap_mac, 6);
	memcpy(f + 6, guest_mac, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(iplen >> 8);
	ip[3] = (uint8_t)iplen;
	ip[8] = 64;
	ip[9] = icmp ? 1 : 17;
	memcpy(ip + 12, (uint8_t[]){ 10, 99, 0, 2 }, 4);
	memcpy(ip + 16, (uint8_t[]){ 10, 99, 0, 1 }, 4);
	uint16_t c = csum16(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	memcpy(l4 + 8, &seq, 4);
	if (icmp) {
		l4[0] = 8;
		l4[4] = 0x12;
		l4[6] = (uint8_t)(seq >> 8);
		l4[7] = (uint8_t)seq;
		c = csum16(l4, l4len);
		l4[2] = (uint8_t)(c >> 8);
		l4[3] = (uint8_t)c;
	} else {
		l4[0] = BN_PORT_GUEST >> 8;
		l4[1] = BN_PORT_GUEST & 0xff;
		l4[2] = (uint8_t)(dport >> 8);
		l4[3] = (uint8_t)dport;
		l4[4] = (uint8_t)(l4len >> 8);
		l4[5] = (uint8_t)l4len;
	}
	return 14 + iplen;
}

static int udp_socket(const char *ip, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), big = 16 << 20;
	struct timeval tv = { 0, 200000 };

	inet_pton(AF_INET, ip, &sa.sin_addr);
	setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("bind");
		exit(2);
	}
	return s;
}

struct sink {
	int fd;
	volatile bool stop;
	uint64_t pkts, bytes;
};

static void *sink_thread(void *arg)
{
	struct sink *k = arg;
	static uint8_t bufs[64][2048];
	struct mmsghdr m[64];
	struct iovec iov[64];

	for (int i = 0; i < 64; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	while (!k->stop) {
		int n = recvmmsg(k->fd, m, 64, 0, NULL);

		for (int i = 0; i < n; i++) {
			k->pkts++;
			k->bytes += m[i].msg_len;
		}
	}
	return NULL;
}

/* Guest -> host at full speed for run_s: packets the host received per second. */
static void bench_tx(uint32_t payload, double *pps, double *cpu_per_pkt)
{
	static uint8_t f[2048];
	struct sink k = { .fd = udp_socket("10.99.0.1", BN_PORT_SINK) };
	uint32_t len = bn_frame(f, false, BN_PORT_SINK, payload, 0);
	pthread_t th;
	uint64_t t0, end;
	double c0;

	pthread_create(&th, NULL, sink_thread, &k);
	c0 = cpu_s();
	t0 = now_ns();
	end = t0 + (uint64_t)(run_s * 1e9);
	while (now_ns() < end) {
		int sent = 0;

		while (sent < 32 && netfront_send(&vif.nf, 0, f, len, NULL) == 0)
			sent++;
		netfront_tx_flush(&vif.nf, 0);
		/* Ring full and nothing answered: give the CPU to the backend. */
		if (netfront_tx_reap(&vif.nf, 0) == 0 && sent == 0)
			sched_yield();
	}
	usleep(100000);
	k.stop = true;
	pthread_join(th, NULL);
	*pps = (double)k.pkts / run_s;
	*cpu_per_pkt = k.pkts ? (cpu_s() - c0) / (double)k.pkts * 1e9 : 0;
	close(k.fd);
}

static int tap_attach(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The anchor: the same frames written straight into the TAP (its own queue). */
static void bench_tx_floor(uint32_t payload, double *pps, double *cpu_per_pkt)
{
	static uint8_t f[2048];
	struct sink k = { .fd = udp_socket("10.99.0.1", BN_PORT_SINK) };
	struct virtio_net_hdr h = { 0 };
	uint32_t len = bn_frame(f, false, BN_PORT_SINK, payload, 0);
	struct iovec iov[2] = { { &h, sizeof(h) }, { f, len } };
	int fd;
	pthread_t th;
	uint64_t end;
	double c0;

	if ((fd = tap_attach(BN_TAP)) < 0) {
		*pps = *cpu_per_pkt = 0;
		close(k.fd);
		return;
	}
	pthread_create(&th, NULL, sink_thread, &k);
	c0 = cpu_s();
	end = now_ns() + (uint64_t)(run_s * 1e9);
	while (now_ns() < end)
		for (int i = 0; i < 32; i++)
			if (writev(fd, iov, 2) < 0)
				break;
	usleep(100000);
	k.stop = true;
	pthread_join(th, NULL);
	*pps = (double)k.pkts / run_s;
	*cpu_per_pkt = k.pkts ? (cpu_s() - c0) / (double)k.pkts * 1e9 : 0;
	close(fd);
	close(k.fd);
}

struct blaster {
	int fd;
	uint32_t payload;
	volatile bool stop;
	uint64_t sent;
};

static void *blast_thread(void *arg)
{
	struct blaster *b = arg;
	static uint8_t buf[2048];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(BN_PORT_GUEST) };
	struct mmsghdr m[32];
	struct iovec iov = { buf, 0 };

	iov.iov_len = b->payload;
	inet_pton(AF_INET, "10.99.0.2", &to.sin_addr);
	for (int i = 0; i < 32; i++)
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &to, .msg_namelen = sizeof(to),
						      .msg_iov = &iov, .msg_iovlen = 1 } };
	while (!b->stop) {
		int n = sendmmsg(b->fd, m, 32, 0);

		if (n > 0)
			b->sent += (uint64_t)n;
	}
	return NULL;
}

static void count_cb(void *opaque, const struct netfront_rx_pkt *pkt)
{
	uint64_t *n = opaque;

	if (pkt->len > 42 && pkt->frag[0].data[23] == 17)
		n[0]++, n[1] += pkt->len - 42;
}

/* Host -> guest at full speed: packets the guest received per second. */
static void bench_rx(uint32_t payload, double *pps, double *sent_pps, double *cpu_per_pkt)
{
	struct blaster b = { .fd = udp_socket("10.99.0.1", 7100), .payload = payload };
	uint64_t got[2] = { 0, 0 }, t0, end;
	pthread_t th;
	double c0;

	pthread_create(&th, NULL, blast_thread, &b);
	usleep(20000);
	got[0] = got[1] = 0;
	c0 = cpu_s();
	t0 = now_ns();
	end = t0 + (uint64_t)(run_s * 1e9);
	uint64_t sent0 = b.sent;
	while (now_ns() < end)
		netfront_recv(&vif.nf, 0, count_cb, got, 256);
	uint64_t sent = b.sent - sent0;
	b.stop = true;
	pthread_join(th, NULL);
	for (int i = 0; i < 1000; i++)
		netfront_recv(&vif.nf, 0, count_cb, (uint64_t[2]){ 0, 0 }, 256);
	*pps = (double)got[0] / run_s;
	*sent_pps = (double)sent / run_s;
	*cpu_per_pkt = got[0] ? (cpu_s() - c0) / (double)got[0] * 1e9 : 0;
	close(b.fd);
}

struct echo {
	int fd;
	volatile bool stop;
};

static void *echo_thread(void *arg)
{
	struct echo *e = arg;
	uint8_t buf[2048];

	while (!e->stop) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(e->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (n > 0)
			sendto(e->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

struct reply {
	uint32_t seq;
	bool icmp;
	bool seen;
};

static void reply_cb(void *opaque, const struct netfront_rx_pkt *pkt)
{
	struct reply *r = opaque;
	const uint8_t *p = pkt->frag[0].data;
	uint32_t seq;

	if (pkt->frag[0].len < 46 || p[12] != 0x08 || p[13] != 0)
		return;
	if (r->icmp ? (p[23] != 1 || p[34] != 0) : p[23] != 17)
		return;
	memcpy(&seq, p + 42, 4);
	if (seq == r->seq)
		r->seen = true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Round trips from the guest: UDP to an echo socket, or ICMP echo answered
 * by the host kernel.  p50/p99 in microseconds. */
static void bench_rtt(bool icmp, unsigned n, double *p50, double *p99)
{
	static uint8_t f[2048];
	static uint64_t lat[20000];
	struct echo e = { .fd = icmp ? -1 : udp_socket("10.99.0.1", BN_PORT_ECHO) };
	pthread_t th;
	unsigned done = 0;

	if (!icmp)
		pthread_create(&th, NULL, echo_thread, &e);
	usleep(20000);
	for (unsigned i = 0; i < n && i < 20000; i++) {
		struct reply r = { .seq = i + 1, .icmp = icmp };
		uint32_t len = bn_frame(f, icmp, BN_PORT_ECHO, 56, i + 1);
		uint64_t t0 = now_ns(), limit = t0 + 200000000u;

		if (netfront_send(&vif.nf, 0, f, len, NULL))
			netfront_tx_reap(&vif.nf, 0);
		netfront_tx_flush(&vif.nf, 0);
		while (!r.seen && now_ns() < limit)
			netfront_recv(&vif.nf, 0, reply_cb, &r, 64);
		netfront_tx_reap(&vif.nf, 0);
		if (r.seen)
			lat[done++] = now_ns() - t0;
	}
	if (!icmp) {
		e.stop = true;
		pthread_join(th, NULL);
		close(e.fd);
	}
	qsort(lat, done, sizeof(lat[0]), cmp_u64);
	*p50 = done ? (double)lat[done / 2] / 1000.0 : 0;
	*p99 = done ? (double)lat[(done * 99) / 100] / 1000.0 : 0;
}

static int setup(void)
{
	struct net_vif_config c = { .mtu = 1500 };
	char cmd[256];

	if (tnet_enter_netns())
		return -1;
	memcpy(c.mac, guest_mac, 6);
	if (!(g = tnet_guest_new()) || tnet_vif_new(&vif, g, BN_TAP, &c))
		return -1;
	snprintf(cmd, sizeof(cmd), "ip addr add 10.99.0.1/24 dev %s && "
		 "ip neigh add 10.99.0.2 lladdr 52:54:00:99:00:02 dev %s", BN_TAP, BN_TAP);
	return system(cmd) ? -1 : 0;
}

int main(int argc, char **argv)
{
	double pps, fpps, cpu, fcpu, sent, p50, p99;
	struct net_vif_stats st;
	const char *sec = getenv("BENCH_NET_SECONDS");

	if (sec)
		run_s = atof(sec) > 0 ? atof(sec) : 1.0;
	res = fdopen(3, "a");
	if (setup()) {
		fprintf(stderr, "bench_net: setup failed (root and a network namespace needed)\n");
		return 2;
	}
	row("| guest->host UDP, payload | pvnet harness pps | Gbit/s | floor: TAP writer pps | ratio | host CPU ns/pkt pvnet / floor |\n|---|---|---|---|---|---|\n");
	for (unsigned i = 0; i < 2; i++) {
		uint32_t payload = i ? 1472 : 64;

		bench_tx(payload, &pps, &cpu);
		bench_tx_floor(payload, &fpps, &fcpu);
		row("| %u B | %.0f | %.3f | %.0f | %.2f | %.0f / %.0f |\n", payload, pps,
		    pps * (payload + 42) * 8 / 1e9, fpps, fpps > 0 ? pps / fpps : 0, cpu, fcpu);
	}
	row("\n| host->guest UDP, payload | pvnet harness pps (received) | Gbit/s | host sent pps | host CPU ns/pkt |\n|---|---|---|---|---|\n");
	for (unsigned i = 0; i < 2; i++) {
		uint32_t payload = i ? 1472 : 64;

		bench_rx(payload, &pps, &sent, &cpu);
		row("| %u B | %.0f | %.3f | %.0f | %.0f |\n", payload, pps, pps * (payload + 42) * 8 / 1e9,
		    sent, cpu);
	}
	row("\n| round trip from the guest | p50 us | p99 us |\n|---|---|---|\n");
	bench_rtt(false, 2000, &p50, &p99);
	row("| UDP echo (host socket) | %.1f | %.1f |\n", p50, p99);
	bench_rtt(true, 2000, &p50, &p99);
	row("| ICMP echo (host kernel) | %.1f | %.1f |\n", p50, p99);
	net_vif_get_stats(vif.v, &st);
	row("\nnetback: tx %llu pkts, rx %llu pkts, %llu events sent to the guest, %llu wake-ups, %llu malformed.\n",
	    (unsigned long long)st.tx_packets, (unsigned long long)st.rx_packets,
	    (unsigned long long)st.notify_sent, (unsigned long long)st.wakeups,
	    (unsigned long long)st.tx_bad);
	tnet_vif_free(&vif);
	harness_guest_free(g);
	(void)argc;
	(void)argv;
	return 0;
}
