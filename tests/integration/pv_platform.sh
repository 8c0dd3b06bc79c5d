#!/usr/bin/env bash
# The PV platform in the mini-guest on pvkvm: hypercalls (and hostile
# arguments), SMP bring-up with vcpu_up, sched shutdown -> on_* actions, the store ring through the VMM
# proxy to pvkvm-stored, and the platform self-test (grant refusals, a held
# grant, an event-channel ping-pong, the XenbusState handshake) against the
# host test backend pvkvm-testback.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
T=${MINI_TIMEOUT:-30}
lib_workdir
need_kvm test_pv_platform
need_mini_elf test_pv_mini_elf_built
export PVKVM_RUN_DIR=$work/run
mkdir -p "$PVKVM_RUN_DIR"

# expect NAME STATUS TEST GREP
expect() { expect_output "$3" "$work/$1.out" "$2" "$4" "$work/$1.rc"; }

mini_pvkvm hcall "test=pv:hcall"
expect hcall 0 test_pv_hypercalls_and_hostile_arguments_in_mini_guest "pv: hcall ok"
mini_pvkvm smp "test=pv:smp" --smp 3
expect smp 0 test_pv_vcpu_up_starts_every_secondary_vcpu "pv: smp 3 vcpus up"
mini_pvkvm off "test=pv:poweroff"
expect off 0 test_pv_shutdown_poweroff_stops_the_vm "guest asked for poweroff"
mini_pvkvm reboot "test=pv:reboot" --on-reboot destroy
expect reboot 0 test_pv_shutdown_reboot_follows_on_reboot "guest asked for reboot"
mini_pvkvm crash "test=pv:crash"
expect crash 3 test_pv_shutdown_crash_exits_with_crash_status "guest asked for crash"

"$B/bin/pvkvm-stored" --socket "$PVKVM_RUN_DIR/store.sock" >"$work/stored.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$PVKVM_RUN_DIR/store.sock" ] && break; sleep 0.1; done

mini_pvkvm store "test=pv:store"
expect store 0 test_pv_store_ring_round_trip_through_proxy "pv: store ok"

# Against the host's view: pvkvm store reads what the guest wrote; the guest
# echoes what the host wrote (its watch fires).
mini_pvkvm storehost "test=pv:store host=1" &
guest=$!
st() { timeout 5 "$PVKVM" store --socket "$PVKVM_RUN_DIR/store.sock" "$@" 2>/dev/null; }
seen=""
for _ in $(seq 100); do seen=$(st read /local/domain/1/data/mini) && [ "$seen" = hello-store ] && break; sleep 0.1; done
st write /local/domain/1/data/host ping-from-host >/dev/null
echo=""
for _ in $(seq 100); do echo=$(st read /local/domain/1/data/echo) && [ -n "$echo" ] && break; sleep 0.1; done
st write /local/domain/1/data/done 1 >/dev/null
wait "$guest"
if [ "$seen" != hello-store ] || [ "$echo" != ping-from-host ]; then
	fail test_pv_store_round_trips_match_host_pvkvm_store "host read '$seen', guest echoed '$echo'"
else
	expect storehost 0 test_pv_store_round_trips_match_host_pvkvm_store "store host round trip ok"
fi

# Self-test: the guest waits for its device; the test backend creates it once
# the guest's control socket exists, then serves it.
mini_pvkvm pvtest "test=pv:pvtest rounds=500" &
guest=$!
for _ in $(seq 100); do [ -S "$PVKVM_RUN_DIR/pvtest.ctl" ] && break; sleep 0.1; done
back_rc=0
timeout "$T" "$B/bin/pvkvm-testback" --create --ctl "$PVKVM_RUN_DIR/pvtest.ctl" --domid 1 \
	--store "$PVKVM_RUN_DIR/store.sock" >"$work/back.out" 2>&1 || back_rc=$?
wait "$guest"
if [ "$back_rc" != 0 ]; then
	fail test_pv_selftest_grants_evtchn_handshake_in_mini_guest "backend: $(tail -n 2 "$work/back.out" | tr '\n' ' ')"
else
	expect pvtest 0 test_pv_selftest_grants_evtchn_handshake_in_mini_guest "pv: pvtest ok"
fi
# Steady state: the 500 round trips between the guest's start and end marks
# (console hypercalls, one exit each, logged with the vCPU's exit count)
# make no exit to the VMM process in either direction.
a=$(sed -n 's/.*(vcpu0, \([0-9]*\) exits): pvtest: ping-pong start.*/\1/p' "$work/pvtest.out")
b=$(sed -n 's/.*(vcpu0, \([0-9]*\) exits): pvtest: ping-pong end.*/\1/p' "$work/pvtest.out")
if [ -n "$a" ] && [ -n "$b" ] && [ $((b - a - 1)) = 0 ]; then
	pass test_pv_evtchn_ping_pong_makes_no_vmm_exits
else
	fail test_pv_evtchn_ping_pong_makes_no_vmm_exits "exit counts at the marks: '$a' '$b'"
fi
