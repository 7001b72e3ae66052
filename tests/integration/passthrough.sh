#!/usr/bin/env bash
# Energy passed through to a VM, end to end: on the host, the RAPL simulator drives a powercap
# tree from the CPU the test's cgroups use, qemu runs in a cgroup named as libvirt names a VM's
# scope, and bpfmeter --export-powercap keeps the VM's tree; in the guest (Debian's 6.1 kernel,
# scripts/qemu-run.sh) that tree is mounted read-only over 9p and the static bpfmeter reads it
# with --powercap-root over two busy cgroups. The guest's measured energy must be the host's
# attribution to the VM over the same window, and the guest's targets must add up to it.
set -u
. "$(dirname "$0")/../lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STATIC=${BPFMETER_STATIC:-$ROOT/bpfmeter-static}
SIM=$ROOT/.output/rapl-sim
KERNEL=${QEMU_KERNEL:-6.1}
HOSTNAME_=hv-test
VM=guest1

T_FILE=passthrough/export_to_a_file_is_exit_2
T_MKDIR=passthrough/export_where_no_directory_can_be_made_is_exit_2
T_TREE=passthrough/host_keeps_the_vm_tree
T_MARK=passthrough/guest_says_passed_through_from_the_host
T_MATCH=passthrough/guest_energy_is_the_host_attribution_to_the_vm
T_SUM=passthrough/guest_targets_add_up_to_its_measured_energy
T_KEPT=passthrough/tree_kept_after_the_vm_ended
GUEST="$T_TREE $T_MARK $T_MATCH $T_SUM $T_KEPT"
t0=$(date +%s.%N)

