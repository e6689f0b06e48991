#!/usr/bin/env bash
# Build the audit userspace (auditd, auditctl, ausearch, aureport, libaudit,
# libauparse) of ../shared/vendor with the series of userspace/patches/
# applied, and stage its install tree. The tools are linked statically
# against libaudit and libauparse, so that they do not clash with Debian's
# libaudit.so.1 in the same guest; the tree installs to /ac/audit.
#
#   scripts/build-userspace.sh              build (or reuse) and print the
#                                           staged tree
#   scripts/build-userspace.sh --check      also run the project's own
#                                           "make check" and print its summary
#   scripts/build-userspace.sh --print-dir  print the staged tree, nothing else
#   --ktap FILE (with --check)              also write the results of
#                                           "make check" to FILE as KTAP, one
#                                           result per test program
#
# Debian packages it needs (installed when missing, as scripts/setup.sh
# does): build-essential autoconf automake libtool git. No library headers
# are needed: python, golang, libcap-ng, gssapi, the zos-remote plugin, the
# network listener and io_uring are configured out.
#
# The result is cached in $CACHE/userspace/<key>, the key being a hash of
# the tarball, of the patches applied (not the cover letter) and of the
# configure options below, so a rerun with nothing changed only prints the
# staged tree; so is the result of --check. "make check" cannot run on the
# static-only build (upstream's lib/test/audit_logging_test overrides
# audit_send(), which only works against the shared library), so --check
# builds a second tree, the same but with the shared libraries, as
# upstream's own CI does.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DEB_PACKAGES=(build-essential autoconf automake libtool git)
TARBALL=${AC_USERSPACE_TARBALL:-$TOP/../shared/vendor/audit-userspace-ea8550209d55.tar.gz}
PATCHES=${AC_USERSPACE_PATCHES:-$TOP/userspace/patches}
PREFIX=/ac/audit
CONFIGURE=(--prefix="$PREFIX" --sysconfdir="$PREFIX/etc"
	--without-python3 --without-golang --without-libcap-ng
	--disable-zos-remote --disable-listener --disable-gssapi-krb5
	--without-io_uring)
STATIC=(--disable-shared --enable-static)
UJOBS=${UJOBS:-$(nproc)}

usage() {
	sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"
}

check=0
print_dir=0
ktap=
for a in "$@"; do
	if [ "$ktap" = next ]; then
		ktap=$a
		continue
	fi
	case "$a" in
	--check) check=1 ;;
	--print-dir) print_dir=1 ;;
	--ktap) ktap=next ;;
	-h|--help) usage; exit 0 ;;
	*) die "unknown option $a (see --help)" ;;
	esac
done

[ "$ktap" != next ] || die "--ktap needs a file"
[ -z "$ktap" ] || [ "$check" = 1 ] || die "--ktap goes with --check"
[ -f "$TARBALL" ] || die "no snapshot at $TARBALL"

# write_ktap DIR FILE: the results of the automake "make check" in DIR (its
# .trs files) as KTAP in FILE, one result per test program; none at all is a
# failure.
write_ktap() {
	local t r name n=0 trs
	mapfile -t trs < <(find "$1" -name '*.trs' 2>/dev/null | sort)
	{
		echo "KTAP version 1"
		if [ ${#trs[@]} = 0 ]; then
			echo "1..1"
			echo "not ok 1 audit-userspace make check: no results in $1"
			return
		fi
		echo "1..${#trs[@]}"
		for t in "${trs[@]}"; do
			n=$((n + 1))
			r=$(sed -n 's/^:test-result: //p' "$t" | head -n1)
			name="audit-userspace: ${t#"$1"/}"
			name=${name%.trs}
			case $r in
			PASS) echo "ok $n $name" ;;
			SKIP) echo "ok $n $name # SKIP" ;;
			XFAIL) echo "ok $n $name # XFAIL" ;;
			*) echo "not ok $n $name # ${r:-no result}" ;;
			esac
		done
	} >"$2"
}
series=()
for p in "$PATCHES"/[0-9][0-9][0-9][0-9]-*.patch; do
	[ -e "$p" ] || continue
	case "$(basename "$p")" in 0000-*) continue ;; esac
	series+=("$p")
