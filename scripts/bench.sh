#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmarks of docs/PERFORMANCE.md: run everything, print a results table.
#
#   make bench                       (builds everything, then runs this)
#   scripts/bench.sh                 (after `make all bench-tools`)
#
# What is measured (vmm and baseline runs interleaved in one session,
# medians; details and how to read them in docs/PERFORMANCE.md):
#   (a) exec -> first guest instruction (first.elf, by the guest's TSC) and
#       exec -> exit (probe.elf, hello.elf): vmm vs build/bench/kvm_floor
#   (b) cost per port-I/O exit to a registered device (pio-*.elf), vmm vs
#       kvm_floor at CPL 0 and CPL 3: (t(N) - t(0)) / N of whole-process
#       wall times, cross-checked by the guest's own TSC timing of the writes
#   (c) peak RSS of the VMM beyond guest RAM (`vm.log_level=debug` usage line)
#   (d) hello under QEMU (-M pc, -M microvm) vs `vmm run configs/hello.toml`
#   (e) interrupt injection latency, host raise -> guest CPL 0 handler, by
#       TSC stamps on both sides (guest-tests/irq-bench through the VMM's
#       pci-testdev timer, event thread and irqfd) vs build/bench/irq_floor
#       (a host thread writing an irqfd); guest halted and spinning at CPL 3;
#       and the interrupts/s one vector sustains (periodic host timer)
#
# Environment: BUILD (default build), BENCH_REPS (30), BENCH_PIO_REPS (30),
# BENCH_QEMU_REPS (20, microvm), BENCH_QEMU_PC_REPS (10), BENCH_CPU (CPU the
# PIO runs are pinned to: a number, "none", or "auto" (default): the CPU
# that was idlest over one second before the PIO runs),
# BENCH_IRQ_CPU (CPU the (e) runs are pinned to, vCPU and raising thread
# alike: a number, "none", or "auto" (default): the idlest CPU, as for PIO),
# BENCH_IRQ_REPS (10 rounds of vmm + floor for (e)), BENCH_IRQ_SAMPLES (100
# latency samples per wait style and run), BENCH_IRQ_PERIODS (200,100,50:
# host timer periods, us, of the rate sweep: 200 ms each),
# BENCH_QUICK=1 (3 repetitions of everything: checks the harness only).
#
# Exit status: 0 when the harness worked (whether or not goals are met),
# 1 when it is broken (a tool missing, a vmm or floor run failing).
set -u
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
VMM=$BUILD/vmm
B=$BUILD/bench
OUT=$B/results
REPS=${BENCH_REPS:-30}
PIO_REPS=${BENCH_PIO_REPS:-30}
QEMU_REPS=${BENCH_QEMU_REPS:-20}
QEMU_PC_REPS=${BENCH_QEMU_PC_REPS:-10}
IRQ_REPS=${BENCH_IRQ_REPS:-10}
IRQ_CPU=${BENCH_IRQ_CPU:-auto}
IRQ_SAMPLES=${BENCH_IRQ_SAMPLES:-100}
IRQ_PERIODS=${BENCH_IRQ_PERIODS:-200,100,50}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	REPS=3 PIO_REPS=3 QEMU_REPS=3 QEMU_PC_REPS=2 IRQ_REPS=3
fi
NCPU=$(nproc)
CPU=${BENCH_CPU:-auto}
QEMU=${QEMU:-qemu-system-x86_64}
HELLO_CFG=configs/hello.toml
CFG=tests/bench/configs

fail() { echo "bench: $*" >&2; exit 1; }
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
# Value of KEY on the summary line of job NAME.
val() {
	awk -v n="$1" -v k="$2" '$1 == n { for (i = 2; i <= NF; i++) {
		split($i, a, "="); if (a[1] == k) print a[2] } }' "$OUT/summary.txt" | tail -n 1
}
# "64M", "2MiB", "1G", 67108864 -> MiB
to_mib() {
	awk -v s="$1" 'BEGIN {
		n = s + 0; if (n <= 0) exit 1
		u = toupper(substr(s, length(n "") + 1)); sub(/I?B$/, "", u)
		if (u == "") m = 1 / 1048576; else if (u == "K") m = 1 / 1024
		else if (u == "M") m = 1; else if (u == "G") m = 1024; else exit 1
		printf "%d", n * m }'
}
median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else if (NR) print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- harness checks -------------------------------------------------------
for f in "$VMM" "$B/kvm_floor" "$B/bench_run" "$B/irq_floor"; do
	[ -x "$f" ] || fail "$f is missing: run 'make all bench-tools' (or 'make bench')"
