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

# --- preambles shared by the integration scripts -----------------------------
# lib_workdir: $work is a fresh temporary directory; at exit every pid a script
# appended to $pids is killed and reaped, then $work is removed.
lib_workdir() {
	work=$(mktemp -d)
	pids=()
	trap lib_cleanup EXIT
}
lib_cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
# need_kvm TEST [WHY]: SKIP TEST and end the script when /dev/kvm is not usable.
need_kvm() { have_kvm || { skip "$1" "${2:-/dev/kvm not usable}"; exit 0; }; }
# need_qemu_kvm TEST: SKIP TEST and end the script without /dev/kvm or QEMU.
need_qemu_kvm() {
	if ! have_kvm || ! command -v qemu-system-x86_64 >/dev/null; then
		skip "$1" "needs /dev/kvm and qemu-system-x86_64"
		exit 0
	fi
}
# need_mini_elf TEST: sets $ELF; FAIL TEST and end the script when the
# mini-guest has not been built.
need_mini_elf() {
	ELF=$B/guest/mini.elf
	[ -f "$ELF" ] || { fail "$1" "$ELF missing (run make)"; exit 0; }
}

# --- running the mini-guest (needs $ELF, $T seconds, $work) ------------------
# mini_qemu OUT MEM APPEND [QEMU ARGS...]: boot on QEMU microvm; output in OUT,
# exit status in OUT.rc (QEMU's isa-debug-exit turns status S into (S<<1)|1).
mini_qemu() {
	local out=$1 mem=$2 append=$3 rc=0; shift 3
	timeout "$T" qemu-system-x86_64 -enable-kvm -cpu host,-arch-capabilities -M microvm \
		-nodefaults -no-reboot -nographic -serial stdio -m "$mem" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$ELF" "$@" -append "$append" \
		</dev/null >"$out" 2>&1 || rc=$?
	echo "$rc" >"$out.rc"
}
# mini_pvkvm NAME APPEND [RUN ARGS...]: `pvkvm -v run` named NAME with 64M;
# output in $work/NAME.out, exit status in $work/NAME.rc.
mini_pvkvm() {
	local name=$1 append=$2 rc=0; shift 2
	timeout "$T" "$PVKVM" -v run --name "$name" --kernel "$ELF" --mem 64M --append "$append" "$@" \
		</dev/null >"$work/$name.out" 2>&1 || rc=$?
	echo "$rc" >"$work/$name.rc"
}
# expect_output TEST OUT STATUS GREP [RCFILE]: PASS when the run whose output
# is OUT exited STATUS (read from RCFILE, default OUT.rc) and printed GREP.
expect_output() {
	local rc why; rc=$(cat "${5:-$2.rc}")
	if [ "$rc" != "$3" ]; then
		why="exit status $rc, want $3"
	elif ! grep -q -- "$4" "$2"; then
		why="no '$4' in output"
	else
		pass "$1"
		return
	fi
	fail "$1" "$why: $(tr -d '\r' <"$2" | tail -n 3 | tr '\n' ' ')"
}
