/* SPDX-License-Identifier: MIT */
/*
 * Network protocol between a guest's net frontend (pvnet) and the host's net
 * backend, on two shared rings per queue (ring.h).  Modelled on Xen's
 * io/netif.h; not binary-compatible with it.
 *
 * TX ring (guest -> host packets): the frontend posts a packet as one or more
 * slots: the first netif_tx_request (size = whole packet length), then
 * optional netif_extra_info slots (when NETIF_TXF_EXTRA_INFO), then one
 * netif_tx_request per further fragment (NETIF_TXF_MORE_DATA on every slot but
 * the last).  The backend answers every netif_tx_request with a
 * netif_tx_response carrying its id (extra-info slots get a
 * NETIF_RSP_NULL response), so a packet of n slots yields n responses.
 *
 * RX ring (host -> guest packets): the frontend posts empty granted pages as
 * netif_rx_request; the backend copies a packet into one or more of them and
 * answers each with a netif_rx_response (NETIF_RXF_MORE_DATA on all but the
 * last; NETIF_RXF_EXTRA_INFO when a netif_extra_info slot follows, e.g. GSO).
 *
 * The backend copies each slot out of the ring once, then checks the copy:
 * grant valid for it (writable for RX), offset + size within the page,
 * packet not more than NETIF_MAX_SLOTS_PER_PACKET slots, total length
 * consistent with the fragments and <= NETIF_MAX_PACKET_BYTES, extra types
 * known.  A bad packet is dropped (NETIF_RSP_ERROR); a frontend that keeps
 * sending them may be disconnected.
 */
#ifndef PVKVM_NETIF_H
#define PVKVM_NETIF_H

#include "abi.h"
#include "ring.h"

#define NETIF_PAGE_BYTES 4096u
/* A packet never spans more slots than this (TX and RX). */
#define NETIF_MAX_SLOTS_PER_PACKET 18u
/* Largest packet with GSO (IP datagram limit plus an Ethernet header). */
#define NETIF_MAX_PACKET_BYTES 65549u

/* ---- netif_tx_request.flags ---- */
#define NETIF_TXF_CSUM_BLANK     0x1u /* L4 checksum not filled in: backend/host completes it */
#define NETIF_TXF_DATA_VALIDATED 0x2u /* checksum known good, no need to verify */
#define NETIF_TXF_MORE_DATA      0x4u /* another fragment slot of this packet follows */
#define NETIF_TXF_EXTRA_INFO     0x8u /* a netif_extra_info slot follows (first slot only) */

/* One fragment of a TX packet.  Written by the frontend. */
struct netif_tx_request {
	uint32_t gref;   /* grant of the page holding the data (read-only is enough) */
	uint16_t offset; /* start of the data in the page; offset + fragment
			  * length <= NETIF_PAGE_BYTES (backend checks) */
	uint16_t flags;  /* NETIF_TXF_*; unknown bits: packet dropped */
	uint16_t id;     /* frontend's cookie, echoed in the tx response */
	uint16_t size;   /* first slot: whole packet length; others: this
			  * fragment's length.  First-slot size minus the other
			  * fragments' sizes is the first fragment's length; the
			  * backend checks it is > 0 and fits the page */
};

/* ---- netif_extra_info ---- */
#define NETIF_EXTRA_TYPE_NONE 0u
#define NETIF_EXTRA_TYPE_GSO  1u
#define NETIF_EXTRA_FLAG_MORE 0x1u /* another extra slot follows */

#define NETIF_GSO_TYPE_NONE  0u
#define NETIF_GSO_TYPE_TCPV4 1u
#define NETIF_GSO_TYPE_TCPV6 2u

/* Offload metadata, in a slot of its own after the first TX request (or
 * after an RX response with NETIF_RXF_EXTRA_INFO).  Written by whoever
 * produced the packet; the reader checks type and gso fields. */
struct netif_extra_info {
	uint8_t type;          /* NETIF_EXTRA_TYPE_*; unknown: packet dropped */
	uint8_t flags;         /* NETIF_EXTRA_FLAG_* */
	uint16_t gso_size;     /* GSO: payload bytes per segment (MSS), > 0 */
	uint8_t gso_type;      /* GSO: NETIF_GSO_TYPE_*, advertised by the peer */
	uint8_t reserved0;     /* 0 */
	uint16_t gso_features; /* GSO: 0 (no features defined) */
};

/* Written by the backend for each TX request slot. */
struct netif_tx_response {
	uint16_t id;     /* the request's id */
	int16_t status;  /* NETIF_RSP_* */
};

/* Written by the frontend: an empty page for the backend to fill. */
struct netif_rx_request {
	uint16_t id;       /* frontend's cookie, echoed in the rx response */
	uint16_t reserved; /* 0 */
	uint32_t gref;     /* grant of the page; backend checks it is writable */
};

/* ---- netif_rx_response.flags ---- */
#define NETIF_RXF_DATA_VALIDATED 0x1u /* checksum verified by the host */
#define NETIF_RXF_CSUM_BLANK     0x2u /* L4 checksum not filled in (packet from a local sender) */
#define NETIF_RXF_MORE_DATA      0x4u /* another slot of this packet follows */
#define NETIF_RXF_EXTRA_INFO     0x8u /* a netif_extra_info slot follows */

/* Written by the backend after filling the page of the rx request with the
 * same id.  The frontend checks id names a posted buffer and
 * offset + status <= NETIF_PAGE_BYTES. */
