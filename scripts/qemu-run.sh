#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Boot a Debian kernel under qemu (software emulation) with a busybox initramfs, run one command
# in it, print the guest's console and exit with the command's status.
#
#   scripts/qemu-run.sh [OPTIONS] -- CMD [ARGS...]
#
#   -A, --arch ARCH        the guest's architecture: x86_64 (amd64, the default) or arm64
#                          (aarch64); $QEMU_ARCH sets the default
#   -k, --kernel SPEC      a Debian kernel package (linux-image-6.1.0-56-amd64), a version
#                          (6.1: the newest linux-image-6.1.*-amd64, or -arm64, apt knows), or a
#                          kernel file (x86_64: vmlinux ELF or bzImage; arm64: Image, gzip'd or
#                          not). Default: 6.1
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
#   -i, --icount SHIFT     TCG counts instructions, each taking 2^SHIFT ns of the guest's clock
#                          (qemu -icount shift=SHIFT), or off. Default: 2 on arm64, whose
#                          emulated PMU counts INST_RETIRED only with a fixed shift; off on
#                          x86_64 ($QEMU_ICOUNT sets it)
#   --fetch-only           fetch and unpack the kernel, print the vmlinux path, and exit
#
# Debian's kernel packages are fetched with apt-get download (nothing is installed on the host)
# and unpacked into $QEMU_CACHE (default .output/qemu). The compressed kernel in the bzImage is
# unpacked to an ELF vmlinux, which qemu boots through its PVH entry: with TCG that takes seconds,
# where decompressing a bzImage in the emulated CPU takes far longer.
#
# arm64 boots qemu-system-aarch64 -M virt -cpu max (TCG; pointer authentication with qemu's
# cheap algorithm, the architected one being slow to emulate) whose emulated PMUv3 counts
# cycles and instructions, Debian's linux-image-*-arm64 (its vmlinuz, a gzip'd Image, unpacked
# to Image) and busybox from Debian's busybox-static:arm64, console ttyAMA0. Where the host's
# own architecture is another, the arm64 packages come through an apt of the cache's own
# ($QEMU_CACHE/apt-arm64: the host's sources, APT::Architecture=arm64, its own lists), so the
# host's apt configuration is left as it is. The guest's /init mounts
# proc, sysfs, devtmpfs, tmpfs on /tmp, bpffs, cgroup2 (cpu controller enabled in the root),
# tracefs and debugfs, mounts the --share directories, prints "QEMU-BOOT: <uptime> s", runs CMD with /bin/sh and prints
# "QEMU-EXIT: <status>" before it powers off.
#
# Exit status: CMD's; 124 when the timeout struck; 125 when qemu, the kernel or the initramfs
# could not be had or the guest gave no exit status (the reason is on stderr).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${QEMU_CACHE:-$ROOT/.output/qemu}
ACCEL=${QEMU_ACCEL:-tcg}

kernel=6.1 timeout_s=120 memory=512M smp=2 append="" fetch_only=0 cgroup="" arch=${QEMU_ARCH:-x86_64}
icount=${QEMU_ICOUNT:-}
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
	-A | --arch) arch=${2:?}; shift 2 ;;
	-k | --kernel) kernel=${2:?}; shift 2 ;;
	-f | --file) files+=("${2:?}"); shift 2 ;;
	-t | --timeout) timeout_s=${2:?}; shift 2 ;;
	-m | --memory) memory=${2:?}; shift 2 ;;
	-s | --smp) smp=${2:?}; shift 2 ;;
	-a | --append) append=${2:?}; shift 2 ;;
	-9 | --share) shares+=("${2:?}"); shift 2 ;;
	-c | --cgroup) cgroup=${2:?}; shift 2 ;;
	-i | --icount) icount=${2:?}; shift 2 ;;
	--fetch-only) fetch_only=1; shift ;;
	-h | --help) usage ;;
	--) shift; break ;;
	*) usage ;;
	esac
done
[ $fetch_only = 1 ] || [ $# -gt 0 ] || usage

# What differs between the guests: Debian's architecture (the kernel packages' flavour), qemu,
# its machine, the console, and the kernel file qemu boots (kfile, in the unpacked package).
case $arch in
x86_64 | amd64 | x86)
	arch=amd64 QEMU=${QEMU:-qemu-system-x86_64} qemu_pkg=qemu-system-x86 console=ttyS0
	machine=(-cpu max -vga none) kfile=vmlinux
	;;
arm64 | aarch64)
	arch=arm64 QEMU=${QEMU:-qemu-system-aarch64} qemu_pkg=qemu-system-arm console=ttyAMA0
	machine=(-M virt -cpu max,pauth-impdef=on) kfile=Image
	# qemu's PMUv3 counts CPU_CYCLES at 1 GHz of the guest's clock, and INST_RETIRED only
	# with a fixed -icount shift (otherwise PMCEID leaves it out and the generic event
	# "instructions" cannot be opened). Both count the whole machine's instructions, not the
	# CPU's: cycles are instructions << shift, an IPC of 1/2^shift (0.25) whatever runs.
	# The vCPUs then take turns on one host thread.
	icount=${icount:-2}
	;;
