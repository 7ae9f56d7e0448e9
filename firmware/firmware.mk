# Firmware of the self-test images: $(BUILD)/firmware/libfirmware.a plus the
# linker script firmware/image.ld. Included by the top-level Makefile.
#
# Variables for guest-tests/guest-tests.mk (and anyone linking an image):
#   FW_CFLAGS    compile flags for image code (freestanding, strict warnings)
#   FW_ASFLAGS   flags for .S files
#   FW_LDFLAGS   link flags (linker script, no libc)
#   FW_LIB       $(BUILD)/firmware/libfirmware.a
#   FW_LINK_LIBS what to link after the objects (firmware, libfdt, libgcc)
#   FW_DEPS      prerequisites of every image object/link (headers dir, lib)

FW_BUILD    := $(BUILD)/firmware
FW_LIB      := $(FW_BUILD)/libfirmware.a
FW_LDSCRIPT := firmware/image.ld

# Debian's libfdt (package libfdt-dev), linked as is: its objects are built
# with -fstack-protector-strong, which the firmware supports (%fs:0x28).
FDT_INCDIR  ?= /usr/include
FDT_STATIC  ?= /usr/lib/x86_64-linux-gnu/libfdt.a

# No host headers: gcc's own (stddef, stdint, stdarg, stdbool, cpuid.h ...),
# firmware/include (string.h, stdlib.h, stdio.h, limits.h, fw/...), and a
# directory holding only libfdt's three headers.
FW_GCC_INCDIR := $(shell $(CC) -print-file-name=include)
FW_LIBGCC     := $(shell $(CC) -print-libgcc-file-name)
FW_SYSINC     := $(FW_BUILD)/sysinclude
FW_FDT_HDRS   := libfdt.h libfdt_env.h fdt.h

FW_COMMON_FLAGS := -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	-fno-stack-protector -mcmodel=small -fno-asynchronous-unwind-tables \
	-fno-tree-loop-distribute-patterns -fcf-protection=none \
	-ffunction-sections -fdata-sections \
	-nostdinc -isystem $(FW_GCC_INCDIR) -Ifirmware/include -Iinclude -isystem $(FW_SYSINC) \
	-MMD -MP

# Guest tests may use SSE (CR4.OSFXSR is set at entry); the firmware itself
# touches only general registers so it never depends on FPU state.
FW_CFLAGS  := $(FW_COMMON_FLAGS) $(WARNINGS)
FW_ASFLAGS := $(FW_COMMON_FLAGS) -D__ASSEMBLER__
FW_LIB_CFLAGS := $(FW_CFLAGS) -mgeneral-regs-only

FW_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(FW_LDSCRIPT) -Wl,--gc-sections \
	-Wl,--build-id=none -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack \
	-Wl,-u,_start -Wl,-u,__stack_chk_fail
FW_LINK_LIBS := -Wl,--start-group $(FW_LIB) $(FDT_STATIC) -Wl,--end-group $(FW_LIBGCC)

FW_SRCS := $(wildcard firmware/*.c firmware/*.S)
FW_OBJS := $(patsubst firmware/%,$(FW_BUILD)/%.o,$(FW_SRCS))

FW_DEPS := $(FW_LIB) $(FW_LDSCRIPT) $(FDT_STATIC)

.PHONY: firmware
firmware: $(FW_LIB)

$(FW_SYSINC)/.stamp: $(addprefix $(FDT_INCDIR)/,$(FW_FDT_HDRS))
	@mkdir -p $(dir $@)
	$(Q)for h in $(FW_FDT_HDRS); do ln -sf $(abspath $(FDT_INCDIR))/$$h $(FW_SYSINC)/$$h; done
	$(Q)touch $@

$(FW_BUILD)/%.c.o: firmware/%.c | $(FW_SYSINC)/.stamp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(FW_LIB_CFLAGS) -c $< -o $@

$(FW_BUILD)/%.S.o: firmware/%.S | $(FW_SYSINC)/.stamp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $<")
	$(Q)$(CC) $(FW_ASFLAGS) -c $< -o $@

$(FW_LIB): $(FW_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^
