# tests/: conventions shared by every part's tests.
#   CUnit binaries go to $(B)/tests/ and are appended to UNIT_TESTS by the
#   fragment of the part they test; link them with $(CUNIT_LDLIBS).
#   Integration scripts live in tests/integration/, source tests/lib.sh, print
#   PASS/FAIL/SKIP lines, and are appended to CHECK_SCRIPTS.
CUNIT_LDLIBS := -lcunit
APT_DEPS += coreutils
