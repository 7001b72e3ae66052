#!/usr/bin/env bash
# CO-RE on an older kernel: the static bpfmeter on Debian's 6.1 kernel, booted under qemu
# (scripts/qemu-run.sh), over two busy loops in two cgroups; CPU time against the guest's cpu.stat.
# QEMU_KERNEL picks another kernel (a Debian version, package or file); the default is 6.1.
# The same script and checks then run on this machine's own kernel.
#
# QEMU_ARCH=arm64 boots Debian's arm64 kernel on qemu-system-aarch64 -M virt -cpu max instead,
# with bpfmeter-static-arm64 ($BPFMETER_STATIC_ARM64): qemu's emulated PMUv3 is where hardware
# events count for real (tests named qemu-arm64/...). Besides the CPU time: cycles and
# instructions per cgroup (a busier cgroup counts more, a plausible IPC), more events than the
# PMU has counters (multiplexed, the scaled instructions against a run with two events only),
# bpfmeter check on those events (and on one the PMU lacks, one it leaves at 0), and what check
# says of energy on arm64 (there is no RAPL).
set -u
. "$(dirname "$0")/../lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KERNEL=${QEMU_KERNEL:-6.1}
ARCH=${QEMU_ARCH:-x86_64}
case $ARCH in
arm64 | aarch64)
	ARCH=arm64 P=qemu-arm64 QEMU_BIN=qemu-system-aarch64
	STATIC=${BPFMETER_STATIC_ARM64:-$ROOT/bpfmeter-static-arm64} MAKE_STATIC="make static-arm64"
	;;
*)
	ARCH=x86_64 P=qemu QEMU_BIN=qemu-system-x86_64
	STATIC=${BPFMETER_STATIC:-$ROOT/bpfmeter-static} MAKE_STATIC="make static"
	;;
esac

T_LOAD=$P/bpfmeter_loads_on_$KERNEL
T_HOOK=$P/hook_is_tp_btf
T_MATCH=$P/cgroups_match_cpu_stat
T_EXIT=$P/bpfmeter_exits_0
T_HOST=$P/same_check_on_this_kernel
T_HW=$P/cycles_instructions_per_cgroup
T_MUX=$P/multiplexed_instructions_match
T_CHECK=$P/check_lists_hw_events_ok
T_ENERGY=$P/check_names_arm64_energy_sources
T_HOTPLUG=$P/counters_of_a_cpu_that_comes_back
if [ $ARCH = arm64 ]; then
	# The PMU has 6 counters and the cycle counter: 8 events multiplex. qemu counts
	# INST_RETIRED (0x08) and CPU_CYCLES (0x11), which the raw ones count again.
	MUX_EVENTS=cycles,instructions,r11,r08,r011,r008,r0011,r0008
	ALL="$T_LOAD $T_HOOK $T_MATCH $T_EXIT $T_HW $T_MUX $T_CHECK $T_ENERGY $T_HOTPLUG" TIMEOUT=300
	# The guest: check on the two events (energy found as it would be), then one run on
	# them, one on all of MUX_EVENTS and one on the two where cpu1 goes offline and comes
	# back, each over its own pair of busy cgroups.
	GUEST_ARGS=("-e cycles,instructions,cache-misses,r23" cycles,instructions "$MUX_EVENTS"
		hotplug:cycles,instructions)
else
	ALL="$T_LOAD $T_HOOK $T_MATCH $T_EXIT $T_HOST" TIMEOUT=90
	GUEST_ARGS=()
fi
t0=$(date +%s.%N)

skip_all() {
	for t in $ALL; do skip "$t" "$1"; done
	exit 0
}
fail_all() {
	for t in $ALL; do fail "$t" "$1"; done
	exit 1
}

command -v $QEMU_BIN >/dev/null || skip_all "$QEMU_BIN is not installed (run scripts/install-deps.sh)"
[ -x "$STATIC" ] || fail_all "no $STATIC: run $MAKE_STATIC"
# The kernel first, on its own: without a package to boot there is nothing to test.
if ! "$ROOT/scripts/qemu-run.sh" --arch $ARCH --kernel "$KERNEL" --fetch-only >/dev/null 2>"$TMP/fetch"; then
	skip_all "no $ARCH kernel $KERNEL to boot: $(grep 'qemu-run:' "$TMP/fetch" | tail -n 1)"
fi

