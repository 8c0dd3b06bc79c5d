#!/usr/bin/env bash
# make bench-boot: start-up of the mini-guest on pvkvm vs QEMU -M microvm,
# measured in the same run (10 starts each): process start -> guest's first
# console line, process start -> process exit; and the VMM's own memory
# (RSS beyond guest memory), sampled while a guest runs.  Appends to RESULTS.md.
set -u
B=${B:-build}
PVKVM=${PVKVM:-$B/bin/pvkvm}
RUNS=${RUNS:-10}
MINI=$B/guest/mini.elf
LOOPG=$B/tests/hv_guest.elf
[ -f "$MINI" ] || { echo "bench-boot: $MINI missing (run make)"; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "bench-boot: qemu-system-x86_64 missing"; exit 1; }
QEMU=(qemu-system-x86_64 -enable-kvm -cpu host,-arch-capabilities -M microvm -nodefaults -no-reboot
      -nographic -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -m 64M)
export PVKVM_RUN_DIR=$(mktemp -d)
trap 'rm -rf "$PVKVM_RUN_DIR"' EXIT

out=$(python3 - "$RUNS" "$MINI" "$LOOPG" "$PVKVM" "${QEMU[@]}" <<'PY'
import os, subprocess, sys, time
runs, mini, loopg, pvkvm, qemu = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]

def once(cmd, want_rc):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.readline()
    t1 = time.monotonic()
    p.stdout.read()
    rc = p.wait()
    t2 = time.monotonic()
    if rc != want_rc:
        sys.exit("unexpected exit %d from %s" % (rc, cmd[0]))
    return (t1 - t0) * 1e3, (t2 - t0) * 1e3

def series(cmd, want_rc):
    firsts, exits = [], []
    for _ in range(runs):
        f, e = once(cmd, want_rc)
        firsts.append(f); exits.append(e)
    return sorted(firsts), sorted(exits)

def rss_kib(cmd):
    """VMM-own RSS (anon + file) and guest RSS (shmem) while the loop guest runs."""
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.readline()
    time.sleep(0.2)
    st = {}
    for line in open("/proc/%d/status" % p.pid):
        k, _, v = line.partition(":")
        if k in ("RssAnon", "RssFile", "RssShmem"):
            st[k] = int(v.split()[0])
    # Guest-touched memory: the pages allocated in the guest-RAM memfd.
    touched = 0
    for fd in os.listdir("/proc/%d/fd" % p.pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (p.pid, fd)).startswith("/memfd:"):
                touched += os.stat("/proc/%d/fd/%s" % (p.pid, fd)).st_blocks // 2
        except OSError:
            pass
    p.terminate(); p.wait()
    return st.get("RssAnon", 0) + st.get("RssFile", 0), touched

pv = series([pvkvm, "run", "--kernel", mini, "--mem", "64M", "--console", "stdio", "--append", "test=exit:0"], 0)
qm = series(qemu + ["-kernel", mini, "-append", "test=exit:0"], 1)
# The VMMs alone: a trivial PVH guest that prints one line and exits at once
# (shared/baseline/qemu-pvh-start.sh's kind of image).
pv_t = series([pvkvm, "run", "--kernel", loopg, "--mem", "64M", "--append", "h"], 42)
qm_t = series(qemu + ["-kernel", loopg, "-append", "h"], 85)
pv_rss = rss_kib([pvkvm, "run", "--kernel", loopg, "--mem", "64M", "--append", "l"])
qm_rss = rss_kib(qemu + ["-object", "memory-backend-memfd,id=ram,size=64M", "-machine", "memory-backend=ram",
                         "-kernel", loopg, "-append", "l"])
med = lambda a: a[len(a) // 2] if len(a) % 2 else (a[len(a) // 2 - 1] + a[len(a) // 2]) / 2
print("bench-boot: mini-guest (%s, test=exit:0, 64 MiB), %d starts each" % (os.path.basename(mini), runs))
print("%-44s %8s %8s %8s" % ("figure (ms)", "min", "median", "max"))
for name, (f, e) in (("pvkvm", pv), ("qemu -M microvm", qm)):
    print("%-44s %8.1f %8.1f %8.1f" % (name + ": start -> first line", f[0], med(f), f[-1]))
    print("%-44s %8.1f %8.1f %8.1f" % (name + ": start -> exit", e[0], med(e), e[-1]))
print("ratio pvkvm/qemu median start -> first line: %.2fx" % (med(pv[0]) / med(qm[0])))
print("ratio pvkvm/qemu median start -> exit:       %.2fx (goal <= 0.25x)" % (med(pv[1]) / med(qm[1])))
print("trivial PVH guest (hv_guest.elf: one line, then debug-exit), %d starts each:" % runs)
for name, (f, e) in (("pvkvm", pv_t), ("qemu -M microvm", qm_t)):
    print("%-44s %8.1f %8.1f %8.1f" % (name + ": start -> first line", f[0], med(f), f[-1]))
    print("%-44s %8.1f %8.1f %8.1f" % (name + ": start -> exit", e[0], med(e), e[-1]))
print("ratio pvkvm/qemu median start -> exit, trivial guest: %.2fx" % (med(pv_t[1]) / med(qm_t[1])))
print("VMM memory beyond guest RAM (RssAnon+RssFile while the loop guest runs; guest-touched memfd pages in brackets):")
print("  pvkvm %.1f MiB [guest %d KiB], qemu %.1f MiB [guest %d KiB], ratio %.2fx (goal: pvkvm <= 5 MiB)" %
      (pv_rss[0] / 1024, pv_rss[1], qm_rss[0] / 1024, qm_rss[1], pv_rss[0] / max(qm_rss[0], 1)))
PY
) || { echo "$out"; exit 1; }
echo "$out"
{
	echo
	echo "## bench-boot, $(date -u '+%Y-%m-%d %H:%M') UTC"
	echo
	echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) CPUs, /dev/kvm $( [ -d /sys/module/kvm_pvm ] && echo PVM || echo hardware); commit $(git rev-parse --short HEAD 2>/dev/null); load average $(cut -d' ' -f1-3 /proc/loadavg) at the end (other jobs share the CPUs); command \`make bench-boot\`."
	echo
	echo '```'
	echo "$out"
	echo '```'
} >>tests/bench/RESULTS.md
