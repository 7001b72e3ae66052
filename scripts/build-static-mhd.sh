#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A static libmicrohttpd without HTTPS, for make static: Debian's own libmicrohttpd.a is built
# with GnuTLS, whose static link needs p11-kit, which Debian ships no static library of. This
# fetches the source of the libmicrohttpd Debian has (the version of libmicrohttpd-dev, as
# apt-get source does, checked against the archive's signed index), builds it without TLS and
# installs it under DIR/{include,lib}. Run once per clone: a DIR that already holds the library
# is left as it is. HOST, a GNU triplet such as aarch64-linux-gnu, cross-builds it for that
# machine with HOST-gcc (configure's --host); the source is the same.
#
#   scripts/build-static-mhd.sh DIR [HOST]
set -euo pipefail

die() {
	echo "build-static-mhd: $*" >&2
	exit 1
}

[ $# -eq 1 ] || [ $# -eq 2 ] ||
	die "usage: $0 DIR [HOST] (where to build and install the static libmicrohttpd, HOST to cross-build)"
host=${2:-}
mkdir -p "$1"
dir=$(cd "$1" && pwd)
[ -e "$dir/lib/libmicrohttpd.a" ] && [ -e "$dir/include/microhttpd.h" ] && exit 0

command -v dpkg-source >/dev/null || die "dpkg-source is missing: run scripts/install-deps.sh (dpkg-dev)"
ver=$(dpkg-query -W -f='${source:Version}' libmicrohttpd-dev 2>/dev/null) ||
	die "libmicrohttpd-dev is not installed: run scripts/install-deps.sh"
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$suite" ] || die "no VERSION_CODENAME in /etc/os-release: cannot tell which Debian suite to fetch the source from"

# A private sources list and index, so that the machine's apt configuration is not touched.
apt_dir=$dir/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
{
	echo "deb-src [signed-by=$keyring] http://deb.debian.org/debian $suite main"
	echo "deb-src [signed-by=$keyring] http://deb.debian.org/debian-security $suite-security main"
} >"$apt_dir/sources.list"
apt_opts=(-o Dir::Etc::sourcelist="$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
	-o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" -o APT::Sandbox::User=root)
echo "build-static-mhd: fetching the source of libmicrohttpd $ver" >&2
apt-get "${apt_opts[@]}" -qq update >"$apt_dir/update.log" 2>&1 ||
	die "apt-get update of the deb-src index failed (see $apt_dir/update.log): is the Debian archive reachable?"
src=$dir/src
rm -rf "$src"
mkdir -p "$src"
(cd "$src" && apt-get "${apt_opts[@]}" -qq source "libmicrohttpd=$ver") >"$apt_dir/source.log" 2>&1 ||
	die "apt-get source libmicrohttpd=$ver failed (see $apt_dir/source.log)"
tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'libmicrohttpd-*' | head -n 1)
[ -n "$tree" ] || die "apt-get source left no libmicrohttpd-* directory in $src"

# No HTTPS (the GnuTLS it would need cannot be linked statically), none of the parts bpfmeter
# does not use (digest auth, POST parsing, upgrade, docs, examples, tests against libcurl).
echo "build-static-mhd: building it without HTTPS${host:+ for $host}" >&2
(cd "$tree" && ./configure ${host:+--host="$host"} --prefix="$dir" --enable-static --disable-shared \
	--disable-https --without-gnutls --disable-doc --disable-examples --disable-curl --disable-dauth \
	--disable-postprocessor --disable-httpupgrade --disable-nls \
	CFLAGS="-O2 -g" >"$dir/configure.log" 2>&1) ||
	die "configure of libmicrohttpd failed (see $dir/configure.log)"
(cd "$tree/src/microhttpd" && make -j"${JOBS:-2}" >"$dir/make.log" 2>&1 && make install >>"$dir/make.log" 2>&1) ||
	die "make of libmicrohttpd failed (see $dir/make.log)"
(cd "$tree/src/include" && make install >>"$dir/make.log" 2>&1) ||
	die "make install of microhttpd.h failed (see $dir/make.log)"
[ -e "$dir/lib/libmicrohttpd.a" ] || die "the build left no $dir/lib/libmicrohttpd.a"
