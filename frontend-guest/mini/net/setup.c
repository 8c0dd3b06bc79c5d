/* SPDX-License-Identifier: MIT */
/* NIC registry (every MINI_NET_DRIVER probed once), address parsing, the
 * command-line setup shared by the network programs, and statistics. */
#include "mini/net.h"

#define MAX_NETDEVS 8

extern const struct mini_net_driver __start_mini_net_drivers[], __stop_mini_net_drivers[];
static struct mini_netdev *netdevs[MAX_NETDEVS];
static unsigned nr_netdevs;
static bool probed;

unsigned mini_net_probe_all(struct mini_netdev ***devs, uint32_t mtu)
{
	if (!probed) {
		for (const struct mini_net_driver *drv = __start_mini_net_drivers;
		     drv < __stop_mini_net_drivers; drv++)
			nr_netdevs += drv->probe(netdevs + nr_netdevs, MAX_NETDEVS - nr_netdevs, mtu);
		probed = true;
	}
	*devs = netdevs;
	return nr_netdevs;
}

int mini_net_parse_ip(const char *s, uint32_t *ip)
{
	uint8_t b[4];

	for (unsigned i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;

		for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
			v = v * 10 + (unsigned)(*s - '0');
		if (!digits || digits > 3 || v > 255 || *s != (i < 3 ? '.' : '\0'))
			return -1;
		b[i] = (uint8_t)v;
		if (i < 3)
			s++;
	}
	__builtin_memcpy(ip, b, 4);
	return 0;
}

const char *mini_net_ip_str(uint32_t ip, char *buf)
{
	const uint8_t *b = (const uint8_t *)&ip;

	snprintf(buf, 16, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
	return buf;
}

static int opt_ip(const char *prog, const char *key, const char *def, uint32_t *ip)
{
	const char *s = mini_opt_str(key, def);

	if (!s) {
		*ip = 0;
		return 0;
	}
	if (mini_net_parse_ip(s, ip)) {
		printf("%s: %s=%s: want a dotted-quad IPv4 address\n", prog, key, s);
		return -1;
	}
	return 0;
}

static struct mini_netdev *pick_device(const char *prog, uint32_t mtu)
{
	struct mini_netdev **devs;
	unsigned n = mini_net_probe_all(&devs, mtu);
	const char *want = mini_opt_str("dev", NULL);

	for (unsigned i = 0; i < n; i++)
		if (!want || !strcmp(devs[i]->name, want))
			return devs[i];
	printf("%s: no network device%s%s found (%u probed)\n", prog, want ? " named " : "",
	       want ? want : "", n);
	return NULL;
}

int mini_net_setup(struct mini_net *n, const char *prog)
{
	uint64_t mtu = mini_opt_u64("mtu", 1500);
	const uint8_t *m;
	char a[16], b[16], c[16];

	memset(n, 0, sizeof(*n));
	n->echo_reply_enabled = true;
	if (!mini_opt_str("ip", NULL)) {
		printf("%s: ip=A.B.C.D is required\n", prog);
		return MINI_EXIT_USAGE;
	}
	if (opt_ip(prog, "ip", NULL, &n->ip) || opt_ip(prog, "mask", "255.255.255.0", &n->mask) ||
	    opt_ip(prog, "gw", NULL, &n->gw))
		return MINI_EXIT_USAGE;
	if (mtu < 68 || mtu > MINI_NET_MAX_MTU) {
		printf("%s: mtu=%lu: want 68..%u\n", prog, (unsigned long)mtu, MINI_NET_MAX_MTU);
		return MINI_EXIT_USAGE;
	}
	n->dev = pick_device(prog, (uint32_t)mtu);
	if (!n->dev)
		return MINI_EXIT_NODEV;
	if (mtu > n->dev->mtu) {
		printf("%s: mtu=%lu: %s carries at most %u\n", prog, (unsigned long)mtu, n->dev->name,
		       n->dev->mtu);
		return MINI_EXIT_USAGE;
	}
	n->mtu = (uint32_t)mtu;
	n->ip_id = (uint16_t)mini_rdtsc();
	m = n->dev->mac;
	printf("%s: %s mac %02x:%02x:%02x:%02x:%02x:%02x ip %s mask %s gw %s mtu %u\n", prog,
	       n->dev->name, m[0], m[1], m[2], m[3], m[4], m[5], mini_net_ip_str(n->ip, a),
	       mini_net_ip_str(n->mask, b), n->gw ? mini_net_ip_str(n->gw, c) : "-", n->mtu);
	return 0;
}

void mini_net_print_stats(const struct mini_net *n, const char *prog)
{
	const struct mini_net_stats *s = &n->st;
	const struct mini_netdev_stats *d = &n->dev->stats;

	printf("%s: net rx frames=%lu ip=%lu udp=%lu not_ours=%lu bad_eth=%lu bad_ip=%lu bad_ip_csum=%lu "
	       "bad_udp=%lu bad_udp_csum=%lu udp_no_csum=%lu udp_csum_blank=%lu bad_icmp=%lu ip_frags=%lu\n", prog,
	       (unsigned long)s->rx_frames, (unsigned long)s->rx_ip, (unsigned long)s->rx_udp,
	       (unsigned long)s->rx_not_ours, (unsigned long)s->rx_bad_eth, (unsigned long)s->rx_bad_ip,
	       (unsigned long)s->rx_bad_ip_csum, (unsigned long)s->rx_bad_udp,
	       (unsigned long)s->rx_bad_udp_csum, (unsigned long)s->rx_udp_no_csum,
	       (unsigned long)s->rx_udp_csum_blank,
	       (unsigned long)s->rx_bad_icmp, (unsigned long)s->rx_ip_frags);
	printf("%s: net arp_answered=%lu arp_replies=%lu echo_answered=%lu echo_replies=%lu tx=%lu tx_full=%lu\n",
	       prog, (unsigned long)s->arp_requests_answered, (unsigned long)s->arp_replies_seen,
	       (unsigned long)s->echo_requests_answered, (unsigned long)s->echo_replies_seen,
	       (unsigned long)s->tx_frames, (unsigned long)s->tx_full);
	printf("%s: dev %s tx frames=%lu bytes=%lu kicks=%lu full=%lu rx frames=%lu bytes=%lu kicks=%lu bad=%lu\n",
	       prog, n->dev->name, (unsigned long)d->tx_frames, (unsigned long)d->tx_bytes,
	       (unsigned long)d->tx_kicks, (unsigned long)d->tx_full, (unsigned long)d->rx_frames,
	       (unsigned long)d->rx_bytes, (unsigned long)d->rx_kicks, (unsigned long)d->rx_bad);
}
