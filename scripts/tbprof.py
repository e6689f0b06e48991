#!/usr/bin/env python3
"""Function-level instruction profile of one guest operation, base vs patched.

    scripts/tbprof.py --out DIR --initramfs CPIO [--append TEXT]
                      --init-args "MODE OP N" KDIR_BASE KDIR_PATCHED

There is no perf in the guest, and under TCG a PMU would count nothing
useful. QEMU itself can log each translation block (TB) it executes
(`-d exec`, with `nochain` so that chained blocks are logged too): this
boots each kernel with the guest of selftests/bench/tbprof-init.c, switches
the log on through the QEMU monitor while the guest repeats the operation N
times, and off again. Each logged block is then attributed to the kernel
function that holds its address (System.map), and weighted by its number of
instructions, counted in the disassembly of vmlinux from its address to the
first control transfer (where TCG ends a block; each iteration of a `rep`
string instruction is a block of its own, and counted as one), or to the
last instruction that surely ends on its page (with -icount, TCG's x86
translator starts a new block where the next instruction could cross
into the next page; without this limit a function that straddles a page
boundary in one kernel and not in the other had the instructions after
the boundary counted twice). The result,
per operation, is the executed instructions and blocks of each function,
for both kernels, and the difference.

The counts are exact in blocks; the instruction weights are those of the
vmlinux image, before alternatives and static keys are patched at boot, so
a function may be off by a few instructions. The log window also holds the
guest's timer ticks and idle loop, the same in both kernels up to noise.
"""
import argparse
import bisect
import collections
import json
import os
import pickle
import re
import socket
import subprocess
import sys
import threading
import time

CONTROL = ("j", "call", "ret", "iret", "sysret", "syscall", "sysenter", "int", "ud2", "hlt", "lret",
           "sti", "popf", "wrmsr", "lfence")
REP = ("rep", "repz", "repnz")
PAGE_SHIFT = 12


def run_guest(kernel, initramfs, append, init_args, log, tag):
    """Boots `kernel`, logs the TBs executed between the guest's READY and DONE into `log`."""
    ser, mon = "/tmp/tbprof-%s-%d.ser" % (tag, os.getpid()), "/tmp/tbprof-%s-%d.mon" % (tag, os.getpid())
    for path in (ser, mon, log):
        if os.path.exists(path):
            os.unlink(path)
    cmd = ["qemu-system-x86_64", "-nodefaults", "-no-reboot", "-m", "1024", "-smp", "1", "-accel", "tcg",
           "-cpu", "max", "-icount", "shift=0,sleep=off", "-kernel", kernel + "/arch/x86/boot/bzImage",
           "-initrd", initramfs,
           "-append", "console=ttyS0 panic=-1 quiet loglevel=4 slab_nomerge norandmaps %s -- %s" % (append, init_args),
           "-display", "none", "-vga", "none",
           "-chardev", "socket,id=s0,path=%s,server=on,wait=off" % ser, "-serial", "chardev:s0",
           "-monitor", "unix:%s,server=on,wait=off" % mon, "-d", "nochain", "-D", log]
    qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)

    def connect(path):
        for _ in range(400):
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(path)
                return s
            except OSError:
                time.sleep(0.05)
        qemu.kill()
        raise SystemExit("tbprof: QEMU did not open %s" % path)

    console, monitor = connect(ser), connect(mon)
    console.settimeout(1800)
    seen = b""

    def wait_for(word):
        nonlocal seen
        while word.encode() not in seen:
            data = console.recv(4096)
            if not data:
                raise SystemExit("tbprof: %s: console closed before %s:\n%s" % (tag, word, seen.decode(errors="replace")[-2000:]))
            seen += data
        seen = seen[seen.index(word.encode()) + len(word):]

    def monitor_cmd(text):
        monitor.sendall((text + "\n").encode())
        time.sleep(0.3)

    wait_for("READY")
    monitor_cmd("log nochain,exec")
    console.sendall(b"go\n")
    wait_for("DONE")
    monitor_cmd("log nochain")
    console.sendall(b"go\n")
    wait_for("END")
    try:
        qemu.wait(timeout=120)
    except subprocess.TimeoutExpired:
        qemu.kill()


def disassembly(vmlinux):
    """Returns the sorted addresses and mnemonics of vmlinux's instructions (cached next to it)."""
    cache = vmlinux + ".tbprof.pickle"
    if os.path.exists(cache) and os.path.getmtime(cache) > os.path.getmtime(vmlinux):
        with open(cache, "rb") as f:
            return pickle.load(f)
    addrs, mns = [], []
    rx = re.compile(r"^ *([0-9a-f]+):\t(\S+)")
    with subprocess.Popen(["objdump", "-d", "--no-show-raw-insn", vmlinux], stdout=subprocess.PIPE, text=True,
                          bufsize=1 << 20) as p:
        for line in p.stdout:
            m = rx.match(line)
            if m:
                addrs.append(int(m[1], 16))
                mns.append(m[2])
    with open(cache, "wb") as f:
        pickle.dump((addrs, mns), f)
    return addrs, mns


