/* SPDX-License-Identifier: MIT */
/* libxml2, loaded on first use instead of at every start.
 *
 * Only `pvkvm run DOMAIN.xml`, `validate` and `check` read XML, but linking
 * libxml2 made every start load it and what it pulls in (ICU, libstdc++,
 * liblzma): 1.1 ms of CPU and ~5 ms of wall time on a loaded host per start
 * (measured: an empty program linked like pvkvm vs without -lxml2).  These
 * definitions of the libxml2 functions config/ calls satisfy the link (with
 * --as-needed, hv/build.mk, libxml2 is then not a load-time dependency);
 * each looks its real function up with dlopen/dlsym on first call.  A
 * libxml2 function missing here still links, against the real library,
 * which is then loaded at start again (`ldd build/bin/pvkvm` shows it).
 *
 * Process-wide state, like the dynamic linker's own: the library handle
 * (pthread_once) and one cached pointer per function (a benign race: every
 * thread stores the same value). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>

#include "pv_command.h"

#define LAZY_XML_LIB "libxml2.so.2"

static pthread_once_t lazy_xml_once = PTHREAD_ONCE_INIT;
static void *lazy_xml_lib;

static void lazy_xml_open(void)
{
	lazy_xml_lib = dlopen(LAZY_XML_LIB, RTLD_NOW | RTLD_LOCAL);
}

static void *lazy_xml_sym(const char *name)
{
	void *p;

	pthread_once(&lazy_xml_once, lazy_xml_open);
	p = lazy_xml_lib ? dlsym(lazy_xml_lib, name) : NULL;
	if (!p) {
		/* Only reachable when the installed libxml2 is missing or broken. */
		fprintf(stderr, "pvkvm: %s: %s\n", LAZY_XML_LIB, dlerror());
		exit(PV_EXIT_HOST);
	}
	return p;
}

/* R NAME(PARAMS) { return real NAME(ARGS); } with the real one looked up once. */
#define LAZY_XML_FN(R, NAME, PARAMS, ARGS)                                            \
	R NAME PARAMS                                                                 \
	{                                                                             \
		static R (*real) PARAMS;                                              \
		R (*f) PARAMS = __atomic_load_n(&real, __ATOMIC_ACQUIRE);             \
		if (!f) {                                                             \
			*(void **)&f = lazy_xml_sym(#NAME);                           \
			__atomic_store_n(&real, f, __ATOMIC_RELEASE);                 \
		}                                                                     \
		return f ARGS;                                                        \
	}

LAZY_XML_FN(xmlDocPtr, xmlReadMemory, (const char *b, int n, const char *url, const char *enc, int o),
	    (b, n, url, enc, o))
LAZY_XML_FN(xmlDocPtr, xmlCtxtReadMemory,
	    (xmlParserCtxtPtr c, const char *b, int n, const char *url, const char *enc, int o),
	    (c, b, n, url, enc, o))
LAZY_XML_FN(xmlParserCtxtPtr, xmlNewParserCtxt, (void), ())
LAZY_XML_FN(void, xmlFreeParserCtxt, (xmlParserCtxtPtr c), (c))
LAZY_XML_FN(void, xmlStopParser, (xmlParserCtxtPtr c), (c))
LAZY_XML_FN(xmlDocPtr, xmlNewDoc, (const xmlChar *v), (v))
LAZY_XML_FN(xmlDocPtr, xmlCopyDoc, (xmlDocPtr d, int rec), (d, rec))
LAZY_XML_FN(void, xmlFreeDoc, (xmlDocPtr d), (d))
LAZY_XML_FN(xmlNodePtr, xmlDocGetRootElement, (const xmlDoc *d), (d))
LAZY_XML_FN(xmlNodePtr, xmlDocSetRootElement, (xmlDocPtr d, xmlNodePtr root), (d, root))
LAZY_XML_FN(xmlNodePtr, xmlDocCopyNode, (xmlNodePtr n, xmlDocPtr d, int ext), (n, d, ext))
LAZY_XML_FN(xmlNodePtr, xmlNewChild, (xmlNodePtr p, xmlNsPtr ns, const xmlChar *name, const xmlChar *c),
	    (p, ns, name, c))
LAZY_XML_FN(void, xmlUnlinkNode, (xmlNodePtr n), (n))
LAZY_XML_FN(void, xmlFreeNode, (xmlNodePtr n), (n))
LAZY_XML_FN(long, xmlGetLineNo, (const xmlNode *n), (n))
LAZY_XML_FN(xmlChar *, xmlGetProp, (const xmlNode *n, const xmlChar *name), (n, name))
LAZY_XML_FN(xmlAttrPtr, xmlSetProp, (xmlNodePtr n, const xmlChar *name, const xmlChar *v), (n, name, v))
LAZY_XML_FN(xmlChar *, xmlNodeGetContent, (const xmlNode *n), (n))
LAZY_XML_FN(xmlRelaxNGParserCtxtPtr, xmlRelaxNGNewMemParserCtxt, (const char *b, int n), (b, n))
LAZY_XML_FN(xmlRelaxNGParserCtxtPtr, xmlRelaxNGNewDocParserCtxt, (xmlDocPtr d), (d))
LAZY_XML_FN(void, xmlRelaxNGSetParserStructuredErrors,
	    (xmlRelaxNGParserCtxtPtr c, xmlStructuredErrorFunc fn, void *ctx), (c, fn, ctx))
LAZY_XML_FN(xmlRelaxNGPtr, xmlRelaxNGParse, (xmlRelaxNGParserCtxtPtr c), (c))
LAZY_XML_FN(void, xmlRelaxNGFreeParserCtxt, (xmlRelaxNGParserCtxtPtr c), (c))
LAZY_XML_FN(void, xmlRelaxNGFree, (xmlRelaxNGPtr s), (s))
LAZY_XML_FN(xmlRelaxNGValidCtxtPtr, xmlRelaxNGNewValidCtxt, (xmlRelaxNGPtr s), (s))
LAZY_XML_FN(void, xmlRelaxNGSetValidStructuredErrors,
	    (xmlRelaxNGValidCtxtPtr c, xmlStructuredErrorFunc fn, void *ctx), (c, fn, ctx))
LAZY_XML_FN(int, xmlRelaxNGValidateDoc, (xmlRelaxNGValidCtxtPtr c, xmlDocPtr d), (c, d))
LAZY_XML_FN(void, xmlRelaxNGFreeValidCtxt, (xmlRelaxNGValidCtxtPtr c), (c))

/* xmlFree is a variable (a function pointer) in libxml2; ours calls theirs.
 * Whatever it frees came from libxml2, so the library is loaded by then. */
static void lazy_xml_free(void *p)
{
	static xmlFreeFunc *real;
	xmlFreeFunc *f = __atomic_load_n(&real, __ATOMIC_ACQUIRE);

	if (!f) {
		f = lazy_xml_sym("xmlFree");
		__atomic_store_n(&real, f, __ATOMIC_RELEASE);
	}
	(*f)(p);
}

xmlFreeFunc xmlFree = lazy_xml_free;
