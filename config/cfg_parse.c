/* SPDX-License-Identifier: MIT */
/* Domain XML -> struct cfg_domain: libxml2 parses (no network, no DTD, no
 * entity expansion), the compiled-in RelaxNG schema validates, then the tree is
 * read into the struct with defaults filled in.  libxml2's structured errors
 * are routed into the caller's cfg_diag, one line each with file and line. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "cfg_domain.h"
#include "cfg_priv.h"

struct cfg_parser {
	xmlRelaxNGPtr schema;
	struct cfg_explainer *explainer;
};

void cfg_xml_error(void *data, xmlErrorPtr err)
{
	struct cfg_errctx *ec = data;
	int line = err->line;

	if (err->level == XML_ERR_WARNING)
		return;
	if (line <= 0 && err->node && ((xmlNodePtr)err->node)->type == XML_ELEMENT_NODE)
		line = xmlGetLineNo((xmlNodePtr)err->node);
	ec->nr_errors++;
	cfg_diag_add(ec->diag, "%s:%d: %s", ec->name, line > 0 ? line : 0,
		     err->message ? err->message : "XML error");
}

/* The parser context's SAX handler carries our structured error callback, so
 * no libxml2 global state is touched. */
static void cfg_parser_sax_error(void *userdata, xmlErrorPtr err)
{
	xmlParserCtxtPtr ctxt = userdata;

	cfg_xml_error(ctxt->_private, err);
}

struct cfg_parser *cfg_parser_new(struct cfg_diag *diag)
{
	struct cfg_errctx ec = { .diag = diag, .name = "domain.rng (built in)" };
	struct cfg_parser *p = calloc(1, sizeof(*p));
	xmlRelaxNGParserCtxtPtr pctxt;

	if (!p)
		return NULL;
	pctxt = xmlRelaxNGNewMemParserCtxt((const char *)cfg_schema_rng, (int)cfg_schema_rng_len);
	if (pctxt) {
		xmlRelaxNGSetParserStructuredErrors(pctxt, cfg_xml_error, &ec);
		p->schema = xmlRelaxNGParse(pctxt);
		xmlRelaxNGFreeParserCtxt(pctxt);
	}
	if (!p->schema) {
		cfg_diag_add(diag, "domain.rng (built in): the schema does not compile");
		free(p);
		return NULL;
	}
	p->explainer = cfg_explainer_new();
	return p;
}

void cfg_parser_free(struct cfg_parser *p)
{
	if (!p)
		return;
	xmlRelaxNGFree(p->schema);
	cfg_explainer_free(p->explainer);
	free(p);
}

/* A DOCTYPE stops the parser as soon as it starts: entity declarations (the
 * billion-laughs and external-entity tricks) are never even processed. */
static void cfg_parser_sax_doctype(void *userdata, const xmlChar *name,
				   const xmlChar *external_id, const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = userdata;
	struct cfg_errctx *ec = ctxt->_private;

	(void)name;
	(void)external_id;
	(void)system_id;
	cfg_diag_add(ec->diag, "%s:%d: a DOCTYPE is not allowed in a domain description",
		     ec->name, ctxt->input ? ctxt->input->line : 0);
	ec->nr_errors++;
	xmlStopParser(ctxt);
}

static xmlDocPtr cfg_xml_read(struct cfg_errctx *ec, const void *buf, size_t len)
{
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	xmlDocPtr doc;

	if (!ctxt)
		return NULL;
	ctxt->_private = ec;
	ctxt->sax->serror = cfg_parser_sax_error;
	ctxt->sax->internalSubset = cfg_parser_sax_doctype;
	/* NONET: never fetch; no NOENT/DTDLOAD: entities stay unexpanded
	 * references, and documents with a DTD are refused below. */
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, ec->name, NULL,
				XML_PARSE_NONET | XML_PARSE_NOWARNING);
	if (doc && (!ctxt->wellFormed || ec->nr_errors)) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	if (!doc && !ec->nr_errors)
		cfg_diag_add(ec->diag, "%s:0: not a well-formed XML document", ec->name);
	xmlFreeParserCtxt(ctxt);
	return doc;
}

