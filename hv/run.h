/* SPDX-License-Identifier: MIT */
/* What `pvkvm run` needs to start a guest, from the command line or a
 * domain XML file (run_config.c is the seam to the config/ parser). */
#ifndef HV_RUN_H
#define HV_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "run_store.h"

enum hv_on_reboot { HV_ON_REBOOT_RESTART, HV_ON_REBOOT_DESTROY };

#define HV_MAX_NICS 8

struct hv_run_opts {
	char name[48];
	char *kernel, *initrd, *cmdline;   /* owned: free with hv_run_opts_free() */
	uint64_t mem_bytes;
	unsigned nr_vcpus;
	char *console;         /* owned: stdio, pty, file:PATH, none */
	bool daemonize;
	bool hugepages;
	enum hv_on_reboot on_reboot;
	enum hv_store_mode store_mode;
	char *nics[HV_MAX_NICS]; /* owned: --nic specs for backend/net/net_run.h */
	unsigned nr_nics;
	char *disks[8];        /* owned: --disk specs, served by embedded blkback threads */
	unsigned nr_disks;
};

void hv_run_opts_free(struct hv_run_opts *opts);
/* Replaces *dst (freed) with a copy of src (NULL stays NULL); -ENOMEM. */
int hv_run_opts_set(char **dst, const char *src);

/* Parses "256M", "1G", "1048576" (bytes), "512K"; 0 or -EINVAL. */
int hv_parse_size(const char *s, uint64_t *out);

/* Fills opts from a domain XML file.  0, or -errno with a reason in err. */
int hv_run_opts_from_xml(struct hv_run_opts *opts, const char *path, char *err, size_t errlen);

/* ps shows "pvkvm:<name>": rewrites the process title and the thread name. */
void hv_set_proctitle(const char *name);

#endif
