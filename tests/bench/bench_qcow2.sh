#!/usr/bin/env bash
# make bench-qcow2: qcow2 against raw in pvkvm's block layer, and against
# QEMU's qcow2 driver (virtio-blk, the mini-guest's load generator), in one run:
# 4k randread/randwrite QD32 on a preallocated image and on an empty one, and
# 1M sequential write QD8 on an empty image.  Appends a dated section to
# tests/bench/RESULTS.md.
#
# Which pvkvm path is measured: the mini-guest's load generator on pvkvm with
# a pvblk disk (`pvkvm run --disk PATH,format=qcow2|raw,io=io_uring,cache=none`)
# when pvkvm has --disk; otherwise (older builds) the block layer on the host
# (bench_engine: same jobs, io_uring, cache=none, no guest), and the output
# says which.  QEMU always runs the same load generator in a guest (microvm,
# virtio-blk-device, cache=none aio=io_uring, one iothread).
#   BENCH_SECONDS (default 5) per job; BENCH_GIB image size (default 1).
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}; SECS=${BENCH_SECONDS:-5}; GIB=${BENCH_GIB:-1}
BIN=$B/tests/bench_engine PVKVM=$B/bin/pvkvm ELF=$B/guest/mini.elf
for f in "$BIN" "$PVKVM"; do [ -x "$f" ] || { echo "bench-qcow2: $f missing (run make)"; exit 1; }; done
command -v qemu-img >/dev/null || { echo "bench-qcow2: qemu-img missing (make deps)"; exit 1; }
have_qemu=1
command -v qemu-system-x86_64 >/dev/null && [ -f "$ELF" ] && [ -r /dev/kvm ] || have_qemu=0
D=$(mktemp -d "$B/tmp-bench_qcow2-XXXXXX"); trap 'rm -rf "$D"' EXIT
SIZE=$((GIB << 30))

# The guest path on pvkvm exists once `pvkvm run` takes a disk with a format.
path="host block layer (bench_engine), no guest: pvkvm run has no --disk format="
guest=0
if "$PVKVM" run --help 2>&1 | grep -q 'format=raw|qcow2' && [ -f "$ELF" ] && [ -r /dev/kvm ]; then
	guest=1
	path="mini-guest load generator on pvkvm, pvblk disk (pvkvm run --disk ...,io=io_uring,cache=none)"
	export PVKVM_RUN_DIR=$D/run
	mkdir -p "$PVKVM_RUN_DIR"
fi

kv() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }

# guest FILE FMT RW BS QD -> "iops MiB/s": the load generator on pvkvm's pvblk
guest_job() {
	local out=$D/g.out res
	timeout $((SECS + 60)) "$PVKVM" run --name qb --kernel "$ELF" --mem 256M --console stdio \
		--disk "$1,format=$2,io=io_uring,cache=none" \
		--append "test=blk dev=pvblk0 rw=$3 bs=$4 qd=$5 runtime=$SECS pvblk_wait_ms=10000" \
		</dev/null >"$out" 2>&1
	res=$(tr -d '\r' <"$out" | grep '^RESULT' || true)
	if [ -z "$res" ]; then
		echo "bench-qcow2: pvkvm gave no RESULT for $3 $4 qd$5 on $2: $(tail -n 2 "$out" | tr '\r\n' '  ')" >&2
		echo "- -"
		return
	fi
	echo "$(kv iops "$res") $(kv mibps "$res")"
}

# ours FILE FMT JOB QD -> "iops MiB/s" (guest path when available, else host)
ours() {
	if [ "$guest" = 1 ]; then
		case $3 in
		randread4k) guest_job "$1" "$2" randread 4k "$4";;
		randwrite4k) guest_job "$1" "$2" randwrite 4k "$4";;
		seqwrite1m) guest_job "$1" "$2" write 1M "$4";;
		esac
		return
	fi
	local o; o=$("$BIN" "$1" "$2" io_uring "$3" "$4" "$SECS") || { echo "- -"; return; }
	echo "$o" | awk '{ print $1, $2 }'
}

# qemu FILE FMT RW BS QD -> "iops MiB/s" (mini-guest load generator on virtio-blk)
qemu() {
	[ "$have_qemu" = 1 ] || { echo "- -"; return; }
	local out=$D/q.out res
	timeout $((SECS + 60)) qemu-system-x86_64 \
		-enable-kvm -cpu host,-arch-capabilities -M microvm -smp 1 -m 256M \
		-nodefaults -no-reboot -nographic -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$ELF" \
		-object iothread,id=io0 \
		-drive id=d0,file="$1",format="$2",if=none,cache=none,aio=io_uring \
		-device virtio-blk-device,drive=d0,iothread=io0 \
		-append "test=blk rw=$3 bs=$4 qd=$5 runtime=$SECS" </dev/null >"$out" 2>&1
	res=$(tr -d '\r' <"$out" | grep '^RESULT' || true)
	if [ -z "$res" ]; then
		echo "bench-qcow2: QEMU gave no RESULT for $3 $4 qd$5 on $2: $(tail -n 2 "$out" | tr '\n' ' ')" >&2
		echo "- -"
		return
	fi
	echo "$(kv iops "$res") $(kv mibps "$res")"
}

