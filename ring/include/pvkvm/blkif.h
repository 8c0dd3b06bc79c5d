/* SPDX-License-Identifier: MIT */
/*
 * Block protocol between a guest's block frontend (pvblk) and the host's
 * block backend, carried on the shared ring of ring.h.  Modelled on Xen's
 * io/blkif.h; not binary-compatible with it.
 *
 * Connection (store keys below): the frontend grants 2^ring-page-order pages
 * per queue, initialises them with ring_shared_init(), and writes ring-ref /
 * ring-ref<N>, event-channel and (multi-queue) the queue-<q>/ subdirectories.
 * The backend maps them as one contiguous ring of blkif_ring_nr_ents(bytes)
 * entries (32 for one page).
 *
 * Units: a sector is always 512 bytes here, whatever "sector-size" says; a
 * page is 4096 bytes, so a segment covers sectors first_sect..last_sect of one
 * granted page (0 <= first_sect <= last_sect <= 7).
 *
 * The frontend writes requests, the backend writes responses.  The backend
 * copies each request out of the ring once (blkif_back_take_req()) and checks
 * the copy: op known and advertised, nr_segments in range, every segment's
 * sectors within the page, every grant valid for it (and writable for a
 * read), sector + length within the disk.  A bad request gets a response with
 * BLKIF_RSP_ERROR or BLKIF_RSP_EOPNOTSUPP, never a crash.
 */
#ifndef PVKVM_BLKIF_H
#define PVKVM_BLKIF_H

#include "abi.h"
#include "ring.h"

/* ---- operations (request.op) ---- */
#define BLKIF_OP_READ         0 /* disk -> segments */
#define BLKIF_OP_WRITE        1 /* segments -> disk */
/* 2 is Xen's obsolete write-barrier: unused. */
#define BLKIF_OP_FLUSH        3 /* make completed writes durable; nr_segments 0 */
/* 4 is reserved (Xen). */
#define BLKIF_OP_DISCARD      5 /* struct blkif_request_discard */
#define BLKIF_OP_INDIRECT     6 /* struct blkif_request_indirect */
#define BLKIF_OP_WRITE_ZEROES 7 /* struct blkif_request_discard layout; reads back as zeroes */

/* ---- request.flags ---- */
/* Write (or indirect write) completes only once its data is durable
 * (backend advertises "feature-fua"; otherwise it answers EOPNOTSUPP). */
#define BLKIF_F_FUA            0x01u
/* Discard: the data must be unrecoverable ("discard-secure"). */
#define BLKIF_F_DISCARD_SECURE 0x02u
/* Write-zeroes: the backend may deallocate the range (punch a hole). */
#define BLKIF_F_ZEROES_UNMAP   0x04u

#define BLKIF_SECTOR_BYTES 512u
#define BLKIF_PAGE_BYTES 4096u
#define BLKIF_SECTORS_PER_PAGE 8u

/* Segments that fit directly in a request: 11 x 4 KiB = 44 KiB. */
#define BLKIF_MAX_SEGMENTS_PER_REQUEST 11u

/* One granted page and the sectors of it the request uses. */
struct blkif_segment {
	uint32_t gref;      /* frontend: grant of the data page; backend: must be
			     * granted to it, and writable for BLKIF_OP_READ */
	uint8_t first_sect; /* first 512-byte sector in the page used, 0..7 */
	uint8_t last_sect;  /* last sector used (inclusive), first_sect..7 */
	uint16_t reserved;  /* frontend writes 0; backend ignores */
};

