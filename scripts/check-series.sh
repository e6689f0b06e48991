#!/usr/bin/env bash
# The maintainer's checks on patches/, printed as KTAP (one result a check):
#   - the series applies with "git am" onto the base (in its own worktree,
#     build/series-src, so linux/ is not touched);
#   - checkpatch.pl --strict: 0 errors, 0 warnings, for every patch, and
#     every file a patch adds covered by MAINTAINERS
#     (ignoring MISSING_SIGN_OFF: the human submitter signs off; and
#     FILE_PATH_CHANGES, replaced by the MAINTAINERS coverage check);
#   - every patch carries Assisted-by: and no Signed-off-by:;
#   - every patch builds on its own (bisect) with the "series" configuration:
#     the test configuration less the debug options and the kernel crate's
#     doctests (configs/series.config);
#   - the tip builds with each configs/variant-*.config merged on top of it
#     (feature off, audit off, no syscall auditing, no Rust, no network or
#     user namespaces);
#   - make rustfmtcheck and make CLIPPY=1 report nothing at the tip;
#   - make regress: the audit maintainers' audit-testsuite on the base and
#     on the tip (built from the same "git am", configs/regress.config), no
#     test that passes on the base fails on the tip, outside or inside a
#     registered container (scripts/regress.sh; one result here, the table
#     in results/regress-series.md).
#
# Usage: check-series.sh [--quick] [--no-regress] [KTAP-OUTPUT-FILE]
#        (default: stdout)
#
# --quick (what make check runs): the per-patch and variant builds are
# reported as skipped, and rustfmtcheck and clippy run on the test build of
# linux/, which apply-series.sh has just made equal to patches/. The builds
# cost over two hours on 2 cores with a cold ccache (README.md has the
# figures), more than CI allows on top of the boot tests; run the full check
# before sending (make check-series). --quick also skips make regress
# (two kernel builds and about 13 minutes of TCG guests); --no-regress
# skips only that.
. "$(dirname "$0")/lib.sh"

quick=0 regress=1
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 regress=0; shift ;;
	--no-regress) regress=0; shift ;;
	*) break ;;
	esac
done
ktap=${1:-/dev/stdout}
src=$BUILD/series-src
out=$BUILD/series
logs=$BUILD/series-logs
mkdir -p "$logs"
[ -d "$LINUX/.git" ] || "$TOP/scripts/get-kernel.sh"

