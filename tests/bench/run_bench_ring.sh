#!/usr/bin/env bash
# make bench-ring: run bench_ring, print its table, append a dated section
# with the machine model to tests/bench/RESULTS.md.
set -eu
bin=$1
load=$(cut -d' ' -f1-3 /proc/loadavg)
out=$("$bin" "${BENCH_RING_SCALE:-1}")
printf '%s\n' "$out"
results=tests/bench/RESULTS.md
[ -f "$results" ] || printf '# Benchmark results\n\nAppended by `make bench-*`; newest last.\n' >"$results"
{
	printf '\n## bench-ring, %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf 'Machine: %s, %s CPUs; load average before the run %s; commit %s; command `make bench-ring`.\n\n' \
		"$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)" "$(nproc)" "$load" \
		"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	printf '```\n%s\n```\n' "$out"
} >>"$results"
