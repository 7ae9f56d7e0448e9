# Host unit tests (Check) and libFuzzer targets.
#
# Every tests/unit/test_*.c defines one Suite constructor listed in
# tests/unit/suites.h; tests/unit/main.c runs them all.

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/host/%.o)
UNIT_BIN  := $(BUILD)/tests/unit-tests

.PHONY: unit-tests
unit-tests: $(UNIT_BIN)

$(UNIT_BIN): $(UNIT_OBJS) $(VMM_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $(UNIT_OBJS) $(VMM_LIB) $(HOST_LIBS) -lcheck -lsubunit -lm -lrt

# Unit tests run from the top of the tree: fixtures are found by relative path.
check-unit: $(UNIT_BIN) guest-tests
	$(Q)CK_FORK=yes $(UNIT_BIN)

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer, in a
# separate build tree so the normal objects are not rebuilt.
check-unit-sanitized:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/sanitized SANITIZE=1 \
		$(BUILD)/sanitized/tests/unit-tests
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		CK_FORK=no $(BUILD)/sanitized/tests/unit-tests

# libFuzzer targets: tests/fuzz/fuzz_<name>.c, each linked with the VMM
# library built by clang with coverage instrumentation, ASan and UBSan; the
# targets themselves also get the project's warnings. Seeds live in
# tests/fuzz/corpus/<name>/. `make fuzz FUZZ_TARGETS="vfio_region fslmc"`
# runs only those.
FUZZ_SECONDS ?= 30
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_TARGETS ?= $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)
FUZZ_RUN     := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_CFLAGS  := -std=gnu11 -O1 -g -D_GNU_SOURCE -Iinclude -I. -MMD -MP \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_LIB_OBJS := $(VMM_LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/%: tests/fuzz/%.c $(FUZZ_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $(WARNINGS) -fsanitize=fuzzer $< $(FUZZ_LIB_OBJS) -o $@ $(HOST_LIBS)

.PHONY: fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_RUN)
	$(Q)set -e; for f in $(FUZZ_RUN); do \
		name=$${f##*/}; corpus=tests/fuzz/corpus/$${name#fuzz_}; \
		mkdir -p $(FUZZ_BUILD)/corpus/$$name; \
		echo "== $$name for $(FUZZ_SECONDS)s (seeds: $$corpus)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			$(FUZZ_BUILD)/corpus/$$name $$corpus; \
	done

# Command-line tests: tiny CPL 0 images for the fault and signal paths.
CLI_IMAGES := $(patsubst tests/cli/images/%.S,$(BUILD)/tests/cli/%.elf,$(wildcard tests/cli/images/*.S))

$(BUILD)/tests/cli/%.elf: tests/cli/images/%.S
	@mkdir -p $(dir $@)
	$(Q)$(CC) -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-Ttext=0x200000 $< -o $@

.PHONY: cli-images check-cli
cli-images: $(CLI_IMAGES)

check-cli: $(VMM_BIN) $(CLI_IMAGES) guest-tests
	$(Q)VMM=$(VMM_BIN) tests/cli/run-cli-tests
