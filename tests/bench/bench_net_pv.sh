#!/usr/bin/env bash
# pvkvm's side of bench-net: the mini-guest's network programs on pvnet
# (`pvkvm run --nic`, the embedded netback thread on a TAP), 1 vCPU, against
# pvkvm-udptool and ping in a network namespace this script creates
# (10.77.0.0/24; nothing outside it is touched).  Same rows and output format
# as tests/bench/bench_net_qemu.sh (the QEMU virtio-net anchor), so
# tests/bench/bench_net.sh can put the two side by side.
# Usage: bash tests/bench/bench_net_pv.sh [seconds-per-row]
# Exit status 3: the mini-guest has no pvnet driver (nothing measured).
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
PVKVM=$B/bin/pvkvm
ELF=$B/guest/mini.elf
TOOL=$B/bin/pvkvm-udptool
rt=${1:-5}
NS=pvkvm-npb-$$
TAP=pvnpb0
HOST_IP=10.77.0.1
GUEST_IP=10.77.0.2
GUEST_MAC=52:54:00:77:00:02
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "bench_net_pv: needs root (network namespace, TAP)" >&2; exit 1; }
[ -f "$ELF" ] && [ -x "$TOOL" ] && [ -x "$PVKVM" ] || { echo "bench_net_pv: $ELF, $TOOL or $PVKVM missing (run make)" >&2; exit 1; }
nsx() { ip netns exec "$NS" "$@"; }
ip netns add "$NS" && nsx ip link set lo up && nsx ip tuntap add dev "$TAP" mode tap &&
	nsx ip addr add "$HOST_IP/24" dev "$TAP" && nsx ip link set "$TAP" up &&
	nsx ip neigh replace "$GUEST_IP" lladdr "$GUEST_MAC" dev "$TAP" nud permanent ||
	{ echo "bench_net_pv: cannot set up namespace $NS" >&2; exit 1; }
export PVKVM_RUN_DIR=$work/run
mkdir -p "$PVKVM_RUN_DIR"
"$B/bin/pvkvm-stored" --socket "$PVKVM_RUN_DIR/store.sock" >"$work/stored.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$PVKVM_RUN_DIR/store.sock" ] && break; sleep 0.1; done
hz=$(getconf CLK_TCK)
n_guest=0

