/* SPDX-License-Identifier: MIT */
/* Per-guest entries in the run directory ($PVKVM_RUN_DIR, default /run/pvkvm
 * as root, else $XDG_RUNTIME_DIR/pvkvm):
 *   <name>.pid      the VMM's pid; the VMM holds an flock on it while alive
 *   <name>.info     key=value lines: pid, mem_mib, vcpus, console, kernel
 *   <name>.console  path of the console pty (when the console is a pty)
 *   <name>.ctl      reserved for the control socket (hv/pv/)
 *   <name>.log      VMM messages of a --daemonize'd guest
 *   domid/<N>.lock  domain id N: held (flock) by the guest that has it
 *   store.sock      the store (pvkvm-stored, or a guest's embedded store)
 *   store.lock      taken while a `pvkvm run` looks for a store or embeds one
 *   store-state/    the embedded store's journal and snapshot */
#ifndef HV_RUNDIR_H
#define HV_RUNDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hv_rundir_entry {
	char dir[256];
	char name[64];
	int pid_fd; /* locked while the guest runs */
	int domid_fd; /* domid/<domid>.lock, locked while the guest runs; -1 none */
	uint16_t domid;
};

/* Highest domain id handed out (Xen's DOMID_FIRST_RESERVED - 1 is 0x7fef;
 * we stop well below: the claim scans the lock files in order). */
#define HV_DOMID_MAX 1023

/* The run directory path (created on demand); -errno. */
int hv_rundir_path(char *buf, size_t len, bool create);
/* A guest name is [A-Za-z0-9_.-], 1..47 characters, not starting with '.'. */
bool hv_guest_name_valid(const char *name);
/* Claims <name>.pid; -EEXIST when a live guest holds it. */
int hv_rundir_claim(struct hv_rundir_entry *e, const char *name);
int hv_rundir_write(const struct hv_rundir_entry *e, const char *suffix, const char *text);
void hv_rundir_release(struct hv_rundir_entry *e);
/* Claims the lowest free domain id from 1: the first domid/<N>.lock this
 * process can flock exclusively.  The kernel drops the lock when the process
 * dies, so a killed guest's id is free again; two processes can never hold
 * the same one.  Sets e->domid; -EAGAIN when all HV_DOMID_MAX are taken. */
int hv_rundir_claim_domid(struct hv_rundir_entry *e);
/* Builds "<dir>/<name><suffix>". */
int hv_rundir_file(char *buf, size_t len, const char *name, const char *suffix);
/* pid of the live guest called name, or -ESRCH (stale or absent). */
int hv_rundir_live_pid(const char *name, pid_t *pid);

#endif
