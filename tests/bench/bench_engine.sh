#!/usr/bin/env bash
# make bench-engine: the block layer on the host, against fio on the same file
# in the same run (fio is the floor), then qcow2 against raw.  Appends a dated
# section to tests/bench/RESULTS.md.
set -u
B=${B:-build}; BIN=$B/tests/bench_engine; SECS=${BENCH_SECONDS:-3}
command -v fio >/dev/null || { echo "bench-engine: fio not installed (make deps)"; exit 1; }
D=$(mktemp -d "$B/tmp-bench_engine-XXXXXX"); trap 'rm -rf "$D"' EXIT
F=$D/disk.raw
echo "bench-engine: preparing a 1 GiB raw file with data ..."
dd if=/dev/urandom of="$D/chunk" bs=1M count=16 status=none
for i in $(seq 0 63); do dd if="$D/chunk" of="$F" bs=1M seek=$((i * 16)) conv=notrunc oflag=direct status=none; done
sync

jobs=( "randread4k 1" "randread4k 32" "randwrite4k 32" "seqread1m 8" "seqwrite1m 8" )
fio_job() { # ENGINE JOB QD -> "iops MiB/s clat_mean_us p50_us p99_us"
	local eng=$1 job=$2 qd=$3 rw bs nj=1 ioe
	case $job in randread4k) rw=randread bs=4k;; randwrite4k) rw=randwrite bs=4k;;
		seqread1m) rw=read bs=1m;; seqwrite1m) rw=write bs=1m;; esac
	ioe=$eng; [ "$eng" = sync ] && { ioe=psync; nj=$(( qd < 4 ? qd : 4 )); qd=1; }
	fio --name=j --filename="$F" --direct=1 --ioengine="$ioe" --rw=$rw --bs=$bs --iodepth=$qd \
		--numjobs=$nj --group_reporting --runtime="$SECS" --time_based --size=1G \
		--output-format=terse --terse-version=3 2>/dev/null | awk -F';' -v w=$([[ $rw == *write* ]] && echo 1 || echo 0) '
		{ o = w ? 41 : 0; iops = $(8+o); bw = $(7+o) / 1024; mean = $(16+o)
		  for (i = 18 + o; i <= 37 + o; i++) { split($i, a, "="); if (a[1] == "50.000000%") p50 = a[2]; if (a[1] == "99.000000%") p99 = a[2] }
		  printf "%d %.1f %.1f %.1f %.1f\n", iops, bw, mean, p50, p99 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

out=$D/out.md
{
echo "## bench-engine $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "Host: $(lscpu | grep 'Model name' | sed 's/.*: *//'), $(nproc) CPUs, kernel $(uname -r); 1 GiB raw file, O_DIRECT (cache=none), ${SECS} s per job."
echo "Block layer (pvkvm) vs fio on the same file; the sync engine is a 4-thread pool, so its fio anchor is psync with up to 4 jobs."
echo
echo "| engine | job | QD | pvkvm IOPS | fio IOPS | ratio | pvkvm MiB/s | fio MiB/s | pvkvm lat mean/p50/p99 µs | fio clat mean/p50/p99 µs |"
echo "|---|---|---|---|---|---|---|---|---|---|"
} > "$out"
for eng in io_uring libaio sync; do
	for j in "${jobs[@]}"; do
		set -- $j
		ours=$("$BIN" "$F" raw $eng $1 $2 "$SECS") || { echo "bench_engine failed: $eng $j"; exit 1; }
		theirs=$(fio_job $eng $1 $2)
		read -r oi om ol o50 o99 <<< "$ours"; read -r fi fm fl f50 f99 <<< "$theirs"
		line="| $eng | $1 | $2 | $oi | $fi | $(ratio "$oi" "$fi") | $om | $fm | $ol/$o50/$o99 | $fl/$f50/$f99 |"
		echo "$line" | tee -a "$out"
	done
done

# io_uring with the buffers registered (what blkback does with guest memory).
{ echo; echo "io_uring registered (fixed) buffers vs plain, same run:"; echo
  echo "| job | fixed IOPS | plain IOPS | ratio |"; echo "|---|---|---|---|"; } >> "$out"
for j in "randread4k 1" "randread4k 32" "randwrite4k 32"; do
	set -- $j
	read -r xi _ <<< "$(BENCH_FIXED=1 "$BIN" "$F" raw io_uring $1 $2 "$SECS")"
	read -r pi _ <<< "$("$BIN" "$F" raw io_uring $1 $2 "$SECS")"
	echo "| $1 QD$2 | $xi | $pi | $(ratio "$xi" "$pi") |" | tee -a "$out"
done

# qcow2 against raw (io_uring, cache=none).
Q=$D/disk.qcow2
"$B/bin/pvkvm" img create -f qcow2 "$Q" 1G >/dev/null
{ echo; echo "qcow2 (64 KiB clusters) vs raw, io_uring, cache=none. Allocating jobs are compared with a sparse"
  echo "raw file (the file system allocates too), allocated ones with the filled raw file:"; echo
  echo "| job | qcow2 | raw | ratio |"; echo "|---|---|---|---|"; } >> "$out"
qrow() { echo "| $1 | $2 | $3 | $(ratio "$2" "$3") |" | tee -a "$out"; }
S=$D/sparse.raw
truncate -s 1G "$S"
read -r _ qm _ <<< "$("$BIN" "$Q" qcow2 io_uring seqwrite1m 8 0)"
read -r _ rm _ <<< "$("$BIN" "$S" raw io_uring seqwrite1m 8 0)"
qrow "1M seq write QD8, empty qcow2 vs sparse raw (one pass), MiB/s" "$qm" "$rm"
for j in "randread4k 32" "randwrite4k 32"; do
	set -- $j
	read -r qi _ <<< "$("$BIN" "$Q" qcow2 io_uring $1 $2 "$SECS")"
	read -r ri _ <<< "$("$BIN" "$F" raw io_uring $1 $2 "$SECS")"
	qrow "4k $1 QD32, allocated qcow2 vs filled raw, IOPS" "$qi" "$ri"
done
rm -f "$Q" "$S"; "$B/bin/pvkvm" img create -f qcow2 "$Q" 1G >/dev/null; truncate -s 1G "$S"
read -r qi _ <<< "$("$BIN" "$Q" qcow2 io_uring randwrite4k 32 "$SECS")"
read -r ri _ <<< "$("$BIN" "$S" raw io_uring randwrite4k 32 "$SECS")"
qrow "4k randwrite QD32, empty qcow2 vs sparse raw, IOPS" "$qi" "$ri"
if command -v qemu-img >/dev/null; then
	c=$(qemu-img check "$Q" 2>&1 | head -1)
	echo "(qemu-img check after the runs: $c)" | tee -a "$out"
fi
echo >> "$out"
cat "$out" >> tests/bench/RESULTS.md
echo "bench-engine: appended to tests/bench/RESULTS.md"