# guest NAME CMDLINE: pvkvm in the background; console $work/NAME, status $work/NAME.rc
guest() {
	rm -f "$work/$1.rc"
	n_guest=$((n_guest + 1))
	local name=npb$n_guest
	echo "$name" >"$work/$1.name"
	( timeout $((rt * 4 + 60)) ip netns exec "$NS" "$PVKVM" run --name "$name" --kernel "$ELF" --smp 1 \
		--mem 256M --console "file:$work/$1" --append "$2" --nic "tap=$TAP,mac=$GUEST_MAC" \
		</dev/null >"$work/$1.vmm" 2>&1; echo $? >"$work/$1.rc" ) &
	pids+=($!)
}
wait_for() {
	for _ in $(seq 200); do
		grep -q -- "$2" "$work/$1" 2>/dev/null && return 0
		[ -f "$work/$1.rc" ] && return 1
		sleep 0.05
	done
	return 1
}
finish() { for _ in $(seq $((rt * 40 + 400))); do [ -f "$work/$1.rc" ] && return; sleep 0.1; done; }
kv() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2" | head -n 1; }
result() { tr -d '\r' <"$1" | grep "^RESULT prog=$2" | tail -n 1; }
vmm_pid() { sed -n 's/^pid=//p' "$PVKVM_RUN_DIR/$(cat "$work/$1.name").info" 2>/dev/null; }
# cpu_ticks PID: "all_ticks netback_ticks" over pvkvm's threads
cpu_ticks() {
	local a=0 n=0 t ticks
	for t in /proc/"$1"/task/*; do
		ticks=$(sed 's/.*) //' "$t/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		[ -n "$ticks" ] || continue
		a=$((a + ticks))
		grep -q '^netback' "$t/comm" 2>/dev/null && n=$((n + ticks))
	done
	echo "$a $n"
}
sample() {
	local pid
	pid=$(vmm_pid "$1")
	[ -n "$pid" ] || { echo "- -"; return; }
	sleep 1
	read -r aa an <<<"$(cpu_ticks "$pid")"
	sleep "$2"
	read -r ba bn <<<"$(cpu_ticks "$pid")"
	echo "$((ba - aa)) $((bn - an))"
}
per_pkt() { awk -v t="$1" -v p="$2" -v w="$3" -v hz="$hz" 'BEGIN { if (p > 0 && t != "-") printf "%.2f", t / hz * 1e6 / (p * w); else print "-" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b; else print "-" }'; }
win=$((rt > 3 ? rt - 2 : 1))

# Probe: does the mini-guest drive pvnet at all?
guest probe "test=netping ip=$GUEST_IP peer=$HOST_IP count=1 runtime=10"
finish probe
if grep -q 'no network device' "$work/probe" 2>/dev/null || ! grep -q 'RESULT prog=netping' "$work/probe" 2>/dev/null; then
	echo "bench_net_pv: the mini-guest does not drive pvnet yet: $(tr -d '\r' <"$work/probe" | tail -n 2 | tr '\n' ' ')" >&2
	exit 3
fi

g2h() {
	local size=$1 hres gres
	nsx timeout $((rt + 30)) "$TOOL" recv --size "$size" --time $((rt + 20)) --idle-ms 1500 --loss-ok >"$work/hr" 2>&1 &
	local rpid=$!
	sleep 0.2
	guest g2h "test=udpsend ip=$GUEST_IP peer=$HOST_IP size=$size runtime=$rt"
	wait_for g2h "udpsend: to" && read -r all nb <<<"$(sample g2h "$win")"
	wait "$rpid"
	finish g2h
	hres=$(result "$work/hr" host-recv)
	gres=$(result "$work/g2h" udpsend)
	printf '%-28s | %9s %8s | %10s %6s | %8s %8s\n' "udp guest->host $size B" "$(kv pps "$hres")" \
		"$(kv gbps "$hres")" "$(kv pps "$gres")" "$(pct "$(kv lost "$hres")" "$(kv sent "$hres")")" \
		"$(per_pkt "$all" "$(kv pps "$hres")" "$win")" "$(per_pkt "$nb" "$(kv pps "$hres")" "$win")"
}

h2g() {
	local size=$1 hres gres
	guest h2g "test=udprecv ip=$GUEST_IP size=$size runtime=$((rt + 20)) idle_ms=1500 loss_ok=1"
	wait_for h2g "udprecv: ready" || { echo "bench_net_pv: guest did not start: $(tail -n 2 "$work/h2g")" >&2; return; }
	nsx "$TOOL" send --dst "$GUEST_IP" --size "$size" --time "$rt" >"$work/hs" 2>&1 &
	local spid=$!
	read -r all nb <<<"$(sample h2g "$win")"
	wait "$spid"
	finish h2g
	hres=$(result "$work/hs" host-send)
	gres=$(result "$work/h2g" udprecv)
	printf '%-28s | %9s %8s | %10s %6s | %8s %8s\n' "udp host->guest $size B" "$(kv pps "$gres")" \
		"$(kv gbps "$gres")" "$(kv pps "$hres")" "$(pct "$(kv lost "$gres")" "$(kv sent "$gres")")" \
		"$(per_pkt "$all" "$(kv pps "$gres")" "$win")" "$(per_pkt "$nb" "$(kv pps "$gres")" "$win")"
}

percentile() { awk -v p="$2" '{ v[NR] = $1 } END { if (NR) { r = int((NR * p + 99) / 100); if (r < 1) r = 1; printf "%.1f", v[r] } else print "-" }' "$1"; }
us() { awk -v v="$1" 'BEGIN { if (v != "") printf "%.1f", v / 1e3; else print "-" }'; }

rtt_rows() {
	local n=1000 res
	guest ping "test=netping ip=$GUEST_IP peer=$HOST_IP count=$n interval_ms=1 answer=$n runtime=$((rt * 4 + 30))"
	if wait_for ping "answering"; then
		nsx ping -c "$n" -i 0.002 -W 1 "$GUEST_IP" 2>&1 | sed -n 's/.*time=\([0-9.]*\) ms/\1/p' |
			awk '{ printf "%.1f\n", $1 * 1000 }' | sort -n >"$work/pingt"
	fi
	finish ping
	res=$(result "$work/ping" netping)
	printf '%-28s | %9s %8s %8s   (%s of %s)\n' "ping host->guest" "$(percentile "$work/pingt" 50)" \
		"$(percentile "$work/pingt" 99)" "$(head -n 1 "$work/pingt" 2>/dev/null)" "$(wc -l <"$work/pingt" 2>/dev/null)" "$n"
	printf '%-28s | %9s %8s %8s   (%s of %s)\n' "ping guest->host (netping)" "$(us "$(kv rtt_p50_ns "$res")")" \
		"$(us "$(kv rtt_p99_ns "$res")")" "$(us "$(kv rtt_min_ns "$res")")" "$(kv received "$res")" "$n"
	guest echo "test=udpecho ip=$GUEST_IP count=$((n * 2)) runtime=$((rt * 4 + 30))"
	wait_for echo "udpecho: ready" && nsx "$TOOL" rtt --dst "$GUEST_IP" --size 64 --count $((n * 2)) >"$work/rtt" 2>&1
	finish echo
	res=$(result "$work/rtt" host-rtt)
	printf '%-28s | %9s %8s %8s   (%s of %s)\n' "udp echo 64 B host->guest->host" "$(us "$(kv rtt_p50_ns "$res")")" \
		"$(us "$(kv rtt_p99_ns "$res")")" "$(us "$(kv rtt_min_ns "$res")")" "$(kv received "$res")" "$((n * 2))"
}

echo "bench-net-pv: mini-guest on pvkvm, 1 vCPU, pvnet (embedded netback thread, TAP with vnet hdr), private netns; ${rt} s per UDP row"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s | %9s %8s | %10s %6s | %s\n' "UDP (receiver's view)" "pps" "Gbit/s" "sender pps" "loss%" \
	"pvkvm cpu-us/pkt: all / netback threads"
for s in 64 1472; do g2h "$s"; done
for s in 64 1472; do h2g "$s"; done
printf '%-28s | %9s %8s %8s\n' "round trip (us)" p50 p99 min
rtt_rows