*) die "--arch $arch: want x86_64 or arm64" ;;
esac
case ${icount:-off} in
off) ;;
[0-9] | 10) machine+=(-icount "shift=$icount") ;;
*) die "--icount $icount: want a shift (0 to 10) or off" ;;
esac
host_arch=$(dpkg --print-architecture 2>/dev/null || echo none)

# apt-get or apt-cache (the first argument) for the guest's architecture: the host's own apt
# where the architectures agree, otherwise one of the cache's own (see the top), its lists
# fetched on first use or when $1 is "update".
apt_for() {
	local tool=$1 dir=$CACHE/apt-$arch f
	shift
	if [ "$arch" = "$host_arch" ]; then
		"$tool" "$@"
		return
	fi
	local opts=(-o APT::Architecture="$arch" -o APT::Architectures="$arch"
		-o Dir::Etc::sourcelist="$dir/sources.list" -o Dir::Etc::sourceparts="$dir/sources.list.d"
		-o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache"
		-o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
	if [ ! -d "$dir/lists" ]; then
		mkdir -p "$dir"/{lists/partial,cache/archives/partial,sources.list.d} || return 1
		for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] && cp "$f" "$dir/sources.list.d/"
		done
		[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$dir/sources.list"
		if ! ls "$dir"/sources.list.d/* >/dev/null 2>&1 && [ ! -s "$dir/sources.list" ]; then
			echo "deb http://deb.debian.org/debian bookworm main" >"$dir/sources.list"
		fi
	fi
	if [ "$tool" = apt-get ] && [ "${1:-}" = update ]; then
		apt-get "${opts[@]}" update -qq >/dev/null 2>&1
		return
	fi
	if ! ls "$dir"/lists/*Packages* >/dev/null 2>&1; then
		echo "qemu-run: fetching apt's lists for $arch into $dir" >&2
		apt-get "${opts[@]}" update -qq >/dev/null 2>&1 || return 1
	fi
	"$tool" "${opts[@]}" "$@"
}

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

# The kernel file qemu boots, from a package's vmlinuz or a file given: x86_64's ELF vmlinux;
# arm64's Image, which Debian ships gzip'd.
unpack_kernel() {
	local img=$1 out=$2
	if [ "$arch" = amd64 ]; then
		extract_vmlinux "$img" "$out"
	elif [ "$(head -c 3 "$img" | od -An -tx1 | tr -d ' \n')" = 1f8b08 ]; then
		gzip -dc "$img" >"$out" || { rm -f "$out"; return 1; }
	else
		cp "$img" "$out"
	fi
	# An arm64 Image has "ARM\x64" at offset 56.
	[ "$arch" = amd64 ] || [ "$(tail -c +57 "$out" | head -c 4 | od -An -tx1 | tr -d ' \n')" = 41524d64 ] ||
		{ rm -f "$out"; return 1; }
}

# A static busybox of the guest's architecture, from Debian's busybox-static (cached).
fetch_busybox() {
	local dir=$CACHE/busybox-static-$arch tmp debs
	if [ -x "$dir/busybox" ]; then
		echo "$dir/busybox"
		return
	fi
	mkdir -p "$CACHE" || die "cannot create $CACHE"
	tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX") || die "cannot create a directory in $CACHE"
	chmod 755 "$tmp"
	echo "qemu-run: fetching busybox-static ($arch)" >&2
	if ! (cd "$tmp" && apt_for apt-get download -q -o APT::Sandbox::User=root busybox-static >/dev/null 2>"$tmp/err"); then
		why=$(grep -v '^W:' "$tmp/err" | head -n 1)
		rm -rf "$tmp"
		die "apt-get download busybox-static ($arch) failed: $why"
	fi
	debs=("$tmp"/*.deb)
	if ! dpkg-deb -x "${debs[0]}" "$tmp/x" || [ ! -x "$tmp/x/bin/busybox" ]; then
		rm -rf "$tmp"
		die "no bin/busybox in ${debs[0]##*/}"
	fi
	rm -rf "$dir"
	mkdir -p "$dir" && mv "$tmp/x/bin/busybox" "$dir/busybox" || die "cannot move busybox into $dir"
	rm -rf "$tmp"
	echo "$dir/busybox"
}

# The Debian package a version or package name stands for.
resolve_package() {
	local spec=$1 pkg
	case $spec in
	linux-image-*) echo "$spec"; return ;;
	esac
	pkg=$(apt_for apt-cache pkgnames "linux-image-$spec" 2>/dev/null |
		grep -E "^linux-image-${spec//./\\.}[.0-9]*-[0-9]+-$arch\$" | sort -V | tail -n 1)
	if [ -z "$pkg" ]; then
		# Offline, or apt's lists are gone: what an earlier run left in the cache.
		pkg=$(for d in "$CACHE/linux-image-$spec"*-"$arch"; do
			[ -s "$d/$kfile" ] && basename "$d"
		done | sort -V | tail -n 1)
	fi
	[ -n "$pkg" ] || return 1
	echo "$pkg"
}

