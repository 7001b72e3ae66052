#!/usr/bin/env bash
# The RAPL simulator (tests/sim/rapl-sim.c) and the powercap fixture trees it drives: the power
# it writes into energy_uj, its wraps, its ground-truth log and its argument checks. It needs
# neither BPF nor RAPL, so it runs on any machine; only the real-cgroup check needs root. Run
# as root, the rest runs again as nobody.
set -u
. "$(dirname "$0")/../lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIM=$ROOT/.output/rapl-sim
FIX=$ROOT/tests/fixtures/powercap

T_FIX=simulator/fixture_trees_are_well_formed
T_CONST=simulator/const_power_within_half_percent_across_a_wrap
T_STEPS=simulator/steps_power_within_half_percent
T_LOG=simulator/log_ground_truth_matches_counters
T_OTHER=simulator/zones_without_a_profile_are_left_alone
T_EXIT=simulator/exits_cleanly_on_sigterm
T_LOAD=simulator/load_charges_k_joules_per_cpu_second
T_DUR=simulator/duration_stops_with_exact_energy
T_CG=simulator/load_follows_a_real_cgroup
T_NESTED=simulator/nested_tree_finds_subzones_by_name
T_ARGS=simulator/bad_arguments_exit_2_with_one_line
ALL="$T_FIX $T_CONST $T_STEPS $T_LOG $T_OTHER $T_EXIT $T_LOAD $T_DUR $T_CG $T_NESTED $T_ARGS"

# The reads are stamped with bash's own clock, which a fork would blur by milliseconds.
if [ -z "${EPOCHREALTIME:-}" ]; then
	for t in $ALL; do skip "$t" "bash ${BASH_VERSION} has no EPOCHREALTIME (needs bash 5)"; done
	exit 0
fi

# Driven trees go on tmpfs where there is one: a rename there takes microseconds, while on a
# disk file system it can stall behind the journal for milliseconds, and the counters lag.
SIMDIR=$TMP
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && d=$(mktemp -d /dev/shm/bpfmeter-sim.XXXXXX); then
	SIMDIR=$d
	trap 'rm -rf "$SIMDIR"; cleanup' EXIT
fi

# The test target does not build the simulator (tests/run.sh runs after it): build it here.
if [ ! -x "$SIM" ] || [ "$ROOT/tests/sim/rapl-sim.c" -nt "$SIM" ]; then
	if ! make -s -C "$ROOT" sim >"$TMP/make.log" 2>&1; then
		for t in $ALL; do fail "$t" "make sim failed: $(tail -n 3 "$TMP/make.log" | tr '\n' ' ')"; done
		exit 1
	fi
fi

