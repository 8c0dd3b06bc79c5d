/* SPDX-License-Identifier: MIT */
/* `pvkvm img create|info|check|io`: image tools on the block layer. */
#include "qcow2.h"
#include "pv_command.h"
#include "pv_log.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char img_usage[] =
"usage: pvkvm img create [-f qcow2|raw] [-b BACKING [-F FMT]] [-o cluster_size=N,compat=0.10|1.1] FILE SIZE\n"
"       pvkvm img info [--json] FILE\n"
"       pvkvm img check [--json] FILE\n"
"       pvkvm img io [-f FMT] [--engine io_uring|libaio|sync] [--cache none|writeback|unsafe] FILE CMD...\n"
"\n"
"create  Make a new image of SIZE bytes (suffixes K, M, G, T).  qcow2 is version 3\n"
"        (compat=1.1) unless -o compat=0.10; cluster_size 4K..2M (default 64K).\n"
"        With -b the image starts as a copy-on-write overlay of BACKING (relative\n"
"        names are relative to FILE's directory); -F gives its format (raw|qcow2).\n"
"info    Print format, virtual size, cluster size, allocation, the backing file\n"
"        named in the header and the opened backing chain, and the qcow2 facts\n"
"        qemu-img info shows (compat, refcount bits, lazy refcounts, corrupt and\n"
"        dirty flags, internal snapshot count).  --json prints one JSON object\n"
"        with qemu-img info --output=json's names, plus \"backing-chain\".\n"
"check   Cross-check a qcow2 image's refcounts against its tables.  Exit status as\n"
"        qemu-img check: 0 clean, 2 corruption found, 3 only leaked clusters;\n"
"        1 when the image cannot be checked.  --json: one object with qemu-img\n"
"        check --output=json's names (corruptions, leaks, total/allocated clusters).\n"
"io      Run commands through the block layer, e.g. 'write -P 0xab 0 1M',\n"
"        'read -P 0xab 0 1M' (verifies), 'dump 0 1M' (raw bytes to stdout),\n"
"        'discard 0 64K', 'zero 0 64K', 'flush'.  Options: -f raw|qcow2,\n"
"        --engine io_uring|libaio|sync (default sync), --cache none|writeback|unsafe,\n"
"        --sector-size 512|4096.\n"
"        Exit status 1 when a read does not match.\n";

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	int sh = 0;
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': sh = 10; end++; break;
	case 'm': case 'M': sh = 20; end++; break;
	case 'g': case 'G': sh = 30; end++; break;
	case 't': case 'T': sh = 40; end++; break;
	case 0: break;
	default: return -EINVAL;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || (sh && v > (~0ull >> sh)))
		return -EINVAL;
	*out = v << sh;
	return 0;
}

static int img_create(int argc, char **argv)
{
	const char *fmt = "qcow2", *backing = NULL, *bfmt = NULL;
	unsigned cs = 0, version = 3;
	uint64_t size = 0;
	int c, rc;

	optind = 1;
	while ((c = getopt(argc, argv, "f:b:F:o:")) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'b': backing = optarg; break;
		case 'F': bfmt = optarg; break;
		case 'o':
			for (char *tok = strtok(optarg, ","); tok; tok = strtok(NULL, ",")) {
				uint64_t v;
				if (!strncmp(tok, "cluster_size=", 13) && !parse_size(tok + 13, &v) && v <= (2u << 20))
					cs = (unsigned)v;
				else if (!strcmp(tok, "compat=0.10") || !strcmp(tok, "compat=v2"))
					version = 2;
				else if (!strcmp(tok, "compat=1.1") || !strcmp(tok, "compat=v3"))
					version = 3;
				else {
					fprintf(stderr, "pvkvm img create: unknown option '%s'\n", tok);
					return PV_EXIT_USER;
				}
			}
			break;
		default: fputs(img_usage, stderr); return PV_EXIT_USER;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "pvkvm img create: expected FILE SIZE (see pvkvm img --help)\n");
		return PV_EXIT_USER;
	}
	if (parse_size(argv[optind + 1], &size) < 0) {
		fprintf(stderr, "pvkvm img create: bad size '%s'\n", argv[optind + 1]);
		return PV_EXIT_USER;
	}
	const char *file = argv[optind];
	if (!strcmp(fmt, "raw")) {
		if (backing) {
			fprintf(stderr, "pvkvm img create: raw images have no backing file\n");
			return PV_EXIT_USER;
		}
		rc = blk_raw_create(file, size);
	} else if (!strcmp(fmt, "qcow2")) {
		rc = blk_qcow2_create(file, size, cs, version, backing, bfmt);
	} else {
		fprintf(stderr, "pvkvm img create: unknown format '%s'\n", fmt);
		return PV_EXIT_USER;
	}
	if (rc < 0) {
		fprintf(stderr, "pvkvm img create: %s: %s\n", file, strerror(-rc));
		return rc == -EINVAL || rc == -EEXIST || rc == -ENAMETOOLONG ? PV_EXIT_USER : PV_EXIT_HOST;
	}
	return PV_EXIT_OK;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static const char *qcow2_compat(const struct qcow2 *q) { return q->version >= 3 ? "1.1" : "0.10"; }

