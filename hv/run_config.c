/* SPDX-License-Identifier: MIT */
/* Run options: sizes, the process title, and the seam to the domain XML
 * parser (config/), which fills struct hv_run_opts from <domain>. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "run.h"

/* Set by main(): the process's own argument vector, rewritten for ps. */
extern char **hv_main_argv;
extern int hv_main_argc;

int hv_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if ((*end == 'i' || *end == 'B') && shift)
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int hv_run_opts_from_xml(struct hv_run_opts *opts, const char *path, char *err, size_t errlen)
{
	(void)opts;
	/* The domain XML parser (config/, cfg_domain) is a separate part; until
	 * it is linked in, say so instead of guessing at the file. */
	snprintf(err, errlen, "%s: domain XML files are not supported by this build "
		 "(use --kernel/--mem/--smp)", path);
	return -ENOTSUP;
}

void hv_set_proctitle(const char *name)
{
	char title[64];

	snprintf(title, sizeof(title), "pvkvm:%s", name);
	prctl(PR_SET_NAME, title);
	if (!hv_main_argv || hv_main_argc < 1)
		return;
	/* The argument strings are contiguous: overwrite them all, so ps shows
	 * only the title (the environment after them is left alone). */
	char *start = hv_main_argv[0];
	char *end = hv_main_argv[hv_main_argc - 1] + strlen(hv_main_argv[hv_main_argc - 1]);
	size_t room = (size_t)(end - start);

	if (room == 0)
		return;
	memset(start, 0, room);
	memcpy(start, title, strlen(title) < room ? strlen(title) : room - 1);
}
