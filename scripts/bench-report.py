#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The report of `make bench` (scripts/bench.sh).

  bench-report.py --results DIR --how TEXT --command TEXT [--wall S] [--doc FILE]

Reads DIR/console-base.log and DIR/console-patched.log (the "ACB ..." lines
of selftests/bench/acbench.c) and DIR/sizes-{base,patched,off}.txt, prints
the table (ratios patched/unpatched with the raw per-operation figures:
min / median over the repetitions and their spread, (max-min)/median) with
PASS/MISS against the targets of issue 6, and writes DIR/bench.md,
DIR/bench.svg and DIR/bench.json; --doc also gets the Markdown.
"""

import argparse
import json
import os
import re
import statistics
import sys

LINE = re.compile(r"^ACB group=(\S+) name=(\S+) variant=(\S+) rep=(\d+) value=(\S+) unit=(\S+)")

TARGETS = {
    "lifecycle_nocont": 1.01,
    "record_info": 1.0,
    "record_ns": 1.2,
    "lifecycle_cont": 1.03,
    "reg_growth": 2.0,
    "container_bytes": 128,
    "process_bytes_off": 0,
}


def parse(path):
    data, info = {}, []
    if not os.path.exists(path):
        return data, info
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip().replace("\r", "")
            m = LINE.match(line)
            if m:
                g, n, v, _, val, unit = m.groups()
                data.setdefault((g, n, v), []).append(float(val))
            elif line.startswith("ACB-INFO") or line.startswith("ACB-ERROR"):
                info.append(line)
    return data, info


def stats(vals):
    if not vals:
        return None
    med = statistics.median(vals)
    return {"min": min(vals), "median": med, "max": max(vals), "n": len(vals),
            "spread": (max(vals) - min(vals)) / med if med else 0.0}


def fmt_ns(s):
    if not s:
        return "n/a"
    return "%s / %s (±%.1f%%)" % (num(s["min"]), num(s["median"]), 50 * s["spread"])


def num(v):
    if v >= 100:
        return "{:,.0f}".format(v).replace(",", " ")
    return "%.1f" % v


def sizes(path):
    out = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                k, v = line.split()
                out[k] = int(v)
    return out


def kmalloc_bucket(n):
    for b in (8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192):
        if n <= b:
            return b
    return n


def record_costs(md, out, base, pat, S, med, verdict):
    """One record of each kind: the same event with and without it (acbench's record_costs())."""
    def count(d, name, kind, v):
        st = S(d, "record_count", "record.%s.%s" % (name, kind), v)
        return med(st) if st else None

    def cost(d, op, kind, v, per_op=None):
        ref, without = S(d, "record", op + "_all", v), S(d, "record", "%s_no_%s" % (op, kind), v)
        if not ref or not without:
            return None, None
        n = per_op
        if n is None:
            # The records the run without them did not get, per operation.
            a, b = count(d, op + "_all", kind, v), count(d, "%s_no_%s" % (op, kind), kind, v)
            n = a - b if a is not None and b is not None else None
        if not n:
            return None, n
        return (med(ref) - med(without)) / n, n

    rows = [("EOE", "an audited getppid(), no container", "getppid", "eoe", "nocont", 1, None),
            ("PROCTITLE", "an audited getppid(), no container", "getppid", "proctitle", "nocont", 1, None),
            ("CONTAINER_INFO", "an audited getppid() in a container", "getppid", "container_info", "cont", 1,
             "info"),
            ("CONTAINER_INFO, chain of 8", "an audited getppid() 7 levels down", "getppid", "container_info",
             "nested", 1, None),
            ("NS_CREATE", "a member's unshare(NEWUTS), no rule", "unshare_uts", "ns_create", "cont", None, "ns"),
            ("NS_CHANGE", "a member's unshare(NEWUTS), no rule", "unshare_uts", "ns_change", "cont", None, "ns"),
            ("NS_DESTROY and its CONTAINER_INFO", "a member's unshare(NEWUTS), no rule",
             "unshare_uts", "ns_destroy", "cont", None, None),
            ("CONTAINER_INFO (of the unshare() event and of NS_DESTROY)", "a member's unshare(NEWUTS), no rule",
             "unshare_uts", "container_info", "cont", None, None)]
    eoe, _ = cost(pat, "getppid", "eoe", "nocont", 1)
    if eoe is None:
        return
    md.append("## The cost of one record (guest ns per record)")
    md.append("")
    md.append("The same operation, run with and without one kind of record: a `never,exclude -F msgtype=`"
              " rule drops that record in `audit_log_start()`, before anything is allocated or"
              " formatted, and every run has one exclude rule (the reference run's for a type nothing"
              " logs). A record's cost is the reference run minus the run without it, divided by the"
              " records per operation that the run without it did not get (counted by the daemon);"
              " the ratio is to `EOE`, the cheapest record audit writes (a header and nothing else)."
              " `CONTAINER_INFO` is an auxiliary record of the event's `PROCTITLE` record, or of a"
              " record logged outside a syscall event: it shares that record's buffer and header,"
              " and goes with it. `NS_DESTROY`, logged outside the `unshare()`, carries one, so the"
              " run without `NS_DESTROY` lacks both; `NS_DESTROY` alone is that pair less the"
              " `CONTAINER_INFO` row of the same operation.")
    md.append("")
    md.append("| record | logged by | per operation | unpatched | patched | ratio to EOE | target |")
    md.append("|---|---|---|---|---|---|---|")
    worst_ns = None
    pair, info = cost(pat, "unshare_uts", "ns_destroy", "cont")[0], cost(pat, "unshare_uts", "container_info", "cont")[0]
    rows.append(("NS_DESTROY alone", "the pair less the CONTAINER_INFO row above", None, None, "cont", None, "ns"))
    for label, cause, op, kind, v, per_op, target in rows:
        if op is None:
            c, n = (pair - info if pair is not None and info is not None else None), 1
        else:
            c, n = cost(pat, op, kind, v, per_op)
        b = cost(base, op, kind, v, per_op)[0] if v == "nocont" and op else None
        ratio = c / eoe if c is not None else None
        tgt = ""
        if target == "info":
            lim = TARGETS["record_info"]
            tgt = "≤ %.1f %s" % (lim, "PASS" if ratio is not None and ratio <= lim else "MISS")
            verdict("CONTAINER_INFO record: ratio to EOE", ratio, lim,
                    ratio is not None and ratio <= lim, "%.2fx (≤ %.1fx)" % (ratio or 0, lim))
        elif target == "ns":
            tgt = "≤ %.1f %s" % (TARGETS["record_ns"],
                                 "PASS" if ratio is not None and ratio <= TARGETS["record_ns"] else "MISS")
            if ratio is not None:
                worst_ns = max(worst_ns or 0, ratio)
        md.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            label, cause, "%.2f" % n if n is not None else "n/a",
            num(b) if b is not None else "", num(c) if c is not None else "n/a",
            "%.2f" % ratio if ratio is not None else "n/a", tgt))
        out["rows"].append({"group": "record", "name": label, "per_op": n, "base_ns": b, "patched_ns": c,
                            "ratio_to_eoe": ratio})
    md.append("")
    lim = TARGETS["record_ns"]
    verdict("each NS_* record: ratio to EOE", worst_ns, lim, worst_ns is not None and worst_ns <= lim,
            "worst %.2fx (≤ %.1fx)" % (worst_ns or 0, lim))


