#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Unpack another architecture's -dev packages that cannot be installed beside this machine's
# own, for a cross build (make static-arm64). Multiarch installs most arm64 -dev packages next
# to the amd64 ones, but not those without Multi-Arch: same: libgsl-dev:arm64 would replace
# libgsl-dev:amd64 (both ship /usr/bin/gsl-config), and the x86 build with it. Each PKG is
# fetched with apt-get download at the version of this machine's PKG (so that the headers
# match), or the candidate's when it is not installed, and unpacked under DIR/PKG, whose .pc
# files are pointed at it. Nothing is installed. A DIR/PKG already unpacked is left as it is.
# The architecture must be one dpkg knows (dpkg --add-architecture, scripts/install-deps.sh).
#
#   scripts/fetch-cross-dev.sh DIR ARCH PKG...
set -euo pipefail

die() {
	echo "fetch-cross-dev: $*" >&2
	exit 1
}

[ $# -ge 3 ] || die "usage: $0 DIR ARCH PKG... (where to unpack, for which architecture, what)"
mkdir -p "$1"
dir=$(cd "$1" && pwd)
arch=$2
shift 2

dpkg --print-architecture | grep -qx "$arch" || dpkg --print-foreign-architectures | grep -qx "$arch" ||
	die "dpkg does not know the $arch architecture: run scripts/install-deps.sh"

for pkg in "$@"; do
	dest=$dir/$pkg
	[ -e "$dest/.unpacked" ] && continue
	ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
	[ -n "$ver" ] || ver=$(apt-cache policy "$pkg:$arch" | sed -n 's/^ *Candidate: //p')
	if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
		die "no version of $pkg:$arch to fetch: is the $arch index there (apt-get update)?"
	fi
	echo "fetch-cross-dev: $pkg:$arch $ver" >&2
	rm -rf "$dest"
	mkdir -p "$dest/deb"
	# apt-get download as root runs unsandboxed; it still fetches through the signed index.
	(cd "$dest/deb" && apt-get download -qq -o APT::Sandbox::User=root "$pkg:$arch=$ver") >"$dest/download.log" 2>&1 ||
		die "apt-get download $pkg:$arch=$ver failed (see $dest/download.log)"
	deb=$(find "$dest/deb" -maxdepth 1 -name '*.deb' | head -n 1)
	[ -n "$deb" ] || die "apt-get download $pkg:$arch=$ver left no .deb in $dest/deb"
	dpkg-deb -x "$deb" "$dest"
	# Its .pc files name /usr: this copy instead.
	find "$dest/usr/lib" -path '*/pkgconfig/*.pc' -exec sed -i -e "s|=/usr\\b|=$dest/usr|" \
		-e "s|-L/usr/|-L$dest/usr/|g" -e "s|-I/usr/|-I$dest/usr/|g" {} +
	touch "$dest/.unpacked"
done
