#!/usr/bin/env bash
# make bench-evtchn: runs bench_evtchn and appends a dated section to
# tests/bench/RESULTS.md.  Needs /dev/kvm; says SKIP without it.
set -u
bin=$1
B=${2:-build}
n=${BENCH_EVTCHN_ROUND_TRIPS:-50000}
mini_n=${BENCH_EVTCHN_MINI_ROUND_TRIPS:-20000}
if [ ! -w /dev/kvm ]; then
	echo "SKIP: bench-evtchn: /dev/kvm not available"
	exit 0
fi
tmp=$(mktemp)
{
	echo
	echo "## bench-evtchn, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "Machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) CPUs, /dev/kvm $([ -d /sys/module/kvm_pvm ] && echo PVM || echo 'not PVM')."
	echo "Guest at CPL3 polls; backend polls up to 500 us before sleeping; all rows in one run; load average before the run: $(cut -d" " -f1-3 /proc/loadavg) (p99 and round trips/s suffer from other jobs on a loaded host; p50 is the comparison)."
	echo
	echo "| what | variant | p50 us | p99 us | round trips/s | VMM exits |"
	echo "|---|---|---|---|---|---|"
} > "$tmp"
rows=$(mktemp)
timeout 300 "$bin" "$n" 3>>"$rows"
rc=$?
# The same round trip from the mini-guest on pvkvm against pvkvm-testback
# (the whole stack), in the same run; its row joins the table.
echo "evtchn round trip from the mini-guest on pvkvm (test=pv:pvtest, pvkvm-testback), $mini_n round trips, 3 runs:"
mini=$(bash tests/bench/bench_evtchn_mini.sh "$B" "$mini_n" 3 | tee /dev/stderr | sed -n 's/^best: //p')
grep '^|' "$rows" >> "$tmp"
if [ -n "$mini" ]; then
	read -r p50 p99 rate exits <<<"$mini"
	echo "| evtchn round trip | mini-guest on pvkvm + pvkvm-testback | $p50 | $p99 | $rate | $exits |" >> "$tmp"
fi
grep -v '^|' "$rows" >> "$tmp"
if [ -n "$mini" ]; then
	floor=$(awk -F'|' '/floor:/ {gsub(/ /, "", $4); print $4}' "$rows")
	ratio=$(awk -v a="$p50" -v b="$floor" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }')
	echo "Mini-guest row: p50 ${ratio}x the floor; best p50 of 3 runs of $mini_n round trips (\`test=pv:pvtest\` against \`pvkvm-testback --spin-us 500\`; VMM exits counted between the guest's start and end marks of the ping-pong)." >> "$tmp"
	[ "$exits" = 0 ] || rc=3
else
	echo "Mini-guest row: the run failed." >> "$tmp"
	rc=2
fi
cat "$tmp" >> tests/bench/RESULTS.md
rm -f "$tmp" "$rows"
exit $rc
