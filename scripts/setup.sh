#!/usr/bin/env bash
# Install and check the toolchain: Debian packages, bindgen-cli from
# crates.io, the libclang wheel from PyPI, the crates of selftests/rust; then get the kernel base and end
# with the kernel's own "make rustavailable". Fast when all is there.
# Not root: prints the exact commands to run instead.
. "$(dirname "$0")/lib.sh"

DEB_PACKAGES=(
	build-essential flex bison bc libelf-dev libssl-dev cpio rsync xz-utils
	git ccache python3 python3-pip
	rustc-web rust-web-src rustfmt-web rust-web-clippy
	qemu-system-x86 busybox-static libcap-dev nftables auditd
	autoconf automake libtool
)
BINDGEN_VERSION=0.73.2
LIBCLANG_VERSION=18.1.1

need_debs "${DEB_PACKAGES[@]}"

if ! "$BINDGEN" --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
	command -v cargo >/dev/null || die "cargo is needed to install bindgen-cli (or set BINDGEN=/path/to/bindgen)"
	log "installing bindgen-cli $BINDGEN_VERSION from crates.io"
	cargo install --locked --version "$BINDGEN_VERSION" bindgen-cli
	BINDGEN=$HOME/.cargo/bin/bindgen
fi

# The Rust integration suite (selftests/rust) builds with the machine's own
# cargo and rustc (rustup), not with Debian's kernel toolchain; fetch its
# pinned crates now so that a build needs no network.
command -v cargo >/dev/null || die "cargo is needed for selftests/rust (rustup's stable toolchain)"
for m in selftests/rust selftests/parse-prop; do
	env -u RUSTC -u RUSTDOC -u RUSTFMT -u CLIPPY_DRIVER cargo fetch -q --locked --manifest-path "$TOP/$m/Cargo.toml"
done

if ! python3 -c "import ply, git" 2>/dev/null; then
	log "installing ply and GitPython (for checkpatch's SPDX check) from PyPI into $CACHE/pip"
	python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$CACHE/pip" "ply==3.11" "GitPython==3.1.44"
fi
if [ ! -e "$LIBCLANG_PATH/libclang.so" ]; then
	[ "$LIBCLANG_PATH" = "$CACHE/pip/clang/native" ] || die "no libclang.so in LIBCLANG_PATH=$LIBCLANG_PATH"
	log "installing the libclang $LIBCLANG_VERSION wheel from PyPI into $CACHE/pip"
	python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$CACHE/pip" "libclang==$LIBCLANG_VERSION"
fi

"$TOP/scripts/get-kernel.sh"
if ! out=$(kmake -s rustavailable 2>&1); then
	printf '%s\n' "$out" >&2
	die "make rustavailable failed; see Documentation/rust/quick-start.rst"
fi
log "toolchain ok: $("$RUSTC" --version), $("$BINDGEN" --version 2>&1 | head -n1), libclang from $LIBCLANG_PATH"
