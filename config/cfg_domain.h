/* SPDX-License-Identifier: MIT */
/* The guest description: a libvirt-style domain XML file parsed into a plain
 * struct.  Three steps, kept apart so the VMM can parse without touching the
 * disk and tests can check each rule alone:
 *
 *   cfg_parse_file()/cfg_parse_memory()  well-formed XML, RelaxNG schema
 *                                         (config/domain.rng, compiled in),
 *                                         values into struct cfg_domain
 *   cfg_domain_check()                    semantic rules: host memory, files,
 *                                         duplicates, image formats, kernel kind
 *   cfg_domain_write()                    back to XML (parse -> write -> parse
 *                                         gives an equal struct)
 *
 * Every value in struct cfg_domain is resolved: defaults are filled in, so a
 * reader never needs to know what the XML left out.  Errors are collected in a
 * struct cfg_diag, one line each, "FILE:LINE: what was wrong/expected". */
#ifndef CFG_DOMAIN_H
#define CFG_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CFG_NAME_MAX 64       /* domain name, bytes without NUL */
#define CFG_VCPUS_MAX 255
#define CFG_DISKS_MAX 64
#define CFG_NICS_MAX 32
#define CFG_INPUT_MAX (1u << 20) /* largest XML document accepted, bytes */

enum cfg_action { CFG_ACTION_DESTROY = 0, CFG_ACTION_RESTART };
enum cfg_disk_type { CFG_DISK_FILE = 0, CFG_DISK_BLOCK };
enum cfg_disk_format { CFG_FORMAT_RAW = 0, CFG_FORMAT_QCOW2 };
enum cfg_disk_io { CFG_IO_URING = 0, CFG_IO_NATIVE, CFG_IO_THREADS };
enum cfg_disk_cache { CFG_CACHE_NONE = 0, CFG_CACHE_WRITEBACK, CFG_CACHE_UNSAFE };
enum cfg_disk_discard { CFG_DISCARD_IGNORE = 0, CFG_DISCARD_UNMAP };
enum cfg_disk_bus { CFG_BUS_PV = 0, CFG_BUS_NVME };
enum cfg_nic_model { CFG_NIC_PV = 0, CFG_NIC_E1000 };
enum cfg_console_type { CFG_CONSOLE_STDIO = 0, CFG_CONSOLE_PTY, CFG_CONSOLE_FILE };

/* <iotune>: 0 means unlimited.  total_* and read_/write_* of the same kind are
 * mutually exclusive (as in libvirt). */
struct cfg_iotune {
	uint64_t total_bytes_sec, read_bytes_sec, write_bytes_sec;
	uint64_t total_iops_sec, read_iops_sec, write_iops_sec;
};

struct cfg_disk {
	enum cfg_disk_type type;       /* file: regular image; block: block device */
	enum cfg_disk_format format;   /* <driver type=> */
	enum cfg_disk_io io;           /* <driver io=>, default io_uring */
	enum cfg_disk_cache cache;     /* <driver cache=>, default none (O_DIRECT) */
	enum cfg_disk_discard discard; /* <driver discard=>, default ignore */
	enum cfg_disk_bus bus;         /* <target bus=>, default pv */
	char *source;                  /* <source file=|dev=> path */
	char *target;                  /* <target dev=>, unique in the domain */
	bool readonly;                 /* <readonly/> */
	struct cfg_iotune iotune;
	int line;                      /* line of <disk> in the source, for messages */
};

/* libvirt's <bandwidth> units: average/peak in KiB/s, burst in KiB; 0 = unset. */
struct cfg_bandwidth {
	uint64_t average_kibps, peak_kibps, burst_kib;
};

struct cfg_nic {
	char *tap;                     /* <target dev=>: host TAP device name */
	bool has_mac;                  /* false: the VMM picks cfg_nic_default_mac() */
	uint8_t mac[6];
	enum cfg_nic_model model;      /* default pv */
	uint32_t mtu;                  /* default 1500 */
	struct cfg_bandwidth inbound, outbound;
	int line;
};

struct cfg_console {
	enum cfg_console_type type;    /* default stdio */
	char *path;                    /* type file: the log file; else NULL */
	int line;
};

struct cfg_os {
	char *kernel;                  /* PVH ELF or bzImage; NULL only with loader */
	char *initrd;                  /* may be NULL */
	char *cmdline;                 /* may be NULL */
	char *loader;                  /* firmware, may be NULL */
	int kernel_line, initrd_line, loader_line;
};

