#!/usr/bin/env bash
# make bench-net: pvkvm's pvnet against QEMU's virtio-net, in one run.
#  1. Guest path (when the mini-guest drives pvnet and the QEMU anchor script
#     is there): tests/bench/bench_net_qemu.sh (QEMU -M microvm virtio-net,
#     TAP, vhost=off) and tests/bench/bench_net_pv.sh (pvkvm run --nic), the
#     same mini-guest programs and host tool, rows side by side with ratios.
#  2. Always: the host-harness path (bench_net: the pvnet frontend core in a
#     host process -> rings -> netback -> TAP) against a plain TAP writer.
# Everything runs in network namespaces the scripts create.  Appends a dated
# section to tests/bench/RESULTS.md.  BENCH_NET_SECONDS: seconds per row.
set -u
cd "$(dirname "$0")/../.."
bin=$1
B=${B:-build}
rt=${BENCH_NET_SECONDS:-3}
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: bench-net: needs root for network namespaces and TAP devices"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sec=$tmp/section
{
	echo
	echo "## bench-net, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "Machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) CPUs; load average before the run: $(cut -d" " -f1-3 /proc/loadavg)."
} >"$sec"

guest_path() {
	[ -f tests/bench/bench_net_qemu.sh ] || { echo "no QEMU anchor script (tests/bench/bench_net_qemu.sh)"; return 1; }
	B=$B bash tests/bench/bench_net_pv.sh "$rt" >"$tmp/pv" 2>"$tmp/pv.err"
	local rc=$?
	[ $rc = 0 ] || { echo "pvkvm guest path unavailable: $(tail -n 1 "$tmp/pv.err")"; return 1; }
	B=$B bash tests/bench/bench_net_qemu.sh "$rt" >"$tmp/qemu" 2>"$tmp/qemu.err" ||
		{ echo "QEMU anchor failed: $(tail -n 1 "$tmp/qemu.err")"; return 1; }
	return 0
}
# ratio ROW COLUMN: pvkvm / QEMU for the row starting with ROW, field COLUMN (of '|'-split, space-split)
col() { grep -F -- "$2" "$1" | head -n 1 | awk -F'|' -v c="$3" '{ split($c, f, " "); print f[1] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }'; }

if why=$(guest_path); then
	{
		echo "Guest path: the mini-guest's programs on pvkvm (pvnet) and on QEMU $(qemu-system-x86_64 --version | head -n 1 | sed 's/.*version \([^ ]*\).*/\1/') -M microvm virtio-net (TAP, vhost=off), 1 vCPU, ${rt} s per UDP row, same host tool."
		echo
		echo "| row | pvkvm | QEMU | ratio pvkvm/QEMU | goal |"
		echo "|---|---|---|---|---|"
		for r in "udp guest->host 64 B" "udp guest->host 1472 B" "udp host->guest 64 B" "udp host->guest 1472 B"; do
			p=$(col "$tmp/pv" "$r" 2); q=$(col "$tmp/qemu" "$r" 2)
			echo "| $r, pps | $p | $q | $(ratio "$p" "$q") | >= 1.5 |"
			p=$(grep -F -- "$r" "$tmp/pv" | awk -F'|' '{ split($2, f, " "); print f[2] }')
			q=$(grep -F -- "$r" "$tmp/qemu" | awk -F'|' '{ split($2, f, " "); print f[2] }')
			echo "| $r, Gbit/s | $p | $q | $(ratio "$p" "$q") | >= 1.5 |"
			p=$(grep -F -- "$r" "$tmp/pv" | awk -F'|' '{ split($4, f, " "); print f[1] }')
			q=$(grep -F -- "$r" "$tmp/qemu" | awk -F'|' '{ split($4, f, " "); print f[1] }')
			echo "| $r, host CPU us/pkt (whole VMM) | $p | $q | $(ratio "$p" "$q") | < 1 |"
		done
		for r in "ping host->guest" "ping guest->host (netping)" "udp echo 64 B host->guest->host"; do
			p=$(col "$tmp/pv" "$r" 2); q=$(col "$tmp/qemu" "$r" 2)
			echo "| $r, p50 us | $p | $q | $(ratio "$p" "$q") | <= 0.7 |"
			p=$(grep -F -- "$r" "$tmp/pv" | awk -F'|' '{ split($2, f, " "); print f[2] }')
			q=$(grep -F -- "$r" "$tmp/qemu" | awk -F'|' '{ split($2, f, " "); print f[2] }')
			echo "| $r, p99 us | $p | $q | $(ratio "$p" "$q") | <= 0.7 |"
		done
		echo
		echo "Raw: pvkvm"; echo '```'; cat "$tmp/pv"; echo '```'
		echo "Raw: QEMU"; echo '```'; cat "$tmp/qemu"; echo '```'
	} >>"$sec"
else
	echo "Guest path not measured: $why." >>"$sec"
fi
{
	echo
	echo "Host-harness path: fake guest (pvnet frontend core in a host thread, memfd RAM, real grant/evtchn code) -> netback ->"
	echo "TAP in a private network namespace -> host UDP sockets; anchor: a plain TAP writer into the same TAP in the same run."
	echo "${BENCH_NET_SECONDS:-1} s per row; host CPU per packet = process CPU time (guest, backend and socket threads) / packets."
	echo
} >>"$sec"
BENCH_NET_SECONDS=${BENCH_NET_SECONDS:-1} timeout 300 "$bin" 3>>"$sec" >/dev/null
rc=$?
cat "$sec"
cat "$sec" >>tests/bench/RESULTS.md
exit $rc
