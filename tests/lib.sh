# SPDX-License-Identifier: BSD-2-Clause
# Helpers for the integration tests (sourced). Each test prints PASS:/FAIL:/SKIP: lines.

BPFMETER=${BPFMETER:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bpfmeter}
# On tmpfs where there is one: the RAPL simulator rewrites files every millisecond.
TMP=$(mktemp -d /dev/shm/bpfmeter-test.XXXXXX 2>/dev/null || mktemp -d /tmp/bpfmeter-test.XXXXXX)
CG_MOUNT=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' /proc/self/mountinfo | head -n 1)
CG_BASE=
BG_PIDS=()

# TEST_PREFIX names a second run of the same tests, e.g. on the sanitizer build.
pass() { echo "PASS: ${TEST_PREFIX:-}$1"; }
fail() { echo "FAIL: ${TEST_PREFIX:-}$1: $2"; }
skip() { echo "SKIP: ${TEST_PREFIX:-}$1: $2"; }

# Skip every test of the file (named in $@) unless we can load BPF and make cgroups.
need_root_and_cgroup2() {
	local why=
	[ "$(id -u)" -eq 0 ] || why="needs root to load BPF programs and make cgroups"
	[ -n "$why" ] || [ -n "$CG_MOUNT" ] || why="no cgroup2 mount in /proc/self/mountinfo"
	command -v stress-ng >/dev/null || why=${why:-"stress-ng is not installed (run scripts/install-deps.sh)"}
	if [ -n "$why" ]; then
		for t in "$@"; do skip "$t" "$why"; done
		exit 0
	fi
	CG_BASE=$CG_MOUNT/bpfmeter-test-$$
	mkdir -p "$CG_BASE"
}

cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ -n "$CG_BASE" ] && [ -d "$CG_BASE" ]; then
		# Kill what is left in our cgroups, then remove them deepest first.
		find "$CG_BASE" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		sleep 0.2
		find "$CG_BASE" -depth -type d -exec rmdir {} + 2>/dev/null
	fi
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

make_cgroup() {
	mkdir -p "$CG_BASE/$1"
	echo "$CG_BASE/$1"
}

# The target name bpfmeter gives a cgroup: its path below the cgroup2 mount.
target_of() {
	echo "${1#"$CG_MOUNT"}"
}

# run_in_cgroup CGDIR CMD...: start CMD in the background inside the cgroup; sets BG_PID.
run_in_cgroup() {
	local cg=$1
	shift
	bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$@" &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

usage_usec() {
	awk '$1 == "usage_usec" { print $2 }' "$1/cpu.stat"
}

# start_bpfmeter OUT ERR ARGS...: run bpfmeter in the background, wait until its CSV header is out.
start_bpfmeter() {
	local out=$1 err=$2 i
	shift 2
	"$BPFMETER" "$@" >"$out" 2>"$err" &
	BPFMETER_PID=$!
	BG_PIDS+=("$BPFMETER_PID")
	for i in $(seq 100); do
		[ -s "$out" ] && return 0
		kill -0 "$BPFMETER_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

stop_bpfmeter() {
	kill -INT "$BPFMETER_PID" 2>/dev/null
	wait "$BPFMETER_PID"
}

# csv_col FILE NAME: the column number of NAME in the CSV header.
csv_col() {
	head -n 1 "$1" | tr ',' '\n' | grep -nx -- "$2" | cut -d: -f1
}

# within A B PCT: true when A is within PCT percent of B.
within() {
	awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= b * p / 100) }'
}