def block_insns(addrs, mns, pc):
    """Returns the instructions of the block that starts at `pc`, as TCG cuts it.

    `addrs` and `mns` are the sorted addresses and mnemonics of disassembly(); an address that is
    not the start of an instruction there counts as a block of one.
    """
    i = bisect.bisect_left(addrs, pc)
    if i >= len(addrs) or addrs[i] != pc:
        return 1
    k = 0
    while i < len(addrs) and k < 512:
        k += 1
        if mns[i].startswith(REP) or mns[i].startswith(CONTROL):
            return k
        i += 1
        # With -icount, TCG's x86 translator ends a block before an instruction that starts a
        # page or could reach into the next one (15 bytes, the longest instruction): the rest is
        # a block of its own, logged and counted as such.
        if i < len(addrs):
            nxt = addrs[i]
            if nxt >> PAGE_SHIFT != pc >> PAGE_SHIFT or nxt >> PAGE_SHIFT != (nxt + 14) >> PAGE_SHIFT:
                return k
    return k


def profile(kdir, log, n):
    """Returns {function: (blocks per op, instructions per op)} of the log of kernel `kdir`."""
    addrs, mns = disassembly(kdir + "/vmlinux")
    syms = []
    with open(kdir + "/System.map") as f:
        for line in f:
            a, t, name = line.split()[:3]
            if t in "tTwW":
                syms.append((int(a, 16), name))
    syms.sort()
    starts = [a for a, _ in syms]

    counts = collections.Counter()
    rx = re.compile(r"/([0-9a-f]{16})/")
    with open(log, errors="replace") as f:
        for line in f:
            m = rx.search(line)
            if m:
                counts[int(m[1], 16)] += 1
    blocks, insns = collections.Counter(), collections.Counter()
    for pc, c in counts.items():
        if pc < 0xffffffff80000000:
            name, k = "[user space]", 1
        else:
            j = bisect.bisect_right(starts, pc) - 1
            name, k = (syms[j][1] if j >= 0 else "?"), block_insns(addrs, mns, pc)
        blocks[name] += c
        insns[name] += c * k
    return {name: (blocks[name] / n, insns[name] / n) for name in blocks}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--initramfs", required=True)
    ap.add_argument("--append", default="")
    ap.add_argument("--init-args", required=True, help="MODE OP N")
    ap.add_argument("--rows", type=int, default=40)
    ap.add_argument("base")
    ap.add_argument("patched")
    a = ap.parse_args()
    n = int(a.init_args.split()[2])
    os.makedirs(a.out, exist_ok=True)
    logs = {k: os.path.join(a.out, "tb-%s.log" % k) for k in ("base", "patched")}
    threads = [threading.Thread(target=run_guest, args=(kd, a.initramfs, a.append, a.init_args, logs[k], k))
               for k, kd in (("base", a.base), ("patched", a.patched))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    res = {k: profile(kd, logs[k], n) for k, kd in (("base", a.base), ("patched", a.patched))}
    for log in logs.values():
        os.unlink(log)
    base, pat = res["base"], res["patched"]
    rows = []
    for name in set(base) | set(pat):
        x, y = base.get(name, (0, 0)), pat.get(name, (0, 0))
        rows.append({"function": name, "base_insns": x[1], "patched_insns": y[1], "diff_insns": y[1] - x[1],
                     "base_blocks": x[0], "patched_blocks": y[0]})
    rows.sort(key=lambda r: -abs(r["diff_insns"]))
    tb, tp = sum(v[1] for v in base.values()), sum(v[1] for v in pat.values())
    lines = ["Profile of `%s` (%s), per operation, guest instructions by function" % (a.init_args, a.append or "no extra parameter"),
             "", "total: base %.0f, patched %.0f, difference %+.0f (%.3fx)" % (tb, tp, tp - tb, tp / tb if tb else 0), "",
             "| function | base | patched | difference | blocks base / patched |", "|---|---|---|---|---|"]
    for r in rows[:a.rows]:
        lines.append("| %s | %.1f | %.1f | %+.1f | %.1f / %.1f |" % (r["function"], r["base_insns"], r["patched_insns"],
                                                                  r["diff_insns"], r["base_blocks"], r["patched_blocks"]))
    text = "\n".join(lines) + "\n"
    with open(os.path.join(a.out, "profile.md"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "profile.json"), "w") as f:
        json.dump({"init_args": a.init_args, "append": a.append, "total_base": tb, "total_patched": tp, "rows": rows}, f)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
