# Guest-test runner and benchmarks.

.PHONY: tools
tools:

check-guests: $(VMM_BIN) guest-tests virtio-images
	$(Q)scripts/run-guest-tests --vmm $(VMM_BIN) configs/*.toml

bench: all bench-tools virtio-bench-tools linux-guest
	$(Q)BUILD=$(BUILD) scripts/bench.sh
