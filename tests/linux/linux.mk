# Linux guests (docs/linux.md): the kernel built from Debian's
# linux-source-6.1 (scripts/build-linux.sh, cached outside the work tree),
# its initrd and disk, the instruction-gap image, and the test and benchmark
# that boot them. Everything lands in $(BUILD)/linux/.
#
#   make linux-guest   kernel (vmlinux, bzImage: links into the cache),
#                      initrd.cpio (/init from guest-tests/linux/initrd/),
#                      disk.img, gaps.elf
#   make check-linux   tests/linux/run-linux-test.sh (also part of `make check`)
#   make bench-linux   scripts/bench-linux.sh: exec -> "Run /init", gaps by kind
#
# The first kernel build takes ~7 minutes on 2 cores; later runs hit the
# cache (keyed by the config fragment's hash) in about a second.

LINUX_BUILD        := $(BUILD)/linux
LINUX_DISK_SECTORS := 16384
LINUX_INIT         := $(LINUX_BUILD)/initrd/init
LINUX_INITRD       := $(LINUX_BUILD)/initrd.cpio
LINUX_DISK         := $(LINUX_BUILD)/disk.img
LINUX_GAPS         := $(LINUX_BUILD)/gaps.elf
LINUX_INIT_CFLAGS  := -std=gnu11 -O2 $(WARNINGS) -static -nostdlib -ffreestanding \
	-fno-stack-protector -fno-pie -no-pie -Wl,--build-id=none

.PHONY: linux-kernel linux-guest check-linux bench-linux

# Always asks the build script: a cache hit is a hash and two symlinks.
linux-kernel:
	@mkdir -p $(LINUX_BUILD)
	$(Q)dir=$$(scripts/build-linux.sh) && \
		ln -sfn "$$dir/vmlinux" $(LINUX_BUILD)/vmlinux && \
		ln -sfn "$$dir/bzImage" $(LINUX_BUILD)/bzImage && \
		ln -sfn "$$dir/System.map" $(LINUX_BUILD)/System.map

$(LINUX_INIT): guest-tests/linux/initrd/init.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(LINUX_INIT_CFLAGS) $< -o $@

# newc cpio with /init and the mount points it uses.
$(LINUX_INITRD): $(LINUX_INIT)
	@$(if $(Q),echo "  CPIO    $@")
	$(Q)mkdir -p $(LINUX_BUILD)/initrd/proc $(LINUX_BUILD)/initrd/dev && \
		(cd $(LINUX_BUILD)/initrd && find . | LC_ALL=C sort | \
		cpio --quiet -o -H newc -R 0:0) > $@.tmp && mv $@.tmp $@

# Sector i holds "vmm-linux-disk sector i" padded to 511 bytes, then '\n'.
$(LINUX_DISK): tests/linux/linux.mk
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  IMAGE   $@")
	$(Q)awk -v n=$(LINUX_DISK_SECTORS) \
		'BEGIN { for (i = 0; i < n; i++) printf "%-511s\n", "vmm-linux-disk sector " i }' \
		> $@.tmp && mv $@.tmp $@

$(LINUX_GAPS): tests/linux/gaps.S
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $@")
	$(Q)$(CC) -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-Ttext=0x200000 $< -o $@

linux-guest: linux-kernel $(LINUX_INITRD) $(LINUX_DISK) $(LINUX_GAPS)

check-linux: $(VMM_BIN) linux-guest $(BUILD)/vfio-sim/libvfiosim.so
	$(Q)VMM=$(VMM_BIN) BUILD=$(BUILD) LINUX_DISK_SECTORS=$(LINUX_DISK_SECTORS) \
		tests/linux/run-linux-test.sh

bench-linux: $(VMM_BIN) linux-guest
	$(Q)VMM=$(VMM_BIN) BUILD=$(BUILD) scripts/bench-linux.sh
