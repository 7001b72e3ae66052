#!/usr/bin/env bash
# Least privilege: bpfmeter as the user nobody holding only the project's capabilities as
# ambient ones measures what a root session measures, keeps CAP_BPF and CAP_PERFMON alone
# once started, and names the real cause when a capability is missing or bpf() is blocked.
set -u
. "$(dirname "$0")/../lib.sh"

T_CPU=privilege/ambient_caps_session_matches_cpu_stat_and_root
T_ENERGY=privilege/ambient_caps_session_reads_root_only_energy_uj
T_CAPS=privilege/after_start_only_cap_bpf_and_cap_perfmon_are_held
T_ROOTCAPS=privilege/root_session_drops_to_cap_bpf_and_cap_perfmon
T_MISSING=privilege/missing_cap_bpf_is_named
T_DAC=privilege/missing_cap_dac_read_search_names_energy_uj
T_SECCOMP=privilege/bpf_blocked_by_seccomp_is_named
T_PERFSEC=privilege/perf_event_open_blocked_by_seccomp_is_named
T_CMD=privilege/command_as_non_root_says_it_needs_root
T_USERDIR=privilege/root_session_writes_its_csv_in_a_users_directory
ALL="$T_CPU $T_ENERGY $T_CAPS $T_ROOTCAPS $T_MISSING $T_DAC $T_SECCOMP $T_PERFSEC $T_CMD $T_USERDIR"
need_root_and_cgroup2 $ALL

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SIM=$REPO/.output/rapl-sim
DENY=$REPO/.output/seccomp-deny
[ -x "$SIM" ] || make -s -C "$REPO" sim >/dev/null
[ -x "$DENY" ] || make -s -C "$REPO" seccomp-deny >/dev/null

if ! command -v setpriv >/dev/null; then
	for t in $ALL; do skip "$t" "setpriv (util-linux) is not installed"; done
	exit 0
