#!/usr/bin/env bash
# The network anchor: the mini-guest's UDP/ICMP programs on QEMU's virtio-net
# (-M microvm, virtio-mmio, TAP with vhost=off -- this host has no vhost-net,
# 1 vCPU), against pvkvm-udptool and ping in a network namespace this script
# creates (10.77.0.0/24, nothing outside it is touched).  Rows: UDP packets per
# second at 64 and 1472 bytes guest->host and host->guest (each sender as fast
# as it can), Gbit/s, ping and UDP round trips p50/p99, and QEMU's host CPU per
# packet (all threads, and without the vCPU thread, which polls at 100 %).
# When this build has a PV NIC (pvkvm run --nic and the mini-guest's pvnet), the same
# rows run on pvkvm too (embedded netback on TAP) and the table shows pvkvm/QEMU ratios.
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
PTAP=pvmnb1
PVKVM=${PVKVM:-$B/bin/pvkvm}
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

# guest NAME CMDLINE: the guest on $vmm in the background; output $work/NAME, pid $work/NAME.pid
gseq=0
guest() {
	rm -f "$work/$1.pid" "$work/$1.rc"
	gseq=$((gseq + 1))
	local name=mnb$gseq
	if [ "$vmm" = qemu ]; then
		( timeout $((rt * 4 + 60)) ip netns exec "$NS" qemu-system-x86_64 -enable-kvm -cpu host,-arch-capabilities \
			-M microvm -smp 1 -m 256M -name mini,debug-threads=on -nodefaults -no-reboot -nographic \
			-serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -pidfile "$work/$1.pid" \
			-netdev tap,id=n0,ifname="$TAP",script=no,downscript=no,vhost=off \
			-device virtio-net-device,netdev=n0,mac=$GUEST_MAC \
			-kernel "$ELF" -append "$2" </dev/null >"$work/$1" 2>&1; echo $? >"$work/$1.rc" ) &
		pids+=($!)
		return
	fi
	( timeout $((rt * 4 + 60)) ip netns exec "$NS" "$PVKVM" run --name "$name" --kernel "$ELF" --mem 256M \
		--console stdio --append "$2" --nic "tap=$PTAP,mac=$GUEST_MAC" </dev/null >"$work/$1" 2>&1
	  echo $? >"$work/$1.rc" ) &
	pids+=($!)
	# the backend creates the TAP for this guest: give it the host's address
	for _ in $(seq 100); do nsx ip link show "$PTAP" >/dev/null 2>&1 && break; sleep 0.05; done
	nsx ip addr add "$HOST_IP/24" dev "$PTAP" 2>/dev/null
	nsx ip link set "$PTAP" up
	nsx ip neigh replace "$GUEST_IP" lladdr "$GUEST_MAC" dev "$PTAP" nud permanent
	for _ in $(seq 100); do [ -f "$PVKVM_RUN_DIR/$name.pid" ] && break; sleep 0.05; done
	cp "$PVKVM_RUN_DIR/$name.pid" "$work/$1.pid" 2>/dev/null
}
wait_for() {
	for _ in $(seq 200); do
		grep -q -- "$2" "$work/$1" 2>/dev/null && return 0
		[ -f "$work/$1.rc" ] && return 1
		sleep 0.05
	done
	return 1
}
finish() {
	for _ in $(seq $((rt * 40 + 400))); do [ -f "$work/$1.rc" ] && break; sleep 0.1; done
	[ "$vmm" = pvkvm ] || return 0
	for _ in $(seq 50); do nsx ip link show "$PTAP" >/dev/null 2>&1 || break; sleep 0.1; done
}
kv() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2" | head -n 1; }
result() { tr -d '\r' <"$1" | grep "^RESULT prog=$2" | tail -n 1; }
# cpu_ticks PID: "vcpu_ticks other_ticks" summed over QEMU's threads
cpu_ticks() {
	local v=0 o=0 t ticks
	for t in /proc/"$1"/task/*; do
		ticks=$(sed 's/.*) //' "$t/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		[ -n "$ticks" ] || continue
		if grep -qE 'KVM|^vcpu' "$t/comm" 2>/dev/null; then v=$((v + ticks)); else o=$((o + ticks)); fi
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
	echo "g2h$size $(kv pps "$hres") $(kv gbps "$hres") $(kv pps "$gres") $(pct "$(kv lost "$hres")" "$(kv sent "$hres")")" \
		"$(per_pkt "$all" "$(kv pps "$hres")" "$win") $(per_pkt "$other" "$(kv pps "$hres")" "$win")" >>"$rows"
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
	echo "h2g$size $(kv pps "$gres") $(kv gbps "$gres") $(kv pps "$hres") $(pct "$(kv lost "$gres")" "$(kv sent "$gres")")" \
		"$(per_pkt "$all" "$(kv pps "$gres")" "$win") $(per_pkt "$other" "$(kv pps "$gres")" "$win")" >>"$rows"
}

# percentile FILE P: the P-th percentile (nearest rank) of a sorted column of numbers
percentile() { awk -v p="$2" '{ v[NR] = $1 } END { if (NR) { r = int((NR * p + 99) / 100); if (r < 1) r = 1; printf "%.1f", v[r] } else print "-" }' "$1"; }

us() { awk -v v="$1" 'BEGIN { if (v != "") printf "%.1f", v / 1e3; else print "-" }'; }

rtt_rows() {
	local cnt=1000 res
	guest ping "test=netping ip=$GUEST_IP peer=$HOST_IP count=$cnt interval_ms=1 answer=$cnt runtime=$((rt * 4 + 30))"
	: >"$work/pingt"
	if wait_for ping "answering"; then
		nsx ping -c "$cnt" -i 0.002 -W 1 "$GUEST_IP" 2>&1 | sed -n 's/.*time=\([0-9.]*\) ms/\1/p' |
			awk '{ printf "%.1f\n", $1 * 1000 }' | sort -n >"$work/pingt"
	fi
	finish ping
	res=$(result "$work/ping" netping)
	echo "ping_h2g $(percentile "$work/pingt" 50) $(percentile "$work/pingt" 99) $(head -n 1 "$work/pingt") $(wc -l <"$work/pingt")/$cnt" >>"$rows"
	echo "ping_g2h $(us "$(kv rtt_p50_ns "$res")") $(us "$(kv rtt_p99_ns "$res")") $(us "$(kv rtt_min_ns "$res")") $(kv received "$res")/$cnt" >>"$rows"
	guest echo "test=udpecho ip=$GUEST_IP count=$((cnt * 2)) runtime=$((rt * 4 + 30))"
	wait_for echo "udpecho: ready" && nsx "$TOOL" rtt --dst "$GUEST_IP" --size 64 --count $((cnt * 2)) >"$work/rtt" 2>&1
	finish echo
	res=$(result "$work/rtt" host-rtt)
	echo "udp_rtt $(us "$(kv rtt_p50_ns "$res")") $(us "$(kv rtt_p99_ns "$res")") $(us "$(kv rtt_min_ns "$res")") $(kv received "$res")/$((cnt * 2))" >>"$rows"
}

# field FILE KEY N: the Nth value of row KEY ("-" when absent)
field() { awk -v k="$2" -v i="$3" '$1 == k { v = $(i + 1) } END { print (v == "" ? "-" : v) }' "$1" 2>/dev/null || echo -; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", b / a; else print "-" }'; }

vmms="qemu"
if [ -x "$PVKVM" ] && [ -x "$B/bin/pvkvm-stored" ] && "$PVKVM" run --help 2>&1 | grep -q -- '--nic' &&
	grep -aq 'pvnet: ' "$ELF"; then
	vmms="qemu pvkvm"
	export PVKVM_RUN_DIR=$work/run
	mkdir -p "$PVKVM_RUN_DIR"
	"$B/bin/pvkvm-stored" --socket "$PVKVM_RUN_DIR/store.sock" >"$work/stored.out" 2>&1 &   # $! is the daemon
	pids+=($!)
	for _ in $(seq 50); do [ -S "$PVKVM_RUN_DIR/store.sock" ] && break; sleep 0.1; done
fi
for vmm in $vmms; do
	rows=$work/rows.$vmm
	: >"$rows"
	echo "# $vmm ..." >&2
	for s in 64 1472; do g2h "$s"; done
	for s in 64 1472; do h2g "$s"; done
	rtt_rows
	[ "$vmm" = qemu ] && nsx ip link del "$TAP"     # pvkvm's backend brings its own TAP
done

out=$work/table
q=$work/rows.qemu
p=$work/rows.pvkvm
{
	echo "bench-net-qemu: mini-guest programs, 1 vCPU, private netns, ${rt} s per UDP row; $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "QEMU: $(qemu-system-x86_64 --version | head -n 1 | sed 's/ (.*//') -M microvm, virtio-net-device (virtio-mmio legacy, mergeable rx), TAP vhost=off"
	echo "pvkvm: $([ -f "$p" ] && echo "pvkvm run --nic (embedded netback on TAP), the mini-guest's pvnet" || echo "not measured: this build has no PV NIC")"
	printf '%-34s | %-34s | %-34s | %s\n' "UDP (receiver's view)" "QEMU pps Gbit/s loss% cpu-us/pkt" \
		"pvkvm pps Gbit/s loss% cpu-us/pkt" "pvkvm/QEMU pps"
	for r in g2h64 g2h1472 h2g64 h2g1472; do
		case $r in g2h*) what="udp guest->host ${r#g2h} B" ;; *) what="udp host->guest ${r#h2g} B" ;; esac
		line=$what
		for f in "$q" "$p"; do
			line=$(printf '%s | %9s %6s %5s %5s/%-5s' "$line" "$(field "$f" $r 1)" "$(field "$f" $r 2)" \
				"$(field "$f" $r 4)" "$(field "$f" $r 5)" "$(field "$f" $r 6)")
		done
		printf '%-34s | %s\n' "${line%% |*}" "${line#* | } | $(ratio "$(field "$q" $r 1)" "$(field "$p" $r 1)")"
	done
	printf '%-34s | %-34s | %-34s | %s\n' "round trip (us)" "QEMU p50 p99 min (n)" "pvkvm p50 p99 min (n)" \
		"pvkvm/QEMU p50"
	for r in ping_h2g ping_g2h udp_rtt; do
		case $r in ping_h2g) what="ping host->guest" ;; ping_g2h) what="ping guest->host (netping)" ;;
			*) what="udp echo 64 B host->guest->host" ;; esac
		printf '%-34s | %7s %8s %6s %-9s | %7s %8s %6s %-9s | %s\n' "$what" \
			"$(field "$q" $r 1)" "$(field "$q" $r 2)" "$(field "$q" $r 3)" "($(field "$q" $r 4))" \
			"$(field "$p" $r 1)" "$(field "$p" $r 2)" "$(field "$p" $r 3)" "($(field "$p" $r 4))" \
			"$(ratio "$(field "$q" $r 1)" "$(field "$p" $r 1)")"
	done
	echo "cpu-us/pkt: the VMM process's CPU time (all threads / without the vCPU thread, which polls at 100 %)"
	echo "over a ${win} s window, divided by the packets the receiver got in it; loss% = not received of sent."
} >"$out"
cat "$out"
if [ "$append" = --append ]; then
	{
		echo
		echo "## bench-net-qemu: mini-guest network programs, QEMU virtio-net vs pvkvm pvnet (tests/bench/bench_net_qemu.sh $rt), $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo '```'
		cat "$out"
		echo '```'
	} >>tests/bench/RESULTS.md
fi
