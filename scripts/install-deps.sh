#!/usr/bin/env bash
# Install what bpfmeter needs to build, run and test, from Debian's packages. Idempotent:
# it installs only what is missing and runs apt-get update only when something is.
set -euo pipefail

packages=(
	make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev libcsv-dev libgsl-dev
	libcurl4-openssl-dev
	# the --estimate table (user/energy/cpus.csv) turned into C at build time
	mawk
	# the capability drop after the start
	libcap-ng-dev
	# the Prometheus endpoint: its server, --web-config's YAML and bcrypt hashes
	libmicrohttpd-dev libyaml-dev libcrypt-dev
	# readiness for the systemd unit (Type=notify): sd_notify
	libsystemd-dev
	# tests and benchmarks
	stress-ng util-linux bsdutils linux-perf procps curl influxdb strace
	# tests/integration/liveview.sh: a real terminal to drive the live view's keys
	tmux
	# make fuzz: libFuzzer's runtime for clang (scripts/fuzz.sh)
	libclang-rt-14-dev
	# tests/integration/systemd.sh: the unit checked offline, a notify socket of its own
	systemd python3
	# make deb and tests/integration/package.sh; lintian checks the package
	dpkg-dev binutils adduser init-system-helpers man-db lintian
	# tests/integration/privilege.sh: a seccomp filter that blocks bpf() (.output/seccomp-deny)
	libseccomp-dev
	# tests/integration/prometheus.sh: a real Prometheus, its API read with jq, a test cert
	prometheus jq openssl
	# tests/integration/qemu.sh: scripts/qemu-run.sh boots Debian's 6.1 kernel under qemu
	qemu-system-x86 busybox-static cpio xz-utils
	# ... and Debian's arm64 kernel under qemu-system-aarch64, whose emulated PMU counts
	# cycles and instructions (tests/integration/qemu.sh with QEMU_ARCH=arm64)
	qemu-system-arm
	# make static: scripts/build-static-mhd.sh unpacks libmicrohttpd's source with dpkg-source
	dpkg-dev
	# make image and tests/integration/container.sh: podman on runc (crun cannot handle a
	# hybrid cgroup layout); the DaemonSet's check reads its YAML with PyYAML
	podman runc python3-yaml
)

# make static-arm64, elsewhere than on arm64 (there the packages above are the arm64 ones): the
# arm64 -dev packages of what make static links, with the arm64 architecture added to dpkg
# (multiarch: an arm64 library is kept at the version of its amd64 twin, so apt may upgrade that
# with it), Debian's cross toolchain and qemu-user to run the binary it builds. Not
# libgsl-dev:arm64, which would replace libgsl-dev (no Multi-Arch: same): make static-arm64
# unpacks it without installing it (scripts/fetch-cross-dev.sh).
arm64_dev=(libbpf-dev libelf-dev zlib1g-dev libcsv-dev libyaml-dev libcrypt-dev libcap-ng-dev)
foreign_arch=
if [ "$(dpkg --print-architecture)" != arm64 ]; then
	packages+=("${arm64_dev[@]/%/:arm64}" crossbuild-essential-arm64 qemu-user-static)
	dpkg --print-foreign-architectures | grep -qx arm64 || foreign_arch=arm64
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && [ -z "$foreign_arch" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}${foreign_arch:+ (and the $foreign_arch architecture in dpkg)}:" \
		"run this script as root (sudo $0)" >&2
	exit 1
fi
if [ -n "$foreign_arch" ]; then
	echo "install-deps: adding the $foreign_arch architecture to dpkg (multiarch)"
	dpkg --add-architecture "$foreign_arch"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
