/* SPDX-License-Identifier: MIT */
/* Better schema messages.  libxml2's RelaxNG validator gives up on an
 * <interleave> with "Extra element X in interleave" and no line, which is
 * most of domain XML.  When a document fails, this walks it and validates
 * each element alone against its own define (domain.rng names them
 * PARENT.ELEMENT), descending to the innermost element that is wrong, and
 * reports unknown, duplicated and missing children by name and line. */
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "cfg_priv.h"

#define EXPLAIN_DEFINES_MAX 96
#define EXPLAIN_KEY_MAX 48

struct explain_define {
	char key[EXPLAIN_KEY_MAX];     /* "disk.target" */
	xmlRelaxNGPtr schema;          /* compiled on first use */
	bool failed;                   /* compiling it failed: do not retry */
};

struct cfg_explainer {
	xmlDocPtr rng;                 /* the schema text as a tree, to derive from */
	struct explain_define def[EXPLAIN_DEFINES_MAX];
	int nr;
};

/* Required children, beyond what the define of each child can say. */
static const struct { const char *parent; const char *child; } explain_required[] = {
	{ "domain", "name" }, { "domain", "memory" }, { "domain", "os" },
	{ "disk", "source" }, { "disk", "target" }, { "interface", "target" },
};

static xmlNodePtr rng_child(xmlNodePtr n, const char *name)
{
	for (n = n ? n->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name))
			return n;
	return NULL;
}

struct cfg_explainer *cfg_explainer_new(void)
{
	struct cfg_explainer *ex = calloc(1, sizeof(*ex));
	xmlNodePtr root;

	if (!ex)
		return NULL;
	ex->rng = xmlReadMemory((const char *)cfg_schema_rng, (int)cfg_schema_rng_len,
				"domain.rng", NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
	root = ex->rng ? xmlDocGetRootElement(ex->rng) : NULL;
	for (xmlNodePtr n = root ? root->children : NULL; n; n = n->next) {
		xmlChar *name;

		if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "define"))
			continue;
		name = xmlGetProp(n, (const xmlChar *)"name");
		if (name && strchr((const char *)name, '.') && ex->nr < EXPLAIN_DEFINES_MAX &&
		    strlen((const char *)name) < EXPLAIN_KEY_MAX)
			strcpy(ex->def[ex->nr++].key, (const char *)name);
		xmlFree(name);
	}
	return ex;
}

void cfg_explainer_free(struct cfg_explainer *ex)
{
	if (!ex)
		return;
	for (int i = 0; i < ex->nr; i++)
		xmlRelaxNGFree(ex->def[i].schema);
	xmlFreeDoc(ex->rng);
	free(ex);
}

static struct explain_define *explain_find(struct cfg_explainer *ex, const char *parent,
					   const char *child)
{
	char key[EXPLAIN_KEY_MAX];

	if ((size_t)snprintf(key, sizeof(key), "%s.%s", parent, child) >= sizeof(key))
		return NULL;
	for (int i = 0; i < ex->nr; i++)
		if (!strcmp(ex->def[i].key, key))
			return &ex->def[i];
	return NULL;
}

static bool explain_parent_known(struct cfg_explainer *ex, const char *parent)
{
	size_t len = strlen(parent);

	for (int i = 0; i < ex->nr; i++)
		if (!strncmp(ex->def[i].key, parent, len) && ex->def[i].key[len] == '.')
			return true;
	return false;
}

/* The grammar with <start><ref name=KEY/></start>, compiled. */
static xmlRelaxNGPtr explain_schema(struct cfg_explainer *ex, struct explain_define *def)
{
	xmlDocPtr copy;
	xmlNodePtr start, ref;
	xmlRelaxNGParserCtxtPtr pctxt;

	if (def->schema || def->failed)
		return def->schema;
	def->failed = true;
	copy = xmlCopyDoc(ex->rng, 1);
	start = copy ? rng_child(xmlDocGetRootElement(copy), "start") : NULL;
	if (!start)
		goto out;
	while (start->children) {
		xmlNodePtr c = start->children;

		xmlUnlinkNode(c);
		xmlFreeNode(c);
	}
	ref = xmlNewChild(start, start->ns, (const xmlChar *)"ref", NULL);
	if (!ref || !xmlSetProp(ref, (const xmlChar *)"name", (const xmlChar *)def->key))
		goto out;
	pctxt = xmlRelaxNGNewDocParserCtxt(copy);
	if (pctxt) {
		def->schema = xmlRelaxNGParse(pctxt);
		xmlRelaxNGFreeParserCtxt(pctxt);
	}
	def->failed = def->schema == NULL;
out:
	xmlFreeDoc(copy);
	return def->schema;
}

