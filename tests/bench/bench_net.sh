#!/usr/bin/env bash
# make bench-net: pvkvm's pvnet against QEMU's virtio-net, side by side.
# The same mini-guest programs (udpsend, udprecv, netping, udpecho; 1 vCPU)
# run on `pvkvm run --nic` (embedded netback on TAP) and on QEMU -M microvm
# virtio-net-device (TAP, vhost=off: this host has no vhost-net), against
# pvkvm-udptool and ping inside a network namespace this script creates
# (10.77.1.0/24 for pvkvm, 10.77.2.0/24 for QEMU; nothing outside it is used).
# Interleaved so machine load hits both alike: for each job, ROUNDS rounds of
# (pvkvm, QEMU), the order swapped every round; medians are reported.
# Jobs: UDP pps at 64 and 1472 B guest->host and host->guest (each sender as
# fast as it can), Gbit/s, ping and UDP echo RTT p50/p99, host CPU per packet
# (whole VMM process; without the vCPU thread, which polls at 100 %; pvkvm's
# netback threads) from /proc/PID/task/*/schedstat.  Appends a section to
# tests/bench/RESULTS.md.
# Usage: bash tests/bench/bench_net.sh [--rounds N] [--seconds S] [--jobs "g2h64 ..."] [--no-append]
#   environment: BENCH_NET_ROUNDS (3), BENCH_NET_SECONDS (4 s per UDP run)
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
PVKVM=$B/bin/pvkvm
ELF=$B/guest/mini.elf
TOOL=$B/bin/pvkvm-udptool
rounds=${BENCH_NET_ROUNDS:-3}
rt=${BENCH_NET_SECONDS:-4}
jobs="g2h64 g2h1472 h2g64 h2g1472 ping udprtt"
append=1
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) rounds=$2; shift 2 ;;
	--seconds) rt=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--no-append) append=0; shift ;;
	*) echo "usage: bench_net.sh [--rounds N] [--seconds S] [--jobs LIST] [--no-append]" >&2; exit 1 ;;
	esac
done
NS=pvkvm-nb-$$
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

if [ "$(id -u)" != 0 ] || [ ! -c /dev/kvm ] || [ ! -c /dev/net/tun ]; then
	echo "SKIP: bench-net: needs root, /dev/kvm and /dev/net/tun"
	exit 0
fi
command -v qemu-system-x86_64 >/dev/null || { echo "bench-net: qemu-system-x86_64 missing" >&2; exit 1; }
for f in "$PVKVM" "$B/bin/pvkvm-stored" "$TOOL" "$ELF"; do
	[ -e "$f" ] || { echo "bench-net: $f missing (run make)" >&2; exit 1; }
done
nsx() { ip netns exec "$NS" "$@"; }
# per VMM: TAP, host address, guest address
tap_of() { [ "$1" = pvkvm ] && echo pvnb1 || echo pvnb2; }
net_of() { [ "$1" = pvkvm ] && echo 10.77.1 || echo 10.77.2; }
ip netns add "$NS" && nsx ip link set lo up || { echo "bench-net: cannot create namespace $NS" >&2; exit 1; }
for v in pvkvm qemu; do
	nsx ip tuntap add dev "$(tap_of $v)" mode tap && nsx ip addr add "$(net_of $v).1/24" dev "$(tap_of $v)" &&
		nsx ip link set "$(tap_of $v)" txqueuelen 10000 && nsx ip link set "$(tap_of $v)" up &&
		nsx ip neigh replace "$(net_of $v).2" lladdr "$GUEST_MAC" dev "$(tap_of $v)" nud permanent ||
		{ echo "bench-net: cannot set up $(tap_of $v) in $NS" >&2; exit 1; }
