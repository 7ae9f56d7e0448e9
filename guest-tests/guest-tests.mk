# Guest self-test images: every directory guest-tests/<name>/ with .c (and
# optionally .S) files becomes $(BUILD)/guest-tests/<name>.elf, linked with
# the firmware (firmware/firmware.mk must be included first). Each image has
# a config configs/<name>.toml.

# A test may add compile flags in guest-tests/<name>/build.mk:
#   GT_CFLAGS_<name> := -fstack-protector-all
GT_BUILD := $(BUILD)/guest-tests
-include $(wildcard guest-tests/*/build.mk)
GUEST_TESTS := $(sort $(patsubst guest-tests/%/,%,$(dir $(wildcard guest-tests/*/*.c))))
GUEST_TEST_ELFS := $(GUEST_TESTS:%=$(GT_BUILD)/%.elf)

.PHONY: guest-tests
guest-tests: $(GUEST_TEST_ELFS)

$(GT_BUILD)/%.c.o: guest-tests/%.c | $(FW_SYSINC)/.stamp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(FW_CFLAGS) $(GT_EXTRA_CFLAGS) -c $< -o $@

$(GT_BUILD)/%.S.o: guest-tests/%.S | $(FW_SYSINC)/.stamp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $<")
	$(Q)$(CC) $(FW_ASFLAGS) -c $< -o $@

define GT_IMAGE_RULE
GT_OBJS_$(1) := $$(patsubst guest-tests/%,$$(GT_BUILD)/%.o,$$(wildcard guest-tests/$(1)/*.c guest-tests/$(1)/*.S))
$$(GT_OBJS_$(1)): GT_EXTRA_CFLAGS = $$(GT_CFLAGS_$(1))
$$(GT_BUILD)/$(1).elf: $$(GT_OBJS_$(1)) $$(FW_DEPS)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(FW_LDFLAGS) -o $$@ $$(GT_OBJS_$(1)) $$(FW_LINK_LIBS)
endef
$(foreach t,$(GUEST_TESTS),$(eval $(call GT_IMAGE_RULE,$(t))))
