# Helpers for integration test scripts (source this file).
# Each test reports exactly one line: PASS/FAIL/SKIP, which tests/run-checks.sh counts.
B=${B:-build}
PVKVM=${PVKVM:-$B/bin/pvkvm}
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: ${2:-}"; }
skip() { echo "SKIP: $1: ${2:-}"; }
# check NAME CMD...: PASS when CMD succeeds, FAIL (with its output) otherwise.
check() {
	local name=$1 out; shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(printf '%s' "$out" | tail -n 5 | tr '\n' ' ')"; fi
}
have_kvm() { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }
