#!/usr/bin/env bash
# Build build/CONFIG/initramfs.cpio.gz: busybox, the guest scripts, the
# kselftests of build/CONFIG/kselftest, the project's own test programs
# (selftests/bin, when built), the host tools listed in selftests/tools.txt
# and their configuration files from selftests/etc (as /etc: auditd.conf).
# Usage: mkinitramfs.sh [CONFIG [OUTPUT]]   (OUTPUT: default
# build/CONFIG/initramfs.cpio.gz; another path lets two runs share a kernel)
. "$(dirname "$0")/lib.sh"

name=${1:-test}
out=$BUILD/$name
image=${2:-$out/initramfs.cpio.gz}
gen=$BUILD/tools/gen_init_cpio
if [ ! -x "$gen" ] || [ "$LINUX/usr/gen_init_cpio.c" -nt "$gen" ]; then
	mkdir -p "$BUILD/tools"
	gcc -O2 -o "$gen" "$LINUX/usr/gen_init_cpio.c"
fi
args=(--out "$image" --gen-init-cpio "$gen")
[ -d "$out/kselftest" ] && args+=(--tree "$out/kselftest=/ac/selftests")
[ -d "$BUILD/selftests-bin" ] && args+=(--tree "$BUILD/selftests-bin=/ac/tests")
[ -d "$TOP/selftests/etc" ] && args+=(--tree "$TOP/selftests/etc=/etc")
if [ -f "$TOP/selftests/tools.txt" ]; then
	while read -r t; do
		case "$t" in '#'* | '') continue ;; esac
		args+=(--tool "$t")
	done <"$TOP/selftests/tools.txt"
fi
python3 "$TOP/scripts/mkinitramfs.py" "${args[@]}"
log "wrote $image ($(du -h "$image" | cut -f1))"
