# SPDX-License-Identifier: BSD-2-Clause
# Helpers for the integration tests (sourced). Each test prints PASS:/FAIL:/SKIP: lines.

BPFMETER=${BPFMETER:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bpfmeter}
# On tmpfs where there is one: the RAPL simulator rewrites files every millisecond.
TMP=$(mktemp -d /dev/shm/bpfmeter-test.XXXXXX 2>/dev/null || mktemp -d /tmp/bpfmeter-test.XXXXXX)
# Live sessions keep their models in --state-dir (default /var/lib/bpfmeter). Tests keep none
# (an empty $BPFMETER_STATE_DIR), so that none leaves state on the host and no session starts
# from a model another one fitted; tests/integration/state.sh names its own directory.
export BPFMETER_STATE_DIR=
CG_MOUNT=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' /proc/self/mountinfo | head -n 1)
CG_BASE=
BG_PIDS=()

# TEST_PREFIX names a second run of the same tests, e.g. on the sanitizer build.
pass() { echo "PASS: ${TEST_PREFIX:-}$1"; }
fail() { echo "FAIL: ${TEST_PREFIX:-}$1: $2"; }
skip() { echo "SKIP: ${TEST_PREFIX:-}$1: $2"; }

# skip_root TEST WHY: skip TEST, which needs root; silently in the unprivileged rerun
# (rerun_unprivileged), as the run as root reports it.
skip_root() {
	[ -n "${UNPRIVILEGED_RERUN:-}" ] || skip "$1" "$2"
}

# root_only TEST...: true when this run can load BPF, make cgroups and load them with stress-ng.
# Otherwise false, and each TEST is skipped (skip_root) with the reason, also left in ROOT_WHY.
root_only() {
	local t
	ROOT_WHY=
	[ "$(id -u)" -eq 0 ] || ROOT_WHY="needs root to load BPF programs and make cgroups"
	[ -n "$ROOT_WHY" ] || [ -n "$CG_MOUNT" ] || ROOT_WHY="no cgroup2 mount in /proc/self/mountinfo"
	command -v stress-ng >/dev/null || ROOT_WHY=${ROOT_WHY:-"stress-ng is not installed (run scripts/install-deps.sh)"}
	if [ -n "$ROOT_WHY" ]; then
		for t in "$@"; do skip_root "$t" "$ROOT_WHY"; done
		return 1
	fi
	if [ -z "$CG_BASE" ]; then
		CG_BASE=$CG_MOUNT/bpfmeter-test-$$
		mkdir -p "$CG_BASE"
	fi
}

# Skip every test of the file (named in $@) unless we can load BPF and make cgroups.
need_root_and_cgroup2() {
	root_only "$@" || exit 0
}

# unprivileged CMD...: run CMD as the user nobody (uid and gid 65534, no supplementary groups,
# so no capabilities) when we are root; as it is when we are not, being unprivileged already.
# What CMD runs and reads must be readable by nobody: see nobody_copy. Status 125 when root
# has neither setpriv nor runuser (both util-linux) to drop to nobody.
unprivileged() {
	if [ "$(id -u)" -ne 0 ]; then
		"$@"
	elif command -v setpriv >/dev/null; then
		setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
	elif command -v runuser >/dev/null; then
		runuser -u nobody -- "$@"
	else
		echo "neither setpriv nor runuser (util-linux) is installed to drop root" >&2
		return 125
	fi
}

# When root: a directory the user nobody can read, for the copies nobody_copy and
# rerun_unprivileged make.
NOBODY_DIR=
if [ "$(id -u)" -eq 0 ]; then
	NOBODY_DIR=$(mktemp -d "$(dirname "$TMP")/bpfmeter-nobody.XXXXXX") && chmod 755 "$NOBODY_DIR"
fi

# nobody_copy PATH: when root, print the path of a copy of the file or tree PATH that nobody
# can read (and run, where PATH can be run); PATH itself otherwise.
nobody_copy() {
	local d
	if [ -z "$NOBODY_DIR" ]; then
		echo "$1"
		return
	fi
	d=$(mktemp -d "$NOBODY_DIR/copy.XXXXXX") && cp -rp -- "$1" "$d/" && chmod -R a+rX "$d" &&
		echo "$d/$(basename "$1")"
}

