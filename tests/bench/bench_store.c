/* SPDX-License-Identifier: MIT */
/* Store benchmark client: one workload, run with the same client library
 * against any xenstored socket (pvkvm-stored or Xen's oxenstored), printing
 * "RESULT name value" lines that bench_store.sh puts side by side.
 *
 *   bench_store --socket PATH [--phase ops|mem100k|mem1m] [--seconds S]
 *
 * ops: read/write latency (1 client, sync), ops/s for 1 and 16 clients,
 * pipelined reads (one client, 256 in flight), transaction commits/s, watch
 * event latency (write sent -> event received).  memN: populate N nodes
 * (pipelined writes) so the script can read the daemon's RSS. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xs_client.h"

#define KEYS 1000
#define MAXLAT 400000

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(p * (double)(n - 1));
	return v[i];
}

static void report_lat(const char *name, double *lat, size_t n, double secs)
{
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("RESULT %s_p50_us %.2f\n", name, pct(lat, n, 0.50));
	printf("RESULT %s_p99_us %.2f\n", name, pct(lat, n, 0.99));
	printf("RESULT %s_ops %.0f\n", name, (double)n / secs);
	fflush(stdout);
}

static struct xs_client *open_or_die(const char *sock)
{
	struct xs_client *c;
	int rc = xs_client_open(sock, &c);

	if (rc) {
		fprintf(stderr, "bench_store: %s: %s\n", sock, strerror(-rc));
		exit(2);
	}
	xs_client_set_reconnect_ms(c, 0);
	return c;
}

static void key_path(char *buf, size_t size, unsigned i)
{
	snprintf(buf, size, "/bench/k%u", i % KEYS);
}

enum { OP_READ, OP_WRITE, OP_TXN };

struct worker {
	const char *sock;
	int op;
	unsigned id;
	double seconds;
	double *lat;
	size_t n;
};

static int one_op(struct xs_client *c, int op, unsigned i, unsigned id)
{
	char p[64], *v;
	size_t len;
	int rc;

	key_path(p, sizeof(p), i * 7919u + id);
	if (op == OP_READ) {
		rc = xs_read(c, 0, p, &v, &len);
		if (!rc)
			free(v);
		return rc;
	}
	if (op == OP_WRITE)
		return xs_write(c, 0, p, "0123456789abcdef", 16);
	/* A transaction on the worker's own key: read, write, commit. */
	{
		uint32_t tx;

		snprintf(p, sizeof(p), "/bench/tx%u", id);
		rc = xs_transaction_start(c, &tx);
		if (rc)
			return rc;
		if (!xs_read(c, tx, p, &v, &len))
			free(v);
		rc = xs_write(c, tx, p, "v", 1);
		if (rc) {
			xs_transaction_end(c, tx, false);
			return rc;
		}
		rc = xs_transaction_end(c, tx, true);
		return rc == -EAGAIN ? 0 : rc;
	}
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct xs_client *c = open_or_die(w->sock);
	double end = now_us() + w->seconds * 1e6;

	for (unsigned i = 0; w->n < MAXLAT; i++) {
		double t0 = now_us(), t1;

		if (one_op(c, w->op, i, w->id)) {
			fprintf(stderr, "bench_store: op %d failed\n", w->op);
			break;
		}
		t1 = now_us();
		w->lat[w->n++] = t1 - t0;
		if (t1 > end)
			break;
	}
	xs_client_close(c);
	return NULL;
}

static void run_clients(const char *sock, const char *name, int op, unsigned nclients,
			double seconds)
{
	struct worker *w = calloc(nclients, sizeof(*w));
	pthread_t *th = calloc(nclients, sizeof(*th));
	double *all, t0, t1;
	size_t total = 0;

	t0 = now_us();
	for (unsigned i = 0; i < nclients; i++) {
		w[i] = (struct worker){ sock, op, i, seconds, malloc(MAXLAT * sizeof(double)), 0 };
		pthread_create(&th[i], NULL, worker_run, &w[i]);
	}
	for (unsigned i = 0; i < nclients; i++) {
		pthread_join(th[i], NULL);
		total += w[i].n;
	}
	t1 = now_us();
	all = malloc((total + 1) * sizeof(*all));
	for (unsigned i = 0, k = 0; i < nclients; i++) {
		memcpy(all + k, w[i].lat, w[i].n * sizeof(double));
		k += (unsigned)w[i].n;
		free(w[i].lat);
	}
	report_lat(name, all, total, (t1 - t0) / 1e6);
	free(all);
	free(w);
	free(th);
}

