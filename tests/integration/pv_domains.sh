#!/usr/bin/env bash
# Domains and the store of `pvkvm run`: the store embedded when none answers
# (reachable by `pvkvm store` and by a second guest while its guest lives,
# gone with it), a running pvkvm-stored used instead, --store modes, unique
# domain ids for concurrent guests (`pvkvm list`), a dead guest's store
# entries forgotten by the next holder of its id, and the VMM's store ring
# page next to a guest-supplied one.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
T=${MINI_TIMEOUT:-30}
lib_workdir
need_kvm test_pv_domains
need_mini_elf test_pv_domains_mini_elf_built
export PVKVM_RUN_DIR=$work/run
mkdir -p "$PVKVM_RUN_DIR"
SOCK=$PVKVM_RUN_DIR/store.sock

st() { timeout 5 "$PVKVM" store --socket "$SOCK" "$@" 2>/dev/null; }
# wait_key PATH VALUE: until the store has PATH = VALUE (10 s)
wait_key() {
	for _ in $(seq 100); do [ "$(st read "$1")" = "$2" ] && return 0; sleep 0.1; done
	return 1
}
rc_of() { cat "$work/$1.rc"; }
tail_of() { tail -n 3 "$work/$1.out" | tr '\r\n' '  '; }

# 1. No store running: the first guest embeds one on store.sock; a second
#    guest started meanwhile uses it, gets domain 2, and both trees are seen
#    by `pvkvm store`; `pvkvm list` shows the ids.
mini_pvkvm a "test=pv:store host=1" &
ga=$!
ok_a=0; wait_key /local/domain/1/data/mini hello-store && ok_a=1
mini_pvkvm b "test=pv:store host=1" &
gb=$!
ok_b=0; wait_key /local/domain/2/data/mini hello-store && ok_b=1
list=$("$PVKVM" list)
if [ $ok_a = 1 ] && grep -q "embedded store on $SOCK" "$work/a.out"; then
	pass test_run_embeds_store_when_none_answers
else
	fail test_run_embeds_store_when_none_answers "host read no /local/domain/1/data/mini: $(tail_of a)"
fi
if [ $ok_b = 1 ] && grep -q "using the store on $SOCK" "$work/b.out"; then
	pass test_second_guest_uses_first_guests_embedded_store
else
	fail test_second_guest_uses_first_guests_embedded_store "$(tail_of b)"
fi
if grep -Eq "^a +1 +[0-9]+ +running" <<<"$list" && grep -Eq "^b +2 +[0-9]+ +running" <<<"$list"; then
	pass test_concurrent_guests_get_distinct_domids_in_list
else
	fail test_concurrent_guests_get_distinct_domids_in_list "$list"
fi
for d in 2 1; do
	st write /local/domain/$d/data/host "ping-$d" >/dev/null
	wait_key /local/domain/$d/data/echo "ping-$d" || true
	st write /local/domain/$d/data/done 1 >/dev/null
	[ $d = 2 ] && wait "$gb"
done
wait "$ga"
if [ "$(rc_of a)" = 0 ] && [ "$(rc_of b)" = 0 ] && grep -q "store host round trip ok" "$work/a.out" &&
	grep -q "store host round trip ok" "$work/b.out"; then
	pass test_each_domain_round_trips_in_its_own_tree
else
	fail test_each_domain_round_trips_in_its_own_tree "a: $(rc_of a) $(tail_of a) b: $(rc_of b) $(tail_of b)"
fi
if [ ! -e "$SOCK" ] && ! st read /local >/dev/null; then
	pass test_embedded_store_stops_with_its_guest
else
	fail test_embedded_store_stops_with_its_guest "$SOCK still answers after its guest ended"
fi

# 2. --store daemon without a store fails; the VMM's ring page and a guest's
#    own page both work against the embedded store.
mini_pvkvm nodaemon "test=pv:hcall" --store daemon
if [ "$(rc_of nodaemon)" = 2 ] && grep -q "no store answers" "$work/nodaemon.out"; then
	pass test_store_daemon_mode_fails_without_a_store
else
	fail test_store_daemon_mode_fails_without_a_store "exit $(rc_of nodaemon): $(tail_of nodaemon)"
fi
mini_pvkvm vmmring "test=pv:store" --store embedded
if [ "$(rc_of vmmring)" = 0 ] && grep -q "(the VMM's)" "$work/vmmring.out" && grep -q "pv: store ok" "$work/vmmring.out"; then
	pass test_guest_uses_vmm_reserved_store_ring_page