/* The qcow2 facts qemu-img info reports, for the features we support. */
static void info_qcow2_text(const struct qcow2 *q)
{
	printf("cluster_size: %llu\nversion: %u\n", (unsigned long long)q->cluster_size, q->version);
	if (q->backing_name[0]) {
		printf("header backing file: %s\n", q->backing_name);
		if (q->backing_fmt[0])
			printf("header backing format: %s\n", q->backing_fmt);
	}
	if (q->nb_snapshots)
		printf("internal snapshots: %u (read-only access)\n", q->nb_snapshots);
	printf("Format specific information:\n    compat: %s\n    compression type: zlib\n"
	       "    lazy refcounts: %s\n    refcount bits: %u\n    corrupt: %s\n    extended l2: false\n",
	       qcow2_compat(q), (q->compat & 1) ? "true" : "false", 1u << q->refcount_order,
	       (q->incompat & QCOW2_INCOMPAT_CORRUPT) ? "true" : "false");
	if (q->incompat & QCOW2_INCOMPAT_DIRTY)
		printf("dirty flag: true\n");
}

static void info_json(struct blk_image *img, const char *file, uint64_t actual)
{
	const struct qcow2 *q = img->q;

	printf("{\"filename\": ");
	json_str(file);
	printf(", \"format\": \"%s\", \"virtual-size\": %llu, \"actual-size\": %llu",
	       q ? "qcow2" : "raw", (unsigned long long)img->size, (unsigned long long)actual);
	if (q) {
		printf(", \"cluster-size\": %llu, \"version\": %u, \"dirty-flag\": %s",
		       (unsigned long long)q->cluster_size, q->version,
		       (q->incompat & QCOW2_INCOMPAT_DIRTY) ? "true" : "false");
		if (q->backing_name[0]) {
			printf(", \"backing-filename\": ");
			json_str(q->backing_name);
			if (q->backing) {
				printf(", \"full-backing-filename\": ");
				json_str(q->backing->path);
			}
			if (q->backing_fmt[0]) {
				printf(", \"backing-filename-format\": ");
				json_str(q->backing_fmt);
			}
		}
		if (q->nb_snapshots)
			printf(", \"snapshot-count\": %u", q->nb_snapshots);
		printf(", \"format-specific\": {\"type\": \"qcow2\", \"data\": {\"compat\": \"%s\", "
		       "\"compression-type\": \"zlib\", \"lazy-refcounts\": %s, \"refcount-bits\": %u, "
		       "\"corrupt\": %s, \"extended-l2\": false}}",
		       qcow2_compat(q), (q->compat & 1) ? "true" : "false", 1u << q->refcount_order,
		       (q->incompat & QCOW2_INCOMPAT_CORRUPT) ? "true" : "false");
	}
	printf(", \"backing-chain\": [");
	for (struct blk_image *b = q ? q->backing : NULL; b; b = b->q ? b->q->backing : NULL) {
		printf("%s{\"filename\": ", b == q->backing ? "" : ", ");
		json_str(b->path);
		printf(", \"format\": \"%s\"}", b->q ? "qcow2" : "raw");
	}
	printf("]}\n");
}

