/* SPDX-License-Identifier: MIT */
/* Where the store socket lives (DESIGN.md: run directory). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "xs_client.h"

int xs_default_socket_path(char *buf, size_t size)
{
	const char *run = getenv("PVKVM_RUN_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (run && *run)
		n = snprintf(buf, size, "%s/store.sock", run);
	else if (geteuid() == 0 || !xdg || !*xdg)
		n = snprintf(buf, size, "/run/pvkvm/store.sock");
	else
		n = snprintf(buf, size, "%s/pvkvm/store.sock", xdg);
	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}
