#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Boot a Debian kernel under qemu (software emulation) with a busybox initramfs, run one command
# in it, print the guest's console and exit with the command's status.
#
#   scripts/qemu-run.sh [OPTIONS] -- CMD [ARGS...]
#
#   -k, --kernel SPEC      a Debian kernel package (linux-image-6.1.0-56-amd64), a version
#                          (6.1: the newest linux-image-6.1.*-amd64 apt knows), or a kernel file
#                          (vmlinux ELF or bzImage). Default: 6.1
#   -f, --file SRC[:DEST]  copy SRC into the guest, at DEST (default /bin/NAME); repeatable.
#                          Binaries must be static: the guest has nothing but busybox.
#   -t, --timeout S        power the guest off by force after S seconds (default 120)
#   -m, --memory SIZE      guest memory (default 512M)
#   -s, --smp N            guest CPUs (default 2)
#   -a, --append ARGS      more kernel command line
#   -9, --share DIR:TAG    share DIR with the guest read-only over 9p (virtio); its /init loads
#                          the kernel package's 9p modules and mounts it at /mnt/TAG
#                          (cache=none: every read and lookup goes to the host)
#   -c, --cgroup DIR       run qemu inside the cgroup2 directory DIR (as libvirt puts a VM in
#                          its scope)
#   --fetch-only           fetch and unpack the kernel, print the vmlinux path, and exit
#
# Debian's kernel packages are fetched with apt-get download (nothing is installed on the host)
# and unpacked into $QEMU_CACHE (default .output/qemu). The compressed kernel in the bzImage is
# unpacked to an ELF vmlinux, which qemu boots through its PVH entry: with TCG that takes seconds,
# where decompressing a bzImage in the emulated CPU takes far longer. The guest's /init mounts
# proc, sysfs, devtmpfs, tmpfs on /tmp, bpffs, cgroup2 (cpu controller enabled in the root),
# tracefs and debugfs, mounts the --share directories, prints "QEMU-BOOT: <uptime> s", runs CMD with /bin/sh and prints
# "QEMU-EXIT: <status>" before it powers off.
#
# Exit status: CMD's; 124 when the timeout struck; 125 when qemu, the kernel or the initramfs
# could not be had or the guest gave no exit status (the reason is on stderr).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${QEMU_CACHE:-$ROOT/.output/qemu}
QEMU=${QEMU:-qemu-system-x86_64}
ACCEL=${QEMU_ACCEL:-tcg}

kernel=6.1 timeout_s=120 memory=512M smp=2 append="" fetch_only=0 cgroup=""
files=() shares=()

die() {
	echo "qemu-run: $*" >&2
	exit 125
}

usage() {
	sed -n '4,/^set -uo/{ /^set -uo/d; s/^# \{0,1\}//; p }' "$0" >&2
	exit 125
}

while [ $# -gt 0 ]; do
	case $1 in
	-k | --kernel) kernel=${2:?}; shift 2 ;;
	-f | --file) files+=("${2:?}"); shift 2 ;;
	-t | --timeout) timeout_s=${2:?}; shift 2 ;;
	-m | --memory) memory=${2:?}; shift 2 ;;
	-s | --smp) smp=${2:?}; shift 2 ;;
	-a | --append) append=${2:?}; shift 2 ;;
	-9 | --share) shares+=("${2:?}"); shift 2 ;;
	-c | --cgroup) cgroup=${2:?}; shift 2 ;;
	--fetch-only) fetch_only=1; shift ;;
	-h | --help) usage ;;
	--) shift; break ;;
	*) usage ;;
	esac
