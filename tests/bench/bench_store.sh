#!/usr/bin/env bash
# make bench-store: pvkvm-stored next to Xen 4.17's oxenstored, in one run,
# with the same client library and workload (bench_store.c) on both.
# Prints a table with ratios and appends it to tests/bench/RESULTS.md.
# OXS_RUN overrides where the oxenstored starter lives (default
# ../shared/baseline/oxenstored/run.sh, relative to the repository).
set -u
B=${B:-build}
BENCH=$B/bench/bench_store
STORED=$B/bin/pvkvm-stored
OXS_RUN=${OXS_RUN:-../shared/baseline/oxenstored/run.sh}
SECS=${BENCH_SECONDS:-1}
dir=$(mktemp -d /tmp/bench_store.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

rss_mib() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

start_ours() {
	rm -rf "$dir/state" "$dir/s"
	"$STORED" --socket "$dir/s" --state-dir "$dir/state" --snapshot-every 2000000 --log-level err &
	pid=$!
	for _ in $(seq 50); do [ -S "$dir/s" ] && break; sleep 0.1; done
	sock=$dir/s
}

start_ox() {
	# A stale socket from the previous instance would satisfy run.sh's wait.
	rm -f /run/xenstored/socket
	pid=$(bash "$OXS_RUN") || { pid=; return 1; }
	sock=/run/xenstored/socket
}

stop() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; pid=; }

# run NAME: the ops phase plus both memory phases, RESULT lines to $dir/NAME.
run() {
	local name=$1 start=$2 out=$dir/$1
	: > "$out"
	$start || return 1
	timeout 300 "$BENCH" --socket "$sock" --phase ops --seconds "$SECS" >> "$out"
	stop
	for n in 100k 1m; do
		$start || return 1
		echo "RESULT rss_idle_before_${n}_mib $(rss_mib "$pid")" >> "$out"
		timeout 600 "$BENCH" --socket "$sock" --phase "mem$n" >> "$out"
		echo "RESULT rss_${n}_mib $(rss_mib "$pid")" >> "$out"
		stop
	done
}

load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench-store: pvkvm-stored ..."
run ours start_ours
have_ox=1
if [ ! -f "$OXS_RUN" ]; then
	echo "bench-store: SKIP oxenstored half: $OXS_RUN not found (set OXS_RUN)"
	have_ox=0
else
	echo "bench-store: oxenstored ..."
	run ox start_ox || { echo "bench-store: SKIP oxenstored half: it did not start"; have_ox=0; }
fi
[ $have_ox = 1 ] || : > "$dir/ox"

# metric kind: "hi" = more is better (ratio ours/ox, goal >= 2),
# "lo" = less is better (ratio ours/ox, goal <= 0.5), "-" = no goal.
table=$(awk -v have_ox=$have_ox '
FNR == 1 { f++ }
$1 == "RESULT" { v[f, $2] = $3; if (f == 1) order[++n] = $2 }
END {
	printf "| metric | pvkvm-stored | oxenstored | ratio | goal |\n|---|---|---|---|---|\n"
	for (i = 1; i <= n; i++) {
		k = order[i]; o = v[1, k]; x = v[2, k]; kind = "-"
		if (k ~ /_ops$/) kind = "hi"
		if (k ~ /_us$/) kind = "lo"
		if (k ~ /^rss/) kind = "-"
		r = (have_ox && x > 0) ? sprintf("%.2f", o / x) : "n/a"
		goal = ""
		if (kind == "hi" && r != "n/a") goal = (o / x >= 2) ? ">=2x ok" : ">=2x MISSED"
		if (kind == "lo" && r != "n/a") goal = (o / x <= 0.5) ? "<=0.5x ok" : "<=0.5x MISSED"
		if (k == "read_pipelined_ops") goal = goal ((o >= 200000) ? "; >=200k ok" : "; >=200k MISSED")
		if (k == "watch_p50_us") goal = goal ((o <= 50) ? "; <=50us ok" : "; <=50us MISSED")
		if (k == "rss_1m_mib") goal = (o <= 200) ? "<=200MiB ok" : "<=200MiB MISSED"
		printf "| %s | %s | %s | %s | %s |\n", k, o, (have_ox ? x : "-"), r, goal
	}
}' "$dir/ours" "$dir/ox")
echo "$table"

{
	echo
	echo "## bench-store $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs. Command: \`make bench-store\`"
	echo "(BENCH_SECONDS=$SECS per phase; load average before the run: $load). pvkvm-stored runs with"
	echo "its journal on (--state-dir, snapshots every 2M records so none falls inside a phase);"
	echo "oxenstored is Xen 4.17's, socket clients only. Same client library (xs_client) on both."
	echo "Latencies are per synchronous request; ratio = pvkvm-stored / oxenstored."
	echo
	echo "$table"
} >> tests/bench/RESULTS.md
