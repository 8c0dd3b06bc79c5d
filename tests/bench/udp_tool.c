/* SPDX-License-Identifier: MIT */
/*
 * pvkvm-udptool: the host side of the mini-guest's UDP test stream
 * (frontend-guest/mini/include/mini/udp_stream.h): send, receive and verify,
 * echo, and measure round trips, with the same sequence numbers, payload
 * pattern and RESULT lines as the guest programs udpsend/udprecv/udpecho.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mini/udp_stream.h"

#define MAX_DGRAM 65507u
#define BATCH 32u

struct udpt_opts {
	const char *mode;
	struct sockaddr_in dst;
	unsigned port, sport, size, batch;
	unsigned long long count, rate, interval_us;
	double time_s;
	unsigned idle_ms, timeout_ms;
	int loss_ok, size_given;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pvkvm-udptool MODE [options]\n"
		"The host side of the mini-guest's UDP test stream (sequence numbers, a\n"
		"verifiable payload pattern, FIN datagrams carrying the count sent).\n"
		"Modes:\n"
		"  send   --dst IP [--size N] [--count N] [--time S] [--rate PPS] [--batch N]\n"
		"         send the stream (count and/or time; default 5 s) then 3 FIN datagrams\n"
		"  recv   [--count N] [--time S] [--idle-ms N] [--size N] [--loss-ok]\n"
		"         receive and verify until FIN, count, time (default 10 s) or idle (2000 ms)\n"
		"  echo   [--count N] [--time S]   send every datagram back to its sender\n"
		"  rtt    --dst IP [--size N] [--count N] [--interval-us N] [--timeout-ms N]\n"
		"         one datagram at a time against an echo server; RTT min/p50/p99/max\n"
		"Common: --port P (default %u: the port recv and echo listen on, send and rtt send to);\n"
		"--sport P: source port of send and rtt (default: an ephemeral one).\n"
		"Each mode prints human lines and one 'RESULT prog=host-MODE key=value ...' line.\n"
		"Exit status: 0 ok, 1 verification failed / loss (recv without --loss-ok) / no echo,\n"
		"2 bad usage or socket error.\n", PVUS_DEFAULT_PORT);
}

static int parse_opts(int argc, char **argv, struct udpt_opts *o)
{
	static const struct option lo[] = {
		{ "dst", 1, 0, 'd' }, { "port", 1, 0, 'p' }, { "sport", 1, 0, 'S' }, { "size", 1, 0, 's' }, { "count", 1, 0, 'c' },
		{ "time", 1, 0, 't' }, { "rate", 1, 0, 'r' }, { "batch", 1, 0, 'b' }, { "idle-ms", 1, 0, 'i' },
		{ "interval-us", 1, 0, 'I' }, { "timeout-ms", 1, 0, 'T' }, { "loss-ok", 0, 0, 'l' },
		{ "help", 0, 0, 'h' }, { 0, 0, 0, 0 } };
	int c;

	*o = (struct udpt_opts){ .port = PVUS_DEFAULT_PORT, .size = 64, .batch = BATCH, .idle_ms = 2000,
				 .timeout_ms = 1000, .time_s = -1 };
	o->dst.sin_family = AF_INET;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': if (inet_pton(AF_INET, optarg, &o->dst.sin_addr) != 1) return -1; break;
		case 'p': o->port = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'S': o->sport = (unsigned)strtoul(optarg, NULL, 0); break;
		case 's': o->size = (unsigned)strtoul(optarg, NULL, 0); o->size_given = 1; break;
		case 'c': o->count = strtoull(optarg, NULL, 0); break;
		case 't': o->time_s = strtod(optarg, NULL); break;
		case 'r': o->rate = strtoull(optarg, NULL, 0); break;
		case 'b': o->batch = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'i': o->idle_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'I': o->interval_us = strtoull(optarg, NULL, 0); break;
		case 'T': o->timeout_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'l': o->loss_ok = 1; break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind + 1 != argc)
		return -1;
	o->mode = argv[optind];
	o->dst.sin_port = htons((uint16_t)o->port);
	if (!o->port || o->port > 65535 || o->sport > 65535 || o->size < PVUS_HDR_BYTES || o->size > MAX_DGRAM ||
	    !o->batch || o->batch > BATCH)
		return -1;
	return 0;
}

/* A UDP socket bound to port (0: an ephemeral one).  No SO_REUSEADDR: two
 * sockets on one port would take each other's datagrams. */