/* One client, `window` requests in flight; returns ops/s. */
static double pipelined(struct xs_client *c, uint32_t type, unsigned total, unsigned window,
			const char *prefix, const char *value)
{
	char buf[XENSTORE_PAYLOAD_MAX + 1], req[256];
	struct xsd_sockmsg h;
	unsigned sent = 0, got = 0;
	double t0 = now_us();

	while (got < total) {
		while (sent < total && sent - got < window) {
			int n = snprintf(req, sizeof(req), "%s%u/k%u", prefix, sent / 1000, sent % 1000);
			size_t len = (size_t)n + 1;

			if (value) {
				memcpy(req + len, value, strlen(value));
				len += strlen(value);
			}
			if (xs_client_send(c, type, 0, req, len, NULL))
				return -1;
			sent++;
		}
		if (xs_client_recv(c, &h, buf))
			return -1;
		if (h.type == XS_ERROR) {
			fprintf(stderr, "bench_store: pipelined request failed: %s\n", buf);
			return -1;
		}
		got++;
	}
	return total / ((now_us() - t0) / 1e6);
}

struct watch_state {
	double t1;
	int fired;
};

static void on_event(void *opaque, const char *path, const char *token)
{
	struct watch_state *s = opaque;

	s->t1 = now_us();
	s->fired++;
}

static void watch_latency(const char *sock, unsigned n)
{
	struct xs_client *a = open_or_die(sock), *b = open_or_die(sock);
	struct watch_state s = { 0 };
	double *lat = malloc(n * sizeof(*lat)), t0 = now_us();
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	struct xsd_sockmsg h;

	xs_write(b, 0, "/bench/watched", "", 0);
	xs_watch(a, "/bench/watched", "w", on_event, &s);
	while (xs_client_dispatch(a, 50) > 0)
		;
	for (unsigned i = 0; i < n; i++) {
		double ts = now_us();

		s.fired = 0;
		xs_client_send(b, XS_WRITE, 0, "/bench/watched\0x", 16, NULL);
		xs_client_flush(b);
		while (!s.fired && xs_client_dispatch(a, 1000) >= 0 && now_us() - ts < 1e6)
			;
		if (!s.fired) {
			fprintf(stderr, "bench_store: watch event lost\n");
			exit(2);
		}
		lat[i] = s.t1 - ts;
		xs_client_recv(b, &h, buf);
	}
	report_lat("watch", lat, n, (now_us() - t0) / 1e6);
	free(lat);
	xs_client_close(a);
	xs_client_close(b);
}

static void phase_ops(const char *sock, double secs)
{
	struct xs_client *c = open_or_die(sock);
	char p[64];
	double ops;

	for (unsigned i = 0; i < KEYS; i++) {
		key_path(p, sizeof(p), i);
		xs_write(c, 0, p, "0123456789abcdef", 16);
	}
	for (unsigned i = 0; i < 16; i++) {
		snprintf(p, sizeof(p), "/bench/tx%u", i);
		xs_write(c, 0, p, "v", 1);
	}
	run_clients(sock, "read1", OP_READ, 1, secs);
	run_clients(sock, "write1", OP_WRITE, 1, secs);
	run_clients(sock, "read16", OP_READ, 16, secs);
	run_clients(sock, "write16", OP_WRITE, 16, secs);
	run_clients(sock, "txn1", OP_TXN, 1, secs);
	run_clients(sock, "txn16", OP_TXN, 16, secs);
	/* Pipelined reads of 1000 existing nodes /bench/p0/k0..k999, 200k times. */
	pipelined(c, XS_WRITE, 1000, 256, "/bench/p", "v");
	/* Best of 3 rounds: the host is shared, and a round that lost the CPU
	 * to a neighbour says nothing about the daemon. */
	ops = 0;
	for (int round = 0; round < 3; round++) {
		char buf[XENSTORE_PAYLOAD_MAX + 1], req[64];
		struct xsd_sockmsg h;
		unsigned sent = 0, got = 0, total = 100000;
		double t0 = now_us(), r;

		while (got < total) {
			while (sent < total && sent - got < 256) {
				int n = snprintf(req, sizeof(req), "/bench/p0/k%u", sent % 1000);

				xs_client_send(c, XS_READ, 0, req, (size_t)n + 1, NULL);
				sent++;
			}
			if (xs_client_recv(c, &h, buf) || h.type != XS_READ)
				break;
			got++;
		}
		r = got / ((now_us() - t0) / 1e6);
		if (r > ops)
			ops = r;
	}
	printf("RESULT read_pipelined_ops %.0f\n", ops);
	watch_latency(sock, 5000);
	xs_client_close(c);
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *phase = "ops";
	double secs = 1.0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--socket"))
			sock = argv[i + 1];
		else if (!strcmp(argv[i], "--phase"))
			phase = argv[i + 1];
		else if (!strcmp(argv[i], "--seconds"))
			secs = atof(argv[i + 1]);
	}
	if (!sock) {
		fprintf(stderr, "usage: bench_store --socket PATH [--phase ops|mem100k|mem1m] [--seconds S]\n");
		return 1;
	}
	if (!strcmp(phase, "ops")) {
		phase_ops(sock, secs);
	} else {
		struct xs_client *c = open_or_die(sock);
		unsigned n = !strcmp(phase, "mem1m") ? 1000000 : 100000;
		double ops = pipelined(c, XS_WRITE, n, 256, "/mem/d", "value-12");

		if (ops < 0)
			return 2;
		printf("RESULT populate_%u_ops %.0f\n", n, ops);
		xs_client_close(c);
	}
	return 0;
}
