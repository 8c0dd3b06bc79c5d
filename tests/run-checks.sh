#!/usr/bin/env bash
# Runs the CUnit binaries given before '--' and the integration scripts after it,
# and ends with one line 'N passed, N failed, N skipped'.
#
# CUnit binaries: counted from the 'tests' row of CUnit's Run Summary.
# Scripts: print 'PASS: name', 'FAIL: name: why' or 'SKIP: name: why' per test
# (tests/lib.sh has helpers); a script that exits non-zero without printing a
# FAIL line counts as one failure.
set -u
B=${B:-build}
passed=0 failed=0 skipped=0
failures=()
per_test_timeout=${PVKVM_TEST_TIMEOUT:-900}

run_unit() {
	local bin=$1 out rc line
	out=$(timeout "$per_test_timeout" "$bin" 2>&1); rc=$?
	printf '%s\n' "$out" | sed 's/^/  /'
	line=$(printf '%s\n' "$out" | awk '$1 == "tests" && NF >= 6 { print; exit }')
	if [ -z "$line" ]; then
		echo "FAIL: $bin: no CUnit summary (exit $rc)"
		failed=$((failed + 1)); failures+=("$bin"); return
	fi
	set -- $line
	passed=$((passed + $4)); failed=$((failed + $5))
	[ "$5" -gt 0 ] && failures+=("$bin")
	if [ "$rc" -ne 0 ] && [ "$5" -eq 0 ]; then
		echo "FAIL: $bin exited $rc"
		failed=$((failed + 1)); failures+=("$bin")
	fi
}

run_script() {
	local s=$1 out rc p f k
	out=$(B=$B timeout "$per_test_timeout" bash "$s" 2>&1); rc=$?
	printf '%s\n' "$out" | sed 's/^/  /'
	p=$(printf '%s\n' "$out" | grep -c '^PASS: ')
	f=$(printf '%s\n' "$out" | grep -c '^FAIL: ')
	k=$(printf '%s\n' "$out" | grep -c '^SKIP: ')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $s exited $rc"
		f=1
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + k))
	[ "$f" -gt 0 ] && failures+=("$s")
}

mode=unit
for t in "$@"; do
	if [ "$t" = "--" ]; then mode=script; continue; fi
	echo "== $t"
	if [ $mode = unit ]; then run_unit "$t"; else run_script "$t"; fi
done

echo
[ ${#failures[@]} -gt 0 ] && echo "failing: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