struct cfg_domain {
	char *name;
	bool has_uuid;
	uint8_t uuid[16];
	uint64_t memory_kib;           /* <memory unit=> converted to KiB (rounded up) */
	unsigned int vcpus;            /* default 1 */
	struct cfg_os os;
	enum cfg_action on_poweroff;   /* default destroy */
	enum cfg_action on_reboot;     /* default restart */
	enum cfg_action on_crash;      /* default destroy */
	struct cfg_disk *disks;
	size_t nr_disks;
	struct cfg_nic *nics;
	size_t nr_nics;
	struct cfg_console console;
	char *file;                    /* where it was parsed from, for messages */
	int memory_line, vcpu_line;
};

/* Collected messages, one line each without trailing newline. */
#define CFG_DIAG_MAX 64
struct cfg_diag {
	char *msg[CFG_DIAG_MAX];
	unsigned int nr;
	unsigned int dropped;          /* messages beyond CFG_DIAG_MAX */
};

void cfg_diag_init(struct cfg_diag *diag);
void cfg_diag_free(struct cfg_diag *diag);
void cfg_diag_add(struct cfg_diag *diag, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print every message, one per line. */
void cfg_diag_print(const struct cfg_diag *diag, FILE *out);
/* True when some message contains needle (for tests). */
bool cfg_diag_contains(const struct cfg_diag *diag, const char *needle);

/* A parser holds the compiled schema; reuse it for many documents.  Not safe
 * for concurrent use from several threads; make one per thread. */
struct cfg_parser;
struct cfg_parser *cfg_parser_new(struct cfg_diag *diag);
void cfg_parser_free(struct cfg_parser *p);

/* Parse and schema-validate.  parser may be NULL (a temporary one is made).
 * Returns 0 and *out (free with cfg_domain_free), or -EINVAL with the reasons
 * in diag, -ENOENT/-EACCES/... when the file cannot be read, -ENOMEM.
 * name labels messages (e.g. the file name). */
int cfg_parse_file(struct cfg_parser *parser, const char *path,
		   struct cfg_domain **out, struct cfg_diag *diag);
int cfg_parse_memory(struct cfg_parser *parser, const char *name,
		     const void *buf, size_t len,
		     struct cfg_domain **out, struct cfg_diag *diag);
void cfg_domain_free(struct cfg_domain *d);

struct cfg_check_opts {
	bool skip_files;               /* skip every check that opens a file */
	uint64_t host_memory_kib;      /* 0: read from sysinfo(2) */
};
/* Semantic rules; returns 0 or -EINVAL with one message per broken rule. */
int cfg_domain_check(const struct cfg_domain *d, const struct cfg_check_opts *opts,
		     struct cfg_diag *diag);

/* cfg_parse_file() then cfg_domain_check(): what `pvkvm run` needs.  opts may
 * be NULL (every check, host memory from sysinfo). */
int cfg_domain_load(const char *path, const struct cfg_check_opts *opts,
		    struct cfg_domain **out, struct cfg_diag *diag);

/* Write d as domain XML (explicit values, unit='KiB').  Returns 0 or -errno. */
int cfg_domain_write(const struct cfg_domain *d, FILE *out);
/* Same into a malloc'ed NUL-terminated buffer. */
int cfg_domain_write_mem(const struct cfg_domain *d, char **buf, size_t *len);

/* Compare the configuration (not file names or line numbers). */
bool cfg_domain_equal(const struct cfg_domain *a, const struct cfg_domain *b);

/* A stable locally administered unicast MAC for NIC index i without <mac>. */
void cfg_nic_default_mac(const struct cfg_domain *d, size_t i, uint8_t mac[6]);

/* Names of enum values as they appear in the XML. */
const char *cfg_action_name(enum cfg_action a);
const char *cfg_disk_format_name(enum cfg_disk_format f);
const char *cfg_disk_io_name(enum cfg_disk_io io);
const char *cfg_disk_cache_name(enum cfg_disk_cache c);
const char *cfg_disk_discard_name(enum cfg_disk_discard d);
const char *cfg_disk_bus_name(enum cfg_disk_bus b);
const char *cfg_nic_model_name(enum cfg_nic_model m);
const char *cfg_console_type_name(enum cfg_console_type t);

/* The schema text, compiled in from config/domain.rng (generated file). */
extern const unsigned char cfg_schema_rng[];
extern const unsigned int cfg_schema_rng_len;

#endif
