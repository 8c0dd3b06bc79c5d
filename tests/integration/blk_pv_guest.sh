#!/usr/bin/env bash
# pvblk end to end in a guest: the mini-guest's pvblk driver (the core's
# blkfront) on pvkvm, served by pvkvm-blkback through pvkvm-stored (the
# backend creates the device as the toolstack would and does the XenbusState
# handshake).  Data written with verification reads back verified on every
# engine and both cache modes, lands in the host file with the documented
# pattern, 1 MiB requests (indirect) work, and after kill -9 of the VMM
# while the guest writes with flushes, every byte it saw flushed is in the file;
# after kill -9 of pvkvm-blkback and a restart, the guest resubmits what was
# in flight and finishes verified.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
ELF=$B/guest/mini.elf
T=${MINI_TIMEOUT:-60}
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

if ! have_kvm; then
	skip test_blk_pv_guest "/dev/kvm not usable"
	exit 0
fi
if [ ! -f "$ELF" ] || [ ! -x "$B/bin/pvkvm-blkback" ]; then
	fail test_blk_pv_guest "$ELF or pvkvm-blkback missing (run make)"
	exit 0
fi
export PVKVM_RUN_DIR=$work/run
mkdir -p "$PVKVM_RUN_DIR"
store=$PVKVM_RUN_DIR/store.sock
"$B/bin/pvkvm-stored" --socket "$store" >"$work/stored.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$store" ] && break; sleep 0.1; done
# Not tmpfs: O_DIRECT needs a real file system.
img=$(mktemp /var/tmp/blk_pv_guest.XXXXXX)
trap 'cleanup; rm -f "$img" "$img.e"' EXIT
truncate -s 64M "$img"