static int udp_socket(unsigned port, int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));   /* ENOBUFS instead of silent drops */
	if (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void fmt_gbps(char *buf, size_t n, uint64_t bytes, uint64_t ns)
{
	snprintf(buf, n, "%.3f", ns ? (double)bytes * 8 / (double)ns : 0.0);
}

/* ---- send ---- */

static int send_batch(int fd, const struct udpt_opts *o, uint8_t (*bufs)[MAX_DGRAM], unsigned n)
{
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	int sent;

	for (unsigned i = 0; i < n; i++) {
		iov[i] = (struct iovec){ bufs[i], o->size };
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = (void *)&o->dst, .msg_namelen = sizeof(o->dst),
						      .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	do
		sent = sendmmsg(fd, m, n, 0);
	while (sent < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR || errno == ECONNREFUSED));
	return sent;
}

static int mode_send(const struct udpt_opts *o)
{
	static uint8_t bufs[BATCH][MAX_DGRAM];
	double t = o->time_s >= 0 ? o->time_s : o->count ? 0 : 5;
	uint64_t t0 = now_ns(), end = t > 0 ? t0 + (uint64_t)(t * 1e9) : UINT64_MAX, seq = 0, now = t0;
	uint64_t period = o->rate ? 1000000000ull / o->rate : 0;
	int fd = udp_socket(o->sport, 0);
	char g[32];

	if (fd < 0 || !o->dst.sin_addr.s_addr) {
		fprintf(stderr, "pvkvm-udptool: send needs --dst and a free source port %u: %s\n", o->sport,
			strerror(errno));
		return 2;
	}
	while ((!o->count || seq < o->count) && now < end) {
		unsigned n = o->batch;
		int sent;

		if (o->count && o->count - seq < n)
			n = (unsigned)(o->count - seq);
		if (period) {
			n = 1;
			while ((now = now_ns()) < t0 + seq * period)
				;
		}
		for (unsigned i = 0; i < n; i++)
			pvus_fill(bufs[i], o->size, seq + i, now, 0);
		sent = send_batch(fd, o, bufs, n);
		if (sent < 0) {
			fprintf(stderr, "pvkvm-udptool: sendmmsg: %s\n", strerror(errno));
			return 2;
		}
		seq += (unsigned)sent;
		now = now_ns();
	}
	now = now_ns() - t0;
	for (int i = 0; i < 3; i++) {
		pvus_fill(bufs[0], PVUS_HDR_BYTES, seq, 0, PVUS_FIN);
		sendto(fd, bufs[0], PVUS_HDR_BYTES, 0, (const struct sockaddr *)&o->dst, sizeof(o->dst));
		usleep(2000);
	}
	fmt_gbps(g, sizeof(g), seq * o->size, now);
	printf("host-send: sent=%llu in %llu ms: %llu pps, %s Gbit/s payload\n", (unsigned long long)seq,
	       (unsigned long long)(now / 1000000), (unsigned long long)(now ? seq * 1000000000ull / now : 0), g);
	printf("RESULT prog=host-send size=%u sent=%llu runtime_ms=%llu pps=%llu gbps=%s\n", o->size,
	       (unsigned long long)seq, (unsigned long long)(now / 1000000),
	       (unsigned long long)(now ? seq * 1000000000ull / now : 0), g);
	close(fd);
	return 0;
}

/* ---- recv ---- */

struct udpt_recv {
	uint8_t *seen;
	uint64_t seen_bytes;
	uint64_t received, unique, dups, reordered, corrupt, bytes, next_seq, fin_total;
	uint64_t t_first, t_last;
	int have_fin;
};

static int mark_seen(struct udpt_recv *r, uint64_t seq)
{
	if (seq / 8 >= r->seen_bytes) {
		uint64_t nb = (seq / 8 + 1) * 2;
		uint8_t *p;

		if (nb > (1ull << 30) || !(p = realloc(r->seen, nb)))
			return 0;           /* absurd seq: treat as new, cannot track */
		memset(p + r->seen_bytes, 0, nb - r->seen_bytes);
		r->seen = p;
		r->seen_bytes = nb;
	}
	if (r->seen[seq / 8] & (1u << (seq % 8)))
		return 1;
	r->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
	return 0;
}

static void recv_one(struct udpt_recv *r, const uint8_t *p, size_t len, unsigned want_size, uint64_t t)
{
	struct pvus_hdr h;

	r->received++;
	r->t_last = t;
	if (len < PVUS_HDR_BYTES || (memcpy(&h, p, sizeof(h)), h.magic != PVUS_MAGIC) ||
	    (h.flags & ~PVUS_FIN) || h.reserved || ((h.flags & PVUS_FIN) && len != PVUS_HDR_BYTES)) {
		r->corrupt++;
		return;
	}
	if (h.flags & PVUS_FIN) {
		r->have_fin = 1;
		r->fin_total = h.seq;
		return;
	}
	if ((want_size && len != want_size) ||
	    !pvus_check(p + PVUS_HDR_BYTES, PVUS_HDR_BYTES, (uint32_t)(len - PVUS_HDR_BYTES), h.seq)) {
		if (r->corrupt++ < 5)
			fprintf(stderr, "host-recv: datagram seq %llu (%zu bytes) fails verification\n",
				(unsigned long long)h.seq, len);
		return;
	}
	if (!r->unique)
		r->t_first = t;
	if (mark_seen(r, h.seq)) {
		r->dups++;
		return;
	}
	if (h.seq < r->next_seq)
		r->reordered++;
	else
		r->next_seq = h.seq + 1;
	r->unique++;
	r->bytes += len;
}

static int recv_report(const struct udpt_opts *o, const struct udpt_recv *r)
{
	uint64_t ns = r->unique > 1 ? r->t_last - r->t_first : 0;
	uint64_t total = r->have_fin ? r->fin_total : o->count ? o->count : r->next_seq;
	uint64_t lost = total > r->unique ? total - r->unique : 0, pps = ns ? r->unique * 1000000000ull / ns : 0;
	char g[32];

	fmt_gbps(g, sizeof(g), r->bytes, ns);
	printf("host-recv: received=%llu unique=%llu of %llu%s lost=%llu dups=%llu reordered=%llu corrupt=%llu\n",
	       (unsigned long long)r->received, (unsigned long long)r->unique, (unsigned long long)total,
	       r->have_fin ? " (sender's count)" : "", (unsigned long long)lost, (unsigned long long)r->dups,
	       (unsigned long long)r->reordered, (unsigned long long)r->corrupt);
	printf("host-recv: %llu pps, %s Gbit/s payload over %llu ms\n", (unsigned long long)pps, g,
	       (unsigned long long)(ns / 1000000));
	printf("RESULT prog=host-recv received=%llu unique=%llu sent=%llu lost=%llu dups=%llu reordered=%llu "
	       "corrupt=%llu bytes=%llu runtime_ms=%llu pps=%llu gbps=%s fin=%d\n",
	       (unsigned long long)r->received, (unsigned long long)r->unique, (unsigned long long)total,
	       (unsigned long long)lost, (unsigned long long)r->dups, (unsigned long long)r->reordered,
	       (unsigned long long)r->corrupt, (unsigned long long)r->bytes, (unsigned long long)(ns / 1000000),
	       (unsigned long long)pps, g, r->have_fin);
	return r->corrupt || !r->unique || (!o->loss_ok && (lost || r->reordered || r->dups)) ? 1 : 0;
}

static int mode_recv(const struct udpt_opts *o)
{
	static uint8_t bufs[BATCH][MAX_DGRAM];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	struct udpt_recv r = { 0 };
	double t = o->time_s >= 0 ? o->time_s : 10;
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(t * 1e9);
	int fd = udp_socket(o->port, 32 << 20), rc;

	if (fd < 0) {
		fprintf(stderr, "pvkvm-udptool: recv: port %u: %s\n", o->port, strerror(errno));
		return 2;
	}
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int n;
		uint64_t now;

		for (unsigned i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], MAX_DGRAM };
			m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		n = poll(&pfd, 1, 50) > 0 ? recvmmsg(fd, m, BATCH, MSG_DONTWAIT, NULL) : 0;
		now = now_ns();
		for (int i = 0; i < n; i++)
			recv_one(&r, bufs[i], m[i].msg_len, o->size_given ? o->size : 0, now);
		if (r.have_fin || (o->count && r.unique >= o->count) || now > end ||
		    (r.received && now - r.t_last > (uint64_t)o->idle_ms * 1000000))
			break;
	}
	rc = recv_report(o, &r);
	free(r.seen);
	close(fd);
	return rc;
}

