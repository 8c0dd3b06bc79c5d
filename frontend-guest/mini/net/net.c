/* SPDX-License-Identifier: MIT */
/*
 * Ethernet/ARP/IPv4/ICMP/UDP over struct mini_netdev.  Received frames are
 * checked before use: lengths against the frame, header checksums, our
 * address; anything else is counted and dropped.  Replies (ARP, echo) are
 * built from a small header buffer plus pieces of the received frame, which
 * the driver copies before rx_release returns the buffers.
 */
#include "mini/net.h"

#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define IPPROTO_ICMP 1
#define IPPROTO_UDP 17
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8
#define RX_BATCH 32u

static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint32_t rd32n(const uint8_t *p) { uint32_t v; __builtin_memcpy(&v, p, 4); return v; }
static void wr32n(uint8_t *p, uint32_t v) { __builtin_memcpy(p, &v, 4); }

/* Sum of data as 16-bit words in memory order (RFC 1071 is byte-order
 * independent); a piece starting at an odd offset of the message has its
 * bytes swapped.  End-around carry on every add. */
uint32_t mini_csum_add(uint32_t sum, const void *data, uint32_t len, bool odd_offset)
{
	const uint8_t *p = data;
	uint64_t s = 0, w;

	for (; len >= 8; p += 8, len -= 8) {
		__builtin_memcpy(&w, p, 8);
		s += w;
		s += s < w;
	}
	if (len >= 4) {
		uint32_t w4;

		__builtin_memcpy(&w4, p, 4);
		s += w4;
		s += s < w4;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		s += (uint64_t)p[0] | (uint64_t)p[1] << 8;
		p += 2;
		len -= 2;
	}
	if (len)
		s += p[0];
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	if (odd_offset)
		s = __builtin_bswap16((uint16_t)s);
	s += sum;
	return (uint32_t)((s & 0xffffffffu) + (s >> 32));
}

uint16_t mini_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

unsigned mini_net_frame_slice(const struct mini_net_frame *f, uint32_t off, uint32_t len,
			      struct mini_iov *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < f->nr_frags && len && n < max; i++) {
		uint32_t fl = f->frag[i].len, take;

		if (off >= fl) {
			off -= fl;
			continue;
		}
		take = fl - off < len ? fl - off : len;
		out[n++] = (struct mini_iov){ f->frag[i].data + off, take };
		len -= take;
		off = 0;
	}
	return len ? 0 : n;
}

/* Sum over a slice of a frame, each piece at its parity within the message. */
static uint32_t csum_frame(uint32_t sum, const struct mini_net_frame *f, uint32_t off, uint32_t len, bool *ok)
{
	struct mini_iov iov[MINI_NET_MAX_FRAGS];
	unsigned n = mini_net_frame_slice(f, off, len, iov, MINI_NET_MAX_FRAGS);
	uint32_t pos = 0;

	*ok = n || !len;
	for (unsigned i = 0; i < n; i++) {
		sum = mini_csum_add(sum, iov[i].base, iov[i].len, pos & 1);
		pos += iov[i].len;
	}
	return sum;
}

static void arp_learn(struct mini_net *n, uint32_t ip, const uint8_t mac[6], bool insert)
{
	unsigned i;

	for (i = 0; i < MINI_NET_ARP_ENTRIES; i++)
		if (n->arp[i].valid && n->arp[i].ip == ip)
			break;
	if (i == MINI_NET_ARP_ENTRIES) {
		if (!insert)
			return;
		i = n->arp_next++ % MINI_NET_ARP_ENTRIES;
	}
	n->arp[i].ip = ip;
	n->arp[i].valid = true;
	__builtin_memcpy(n->arp[i].mac, mac, 6);
}

static int eth_send(struct mini_net *n, struct mini_iov *iov, unsigned nr)
{
	int rc = n->dev->ops->tx(n->dev, iov, nr);

	if (rc == -1) {         /* ring full: push what is queued and try once more */
		mini_net_flush(n);
		rc = n->dev->ops->tx(n->dev, iov, nr);
	}
	if (rc)
		n->st.tx_full++;
	else
		n->st.tx_frames++;
	return rc;
}

static void eth_header(const struct mini_net *n, uint8_t *h, const uint8_t dst[6], uint16_t type)
{
	__builtin_memcpy(h, dst, 6);
	__builtin_memcpy(h + 6, n->dev->mac, 6);
	wr16(h + 12, type);
}