done
[ $fetch_only = 1 ] || [ $# -gt 0 ] || usage

# The ELF kernel inside a bzImage, as the kernel's scripts/extract-vmlinux finds it: try each
# compression's magic at each place it occurs until one decompresses to an ELF file.
extract_vmlinux() {
	local img=$1 out=$2 magic tool off
	if [ "$(head -c 4 "$img" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
		cp "$img" "$out"
		return
	fi
	while read -r magic tool; do
		command -v "${tool%% *}" >/dev/null || continue
		while read -r off; do
			tail -c +$((off + 1)) "$img" | $tool >"$out" 2>/dev/null
			if [ "$(head -c 4 "$out" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
				return 0
			fi
		done < <(LC_ALL=C grep -obUaP "$magic" "$img" | cut -d: -f1)
	done <<-'EOF'
		\xfd7zXZ\x00 xz -dc
		\x1f\x8b\x08 gzip -dc
		\x28\xb5\x2f\xfd zstd -dcq
		BZh bzip2 -dc
		\x5d\x00\x00\x00 unlzma -c
		\x02\x21\x4c\x18 lz4 -dc
		\x89\x4c\x5a lzop -dc
	EOF
	rm -f "$out"
	return 1
}

# The Debian package a version or package name stands for.
resolve_package() {
	local spec=$1 pkg
	case $spec in
	linux-image-*) echo "$spec"; return ;;
	esac
	pkg=$(apt-cache pkgnames "linux-image-$spec" 2>/dev/null |
		grep -E "^linux-image-${spec//./\\.}[.0-9]*-[0-9]+-amd64\$" | sort -V | tail -n 1)
	if [ -z "$pkg" ]; then
		# Offline, or apt's lists are gone: what an earlier run left in the cache.
		pkg=$(for d in "$CACHE/linux-image-$spec"*-amd64; do
			[ -s "$d/vmlinux" ] && basename "$d"
		done | sort -V | tail -n 1)
	fi
	[ -n "$pkg" ] || return 1
	echo "$pkg"
}

# Fetch and unpack a kernel package into the cache; prints the directory.
fetch_package() {
	local pkg=$1 dir=$CACHE/$1 tmp deb img
	if [ -s "$dir/vmlinux" ] && [ -d "$dir/modules" ]; then
		echo "$dir"
		return
	fi
	command -v apt-get >/dev/null || die "no apt-get to fetch $pkg"
	mkdir -p "$CACHE" || die "cannot create $CACHE"
	tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX") || die "cannot create a directory in $CACHE"
	chmod 755 "$tmp"
	echo "qemu-run: fetching $pkg" >&2
	if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null 2>"$tmp/err"); then
		why=$(grep -v '^W:' "$tmp/err" | head -n 1)
		rm -rf "$tmp"
		die "apt-get download $pkg failed: $why"
	fi
	debs=("$tmp"/*.deb)
	deb=${debs[0]}
	dpkg-deb -f "$deb" Version >"$tmp/version"
	mkdir "$tmp/x"
	# With the modules a 9p share needs (Debian builds virtio and 9p as modules).
	if ! dpkg-deb --fsys-tarfile "$deb" |
		tar -x -C "$tmp/x" --wildcards './boot/vmlinuz-*' './boot/config-*' \
			'./lib/modules/*/kernel/drivers/virtio/*' './lib/modules/*/kernel/fs/*' \
			'./lib/modules/*/kernel/net/9p/*'; then
		rm -rf "$tmp"
		die "cannot unpack $deb"
	fi
	mkdir "$tmp/modules"
	find "$tmp/x/lib/modules" -name '*.ko*' -exec cp {} "$tmp/modules/" \;
	for m in "$tmp"/modules/*.ko.xz; do [ -e "$m" ] && xz -d "$m"; done
	for m in "$tmp"/modules/*.ko.zst; do [ -e "$m" ] && zstd -dq --rm "$m"; done
	for m in "$tmp"/modules/*.ko.gz; do [ -e "$m" ] && gzip -d "$m"; done
	imgs=("$tmp"/x/boot/vmlinuz-*)
	cp "$tmp"/x/boot/config-* "$tmp/config"
	if ! extract_vmlinux "${imgs[0]}" "$tmp/vmlinux"; then
		rm -rf "$tmp"
		die "no ELF kernel found in ${imgs[0]##*/} of $pkg"
	fi
	rm -rf "$tmp/x" "$deb" "$tmp/err"
	rm -rf "$dir"
	mv "$tmp" "$dir" || die "cannot move the kernel into $dir"
	echo "$dir"
}

if [ -f "$kernel" ]; then
	mkdir -p "$CACHE" || die "cannot create $CACHE"
	vmlinux=$(mktemp "$CACHE/.vmlinux.XXXXXX")
	trap 'rm -f "$vmlinux"' EXIT
	extract_vmlinux "$kernel" "$vmlinux" || die "no ELF kernel found in $kernel"
	kname=$kernel
else
	command -v apt-cache >/dev/null || die "no apt-cache to find a kernel package for '$kernel'"
	pkg=$(resolve_package "$kernel")
	if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
		# apt's lists may never have been fetched on this machine (a fresh image).
		echo "qemu-run: apt knows no kernel package for '$kernel': apt-get update" >&2
		apt-get update -qq >/dev/null 2>&1
		pkg=$(resolve_package "$kernel")
	fi
	[ -n "$pkg" ] || die "apt knows no kernel package for '$kernel' (run apt-get update?)"
	kdir=$(fetch_package "$pkg") || exit 125
	vmlinux=$kdir/vmlinux
	kname="$pkg $(cat "$kdir/version" 2>/dev/null)"
fi
if [ $fetch_only = 1 ]; then
	echo "$vmlinux"
	exit 0
fi
command -v "$QEMU" >/dev/null || die "$QEMU is not installed (apt-get install qemu-system-x86)"

busybox=${BUSYBOX:-}
if [ -z "$busybox" ]; then
	for b in /bin/busybox /usr/bin/busybox; do
		if [ -x "$b" ] && ! readelf -l "$b" 2>/dev/null | grep -q INTERP; then
			busybox=$b
			break
		fi
	done
fi
[ -n "$busybox" ] || die "no static busybox (apt-get install busybox-static)"
command -v cpio >/dev/null || die "cpio is not installed (apt-get install cpio)"

work=$(mktemp -d "${TMPDIR:-/tmp}/qemu-run.XXXXXX") || die "cannot create a temporary directory"
trap 'rm -rf "$work"; [ -z "${kdir:-}" ] && rm -f "$vmlinux"' EXIT
stage=$work/root
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root} || die "cannot populate $stage"
cp "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
# The kernel opens /dev/console for init; without root there is none until devtmpfs is up.
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null

