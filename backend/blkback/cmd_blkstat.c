/* SPDX-License-Identifier: MIT */
/* `pvkvm blkstat`: a guest's pvblk devices and their statistics, as the
 * backends publish them under /local/domain/0/backend/vbd/<domid>/<id>/. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_command.h"
#include "xs_client.h"

static const char usage_text[] =
"usage: pvkvm blkstat [--socket PATH] [--json] DOMID [DEVID]\n"
"\n"
"Prints the state and statistics of domain DOMID's pvblk devices (or of\n"
"device DEVID only), read from the store where pvkvm-blkback or the embedded\n"
"backend publishes them about once a second:\n"
"  rd_req wr_req f_req ds_req wz_req   requests (read, write, flush, discard,\n"
"                                      write-zeroes) completed\n"
"  rd_sect wr_sect                     512-byte sectors read and written\n"
"  errors invalid                      requests answered with an error; of\n"
"                                      those, refused as malformed\n"
"  lat_avg_ns lat_max_ns               submit-to-response latency\n"
"\n"
"  --socket PATH   the store's socket (default $PVKVM_RUN_DIR/store.sock)\n"
"  --json          one JSON object per device\n"
"\n"
"Exit status: 0 ok, 1 no such domain or device, 2 the store is unreachable.\n";

static const char *const stat_keys[] = {
	"rd_req", "wr_req", "f_req", "ds_req", "wz_req", "rd_sect", "wr_sect",
	"errors", "invalid", "lat_avg_ns", "lat_max_ns",
};

static char *read_key(struct xs_client *c, const char *dir, const char *key)
{
	char path[400], *v = NULL;
	size_t len;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, key) >= sizeof(path) ||
	    xs_read(c, 0, path, &v, &len))
		return NULL;
	return v;
}

static void print_dev(struct xs_client *c, const char *dir, const char *id, bool json)
{
	char *params = read_key(c, dir, "params"), *state = read_key(c, dir, "state");

	if (json)
		printf("{\"devid\": %s, \"params\": \"%s\", \"state\": %s", id, params ? params : "",
		       state ? state : "0");
	else
		printf("vbd %s  %s  state %s\n ", id, params ? params : "-", state ? state : "-");
	for (size_t k = 0; k < sizeof(stat_keys) / sizeof(stat_keys[0]); k++) {
		char key[64];
		char *v;

		snprintf(key, sizeof(key), "statistics/%s", stat_keys[k]);
		v = read_key(c, dir, key);
		if (json)
			printf(", \"%s\": %s", stat_keys[k], v ? v : "null");
		else
			printf(" %s %s", stat_keys[k], v ? v : "-");
		free(v);
	}
	printf(json ? "}\n" : "\n");
	free(params);
	free(state);
}

static int cmd_blkstat(int argc, char **argv)
{
	const char *sock = NULL, *domid = NULL, *devid = NULL;
	bool json = false;
	struct xs_client *c;
	char base[128], dir[256], **names = NULL, *one[2] = { NULL, NULL };
	unsigned n = 0;
	int rc;

	if (pv_command_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return PV_EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			sock = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else if (argv[i][0] != '-' && !domid)
			domid = argv[i];
		else if (argv[i][0] != '-' && !devid)
			devid = argv[i];
		else {
			fputs(usage_text, stderr);
			return PV_EXIT_USER;
		}
	}
	if (!domid || strspn(domid, "0123456789") != strlen(domid) ||
	    (devid && strspn(devid, "0123456789") != strlen(devid))) {
		fputs(usage_text, stderr);
		return PV_EXIT_USER;
	}
	if ((rc = xs_client_open(sock, &c))) {
		fprintf(stderr, "pvkvm blkstat: cannot connect to %s: %s\n", sock ? sock : "the store",
			strerror(-rc));
		return PV_EXIT_HOST;
	}
	xs_client_set_reconnect_ms(c, 0);
	snprintf(base, sizeof(base), "/local/domain/0/backend/vbd/%s", domid);
	if (devid) {
		one[0] = (char *)devid;
		n = 1;
		rc = 0;
	} else {
		rc = xs_directory(c, 0, base, &names, &n);
	}
	for (unsigned i = 0; !rc && i < n; i++) {
		const char *id = devid ? one[0] : names[i];

		snprintf(dir, sizeof(dir), "%s/%s", base, id);
		char *st = read_key(c, dir, "state");
		if (!st) {
			rc = -ENOENT;
			break;
		}
		free(st);
		print_dev(c, dir, id, json);
	}
	if (!rc && n == 0)
		rc = -ENOENT;
	if (rc)
		fprintf(stderr, "pvkvm blkstat: %s%s%s: %s\n", base, devid ? "/" : "", devid ? devid : "",
			rc == -ENOENT ? "no such pvblk device" : strerror(-rc));
	free(names); /* one allocation; NULL for a single DEVID */
	xs_client_close(c);
	return rc ? PV_EXIT_USER : PV_EXIT_OK;
}

PV_COMMAND(blkstat, "blkstat", "show a guest's pvblk devices and their statistics", cmd_blkstat);
