# The VFIO host simulator (tests/vfio-sim/README.md): libvfiosim.so, which
# the unmodified vmm runs under with LD_PRELOAD, and the tests of the
# simulator's own kernel rules (make check-vfio-sim).
#
# The library links its own PIC copies of the project sources it is built
# on, with hidden visibility and -Bsymbolic: the vmm executable holds the
# same model symbols, and neither side may bind to the other's. Only the
# interposed libc entry points (and two vfio_sim_* test hooks) are exported.
# Project sources go in through an archive, so only what the backends use
# is linked (and -z defs proves nothing KVM-bound came along).

VFIO_SIM_BUILD := $(BUILD)/vfio-sim
VFIO_SIM_LIB   := $(VFIO_SIM_BUILD)/libvfiosim.so
VFIO_SIM_TEST  := $(VFIO_SIM_BUILD)/test-sim
VFIO_SIM_SRCS  := $(filter-out tests/vfio-sim/test_%.c,$(wildcard tests/vfio-sim/*.c))
VFIO_SIM_PROJECT_SRCS := vmm/log.c vmm/poll.c \
	$(filter-out vmm/config/config.c vmm/config/config_print.c,$(wildcard vmm/config/*.c)) \
	$(filter-out devices/dsa/dsa.c,$(wildcard devices/dsa/*.c)) \
	$(filter-out devices/dfl/card.c devices/dfl/describe.c,$(wildcard devices/dfl/*.c)) \
	$(filter-out devices/fslmc/device.c devices/fslmc/portal.c,$(wildcard devices/fslmc/*.c))
VFIO_SIM_OBJS  := $(VFIO_SIM_SRCS:%.c=$(VFIO_SIM_BUILD)/obj/%.o)
VFIO_SIM_PROJECT_OBJS := $(VFIO_SIM_PROJECT_SRCS:%.c=$(VFIO_SIM_BUILD)/obj/%.o)
VFIO_SIM_PROJECT_LIB  := $(VFIO_SIM_BUILD)/libproject.a
# Never sanitized: an LD_PRELOAD library cannot bring the ASan runtime along.
VFIO_SIM_CFLAGS := $(filter-out $(SAN_FLAGS),$(HOST_CFLAGS)) -fPIC -fvisibility=hidden

.PHONY: vfio-sim check-vfio-sim
all: vfio-sim
vfio-sim: $(VFIO_SIM_LIB) $(VFIO_SIM_TEST)

$(VFIO_SIM_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (vfio-sim)")
	$(Q)$(CC) $(VFIO_SIM_CFLAGS) -c $< -o $@

$(VFIO_SIM_PROJECT_LIB): $(VFIO_SIM_PROJECT_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(VFIO_SIM_LIB): $(VFIO_SIM_OBJS) $(VFIO_SIM_PROJECT_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-Bsymbolic -Wl,-z,defs -o $@ $(VFIO_SIM_OBJS) \
		$(VFIO_SIM_PROJECT_LIB) -ldl -lpthread

# The rule tests are an ordinary program; the library is preloaded when it runs.
$(VFIO_SIM_TEST): tests/vfio-sim/test_sim.c tests/vfio-sim/sim.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(filter-out $(SAN_FLAGS),$(HOST_CFLAGS)) -o $@ $< -lcheck -lsubunit -lm -lrt -lpthread

check-vfio-sim: $(VFIO_SIM_LIB) $(VFIO_SIM_TEST)
	$(Q)root=$$(mktemp -d /tmp/vmm-vfio-sim-check.XXXXXX) && \
	LD_PRELOAD=$(abspath $(VFIO_SIM_LIB)) VMM_VFIO_SIM_CONFIG=tests/vfio-sim/configs/rules.toml \
	VMM_VFIO_SIM_ROOT=$$root CK_FORK=yes $(VFIO_SIM_TEST); rc=$$?; rm -rf "$$root"; exit $$rc

# tests/cli/run-cli-tests runs VMMs under the simulator too (IOMMU group
# ownership between two VMMs, fd = N).
check-cli: $(VFIO_SIM_LIB)