for f in "${files[@]}"; do
	src=${f%%:*} dest=/bin/$(basename "${f%%:*}")
	[ "$src" != "$f" ] && dest=${f#*:}
	[ -e "$src" ] || die "no such file: $src"
	if readelf -l "$src" 2>/dev/null | grep -q INTERP; then
		echo "qemu-run: warning: $src is dynamically linked: it will not run in the guest" >&2
	fi
	{ mkdir -p "$stage$(dirname "$dest")" && cp -a "$src" "$stage$dest"; } || die "cannot copy $src"
done

# A module's dependencies, as its .modinfo section names them.
module_depends() {
	strings -a "$1" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' '
}

# The modules that give mods (names), each after what it depends on, into $stage/lib/modules;
# prints the insmod order.
stage_modules() {
	local dir=$1 m
	shift
	declare -A seen=()
	visit() {
		local name=$1 d f=$dir/$1.ko
		[ -z "${seen[$name]:-}" ] || return 0
		seen[$name]=1
		[ -f "$f" ] || f=$dir/${name//_/-}.ko
		[ -f "$f" ] || die "no module $name in $dir"
		for d in $(module_depends "$f"); do visit "$d"; done
		cp "$f" "$stage/lib/modules/$name.ko"
		echo "$name"
	}
	mkdir -p "$stage/lib/modules"
	for m in "$@"; do visit "$m"; done
}

mounts=$stage/etc/mounts.sh
qemu_shares=()
if [ ${#shares[@]} -gt 0 ]; then
	mkdir -p "$stage/etc"
	if [ -n "${kdir:-}" ]; then
		order=$(stage_modules "$kdir/modules" virtio_pci 9pnet_virtio 9p) || exit 125
		for m in $order; do echo "insmod /lib/modules/$m.ko || echo \"QEMU-INSMOD-FAILED: $m\""; done >>"$mounts"
	fi
	for sh_ in "${shares[@]}"; do
		dir=${sh_%:*} tag=${sh_##*:}
		[ -d "$dir" ] && [ "$tag" != "$sh_" ] || die "--share $sh_: want an existing DIR:TAG"
		qemu_shares+=(-virtfs "local,path=$dir,mount_tag=$tag,security_model=none,readonly=on")
		printf 'mkdir -p /mnt/%s && mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=none %s /mnt/%s || echo "QEMU-MOUNT-FAILED: %s"\n' \
			"$tag" "$tag" "$tag" "$tag" >>"$mounts"
	done
fi
if [ -n "$cgroup" ]; then
	[ -w "$cgroup/cgroup.procs" ] || die "--cgroup $cgroup: not a cgroup2 directory we can join"
fi

# The command, each argument single-quoted for the guest's shell.
{
	printf '#!/bin/sh\n'
	for a in "$@"; do
		printf "'%s' " "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"
	done
	printf '\n'
} >"$stage/cmd"

cat >"$stage/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
echo +cpu >/sys/fs/cgroup/cgroup.subtree_control
[ -f /etc/mounts.sh ] && . /etc/mounts.sh
echo
echo "QEMU-BOOT: $(cut -d ' ' -f 1 /proc/uptime) s"
# Only emergencies from the kernel from here on: the command's output stays whole.
dmesg -n 1
cd /root
sh /cmd
echo "QEMU-EXIT: $?"
sync
poweroff -f
EOF
chmod 755 "$stage/init" "$stage/cmd"
(cd "$stage" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$work/initrd.gz" ||
	die "cannot build the initramfs"

echo "qemu-run: booting $kname ($ACCEL, $smp CPUs, $memory)" >&2
start=$(date +%s.%N)
# In --cgroup DIR: the cgroup is joined, then qemu (with timeout) is exec'd there.
in_cgroup() {
	if [ -n "$cgroup" ]; then
		bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cgroup" "$@"
	else
		"$@"
	fi
}
in_cgroup timeout -k 5 "$timeout_s" "$QEMU" -accel "$ACCEL" -cpu max -smp "$smp" -m "$memory" \
	-display none -vga none -serial stdio -monitor none -no-reboot -nic none \
	${qemu_shares[@]+"${qemu_shares[@]}"} \
	-kernel "$vmlinux" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1 $append" </dev/null 2>&1 |
	tr -d '\r' | tee "$work/console"
qrc=${PIPESTATUS[0]}
end=$(date +%s.%N)

boot=$(sed -n 's/.*QEMU-BOOT: \([0-9.]*\) s$/\1/p' "$work/console" | head -n 1)
rc=$(sed -n 's/.*QEMU-EXIT: \([0-9]*\)$/\1/p' "$work/console" | tail -n 1)
awk -v s="$start" -v e="$end" -v b="${boot:-?}" \
	'BEGIN { printf "qemu-run: guest up after %s s (its uptime at /init), qemu ran %.1f s\n", b, e - s }' >&2
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
	echo "qemu-run: timed out after $timeout_s s" >&2
	exit 124
fi
[ -n "$rc" ] || die "the guest gave no exit status (qemu exited with $qrc)"
exit "$rc"
