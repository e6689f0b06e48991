#!/usr/bin/env bash
# Build the project's Rust integration suite and operator tool
# (selftests/rust: contid-tests and contid) on the host, and install them into
# build/selftests-bin, which mkinitramfs.sh puts into the guest as /ac/tests.
# Then run the workspace's host-side checks: its unit tests (parsing and
# encoding only; nothing touches audit or namespaces), cargo fmt --check and
# cargo clippy. With KTAP-FILE, write their results there as KTAP, one line
# per unit test.
#
# The binaries themselves change the audit configuration: they refuse to run
# anywhere but in the guest (they look for /ac/bin/run-selftests).
#
# Usage: build-rust-selftests.sh [KTAP-FILE]
# Exit status: 1 if the build failed, or a check failed; 0 otherwise.
. "$(dirname "$0")/lib.sh"

ws=$TOP/selftests/rust
target=$BUILD/cargo
bin=$BUILD/selftests-bin
ktap=${1:-}

# lib.sh pins RUSTC, RUSTDOC, RUSTFMT and CLIPPY_DRIVER to Debian's toolchain
# for the kernel; the workspace is built with the machine's rustup toolchain
# (cargo on PATH), which those must not override.
cargo_() { # SUBCOMMAND ARGS...
	env -u RUSTC -u RUSTDOC -u RUSTFMT -u CLIPPY_DRIVER -u RUST_LIB_SRC \
		cargo "$1" --manifest-path "$ws/Cargo.toml" "${@:2}"
}
command -v cargo >/dev/null || die "cargo not found on PATH (the rustup toolchain)"

results=()
add_result() { # OK(0/1) NAME [DIRECTIVE]
	local line
	if [ "$1" = 0 ]; then line="ok"; else line="not ok"; fi
	results+=("$line %d $2${3:+ # $3}")
}
write_ktap() {
	[ -n "$ktap" ] || return 0
	mkdir -p "$(dirname "$ktap")"
	{
		echo "KTAP version 1"
		echo "1..${#results[@]}"
		local i=0 r
		for r in "${results[@]}"; do
			i=$((i + 1))
			# shellcheck disable=SC2059
			printf "$r\n" "$i"
		done
	} >"$ktap"
}

# No stale programs in the image if the build fails.
rm -f "$bin/contid" "$bin/contid-tests"
log "building selftests/rust (release)"
if ! cargo_ build --release --locked -j "$JOBS" --target-dir "$target"; then
	add_result 1 "selftests/rust: cargo build"
	write_ktap
	die "cargo build failed"
fi
mkdir -p "$bin"
install -m 0755 "$target/release/contid" "$target/release/contid-tests" "$bin/"
log "installed contid and contid-tests into $bin"

status=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Runs "cargo test" on the workspace MANIFEST (target directory TARGET) and
# adds a result per test: libtest prints "test PATH ... ok|FAILED|ignored"
# per test, after a "Running unittests SRC (TARGET/deps/CRATE-HASH)" line
# per test binary.
unit_tests() { # NAME MANIFEST TARGET [CARGO-ARGS...]
	local name=$1 manifest=$2 tdir=$3 rc n_before=${#results[@]}
	shift 3
	log "host tests of $name"
	set +e
	env -u RUSTC -u RUSTDOC -u RUSTFMT -u CLIPPY_DRIVER -u RUST_LIB_SRC \
		cargo test --manifest-path "$manifest" --locked -j "$JOBS" --target-dir "$tdir" --no-fail-fast "$@" >"$out" 2>&1
	rc=$?
	set -e
	while IFS=$'\t' read -r res tname; do
		case $res in
		ok) add_result 0 "$tname" ;;
		ignored) add_result 0 "$tname" SKIP ;;
		*) add_result 1 "$tname" ;;
		esac
	done < <(awk '
		/^ *Running / { crate = $NF; sub(/.*\//, "", crate); sub(/-[0-9a-f]+\)$/, "", crate); next }
		/^ *Doc-tests / { crate = $2 " doctest"; next }
		/^test .* \.\.\. / {
			tname = $2; res = $NF
			if (res != "ok" && res != "ignored") res = "FAILED"
			printf "%s\t%s: %s\n", res, crate, tname
		}' "$out")
	if [ "$rc" != 0 ] || [ ${#results[@]} = "$n_before" ]; then
		# A build error, or a failure outside any test.
		add_result 1 "$name: cargo test (exit $rc)"
		tail -n 40 "$out" >&2
		status=1
	fi
	grep -E '^test result:' "$out" | sed 's/^/    /' >&2 || true
}

unit_tests selftests/rust "$ws/Cargo.toml" "$target"
# The property test of the kernel's own write parser (it compiles
# linux/kernel/audit_container/parse.rs on the host; see its README).
if [ -f "$LINUX/kernel/audit_container/parse.rs" ]; then
	unit_tests selftests/parse-prop "$TOP/selftests/parse-prop/Cargo.toml" "$BUILD/cargo-parse-prop" --release
else
	add_result 0 "selftests/parse-prop" "SKIP no linux/ tree with the series"
fi

log "cargo fmt --check and cargo clippy"
if env -u RUSTFMT cargo fmt --version >/dev/null 2>&1; then
	if (cd "$ws" && env -u RUSTFMT cargo fmt --all --check >"$out" 2>&1); then
		add_result 0 "selftests/rust: cargo fmt --check"
	else
		add_result 1 "selftests/rust: cargo fmt --check"
		head -n 40 "$out" >&2
		status=1
	fi
else
	add_result 0 "selftests/rust: cargo fmt --check" "SKIP rustfmt is not installed"
fi
if env -u CLIPPY_DRIVER cargo clippy --version >/dev/null 2>&1; then
	if cargo_ clippy --locked -j "$JOBS" --target-dir "$target" --all-targets -- -D warnings >"$out" 2>&1; then
		add_result 0 "selftests/rust: cargo clippy"
	else
		add_result 1 "selftests/rust: cargo clippy"
		grep -E -A8 '^(error|warning)' "$out" | head -n 60 >&2
		status=1
	fi
else
	add_result 0 "selftests/rust: cargo clippy" "SKIP clippy is not installed"
fi

for r in "${results[@]}"; do
	case $r in "not ok"*) status=1 ;; esac
done
write_ktap
[ -n "$ktap" ] && log "wrote $ktap (${#results[@]} results)"
exit "$status"