/* What a text-content element holds, for values the schema refused. */
static const struct { const char *key, *expect; } explain_hints[] = {
	{ "domain.name", "1-64 characters from A-Z a-z 0-9 _ . + -" },
	{ "domain.uuid", "32 hex digits, as 4dea22b3-1d52-d8f3-2516-782e98ab3fa0" },
	{ "domain.memory", "a whole number (unit='KiB' by default)" },
	{ "domain.vcpu", "a whole number from 1 to 255" },
	{ "domain.on_poweroff", "destroy or restart" },
	{ "domain.on_reboot", "destroy or restart" },
	{ "domain.on_crash", "destroy or restart" },
	{ "os.type", "pvh, linux or hvm" },
	{ "os.kernel", "an absolute path" },
	{ "os.initrd", "an absolute path" },
	{ "os.loader", "an absolute path" },
	{ "os.cmdline", "one line of at most 4095 characters" },
	{ "iotune.total_bytes_sec", "a whole number" }, { "iotune.read_bytes_sec", "a whole number" },
	{ "iotune.write_bytes_sec", "a whole number" }, { "iotune.total_iops_sec", "a whole number" },
	{ "iotune.read_iops_sec", "a whole number" }, { "iotune.write_iops_sec", "a whole number" },
};

static const char *explain_hint(const char *key)
{
	for (size_t i = 0; i < sizeof(explain_hints) / sizeof(explain_hints[0]); i++)
		if (!strcmp(explain_hints[i].key, key))
			return explain_hints[i].expect;
	return NULL;
}

/* Replace libxml2's two-line "Error validating datatype/value" + "Element X
 * failed to validate content" by one line saying what the value should be. */
static int explain_value(xmlNodePtr node, const char *hint, struct cfg_diag *own,
			 struct cfg_errctx *ec)
{
	xmlChar *text;
	int nr = 0;

	for (unsigned int i = 0; i < own->nr; i++)
		if (strstr(own->msg[i], "Invalid attribute") || strstr(own->msg[i], "Expecting")) {
			cfg_diag_add(ec->diag, "%s", own->msg[i]);
			nr++;
		}
	if (nr)
		return nr;
	text = xmlNodeGetContent(node);
	cfg_diag_add(ec->diag, "%s:%ld: <%s>: '%.60s' is not valid; expected %s", ec->name,
		     xmlGetLineNo(node), node->name, text ? (const char *)text : "", hint);
	xmlFree(text);
	return 1;
}

static int explain_line(xmlNodePtr n)
{
	long l = xmlGetLineNo(n);

	return l > 0 && l < 0x7fffffff ? (int)l : 0;
}

/* Validate node alone; its messages go to ec. Returns true when valid. */
static bool explain_validate_alone(xmlRelaxNGPtr schema, xmlNodePtr node, struct cfg_errctx *ec)
{
	xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNodePtr copy = doc ? xmlDocCopyNode(node, doc, 1) : NULL;
	xmlRelaxNGValidCtxtPtr vctxt = NULL;
	bool ok = true; /* when we cannot tell, say nothing */

	if (!copy)
		goto out;
	xmlDocSetRootElement(doc, copy);
	vctxt = xmlRelaxNGNewValidCtxt(schema);
	if (!vctxt)
		goto out;
	xmlRelaxNGSetValidStructuredErrors(vctxt, cfg_xml_error, ec);
	ok = xmlRelaxNGValidateDoc(vctxt, doc) == 0;
out:
	xmlRelaxNGFreeValidCtxt(vctxt);
	xmlFreeDoc(doc);
	return ok;
}