# Fetch and unpack a kernel package into the cache; prints the directory.
fetch_package() {
	local pkg=$1 dir=$CACHE/$1 tmp deb img
	if [ -s "$dir/$kfile" ] && [ -d "$dir/modules" ]; then
		echo "$dir"
		return
	fi
	command -v apt-get >/dev/null || die "no apt-get to fetch $pkg"
	mkdir -p "$CACHE" || die "cannot create $CACHE"
	tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX") || die "cannot create a directory in $CACHE"
	chmod 755 "$tmp"
	echo "qemu-run: fetching $pkg" >&2
	if ! (cd "$tmp" && apt_for apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null 2>"$tmp/err"); then
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
			'./lib/modules/*/kernel/net/9p/*' './lib/modules/*/modules.builtin'; then
		rm -rf "$tmp"
		die "cannot unpack $deb"
	fi
	mkdir "$tmp/modules"
	find "$tmp/x/lib/modules" -name '*.ko*' -exec cp {} "$tmp/modules/" \;
	for m in "$tmp"/modules/*.ko.xz; do [ -e "$m" ] && xz -d "$m"; done
	for m in "$tmp"/modules/*.ko.zst; do [ -e "$m" ] && zstd -dq --rm "$m"; done
	for m in "$tmp"/modules/*.ko.gz; do [ -e "$m" ] && gzip -d "$m"; done
	# What is built in needs no module (arm64 builds the virtio core in, which virtio_pci needs).
	cat "$tmp"/x/lib/modules/*/modules.builtin >"$tmp/modules.builtin" 2>/dev/null
	imgs=("$tmp"/x/boot/vmlinuz-*)
	cp "$tmp"/x/boot/config-* "$tmp/config"
	if ! unpack_kernel "${imgs[0]}" "$tmp/$kfile"; then
		rm -rf "$tmp"
		die "no $kfile kernel found in ${imgs[0]##*/} of $pkg"
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
	unpack_kernel "$kernel" "$vmlinux" || die "no $kfile kernel found in $kernel"
	kname=$kernel
else
	command -v apt-cache >/dev/null || die "no apt-cache to find a kernel package for '$kernel'"
	pkg=$(resolve_package "$kernel")
	if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
		# apt's lists may never have been fetched on this machine (a fresh image).
		echo "qemu-run: apt knows no kernel package for '$kernel': apt-get update" >&2
		apt_for apt-get update -qq >/dev/null 2>&1
		pkg=$(resolve_package "$kernel")
	fi
	[ -n "$pkg" ] || die "apt knows no kernel package for '$kernel' (run apt-get update?)"
	kdir=$(fetch_package "$pkg") || exit 125
	vmlinux=$kdir/$kfile
	kname="$pkg $(cat "$kdir/version" 2>/dev/null)"
fi
if [ $fetch_only = 1 ]; then
	echo "$vmlinux"
	exit 0
fi
command -v "$QEMU" >/dev/null || die "$QEMU is not installed (apt-get install $qemu_pkg)"

busybox=${BUSYBOX:-}
if [ -z "$busybox" ] && [ "$arch" != "$host_arch" ]; then
	busybox=$(fetch_busybox) || exit 125
elif [ -z "$busybox" ]; then
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
	case $arch:$(readelf -h "$src" 2>/dev/null | sed -n 's/^ *Machine: *//p') in
	*: | amd64:*X86-64 | arm64:AArch64) ;;
	*) echo "qemu-run: warning: $src is built for another machine than $arch: it will not run in the guest" >&2 ;;
	esac
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
		if [ ! -f "$f" ]; then
			# Built into the kernel: nothing to load.
			grep -qE "/(${name}|${name//_/-})\.ko\$" "$dir/../modules.builtin" 2>/dev/null && return 0
			die "no module $name in $dir"
		fi
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

echo "qemu-run: booting $kname ($arch, $ACCEL, $smp CPUs, $memory)" >&2
start=$(date +%s.%N)
# In --cgroup DIR: the cgroup is joined, then qemu (with timeout) is exec'd there.
in_cgroup() {
	if [ -n "$cgroup" ]; then
		bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cgroup" "$@"
	else
		"$@"
	fi
}
in_cgroup timeout -k 5 "$timeout_s" "$QEMU" -accel "$ACCEL" "${machine[@]}" -smp "$smp" -m "$memory" \
	-display none -serial stdio -monitor none -no-reboot -nic none \
	${qemu_shares[@]+"${qemu_shares[@]}"} \
	-kernel "$vmlinux" -initrd "$work/initrd.gz" \
	-append "console=$console quiet panic=-1 $append" </dev/null 2>&1 |
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
