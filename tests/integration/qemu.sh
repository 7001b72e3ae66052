#!/usr/bin/env bash
# CO-RE on an older kernel: the static bpfmeter on Debian's 6.1 kernel, booted under qemu
# (scripts/qemu-run.sh), over two busy loops in two cgroups; CPU time against the guest's cpu.stat.
# QEMU_KERNEL picks another kernel (a Debian version, package or file); the default is 6.1.
# The same script and checks then run on this machine's own kernel.
set -u
. "$(dirname "$0")/../lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STATIC=${BPFMETER_STATIC:-$ROOT/bpfmeter-static}
KERNEL=${QEMU_KERNEL:-6.1}

T_LOAD=qemu/bpfmeter_loads_on_$KERNEL
T_HOOK=qemu/hook_is_tp_btf
T_MATCH=qemu/cgroups_match_cpu_stat
T_EXIT=qemu/bpfmeter_exits_0
T_HOST=qemu/same_check_on_this_kernel
ALL="$T_LOAD $T_HOOK $T_MATCH $T_EXIT $T_HOST"
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

# In the guest: bpfmeter, then cgroup a busy for 3 s and b for 1.5 s, both at once. On the host
# the same below a cgroup of the test's own ($1), with bpfmeter from the directory $2.
cat >"$TMP/guest.sh" <<'EOF'
cg=${1:-/sys/fs/cgroup}
[ -z "${2:-}" ] || PATH=$2:$PATH
o=${3:-/tmp}
mkdir $cg/a $cg/b
echo "GUEST-CHECK-BEGIN"
bpfmeter check -e cpu-clock --energy-source none 2>&1
echo "GUEST-CHECK-END"
bpfmeter --csv -i 1 -d 6 -e cpu-clock --energy-source none -v >$o/out.csv 2>$o/err &
bm=$!
i=0
while [ ! -s $o/out.csv ] && kill -0 $bm 2>/dev/null && [ $i -lt 100 ]; do
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
grep -v '^libbpf: ' $o/err
echo "libbpf: $(grep -c '^libbpf: ' $o/err) debug lines"
[ $rc -eq 0 ] || grep '^libbpf: ' $o/err | tail -n 30
echo "GUEST-ERR-END"
echo "GUEST-CSV-BEGIN"
cat $o/out.csv
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
	'BEGIN { printf "    guest boot %s s (uptime at /init), guest run %.1f s\n", b, e - s }'

section() { # section NAME CONSOLE
	sed -n "/^GUEST-$1-BEGIN\$/,/^GUEST-$1-END\$/{ /^GUEST-$1-/d; p }" "$2"
}

# check CONSOLE PREFIX [TOLERANCE%]: loaded, hook, cgroups against cpu.stat, exit status; one line per
# failed point on stdout ("load: why", ...) and the figures ("info: ..."). PREFIX is the cgroups' parent as bpfmeter names it.
check() {
	local console=$1 prefix=$2 tol=${3:-3} rc hook c_target c_cpu g want got detail='' bad=''
	section CSV "$console" >"$TMP/out.csv"
	section ERR "$console" >"$TMP/err"
	rc=$(sed -n 's/^GUEST-RC \([0-9]*\)$/\1/p' "$console")
	if ! head -n 1 "$TMP/out.csv" | grep -q '^timestamp,' || [ "$(wc -l <"$TMP/out.csv")" -lt 2 ]; then
		echo "load: no CSV from bpfmeter: $(grep -v '^libbpf' "$TMP/err" | head -n 3 | tr '\n' ' ')"
	fi
	hook=$(sed -n 's|.*attached \([a-z_]*\)/sched_switch.*|\1|p' "$TMP/err")
	[ "$hook" = tp_btf ] || echo "hook: '${hook:-none}': $(grep -i 'tp_btf\|raw_tp' "$TMP/err" | head -n 3 | tr '\n' ' ')"
	c_target=$(csv_col "$TMP/out.csv" target)
	c_cpu=$(csv_col "$TMP/out.csv" cpu_ns)
	for g in a b; do
		want=$(sed -n "s/^GUEST-USAGE $g \([0-9]*\)\$/\1/p" "$console")
		got=$(awk -F, -v t="$prefix/$g" -v ct="${c_target:-0}" -v cc="${c_cpu:-0}" \
			'NR > 1 && ct && $ct == t { s += $cc } END { printf "%.0f", s / 1000 }' "$TMP/out.csv")
		detail+="$g: bpfmeter ${got}us cpu.stat ${want:-?}us; "
		within "$got" "${want:-0}" "$tol" || bad=1
	done
	echo "info: $detail"
	[ -z "$bad" ] || echo "match: $detail"
	[ "$rc" = 0 ] || echo "exit: status ${rc:-none}: $(grep -v '^libbpf' "$TMP/err" | head -n 3 | tr '\n' ' ')"
}

if ! grep -q '^GUEST-RC ' "$TMP/console"; then
	fail_all "the guest did not finish (qemu-run status $qrc): $(tail -n 5 "$TMP/qemu-err" "$TMP/console" | tr '\n' ' ')"
fi
res=$(check "$TMP/console" "")
section CHECK "$TMP/console" | sed 's/^/    /'
sed -n 's/^info: /    /p' <<<"$res"
section ERR "$TMP/console" | grep -v '^libbpf' | grep -v 'bpfmeter: debug:' | sed 's/^/    bpfmeter: /' | head -n 20
for pair in "load:$T_LOAD" "hook:$T_HOOK" "match:$T_MATCH" "exit:$T_EXIT"; do
	why=$(grep "^${pair%%:*}: " <<<"$res" | head -n 1)
	if [ -z "$why" ]; then pass "${pair#*:}"; else fail "${pair#*:}" "${why#*: }"; fi
done

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
