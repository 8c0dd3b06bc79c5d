/* SPDX-License-Identifier: MIT */
/* Device discovery under device/ and the frontend half of the XenbusState
 * handshake, on the store client.  Layout (DESIGN.md): frontend
 * device/<type>/<id>/{backend, backend-id, state, ...}, backend
 * /local/domain/0/backend/<type>/<domid>/<id>/{state, ...}. */
#ifndef PVFRONT_BUS_H
#define PVFRONT_BUS_H

#include "pvfront_xs.h"

#define PVFRONT_STATE_UNKNOWN       0
#define PVFRONT_STATE_INITIALISING  1
#define PVFRONT_STATE_INITWAIT      2
#define PVFRONT_STATE_INITIALISED   3
#define PVFRONT_STATE_CONNECTED     4
#define PVFRONT_STATE_CLOSING       5
#define PVFRONT_STATE_CLOSED        6

struct pvfront_dev {
	char nodename[48];  /* device/<type>/<id> */
	char backend[112];  /* the backend's directory, from the store */
	uint16_t backend_id;
	uint32_t id;
};

/* Fills up to max devices of type ("vbd", "vif"); returns how many. */
int pvfront_bus_discover(struct pvfront_xs *xs, const char *type, struct pvfront_dev *devs,
			 unsigned max);
int pvfront_bus_set_state(struct pvfront_xs *xs, const struct pvfront_dev *dev, int state);
/* The backend's state (0 when unreadable or malformed). */
int pvfront_bus_backend_state(struct pvfront_xs *xs, const struct pvfront_dev *dev);
/* Frontend half of connect: Initialising, publish keys/values and
 * Initialised in one transaction (retried on conflict), wait for the backend
 * to reach Connected (through a watch on its state), then Connected.
 * -EIO if the backend goes to Closing/Closed meanwhile. */
int pvfront_bus_connect(struct pvfront_xs *xs, const struct pvfront_dev *dev,
			const char *const *keys, const char *const *values, unsigned n);
/* Closing, wait for the backend to leave Connected, Closed. */
int pvfront_bus_close(struct pvfront_xs *xs, const struct pvfront_dev *dev);

/* Decimal helpers for keys like ring-ref (no libc). */
int pvfront_utoa(uint64_t v, char *buf, unsigned cap);
int pvfront_atou(const char *s, uint64_t max, uint64_t *out);

#endif
