#!/usr/bin/env bash
# The VMM's ACPI tables, read by a real table parser: each table is dumped by
# test_acpi --dump and disassembled with acpica-tools' iasl -d; iasl must
# report no error, no bad checksum, the MADT must list one processor per vCPU,
# the DSDT must route PCI INTx, and the disassembled DSDT must compile back.
source "$(dirname "$0")/../lib.sh"

if ! command -v iasl >/dev/null; then
	skip hv_acpi_iasl "iasl not installed (apt-get install acpica-tools)"
	exit 0
fi
tool=$B/tests/test_acpi
[ -x "$tool" ] || { fail hv_acpi_iasl "$tool not built"; exit 0; }
lib_workdir

# disasm_ok N: dump the tables for N vCPUs and disassemble each one.
disasm_ok() {
	local n=$1 dir=$work/smp$1 f out
	mkdir -p "$dir"
	timeout 20 "$tool" --dump "$dir" --smp "$n" || { echo "dump failed"; return 1; }
	for f in "$dir"/*.dat; do
		out=$(cd "$dir" && timeout 20 iasl -d "$(basename "$f")" 2>&1) || {
			echo "iasl -d $(basename "$f") failed: $out"; return 1; }
		if grep -qiE '(^|[^a-z])error|incorrect checksum|invalid|unknown' <<<"$out" \
			"${f%.dat}.dsl"; then
			echo "$(basename "$f"): $(grep -iE 'error|incorrect|invalid|unknown' \
				<<<"$out" "${f%.dat}.dsl" | head -n 2 | tr '\n' ' ')"
			return 1
		fi
	done
	for t in rsdt xsdt facp apic mcfg dsdt; do
		[ -s "$dir/$t.dsl" ] || { echo "$t.dsl missing"; return 1; }
	done
}

# madt_cpus N: the disassembled MADT lists exactly N enabled local APICs.
madt_cpus() {
	local n=$1 dsl=$work/smp$1/apic.dsl got en
	got=$(grep -c 'Subtable Type : 00 \[Processor Local APIC\]' "$dsl")
	en=$(grep -c 'Processor Enabled : 1' "$dsl")
	[ "$got" -eq "$n" ] && [ "$en" -eq "$n" ] || { echo "MADT lists $got ($en enabled), want $n"; return 1; }
}

# The DSDT declares COM1, and its PCI root has a _PRT routing INTA of slots 1-31.
dsdt_has_prt() {
	local dsl=$work/smp$1/dsdt.dsl n
	grep -q 'Name (_PRT, Package (0x1F)' "$dsl" || { echo "no 31-entry _PRT"; return 1; }
	n=$(grep -cE '0x00[0-9A-F]{2}FFFF,' "$dsl")
	[ "$n" -eq 31 ] || { echo "_PRT has $n slot entries"; return 1; }
	grep -q 'EisaId ("PNP0501")' "$dsl" || { echo "no COM1 (PNP0501)"; return 1; }
}

dsdt_recompiles() {
	local dir=$work/smp$1 out
	out=$(cd "$dir" && timeout 20 iasl -p recompiled dsdt.dsl 2>&1)
	grep -q 'Compilation successful. 0 Errors' <<<"$out" || { echo "$out" | tail -n 3; return 1; }
}

for n in 1 2 8; do
	check "acpi_tables_disassemble_cleanly_smp$n" disasm_ok "$n"
	check "acpi_madt_lists_${n}_processors" madt_cpus "$n"
done
check acpi_dsdt_declares_com1_and_routes_pci_intx dsdt_has_prt 2
check acpi_dsdt_recompiles_without_errors dsdt_recompiles 2
exit 0
