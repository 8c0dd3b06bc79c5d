/* SPDX-License-Identifier: MIT */
/* Internal interfaces between the files of libpvcfg. */
#ifndef CFG_PRIV_H
#define CFG_PRIV_H

#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "cfg_domain.h"

/* Labels libxml2's messages with the document name and collects them. */
struct cfg_errctx {
	struct cfg_diag *diag;
	const char *name;
	unsigned int nr_errors;
};
/* libxml2 structured-error callback; data is a struct cfg_errctx. */
void cfg_xml_error(void *data, xmlErrorPtr err);

/* Move every message of src to the end of dst. */
void cfg_diag_move(struct cfg_diag *dst, struct cfg_diag *src);

/* Per-element schemas ("PARENT.ELEMENT" defines of domain.rng, compiled on
 * first use) that name the element and line at fault when libxml2's whole-
 * document messages only say "Extra element ... in interleave". */
struct cfg_explainer;
struct cfg_explainer *cfg_explainer_new(void);
void cfg_explainer_free(struct cfg_explainer *ex);
/* Adds messages about doc to ec->diag; returns how many. */
int cfg_explain(struct cfg_explainer *ex, xmlDocPtr doc, struct cfg_errctx *ec);

/* Read a schema-valid <domain> tree into a new struct (values checked for
 * range and overflow only; cfg_domain_check() does the semantic rules). */
int cfg_tree_to_domain(xmlNodePtr root, const char *name, struct cfg_domain **out,
		       struct cfg_diag *diag);

#endif
