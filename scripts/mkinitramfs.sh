#!/usr/bin/env bash
# Build build/CONFIG/initramfs.cpio.gz: busybox, the guest scripts, the
# kselftests of build/CONFIG/kselftest, the project's own test programs
# (selftests/bin, when built), the host tools listed in selftests/tools.txt
# and their configuration files from selftests/etc (as /etc: auditd.conf),
# and the project's audit userspace (scripts/build-userspace.sh) as /ac/audit.
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
# The project's audit userspace (userspace/patches), beside Debian's: its
# tools as /ac/audit/sbin, with the same auditd.conf as /ac/audit/etc/audit
# (its sysconfdir). AC_NO_USERSPACE=1 leaves it out.
if [ "${AC_NO_USERSPACE:-0}" != 1 ]; then
	us=$("$TOP/scripts/build-userspace.sh" --print-dir) || die "the audit userspace does not build (scripts/build-userspace.sh)"
	args+=(--tree "$us/sbin=/ac/audit/sbin"
		--file "$TOP/selftests/etc/audit/auditd.conf=/ac/audit/etc/audit/auditd.conf")
fi
python3 "$TOP/scripts/mkinitramfs.py" "${args[@]}"
log "wrote $image ($(du -h "$image" | cut -f1))"
