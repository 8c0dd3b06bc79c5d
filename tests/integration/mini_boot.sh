#!/usr/bin/env bash
# The mini-guest boots on QEMU microvm and on pvkvm, prints the same facts on
# both, and its exit status reaches the shell.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
T=${MINI_TIMEOUT:-30}
lib_workdir

# qemu_run NAME CMDLINE [MEM]: output in $work/NAME.q, exit status in $work/NAME.q.rc
qemu_run() { mini_qemu "$work/$1.q" "${3:-64M}" "$2"; }
pvkvm_run() {
	local rc=0
	timeout "$T" "$PVKVM" run --kernel "$ELF" --mem "${3:-64M}" --append "$2" \
		</dev/null >"$work/$1.p" 2>&1 || rc=$?
	echo "$rc" >"$work/$1.p.rc"
}

need_mini_elf test_mini_elf_built
if ! grep -q 'Xen' <(readelf -n "$ELF" 2>/dev/null); then
	fail test_mini_elf_has_pvh_note "no Xen ELF note in $ELF"
else
	pass test_mini_elf_has_pvh_note
fi

have_qemu=0
if ! have_kvm; then
	skip test_mini_boots_on_qemu "/dev/kvm not usable"
elif ! command -v qemu-system-x86_64 >/dev/null; then
	skip test_mini_boots_on_qemu "qemu-system-x86_64 not installed"
else
	have_qemu=1
	qemu_run demo "test=demo color=blue"
	qemu_run exit "test=exit:7"
	qemu_run self "test=selftest"
	qemu_run fault "test=fault"
	qemu_run bad "test=no-such-program"
	qemu_run big "test=selftest" 5G
	# QEMU's isa-debug-exit turns status S into (S<<1)|1.
	expect_output test_mini_demo_boots_on_qemu "$work/demo.q" 1 '^demo OK'
	expect_output test_mini_exit_status_reaches_shell_on_qemu "$work/exit.q" 15 'exit status 7'
	expect_output test_mini_selftest_passes_on_qemu "$work/self.q" 1 '^selftest OK'
	expect_output test_mini_exception_is_reported_not_triple_fault "$work/fault.q" 253 'CPU exception 14 (#PF'
	expect_output test_mini_unknown_program_is_usage_error "$work/bad.q" 5 'unknown program'
	# 5 GiB: RAM above the PCI hole (above 4 GiB) is mapped, probed and allocatable.
	expect_output test_mini_ram_above_4g_is_mapped_on_qemu "$work/big.q" 1 '^selftest OK'
	# PCI discovery needs a 0xcf8 bus: QEMU -M pc (SeaBIOS is emulated at CPL0 here: ~5-10 s).
	rc=0
	timeout 90 qemu-system-x86_64 -enable-kvm -cpu host,-arch-capabilities -M pc -nodefaults \
		-no-reboot -nographic -serial stdio -m 64M -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-device virtio-blk-pci,drive=d0 -drive id=d0,file="$ELF",format=raw,if=none,readonly=on \
		-kernel "$ELF" </dev/null >"$work/pc.q" 2>&1 || rc=$?
	if [ $rc = 1 ] && grep -q '^mini: pci 00:00.0 8086:1237 class 060000' "$work/pc.q" &&
		grep -q '^mini: pci 00:0.\.0 1af4:1001 class 010000 bar0 io 0x[0-9a-f]* bar1 mem32 0x[0-9a-f]* bar4 mem64 0x[0-9a-f]* msix' "$work/pc.q"; then
		pass test_mini_pci_scan_finds_bridge_and_virtio_blk_pci
	else
		fail test_mini_pci_scan_finds_bridge_and_virtio_blk_pci "exit $rc: $(grep -E 'pci|mini:' "$work/pc.q" | tail -n 4 | tr '\r\n' '  ')"
	fi
	# (pushfq's IOPL/IF are the host's on PVM, so only the CPL is asserted)
	if grep -q '^mini: cpl 3;' "$work/demo.q"; then
		pass test_mini_programs_run_at_cpl3
	else
		fail test_mini_programs_run_at_cpl3 "$(grep '^mini: cpl' "$work/demo.q")"
	fi
	if grep -q 'option color = "blue"' "$work/demo.q"; then
		pass test_mini_cmdline_options_parsed
	else
		fail test_mini_cmdline_options_parsed "no 'option color = \"blue\"' line"
	fi
fi

if ! have_kvm || ! "$PVKVM" run --help >/dev/null 2>&1; then
	skip test_mini_boots_on_pvkvm "'pvkvm run' not available yet (VMM not merged) or no /dev/kvm"
	exit 0
fi
pvkvm_run demo "test=demo color=blue"
pvkvm_run exit "test=exit:7"
pvkvm_run self "test=selftest"
pvkvm_run fault "test=fault"
pvkvm_run big "test=selftest" 5G
expect_output test_mini_demo_boots_on_pvkvm "$work/demo.p" 0 '^demo OK'
expect_output test_mini_exit_status_reaches_shell_on_pvkvm "$work/exit.p" 7 'exit status 7'
expect_output test_mini_selftest_passes_on_pvkvm "$work/self.p" 0 '^selftest OK'
expect_output test_mini_exception_is_reported_on_pvkvm "$work/fault.p" 126 'CPU exception 14 (#PF'
expect_output test_mini_ram_above_4g_is_mapped_on_pvkvm "$work/big.p" 0 '^selftest OK'
# pvkvm's own CPUID leaves, read at CPL0 by the trampoline (CPL3 CPUID is the host's on PVM).
expect_output test_mini_sees_pvkvm_signature_and_tsc_leaf "$work/demo.p" 0 \
	'^mini: hypervisor signature "pvkvmpvkvmpv" max leaf 0x40000010 (cpuid at CPL0'
expect_output test_mini_clock_comes_from_pvkvm_tsc_leaf "$work/demo.p" 0 '^mini: tsc [0-9]* kHz (from cpuid 0x40000010)'
if [ $have_qemu = 1 ]; then
	# Facts both VMMs must agree on: command line, options, CPU identity, the verdict.
	pat='^mini: (cpl|command line|option|cpu vendor|cpu brand|cpu family|cpu features)|^demo OK'
	if diff <(tr -d '\r' <"$work/demo.q" | grep -E "$pat") \
		<(tr -d '\r' <"$work/demo.p" | grep -E "$pat") >"$work/diff" 2>&1; then
		pass test_mini_same_results_on_qemu_and_pvkvm
	else
		fail test_mini_same_results_on_qemu_and_pvkvm "$(head -n 6 "$work/diff" | tr '\n' ' ')"
	fi
	# Both clocks (PIT calibration on QEMU, CPUID 0x40000010 on pvkvm) within 2 %.
	q=$(sed -n 's/^mini: tsc \([0-9]*\) kHz.*/\1/p' "$work/demo.q")
	p=$(sed -n 's/^mini: tsc \([0-9]*\) kHz.*/\1/p' "$work/demo.p")
	if [ -n "$q" ] && [ -n "$p" ] && [ $(( (q > p ? q - p : p - q) * 50 )) -le "$q" ]; then
		pass test_mini_tsc_frequency_agrees_on_qemu_and_pvkvm
	else
		fail test_mini_tsc_frequency_agrees_on_qemu_and_pvkvm "qemu ${q:-?} kHz, pvkvm ${p:-?} kHz"
	fi
fi
