#!/bin/sh
# Install the Debian bookworm packages the project needs to build, test,
# fuzz and benchmark. Idempotent; quick when everything is present.
set -eu

PACKAGES="build-essential make pkg-config libfdt-dev libaio-dev check \
clang libclang-rt-14-dev device-tree-compiler qemu-system-x86 python3"
# The Linux guest (scripts/build-linux.sh, docs/linux.md): kernel source and
# build tools, lz4 for the bzImage, cpio for the initrd, bc for the bench.
PACKAGES="$PACKAGES linux-source-6.1 flex bison libelf-dev libssl-dev bc lz4 cpio"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing (run as root or install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
