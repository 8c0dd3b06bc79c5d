/* SPDX-License-Identifier: MIT */
/* Guest memory as the PV platform sees it: one memfd, mapped once, with a
 * layout of guest-physical ranges at offsets into it.  The VMM and the backend
 * library both use this (the control socket ships the layout and the fd), so
 * every guest address goes through the same bounds check. */
#ifndef HV_PV_GMEM_H
#define HV_PV_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PV_GMEM_MAX_RANGES 8

struct pv_gmem_range {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset; /* into the memfd */
};

struct pv_gmem {
	uint8_t *base;      /* mapping of the whole memfd (MAP_SHARED) */
	uint64_t map_size;
	int memfd;          /* -1 when the mapping is not owned by this struct */
	bool owned;         /* pv_gmem_close() unmaps and closes */
	uint32_t nr;
	struct pv_gmem_range r[PV_GMEM_MAX_RANGES];
};

/* Validates a layout (ranges page-aligned, inside [0, map_size), GPA ranges
 * not overlapping or wrapping).  0 or -EINVAL. */
int pv_gmem_layout_check(const struct pv_gmem_range *r, uint32_t nr, uint64_t map_size);
/* Wraps an existing mapping (the VMM's); nothing is freed by close. */
int pv_gmem_init(struct pv_gmem *g, void *base, uint64_t map_size,
		 const struct pv_gmem_range *r, uint32_t nr);
/* Maps memfd (size bytes, MAP_SHARED) and takes ownership of the fd. */
int pv_gmem_open(struct pv_gmem *g, int memfd, uint64_t size,
		 const struct pv_gmem_range *r, uint32_t nr);
void pv_gmem_close(struct pv_gmem *g);
/* Host pointer for [gpa, gpa+len) if wholly inside one RAM range, else NULL. */
void *pv_gmem_ptr(const struct pv_gmem *g, uint64_t gpa, uint64_t len);
static inline bool pv_gmem_gfn_ok(const struct pv_gmem *g, uint64_t gfn)
{
	return gfn < (UINT64_MAX >> 12) && pv_gmem_ptr(g, gfn << 12, 4096) != NULL;
}
/* Copy in/out with the bounds check: 0 or -EFAULT. */
int pv_gmem_read(const struct pv_gmem *g, uint64_t gpa, void *buf, uint64_t len);
int pv_gmem_write(const struct pv_gmem *g, uint64_t gpa, const void *buf, uint64_t len);

#endif