done
export PVKVM_RUN_DIR=$work/run
mkdir -p "$PVKVM_RUN_DIR"
"$B/bin/pvkvm-stored" --socket "$PVKVM_RUN_DIR/store.sock" >"$work/stored.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$PVKVM_RUN_DIR/store.sock" ] && break; sleep 0.1; done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# guest VMM NAME CMDLINE: the guest in the background; console $work/NAME,
# exit status $work/NAME.rc, VMM pid $work/NAME.pid
seq_no=0
guest() {
	local vmm=$1 name=$2 tap; tap=$(tap_of "$vmm")
	rm -f "$work/$name" "$work/$name.rc" "$work/$name.pid"
	seq_no=$((seq_no + 1))
	if [ "$vmm" = qemu ]; then
		( timeout $((rt * 4 + 60)) ip netns exec "$NS" qemu-system-x86_64 -enable-kvm -cpu host,-arch-capabilities \
			-M microvm -smp 1 -m 256M -name mini,debug-threads=on -nodefaults -no-reboot -nographic \
			-serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -pidfile "$work/$name.pid" \
			-netdev tap,id=n0,ifname="$tap",script=no,downscript=no,vhost=off \
			-device virtio-net-device,netdev=n0,mac=$GUEST_MAC \
			-kernel "$ELF" -append "$3" </dev/null >"$work/$name" 2>&1; echo $? >"$work/$name.rc" ) &
		pids+=($!)
		return
	fi
	( timeout $((rt * 4 + 60)) ip netns exec "$NS" "$PVKVM" run --name "nb$seq_no" --kernel "$ELF" --smp 1 \
		--mem 256M --console "file:$work/$name" --append "$3" --nic "tap=$tap,mac=$GUEST_MAC" \
		</dev/null >"$work/$name.vmm" 2>&1; echo $? >"$work/$name.rc" ) &
	pids+=($!)
	for _ in $(seq 100); do [ -s "$PVKVM_RUN_DIR/nb$seq_no.pid" ] && break; sleep 0.05; done
	tr -dc 0-9 <"$PVKVM_RUN_DIR/nb$seq_no.pid" >"$work/$name.pid" 2>/dev/null
}
wait_for() {
	for _ in $(seq 200); do
		tr -d '\r' <"$work/$1" 2>/dev/null | grep -q -- "$2" && return 0
		[ -f "$work/$1.rc" ] && return 1
		sleep 0.05
	done
	return 1
}
finish() { for _ in $(seq $((rt * 40 + 400))); do [ -f "$work/$1.rc" ] && return; sleep 0.1; done; }
kv() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2" | head -n 1; }
result() { tr -d '\r' <"$1" 2>/dev/null | grep "^RESULT prog=$2" | tail -n 1; }

