#!/usr/bin/env bash
# Run every libFuzzer target (make fuzz: .output/fuzz-NAME, from tests/fuzz/NAME.c) for SECONDS
# each (default 60), from its seed corpus in tests/fuzz/corpus/NAME (copied: the seeds stay as
# committed), one target after the other.
#
#   scripts/fuzz.sh [SECONDS [NAME...]]
#
# Prints one line per target: its executions, executions per second, and the corpus it grew
# to, then PASS: fuzz/NAME or FAIL: fuzz/NAME: why (tests/run.sh runs it a few seconds each). On a crash (a sanitizer report, a leak, a timeout of a single input), it prints the
# reproducer's path and the report's first lines, goes on with the other targets, and exits 1
# at the end; 0 when none crashed; 2 for bad usage. A crash found becomes a unit test (or a
# seed here), fixed.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
[[ $secs =~ ^[0-9]+$ ]] && [ "$secs" -gt 0 ] || { echo "fuzz: SECONDS must be a whole number above 0, not '$secs'" >&2; exit 2; }
[ $# -gt 0 ] && shift
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in tests/fuzz/*.c; do names+=("$(basename "$f" .c)"); done
fi
make -s fuzz >/dev/null || { echo "fuzz: make fuzz failed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
crashed=0
for n in "${names[@]}"; do
	bin=.output/fuzz-$n
	[ -x "$bin" ] || { echo "fuzz: no target '$n' (tests/fuzz/$n.c)" >&2; exit 2; }
	mkdir -p "$work/$n/corpus" "$work/$n/art"
	cp tests/fuzz/corpus/"$n"/* "$work/$n/corpus/" 2>/dev/null || :
	TMPDIR=$work/$n ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -close_fd_mask=3 \
		-artifact_prefix="$work/$n/art/" "$work/$n/corpus" >"$work/$n/log" 2>&1
	rc=$?
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$n/log" | grep -o '[0-9]*$')
	[ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$work/$n/log" | tail -n 1 | tr -d '#')
	units=$(find "$work/$n/corpus" -type f | wc -l)
	printf 'fuzz %-10s execs %s per_s %s corpus %s\n' "$n" "${execs:-0}" \
		"$(( ${execs:-0} / secs ))" "$units"
	if [ $rc -eq 0 ] && [ "${execs:-0}" -eq 0 ]; then
		crashed=1
		echo "FAIL: fuzz/$n: ran no input: $(tail -n 2 "$work/$n/log" | tr '\n' ' ')"
	elif [ $rc -ne 0 ] || ls "$work/$n/art/"* >/dev/null 2>&1; then
		crashed=1
		mkdir -p .output/fuzz-crashes
		cp "$work/$n/art/"* .output/fuzz-crashes/ 2>/dev/null
		echo "fuzz $n: CRASH (exit $rc); reproducer(s) in .output/fuzz-crashes: $(ls "$work/$n/art" | tr '\n' ' ')"
		grep -m 8 -E 'ERROR|SUMMARY|runtime error|#[0-9] ' "$work/$n/log" | sed 's/^/    /'
		echo "FAIL: fuzz/$n: crash, reproducer in .output/fuzz-crashes"
	else
		echo "PASS: fuzz/$n"
	fi
done
exit $crashed