# start_sim OUT ERR ARGS...: run rapl-sim in the background until it says ready; sets SIM_PID.
start_sim() {
	local out=$1 err=$2 _
	shift 2
	"$SIM" "$@" >"$out" 2>"$err" &
	SIM_PID=$!
	BG_PIDS+=("$SIM_PID")
	for _ in $(seq 100); do
		grep -qx ready "$out" 2>/dev/null && return 0
		kill -0 "$SIM_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# wrap_delta PREV CUR MODULUS: what a counter advanced from PREV to CUR (one wrap at most).
wrap_delta() {
	awk -v p="$1" -v c="$2" -v m="$3" 'BEGIN { d = c - p; if (d < 0) d += m; printf "%.0f\n", d }'
}

# calc EXPR: awk arithmetic, printed with enough digits for microjoules of gigajoules. The
# parentheses keep a comparison's > from being read as printf's redirection.
calc() {
	awk "BEGIN { printf \"%.6f\n\", ($1) }"
}

# truth LOG ZONE T: the zone's true cumulative joules at realtime T, interpolated from the log.
truth() {
	awk -v z="$2" -v t="$3" '
		$2 != z { next }
		$1 >= t { printf "%.6f\n", (n && $1 > pt) ? pj + ($3 - pj) * (t - pt) / ($1 - pt) : $3
			  done = 1; exit }
		{ pt = $1; pj = $3; n = 1 }
		END { if (!done) print "nan" }' "$1"
}

zone_listing() { # TREE -> "rel=name ..." for every zone, sorted as ls does in the C locale
	local rel
	(cd "$1" && find . -name name -type f | sed 's|^\./||; s|/name$||' | LC_ALL=C sort) |
		while read -r rel; do printf '%s=%s ' "$rel" "$(cat "$1/$rel/name")"; done
}

# --- The fixture trees: zones, names, counter ranges and control-type directories.
bad=
declare -A want_zones=(
	[intel-2s]="intel-rapl:0=package-0 intel-rapl:0:0=dram intel-rapl:1=package-1 intel-rapl:1:0=dram "
	[nested]="intel-rapl:0=package-0 intel-rapl:0/intel-rapl:0:0=dram intel-rapl:1=package-1 intel-rapl:1/intel-rapl:1:0=dram "
	[intel-laptop]="intel-rapl-mmio:0=package-0 intel-rapl:0=package-0 intel-rapl:0:0=core intel-rapl:0:1=uncore intel-rapl:1=psys "
	[amd-epyc]="intel-rapl:0=package-0 intel-rapl:1=package-1 "
)
# 0xffffffff counts of the unit the kernel derives: 61035 pJ (Intel ESU 14), 15258 pJ (AMD
# ESU 16), 15.3 uJ (the fixed DRAM unit of Haswell-EP to Ice Lake-SP servers).
declare -A want_range=([package]=262143328850 [core]=262143328850 [uncore]=262143328850
	[psys]=262143328850 [dram]=65712999613 [amd]=65532610987)
for tree in intel-2s nested intel-laptop amd-epyc; do
	d=$FIX/$tree
	got=$(zone_listing "$d")
	[ "$got" = "${want_zones[$tree]}" ] || bad+="$tree lists '$got'; "
	cts=("$d/intel-rapl" "$d/intel-rapl-mmio")
	[ "$tree" = nested ] && cts=("$d") # the nested tree is the control type's directory
	for ct in "${cts[@]}"; do
		[ -e "$ct" ] || continue
		files=
		for f in "$ct"/*; do
			case ${f##*/} in intel-rapl*) ;; *) files+="${f##*/} " ;; esac
		done
		[ "$files" = "enabled " ] || bad+="$tree: control type ${ct#"$FIX"/} has $files; "
	done
	for z in ${want_zones[$tree]}; do
		rel=${z%%=*} name=${z#*=}
		e=$(cat "$d/$rel/energy_uj") max=$(cat "$d/$rel/max_energy_range_uj")
		kind=${name%%-*}
		[ "$tree" = amd-epyc ] && kind=amd
		[ "$max" = "${want_range[$kind]}" ] || bad+="$tree/$rel: max_energy_range_uj $max; "
		[[ $e =~ ^[0-9]+$ ]] && [ "$e" -le "$max" ] || bad+="$tree/$rel: energy_uj '$e'; "
		[ -s "$d/$rel/enabled" ] || bad+="$tree/$rel: no enabled; "
		if [ -e "$d/$rel/constraint_0_name" ]; then
			[ "$(cat "$d/$rel/constraint_0_name")" = long_term ] ||
				bad+="$tree/$rel: constraint_0_name is not long_term; "
		elif [ "$tree" != amd-epyc ]; then
			bad+="$tree/$rel: no constraints; "
		fi
	done
done
[ -z "$bad" ] && pass $T_FIX || fail $T_FIX "$bad"

# --- Constant and stepped power, one forced wrap, the log: two zones read 1 s apart.
tree=$SIMDIR/2s
cp -r "$FIX/intel-2s" "$tree"
# 35 J into a 60 J range: at 50 W the counter wraps 0.5 s after the start, then every 1.2 s,
# so exactly one wrap falls between reads made ~0.05 s and ~1.05 s after the start.
echo 35000000 >"$tree/intel-rapl:0/energy_uj"
log=$TMP/sim.log
steps=20@0.5,80@1.3,35
if ! start_sim "$TMP/sim.out" "$TMP/sim.err" --root "$tree" --log "$log" \
	--max-range intel-rapl:0=60000000 intel-rapl:0=const:50 intel-rapl:1=steps:$steps \
	intel-rapl:0:0=const:7.5; then
	for t in $T_CONST $T_STEPS $T_LOG $T_OTHER $T_EXIT; do
		fail $t "rapl-sim did not start: $(head -c 300 "$TMP/sim.err")"
	done
else
	# EPOCHREALTIME and read are builtins: the stamp and the reads are microseconds apart.
	t1=$EPOCHREALTIME
	read -r a1 <"$tree/intel-rapl:0/energy_uj"
	read -r b1 <"$tree/intel-rapl:1/energy_uj"
	sleep 1
	t2=$EPOCHREALTIME
	read -r a2 <"$tree/intel-rapl:0/energy_uj"
	read -r b2 <"$tree/intel-rapl:1/energy_uj"
	sleep 0.5 # into the last step, so the log covers all three
	kill -TERM "$SIM_PID"
	wait_exit "$SIM_PID" 5
	rc=$?
	t_start=$(awk '{ print $1; exit }' "$log")

	# const: 50 W, measured across the wrap with the wrap arithmetic bpfmeter uses.
	mod0=60000001
	p0=$(calc "$(wrap_delta "$a1" "$a2" $mod0) / 1e6 / ($t2 - $t1)")
	echo "    intel-rapl:0 const:50 with a 60 J range: $a1 -> $a2 uJ in $(calc "$t2 - $t1") s = $p0 W"
	if [ "$(cat "$tree/intel-rapl:0/max_energy_range_uj")" != 60000000 ]; then
		fail $T_CONST "max_energy_range_uj is $(cat "$tree/intel-rapl:0/max_energy_range_uj"), not 60000000"
	elif [ "$a2" -ge "$a1" ]; then
		fail $T_CONST "no wrap between the reads ($a1 -> $a2): the first read came too late?"
	elif within "$p0" 50 0.5; then
		pass $T_CONST
	else
		fail $T_CONST "$p0 W, not 50 W within 0.5%"
	fi

	# steps: the profile's own energy between the two reads, by the times since the start.
	want1=$(awk -v s="$steps" -v a="$(calc "$t1 - $t_start")" -v b="$(calc "$t2 - $t_start")" '
		function e(t,   i, n, w, u, from, acc, parts) {
			n = split(s, parts, ",")
			for (i = 1; i <= n; i++) {
				w = parts[i]; u = 1e30
				if (index(w, "@")) { u = substr(w, index(w, "@") + 1); w = substr(w, 1, index(w, "@") - 1) }
				if (i == n || t < u) return acc + w * (t - from)
				acc += w * (u - from); from = u
			}
		}
		BEGIN { printf "%.6f\n", (e(b) - e(a)) / (b - a) }')
	p1=$(calc "$(wrap_delta "$b1" "$b2" 262143328851) / 1e6 / ($t2 - $t1)")
	echo "    intel-rapl:1 steps:$steps from $(calc "$t1 - $t_start") s to $(calc "$t2 - $t_start") s: $p1 W, profile $want1 W"
	within "$p1" "$want1" 0.5 && pass $T_STEPS || fail $T_STEPS "$p1 W, profile says $want1 W"

	# The log. Each read shows the truth as of the simulator's last write, a period or a
	# scheduling delay ago: it must equal the log's energy at a moment in the 10 ms before the
	# read (and never be ahead of it).
	bad=
	for r in intel-rapl:0=35000000=$mod0=$t1=$a1 intel-rapl:0=35000000=$mod0=$t2=$a2 \
		intel-rapl:1=93057322471=262143328851=$t1=$b1 intel-rapl:1=93057322471=262143328851=$t2=$b2; do
		IFS='=' read -r zn start m t cur <<<"$r"
		hi=$(truth "$log" "$zn" "$(calc "$t + 0.0005")")
		lo=$(truth "$log" "$zn" "$(calc "$t - 0.010")")
		# The counter's joules since the start, with as many wraps as the truth implies.
		got=$(awk -v s="$start" -v c="$cur" -v m="$m" -v j="$hi" 'BEGIN {
			b = (c - s) % m; if (b < 0) b += m; k = int((j * 1e6 - b) / m + 0.5)
			printf "%.6f\n", (b + k * m) / 1e6 }')
		echo "    $zn read at +$(calc "$t - $t_start") s: $got J; log $lo J 10 ms before, $hi J at the read"
		awk -v g="$got" -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(g >= lo - 1e-5 && g <= hi + 1e-5) }' ||
			bad+="$zn at +$(calc "$t - $t_start") s: counter $got J, log $lo..$hi J; "
	done
	read -r n0 tf0 jf0 < <(awk '$2 == "intel-rapl:0" { n++; t = $1; j = $3 } END { print n, t, j }' "$log")
	read -r tf1 jf1 < <(awk '$2 == "intel-rapl:1" { t = $1; j = $3 } END { print t, j }' "$log")
	# One line per zone every 10 ms, and time and energy never go back.
	[ "$n0" -ge "$(calc "($tf0 - $t_start) * 100 * 0.8" | cut -d. -f1)" ] ||
		bad+="only $n0 log lines for intel-rapl:0 in $(calc "$tf0 - $t_start") s; "
	awk '{ if ($1 < t[$2] || $3 < j[$2]) bad = 1; t[$2] = $1; j[$2] = $3 } END { exit bad }' "$log" ||
		bad+="the log goes back in time or energy; "
	within "$jf0" "$(calc "50 * ($tf0 - $t_start)")" 0.1 ||
		bad+="intel-rapl:0 logs $jf0 J after $(calc "$tf0 - $t_start") s of 50 W; "
	[ "$(calc "$tf1 - $t_start > 1.3")" = 1.000000 ] && within "$jf1" "$(calc "20 * 0.5 + 80 * 0.8 + 35 * ($tf1 - $t_start - 1.3)")" 0.1 ||
		bad+="intel-rapl:1 logs $jf1 J after $(calc "$tf1 - $t_start") s of steps:$steps; "
	# The counters' final values are the log's last energies, wrapped: to the microjoule.
	for z in intel-rapl:0=35000000=$mod0 intel-rapl:1=93057322471=262143328851 \
		intel-rapl:0:0=48825411780=65712999614; do
		IFS='=' read -r zn start m <<<"$z"
		jl=$(awk -v z="$zn" '$2 == z { j = $3 } END { print j }' "$log")
		read -r cur <"$tree/$zn/energy_uj"
		awk -v s="$start" -v j="$jl" -v m="$m" -v c="$cur" \
			'BEGIN { w = (s + sprintf("%.0f", j * 1e6)) % m; d = c - w; if (d < 0) d = -d
				 if (d > m / 2) d = m - d; exit !(d <= 1) }' ||
			bad+="$zn: energy_uj $cur after $jl J from $start (mod $m); "
	done
	[ -z "$bad" ] && pass $T_LOG || fail $T_LOG "$bad"

	if cmp -s "$tree/intel-rapl:1:0/energy_uj" "$FIX/intel-2s/intel-rapl:1:0/energy_uj" &&
		cmp -s "$tree/intel-rapl:1/max_energy_range_uj" "$FIX/intel-2s/intel-rapl:1/max_energy_range_uj"; then
		pass $T_OTHER
	else
		fail $T_OTHER "intel-rapl:1:0 energy_uj $(cat "$tree/intel-rapl:1:0/energy_uj") or intel-rapl:1's range changed"
	fi

	leftovers=$(find "$tree" -name '.*rapl-sim*')
	if [ "$rc" -eq 0 ] && [ ! -s "$TMP/sim.err" ] && [ -z "$leftovers" ]; then
		pass $T_EXIT
	else
		fail $T_EXIT "status $rc, stderr '$(head -c 200 "$TMP/sim.err")', left $leftovers"
	fi