# cpu_ns PID: "vcpu_ns netback_ns other_ns", on-CPU time summed over the VMM's threads
cpu_ns() {
	local v=0 n=0 o=0 t ns comm
	for t in /proc/"$1"/task/*; do
		read -r ns _ <"$t/schedstat" 2>/dev/null || continue
		comm=$(cat "$t/comm" 2>/dev/null)
		case $comm in
		vcpu*|CPU*KVM*) v=$((v + ns)) ;;
		netback*) n=$((n + ns)) ;;
		*) o=$((o + ns)) ;;
		esac
	done
	echo "$v $n $o"
}
# sample NAME WINDOW_S: CPU over a window starting 1 s into the traffic -> "all no_vcpu netback" ns
sample() {
	local pid; pid=$(cat "$work/$1.pid" 2>/dev/null)
	[ -n "$pid" ] || { echo "- - -"; return; }
	sleep 1
	read -r av an ao <<<"$(cpu_ns "$pid")"
	sleep "$2"
	read -r bv bn bo <<<"$(cpu_ns "$pid")"
	echo "$(( (bv - av) + (bn - an) + (bo - ao) )) $(( (bn - an) + (bo - ao) )) $((bn - an))"
}
# per_pkt NS PPS WINDOW: microseconds of host CPU per packet
per_pkt() { awk -v t="$1" -v p="$2" -v w="$3" 'BEGIN { if (p > 0 && t != "-") printf "%.2f", t / 1e3 / (p * w); else print "-" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b; else print "-" }'; }
us() { awk -v v="$1" 'BEGIN { if (v != "") printf "%.1f", v / 1e3; else print "-" }'; }
percentile() { awk -v p="$2" '{ v[NR] = $1 } END { if (NR) { r = int((NR * p + 99) / 100); if (r < 1) r = 1; printf "%.1f", v[r] } else print "-" }' "$1"; }
win=$((rt > 3 ? rt - 2 : 1))

# Each job appends one line of fields to $work/VMM.JOB:
#   UDP:  pps gbps sender_pps loss% cpu_us_all cpu_us_no_vcpu cpu_us_netback
#   ping: h2g_p50 h2g_p99 g2h_p50 g2h_p99     udprtt: p50 p99 min
job_g2h() {
	local vmm=$1 size=$2 net; net=$(net_of "$vmm")
	nsx timeout $((rt + 30)) "$TOOL" recv --size "$size" --time $((rt + 20)) --idle-ms 1500 --loss-ok >"$work/hr" 2>&1 &
	local rpid=$!
	sleep 0.2
	guest "$vmm" g2h "test=udpsend ip=$net.2 peer=$net.1 size=$size runtime=$rt"
	local c="- - -"
	wait_for g2h "udpsend: to" && c=$(sample g2h "$win")
	wait "$rpid"
	finish g2h
	local h g; h=$(result "$work/hr" host-recv); g=$(result "$work/g2h" udpsend)
	read -r ca cn cb <<<"$c"
	echo "$(kv pps "$h") $(kv gbps "$h") $(kv pps "$g") $(pct "$(kv lost "$h")" "$(kv sent "$h")")" \
		"$(per_pkt "$ca" "$(kv pps "$h")" "$win") $(per_pkt "$cn" "$(kv pps "$h")" "$win") $(per_pkt "$cb" "$(kv pps "$h")" "$win")"
}
job_h2g() {
	local vmm=$1 size=$2 net; net=$(net_of "$vmm")
	guest "$vmm" h2g "test=udprecv ip=$net.2 size=$size runtime=$((rt + 20)) idle_ms=1500 loss_ok=1"
	wait_for h2g "udprecv: ready" || { echo "- - - - - - -"; finish h2g; return; }
	nsx "$TOOL" send --dst "$net.2" --size "$size" --time "$rt" >"$work/hs" 2>&1 &
	local spid=$!
	local c; c=$(sample h2g "$win")
	wait "$spid"
	finish h2g
	local h g; h=$(result "$work/hs" host-send); g=$(result "$work/h2g" udprecv)
	read -r ca cn cb <<<"$c"
	echo "$(kv pps "$g") $(kv gbps "$g") $(kv pps "$h") $(pct "$(kv lost "$g")" "$(kv sent "$g")")" \
		"$(per_pkt "$ca" "$(kv pps "$g")" "$win") $(per_pkt "$cn" "$(kv pps "$g")" "$win") $(per_pkt "$cb" "$(kv pps "$g")" "$win")"
}
job_ping() {
	local vmm=$1 net n=500; net=$(net_of "$vmm")
	guest "$vmm" ping "test=netping ip=$net.2 peer=$net.1 count=$n interval_ms=1 answer=$n runtime=$((rt * 4 + 30))"
	: >"$work/pingt"
	if wait_for ping "answering"; then
		nsx ping -c "$n" -i 0.002 -W 1 "$net.2" 2>&1 | sed -n 's/.*time=\([0-9.]*\) ms/\1/p' |
			awk '{ printf "%.1f\n", $1 * 1000 }' | sort -n >"$work/pingt"
	fi
	finish ping
	local r; r=$(result "$work/ping" netping)
	echo "$(percentile "$work/pingt" 50) $(percentile "$work/pingt" 99) $(us "$(kv rtt_p50_ns "$r")") $(us "$(kv rtt_p99_ns "$r")")"
}
job_udprtt() {
	local vmm=$1 net n=1000; net=$(net_of "$vmm")
	guest "$vmm" echo "test=udpecho ip=$net.2 count=$n runtime=$((rt * 4 + 30))"
	: >"$work/rtt"
	wait_for echo "udpecho: ready" && nsx "$TOOL" rtt --dst "$net.2" --size 64 --count $n >"$work/rtt" 2>&1
	finish echo
	local r; r=$(result "$work/rtt" host-rtt)
	echo "$(us "$(kv rtt_p50_ns "$r")") $(us "$(kv rtt_p99_ns "$r")") $(us "$(kv rtt_min_ns "$r")")"
}
run_job() {
	case $2 in
	g2h*) job_g2h "$1" "${2#g2h}" ;;
	h2g*) job_h2g "$1" "${2#h2g}" ;;
	ping) job_ping "$1" ;;
	udprtt) job_udprtt "$1" ;;
	esac
}

for j in $jobs; do
	for r in $(seq "$rounds"); do
		order="pvkvm qemu"
		[ $((r % 2)) = 0 ] && order="qemu pvkvm"
		for v in $order; do
			run_job "$v" "$j" >>"$work/$v.$j"
			echo "# $j round $r $v: $(tail -n 1 "$work/$v.$j")" >&2
		done
	done
done

# med VMM JOB COLUMN: the median of that column over the rounds ("-" when none)
med() {
	awk -v c="$3" '$c ~ /^[0-9.]+$/ { v[n++] = $c } END {
		if (!n) { print "-"; exit }
		for (i = 0; i < n; i++) for (k = i + 1; k < n; k++) if (v[k] < v[i]) { t = v[i]; v[i] = v[k]; v[k] = t }
		print (n % 2) ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2 }' "$work/$1.$2" 2>/dev/null || echo -
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }'; }
# line LABEL JOB COLUMN GOAL
line() {
	local p q; p=$(med pvkvm "$2" "$3"); q=$(med qemu "$2" "$3")
	printf '| %s | %s | %s | %s | %s |\n' "$1" "$p" "$q" "$(ratio "$p" "$q")" "$4"
}
table=$work/table
{
	echo
	echo "## bench-net, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "Machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1), $(nproc) CPUs; load average before / after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "pvkvm run --nic (pvnet, embedded netback on TAP) vs $(qemu-system-x86_64 --version | head -n 1 | sed 's/ (.*//')" \
		"-M microvm virtio-net-device (TAP, vhost=off); the same mini-guest programs, 1 vCPU, private netns;"
	echo "$rounds interleaved rounds per job (pvkvm, QEMU; order swapped each round), medians; ${rt} s per UDP run;"
	echo "CPU us/pkt = the VMM process's on-CPU time over a ${win} s window / packets the receiver got in it."
	echo
	echo "| row | pvkvm | QEMU | pvkvm/QEMU | goal |"
	echo "|---|---|---|---|---|"
	for j in g2h64 g2h1472 h2g64 h2g1472; do
		case " $jobs " in *" $j "*) ;; *) continue ;; esac
		case $j in g2h*) d="guest->host ${j#g2h} B" ;; *) d="host->guest ${j#h2g} B" ;; esac
		line "UDP $d, pps (receiver)" "$j" 1 ">= 1.5"
		line "UDP $d, Gbit/s" "$j" 2 ">= 1.5"
		line "UDP $d, loss %" "$j" 4 ""
		line "UDP $d, host CPU us/pkt, whole VMM" "$j" 5 "< 1"
		line "UDP $d, host CPU us/pkt, without vCPU thread" "$j" 6 "< 1"
		printf '| UDP %s, host CPU us/pkt, netback threads | %s | - | | |\n' "$d" "$(med pvkvm "$j" 7)"
	done
	case " $jobs " in *" ping "*)
		line "ping host->guest p50 us" ping 1 "<= 0.7"
		line "ping host->guest p99 us" ping 2 "<= 0.7"
		line "ping guest->host (netping) p50 us" ping 3 "<= 0.7"
		line "ping guest->host (netping) p99 us" ping 4 "<= 0.7" ;;
	esac
	case " $jobs " in *" udprtt "*)
		line "UDP echo 64 B host->guest->host p50 us" udprtt 1 "<= 0.7"
		line "UDP echo 64 B host->guest->host p99 us" udprtt 2 "<= 0.7" ;;
	esac
	echo
	echo "Per round (pvkvm | QEMU): UDP pps Gbit/s sender-pps loss% us/pkt(all no-vcpu netback); ping h2g p50 p99 g2h p50 p99; udp echo p50 p99 min"
	echo '```'
	for j in $jobs; do
		paste -d'|' "$work/pvkvm.$j" "$work/qemu.$j" 2>/dev/null | sed "s/^/$j: /; s/|/ | /"
	done
	echo '```'
} >"$table"
cat "$table"
[ "$append" = 1 ] && cat "$table" >>tests/bench/RESULTS.md
exit 0