static int img_info(int argc, char **argv)
{
	bool json = argc > 2 && !strcmp(argv[1], "--json");
	const char *file = argv[argc - 1];
	struct blk_image *img;
	struct stat st;

	if (argc < 2 || argc > 3 || (argc == 3 && !json)) {
		fputs(img_usage, stderr);
		return PV_EXIT_USER;
	}
	int rc = blk_image_open_nested(&img, file, BLK_FMT_AUTO, NULL);
	if (rc < 0) {
		fprintf(stderr, "pvkvm img info: %s: %s\n", file, strerror(-rc));
		return PV_EXIT_USER;
	}
	uint64_t actual = stat(file, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
	if (json) {
		info_json(img, file, actual);
	} else {
		printf("image: %s\nfile format: %s\nvirtual size: %llu bytes\ndisk size: %llu bytes\n",
		       file, img->q ? "qcow2" : "raw", (unsigned long long)img->size,
		       (unsigned long long)actual);
		if (img->q)
			info_qcow2_text(img->q);
		for (struct blk_image *b = img->q ? img->q->backing : NULL; b; b = b->q ? b->q->backing : NULL)
			printf("backing file: %s (format %s)\n", b->path, b->q ? "qcow2" : "raw");
	}
	blk_image_close(img);
	return PV_EXIT_OK;
}

static int img_check(int argc, char **argv)
{
	struct blk_check_result r;
	bool json = argc == 3 && !strcmp(argv[1], "--json");

	if (argc != 2 && !json) {
		fputs(img_usage, stderr);
		return PV_EXIT_USER;
	}
	const char *file = argv[argc - 1];
	int rc = blk_qcow2_check(file, &r);
	if (rc < 0) {
		fprintf(stderr, "pvkvm img check: %s: cannot check: %s\n", file, strerror(-rc));
		return 1;
	}
	if (json) {
		/* The fields of qemu-img check --output=json that we compute. */
		printf("{\"filename\": ");
		json_str(file);
		printf(", \"format\": \"qcow2\", \"check-errors\": 0, \"corruptions\": %llu, "
		       "\"leaks\": %llu, \"total-clusters\": %llu, \"allocated-clusters\": %llu}\n",
		       (unsigned long long)r.corruptions, (unsigned long long)r.leaks,
		       (unsigned long long)r.total_clusters, (unsigned long long)r.allocated_clusters);
		return r.corruptions ? 2 : r.leaks ? 3 : 0;
	}
	if (!r.corruptions && !r.leaks)
		printf("No errors were found on the image.\n");
	if (r.corruptions)
		printf("%llu errors were found on the image.\n", (unsigned long long)r.corruptions);
	if (r.leaks)
		printf("%llu leaked clusters were found on the image.\n", (unsigned long long)r.leaks);
	printf("%llu/%llu = %.2f%% allocated\n", (unsigned long long)r.allocated_clusters,
	       (unsigned long long)r.total_clusters,
	       r.total_clusters ? 100.0 * (double)r.allocated_clusters / (double)r.total_clusters : 0.0);
	return r.corruptions ? 2 : r.leaks ? 3 : 0;
}

int blk_cmd_img_io(int argc, char **argv);

static int cmd_img(int argc, char **argv)
{
	if (argc < 2 || pv_command_wants_help(argc, argv)) {
		fputs(img_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? PV_EXIT_USER : PV_EXIT_OK;
	}
	if (!strcmp(argv[1], "create"))
		return img_create(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return img_info(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return img_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "io"))
		return blk_cmd_img_io(argc - 1, argv + 1);
	fprintf(stderr, "pvkvm img: unknown command '%s'\n", argv[1]);
	return PV_EXIT_USER;
}

PV_COMMAND(img, "img", "create, inspect, check and exercise disk images (raw, qcow2)", cmd_img);
