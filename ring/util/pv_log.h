/* SPDX-License-Identifier: MIT */
/* One logging family for every userspace part of pvkvm: a subsystem tag, a
 * runtime level, stderr or syslog.  Libraries log through this, never printf. */
#ifndef PV_LOG_H
#define PV_LOG_H

#include <stdbool.h>

enum pv_log_level { PV_LOG_ERR = 0, PV_LOG_WARN = 1, PV_LOG_INFO = 2, PV_LOG_DEBUG = 3 };

void pv_log_set_level(int level);
int pv_log_get_level(void);
/* Parse "err|warn|info|debug"; returns the level or -1. */
int pv_log_parse_level(const char *name);
/* Route messages to syslog(3) under ident instead of stderr. */
void pv_log_use_syslog(const char *ident);

void pv_log(int level, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define pv_log_err(tag, ...)   pv_log(PV_LOG_ERR, tag, __VA_ARGS__)
#define pv_log_warn(tag, ...)  pv_log(PV_LOG_WARN, tag, __VA_ARGS__)
#define pv_log_info(tag, ...)  pv_log(PV_LOG_INFO, tag, __VA_ARGS__)
#define pv_log_debug(tag, ...) pv_log(PV_LOG_DEBUG, tag, __VA_ARGS__)

#endif
