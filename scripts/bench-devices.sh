#!/usr/bin/env bash
# Device submission-path benchmarks, measured inside the guest (CPL 3, rdtsc)
# by the device guest tests themselves: fsl-mc MC portal round trip, DSA
# descriptor rates/latency/bandwidth, DFL AFU copy bandwidth. Each config
# runs REPS times (interleaved) and the median of each number is reported
# with the issue's goal. Called by scripts/bench.sh; runnable alone:
#
#   BUILD=build scripts/bench-devices.sh
set -u
BUILD=${BUILD:-build}
REPS=${BENCH_DEVICE_REPS:-9}
vmm=$BUILD/vmm
OUT=$BUILD/bench/results
mkdir -p "$OUT"
raw=$OUT/devices-raw.txt
: >"$raw"

# The *-vfio configs pass the device through (docs/passthrough.md) from the
# VFIO host simulator (tests/vfio-sim/) named by their [test] simulator key;
# they run interleaved with the emulated ones, so ratios compare like with like.
vfio_sim=$BUILD/vfio-sim/libvfiosim.so
run_config() {
	local c=$1 simulator simroot status
	simulator=$("$vmm" check-config "configs/$c.toml" --get test.simulator 2>/dev/null) || simulator=""
	if [ -z "$simulator" ]; then
		timeout 300 "$vmm" run "configs/$c.toml"
		return
	fi
	simroot=$(mktemp -d "${TMPDIR:-/tmp}/vmm-vfio-sim-bench.XXXXXX")
	timeout 300 env LD_PRELOAD="$(realpath "$vfio_sim")" \
		VMM_VFIO_SIM_CONFIG="configs/$simulator" VMM_VFIO_SIM_ROOT="$simroot" \
		"$vmm" run "configs/$c.toml"
	status=$?
	rm -rf "$simroot"
	return $status
}

configs=(fslmc-bench fslmc-bench-vfio dsa-polled dsa-vfio dsa-trapped dfl)
for _ in $(seq "$REPS"); do
	for c in "${configs[@]}"; do
		run_config "$c" >"$OUT/device-$c.log" 2>&1
		status=$?
		# Status 1 is the guest's "all passed" (exit-port value 0).
		if [ "$status" -ne 1 ]; then
			echo "bench-devices: $c exited $status; see $OUT/device-$c.log" >&2
			exit 1
		fi
		grep -E '^# (fslmc-bench|perf dsa|dfl bench)' "$OUT/device-$c.log" | sed "s/^/$c /" >>"$raw"
	done
done

# median KEY_REGEX: the median over runs of the first number after KEY.
median() {
	grep -oE "$1[^0-9]*[0-9.]+" "$raw" | grep -oE '[0-9.]+$' | sort -g |
		awk '{v[NR]=$1} END {if (NR == 0) print "nan"; else print v[int((NR + 1) / 2)]}'
}
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
verdict() { awk "BEGIN { exit !($1) }" && echo "GOAL MET" || echo "GOAL MISSED"; }

mc_polled=$(median '^fslmc-bench # fslmc-bench polled: p50')
mc_polled_vfio=$(median '^fslmc-bench-vfio # fslmc-bench polled: p50')
mc_trapped_vfio=$(median '^fslmc-bench-vfio # fslmc-bench trapped: p50')
dsa_noop_vfio=$(median '^dsa-vfio # perf dsa mode=polled noop_per_s=')
dsa_mm64_vfio=$(median '^dsa-vfio # perf dsa mode=polled noop_per_s=[0-9]+ memmove64_per_s=')
dsa_lat_vfio=$(median '^dsa-vfio # perf dsa mode=polled p50_submit_to_record_ns=')
mc_trapped=$(median '^fslmc-bench # fslmc-bench trapped: p50')
dsa_noop_p=$(median '^dsa-polled # perf dsa mode=polled noop_per_s=')
dsa_noop_t=$(median 'mode=trapped noop_per_s=')
dsa_mm64_p=$(median '^dsa-polled # perf dsa mode=polled noop_per_s=[0-9]+ memmove64_per_s=')
dsa_mm64_t=$(median 'mode=trapped noop_per_s=[0-9]+ memmove64_per_s=')
dsa_lat_p=$(median '^dsa-polled # perf dsa mode=polled p50_submit_to_record_ns=')
dsa_lat_t=$(median 'mode=trapped p50_submit_to_record_ns=')
dsa_4k_p=$(median '^dsa-polled # perf dsa mode=polled memmove_4k_mib_s=[0-9]+ memmove_4k_pipelined_mib_s=')
dsa_4k_copy=$(median '^dsa-polled # perf dsa mode=polled memmove_4k_mib_s=[0-9]+ memmove_4k_pipelined_mib_s=[0-9]+ guest_memcpy_4k_mib_s=')
dsa_1m_p=$(median '^dsa-polled # perf dsa mode=polled memmove_1m_mib_s=')
dsa_1m_copy=$(median '^dsa-polled # perf dsa mode=polled memmove_1m_mib_s=[0-9]+ memmove_1m_halt_mib_s=[0-9]+ guest_memcpy_1m_mib_s=')
dfl_ratio_trap=$(median 'dfl bench: AFU copy 1 MiB, trapped .* AFU/memcpy')
dfl_ratio_poll=$(median 'dfl bench: AFU copy 1 MiB, polled \(tail word in RAM\) .* AFU/memcpy')
dfl_ratio_irq=$(median 'dfl bench: AFU copy 1 MiB, polled, completion by interrupt .* AFU/memcpy')
dfl_mmio=$(median 'dfl bench: MMIO register read at CPL 3 \(one exit\): median')

