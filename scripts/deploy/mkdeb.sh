#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# mkdeb.sh WORKDIR VERSION: build bpfmeter_VERSION_ARCH.deb in the current directory from a
# staged `make install PREFIX=/usr` (in WORKDIR/debian/bpfmeter) with dpkg-deb; Depends from
# dpkg-shlibdeps, the maintainer scripts from scripts/deploy/debian. Run by make deb.
set -euo pipefail

work=$1
version=$2
deploy=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$deploy/../.." && pwd)
maintainer=${DEB_MAINTAINER:-bpfmeter authors <bpfmeter@example.org>}

for tool in dpkg-deb dpkg-shlibdeps dpkg-architecture strip gzip; do
	command -v "$tool" >/dev/null || {
		echo "mkdeb: $tool is missing: install dpkg-dev and binutils (scripts/install-deps.sh)" >&2
		exit 1
	}
done

# A Debian version from git describe: it must start with a digit and holds no '-' (a native
# package has no revision): v1.2-3-gabc1234-dirty becomes 1.2+3.gabc1234.dirty; a tree
# without tags 0.0~git.abc1234 (sorting before any release).
v=${version#v}
printf '%s' "$v" | grep -Eq '^[0-9]+\.[0-9]+' || v=0.0~git.$v
v=$(printf '%s' "$v" | tr -- '-' '.' | sed -e 's/^\([0-9][0-9.]*\)\.\([0-9]*\.g\)/\1+\2/')
if ! printf '%s' "$v" | grep -Eq '^[0-9][A-Za-z0-9.+~]*$'; then
	echo "mkdeb: version '$version' does not make a Debian version: tag the tree vX.Y" >&2
	exit 1
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)

rm -rf "$work"
pkg=$work/debian/bpfmeter
mkdir -p "$pkg/DEBIAN"
make -C "$repo" --no-print-directory install DESTDIR="$pkg" PREFIX=/usr >/dev/null
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$pkg/usr/bin/bpfmeter"
gzip -9n "$pkg/usr/share/man/man8/bpfmeter.8"

doc=$pkg/usr/share/doc/bpfmeter
mkdir -p "$doc"
{
	printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n'
	printf 'Upstream-Name: bpfmeter\n\nFiles: *\n'
	printf 'Copyright: %s\n' "$(sed -n 's/^Copyright (c) //p' "$repo/LICENSE")"
	printf 'License: BSD-2-Clause\n'
	sed -n '/^Redistribution/,$p' "$repo/LICENSE" | sed -e 's/^$/./' -e 's/^/ /'
} >"$doc/copyright"
printf 'bpfmeter (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- %s  %s\n' \
	"$v" "$version" "$maintainer" "$(date -R -u -d "@$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)")" |
	gzip -9n >"$doc/changelog.gz"

# dpkg-shlibdeps reads the package list of a debian/control; a minimal one does.
printf 'Source: bpfmeter\n\nPackage: bpfmeter\nArchitecture: any\n' >"$work/debian/control"
shlibs=$(cd "$work" && dpkg-shlibdeps -O debian/bpfmeter/usr/bin/bpfmeter | sed -n 's/^shlibs:Depends=//p')
# The libraries user/dynlib.c loads at their first call are not linked: dpkg-shlibdeps does not
# see them. Their packages, as installed here.
for so in $(sed -n 's/.*\.soname = "\(.*\)".*/\1/p' "$repo/user/dynlib.c"); do
	p=$(dpkg-query -S "*/$so" 2>/dev/null | sed -n '1s/:.*//p')
	[ -n "$p" ] || { echo "mkdeb: no installed package holds $so" >&2; exit 1; }
	shlibs="$shlibs, $p"
done

for s in postinst prerm postrm; do
	install -m 755 "$deploy/debian/$s" "$pkg/DEBIAN/$s"
done
printf '/etc/default/bpfmeter\n' >"$pkg/DEBIAN/conffiles"
# Every file but the conffiles, which dpkg keeps its own sums of.
(cd "$pkg" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' |
	sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
sed -e "s/@VERSION@/$v/" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/$shlibs/" \
	-e "s/@MAINTAINER@/$maintainer/" -e "s/@SIZE@/$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)/" \
	"$deploy/debian/control" >"$pkg/DEBIAN/control"

deb=bpfmeter_${v}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
