#!/usr/bin/env bash
# The Linux guest test (docs/linux.md), TAP on stdout.
#
#   make check-linux     (builds the kernel, initrd, disk and gap image first)
#
# 1. The instruction-gap image (tests/linux/gaps.S) passes at CPL 0.
# 2. The generated DTB has what x86 Linux probes: /isa with the UART, the
#    virtio-mmio bus node, the IOAPIC and the PCI host.
# 3. vmlinux, then bzImage, boot with that DTB (setup_data SETUP_DTB), an
#    initrd and a virtio disk (configs/linux.toml), and the kernel log shows
#    what the kernel instantiated from the DTB: the IOAPIC, the 16550 at
#    0x3f8 (as "3f8.serial", the /isa child), virtio-blk with the disk's
#    size, the PCI functions; then "Run /init".
# 4. The run ends through the reset path: with hardware virtualization /init
#    prints /proc/device-tree and the disk and reboots; on nested hosts
#    without it, /init faults on its first system call (reference/
#    kvm-here.md), the kernel panics, panic=-1 resets. Either way the VMM
#    exits with status 0 (VMM_EXIT_RESET).
# 5. Hostile inputs: a file that is no kernel, an initrd that does not fit.
# 6. vmlinux again with a passed-through DSA (configs/linux-vfio.toml) under
#    the VFIO host simulator: the kernel's PCI enumeration finds it with its
#    ids and sizes its BARs from the virtualized config space, and the
#    kernel's idxd driver (CONFIG_INTEL_IDXD) probes it.
# 7. vmlinux with the emulated DSA (configs/linux-dsa.toml): enumerated, and
#    idxd probes it (reset, capabilities, tables, MSI-X) before /init.
#
# Environment: VMM (build/vmm), BUILD (build), LINUX_DISK_SECTORS (16384),
# LINUX_TEST_TIMEOUT (seconds per boot, 900).
set -u

vmm=${VMM:-build/vmm}
build=${BUILD:-build}
sectors=${LINUX_DISK_SECTORS:-16384}
boot_timeout=${LINUX_TEST_TIMEOUT:-900}
config=configs/linux.toml
# Absolute: --set paths are taken relative to the config file's directory.
linux=$(cd "$build/linux" 2>/dev/null && pwd) || { echo "run-linux-test: $build/linux missing (make linux-guest)" >&2; exit 2; }
out=$linux/test-output
mkdir -p "$out"

n=0 passed=0 failed=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; [ $# -gt 1 ] && echo "# $2"; }
check() { # check DESCRIPTION FILE PATTERN (grep -E)
	if grep -qaE -- "$3" "$2"; then ok "$1"; else not_ok "$1" "no line matching '$3' in $2"; fi
}

# Hardware-backed KVM runs guest CPL 0 natively; on this project's nested
# hosts /dev/kvm is a software KVM (kvm_pvm) and the CPU has no vmx/svm.
if grep -qwE 'vmx|svm' /proc/cpuinfo && [ ! -d /sys/module/kvm_pvm ]; then
	mode=hardware
else
	mode=nested
fi
echo "# KVM mode: $mode ($( [ "$mode" = hardware ] && echo "VT-x/AMD-V: guest CPL 0 native, /init runs" ||
	echo "no VT-x/AMD-V: guest CPL 0 emulated, user space cannot make system calls"))"
echo "1..27"

paths=(--set "vm.kernel=$linux/vmlinux" --set "vm.initrd=$linux/initrd.cpio"
	--set "devices.disk0.path=$linux/disk.img")

# 1: the gaps at CPL 0.
timeout 120 "$vmm" run tests/linux/gaps.toml --set "vm.image=$linux/gaps.elf" --set vm.log_level=debug \
	>"$out/gaps.log" 2>&1
status=$?
if [ "$status" -eq 1 ]; then
	ok "instruction gaps complete at CPL 0 ($(grep -ao 'completed instructions: .*' "$out/gaps.log" | cut -d: -f2-))"
else
	not_ok "instruction gaps complete at CPL 0" "status $status (exit value $(((status - 1) / 2)) is the failed check in tests/linux/gaps.S); log $out/gaps.log"
fi

