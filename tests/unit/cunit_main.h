/* The CUnit registration and run boilerplate every unit-test binary shares.
 * Header-only (static inline) so no build fragment needs another object.
 * A suite is a table of struct cunit_test; cunit_run_all() runs everything in
 * CU_BRM_VERBOSE mode, whose Run Summary tests/run-checks.sh parses. */
#ifndef PV_TESTS_CUNIT_MAIN_H
#define PV_TESTS_CUNIT_MAIN_H

#include <stddef.h>
#include <CUnit/Basic.h>

struct cunit_test {
	const char *name;
	CU_TestFunc fn;
};

/* Registers test_foo as "test_foo" / as "foo" (the name CUnit prints). */
#define CUNIT_TEST(f) { #f, f }
#define CUNIT_TEST_BARE(f) { &(#f)[sizeof("test_") - 1], f }

#define CUNIT_NR(tests) (sizeof(tests) / sizeof((tests)[0]))

static inline CU_pSuite cunit_suite_add(const char *name, CU_InitializeFunc init,
					CU_CleanupFunc clean,
					const struct cunit_test *tests, size_t nr)
{
	CU_pSuite s = CU_add_suite(name, init, clean);

	for (size_t i = 0; s && i < nr; i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
	return s;
}

#define CUNIT_SUITE(name, init, clean, tests) \
	cunit_suite_add(name, init, clean, tests, CUNIT_NR(tests))

/* Runs every registered suite, frees the registry and returns the exit
 * status: 0 when no assertion (or suite set-up) failed, else 1. */
static inline int cunit_run_all(void)
{
	unsigned failed;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

#endif
