#!/usr/bin/env bash
# Obtain the pinned kernel base into linux/ (see base.conf), in this order:
#   1. an existing linux/ tree (left as it is);
#   2. the cached pristine base ($CACHE/linux-base.git), cloned;
#   3. a shallow clone of the stable tag (short timeout);
#   4. Debian's linux-source package, fetched with a private apt setup derived
#      from the machine's own Debian mirror (the system's apt config is not
#      touched).
# The pristine base is a git repository with one commit, tagged "base"; it
# records where it came from in base.info (printed by "make info").
. "$(dirname "$0")/lib.sh"

if [ -d "$LINUX/.git" ] && git -C "$LINUX" rev-parse -q --verify "$BASE_REF^{commit}" >/dev/null; then
	log "using existing tree $LINUX"
	exit 0
fi
[ -e "$LINUX" ] && die "$LINUX exists but is not a kernel tree made by this script; move it away"

mkdir -p "$CACHE"

commit_tree() { # dir, message: make $BASE_REPO from a plain source tree
	local dir=$1 msg=$2 tmp
	tmp=$(mktemp -d "$CACHE/base-git.XXXXXX")
	git -C "$dir" init -q
	git -C "$dir" add -A -f .
	git -C "$dir" -c user.name="audit-contid scripts" -c user.email="noreply@localhost" \
		-c commit.gpgsign=false commit -q -m "$msg"
	git clone -q --bare "$dir" "$tmp/repo"
	git -C "$tmp/repo" tag "$BASE_REF" HEAD
	mv "$tmp/repo" "$BASE_REPO"
	rmdir "$tmp"
}

tree_version() { # dir
	awk -F' = ' '/^VERSION =/{v=$2} /^PATCHLEVEL =/{p=$2} /^SUBLEVEL =/{s=$2} END{print v"."p"."s}' "$1/Makefile"
}

debian_mirror() {
	# The machine's own Debian mirror: first non-security URI of a Debian
	# source in the system's apt configuration.
	{
		[ ! -f /etc/apt/sources.list ] || awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^[a-z]+:\/\//){print $i; break}}' /etc/apt/sources.list
		for f in /etc/apt/sources.list.d/*.sources; do
			[ ! -f "$f" ] || awk 'tolower($1)=="uris:"{for(i=2;i<=NF;i++) print $i}' "$f"
		done
		for f in /etc/apt/sources.list.d/*.list; do
			[ ! -f "$f" ] || awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^[a-z]+:\/\//){print $i; break}}' "$f"
		done
	} | grep -v -e security -e snapshot | grep -E '/debian/?$' | head -n1 || true
}

from_git() {
	command -v git >/dev/null || return 1
	local tmp
	tmp=$(mktemp -d "$CACHE/clone.XXXXXX")
	log "trying a shallow clone of $BASE_TAG (60 s limit)"
	if GIT_TERMINAL_PROMPT=0 timeout 60 git -c http.lowSpeedLimit=100000 -c http.lowSpeedTime=15 \
		clone -q --depth 1 --branch "$BASE_TAG" --bare "$BASE_GIT_URL" "$tmp/repo" 2>/dev/null; then
		git -C "$tmp/repo" tag "$BASE_REF" HEAD
		mv "$tmp/repo" "$BASE_REPO"
		rm -rf "$tmp"
		printf 'source=git %s %s\nversion=%s\n' "$BASE_GIT_URL" "$BASE_TAG" "$BASE_VERSION" > "$CACHE/base.info"
		return 0
	fi
	rm -rf "$tmp"
	return 1
}

from_debian() {
	local mirror apt deb ver dir
	mirror=$(debian_mirror)
	[ -n "$mirror" ] || die "no Debian mirror found in the apt configuration"
	apt=$CACHE/apt
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $BASE_DEBIAN_SUITE main" > "$apt/sources.list"
	local opts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
	if ! ls "$apt"/debs/"${BASE_DEBIAN_PACKAGE}"_*.deb >/dev/null 2>&1; then
		log "fetching $BASE_DEBIAN_PACKAGE from Debian $BASE_DEBIAN_SUITE"
		apt-get -q "${opts[@]}" update >&2
		(cd "$apt/debs" && apt-get -q "${opts[@]}" download "$BASE_DEBIAN_PACKAGE" >&2)
	fi
	deb=$(ls "$apt"/debs/"${BASE_DEBIAN_PACKAGE}"_*.deb | sort -V | tail -n1)
	ver=$(dpkg-deb -f "$deb" Version)
	log "unpacking $(basename "$deb")"
	dir=$(mktemp -d "$CACHE/src.XXXXXX")
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards './usr/src/*.tar.xz'
	tar -x -C "$dir" -f "$dir"/usr/src/*.tar.xz
	rm -rf "$dir/usr"
	local src
	src=$(echo "$dir"/linux-source-*)
	[ -f "$src/Makefile" ] || die "unexpected layout in $deb"
	local kver
	kver=$(tree_version "$src")
	case "$kver" in
	"${BASE_VERSION%.*}".*) ;;
	*) die "Debian offers $kver, not a ${BASE_VERSION%.*} release" ;;
	esac
	[ "$kver" = "$BASE_VERSION" ] || log "note: Debian $BASE_DEBIAN_SUITE has $kver, not $BASE_VERSION; using $kver"
	# Debian's tarball appends "ignore everything at the top level" to
	# .gitignore for its packaging repository; in a kernel tree that hides
	# every new file from git. Restore upstream's .gitignore.
	python3 - "$src/.gitignore" <<'PY'
import sys
p = sys.argv[1]
lines = open(p).read().split("\n")
for i, l in enumerate(lines):
    if l.startswith("# Debian packaging: ignore everything at the top level"):
        del lines[i - 1 if i and lines[i - 1] == "#" else i:]
        while lines and lines[-1] == "":
            lines.pop()
        open(p, "w").write("\n".join(lines) + "\n")
        break
PY
	commit_tree "$src" "Linux $kver (Debian $BASE_DEBIAN_PACKAGE $ver)"
	rm -rf "$dir"
	printf 'source=debian %s %s (carries Debian patches)\nversion=%s\n' "$BASE_DEBIAN_PACKAGE" "$ver" "$kver" > "$CACHE/base.info"
}

if [ ! -d "$BASE_REPO" ]; then
	from_git || from_debian
fi

log "checking out the base into $LINUX"
git clone -q --no-checkout "$BASE_REPO" "$LINUX"
git -C "$LINUX" checkout -q -b "$SERIES_BRANCH" "$BASE_REF"
git -C "$LINUX" tag -f "$BASE_REF" "$BASE_REF" >/dev/null
cp "$CACHE/base.info" "$LINUX/.git/audit-contid-base.info"
log "base: $(tr '\n' ' ' < "$CACHE/base.info")"
