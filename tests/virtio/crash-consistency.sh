#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Crash consistency of virtio-blk: an acknowledged flush means on disk.
#
#   tests/virtio/crash-consistency.sh [MODE...]     MODE: kick (default), poll
#
# For each mode: make a fresh image, boot tests/virtio/crash.toml with
# crash.phase=write (the guest writes 4 KiB blocks in order, 16 in flight,
# flushes each group and prints "virtio-crash: durable N"), wait for a few
# of those lines, kill the VMM with SIGKILL in the middle of later writes,
# then boot again with crash.phase=verify crash.blocks=N: every block the
# last printed line covers must read back intact. Prints TAP. Works in a
# fresh directory under $BUILD/virtio/ (removed unless a mode failed).
#
# Environment: VMM (build/vmm), BUILD (build), CRASH_MIB (image size, 64),
# CRASH_GROUPS (durable lines to wait for before the kill, 4).
set -u
cd "$(dirname "$0")/../.." || exit 2

VMM=${VMM:-build/vmm}
BUILD=${BUILD:-build}
CONFIG=tests/virtio/crash.toml
MIB=${CRASH_MIB:-64}
GROUPS_BEFORE_KILL=${CRASH_GROUPS:-4}
modes=("$@")
[ ${#modes[@]} -eq 0 ] && modes=(kick)

[ -x "$VMM" ] || { echo "crash-consistency: $VMM missing (run make)" >&2; exit 2; }
[ -f "$BUILD/guest-tests/virtio-crash.elf" ] || {
	echo "crash-consistency: $BUILD/guest-tests/virtio-crash.elf missing (make guest-tests)" >&2
	exit 2
}
# A directory of this run's own: several checkouts' `make check` may share
# a build tree. Kept when a mode fails, for its logs.
mkdir -p "$BUILD/virtio"
OUT=$(mktemp -d "$BUILD/virtio/crash.XXXXXX") || exit 2
IMG=$OUT/crash.img
cfg_args=(--set "vm.image=$(realpath "$BUILD")/guest-tests/virtio-crash.elf"
	  --set "devices.disk.path=$(realpath "$IMG")")

last_durable() { grep -aos 'virtio-crash: durable [0-9]*' "$1" | tail -n1 | awk '{ print $3 }'; }

# One mode: prints one TAP line; returns 0 on success.
run_mode() {
	local n=$1 mode=$2 seed log1=$OUT/$2-write.log log2=$OUT/$2-verify.log pid blocks i
	seed=$(( (RANDOM << 15 | RANDOM) + 1 ))
	rm -f "$IMG"
	truncate -s "${MIB}M" "$IMG" || { echo "not ok $n - $mode # cannot create $IMG"; return 1; }

	"$VMM" run "$CONFIG" "${cfg_args[@]}" --set "devices.disk.notify=$mode" \
		--set "vm.cmdline=console=ttyS0 crash.phase=write crash.seed=$seed" >"$log1" 2>&1 &
	pid=$!
	for ((i = 0; i < 600; i++)); do   # up to 30 s, or until phase 1 ends by itself
		blocks=$(last_durable "$log1")
		[ -n "$blocks" ] && [ "$blocks" -ge $((GROUPS_BEFORE_KILL * 16)) ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	# A little later: more groups are in flight, some written, some flushed.
	sleep 0.0$((RANDOM % 10))
	local alive=0
	kill -0 "$pid" 2>/dev/null && alive=1
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	local status=$?
	blocks=$(last_durable "$log1")
	if [ "$alive" -eq 0 ] || [ -z "$blocks" ]; then
		echo "not ok $n - $mode # phase 1 $([ "$alive" -eq 0 ] && echo "ended by itself (status $status)" ||
			echo "never reported a durable block")"
		tail -n 15 "$log1" | sed 's/^/#   /'
		return 1
	fi
	"$VMM" run "$CONFIG" "${cfg_args[@]}" --set "devices.disk.notify=$mode" \
		--set "vm.cmdline=console=ttyS0 crash.phase=verify crash.seed=$seed crash.blocks=$blocks" \
		>"$log2" 2>&1
	status=$?
	if [ "$status" -ne 1 ] || ! grep -q '^ok 1 - crash_consistency' "$log2"; then
		echo "not ok $n - $mode # verify phase: status $status"
		tail -n 15 "$log2" | sed 's/^/#   /'
		return 1
	fi
	echo "ok $n - $mode # killed after $blocks flushed blocks ($(grep -ac 'durable' "$log1") flushes); all intact"
}

echo "1..${#modes[@]}"
failed=0 n=0
for mode in "${modes[@]}"; do
	n=$((n + 1))
	run_mode "$n" "$mode" || failed=$((failed + 1))
done
if [ "$failed" -eq 0 ]; then
	rm -rf "$OUT"
	exit 0
fi
echo "# logs and image kept in $OUT"
exit 1
