#!/usr/bin/env bash
# Peak and steady memory of a real session (as root): bpfmeter -o csv:FILE -i 1 -d 5 -e ''.
# Prints VmHWM (the peak, reached while the programs load) and VmRSS as the last interval
# left it, in kB, from /proc/PID/status, and the target rows per interval. RSS counts every
# page mapped that a file's (a shared library's) holds, shared with other processes or not: the
# steady_* figures below it split the last sample (/proc/PID/smaps_rollup): pss (shared pages
# divided among the processes mapping them), private (pages mapped by this process alone,
# clean file pages of libraries no other process maps among them) and anon (heap, stacks,
# what the libraries wrote: what the process really holds).
#
#   [CGROUPS=N] bench-rss.sh [BPFMETER [ARGS...]]
#
# With CGROUPS=N, N cgroups are made active meanwhile: one shell walks them in turn, moving
# itself into each and starting /bin/true there, so that every one of them runs in most
# intervals (how many did is the rows figure).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-./bpfmeter}
[ $# -gt 0 ] && shift
out=$(mktemp -d)
. scripts/bench/walker.sh
cleanup() {
	walker_stop
	rm -rf "$out"
}
trap cleanup EXIT
if [ "${CGROUPS:-0}" -gt 0 ]; then
	walker_start rss "${CGROUPS:-0}"
fi
"$bin" -o "csv:$out/x.csv" -i 1 -d 5 -e '' "$@" 2>"$out/err" &
pid=$!
hwm=- rss=- pss=- priv=- anon=-
while kill -0 "$pid" 2>/dev/null; do
	if st=$(cat "/proc/$pid/status" 2>/dev/null); then
		h=$(awk '/^VmHWM/ { print $2 }' <<<"$st")
		r=$(awk '/^VmRSS/ { print $2 }' <<<"$st")
		[ -n "$h" ] && hwm=$h
		[ -n "$r" ] && rss=$r
	fi
	if ro=$(cat "/proc/$pid/smaps_rollup" 2>/dev/null) && [ -n "$ro" ]; then
		read -r p v a < <(awk '/^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { v += $2 }
			/^Anonymous:/ { a = $2 } END { print p, v, a }' <<<"$ro")
		[ -n "$p" ] && pss=$p priv=$v anon=$a
	fi
	sleep 0.2
done
wait "$pid" || { echo "bench-rss: $bin failed:" >&2; cat "$out/err" >&2; exit 1; }
echo "peak_rss_kb $hwm (VmHWM)"
echo "steady_rss_kb $rss (VmRSS at the last interval)"
echo "steady_pss_kb $pss (Pss) steady_private_kb $priv (Private_Clean + Private_Dirty)" \
	"steady_anon_kb $anon (Anonymous)"
awk -F, '$3 == "target" { n[$1]++ } END { for (t in n) { s += n[t]; k++ } printf "target_rows_per_interval %d\n", k ? s / k : 0 }' "$out/x.csv"
