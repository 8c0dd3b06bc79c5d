/* SPDX-License-Identifier: MIT */
/* The backend half of the XenbusState handshake, on xenstore-like's client
 * library.  Layout (DESIGN.md): backend /local/domain/0/backend/<type>/<domid>/<id>/,
 * frontend /local/domain/<domid>/device/<type>/<id>/.  Everything read from
 * the frontend's directory is guest-written: it is parsed and range-checked. */
#ifndef PVBACK_BUS_H
#define PVBACK_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "xs_client.h"

#define PVBACK_STATE_INITIALISING 1
#define PVBACK_STATE_INITWAIT     2
#define PVBACK_STATE_INITIALISED  3
#define PVBACK_STATE_CONNECTED    4
#define PVBACK_STATE_CLOSING      5
#define PVBACK_STATE_CLOSED       6

struct pvback_bus_dev {
	struct xs_client *c; /* not owned */
	uint16_t fe_domid;
	uint32_t devid;
	char be[96];
	char fe[96];
};

/* Finds the device's directories; the frontend path the backend directory
 * names must be the guest's own device/<type>/<id> (-EINVAL otherwise). */
int pvback_bus_open(struct pvback_bus_dev *b, struct xs_client *c, const char *type,
		    uint16_t fe_domid, uint32_t devid);
int pvback_bus_set_state(struct pvback_bus_dev *b, int state);
/* 0 (unknown) when missing or malformed. */
int pvback_bus_frontend_state(struct pvback_bus_dev *b);
/* A decimal key in the frontend's directory, <= max. */
int pvback_bus_read_fe_uint(struct pvback_bus_dev *b, const char *key, uint64_t max, uint64_t *out);
/* Waits (watch on the frontend's state) until its state is in
 * [lo, hi]; returns the state or -errno (-ETIMEDOUT). */
int pvback_bus_wait_frontend(struct pvback_bus_dev *b, int lo, int hi, int timeout_ms);

/* Hot-plug helpers for `pvkvm attach-*` / `detach-*`. */
/* The domain id of the guest behind ctl_path (a short attach).  0 or -errno. */
int pvback_guest_domid(const char *ctl_path, uint16_t *domid);
/* Whether /local/domain/<domid>/device/<type>/<dev> names a backend. */
bool pvback_store_dev_exists(struct xs_client *c, const char *type, uint16_t domid, unsigned dev);
/* Removes the device's backend and frontend directories (best effort). */
void pvback_store_rm_device(const char *store_sock, const char *type, uint16_t domid,
			    unsigned dev);

#endif