struct netif_rx_response {
	uint16_t id;     /* the rx request's id */
	uint16_t offset; /* start of the data in the page */
	uint16_t flags;  /* NETIF_RXF_* */
	int16_t status;  /* > 0: bytes of data in this slot; <= 0: NETIF_RSP_* */
};

#define NETIF_RSP_DROPPED (-2) /* packet dropped (no buffers, filtered) */
#define NETIF_RSP_ERROR   (-1) /* malformed request */
#define NETIF_RSP_OKAY    0
#define NETIF_RSP_NULL    1    /* answer to an extra-info slot */

/* Ring slots: a TX request slot is either a fragment or an extra; an RX
 * response slot is either a response or an extra. */
union netif_tx_slot {
	struct netif_tx_request req;
	struct netif_extra_info extra;
};

union netif_rx_slot {
	struct netif_rx_response rsp;
	struct netif_extra_info extra;
};

PVKVM_RING_DEFINE(netif_tx, union netif_tx_slot, struct netif_tx_response);
PVKVM_RING_DEFINE(netif_rx, struct netif_rx_request, union netif_rx_slot);

PVKVM_ASSERT_SIZE(struct netif_tx_request, 12);
PVKVM_ASSERT_OFFSET(struct netif_tx_request, gref, 0);
PVKVM_ASSERT_OFFSET(struct netif_tx_request, offset, 4);
PVKVM_ASSERT_OFFSET(struct netif_tx_request, flags, 6);
PVKVM_ASSERT_OFFSET(struct netif_tx_request, id, 8);
PVKVM_ASSERT_OFFSET(struct netif_tx_request, size, 10);
PVKVM_ASSERT_SIZE(struct netif_extra_info, 8);
PVKVM_ASSERT_OFFSET(struct netif_extra_info, flags, 1);
PVKVM_ASSERT_OFFSET(struct netif_extra_info, gso_size, 2);
PVKVM_ASSERT_OFFSET(struct netif_extra_info, gso_type, 4);
PVKVM_ASSERT_OFFSET(struct netif_extra_info, gso_features, 6);
PVKVM_ASSERT_SIZE(struct netif_tx_response, 4);
PVKVM_ASSERT_OFFSET(struct netif_tx_response, status, 2);
PVKVM_ASSERT_SIZE(struct netif_rx_request, 8);
PVKVM_ASSERT_OFFSET(struct netif_rx_request, gref, 4);
PVKVM_ASSERT_SIZE(struct netif_rx_response, 8);
PVKVM_ASSERT_OFFSET(struct netif_rx_response, offset, 2);
PVKVM_ASSERT_OFFSET(struct netif_rx_response, flags, 4);
PVKVM_ASSERT_OFFSET(struct netif_rx_response, status, 6);
PVKVM_ASSERT_SIZE(union netif_tx_slot, 12);
PVKVM_ASSERT_SIZE(union netif_rx_slot, 8);
PVKVM_ASSERT_SIZE(union netif_tx_ring_entry, 12);
PVKVM_ASSERT_SIZE(union netif_rx_ring_entry, 8);

/*
 * Store keys.  B: written by the backend, read by the frontend; F: written
 * by the frontend, read by the backend.  Per-queue keys go in queue-<q>/
 * when multi-queue-num-queues > 1.
 */
#define NETIF_KEY_MAC                "mac"                  /* B (toolstack): "aa:bb:cc:dd:ee:ff" */
#define NETIF_KEY_MTU                "mtu"                  /* B: decimal, <= 65535 */
#define NETIF_KEY_FEATURE_SG         "feature-sg"           /* B and F: multi-slot packets */
#define NETIF_KEY_FEATURE_GSO_TCPV4  "feature-gso-tcpv4"    /* B and F */
#define NETIF_KEY_FEATURE_GSO_TCPV6  "feature-gso-tcpv6"    /* B and F */
#define NETIF_KEY_FEATURE_NO_CSUM    "feature-no-csum-offload"   /* F: frontend fills checksums */
#define NETIF_KEY_FEATURE_IPV6_CSUM  "feature-ipv6-csum-offload" /* B and F */
#define NETIF_KEY_FEATURE_RX_COPY    "feature-rx-copy"      /* B: rx by copy (the only mode) */
#define NETIF_KEY_REQUEST_RX_COPY    "request-rx-copy"      /* F: "1" */
#define NETIF_KEY_FEATURE_RX_NOTIFY  "feature-rx-notify"    /* F: it notifies after posting rx buffers */
#define NETIF_KEY_MQ_MAX_QUEUES      "multi-queue-max-queues" /* B: queues offered */
#define NETIF_KEY_MQ_NUM_QUEUES      "multi-queue-num-queues" /* F: queues used */
#define NETIF_KEY_QUEUE_FMT          "queue-%u"             /* F: per-queue subdirectory */
#define NETIF_KEY_TX_RING_REF        "tx-ring-ref"          /* F: grant of the tx ring page */
#define NETIF_KEY_RX_RING_REF        "rx-ring-ref"          /* F: grant of the rx ring page */
#define NETIF_KEY_EVENT_CHANNEL      "event-channel"        /* F: one port for tx and rx */
#define NETIF_KEY_EVENT_CHANNEL_TX   "event-channel-tx"     /* F: split: tx port */
#define NETIF_KEY_EVENT_CHANNEL_RX   "event-channel-rx"     /* F: split: rx port */
#define NETIF_KEY_FEATURE_SPLIT_EVTCHN "feature-split-event-channels" /* B */

#endif
