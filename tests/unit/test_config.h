/* SPDX-License-Identifier: MIT */
/* Shared fixtures of the config unit tests: a temporary directory holding
 * kernels and images of each kind, and @DIR@ substitution in XML text. */
#ifndef TEST_CONFIG_H
#define TEST_CONFIG_H

#include "cfg_domain.h"

extern char test_cfg_dir[];   /* the fixture directory, set by the suite init */

int test_cfg_fixtures_create(void);
int test_cfg_fixtures_remove(void);
/* xml with every "@DIR@" replaced by the fixture directory; free() it. */
char *test_cfg_subst(const char *xml);
/* Parse (and unless parse_only, check) xml after substitution; diag filled. */
int test_cfg_run(const char *xml, bool parse_only, uint64_t host_kib, struct cfg_diag *diag);
void test_cfg_add_invalid_suite(void);

#endif