done
for f in first probe pio-0-cpl0 pio-n-cpl0 pio-0-cpl3 pio-n-cpl3 irq; do
	[ -f "$B/$f.elf" ] || fail "$B/$f.elf is missing: run 'make bench-tools'"
done
[ -f "$BUILD/guest-tests/irq-bench.elf" ] ||
	fail "$BUILD/guest-tests/irq-bench.elf is missing: run 'make guest-tests'"
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then fail "/dev/kvm is not usable by $(id -un)"; fi
mkdir -p "$OUT"
: > "$OUT/summary.txt"
: > "$OUT/raw.txt"

# Bench configs name their images relative to themselves, in build/bench/
# (or build/guest-tests/); with another BUILD, run copies that name
# $BUILD/... instead.
if [ "$BUILD" != build ]; then
	mkdir -p "$B/configs"
	for f in "$CFG"/*.toml; do
		sed "s|^image = \"\.\./\.\./\.\./build/|image = \"$(realpath "$BUILD")/|" "$f" \
			> "$B/configs/${f##*/}"
	done
	CFG=$B/configs
fi

echo "== vmm benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $NCPU CPUs," \
	"kernel $(uname -r), THP $(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "repetitions: startup $REPS, PIO $PIO_REPS, QEMU microvm $QEMU_REPS, QEMU pc $QEMU_PC_REPS," \
	"interrupts $IRQ_REPS x $IRQ_SAMPLES samples" \
	"(interleaved, medians; raw samples in $OUT/raw.txt)"
echo

# DTBs for the floor: exactly what `vmm run` would give the guest.
"$VMM" dtb "$CFG/first.toml" -o "$B/startup.dtb" || fail "vmm dtb $CFG/first.toml failed"
"$VMM" dtb "$CFG/pio-n-cpl0.toml" -o "$B/pio.dtb" || fail "vmm dtb $CFG/pio-n-cpl0.toml failed"
MEM_MIB=$(to_mib "$("$VMM" check-config "$CFG/first.toml" --get vm.memory)") ||
	fail "cannot read vm.memory of $CFG/first.toml"

# hello: needs its config, its image, one vCPU (the floor runs one).
HELLO=1 HELLO_WHY=
if [ ! -f "$HELLO_CFG" ]; then
	HELLO=0 HELLO_WHY="$HELLO_CFG is missing"