static int arp_send(struct mini_net *n, uint16_t op, const uint8_t dst_mac[6], uint32_t target_ip,
		    const uint8_t target_mac[6])
{
	uint8_t f[60] = { 0 };    /* padded to the Ethernet minimum */
	struct mini_iov iov = { f, sizeof(f) };

	eth_header(n, f, dst_mac, ETH_P_ARP);
	wr16(f + 14, 1);          /* Ethernet */
	wr16(f + 16, ETH_P_IP);
	f[18] = 6;
	f[19] = 4;
	wr16(f + 20, op);
	__builtin_memcpy(f + 22, n->dev->mac, 6);
	wr32n(f + 28, n->ip);
	__builtin_memcpy(f + 32, target_mac, 6);
	wr32n(f + 38, target_ip);
	return eth_send(n, &iov, 1);
}

static void rx_arp(struct mini_net *n, const uint8_t *p, uint32_t len)
{
	uint32_t sender_ip, target_ip;
	uint16_t op;

	if (len < 14 + 28 || rd16(p + 14) != 1 || rd16(p + 16) != ETH_P_IP || p[18] != 6 || p[19] != 4) {
		n->st.rx_bad_eth++;
		return;
	}
	op = rd16(p + 20);
	sender_ip = rd32n(p + 28);
	target_ip = rd32n(p + 38);
	if (target_ip != n->ip) {
		arp_learn(n, sender_ip, p + 22, false);
		n->st.rx_not_ours++;
		return;
	}
	arp_learn(n, sender_ip, p + 22, true);
	if (op == 1) {
		if (!arp_send(n, 2, p + 22, sender_ip, p + 22))
			n->st.arp_requests_answered++;
		n->reply_queued = true;
	} else if (op == 2) {
		n->st.arp_replies_seen++;
	}
}

/* Fills the 20-byte IPv4 header at h (total = IP header + payload). */
static void ip_header(struct mini_net *n, uint8_t *h, uint32_t dst_ip, uint8_t proto, uint16_t total)
{
	uint16_t c;

	h[0] = 0x45;
	h[1] = 0;
	wr16(h + 2, total);
	wr16(h + 4, n->ip_id++);
	wr16(h + 6, 0x4000);      /* DF: we never fragment */
	h[8] = 64;
	h[9] = proto;
	h[10] = h[11] = 0;
	wr32n(h + 12, n->ip);
	wr32n(h + 16, dst_ip);
	c = (uint16_t)~mini_csum_fold(mini_csum_add(0, h, 20, false));
	__builtin_memcpy(h + 10, &c, 2);
}

static void rx_icmp(struct mini_net *n, const struct mini_net_frame *f, uint32_t off, uint32_t len,
		    uint32_t src_ip, const uint8_t *src_mac)
{
	const uint8_t *icmp = f->frag[0].data + off;
	uint8_t h[14 + 20 + 8];
	struct mini_iov iov[1 + MINI_NET_MAX_FRAGS];
	unsigned nr;
	bool ok;
	uint16_t c;

	if (len < 8 || mini_csum_fold(csum_frame(0, f, off, len, &ok)) != 0xffff || !ok) {
		n->st.rx_bad_icmp++;
		return;
	}
	if (icmp[0] == ICMP_ECHO_REPLY && icmp[1] == 0) {
		struct mini_net_echo e = { src_ip, rd16(icmp + 4), rd16(icmp + 6), len - 8 };

		n->st.echo_replies_seen++;
		if (n->on_echo_reply)
			n->on_echo_reply(n->ctx, &e);
		return;
	}
	if (icmp[0] != ICMP_ECHO_REQUEST || icmp[1] != 0 || !n->echo_reply_enabled)
		return;
	/* The reply: same id, seq and data; type 0; checksum recomputed. */
	nr = mini_net_frame_slice(f, off + 8, len - 8, iov + 1, MINI_NET_MAX_FRAGS);
	if (len > 8 && !nr)
		return;
	eth_header(n, h, src_mac, ETH_P_IP);
	ip_header(n, h + 14, src_ip, IPPROTO_ICMP, (uint16_t)(20 + len));
	__builtin_memcpy(h + 34, icmp, 8);
	h[34] = ICMP_ECHO_REPLY;
	h[36] = h[37] = 0;
	c = (uint16_t)~mini_csum_fold(csum_frame(mini_csum_add(0, h + 34, 8, false), f, off + 8, len - 8, &ok));
	__builtin_memcpy(h + 36, &c, 2);
	iov[0] = (struct mini_iov){ h, sizeof(h) };
	if (!eth_send(n, iov, nr + 1))
		n->st.echo_requests_answered++;
	n->reply_queued = true;
	arp_learn(n, src_ip, src_mac, false);
}

