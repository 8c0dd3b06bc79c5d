/* SPDX-License-Identifier: MIT */
/*
 * Page allocator: a bitmap over the identity-mapped low 4 GiB (1 = used),
 * first-fit for physically contiguous runs (device buffers need them).
 * Free pages come from the PVH memory map's RAM ranges above 1 MiB, minus the
 * image, the boot modules and the start info.
 */
#include "mini/mini.h"

#define MAPPED_TOP (4ull << 30)      /* what entry.S maps */
#define LOW_SKIP (1ull << 20)        /* firmware, start info, real-mode junk */
#define NR_PAGES (MAPPED_TOP / MINI_PAGE_SIZE)
#define WORD_BITS 64

static uint64_t bitmap[NR_PAGES / WORD_BITS];
static size_t nr_free, nr_total, hint;

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

/* Page frame range [*first, *end) fully inside [addr, addr+size), clamped to what we map. */
static bool range_to_pfns(uint64_t addr, uint64_t size, bool inner, size_t *first, size_t *end)
{
	uint64_t lo = addr, hi = addr + size;

	if (hi < lo || hi > MAPPED_TOP)
		hi = MAPPED_TOP;
	if (lo >= hi)
		return false;
	if (inner) {
		lo = (lo + MINI_PAGE_SIZE - 1) / MINI_PAGE_SIZE;
		hi = hi / MINI_PAGE_SIZE;
	} else {
		lo = lo / MINI_PAGE_SIZE;
		hi = (hi + MINI_PAGE_SIZE - 1) / MINI_PAGE_SIZE;
	}
	*first = (size_t)lo;
	*end = (size_t)hi;
	return lo < hi;
}

void mini_mm_init(const struct mini_mem_range *map, unsigned n,
		  const struct mini_mem_range *reserved, unsigned nr_reserved)
{
	size_t first, end;

	memset(bitmap, 0xff, sizeof(bitmap));
	nr_free = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t addr = map[i].addr, size = map[i].size;

		if (map[i].type != 1)
			continue;
		if (addr < LOW_SKIP) {
			if (addr + size <= LOW_SKIP)
				continue;
			size -= LOW_SKIP - addr;
			addr = LOW_SKIP;
		}
		if (range_to_pfns(addr, size, true, &first, &end))
			mark(first, end - first, false);
	}
	for (unsigned i = 0; i < nr_reserved; i++)
		if (range_to_pfns(reserved[i].addr, reserved[i].size, false, &first, &end))
			mark(first, end - first, true);
	nr_total = nr_free;
	hint = LOW_SKIP / MINI_PAGE_SIZE;
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
	pfn = find_run(hint, NR_PAGES, n);
	if (!pfn)
		pfn = find_run(LOW_SKIP / MINI_PAGE_SIZE, NR_PAGES, n);
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

	if (!p || (uintptr_t)p % MINI_PAGE_SIZE || pfn + n > NR_PAGES) {
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
