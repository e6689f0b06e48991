#!/usr/bin/env bash
# Build a kernel:
#   scripts/build.sh [--base] [--src DIR --out DIR] [--extra FRAGMENT]... CONFIG [targets...]
#
# CONFIG names a list of fragments in configs/ (see configs/README). The
# output goes to build/CONFIG (patched tree, linux/) or build/CONFIG-base
# (--base: the unpatched base, checked out as a git worktree in
# build/src-base), so both can be built with the same configuration.
# --src/--out build another tree (scripts/check-series.sh uses them);
# --extra merges one more fragment last.
. "$(dirname "$0")/lib.sh"

base=0 src= out= extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	--base) base=1; shift ;;
	--src) src=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--extra) extra+=("$2"); shift 2 ;;
	*) break ;;
	esac
done
name=${1:?usage: build.sh [--base] [--src DIR --out DIR] [--extra FRAGMENT] CONFIG [targets...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(bzImage)

fragments() {
	case "$1" in
	test) echo vm audit-contid kunit debug smp ;;
	series) echo vm audit-contid kunit series ;;
	bench) echo vm audit-contid ;;
	*) [ -f "$TOP/configs/$1.config" ] && echo "vm audit-contid $1" || die "unknown configuration $1" ;;
	esac
}

[ -d "$LINUX/.git" ] || "$TOP/scripts/get-kernel.sh"
if [ -n "$src" ]; then
	[ -n "$out" ] || die "--src needs --out"
	LINUX=$src
elif [ $base = 1 ]; then
	src=$BUILD/src-base
	if [ ! -d "$src" ]; then
		git -C "$LINUX" worktree prune
		git -C "$LINUX" worktree add -q --detach "$src" "$BASE_REF"
	fi
	[ "$(git -C "$src" rev-parse HEAD)" = "$(git -C "$LINUX" rev-parse "$BASE_REF^{commit}")" ] ||
		git -C "$src" checkout -q --detach "$BASE_REF"
	: "${out:=$BUILD/$name-base}"
	LINUX=$src
else
	: "${out:=$BUILD/$name}"
fi
mkdir -p "$out"

frags=()
for f in $(fragments "$name"); do frags+=("$TOP/configs/$f.config"); done
frags+=("${extra[@]}")

log "configuring $out from tinyconfig + $(fragments "$name") ${extra[*]##*/}"
kmake -s O="$out" tinyconfig >/dev/null
"$LINUX/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${frags[@]}" >/dev/null
kmake -s O="$out" olddefconfig >/dev/null

# Every symbol the fragments ask for (the last fragment naming it wins) must
# have got that value. Symbols the tree does not define are skipped: the
# unpatched base, and the patches before the one that adds them, lack the
# series' own symbols.
known=$(git -C "$LINUX" grep -h -E '^[[:space:]]*(menu)?config [A-Z0-9_]+' -- '*Kconfig*' | awk '{print "CONFIG_"$2}' | sort -u)
bad=0
while IFS= read -r line; do
	sym=${line#\# }; sym=${sym%%[= ]*}
	grep -qxF "$sym" <<<"$known" || continue
	case "$line" in
	CONFIG_*=*)
		grep -qxF "$line" "$out/.config" || { log "config: wanted $line, got: $(grep -E "^(# )?${line%%=*}[= ]" "$out/.config" || echo unset)"; bad=1; } ;;
	"# CONFIG_"*" is not set")
		sym=${line#\# }; sym=${sym%% *}
		! grep -q "^$sym=" "$out/.config" || { log "config: wanted $sym off"; bad=1; } ;;
	esac
done < <(cat "${frags[@]}" | awk '
	/^CONFIG_[A-Za-z0-9_]+=/ { k = $0; sub(/=.*/, "", k) }
	/^# CONFIG_[A-Za-z0-9_]+ is not set/ { k = $2 }
	k != "" { if (!(k in v)) order[n++] = k; v[k] = $0; k = "" }
	END { for (i = 0; i < n; i++) print v[order[i]] }')
[ $bad = 0 ] || die "the configuration did not take (see above)"

log "building ${targets[*]} in $out"
kmake O="$out" -j"$JOBS" "${targets[@]}"