else
	hello_img=$("$VMM" check-config "$HELLO_CFG" --get vm.image) ||
		fail "vmm check-config $HELLO_CFG failed"
	case "$hello_img" in /*) ;; *) hello_img=$(dirname "$HELLO_CFG")/$hello_img ;; esac
	HELLO_MEM=$(to_mib "$("$VMM" check-config "$HELLO_CFG" --get vm.memory)")
	if [ ! -f "$hello_img" ]; then
		HELLO=0 HELLO_WHY="$hello_img is missing (make guest-tests)"
	elif [ "$("$VMM" check-config "$HELLO_CFG" --get vm.vcpus)" != 1 ]; then
		HELLO=0 HELLO_WHY="$HELLO_CFG has more than one vCPU; kvm_floor runs one"
	else
		"$VMM" dtb "$HELLO_CFG" -o "$B/hello.dtb" || fail "vmm dtb $HELLO_CFG failed"
	fi
fi

# --- smoke runs: every command once, output checked ------------------------
smoke() { # NAME EXPECTED_STATUS CMD...
	local name=$1 expect=$2 status
	shift 2
	"$@" > "$OUT/$name.out" 2> "$OUT/$name.err" < /dev/null
	status=$?
	if [ "$status" != "$expect" ]; then
		echo "bench: smoke run '$name' exited $status, expected $expect: $*" >&2
		sed 's/^/    /' "$OUT/$name.err" | tail -n 20 >&2
		return 1
	fi
}
FLOOR_START=("$B/kvm_floor" --memory "$MEM_MIB" --dtb "$B/startup.dtb")
smoke vmm_probe 1 "$VMM" run "$CFG/probe.toml" || exit 1
smoke floor_probe 1 "${FLOOR_START[@]}" "$B/probe.elf" || exit 1
for cpl in 0 3; do
	for n in 0 n; do
		smoke "vmm_pio_${n}_cpl$cpl" 1 "$VMM" run "$CFG/pio-$n-cpl$cpl.toml" || exit 1
		smoke "floor_pio_${n}_cpl$cpl" 1 "$B/kvm_floor" --memory "$MEM_MIB" \
			--dtb "$B/pio.dtb" "$B/pio-$n-cpl$cpl.elf" || exit 1
	done
done
if [ "$HELLO" = 1 ]; then
	smoke vmm_hello 1 "$VMM" run "$HELLO_CFG" || exit 1
	smoke floor_hello 1 "$B/kvm_floor" --memory "$HELLO_MEM" --dtb "$B/hello.dtb" \
		"$hello_img" || exit 1
	cmp -s "$OUT/vmm_hello.out" "$OUT/floor_hello.out" ||
		fail "kvm_floor's hello console output differs from vmm's" \
			"(diff $OUT/vmm_hello.out $OUT/floor_hello.out): the floor is not doing the same"
fi

# (e): the same sample count, delay, periods and window for both sides.
IRQ_DELAY_US=500 IRQ_WINDOW_MS=200
IRQ_MEM=$(to_mib "$("$VMM" check-config "$CFG/irq-bench.toml" --get vm.memory)") ||
	fail "cannot read vm.memory of $CFG/irq-bench.toml"
IRQ_VMM=("$VMM" run "$CFG/irq-bench.toml" --set "vm.cmdline=console=ttyS0 irqbench.samples=$IRQ_SAMPLES irqbench.delay_us=$IRQ_DELAY_US irqbench.periods=$IRQ_PERIODS irqbench.window_ms=$IRQ_WINDOW_MS")
IRQ_FLOOR=("$B/irq_floor" --memory "$IRQ_MEM" --samples "$IRQ_SAMPLES" --delay-us "$IRQ_DELAY_US"
	--periods "$IRQ_PERIODS" --window-ms "$IRQ_WINDOW_MS" "$B/irq.elf")
smoke irq_vmm 1 "${IRQ_VMM[@]}" || exit 1
smoke irq_floor 1 "${IRQ_FLOOR[@]}" || exit 1
for f in irq_vmm irq_floor; do
	grep -q 'irqbench: latency spin: n=[1-9]' "$OUT/$f.out" ||
		fail "$f printed no spin latency samples (see $OUT/$f.out)"
done

# --- (a) startup ------------------------------------------------------------
echo "-- (a) startup: $REPS interleaved rounds"
jobs=(--job vmm_first --expect 1 --tsc-stamp "$VMM" run "$CFG/first.toml"
	--job floor_first --expect 1 --tsc-stamp "${FLOOR_START[@]}" "$B/first.elf"
	--job vmm_probe --expect 1 "$VMM" run "$CFG/probe.toml"
	--job floor_probe --expect 1 "${FLOOR_START[@]}" "$B/probe.elf"
	--job true /bin/true)
if [ "$HELLO" = 1 ]; then
	jobs+=(--job vmm_hello --expect 1 "$VMM" run "$HELLO_CFG"
		--job floor_hello --expect 1 "$B/kvm_floor" --memory "$HELLO_MEM" \
			--dtb "$B/hello.dtb" "$hello_img")
fi
"$B/bench_run" -n "$REPS" -w 2 -t 60 -r "$OUT/raw.txt" "${jobs[@]}" | tee -a "$OUT/summary.txt"
[ "${PIPESTATUS[0]}" = 0 ] || fail "startup runs failed"

# Where the floor's setup time goes (kernel work the VMM does too), main()
# to the return of the first KVM_RUN, probe image.
TRACE_RUNS=$((REPS < 15 ? REPS : 15))
: > "$OUT/trace.txt"
for _ in $(seq "$TRACE_RUNS"); do
	"${FLOOR_START[@]}" --trace "$B/probe.elf" 2>&1 >/dev/null </dev/null |
		grep '^kvm_floor: trace:' >> "$OUT/trace.txt"
done
[ -s "$OUT/trace.txt" ] || fail "kvm_floor --trace printed no trace line"
echo "kvm_floor setup steps, probe, median of $TRACE_RUNS runs (us):"
TRACE_SUM=0
for step in $(head -n 1 "$OUT/trace.txt" | tr ' ' '\n' | sed -n 's/_us=.*//p'); do
	us=$(tr ' ' '\n' < "$OUT/trace.txt" | awk -F= -v k="${step}_us" '$1 == k { print $2 }' | median)
	printf '    %-12s %8.1f\n' "$step" "$us"
	TRACE_SUM=$(calc "$TRACE_SUM + $us" 1)
done
printf '    %-12s %8.1f  (main() to the first exit, sum of medians)\n' \
	total "$TRACE_SUM"

