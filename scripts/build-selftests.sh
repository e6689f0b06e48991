#!/usr/bin/env bash
# Build the kselftests named in selftests/kselftests.txt against the UAPI
# headers of build/CONFIG, install them to build/CONFIG/kselftest, and write
# the list the guest runner reads. Usage: build-selftests.sh [CONFIG]
. "$(dirname "$0")/lib.sh"

name=${1:-test}
out=$BUILD/$name
list=$TOP/selftests/kselftests.txt
mapfile -t wanted < <(grep -v -e '^#' -e '^$' "$list")
targets=$(printf '%s\n' "${wanted[@]}" | cut -d: -f1 | sort -u | tr '\n' ' ')

kmake -s O="$out" headers
inst=$out/kselftest
rm -rf "$inst"
log "building kselftests: $targets"
make -s -C "$LINUX/tools/testing/selftests" TARGETS="$targets" O="$out/kselftest-build" \
	KHDR_INCLUDES="-isystem $out/usr/include" INSTALL_PATH="$inst" -j"$JOBS" install >/dev/null
for t in "${wanted[@]}"; do
	[ -x "$inst/${t%%:*}/${t#*:}" ] || die "kselftest $t was not built"
done
mkdir -p "$inst"
printf '%s\n' "${wanted[@]}" >"$inst/list"