def container_starts(md, out, base, pat, S, med, verdict):
    """A container's start and end, 7 namespaces (acbench's container_start())."""
    setups = [("start_audit_off", "audit off", True),
              ("start_audit_on", "audit on, no rule (daemon draining)", True),
              ("start_rules", "audit on, the rules of `41-containers.rules`", False)]
    ops = [("clone3_7ns", "clone3(7 namespaces) + exit + wait"),
           ("fork_unshare_7ns", "fork + unshare(7 namespaces) + exit + wait")]
    kinds = ("ns_create", "ns_change", "ns_destroy", "container_info", "eoe")
    md.append("## A container start (guest ns per start)")
    md.append("")
    md.append("A container runtime's start and end of a container with the mount, UTS, IPC, PID,"
              " network, cgroup and time namespaces: `clone3()` with the flags, or `fork()` and"
              " `unshare()` in the child as runc does, then exit and wait. \"In a container\": the"
              " runtime runs in a container, so every namespace it creates is the container's and"
              " logged. Records per start, from the daemon: `NS_CREATE`/`NS_CHANGE`/`NS_DESTROY`/"
              "`CONTAINER_INFO`/events (`EOE`). `41-containers.rules` selects `clone` with namespace"
              " flags and `unshare`/`setns`, not `clone3`.")
    md.append("")
    md.append("| start | setup | unpatched | patched, no container | ratio | records | patched, in a container"
              " | ratio | records | target (no container) |")
    md.append("|---|---|---|---|---|---|---|---|---|---|")
    worst = None

    def records(d, g, name, v):
        vals = []
        for k in kinds:
            st = S(d, "record_count", "%s.%s.%s" % (g, name, k), v)
            vals.append("%.0f" % med(st) if st else "-")
        return "/".join(vals) if any(x != "-" for x in vals) else ""

    for g, setup, target in setups:
        for n, label in ops:
            b, pn, pc = S(base, g, n, "nocont"), S(pat, g, n, "nocont"), S(pat, g, n, "cont")
            rn = med(pn) / med(b) if b and pn else None
            rc = med(pc) / med(b) if b and pc else None
            tgt = ""
            if target:
                lim = TARGETS["lifecycle_nocont"]
                tgt = "≤ %.2f %s" % (lim, "PASS" if rn is not None and rn <= lim else "MISS")
                if rn is not None:
                    worst = max(worst or 0, rn)
            md.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                label, setup, fmt_ns(b), fmt_ns(pn), "%.3f" % rn if rn else "n/a", records(pat, g, n, "nocont"),
                fmt_ns(pc), "%.3f" % rc if rc else "n/a", records(pat, g, n, "cont"), tgt))
            out["rows"].append({"group": g, "name": n, "base": b, "patched_nocont": pn, "patched_cont": pc,
                                "ratio_nocont": rn, "ratio_cont": rc})
    md.append("")
    lim = TARGETS["lifecycle_nocont"]
    verdict("container start, no container, audit off or no rule: patched/unpatched", worst, lim,
            worst is not None and worst <= lim, "worst ratio %.3f (≤ %.2f)" % (worst or 0, lim))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--how", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--wall", type=int, default=0)
    ap.add_argument("--no-build", action="store_true", help="the kernels were built before")
    ap.add_argument("--doc")
    a = ap.parse_args()
    r = a.results
    base, base_info = parse(os.path.join(r, "console-base.log"))
    pat, pat_info = parse(os.path.join(r, "console-patched.log"))
    sb, sp, so = (sizes(os.path.join(r, "sizes-%s.txt" % k)) for k in ("base", "patched", "off"))
    reps = max([len(v) for v in list(base.values()) + list(pat.values())] or [0])

    def S(d, g, n, v):
        return stats(d.get((g, n, v), []))

    def med(s):
        return s["median"] if s else None

    md = []
    verdicts = []
    chart = []
    out = {"how": a.how, "command": a.command, "rows": [], "targets": []}

    def verdict(name, value, limit, ok, text):
        res = "n/a" if value is None else ("PASS" if ok else "MISS")
        verdicts.append((name, text, res))
        out["targets"].append({"target": name, "value": value, "limit": limit, "result": res})
        return res

    md.append("# Benchmarks: audit container IDs against the unpatched kernel")
    md.append("")
    md.append("Command: `%s`" % a.command)
    md.append("")
    md.append("Measured with: %s. Each figure is per operation, over %d repetitions of a"
              " loop: min / median (±half the spread (max-min)/median). The base and the"
              " patched kernel have the same configuration (`bench` + `configs/bench.config`)"
              " and boot with the same command line, memory and initramfs." % (a.how, reps))
    if a.wall:
        md.append("")
        md.append("Wall time of the whole run, %s: %d min %d s." % (
            "kernels built before" if a.no_build else "builds included", a.wall // 60, a.wall % 60))
    md.append("")
    md.append("Why a target is missed, with the profile: `Documentation/benchmarks-notes.md`.")
    md.append("")
    insert_at = len(md)

    # Process lifecycle and namespaces.
    md.append("## Process lifecycle and namespaces (guest ns per operation)")
    md.append("")
    md.append("| workload | unpatched | patched, no container | ratio | patched, in a container | ratio | target |")
    md.append("|---|---|---|---|---|---|---|")
    groups = [("lifecycle", "fork_exit_wait", "fork + exit + wait", True),
              ("lifecycle", "clone3", "clone3 + exit + wait", True),
              ("lifecycle", "clone3_newuts_newipc", "clone3(NEWUTS\\|NEWIPC) + exit + wait", True),
              ("lifecycle", "thread_create_join", "pthread create + join", True),
              ("ns_audit_off", "unshare_uts", "unshare(NEWUTS), audit off", False),
              ("ns_audit_off", "clone3_newuts_newipc", "clone3(NEWUTS\\|NEWIPC) + exit + wait, audit off", False),
              ("ns_audit_on", "unshare_uts", "unshare(NEWUTS), audit on, no rule (daemon draining)", "nocont"),
              ("ns_audit_on", "clone3_newuts_newipc", "clone3(NEWUTS\\|NEWIPC) + exit + wait, audit on, no rule", "nocont"),
              ("audit", "getppid_unaudited", "getppid, audit on, no rule", False),
              ("audit", "getppid_audited", "getppid, audited (SYSCALL+PROCTITLE+EOE)", False)]
    worst_nc, worst_c, worst_ns = None, None, None
    for g, n, label, target in groups:
        b, pn, pc = S(base, g, n, "nocont"), S(pat, g, n, "nocont"), S(pat, g, n, "cont")
        rn = med(pn) / med(b) if b and pn else None
        rc = med(pc) / med(b) if b and pc else None
        tgt = ""
        if target == "nocont":
            # Contract v2: no namespace record for a process in no container without a rule.
            tgt = "≤ %.2f %s" % (TARGETS["lifecycle_nocont"],
                                 "PASS" if rn is not None and rn <= TARGETS["lifecycle_nocont"] else "MISS")
            if rn is not None:
                worst_ns = max(worst_ns or 0, rn)
        elif target:
            tgt = "≤ %.2f / ≤ %.2f" % (TARGETS["lifecycle_nocont"], TARGETS["lifecycle_cont"])
            if rn is not None:
                worst_nc = max(worst_nc or 0, rn)
            if rc is not None:
                worst_c = max(worst_c or 0, rc)
            tgt += " %s / %s" % ("PASS" if rn is not None and rn <= TARGETS["lifecycle_nocont"] else "MISS",
                                 "PASS" if rc is not None and rc <= TARGETS["lifecycle_cont"] else "MISS")
        md.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            label, fmt_ns(b), fmt_ns(pn), "%.3f" % rn if rn else "n/a",
            fmt_ns(pc), "%.3f" % rc if rc else "n/a", tgt))
        chart.append((label, rn, rc, target))
        out["rows"].append({"group": g, "name": n, "base": b, "patched_nocont": pn,
                            "patched_cont": pc, "ratio_nocont": rn, "ratio_cont": rc})
    md.append("")
    verdict("lifecycle, no container: patched/unpatched", worst_nc, TARGETS["lifecycle_nocont"],
            worst_nc is not None and worst_nc <= TARGETS["lifecycle_nocont"],
            "worst ratio %.3f (≤ %.2f)" % (worst_nc or 0, TARGETS["lifecycle_nocont"]))
    verdict("namespaces, audit on, no rule, no container: patched/unpatched", worst_ns,
            TARGETS["lifecycle_nocont"],
            worst_ns is not None and worst_ns <= TARGETS["lifecycle_nocont"],
            "worst ratio %.3f (≤ %.2f)" % (worst_ns or 0, TARGETS["lifecycle_nocont"]))
    verdict("lifecycle, in a container: patched/unpatched", worst_c, TARGETS["lifecycle_cont"],
            worst_c is not None and worst_c <= TARGETS["lifecycle_cont"],
            "worst ratio %.3f (≤ %.2f)" % (worst_c or 0, TARGETS["lifecycle_cont"]))

    # Audited events.
    au_n, au_c = S(pat, "audit", "getppid_audited", "nocont"), S(pat, "audit", "getppid_audited", "cont")
    un_n, un_c = S(pat, "audit", "getppid_unaudited", "nocont"), S(pat, "audit", "getppid_unaudited", "cont")
    extra = None
    if au_n and au_c and un_n and un_c:
        ev_n = med(au_n) - med(un_n)
        ev_c = med(au_c) - med(un_c)
        extra = ev_c / ev_n - 1
        md.append("Audited event cost (audited − unaudited syscall, patched kernel, guest ns):"
                  " no container %s, in a container %s (+ AUDIT_CONTAINER_INFO): **%+.1f %%**"
                  " (information: the target is the record's cost against `EOE`'s, below)."
                  % (num(ev_n), num(ev_c), 100 * extra))
        md.append("")
    # Information since issue 18: the targets are the records' ratios to EOE (below).

    # The cost of one record of each kind (issue 18).
    record_costs(md, out, base, pat, S, med, verdict)

    # A container start, for hosts (issue 18).
    container_starts(md, out, base, pat, S, med, verdict)

    # Nesting (contract v2).
    md.append("## Nested containers (guest ns per operation)")
    md.append("")
    md.append("A process at the bottom of a chain of 8 containers (7 levels below the top, each"
              " registered by the delegate above it), against the unpatched kernel running the"
              " same workload at the bottom of the same chain of 8 processes (in no container).")
    md.append("")
    md.append("| workload | unpatched, same process chain | patched, nested (chain of 8) | ratio | target |")
    md.append("|---|---|---|---|---|")
    worst_nest = None
    for g, n, label, target in groups:
        if g != "lifecycle":
            continue
        b, pd = S(base, g, n, "nested"), S(pat, g, n, "nested")
        rd = med(pd) / med(b) if b and pd else None
        if rd is not None:
            worst_nest = max(worst_nest or 0, rd)
        md.append("| %s | %s | %s | %s | ≤ %.2f %s |" % (
            label, fmt_ns(b), fmt_ns(pd), "%.3f" % rd if rd else "n/a", TARGETS["lifecycle_cont"],
            "PASS" if rd is not None and rd <= TARGETS["lifecycle_cont"] else "MISS"))
        out["rows"].append({"group": g, "name": n, "base": b, "patched_nested": pd, "ratio_nested": rd})
    md.append("")
    verdict("lifecycle, nested (chain of 8): patched/unpatched", worst_nest, TARGETS["lifecycle_cont"],
            worst_nest is not None and worst_nest <= TARGETS["lifecycle_cont"],
            "worst ratio %.3f (≤ %.2f)" % (worst_nest or 0, TARGETS["lifecycle_cont"]))
    au_d, un_d = S(pat, "audit", "getppid_audited", "nested"), S(pat, "audit", "getppid_unaudited", "nested")
    if au_n and un_n and au_d and un_d:
        ev_n = med(au_n) - med(un_n)
        ev_d = med(au_d) - med(un_d)
        md.append("Audited event cost, nested (AUDIT_CONTAINER_INFO with `contid-chain=` of 8 IDs):"
                  " %s guest ns, **%+.1f %%** over no container (in a top-level container: %+.1f %%)."
                  % (num(ev_d), 100 * (ev_d / ev_n - 1), 100 * (extra or 0)))
        md.append("")
        out["rows"].append({"group": "audit", "name": "getppid_audited_event_nested", "event_ns": ev_d,
                            "extra_vs_nocont": ev_d / ev_n - 1})
    moves = [(v, S(pat, "nesting", "delegate_move_new", v)) for v in ("outer", "depth1", "depth8")]
    if moves[0][1]:
        md.append("Registration of a process into a new container (the one it leaves dies), audit on,"
                  " daemon draining: by the orchestrator outside (top-level), by a delegate creating"
                  " sub-containers at depth 1, and at depth 8 (the limit).")
        md.append("")
        md.append("| writer | guest ns per move | ratio to outer |")
        md.append("|---|---|---|")
        for v, st in moves:
            md.append("| %s | %s | %s |" % (v, fmt_ns(st), "%.2f" % (med(st) / med(moves[0][1])) if st else "n/a"))
            out["rows"].append({"group": "nesting", "name": "delegate_move_new", "variant": v, "patched": st})
        md.append("")

    # Registration.
    md.append("## Registration (patched kernel, audit on, daemon draining; guest ns per operation)")
    md.append("")
    lives = sorted({v for (g, n, v) in pat if g == "registration" and v.startswith("live")},
                   key=lambda v: int(v[4:]))
    md.append("| operation | " + " | ".join("%s live" % v[4:] for v in lives) + " | growth first→last | ops/s (median, last) |")
    md.append("|---|" + "---|" * len(lives) + "---|---|")
    worst_g = None
    for n, label in (("set", "set (new process, new ID: creates the container)"),
                     ("move", "move (member to another existing container)"),
                     ("destroy", "destroy (close of the container's last namespace)"),
                     ("ns_close_nocont", "close of a namespace of no container (reference)")):
        ss = [S(pat, "registration", n, v) for v in lives]
        growth = med(ss[-1]) / med(ss[0]) if ss and ss[0] and ss[-1] else None
        if n != "ns_close_nocont" and growth is not None:
            worst_g = max(worst_g or 0, growth)
        md.append("| %s | %s | %s | %s |" % (label, " | ".join(fmt_ns(s) for s in ss),
                                             "%.2fx" % growth if growth else "n/a",
                                             num(1e9 / med(ss[-1])) if ss and ss[-1] else "n/a"))
        out["rows"].append({"group": "registration", "name": n, "by_live": dict(zip(lives, ss)), "growth": growth})
    md.append("")
    lc = pat.get(("registration", "live_containers", "checkpoint"), [])
    if lc:
        md.append("Live containers at the checkpoints, counted from the records (created − `op=destroy`): %s."
                  % ", ".join("%d" % v for v in lc))
        md.append("")
    verdict("registration cost growth, fewest → most live containers", worst_g, TARGETS["reg_growth"],
            worst_g is not None and worst_g <= TARGETS["reg_growth"],
            "worst %.2fx (≤ %.0fx)" % (worst_g or 0, TARGETS["reg_growth"]))

    # Memory.
    md.append("## Memory")
    md.append("")
    cont = S(pat, "memory", "container_object", "patched")
    ns_pin = S(pat, "memory", "pinned_uts_ns_nocont", "patched")
    member = S(pat, "memory", "member_process_extra", "patched")
    md.append("| quantity | unpatched | patched | patched, feature off |")
    md.append("|---|---|---|---|")
    for k, label in (("task_struct", "sizeof(struct task_struct)"),
                     ("signal_struct", "sizeof(struct signal_struct)"),
                     ("audit_context", "sizeof(struct audit_context) (kmalloc, per task once audit was enabled)"),
                     ("ns_common", "sizeof(struct ns_common)"),
                     ("uts_namespace", "sizeof(struct uts_namespace)"),
                     ("net", "sizeof(struct net)")):
        md.append("| %s | %s | %s | %s |" % (label, sb.get(k, "n/a"), sp.get(k, "n/a"), so.get(k, "n/a")))
    for k, label in (("task_struct_object", "slab object_size task_struct (guest)"),
                     ("signal_struct_object", "slab object_size signal_cache (guest)")):
        b, p = S(base, "memory", k, "-"), S(pat, "memory", k, "-")
        md.append("| %s | %s | %s | |" % (label, num(med(b)) if b else "n/a", num(med(p)) if p else "n/a"))
    md.append("")

    def per_process(sz):
        if not sz or not sb:
            return None
        return ((sz["task_struct"] - sb["task_struct"]) + (sz["signal_struct"] - sb["signal_struct"]) +
                (kmalloc_bucket(sz["audit_context"]) - kmalloc_bucket(sb["audit_context"])))

    off_pp = per_process(so)
    on_pp = per_process(sp)
    if cont:
        md.append("Per container object, including the ID map: **%.0f bytes** (slab bytes in use per"
                  " container of a population of pinned UTS namespaces each attributed to its own"
                  " container, less the same per pinned namespace of no container: %.0f bytes)."
                  % (med(cont), med(ns_pin) if ns_pin else 0))
    if member:
        md.append("Per process in a container, beyond one in no container: %.0f bytes of slab"
                  " (slab delta of paused processes registered in a container less the same number"
                  " of paused processes in none, whose proc files were opened alike)." % med(member))
    if on_pp is not None:
        md.append("Per process, patched kernel with the feature on, any process: %+d bytes"
                  " (task_struct + signal_struct + audit_context's kmalloc bucket)." % on_pp)
    if off_pp is not None and so:
        md.append("Per process, feature off (`CONFIG_AUDIT_CONTAINER=n`): %+d bytes; sizeof(struct"
                  " audit_context) %d → %d (kmalloc bucket %d → %d)."
                  % (off_pp, sb["audit_context"], so["audit_context"],
                     kmalloc_bucket(sb["audit_context"]), kmalloc_bucket(so["audit_context"])))
    md.append("")
    verdict("bytes per container object", med(cont) if cont else None, TARGETS["container_bytes"],
            cont is not None and med(cont) <= TARGETS["container_bytes"],
            "%.0f bytes (≤ %d)" % (med(cont) if cont else 0, TARGETS["container_bytes"]))
    off_struct = None
    if so and sb:
        off_struct = (so["task_struct"] - sb["task_struct"]) + (so["signal_struct"] - sb["signal_struct"]) + \
            (so["audit_context"] - sb["audit_context"])
    verdict("bytes added per process, feature off", off_struct, 0,
            off_struct == 0,
            "%+d bytes of structure (%+d after kmalloc rounding)" % (off_struct or 0, off_pp or 0))

    # Targets.
    tmd = ["## Targets", "", "| target | measured | result |", "|---|---|---|"]
    for name, text, res in verdicts:
        tmd.append("| %s | %s | %s |" % (name, text, res))
    tmd.append("")
    md[insert_at:insert_at] = tmd

    info = [l for l in pat_info if not l.startswith("ACB-INFO object_size")]
    md.append("## Guest notes (patched run)")
    md.append("")
    md.append("```")
    md.extend(info)
    md.append("```")
    md.append("")

    text = "\n".join(md) + "\n"
    with open(os.path.join(r, "bench.md"), "w") as f:
        f.write(text)
    with open(os.path.join(r, "bench.json"), "w") as f:
        json.dump(out, f, indent=1, default=str)
    with open(os.path.join(r, "bench.svg"), "w") as f:
        f.write(svg(chart))
    if a.doc:
        with open(a.doc, "w") as f:
            f.write("<!-- Written by scripts/bench.sh (make bench); the latest run. -->\n")
            f.write(text)
    sys.stdout.write(text)


