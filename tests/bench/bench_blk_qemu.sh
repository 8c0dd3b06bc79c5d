#!/usr/bin/env bash
# The block anchor: the mini-guest's load generator on QEMU's virtio-blk
# (microvm, virtio-mmio, drive cache=none aio=io_uring, one iothread, 1 vCPU),
# and fio directly on the same file (the floor), for the five jobs of the
# block benchmark.  Prints one line per job and the ratios.  `make bench-blk`
# adds pvblk on pvkvm next to these.
# Usage: bash tests/bench/bench_blk_qemu.sh [seconds-per-job]
#   PVKVM_BENCH_IMG  image file (default /var/tmp/pvkvm-bench-blk.img, 2 GiB, written
#                    once with zeroes so reads hit the disk, not unwritten extents)
set -eu
cd "$(dirname "$0")/../.."
B=${B:-build}
ELF=$B/guest/mini.elf
rt=${1:-10}
img=${PVKVM_BENCH_IMG:-/var/tmp/pvkvm-bench-blk.img}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -f "$ELF" ] || { echo "bench_blk_qemu: $ELF missing (run make)" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "bench_blk_qemu: qemu-system-x86_64 missing" >&2; exit 1; }
if [ ! -f "$img.written" ] || [ "$(stat -c %s "$img" 2>/dev/null || echo 0)" -lt 2147483648 ]; then
	echo "# writing $img (2 GiB of zeroes, once)"
	dd if=/dev/zero of="$img" bs=1M count=2048 oflag=direct status=none
	touch "$img.written"
fi

# key=value from a RESULT line
kv() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# qemu_job RW BS QD: prints "iops mibps mean_us p50_us p99_us cpu_us_per_io"; the host CPU time is
# the whole QEMU process (user+sys), so it includes the vCPU thread, which polls.
qemu_job() {
	local out res cpu ios ms
	out=$work/q.out
	# the subshell's 'times' gives its children's CPU time (no GNU time needed)
	( timeout $((rt + 60)) qemu-system-x86_64 \
		-enable-kvm -cpu host,-arch-capabilities -M microvm -smp 1 -m 256M \
		-nodefaults -no-reboot -nographic -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$ELF" \
		-object iothread,id=io0 \
		-drive id=d0,file="$img",format=raw,if=none,cache=none,aio=io_uring \
		-device virtio-blk-device,drive=d0,iothread=io0 \
		-append "test=blk rw=$1 bs=$2 qd=$3 runtime=$rt" </dev/null >"$out" 2>&1; times >"$work/time" ) || true
	res=$(tr -d '\r' <"$out" | grep '^RESULT' || true)
	if [ -z "$res" ]; then
		echo "bench_blk_qemu: no RESULT for $1 $2 qd$3: $(tail -n 3 "$out" | tr '\n' ' ')" >&2
		echo "- - - - - -"
		return
	fi
	ios=$(kv ios "$res")
	# second line of 'times': children's user and system time, e.g. "0m1.280s 0m0.260s"
	cpu=$(sed -n 2p "$work/time" | awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/)
		printf "%d", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1e6 }')
	awk -v i="$(kv iops "$res")" -v m="$(kv mibps "$res")" -v a="$(kv lat_mean_ns "$res")" \
		-v p="$(kv lat_p50_ns "$res")" -v q="$(kv lat_p99_ns "$res")" -v c="$cpu" -v n="$ios" \
		'BEGIN { printf "%d %.1f %.1f %.1f %.1f %.2f\n", i, m, a/1e3, p/1e3, q/1e3, c/n }'
}

# host_job RW BS QD: "iops mibps mean_us p50_us p99_us" from fio on the same file
host_job() {
	if ! command -v fio >/dev/null || ! command -v python3 >/dev/null; then
		echo "- - - - -"
		return
	fi
	fio --name=f --filename="$img" --size=2G --rw="$1" --bs="$2" --iodepth="$3" --ioengine=io_uring \
		--direct=1 --runtime="$rt" --time_based --output-format=json 2>/dev/null |
	python3 -c 'import json,sys
j=json.load(sys.stdin)["jobs"][0]; d=j["read"] if j["read"]["io_bytes"] else j["write"]; c=d["clat_ns"]
print("%d %.1f %.1f %.1f %.1f" % (d["iops"], d["bw"]/1024, c["mean"]/1e3, c["percentile"]["50.000000"]/1e3, c["percentile"]["99.000000"]/1e3))'
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cpus, ${rt}s per job"
echo "# $(qemu-system-x86_64 --version | head -n 1); fio: $(fio --version 2>/dev/null || echo missing)"
printf '%-18s | %-55s | %-38s | %s\n' job "QEMU virtio-blk: IOPS MiB/s lat(us) mean p50 p99 cpu-us/io" \
	"host fio: IOPS MiB/s lat mean/p50/p99" "QEMU/host IOPS"
for j in randread:4k:1 randread:4k:32 randwrite:4k:32 read:1M:8 write:1M:8; do
	IFS=: read -r rw bs qd <<<"$j"
	read -r qi qm qa qp q9 qc <<<"$(qemu_job "$rw" "$bs" "$qd")"
	read -r hi hm ha hp h9 <<<"$(host_job "$rw" "$bs" "$qd")"
	ratio=$(awk -v a="$qi" -v b="$hi" 'BEGIN { if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else print "-" }')
	printf '%-18s | %7s %7s %7s %7s %8s %7s         | %7s %7s %6s %6s %7s | %s\n' \
		"$rw $bs qd$qd" "$qi" "$qm" "$qa" "$qp" "$q9" "$qc" "$hi" "$hm" "$ha" "$hp" "$h9" "$ratio"
done
