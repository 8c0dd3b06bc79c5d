#!/usr/bin/env bash
# The network anchor: the mini-guest's UDP/ICMP programs on QEMU's virtio-net
# (-M microvm, virtio-mmio, TAP with vhost=off -- this host has no vhost-net,
# 1 vCPU), against pvkvm-udptool and ping in a network namespace this script
# creates (10.77.0.0/24, nothing outside it is touched).  Rows: UDP packets per
# second at 64 and 1472 bytes guest->host and host->guest (each sender as fast
# as it can), Gbit/s, ping and UDP round trips p50/p99, and QEMU's host CPU per
# packet (all threads, and without the vCPU thread, which polls at 100 %).
# `make bench-net` puts pvkvm's pvnet next to these figures.
# Usage: bash tests/bench/bench_net_qemu.sh [seconds-per-row] [--append]
#   --append  also append the table to tests/bench/RESULTS.md
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
ELF=$B/guest/mini.elf
TOOL=$B/bin/pvkvm-udptool
rt=${1:-5}
append=${2:-}
NS=pvkvm-mnb-$$
TAP=pvmnb0
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

[ "$(id -u)" = 0 ] || { echo "bench_net_qemu: needs root (network namespace, TAP)" >&2; exit 1; }
[ -f "$ELF" ] && [ -x "$TOOL" ] || { echo "bench_net_qemu: $ELF or $TOOL missing (run make)" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "bench_net_qemu: qemu-system-x86_64 missing" >&2; exit 1; }
nsx() { ip netns exec "$NS" "$@"; }
ip netns add "$NS" && nsx ip link set lo up && nsx ip tuntap add dev "$TAP" mode tap &&
	nsx ip addr add "$HOST_IP/24" dev "$TAP" && nsx ip link set "$TAP" up &&
	nsx ip neigh replace "$GUEST_IP" lladdr "$GUEST_MAC" dev "$TAP" nud permanent ||
	{ echo "bench_net_qemu: cannot set up namespace $NS" >&2; exit 1; }
hz=$(getconf CLK_TCK)

