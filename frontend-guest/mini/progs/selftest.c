/* SPDX-License-Identifier: MIT */
/* test=selftest: the guest's own libc (printf formatting, number parsing,
 * string functions) and the page allocator. */
#include "mini/hist.h"

static unsigned failures;

static void expect_fmt(const char *want, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void expect_fmt(const char *want, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (strcmp(buf, want) || n != (int)strlen(want)) {
		printf("selftest: FAIL format \"%s\": got \"%s\" (%d), want \"%s\"\n", fmt, buf, n, want);
		failures++;
	}
}

static void expect(bool ok, const char *what)
{
	if (!ok) {
		printf("selftest: FAIL %s\n", what);
		failures++;
	}
}

static void test_printf(void)
{
	char small[5];

	expect_fmt("42 -7 0", "%d %i %u", 42, -7, 0u);
	expect_fmt("-2147483648", "%d", (int)(-2147483647 - 1));
	expect_fmt("18446744073709551615", "%lu", (unsigned long)-1);
	expect_fmt("-9223372036854775808", "%lld", (long long)(-9223372036854775807ll - 1));
	expect_fmt("ff FF 0x10", "%x %X %p", 255u, 255u, (void *)16);
	expect_fmt("deadbeefcafe", "%lx", 0xdeadbeefcafeul);
	expect_fmt("00042|   42|42   |", "%05d|%5d|%-5d|", 42, 42, 42);
	expect_fmt("-0042", "%05d", -42);
	expect_fmt("0000ff", "%06x", 255u);
	expect_fmt("  abc|ab|x|%", "%5s|%.2s|%c|%%", "abc", "abc", 'x');
	expect_fmt("123 7", "%zu %hhu", (size_t)123, (unsigned char)7);
	expect(snprintf(small, sizeof(small), "%s", "truncated") == 9 && !strcmp(small, "trun"),
	       "snprintf truncates and returns the full length");
}

static void test_parse(void)
{
	uint64_t v = 0;

	expect(!mini_parse_u64("4k", &v) && v == 4096, "parse 4k");
	expect(!mini_parse_u64("1M", &v) && v == 1048576, "parse 1M");
	expect(!mini_parse_u64("2GiB", &v) && v == 2ull << 30, "parse 2GiB");
	expect(!mini_parse_u64("0x1f", &v) && v == 31, "parse 0x1f");
	expect(mini_parse_u64("", &v) == -1, "parse empty fails");
	expect(mini_parse_u64("12q", &v) == -1, "parse junk suffix fails");
	expect(mini_parse_u64("k", &v) == -1, "parse bare suffix fails");
	expect(mini_parse_u64("99999999999999999999", &v) == -1, "parse overflow fails");
	expect(mini_parse_u64("17179869184g", &v) == -1, "parse suffix overflow fails");
}

static void test_string(void)
{
	char buf[16] = "abcdef";

	memmove(buf + 2, buf, 6);
	expect(!memcmp(buf, "ababcdef", 8), "memmove overlapping forward");
	memmove(buf, buf + 2, 6);
	expect(!memcmp(buf, "abcdefef", 8), "memmove overlapping backward");
	expect(strcmp("a", "b") < 0 && strcmp("b", "a") > 0 && !strcmp("x", "x"), "strcmp order");
	expect(strchr("key=v", '=') && !strchr("key", '='), "strchr");
}

static void test_pages(void)
{
	size_t before = mini_pages_free_count();
	uint8_t *a = mini_pages_alloc(1), *b = mini_pages_alloc(256), *c;

	expect(a && b && (uintptr_t)a % MINI_PAGE_SIZE == 0 && (uintptr_t)b % MINI_PAGE_SIZE == 0,
	       "page allocations are page-aligned");
	expect(b && (b + 256 * MINI_PAGE_SIZE <= a || a + MINI_PAGE_SIZE <= b),
	       "allocations do not overlap");
	expect(mini_pages_free_count() == before - 257, "free count drops by what was taken");
	if (b) {
		bool zero = true;

		for (size_t i = 0; i < 256 * MINI_PAGE_SIZE; i++)
			zero &= b[i] == 0;
		expect(zero, "allocated pages are zeroed");
		memset(b, 0xa5, 256 * MINI_PAGE_SIZE);
		mini_pages_free(b, 256);
	}
	c = mini_pages_alloc(256);
	expect(c == b, "a freed run is reused first");
	expect(c && c[0] == 0 && c[256 * MINI_PAGE_SIZE - 1] == 0, "reused pages are zeroed again");
	mini_pages_free(c, 256);
	mini_pages_free(a, 1);
	expect(mini_pages_free_count() == before, "everything freed comes back");
	expect(mini_pages_alloc(before + 1) == NULL, "an impossible allocation fails");
	expect(mini_pages_free_count() == before, "a failed allocation takes nothing");
}

/* Every RAM range of the memory map (above 1 MiB, below the map's end) is
 * mapped and writable: probe its first, middle and last word, then restore. */
static void test_ram_mapped(void)
{
	for (unsigned i = 0; i < mini_boot.nr_memmap; i++) {
		const struct mini_mem_range *m = &mini_boot.memmap[i];
		uint64_t probes[3] = { m->addr, m->addr + m->size / 2, m->addr + m->size - 8 };

		if (m->type != 1 || m->addr < (1u << 20) || m->size < 8 ||
		    m->addr + m->size > mini_mm_mapped_top())
			continue;
		for (unsigned p = 0; p < 3; p++) {
			volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)(probes[p] & ~7ull);
			uint64_t saved = *w;

			*w = ~saved;
			expect(*w == ~saved, "RAM word reads back what was written");
			*w = saved;
		}
	}
}

static void test_hist(void)
{
	static struct mini_hist h;
	uint64_t p50, p99;

	mini_hist_init(&h);
	for (uint64_t v = 1; v <= 100000; v++)
		mini_hist_add(&h, v);
	p50 = mini_hist_percentile(&h, 50);
	p99 = mini_hist_percentile(&h, 99);
	expect(h.count == 100000 && h.min == 1 && h.max == 100000 && h.sum == 5000050000ull,
	       "histogram count/min/max/sum are exact");
	expect(p50 > 50000 * 97 / 100 && p50 < 50000 * 103 / 100, "histogram p50 within 3 %");
	expect(p99 > 99000 * 97 / 100 && p99 < 99000 * 103 / 100, "histogram p99 within 3 %");
	expect(mini_hist_percentile(&h, 100) == 100000, "histogram p100 is the max");
	mini_hist_init(&h);
	mini_hist_add(&h, 7);
	expect(mini_hist_percentile(&h, 50) == 7 && mini_hist_percentile(&h, 99) == 7,
	       "one sample is every percentile");
	mini_hist_add(&h, UINT64_MAX);
	expect(h.max == UINT64_MAX, "the largest value fits a bucket");
}

static int selftest_main(const char *arg)
{
	(void)arg;
	test_printf();
	test_parse();
	test_string();
	test_pages();
	test_hist();
	test_ram_mapped();
	if (failures) {
		printf("selftest: %u failures\n", failures);
		return MINI_EXIT_FAIL;
	}
	printf("selftest OK\n");
	return MINI_EXIT_OK;
}
MINI_PROGRAM(selftest, "selftest", "check the guest's printf, parsing, strings, page allocator, histogram",
	     selftest_main);