static uint32_t pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	uint8_t ph[12];

	wr32n(ph, src);
	wr32n(ph + 4, dst);
	ph[8] = 0;
	ph[9] = proto;
	wr16(ph + 10, len);
	return mini_csum_add(0, ph, 12, false);
}

static void rx_udp(struct mini_net *n, const struct mini_net_frame *f, uint32_t off, uint32_t len,
		   uint32_t src_ip, const uint8_t *src_mac)
{
	const uint8_t *u = f->frag[0].data + off;
	uint16_t ulen = len >= 8 ? rd16(u + 4) : 0;
	struct mini_net_udp d;
	bool ok = true;

	if (ulen < 8 || ulen > len) {
		n->st.rx_bad_udp++;
		return;
	}
	if (rd16(u + 6) == 0) {
		n->st.rx_udp_no_csum++;
	} else if (f->flags & MINI_NET_RXF_CSUM_BLANK) {
		n->st.rx_udp_csum_blank++;
	} else if (mini_csum_fold(csum_frame(pseudo_sum(src_ip, n->ip, IPPROTO_UDP, ulen), f, off, ulen, &ok))
		   != 0xffff || !ok) {
		n->st.rx_bad_udp_csum++;
		return;
	}
	n->st.rx_udp++;
	if (!n->on_udp)
		return;
	d = (struct mini_net_udp){ .net = n, .frame = f, .src_ip = src_ip, .src_port = rd16(u),
				   .dst_port = rd16(u + 2), .payload_off = off + 8, .len = ulen - 8u };
	__builtin_memcpy(d.src_mac, src_mac, 6);
	n->on_udp(n->ctx, &d);
}

static void rx_ip(struct mini_net *n, const struct mini_net_frame *f)
{
	const uint8_t *p = f->frag[0].data, *ip = p + 14;
	uint32_t ihl, total, dst;

	n->st.rx_ip++;
	if (f->frag[0].len < 14 + 20 || (ip[0] >> 4) != 4 || (ihl = (ip[0] & 15u) * 4) < 20 ||
	    f->frag[0].len < 14 + ihl + 8 || (total = rd16(ip + 2)) < ihl || total > f->len - 14) {
		n->st.rx_bad_ip++;
		return;
	}
	if (mini_csum_fold(mini_csum_add(0, ip, ihl, false)) != 0xffff) {
		n->st.rx_bad_ip_csum++;
		return;
	}
	dst = rd32n(ip + 16);
	if (dst != n->ip) {
		n->st.rx_not_ours++;
		return;
	}
	if (rd16(ip + 6) & 0x3fff) {     /* MF or a fragment offset */
		n->st.rx_ip_frags++;
		return;
	}
	if (ip[9] == IPPROTO_UDP)
		rx_udp(n, f, 14 + ihl, total - ihl, rd32n(ip + 12), p + 6);
	else if (ip[9] == IPPROTO_ICMP)
		rx_icmp(n, f, 14 + ihl, total - ihl, rd32n(ip + 12), p + 6);
}

unsigned mini_net_poll(struct mini_net *n)
{
	static struct mini_net_frame frames[RX_BATCH];   /* one net per guest */
	unsigned got = n->dev->ops->rx(n->dev, frames, RX_BATCH);

	for (unsigned i = 0; i < got; i++) {
		const struct mini_net_frame *f = &frames[i];
		uint32_t head = f->len < MINI_NET_RX_HEAD ? f->len : MINI_NET_RX_HEAD;
		const uint8_t *p = f->frag[0].data;

		n->st.rx_frames++;
		if (f->len < 14 || !f->nr_frags || f->frag[0].len < head) {
			n->st.rx_bad_eth++;
			continue;
		}
		if (rd16(p + 12) == ETH_P_ARP)
			rx_arp(n, p, f->frag[0].len);
		else if (rd16(p + 12) == ETH_P_IP)
			rx_ip(n, f);
		else
			n->st.rx_not_ours++;
	}
	if (got)
		n->dev->ops->rx_release(n->dev, frames, got);
	if (n->reply_queued)
		mini_net_flush(n);
	return got;
}

