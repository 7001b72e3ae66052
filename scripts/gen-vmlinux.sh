#!/usr/bin/env bash
# Generate vmlinux/<arch>/vmlinux.h from the running kernel's BTF, or from a BTF file given as $1.
#
#   scripts/gen-vmlinux.sh [FILE [ARCH]]
#
# FILE is /sys/kernel/btf/vmlinux when not given. It may be a raw BTF blob (such as a copy of
# another machine's /sys/kernel/btf/vmlinux), an ELF vmlinux (its .BTF section, as in a -dbg
# package), or a kernel image: an uncompressed Image (Debian's arm64 vmlinuz, an EFI/PE file)
# or a gzip'd one, whose BTF is found by its header (magic 0xeb9f). ARCH (x86, arm64, ...) is
# the directory under vmlinux/: by default the machine's for /sys/kernel/btf/vmlinux or a raw
# blob, and that of the file for an ELF or an arm64 Image.
set -euo pipefail
cd "$(dirname "$0")/.."
btf=${1:-/sys/kernel/btf/vmlinux}
arch=${2:-}
bpftool=${BPFTOOL:-bpftool}

die() {
	echo "gen-vmlinux: $*" >&2
	exit 1
}

[ -r "$btf" ] || die "cannot read BTF at $btf: pass a BTF file as the first argument"

work=$(mktemp -d "${TMPDIR:-/tmp}/gen-vmlinux.XXXXXX")
tmp=
trap 'rm -rf "$work"; [ -z "$tmp" ] || rm -f "$tmp"' EXIT

# The first bytes of a file, as hex.
magic() { od -An -v -tx1 -N "$2" -j "${3:-0}" "$1" | tr -d ' \n'; }
# A little-endian u32 at an offset of a file.
u32() { od -An -tu4 --endian=little -N 4 -j "$2" "$1" | tr -d ' '; }

src=$btf
case $(magic "$btf" 4) in
1f8b*)
	gzip -dc "$btf" >"$work/image" || die "$btf: gzip data that does not decompress"
	src=$work/image
	;;
esac

case $(magic "$src" 4) in
9feb01*)
	kind=raw
	;;
7f454c46)
	kind=elf
	if [ -z "$arch" ]; then
		# e_machine, at 18 in both ELF classes (little-endian: the kernels built here).
		case $(magic "$src" 2 18) in
		3e00) arch=x86 ;;
		b700) arch=arm64 ;;
		f300) arch=riscv ;;
		*) die "$btf: an ELF of a machine this script does not know: pass the arch as the second argument" ;;
		esac
	fi
	;;
*)
	kind=image
	# An arm64 Image header holds "ARM\x64" at 56 (behind the PE stub's MZ, if any).
	if [ -z "$arch" ] && [ "$(magic "$src" 4 56)" = 41524d64 ]; then
		arch=arm64
	fi
	;;
esac
if [ -z "$arch" ]; then
	arch=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/riscv64/riscv/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/')
fi

if [ "$kind" = image ]; then
	# The BTF of a kernel image: a header (magic 0xeb9f, version 1, flags 0, hdr_len 24) whose
	# type and string sections follow it. Each candidate is cut out and checked by bpftool;
	# the largest that parses is the kernel's (modules' own BTF is not in the image).
	best=
	best_len=0
	while IFS=: read -r off _; do
		type_off=$(u32 "$src" $((off + 8)))
		type_len=$(u32 "$src" $((off + 12)))
		str_off=$(u32 "$src" $((off + 16)))
		str_len=$(u32 "$src" $((off + 20)))
		end=$((type_off + type_len))
		[ $((str_off + str_len)) -le $end ] || end=$((str_off + str_len))
		len=$((24 + end))
		[ "$len" -gt "$best_len" ] || continue
		dd if="$src" of="$work/cand" bs=1M skip="$off" count="$len" iflag=skip_bytes,count_bytes status=none
		"$bpftool" btf dump file "$work/cand" >/dev/null 2>&1 || continue
		mv "$work/cand" "$work/btf"
		best=$off
		best_len=$len
	done < <(LC_ALL=C grep -obUaP '\x9f\xeb\x01\x00\x18\x00\x00\x00' "$src" || true)
	[ -n "$best" ] || die "$btf: no BTF found in it (a kernel built without CONFIG_DEBUG_INFO_BTF?)"
	echo "gen-vmlinux: BTF of $best_len bytes at offset $best of $btf" >&2
	src=$work/btf
fi

mkdir -p "vmlinux/$arch"
tmp=$(mktemp "vmlinux/$arch/.vmlinux.h.XXXXXX")
"$bpftool" btf dump file "$src" format c >"$tmp"
chmod 644 "$tmp"
mv "$tmp" "vmlinux/$arch/vmlinux.h"
tmp=
echo "wrote vmlinux/$arch/vmlinux.h from $btf"
