/* SPDX-License-Identifier: MIT */
/* pvkvm-stored: the configuration store as a daemon.  One thread: main()
 * parses options, xs_daemon_run() serves until SIGTERM/SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <pthread.h>
#include <unistd.h>

#include "pv_command.h"
#include "pv_log.h"
#include "xs_client.h"
#include "xs_daemon.h"

#define TAG "stored"

static void usage(FILE *out)
{
	fprintf(out,
"usage: pvkvm-stored [OPTIONS]\n"
"\n"
"Serve the pvkvm configuration store, a xenstore speaking Xen's xs_wire\n"
"protocol on a Unix socket (Xen's tools work with XENSTORED_PATH=SOCKET).\n"
"Socket clients are domain 0; the VMM hands connections over to guests.\n"
"\n"
"Options:\n"
"  --socket PATH         listen here (default $PVKVM_RUN_DIR/store.sock; the\n"
"                        run dir defaults to /run/pvkvm for root, else\n"
"                        $XDG_RUNTIME_DIR/pvkvm)\n"
"  --state-dir DIR       keep the tree in DIR (snapshot + journal) so it\n"
"                        survives restarts; without it nothing is persisted\n"
"  --fsync               fsync every journal record (survive power loss)\n"
"  --snapshot-every N    journal records between snapshots (100000)\n"
"  --quota-nodes N       nodes a guest may own (1000)\n"
"  --quota-node-size N   bytes in one value (2048)\n"
"  --quota-watches N     watches per guest (128)\n"
"  --quota-transactions N  open transactions per guest (10)\n"
"  --quota-outstanding N   queued replies per guest connection before its\n"
"                        input is paused (20)\n"
"  --quota-path-len N    path length for guests (2048)\n"
"  --quota-perms N       permission entries per node set by a guest (5)\n"
"  --quota-txn-nodes N   nodes one guest transaction may touch (1024)\n"
"  --outq-bytes N        output queue bound; a client whose queue grows past\n"
"                        it is disconnected (4194304)\n"
"  --log-level LEVEL     err, warn, info or debug (warn)\n"
"  --syslog              log to syslog instead of stderr\n"
"  -h, --help            this text\n"
"\n"
"Guests over quota get EQUOTA; domain 0 has no quotas.  SIGTERM or SIGINT\n"
"stops the daemon cleanly.  Exit status: 0 stopped, 1 bad option, 2 host\n"
"problem (socket, state directory).\n");
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

struct sig_ctx {
	struct xs_daemon *d;
	sigset_t set;
};

/* Waits for SIGTERM/SIGINT on a helper thread and stops the loop. */
static void *signal_thread(void *arg)
{
	struct sig_ctx *s = arg;
	int sig;

	sigwait(&s->set, &sig);
	pv_log_info(TAG, "signal %d: stopping", sig);
	xs_daemon_stop(s->d);
	return NULL;
}

enum { O_SOCKET = 256, O_STATE, O_FSYNC, O_SNAP, O_QN, O_QS, O_QW, O_QT, O_QO, O_QP,
       O_QPERM, O_QTN, O_OUTQ, O_LOG, O_SYSLOG };

static int parse_opts(int argc, char **argv, struct xs_daemon_opts *o, char *sock, size_t size)
{
	static const struct option lo[] = {
		{ "socket", 1, NULL, O_SOCKET }, { "state-dir", 1, NULL, O_STATE },
		{ "fsync", 0, NULL, O_FSYNC }, { "snapshot-every", 1, NULL, O_SNAP },
		{ "quota-nodes", 1, NULL, O_QN }, { "quota-node-size", 1, NULL, O_QS },
		{ "quota-watches", 1, NULL, O_QW }, { "quota-transactions", 1, NULL, O_QT },
		{ "quota-outstanding", 1, NULL, O_QO }, { "quota-path-len", 1, NULL, O_QP },
		{ "quota-perms", 1, NULL, O_QPERM }, { "quota-txn-nodes", 1, NULL, O_QTN },
		{ "outq-bytes", 1, NULL, O_OUTQ }, { "log-level", 1, NULL, O_LOG },
		{ "syslog", 0, NULL, O_SYSLOG }, { "help", 0, NULL, 'h' }, { 0 } };
	uint32_t *u32[] = { [O_SNAP - O_SNAP] = &o->snapshot_every,
		[O_QN - O_SNAP] = &o->quota.nodes_per_domain, [O_QS - O_SNAP] = &o->quota.node_size,
		[O_QW - O_SNAP] = &o->quota.watches_per_domain,
		[O_QT - O_SNAP] = &o->quota.txns_per_domain,
		[O_QO - O_SNAP] = &o->quota.outstanding_per_conn,
		[O_QP - O_SNAP] = &o->quota.path_len, [O_QPERM - O_SNAP] = &o->quota.perms_per_node,
		[O_QTN - O_SNAP] = &o->quota.txn_nodes, [O_OUTQ - O_SNAP] = &o->quota.outq_bytes };
	int c, lvl;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); exit(0);
		case O_SOCKET: snprintf(sock, size, "%s", optarg); break;
		case O_STATE: o->state_dir = optarg; break;
		case O_FSYNC: o->fsync_journal = true; break;
		case O_LOG:
			if ((lvl = pv_log_parse_level(optarg)) < 0) {
				fprintf(stderr, "pvkvm-stored: --log-level %s: unknown level\n", optarg);
				return -1;
			}
			pv_log_set_level(lvl);
			break;
		case O_SYSLOG: pv_log_use_syslog("pvkvm-stored"); break;
		default:
			if (c >= O_SNAP && c <= O_OUTQ) {
				if (parse_u32(optarg, u32[c - O_SNAP]) == 0)
					break;
				fprintf(stderr, "pvkvm-stored: %s: not a number\n", optarg);
			} else {
				fprintf(stderr, "pvkvm-stored: try --help\n");
			}
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pvkvm-stored: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct xs_daemon_opts o = { 0 };
	struct sig_ctx s;
	struct xs_daemon *d;
	char sock[4096] = "";
	pthread_t th;
	int rc;

	xs_quota_defaults(&o.quota);
	if (parse_opts(argc, argv, &o, sock, sizeof(sock)))
		return PV_EXIT_USER;
	if (!*sock) {
		char *slash;

		if (xs_default_socket_path(sock, sizeof(sock))) {
			fprintf(stderr, "pvkvm-stored: run directory path too long\n");
			return PV_EXIT_USER;
		}
		slash = strrchr(sock, '/');
		*slash = '\0';
		mkdir(sock, 0700);
		*slash = '/';
	}
	o.socket_path = sock;
	sigemptyset(&s.set);
	sigaddset(&s.set, SIGTERM);
	sigaddset(&s.set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &s.set, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = xs_daemon_new(&o, &d);
	if (rc) {
		fprintf(stderr, "pvkvm-stored: cannot start: %s\n", strerror(-rc));
		return PV_EXIT_HOST;
	}
	s.d = d;
	if (pthread_create(&th, NULL, signal_thread, &s)) {
		xs_daemon_free(d);
		return PV_EXIT_HOST;
	}
	pv_log_info(TAG, "serving %s", sock);
	rc = xs_daemon_run(d);
	xs_daemon_free(d);
	pthread_cancel(th);
	pthread_join(th, NULL);
	return rc ? PV_EXIT_HOST : PV_EXIT_OK;
}
