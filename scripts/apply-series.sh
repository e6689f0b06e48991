#!/usr/bin/env bash
# Apply patches/ onto the base in linux/ as commits on branch audit-contid.
#
# The branch is reset to the base and every patch is applied with "git am";
# any conflict fails loudly. The cover letter's subject and text become the
# branch description, from which export-series.sh writes it back.
# When patches/ and the branch are what the last apply or export left, this
# does nothing (so file times, and incremental builds, are kept).
# It refuses to throw away commits or changes made in linux/ since then,
# unless FORCE=1.
. "$(dirname "$0")/lib.sh"

[ -d "$LINUX/.git" ] || "$TOP/scripts/get-kernel.sh"
g() { git -C "$LINUX" "$@"; }
g config --local user.name >/dev/null || g config user.name "$SERIES_AUTHOR_NAME"
g config --local user.email >/dev/null || g config user.email "$SERIES_AUTHOR_EMAIL"

state=$LINUX/.git/audit-contid-state
patches=()
for p in "$TOP"/patches/*.patch; do
	[ -e "$p" ] || continue
	case "$(basename "$p")" in 0000-cover-letter.patch) ;; *) patches+=("$p") ;; esac
done
sum=$({ cat "$TOP"/patches/*.patch 2>/dev/null || true; } | sha256sum | cut -d' ' -f1)
head=$(g rev-parse -q --verify "refs/heads/$SERIES_BRANCH" || true)

if [ -f "$state" ] && [ "$(sed -n 1p "$state")" = "$sum" ] && [ "$(sed -n 2p "$state")" = "$head" ] &&
	[ "$(g symbolic-ref -q --short HEAD)" = "$SERIES_BRANCH" ] && [ -z "$(g status --porcelain --untracked-files=no)" ]; then
	log "linux/ already has the series (${#patches[@]} patches)"
	exit 0
fi
if [ "${FORCE:-0}" != 1 ]; then
	[ -z "$(g status --porcelain --untracked-files=no)" ] ||
		die "linux/ has uncommitted changes; commit and export them, or FORCE=1 to discard"
	if [ -n "$head" ] && [ "$head" != "$(g rev-parse "$BASE_REF^{commit}")" ] &&
		{ [ ! -f "$state" ] || [ "$(sed -n 2p "$state")" != "$head" ]; }; then
		die "branch $SERIES_BRANCH has commits that are not in patches/; run scripts/export-series.sh, or FORCE=1 to discard them"
	fi
fi

g am --abort >/dev/null 2>&1 || true
g checkout -q -B "$SERIES_BRANCH" "$BASE_REF"
g reset -q --hard "$BASE_REF"
if [ ${#patches[@]} -gt 0 ]; then
	log "applying ${#patches[@]} patches"
	if ! g am -q --committer-date-is-author-date "${patches[@]}"; then
		g am --abort >/dev/null 2>&1 || true
		die "the series does not apply onto $(sed -n 's/^version=//p' "$CACHE/base.info" 2>/dev/null || echo the base) (see git am's message above)"
	fi
fi

# Cover letter -> branch description (subject line, blank line, text).
cover=$TOP/patches/0000-cover-letter.patch
if [ -f "$cover" ]; then
	python3 "$TOP/scripts/cover.py" read "$cover" >"$LINUX/.git/audit-contid-cover"
	g config "branch.$SERIES_BRANCH.description" "$(cat "$LINUX/.git/audit-contid-cover")"
fi
printf '%s\n%s\n' "$sum" "$(g rev-parse HEAD)" >"$state"
log "branch $SERIES_BRANCH: $(g rev-list --count "$BASE_REF"..HEAD) patches on the base"