unsigned mini_net_flush(struct mini_net *n)
{
	n->reply_queued = false;
	return n->dev->ops->tx_flush(n->dev);
}

static uint32_t next_hop(const struct mini_net *n, uint32_t ip)
{
	return (ip & n->mask) == (n->ip & n->mask) || !n->gw ? ip : n->gw;
}

int mini_net_resolve(struct mini_net *n, uint32_t ip, uint8_t mac[6], uint64_t timeout_ms)
{
	static const uint8_t zero_mac[6];
	uint32_t hop = next_hop(n, ip);
	uint64_t t0 = mini_rdtsc(), last = 0, limit = mini_ns_to_cycles(timeout_ms * 1000000),
		 retry = mini_ns_to_cycles(100000000);

	for (;;) {
		uint64_t now = mini_rdtsc();

		for (unsigned i = 0; i < MINI_NET_ARP_ENTRIES; i++)
			if (n->arp[i].valid && n->arp[i].ip == hop) {
				__builtin_memcpy(mac, n->arp[i].mac, 6);
				return 0;
			}
		if (now - t0 > limit)
			return -1;
		if (!last || now - last > retry) {
			arp_send(n, 1, bcast_mac, hop, zero_mac);
			mini_net_flush(n);
			last = now;
		}
		mini_net_poll(n);
	}
}

int mini_net_udp_send(struct mini_net *n, const uint8_t dst_mac[6], uint32_t dst_ip,
		      uint16_t src_port, uint16_t dst_port, const struct mini_iov *iov, unsigned nr)
{
	uint8_t h[MINI_NET_UDP_HLEN];
	struct mini_iov v[1 + MINI_NET_MAX_FRAGS];
	uint32_t len = 0, sum;
	uint16_t c;

	if (nr > MINI_NET_MAX_FRAGS)
		return -2;
	for (unsigned i = 0; i < nr; i++) {
		v[1 + i] = iov[i];
		len += iov[i].len;
	}
	if (len + 28 > n->mtu)
		return -2;
	eth_header(n, h, dst_mac, ETH_P_IP);
	ip_header(n, h + 14, dst_ip, IPPROTO_UDP, (uint16_t)(len + 28));
	wr16(h + 34, src_port);
	wr16(h + 36, dst_port);
	wr16(h + 38, (uint16_t)(len + 8));
	h[40] = h[41] = 0;
	sum = mini_csum_add(pseudo_sum(n->ip, dst_ip, IPPROTO_UDP, (uint16_t)(len + 8)), h + 34, 8, false);
	for (uint32_t i = 0, pos = 0; i < nr; pos += iov[i].len, i++)
		sum = mini_csum_add(sum, iov[i].base, iov[i].len, pos & 1);
	c = (uint16_t)~mini_csum_fold(sum);
	if (!c)
		c = 0xffff;      /* 0 means "no checksum" in UDP over IPv4 */
	__builtin_memcpy(h + 40, &c, 2);
	v[0] = (struct mini_iov){ h, sizeof(h) };
	return eth_send(n, v, nr + 1);
}

int mini_net_ping_send(struct mini_net *n, const uint8_t dst_mac[6], uint32_t dst_ip,
		       uint16_t id, uint16_t seq, uint32_t data_len)
{
	static uint8_t data[MINI_NET_MAX_MTU];
	uint8_t h[14 + 20 + 8];
	struct mini_iov iov[2] = { { h, sizeof(h) }, { data, data_len } };
	uint16_t c;

	if (data_len + 28 > n->mtu)
		return -2;
	for (uint32_t i = 0; i < data_len; i++)
		data[i] = (uint8_t)(i + seq);
	eth_header(n, h, dst_mac, ETH_P_IP);
	ip_header(n, h + 14, dst_ip, IPPROTO_ICMP, (uint16_t)(28 + data_len));
	h[34] = ICMP_ECHO_REQUEST;
	h[35] = 0;
	wr16(h + 36, 0);
	wr16(h + 38, id);
	wr16(h + 40, seq);
	c = (uint16_t)~mini_csum_fold(mini_csum_add(mini_csum_add(0, h + 34, 8, false), data, data_len, false));
	__builtin_memcpy(h + 36, &c, 2);
	return eth_send(n, iov, data_len ? 2 : 1);
}