static int explain_element(struct cfg_explainer *ex, xmlNodePtr node,
			   struct explain_define *def, struct cfg_errctx *ec);

static void explain_allowed(struct cfg_explainer *ex, const char *parent, char *buf, size_t len)
{
	size_t plen = strlen(parent), used = 0;

	buf[0] = '\0';
	for (int i = 0; i < ex->nr && used < len; i++)
		if (!strncmp(ex->def[i].key, parent, plen) && ex->def[i].key[plen] == '.')
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
						 ex->def[i].key + plen + 1);
}

static int explain_children(struct cfg_explainer *ex, xmlNodePtr node, struct cfg_errctx *ec)
{
	const char *pname = (const char *)node->name;
	int nr = 0;

	if (!explain_parent_known(ex, pname))
		return 0;
	for (xmlNodePtr c = node->children; c; c = c->next) {
		struct explain_define *def;
		char allowed[400];

		if (c->type != XML_ELEMENT_NODE)
			continue;
		def = explain_find(ex, pname, (const char *)c->name);
		if (!def) {
			explain_allowed(ex, pname, allowed, sizeof(allowed));
			cfg_diag_add(ec->diag, "%s:%d: unexpected element <%s> in <%s>; expected one of: %s",
				     ec->name, explain_line(c), c->name, pname, allowed);
			nr++;
			continue;
		}
		for (xmlNodePtr p = node->children; p != c && strcmp(pname, "devices"); p = p->next) {
			if (p->type == XML_ELEMENT_NODE && !strcmp((const char *)p->name,
								    (const char *)c->name)) {
				cfg_diag_add(ec->diag, "%s:%d: <%s> appears again in <%s> (first on line %d); expected once",
					     ec->name, explain_line(c), c->name, pname, explain_line(p));
				nr++;
				break;
			}
		}
		nr += explain_element(ex, c, def, ec);
	}
	for (size_t i = 0; i < sizeof(explain_required) / sizeof(explain_required[0]); i++) {
		if (strcmp(explain_required[i].parent, pname) || rng_child(node, explain_required[i].child))
			continue;
		cfg_diag_add(ec->diag, "%s:%d: <%s> lacks a <%s> element", ec->name,
			     explain_line(node), pname, explain_required[i].child);
		nr++;
	}
	return nr;
}

/* Messages for node: its children's when some child is at fault, else its own. */
static int explain_element(struct cfg_explainer *ex, xmlNodePtr node,
			   struct explain_define *def, struct cfg_errctx *ec)
{
	struct cfg_diag own;
	struct cfg_errctx own_ec = { .diag = &own, .name = ec->name };
	xmlRelaxNGPtr schema = explain_schema(ex, def);
	int nr;

	if (!schema)
		return 0;
	cfg_diag_init(&own);
	if (explain_validate_alone(schema, node, &own_ec)) {
		cfg_diag_free(&own);
		return 0;
	}
	nr = explain_children(ex, node, ec);
	if (!nr && explain_hint(def->key)) {
		nr = explain_value(node, explain_hint(def->key), &own, ec);
	} else if (!nr) {
		nr = (int)own.nr;
		cfg_diag_move(ec->diag, &own);
	}
	cfg_diag_free(&own);
	return nr;
}

int cfg_explain(struct cfg_explainer *ex, xmlDocPtr doc, struct cfg_errctx *ec)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	xmlChar *type;
	int nr = 0;

	if (!ex || !root)
		return 0;
	if (strcmp((const char *)root->name, "domain")) {
		cfg_diag_add(ec->diag, "%s:%d: expected the root element <domain type='pvkvm'>, got <%s>",
			     ec->name, explain_line(root), root->name);
		return 1;
	}
	type = xmlGetProp(root, (const xmlChar *)"type");
	if (!type || strcmp((const char *)type, "pvkvm")) {
		cfg_diag_add(ec->diag, "%s:%d: <domain> needs type='pvkvm'%s%s%s", ec->name,
			     explain_line(root), type ? " (got '" : "", type ? (const char *)type : "",
			     type ? "')" : "");
		nr++;
	}
	xmlFree(type);
	return nr + explain_children(ex, root, ec);
}
