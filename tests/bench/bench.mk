# Benchmarks (docs/PERFORMANCE.md): the KVM floor program, the timing driver
# and the bench guest images, all in $(BUILD)/bench/. scripts/bench.sh runs
# them; `make bench` builds this first.
#
#   kvm_floor      minimal KVM program booting an image like `vmm run`
#   bench_run      interleaved, timed whole-process runs (medians)
#   probe.elf      first guest instruction writes the exit port
#   first.elf      first guest instruction reads the TSC (sent to the UART)
#   pio-N-cplC.elf N = 0 or BENCH_PIO_LOOPS_CPLC x 64 `outb` to port 0x3ff at CPL C
#                  (an exit costs ~10x more from CPL 3 here, hence fewer there)
#   irq_floor      minimal KVM program: host thread -> irqfd -> guest CPL 0 handler
#   irq.elf        its guest (IDT gate, timestamping handler, halt/spin/rate loops);
#                  the VMM side is guest-tests/irq-bench (tests/bench/configs/irq-bench.toml)

BENCH_BUILD      := $(BUILD)/bench
BENCH_PIO_LOOPS_CPL0 ?= 256
BENCH_PIO_LOOPS_CPL3 ?= 32
BENCH_TOOLS      := $(BENCH_BUILD)/kvm_floor $(BENCH_BUILD)/bench_run $(BENCH_BUILD)/irq_floor
BENCH_IMAGES     := $(BENCH_BUILD)/probe.elf $(BENCH_BUILD)/first.elf $(BENCH_BUILD)/irq.elf \
	$(foreach n,0 n,$(foreach c,0 3,$(BENCH_BUILD)/pio-$(n)-cpl$(c).elf))
BENCH_LDSCRIPT   := tests/bench/images/image.ld
BENCH_ASFLAGS    := -nostdinc -Iinclude -D__ASSEMBLER__
BENCH_LDFLAGS    := -nostdlib -static -no-pie -Wl,-T,$(BENCH_LDSCRIPT) \
	-Wl,--build-id=none -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack

.PHONY: bench-tools
bench-tools: $(BENCH_TOOLS) $(BENCH_IMAGES)

# The floor links only vmm/x86/boot_state.o out of libvmm.a (shared
# boot-state builder); the driver links nothing of the VMM.
$(BENCH_BUILD)/kvm_floor: $(BUILD)/host/tests/bench/kvm_floor.o $(VMM_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^

# The interrupt floor links the VMM's boot-state builder, ELF loader and RAM
# allocator (libvmm.a); its KVM interrupt setup is its own.
$(BENCH_BUILD)/irq_floor: $(BUILD)/host/tests/bench/irq_floor.o $(VMM_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LIBS)

$(BENCH_BUILD)/bench_run: $(BUILD)/host/tests/bench/bench_run.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^

$(BENCH_BUILD)/probe.o $(BENCH_BUILD)/first.o $(BENCH_BUILD)/irq.o: $(BENCH_BUILD)/%.o: tests/bench/images/%.S
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $<")
	$(Q)$(CC) $(BENCH_ASFLAGS) -c $< -o $@

# pio-0-cplC: no writes (t(0)); pio-n-cplC: BENCH_PIO_LOOPS_CPLC x 64 writes.
$(BENCH_BUILD)/pio-0-cpl%.o: tests/bench/images/pio.S
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $@")
	$(Q)$(CC) $(BENCH_ASFLAGS) -DPIO_LOOPS=0 -DPIO_CPL=$* -c $< -o $@

$(BENCH_BUILD)/pio-n-cpl%.o: tests/bench/images/pio.S tests/bench/bench.mk
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $@")
	$(Q)$(CC) $(BENCH_ASFLAGS) -DPIO_LOOPS=$(BENCH_PIO_LOOPS_CPL$*) -DPIO_CPL=$* -c $< -o $@

$(BENCH_BUILD)/%.elf: $(BENCH_BUILD)/%.o $(BENCH_LDSCRIPT)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BENCH_LDFLAGS) -o $@ $<

# Keep the image objects (chained rules would delete them).
.SECONDARY: $(BENCH_IMAGES:.elf=.o)