# start NAME DISKSPEC APPEND: the guest in the background ($gpid, killed
# after $T s by a watchdog), then the backend ($bpid)
start() {
	rm -f "$PVKVM_RUN_DIR/$1.ctl"
	"$PVKVM" run --name "$1" --kernel "$ELF" --mem 128M \
		--append "$3 pvblk_wait_ms=10000" </dev/null >"$work/$1.out" 2>&1 &
	gpid=$!
	( sleep "$T"; kill -9 "$gpid" 2>/dev/null ) &
	wdpid=$!
	gname=$1
	for _ in $(seq 100); do [ -S "$PVKVM_RUN_DIR/$1.ctl" ] && break; sleep 0.05; done
	timeout "$T" "$B/bin/pvkvm-blkback" --create --ctl "$PVKVM_RUN_DIR/$1.ctl" \
		--devid 51712 --disk "$2" --store "$store" >"$work/$1.back" 2>&1 &
	bpid=$!
}
# run NAME DISKSPEC APPEND: both, to the end
finish() {
	wait "$gpid" 2>/dev/null
	echo $? >"$work/$gname.rc"
	kill "$wdpid" 2>/dev/null
	wait "$wdpid" 2>/dev/null
	wait "$bpid" 2>/dev/null
}
run() {
	start "$@"
	finish
}
# expect TEST NAME STATUS GREP
expect() {
	local rc; rc=$(cat "$work/$2.rc" 2>/dev/null)
	if [ "$rc" != "$3" ]; then
		fail "$1" "exit status $rc, want $3: $(tr -d '\r' <"$work/$2.out" | tail -n 6 | tr '\n' ' ') backend: $(tail -n 2 "$work/$2.back" | tr '\n' ' ')"
	elif ! grep -q -- "$4" "$work/$2.out"; then
		fail "$1" "no '$4': $(tr -d '\r' <"$work/$2.out" | tail -n 3 | tr '\n' ' ')"
	else
		pass "$1"
	fi
}
# pattern_ok FILE FROM TO SEED: every 512-byte sector in [FROM, TO) holds the
# load generator's pattern {"MINIBLK1", sector, seed, ...}
pattern_ok() {
	python3 - "$@" <<'EOF'
import struct, sys
path, start, end, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with open(path, "rb") as f:
    f.seek(start)
    data = f.read(end - start)
for off in range(0, len(data), 512):
    magic, sector, s = struct.unpack_from("<8sQQ", data, off)
    if magic != b"MINIBLK1" or sector != (start + off) // 512 or s != seed:
        print("sector %d: %r %d %d" % ((start + off) // 512, magic, sector, s))
        sys.exit(1)
EOF
}

seed=10
for io in io_uring native threads; do
	for cache in none writeback; do
		seed=$((seed + 1))
		n=$io-$cache
		run "w-$n" "$img,io=$io,cache=$cache" \
			"test=blk dev=pvblk0 rw=write bs=64k qd=8 size=8M loops=1 runtime=0 verify=1 seed=$seed"
		run "rw-$n" "$img,io=$io,cache=$cache" \
			"test=blk dev=pvblk0 rw=randrw rwmix=60 bs=4k qd=16 size=8M runtime_ms=500 verify=1 seed=$seed"
		if [ "$(cat "$work/w-$n.rc")" != 0 ]; then
			expect "test_blk_pv_guest_verified_io_${io}_cache_$cache" "w-$n" 0 'verify_errors=0'
		else
			expect "test_blk_pv_guest_verified_io_${io}_cache_$cache" "rw-$n" 0 'RESULT .*errors=0 verify=1 verify_errors=0'
		fi
	done
done
if pattern_ok "$img" 0 $((8 << 20)) "$seed" >"$work/pattern" 2>&1; then
	pass test_blk_pv_guest_host_file_holds_the_pattern
else
	fail test_blk_pv_guest_host_file_holds_the_pattern "$(cat "$work/pattern")"
fi

run big-w "$img,io=io_uring,cache=none" \
	"test=blk dev=pvblk0 rw=write bs=1M qd=4 size=16M offset=16M loops=1 runtime=0 verify=1 seed=3 readback=1"
expect test_blk_pv_guest_1mib_indirect_requests_verify big-w 0 'RESULT .*rw=read.*verify_errors=0'

# The embedded backend: pvkvm run --disk (a thread in the VMM process).
truncate -s 64M "$img.e"
rc=0
timeout "$T" "$PVKVM" run --name emb --kernel "$ELF" --mem 128M --disk "$img.e,io=threads,cache=writeback" \
	--append "test=blk dev=pvblk0 rw=write bs=32k qd=8 size=4M loops=1 runtime=0 verify=1 seed=8 readback=1 pvblk_wait_ms=10000" \
	</dev/null >"$work/emb.out" 2>&1 || rc=$?
echo $rc >"$work/emb.rc"
touch "$work/emb.back"
expect test_blk_pv_guest_embedded_backend_pvkvm_run_disk emb 0 'RESULT .*rw=read.*verify_errors=0'
if pattern_ok "$img.e" 0 $((4 << 20)) 8 >"$work/pattern" 2>&1; then
	pass test_blk_pv_guest_embedded_backend_writes_the_host_file
else
	fail test_blk_pv_guest_embedded_backend_writes_the_host_file "$(cat "$work/pattern")"
fi

# The same from a domain XML: <disk> with <target bus='pv'>.
cat >"$work/dom.xml" <<EOF2
<domain type='pvkvm'>
  <name>xmldisk</name>
  <memory unit='MiB'>128</memory>
  <os>
    <kernel>$(realpath "$ELF")</kernel>
    <cmdline>test=blk dev=pvblk0 rw=read bs=32k qd=4 size=4M loops=1 runtime=0 verify=1 seed=8 pvblk_wait_ms=10000</cmdline>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='pvkvm' type='raw' io='native' cache='none'/>
      <source file='$img.e'/>
      <target dev='xvda' bus='pv'/>
      <readonly/>
    </disk>
  </devices>
</domain>
EOF2
rc=0
timeout "$T" "$PVKVM" run "$work/dom.xml" </dev/null >"$work/xml.out" 2>&1 || rc=$?
echo $rc >"$work/xml.rc"
touch "$work/xml.back"
expect test_blk_pv_guest_domain_xml_pv_disk_readonly xml 0 'read-only'
rm -f "$img.e"

# kill -9 the VMM while the guest writes with flushes.
start crash "$img,io=io_uring,cache=writeback" \
	"test=blk dev=pvblk0 rw=write bs=4k qd=4 size=24M offset=32M loops=1 runtime=0 verify=1 seed=21 fsync=16"
for _ in $(seq 200); do
	[ "$(grep -c 'flushed through' "$work/crash.out" 2>/dev/null)" -ge 5 ] && break
	sleep 0.05
done
kill -9 "$gpid" 2>/dev/null
finish
# The last line may have been cut by the kill: take the one before it.
flushed=$(tr -d '\r' <"$work/crash.out" | sed -n 's/^blk: flushed through byte //p' | tail -n 2 | head -n 1)
if [ -z "$flushed" ]; then
	fail test_blk_pv_guest_vmm_kill9_keeps_flushed_data "no flush reported: $(tail -n 3 "$work/crash.out" | tr '\r\n' '  ')"
elif grep -q '^RESULT' "$work/crash.out"; then
	skip test_blk_pv_guest_vmm_kill9_keeps_flushed_data "the guest finished before the kill"
elif pattern_ok "$img" $((32 << 20)) "$flushed" 21 >"$work/pattern" 2>&1; then
	pass test_blk_pv_guest_vmm_kill9_keeps_flushed_data
else
	fail test_blk_pv_guest_vmm_kill9_keeps_flushed_data "flushed through $flushed: $(cat "$work/pattern")"
fi

# kill -9 the backend daemon (pvkvm-blkback) while the guest writes with flushes, start it
# again: the guest's pvblk notices (its requests stall, the backend is back in
# InitWait), republishes what was in flight, and the job finishes verified;
# every block acknowledged as flushed before the kill holds its data.
start bkill "$img,io=io_uring,cache=writeback" \
	"test=blk dev=pvblk0 rw=write bs=4k qd=4 size=8M offset=32M loops=1 runtime=0 verify=1 seed=23 fsync=16 readback=1"
for _ in $(seq 200); do
	[ "$(grep -c 'flushed through' "$work/bkill.out" 2>/dev/null)" -ge 5 ] && break
	sleep 0.05
done
daemon=$(pgrep -P "$bpid" | head -n 1)
[ -n "$daemon" ] && kill -9 "$daemon" 2>/dev/null
done_before=$(grep -c '^RESULT' "$work/bkill.out")
{ wait "$bpid"; } 2>/dev/null
flushed=$(tr -d '\r' <"$work/bkill.out" | sed -n 's/^blk: flushed through byte //p' | tail -n 1)
ok_before=0
pattern_ok "$img" $((32 << 20)) "${flushed:-$((32 << 20))}" 23 >"$work/pattern" 2>&1 && ok_before=1
timeout "$T" "$B/bin/pvkvm-blkback" --ctl "$PVKVM_RUN_DIR/bkill.ctl" \
	--devid 51712 --disk "$img,io=io_uring,cache=writeback" --store "$store" >>"$work/bkill.back" 2>&1 &
bpid=$!
finish
t=test_blk_pv_guest_backend_kill9_restart_resubmits_and_keeps_flushed_data
if [ -z "$flushed" ] || [ -z "$daemon" ]; then
	fail $t "no flush reported or no daemon: $(tr -d '\r' <"$work/bkill.out" | tail -n 3 | tr '\n' ' ')"
elif [ "$done_before" != 0 ]; then
	skip $t "the guest finished writing before the kill"
elif [ $ok_before != 1 ]; then
	fail $t "flushed through $flushed before the kill: $(cat "$work/pattern")"
elif ! grep -q 'backend restarted, resubmitting' "$work/bkill.out"; then
	fail $t "the guest did not notice the restart: $(tr -d '\r' <"$work/bkill.out" | tail -n 3 | tr '\n' ' ')"
else
	expect $t bkill 0 'RESULT .*rw=read.*verify_errors=0'
fi
