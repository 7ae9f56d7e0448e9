#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Linux boot benchmark (docs/PERFORMANCE.md, "Linux guest"): time from exec
# of `vmm run configs/linux.toml` to the kernel's "Run /init" console line,
# to the VMM's exit (panic=-1 reset here, /init's reboot with hardware
# virtualization), and the instruction gaps the VMM completed, by kind.
#
#   make bench-linux                 (builds kernel, initrd, disk first)
#   scripts/bench-linux.sh           (after `make vmm linux-guest`)
#
# Environment: VMM (build/vmm), BUILD (build), BENCH_LINUX_REPS (3 runs per
# kernel; medians), BENCH_LINUX_KERNELS ("vmlinux bzImage").
# Goal: exec -> "Run /init" under 120 s on this project's nested hosts.
set -u

vmm=${VMM:-build/vmm}
build=${BUILD:-build}
reps=${BENCH_LINUX_REPS:-3}
kernels=${BENCH_LINUX_KERNELS:-vmlinux bzImage}
goal_ms=120000
linux=$(cd "$build/linux" 2>/dev/null && pwd) ||
	{ echo "bench-linux: $build/linux missing (make linux-guest)" >&2; exit 2; }
out=$linux/bench-output
mkdir -p "$out"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# One boot: prints "<ms to Run /init> <ms to exit>"; the console goes to $2.
run_once() {
	local kernel=$1 log=$2 start t_init=0 line
	: >"$log"
	start=$(now_ms)
	while IFS= read -r line; do
		printf '%s\n' "$line" >>"$log"
		if [ "$t_init" -eq 0 ] && [[ $line == *"Run /init as init process"* ]]; then
			t_init=$(( $(now_ms) - start ))
		fi
	done < <(timeout --kill-after=10 900 "$vmm" run configs/linux.toml \
		--set "vm.kernel=$linux/$kernel" --set "vm.initrd=$linux/initrd.cpio" \
		--set "devices.disk0.path=$linux/disk.img" 2>&1)
	echo "$t_init $(( $(now_ms) - start ))"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

broken=0
printf '%-8s %5s %16s %14s %16s  %s\n' kernel runs "exec->Run /init" "exec->exit" "kernel's stamp" \
	"completed instructions (last run)"
for kernel in $kernels; do
	inits=() exits=()
	for i in $(seq 1 "$reps"); do
		log=$out/$kernel-$i.log
		read -r t_init t_exit < <(run_once "$kernel" "$log")
		if [ "$t_init" -eq 0 ] || ! grep -qF "guest reset through the keyboard controller" "$log"; then
			echo "bench-linux: $kernel run $i did not reach Run /init and reset (log $log)" >&2
			broken=1
			continue
		fi
		inits+=("$t_init")
		exits+=("$t_exit")
	done
	[ ${#inits[@]} -eq 0 ] && continue
	m_init=$(printf '%s\n' "${inits[@]}" | median)
	m_exit=$(printf '%s\n' "${exits[@]}" | median)
	stamp=$(grep -aoE '^\[ *[0-9.]+\] Run /init' "$log" | tail -n1 | grep -oE '[0-9]+\.[0-9]+')
	counts=$(grep -ao 'completed instructions: .*' "$log" | tail -n1 | cut -d' ' -f3-)
	printf '%-8s %5s %14.1f s %12.1f s %14s s  %s\n' "$kernel" "${#inits[@]}" \
		"$(echo "$m_init / 1000" | bc -l)" "$(echo "$m_exit / 1000" | bc -l)" "${stamp:-?}" "$counts"
	if [ "$m_init" -lt "$goal_ms" ]; then
		echo "  goal exec -> Run /init < 120 s: met ($kernel)"
	else
		echo "  GOAL MISSED: exec -> Run /init < 120 s ($kernel: $m_init ms)"
	fi
done
exit "$broken"