else
	fail test_guest_uses_vmm_reserved_store_ring_page "exit $(rc_of vmmring): $(tail_of vmmring)"
fi
mini_pvkvm guestring "test=pv:store ring=guest"
if [ "$(rc_of guestring)" = 0 ] && grep -q "(the guest's)" "$work/guestring.out" && grep -q "pv: store ok" "$work/guestring.out"; then
	pass test_guest_supplied_store_ring_page_still_works
else
	fail test_guest_supplied_store_ring_page_still_works "exit $(rc_of guestring): $(tail_of guestring)"
fi

# 3. A running pvkvm-stored is used (and --store embedded refuses to take
#    its socket); a dead guest's leftovers under its domid are forgotten.
"$B/bin/pvkvm-stored" --socket "$SOCK" >"$work/stored.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
st write /local/domain/1/data/stale left-by-a-dead-guest >/dev/null
mini_pvkvm embedded "test=pv:hcall" --store embedded
if [ "$(rc_of embedded)" = 1 ] && grep -q "already answers" "$work/embedded.out"; then
	pass test_store_embedded_mode_refuses_a_running_store
else
	fail test_store_embedded_mode_refuses_a_running_store "exit $(rc_of embedded): $(tail_of embedded)"
fi
mini_pvkvm d "test=pv:store host=1" &
gd=$!
ok_d=0; wait_key /local/domain/1/data/mini hello-store && ok_d=1
stale=$(st read /local/domain/1/data/stale || echo gone)
info=$(cat "$PVKVM_RUN_DIR/d.info" 2>/dev/null)
st write /local/domain/1/data/host x >/dev/null
wait_key /local/domain/1/data/echo x || true
st write /local/domain/1/data/done 1 >/dev/null
wait "$gd"
if [ $ok_d = 1 ] && grep -q "^store=daemon" <<<"$info" && [ "$(rc_of d)" = 0 ] && [ -S "$SOCK" ] &&
	grep -q "using the store on $SOCK" "$work/d.out"; then
	pass test_run_uses_running_store_daemon
else
	fail test_run_uses_running_store_daemon "exit $(rc_of d), info '$info': $(tail_of d)"
fi
if [ "$stale" = gone ]; then
	pass test_new_holder_of_domid_forgets_dead_guests_entries
else
	fail test_new_holder_of_domid_forgets_dead_guests_entries "data/stale = '$stale'"
fi
if ! st read /local/domain/1 >/dev/null; then
	pass test_guest_exit_releases_its_domain_in_daemon
else
	fail test_guest_exit_releases_its_domain_in_daemon "/local/domain/1 still there"
fi

# 4. A guest killed with SIGKILL takes its embedded store with it and leaves
#    store.sock, its domid lock file and (in the store's journal) its tree
#    behind: the next guest embeds a fresh store on the stale socket, gets
#    the freed domid 1 and starts without the dead guest's keys.
kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null; pids=()
rm -f "$SOCK"
mini_pvkvm k "test=pv:store host=1" 2>/dev/null &
gk=$!
ok_k=0; wait_key /local/domain/1/data/mini hello-store && ok_k=1
st write /local/domain/1/data/leftover x >/dev/null
kill -9 "$(cat "$PVKVM_RUN_DIR/k.pid")" 2>/dev/null
wait "$gk"
mini_pvkvm l "test=pv:store host=1" &
gl=$!
ok_l=0; wait_key /local/domain/1/data/mini hello-store && ok_l=1
left=$(st read /local/domain/1/data/leftover || echo gone)
dom_l=$(sed -n 's/^domid=//p' "$PVKVM_RUN_DIR/l.info" 2>/dev/null)
st write /local/domain/1/data/host x >/dev/null
wait_key /local/domain/1/data/echo x || true
st write /local/domain/1/data/done 1 >/dev/null
wait "$gl"
if [ $ok_k = 1 ] && [ $ok_l = 1 ] && [ "$left" = gone ] && [ "$dom_l" = 1 ] && [ "$(rc_of l)" = 0 ]; then
	pass test_guest_after_a_killed_one_reembeds_store_and_reuses_domid
else
	fail test_guest_after_a_killed_one_reembeds_store_and_reuses_domid \
		"k up $ok_k, l up $ok_l, leftover '$left', domid '$dom_l', l exit $(rc_of l): $(tail_of l)"
fi