# 2: the DTB.
if "$vmm" dtb "$config" "${paths[@]}" -o "$out/linux.dtb" 2>"$out/dtb.log" &&
	dtc -I dtb -O dts -o "$out/linux.dts" "$out/linux.dtb" 2>>"$out/dtb.log"; then
	missing=""
	for node in "isa {" "serial@i3f8 {" "platform {" "virtio@fe000000 {" \
		"ioapic@fec00000 {" "pci@e0000000 {" 'compatible = "isa";' \
		"intel,ce4100-cp" 'compatible = "intel,ce4100-ioapic";'; do
		grep -qF -- "$node" "$out/linux.dts" || missing="$missing '$node'"
	done
	if [ -z "$missing" ]; then ok "DTB has /isa/serial, /platform/virtio, the IOAPIC and PCI"
	else not_ok "DTB has /isa/serial, /platform/virtio, the IOAPIC and PCI" "missing:$missing"; fi
else
	not_ok "DTB has /isa/serial, /platform/virtio, the IOAPIC and PCI" "vmm dtb or dtc failed: $out/dtb.log"
fi

# 3-16: boot each image; the same checks on both logs.
boot() { # boot NAME KERNEL
	local name=$1 log=$out/$1.log status start end
	start=$(date +%s)
	timeout --signal=TERM --kill-after=10 "$boot_timeout" "$vmm" run "$config" "${paths[@]}" \
		--set "vm.kernel=$2" >"$log" 2>&1
	status=$?
	end=$(date +%s)
	echo "# $name: exit status $status after $((end - start)) s; log $log"
	if [ "$status" -eq 0 ] && grep -qaF "guest reset through the keyboard controller" "$log"; then
		ok "$name: ends through the guest's reset, VMM exit status 0"
	else
		not_ok "$name: ends through the guest's reset, VMM exit status 0" "status $status"
	fi
	check "$name: IOAPIC from the DTB" "$log" 'IOAPIC\[0\]: apic_id [0-9]+, version [0-9]+, address 0xfec00000'
	check "$name: 16550 at 0x3f8 instantiated from /isa" "$log" '3f8\.serial: ttyS0 at I/O 0x3f8'
	check "$name: virtio-blk from /platform with the disk's size" "$log" \
		"virtio_blk virtio0: \[vda\] $sectors 512-byte logical blocks"
	check "$name: PCI host bridge and pci-testdev enumerated" "$log" 'pci 0000:00:01\.0: \[[0-9a-f]{4}:[0-9a-f]{4}\]'
	check "$name: Run /init" "$log" 'Run /init as init process'
	if [ "$mode" = hardware ]; then
		check "$name: /init lists /proc/device-tree and reads the disk" "$log" \
			'vmm-linux-init: disk says: vmm-linux-disk sector 0'
	else
		check "$name: /init faults on its first system call, panic=-1 resets" "$log" \
			'Kernel panic - not syncing: Attempted to kill init'
	fi
	grep -ao 'completed instructions: .*' "$log" | sed "s/^/# $name: /"
}
boot vmlinux "$linux/vmlinux"
boot bzImage "$linux/bzImage"

# 17-20: hostile inputs get a clear error (VMM status 2), never a crash.
hostile() { # hostile DESCRIPTION EXPECTED-TEXT ARGS...
	local what=$1 want=$2 log=$out/hostile-$((n + 1)).log status
	shift 2
	timeout 60 "$vmm" run "$config" "${paths[@]}" "$@" >"$log" 2>&1
	status=$?
	if [ "$status" -eq 2 ] && grep -qaF -- "$want" "$log"; then ok "$what"
	else not_ok "$what" "status $status; wanted '$want' in $log"; fi
}
hostile "a disk image as the kernel: not a Linux kernel" "not a Linux kernel" \
	--set "vm.kernel=$linux/disk.img"
head -c 4096 "$linux/bzImage" > "$out/old-protocol.img"
printf '\001\002' | dd of="$out/old-protocol.img" bs=1 seek=$((0x206)) conv=notrunc status=none
hostile "a bzImage with boot protocol 2.01: too old" "boot protocol 2.01 is too old" \
	--set "vm.kernel=$out/old-protocol.img"
