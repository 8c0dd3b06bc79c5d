#!/usr/bin/env bash
# Debian's cloud kernel on pvkvm (bzImage, x86 boot protocol, payload
# unpacked by the VMM).  Default: boot until the "Linux version" banner
# appears on our serial console, within a bounded time (this host's KVM may
# be PVM, where guest kernel code is emulated ~4000x slower: ~15 s on an idle
# host, 40-60 s when the 2 cores are shared; hence the 180 s bound).
# --full (make check-linux): boot to a busybox shell; needs hardware KVM.
# The kernel is fetched with apt-get download into .cache/linux (not installed).
set -u
. tests/lib.sh
full=0; [ "${1:-}" = --full ] && full=1
BANNER_TIMEOUT=${HV_LINUX_TIMEOUT:-180}
cache=.cache/linux
W=$(mktemp -d)
export PVKVM_RUN_DIR=$W/run
trap 'rm -rf "$W"' EXIT

need_kvm hv_linux "no usable /dev/kvm"
if [ $full = 1 ] && [ -d /sys/module/kvm_pvm ]; then
	skip check_linux_boot_to_busybox "/dev/kvm is PVM (kvm_pvm): guest kernel code is emulated ~4000x slower, a full Linux boot needs hardware-assisted KVM"
	exit 0
fi

fetch_kernel() {
	local k meta dep
	k=$(ls $cache/x/boot/vmlinuz-* 2>/dev/null | head -n1)
	[ -n "$k" ] && { echo "$k"; return 0; }
	mkdir -p $cache && (
		cd $cache || exit 1
		timeout 300 apt-get download linux-image-cloud-amd64 >/dev/null 2>&1 || exit 1
		meta=$(ls linux-image-cloud-amd64_*.deb | head -n1)
		dep=$(dpkg-deb -f "$meta" Depends | tr ',' '\n' | grep -o 'linux-image-[0-9][^ ]*-cloud-amd64' | head -n1)
		[ -n "$dep" ] && timeout 300 apt-get download "$dep" >/dev/null 2>&1 || exit 1
		dpkg-deb -x "$(ls "$dep"_*.deb | head -n1)" x
	) || return 1
	ls $cache/x/boot/vmlinuz-* 2>/dev/null | head -n1
}

kernel=$(fetch_kernel)
if [ -z "$kernel" ]; then skip hv_linux "cannot apt-get download Debian's cloud kernel (no apt access?)"; exit 0; fi

# run_until PATTERN SECONDS ARGS...: start a guest, wait for PATTERN on its
# console, stop it; prints the seconds it took, or fails.
run_until() {
	local pat=$1 limit=$2 pid s t; shift 2
	"$PVKVM" run --kernel "$kernel" --console file:"$W/console" --name linux-test "$@" </dev/null 2>"$W/err" &
	pid=$!
	s=$(date +%s%N)
	while kill -0 $pid 2>/dev/null; do
		t=$(( ($(date +%s%N) - s) / 1000000 ))
		grep -q "$pat" "$W/console" 2>/dev/null && break
		[ $t -ge $((limit * 1000)) ] && break
		sleep 0.1
	done
	t=$(( ($(date +%s%N) - s) / 1000000 ))
	kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null
	grep -q "$pat" "$W/console" 2>/dev/null || return 1
	printf '%d.%03d' $((t / 1000)) $((t % 1000))
}

if [ $full = 0 ]; then
	if secs=$(run_until "Linux version" "$BANNER_TIMEOUT" --mem 512M \
		--append "console=ttyS0 earlyprintk=serial,ttyS0,115200 nokaslr"); then
		pass "test_debian_kernel_prints_linux_version_banner ($(basename "$kernel"): banner after ${secs} s, limit ${BANNER_TIMEOUT} s)"
	else
		fail test_debian_kernel_prints_linux_version_banner "no banner within ${BANNER_TIMEOUT} s; console: $(tail -c 300 "$W/console" 2>/dev/null | tr '\n' ' ') stderr: $(tail -n 2 "$W/err")"
	fi
	exit 0
fi

# Full boot: a busybox initramfs whose /init prints a marker.
bb=$(command -v busybox)
if [ -z "$bb" ] || ! file -L "$bb" | grep -q 'statically linked'; then
	skip check_linux_boot_to_busybox "needs busybox-static (apt-get install busybox-static)"; exit 0
fi
mkdir -p "$W/root/bin" && cp "$bb" "$W/root/bin/busybox"
printf '#!/bin/busybox sh\n/bin/busybox echo BUSYBOX-SHELL-OK\nexec /bin/busybox sh\n' >"$W/root/init"
chmod +x "$W/root/init"
(cd "$W/root" && find . | cpio -o -H newc 2>/dev/null | gzip) >"$W/initrd.gz"
if secs=$(run_until BUSYBOX-SHELL-OK 300 --mem 512M --initrd "$W/initrd.gz" --append "console=ttyS0 panic=-1"); then
	pass "check_linux_boot_to_busybox (${secs} s)"
else
	fail check_linux_boot_to_busybox "no shell within 300 s: $(tail -c 300 "$W/console" | tr '\n' ' ')"
fi
exit 0
