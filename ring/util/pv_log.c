/* SPDX-License-Identifier: MIT */
#include "pv_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

/* Process-wide settings, set once by main() from the command line. */
static atomic_int log_level = PV_LOG_WARN;
static atomic_bool log_syslog;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void pv_log_set_level(int level)
{
	if (level < PV_LOG_ERR)
		level = PV_LOG_ERR;
	if (level > PV_LOG_DEBUG)
		level = PV_LOG_DEBUG;
	atomic_store(&log_level, level);
}

int pv_log_get_level(void)
{
	return atomic_load(&log_level);
}

int pv_log_parse_level(const char *name)
{
	static const char *const short_names[] = { "err", "warn", "info", "debug" };

	for (int i = 0; i <= PV_LOG_DEBUG; i++)
		if (!strcmp(name, short_names[i]) || !strcmp(name, level_names[i]))
			return i;
	return -1;
}

void pv_log_use_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	atomic_store(&log_syslog, true);
}

void pv_log(int level, const char *tag, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024];
	va_list ap;

	if (level > atomic_load(&log_level))
		return;
	if (level < PV_LOG_ERR)
		level = PV_LOG_ERR;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (atomic_load(&log_syslog))
		syslog(prio[level], "%s: %s", tag, msg);
	else
		fprintf(stderr, "pvkvm %s: %s: %s\n", tag, level_names[level], msg);
}