fi

# --- load: K joules per CPU-second of the cgroups, on fake cpu.stat files the test moves.
tree=$SIMDIR/amd
cp -r "$FIX/amd-epyc" "$tree"
mkdir -p "$TMP/cg1" "$TMP/cg2"
set_usage() { # DIR USEC: replace cpu.stat in one rename, as a reader of cgroupfs expects
	printf 'usage_usec %s\nuser_usec %s\nsystem_usec 0\n' "$2" "$2" >"$1/cpu.stat.new"
	mv "$1/cpu.stat.new" "$1/cpu.stat"
}
set_usage "$TMP/cg1" 5000000
set_usage "$TMP/cg2" 700000
s0=40117733212 s1=38205114519 m=65532610988
t_begin=$EPOCHREALTIME
if ! start_sim "$TMP/load.out" "$TMP/load.err" --root "$tree" --duration 1.5 --period-ms 2 \
	intel-rapl:0=load:0:10:"$TMP/cg1,$TMP/cg2" intel-rapl:1=load:4:2:"$TMP/cg2"; then
	for t in $T_LOAD $T_DUR; do fail $t "rapl-sim did not start: $(head -c 300 "$TMP/load.err")"; done
else
	read -r e0 <"$tree/intel-rapl:0/energy_uj"
	# 1.5 + 0.5 CPU-seconds at 10 J each: 20 J, whatever the time it took.
	set_usage "$TMP/cg1" 6500000
	set_usage "$TMP/cg2" 1200000
	wait_exit "$SIM_PID" 5
	rc=$?
	took=$(calc "$EPOCHREALTIME - $t_begin")
	read -r f0 <"$tree/intel-rapl:0/energy_uj"
	read -r f1 <"$tree/intel-rapl:1/energy_uj"
	d0=$(wrap_delta "$s0" "$f0" $m) d1=$(wrap_delta "$s1" "$f1" $m)
	echo "    load:0:10 on two cgroups that used 2 CPU-seconds: $d0 uJ;" \
		"load:4:2 on one that used 0.5 for --duration 1.5: $d1 uJ"
	if [ "$e0" = "$s0" ] && [ "$d0" = 20000000 ]; then
		pass $T_LOAD
	else
		fail $T_LOAD "energy_uj $s0 -> $e0 before the usage moved, +$d0 uJ in all, not 20000000"
	fi
	# 4 W for exactly 1.5 s, plus 2 J for the 0.5 CPU-second: 7 J.
	if [ "$rc" -eq 0 ] && [ "$d1" = 7000000 ] && [ "$(calc "$took < 3")" = 1.000000 ]; then
		pass $T_DUR
	else
		fail $T_DUR "status $rc after $took s, load:4:2 gave $d1 uJ, not 7000000"
	fi