# --- (b) PIO exits ----------------------------------------------------------
# N of each CPL's image: the absolute symbol pio_outs.
pio_n() {
	local n
	n=$(nm "$B/pio-n-cpl$1.elf" | awk '$3 == "pio_outs" { print $1 }')
	if [ -z "$n" ] || [ $((n = 16#$n)) -le 0 ]; then
		fail "cannot read the symbol pio_outs from $B/pio-n-cpl$1.elf"
	fi
	echo "$n"
}
declare -A PIO_N=() PIO_VMM=() PIO_FLOOR=() PIO_GVMM=() PIO_GFLOOR=()
PIO_N[0]=$(pio_n 0) || exit 1
PIO_N[3]=$(pio_n 3) || exit 1
# The CPU with the most idle + iowait time over one second (shared machines:
# pinning to a CPU another tenant keeps busy would halve our share).
idlest_cpu() {
	local before
	before=$(awk '/^cpu[0-9]/ { print $1, $5 + $6 }' /proc/stat)
	sleep 1
	awk '/^cpu[0-9]/ { print $1, $5 + $6 }' /proc/stat | paste -d' ' <(echo "$before") - |
		awk '{ d = $4 - $2; if (best == "" || d > bestd) { best = substr($1, 4); bestd = d } }
			END { print best }'
}
[ "$CPU" = auto ] && CPU=$(idlest_cpu)
pin=()
[ "$CPU" = none ] || pin=(-c "$CPU")
for cpl in 0 3; do
	echo "-- (b) PIO exits at CPL $cpl: N = ${PIO_N[$cpl]}, $PIO_REPS interleaved rounds${pin:+, pinned to CPU $CPU}"
	"$B/bench_run" -n "$PIO_REPS" -w 1 -t 120 "${pin[@]}" -r "$OUT/raw.txt" \
		--job "vmm_pio_n_cpl$cpl" --expect 1 --tsc-span "$VMM" run "$CFG/pio-n-cpl$cpl.toml" \
		--job "vmm_pio_0_cpl$cpl" --expect 1 --tsc-span "$VMM" run "$CFG/pio-0-cpl$cpl.toml" \
		--job "floor_pio_n_cpl$cpl" --expect 1 --tsc-span "$B/kvm_floor" --memory "$MEM_MIB" \
			--dtb "$B/pio.dtb" "$B/pio-n-cpl$cpl.elf" \
		--job "floor_pio_0_cpl$cpl" --expect 1 --tsc-span "$B/kvm_floor" --memory "$MEM_MIB" \
			--dtb "$B/pio.dtb" "$B/pio-0-cpl$cpl.elf" | tee -a "$OUT/summary.txt"
	[ "${PIPESTATUS[0]}" = 0 ] || fail "PIO runs failed"
done

# --- (c) memory ---------------------------------------------------------------
RSS_RUNS=$((REPS < 9 ? REPS : 9))
if [ "$HELLO" = 1 ]; then
	RSS_WHAT=hello
	RSS_VMM=("$VMM" run "$HELLO_CFG" --set vm.log_level=debug)
	RSS_FLOOR=("$B/kvm_floor" --usage --memory "$HELLO_MEM" --dtb "$B/hello.dtb" "$hello_img")
else
	RSS_WHAT=probe
	RSS_VMM=("$VMM" run "$CFG/probe.toml" --set vm.log_level=debug)
	RSS_FLOOR=("${FLOOR_START[@]}" --usage "$B/probe.elf")
fi
echo "-- (c) memory: $RSS_RUNS runs each of $RSS_WHAT with the usage line"
: > "$OUT/usage.txt"
for _ in $(seq "$RSS_RUNS"); do
	"${RSS_VMM[@]}" 2>&1 >/dev/null </dev/null | grep 'usage: peak_rss_kib' >> "$OUT/usage.txt"
	"${RSS_FLOOR[@]}" 2>&1 >/dev/null </dev/null | grep 'usage: peak_rss_kib' >> "$OUT/usage.txt"
done
usage_med() { # PREFIX KEY
	grep "^$1: usage" "$OUT/usage.txt" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }' | median
}
VMM_PEAK=$(usage_med vmm peak_rss_kib) VMM_GUEST=$(usage_med vmm guest_resident_kib)
VMM_OWN=$(usage_med vmm vmm_kib)
FLOOR_PEAK=$(usage_med kvm_floor peak_rss_kib) FLOOR_GUEST=$(usage_med kvm_floor guest_resident_kib)
FLOOR_OWN=$(usage_med kvm_floor floor_kib)
[ -n "$VMM_OWN" ] || fail "no 'vmm: usage:' line from: ${RSS_VMM[*]}"
[ -n "$FLOOR_OWN" ] || fail "no 'kvm_floor: usage:' line from: ${RSS_FLOOR[*]}"
echo "vmm   peak_rss_kib=$VMM_PEAK guest_resident_kib=$VMM_GUEST beyond_guest_kib=$VMM_OWN"
echo "floor peak_rss_kib=$FLOOR_PEAK guest_resident_kib=$FLOOR_GUEST beyond_guest_kib=$FLOOR_OWN"

# --- (d) QEMU -----------------------------------------------------------------
declare -A QEMU_WHY=()
# shellcheck disable=SC2054 # the commas belong to QEMU options
QEMU_BASE=(-accel kvm -cpu qemu64 -nographic -no-reboot -m "${HELLO_MEM:-64}M"
	-device isa-debug-exit,iobase=0xf4,iosize=0x04)
declare -A QEMU_MACHINE=([pc]="-M pc -net none" [microvm]="-M microvm")
QEMU_PATH=$(command -v "$QEMU" 2>/dev/null)
for m in pc microvm; do
	if [ "$HELLO" != 1 ]; then
		QEMU_WHY[$m]="no hello image: $HELLO_WHY"
	elif [ -z "$QEMU_PATH" ]; then
		QEMU_WHY[$m]="$QEMU not installed"
	elif ! readelf -n "$hello_img" 2>/dev/null | grep -q 'Xen.*0x00000004'; then
		QEMU_WHY[$m]="$hello_img has no PVH (Xen ELF) note, so QEMU -kernel cannot boot it"
	else
		# shellcheck disable=SC2086
		timeout 120 "$QEMU_PATH" "${QEMU_BASE[@]}" ${QEMU_MACHINE[$m]} -kernel "$hello_img" \
			> "$OUT/qemu_$m.out" 2> "$OUT/qemu_$m.err" < /dev/null
		status=$?
		if [ "$status" != 1 ] || ! grep -q '^ok 1 - hello' "$OUT/qemu_$m.out"; then
			QEMU_WHY[$m]="QEMU -M $m did not boot hello (status $status, expected 1 and 'ok 1 - hello'; see $OUT/qemu_$m.*)"
		fi
	fi
	if [ -n "${QEMU_WHY[$m]:-}" ]; then
		echo "-- (d) QEMU -M $m: unavailable: ${QEMU_WHY[$m]}"
		continue
	fi
	reps=$QEMU_REPS
	[ "$m" = pc ] && reps=$QEMU_PC_REPS
	echo "-- (d) QEMU -M $m vs vmm, hello: $reps interleaved rounds"
	# shellcheck disable=SC2086
	"$B/bench_run" -n "$reps" -w 1 -t 120 -r "$OUT/raw.txt" \
		--job "vmm_hello_vs_$m" --expect 1 "$VMM" run "$HELLO_CFG" \
		--job "qemu_$m" --expect 1 "$QEMU_PATH" "${QEMU_BASE[@]}" ${QEMU_MACHINE[$m]} \
			-kernel "$hello_img" | tee -a "$OUT/summary.txt"
	[ "${PIPESTATUS[0]}" = 0 ] || QEMU_WHY[$m]="QEMU -M $m failed during the timed runs"
done
# --- (e) interrupts -----------------------------------------------------------
# Rounds of one vmm run and one floor run, in alternating order; round 0 is
# a warm-up and is discarded. Every run's "irqbench:" lines go, tagged with
# the round, to irq_vmm.txt / irq_floor.txt.
IRQ_START=$SECONDS
[ "$IRQ_CPU" = auto ] && IRQ_CPU=$(idlest_cpu)
irq_pin=()
if [ "$IRQ_CPU" != none ]; then
	command -v taskset > /dev/null || fail "(e) needs taskset to pin to CPU $IRQ_CPU (or BENCH_IRQ_CPU=none)"
	irq_pin=(taskset -c "$IRQ_CPU")
fi
echo "-- (e) interrupts: $IRQ_REPS interleaved rounds of $IRQ_SAMPLES samples per wait style," \
	"host timer periods $IRQ_PERIODS us for the rate${irq_pin:+, pinned to CPU $IRQ_CPU}"
: > "$OUT/irq_vmm.txt"
: > "$OUT/irq_floor.txt"
irq_run() { # vmm|floor ROUND
	local who=$1 round=$2 status
	local -a cmd=("${irq_pin[@]}" "${IRQ_VMM[@]}")
	[ "$who" = floor ] && cmd=("${irq_pin[@]}" "${IRQ_FLOOR[@]}")
	"${cmd[@]}" > "$OUT/irq_$who.out" 2> "$OUT/irq_$who.err" < /dev/null
	status=$?
	if [ "$status" != 1 ]; then
		sed 's/^/    /' "$OUT/irq_$who.err" | tail -n 20 >&2
		fail "(e) $who run, round $round, exited $status, expected 1: ${cmd[*]}"
	fi
	[ "$round" = 0 ] ||
		sed -n "s/^\(# \)\{0,1\}irqbench: /round=$round /p" "$OUT/irq_$who.out" >> "$OUT/irq_$who.txt"
}
for round in $(seq 0 "$IRQ_REPS"); do
	if [ $((round % 2)) = 0 ]; then
		irq_run vmm "$round"; irq_run floor "$round"
	else
		irq_run floor "$round"; irq_run vmm "$round"
	fi
done
# Every valid sample of WHO's MODE (TSC ticks), one per line.
irq_samples() {
	grep "^round=[0-9]* samples $2:" "$OUT/irq_$1.txt" | cut -d: -f2 | tr ' ' '\n' | grep -v '^$'
}
# Nearest-rank percentile P of the numbers on stdin.
percentile() {
	sort -n | awk -v p="$1" '{ v[NR] = $1 } END { if (NR) { i = int((NR * p + 99) / 100); print v[i < 1 ? 1 : i] } }'
}
# Values of KEY on WHO's "LINE_PREFIX" lines (e.g. "latency spin:"), one per run.
irq_field() {
	grep "^round=[0-9]* $2" "$OUT/irq_$1.txt" | tr ' ' '\n' | awk -F= -v k="$3" '$1 == k { print $2 }'
}
IRQ_TSC_HZ=$(irq_field vmm tsc_hz= tsc_hz | median)
IRQ_FLOOR_TSC_HZ=$(irq_field floor tsc_hz= tsc_hz | median)
[ -n "$IRQ_TSC_HZ" ] || fail "(e) no tsc_hz line from the vmm runs (see $OUT/irq_vmm.txt)"
IRQ_TSC_HZ=$(calc "$IRQ_TSC_HZ" 0) IRQ_FLOOR_TSC_HZ=$(calc "${IRQ_FLOOR_TSC_HZ:-0}" 0)
us_of() { calc "$1 * 1000000 / $IRQ_TSC_HZ" 2; }
declare -A IRQ_MED=() IRQ_P99=() IRQ_RUNMED=() IRQ_N=() IRQ_RACED=() IRQ_BAD=()
for who in vmm floor; do
	for mode in halt spin; do
		k=$who.$mode
		IRQ_N[$k]=$(irq_samples "$who" "$mode" | wc -l)
		[ "${IRQ_N[$k]}" -gt 0 ] || fail "(e) no valid $mode samples from $who (see $OUT/irq_$who.txt)"
		IRQ_MED[$k]=$(irq_samples "$who" "$mode" | median)
		IRQ_P99[$k]=$(irq_samples "$who" "$mode" | percentile 99)
		IRQ_RUNMED[$k]=$(irq_field "$who" "latency $mode:" median_cycles | median)
		IRQ_RACED[$k]=$(irq_field "$who" "latency $mode:" raced | awk '{ s += $1 } END { print s + 0 }')
		IRQ_BAD[$k]=$(irq_field "$who" "latency $mode:" tsc_bad | awk '{ s += $1 } END { print s + 0 }')
	done
done
echo "(e) took $((SECONDS - IRQ_START)) s; TSC rate: $IRQ_TSC_HZ Hz (guest, kvmclock)," \
	"the floor measured $IRQ_FLOOR_TSC_HZ Hz against CLOCK_MONOTONIC_RAW"
echo "latency, host raise stamp -> guest handler stamp (us; pooled samples of all rounds):"
printf '    %-22s %8s %8s %8s %8s  %s\n' "" median p99 p1 "runs' median" "samples (raced, tsc_bad)"
for mode in halt spin; do
	for who in vmm floor; do
		k=$who.$mode
		printf '    %-22s %8s %8s %8s %8s      %s (%s, %s)\n' "$who, $mode" "$(us_of "${IRQ_MED[$k]}")" \
			"$(us_of "${IRQ_P99[$k]}")" "$(us_of "$(irq_samples "$who" "$mode" | percentile 1)")" \
			"$(us_of "${IRQ_RUNMED[$k]}")" "${IRQ_N[$k]}" "${IRQ_RACED[$k]}" "${IRQ_BAD[$k]}"
	done
done
# Rate: per period, the median over rounds of delivered/s and raised/s.
declare -A IRQ_RATE=() IRQ_RAISED=()
echo "interrupts/s, one vector, periodic host timer (medians over rounds; delivered / raised):"
for who in vmm floor; do
	line="    $(printf '%-6s' "$who")"
	for period in ${IRQ_PERIODS//,/ }; do
		IRQ_RATE[$who.$period]=$(irq_field "$who" "rate: period_us=$period " per_s | median)
		IRQ_RAISED[$who.$period]=$(irq_field "$who" "rate: period_us=$period " raised_per_s | median)
		line+=$(printf '  %5s us: %6.0f / %6.0f' "$period" "${IRQ_RATE[$who.$period]:-0}" \
			"${IRQ_RAISED[$who.$period]:-0}")
	done
	echo "$line"
done
# The rate one vector sustains: the best period's median delivered/s.
declare -A IRQ_BEST=() IRQ_BEST_P=()
for who in vmm floor; do
	IRQ_BEST[$who]=0 IRQ_BEST_P[$who]=-
	for period in ${IRQ_PERIODS//,/ }; do
		if [ "$(calc "(${IRQ_RATE[$who.$period]:-0} > ${IRQ_BEST[$who]})" 0)" = 1 ]; then
			IRQ_BEST[$who]=${IRQ_RATE[$who.$period]} IRQ_BEST_P[$who]=$period
		fi
	done
done

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- results ------------------------------------------------------------------
ms() { calc "$(val "$1" "${2:-median_us}") / 1000" 2; }
verdict() { if [ "$(calc "$1" 0)" = 1 ]; then echo "GOAL MET"; else echo "GOAL MISSED"; fi; }
row() { printf '%-44s %12s %12s %8s  %s\n' "$@"; }

{
echo
echo "== results (medians; ratio = vmm / baseline)"
row "measurement" "vmm" "baseline" "ratio" "baseline"
row "--------------------------------------------" "------------" "------------" "--------" "--------"
FIRST_OK=0
if [ "$(val vmm_first tsc_runs)" != "" ] && [ "$(val floor_first tsc_runs)" != "" ]; then
	FIRST_OK=1
	row "(a) exec -> first guest instruction (TSC)" "$(ms vmm_first tsc_median_us) ms" \
		"$(ms floor_first tsc_median_us) ms" \
		"$(calc "$(val vmm_first tsc_median_us) / $(val floor_first tsc_median_us)" 2)" kvm_floor
else
	row "(a) exec -> first guest instruction (TSC)" "n/a" "n/a" "n/a" "guest TSC not comparable"
fi
row "(a) exec -> exit, probe (bounds 1st instr.)" "$(ms vmm_probe) ms" "$(ms floor_probe) ms" \
	"$(calc "$(val vmm_probe median_us) / $(val floor_probe median_us)" 2)" kvm_floor
if [ "$HELLO" = 1 ]; then
	row "(a) exec -> exit, hello" "$(ms vmm_hello) ms" "$(ms floor_hello) ms" \
		"$(calc "$(val vmm_hello median_us) / $(val floor_hello median_us)" 2)" kvm_floor
else
	row "(a) exec -> exit, hello" "n/a" "n/a" "n/a" "$HELLO_WHY"
fi
row "    fork + exec + exit of /bin/true" "" "$(ms true) ms" "" "(machine reference)"
for cpl in 0 3; do
	n=${PIO_N[$cpl]}
	v=$(calc "($(val "vmm_pio_n_cpl$cpl" median_us) - $(val "vmm_pio_0_cpl$cpl" median_us)) / $n" 2)
	f=$(calc "($(val "floor_pio_n_cpl$cpl" median_us) - $(val "floor_pio_0_cpl$cpl" median_us)) / $n" 2)
	PIO_VMM[$cpl]=$v PIO_FLOOR[$cpl]=$f
	row "(b) per PIO exit, CPL $cpl, (t(N)-t(0))/N" "$v us" "$f us" "$(calc "$v / $f" 3)" kvm_floor
	v=$(calc "($(val "vmm_pio_n_cpl$cpl" tsc_median_us) - $(val "vmm_pio_0_cpl$cpl" tsc_median_us)) / $n" 2)
	f=$(calc "($(val "floor_pio_n_cpl$cpl" tsc_median_us) - $(val "floor_pio_0_cpl$cpl" tsc_median_us)) / $n" 2)
	PIO_GVMM[$cpl]=$v PIO_GFLOOR[$cpl]=$f
	row "(b) per PIO exit, CPL $cpl, guest TSC" "$v us" "$f us" "$(calc "$v / $f" 3)" kvm_floor
done
row "(c) peak RSS beyond guest RAM, $RSS_WHAT" "$VMM_OWN KiB" "$FLOOR_OWN KiB" \
	"$(calc "$VMM_OWN / $FLOOR_OWN" 2)" kvm_floor
row "    peak RSS (incl. guest RAM touched)" "$VMM_PEAK KiB" "$FLOOR_PEAK KiB" "" kvm_floor
for m in pc microvm; do
	if [ -n "${QEMU_WHY[$m]:-}" ]; then
		row "(d) hello, exec -> exit vs QEMU -M $m" "n/a" "n/a" "n/a" "unavailable"
	else
		row "(d) hello, exec -> exit vs QEMU -M $m" "$(ms "vmm_hello_vs_$m") ms" \
			"$(ms "qemu_$m") ms" \
			"$(calc "$(val "vmm_hello_vs_$m" median_us) / $(val "qemu_$m" median_us)" 3)" "QEMU $m"
	fi
done
for mode in halt spin; do
	[ "$mode" = halt ] && what="halted (HLT)" || what="spinning at CPL 3"
	row "(e) irq latency, $what, median" "$(us_of "${IRQ_MED[vmm.$mode]}") us" \
		"$(us_of "${IRQ_MED[floor.$mode]}") us" \
		"$(calc "${IRQ_MED[vmm.$mode]} / ${IRQ_MED[floor.$mode]}" 3)" irq_floor
	row "(e) irq latency, $what, p99" "$(us_of "${IRQ_P99[vmm.$mode]}") us" \
		"$(us_of "${IRQ_P99[floor.$mode]}") us" \
		"$(calc "${IRQ_P99[vmm.$mode]} / ${IRQ_P99[floor.$mode]}" 2)" irq_floor
done
row "(e) interrupts/s, one vector (best period)" \
	"$(calc "${IRQ_BEST[vmm]}" 0)/s" "$(calc "${IRQ_BEST[floor]}" 0)/s" \
	"$(calc "${IRQ_BEST[vmm]} / (${IRQ_BEST[floor]} > 0 ? ${IRQ_BEST[floor]} : 1)" 2)" \
	"irq_floor (P=${IRQ_BEST_P[vmm]}/${IRQ_BEST_P[floor]} us)"

echo
echo "== goals"
if [ "$FIRST_OK" = 1 ]; then
	first_us=$(val vmm_first tsc_median_us) first_ratio=$(calc "$(val vmm_first tsc_median_us) / $(val floor_first tsc_median_us)")
	first_how="guest TSC"
else
	first_us=$(val vmm_probe median_us) first_ratio=$(calc "$(val vmm_probe median_us) / $(val floor_probe median_us)")
	first_how="probe exit bound"
fi
echo "(a) first instruction < 5 ms ($first_how: $(calc "$first_us / 1000" 2) ms): $(verdict "$first_us < 5000")"
echo "(a) first instruction < 1.5x floor ($first_how: $(calc "$first_ratio" 2)x): $(verdict "$first_ratio < 1.5")"
if [ "$HELLO" = 1 ]; then
	r=$(calc "$(val vmm_hello median_us) / $(val floor_hello median_us)")
	echo "(a) hello exec -> exit < 1.5x floor ($(calc "$r" 2)x): $(verdict "$r < 1.5")"
else
	echo "(a) hello exec -> exit < 1.5x floor: NOT MEASURED ($HELLO_WHY)"
fi
for cpl in 0 3; do
	v=${PIO_VMM[$cpl]} f=${PIO_FLOOR[$cpl]} gv=${PIO_GVMM[$cpl]} gf=${PIO_GFLOOR[$cpl]}
	wall=$(verdict "$v <= 1.10 * $f") guest=$(verdict "$gv <= 1.10 * $gf")
	echo "(b) PIO exit cost at CPL $cpl within 10% of floor ($(calc "$v / $f" 3)x): $wall" \
		"(guest TSC cross-check: $(calc "$gv / $gf" 3)x$([ "$wall" = "$guest" ] || echo ", DISAGREES"))"
done
echo "(c) peak RSS beyond guest RAM < 4 MiB ($VMM_OWN KiB): $(verdict "$VMM_OWN < 4096")"
for mode in halt spin; do
	[ "$mode" = halt ] && what="guest halted" || what="guest spinning at CPL 3"
	r=$(calc "${IRQ_MED[vmm.$mode]} / ${IRQ_MED[floor.$mode]}" 3)
	rr=$(calc "${IRQ_RUNMED[vmm.$mode]} / ${IRQ_RUNMED[floor.$mode]}" 3)
	pooled=$(verdict "$r <= 1.20") cross=$(verdict "$rr <= 1.20")
	echo "(e) interrupt latency within 20% of irqfd floor, $what (${r}x): $pooled" \
		"(median of the runs' medians: ${rr}x$([ "$pooled" = "$cross" ] || echo ", DISAGREES"))"
done
} | tee "$OUT/table.txt"

# Device submission paths (fsl-mc, DSA, DFL), measured by their guest tests.
echo
BUILD=$BUILD "$(dirname "$0")/bench-devices.sh" || exit 1
# virtio-blk from the guest, kick vs poll, next to a host libaio floor.
echo
BUILD=$BUILD "$(dirname "$0")/bench-virtio.sh" || exit 1
# Linux: exec -> "Run /init" and instruction gaps completed, by kind.
echo
VMM=$BUILD/vmm BUILD=$BUILD "$(dirname "$0")/bench-linux.sh" || exit 1
exit 0
