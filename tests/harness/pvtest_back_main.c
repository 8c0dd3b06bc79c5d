/* SPDX-License-Identifier: MIT */
/* pvkvm-testback: the host test backend for the mini-guest's platform
 * self-test (frontend-guest/core/tests/pvtest_front.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pvtest_back.h"
#include "store_dom.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pvkvm-testback --ctl PATH --domid N [--store PATH] [--dev N] [--timeout-ms N] [--create]\n"
		"                      [--spin-us N] [--stats]\n"
		"\n"
		"Serves the pvtest device of a running guest for its platform self-test:\n"
		"checks the grants the guest publishes (read-write, read-only, granted to\n"
		"another domain, revoked, outside guest RAM), holds one while the guest tries\n"
		"to revoke it, ping-pongs the event channel, and runs the backend half of the\n"
		"XenbusState handshake.  The toolstack must have created the device\n"
		"(device/pvtest/<dev> of the guest, backend/pvtest/<domid>/<dev>).\n"
		"\n"
		"  --ctl PATH        the guest's control socket (<run dir>/<name>.ctl)\n"
		"  --domid N         the guest's domain id\n"
		"  --store PATH      the store socket (default: <run dir>/store.sock)\n"
		"  --dev N           device id (default 0)\n"
		"  --timeout-ms N    give up when the guest is silent this long (default 10000)\n"
		"  --create          create the device in the store first (as the toolstack would)\n"
		"  --spin-us N       ping-pong: poll this long before sleeping (default 0)\n"
		"  --stats           print the ping-pong's round-trip p50/p99 and rate\n"
		"\n"
		"Exit status: 0 the self-test passed, 1 usage, 2 it failed (reason on stderr).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ctl", required_argument, NULL, 'c' }, { "domid", required_argument, NULL, 'd' },
		{ "store", required_argument, NULL, 's' }, { "dev", required_argument, NULL, 'n' },
		{ "timeout-ms", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
		{ "create", no_argument, NULL, 'C' }, { "spin-us", required_argument, NULL, 'S' },
		{ "stats", no_argument, NULL, 'T' },
		{ 0 },
	};
	const char *ctl = NULL, *store = NULL;
	long domid = -1, dev = 0, timeout_ms = 10000, spin_us = 0;
	struct pvtest_back_stats st = { 0 };
	char why[256];
	bool create = false, stats = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': ctl = optarg; break;
		case 's': store = optarg; break;
		case 'd': domid = strtol(optarg, NULL, 10); break;
		case 'n': dev = strtol(optarg, NULL, 10); break;
		case 't': timeout_ms = strtol(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		case 'C': create = true; break;
		case 'S': spin_us = strtol(optarg, NULL, 10); break;
		case 'T': stats = true; break;
		default: usage(stderr); return 1;
		}
	}
	if (!ctl || domid <= 0 || domid >= 0x7ff0 || dev < 0 || timeout_ms <= 0 || spin_us < 0 ||
	    spin_us > 1000000) {
		usage(stderr);
		return 1;
	}
	if (create && (err = pv_store_add_device(store, (uint16_t)domid, "pvtest", (uint32_t)dev,
						  NULL, NULL, 0))) {
		fprintf(stderr, "pvkvm-testback: creating pvtest/%ld in the store: %s\n", dev,
			strerror(-err));
		return 2;
	}
	struct pvtest_back_opts o = { .timeout_ms = (int)timeout_ms, .spin_us = (int)spin_us };

	if (pvtest_back_run_opts(store, ctl, (uint16_t)domid, (uint32_t)dev, &o, stats ? &st : NULL, why,
				 sizeof(why))) {
		fprintf(stderr, "pvkvm-testback: %s\n", why);
		return 2;
	}
	if (stats && st.rounds)
		printf("pvkvm-testback: ping-pong: %llu round trips p50 %.2f us p99 %.2f us %.0f round trips/s\n",
		       (unsigned long long)st.rounds, st.p50_us, st.p99_us, st.per_sec);
	printf("pvkvm-testback: self-test of domain %ld passed\n", domid);
	return 0;
}
