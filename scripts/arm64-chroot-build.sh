#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The native arm64 build, checked on an x86_64 Debian 12 machine: an arm64 Debian 12 (bookworm)
# chroot run under qemu-user (binfmt_misc with qemu-aarch64-static), in which a clone of this
# repository's HEAD does what an arm64 user would: scripts/install-deps.sh, make, make
# static-arm64 (on arm64 with the machine's own compiler), then file and --version on the
# binaries, --help, and a replay of tests/data/recording-three-cgroups.csv (no BPF: the host
# kernel cannot load the arm64 programs under qemu-user, so nothing here starts a session).
# Not part of make test: everything is emulated. On a 2-core VM: debootstrap about 4 min, the
# first install-deps.sh about 10 min, make about 5 min, make static-arm64 about 10 min; a
# second run reuses the chroot and its packages (the clone and the build are made again).
# Run as root; needs debootstrap and qemu-user-static (apt-get install debootstrap
# qemu-user-static). The chroot is kept; /proc, /sys and /dev are bound into it only while this
# runs. Uncommitted changes are not in the clone.
#
#   scripts/arm64-chroot-build.sh [ROOT]     (ROOT: the chroot, /var/tmp/arm64root by default)
set -euo pipefail

die() {
	echo "arm64-chroot-build: $*" >&2
	exit 1
}
say() { echo "arm64-chroot-build: $*"; }

root=${1:-/var/tmp/arm64root}
mirror=${MIRROR:-http://deb.debian.org/debian}
repo=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, chroot, mount)"
[ "$(uname -m)" != aarch64 ] || die "this machine is arm64: run scripts/install-deps.sh and make here"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
qemu=/usr/bin/qemu-aarch64-static
[ -x "$qemu" ] || die "$qemu is missing: apt-get install qemu-user-static"

# binfmt_misc's aarch64 entry, with F (the interpreter opened when registered, so that it runs
# inside the chroot, where there is no qemu).
binfmt=/proc/sys/fs/binfmt_misc
[ -e "$binfmt/register" ] || mount -t binfmt_misc binfmt_misc "$binfmt"
if [ -e "$binfmt/qemu-aarch64" ] && ! grep -q '^flags:.*F' "$binfmt/qemu-aarch64"; then
	echo -1 >"$binfmt/qemu-aarch64"
fi
if [ ! -e "$binfmt/qemu-aarch64" ]; then
	conf=/usr/lib/binfmt.d/qemu-aarch64.conf
	[ -e "$conf" ] || die "$conf is missing (qemu-user-static)"
	line=$(grep '^:qemu-aarch64:' "$conf")
	case ${line##*:} in *F*) ;; *) line=${line}F ;; esac
	echo "$line" >"$binfmt/register"
fi
say "binfmt_misc: qemu-aarch64 $(sed -n 's/^flags: //p' "$binfmt/qemu-aarch64")"

# The chroot: made once (debootstrap removes its own directory in it when it has finished).
[ ! -e "$root/debootstrap" ] || die "$root holds an unfinished debootstrap: remove it and run again"
if [ ! -e "$root/etc/debian_version" ]; then
	say "debootstrap --arch=arm64 bookworm $root"
	SECONDS=0
	debootstrap --arch=arm64 bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
		die "debootstrap failed (see $root.debootstrap.log)"
	say "debootstrap: ${SECONDS} s"
	cat >"$root/etc/apt/sources.list" <<-EOF
		deb $mirror bookworm main
		deb $mirror bookworm-updates main
		deb http://deb.debian.org/debian-security bookworm-security main
	EOF
	# No services started by the packages' scripts.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod +x "$root/usr/sbin/policy-rc.d"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"

mounted=()
cleanup() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount "${mounted[i]}" || echo "arm64-chroot-build: umount ${mounted[i]} failed" >&2
	done
}
trap cleanup EXIT
for d in proc sys dev dev/pts; do
	if ! mountpoint -q "$root/$d"; then
		mount --bind "/$d" "$root/$d"
		mounted+=("$root/$d")
	fi
done

in_root() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive /bin/bash -c "set -euo pipefail; cd /root/bpfmeter; $1"; }

[ "$(chroot "$root" /usr/bin/uname -m)" = aarch64 ] || die "the chroot does not run as aarch64"
# git for the version make compiles in (git describe).
[ -x "$root/usr/bin/git" ] ||
	chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive /bin/sh -c \
		'apt-get update -qq && apt-get install -y -qq --no-install-recommends git >/dev/null'

rm -rf "$root/root/bpfmeter"
git clone -q "$repo" "$root/root/bpfmeter"
say "clone of $(git -C "$repo" describe --always --dirty) in $root/root/bpfmeter"

step() {
	say "$1"
	SECONDS=0
	in_root "$1" || die "$1 failed"
	say "$1: ${SECONDS} s"
}
step "scripts/install-deps.sh"
step "make -j$jobs"
step "make -j$jobs static-arm64"

for bin in bpfmeter bpfmeter-static-arm64; do
	out=$(in_root "file $bin")
	say "$out"
	grep -q 'ARM aarch64' <<<"$out" || die "$bin is not an aarch64 binary"
	say "./$bin --version: $(in_root "./$bin --version")"
	in_root "./$bin --help >/dev/null" || die "./$bin --help failed"
done
rows=$(in_root "./bpfmeter replay tests/data/recording-three-cgroups.csv | wc -l")
[ "$rows" -gt 1 ] || die "bpfmeter replay wrote no rows"
say "./bpfmeter replay tests/data/recording-three-cgroups.csv: $rows lines"
say "the native arm64 build works"