fi

# --- load on a real cgroup: the energy is K times the usage_usec it gained, to the microjoule.
if [ "$(id -u)" -ne 0 ] || [ -z "$CG_MOUNT" ]; then
	skip_root $T_CG "needs root and a cgroup2 mount to make a cgroup"
else
	CG_BASE=$CG_MOUNT/bpfmeter-test-$$
	mkdir -p "$CG_BASE"
	cg=$(make_cgroup sim-load)
	tree=$SIMDIR/amd-cg
	cp -r "$FIX/amd-epyc" "$tree"
	u0=$(usage_usec "$cg")
	if ! start_sim "$TMP/cg.out" "$TMP/cg.err" --root "$tree" intel-rapl:0=load:0:25:"$cg"; then
		fail $T_CG "rapl-sim did not start: $(head -c 300 "$TMP/cg.err")"
	else
		run_in_cgroup "$cg" timeout 0.6 bash -c 'while :; do :; done'
		wait "$BG_PID"
		sleep 0.1 # the cgroup is empty now: the simulator's last reads see its final usage
		kill -TERM "$SIM_PID"
		wait_exit "$SIM_PID" 5
		u1=$(usage_usec "$cg")
		read -r f <"$tree/intel-rapl:0/energy_uj"
		want=$((25 * (u1 - u0)))
		got=$(wrap_delta 40117733212 "$f" 65532610988)
		echo "    load:0:25 on a cgroup that used $(((u1 - u0) / 1000)) ms of CPU: +$got uJ"
		if [ "$u1" -gt "$u0" ] && [ "$got" -ge $((want - 1)) ] && [ "$got" -le "$want" ]; then
			pass $T_CG
		else
			fail $T_CG "+$got uJ for $((u1 - u0)) us of CPU at 25 J/s, not $want"
		fi
	fi
