/* SPDX-License-Identifier: MIT */
/*
 * The UDP test stream shared by the mini-guest's programs (progs/netudp.c)
 * and the host tool (tests/bench/udp_tool.c).  Self-contained C99 (stdint
 * only) so both environments include it.
 *
 * Every datagram's payload starts with struct pvus_hdr (little-endian), then
 * the pattern: the payload byte at offset j (j >= PVUS_HDR_BYTES) is byte
 * j % 8 of the little-endian word pvus_word(seq, j / 8).  A datagram is
 * good when magic, flags (only PVUS_FIN), reserved (0), length and every
 * pattern byte match; a FIN is exactly PVUS_HDR_BYTES long.  The sender ends a
 * stream with PVUS_FIN datagrams (header only) whose seq is the number of
 * data datagrams sent, so the receiver counts loss exactly.
 */
#ifndef MINI_UDP_STREAM_H
#define MINI_UDP_STREAM_H

#include <stdint.h>
#include <stdbool.h>

#define PVUS_MAGIC 0x31555650u        /* "PVU1" */
#define PVUS_FIN 0x1u                 /* end of stream; seq = data datagrams sent */
#define PVUS_HDR_BYTES 24u
#define PVUS_DEFAULT_PORT 7777u

struct pvus_hdr {
	uint32_t magic;
	uint16_t flags;     /* PVUS_* */
	uint16_t reserved;  /* 0 */
	uint64_t seq;       /* 0, 1, 2, ... per data datagram */
	uint64_t stamp;     /* sender's clock, opaque to others (echo keeps it) */
};
_Static_assert(sizeof(struct pvus_hdr) == PVUS_HDR_BYTES, "pvus_hdr layout");

static inline uint64_t pvus_word(uint64_t seq, uint64_t k)
{
	uint64_t x = seq * 0x9e3779b97f4a7c15ull + k * 0xd1b54a32d192ed03ull + 1;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	return x;
}

static inline uint8_t pvus_byte(uint64_t seq, uint32_t j)
{
	return (uint8_t)(pvus_word(seq, j / 8) >> (8 * (j % 8)));
}

/* Fills a whole payload of size bytes (>= PVUS_HDR_BYTES). */
static inline void pvus_fill(uint8_t *p, uint32_t size, uint64_t seq, uint64_t stamp, uint16_t flags)
{
	struct pvus_hdr h = { PVUS_MAGIC, flags, 0, seq, stamp };
	uint32_t j = PVUS_HDR_BYTES;

	__builtin_memcpy(p, &h, sizeof(h));
	for (; j + 8 <= size; j += 8) {
		uint64_t w = pvus_word(seq, j / 8);

		__builtin_memcpy(p + j, &w, 8);
	}
	for (; j < size; j++)
		p[j] = pvus_byte(seq, j);
}

/* Checks len payload bytes starting at payload offset off (>= PVUS_HDR_BYTES)
 * against the pattern of seq; pieces of one datagram may be checked in any
 * split (received frames may span buffers).  True when all match. */
static inline bool pvus_check(const uint8_t *p, uint32_t off, uint32_t len, uint64_t seq)
{
	uint32_t j = off, end = off + len;

	for (; j < end && j % 8; j++)
		if (p[j - off] != pvus_byte(seq, j))
			return false;
	for (; j + 8 <= end; j += 8) {
		uint64_t w;

		__builtin_memcpy(&w, p + (j - off), 8);
		if (w != pvus_word(seq, j / 8))
			return false;
	}
	for (; j < end; j++)
		if (p[j - off] != pvus_byte(seq, j))
			return false;
	return true;
}

#endif
