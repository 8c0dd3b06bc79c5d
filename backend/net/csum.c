/* SPDX-License-Identifier: MIT */
/* Where the L4 checksum of a CSUM_BLANK packet lives.  netif carries only a
 * flag (Xen's rule); the TAP's virtio_net_hdr wants csum_start/csum_offset,
 * so the backend walks Ethernet (+802.1Q) and IPv4/IPv6 to TCP or UDP, the
 * way Xen's netback does with skb_checksum_setup().  Input is a private
 * copy of the packet's first bytes. */
#include <errno.h>

#include "net_int.h"

#define NET_ETHERTYPE_IPV4 0x0800u
#define NET_ETHERTYPE_IPV6 0x86ddu
#define NET_ETHERTYPE_VLAN 0x8100u
#define IPPROTO_TCP_ 6u
#define IPPROTO_UDP_ 17u

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int net_csum_locate(const uint8_t *p, uint32_t len, struct virtio_net_hdr *h)
{
	uint32_t l3 = NET_ETH_HLEN, l4;
	uint16_t proto;
	uint8_t ipproto;

	if (len < NET_ETH_HLEN)
		return -EINVAL;
	proto = be16(p + 12);
	if (proto == NET_ETHERTYPE_VLAN) {
		if (len < l3 + NET_VLAN_HLEN)
			return -EINVAL;
		proto = be16(p + 16);
		l3 += NET_VLAN_HLEN;
	}
	if (proto == NET_ETHERTYPE_IPV4) {
		if (len < l3 + 20 || (p[l3] >> 4) != 4 || (p[l3] & 0xf) < 5)
			return -EINVAL;
		/* A fragment has no whole L4 header to complete. */
		if (be16(p + l3 + 6) & 0x3fff)
			return -EINVAL;
		l4 = l3 + (uint32_t)(p[l3] & 0xf) * 4;
		ipproto = p[l3 + 9];
	} else if (proto == NET_ETHERTYPE_IPV6) {
		if (len < l3 + 40 || (p[l3] >> 4) != 6)
			return -EINVAL;
		l4 = l3 + 40;
		ipproto = p[l3 + 6];
	} else {
		return -EINVAL;
	}
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = (uint16_t)l4;
	if (ipproto == IPPROTO_TCP_) {
		/* The whole TCP header (options too) must be in what we parsed. */
		if (len < l4 + 20 || (p[l4 + 12] >> 4) < 5 || len < l4 + (uint32_t)(p[l4 + 12] >> 4) * 4)
			return -EINVAL;
		h->csum_offset = 16;
		h->hdr_len = (uint16_t)(l4 + (uint32_t)(p[l4 + 12] >> 4) * 4);
	} else if (ipproto == IPPROTO_UDP_) {
		if (len < l4 + 8)
			return -EINVAL;
		h->csum_offset = 6;
		h->hdr_len = (uint16_t)(l4 + 8);
	} else {
		return -EINVAL;
	}
	return 0;
}
