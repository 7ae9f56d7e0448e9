# virtio (docs/devices/virtio.md): disk images for the guest-test configs,
# the crash-consistency test, and the host AIO floor of the benchmark.
#
#   make virtio-images   build/virtio/{kick,poll,ro}.img (configs/virtio-*.toml)
#   make check-virtio    crash-consistency test, kick and poll (part of `make check`)
#   make virtio-bench    guest throughput, kick vs poll, next to the host floor
#
# The images start with a pattern the guest checks: sector i holds
# "vmm-virtio sector i" padded with spaces to 511 bytes, then '\n'. Sizes
# are what configs/virtio-*.toml tell the guest (virtio.sectors=...).

VIRTIO_BUILD       := $(BUILD)/virtio
VIRTIO_SECTORS     := 32768
VIRTIO_RO_SECTORS  := 2048
VIRTIO_BENCH_MIB   ?= 256
VIRTIO_IMAGES      := $(VIRTIO_BUILD)/kick.img $(VIRTIO_BUILD)/poll.img $(VIRTIO_BUILD)/ro.img
VIRTIO_AIO_FLOOR   := $(BENCH_BUILD)/aio_floor

define VIRTIO_PATTERN
	@mkdir -p $(dir $(1))
	@$(if $(Q),echo "  IMAGE   $(1)")
	$(Q)awk -v n=$(2) 'BEGIN { for (i = 0; i < n; i++) printf "%-511s\n", "vmm-virtio sector " i }' \
		> $(1).tmp && mv $(1).tmp $(1)
endef

# Rebuilt only when missing (or this file changes): the tests write only
# past the pattern area.
$(VIRTIO_BUILD)/kick.img $(VIRTIO_BUILD)/poll.img: tests/virtio/virtio.mk
	$(call VIRTIO_PATTERN,$@,$(VIRTIO_SECTORS))

$(VIRTIO_BUILD)/ro.img: tests/virtio/virtio.mk
	$(call VIRTIO_PATTERN,$@,$(VIRTIO_RO_SECTORS))
	$(Q)chmod a-w $@

# Random data (not a sparse file: holes read back without any I/O).
$(VIRTIO_BUILD)/bench.img:
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  IMAGE   $@ ($(VIRTIO_BENCH_MIB) MiB)")
	$(Q)head -c $(VIRTIO_BENCH_MIB)M /dev/urandom > $@.tmp && mv $@.tmp $@

$(VIRTIO_AIO_FLOOR): $(BUILD)/host/tests/bench/aio_floor.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ -laio

.PHONY: virtio-images check-virtio virtio-bench-tools virtio-bench
virtio-images: $(VIRTIO_IMAGES)

check-virtio: $(VMM_BIN) guest-tests
	$(Q)VMM=$(VMM_BIN) BUILD=$(BUILD) tests/virtio/crash-consistency.sh kick poll

virtio-bench-tools: $(VIRTIO_AIO_FLOOR) $(VIRTIO_BUILD)/bench.img

virtio-bench: $(VMM_BIN) guest-tests virtio-bench-tools
	$(Q)BUILD=$(BUILD) scripts/bench-virtio.sh
