# Makefile - entry points for mapex (README.md, docs/development.md).
#
#   make [KERNEL=6.1|6.12 | KDIR=...]   build mapex.ko (+ tools) for one kernel
#   make check [KERNEL=...]             the whole test suite (setup included)
#   make demo                           the story: race, mapex, no race
#   make unit | vmtest | bench | races | clean

KERNEL ?= 6.1
ifdef KDIR
MODULE_TARGET := $(KDIR)
else
MODULE_TARGET = $(shell scripts/kver $(KERNEL))
endif
# make check runs on both kernels unless KERNEL is given on the command line.
ifeq ($(origin KERNEL),command line)
CHECK_KERNELS := --kernel $(KERNEL)
endif

.PHONY: all module tools setup check unit vmtest harness bench races demo clean

all: module tools

module:
	@test -n "$(MODULE_TARGET)" || { echo "no kernel $(KERNEL): run scripts/setup" >&2; exit 1; }
	scripts/build-module $(MODULE_TARGET) -- $(if $(W),W=$(W)) $(if $(C),C=$(C))

tools:
	@if [ -f tools/Makefile ]; then $(MAKE) -C tools; fi
	@if [ -f tests/races/Makefile ]; then $(MAKE) -C tests/races; fi

setup:
	scripts/setup

check:
	scripts/check $(CHECK_KERNELS)

unit:
	scripts/check --only unit

harness:
	scripts/check $(CHECK_KERNELS) --only harness

vmtest:
	scripts/check $(CHECK_KERNELS) --only vm --stress 120

bench: setup all
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
