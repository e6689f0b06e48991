#!/usr/bin/env bash
# Export branch audit-contid of linux/ to patches/ with git format-patch:
# cover letter first (from the branch description; edit it with
# "git -C linux branch --edit-description"), numbered, with the base commit.
# Output is stable: a patch whose content did not change keeps its bytes
# (the cover letter's Date: line is the only thing git makes anew each time).
. "$(dirname "$0")/lib.sh"

g() { git -C "$LINUX" "$@"; }
[ "$(g symbolic-ref -q --short HEAD)" = "$SERIES_BRANCH" ] || die "linux/ is not on branch $SERIES_BRANCH"
[ -z "$(g status --porcelain --untracked-files=no)" ] || die "linux/ has uncommitted changes; commit them first"
n=$(g rev-list --count "$BASE_REF"..HEAD)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "$n" -gt 0 ]; then
	desc=$(g config "branch.$SERIES_BRANCH.description" || true)
	[ -n "$desc" ] || die "no cover letter: git -C linux branch --edit-description (subject line, blank line, text)"
	version=()
	[ "$SERIES_VERSION" -gt 1 ] && version=(-v "$SERIES_VERSION")
	g -c core.abbrev=12 format-patch -q -o "$tmp" --cover-letter --cover-from-description=subject \
		--base="$BASE_REF" --subject-prefix="$SERIES_PREFIX" "${version[@]}" \
		--no-signature --zero-commit "$BASE_REF"..HEAD
	# format-patch names files vN-NNNN-... from v2 on; drop the version.
	for f in "$tmp"/v[0-9]*-*.patch; do
		[ -e "$f" ] && mv "$f" "$tmp/$(basename "$f" | sed 's/^v[0-9]*-//')"
	done
fi
mkdir -p "$TOP/patches"
for f in "$TOP"/patches/*.patch; do
	[ -e "$f" ] && [ ! -e "$tmp/$(basename "$f")" ] && rm "$f"
done
for f in "$tmp"/*.patch; do
	[ -e "$f" ] || continue
	dest=$TOP/patches/$(basename "$f")
	if [ -f "$dest" ] && diff -q <(grep -v '^Date: ' "$f") <(grep -v '^Date: ' "$dest") >/dev/null; then
		continue
	fi
	cp "$f" "$dest"
done
sum=$({ cat "$TOP"/patches/*.patch 2>/dev/null || true; } | sha256sum | cut -d' ' -f1)
printf '%s\n%s\n' "$sum" "$(g rev-parse HEAD)" >"$LINUX/.git/audit-contid-state"
log "patches/: $n patches$([ "$n" -gt 0 ] && echo " and a cover letter")"
