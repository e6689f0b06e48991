#!/usr/bin/env bash
# make regress: the audit maintainers' regression suite (audit-testsuite,
# the pinned snapshot in ../shared/vendor/) on the base and on the patched
# kernel, built with the same configuration ("regress": configs/regress.config
# on the usual vm and audit-contid fragments), each booted under virtme-ng
# with the host's root (TCG), and once more on the patched kernel with the
# suite inside a registered audit container. Prints a table, test by test,
# into results/regress.md and results/regress.ktap (RESULTS.md and
# RESULTS.ktap with --results RESULTS), and exits non-zero when a test that
# passes on the base fails on the patched kernel (in either patched
# column). With the two kernels built, a run takes about 13 minutes.
#
# Usage: regress.sh [--no-build] [--columns "base patched container"]
#                   [--tests "TEST..."] [--src DIR] [--results DIR]
#   --columns  run only these columns; the table still shows every column
#              that has results in the results directory
#   --tests    run only these test programs of the suite (e.g. to look at a
#              failure, or to show that the gate can fail)
#   --src      build the patched kernel from the tree DIR (check-series
#              passes its "git am" of patches/) into build/regress-src
#              instead of from linux/ into build/regress
#   --results  write the results there (default results/regress)
. "$(dirname "$0")/lib.sh"

usage='usage: regress.sh [--no-build] [--columns "..."] [--tests "..."] [--src DIR] [--results DIR]'
build=1 columns="base patched container" tests= src= res=$TOP/results/regress
while [ $# -gt 0 ]; do
	case "$1" in
	--no-build) build=0; shift ;;
	--columns) columns=${2:?$usage}; shift 2 ;;
	--tests) tests=${2:?$usage}; shift 2 ;;
	--src) src=$(cd "${2:?$usage}" && pwd) || die "$usage"; shift 2 ;;
	--results) res=$(mkdir -p "${2:?$usage}" && cd "$2" && pwd) || die "$usage"; shift 2 ;;
	*) die "$usage" ;;
	esac
done
pdir=$BUILD/regress srcargs=()
if [ -n "$src" ]; then pdir=$BUILD/regress-src srcargs=(--src "$src" --out "$pdir"); fi

vendor=$(cd "$TOP/../shared/vendor" 2>/dev/null && pwd) || die "no ../shared/vendor"
tarball=$(ls "$vendor"/audit-testsuite-*.tar.gz | head -n 1)
[ -f "$tarball" ] || die "no audit-testsuite snapshot in $vendor"
work=$BUILD/regress-work

# What the guest, which runs the host's root, needs (the suite's README and
# vendor/README.md): the audit userspace, a compiler with 32-bit libraries,
# liburing, iptables, nc, ping (netfilter_pkt's ICMP cases), killall,
# File::Which, the en_DK.UTF-8 locale (ausearch's dates), script(1) for a
# terminal (util-linux), and kmod and udev for virtme-ng.
need_debs auditd build-essential gcc-multilib liburing-dev iptables \
	netcat-openbsd iputils-ping psmisc libfile-which-perl locales \
	util-linux kmod udev qemu-system-x86
if ! locale -a 2>/dev/null | grep -qx 'en_DK.utf8'; then
	log "generating the en_DK.UTF-8 locale"
	grep -qx 'en_DK.UTF-8 UTF-8' /etc/locale.gen 2>/dev/null ||
		echo 'en_DK.UTF-8 UTF-8' | need_root_or_print tee -a /etc/locale.gen >/dev/null
	need_root_or_print locale-gen >/dev/null
fi
VNG_VERSION=1.42
vngdir=$CACHE/pip-vng
if ! PYTHONPATH=$vngdir python3 -c "import virtme_ng" 2>/dev/null; then
	log "installing virtme-ng $VNG_VERSION from PyPI into $vngdir"
	python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
		--target "$vngdir" "virtme-ng==$VNG_VERSION"
fi
vng() { PYTHONPATH=$vngdir PATH=$vngdir/bin:$PATH python3 -m virtme_ng.run "$@"; }

if [ $build = 1 ]; then
	flock "$KBUILD_LOCK" "$TOP/scripts/build.sh" --base regress bzImage modules
	flock "$KBUILD_LOCK" "$TOP/scripts/build.sh" "${srcargs[@]}" regress bzImage modules
fi

# A fresh extraction of the suite each run, built on the host (the guest
# shares its root and compiler; TCG would take minutes to compile). Only
# the columns run now are cleared, so that --columns can redo one column
# and the table still compares it with the others.
rm -rf "$work"
mkdir -p "$work" "$res"
for col in $columns; do rm -rf "${res:?}/$col" "$res/$col.vng.log"; done
tar -xzf "$tarball" -C "$work"
suite=$work/audit-testsuite
make -s -C "$suite/tests" >"$res/suite-build.log" 2>&1 || die "the suite did not build (see $res/suite-build.log)"

for col in $columns; do
	case $col in
	base) kdir=$BUILD/regress-base mode=host ;;
	patched) kdir=$pdir mode=host ;;
	container) kdir=$pdir mode=container ;;
	*) die "unknown column $col" ;;
	esac
	[ -f "$kdir/arch/x86/boot/bzImage" ] || die "no kernel in $kdir (run without --no-build)"
	# What this column is asked to run: the report compares only those,
	# and counts a test asked for but without a result as failed.
	mkdir -p "$res/$col"
	printf '%s\n' $tests >"$res/$col/requested"
	log "running the suite: $col ($kdir, $mode)"
	start=$(date +%s)
	# root=/dev/root: without it 7.2 refuses the 9p root ("Bad value
	# for 'source'"); virtme-ng passes only rootfstype and rootflags.
	vng --disable-kvm --run "$kdir" --memory 2G --cpus 2 \
		--append "root=/dev/root" --rwdir "$res" --rwdir "$work" \
		--exec "$TOP/scripts/guest/regress $suite $res/$col $mode $tests" \
		>"$res/$col.vng.log" 2>&1 || true
	log "$col: $(( $(date +%s) - start )) s"
	[ -f "$res/$col/done" ] || log "$col: the guest did not finish (see $res/$col.vng.log, $res/$col/guest.log)"
done

# The table compares every column that has results, not only those run now.
all=
for col in base patched container; do [ -d "$res/$col" ] && all="$all $col"; done
python3 "$TOP/scripts/regress-report.py" "$res" $all