# Bad input, before anything is loaded: one line naming it and what to do, exit status 2.
bad_input() { # bad_input TEST DIR WORDS
	local t=$1 dir=$2 words=$3 rc out
	out=$("$BPFMETER" --export-powercap "$dir" -d 1 -e '' --csv 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -qF -- "--export-powercap $dir" <<<"$out" &&
		grep -q "$words" <<<"$out"; then
		pass "$t"
	else
		fail "$t" "status $rc: $out"
	fi
}
echo x >"$TMP/afile"
bad_input "$T_FILE" "$TMP/afile" "not a directory: give a directory"
bad_input "$T_MKDIR" "$TMP/afile/below" "cannot make the directory"

skip_guest() {
	for t in $GUEST; do skip "$t" "$1"; done
	exit 0
}
[ "$(id -u)" -eq 0 ] && [ -n "$CG_MOUNT" ] || skip_guest "needs root and a cgroup2 mount"
command -v qemu-system-x86_64 >/dev/null || skip_guest "qemu-system-x86_64 is not installed (run scripts/install-deps.sh)"
[ -x "$STATIC" ] || { for t in $GUEST; do fail "$t" "no $STATIC: run make static"; done; exit 1; }
if ! "$ROOT/scripts/qemu-run.sh" --kernel "$KERNEL" --fetch-only >/dev/null 2>"$TMP/fetch"; then
	skip_guest "no kernel $KERNEL to boot: $(grep 'qemu-run:' "$TMP/fetch" | tail -n 1)"
fi
[ -x "$SIM" ] || make -s -C "$ROOT" sim >/dev/null

# Host: one socket with package and dram, power from all the CPU the test's cgroups use.
CG_BASE=$CG_MOUNT/bpfmeter-test-$$
tools=$(make_cgroup tools)
vmcg=$(make_cgroup 'machine.slice/machine-qemu\x2d1\x2dguest1.scope')
cp -r "$ROOT/tests/fixtures/powercap/intel-2s" "$TMP/pc"
rm -rf "$TMP/pc/intel-rapl:1" "$TMP/pc/intel-rapl:1:0"
"$SIM" --root "$TMP/pc" intel-rapl:0=load:5:10:"$CG_BASE" intel-rapl:0:0=load:1:2:"$CG_BASE" \
	>"$TMP/sim.out" 2>&1 &
BG_PIDS+=($!)
echo $! >"$tools/cgroup.procs"
for _ in $(seq 50); do grep -q ready "$TMP/sim.out" && break; sleep 0.1; done
# The VM's directory made before it starts, so that the guest is given its own tree alone.
mkdir -p "$TMP/export/$VM"
start_bpfmeter "$TMP/host.csv" "$TMP/host.err" --csv -i 0.5 -e '' --host "$HOSTNAME_" \
	--powercap-root "$TMP/pc" --export-powercap "$TMP/export"
echo "$BPFMETER_PID" >"$tools/cgroup.procs"

# Guest: wait for the tree, then bpfmeter over cgroup a (busy 6 s) and b (3 s), energy_uj
# read before bpfmeter starts and after it ends.
cat >"$TMP/guest.sh" <<'EOF'
r=/mnt/powercap
cg=/sys/fs/cgroup
i=0
while ! [ -s $r/intel-rapl:0/energy_uj ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
echo "GUEST-TREE $(ls $r | tr '\n' ' ')"
echo "GUEST-CHECK-BEGIN"
bpfmeter check -e '' --powercap-root $r 2>&1
echo "GUEST-CHECK-END"
mkdir $cg/a $cg/b
echo "GUEST-E0 $(cat $r/intel-rapl:0/energy_uj)"
bpfmeter --csv -i 1 -d 8 -e '' --powercap-root $r >/tmp/out.csv 2>/tmp/err &
bm=$!
i=0
while [ ! -s /tmp/out.csv ] && kill -0 $bm 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
sh -c 'echo $$ >"$0/cgroup.procs"; while :; do :; done' $cg/a &
a=$!
sh -c 'echo $$ >"$0/cgroup.procs"; while :; do :; done' $cg/b &
b=$!
sleep 3
kill $b
sleep 3
kill $a
wait $bm
rc=$?
echo "GUEST-E1 $(cat $r/intel-rapl:0/energy_uj)"
echo "GUEST-RC $rc"
echo "GUEST-ERR-BEGIN"
cat /tmp/err
echo "GUEST-ERR-END"
echo "GUEST-CSV-BEGIN"
cat /tmp/out.csv
echo "GUEST-CSV-END"
exit $rc
EOF
"$ROOT/scripts/qemu-run.sh" --kernel "$KERNEL" --timeout 120 --cgroup "$vmcg" \
	--share "$TMP/export/$VM:powercap" \
	--file "$STATIC:/bin/bpfmeter" --file "$TMP/guest.sh:/root/guest.sh" \
	-- sh /root/guest.sh >"$TMP/console" 2>"$TMP/qemu-err"
qrc=$?
# The VM has ended: once the host's interval it ended in is written, its tree must stay as it is.
host_intervals() { grep -c ',energy,' "$TMP/host.csv"; }
wait_intervals() {
	local n0
	n0=$(host_intervals)
	for _ in $(seq 50); do [ "$(host_intervals)" -ge $((n0 + $1)) ] && break; sleep 0.1; done
}
wait_intervals 2
kept0=$(cat "$TMP/export/$VM/intel-rapl:0/energy_uj" 2>/dev/null)
wait_intervals 3
kept1=$(cat "$TMP/export/$VM/intel-rapl:0/energy_uj" 2>/dev/null)
stop_bpfmeter
t1=$(date +%s.%N)
echo "    $(grep 'booting' "$TMP/qemu-err" | sed 's/^qemu-run: //')"
awk -v s="$t0" -v e="$t1" 'BEGIN { printf "    test ran %.1f s\n", e - s }'

section() { sed -n "/^GUEST-$1-BEGIN\$/,/^GUEST-$1-END\$/{ /^GUEST-$1-/d; p }" "$TMP/console"; }
if ! grep -q '^GUEST-RC ' "$TMP/console"; then
	for t in $GUEST; do
		fail "$t" "the guest did not finish (qemu-run status $qrc): $(tail -n 5 "$TMP/qemu-err" "$TMP/console" | tr '\n' ' ')"
	done
	exit 1
fi
section CSV >"$TMP/guest.csv"
section ERR >"$TMP/guest.err"
section CHECK >"$TMP/guest.check"

# The host's tree: layout, units' range, the marker.
d=$TMP/export/$VM
why=''
[ "$(cat "$d/intel-rapl:0/name" 2>/dev/null)" = package-0 ] || why+="intel-rapl:0/name '$(cat "$d/intel-rapl:0/name" 2>&1)'; "
[ "$(cat "$d/intel-rapl:0/intel-rapl:0:0/name" 2>/dev/null)" = dram ] || why+="no dram zone; "
[ "$(cat "$d/intel-rapl:0/max_energy_range_uj" 2>/dev/null)" = 262143328850 ] || why+="max_energy_range_uj; "
grep -qx "host $HOSTNAME_" "$d/bpfmeter-passthrough" 2>/dev/null || why+="marker: '$(head -n 1 "$d/bpfmeter-passthrough" 2>&1)'; "
grep -q "^GUEST-TREE .*bpfmeter-passthrough" "$TMP/console" || why+="the guest sees $(grep '^GUEST-TREE' "$TMP/console"); "
if [ -z "$why" ]; then pass "$T_TREE"; else fail "$T_TREE" "$why"; fi

want="energy from powercap (passed through from host $HOSTNAME_)"
if grep -qF "$want" "$TMP/guest.err" && grep -qF "$want" "$TMP/guest.check"; then
	pass "$T_MARK"
else
	fail "$T_MARK" "startup: $(grep 'energy' "$TMP/guest.err" | head -n 1); check: $(grep 'energy' "$TMP/guest.check" | head -n 1)"
fi

# The host's attribution to the VM per host interval, cumulated: the values energy_uj took.
vmt=$(target_of "$vmcg")
# (ENVIRON: awk -v would read the \x2d of the name as an escape.)
VMT=$vmt awk -F, 'NR > 1 && $3 == "target" && $4 == ENVIRON["VMT"] && $7 == "package" { e[$1] += $10 }
	NR > 1 && !($1 in seen) { seen[$1] = 1; ts[n++] = $1 }
	END { c = 0; print 0; for (i = 0; i < n; i++) { c += e[ts[i]]; printf "%.6f\n", c } }' \
	"$TMP/host.csv" >"$TMP/cum"
e0=$(sed -n 's/^GUEST-E0 \([0-9]*\)$/\1/p' "$TMP/console")
e1=$(sed -n 's/^GUEST-E1 \([0-9]*\)$/\1/p' "$TMP/console")
g=$(awk -F, 'NR > 1 && $3 == "energy" && $7 == "package" { s += $10; n++ } END { printf "%.6f %d", s, n }' "$TMP/guest.csv")
gdur=$(awk -F, 'NR > 1 && $3 == "energy" && $7 == "package" { s += $2 } END { printf "%.3f", s }' "$TMP/guest.csv")
# The guest's window in host intervals: a <= b within [k0, k1] (where energy_uj was e0 and e1)
# with cum[b] - cum[a] the guest's total; cum is exact to the microjoule, so it is nearly exact
# (to 1 uJ on a quiet machine): 1 mJ or 0.1 % decides, as a loaded host has shown differences
# of 0.01 % (cause not found: noted, not hidden, as the figure is printed).
res=$(awk -v e0="${e0:-0}" -v e1="${e1:-0}" -v g="${g% *}" -v hi=0.5 '
	{ c[n++] = $1 }
	END {
		k0 = k1 = -1
		for (i = 0; i < n; i++) {
			if (k0 < 0 && c[i] * 1e6 >= e0 - 2) k0 = i
			if (c[i] * 1e6 <= e1 + 2) k1 = i
		}
		best = -1
		for (a = k0; a >= 0 && a <= k1; a++)
			for (b = a; b <= k1; b++) {
				d = c[b] - c[a] - g; if (d < 0) d = -d
				if (best < 0 || d < best) { best = d; ba = a; bb = b }
			}
		if (k0 < 0 || k1 < 0 || best < 0) { print "none", k0, k1; exit }
		printf "%.6f %d %d %.6f %.6f %d %d\n", c[bb] - c[ba], ba, bb, best, (e1 - e0) / 1e6, k0, k1
	}' "$TMP/cum")
read -r host_j ha hb diff_j delta_j k0 k1 <<<"$res"
echo "    guest: ${g% *} J measured over ${g#* } intervals (${gdur} s); energy_uj ${e0:-?} -> ${e1:-?} ($delta_j J) around its run"
echo "    host: ${host_j} J attributed to $VM over host intervals $((ha + 1))..$hb (0.5 s each: $(awk -v a="$ha" -v b="$hb" 'BEGIN { print (b - a) * 0.5 }') s), within $((k0 + 1))..$k1; difference ${diff_j} J"
if [ "$host_j" != none ] && awk -v d="$diff_j" -v g="${g% *}" 'BEGIN { exit !(d < 0.001 || d < g * 0.001) }' &&
	within "${g% *}" "$host_j" 5 &&
	awk -v a="$ha" -v b="$hb" -v gd="$gdur" 'BEGIN { w = (b - a) * 0.5; d = w - gd; if (d < 0) d = -d; exit !(d <= 1.0) }' &&
	awk -v g="${g% *}" 'BEGIN { exit !(g > 0) }'; then
	pass "$T_MATCH"
else
	fail "$T_MATCH" "guest ${g% *} J over $gdur s, host ${host_j} J over intervals $ha..$hb, difference $diff_j J (energy_uj ${e0:-?} -> ${e1:-?}; guest status $(sed -n 's/^GUEST-RC //p' "$TMP/console"): $(grep -v debug "$TMP/guest.err" | head -n 3 | tr '\n' ' ')"
fi

# In the guest, per interval: its targets (idle included) add up to what it measured; a ran
# twice as long as b and got more.
sum=$(awk -F, 'NR > 1 && $7 == "package" { if ($3 == "energy") m[$1] = $10; else t[$1] += $10
		if ($3 == "target" && $4 == "/a") a += $10; if ($3 == "target" && $4 == "/b") b += $10 }
	END { worst = 0; n = 0; for (k in m) { d = m[k] - t[k]; if (d < 0) d = -d; if (d > worst) worst = d; n++ }
		printf "%d %.6f %.3f %.3f\n", n, worst, a, b }' "$TMP/guest.csv")
read -r n worst ja jb <<<"$sum"
echo "    guest: $n intervals, targets minus measured at most ${worst} J; a ${ja} J, b ${jb} J"
if [ "$n" -ge 5 ] && awk -v w="$worst" -v a="$ja" -v b="$jb" 'BEGIN { exit !(w < 0.001 && a > b && b > 0) }'; then
	pass "$T_SUM"
else
	fail "$T_SUM" "$n intervals, worst $worst J, a $ja J, b $jb J"
fi

if [ -n "$kept0" ] && [ "$kept0" = "$kept1" ] && [ -f "$d/bpfmeter-passthrough" ]; then
	pass "$T_KEPT"
else
	fail "$T_KEPT" "energy_uj '$kept0' then '$kept1' after the VM ended"
fi