# In the guest: bpfmeter, then cgroup a busy for 3 s and b for 1.5 s, both at once. On the host
# the same below a cgroup of the test's own ($1), with bpfmeter from the directory $2.
cat >"$TMP/guest.sh" <<'EOF'
cg=${1:-/sys/fs/cgroup}
[ -z "${2:-}" ] || PATH=$2:$PATH
o=${3:-/tmp}
check=${4:--e cpu-clock --energy-source none}
[ $# -gt 4 ] && shift 4 || set --
echo "GUEST-CHECK-BEGIN"
bpfmeter check $check 2>&1
echo "GUEST-CHECK-END"
# One run per event list (cpu-clock where none is given), over cgroups a and b, a2 and b2...
# A list "hotplug:EVENTS": cpu1 goes offline for 0.5 s of the run.
n=0 rc_all=0
evs=${*:-cpu-clock}
for ev in $evs; do
hp=
case $ev in hotplug:*) hp=1 ev=${ev#hotplug:} ;; esac
n=$((n + 1))
s=$n
[ $n -gt 1 ] || s=
mkdir $cg/a$s $cg/b$s
bpfmeter --csv -i 1 -d 6 -e $ev --energy-source none -v >$o/out$s.csv 2>$o/err$s &
bm=$!
i=0
while [ ! -s $o/out$s.csv ] && kill -0 $bm 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
sh -c 'echo $$ >"$0/cgroup.procs"; while :; do :; done' $cg/a$s &
a=$!
sh -c 'echo $$ >"$0/cgroup.procs"; while :; do :; done' $cg/b$s &
b=$!
if [ -n "$hp" ]; then
	sleep 0.5
	echo 0 >/sys/devices/system/cpu/cpu1/online
	sleep 0.5
	echo 1 >/sys/devices/system/cpu/cpu1/online
	sleep 0.5
else
	sleep 1.5
fi
kill $b
sleep 1.5
kill $a
wait $bm
rc=$?
[ $rc -eq 0 ] || rc_all=$rc
for g in a b; do
	echo "GUEST-USAGE$s $g $(awk '$1 == "usage_usec" { print $2 }' $cg/$g$s/cpu.stat)"
done
echo "GUEST-RC$s $rc"
echo "GUEST-ERR$s-BEGIN"
grep -v '^libbpf: ' $o/err$s
echo "libbpf: $(grep -c '^libbpf: ' $o/err$s) debug lines"
[ $rc -eq 0 ] || grep '^libbpf: ' $o/err$s | tail -n 30
echo "GUEST-ERR$s-END"
echo "GUEST-CSV$s-BEGIN"
cat $o/out$s.csv
echo "GUEST-CSV$s-END"
done
exit $rc_all
EOF

"$ROOT/scripts/qemu-run.sh" --arch $ARCH --kernel "$KERNEL" --timeout "${QEMU_TIMEOUT:-$TIMEOUT}" \
	--file "$STATIC:/bin/bpfmeter" --file "$TMP/guest.sh:/root/guest.sh" \
	-- sh /root/guest.sh "" "" "" ${GUEST_ARGS[@]+"${GUEST_ARGS[@]}"} >"$TMP/console" 2>"$TMP/qemu-err"
qrc=$?
t1=$(date +%s.%N)
boot=$(sed -n 's/.*QEMU-BOOT: \([0-9.]*\) s$/\1/p' "$TMP/console" | head -n 1)
echo "    $(grep 'booting' "$TMP/qemu-err" | sed 's/^qemu-run: //')"
awk -v b="${boot:-?}" -v s="$t0" -v e="$t1" \
	'BEGIN { printf "    guest boot %s s (uptime at /init), guest run %.1f s\n", b, e - s }'

section() { # section NAME CONSOLE
	sed -n "/^GUEST-$1-BEGIN\$/,/^GUEST-$1-END\$/{ /^GUEST-$1-/d; p }" "$2"
}

# check CONSOLE PREFIX [TOLERANCE%] [RUN]: loaded, hook, cgroups against cpu.stat, exit status
# of the guest's run RUN (its sections and cgroups suffixed with it; "" for the first); one line
# per failed point on stdout ("load: why", ...) and the figures ("info: ..."). PREFIX is the
# cgroups' parent as bpfmeter names it. Leaves the run's CSV in $TMP/out$RUN.csv.
check() {
	local console=$1 prefix=$2 tol=${3:-3} r=${4:-} rc hook c_target c_cpu g want got detail='' bad=''
	local csv=$TMP/out$r.csv err=$TMP/err$r
	section "CSV$r" "$console" >"$csv"
	section "ERR$r" "$console" >"$err"
	rc=$(sed -n "s/^GUEST-RC$r \([0-9]*\)\$/\1/p" "$console")
	if ! head -n 1 "$csv" | grep -q '^timestamp,' || [ "$(wc -l <"$csv")" -lt 2 ]; then
		echo "load: no CSV from bpfmeter: $(grep -v '^libbpf' "$err" | head -n 3 | tr '\n' ' ')"
	fi
	hook=$(sed -n 's|.*attached \([a-z_]*\)/sched_switch.*|\1|p' "$err")
	[ "$hook" = tp_btf ] || echo "hook: '${hook:-none}': $(grep -i 'tp_btf\|raw_tp' "$err" | head -n 3 | tr '\n' ' ')"
	c_target=$(csv_col "$csv" target)
	c_cpu=$(csv_col "$csv" cpu_ns)
	for g in a b; do
		want=$(sed -n "s/^GUEST-USAGE$r $g \([0-9]*\)\$/\1/p" "$console")
		got=$(awk -F, -v t="$prefix/$g$r" -v ct="${c_target:-0}" -v cc="${c_cpu:-0}" \
			'NR > 1 && ct && $ct == t { s += $cc } END { printf "%.0f", s / 1000 }' "$csv")
		detail+="$g$r: bpfmeter ${got}us cpu.stat ${want:-?}us ($(awk -v a="$got" -v b="${want:-0}" \
			'BEGIN { printf "%+.2f%%", (b > 0 ? 100 * (a - b) / b : 0) }')); "
		within "$got" "${want:-0}" "$tol" || bad=1
	done
	echo "info: $detail"
	# A mismatch says where it is: each interval's cpu_ns of every target but idle, in ms.
	[ -z "$bad" ] || detail+="per interval: $(awk -F, -v ct="${c_target:-0}" -v cc="${c_cpu:-0}" \
		'NR > 1 && ct && $ct != "idle" { printf "%s %s %.1f; ", substr($1, length($1) - 5), $ct, $cc / 1e6 }' "$csv")"
	[ -z "$bad" ] || echo "match: $detail"
	[ "$rc" = 0 ] || echo "exit: status ${rc:-none}: $(grep -v '^libbpf' "$err" | head -n 3 | tr '\n' ' ')"
}

# sum_col CSV TARGET COLUMN: the column's sum over the target's rows.
sum_col() {
	awk -F, -v t="$2" -v ct="$(csv_col "$1" target)" -v cc="$(csv_col "$1" "$3")" \
		'NR > 1 && ct && cc && $ct == t { s += $cc } END { printf "%.0f", s }' "$1"
}

if ! grep -q '^GUEST-RC ' "$TMP/console"; then
	fail_all "the guest did not finish (qemu-run status $qrc): $(tail -n 5 "$TMP/qemu-err" "$TMP/console" | tr '\n' ' ')"
fi
res=$(check "$TMP/console" "")
[ $ARCH = arm64 ] && res+=$'\n'$(check "$TMP/console" "" 3 2 | sed 's/: /: run 2 (multiplexed): /')
section CHECK "$TMP/console" | sed 's/^/    /'
sed -n 's/^info: /    /p' <<<"$res"
section ERR "$TMP/console" | grep -v '^libbpf' | grep -v 'bpfmeter: debug:' | sed 's/^/    bpfmeter: /' | head -n 20
for pair in "load:$T_LOAD" "hook:$T_HOOK" "match:$T_MATCH" "exit:$T_EXIT"; do
	why=$(grep "^${pair%%:*}: " <<<"$res" | head -n 1)
	if [ -z "$why" ]; then pass "${pair#*:}"; else fail "${pair#*:}" "${why#*: }"; fi
done

if [ $ARCH = arm64 ]; then
	# Cycles and instructions per cgroup (run 1): counted, a (3 s busy) above b (1.5 s),
	# instructions per cycle plausible for any CPU.
	why=
	for g in a b; do
		eval "cyc_$g=\$(sum_col \"\$TMP/out.csv\" /$g cycles) ins_$g=\$(sum_col \"\$TMP/out.csv\" /$g instructions)"
	done
	hw=$(awk -v ca="$cyc_a" -v ia="$ins_a" -v cb="$cyc_b" -v ib="$ins_b" 'BEGIN {
		printf "a: cycles %.0f instructions %.0f IPC %.3f; b: cycles %.0f instructions %.0f IPC %.3f",
			ca, ia, (ca > 0 ? ia / ca : 0), cb, ib, (cb > 0 ? ib / cb : 0) }')
	echo "    $hw"
	awk -v ca="$cyc_a" -v ia="$ins_a" -v cb="$cyc_b" -v ib="$ins_b" 'BEGIN {
		exit !(ca > 0 && ia > 0 && cb > 0 && ib > 0) }' || why="not counted: $hw"
	[ -n "$why" ] || awk -v ca="$cyc_a" -v ia="$ins_a" -v cb="$cyc_b" -v ib="$ins_b" 'BEGIN {
		exit !(ca > cb && ia > ib) }' || why="the busier cgroup a does not count more than b: $hw"
	[ -n "$why" ] || awk -v ca="$cyc_a" -v ia="$ins_a" -v cb="$cyc_b" -v ib="$ins_b" 'BEGIN {
		x = ia / ca; y = ib / cb; exit !(x >= 0.05 && x <= 8 && y >= 0.05 && y <= 8) }' ||
		why="IPC out of 0.05 to 8: $hw"
	if [ -z "$why" ]; then pass "$T_HW"; else fail "$T_HW" "$why"; fi

	# Run 2: MUX_EVENTS, more than the PMU has counters. bpfmeter -v says which it
	# multiplexed. Each cgroup's scaled instructions against run 1's, the same load: per
	# CPU second within 10% (the loads' CPU time differs a few % from run to run; the
	# totals are shown too), and the raw events that count the same within 10% of theirs.
	why= mux=
	mux=$(grep 'multiplexed' "$TMP/err2" | head -n 3)
	echo "    run 2: $(grep -c 'multiplexed' "$TMP/err2") multiplexing lines, first: $(head -n 1 <<<"$mux" | sed 's/^bpfmeter: debug: //')"
	[ -n "$mux" ] || why="bpfmeter -v shows no multiplexing with $MUX_EVENTS; "
	for g in a b; do
		i1=$(sum_col "$TMP/out.csv" /$g instructions) i2=$(sum_col "$TMP/out2.csv" /${g}2 instructions)
		c1=$(sum_col "$TMP/out.csv" /$g cpu_ns) c2=$(sum_col "$TMP/out2.csv" /${g}2 cpu_ns)
		line=$(awk -v i1="$i1" -v i2="$i2" -v c1="$c1" -v c2="$c2" -v g=$g 'BEGIN {
			r1 = (c1 > 0 ? i1 / c1 : 0); r2 = (c2 > 0 ? i2 / c2 : 0)
			printf "%s: instructions %.0f in %.3f s (2 events) vs %.0f in %.3f s (8 events, scaled): total %.3f, per CPU ns %.4f vs %.4f = %.3f",
				g, i1, c1 / 1e9, i2, c2 / 1e9, (i1 > 0 ? i2 / i1 : 0), r1, r2, (r1 > 0 ? r2 / r1 : 0) }')
		echo "    $line"
		r1=$(awk -v i="$i1" -v c="$c1" 'BEGIN { printf "%.9f", (c > 0 ? i / c : 0) }')
		r2=$(awk -v i="$i2" -v c="$c2" 'BEGIN { printf "%.9f", (c > 0 ? i / c : 0) }')
		within "$r2" "$r1" 10 || why+="$line; "
		# The raw ones: instructions (r08...) and cycles (r11...) again, scaled.
		for e in ${MUX_EVENTS//,/ }; do
			case $e in r*8) ref=instructions ;; r*11) ref=cycles ;; *) continue ;; esac
			v=$(sum_col "$TMP/out2.csv" /${g}2 "$e") r=$(sum_col "$TMP/out2.csv" /${g}2 $ref)
			within "$v" "$r" 10 || why+="$g: $e $v vs $ref $r (same event, scaled); "
		done
	done
	if [ -z "$why" ]; then pass "$T_MUX"; else fail "$T_MUX" "$why"; fi

	# check on cycles,instructions: both ok; and cache-misses, which qemu's PMU does not
	# have (the kernel's ENOENT, as where there is no PMU at all): missing, saying so.
	why=
	for e in cycles instructions; do
		section CHECK "$TMP/console" | grep -qE "^ +ok +event $e\$" ||
			why+="$e: '$(section CHECK "$TMP/console" | grep -E "event $e( |:|\$)" | sed 's/^ *//')' "
	done
	section CHECK "$TMP/console" | grep -qE "^ +missing +event cache-misses: .*not counted by this CPU.s PMU" ||
		why+="cache-misses: '$(section CHECK "$TMP/console" | grep -E "event cache-misses" | sed 's/^ *//')' "
	# r23, STALL_FRONTEND: qemu's PMU advertises it and leaves it at 0; it opens, and check
	# says it counted nothing.
	section CHECK "$TMP/console" | grep -qE "^ +fallback +event r23: opened, but counted nothing" ||
		why+="r23: '$(section CHECK "$TMP/console" | grep -E "event r23" | sed 's/^ *//')' "
	if [ -z "$why" ]; then pass "$T_CHECK"; else fail "$T_CHECK" "${why% }"; fi

	# Run 3: cpu1 offline for 0.5 s. When it comes back bpfmeter opens its events again,
	# after dropping its capabilities at the start: at Debian's perf_event_paranoid 3 that
	# takes CAP_SYS_ADMIN, which it kept for that. Its cgroups' cycles then go on counting:
	# 0.95 a CPU ns or more over the intervals but the return's, which loses what ran on cpu1
	# before the reopen at its end (the one of the fewest cycles per ns).
	section CSV3 "$TMP/console" >"$TMP/out3.csv"
	section ERR3 "$TMP/console" >"$TMP/err3"
	why=
	grep -q 'cpu 1 came online' "$TMP/err3" || why="cpu 1 did not come back: $(grep -i 'cpu 1' "$TMP/err3" | head -n 3 | tr '\n' ' ')"
	grep -q 'some of its counters not\|came online: event' "$TMP/err3" &&
		why+="its events were not opened again: $(grep 'came online' "$TMP/err3" | head -n 3 | tr '\n' ' ')"
	for g in a b; do
		line=$(awk -F, -v t=/${g}3 -v g=${g}3 -v ct="$(csv_col "$TMP/out3.csv" target)" \
			-v cc="$(csv_col "$TMP/out3.csv" cpu_ns)" -v cy="$(csv_col "$TMP/out3.csv" cycles)" '
			NR > 1 && $ct == t { n++; ns[n] = $cc; c[n] = $cy; T += $cc; C += $cy
				if ($cc > 0 && (!w || $cy / $cc < c[w] / ns[w])) w = n }
			END { if (w) { t2 = T - ns[w]; c2 = C - c[w] }
				printf "%s: cycles %.0f in %.3f s of CPU (%.3f per ns; %.3f but the return'"'"'s interval)",
					g, C, T / 1e9, (T > 0 ? C / T : 0), (t2 > 0 ? c2 / t2 : 0) }' "$TMP/out3.csv")
		echo "    run 3 (cpu1 offline for 0.5 s): $line"
		awk -v l="$line" 'BEGIN { sub(/.*; /, "", l); exit !(l + 0 >= 0.95) }' || why+="$line; "
	done
	if [ -z "$why" ]; then pass "$T_HOTPLUG"; else fail "$T_HOTPLUG" "$why"; fi

	# Energy on arm64: no RAPL (no msr, no powercap zones here); check says which sources an
	# Arm machine may have, and nothing of x86's.
	en=$(section CHECK "$TMP/console" | grep -i 'energy' | sed 's/^ *//')
	why=
	grep -qiE 'modprobe msr|vendor_id|not an x86' <<<"$en" && why="x86 advice on arm64: "
	grep -qi 'hwmon' <<<"$en" || why+="no word of hwmon, where Arm parts give energy: "
	if [ -z "$why" ]; then pass "$T_ENERGY"; else fail "$T_ENERGY" "$why$(tr '\n' ' ' <<<"$en")"; fi
	exit 0
fi

# The same script and checks on this machine's kernel, with the same static binary.
if [ "$(id -u)" -ne 0 ] || [ -z "$CG_MOUNT" ]; then
	skip "$T_HOST" "needs root and a cgroup2 mount to load BPF here"
	exit 0
fi
CG_BASE=$CG_MOUNT/bpfmeter-test-$$
mkdir -p "$CG_BASE"
mkdir -p "$TMP/bin"
cp "$STATIC" "$TMP/bin/bpfmeter"
mkdir -p "$TMP/h"
# The hypervisor may steal time here: bpfmeter charges the scheduler's runtime, as cpu.stat
# does, so the tolerance is the guest's.
sh "$TMP/guest.sh" "$CG_BASE" "$TMP/bin" "$TMP/h" >"$TMP/host-console" 2>&1
res=$(check "$TMP/host-console" "$(target_of "$CG_BASE")" 3)
sed -n "s/^info: /    $(uname -r): /p" <<<"$res"
res=$(grep -v '^info: ' <<<"$res")
if [ -z "$res" ]; then
	pass "$T_HOST"
else
	fail "$T_HOST" "$(uname -r): $(tr '\n' ' ' <<<"$res")"
fi
