/* SPDX-License-Identifier: MIT */
/* Command line: whitespace-separated "key=value" or bare "key" words. */
#include "mini/mini.h"

#define MAX_OPTS 48

static char opt_buf[1024];
static struct { const char *key, *value; } opts[MAX_OPTS];
static unsigned nr_opts;

int mini_cmdline_parse(const char *cmdline)
{
	size_t n = strlen(cmdline);
	char *p = opt_buf;

	if (n >= sizeof(opt_buf))
		return -1;
	memcpy(opt_buf, cmdline, n + 1);
	nr_opts = 0;
	while (*p) {
		char *word, *eq;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		word = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if (*p)
			*p++ = '\0';
		if (nr_opts == MAX_OPTS)
			return -1;
		eq = strchr(word, '=');
		if (eq)
			*eq = '\0';
		opts[nr_opts].key = word;
		opts[nr_opts].value = eq ? eq + 1 : "";
		nr_opts++;
	}
	return 0;
}

const char *mini_opt_str(const char *key, const char *def)
{
	const char *v = def;

	for (unsigned i = 0; i < nr_opts; i++)   /* the last one wins */
		if (!strcmp(opts[i].key, key))
			v = opts[i].value;
	return v;
}

uint64_t mini_opt_u64(const char *key, uint64_t def)
{
	const char *s = mini_opt_str(key, NULL);
	uint64_t v;

	if (!s)
		return def;
	if (mini_parse_u64(s, &v)) {
		printf("mini: option %s=%s: not a number\n", key, s);
		mini_exit(MINI_EXIT_USAGE);
	}
	return v;
}

unsigned mini_opt_count(void)
{
	return nr_opts;
}

void mini_opt_get(unsigned i, const char **key, const char **value)
{
	*key = i < nr_opts ? opts[i].key : NULL;
	*value = i < nr_opts ? opts[i].value : NULL;
}
