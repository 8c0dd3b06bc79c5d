#!/usr/bin/env bash
# pvkvm-blkback and `pvkvm blkstat` as commands: usage, exit codes, one-line
# errors.  (Serving a guest is tested in build/tests/test_blkback{,_bus}.)
cd "$(dirname "$0")/../.." || exit 1
source tests/lib.sh
BB=$B/bin/pvkvm-blkback
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
truncate -s 1M "$work/disk.img"

t=blk_pv_daemon_help_describes_disk_options
if "$BB" --help | grep -q 'io=io_uring|native|threads'; then pass $t; else fail $t "no disk syntax in --help"; fi

t=blk_pv_daemon_missing_arguments_exit_1
timeout 10 "$BB" --ctl x >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ] && pass $t || fail $t "exit $rc"

t=blk_pv_daemon_bad_disk_option_exit_1_with_message
out=$(timeout 10 "$BB" --ctl x --domid 1 --devid 1 --disk "$work/disk.img,io=floppy" --ring-ref 9 --event-channel 3 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "bad disk option 'io=floppy'" <<<"$out" && pass $t || fail $t "exit $rc: $out"

t=blk_pv_daemon_missing_image_exit_1
out=$(timeout 10 "$BB" --ctl x --domid 1 --devid 1 --disk "$work/none.img" --ring-ref 9 --event-channel 3 2>&1); rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <<<"$out")" -le 2 ] && pass $t || fail $t "exit $rc: $out"

t=blk_pv_daemon_unreachable_guest_exit_2
out=$(timeout 10 "$BB" --ctl "$work/nope.ctl" --domid 1 --devid 1 --disk "$work/disk.img" --ring-ref 9 --event-channel 3 2>&1); rc=$?
[ $rc -eq 2 ] && pass $t || fail $t "exit $rc: $out"

t=blk_pv_daemon_bad_ring_refs_exit_1
out=$(timeout 10 "$BB" --ctl x --domid 1 --devid 1 --disk "$work/disk.img" --ring-ref 1,2,3 --event-channel 3 2>&1); rc=$?
[ $rc -eq 1 ] && pass $t || fail $t "exit $rc: $out"

t=blkstat_unreachable_store_exit_2
out=$("$PVKVM" blkstat --socket "$work/none.sock" 5 2>&1); rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && pass $t || fail $t "exit $rc: $out"

t=blkstat_rejects_non_numeric_domid
"$PVKVM" blkstat --socket "$work/none.sock" guest5 >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ] && pass $t || fail $t "exit $rc"
