/* SPDX-License-Identifier: MIT */
/*
 * Page allocator: a bitmap over guest-physical pages (1 = used), first-fit
 * for physically contiguous runs (device buffers need them).  Free pages
 * come from the PVH memory map's RAM ranges above 1 MiB, minus the image,
 * the boot modules and the start info.  The bitmap lives in the first RAM
 * that fits it and is sized to the highest RAM address: a 64 MiB guest
 * touches one page for it (a first touch costs ~5 us on a PVM host).
 * entry.S maps the low 4 GiB; map_high_ram adds RAM up to 64 GiB.
 */
#include "mini/mini.h"

#define MAPPED_TOP (64ull << 30)
#define LOW_SKIP (1ull << 20)        /* firmware, start info, real-mode leftovers */
#define WORD_BITS 64

static uint64_t *bitmap;
static size_t nr_pages, nr_free, nr_total, hint;

extern uint64_t mini_pdpt[512];
extern uint64_t mini_pd_high[60][512];

uint64_t mini_mm_mapped_top(void)
{
	return MAPPED_TOP;
}

/*
 * Maps [4 GiB, ram_top) with 2 MiB pages.  The page tables are ordinary
 * user-accessible memory, so CPL3 may extend them; the new PDPT entries were
 * not present before, and x86 caches no not-present entries, so no TLB
 * flush is needed.  The directory is complete before its PDPT entry appears.
 */
static void map_high_ram(uint64_t ram_top)
{
	for (uint64_t g = 4; g < 64 && (g << 30) < ram_top; g++) {
		uint64_t *pd = mini_pd_high[g - 4];

		if (mini_pdpt[g])
			continue;
		for (uint64_t i = 0; i < 512; i++)
			pd[i] = (g << 30) + (i << 21) + 0x87;    /* P | RW | US | PS */
		mini_barrier();
		mini_pdpt[g] = (uintptr_t)pd + 0x7;
	}
}

static bool page_used(size_t pfn)
{
	return bitmap[pfn / WORD_BITS] >> (pfn % WORD_BITS) & 1;
}

static void mark(size_t pfn, size_t n, bool used)
{
	for (size_t i = pfn; i < pfn + n; i++) {
		uint64_t bit = 1ull << (i % WORD_BITS);

		if (used && !(bitmap[i / WORD_BITS] & bit)) {
			bitmap[i / WORD_BITS] |= bit;
			nr_free--;
		} else if (!used && (bitmap[i / WORD_BITS] & bit)) {
			bitmap[i / WORD_BITS] &= ~bit;
			nr_free++;
		}
	}
}

/* Usable part of a RAM range: above LOW_SKIP, below top, whole pages. */
static bool ram_pfns(const struct mini_mem_range *m, uint64_t top, size_t *first, size_t *end)
{
	uint64_t lo = m->addr, hi = m->addr + m->size;

	if (m->type != 1 || hi < lo)
		return false;
	lo = lo < LOW_SKIP ? LOW_SKIP : lo;
	hi = hi > top ? top : hi;
	lo = (lo + MINI_PAGE_SIZE - 1) / MINI_PAGE_SIZE;
	hi /= MINI_PAGE_SIZE;
	*first = (size_t)lo;
	*end = (size_t)hi;
	return lo < hi;
}

static bool overlaps(uint64_t a, uint64_t len, const struct mini_mem_range *r)
{
	return a < r->addr + r->size && r->addr < a + len;
}

/* First page-aligned spot of len bytes in RAM that no reserved range touches. */
static uint64_t place_bitmap(const struct mini_mem_range *map, unsigned n, uint64_t top,
			     const struct mini_mem_range *res, unsigned nr_res, uint64_t len)
{
	for (unsigned i = 0; i < n; i++) {
		size_t first, end;
		uint64_t a;
		bool moved = true;

		if (!ram_pfns(&map[i], top, &first, &end))
			continue;
		a = (uint64_t)first * MINI_PAGE_SIZE;
		while (moved && a + len <= (uint64_t)end * MINI_PAGE_SIZE) {
			moved = false;
			for (unsigned j = 0; j < nr_res; j++) {
				if (overlaps(a, len, &res[j])) {
					a = (res[j].addr + res[j].size + MINI_PAGE_SIZE - 1) &
					    ~(uint64_t)(MINI_PAGE_SIZE - 1);
					moved = true;
				}
			}
		}
		if (!moved && a + len <= (uint64_t)end * MINI_PAGE_SIZE)
			return a;
	}
	return 0;
}

