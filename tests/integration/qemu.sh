#!/usr/bin/env bash
# CO-RE on an older kernel: the static bpfmeter on Debian's 6.1 kernel, booted under qemu
# (scripts/qemu-run.sh), over two busy loops in two cgroups; CPU time against the guest's cpu.stat.
# QEMU_KERNEL picks another kernel (a Debian version, package or file); the default is 6.1.
set -u
. "$(dirname "$0")/../lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STATIC=${BPFMETER_STATIC:-$ROOT/bpfmeter-static}
KERNEL=${QEMU_KERNEL:-6.1}

T_LOAD=qemu/bpfmeter_loads_on_$KERNEL
T_HOOK=qemu/hook_is_tp_btf
T_MATCH=qemu/cgroups_match_cpu_stat
T_EXIT=qemu/bpfmeter_exits_0
ALL="$T_LOAD $T_HOOK $T_MATCH $T_EXIT"
t0=$(date +%s.%N)

skip_all() {
	for t in $ALL; do skip "$t" "$1"; done
	exit 0
}
fail_all() {
	for t in $ALL; do fail "$t" "$1"; done
	exit 1
}

command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 is not installed (run scripts/install-deps.sh)"
[ -x "$STATIC" ] || fail_all "no $STATIC: run make static"
# The kernel first, on its own: without a package to boot there is nothing to test.
if ! "$ROOT/scripts/qemu-run.sh" --kernel "$KERNEL" --fetch-only >/dev/null 2>"$TMP/fetch"; then
	skip_all "no kernel $KERNEL to boot: $(grep 'qemu-run:' "$TMP/fetch" | tail -n 1)"
fi

# In the guest: bpfmeter, then cgroup a busy for 3 s and b for 1.5 s, both at once.
cat >"$TMP/guest.sh" <<'EOF'
cg=/sys/fs/cgroup
mkdir $cg/a $cg/b
bpfmeter --csv -i 1 -d 6 -e cpu-clock --energy-source none -v >/tmp/out.csv 2>/tmp/err &
bm=$!
i=0
while [ ! -s /tmp/out.csv ] && kill -0 $bm 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
sh -c 'echo $$ >"$0/cgroup.procs"; while :; do :; done' $cg/a &
a=$!
sh -c 'echo $$ >"$0/cgroup.procs"; while :; do :; done' $cg/b &
b=$!
sleep 1.5
kill $b
sleep 1.5
kill $a
wait $bm
rc=$?
for g in a b; do
	echo "GUEST-USAGE $g $(awk '$1 == "usage_usec" { print $2 }' $cg/$g/cpu.stat)"
done
echo "GUEST-RC $rc"
echo "GUEST-ERR-BEGIN"
grep -v '^libbpf: ' /tmp/err
echo "libbpf: $(grep -c '^libbpf: ' /tmp/err) debug lines"
[ $rc -eq 0 ] || grep '^libbpf: ' /tmp/err | tail -n 30
echo "GUEST-ERR-END"
echo "GUEST-CSV-BEGIN"
cat /tmp/out.csv
echo "GUEST-CSV-END"
exit $rc
EOF

"$ROOT/scripts/qemu-run.sh" --kernel "$KERNEL" --timeout 90 \
	--file "$STATIC:/bin/bpfmeter" --file "$TMP/guest.sh:/root/guest.sh" \
	-- sh /root/guest.sh >"$TMP/console" 2>"$TMP/qemu-err"
qrc=$?
t1=$(date +%s.%N)
boot=$(sed -n 's/.*QEMU-BOOT: \([0-9.]*\) s$/\1/p' "$TMP/console" | head -n 1)
echo "    $(grep 'booting' "$TMP/qemu-err" | sed 's/^qemu-run: //')"
awk -v b="${boot:-?}" -v s="$t0" -v e="$t1" \
	'BEGIN { printf "    guest boot %s s (uptime at /init), whole test %.1f s\n", b, e - s }'

section() {
	sed -n "/^GUEST-$1-BEGIN\$/,/^GUEST-$1-END\$/{ /^GUEST-$1-/d; p }" "$TMP/console"
}
section CSV >"$TMP/out.csv"
section ERR >"$TMP/err"
sed 's/^/    bpfmeter: /' "$TMP/err" | grep -v 'bpfmeter: bpfmeter: debug:' | head -n 40
grep -o 'attached .*/sched_switch' "$TMP/err" | sed 's/^/    /'
rc=$(sed -n 's/^GUEST-RC \([0-9]*\)$/\1/p' "$TMP/console")

if [ -z "$rc" ]; then
	why="the guest did not finish (qemu-run status $qrc): $(tail -n 5 "$TMP/qemu-err" "$TMP/console" | tr '\n' ' ')"
	fail_all "$why"
fi

if head -n 1 "$TMP/out.csv" | grep -q '^timestamp,' && [ "$(wc -l <"$TMP/out.csv")" -gt 1 ]; then
	pass "$T_LOAD"
else
	fail "$T_LOAD" "no CSV from bpfmeter: $(grep -v '^libbpf' "$TMP/err" | head -n 3 | tr '\n' ' ')"
fi

hook=$(sed -n 's|.*attached \([a-z_]*\)/sched_switch.*|\1|p' "$TMP/err")
if [ "$hook" = tp_btf ]; then
	pass "$T_HOOK"
else
	fail "$T_HOOK" "hook '${hook:-none}': $(grep -i 'tp_btf\|raw_tp' "$TMP/err" | head -n 3 | tr '\n' ' ')"
fi

# Each cgroup's CPU time over the run equals its cpu.stat usage_usec within 3%.
c_target=$(csv_col "$TMP/out.csv" target)
c_cpu=$(csv_col "$TMP/out.csv" cpu_ns)
ok=1 detail=
for g in a b; do
	want=$(sed -n "s/^GUEST-USAGE $g \([0-9]*\)\$/\1/p" "$TMP/console")
	got=$(awk -F, -v t="/$g" -v ct="${c_target:-0}" -v cc="${c_cpu:-0}" \
		'NR > 1 && ct && $ct == t { s += $cc } END { printf "%.0f", s / 1000 }' "$TMP/out.csv")
	detail+="$g: bpfmeter ${got}us cpu.stat ${want:-?}us; "
	within "$got" "${want:-0}" 3 || ok=0
done
echo "    $detail"
if [ $ok = 1 ]; then pass "$T_MATCH"; else fail "$T_MATCH" "$detail"; fi

if [ "$rc" = 0 ]; then
	pass "$T_EXIT"
else
	fail "$T_EXIT" "exit status $rc: $(grep -v '^libbpf' "$TMP/err" | head -n 3 | tr '\n' ' ')"
fi