# guest NAME CMDLINE: QEMU in the background; output $work/NAME, pid $work/NAME.pid
guest() {
	rm -f "$work/$1.pid" "$work/$1.rc"
	( timeout $((rt * 4 + 60)) ip netns exec "$NS" qemu-system-x86_64 -enable-kvm -cpu host,-arch-capabilities \
		-M microvm -smp 1 -m 256M -name mini,debug-threads=on -nodefaults -no-reboot -nographic -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -pidfile "$work/$1.pid" \
		-netdev tap,id=n0,ifname="$TAP",script=no,downscript=no,vhost=off \
		-device virtio-net-device,netdev=n0,mac=$GUEST_MAC \
		-kernel "$ELF" -append "$2" </dev/null >"$work/$1" 2>&1; echo $? >"$work/$1.rc" ) &
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
# cpu_ticks PID: "vcpu_ticks other_ticks" summed over QEMU's threads
cpu_ticks() {
	local v=0 o=0 t ticks
	for t in /proc/"$1"/task/*; do
		ticks=$(sed 's/.*) //' "$t/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		[ -n "$ticks" ] || continue
		if grep -q 'KVM' "$t/comm" 2>/dev/null; then v=$((v + ticks)); else o=$((o + ticks)); fi
	done
	echo "$v $o"
}
# sample NAME WINDOW_S: QEMU CPU ticks over a window starting 1 s into the traffic -> "all other"
sample() {
	local pid a b
	pid=$(cat "$work/$1.pid" 2>/dev/null) || { echo "- -"; return; }
	sleep 1
	read -r av ao <<<"$(cpu_ticks "$pid")"
	sleep "$2"
	read -r bv bo <<<"$(cpu_ticks "$pid")"
	echo "$(( (bv - av) + (bo - ao) )) $((bo - ao))"
}
# per_pkt TICKS PPS WINDOW: microseconds of CPU per packet
per_pkt() { awk -v t="$1" -v p="$2" -v w="$3" -v hz="$hz" 'BEGIN { if (p > 0) printf "%.2f", t / hz * 1e6 / (p * w); else print "-" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b; else print "-" }'; }
win=$((rt > 3 ? rt - 2 : 1))

# guest -> host: the guest sends as fast as virtio-net takes frames for rt seconds
g2h() {
	local size=$1 hres gres
	nsx timeout $((rt + 30)) "$TOOL" recv --size "$size" --time $((rt + 20)) --idle-ms 1500 --loss-ok >"$work/hr" 2>&1 &
	local rpid=$!
	sleep 0.2
	guest g2h "test=udpsend ip=$GUEST_IP peer=$HOST_IP size=$size runtime=$rt"
	wait_for g2h "udpsend: to" && read -r all other <<<"$(sample g2h "$win")"
	wait "$rpid"
	finish g2h
	hres=$(result "$work/hr" host-recv)
	gres=$(result "$work/g2h" udpsend)
	printf '%-28s | %9s %8s | %10s %6s | %8s %8s\n' "udp guest->host $size B" "$(kv pps "$hres")" \
		"$(kv gbps "$hres")" "$(kv pps "$gres")" "$(pct "$(kv lost "$hres")" "$(kv sent "$hres")")" \
		"$(per_pkt "$all" "$(kv pps "$hres")" "$win")" "$(per_pkt "$other" "$(kv pps "$hres")" "$win")"
}

# host -> guest: pvkvm-udptool sends as fast as the socket takes datagrams for rt seconds
h2g() {
	local size=$1 hres gres
	guest h2g "test=udprecv ip=$GUEST_IP size=$size runtime=$((rt + 20)) idle_ms=1500 loss_ok=1"
	wait_for h2g "udprecv: ready" || { echo "bench_net_qemu: guest did not start: $(tail -n 2 "$work/h2g")" >&2; return; }
	nsx "$TOOL" send --dst "$GUEST_IP" --size "$size" --time "$rt" >"$work/hs" 2>&1 &
	local spid=$!
	read -r all other <<<"$(sample h2g "$win")"
	wait "$spid"
	finish h2g
	hres=$(result "$work/hs" host-send)
	gres=$(result "$work/h2g" udprecv)
	printf '%-28s | %9s %8s | %10s %6s | %8s %8s\n' "udp host->guest $size B" "$(kv pps "$gres")" \
		"$(kv gbps "$gres")" "$(kv pps "$hres")" "$(pct "$(kv lost "$gres")" "$(kv sent "$gres")")" \
		"$(per_pkt "$all" "$(kv pps "$gres")" "$win")" "$(per_pkt "$other" "$(kv pps "$gres")" "$win")"
}

# percentile FILE P: the P-th percentile (nearest rank) of a sorted column of numbers
percentile() { awk -v p="$2" '{ v[NR] = $1 } END { if (NR) { r = int((NR * p + 99) / 100); if (r < 1) r = 1; printf "%.1f", v[r] } else print "-" }' "$1"; }

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
		"$(percentile "$work/pingt" 99)" "$(head -n 1 "$work/pingt")" "$(wc -l <"$work/pingt")" "$n"
	printf '%-28s | %9s %8s %8s   (%s of %s)\n' "ping guest->host (netping)" \
		"$(awk -v v="$(kv rtt_p50_ns "$res")" 'BEGIN { printf "%.1f", v / 1e3 }')" \
		"$(awk -v v="$(kv rtt_p99_ns "$res")" 'BEGIN { printf "%.1f", v / 1e3 }')" \
		"$(awk -v v="$(kv rtt_min_ns "$res")" 'BEGIN { printf "%.1f", v / 1e3 }')" "$(kv received "$res")" "$n"
	guest echo "test=udpecho ip=$GUEST_IP count=$((n * 2)) runtime=$((rt * 4 + 30))"
	wait_for echo "udpecho: ready" && nsx "$TOOL" rtt --dst "$GUEST_IP" --size 64 --count $((n * 2)) >"$work/rtt" 2>&1
	finish echo
	res=$(result "$work/rtt" host-rtt)
	printf '%-28s | %9s %8s %8s   (%s of %s)\n' "udp echo 64 B host->guest->host" \
		"$(awk -v v="$(kv rtt_p50_ns "$res")" 'BEGIN { printf "%.1f", v / 1e3 }')" \
		"$(awk -v v="$(kv rtt_p99_ns "$res")" 'BEGIN { printf "%.1f", v / 1e3 }')" \
		"$(awk -v v="$(kv rtt_min_ns "$res")" 'BEGIN { printf "%.1f", v / 1e3 }')" "$(kv received "$res")" "$((n * 2))"
}

out=$work/table
{
	echo "bench-net-qemu: mini-guest on $(qemu-system-x86_64 --version | head -n 1 | sed 's/ (.*//') -M microvm, 1 vCPU,"
	echo "virtio-net-device (virtio-mmio legacy, mergeable rx buffers), TAP vhost=off, in a private netns; ${rt} s per UDP row"
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
	printf '%-28s | %9s %8s | %10s %6s | %s\n' "UDP (receiver's view)" "pps" "Gbit/s" "sender pps" "loss%" \
		"QEMU cpu-us/pkt: all / without vCPU"
} | tee "$out"
for s in 64 1472; do g2h "$s" | tee -a "$out"; done
for s in 64 1472; do h2g "$s" | tee -a "$out"; done
printf '%-28s | %9s %8s %8s\n' "round trip (us)" p50 p99 min | tee -a "$out"
rtt_rows | tee -a "$out"
echo "pvkvm (pvnet): not in this script; make bench-net runs it with the same programs" | tee -a "$out"
if [ "$append" = --append ]; then
	{
		echo
		echo "## QEMU virtio-net anchor: mini-guest network programs (tests/bench/bench_net_qemu.sh $rt), $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo "Gbit/s is UDP payload; loss% is what the receiver did not get of what the sender's socket/ring took;"
		echo "QEMU cpu-us/pkt = QEMU's CPU time over a $win s window / packets received in it (the vCPU thread polls at 100 %)."
		echo '```'
		cat "$out"
		echo '```'
	} >>tests/bench/RESULTS.md
fi