def svg(rows):
    """Horizontal bars: patched/unpatched per workload, no container and in a container."""
    w, left, rowh = 760, 330, 34
    h = 60 + rowh * len(rows)
    lo, hi = 0.9, 1.5

    def x(v):
        v = min(max(v, lo), hi)
        return left + (v - lo) / (hi - lo) * (w - left - 20)

    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (w, h),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="10" y="20" font-size="14">Time per operation, patched / unpatched (guest time; 1.0 = no cost)</text>']
    for t in (0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5):
        o.append('<line x1="%.1f" y1="30" x2="%.1f" y2="%d" stroke="%s"/>' % (x(t), x(t), h - 20, "#000" if t == 1.0 else "#ddd"))
        o.append('<text x="%.1f" y="%d" text-anchor="middle">%.1f</text>' % (x(t), h - 6, t))
    for t, c in ((1.01, "#2a2"), (1.03, "#e80")):
        o.append('<line x1="%.1f" y1="30" x2="%.1f" y2="%d" stroke="%s" stroke-dasharray="4 3"/>' % (x(t), x(t), h - 20, c))
    y = 40
    for label, rn, rc, _ in rows:
        o.append('<text x="10" y="%d">%s</text>' % (y + 14, label.replace("\\|", "|").replace("&", "&amp;").replace("<", "&lt;")))
        for i, (v, color) in enumerate(((rn, "#4a7fd0"), (rc, "#d05a4a"))):
            if v is None:
                continue
            yy = y + 2 + i * 14
            o.append('<rect x="%.1f" y="%d" width="%.1f" height="12" fill="%s"/>' % (x(lo), yy, x(v) - x(lo), color))
            o.append('<text x="%.1f" y="%d">%.3f</text>' % (x(v) + 4, yy + 10, v))
        y += rowh
    o.append('<text x="%d" y="20" fill="#4a7fd0">■ no container</text>' % (w - 230))
    o.append('<text x="%d" y="20" fill="#d05a4a">■ in a container</text>' % (w - 120))
    o.append("</svg>")
    return "\n".join(o) + "\n"


if __name__ == "__main__":
    main()
