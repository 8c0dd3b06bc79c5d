#!/usr/bin/env bash
# pvkvm run: bad input, a PVH guest's output and exit status, SIGTERM, a
# triple fault, and the process name.  Uses the tiny guest hv_guest.S.
set -u
. tests/lib.sh
G=$B/tests/hv_guest.elf
export PVKVM_RUN_DIR=$(mktemp -d)
W=$(mktemp -d)
trap 'rm -rf "$W" "$PVKVM_RUN_DIR"' EXIT

need_kvm hv_run "no usable /dev/kvm"

# expect_error NAME PATTERN ARGS...: non-zero exit below 128 (no signal, no
# core dump) and exactly one line on stderr matching PATTERN.
expect_error() {
	local name=$1 pat=$2 rc err; shift 2
	timeout 20 "$PVKVM" run "$@" >"$W/out" 2>"$W/err" </dev/null; rc=$?
	err=$(cat "$W/err")
	if [ $rc -eq 0 ] || [ $rc -ge 124 ]; then fail "$name" "exit $rc: $err"
	elif [ "$(wc -l <"$W/err")" -ne 1 ]; then fail "$name" "want one line on stderr, got: $err"
	elif ! grep -q -- "$pat" "$W/err"; then fail "$name" "want '$pat', got: $err"
	else pass "$name"; fi
}

head -c 3000 /dev/urandom >"$W/random.bin"
printf 'not a kernel\n' >"$W/text"
head -c 600 "$G" >"$W/truncated.elf"
printf 'MZ' | dd of="$W/bz" bs=1 2>/dev/null; dd if=/dev/zero bs=1k count=8 >>"$W/bz" 2>/dev/null
printf 'HdrS' | dd of="$W/bz" bs=1 seek=$((0x202)) conv=notrunc 2>/dev/null
head -c 2048 "$W/bz" >"$W/bz.trunc"
truncate -s 600M "$W/big.initrd"
expect_error test_run_missing_kernel_fails_one_line "No such file" --kernel "$W/nope"
expect_error test_run_unknown_image_format_fails "unknown image format" --kernel "$W/text"
expect_error test_run_random_bytes_fail "unknown image format" --kernel "$W/random.bin"
expect_error test_run_truncated_elf_fails "outside the file" --kernel "$W/truncated.elf"
expect_error test_run_corrupt_bzimage_fails "too old" --kernel "$W/bz"
expect_error test_run_initrd_too_big_fails "initrd too big" --kernel "$G" --mem 64M --initrd "$W/big.initrd"
expect_error test_run_memory_larger_than_host_fails "larger than the host" --kernel "$G" --mem 64T
expect_error test_run_unknown_option_fails "unknown option" --kernel "$G" --frobnicate
expect_error test_run_bad_mem_size_fails "not a size" --kernel "$G" --mem lots
expect_error test_run_bad_smp_fails "not a vCPU count" --kernel "$G" --smp 0
expect_error test_run_bad_console_fails "unknown console" --kernel "$G" --console tty9
expect_error test_run_no_kernel_fails "no kernel" --mem 64M
expect_error test_run_missing_xml_fails "cannot read" "$W/guest.xml"
printf '<domain type="pvkvm"><name>bad</name><memory unit="MiB">64</memory></domain>\n' >"$W/nokernel.xml"
expect_error test_run_invalid_xml_fails_one_line "nokernel.xml" "$W/nokernel.xml"

# A PVH guest prints on COM1 and its debug-exit status reaches the shell.
out=$(timeout 20 "$PVKVM" run --kernel "$G" --append h --mem 32M </dev/null 2>"$W/err"); rc=$?
if [ $rc -eq 42 ] && [ "$out" = "hello from pvh" ]; then pass test_run_pvh_guest_output_and_status
else fail test_run_pvh_guest_output_and_status "exit $rc, output '$out', $(cat "$W/err")"; fi

out=$(timeout 20 "$PVKVM" run --kernel "$G" --append h --mem 4G --smp 2 </dev/null 2>"$W/err"); rc=$?
if [ $rc -eq 42 ]; then pass test_run_4g_guest_with_ram_above_hole_and_2_vcpus
else fail test_run_4g_guest_with_ram_above_hole_and_2_vcpus "exit $rc, $(cat "$W/err")"; fi

# The VM's kernel teardown runs in a reaper after our exit (hv/vm_reaper.c):
# it holds no stdio (the command substitution ends) and is gone soon after.
n=reaper-$$
out=$(timeout 20 "$PVKVM" run --kernel "$G" --append h --mem 64M --name "$n" </dev/null 2>"$W/err"); rc=$?
left=1
for _ in $(seq 100); do pgrep -f "^pvkvm:$n\$" >/dev/null || { left=0; break; }; sleep 0.05; done
if [ $rc -eq 42 ] && [ "$out" = "hello from pvh" ] && [ $left -eq 0 ]; then
	pass test_run_vm_teardown_reaper_gone_after_exit