/* ---- echo ---- */

static int mode_echo(const struct udpt_opts *o)
{
	static uint8_t bufs[BATCH][MAX_DGRAM];
	struct sockaddr_in from[BATCH];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	double t = o->time_s >= 0 ? o->time_s : 10;
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(t * 1e9), echoed = 0;
	int fd = udp_socket(o->port, 8 << 20);

	if (fd < 0) {
		fprintf(stderr, "pvkvm-udptool: echo: port %u: %s\n", o->port, strerror(errno));
		return 2;
	}
	while (now_ns() < end && (!o->count || echoed < o->count)) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int n;

		for (unsigned i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], MAX_DGRAM };
			m[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
							      .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		n = poll(&pfd, 1, 50) > 0 ? recvmmsg(fd, m, BATCH, MSG_DONTWAIT, NULL) : 0;
		for (int i = 0; i < n; i++)
			iov[i].iov_len = m[i].msg_len;
		if (n > 0 && sendmmsg(fd, m, (unsigned)n, 0) > 0)
			echoed += (unsigned)n;
	}
	printf("RESULT prog=host-echo echoed=%llu\n", (unsigned long long)echoed);
	close(fd);
	return 0;
}

/* ---- rtt ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sends seq and waits for its echo; the RTT in ns, 0 on timeout, -1 on a bad echo. */
static int64_t rtt_one(int fd, const struct udpt_opts *o, uint8_t *buf, uint8_t *rbuf, uint64_t seq)
{
	uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)o->timeout_ms * 1000000;
	struct pvus_hdr h;

	pvus_fill(buf, o->size, seq, t0, 0);
	if (sendto(fd, buf, o->size, 0, (const struct sockaddr *)&o->dst, sizeof(o->dst)) != (ssize_t)o->size)
		return 0;
	for (uint64_t now = t0; now < deadline; now = now_ns()) {
		ssize_t n = recv(fd, rbuf, MAX_DGRAM, MSG_DONTWAIT);

		if (n < 0)
			continue;     /* busy-poll: a sleeping receiver adds wake-up latency */
		if (n < (ssize_t)PVUS_HDR_BYTES)
			return -1;
		memcpy(&h, rbuf, sizeof(h));
		if (h.magic != PVUS_MAGIC || h.seq > seq)
			return -1;
		if (h.seq < seq)
			continue;     /* a late echo of an earlier timeout */
		if ((size_t)n != o->size || memcmp(buf, rbuf, o->size))
			return -1;
		return (int64_t)(now_ns() - t0);
	}
	return 0;
}

