# One make for everything: all, run, check, bench, fuzz, clean.
#
#   make            VMM, firmware, every guest-test image, unit tests
#   make run        boot configs/default.toml
#   make check      unit tests, unit tests under ASan+UBSan, guest tests, Linux guest
#                   (tests/linux/linux.mk: the first run builds a kernel, ~7 min)
#   make bench      benchmarks (docs/PERFORMANCE.md)
#   make fuzz       run every libFuzzer target for FUZZ_SECONDS each
#
# Everything lands in $(BUILD); the source tree stays clean.

BUILD    ?= build
CC       ?= gcc
CLANG    ?= clang
V        ?= 0

Q := $(if $(filter 1,$(V)),,@)

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wmissing-declarations -Wold-style-definition \
	-Wpointer-arith -Wformat=2 -Wformat-security -Wundef -Wvla \
	-Wwrite-strings -Wimplicit-fallthrough -Wredundant-decls \
	-Wcast-qual -Wswitch-enum -Wno-unused-parameter

# SANITIZE=1 builds host code with ASan+UBSan (used by `make check`).
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

HOST_CFLAGS := -std=gnu11 -O2 -g $(WARNINGS) -D_GNU_SOURCE -MMD -MP \
	-Iinclude -I. $(SAN_FLAGS) $(EXTRA_CFLAGS)
HOST_LDFLAGS := $(SAN_FLAGS)
HOST_LIBS := -lfdt -laio -lpthread

# The VMM as a library (everything but main.c) so unit tests link the same code.
VMM_LIB_SRCS := $(filter-out vmm/main.c,$(wildcard vmm/*.c vmm/*/*.c devices/*.c devices/*/*.c))
VMM_LIB_OBJS := $(VMM_LIB_SRCS:%.c=$(BUILD)/host/%.o)
VMM_LIB      := $(BUILD)/libvmm.a
VMM_BIN      := $(BUILD)/vmm

.PHONY: all vmm run check check-unit check-unit-sanitized check-cli check-guests bench fuzz clean
.DEFAULT_GOAL := all

all: vmm firmware guest-tests unit-tests cli-images tools

vmm: $(VMM_BIN)

$(BUILD)/host/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(HOST_CFLAGS) -c $< -o $@

$(VMM_LIB): $(VMM_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(VMM_BIN): $(BUILD)/host/vmm/main.o $(VMM_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LIBS)

include firmware/firmware.mk
include guest-tests/guest-tests.mk
include tests/tests.mk
include scripts/scripts.mk
include tests/bench/bench.mk
include tests/virtio/virtio.mk
include tests/linux/linux.mk
include tests/vfio-sim/vfio-sim.mk

run: all
	$(VMM_BIN) run configs/default.toml

check: all
	$(Q)$(MAKE) --no-print-directory check-unit
	$(Q)$(MAKE) --no-print-directory check-unit-sanitized
	$(Q)$(MAKE) --no-print-directory check-cli
	$(Q)$(MAKE) --no-print-directory check-vfio-sim
	$(Q)$(MAKE) --no-print-directory check-guests
	$(Q)$(MAKE) --no-print-directory check-virtio
	$(Q)$(MAKE) --no-print-directory check-linux

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