/* READ, WRITE, FLUSH.  Written by the frontend at ring slot req_prod_pvt. */
struct blkif_request {
	uint8_t op;          /* BLKIF_OP_READ/WRITE/FLUSH */
	uint8_t nr_segments; /* 1..BLKIF_MAX_SEGMENTS_PER_REQUEST for read/write,
			      * 0 for flush; backend rejects anything else */
	uint16_t handle;     /* virtual device, as "virtual-device"; informational */
	uint8_t flags;       /* BLKIF_F_FUA (write only); unknown bits: EOPNOTSUPP */
	uint8_t reserved[3]; /* 0 */
	uint64_t id;         /* frontend's cookie, echoed in the response unchanged */
	uint64_t sector;     /* start, in 512-byte sectors; the segments are
			      * contiguous on disk in order; backend checks the
			      * whole range lies within "sectors" */
	struct blkif_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

/* DISCARD and WRITE_ZEROES: a sector range, no data pages. */
struct blkif_request_discard {
	uint8_t op;          /* BLKIF_OP_DISCARD or BLKIF_OP_WRITE_ZEROES */
	uint8_t reserved0;   /* 0 */
	uint16_t handle;     /* as blkif_request.handle */
	uint8_t flags;       /* BLKIF_F_DISCARD_SECURE / BLKIF_F_ZEROES_UNMAP */
	uint8_t reserved1[3];
	uint64_t id;         /* echoed in the response */
	uint64_t sector;     /* start sector */
	uint64_t nr_sectors; /* length in sectors, >= 1; backend checks
			      * sector + nr_sectors does not overflow nor pass
			      * the disk end */
	uint8_t reserved2[80]; /* pads to the ring entry size; 0 */
};

/*
 * Large I/O: the segments are listed in granted "indirect pages", each an
 * array of BLKIF_SEGS_PER_INDIRECT_PAGE struct blkif_segment, filled in order
 * (segment i is entry i % 512 of page i / 512).  The backend copies the
 * indirect pages once before checking them, like the request itself.
 */
#define BLKIF_SEGS_PER_INDIRECT_PAGE (BLKIF_PAGE_BYTES / 8u) /* 512 */
#define BLKIF_MAX_INDIRECT_PAGES 8u
/* What a backend may advertise as "feature-max-indirect-segments" at most:
 * 256 x 4 KiB = 1 MiB per request (one indirect page). */
#define BLKIF_MAX_INDIRECT_SEGMENTS 256u

struct blkif_request_indirect {
	uint8_t op;           /* BLKIF_OP_INDIRECT */
	uint8_t indirect_op;  /* BLKIF_OP_READ or BLKIF_OP_WRITE */
	uint16_t nr_segments; /* 1..feature-max-indirect-segments */
	uint8_t flags;        /* BLKIF_F_FUA (writes) */
	uint8_t reserved0[3];
	uint64_t id;          /* echoed in the response */
	uint64_t sector;      /* start sector, as blkif_request.sector */
	uint16_t handle;      /* as blkif_request.handle */
	uint16_t reserved1;
	uint32_t reserved2;
	/* Grants of the indirect pages; the first
	 * ceil(nr_segments / 512) are used (read-only is enough). */
	uint32_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES];
	uint8_t reserved3[48];
};

/* What the ring's request slot holds; the backend reads op from its copy
 * and then only the member that op names. */
union blkif_ring_req {
	uint8_t op;
	struct blkif_request rw;
	struct blkif_request_discard discard;
	struct blkif_request_indirect indirect;
};

/* Written by the backend in ring slot rsp_prod_pvt. */
struct blkif_response {
	uint64_t id;        /* the request's id; frontend checks it names a
			     * request it has in flight */
	uint8_t op;         /* the request's op (BLKIF_OP_INDIRECT for indirect) */
	uint8_t reserved0;
	int16_t status;     /* BLKIF_RSP_* */
	uint32_t reserved1;
};

#define BLKIF_RSP_EOPNOTSUPP (-2) /* op or flag not supported/advertised */
#define BLKIF_RSP_ERROR      (-1) /* invalid request or I/O error */
#define BLKIF_RSP_OKAY       0    /* done (and durable if FUA or FLUSH) */

PVKVM_RING_DEFINE(blkif, union blkif_ring_req, struct blkif_response);

PVKVM_ASSERT_SIZE(struct blkif_segment, 8);
PVKVM_ASSERT_OFFSET(struct blkif_segment, gref, 0);
PVKVM_ASSERT_OFFSET(struct blkif_segment, first_sect, 4);
PVKVM_ASSERT_OFFSET(struct blkif_segment, last_sect, 5);
PVKVM_ASSERT_SIZE(struct blkif_request, 112);
PVKVM_ASSERT_OFFSET(struct blkif_request, op, 0);
PVKVM_ASSERT_OFFSET(struct blkif_request, nr_segments, 1);
PVKVM_ASSERT_OFFSET(struct blkif_request, handle, 2);
PVKVM_ASSERT_OFFSET(struct blkif_request, flags, 4);
PVKVM_ASSERT_OFFSET(struct blkif_request, id, 8);
PVKVM_ASSERT_OFFSET(struct blkif_request, sector, 16);
PVKVM_ASSERT_OFFSET(struct blkif_request, seg, 24);
PVKVM_ASSERT_SIZE(struct blkif_request_discard, 112);
PVKVM_ASSERT_OFFSET(struct blkif_request_discard, handle, 2);
PVKVM_ASSERT_OFFSET(struct blkif_request_discard, flags, 4);
PVKVM_ASSERT_OFFSET(struct blkif_request_discard, id, 8);
PVKVM_ASSERT_OFFSET(struct blkif_request_discard, sector, 16);
PVKVM_ASSERT_OFFSET(struct blkif_request_discard, nr_sectors, 24);
PVKVM_ASSERT_SIZE(struct blkif_request_indirect, 112);
PVKVM_ASSERT_OFFSET(struct blkif_request_indirect, indirect_op, 1);
PVKVM_ASSERT_OFFSET(struct blkif_request_indirect, nr_segments, 2);
PVKVM_ASSERT_OFFSET(struct blkif_request_indirect, flags, 4);
PVKVM_ASSERT_OFFSET(struct blkif_request_indirect, id, 8);
PVKVM_ASSERT_OFFSET(struct blkif_request_indirect, sector, 16);
PVKVM_ASSERT_OFFSET(struct blkif_request_indirect, handle, 24);
PVKVM_ASSERT_OFFSET(struct blkif_request_indirect, indirect_grefs, 32);
PVKVM_ASSERT_SIZE(union blkif_ring_req, 112);
PVKVM_ASSERT_SIZE(struct blkif_response, 16);
PVKVM_ASSERT_OFFSET(struct blkif_response, id, 0);
PVKVM_ASSERT_OFFSET(struct blkif_response, op, 8);
PVKVM_ASSERT_OFFSET(struct blkif_response, status, 10);
PVKVM_ASSERT_SIZE(union blkif_ring_entry, 112);
PVKVM_STATIC_ASSERT(BLKIF_MAX_INDIRECT_SEGMENTS * BLKIF_PAGE_BYTES >= 512u * 1024u,
		    "indirect requests carry at least 512 KiB");
