#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# virtio-blk benchmark (docs/PERFORMANCE.md, "virtio-blk"): the guest's
# 4 KiB random-read IOPS (queue depth 32 and 1) and 1 MiB sequential-read
# throughput (queue depth 4), in kick and in poll mode, next to the same
# pattern issued on the host by build/bench/aio_floor on the same file.
#
#   make virtio-bench                      (builds what it needs, runs this)
#   scripts/bench-virtio.sh                (after make all virtio-bench-tools)
#
# Runs are interleaved (floor, kick, poll) REPS times; medians are printed
# with each mode as a percentage of the floor. Goal: poll >= 80 % of the floor.
#
# Environment: BUILD (build), VIRTIO_BENCH_REPS (5), VIRTIO_BENCH_MS (2000,
# per pattern and run), VIRTIO_BENCH_QD (32), BENCH_QUICK=1 (1 rep of 300 ms:
# checks the harness only). Exit status 0 when the harness worked (goal met
# or not), 1 when it is broken.
set -u
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
VMM=$BUILD/vmm
FLOOR=$BUILD/bench/aio_floor
IMG=$BUILD/virtio/bench.img
REPS=${VIRTIO_BENCH_REPS:-5}
MS=${VIRTIO_BENCH_MS:-2000}
QD=${VIRTIO_BENCH_QD:-32}
if [ "${BENCH_QUICK:-0}" = 1 ]; then REPS=1 MS=300; fi
OUT=$BUILD/bench/virtio
CFG=tests/virtio

fail() { echo "bench-virtio: $*" >&2; exit 1; }
median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else if (NR) print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

for f in "$VMM" "$FLOOR" "$IMG" "$BUILD/guest-tests/virtio-bench.elf"; do
	[ -e "$f" ] || fail "$f is missing: run 'make all virtio-bench-tools' (or 'make virtio-bench')"
done
mkdir -p "$OUT"
: > "$OUT/samples.txt"

# The configs name their image and disk relative to themselves, in build/.
cfg_args=()
if [ "$BUILD" != build ]; then
	cfg_args=(--set "vm.image=$(realpath "$BUILD")/guest-tests/virtio-bench.elf"
		  --set "devices.disk.path=$(realpath "$IMG")")
fi

# "<who> <metric> <value>" lines into samples.txt from one run's output.
collect() {
	awk -v who="$1" '
		/(virtio-bench|aio-floor): .*(randread|seqread)/ {
			for (i = 1; i <= NF; i++) if ($i ~ /^(randread|seqread)/) { m = $i; q = $(i + 1) }
			sub(/:$/, "", q)
			for (i = 1; i <= NF; i++) if ($i == "IOPS" || $i == "MiB/s") v = $(i - 1)
			print who, m "-" q, v
		}' >> "$OUT/samples.txt"
}

echo "== virtio-blk benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs," \
	"kernel $(uname -r); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "file: $IMG ($(($(stat -c %s "$IMG") >> 20)) MiB), $REPS interleaved repetitions of $MS ms" \
	"per pattern, random-read queue depth $QD"
run_floor() {
	"$FLOOR" "$IMG" "$MS" "$QD" > "$OUT/floor-$1.log" 2>&1 ||
		fail "aio_floor failed: $(tail -n 3 "$OUT/floor-$1.log")"
	collect floor < "$OUT/floor-$1.log"
}

run_vmm() {
	local mode=$1 log=$OUT/$1-$2.log status
	timeout 300 "$VMM" run "$CFG/bench-$mode.toml" "${cfg_args[@]}" \
		--set "vm.cmdline=console=ttyS0 virtio.bench_ms=$MS virtio.bench_qd=$QD" > "$log" 2>&1
	status=$?
	[ "$status" -eq 1 ] || fail "vmm run $CFG/bench-$mode.toml: status $status: $(tail -n 5 "$log")"
	collect "$mode" < "$log"
}

# Warm-up: one direct read of the whole file, so no run pays for the
# first touch of the (virtual) disk beneath it.
dd if="$IMG" of=/dev/null bs=1M iflag=direct status=none 2>/dev/null ||
	cat "$IMG" > /dev/null
# Interleaved, the order rotating each repetition.
order=(floor kick poll)
for ((rep = 1; rep <= REPS; rep++)); do
	for ((k = 0; k < 3; k++)); do
		who=${order[$(((rep + k) % 3))]}
		if [ "$who" = floor ]; then run_floor "$rep"; else run_vmm "$who" "$rep"; fi
	done
done

echo
printf '%-22s %12s %12s %7s %12s %7s\n' "pattern" "host floor" "kick" "%" "poll" "%"
for metric in "randread-4k-qd=$QD" "randread-4k-qd=1" "seqread-1m-qd=4"; do
	unit=IOPS
	case $metric in seqread*) unit=MiB/s ;; esac
	floor=$(awk -v m="$metric" '$1 == "floor" && $2 == m { print $3 }' "$OUT/samples.txt" | median)
	kick=$(awk -v m="$metric" '$1 == "kick" && $2 == m { print $3 }' "$OUT/samples.txt" | median)
	poll=$(awk -v m="$metric" '$1 == "poll" && $2 == m { print $3 }' "$OUT/samples.txt" | median)
	pct() { awk -v a="$1" -v b="$floor" 'BEGIN { if (b > 0) printf "%.0f", 100 * a / b; else print "-" }'; }
	printf '%-22s %12s %12s %7s %12s %7s\n' "$metric ($unit)" "${floor:--}" "${kick:--}" \
		"$(pct "${kick:-0}")" "${poll:--}" "$(pct "${poll:-0}")"
done
echo "(medians; every sample in $OUT/samples.txt, logs in $OUT/)"
