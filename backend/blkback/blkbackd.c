/* SPDX-License-Identifier: MIT */
/* pvkvm-blkback: serves one pvblk device of one guest as a separate process.
 * Threads: main (control socket pushes, store, statistics, signals) and one
 * per queue (blkback_queue.c). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "blkback.h"
#include "pv_log.h"

#define TAG "blkback"

static const char usage[] =
"usage: pvkvm-blkback --ctl PATH [--domid N] --devid ID --disk SPEC\n"
"                     (--store SOCK | --ring-ref R[,R...] --event-channel P)\n"
"\n"
"Serves the guest's block device ID (device/vbd/ID) from the image in SPEC:\n"
"  PATH[,format=raw|qcow2][,io=io_uring|native|threads][,cache=none|writeback]\n"
"  [,readonly][,discard=unmap|ignore][,sector-size=512|4096][,queues=N]\n"
"  [,ring-page-order=N][,poll-us=N]\n"
"\n"
"  --ctl PATH          the guest's control socket (<run dir>/<name>.ctl)\n"
"  --domid N           the guest's domain id (default: as the socket tells)\n"
"  --store SOCK        do the XenbusState handshake through pvkvm-stored at SOCK\n"
"                      and publish statistics/ under the backend directory\n"
"  --ring-ref R,...    without a store: the frontend's ring grant(s) (one queue)\n"
"  --event-channel P   without a store: its event channel\n"
"  --create            first create the device in the store as the toolstack\n"
"                      does (frontend device/vbd/ID and backend directories)\n"
"  --stats-ms N        statistics interval (default 1000)\n"
"  -v, --verbose       debug logging\n"
"\n"
"SIGTERM/SIGINT: finish requests in flight, disconnect, exit 0.  The process\n"
"may be killed and restarted at any time; the frontend resubmits what was in\n"
"flight.  Exit codes: 0 ok, 1 usage or configuration error, 2 host problem.\n";

struct blkbackd {
	const char *ctl, *store, *refs;
	unsigned long domid, devid, port, stats_ms;
	bool create;
	char disk[4096];
	struct blkback_disk_opts o;
};

static int parse_args(struct blkbackd *b, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ctl", 1, NULL, 'c' }, { "store", 1, NULL, 's' }, { "domid", 1, NULL, 'd' },
		{ "devid", 1, NULL, 'i' }, { "disk", 1, NULL, 'k' }, { "ring-ref", 1, NULL, 'r' },
		{ "event-channel", 1, NULL, 'e' }, { "stats-ms", 1, NULL, 'S' },
		{ "verbose", 0, NULL, 'v' }, { "create", 0, NULL, 'C' }, { "help", 0, NULL, 'h' }, { 0 },
	};
	char err[256];
	int c;

	b->stats_ms = 1000;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': b->ctl = optarg; break;
		case 's': b->store = optarg; break;
		case 'd': b->domid = strtoul(optarg, NULL, 10); break;
		case 'i': b->devid = strtoul(optarg, NULL, 10); break;
		case 'k': snprintf(b->disk, sizeof(b->disk), "%s", optarg); break;
		case 'r': b->refs = optarg; break;
		case 'e': b->port = strtoul(optarg, NULL, 10); break;
		case 'S': b->stats_ms = strtoul(optarg, NULL, 10); break;
		case 'v': pv_log_set_level(PV_LOG_DEBUG); break;
		case 'C': b->create = true; break;
		case 'h': fputs(usage, stdout); exit(0);
		default: return -EINVAL;
		}
	}
	if (!b->ctl || !b->disk[0] || (!b->store && (!b->refs || !b->port)) || b->domid > 0xfff0) {
		fputs(usage, stderr);
		return -EINVAL;
	}
	if (blkback_disk_opts_parse(&b->o, b->disk, err, sizeof(err))) {
		fprintf(stderr, "pvkvm-blkback: %s\n", err);
		return -EINVAL;
	}
	return 0;
}

static int parse_refs(const char *p, struct blkback_queue_cfg *q)
{
	unsigned n = 0;

	while (*p) {
		char *end;

		if (n == (1u << RING_MAX_PAGE_ORDER))
			return -EINVAL;
		q->ring_ref[n++] = (uint32_t)strtoul(p, &end, 10);
		if (end == p || (*end && *end != ','))
			return -EINVAL;
		p = *end ? end + 1 : end;
	}
	while (q->ring_order < RING_MAX_PAGE_ORDER && (1u << q->ring_order) < n)
		q->ring_order++;
	return n && (1u << q->ring_order) == n ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct blkbackd b = { 0 };
	struct blkback_serve_opts o = { 0 };
	sigset_t set;
	int sfd, err;

	if (parse_args(&b, argc, argv))
		return 1;
	o.ctl_path = b.ctl;
	o.store_sock = b.store;
	o.domid = (uint16_t)b.domid;
	o.devid = (uint32_t)b.devid;
	o.disk = b.o;
	o.stats_ms = (unsigned)b.stats_ms;
	o.direct.port = (uint32_t)b.port;
	if (!b.store && parse_refs(b.refs, &o.direct)) {
		fprintf(stderr, "pvkvm-blkback: --ring-ref: 1, 2, 4, 8 or 16 grant references expected\n");
		return 1;
	}
	if (b.create && !b.store) {
		fprintf(stderr, "pvkvm-blkback: --create needs --store\n");
		return 1;
	}
	o.create = b.create;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		perror("pvkvm-blkback: signalfd");
		return 2;
	}
	err = blkback_serve(&o, sfd);
	close(sfd);
	/* blkback_serve() logged the reason. */
	if (err == -ECONNREFUSED || err == -EIO || err == -ENOMEM)
		return 2;
	return err ? 1 : 0;
}
