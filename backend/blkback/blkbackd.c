/* SPDX-License-Identifier: MIT */
/* pvkvm-blkback: serves one pvblk device of one guest as a separate process.
 * Threads: main (control socket pushes, store, statistics, signals) and one
 * per queue (blkback_queue.c). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "blkback.h"
#include "pv_log.h"
#include "pvback.h"
#include "pvback_bus.h"
#include "xs_client.h"

#define TAG "blkback"

static const char usage[] =
"usage: pvkvm-blkback --ctl PATH --domid N --devid ID --disk SPEC\n"
"                     (--store SOCK | --ring-ref R[,R...] --event-channel P)\n"
"\n"
"Serves the guest's block device ID (device/vbd/ID) from the image in SPEC:\n"
"  PATH[,format=raw|qcow2][,io=io_uring|native|threads][,cache=none|writeback]\n"
"  [,readonly][,discard=unmap|ignore][,sector-size=512|4096][,queues=N]\n"
"  [,ring-page-order=N][,poll-us=N]\n"
"\n"
"  --ctl PATH          the guest's control socket (<run dir>/<name>.ctl)\n"
"  --store SOCK        do the XenbusState handshake through pvkvm-stored at SOCK\n"
"                      and publish statistics/ under the backend directory\n"
"  --ring-ref R,...    without a store: the frontend's ring grant(s) (one queue)\n"
"  --event-channel P   without a store: its event channel\n"
"  --stats-ms N        statistics interval (default 1000)\n"
"  -v, --verbose       debug logging\n"
"\n"
"SIGTERM/SIGINT: finish requests in flight, disconnect, exit 0.  The process\n"
"may be killed and restarted at any time; the frontend resubmits what was in\n"
"flight.  Exit codes: 0 ok, 1 usage or configuration error, 2 host problem.\n";

struct blkbackd {
	const char *ctl, *store, *refs;
	unsigned long domid, devid, port, stats_ms;
	char disk[4096];
	struct blkback_disk_opts o;
	struct pvback_dom *dom;
	struct blkback_dev *dev;
	struct xs_client *xs;
	int sfd;
};

static int parse_args(struct blkbackd *b, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ctl", 1, NULL, 'c' }, { "store", 1, NULL, 's' }, { "domid", 1, NULL, 'd' },
		{ "devid", 1, NULL, 'i' }, { "disk", 1, NULL, 'k' }, { "ring-ref", 1, NULL, 'r' },
		{ "event-channel", 1, NULL, 'e' }, { "stats-ms", 1, NULL, 'S' },
		{ "verbose", 0, NULL, 'v' }, { "help", 0, NULL, 'h' }, { 0 },
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

static int connect_direct(struct blkbackd *b)
{
	struct blkback_queue_cfg q = { .port = (uint32_t)b->port };
	const char *p = b->refs;
	unsigned n = 0;

	while (*p && n < (1u << RING_MAX_PAGE_ORDER)) {
		char *end;

		q.ring_ref[n++] = (uint32_t)strtoul(p, &end, 10);
		p = *end == ',' ? end + 1 : end;
		if (end == p && *p)
			return -EINVAL;
	}
	while (q.ring_order < RING_MAX_PAGE_ORDER && (1u << q.ring_order) < n)
		q.ring_order++;
	if ((1u << q.ring_order) != n)
		return -EINVAL;
	return blkback_dev_connect(b->dev, b->dom, &q, 1);
}

static int serve(struct blkbackd *b)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = pvback_ctl_fd(b->dom), .events = POLLIN },
				       { .fd = b->sfd, .events = POLLIN } };

		if (poll(p, 2, (int)b->stats_ms) < 0 && errno != EINTR)
			return -errno;
		if (p[1].revents)
			return 0;
		if (p[0].revents && pvback_ctl_process(b->dom) < 0) {
			pv_log_info(TAG, "guest went away");
			return 0;
		}
		if (blkback_dev_broken(b->dev))
			return -EPROTO;
		if (b->xs) {
			struct pvback_bus_dev bus;

			blkback_bus_write_stats(b->dev, b->xs, (uint16_t)b->domid, (uint32_t)b->devid);
			if (!pvback_bus_open(&bus, b->xs, "vbd", (uint16_t)b->domid, (uint32_t)b->devid) &&
			    pvback_bus_frontend_state(&bus) >= PVBACK_STATE_CLOSING)
				return 0;
		}
	}
}

static int run(struct blkbackd *b)
{
	char dev[32];
	int err;

	snprintf(dev, sizeof(dev), "vbd/%lu", b->devid);
	if ((err = blkback_dev_open(&b->dev, &b->o))) {
		fprintf(stderr, "pvkvm-blkback: %s: %s\n", b->o.path, strerror(-err));
		return 1;
	}
	if ((err = pvback_attach(&b->dom, b->ctl, dev))) {
		fprintf(stderr, "pvkvm-blkback: %s: attach %s: %s\n", b->ctl, dev, strerror(-err));
		return 2;
	}
	if (b->store && (err = xs_client_open(b->store, &b->xs))) {
		fprintf(stderr, "pvkvm-blkback: %s: %s\n", b->store, strerror(-err));
		return 2;
	}
	if (b->xs)
		err = blkback_bus_connect(b->dev, b->xs, b->dom, (uint16_t)b->domid,
					  (uint32_t)b->devid, 60000);
	else
		err = connect_direct(b);
	if (err) {
		fprintf(stderr, "pvkvm-blkback: vbd %lu: connect: %s\n", b->devid, strerror(-err));
		return 2;
	}
	pv_log_info(TAG, "serving %s to domain %lu as vbd %lu", b->o.path, b->domid, b->devid);
	err = serve(b);
	if (b->xs)
		blkback_bus_disconnect(b->dev, b->xs, (uint16_t)b->domid, (uint32_t)b->devid);
	else
		blkback_dev_disconnect(b->dev);
	return err ? 2 : 0;
}

int main(int argc, char **argv)
{
	struct blkbackd b = { .sfd = -1 };
	sigset_t set;
	int rc;

	if (parse_args(&b, argc, argv))
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	b.sfd = signalfd(-1, &set, SFD_CLOEXEC);
	rc = run(&b);
	blkback_dev_close(b.dev);
	if (b.xs)
		xs_client_close(b.xs);
	if (b.dom)
		pvback_detach(b.dom);
	close(b.sfd);
	return rc;
}
