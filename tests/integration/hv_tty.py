#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# `pvkvm run --console stdio` on a terminal: raw mode while the guest runs
# (input reaches the guest's echo loop unchanged), Ctrl-] x quits with 130,
# and the terminal settings are restored afterwards -- also after SIGTERM.
# Usage: hv_tty.py PVKVM GUEST_ELF; prints PASS/FAIL lines.
import os, pty, select, signal, sys, termios, time

pvkvm, guest = sys.argv[1], sys.argv[2]

def read_until(fd, want, timeout):
    buf, end = b"", time.monotonic() + timeout
    while want not in buf and time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                buf += os.read(fd, 4096)
            except OSError:
                break
    return buf

def run(name, finish):
    pid, master = pty.fork()
    if pid == 0:
        os.execv(pvkvm, [pvkvm, "run", "--kernel", guest, "--mem", "32M", "--append", "e", "--name", name])
    before = termios.tcgetattr(master)
    ok = b"ready" in read_until(master, b"ready", 20)
    raw = termios.tcgetattr(master)
    os.write(master, b"abc\x03")                 # Ctrl-C goes to the guest, not a signal
    echoed = read_until(master, b"abc\x03", 10)
    finish(pid, master)
    _, status = os.waitpid(pid, 0)
    after = termios.tcgetattr(master)
    os.close(master)
    return ok, raw, echoed, before, after, os.waitstatus_to_exitcode(status)

def report(name, cond, why):
    print(("PASS: %s" % name) if cond else ("FAIL: %s: %s" % (name, why)))

ok, raw, echoed, before, after, rc = run("tty-escape", lambda pid, m: os.write(m, b"\x1dx"))
report("test_stdio_console_raw_mode_passes_ctrl_c_to_guest", ok and not (raw[3] & termios.ICANON) and b"abc\x03" in echoed,
       "ready=%s lflag=%#x echoed=%r" % (ok, raw[3], echoed))
report("test_stdio_console_escape_quits_with_130", rc == 130, "exit %d" % rc)
report("test_stdio_console_terminal_restored_after_escape", after == before, "termios differs")

ok, raw, echoed, before, after, rc = run("tty-term", lambda pid, m: os.kill(pid, signal.SIGTERM))
report("test_stdio_console_terminal_restored_after_sigterm", ok and after == before and rc == 143,
       "ready=%s exit %d same=%s" % (ok, rc, after == before))
