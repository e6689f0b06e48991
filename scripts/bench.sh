#!/usr/bin/env bash
# make bench: the unpatched base and the patched tree, side by side.
#
#   scripts/bench.sh [--no-build] [--quick]
#
# 1. Builds both kernels with the same configuration, `bench` (vm +
#    audit-contid, no KUnit, no debug options) plus configs/bench.config,
#    into build/bench-base (the base, from build.sh's own worktree) and
#    build/bench-patched. Each build holds /tmp/ac-kbuild.lock.
# 2. Compiles the guest workloads (selftests/bench/acbench.c) against the
#    patched tree's UAPI headers, and reads the sizes of the per-process and
#    per-namespace structures from the compiler for the base, the patched
#    tree, and the patched tree with CONFIG_AUDIT_CONTAINER off
#    (selftests/bench/sizes.c).
# 3. Boots each kernel in the same QEMU runner, with the same command line,
#    memory and one vCPU, and runs acbench there. Under TCG the guest runs
#    with -icount shift=$AC_BENCH_SHIFT,sleep=off: guest time advances by
#    2^shift ns per executed instruction, so the figures are reproducible
#    whatever the host is doing, and the two guests may run at the same
#    time. KVM is used only with AC_ACCEL=kvm, or AC_ACCEL=auto when the
#    runner's KVM probe (scripts/vm.sh) succeeded since the machine booted;
#    the output says which.
# 4. scripts/bench-report.py prints the table (ratios patched/unpatched, raw
#    per-operation figures min/median/spread, PASS/MISS against the targets
#    of issue 6) and writes results/bench/{bench.md,bench.svg,bench.json};
#    Documentation/benchmarks.md gets the latest table and the command.
#
# Environment: AC_BENCH_REPS (repetitions, default 5), AC_BENCH_SCALE
# (iterations multiplier, default 0.5), AC_BENCH_N (live containers at the top
# of the scale test, default 100000), AC_BENCH_SHIFT (default 0),
# AC_BENCH_PARALLEL (boot both guests at once, default 1), AC_BENCH_MEM
# (guest MB, default 2048), AC_BENCH_TIMEOUT (s per guest, default 1500).
. "$(dirname "$0")/lib.sh"

build=1 quick=0
for a in "$@"; do
	case "$a" in
	--no-build) build=0 ;;
	--quick) quick=1 ;;
	*) die "unknown option $a" ;;
	esac
done
reps=${AC_BENCH_REPS:-5}
scale=${AC_BENCH_SCALE:-0.5}
bign=${AC_BENCH_N:-100000}
if [ $quick = 1 ]; then
	reps=${AC_BENCH_REPS:-3} scale=${AC_BENCH_SCALE:-0.25} bign=${AC_BENCH_N:-10000}
fi
shift_=${AC_BENCH_SHIFT:-0}
mem=${AC_BENCH_MEM:-2048}
timeout_=${AC_BENCH_TIMEOUT:-1500}
parallel=${AC_BENCH_PARALLEL:-1}
res=$TOP/results/bench
kb=$BUILD/bench-base
kp=$BUILD/bench-patched
lock=$KBUILD_LOCK
start=$(date +%s)
step() { log "== $* ($(($(date +%s) - start)) s)"; }
mkdir -p "$res"
rm -f "$res"/*.log "$res"/*.md "$res"/*.svg "$res"/*.json "$res"/sizes-*.txt

# 1. The kernels. Absolute output paths: build.sh runs make in the source
# tree, where a relative O= would land.
if [ $build = 1 ]; then
	step "building the patched kernel (build/bench-patched)"
	flock "$lock" "$TOP/scripts/build.sh" --extra "$TOP/configs/bench.config" --out "$kp" \
		bench bzImage headers >"$res/build-patched.log" 2>&1 ||
		{ tail -n 30 "$res/build-patched.log"; die "patched build failed (log: $res/build-patched.log)"; }
	step "building the unpatched base (build/bench-base)"
	flock "$lock" "$TOP/scripts/build.sh" --base --extra "$TOP/configs/bench.config" --out "$kb" \
		bench bzImage >"$res/build-base.log" 2>&1 ||
		{ tail -n 30 "$res/build-base.log"; die "base build failed (log: $res/build-base.log)"; }
fi
for k in "$kb" "$kp"; do
	[ -f "$k/arch/x86/boot/bzImage" ] || die "no kernel in $k (run without --no-build)"
done
# The two configurations must be the same but for the series' own symbols.
if ! diff <(grep -v -E '^(# )?CONFIG_(AUDIT_CONTAINER|CC_VERSION_TEXT|RUSTC_VERSION_TEXT)' "$kb/.config" | grep -v '^#') \
	<(grep -v -E '^(# )?CONFIG_(AUDIT_CONTAINER|CC_VERSION_TEXT|RUSTC_VERSION_TEXT)' "$kp/.config" | grep -v '^#') >"$res/config.diff"; then
	cat "$res/config.diff" >&2
	die "the base and patched configurations differ (above)"
fi

# 2. The guest program and the structure sizes.
step "workloads and structure sizes"
tree=$res/guest
rm -rf "$tree"
mkdir -p "$tree"
gcc -O2 -Wall -static -pthread -isystem "$kp/usr/include" \
	-o "$tree/acbench" "$TOP/selftests/bench/acbench.c"

# sizes OUT SRC [off]: the "->SIZE name bytes" lines of selftests/bench/sizes.c
# compiled with OUT's flags for kernel/fork.o; "off" drops the series' own
# symbols from OUT's autoconf.h first.
sizes() {
	local out=$1 src=$2 off=${3:-} cmd cc rest tmp pre=()
	cmd=$(sed -n 's/^savedcmd_kernel\/fork.o := //p' "$out/kernel/.fork.o.cmd")
	cmd=${cmd%% -c -o *}
	cmd=${cmd#ccache }
	cmd=$(sed 's/-Wp,-MMD,[^ ]*//' <<<"$cmd")
	cc=${cmd%% *} rest=${cmd#* }
	tmp=$(mktemp -d)
	if [ -n "$off" ]; then
		mkdir -p "$tmp/generated"
		grep -v 'CONFIG_AUDIT_CONTAINER' "$out/include/generated/autoconf.h" >"$tmp/generated/autoconf.h"
		pre=(-I"$tmp")
	fi
	# shellcheck disable=SC2086 # the saved command line is split as make would
	(cd "$out" && $cc "${pre[@]}" $rest -I"$src/kernel" -S -o "$tmp/sizes.s" "$TOP/selftests/bench/sizes.c")
	grep -o -- '->SIZE [a-z_]* [0-9]*' "$tmp/sizes.s" | cut -d' ' -f2-
	rm -rf "$tmp"
}
base_src=$BUILD/src-base
sizes "$kb" "$base_src" >"$res/sizes-base.txt"
sizes "$kp" "$LINUX" >"$res/sizes-patched.txt"
sizes "$kp" "$LINUX" off >"$res/sizes-off.txt"