fi
# The capability bits (/proc/PID/status, hex) of a list of names.
cap_bit() {
	case $1 in
	sys_rawio) echo 17 ;; dac_read_search) echo 2 ;; sys_resource) echo 24 ;;
	perfmon) echo 38 ;; bpf) echo 39 ;;
	esac
}
bnd=$((16#$(awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)))
if (((bnd >> 39) & 1)) && (((bnd >> 38) & 1)); then :; else
	for t in $ALL; do skip "$t" "CAP_BPF or CAP_PERFMON is not in this shell's bounding set (Linux before 5.8, or a sandbox)"; done
	exit 0
fi
# The project's set, less what this machine's bounding set lacks (a sandbox may hold back
# CAP_SYS_RESOURCE, which only kernels before 5.11 need).
set_caps=() lacking=""
for c in bpf perfmon dac_read_search sys_rawio sys_resource; do
	if ((((bnd >> $(cap_bit $c)) & 1))); then set_caps+=("+$c"); else lacking+=" CAP_${c^^}"; fi
done
[ -z "$lacking" ] || echo "    not in the bounding set here, so not granted:$lacking"
caps=$(IFS=,; echo "${set_caps[*]}")
without() { # CAPS NAME: the list without +NAME
	tr ',' '\n' <<<"$1" | grep -vx "+$2" | paste -sd,
}
as_nobody() { # CAPS CMD...: CMD as nobody with CAPS as its ambient (and inheritable) set
	local c=$1
	shift
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps="$c" --ambient-caps="$c" -- "$@"
}
BM=$(nobody_copy "$BPFMETER")

# A powercap tree as on a real host: energy_uj root's and 0400 (Linux 5.10 on), so nobody
# reads it only with CAP_DAC_READ_SEARCH. The simulator writes in place, as the file a
# session opened at the start is the one it reads after its capabilities are gone.
PC=$(mktemp -d "$NOBODY_DIR/pc.XXXXXX")
cp -r "$REPO/tests/fixtures/powercap/intel-2s/." "$PC/"
chmod -R a+rX "$PC"
find "$PC" -name energy_uj -exec chown root:root {} + -exec chmod 0400 {} +
busy=$(make_cgroup busy)
"$SIM" --in-place --root "$PC" --log "$TMP/truth" intel-rapl:0=load:10:20:"$busy" \
	intel-rapl:0:0=const:4 intel-rapl:1=const:30 intel-rapl:1:0=const:6 >"$TMP/sim.out" 2>&1 &
SIM_PID=$!
BG_PIDS+=("$SIM_PID")
for _ in $(seq 50); do grep -q ready "$TMP/sim.out" && break; sleep 0.1; done

# (a, b) Two sessions on the same load: root's, and nobody's with the ambient set.
args=(--csv -i 1 -e '' --powercap-root "$PC")
if ! start_bpfmeter "$TMP/root.csv" "$TMP/root.err" "${args[@]}"; then
	for t in $ALL; do fail "$t" "the root session did not start: $(head -c 300 "$TMP/root.err")"; done
	exit 1
fi
ROOT_PID=$BPFMETER_PID
# setpriv itself in the background (no subshell), so that $! is bpfmeter, which it becomes.
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps="$caps" --ambient-caps="$caps" -- \
	"$BM" "${args[@]}" >"$TMP/nobody.csv" 2>"$TMP/nobody.err" &
NOBODY_PID=$!
BG_PIDS+=("$NOBODY_PID")
for _ in $(seq 100); do [ -s "$TMP/nobody.csv" ] || ! kill -0 $NOBODY_PID 2>/dev/null && break; sleep 0.1; done
status_of() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
declare -A seen
for k in CapEff CapPrm CapInh CapAmb CapBnd; do
	seen[nobody$k]=$(status_of $NOBODY_PID $k) seen[root$k]=$(status_of $ROOT_PID $k)
done
run_in_cgroup "$busy" stress-ng --cpu 1 --timeout 3s --quiet
wait "$BG_PID"
sleep 1.2
kill -INT $NOBODY_PID
wait $NOBODY_PID
nrc=$?
stop_bpfmeter
rrc=$?
kill -TERM "$SIM_PID"
wait "$SIM_PID" 2>/dev/null

# CAP_BPF (39) and CAP_PERFMON (38) and nothing else: 0xc000000000.
want=$(printf '%016x' $(((1 << 39) | (1 << 38))))
detail=""
for k in CapEff CapPrm CapInh CapAmb; do
	[ "${seen[nobody$k]}" = "$want" ] || detail+="$k ${seen[nobody$k]:-none}; "
done
if [ $nrc -eq 0 ] && [ -z "$detail" ]; then
	pass $T_CAPS
else
	fail $T_CAPS "exit $nrc, want $want: ${detail}$(grep -v '^libbpf' "$TMP/nobody.err" | head -3)"
fi
# Root had no ambient or inheritable set: it keeps the two in the effective, permitted and
# (it has CAP_SETPCAP) bounding sets.
if [ $rrc -eq 0 ] && [ "${seen[rootCapEff]}" = "$want" ] && [ "${seen[rootCapPrm]}" = "$want" ] &&
	[ "${seen[rootCapBnd]}" = "$want" ] && [ "${seen[rootCapAmb]}" = 0000000000000000 ]; then
	pass $T_ROOTCAPS
else
	fail $T_ROOTCAPS "exit $rrc: CapEff ${seen[rootCapEff]} CapPrm ${seen[rootCapPrm]} CapBnd ${seen[rootCapBnd]} CapAmb ${seen[rootCapAmb]}"
fi

cpu_of() { # CSV: the busy cgroup's CPU time in us
	awk -F, -v t="$(target_of "$busy")" -v ct="$(csv_col "$1" target)" -v cc="$(csv_col "$1" cpu_ns)" \
		-v ck="$(csv_col "$1" kind)" -v cd="$(csv_col "$1" domain)" \
		'NR > 1 && $ck == "target" && $ct == t && $cd == "package" { s += $cc } END { printf "%.0f", s / 1000 }' "$1"
}
usage=$(usage_usec "$busy")
ncpu=$(cpu_of "$TMP/nobody.csv") rcpu=$(cpu_of "$TMP/root.csv")
detail="cpu.stat ${usage}us, nobody ${ncpu}us, root ${rcpu}us"
if [ $nrc -eq 0 ] && within "$ncpu" "$usage" 2 && within "$ncpu" "$rcpu" 2; then
	pass $T_CPU
	echo "    $detail"
else
	fail $T_CPU "exit $nrc: $detail"
fi

# Every interval's energy per socket and domain within 0.5% of the simulator's truth, in both
# sessions, and the same domains measured.
IFS="|" read -r nrows nbad _ nwhy <<<"$(energy_vs_truth "$TMP/truth" "$TMP/nobody.csv")"
IFS="|" read -r rrows rbad _ rwhy <<<"$(energy_vs_truth "$TMP/truth" "$TMP/root.csv")"
if [ $nrc -eq 0 ] && [ "$nrows" -ge 16 ] && [ "$nbad" -eq 0 ] && [ "$rrows" -ge 16 ] && [ "$rbad" -eq 0 ] &&
	grep -q "energy from powercap: package, dram on 2 sockets" "$TMP/nobody.err"; then
	pass $T_ENERGY
else
	fail $T_ENERGY "nobody: $nrows rows, $nbad off: ${nwhy:-} root: $rrows rows, $rbad off: ${rwhy:-} $(grep -v '^libbpf' "$TMP/nobody.err" | head -3)"
fi

# (c) A capability missing: one line naming it, exit 1.
as_nobody "$(without "$caps" bpf)" "$BM" --csv -d 1 -e '' --energy-source none >"$TMP/m.out" 2>"$TMP/m.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "missing privileges: CAP_BPF:" "$TMP/m.err" && ! grep -q CAP_PERFMON: "$TMP/m.err" &&
	[ "$(wc -l <"$TMP/m.err")" -eq 1 ]; then
	pass $T_MISSING
else
	fail $T_MISSING "exit $rc: $(cat "$TMP/m.err")"
fi
as_nobody "$(without "$caps" dac_read_search)" "$BM" --csv -d 1 -e '' --powercap-root "$PC" >"$TMP/d.out" 2>"$TMP/d.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "intel-rapl:0/energy_uj: Permission denied" "$TMP/d.err" &&
	[ "$(wc -l <"$TMP/d.err")" -eq 1 ]; then
	pass $T_DAC
else
	fail $T_DAC "exit $rc: $(cat "$TMP/d.err")"
fi

# (d) Every capability held, bpf() (then perf_event_open()) failing with EPERM under a
# seccomp filter, as a container's profile does.
for sc in bpf perf_event_open; do
	"$DENY" $sc "$BPFMETER" --csv -d 1 -e '' --energy-source none >"$TMP/s.out" 2>"$TMP/s.err"
	rc=$?
	t=$T_SECCOMP
	[ $sc = bpf ] || t=$T_PERFSEC
	if [ $rc -eq 1 ] && grep -q "^bpfmeter: $sc() is blocked (seccomp?): the capabilities are held" "$TMP/s.err" &&
		[ "$(wc -l <"$TMP/s.err")" -eq 1 ]; then
		pass $t
	else
		fail $t "exit $rc: $(cat "$TMP/s.err")"
	fi
done

# -- CMD as a user who is not root: its cgroup cannot be made at the top of the mount.
as_nobody "$caps" "$BM" --energy-source none -- true >"$TMP/c.out" 2>"$TMP/c.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "Permission denied (-- CMD makes its cgroup at the top of the cgroup2 mount: run as root" "$TMP/c.err"; then
	pass $T_CMD
else
	fail $T_CMD "exit $rc: $(cat "$TMP/c.err")"
fi

# sudo bpfmeter -o csv:out.csv in a user's directory: root may create the file there only with
# CAP_DAC_OVERRIDE, which goes with the drop; the file sinks open before it.
udir=$(mktemp -d "$TMP/user.XXXXXX")
chown 65534:65534 "$udir"
chmod 0755 "$udir"
(cd "$udir" && "$BPFMETER" -d 1 -i 0.5 -e '' --energy-source none -o csv:out.csv) >"$TMP/u.out" 2>"$TMP/u.err"
rc=$?
rows=$(($(wc -l <"$udir/out.csv" 2>/dev/null || echo 0) - 1))
if [ $rc -eq 0 ] && [ "$rows" -gt 0 ] && head -n 1 "$udir/out.csv" | grep -q '^timestamp,'; then
	pass $T_USERDIR
else
	fail $T_USERDIR "exit $rc, $rows rows: $(grep -v '^libbpf' "$TMP/u.err" | head -2)"
fi
