/* SPDX-License-Identifier: MIT */
/* pvkvm-netback: serves one vif of a running guest from its own process
 * (the same code `pvkvm run` embeds as a thread). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netback_bus.h"
#include "netfront.h"
#include "pv_log.h"
#include "store_dom.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pvkvm-netback --ctl PATH [--domid N] [--dev N] [--tap NAME] [--mac MAC]\n"
		"                     [--mtu N] [--rate BYTES[k|m|g]] [--queues N] [--store PATH] [--create]\n"
		"\n"
		"Serves network device vif/<dev> of a running guest over a TAP device: packets\n"
		"the guest sends leave through the TAP, packets written to the TAP reach the\n"
		"guest.  The TAP is created (or attached) with IFF_VNET_HDR and IFF_MULTI_QUEUE;\n"
		"its addresses, link state and bridge are the host administrator's business.\n"
		"Runs until SIGTERM/SIGINT (then tells the guest it closes) or until the guest\n"
		"exits.  Killed and restarted, it takes the device over again: the guest's pvnet\n"
		"frontend reconnects.\n"
		"\n"
		"  --ctl PATH     the guest's control socket (<run dir>/<name>.ctl)\n"
		"  --domid N      the guest's domain id (default 1)\n"
		"  --dev N        device id (default 0)\n"
		"  --tap NAME     TAP device (default: the kernel picks pvtap<N>)\n"
		"  --mac MAC      the guest's MAC address (default 52:54:00:00:<domid>:<dev>)\n"
		"  --mtu N        MTU, 68..65535 (default 1500); set on the TAP as well\n"
		"  --rate N       guest->host limit in bytes per second (k, m, g: x1000)\n"
		"  --queues N     queues offered, 1..4 (default 1)\n"
		"  --store PATH   the store socket (default: <run dir>/store.sock)\n"
		"  --create       create the device in the store first (as the toolstack would)\n"
		"  -v             more log output (twice: debug)\n"
		"\n"
		"Exit status: 0 stopped or guest gone, 1 usage error, 2 host problem.\n");
}

static int parse_rate(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': v *= 1000; end++; break;
	case 'm': case 'M': v *= 1000000; end++; break;
	case 'g': case 'G': v *= 1000000000; end++; break;
	}
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct net_back_opts *o, bool *create)
{
	static const struct option opts[] = {
		{ "ctl", required_argument, NULL, 'c' }, { "domid", required_argument, NULL, 'd' },
		{ "dev", required_argument, NULL, 'n' }, { "tap", required_argument, NULL, 't' },
		{ "mac", required_argument, NULL, 'm' }, { "mtu", required_argument, NULL, 'u' },
		{ "rate", required_argument, NULL, 'r' }, { "queues", required_argument, NULL, 'q' },
		{ "store", required_argument, NULL, 's' }, { "create", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	long domid = 1, dev = 0, mtu = 1500, queues = 1;
	bool have_mac = false;
	int c, verbose = 0;

	while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o->ctl_path = optarg; break;
		case 's': o->store_sock = optarg; break;
		case 'd': domid = strtol(optarg, NULL, 10); break;
		case 'n': dev = strtol(optarg, NULL, 10); break;
		case 'u': mtu = strtol(optarg, NULL, 10); break;
		case 'q': queues = strtol(optarg, NULL, 10); break;
		case 't':
			if (strlen(optarg) >= sizeof(o->cfg.tap))
				return -EINVAL;
			snprintf(o->cfg.tap, sizeof(o->cfg.tap), "%s", optarg);
			break;
		case 'm':
			if (netfront_parse_mac(optarg, o->cfg.mac))
				return -EINVAL;
			have_mac = true;
			break;
		case 'r':
			if (parse_rate(optarg, &o->cfg.rate_bytes_per_s))
				return -EINVAL;
			break;
		case 'C': *create = true; break;
		case 'v': verbose++; break;
		case 'h': usage(stdout); exit(0);
		default: return -EINVAL;
		}
	}
	if (!o->ctl_path || domid <= 0 || domid >= 0x7ff0 || dev < 0 || dev > 0xffff ||
	    mtu < (long)NET_MTU_MIN || mtu > (long)NET_MTU_MAX || queues < 1 ||
	    queues > (long)NET_MAX_QUEUES || optind != argc)
		return -EINVAL;
	pv_log_set_level(PV_LOG_WARN + verbose);
	o->domid = (uint16_t)domid;
	o->devid = (uint32_t)dev;
	o->cfg.mtu = (uint32_t)mtu;
	o->cfg.max_queues = (unsigned)queues;
	if (!have_mac)
		memcpy(o->cfg.mac, (uint8_t[]){ 0x52, 0x54, 0, 0, (uint8_t)domid, (uint8_t)dev }, 6);
	return 0;
}

static void print_stats(struct net_back *nb)
{
	struct net_vif_stats st;

	net_vif_get_stats(net_back_vif(nb), &st);
	fprintf(stderr,
		"pvkvm-netback: %s: tx %llu packets %llu bytes, %llu dropped, %llu malformed; "
		"rx %llu packets %llu bytes, %llu bad rx grants\n",
		net_vif_ifname(net_back_vif(nb)), (unsigned long long)st.tx_packets,
		(unsigned long long)st.tx_bytes, (unsigned long long)st.tx_dropped,
		(unsigned long long)st.tx_bad, (unsigned long long)st.rx_packets,
		(unsigned long long)st.rx_bytes, (unsigned long long)st.rx_bad_grant);
}

int main(int argc, char **argv)
{
	struct net_back_opts o = { 0 };
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	struct net_back *nb;
	bool create = false;
	sigset_t set;
	int err, sig = -1;

	if (parse_args(argc, argv, &o, &create)) {
		usage(stderr);
		return 1;
	}
	if (create && (err = pv_store_add_device(o.store_sock, o.domid, "vif", o.devid, NULL, NULL, 0))) {
		fprintf(stderr, "pvkvm-netback: creating vif/%u of domain %u in the store: %s\n",
			o.devid, o.domid, strerror(-err));
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((err = net_back_start(&nb, &o))) {
		fprintf(stderr, "pvkvm-netback: %s: %s\n", o.ctl_path, strerror(-err));
		return 2;
	}
	pv_log_info("netback", "serving vif/%u of domain %u on %s", o.devid, o.domid,
		    net_vif_ifname(net_back_vif(nb)));
	while (sig < 0 && !net_back_guest_gone(nb)) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig < 0 && errno != EAGAIN && errno != EINTR)
			break;
	}
	print_stats(nb);
	if (net_back_guest_gone(nb))
		net_back_stop(nb);
	else
		net_back_close(nb);
	return 0;
}
