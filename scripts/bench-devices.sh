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
REPS=${BENCH_DEVICE_REPS:-3}
vmm=$BUILD/vmm
OUT=$BUILD/bench/results
mkdir -p "$OUT"
raw=$OUT/devices-raw.txt
: >"$raw"

configs=(fslmc-bench dsa-polled dsa-trapped dfl)
for _ in $(seq "$REPS"); do
	for c in "${configs[@]}"; do
		timeout 300 "$vmm" run "configs/$c.toml" >"$OUT/device-$c.log" 2>&1
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

mc_polled=$(median 'fslmc-bench polled: p50')
mc_trapped=$(median 'fslmc-bench trapped: p50')
dsa_noop_p=$(median 'mode=polled noop_per_s=')
dsa_noop_t=$(median 'mode=trapped noop_per_s=')
dsa_mm64_p=$(median 'mode=polled noop_per_s=[0-9]+ memmove64_per_s=')
dsa_mm64_t=$(median 'mode=trapped noop_per_s=[0-9]+ memmove64_per_s=')
dsa_lat_p=$(median 'mode=polled p50_submit_to_record_ns=')
dsa_lat_t=$(median 'mode=trapped p50_submit_to_record_ns=')
dsa_4k_p=$(median 'mode=polled memmove_4k_mib_s=[0-9]+ memmove_4k_pipelined_mib_s=')
dsa_4k_copy=$(median 'mode=polled memmove_4k_mib_s=[0-9]+ memmove_4k_pipelined_mib_s=[0-9]+ guest_memcpy_4k_mib_s=')
dsa_1m_p=$(median 'mode=polled memmove_1m_mib_s=')
dsa_1m_copy=$(median 'mode=polled memmove_1m_mib_s=[0-9]+ memmove_1m_halt_mib_s=[0-9]+ guest_memcpy_1m_mib_s=')
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
echo "== device goals"
echo "(f) fsl-mc polled p50 < 2 us (${mc_polled} ns): $(verdict "$mc_polled < 2000")"
echo "(f) fsl-mc polled >= 8x faster than trapped ($(calc "$mc_trapped / $mc_polled" 0)x): $(verdict "$mc_trapped >= 8 * $mc_polled")"
echo "(g) DSA polled noop >= 2 M/s ($dsa_noop_p/s): $(verdict "$dsa_noop_p >= 2000000")"
echo "(g) DSA polled >= 30x trapped rate ($(calc "$dsa_noop_p / $dsa_noop_t" 0)x): $(verdict "$dsa_noop_p >= 30 * $dsa_noop_t")"
echo "(g) DSA p50 submit -> completion < 2 us (${dsa_lat_p} ns): $(verdict "$dsa_lat_p < 2000")"
echo "(g) DSA 1 MiB memmove >= 70% of memcpy ($(calc "100 * $dsa_1m_p / $dsa_1m_copy" 0)%): $(verdict "$dsa_1m_p >= 0.7 * $dsa_1m_copy")"
echo "(h) DFL AFU 1 MiB copy >= 70% of memcpy (RAM doorbell ${dfl_ratio_poll}%): $(verdict "$dfl_ratio_poll >= 70")"
} | tee "$OUT/devices.txt"