PVKVM_STATIC_ASSERT(BLKIF_MAX_INDIRECT_SEGMENTS <=
		    BLKIF_MAX_INDIRECT_PAGES * BLKIF_SEGS_PER_INDIRECT_PAGE,
		    "indirect segments fit the indirect pages");

/*
 * Store keys.  B: written by the backend in its directory, read by the
 * frontend; F: written by the frontend in its directory, read by the backend.
 * Numbers are decimal strings; booleans "0"/"1"; a missing feature key is 0.
 */
#define BLKIF_KEY_SECTORS              "sectors"              /* B: disk size, 512-byte sectors */
#define BLKIF_KEY_SECTOR_SIZE          "sector-size"          /* B: logical block size, bytes */
#define BLKIF_KEY_PHYSICAL_SECTOR_SIZE "physical-sector-size" /* B: optimal I/O granularity */
#define BLKIF_KEY_INFO                 "info"                 /* B: BLKIF_INFO_* bits */
#define BLKIF_KEY_MODE                 "mode"                 /* B/toolstack: "r" or "w" */
#define BLKIF_KEY_PARAMS               "params"               /* toolstack: image path (backend only) */
#define BLKIF_KEY_VIRTUAL_DEVICE       "virtual-device"       /* F: device number, as handle */
#define BLKIF_KEY_FEATURE_FLUSH        "feature-flush-cache"  /* B: BLKIF_OP_FLUSH supported */
#define BLKIF_KEY_FEATURE_FUA          "feature-fua"          /* B: BLKIF_F_FUA honoured */
#define BLKIF_KEY_FEATURE_DISCARD      "feature-discard"      /* B: BLKIF_OP_DISCARD supported */
#define BLKIF_KEY_DISCARD_GRANULARITY  "discard-granularity"  /* B: bytes */
#define BLKIF_KEY_DISCARD_ALIGNMENT    "discard-alignment"    /* B: bytes */
#define BLKIF_KEY_DISCARD_SECURE       "discard-secure"       /* B: BLKIF_F_DISCARD_SECURE honoured */
#define BLKIF_KEY_FEATURE_WRITE_ZEROES "feature-write-zeroes" /* B: BLKIF_OP_WRITE_ZEROES supported */
#define BLKIF_KEY_FEATURE_PERSISTENT   "feature-persistent"   /* B and F: grants may stay mapped */
#define BLKIF_KEY_FEATURE_MAX_INDIRECT "feature-max-indirect-segments" /* B: 0 = no indirect */
#define BLKIF_KEY_MQ_MAX_QUEUES        "multi-queue-max-queues" /* B: queues offered */
#define BLKIF_KEY_MQ_NUM_QUEUES        "multi-queue-num-queues" /* F: queues used, 1..max */
#define BLKIF_KEY_MAX_RING_PAGE_ORDER  "max-ring-page-order"  /* B: <= RING_MAX_PAGE_ORDER */
#define BLKIF_KEY_RING_PAGE_ORDER      "ring-page-order"      /* F: ring is 2^order pages */
#define BLKIF_KEY_RING_REF             "ring-ref"             /* F: grant, order 0 */
#define BLKIF_KEY_RING_REF_FMT         "ring-ref%u"           /* F: grant of page N, order > 0 */
#define BLKIF_KEY_EVENT_CHANNEL        "event-channel"        /* F: port */
#define BLKIF_KEY_QUEUE_FMT            "queue-%u"             /* F: per-queue subdirectory (mq) */
#define BLKIF_KEY_PROTOCOL             "protocol"             /* F: BLKIF_PROTOCOL_NATIVE */
#define BLKIF_PROTOCOL_NATIVE          "x86_64-abi"

/* "info" bits */
#define BLKIF_INFO_CDROM     0x1u
#define BLKIF_INFO_REMOVABLE 0x2u
#define BLKIF_INFO_READONLY  0x4u

#endif