else fail test_run_vm_teardown_reaper_gone_after_exit "exit $rc, output '$out', left $left: $(pgrep -af "pvkvm:$n")"; fi

# The same guest from a domain XML file (config/ parser).
cat >"$W/guest.xml" <<XML
<domain type='pvkvm'>
  <name>xml-guest</name>
  <memory unit='MiB'>32</memory>
  <os><kernel>$PWD/$G</kernel><cmdline>h</cmdline></os>
</domain>
XML
out=$(timeout 20 "$PVKVM" run "$W/guest.xml" </dev/null 2>"$W/err"); rc=$?
if [ $rc -eq 42 ] && [ "$out" = "hello from pvh" ]; then pass test_run_domain_xml_boots_guest
else fail test_run_domain_xml_boots_guest "exit $rc, output '$out', $(cat "$W/err")"; fi

# Triple fault: reported with registers, distinct status, not hung.
timeout 20 "$PVKVM" run --kernel "$G" --append t --mem 32M </dev/null >/dev/null 2>"$W/err"; rc=$?
if [ $rc -eq 4 ] && grep -q 'triple fault.*rip=0x' "$W/err" && grep -q 'cr0=' "$W/err"; then
	pass test_run_triple_fault_reported_with_registers
else fail test_run_triple_fault_reported_with_registers "exit $rc, $(cat "$W/err")"; fi

# Reboot (i8042 reset): on_reboot=destroy ends the VM (status 0); restart
# boots the guest again in the same process.
out=$(timeout 20 "$PVKVM" run --kernel "$G" --append r --mem 32M --on-reboot destroy </dev/null 2>"$W/err"); rc=$?
if [ $rc -eq 0 ] && [ "$out" = "boot" ]; then pass test_run_reboot_with_on_reboot_destroy_exits
else fail test_run_reboot_with_on_reboot_destroy_exits "exit $rc, output '$out', $(cat "$W/err")"; fi
"$PVKVM" run --kernel "$G" --append r --mem 32M --console file:"$W/reboots" </dev/null 2>"$W/err" &
pid=$!
boots() { local n; n=$(grep -c boot "$W/reboots" 2>/dev/null); echo "${n:-0}"; }
for _ in $(seq 200); do [ "$(boots)" -ge 3 ] && break; sleep 0.05; done
n=$(boots); kill -TERM $pid; wait $pid; rc=$?
if [ "$n" -ge 3 ] && [ $rc -eq 143 ]; then pass "test_run_reboot_restarts_guest ($n boots seen)"
else fail test_run_reboot_restarts_guest "$n boots, exit $rc, $(cat "$W/err")"; fi

# SIGTERM: clean stop (status 128+15), run-dir entries removed; ps shows pvkvm:NAME.
"$PVKVM" run --kernel "$G" --append l --mem 32M --name sigterm-test --console file:"$W/con" </dev/null 2>"$W/err" &
pid=$!
for _ in $(seq 100); do grep -q looping "$W/con" 2>/dev/null && break; sleep 0.05; done
args=$(ps -o args= -p $pid); comm=$(ps -o comm= -p $pid)
if [ "$args" = "pvkvm:sigterm-test" ] && [ "$comm" = "pvkvm:sigterm-t" ]; then pass test_run_ps_shows_pvkvm_name
else fail test_run_ps_shows_pvkvm_name "args '$args' comm '$comm'"; fi
if [ -f "$PVKVM_RUN_DIR/sigterm-test.pid" ] && grep -q "^mem_mib=32$" "$PVKVM_RUN_DIR/sigterm-test.info"; then
	pass test_run_writes_run_dir_entry
else fail test_run_writes_run_dir_entry "$(ls "$PVKVM_RUN_DIR")"; fi
s=$(date +%s%N); kill -TERM $pid; wait $pid; rc=$?
ms=$(( ($(date +%s%N) - s) / 1000000 ))
if [ $rc -eq 143 ] && [ ! -e "$PVKVM_RUN_DIR/sigterm-test.pid" ]; then pass "test_run_sigterm_stops_cleanly (${ms} ms)"
else fail test_run_sigterm_stops_cleanly "exit $rc, left: $(ls "$PVKVM_RUN_DIR"), $(cat "$W/err")"; fi

# Two guests cannot share a name.
"$PVKVM" run --kernel "$G" --append l --mem 32M --name dup --console none </dev/null 2>/dev/null &
pid=$!
for _ in $(seq 100); do [ -s "$PVKVM_RUN_DIR/dup.info" ] && break; sleep 0.05; done
expect_error test_run_duplicate_name_refused "already running" --kernel "$G" --name dup --console none
kill -TERM $pid; wait $pid
exit 0
