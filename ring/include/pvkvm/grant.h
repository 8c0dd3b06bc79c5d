/* SPDX-License-Identifier: MIT */
/* Grant tables: v1-style 8-byte entries in pages the guest allocates and
 * registers with PVKVM_HC_GRANT_SETUP (hypercall.h).
 *
 * Grant reference r lives in registered frame r / PVKVM_GNT_PER_FRAME at index
 * r % PVKVM_GNT_PER_FRAME.  References 0..PVKVM_GNT_RESERVED-1 are reserved
 * (never granted) as in Xen.
 *
 * Lifecycle of an entry, all writes to `flags` atomic:
 *   guest grants:  write frame, then domid, then (release barrier) flags =
 *                  PERMIT_ACCESS [| READONLY].
 *   backend uses:  load the 32-bit word {flags, domid} once, check
 *                  PERMIT_ACCESS, domid == its own, READONLY against the
 *                  access it wants, then compare-and-swap the same word adding
 *                  READING (and WRITING for write access); a failed CAS means
 *                  the guest changed the entry: re-check.  Only after the CAS
 *                  it reads `frame` and checks it is inside guest RAM.
 *                  When done it clears READING/WRITING (atomic AND).
 *   guest revokes: compare-and-swap flags from a value without READING and
 *                  WRITING to 0; while either is set revocation fails with
 *                  -EBUSY (the caller retries later).  After revocation the
 *                  backend can no longer start a new use.
 * The backend never keeps a mapping past the use: it maps the guest's memory
 * once (memfd) and a grant costs the check, not a page-table update. */
#ifndef PVKVM_GRANT_H
#define PVKVM_GRANT_H

#include "abi.h"

#define PVKVM_PAGE_SIZE        4096u
#define PVKVM_PAGE_SHIFT       12u
#define PVKVM_GNT_PER_FRAME    (PVKVM_PAGE_SIZE / 8u) /* 512 */
#define PVKVM_GNT_MAX_FRAMES   64u                  /* 32768 references */
#define PVKVM_GNT_RESERVED     8u

/* flags: bits 0..1 type, then modifiers.  Values follow Xen's GTF_*. */
#define PVKVM_GTF_INVALID        0x0000u
#define PVKVM_GTF_PERMIT_ACCESS  0x0001u
#define PVKVM_GTF_TYPE_MASK      0x0003u
#define PVKVM_GTF_READONLY       0x0004u /* guest: no write access */
#define PVKVM_GTF_READING        0x0008u /* backend: in use (read or write) */
#define PVKVM_GTF_WRITING        0x0010u /* backend: in use for writing */
#define PVKVM_GTF_INUSE          (PVKVM_GTF_READING | PVKVM_GTF_WRITING)

struct pvkvm_grant_entry {
	uint16_t flags; /* guest writes type/READONLY; backend CASes READING/WRITING */
	uint16_t domid; /* guest writes: the domain allowed to use the grant */
	uint32_t frame; /* guest writes: GFN of the granted page */
};
PVKVM_ASSERT_SIZE(struct pvkvm_grant_entry, 8);
PVKVM_ASSERT_OFFSET(struct pvkvm_grant_entry, domid, 2);
PVKVM_ASSERT_OFFSET(struct pvkvm_grant_entry, frame, 4);

#endif
