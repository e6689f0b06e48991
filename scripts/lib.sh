# shellcheck shell=bash
# Common settings for the project's scripts. Source it, do not run it.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../base.conf
. "$TOP/base.conf"

# Everything downloaded or expensive to recreate lives outside the clone.
CACHE=${AC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/audit-contid}
LINUX=${AC_LINUX:-$TOP/linux}
BUILD=${AC_BUILD:-$TOP/build}
BASE_REPO=$CACHE/linux-base.git
SERIES_BRANCH=audit-contid
BASE_REF=base
# Kernel builds that may run beside others (check-series, bench) take this
# lock, so that two never share the 2 cores. Do not run those scripts under
# it yourself: they would wait for themselves.
KBUILD_LOCK=${AC_KBUILD_LOCK:-/tmp/ac-kbuild.lock}

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Toolchain. Each can be overridden from the environment, as with the kernel's
# own variables. The defaults are Debian 12's rustc-web and the PyPI libclang
# wheel; rustup's shims come first on PATH on some machines and must not be
# picked up by accident, hence absolute paths.
: "${RUSTC:=/usr/bin/rustc}"
: "${RUSTDOC:=/usr/bin/rustdoc}"
: "${RUSTFMT:=/usr/bin/rustfmt}"
: "${CLIPPY_DRIVER:=/usr/bin/clippy-driver}"
: "${BINDGEN:=$(command -v bindgen || echo "$HOME/.cargo/bin/bindgen")}"
# The libclang wheel is installed into the cache (scripts/setup.sh), so no
# Python environment of the system is touched.
: "${LIBCLANG_PATH:=$CACHE/pip/clang/native}"
# The same directory holds ply, which checkpatch's SPDX check needs.
export PYTHONPATH="$CACHE/pip${PYTHONPATH:+:$PYTHONPATH}"
export RUSTC RUSTDOC RUSTFMT CLIPPY_DRIVER BINDGEN LIBCLANG_PATH
# Let bindgen find the kernel's Rust sources for `core`.
: "${RUST_LIB_SRC:=$($RUSTC --print sysroot 2>/dev/null)/lib/rustlib/src/rust/library}"
export RUST_LIB_SRC

JOBS=${JOBS:-$(( $(nproc) + 1 ))}
# ccache keys on paths relative to the clone, so another clone (CI's) of the
# same series reuses the objects.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$TOP}

# Arguments every kernel make invocation gets.
kmake_args() {
	local a=(RUSTC="$RUSTC" RUSTDOC="$RUSTDOC" RUSTFMT="$RUSTFMT"
		CLIPPY_DRIVER="$CLIPPY_DRIVER" BINDGEN="$BINDGEN")
	if [ -n "${LLVM:-}" ]; then
		a+=(LLVM="$LLVM")
	elif [ -z "${CC:-}" ] && command -v ccache >/dev/null; then
		a+=(CC="ccache gcc")
	elif [ -n "${CC:-}" ]; then
		a+=(CC="$CC")
	fi
	printf '%s\n' "${a[@]}"
}

kmake() {
	local args
	mapfile -t args < <(kmake_args)
	make -C "$LINUX" "${args[@]}" "$@"
}

need_debs() {
	# Install the Debian packages named that are missing (as root; when not
	# root, print the exact commands and fail).
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	log "installing Debian packages: ${missing[*]}"
	need_root_or_print apt-get update -q
	need_root_or_print env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

need_root_or_print() {
	# Run "$@" as root; when not root, print the exact command and fail.
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		sudo "$@"
	else
		printf 'Please run as root:\n  %s\n' "$*" >&2
		exit 1
	fi
}