fi

# --- nested tree: intel-rapl:0:0 is found inside intel-rapl:0, as in /sys/devices/virtual.
tree=$SIMDIR/nested
cp -r "$FIX/nested" "$tree"
"$SIM" --root "$tree" --duration 0.2 intel-rapl:0:0=const:10 \
	intel-rapl:1/intel-rapl:1:0=const:5 >"$TMP/nested.out" 2>"$TMP/nested.err"
rc=$?
d00=$(wrap_delta 48825411780 "$(cat "$tree/intel-rapl:0/intel-rapl:0:0/energy_uj")" 65712999614)
d10=$(wrap_delta 21964338913 "$(cat "$tree/intel-rapl:1/intel-rapl:1:0/energy_uj")" 65712999614)
if [ $rc -eq 0 ] && [ "$d00" = 2000000 ] && [ "$d10" = 1000000 ] && [ ! -e "$tree/intel-rapl:0:0" ]; then
	pass $T_NESTED
else
	fail $T_NESTED "status $rc ($(head -c 200 "$TMP/nested.err")), +$d00 and +$d10 uJ, not 2 J and 1 J"
fi

# --- Bad arguments: status 2, one line naming the culprit, and the tree left as it was.
tree=$SIMDIR/args
cp -r "$FIX/intel-2s" "$tree"
bad=
args_case() { # WANT ARGS...: rapl-sim ARGS exits 2 with one line on stderr that has WANT in it
	local want=$1 rc
	shift
	timeout 5 "$SIM" "$@" >"$TMP/args.out" 2>"$TMP/args.err"
	rc=$?
	if [ $rc -ne 2 ] || [ "$(wc -l <"$TMP/args.err")" -ne 1 ] || ! grep -qF -- "$want" "$TMP/args.err"; then
		bad+="[$*: status $rc, '$(head -c 200 "$TMP/args.err")'] "
	fi
}
args_case --root
args_case "needs a value" --root
args_case ZONE=PROFILE --root "$tree"
args_case /nonexistent --root /nonexistent intel-rapl:0=const:1
args_case intel-rapl:9 --root "$tree" intel-rapl:9=const:1
args_case intel-rapl/energy_uj --root "$tree" intel-rapl=const:1
args_case ZONE=PROFILE --root "$tree" intel-rapl:0
args_case watts:5 --root "$tree" intel-rapl:0=watts:5
args_case "'-3'" --root "$tree" intel-rapl:0=const:-3
args_case "'abc'" --root "$tree" intel-rapl:0=const:abc
args_case steps:10@2,20@1 --root "$tree" intel-rapl:0=steps:10@2,20@1
args_case steps:10,20@1 --root "$tree" intel-rapl:0=steps:10,20@1
args_case "$TMP/nocg/cpu.stat" --root "$tree" intel-rapl:0=load:1:2:"$TMP/nocg"
args_case "'x'" --root "$tree" intel-rapl:0=load:1:x:"$TMP/cg1"
args_case twice --root "$tree" intel-rapl:0=const:1 intel-rapl:0=const:2
args_case --max-range --root "$tree" --max-range intel-rapl:0=0 intel-rapl:0=const:1
args_case intel-rapl:7 --root "$tree" --max-range intel-rapl:7=5000000 intel-rapl:0=const:1
args_case bogus:1 --root "$tree" --max-range intel-rapl:0=5000000 --log "$TMP/never.log" intel-rapl:0=bogus:1
args_case --period-ms --root "$tree" --period-ms 0 intel-rapl:0=const:1
args_case --duration --root "$tree" --duration -1 intel-rapl:0=const:1
args_case --bogus --root "$tree" --bogus intel-rapl:0=const:1
args_case /nonexistent/dir/log --root "$tree" --log /nonexistent/dir/log intel-rapl:0=const:1
# Everything is checked before anything is written.
diff -r "$FIX/intel-2s" "$tree" >/dev/null || bad+="a failed call changed the tree; "
[ ! -e "$TMP/never.log" ] || bad+="a failed call made its log; "
[ -z "$bad" ] && pass $T_ARGS || fail $T_ARGS "$bad"

rerun_unprivileged
