/* SPDX-License-Identifier: MIT */
/* libFuzzer: a hostile frontend's TX slot chains through net_tx_validate(),
 * and packet heads through net_csum_locate() (what netback trusts before it
 * builds a virtio_net_hdr).  Asserts what a validated packet promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union netif_tx_slot slots[NET_TX_CHAIN_MAX + 2];
	struct virtio_net_hdr h;
	struct net_tx_pkt pkt;
	uint32_t max_len, sum = 0;
	unsigned n, gso_ok;

	if (size < 4)
		return 0;
	max_len = 60 + (uint32_t)(data[0] | data[1] << 8) % 9100;
	gso_ok = data[2] & 7;
	n = 1 + data[3] % (NET_TX_CHAIN_MAX + 2);
	data += 4;
	size -= 4;
	if (size < n * sizeof(slots[0])) {
		memset(&h, 0, sizeof(h));
		if (net_csum_locate(data, (uint32_t)size, &h) == 0 &&
		    ((uint32_t)h.csum_start + h.csum_offset + 2 > size || h.hdr_len > size))
			abort();
		return 0;
	}
	memcpy(slots, data, n * sizeof(slots[0]));
	if (net_tx_validate(slots, n, max_len, gso_ok, &pkt))
		return 0;
	if (pkt.nr_frags == 0 || pkt.nr_frags > NETIF_MAX_SLOTS_PER_PACKET)
		abort();
	for (unsigned i = 0; i < pkt.nr_frags; i++) {
		if (pkt.frag[i].len == 0 || (uint32_t)pkt.frag[i].offset + pkt.frag[i].len > NETIF_PAGE_BYTES)
			abort();
		sum += pkt.frag[i].len;
	}
	if (sum != pkt.len || pkt.len > (pkt.gso_type ? NETIF_MAX_PACKET_BYTES : max_len))
		abort();
	if (pkt.gso_type && (!(gso_ok & (1u << pkt.gso_type)) || !pkt.gso_size ||
			     !(pkt.flags & NETIF_TXF_CSUM_BLANK)))
		abort();
	return 0;
}
