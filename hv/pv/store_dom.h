/* SPDX-License-Identifier: MIT */
/* A guest's presence in the store, done as domain 0 (Xen's toolstack part):
 * create /local/domain/<domid> owned by the guest, INTRODUCE it
 * (@introduceDomain fires), and open the connection its store ring is
 * proxied over, handed over to the guest's domid so the store applies the
 * guest's permissions and quotas.  RELEASE removes it (@releaseDomain). */
#ifndef HV_PV_STORE_DOM_H
#define HV_PV_STORE_DOM_H

#include <stdint.h>

/* store_sock NULL: the default socket.  *guest_fd: a stream connection acting
 * as domid, for pv_store_proxy_start().  0 or -errno. */
int pv_store_introduce(const char *store_sock, uint16_t domid, uint64_t ring_gfn, uint32_t port,
		       int *guest_fd);
int pv_store_release(const char *store_sock, uint16_t domid);
/* What a dead holder of domid left behind: RELEASE it if the store still
 * thinks it is introduced (@releaseDomain fires) and remove
 * /local/domain/<domid>.  For a VMM that just claimed domid, before it
 * introduces the domain.  0 or -errno. */
int pv_store_forget(const char *store_sock, uint16_t domid);

/* The toolstack half of a PV device: frontend directory
 * /local/domain/<domid>/device/<type>/<id> {backend, backend-id, state=1},
 * owned by the guest and readable by domain 0; backend directory
 * /local/domain/0/backend/<type>/<domid>/<id> {frontend, frontend-id,
 * state=1, and the given extra key/value pairs}, owned by domain 0 and
 * readable by the guest.  One transaction. */
int pv_store_add_device(const char *store_sock, uint16_t domid, const char *type, uint32_t devid,
			const char *const *be_keys, const char *const *be_values, unsigned n);

#endif
