#!/usr/bin/env python3
"""The table of make regress: audit-testsuite results, test by test.

Usage: regress-report.py RESULTS-DIR COLUMN...

RESULTS-DIR/COLUMN/TEST.tap is the TAP one test program of the suite printed
in that column's guest (scripts/guest/regress). A subtest the plan announces
but the program never reported counts as failed ("missing"). Writes
RESULTS-DIR.md and RESULTS-DIR.ktap (results/regress.md for the default
results/regress); exits 1 when a subtest that passes on the base fails in
another column. RESULTS-DIR/COLUMN/requested names the test programs that
column was asked to run (regress.sh --tests), one a line; without it, or
empty, the column ran the whole suite. A subtest of a test program the
column was not asked to run is not compared; one it was asked to run and
has no result for (the guest died, say) fails.
"""

import os
import re
import sys

# Tests that fail on the base kernel here for reasons outside the kernel,
# as measured on stock 7.2.13 (../shared/vendor/README.md).
ENVIRONMENT = {
    "filter_exclude": "no SELinux policy in the guest (id -Z)",
    "io_uring": "Debian 12's audit userspace 3.0.9 predates io_uring support",
}

TAP = re.compile(r"^(not )?ok (\d+)\b(.*)$")
PLAN = re.compile(r"^1\.\.(\d+)")


def read_column(path):
    """Returns {(test, n): (ok, text)} for the column in path."""
    out = {}
    if not os.path.isdir(path):
        return out
    for name in sorted(os.listdir(path)):
        if not name.endswith(".tap"):
            continue
        test = name[:-4]
        plan = 0
        seen = {}
        with open(os.path.join(path, name), errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                m = PLAN.match(line)
                if m:
                    plan = int(m.group(1))
                    continue
                m = TAP.match(line)
                if m:
                    seen[int(m.group(2))] = (m.group(1) is None, m.group(3).strip(" -"))
        for n in range(1, max([plan] + list(seen)) + 1):
            out[(test, n)] = seen.get(n, (False, "missing"))
    return out


def main():
    res, columns = sys.argv[1], sys.argv[2:]
    data = {c: read_column(os.path.join(res, c)) for c in columns}

    def requested(c):
        try:
            with open(os.path.join(res, c, "requested")) as f:
                return set(f.read().split())
        except OSError:
            return set()

    asked = {c: requested(c) for c in columns}

    def fails(c, k):
        """Whether column c should have passed subtest k and did not."""
        if asked[c] and k[0] not in asked[c]:
            return False
        return not data[c].get(k, (False,))[0]
    keys = sorted(set().union(*[set(d) for d in data.values()]))
    tests = sorted({t for t, _ in keys})

    def mark(c, k):
        if k not in data[c]:
            return "-"
        return "pass" if data[c][k][0] else "FAIL"

    regressions = []
    lines = ["# audit-testsuite: base vs patched kernel", ""]
    summary = []
    for c in columns:
        run = len(data[c])
        passed = sum(1 for v in data[c].values() if v[0])
        summary.append(f"- {c}: {passed}/{run} passed")
    lines += summary + [""]
    info = os.path.join(res, "container", "container-info-records")
    if os.path.exists(info):
        with open(info) as f:
            lines += [f"- AUDIT_CONTAINER_INFO records in the container run's log: {f.read().strip()}", ""]

    # Per test program: counts per column.
    lines += ["| test | " + " | ".join(columns) + " | note |",
              "|---|" + "---|" * len(columns) + "---|"]
    for t in tests:
        ks = [k for k in keys if k[0] == t]
        cells = []
        for c in columns:
            got = [data[c][k][0] for k in ks if k in data[c]]
            cells.append(f"{sum(got)}/{len(got)}" if got else "-")
        note = ""
        if "base" in data and any(not data["base"].get(k, (True,))[0] for k in ks):
            note = ENVIRONMENT.get(t, "fails on the base kernel")
        lines.append(f"| {t} | " + " | ".join(cells) + f" | {note} |")
    lines.append("")

    # Subtests whose result differs between columns.
    diff = []
    for k in keys:
        marks = [mark(c, k) for c in columns]
        if len(set(marks)) > 1:
            text = next((data[c][k][1] for c in columns if k in data[c]), "")
            diff.append(f"| {k[0]} {k[1]} | " + " | ".join(marks) + f" | {text} |")
            if "base" in data and data["base"].get(k, (False,))[0]:
                for c in columns:
                    if c != "base" and fails(c, k):
                        regressions.append(f"{k[0]} {k[1]} ({c})")
    lines += ["## Subtests whose result differs", ""]
    if diff:
        lines += ["| subtest | " + " | ".join(columns) + " | description |",
                  "|---|" + "---|" * len(columns) + "---|"] + diff
    else:
        lines.append("None.")
    lines += ["", f"Regressions (pass on the base, fail patched): {len(regressions)}"]
    lines += [f"- {r}" for r in regressions]

    stem = os.path.abspath(res).rstrip("/")
    with open(stem + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")

    ktap = ["KTAP version 1", f"1..{len(keys)}"]
    for i, k in enumerate(keys, 1):
        name = f"regress: {k[0]} {k[1]}"
        bad = [c for c in columns if c != "base" and fails(c, k)]
        base_ok = data.get("base", {}).get(k, (True,))[0]
        if base_ok and bad:
            ktap.append(f"not ok {i} {name} # fails on: {', '.join(bad)}")
        elif not base_ok:
            why = ENVIRONMENT.get(k[0], "fails on the base kernel too")
            ktap.append(f"ok {i} {name} # SKIP {why}")
        else:
            ktap.append(f"ok {i} {name}")
    with open(stem + ".ktap", "w") as f:
        f.write("\n".join(ktap) + "\n")

    print("\n".join(lines))
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())