# rerun_unprivileged [FILE...]: when root, run this script again as nobody (unprivileged), for
# its tests that need no root, named "unprivileged/" + their name: from a copy readable by
# nobody of the tests, bpfmeter and the programs of .output/ the tests run, with copies of the
# FILEs (from this run) in the directory $UNPRIV_HANDOFF. In the rerun root_only skips the
# rest silently. Its status is the rerun's; when not root (or in the rerun) it does nothing.
rerun_unprivileged() {
	local repo d f rc name
	[ -n "$NOBODY_DIR" ] && [ -z "${UNPRIVILEGED_RERUN:-}" ] || return 0
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	name=$(basename "$0" .sh)
	if ! command -v setpriv >/dev/null && ! command -v runuser >/dev/null; then
		skip "unprivileged/$name" "neither setpriv nor runuser (util-linux) is installed to drop root"
		return 0
	fi
	d=$(mktemp -d "$NOBODY_DIR/rerun.XXXXXX")
	mkdir -p "$d/.output" "$d/handoff"
	# -p: the simulator's test rebuilds it when its source looks newer.
	cp -rp "$repo/tests" "$d/"
	cp -p "$BPFMETER" "$d/"
	for f in rapl-sim http-push; do
		[ ! -e "$repo/.output/$f" ] || cp -p "$repo/.output/$f" "$d/.output/"
	done
	[ $# -eq 0 ] || cp -p -- "$@" "$d/handoff/"
	chmod -R a+rX "$d"
	(cd "$d" && unprivileged env UNPRIVILEGED_RERUN=1 TEST_PREFIX="${TEST_PREFIX:-}unprivileged/" \
		BPFMETER="$d/$(basename "$BPFMETER")" HTTP_PUSH="$d/.output/http-push" \
		UNPRIV_HANDOFF="$d/handoff" bash "$d/tests/integration/$name.sh") 2>&1 |
		tee "$TMP/unprivileged.out"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL: ' "$TMP/unprivileged.out"; then
		fail "unprivileged/$name" "the run as nobody exited with status $rc: $(tail -n 3 "$TMP/unprivileged.out" | tr '\n' ' ')"
	fi
	return "$rc"
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
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP" ${NOBODY_DIR:+"$NOBODY_DIR"}
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

# wait_exit PID SECONDS: wait for PID to exit by itself; its status, or 124 when it did not.
wait_exit() {
	local _
	for _ in $(seq $(($2 * 20))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$1" 2>/dev/null && return 124
	wait "$1"
}

# csv_col FILE NAME: the column number of NAME in the CSV header.
csv_col() {
	head -n 1 "$1" | tr ',' '\n' | grep -nx -- "$2" | cut -d: -f1
}

# Stolen time: the hypervisor ran someone else while a task was on a CPU. Neither bpfmeter's
# on-CPU time nor cpu.stat's usage_usec include it (both are the scheduler's runtime); tests
# that compare other figures (wall clock, a guest's view) may still widen by it. steal_mark notes /proc/stat; steal_pct prints the share of all CPU
# time stolen since, in percent rounded up, to add to a tolerance against cpu.stat.
steal_mark() {
	STEAL_MARK=$(awk '$1 == "cpu" { print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
}
steal_pct() {
	awk -v m="${STEAL_MARK:-0 0}" '$1 == "cpu" { split(m, a, " "); t = $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 - a[2]
		s = $9 - a[1]; p = t > 0 ? 100 * s / t : 0; printf "%d", p == int(p) ? p : int(p) + 1 }' /proc/stat
}

# within A B PCT: true when A is within PCT percent of B.
within() {
	awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= b * p / 100) }'
}

# port_busy PORT: something accepts connections on 127.0.0.1:PORT.
port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
# free_port PORT: PORT, or the first port above it that nothing listens on.
free_port() {
	local p=$1
	while port_busy "$p"; do p=$((p + 1)); done
	echo "$p"
}

# start_prometheus CONFIG [CGROUP]: a real Prometheus on loopback (a free port from 19390, its
# TSDB in $TMP/tsdb, its log in $TMP/prometheus.log) scraping as CONFIG says, moved into
# CGROUP where one is given; sets PROM_PID and PBASE (its URL) and waits until it is ready.
start_prometheus() {
	local port
	port=$(free_port 19390)
	PBASE=http://127.0.0.1:$port
	prometheus --config.file="$1" --storage.tsdb.path="$TMP/tsdb" \
		--web.listen-address=127.0.0.1:"$port" --log.level=warn >"$TMP/prometheus.log" 2>&1 &
	PROM_PID=$!
	BG_PIDS+=("$PROM_PID")
	[ -z "${2:-}" ] || echo "$PROM_PID" >"$2/cgroup.procs"
	for _ in $(seq 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$PBASE/-/ready")" = 200 ] && break
		sleep 0.1
	done
}

# prom_query EXPR [TIME]: the answer (JSON) of start_prometheus's server to an instant query.
prom_query() {
	curl -s -G "$PBASE/api/v1/query" --data-urlencode "query=$1" ${2:+--data-urlencode "time=$2"}
}

# energy_vs_truth TRUTH CSV: each energy row of CSV (per socket, domain and interval) against
# the RAPL simulator's log TRUTH, interpolated at the interval's ends (zones of the intel-2s
# layout). Prints "rows|off|worst|details": the rows, those off by more than 0.5 % and the
# simulator's step at each end (its write around the end, 1 ms of energy, more where it was
# late: a reader sees the counter before or after it), the worst relative error, and what each
# off one was.
energy_vs_truth() {
	awk -v ck="$(csv_col "$2" kind)" -v cts="$(csv_col "$2" timestamp)" -v ci="$(csv_col "$2" interval_s)" \
		-v cs="$(csv_col "$2" socket)" -v cd="$(csv_col "$2" domain)" -v ce="$(csv_col "$2" energy_j)" '
	BEGIN { zone["0,package"] = "intel-rapl:0"; zone["0,dram"] = "intel-rapl:0:0"
		zone["1,package"] = "intel-rapl:1"; zone["1,dram"] = "intel-rapl:1:0" }
	FNR == NR { n[$2]++; t[$2, n[$2]] = $1; j[$2, n[$2]] = $3; next }
	FNR == 1 { FS = ","; $0 = $0; next }
	$ck == "energy" {
		z = zone[$cs "," $cd]; t1 = $cts; t0 = t1 - $ci
		e = at(z, t1) - at(z, t0); rows++
		err = e > 0 ? ($ce - e) / e : 1; if (err < 0) err = -err
		if (err > worst) worst = err
		slack = e > 0 ? (step(z, t0) + step(z, t1)) / e : 0
		if (err > 0.005 + slack) { bad++; why = why sprintf("%s %s at %.3f: %.4f J, true %.4f J; ", $cs, $cd, t1, $ce, e) }
	}
	function at(z, x,   k) {
		for (k = 2; k <= n[z]; k++) if (t[z, k] >= x) break
		if (k > n[z]) k = n[z]
		return j[z, k - 1] + (j[z, k] - j[z, k - 1]) * (x - t[z, k - 1]) / (t[z, k] - t[z, k - 1])
	}
	# The energy of one 1 ms write around x, and of the time the simulator was late beyond its
	# 10 ms log period: a reader may see the counter before it.
	function step(z, x,   k, gap, f) {
		for (k = 2; k <= n[z]; k++) if (t[z, k] >= x) break
		if (k > n[z]) k = n[z]
		gap = t[z, k] - t[z, k - 1]
		f = gap > 0 ? (gap - 0.010 + 0.001) / gap : 0
		f = f < 0.1 ? 0.1 : f > 1 ? 1 : f
		return (j[z, k] - j[z, k - 1]) * f
	}
	END { printf "%d|%d|%.5f|%s", rows, bad, worst, why }' "$1" "$2"
}