/* Whole-document validation; on failure the explainer's element-by-element
 * messages replace libxml2's when it has any. */
static int cfg_xml_validate(struct cfg_parser *p, struct cfg_errctx *ec, xmlDocPtr doc)
{
	struct cfg_diag whole;
	struct cfg_errctx whole_ec = { .diag = &whole, .name = ec->name };
	xmlRelaxNGValidCtxtPtr vctxt;
	int rc;

	if (doc->intSubset || doc->extSubset) {
		cfg_diag_add(ec->diag, "%s:%d: a DOCTYPE is not allowed in a domain description",
			     ec->name, doc->intSubset ? (int)xmlGetLineNo((xmlNodePtr)doc->intSubset) : 1);
		return -EINVAL;
	}
	vctxt = xmlRelaxNGNewValidCtxt(p->schema);
	if (!vctxt)
		return -ENOMEM;
	cfg_diag_init(&whole);
	xmlRelaxNGSetValidStructuredErrors(vctxt, cfg_xml_error, &whole_ec);
	rc = xmlRelaxNGValidateDoc(vctxt, doc);
	xmlRelaxNGFreeValidCtxt(vctxt);
	if (rc == 0)
		return 0;
	if (rc > 0 && cfg_explain(p->explainer, doc, ec) == 0)
		cfg_diag_move(ec->diag, &whole);
	if (!ec->diag || (!ec->diag->nr && !ec->diag->dropped))
		cfg_diag_add(ec->diag, "%s:1: does not match the domain schema", ec->name);
	cfg_diag_free(&whole);
	return rc < 0 ? -ENOMEM : -EINVAL;
}

int cfg_parse_memory(struct cfg_parser *parser, const char *name, const void *buf,
		     size_t len, struct cfg_domain **out, struct cfg_diag *diag)
{
	struct cfg_errctx ec = { .diag = diag, .name = name ? name : "(memory)" };
	struct cfg_parser *own = NULL;
	xmlDocPtr doc = NULL;
	int rc;

	*out = NULL;
	if (len > CFG_INPUT_MAX) {
		cfg_diag_add(diag, "%s:0: larger than %u bytes; not a domain description",
			     ec.name, CFG_INPUT_MAX);
		return -EINVAL;
	}
	if (!parser) {
		parser = own = cfg_parser_new(diag);
		if (!parser)
			return -ENOMEM;
	}
	doc = cfg_xml_read(&ec, buf, len);
	if (!doc) {
		rc = -EINVAL;
		goto out;
	}
	rc = cfg_xml_validate(parser, &ec, doc);
	if (rc)
		goto out;
	rc = cfg_tree_to_domain(xmlDocGetRootElement(doc), ec.name, out, diag);
out:
	xmlFreeDoc(doc);
	cfg_parser_free(own);
	return rc;
}

static int cfg_read_file(const char *path, char **buf, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > CFG_INPUT_MAX) {
		rc = -EFBIG;
		goto out;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		rc = -ENOMEM;
		goto out;
	}
	*len = 0;
	while ((n = read(fd, *buf + *len, (size_t)st.st_size - *len)) > 0)
		*len += (size_t)n;
	if (n < 0) {
		rc = -errno;
		free(*buf);
		*buf = NULL;
	}
out:
	close(fd);
	return rc;
}

int cfg_parse_file(struct cfg_parser *parser, const char *path,
		   struct cfg_domain **out, struct cfg_diag *diag)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = cfg_read_file(path, &buf, &len);
	if (rc == -EINVAL) {
		cfg_diag_add(diag, "%s: not a regular file", path);
		return rc;
	} else if (rc == -EFBIG) {
		cfg_diag_add(diag, "%s: larger than %u bytes; not a domain description",
			     path, CFG_INPUT_MAX);
		return -EINVAL;
	} else if (rc) {
		cfg_diag_add(diag, "%s: cannot read: %s", path, strerror(-rc));
		return rc;
	}
	rc = cfg_parse_memory(parser, path, buf, len, out, diag);
	free(buf);
	return rc;
}
