#!/usr/bin/env bash
# Generate vmlinux/<arch>/vmlinux.h from the running kernel's BTF (or a BTF file given as $1).
set -euo pipefail
cd "$(dirname "$0")/.."
btf=${1:-/sys/kernel/btf/vmlinux}
arch=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/riscv64/riscv/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/')
bpftool=${BPFTOOL:-bpftool}
[ -r "$btf" ] || { echo "gen-vmlinux: cannot read BTF at $btf: pass a BTF file as the first argument" >&2; exit 1; }
mkdir -p "vmlinux/$arch"
tmp=$(mktemp "vmlinux/$arch/.vmlinux.h.XXXXXX")
trap 'rm -f "$tmp"' EXIT
"$bpftool" btf dump file "$btf" format c >"$tmp"
chmod 644 "$tmp"
mv "$tmp" "vmlinux/$arch/vmlinux.h"
trap - EXIT
echo "wrote vmlinux/$arch/vmlinux.h from $btf"