static int mode_rtt(const struct udpt_opts *o)
{
	static uint8_t buf[MAX_DGRAM], rbuf[MAX_DGRAM];
	unsigned long long count = o->count ? o->count : 1000, got = 0, bad = 0;
	uint64_t *rtt = calloc(count, sizeof(*rtt));
	int fd = udp_socket(o->sport, 0);

	if (fd < 0 || !rtt || !o->dst.sin_addr.s_addr) {
		fprintf(stderr, "pvkvm-udptool: rtt needs --dst and a free source port %u\n", o->sport);
		free(rtt);
		return 2;
	}
	for (unsigned long long i = 0; i < count; i++) {
		int64_t ns = rtt_one(fd, o, buf, rbuf, i);

		if (ns > 0)
			rtt[got++] = (uint64_t)ns;
		else if (ns < 0)
			bad++;
		if (o->interval_us)
			usleep((useconds_t)o->interval_us);
	}
	qsort(rtt, got, sizeof(*rtt), cmp_u64);
	printf("host-rtt: %llu of %llu echoed, %llu bad; rtt(us) min=%.1f p50=%.1f p99=%.1f max=%.1f\n", got, count,
	       bad, got ? rtt[0] / 1e3 : 0, got ? rtt[(got - 1) / 2] / 1e3 : 0,
	       got ? rtt[(got * 99 + 99) / 100 - 1] / 1e3 : 0, got ? rtt[got - 1] / 1e3 : 0);
	printf("RESULT prog=host-rtt size=%u sent=%llu received=%llu bad=%llu rtt_min_ns=%llu rtt_p50_ns=%llu "
	       "rtt_p99_ns=%llu rtt_max_ns=%llu\n", o->size, count, got, bad,
	       (unsigned long long)(got ? rtt[0] : 0), (unsigned long long)(got ? rtt[(got - 1) / 2] : 0),
	       (unsigned long long)(got ? rtt[(got * 99 + 99) / 100 - 1] : 0),
	       (unsigned long long)(got ? rtt[got - 1] : 0));
	free(rtt);
	close(fd);
	return got == count && !bad ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct udpt_opts o;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_opts(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(o.mode, "send"))
		return mode_send(&o);
	if (!strcmp(o.mode, "recv"))
		return mode_recv(&o);
	if (!strcmp(o.mode, "echo"))
		return mode_echo(&o);
	if (!strcmp(o.mode, "rtt"))
		return mode_rtt(&o);
	fprintf(stderr, "pvkvm-udptool: unknown mode '%s'\n", o.mode);
	usage(stderr);
	return 2;
}