fill_raw() { # FILE: written with data so reads hit the disk
	dd if=/dev/urandom of="$D/chunk" bs=1M count=16 status=none
	for i in $(seq 0 $((GIB * 64 - 1))); do
		dd if="$D/chunk" of="$1" bs=1M seek=$((i * 16)) conv=notrunc oflag=direct status=none
	done
}
new_qcow2() { rm -f "$1"; "$PVKVM" img create -f qcow2 "$1" "$2" >/dev/null; }
new_sparse() { rm -f "$1"; truncate -s "$2" "$1"; }

echo "bench-qcow2: preparing ${GIB} GiB images (raw filled, qcow2 preallocated by one sequential write pass) ..."
fill_raw "$D/p.raw"
new_qcow2 "$D/p.qcow2" "$SIZE"
"$BIN" "$D/p.qcow2" qcow2 io_uring seqwrite1m 8 0 >/dev/null || { echo "bench-qcow2: fill failed"; exit 1; }
sync

out=$D/out.md
{
echo "## bench-qcow2 $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "Host: $(lscpu | grep 'Model name' | sed 's/.*: *//'), $(nproc) CPUs, kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); ${GIB} GiB images, ${SECS} s per job."
echo "pvkvm path measured: **$path** (io_uring, cache=none, 64 KiB clusters)."
echo "QEMU: $(qemu-system-x86_64 --version 2>/dev/null | head -n 1), mini-guest load generator in the guest (microvm, virtio-blk-device, cache=none aio=io_uring, iothread)."
echo "Preallocated = every cluster written once (raw: file written); empty = new image (raw: sparse file). IOPS (MiB/s for 1M)."
echo
echo "| job | pvkvm qcow2 | pvkvm raw | qcow2/raw | QEMU qcow2 | QEMU raw | QEMU qcow2/raw | pvkvm qcow2 / QEMU qcow2 |"
echo "|---|---|---|---|---|---|---|---|"
} > "$out"

row() { # NAME OURS_Q OURS_R QEMU_Q QEMU_R
	echo "| $1 | $2 | $3 | $(ratio "$2" "$3") | $4 | $5 | $(ratio "$4" "$5") | $(ratio "$2" "$4") |" | tee -a "$out"
}

# Preallocated: randread, randwrite (pvkvm first, then QEMU on the same files).
for j in "randread4k randread" "randwrite4k randwrite"; do
	set -- $j
	read -r oq _ <<<"$(ours "$D/p.qcow2" qcow2 "$1" 32)"
	read -r orw _ <<<"$(ours "$D/p.raw" raw "$1" 32)"
	read -r qq _ <<<"$(qemu "$D/p.qcow2" qcow2 "$2" 4k 32)"
	read -r qr _ <<<"$(qemu "$D/p.raw" raw "$2" 4k 32)"
	row "4k $2 QD32, preallocated" "$oq" "$orw" "$qq" "$qr"
done
# Empty images: a fresh one for every measurement.
for j in "randread4k randread" "randwrite4k randwrite"; do
	set -- $j
	new_qcow2 "$D/e.qcow2" "$SIZE"; read -r oq _ <<<"$(ours "$D/e.qcow2" qcow2 "$1" 32)"
	new_sparse "$D/e.raw" "$SIZE"; read -r orw _ <<<"$(ours "$D/e.raw" raw "$1" 32)"
	new_qcow2 "$D/e.qcow2" "$SIZE"; read -r qq _ <<<"$(qemu "$D/e.qcow2" qcow2 "$2" 4k 32)"
	new_sparse "$D/e.raw" "$SIZE"; read -r qr _ <<<"$(qemu "$D/e.raw" raw "$2" 4k 32)"
	row "4k $2 QD32, empty" "$oq" "$orw" "$qq" "$qr"
done
# 1M sequential write on an empty image (4x the size, so the run mostly allocates).
BIG=$((SIZE * 4))
new_qcow2 "$D/e.qcow2" "$BIG"; read -r _ oq <<<"$(ours "$D/e.qcow2" qcow2 seqwrite1m 8)"
c=$(qemu-img check "$D/e.qcow2" 2>&1 | head -1)
new_sparse "$D/e.raw" "$BIG"; read -r _ orw <<<"$(ours "$D/e.raw" raw seqwrite1m 8)"
new_qcow2 "$D/e.qcow2" "$BIG"; read -r _ qq <<<"$(qemu "$D/e.qcow2" qcow2 write 1M 8)"
new_sparse "$D/e.raw" "$BIG"; read -r _ qr <<<"$(qemu "$D/e.raw" raw write 1M 8)"
row "1M write QD8, empty, MiB/s" "$oq" "$orw" "$qq" "$qr"
{
echo
echo "qemu-img check of pvkvm's image after the 1M write: $c"
[ "$have_qemu" = 1 ] || echo "QEMU columns empty: qemu-system-x86_64, $ELF or /dev/kvm unavailable."
echo "Goals (issue 9): preallocated qcow2 >= 0.9x raw; ahead of QEMU's qcow2 on every job."
[ "$guest" = 1 ] || echo "pvkvm's columns are the host block layer without a guest (no pvkvm run --disk format=): an upper bound."
echo
} | tee -a "$out"
cat "$out" >> tests/bench/RESULTS.md
echo "bench-qcow2: appended to tests/bench/RESULTS.md"
