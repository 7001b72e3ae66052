#!/usr/bin/env bash
# Run the whole test suite: unit tests (plain and ASan+UBSan builds), then the integration
# tests as root; those that need no root run again as nobody (named unprivileged/...). Every
# test prints "PASS: name", "FAIL: name: why" or "SKIP: name: why";
# the last line counts them: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0

# A suite that hangs fails after SUITE_TIMEOUT seconds (the longest, the fuzzing, takes about 80 s)
# instead of holding up the rest: timeout signals the suite's whole process group, what it
# started in the background included, and the suite's traps clean up.
SUITE_TIMEOUT=${SUITE_TIMEOUT:-600}

run_suite() {
	local name=$1 out rc
	shift
	echo "== $name"
	SECONDS=0
	out=$(timeout -k 20 "$SUITE_TIMEOUT" "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	echo "    ($name: $SECONDS s)"
	local p f s
	p=$(grep -c '^PASS: ' <<<"$out")
	f=$(grep -c '^FAIL: ' <<<"$out")
	s=$(grep -c '^SKIP: ' <<<"$out")
	# timeout's own status (124, or 137 after -k's KILL), told from a suite's by the time taken.
	if [ "$SECONDS" -ge "$SUITE_TIMEOUT" ] && { [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; }; then
		echo "FAIL: $name: still running after $SUITE_TIMEOUT s (SUITE_TIMEOUT), stopped"
		f=$((f + 1))
	# A suite that died without saying which test failed still fails once.
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $name: exited with status $rc"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

export BPFMETER=${BPFMETER:-$PWD/bpfmeter}
run_suite unit .output/unit-tests
run_suite unit-asan env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	.output/unit-tests-asan
for t in tests/integration/*.sh; do
	[ -e "$t" ] || continue
	[ "$t" = tests/integration/qemu.sh ] && continue
	run_suite "$(basename "$t" .sh)" bash "$t"
done

# The static binaries under qemu, one guest after the other: Debian's 6.1 kernel on x86_64,
# then on arm64 (qemu-system-aarch64 -M virt -cpu max), whose emulated PMU counts cycles and
# instructions, so that the hardware-event and multiplexing checks run there.
for arch in x86_64 arm64; do
	run_suite "qemu/$arch" env QEMU_ARCH=$arch bash tests/integration/qemu.sh
done

# The sanitizer build of bpfmeter on the real BPF programs: any ASan/UBSan report or leak
# makes bpfmeter exit non-zero, which these tests check.
for t in tests/integration/cli.sh tests/integration/counters.sh tests/integration/record.sh \
	tests/integration/process.sh tests/integration/agent.sh tests/integration/state.sh; do
	run_suite "asan/$(basename "$t" .sh)" env BPFMETER="$PWD/bpfmeter-asan" TEST_PREFIX=asan/ \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 bash "$t"
done

# The fallbacks for kernels without tp_btf (raw_tp), the interval flush (BPF_PROG_TEST_RUN on
# a CPU) and batch map lookups, forced on this kernel.
run_suite fallback/attribution env BPFMETER_DISABLE=tp_btf,test_run,batch TEST_PREFIX=fallback/ \
	bash tests/integration/attribution.sh

# Every parser of outside input under libFuzzer, a few seconds each (scripts/fuzz.sh runs longer).
run_suite fuzz scripts/fuzz.sh "${FUZZ_SECONDS:-3}"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