patches=()
for p in "$TOP"/patches/*.patch; do
	[ -e "$p" ] || continue
	case "$(basename "$p")" in 0000-cover-letter.patch) ;; *) patches+=("$p") ;; esac
done
np=${#patches[@]}
variants=("$TOP"/configs/variant-*.config)
[ -e "${variants[0]}" ] || variants=()

n=0
results=()
result() { # ok|fail|skip, name, [log file]
	n=$((n + 1))
	case $1 in
	ok) results+=("ok $n $2") ;;
	skip) results+=("ok $n $2 # SKIP ${3:-}") ;;
	fail) results+=("not ok $n $2")
		if [ -n "${3:-}" ] && [ -f "$3" ]; then
			log "FAILED: $2 (log: $3)"
			tail -n 30 "$3" | sed 's/^/    # /' >&2
		else
			log "FAILED: $2"
		fi ;;
	esac
}

# Apply.
git -C "$LINUX" worktree prune
if [ ! -d "$src" ]; then
	git -C "$LINUX" worktree add -q --detach "$src" "$BASE_REF"
fi
git -C "$src" am --abort >/dev/null 2>&1 || true
git -C "$src" checkout -q --detach "$BASE_REF"
git -C "$src" reset -q --hard "$BASE_REF"
applied=1
if [ $np -gt 0 ]; then
	if git -C "$src" -c user.name=check -c user.email=check@localhost am -q "${patches[@]}" >"$logs/am.log" 2>&1; then
		result ok "series: git am of $np patches onto the base"
	else
		result fail "series: git am of $np patches onto the base" "$logs/am.log"
		git -C "$src" am --abort >/dev/null 2>&1 || true
		applied=0
	fi
else
	result ok "series: empty series applies"
fi

# The MAINTAINERS entry (or entries) that cover FILE, other than THE REST.
maintained() {
	(cd "$src" && ./scripts/get_maintainer.pl --no-git --no-git-fallback --no-rolestats \
		--no-l --no-r -f "$1" 2>/dev/null) | grep -v -e '^Linus Torvalds' -e '^$'
}

# Per patch: checkpatch, tags. checkpatch's FILE_PATH_CHANGES ("does
# MAINTAINERS need updating?") fires for any new file; instead, each file a
# patch adds must be covered by a MAINTAINERS entry at the tip.
i=0
for p in "${patches[@]}"; do
	i=$((i + 1))
	b=$(basename "$p")
	if (cd "$src" && ./scripts/checkpatch.pl --strict --ignore MISSING_SIGN_OFF,FILE_PATH_CHANGES --no-summary "$p") >"$logs/checkpatch-$i.log" 2>&1 &&
		! grep -qE '^(ERROR|WARNING|CHECK):' "$logs/checkpatch-$i.log"; then
		result ok "checkpatch: $b"
	else
		result fail "checkpatch: $b" "$logs/checkpatch-$i.log"
	fi
	unmaintained=()
	if [ $applied = 1 ]; then
		while read -r f; do
			[ -n "$f" ] && ! maintained "$f" >/dev/null && unmaintained+=("$f")
		done < <(awk '/^--- \/dev\/null/ { n = 1; next } n && /^\+\+\+ b\// { print substr($0, 7) } { n = 0 }' "$p")
	fi
	if [ ${#unmaintained[@]} = 0 ]; then
		result ok "maintainers: new files of $b"
	else
		result fail "maintainers: $b adds files no MAINTAINERS entry covers: ${unmaintained[*]}"
	fi
	if grep -q '^Assisted-by: ' "$p" && ! grep -q '^Signed-off-by: ' "$p"; then
		result ok "tags: $b"
	else
		result fail "tags: $b has no Assisted-by: or has a Signed-off-by:"
	fi
done

# Per patch: builds on its own (incrementally, in order); the tip with each
# variant; then rustfmt and clippy at the tip.
if [ $applied = 1 ] && [ $np -gt 0 ] && [ $quick = 0 ]; then
	commits=$(git -C "$src" rev-list --reverse "$BASE_REF"..HEAD)
	tip=$(git -C "$src" rev-parse HEAD)
	i=0
	for c in $commits; do
		i=$((i + 1))
		git -C "$src" checkout -q --detach "$c"
		log "building patch $i/$np: $(git -C "$src" log -1 --format=%s)"
		if flock "$KBUILD_LOCK" "$TOP/scripts/build.sh" --src "$src" --out "$out" series bzImage >"$logs/build-$i.log" 2>&1; then
			result ok "build: patch $i/$np"
		else
			result fail "build: patch $i/$np" "$logs/build-$i.log"
		fi
	done
	git -C "$src" checkout -q --detach "$tip"
	for v in "${variants[@]}"; do
		vn=$(basename "$v" .config)
		log "building the tip with $vn"
		# "# ac-edit: FILE SED-EXPR" lines of a variant edit the tree for
		# its build only (see variant-no-auditsyscall.config).
		edited=()
		while read -r f e; do
			sed -i "$e" "$src/$f" && edited+=("$f")
		done < <(sed -n 's/^# ac-edit: //p' "$v")
		# Start from a copy of the tip's build: kbuild's per-symbol
		# dependencies then rebuild only what the variant's symbols touch,
		# a few minutes instead of a cold build each.
		rm -rf "$BUILD/series-$vn"
		cp -a "$out" "$BUILD/series-$vn"
		if flock "$KBUILD_LOCK" "$TOP/scripts/build.sh" --src "$src" --out "$BUILD/series-$vn" --extra "$v" series bzImage >"$logs/$vn.log" 2>&1; then
			result ok "build: tip with $vn"
		else
			result fail "build: tip with $vn" "$logs/$vn.log"
		fi
		[ ${#edited[@]} = 0 ] || git -C "$src" checkout -q -- "${edited[@]}"
	done
	lint_src=$src lint_out=$out
else
	why="empty series"
	[ $applied = 1 ] || why="series does not apply"
	[ $quick = 1 ] && why="quick check (make check-series builds them)"
	result skip "build: every patch on its own" "$why"
	for v in "${variants[@]}"; do result skip "build: tip with $(basename "$v" .config)" "$why"; done
	lint_src=$LINUX lint_out=$BUILD/test
fi

# rustfmt and clippy at the tip. In quick mode the test build of linux/ is
# used, which must be the series as patches/ has it.
if [ $applied = 1 ] && [ $np -gt 0 ] && [ -f "$lint_out/.config" ] &&
	{ [ $quick = 0 ] || [ "$(git -C "$LINUX" diff "$(git -C "$src" rev-parse HEAD)" --stat | wc -l)" = 0 ]; }; then
	kmake_lint() { LINUX=$lint_src kmake O="$lint_out" "$@"; }
	if kmake_lint rustfmtcheck >"$logs/rustfmt.log" 2>&1; then
		result ok "rustfmtcheck at the tip"
	else
		result fail "rustfmtcheck at the tip" "$logs/rustfmt.log"
	fi
	log "clippy at the tip"
	# The full check takes the build lock like its builds; the quick one runs
	# inside make check, whose caller may hold it.
	lock=()
	[ $quick = 1 ] || lock=(flock "$KBUILD_LOCK")
	if "${lock[@]}" bash -c '. "$1/scripts/lib.sh"; LINUX=$2 kmake O="$3" -j"$JOBS" CLIPPY=1 bzImage' _ "$TOP" "$lint_src" "$lint_out" >"$logs/clippy.log" 2>&1 && ! grep -qE '^(warning|error)' "$logs/clippy.log"; then
		result ok "clippy at the tip"
	else
		result fail "clippy at the tip" "$logs/clippy.log"
	fi
else
	result skip "rustfmtcheck and clippy at the tip" "no build of the series' tip"
fi

# The audit maintainers' regression suite on the base and on the tip.
if [ $regress = 1 ] && [ $applied = 1 ] && [ $np -gt 0 ]; then
	rres=$TOP/results/regress-series
	log "make regress on the series' tip (its kernel build, then about 13 minutes of guests)"
	if "$TOP/scripts/regress.sh" --src "$src" --results "$rres" >"$logs/regress.log" 2>&1; then
		result ok "regress: audit-testsuite, no regression ($(grep -E '^- (base|patched|container):' "$TOP/results/regress-series.md" 2>/dev/null | sed 's/^- //' | paste -sd, | sed 's/,/, /g'))"
	else
		result fail "regress: audit-testsuite on the base and the tip" "$logs/regress.log"
	fi
else
	why="make check-series runs it"
	[ $quick = 1 ] || why="--no-regress"
	{ [ $applied = 1 ] && [ $np -gt 0 ]; } || why="no series to test"
	result skip "regress: audit-testsuite on the base and the tip" "$why"
fi

{
	echo "KTAP version 1"
	echo "1..$n"
	printf '%s\n' "${results[@]}"
} >"$ktap"
