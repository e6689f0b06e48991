#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Assemble the test VM's initramfs (gzipped newc cpio), without root.

  mkinitramfs.py --out FILE --gen-init-cpio TOOL [--tree SRC=DEST]...
                 [--tool PATH]... [--file SRC=DEST]...

It holds busybox-static with its applet links, scripts/guest/init as /init,
scripts/guest/* under /ac/bin, every --tree copied to DEST, every --file at
DEST and every --tool at its own path, plus the shared libraries any of those
ELF files need (found with ldd). The kernel's gen_init_cpio writes the
archive, so device nodes and ownership need no privileges: everything is
owned by root, and no copied file is group- or world-writable whatever the
umask of the checkout (auditd, for one, refuses a world-writable
configuration). The skeleton has what daemons expect: /run (with /var/run
pointing to it), /var/log and /var/log/audit.
"""

import argparse
import gzip
import os
import re
import shutil
import stat
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


class Image:
    def __init__(self):
        self.entries = {}  # path in image -> line for gen_init_cpio

    def dirs(self, path):
        parts = path.strip("/").split("/")[:-1]
        cur = ""
        for p in parts:
            cur += "/" + p
            self.entries.setdefault(cur, "dir %s 0755 0 0" % cur)

    def add_dir(self, path):
        self.dirs(path + "/x")

    def add_file(self, src, dest, mode=None):
        self.dirs(dest)
        if mode is None:
            mode = stat.S_IMODE(os.stat(src).st_mode) & ~0o022
        self.entries[dest] = "file %s %s %o 0 0" % (dest, os.path.realpath(src), mode)

    def add_link(self, dest, target):
        self.dirs(dest)
        self.entries.setdefault(dest, "slink %s %s 0777 0 0" % (dest, target))

    def add_node(self, dest, kind, major, minor, mode=0o600):
        self.dirs(dest)
        self.entries[dest] = "nod %s %o 0 0 %s %d %d" % (dest, mode, kind, major, minor)

    def text(self):
        return "\n".join(self.entries[k] for k in sorted(self.entries)) + "\n"


def is_elf(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def libs_of(path):
    out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    libs = []
    for line in out.splitlines():
        m = re.search(r"=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if m:
            libs.append(m.group(1))
    return libs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--gen-init-cpio", required=True)
    ap.add_argument("--busybox", default=shutil.which("busybox") or "/bin/busybox")
    ap.add_argument("--tree", action="append", default=[])
    ap.add_argument("--tool", action="append", default=[])
    ap.add_argument("--file", action="append", default=[])
    args = ap.parse_args()

    img = Image()
    for d in ("/proc", "/sys", "/dev", "/tmp", "/run", "/root", "/etc", "/var/log/audit", "/mnt"):
        img.add_dir(d)
    img.add_link("/var/run", "/run")
    img.add_node("/dev/console", "c", 5, 1)
    img.add_node("/dev/null", "c", 1, 3, 0o666)

    bb = args.busybox
    if not os.path.exists(bb) or libs_of(bb):
        sys.exit("mkinitramfs: need a static busybox (Debian: busybox-static), got %s" % bb)
    img.add_file(bb, "/bin/busybox", 0o755)
    applets = subprocess.run([bb, "--list-full"], capture_output=True, text=True, check=True).stdout
    for a in applets.split():
        if a != "bin/busybox":
            img.add_link("/" + a, "/bin/busybox")
    img.add_file(os.path.join(HERE, "guest", "init"), "/init", 0o755)
    for name in sorted(os.listdir(os.path.join(HERE, "guest"))):
        if name != "init":
            img.add_file(os.path.join(HERE, "guest", name), "/ac/bin/" + name, 0o755)
    with open(os.path.join(os.path.dirname(args.out) or ".", "passwd.tmp"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    img.add_file(f.name, "/etc/passwd", 0o644)
    with open(os.path.join(os.path.dirname(args.out) or ".", "group.tmp"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    img.add_file(f.name, "/etc/group", 0o644)

    elves = []
    for spec in args.tree:
        src, dest = spec.split("=", 1)
        for root, dirs, files in os.walk(src):
            rel = os.path.relpath(root, src)
            base = dest if rel == "." else dest + "/" + rel
            img.add_dir(base)
            for fn in files:
                p = os.path.join(root, fn)
                img.add_file(p, base + "/" + fn)
                if is_elf(p):
                    elves.append(p)
    for spec in args.file:
        src, dest = spec.split("=", 1)
        img.add_file(src, dest)
    for tool in args.tool:
        path = shutil.which(tool) or tool
        img.add_file(path, path)
        elves.append(path)
    seen = set()
    for e in elves:
        for lib in libs_of(e):
            if lib not in seen:
                seen.add(lib)
                img.add_file(lib, lib, 0o755)
    # Debian's loader is named /lib64/ld-linux-x86-64.so.2 and libraries live
    # in /lib/x86_64-linux-gnu; merged /usr needs /usr/lib to resolve too.
    img.add_link("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu")

    listing = args.out + ".list"
    with open(listing, "w") as f:
        f.write(img.text())
    raw = subprocess.run([args.gen_init_cpio, listing], capture_output=True, check=True).stdout
    with gzip.open(args.out + ".tmp", "wb", compresslevel=1) as f:
        f.write(raw)
    os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
