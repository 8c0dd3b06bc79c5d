/* SPDX-License-Identifier: MIT */
/* pvkvm-blkback: serves a guest's pvblk device (ring/include/pvkvm/blkif.h)
 * from a disk image (backend/blk).  The same code runs as the pvkvm-blkback
 * daemon and as threads inside `pvkvm run`.
 *
 * Threads: blkback_dev_connect() starts one thread per queue; each thread owns
 * its queue's ring, event channel and blk_image (one image handle per queue,
 * so engines are never shared between threads).  Everything else is called
 * from the owner's thread.  The owner also polls pvback_ctl_fd() and calls
 * pvback_ctl_process() (grant-table growth); queue threads call it too when a
 * grant reference is beyond the frames they know. */
#ifndef PVKVM_BLKBACK_H
#define PVKVM_BLKBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "blk.h"
#include "pvkvm/blkif.h"

struct pvback_dom;
struct xs_client;

#define BLKBACK_MAX_QUEUES 8u

struct blkback_disk_opts {
	const char *path;
	enum blk_format format;
	enum blk_engine_kind engine;
	enum blk_cache cache;
	bool readonly;
	bool discard;                 /* discard='unmap': BLKIF_OP_DISCARD punches holes */
	unsigned sector_size;         /* logical sector: 0 = image's, 512 or 4096 */
	unsigned max_queues;          /* offered; 0 = 1; qcow2 is always 1 */
	unsigned max_ring_page_order; /* offered; <= RING_MAX_PAGE_ORDER */
	unsigned max_indirect_segs;   /* offered; 0 = BLKIF_MAX_INDIRECT_SEGMENTS */
	/* Busy-poll the ring and completions this long before sleeping.  Pays
	 * only with a core to spare: on a 2-core host whose guest vCPU polls,
	 * 50 us cut QD32 IOPS from 48k to 20k (bench, 2026-11-26), so 0. */
	unsigned poll_us;
	bool fixed_bufs;              /* io_uring: register guest RAM as a fixed buffer */
};

/* Parses "PATH[,format=raw|qcow2][,io=io_uring|native|threads][,cache=none|writeback]
 * [,readonly][,discard=unmap|ignore][,sector-size=512|4096][,queues=N][,poll-us=N]".
 * Points o->path into spec (modified).  0 or -EINVAL with a message in err. */
int blkback_disk_opts_parse(struct blkback_disk_opts *o, char *spec, char *err, unsigned errlen);

/* What the frontend publishes for one queue. */
struct blkback_queue_cfg {
	uint32_t ring_order;
	uint32_t ring_ref[1u << RING_MAX_PAGE_ORDER];
	uint32_t port;
};

struct blkback_stats {
	uint64_t rd_req, wr_req, flush_req, discard_req, zeroes_req;
	uint64_t rd_bytes, wr_bytes;
	uint64_t errors;       /* requests answered with an error (I/O or invalid) */
	uint64_t invalid;      /* of which refused by validation */
	uint64_t lat_ns_total; /* submit-to-response, all completed requests */
	uint64_t lat_ns_max;
	uint64_t notifies;     /* events sent to the guest */
	uint64_t wakeups;      /* times a queue thread slept and woke up */
	uint64_t cpu_ns;       /* CPU time of the queue threads (sampled) */
};

struct blkback_dev;

/* Opens the image once to learn its geometry (and fail early).  0 or -errno. */
int blkback_dev_open(struct blkback_dev **out, const struct blkback_disk_opts *o);
void blkback_dev_close(struct blkback_dev *d);

uint64_t blkback_dev_sectors(const struct blkback_dev *d);   /* 512-byte units */
unsigned blkback_dev_sector_size(const struct blkback_dev *d);
unsigned blkback_dev_max_queues(const struct blkback_dev *d);
const struct blkback_disk_opts *blkback_dev_opts(const struct blkback_dev *d);

