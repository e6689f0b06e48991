#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Read a QEMU console log: count KTAP/TAP results and find kernel reports.

  vmlog.py summary LOG...   print "N passed, N failed, N skipped" over all
                            KTAP/TAP output in the logs, and list failures
  vmlog.py scan LOG         exit 1 and show an excerpt if the kernel reported
                            a panic, oops, BUG, WARN, lockdep, KFENCE,
                            kmemleak, RCU stall or hung task, or if the guest
                            never printed its result line
  vmlog.py counts LOG...    print "passed failed skipped" (for scripts)

KTAP counting rules: a result line ("ok"/"not ok") counts once if it is a
leaf (no results nested under it). A parent that says "not ok" although none
of its children failed counts as one failure (a suite or a test binary that
died on its own). A plan ("1..N") that got fewer results than it announced
counts the missing ones as failed. "# SKIP" counts as skipped, "# XFAIL" and
"# TODO" as passed.
"""

import re
import sys

TS = re.compile(r"^\[\s*\d+\.\d+\]\s?")
RESULT = re.compile(r"^(?P<indent>\s*)(?P<ok>ok|not ok)\s+(?P<num>\d+)\b\s*-?\s*(?P<name>[^#]*?)\s*(?:#\s*(?P<directive>.*))?$")
PLAN = re.compile(r"^(?P<indent>\s*)1\.\.(?P<n>\d+)\b")
VERSION = re.compile(r"^(?P<indent>\s*)K?TAP version \d+")
RESULT_MARK = re.compile(r"^AC-VM-RESULT: rc=(?P<rc>-?\d+)")

# Kernel reports that fail a run. Matched only on printk lines (those with a
# timestamp), so test programs' own output cannot trigger them.
REPORTS = [
    r"Kernel panic - not syncing",
    r"BUG: ",
    r"WARNING: ",
    r"-+\[ cut here \]-+",
    r"Oops: ",
    r"general protection fault",
    r"Unable to handle kernel",
    r"INFO: task .* blocked for more than",
    r"rcu: INFO: .* detected stall",
    r"watchdog: BUG: soft lockup",
    r"kmemleak: \d+ new suspected memory leaks",
    r"UBSAN: ",
    r"refcount_t: ",
    r"ODEBUG: ",
    r"list_(add|del) corruption",
    r"possible (recursive|circular) locking",
    r"suspicious RCU usage",
    # SLUB debugging ("BUG kmalloc-64 (Not tainted): Poison overwritten").
    r"BUG [\w.:-]+ \((Not tainted|Tainted: [^)]*)\): ",
    r"INFO: trying to register non-static key",
    r"BUG: KFENCE: ",
    # The guest's own leak scan (scripts/guest/run-selftests).
    r"kmemleak-scan: \d+ leaks?",
]
REPORT = re.compile("|".join("(?:%s)" % r for r in REPORTS))


def clean(line):
    """Return (text without printk timestamp, whether it came from printk)."""
    line = line.rstrip("\r\n")
    m = TS.match(line)
    if m:
        return line[m.end():], True
    return line, False


class Counts:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.failures = []

    def add(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        self.failures += other.failures


def level_of(indent):
    return len(indent.expandtabs(8)) // 4


def count(lines):
    """Count leaf results in KTAP/TAP text (an iterable of lines)."""
    c = Counts()
    # Per nesting level: results seen since the parent's last result line,
    # failures below, the plan announced, and the names on the path.
    results = {}
    fails_below = {}
    plans = {}

    def close_level(d, parent_name):
        """Check the plan of level d when its parent result (or EOF) comes."""
        n = plans.pop(d, None)
        got = results.get(d, 0)
        if n is not None and got < n:
            missing = n - got
            c.failed += missing
            c.failures.append("%s: %d of %d results missing" % (parent_name or "(top level)", missing, n))
            return missing
        return 0

    def reset_below(d):
        for k in [k for k in list(results) if k > d]:
            del results[k]
        for k in [k for k in list(fails_below) if k > d]:
            del fails_below[k]
        for k in [k for k in list(plans) if k > d]:
            del plans[k]

    for raw in lines:
        line, _ = clean(raw)
        m = VERSION.match(line)
        if m:
            d = level_of(m.group("indent"))
            if d == 0:
                # A new top-level document: settle the previous one.
                for k in sorted(plans, reverse=True):
                    close_level(k, None)
                results.clear()
                fails_below.clear()
            continue
        m = PLAN.match(line)
        if m:
            d = level_of(m.group("indent"))
            plans[d] = int(m.group("n"))
            results[d] = 0
            continue
        m = RESULT.match(line)
        if not m:
            continue
        d = level_of(m.group("indent"))
        name = m.group("name").strip()
        ok = m.group("ok") == "ok"
        directive = (m.group("directive") or "").strip()
        children = results.get(d + 1, 0)
        missing = close_level(d + 1, name) if children or (d + 1) in plans else 0
        below = fails_below.get(d + 1, 0) + missing
        if children == 0 and missing == 0 and (d + 1) not in plans:
            # A leaf.
            if directive.upper().startswith("SKIP"):
                c.skipped += 1
            elif ok or directive.upper().startswith(("TODO", "XFAIL")):
                c.passed += 1
            else:
                c.failed += 1
                c.failures.append(name)
                below += 1
        elif not ok and below == 0 and not directive.upper().startswith("SKIP"):
            c.failed += 1
            c.failures.append("%s (failed with no failing case)" % name)
            below = 1
        reset_below(d)
        results[d] = results.get(d, 0) + 1
        fails_below[d] = fails_below.get(d, 0) + below
    for k in sorted(plans, reverse=True):
        close_level(k, None)
    return c


def scan(lines):
    """Return (problems, excerpt) for a console log."""
    lines = list(lines)
    problems = []
    first = None
    rc = None
    for i, raw in enumerate(lines):
        text, kernel = clean(raw)
        if kernel and REPORT.search(text):
            problems.append("kernel report: " + text.strip())
            if first is None:
                first = i
        m = RESULT_MARK.match(text)
        if m:
            rc = int(m.group("rc"))
    if rc is None:
        problems.append("the guest did not finish (no result line): crash, hang or timeout")
        excerpt = lines[-40:]
    elif first is not None:
        excerpt = lines[max(0, first - 5):first + 40]
    else:
        excerpt = []
    return problems, rc, excerpt


def main(argv):
    if len(argv) < 3 or argv[1] not in ("summary", "scan", "counts"):
        sys.stderr.write(__doc__)
        return 2
    if argv[1] == "scan":
        with open(argv[2], errors="replace") as f:
            problems, rc, excerpt = scan(f)
        if not problems:
            return 0
        for p in problems[:20]:
            print("vmlog: " + p)
        if len(problems) > 20:
            print("vmlog: ... %d more" % (len(problems) - 20))
        if excerpt:
            print("vmlog: ---- log excerpt ----")
            sys.stdout.write("".join(l if l.endswith("\n") else l + "\n" for l in excerpt))
            print("vmlog: ---- end of excerpt ----")
        return 1
    total = Counts()
    for path in argv[2:]:
        with open(path, errors="replace") as f:
            total.add(count(f))
    if argv[1] == "counts":
        print(total.passed, total.failed, total.skipped)
        return 0
    for name in total.failures:
        print("FAILED: " + name)
    print("%d passed, %d failed, %d skipped" % (total.passed, total.failed, total.skipped))
    return 1 if total.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
