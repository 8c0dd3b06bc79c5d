/* SPDX-License-Identifier: MIT */
/* Internal interfaces between the files of libpvcfg. */
#ifndef CFG_PRIV_H
#define CFG_PRIV_H

#include <libxml/tree.h>

#include "cfg_domain.h"

/* Read a schema-valid <domain> tree into a new struct (values checked for
 * range and overflow only; cfg_domain_check() does the semantic rules). */
int cfg_tree_to_domain(xmlNodePtr root, const char *name, struct cfg_domain **out,
		       struct cfg_diag *diag);

#endif