/* Maps the rings (2^ring_order granted pages each, which must be contiguous
 * guest memory), binds the event channels, opens one image handle per queue
 * and starts the queue threads.  Requests the ring holds beyond its rsp_prod
 * are served (a restarted backend picks them up).  0 or -errno
 * (-EINVAL bad configuration, grant errors as pvback_gnt_map). */
int blkback_dev_connect(struct blkback_dev *d, struct pvback_dom *dom,
			const struct blkback_queue_cfg *q, unsigned nr_queues);
/* Stops the threads, waits for requests in flight (their responses are
 * pushed unless the ring was hostile), unbinds and unmaps.  Idempotent. */
void blkback_dev_disconnect(struct blkback_dev *d);
bool blkback_dev_connected(const struct blkback_dev *d);
/* True once a queue saw an impossible ring index: the device stopped serving
 * (and only this device); the owner should disconnect it. */
bool blkback_dev_broken(const struct blkback_dev *d);
/* Sum over queues (callable from any thread while connected). */
void blkback_dev_get_stats(const struct blkback_dev *d, struct blkback_stats *out);

/* ---- the XenbusState handshake, backend half (blkback_bus.c) ---- */

/* Writes the backend keys (sectors, sector-size, mode, info, feature-*,
 * multi-queue-max-queues, max-ring-page-order), InitWait; waits up to
 * timeout_ms for the frontend to be Initialised; reads and range-checks its
 * ring-ref(s)/event-channel(s) (single or multi-queue layout); connects d and
 * goes Connected.  0 or -errno (the backend state is then Closed). */
int blkback_bus_connect(struct blkback_dev *d, struct xs_client *c, struct pvback_dom *dom,
			uint16_t fe_domid, uint32_t devid, int timeout_ms);
/* Closing, disconnect, Closed. */
int blkback_bus_disconnect(struct blkback_dev *d, struct xs_client *c, uint16_t fe_domid,
			   uint32_t devid);
/* Writes statistics/{rd_req,wr_req,...} under the backend directory. */
int blkback_bus_write_stats(struct blkback_dev *d, struct xs_client *c, uint16_t fe_domid,
			    uint32_t devid);

/* ---- one device served end to end (blkback_serve.c) ----
 * What pvkvm-blkback runs in main() and what `pvkvm run` starts as a thread
 * per disk: attach to the guest's control socket, open the image, handshake
 * through the store (or connect a given ring when store_sock is NULL), serve,
 * publish statistics every stats_ms; when the frontend closes, wait for it to
 * connect again (guest reboot) until stopped. */
struct blkback_serve_opts {
	const char *ctl_path;      /* the guest's <name>.ctl */
	const char *store_sock;    /* NULL: direct ring below, no store */
	uint16_t domid;            /* 0: the attached guest's */
	uint32_t devid;
	struct blkback_disk_opts disk;
	struct blkback_queue_cfg direct; /* store_sock == NULL: one queue */
	unsigned stats_ms;         /* 0 = 1000 */
	int connect_timeout_ms;    /* waiting for the frontend; 0 = forever */
	/* Toolstack part: once the VMM introduced the domain (its home exists),
	 * create the device's frontend and backend directories (params). */
	bool create;
	/* > 0: once set up (image open, guest attached, device created), one
	 * int is written here: 0 or the -errno blkback_serve() returns. */
	int ready_fd;
};

struct blkback_server;

/* Runs in the calling thread until stop_fd is readable (an eventfd or a
 * signalfd) or the guest goes away (0), or a fatal error, logged: -errno from
 * the image, -ECONNREFUSED when the control socket or the store cannot be
 * reached, or the connect error. */
int blkback_serve(const struct blkback_serve_opts *o, int stop_fd);
/* The embedded form: a thread running blkback_serve().  0 or -errno. */
int blkback_server_start(struct blkback_server **out, const struct blkback_serve_opts *o);
/* Stops it (requests in flight complete, backend state Closed) and frees. */
void blkback_server_stop(struct blkback_server *s);

#endif