{
echo "== device submission paths (medians of $REPS runs, measured in the guest)"
printf '%-52s %14s %14s\n' "measurement" "polled" "trapped"
printf '%-52s %14s %14s\n' "fsl-mc command round trip p50 (ns)" "$mc_polled" "$mc_trapped"
printf '%-52s %14s %14s\n' "DSA noop descriptors/s (16 per fence)" "$dsa_noop_p" "$dsa_noop_t"
printf '%-52s %14s %14s\n' "DSA 64 B memmove descriptors/s" "$dsa_mm64_p" "$dsa_mm64_t"
printf '%-52s %14s %14s\n' "DSA p50 submit -> completion record (ns)" "$dsa_lat_p" "$dsa_lat_t"
printf '%-52s %14s %14s\n' "DSA 4 KiB memmove, pipelined (MiB/s)" "$dsa_4k_p" "-"
printf '%-52s %14s %14s\n' "  guest memcpy 4 KiB (MiB/s)" "$dsa_4k_copy" "-"
printf '%-52s %14s %14s\n' "DSA 1 MiB memmove (MiB/s)" "$dsa_1m_p" "-"
printf '%-52s %14s %14s\n' "  guest memcpy 1 MiB (MiB/s)" "$dsa_1m_copy" "-"
printf '%-52s %14s %14s\n' "DFL AFU 1 MiB copy / memcpy, RAM tail doorbell (%)" "$dfl_ratio_poll" "-"
printf '%-52s %14s %14s\n' "DFL AFU 1 MiB copy / memcpy, register doorbell (%)" "-" "$dfl_ratio_trap"
printf '%-52s %14s %14s\n' "DFL AFU 1 MiB copy / memcpy, interrupt completion (%)" "$dfl_ratio_irq" "-"
printf '%-52s %14s\n' "DFL MMIO register read at CPL 3, one exit (ns)" "$dfl_mmio"
echo
echo "== passthrough (VFIO host simulator) vs emulated, same runs"
printf '%-52s %14s %14s %8s\n' "measurement" "passthrough" "emulated" "ratio"
printf '%-52s %14s %14s %8s\n' "DSA noop descriptors/s, portal mmapped" "$dsa_noop_vfio" "$dsa_noop_p" "$(calc "$dsa_noop_vfio / $dsa_noop_p")"
printf '%-52s %14s %14s %8s\n' "DSA 64 B memmove descriptors/s, portal mmapped" "$dsa_mm64_vfio" "$dsa_mm64_p" "$(calc "$dsa_mm64_vfio / $dsa_mm64_p")"
printf '%-52s %14s %14s %8s\n' "DSA p50 submit -> completion record (ns)" "$dsa_lat_vfio" "$dsa_lat_p" "$(calc "$dsa_lat_vfio / $dsa_lat_p")"
printf '%-52s %14s %14s %8s\n' "MC round trip p50, polled guest portal (ns)" "$mc_polled_vfio" "$mc_polled" "$(calc "$mc_polled_vfio / $mc_polled")"
printf '%-52s %14s %14s %8s\n' "MC round trip p50, trapped guest portal (ns)" "$mc_trapped_vfio" "$mc_trapped" "$(calc "$mc_trapped_vfio / $mc_trapped")"
echo
echo "== device goals"
echo "(f) fsl-mc polled p50 < 2 us (${mc_polled} ns): $(verdict "$mc_polled < 2000")"
echo "(f) fsl-mc polled >= 8x faster than trapped ($(calc "$mc_trapped / $mc_polled" 0)x): $(verdict "$mc_trapped >= 8 * $mc_polled")"
echo "(g) DSA polled noop >= 2 M/s ($dsa_noop_p/s): $(verdict "$dsa_noop_p >= 2000000")"
echo "(g) DSA polled >= 30x trapped rate ($(calc "$dsa_noop_p / $dsa_noop_t" 0)x): $(verdict "$dsa_noop_p >= 30 * $dsa_noop_t")"
echo "(g) DSA p50 submit -> completion < 2 us (${dsa_lat_p} ns): $(verdict "$dsa_lat_p < 2000")"
echo "(g) DSA 1 MiB memmove >= 70% of memcpy ($(calc "100 * $dsa_1m_p / $dsa_1m_copy" 0)%): $(verdict "$dsa_1m_p >= 0.7 * $dsa_1m_copy")"
echo "(h) DFL AFU 1 MiB copy >= 70% of memcpy (RAM doorbell ${dfl_ratio_poll}%): $(verdict "$dfl_ratio_poll >= 70")"
echo "(7) DSA noop/s through passthrough within 10% of emulated ($(calc "100 * $dsa_noop_vfio / $dsa_noop_p" 0)%): $(verdict "$dsa_noop_vfio >= 0.9 * $dsa_noop_p")"
echo "(7) DSA 64 B memmove/s through passthrough within 10% of emulated ($(calc "100 * $dsa_mm64_vfio / $dsa_mm64_p" 0)%): $(verdict "$dsa_mm64_vfio >= 0.9 * $dsa_mm64_p")"
echo "(7) MC round trip through passthrough within 10% of emulated, polled ($(calc "100 * $mc_polled_vfio / $mc_polled" 0)%; the host DPRC portal cannot be mmapped, see PERFORMANCE.md): $(verdict "$mc_polled_vfio <= 1.1 * $mc_polled")"
} | tee "$OUT/devices.txt"
