#!/usr/bin/env bash
# make bench-evtchn: runs bench_evtchn and appends a dated section to
# tests/bench/RESULTS.md.  Needs /dev/kvm; says SKIP without it.
set -u
bin=$1
n=${BENCH_EVTCHN_ROUND_TRIPS:-50000}
if [ ! -w /dev/kvm ]; then
	echo "SKIP: bench-evtchn: /dev/kvm not available"
	exit 0
fi
tmp=$(mktemp)
{
	echo
	echo "## bench-evtchn, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "Machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) CPUs, /dev/kvm $([ -d /sys/module/kvm_pvm ] && echo PVM || echo 'not PVM')."
	echo "Guest at CPL3 polls; backend polls up to 500 us before sleeping; both rows in one run; load average before the run: $(cut -d" " -f1-3 /proc/loadavg) (p99 and round trips/s suffer from other jobs on a loaded host; p50 is the comparison)."
	echo
	echo "| what | variant | p50 us | p99 us | round trips/s | VMM exits |"
	echo "|---|---|---|---|---|---|"
} > "$tmp"
timeout 300 "$bin" "$n" 3>>"$tmp"
rc=$?
cat "$tmp" >> tests/bench/RESULTS.md
rm -f "$tmp"
exit $rc
