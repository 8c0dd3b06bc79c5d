#!/usr/bin/env bash
# The mini-guest's virtio-blk driver and load generator on QEMU microvm:
# data written with verification reads back verified (legacy and modern
# virtio-mmio, 512- and 4096-byte sectors), lands in the host file with the
# documented pattern, and corruption made on the host is caught.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
T=${MINI_TIMEOUT:-60}
lib_workdir
img=$work/disk.img

need_qemu_kvm test_mini_virtio_blk
need_mini_elf test_mini_virtio_blk
truncate -s 16M "$img"

# run NAME "QEMU DEVICE ARGS" "GUEST CMDLINE": output in $work/NAME, status in $work/NAME.rc
# shellcheck disable=SC2086
run() { mini_qemu "$work/$1" 128M "$3" $2; }
# expect TEST NAME STATUS GREP (QEMU exit status is (S<<1)|1)
expect() { expect_output "$1" "$work/$2" "$3" "$4"; }
drive="-drive id=d0,file=$img,format=raw,if=none,cache=writeback -device virtio-blk-device,drive=d0"

run write "$drive" "test=blk rw=write bs=64k qd=8 size=8M loops=1 runtime=0 verify=1 seed=77"
expect test_blk_sequential_write_covers_region_once write 1 'RESULT .* ios=128 .*verify_errors=0'
run read "$drive" "test=blk rw=read bs=128k qd=4 size=8M loops=1 runtime=0 verify=1 seed=77"
expect test_blk_sequential_read_back_verifies read 1 'RESULT .*ios=64 .*verify_errors=0'
run rread "$drive" "test=blk rw=randread bs=4k qd=32 size=8M runtime_ms=500 verify=1 seed=77"
expect test_blk_random_read_qd32_verifies rread 1 'RESULT .*errors=0 verify=1 verify_errors=0'

# The pattern on the host: each 512-byte sector starts "MINIBLK1", sector number, seed.
ok=1
for s in 0 1 1000 16383; do
	got=$(od -A n -t x8 -j $((s * 512)) -N 24 "$img" | tr -s ' \n' '  ' | sed 's/^ //; s/ $//')
	want=$(printf '314b4c42494e494d %016x %016x' "$s" 77)
	[ "$got" = "$want" ] || { ok=0; why="sector $s: '$got', want '$want'"; }
done
[ $ok = 1 ] && pass test_blk_host_file_holds_the_pattern || fail test_blk_host_file_holds_the_pattern "$why"

run fsync "$drive" "test=blk rw=write bs=64k qd=4 size=1M offset=12M loops=1 runtime=0 verify=1 seed=5 fsync=4"
# Flush points depend on timing; the last must cover the whole region, each after the previous.
flushed=$(tr -d '\r' <"$work/fsync" | sed -n 's/^blk: flushed through byte //p' | tr '\n' ' ')
if [ "$(cat "$work/fsync.rc")" = 1 ] && [ "$(awk '{ print $NF }' <<<"$flushed")" = 13631488 ] &&
	[ "$(tr ' ' '\n' <<<"$flushed" | grep . | sort -n | tr '\n' ' ')" = "$flushed" ] && [ "${flushed%% *}" -ge 12845056 ]; then
	pass test_blk_fsync_flushes_and_reports_durable_prefix
else
	fail test_blk_fsync_flushes_and_reports_durable_prefix "flushed: '$flushed'; $(tail -n 2 "$work/fsync" | tr '\r\n' '  ')"
fi

mdrive="-global virtio-mmio.force-legacy=false $drive"
run modern "$mdrive" "test=blk rw=randrw rwmix=60 bs=8k qd=16 size=8M runtime_ms=500 verify=1 seed=77"
expect test_blk_modern_virtio_mmio_randrw_verifies modern 1 'virtio-mmio v2.*'
grep -q 'RESULT .*write_ios=[1-9].*verify_errors=0' "$work/modern" &&
	pass test_blk_mixed_job_reads_and_writes || fail test_blk_mixed_job_reads_and_writes "$(grep RESULT "$work/modern")"

# Corrupt one sector on the host: the guest's verification must name it.
dd if=/dev/zero of="$img" bs=512 seek=4242 count=1 conv=notrunc status=none
run corrupt "$drive" "test=blk rw=read bs=4k qd=8 size=8M loops=1 runtime=0 verify=1 seed=77"
expect test_blk_verify_catches_host_side_corruption corrupt 3 'verify error at sector 4242'

# Discard punches a hole in the host file; write-zeroes zeroes exactly its range.
dimg=$work/discard.img
truncate -s 8M "$dimg"
ddrive="-drive id=d0,file=$dimg,format=raw,if=none,discard=unmap -device virtio-blk-device,drive=d0"
run dfill "$ddrive" "test=blk rw=write bs=1M qd=4 size=4M loops=1 runtime=0 verify=1 seed=3"
before=$(stat -c %b "$dimg")
run discard "$ddrive" "test=blkop op=discard offset=1M len=1M"
after=$(stat -c %b "$dimg")
zero=$(od -A n -t x8 -j 1048576 -N 1048576 "$dimg" | tr -d ' *\n' | tr -d 0)
if [ "$(cat "$work/discard.rc")" = 1 ] && [ -z "$zero" ] && [ $((before - after)) -ge 2048 ]; then
	pass test_blk_discard_punches_a_hole_in_the_host_file
else
	fail test_blk_discard_punches_a_hole_in_the_host_file "rc $(cat "$work/discard.rc"), blocks $before -> $after, nonzero '${zero:0:32}'"
fi
run zeroes "$ddrive" "test=blkop op=zeroes offset=3M len=64k"
run zread "$ddrive" "test=blkop op=read offset=3211264 len=983040 seed=3"
zero=$(od -A n -t x8 -j 3145728 -N 65536 "$dimg" | tr -d ' *\n' | tr -d 0)
if [ "$(cat "$work/zeroes.rc")" = 1 ] && [ -z "$zero" ] && [ "$(cat "$work/zread.rc")" = 1 ]; then
	pass test_blk_write_zeroes_zeroes_exactly_its_range
else
	fail test_blk_write_zeroes_zeroes_exactly_its_range "rc $(cat "$work/zeroes.rc")/$(cat "$work/zread.rc"), nonzero '${zero:0:32}'"
fi

big="-drive id=d0,file=$img,format=raw,if=none -device virtio-blk-device,drive=d0,logical_block_size=4096,physical_block_size=4096"
run big1 "$big" "test=blk rw=write bs=4k qd=8 size=1M loops=1 runtime=0 verify=1 seed=9 offset=8M"
run big2 "$big" "test=blk rw=randread bs=4k qd=8 size=1M runtime_ms=300 verify=1 seed=9 offset=8M"
expect test_blk_4096_byte_sectors_write_then_read_verifies big2 1 'RESULT .*errors=0 verify=1 verify_errors=0'
grep -q 'sectors of 4096 bytes' "$work/big2" && pass test_blk_4096_byte_sector_size_detected ||
	fail test_blk_4096_byte_sector_size_detected "$(head -n 1 "$work/big2")"
run big3 "$big" "test=blk rw=read bs=512 qd=1 ios=1"
expect test_blk_sub_sector_block_size_is_refused big3 5 'bs=512: want a multiple of 4096'

run nodev "" "test=blk"
expect test_blk_without_device_says_so nodev 7 'no block device'
