#!/usr/bin/env bash
# make profile: where a guest operation's instructions go, base vs patched.
#
#   scripts/profile.sh [--no-build] [MODE OP N [audit]]
#
# MODE: nocont (the worker is in no container) or member (registered in a
# container first); OP: unshare (CLONE_NEWUTS), pthread (create + join) or
# fork (fork + exit + wait); N: repetitions in the logged window (default:
# member unshare 500). "audit" boots with audit=1 (auditing on, no rule, no
# daemon); without it auditing was never enabled, as in make bench's phase A.
#
# Builds (or, with --no-build, reuses) the two kernels of make bench,
# build/bench-base and build/bench-patched, boots both at once under TCG
# with selftests/bench/tbprof-init.c as init, and has scripts/tbprof.py log
# and count the executed translation blocks (see there for the method).
# Prints the table of the functions whose instructions per operation differ
# most, and writes results/profile/MODE-OP[-audit]/profile.{md,json}.
# Takes about 3 minutes for the default after the builds, and ~1 GB of
# temporary log per kernel for each 10 000 blocks per operation times N.
. "$(dirname "$0")/lib.sh"

build=1
[ "${1:-}" = --no-build ] && { build=0; shift; }
mode=${1:-member} op=${2:-unshare} n=${3:-500} audit=${4:-}
case $mode in nocont | member) ;; *) die "MODE is nocont or member, not $mode" ;; esac
case $op in unshare | pthread | fork) ;; *) die "OP is unshare, pthread or fork, not $op" ;; esac
[[ $n =~ ^[0-9]+$ ]] || die "N is a number, not $n"
append=
case $audit in "") ;; audit) append=audit=1 ;; *) die "the fourth argument is \"audit\" or nothing" ;; esac
need_debs qemu-system-x86 binutils gcc
kb=$BUILD/bench-base kp=$BUILD/bench-patched
if [ $build = 1 ]; then
	log "building the patched and the base kernel of make bench"
	flock "$KBUILD_LOCK" "$TOP/scripts/build.sh" --extra "$TOP/configs/bench.config" --out "$kp" \
		bench bzImage headers >"$BUILD/profile-build-patched.log" 2>&1 ||
		die "patched build failed (log: $BUILD/profile-build-patched.log)"
	flock "$KBUILD_LOCK" "$TOP/scripts/build.sh" --base --extra "$TOP/configs/bench.config" --out "$kb" \
		bench bzImage >"$BUILD/profile-build-base.log" 2>&1 ||
		die "base build failed (log: $BUILD/profile-build-base.log)"
fi
for k in "$kb" "$kp"; do
	[ -f "$k/vmlinux" ] && [ -f "$k/arch/x86/boot/bzImage" ] || die "no kernel in $k (run without --no-build)"
done
[ -x "$BUILD/tools/gen_init_cpio" ] || die "no $BUILD/tools/gen_init_cpio (make kernel builds it)"
out=$TOP/results/profile/$mode-$op${audit:+-$audit}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -Wall -static -pthread -o "$tmp/init" "$TOP/selftests/bench/tbprof-init.c"
printf 'dir /dev 0755 0 0\nnod /dev/console 0600 0 0 c 5 1\ndir /proc 0755 0 0\nfile /init %s 0755 0 0\n' \
	"$tmp/init" >"$tmp/list"
"$BUILD/tools/gen_init_cpio" "$tmp/list" | gzip >"$tmp/initramfs.cpio.gz"
log "profiling \"$mode $op $n\"${append:+ with $append} on both kernels"
python3 "$TOP/scripts/tbprof.py" --out "$out" --initramfs "$tmp/initramfs.cpio.gz" --append "$append" \
	--init-args "$mode $op $n" "$kb" "$kp"
log "written: ${out#"$TOP"/}/profile.md"
