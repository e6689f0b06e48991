#!/usr/bin/env bash
# Race stress and fuzzing of audit container IDs in an SMP guest.
#
#   scripts/stress.sh [--short] [--seed N] [--fuzz-seed N] [--ns N] [--only stress|fuzz]
#
# Builds selftests/stress and selftests/fuzz against the test kernel's UAPI
# headers, packs them with the usual test image contents into
# build/stress/initramfs.cpio.gz, and boots build/test's kernel with 4 vCPUs
# (multi-threaded TCG, or KVM when vm.sh finds it usable) and 2 GB. Full run:
# 60 s of stress (plus 10 s with a tiny backlog) and 100000 fuzzed writes,
# 20000 rule messages and 300 namespace sequences; --short (make check): 10 s,
# 5000, 3000 and 25. KTAP goes to build/stress/stress.ktap, the console to
# build/stress/console.log. Never run the programs on the host: they
# register processes and change the audit configuration.
# Needs an existing kernel build (make build); builds no kernel.
. "$(dirname "$0")/lib.sh"

out=$BUILD/stress
kdir=$BUILD/test
hdr=$kdir/usr/include
[ -f "$kdir/arch/x86/boot/bzImage" ] || die "no kernel at $kdir (make build)"
[ -f "$hdr/linux/audit.h" ] || die "no UAPI headers at $hdr (make build)"
mkdir -p "$out/bin"
cflags=(-O2 -g -Wall -Wextra -Wno-sign-compare -Wno-unused-parameter -isystem "$hdr" -pthread)
for p in stress fuzz; do
	log "building contid_$p"
	gcc "${cflags[@]}" -o "$out/bin/contid_$p" "$TOP/selftests/$p/contid_$p.c"
done

gen=$BUILD/tools/gen_init_cpio
if [ ! -x "$gen" ]; then
	mkdir -p "$BUILD/tools"
	gcc -O2 -o "$gen" "$LINUX/usr/gen_init_cpio.c"
fi
args=(--out "$out/initramfs.cpio.gz" --gen-init-cpio "$gen" --tree "$out/bin=/ac/stress")
[ -d "$TOP/selftests/etc" ] && args+=(--tree "$TOP/selftests/etc=/etc")
python3 "$TOP/scripts/mkinitramfs.py" "${args[@]}"

short=0
for a in "$@"; do [ "$a" = --short ] && short=1; done
timeout=${AC_STRESS_TIMEOUT:-3000}
[ $short = 1 ] && timeout=${AC_STRESS_TIMEOUT:-900}
set +e
# KUnit runs at boot in make check's first boot; not again here.
"$TOP/scripts/vm.sh" --smp 4 --mem 2048 --timeout "$timeout" --quiet --append kunit.enable=0 \
	--initrd "$out/initramfs.cpio.gz" --log "$out/console.log" \
	-- /ac/bin/stress "$@"
rc=$?
set -e
sed -n '/^KTAP version/,$p' "$out/console.log" | tr -d '\r' | grep -v '^\[ *[0-9]' >"$out/stress.ktap" || true
python3 "$TOP/scripts/vmlog.py" summary "$out/console.log" >&2 || true
grep -E '^ *(ok|not ok) |^ *# (contid_|proc:|rules:|ns:|phase|racing|auditor|namespaces|checked|seed=)' \
	"$out/console.log" | tr -d '\r' | sed 's/^\[[ 0-9.]*\] //' >&2 || true
log "console: $out/console.log; exit $rc"
exit $rc