# 3. The runs.
accel=tcg
case ${AC_ACCEL:-auto} in
kvm) accel=kvm ;;
auto) stamp=$CACHE/kvm-probe.$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo x)
	[ -w /dev/kvm ] && [ "$(cat "$stamp" 2>/dev/null)" = ok ] && accel=kvm ;;
esac
if [ $accel = kvm ]; then
	accel_args=(-accel kvm -cpu host)
	how="KVM, 1 vCPU, -cpu host: guest CLOCK_MONOTONIC is wall-clock time"
else
	accel_args=(-accel tcg -cpu max -icount "shift=$shift_,sleep=off")
	how="QEMU TCG, 1 vCPU, -icount shift=$shift_,sleep=off: guest CLOCK_MONOTONIC advances $((1 << shift_)) ns per executed guest instruction (cache and memory effects are not modelled)"
fi
args="-r $reps -s $scale -N $bign"
# norandmaps: user space address randomization changes how many page-table
# pages fork() copies, differently on each boot; without it a fresh-clone run
# saw the base's fork cost move 2.5 % while the patched kernel's did not.
cmdline="console=ttyS0 panic=-1 oops=panic quiet loglevel=4 slab_nomerge norandmaps"
printf '#!/bin/sh\nexec /ac/bench/acbench %s\n' "$args" >"$res/cmd"
chmod +x "$res/cmd"
gen=$BUILD/tools/gen_init_cpio
if [ ! -x "$gen" ] || [ "$LINUX/usr/gen_init_cpio.c" -nt "$gen" ]; then
	mkdir -p "$BUILD/tools"
	gcc -O2 -o "$gen" "$LINUX/usr/gen_init_cpio.c"
fi
python3 "$TOP/scripts/mkinitramfs.py" --out "$res/initramfs.cpio.gz" --gen-init-cpio "$gen" \
	--tree "$tree=/ac/bench" --file "$res/cmd=/ac/cmd"

guest() { # NAME KERNEL_DIR
	local log=$res/console-$1.log t0 rc
	t0=$(date +%s)
	set +e
	timeout "$timeout_" qemu-system-x86_64 -nodefaults -no-reboot -m "$mem" -smp 1 \
		"${accel_args[@]}" -kernel "$2/arch/x86/boot/bzImage" -initrd "$res/initramfs.cpio.gz" \
		-append "$cmdline" -display none -vga none -serial "file:$log" </dev/null >"$res/qemu-$1.err" 2>&1
	rc=$?
	set -e
	echo "$1 qemu_rc=$rc wall_s=$(($(date +%s) - t0))" >"$res/run-$1.txt"
}
step "running acbench ($args) on both kernels: $how"
if [ "$parallel" = 1 ] && [ $accel = tcg ]; then
	guest base "$kb" &
	guest patched "$kp" &
	wait
else
	guest base "$kb"
	guest patched "$kp"
fi
bad=0
for n in base patched; do
	cat "$res/run-$n.txt" >&2
	python3 "$TOP/scripts/vmlog.py" scan "$res/console-$n.log" || bad=1
	grep -q '^ACB-DONE' "$res/console-$n.log" || { log "$n: acbench did not finish (log: $res/console-$n.log)"; bad=1; }
done

# 4. The report.
step "report"
total=$(($(date +%s) - start))
python3 "$TOP/scripts/bench-report.py" --results "$res" --how "$how" \
	--command "$([ $build = 1 ] && echo "make bench" || echo "scripts/bench.sh --no-build")${MAKEFLAGS_BENCH:+ $MAKEFLAGS_BENCH}  # acbench $args" \
	--wall "$total" $([ $build = 1 ] || echo --no-build) --doc "$TOP/Documentation/benchmarks.md"
[ $bad = 0 ] || die "a guest run failed (see above); the table covers what finished"
log "took $total s; results in $res"
