#!/usr/bin/env bash
# Boot a built kernel in QEMU with the test initramfs.
#
#   scripts/vm.sh [options]                 interactive shell on the console
#   scripts/vm.sh [options] -- CMD [ARG...] run CMD in the guest, exit with
#                                           its status
# Options:
#   --config NAME   build/NAME holds bzImage and initramfs (default: test)
#   --kernel FILE   kernel image (default: build/NAME/arch/x86/boot/bzImage)
#   --initrd FILE   initramfs (default: build/NAME/initramfs.cpio.gz)
#   --timeout SEC   kill the guest after SEC seconds (default: 900; CMD only)
#   --log FILE      console log (default: build/NAME/console.log)
#   --quiet         do not copy the console to stdout
#   --smp N         vCPUs (default: 1; >1 uses multi-threaded TCG)
#   --mem MB        guest memory (default: 1024)
#   --append ARGS   extra kernel command line (AC_VM_APPEND adds more, also
#                   through make check)
#   --icount        -icount shift=auto: guest time follows instructions (TCG)
#
# Acceleration: TCG unless AC_ACCEL=kvm, or AC_ACCEL=auto (the default) and a
# short probe boot under KVM succeeded on this machine since it booted.
#
# A run with CMD fails (exit 1) and shows the log excerpt when the kernel
# reports a panic, oops, BUG, WARN, lockdep, KFENCE, kmemleak or RCU stall,
# or when the guest never finished (hang, crash, timeout).
. "$(dirname "$0")/lib.sh"

name=test kernel= initrd= timeout=900 log= quiet=0 smp=1 mem=1024 append= icount=0
while [ $# -gt 0 ]; do
	case "$1" in
	--config) name=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	--smp) smp=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--icount) icount=1; shift ;;
	--) shift; break ;;
	*) die "unknown option $1 (see the comment at the top of $0)" ;;
	esac
done
out=$BUILD/$name
: "${kernel:=$out/arch/x86/boot/bzImage}"
: "${initrd:=$out/initramfs.cpio.gz}"
: "${log:=$out/console.log}"
[ -f "$kernel" ] || die "no kernel at $kernel (make build)"
[ -f "$initrd" ] || die "no initramfs at $initrd (make initramfs)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (make setup)"

qemu=(qemu-system-x86_64 -nodefaults -no-reboot -m "$mem" -smp "$smp"
	-kernel "$kernel" -display none -vga none)
cmdline="console=ttyS0 panic=-1 oops=panic printk.time=1 $append ${AC_VM_APPEND:-}"

kvm_works() {
	# One short probe boot per machine boot, remembered in the cache.
	[ -w /dev/kvm ] || return 1
	local stamp
	stamp=$CACHE/kvm-probe.$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo x)
	if [ ! -f "$stamp" ]; then
		mkdir -p "$CACHE"
		local plog
		plog=$(mktemp)
		log "probing KVM (20 s at most)"
		if timeout 20 "${qemu[@]}" -accel kvm -cpu host -initrd "$initrd" -append "$cmdline" \
			-serial "file:$plog" </dev/null >/dev/null 2>&1 && grep -q 'AC-VM-RESULT' "$plog"; then
			echo ok >"$stamp"
		else
			echo no >"$stamp"
		fi
		rm -f "$plog"
	fi
	[ "$(cat "$stamp")" = ok ]
}

accel=${AC_ACCEL:-auto}
tcg=(-accel tcg -cpu max)
[ "$smp" -gt 1 ] && tcg=(-accel tcg,thread=multi -cpu max)
[ $icount = 1 ] && tcg=(-accel tcg -cpu max -icount shift=auto)
case $accel in
tcg) accel_args=("${tcg[@]}") ;;
kvm) accel_args=(-accel kvm -cpu host) ;;
auto) if [ $icount = 0 ] && [ $# -gt 0 ] && kvm_works; then accel_args=(-accel kvm -cpu host); else accel_args=("${tcg[@]}"); fi ;;
*) die "AC_ACCEL must be auto, tcg or kvm" ;;
esac

if [ $# -eq 0 ]; then
	log "interactive VM (${accel_args[*]}); Ctrl-A X quits QEMU"
	exec "${qemu[@]}" "${accel_args[@]}" -initrd "$initrd" -append "$cmdline" -serial mon:stdio
fi

# Put the command into a second cpio archive appended to the initramfs.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
	echo '#!/bin/sh'
	printf '%q ' "$@" | sed 's/ $//'
	echo
} >"$tmp/cmd"
printf 'dir /ac 0755 0 0\nfile /ac/cmd %s 0755 0 0\n' "$tmp/cmd" >"$tmp/list"
"$BUILD/tools/gen_init_cpio" "$tmp/list" | gzip -1 >"$tmp/cmd.cpio.gz"
cat "$initrd" "$tmp/cmd.cpio.gz" >"$tmp/initrd"

log "booting $(basename "$kernel") (${accel_args[*]}, timeout ${timeout}s): $*"
mkdir -p "$(dirname "$log")"
: >"$log"
set +e
if [ $quiet = 1 ]; then
	timeout "$timeout" "${qemu[@]}" "${accel_args[@]}" -initrd "$tmp/initrd" -append "$cmdline" \
		-serial "file:$log" </dev/null >/dev/null 2>"$tmp/qemu.err"
	qrc=$?
else
	timeout "$timeout" "${qemu[@]}" "${accel_args[@]}" -initrd "$tmp/initrd" -append "$cmdline" \
		-serial stdio </dev/null 2>"$tmp/qemu.err" | tee "$log"
	qrc=${PIPESTATUS[0]}
fi
set -e
[ $qrc = 124 ] && log "timed out after ${timeout}s"
[ -s "$tmp/qemu.err" ] && sed 's/^/qemu: /' "$tmp/qemu.err" >&2
if ! python3 "$TOP/scripts/vmlog.py" scan "$log"; then
	log "FAILED (console log: $log)"
	exit 1
fi
rc=$(sed -n 's/^AC-VM-RESULT: rc=\([0-9-]*\).*/\1/p' "$log" | tail -n1 | tr -d '\r')
exit "$rc"
