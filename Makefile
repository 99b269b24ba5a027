# Makefile - entry points for mapex (README.md, docs/development.md).
#
#   make [KERNEL=6.1|6.12 | KDIR=...]   build mapex.ko (+ tools); without
#                                       KERNEL or KDIR: for the running kernel
#   make install | modules_install      install it under updates/ and depmod
#   make deb                            mapex-dkms and mapex-tools .debs
#   make check [KERNEL=...]             the whole test suite (setup included;
#                                       the debug kernel's VM suite too when
#                                       scripts/debug-kernel has built it)
#   make check-debug                    build the debug kernel if needed, run
#                                       the VM suite on it (docs/development.md)
#   make check-kcsan                    the same with the KCSAN variant
#   make demo                           the story: race, mapex, no race
#   make unit | vmtest | bench | races | clean
# Installing for users: docs/install.md.

# The kernel to build for: KDIR (a build tree), KERNEL (a series or release,
# scripts/kver), or else the running kernel if mapex supports it and its
# headers are installed (scripts/running-kernel says which otherwise).
ifdef KDIR
TARGET_CMD := echo $(KDIR)
else ifdef KERNEL
TARGET_CMD := scripts/kver $(KERNEL)
else
TARGET_CMD := scripts/running-kernel
endif
# make check runs on both kernels unless KERNEL is given on the command line.
ifeq ($(origin KERNEL),command line)
CHECK_KERNELS := --kernel $(KERNEL)
endif
# make install: INSTALL_MOD_PATH (or DESTDIR) is a staging root.
INSTALL_MOD_PATH ?= $(DESTDIR)
INSTALL_MOD_DIR ?= updates

.PHONY: all module tools install modules_install deb setup check check-debug check-kcsan unit vmtest harness bench races demo clean

all: module tools

module:
	@target=$$($(TARGET_CMD)) || exit 1; \
	echo "scripts/build-module $$target"; \
	scripts/build-module "$$target" -- $(if $(W),W=$(W)) $(if $(C),C=$(C))

install modules_install: module
	@target=$$($(TARGET_CMD)) || exit 1; \
	scripts/install-module "$$target" "$(INSTALL_MOD_PATH)" "$(INSTALL_MOD_DIR)"

deb:
	scripts/make-deb

tools:
	@if [ -f tools/Makefile ]; then $(MAKE) -C tools; fi
	@if [ -f tests/races/Makefile ]; then $(MAKE) -C tests/races; fi

setup:
	scripts/setup

check:
	scripts/check $(CHECK_KERNELS)

# The lockdep+KASAN kernel: built once (about 70 min on 2 cores), then cached.
check-debug: setup
	scripts/debug-kernel
	scripts/check --kernel debug --only build --only vm

# The lockdep+KCSAN variant (KCSAN excludes KASAN), the same way.
check-kcsan: setup
	scripts/debug-kernel --kcsan
	scripts/check --kernel debug-kcsan --only build --only vm

unit:
	scripts/check --only unit

harness:
	scripts/check $(CHECK_KERNELS) --only harness

vmtest:
	scripts/check $(CHECK_KERNELS) --only vm --stress 120

# bench builds for 6.1 unless KERNEL is given, whatever the running kernel.
bench: setup
	$(MAKE) all KERNEL=$(or $(KERNEL),6.1)
	scripts/bench $(CHECK_KERNELS)

races: setup
	scripts/races

demo: setup
	scripts/demo

clean:
	rm -rf build
	@if [ -f tools/Makefile ]; then $(MAKE) -C tools clean; fi
	@if [ -f tests/races/Makefile ]; then $(MAKE) -C tests/races clean; fi
	@if [ -f tests/unit/Makefile ]; then $(MAKE) -C tests/unit clean; fi