int mini_mm_init(const struct mini_mem_range *map, unsigned n,
		 const struct mini_mem_range *res, unsigned nr_res)
{
	uint64_t top = mini_mm_mapped_top(), ram_top = 0, bytes, at;
	size_t first, end;

	for (unsigned i = 0; i < n; i++)
		if (ram_pfns(&map[i], top, &first, &end) && end * MINI_PAGE_SIZE > ram_top)
			ram_top = (uint64_t)end * MINI_PAGE_SIZE;
	map_high_ram(ram_top);
	nr_pages = (size_t)(ram_top / MINI_PAGE_SIZE);
	bytes = (nr_pages + WORD_BITS - 1) / WORD_BITS * 8;
	at = bytes ? place_bitmap(map, n, top, res, nr_res, bytes) : 0;
	if (!at)
		return -1;
	bitmap = (uint64_t *)(uintptr_t)at;
	memset(bitmap, 0xff, bytes);
	nr_free = 0;
	for (unsigned i = 0; i < n; i++)
		if (ram_pfns(&map[i], top, &first, &end))
			mark(first, end - first, false);
	for (unsigned i = 0; i < nr_res; i++) {
		uint64_t lo = res[i].addr / MINI_PAGE_SIZE;
		uint64_t hi = (res[i].addr + res[i].size + MINI_PAGE_SIZE - 1) / MINI_PAGE_SIZE;

		if (lo < nr_pages)
			mark((size_t)lo, (size_t)((hi < nr_pages ? hi : nr_pages) - lo), true);
	}
	mark((size_t)(at / MINI_PAGE_SIZE), (size_t)((bytes + MINI_PAGE_SIZE - 1) / MINI_PAGE_SIZE), true);
	nr_total = nr_free;
	hint = LOW_SKIP / MINI_PAGE_SIZE;
	return 0;
}

static size_t find_run(size_t from, size_t to, size_t n)
{
	size_t run = 0;

	for (size_t pfn = from; pfn < to; pfn++) {
		if (!run && pfn % WORD_BITS == 0 && bitmap[pfn / WORD_BITS] == UINT64_MAX) {
			pfn += WORD_BITS - 1;
			continue;
		}
		if (page_used(pfn)) {
			run = 0;
			continue;
		}
		if (++run == n)
			return pfn + 1 - n;
	}
	return 0;
}

void *mini_pages_alloc(size_t n)
{
	size_t pfn;

	if (!n || n > nr_free)
		return NULL;
	pfn = find_run(hint, nr_pages, n);
	if (!pfn)
		pfn = find_run(LOW_SKIP / MINI_PAGE_SIZE, nr_pages, n);
	if (!pfn)
		return NULL;
	mark(pfn, n, true);
	hint = pfn + n;
	memset((void *)(uintptr_t)(pfn * MINI_PAGE_SIZE), 0, n * MINI_PAGE_SIZE);
	return (void *)(uintptr_t)(pfn * MINI_PAGE_SIZE);
}

void mini_pages_free(void *p, size_t n)
{
	size_t pfn = (uintptr_t)p / MINI_PAGE_SIZE;

	if (!p || (uintptr_t)p % MINI_PAGE_SIZE || pfn + n > nr_pages || pfn + n < pfn) {
		printf("mini: bad page free %p (%zu pages)\n", p, n);
		mini_exit(MINI_EXIT_FAIL);
	}
	for (size_t i = pfn; i < pfn + n; i++) {
		if (!page_used(i)) {
			printf("mini: double free of page %p\n", (void *)(uintptr_t)(i * MINI_PAGE_SIZE));
			mini_exit(MINI_EXIT_FAIL);
		}
	}
	mark(pfn, n, false);
	if (pfn < hint)
		hint = pfn;
}

size_t mini_pages_free_count(void)
{
	return nr_free;
}

size_t mini_pages_total(void)
{
	return nr_total;
}
