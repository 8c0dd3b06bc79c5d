/* SPDX-License-Identifier: MIT */
/* The store of `pvkvm run` (--store auto|embedded|daemon): the pvkvm-stored
 * answering on <run dir>/store.sock, or the store library run as a thread of
 * this process, listening on that same socket (so `pvkvm store`, backends
 * and other guests reach it) with its state in <run dir>/store-state/.
 * An embedded store lives as long as the guest process that started it. */
#ifndef HV_RUN_STORE_H
#define HV_RUN_STORE_H

#include <stdbool.h>
#include <stddef.h>

enum hv_store_mode {
	HV_STORE_AUTO,     /* the daemon if one answers, else embed one */
	HV_STORE_EMBEDDED, /* embed; error if a store already answers */
	HV_STORE_DAEMON,   /* the daemon; error if none answers */
};

struct hv_store;

/* "auto", "embedded", "daemon"; -EINVAL otherwise. */
int hv_store_mode_parse(const char *s, enum hv_store_mode *mode);
/* Finds or embeds the store for run directory dir.  0, or -errno with a
 * one-line reason in err. */
int hv_store_open(enum hv_store_mode mode, const char *dir, struct hv_store **out, char *err,
		  size_t errlen);
const char *hv_store_socket(const struct hv_store *st);
bool hv_store_embedded(const struct hv_store *st);
/* Stops an embedded store (its socket goes); NULL is fine. */
void hv_store_close(struct hv_store *st);

#endif
