#!/usr/bin/env bash
# make bench-blk: in one run on one image file, the five block jobs on
#   pvkvm   - the mini-guest's load generator on pvblk, 1 vCPU, pvkvm run --disk
#             (the embedded blkback thread: io_uring, cache=none) with pvkvm-stored;
#             host CPU time = the pvkvm process (vCPU, which polls, and backend);
#   harness - the same blkfront in a host thread (no VM) against the same
#             backend: the protocol and backend cost alone;
#   QEMU    - the mini-guest's load generator on virtio-blk under QEMU microvm
#             (tests/bench/bench_blk_qemu.sh: drive cache=none, aio=io_uring, iothread);
#   host    - fio directly on the file (the floor).
# Prints the figures and ratios and appends them to tests/bench/RESULTS.md.
# Usage: bash tests/bench/bench_blk.sh [seconds-per-job]
set -eu
cd "$(dirname "$0")/../.."
B=${B:-build}
rt=${1:-10}
img=${PVKVM_BENCH_IMG:-/var/tmp/pvkvm-bench-blk.img}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
BENCH=$B/tests/bench_blk
[ -x "$BENCH" ] || { echo "bench_blk: $BENCH missing (run make)" >&2; exit 1; }
if [ ! -f "$img.written" ] || [ "$(stat -c %s "$img" 2>/dev/null || echo 0)" -lt 2147483648 ]; then
	echo "# writing $img (2 GiB of zeroes, once)"
	dd if=/dev/zero of="$img" bs=1M count=2048 oflag=direct status=none
	touch "$img.written"
fi
kv() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2"; }
bytes() { case $1 in *k) echo $(( ${1%k} * 1024 ));; *M) echo $(( ${1%M} * 1048576 ));; *) echo "$1";; esac; }

# pv_job RW BS QD: "iops mibps p50_us p99_us cpu_us_per_io be_cpu_us_per_io"
pv_job() {
	local res
	res=$(timeout $((rt + 60)) "$BENCH" "$img" "$1" "$(bytes "$2")" "$3" "$rt" io_uring "${PV_POLL_US:-0}" | grep '^RESULT' || true)
	[ -n "$res" ] || { echo "- - - - - -"; return; }
	awk -v i="$(kv iops "$res")" -v m="$(kv mibps "$res")" -v p="$(kv lat_p50_ns "$res")" \
		-v q="$(kv lat_p99_ns "$res")" -v c="$(kv cpu_us_per_io "$res")" -v b="$(kv be_cpu_us_per_io "$res")" \
		'BEGIN { printf "%d %.1f %.1f %.1f %.2f %.2f\n", i, m, p/1e3, q/1e3, c, b }'
}

# The guest on pvkvm: "iops mibps p50_us p99_us cpu_us_per_io"
export PVKVM_RUN_DIR=$work/run
mkdir -p "$PVKVM_RUN_DIR"
"$B/bin/pvkvm-stored" --socket "$PVKVM_RUN_DIR/store.sock" >"$work/stored.out" 2>&1 &
stored=$!
trap 'kill $stored 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do [ -S "$PVKVM_RUN_DIR/store.sock" ] && break; sleep 0.1; done
guest_job() {
	local out=$work/g.out res cpu ios
	( timeout $((rt + 60)) "$B/bin/pvkvm" run --name b --kernel "$B/guest/mini.elf" --mem 256M \
		--disk "$img,io=io_uring,cache=none,poll-us=${PV_POLL_US:-0}" \
		--append "test=blk dev=pvblk0 rw=$1 bs=$2 qd=$3 runtime=$rt pvblk_wait_ms=10000" \
		</dev/null >"$out" 2>&1; times >"$work/gtime" )
	res=$(tr -d '\r' <"$out" | grep '^RESULT' || true)
	[ -n "$res" ] || { echo "bench_blk: pvkvm $1 $2 qd$3: $(tail -n 2 "$out" | tr '\r\n' '  ')" >&2; echo "- - - - -"; return; }
	ios=$(kv ios "$res")
	cpu=$(sed -n 2p "$work/gtime" | awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/)
		printf "%d", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1e6 }')
	awk -v i="$(kv iops "$res")" -v m="$(kv mibps "$res")" -v p="$(kv lat_p50_ns "$res")" \
		-v q="$(kv lat_p99_ns "$res")" -v c="$cpu" -v n="$ios" \
		'BEGIN { printf "%d %.1f %.1f %.1f %.2f\n", i, m, p/1e3, q/1e3, c/n }'
}

# QEMU and host fio from the anchor script, one table line per job.
qemu_table=$work/qemu.txt
if [ -f "$B/guest/mini.elf" ] && command -v qemu-system-x86_64 >/dev/null; then
	B=$B bash tests/bench/bench_blk_qemu.sh "$rt" >"$qemu_table" 2>"$work/qemu.err" || true
fi
anchor() { # JOBNAME -> "qi qm qa qp q9 qc hi hm ha hp h9" or dashes
	local l
	l=$(grep "^$1 *|" "$qemu_table" 2>/dev/null | head -n 1 || true)
	[ -n "$l" ] || { echo "- - - - - - - - - - -"; return; }
	awk -F'|' '{ print $2, $3 }' <<<"$l"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }

hdr="# $(date -u '+%Y-%m-%d %H:%M UTC'), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), ${rt}s per job"
out=$work/table.txt
{
	echo "$hdr"
	printf '%-16s | %-32s | %-32s | %-32s | %-26s | %s\n' job "pvkvm pvblk IOPS MiB/s p50 p99 cpu/io" \
		"harness IOPS MiB/s p50 p99 cpu/io" "QEMU IOPS MiB/s p50 p99 cpu/io" "host IOPS MiB/s p50 p99" \
		"pvkvm/host pvkvm/QEMU p50:pvkvm/host cpu:pvkvm/QEMU"
} | tee "$out"
for j in randread:4k:1 randread:4k:32 randwrite:4k:32 read:1M:8 write:1M:8; do
	IFS=: read -r rw bs qd <<<"$j"
	read -r gi gm gp g9 gc <<<"$(guest_job "$rw" "$bs" "$qd")"
	read -r pi pm pp p9 pc pb <<<"$(pv_job "$rw" "$bs" "$qd")"
	read -r qi qm qa qp q9 qc hi hm ha hp h9 <<<"$(anchor "$rw $bs qd$qd")"
	printf '%-16s | %7s %7s %6s %7s %6s | %7s %7s %6s %7s %6s | %7s %7s %6s %7s %6s | %7s %7s %5s %6s | %s %s %s %s\n' \
		"$rw $bs qd$qd" "$gi" "$gm" "$gp" "$g9" "$gc" "$pi" "$pm" "$pp" "$p9" "$pc" \
		"$qi" "$qm" "$qp" "$q9" "$qc" "$hi" "$hm" "$hp" "$h9" \
		"$(ratio "$gi" "$hi")" "$(ratio "$gi" "$qi")" "$(ratio "$gp" "$hp")" "$(ratio "$gc" "$qc")" | tee -a "$out"
done
echo "# goals: QD1 p50 <= 1.15x host; QD32 IOPS >= 0.95x host and >= 1.3x QEMU; cpu/io below QEMU's" | tee -a "$out"
[ -s "$qemu_table" ] || echo "# QEMU/host anchors missing: $(head -c 300 "$work/qemu.err" 2>/dev/null)" | tee -a "$out"
{
	echo
	echo "## bench-blk (pvblk on pvkvm and in the harness vs QEMU virtio-blk vs host fio)"
	echo '```'
	cat "$out"
	echo '```'
} >>tests/bench/RESULTS.md
