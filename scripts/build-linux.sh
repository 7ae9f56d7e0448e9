#!/usr/bin/env bash
# Build the guest kernel from Debian's linux-source-6.1 with the config
# fragment kept in the repo, cached outside the work tree.
#
#   scripts/build-linux.sh [FRAGMENT]
#
# FRAGMENT defaults to scripts/linux/guest.config; it is applied on top of
# `make allnoconfig` (KCONFIG_ALLCONFIG), so everything it does not name is
# off. The result lands in $VMM_LINUX_CACHE/<key>/ (default
# /var/cache/vmm-linux, or ~/.cache/vmm-linux when that is not writable):
#   vmlinux   uncompressed ELF (what configs/linux*.toml boot)
#   bzImage   the same kernel with the bzImage boot protocol
#   config    the full .config;  build-seconds: how long the build took
# <key> is the SHA-256 of the fragment, the source package version and this
# script's layout version: changing any of them builds afresh, anything else
# is a cache hit (seconds). The cache directory is printed on stdout.
#
# Needs linux-source-6.1 and the kernel build tools (scripts/install-deps.sh
# installs them).
set -euo pipefail

LAYOUT_VERSION=1
here=$(cd "$(dirname "$0")" && pwd)
fragment=$here/linux/guest.config
[ $# -gt 0 ] && fragment=$(realpath "$1")
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}

die() { echo "build-linux: $*" >&2; exit 1; }
log() { echo "build-linux: $*" >&2; }

[ -r "$fragment" ] || die "$fragment: no such config fragment"
[ -r "$tarball" ] || die "$tarball missing: install linux-source-6.1 (scripts/install-deps.sh)"
for tool in make gcc flex bison bc lz4; do
	command -v "$tool" >/dev/null || die "'$tool' missing (scripts/install-deps.sh)"
done
[ -e /usr/include/libelf.h ] || die "libelf-dev missing (scripts/install-deps.sh)"

cache_root=${VMM_LINUX_CACHE:-/var/cache/vmm-linux}
if ! mkdir -p "$cache_root" 2>/dev/null || [ ! -w "$cache_root" ]; then
	cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/vmm-linux
	mkdir -p "$cache_root"
fi

source_version=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null ||
	stat -c '%s-%Y' "$tarball")
key=$( { cat "$fragment"; echo "source=$source_version layout=$LAYOUT_VERSION"; } |
	sha256sum | cut -c1-16)
out=$cache_root/$key

if [ -s "$out/vmlinux" ] && [ -s "$out/bzImage" ]; then
	log "cached: $out"
	echo "$out"
	exit 0
fi

exec 9>"$cache_root/.lock"
flock 9
if [ -s "$out/vmlinux" ] && [ -s "$out/bzImage" ]; then # built while we waited
	echo "$out"
	exit 0
fi

src=$cache_root/src/$source_version
if [ ! -e "$src/.extracted" ]; then
	log "extracting $tarball into $src"
	rm -rf "$src"
	mkdir -p "$src"
	tar -xf "$tarball" -C "$src" --strip-components=1
	touch "$src/.extracted"
fi

start=$(date +%s)
build=$out/build
rm -rf "$out"
mkdir -p "$build"
log "configuring (allnoconfig + $(basename "$fragment")) in $build"
make -s -C "$src" O="$build" KCONFIG_ALLCONFIG="$fragment" allnoconfig >&2

# Every option the fragment sets must survive Kconfig's dependency rules.
missing=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	grep -qxF -- "$line" "$build/.config" || { log "not applied: $line"; missing=1; }
done < "$fragment"
[ "$missing" -eq 0 ] || die "the fragment does not apply cleanly to this source (see above)"

jobs=$(nproc)
log "building vmlinux and bzImage with $jobs jobs (a few minutes)"
make -s -C "$src" O="$build" -j"$jobs" vmlinux bzImage >"$out/build.log" 2>&1 ||
	{ tail -n 30 "$out/build.log" >&2; die "kernel build failed (log: $out/build.log)"; }

cp "$build/vmlinux" "$out/vmlinux"
cp "$build/arch/x86/boot/bzImage" "$out/bzImage"
cp "$build/.config" "$out/config"
cp "$build/System.map" "$out/System.map"
echo $(( $(date +%s) - start )) > "$out/build-seconds"
rm -rf "$build"
log "built in $(cat "$out/build-seconds") s: $out"
echo "$out"