head -c $((48 << 20)) /dev/zero > "$out/big-initrd.img"
hostile "a 48 MiB initrd in 64 MiB of RAM: does not fit" "does not fit" \
	--set "vm.initrd=$out/big-initrd.img" --set vm.memory=64M
rm -f "$out/big-initrd.img"
printf '[vm]\nimage = "gaps.elf"\ninitrd = "initrd.cpio"\n' > "$out/initrd-only.toml"
if "$vmm" check-config "$out/initrd-only.toml" >"$out/initrd-only.log" 2>&1; then
	not_ok "an initrd without a kernel is a config error" "check-config accepted it"
else
	check "an initrd without a kernel is a config error" "$out/initrd-only.log" "'initrd' needs 'kernel'"
fi

# 21-24: a passed-through function seen by a real kernel's PCI core and
# probed by its idxd driver.
vfio_sim=$build/vfio-sim/libvfiosim.so
if [ -f "$vfio_sim" ]; then
	log=$out/vfio.log
	simroot=$(mktemp -d "${TMPDIR:-/tmp}/vmm-vfio-sim-linux.XXXXXX")
	timeout --signal=TERM --kill-after=10 "$boot_timeout" env LD_PRELOAD="$(realpath "$vfio_sim")" \
		VMM_VFIO_SIM_CONFIG=tests/vfio-sim/configs/dsa.toml VMM_VFIO_SIM_ROOT="$simroot" \
		"$vmm" run configs/linux-vfio.toml --set "vm.kernel=$linux/vmlinux" \
		--set "vm.initrd=$linux/initrd.cpio" >"$log" 2>&1
	status=$?
	rm -rf "$simroot"
	if [ "$status" -eq 0 ] && grep -qaF 'Run /init as init process' "$log"; then
		ok "vfio: vmlinux with a passed-through DSA reaches /init and resets"
	else
		not_ok "vfio: vmlinux with a passed-through DSA reaches /init and resets" "status $status; log $log"
	fi
	check "vfio: Linux enumerates the passed-through DSA (8086:0b25, class 0x088000)" "$log" \
		'pci 0000:00:0[0-9a-f]\.0: \[8086:0b25\] type 00 class 0x088000'
	if grep -qaE 'BAR 0 \[mem 0xc[0-9a-f]{7}-0xc[0-9a-f]{3}ffff 64bit' "$log" &&
		grep -qaE 'BAR 2 \[mem 0xc[0-9a-f]{7}-0xc[0-9a-f]{3}3fff 64bit' "$log"; then
		ok "vfio: BAR0 (64 KiB) and BAR2 (16 KiB) sized in the PCI window from the virtual config space"
	else
		not_ok "vfio: BAR0 (64 KiB) and BAR2 (16 KiB) sized in the PCI window from the virtual config space" \
			"no matching BAR lines in $log"
	fi
	check "vfio: the kernel's idxd driver probes the passed-through DSA" "$log" \
		'idxd 0000:00:0[0-9a-f]\.0: Intel\(R\) Accelerator Device \(v100\)'
else
	for what in "reaches /init" "enumerated" "BARs sized" "idxd probes"; do
		not_ok "vfio: $what" "$vfio_sim missing (run make)"
	done
fi

# 25-27: the emulated DSA (devices/dsa/) probed by the kernel's idxd driver.
log=$out/dsa.log
timeout --signal=TERM --kill-after=10 "$boot_timeout" "$vmm" run configs/linux-dsa.toml \
	--set "vm.kernel=$linux/vmlinux" --set "vm.initrd=$linux/initrd.cpio" >"$log" 2>&1
status=$?
if [ "$status" -eq 0 ] && grep -qaF 'Run /init as init process' "$log"; then
	ok "dsa: vmlinux with an emulated DSA reaches /init and resets"
else
	not_ok "dsa: vmlinux with an emulated DSA reaches /init and resets" "status $status; log $log"
fi
check "dsa: Linux enumerates the emulated DSA (8086:0b25, class 0x088000)" "$log" \
	'pci 0000:00:0[0-9a-f]\.0: \[8086:0b25\] type 00 class 0x088000'
check "dsa: the kernel's idxd driver probes the emulated DSA" "$log" \
	'idxd 0000:00:0[0-9a-f]\.0: Intel\(R\) Accelerator Device \(v100\)'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
