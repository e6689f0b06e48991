# Audit container IDs for Linux: the patch series and its test bench.
# The two commands: "make vm" (build the patched kernel, boot it) and
# "make check" (every test). See README.md.

SHELL := /bin/bash
CONFIG ?= test
S := scripts

.PHONY: all help setup kernel info apply export build base selftests initramfs \
	vm demo check check-series regress stress fuzz bench profile clean distclean

all: help

help:
	@echo "make vm            build the patched kernel and boot it (CMD='...' runs a command)"
	@echo "make check         build everything and run every test"
	@echo "make check-series  the maintainer's checks on patches/ (KTAP)"
	@echo "make regress       audit-testsuite on the base and the patched kernel, test by test"
	@echo "make demo          show the container records an administrator would see"
	@echo "make stress        race stress and fuzzing in a 4-vCPU guest (full length; see scripts/stress.sh)"
	@echo "make fuzz          the fuzzers only"
	@echo "make setup         install and check the toolchain"
	@echo "make kernel        get the base into linux/ and apply patches/"
	@echo "make export        write linux/'s branch back to patches/"
	@echo "make build         build the kernel (CONFIG=$(CONFIG)); 'make base' the unpatched one"
	@echo "make info          where the base came from"
	@echo "make bench         base vs patched kernel benchmarks: table, chart (results/bench)"
	@echo "make profile       instructions per kernel function of one operation, base vs patched"
	@echo "                   (PROFILE='member unshare 500'; see scripts/profile.sh)"

setup:
	@$(S)/setup.sh

kernel: setup
	@$(S)/apply-series.sh

apply: kernel

export:
	@$(S)/export-series.sh

info:
	@. $(S)/lib.sh; echo "base: $$BASE_VERSION (base.conf)"; \
	cat "$$CACHE/base.info" 2>/dev/null || echo "not fetched yet (make kernel)"; \
	[ -d "$$LINUX/.git" ] && echo "linux/: branch $$(git -C $$LINUX symbolic-ref -q --short HEAD), $$(git -C $$LINUX rev-list --count base..HEAD) patches on the base" || true

build: kernel
	@$(S)/build.sh $(CONFIG) bzImage

base: setup
	@$(S)/build.sh --base $(CONFIG) bzImage

selftests: build
	@$(S)/build-selftests.sh $(CONFIG)
	@$(S)/build-rust-selftests.sh

initramfs: selftests
	@$(S)/mkinitramfs.sh $(CONFIG)

vm: initramfs
	@$(S)/vm.sh --config $(CONFIG) $(if $(CMD),-- sh -c '$(CMD)')

demo: initramfs
	@$(S)/demo.sh

check: setup
	@$(S)/check.sh

stress: selftests
	@$(S)/stress.sh $(STRESS_ARGS)

fuzz: selftests
	@$(S)/stress.sh --only fuzz $(STRESS_ARGS)

check-series: kernel
	@$(S)/check-series.sh

bench: kernel
	@$(S)/bench.sh

profile: kernel
	@$(S)/profile.sh $(PROFILE)

regress: kernel
	@$(S)/regress.sh $(REGRESS_ARGS)

clean:
	rm -rf build results

distclean: clean
	rm -rf linux