done
[ ${#series[@]} -gt 0 ] || die "no patches in $PATCHES"

need_debs "${DEB_PACKAGES[@]}"

key=$({
	sha256sum <"$TARBALL"
	for p in "${series[@]}"; do
		basename "$p"
		sha256sum <"$p"
	done
	printf '%s\n' "${CONFIGURE[@]}" "${STATIC[@]}"
} | sha256sum | cut -c1-16)
out=$CACHE/userspace/$key
stage=$out/stage

mkdir -p "$CACHE/userspace"
exec 9>"$CACHE/userspace/.lock"
flock 9

# prepare DIR: a fresh extraction of the snapshot in DIR/audit-userspace with
# the series applied by git am, bootstrapped.
prepare() {
	local dir=$1 src=$1/audit-userspace
	rm -rf "$dir"
	mkdir -p "$dir"
	tar -xzf "$TARBALL" -C "$dir"
	[ -d "$src" ] || die "$TARBALL does not unpack to audit-userspace/"
	git -C "$src" init -q
	git -C "$src" add -A -f
	git -C "$src" -c user.name=snapshot -c user.email=snapshot@localhost \
		commit -q -m "audit-userspace snapshot $(basename "$TARBALL")"
	git -C "$src" -c user.name=build -c user.email=build@localhost \
		am -q "${series[@]}" || die "the series does not apply (see git -C $src am --show-current-patch)"
	(cd "$src" && autoreconf -f --install) >"$dir/autoreconf.log" 2>&1 ||
		die "autoreconf failed, see $dir/autoreconf.log"
}

# $out/build.ok is made last: anything else in $out is from an interrupted
# run and is built anew.
if [ ! -e "$out/build.ok" ]; then
	start=$(date +%s)
	log "building audit userspace with ${#series[@]} patches in $out"
	prepare "$out"
	(
		cd "$out/audit-userspace"
		./configure "${CONFIGURE[@]}" "${STATIC[@]}"
		make -j"$UJOBS"
		make install DESTDIR="$stage"
	) >"$out/build.log" 2>&1 || die "build failed, see $out/build.log"
	for t in sbin/auditd sbin/auditctl sbin/ausearch sbin/aureport lib/libaudit.a lib/libauparse.a; do
		[ -e "$stage$PREFIX/$t" ] || die "the staged tree has no $PREFIX/$t"
	done
	if ldd "$stage$PREFIX/sbin/auditctl" 2>/dev/null | grep -q 'libau'; then
		die "auditctl links a shared libaudit or libauparse"
	fi
	touch "$out/build.ok"
	log "built in $(( $(date +%s) - start )) s"
fi

if [ "$check" = 1 ]; then
	if [ ! -e "$out/check.rc" ]; then
		start=$(date +%s)
		log "running the userspace make check (shared libraries) in $out/check"
		prepare "$out/check"
		rc=0
		(
			cd "$out/check/audit-userspace"
			./configure "${CONFIGURE[@]}" >../configure.log 2>&1
			make -j"$UJOBS" >../make.log 2>&1
			make -k -j"$UJOBS" check
		) >"$out/check.log" 2>&1 || rc=$?
		{ grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' "$out/check.log" || true; } |
			awk '{ n[$2] += $3 } END {
				printf "TOTAL: %d, PASS: %d, SKIP: %d, XFAIL: %d, FAIL: %d, XPASS: %d, ERROR: %d\n",
					n["TOTAL:"], n["PASS:"], n["SKIP:"], n["XFAIL:"], n["FAIL:"], n["XPASS:"], n["ERROR:"] }' \
			>"$out/check.summary"
		grep -E '^(FAIL|ERROR|XPASS):' "$out/check.log" >>"$out/check.summary" || true
		echo "$rc" >"$out/check.rc"
		log "make check took $(( $(date +%s) - start )) s"
	fi
	log "make check: $(head -n1 "$out/check.summary") (log: $out/check.log)"
	[ -z "$ktap" ] || write_ktap "$out/check/audit-userspace" "$ktap"
	if [ "$(cat "$out/check.rc")" != 0 ]; then
		tail -n +2 "$out/check.summary" >&2
		die "the userspace make check failed"
	fi
fi

if [ "$print_dir" = 0 ]; then
	log "staged tree: $stage$PREFIX (copy it to $PREFIX in the guest)"
	log "tools: $stage$PREFIX/sbin/{auditd,auditctl,ausearch,aureport}"
fi
echo "$stage$PREFIX"
