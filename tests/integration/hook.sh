#!/usr/bin/env bash
# Which sched_switch twin is loaded: tp_btf where a probe says the kernel has it, raw_tp when
# told or where it has not; a tp_btf program that then fails to load is an error, never a
# silent fallback to raw_tp.
set -u
. "$(dirname "$0")/../lib.sh"

T_PROBE=hook/tp_btf_chosen_by_probe
T_DISABLE=hook/disable_tp_btf_loads_raw_tp
T_FAIL=hook/tp_btf_load_failure_is_an_error_not_a_fallback
need_root_and_cgroup2 $T_PROBE $T_DISABLE $T_FAIL

rows() { awk -F, 'NR > 1' "$1" | wc -l; }

if [ ! -r /sys/kernel/btf/vmlinux ]; then
	skip $T_PROBE "no kernel BTF at /sys/kernel/btf/vmlinux: tp_btf cannot be probed here"
else
	"$BPFMETER" -v -d 1 --csv --energy-source none >"$TMP/o" 2>"$TMP/e"
	rc=$?
	if [ $rc -eq 0 ] && grep -q 'debug: kernel: hook tp_btf/sched_switch' "$TMP/e" &&
		! grep -q 'tp_btf/sched_switch unavailable' "$TMP/e" && [ "$(rows "$TMP/o")" -gt 0 ]; then
		pass $T_PROBE
	else
		fail $T_PROBE "rc $rc: $(grep '^bpfmeter' "$TMP/e" | head -5)"
	fi
fi

BPFMETER_DISABLE=tp_btf "$BPFMETER" -v -d 1 --csv --energy-source none >"$TMP/o" 2>"$TMP/e"
rc=$?
if [ $rc -eq 0 ] && grep -q 'tp_btf/sched_switch unavailable (disabled by BPFMETER_DISABLE' "$TMP/e" &&
	grep -q 'debug: kernel: hook raw_tp/sched_switch' "$TMP/e" && [ "$(rows "$TMP/o")" -gt 0 ]; then
	pass $T_DISABLE
else
	fail $T_DISABLE "rc $rc: $(grep '^bpfmeter' "$TMP/e" | head -5)"
fi

# A BTF whose task_struct has no cgroups field: the probe finds tp_btf, then the CO-RE
# relocation of the tp_btf program fails, as a real bug in it would. The raw_tp twin does
# not read task_struct and would load: it must not be taken instead.
CLANG=${CLANG:-clang}
if [ ! -r /sys/kernel/btf/vmlinux ]; then
	skip $T_FAIL "no kernel BTF at /sys/kernel/btf/vmlinux: tp_btf cannot be probed here"
elif ! command -v "$CLANG" >/dev/null; then
	skip $T_FAIL "no $CLANG to build a BTF file without task_struct.cgroups"
else
	printf 'struct task_struct { int pid; int tgid; } __attribute__((preserve_access_index));\nstruct task_struct t;\n' >"$TMP/task.c"
	if ! "$CLANG" -g -O2 -target bpf -c "$TMP/task.c" -o "$TMP/task.o"; then
		fail $T_FAIL "$CLANG could not build $TMP/task.c"
	else
		"$BPFMETER" --btf "$TMP/task.o" -d 1 --csv --energy-source none >"$TMP/o" 2>"$TMP/e"
		rc=$?
		if [ $rc -eq 1 ] && grep -q 'cannot load the BPF programs (hook tp_btf/sched_switch)' "$TMP/e" &&
			! grep -q 'using raw_tp' "$TMP/e" && [ "$(rows "$TMP/o")" -eq 0 ]; then
			pass $T_FAIL
		else
			fail $T_FAIL "rc $rc (want 1), $(rows "$TMP/o") rows: $(grep '^bpfmeter' "$TMP/e" | head -3)"
		fi
	fi
fi
