#!/usr/bin/env bash
# pvkvm attach-disk / detach-disk on a running mini-guest: the guest waits for
# a device under device/vbd/, does verified I/O on the hot-plugged disk, then
# answers the unplug (backend Closing -> frontend Closed) and exits cleanly.
# Bad names, specs and ids are one-line user errors (exit 1).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
ELF=$B/guest/mini.elf
T=${MINI_TIMEOUT:-60}
work=$(mktemp -d)
pids=()
img=
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$work"
	[ -n "$img" ] && rm -f "$img"
}
trap cleanup EXIT

if ! have_kvm; then
	skip test_blk_hotplug "/dev/kvm not usable"
	exit 0
fi
export PVKVM_RUN_DIR=$work/run
mkdir -p "$PVKVM_RUN_DIR"
store=$PVKVM_RUN_DIR/store.sock
"$B/bin/pvkvm-stored" --socket "$store" >"$work/stored.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$store" ] && break; sleep 0.1; done
img=$(mktemp /var/tmp/blk_hotplug.XXXXXX)
truncate -s 16M "$img"

# User errors first (no guest needed).
t=test_blk_attach_disk_to_missing_guest_is_user_error
out=$(timeout 10 "$PVKVM" attach-disk nosuchguest "$img" 2>&1); rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && pass $t || fail $t "exit $rc: $out"
t=test_blk_detach_disk_unknown_device_is_user_error
out=$(timeout 10 "$PVKVM" detach-disk nosuchguest 51712 2>&1); rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && pass $t || fail $t "exit $rc: $out"
t=test_blk_attach_disk_usage_errors_exit_1
rc1=0; rc2=0
timeout 10 "$PVKVM" attach-disk >/dev/null 2>&1 || rc1=$?
timeout 10 "$PVKVM" detach-disk hp notanumber >/dev/null 2>&1 || rc2=$?
[ $rc1 -eq 1 ] && [ $rc2 -eq 1 ] && pass $t || fail $t "exit $rc1 / $rc2"

"$PVKVM" run --name hp --kernel "$ELF" --mem 128M --append \
	"test=blk dev=pvblk0 rw=write bs=16k qd=4 size=4M loops=1 runtime=0 verify=1 seed=5 readback=1 pvblk_wait_ms=30000 detach_wait_ms=30000" \
	</dev/null >"$work/hp.out" 2>&1 &
gpid=$!
pids+=($gpid)
( sleep "$T"; kill -9 "$gpid" 2>/dev/null ) &
pids+=($!)
for _ in $(seq 100); do [ -S "$PVKVM_RUN_DIR/hp.ctl" ] && break; sleep 0.05; done

t=test_blk_attach_disk_bad_spec_is_one_line_user_error
out=$(timeout 10 "$PVKVM" attach-disk hp "$img,io=floppy" 2>&1); rc=$?
out2=$(timeout 10 "$PVKVM" attach-disk hp "$work/none.img" 2>&1); rc2=$?
if [ $rc -eq 1 ] && [ $rc2 -eq 1 ] && [ "$(wc -l <<<"$out$out2")" -eq 1 ] && grep -q floppy <<<"$out"; then
	pass $t
else
	fail $t "exit $rc '$out', exit $rc2 '$out2'"
fi

t=test_blk_attach_disk_hot_plugs_a_disk_the_guest_uses
out=$(timeout 20 "$PVKVM" attach-disk hp "$img,io=io_uring,cache=none" 2>&1); rc=$?
for _ in $(seq $((T * 10))); do
	grep -q 'waiting for detach\|FAILED\|blk: no block' "$work/hp.out" && break
	sleep 0.1
done
if [ $rc -eq 0 ] && [ "$out" = "hp: vbd/51712" ] &&
   grep -q 'RESULT .*rw=read.*verify_errors=0' "$work/hp.out" && grep -q 'waiting for detach' "$work/hp.out"; then
	pass $t
else
	fail $t "exit $rc '$out': $(tr -d '\r' <"$work/hp.out" | tail -n 4 | tr '\n' ' ')"
fi

t=test_blk_attach_disk_same_id_twice_is_user_error
out=$(timeout 10 "$PVKVM" attach-disk hp "$img" --dev 51712 2>&1); rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && pass $t || fail $t "exit $rc: $out"

t=test_blk_detach_disk_closes_through_the_handshake
out=$(timeout 20 "$PVKVM" detach-disk hp 51712 2>&1); rc=$?
grc=0
timeout 20 tail --pid="$gpid" -f /dev/null
wait "$gpid" 2>/dev/null || grc=$?
if [ $rc -eq 0 ] && [ $grc -eq 0 ] && grep -q 'blk: pvblk0 detached' "$work/hp.out" &&
   [ ! -e "$PVKVM_RUN_DIR/hp.vbd51712.pid" ]; then
	pass $t
else
	fail $t "detach exit $rc '$out', guest exit $grc: $(tr -d '\r' <"$work/hp.out" | tail -n 3 | tr '\n' ' ') log: $(tail -n 3 "$PVKVM_RUN_DIR"/hp.vbd51712.log 2>/dev/null | tr '\n' ' ')"
fi
