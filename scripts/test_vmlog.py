#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests for vmlog.py. Prints KTAP, so its results count like the rest."""

import importlib.util
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmlog  # noqa: E402

KUNIT = """\
[    0.500000] KTAP version 1
[    0.500001] 1..2
[    0.500002]     KTAP version 1
[    0.500003]     # Subtest: rust_doctests_kernel
[    0.500004]     # speed: normal
[    0.500005]     1..3
[    0.600000]     ok 1 rust_doctest_kernel_alloc_rs_0
[    0.600001]     not ok 2 rust_doctest_kernel_str_rs_4
[    0.600002]     ok 3 rust_doctest_kernel_sync_rs_1 # SKIP not on this arch
[    0.700000] # rust_doctests_kernel: pass:1 fail:1 skip:1 total:3
[    0.700001] not ok 1 rust_doctests_kernel
[    0.700002]     KTAP version 1
[    0.700003]     # Subtest: params
[    0.700004]     1..1
[    0.700005]         KTAP version 1
[    0.700006]         # Subtest: test_param
[    0.700007]         ok 1 a
[    0.700008]         ok 2 b
[    0.700009]     # test_param: pass:2 fail:0 skip:0 total:2
[    0.700010]     ok 1 test_param
[    0.700011] ok 2 params
"""

SELFTEST = """\
TAP version 13
1..3
# Starting 3 tests from 1 test cases.
#  RUN           global.one ...
#            OK  global.one
ok 1 global.one
not ok 2 global.two
ok 3 global.three # SKIP needs root
# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0
"""


def counts(text):
    c = vmlog.count(text.splitlines(True))
    return (c.passed, c.failed, c.skipped)


class Count(unittest.TestCase):
    def test_kunit_nested_with_timestamps(self):
        # Leaves only: 1 + 1 failed + 1 skipped, then 2 parameter cases.
        self.assertEqual(counts(KUNIT), (3, 1, 1))

    def test_failure_names(self):
        c = vmlog.count(KUNIT.splitlines(True))
        self.assertEqual(c.failures, ["rust_doctest_kernel_str_rs_4"])

    def test_kselftest_harness(self):
        self.assertEqual(counts(SELFTEST), (1, 1, 1))

    def test_two_documents(self):
        self.assertEqual(counts(KUNIT + SELFTEST), (4, 2, 2))

    def test_parent_fails_without_failing_child(self):
        text = "KTAP version 1\n1..1\n    1..2\n    ok 1 a\n    ok 2 b\nnot ok 1 suite\n"
        self.assertEqual(counts(text), (2, 1, 0))

    def test_missing_results_fail(self):
        # A binary that died after two of its four cases.
        text = "KTAP version 1\n1..1\n    TAP version 13\n    1..4\n    ok 1 a\n    ok 2 b\nnot ok 1 selftests: x\n"
        c = vmlog.count(text.splitlines(True))
        self.assertEqual((c.passed, c.failed, c.skipped), (2, 2, 0))
        self.assertIn("x", c.failures[0])

    def test_missing_results_at_end_of_log(self):
        text = "KTAP version 1\n1..3\nok 1 a\n[   9.0] Kernel panic - not syncing: oops\n"
        self.assertEqual(counts(text), (1, 2, 0))

    def test_xfail_and_todo_pass(self):
        self.assertEqual(counts("1..2\nnot ok 1 a # TODO later\nok 2 b # XFAIL known\n"), (2, 0, 0))

    def test_skipped_parent_is_not_a_failure(self):
        text = "1..1\n    1..1\n    ok 1 a # SKIP no\nnot ok 1 s # SKIP no\n"
        self.assertEqual(counts(text), (0, 0, 1))

    def test_no_tests(self):
        self.assertEqual(counts("hello\n[ 0.1] booting\n"), (0, 0, 0))


class Scan(unittest.TestCase):
    def test_clean_log(self):
        problems, rc, _ = vmlog.scan(["[    0.1] Linux version 7.2\n", "AC-VM-RESULT: rc=0\n"])
        self.assertEqual((problems, rc), ([], 0))

    def test_guest_rc_is_returned(self):
        _, rc, _ = vmlog.scan(["AC-VM-RESULT: rc=3\n"])
        self.assertEqual(rc, 3)

    def test_warn_is_found(self):
        log = ["[    1.0] ------------[ cut here ]------------\n",
               "[    1.0] WARNING: CPU: 0 PID: 1 at kernel/fork.c:1 x+0x1/0x2\n",
               "AC-VM-RESULT: rc=0\n"]
        problems, _, excerpt = vmlog.scan(log)
        self.assertEqual(len(problems), 2)
        self.assertIn("cut here", excerpt[0])

    def test_reports(self):
        for line in ["Kernel panic - not syncing: VFS", "BUG: KFENCE: use-after-free read in x",
                     "WARNING: possible circular locking dependency detected",
                     "kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
                     "rcu: INFO: rcu_sched detected stalls on CPUs/tasks:",
                     "INFO: task sh:1 blocked for more than 120 seconds.",
                     "BUG kmalloc-64 (Not tainted): Poison overwritten",
                     "BUG audit_container (Tainted: G        W): Object already free",
                     "INFO: trying to register non-static key.",
                     "kmemleak-scan: 3 leaks"]:
            problems, _, _ = vmlog.scan(["[  2.5] " + line + "\n", "AC-VM-RESULT: rc=0\n"])
            self.assertEqual(len(problems), 1, line)

    def test_userspace_text_is_not_a_report(self):
        problems, _, _ = vmlog.scan(["WARNING: this is a test program talking\n", "AC-VM-RESULT: rc=0\n"])
        self.assertEqual(problems, [])

    def test_no_result_line(self):
        problems, rc, excerpt = vmlog.scan(["[ 0.1] a\n"] * 50)
        self.assertIsNone(rc)
        self.assertEqual(len(problems), 1)
        self.assertEqual(len(excerpt), 40)


class KtapResult(unittest.TextTestResult):
    """Print one KTAP line per test case."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.n = 0

    def _line(self, test, ok, extra=""):
        self.n += 1
        print("%s %d %s%s" % ("ok" if ok else "not ok", self.n, test.id(), extra), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(test, True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(test, False)

    def addError(self, test, err):
        super().addError(test, err)
        self._line(test, False)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(test, True, " # SKIP " + reason)


def load_script(filename):
    """Loads the script scripts/FILENAME (its name may hold a '-') as a module, for its tests."""
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(filename.removesuffix(".py").replace("-", "_"),
                                                  os.path.join(here, filename))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_ktap(module):
    """Runs the tests of module, printing KTAP; returns the exit status."""
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    print("KTAP version 1")
    print("1..%d" % suite.countTestCases(), flush=True)
    runner = unittest.TextTestRunner(stream=sys.stderr, resultclass=KtapResult, verbosity=0)
    result = runner.run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(run_ktap(sys.modules[__name__]))
