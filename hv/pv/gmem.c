/* SPDX-License-Identifier: MIT */
/* Guest memory bounds checks shared by the VMM and the backend library. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gmem.h"

int pv_gmem_layout_check(const struct pv_gmem_range *r, uint32_t nr, uint64_t map_size)
{
	if (nr == 0 || nr > PV_GMEM_MAX_RANGES)
		return -EINVAL;
	for (uint32_t i = 0; i < nr; i++) {
		if ((r[i].gpa | r[i].size | r[i].offset) & 4095 || r[i].size == 0)
			return -EINVAL;
		if (r[i].gpa + r[i].size < r[i].gpa || r[i].offset > map_size ||
		    r[i].size > map_size - r[i].offset)
			return -EINVAL;
		for (uint32_t j = 0; j < i; j++)
			if (r[i].gpa < r[j].gpa + r[j].size && r[j].gpa < r[i].gpa + r[i].size)
				return -EINVAL;
	}
	return 0;
}

int pv_gmem_init(struct pv_gmem *g, void *base, uint64_t map_size,
		 const struct pv_gmem_range *r, uint32_t nr)
{
	int err = pv_gmem_layout_check(r, nr, map_size);

	if (err)
		return err;
	memset(g, 0, sizeof(*g));
	g->base = base;
	g->map_size = map_size;
	g->memfd = -1;
	g->nr = nr;
	memcpy(g->r, r, nr * sizeof(*r));
	return 0;
}

int pv_gmem_open(struct pv_gmem *g, int memfd, uint64_t size,
		 const struct pv_gmem_range *r, uint32_t nr)
{
	void *p;
	int err;

	if (size == 0 || size > (UINT64_C(1) << 46))
		return -EINVAL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (p == MAP_FAILED)
		return -errno;
	err = pv_gmem_init(g, p, size, r, nr);
	if (err) {
		munmap(p, size);
		return err;
	}
	g->memfd = memfd;
	g->owned = true;
	return 0;
}

void pv_gmem_close(struct pv_gmem *g)
{
	if (g->owned) {
		munmap(g->base, g->map_size);
		if (g->memfd >= 0)
			close(g->memfd);
	}
	memset(g, 0, sizeof(*g));
	g->memfd = -1;
}

void *pv_gmem_ptr(const struct pv_gmem *g, uint64_t gpa, uint64_t len)
{
	for (uint32_t i = 0; i < g->nr; i++) {
		const struct pv_gmem_range *r = &g->r[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return g->base + r->offset + (gpa - r->gpa);
	}
	return NULL;
}

int pv_gmem_read(const struct pv_gmem *g, uint64_t gpa, void *buf, uint64_t len)
{
	const void *p = pv_gmem_ptr(g, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int pv_gmem_write(const struct pv_gmem *g, uint64_t gpa, const void *buf, uint64_t len)
{
	void *p = pv_gmem_ptr(g, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}
