#!/usr/bin/env bash
# Everything "make check" runs, ending with "N passed, N failed, N skipped".
#   1. host-side unit tests of the runner (KTAP parsing, log scanning) and
#      of make regress's verdict (scripts/test_regress_report.py), and of
#      make profile's block weights (scripts/test_tbprof.py);
#   2. the series applied to linux/ and the test kernel built;
#   3. the kselftests of selftests/kselftests.txt and the Rust integration
#      suite of selftests/rust built and put, with busybox, auditd and the
#      contid tool, into the initramfs;
#   4. one VM boot of the debug kernel (configs/debug.config): KUnit (Rust
#      self-tests, doctests, the series' own) at boot, then the kselftests,
#      the Rust suite, the auditd checks and a kmemleak scan; any kernel
#      report or hang fails it;
#   4b. a second boot with 4 vCPUs: the short race stress and fuzzers
#      (scripts/stress.sh --short), the same invariants and kernel checks;
#   5. the quick series checks (scripts/check-series.sh --quick: apply,
#      checkpatch, tags, rustfmt, clippy), unless AC_SKIP_SERIES=1; make
#      check-series adds every patch's own build, the config variants and
#      make regress (audit-testsuite: two more kernels to build and about
#      13 minutes of TCG guests, which would take a cold make check past 45
#      minutes, so it is reported here as skipped).
# Results, as KTAP, and the console log go to results/.
. "$(dirname "$0")/lib.sh"

res=$TOP/results
rm -rf "$res"
mkdir -p "$res"
start=$(date +%s)
step() { log "== $* ($(($(date +%s) - start)) s)"; }

step "host unit tests"
python3 "$TOP/scripts/test_vmlog.py" >"$res/host-runner.ktap" || true
python3 "$TOP/scripts/test_regress_report.py" >"$res/host-regress-report.ktap" || true
python3 "$TOP/scripts/test_tbprof.py" >"$res/host-tbprof.ktap" || true

step "kernel"
"$TOP/scripts/apply-series.sh"
"$TOP/scripts/build.sh" test bzImage >"$res/build.log" 2>&1 || { tail -n 40 "$res/build.log"; die "kernel build failed (log: $res/build.log)"; }

step "kselftests and initramfs"
"$TOP/scripts/build-selftests.sh" test >"$res/selftests-build.log" 2>&1 || { tail -n 40 "$res/selftests-build.log"; die "kselftest build failed"; }
# The Rust integration suite and the contid tool (selftests/rust); their
# host-side unit tests, fmt and clippy are counted from rust-host.ktap. A
# failed host check is counted there; a failed build leaves no suite to run.
"$TOP/scripts/build-rust-selftests.sh" "$res/rust-host.ktap" >"$res/rust-build.log" 2>&1 ||
	{ tail -n 40 "$res/rust-build.log"; [ -x "$BUILD/selftests-bin/contid-tests" ] || die "Rust selftests build failed (log: $res/rust-build.log)"; }
# The project's audit userspace (userspace/patches): built (cached), its
# own "make check" counted, one result per test program, and put into the
# guest as /ac/audit by mkinitramfs.sh.
"$TOP/scripts/build-userspace.sh" --print-dir >/dev/null 2>"$res/userspace-build.log" ||
	{ tail -n 40 "$res/userspace-build.log"; die "the audit userspace does not build (log: $res/userspace-build.log)"; }
"$TOP/scripts/build-userspace.sh" --check --ktap "$res/userspace.ktap" >>"$res/userspace-build.log" 2>&1 ||
	[ -s "$res/userspace.ktap" ] ||
	printf 'KTAP version 1\n1..1\nnot ok 1 audit-userspace make check did not run (log: %s)\n' "$res/userspace-build.log" >"$res/userspace.ktap"
grep 'make check:' "$res/userspace-build.log" || true
"$TOP/scripts/mkinitramfs.sh" test

step "VM: KUnit at boot, then kselftests"
set +e
"$TOP/scripts/vm.sh" --config test --quiet --timeout "${AC_VM_TIMEOUT:-1500}" --log "$res/console.log" \
	-- /ac/bin/run-selftests >"$res/vm.out" 2>&1
vmrc=$?
set -e
cat "$res/vm.out"
grep -q 'vmlog: ' "$res/vm.out" && vmok=0 || vmok=1
log "guest exit status $vmrc"

# The short race stress and fuzzing in a second, 4-vCPU boot of the same
# kernel (make stress runs them at full length). Fixed seeds, so that a red
# CI run can be replayed; AC_STRESS_ARGS picks others.
step "VM (4 vCPUs): short race stress and fuzzing"
set +e
# shellcheck disable=SC2086
"$TOP/scripts/stress.sh" --short ${AC_STRESS_ARGS:---seed 0xc0ffee --fuzz-seed 0xf022} >"$res/stress.out" 2>&1
stressrc=$?
set -e
cp "$BUILD/stress/console.log" "$res/stress-console.log" 2>/dev/null || true
cp "$BUILD/stress/stress.ktap" "$res/stress.ktap" 2>/dev/null || true
grep -E '^\[stress.sh\]|vmlog: |^ *(ok|not ok) ' "$res/stress.out" || true
# A red run shows its diagnostics here too: CI keeps only this output.
if [ $stressrc != 0 ] && [ -s "$res/stress.ktap" ]; then
	echo "diagnostics of the stress run:"
	grep -E '^ +# ' "$res/stress.ktap" | head -n 100 || true
fi
grep -q 'vmlog: ' "$res/stress.out" && stressok=0 || stressok=1
[ -s "$res/stress.ktap" ] || stressok=0
log "stress guest exit status $stressrc"
{
	echo "KTAP version 1"
	echo "1..2"
	if [ $vmok = 1 ]; then echo "ok 1 vm: boots, runs the tests, no kernel report"; else echo "not ok 1 vm: boots, runs the tests, no kernel report"; fi
	if [ $stressok = 1 ]; then echo "ok 2 vm (4 vCPUs): short stress and fuzzing, no kernel report"; else echo "not ok 2 vm (4 vCPUs): short stress and fuzzing, no kernel report"; fi
} >"$res/vm.ktap"

if [ "${AC_SKIP_SERIES:-0}" != 1 ]; then
	step "series checks"
	"$TOP/scripts/check-series.sh" --quick "$res/series.ktap" || true
fi

step "summary (took $(($(date +%s) - start)) s)"
set +e
python3 "$TOP/scripts/vmlog.py" summary "$res"/*.ktap "$res/console.log" | tee "$res/summary.txt"
read -r passed failed skipped < <(python3 "$TOP/scripts/vmlog.py" counts "$res"/*.ktap "$res/console.log")
set -e
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
