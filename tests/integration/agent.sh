#!/usr/bin/env bash
# What a host agent needs: SIGHUP reopens the file sinks (logrotate) without losing, repeating
# or splitting an interval.
set -u
. "$(dirname "$0")/../lib.sh"

T_ROT=agent/sighup_reopens_moved_files_intervals_once_each_and_whole
T_ROTFAIL=agent/sighup_reopen_that_fails_warned_each_time_others_go_on_next_sighup_brings_it_back
need_root_and_cgroup2 $T_ROT $T_ROTFAIL

# --- SIGHUP: logrotate's move, then the signal ---------------------------------------------

# The rotated files and the new ones together hold the session exactly: what csv:- and
# influx:- (never reopened) got, byte for byte, once the new file's header is left out.
start_bpfmeter "$TMP/all" "$TMP/rot.err" -i 0.3 -e '' -o csv:"$TMP/r.csv" -o influx:"$TMP/r.lp" \
	-o csv:- -o influx:-
sleep 1.3
mv "$TMP/r.csv" "$TMP/r.csv.1"
mv "$TMP/r.lp" "$TMP/r.lp.1"
kill -HUP "$BPFMETER_PID"
sleep 1.3
kill -HUP "$BPFMETER_PID" # without a move: the same files again, appended to
sleep 0.7
stop_bpfmeter
rc=$?
grep -v '^bpfmeter_' "$TMP/all" >"$TMP/all.csv"
grep '^bpfmeter_' "$TMP/all" >"$TMP/all.lp"
hdr=$(head -n 1 "$TMP/all.csv")
fields=$(awk -F, '{ print NF; exit }' "$TMP/all.csv")
whole() { awk -F, -v n="$fields" 'NF != n' "$1" | wc -l; }
n1=$(awk -F, 'NR > 1 { print $1 }' "$TMP/r.csv.1" | sort -u | wc -l)
n2=$(awk -F, 'NR > 1 { print $1 }' "$TMP/r.csv" | sort -u | wc -l)
nall=$(awk -F, 'NR > 1 { print $1 }' "$TMP/all.csv" | sort -u | wc -l)
echo "    intervals: $n1 in the rotated file, $n2 in the new one, $nall on stdout"
if [ $rc -eq 0 ] && [ "$(head -n 1 "$TMP/r.csv.1")" = "$hdr" ] && [ "$(head -n 1 "$TMP/r.csv")" = "$hdr" ] &&
	[ "$(grep -c '^timestamp,' "$TMP/r.csv")" -eq 1 ] &&
	[ "$(whole "$TMP/r.csv.1")" -eq 0 ] && [ "$(whole "$TMP/r.csv")" -eq 0 ] &&
	[ "$n1" -ge 2 ] && [ "$n2" -ge 2 ] && [ $((n1 + n2)) -eq "$nall" ] &&
	cmp -s <(cat "$TMP/r.csv.1"; tail -n +2 "$TMP/r.csv") "$TMP/all.csv" &&
	cmp -s <(cat "$TMP/r.lp.1" "$TMP/r.lp") "$TMP/all.lp" &&
	[ -s "$TMP/r.lp.1" ] && [ -s "$TMP/r.lp" ] && ! grep -q 'reopen' "$TMP/rot.err"; then
	pass $T_ROT
else
	fail $T_ROT "rc $rc; intervals $n1 + $n2 of $nall; half rows $(whole "$TMP/r.csv.1")/$(whole "$TMP/r.csv"): $(head -c 300 "$TMP/rot.err")"
fi

# A file that cannot be opened again (its directory is now a file): one warning naming it for
# each SIGHUP that cannot, none for the intervals in between; the other sink goes on. Once the
# directory is back, the next SIGHUP brings the sink back, its new file with the header.
mkdir "$TMP/d"
start_bpfmeter "$TMP/ok.csv" "$TMP/fail.err" -i 0.2 -e '' -o csv:"$TMP/d/x.csv" -o csv:-
sleep 0.7
mv "$TMP/d" "$TMP/d.1"
touch "$TMP/d"
kill -HUP "$BPFMETER_PID"
sleep 0.7
kill -HUP "$BPFMETER_PID" # still not there: said again
sleep 0.5
rm "$TMP/d"
mkdir "$TMP/d"
kill -HUP "$BPFMETER_PID"
sleep 0.7
stop_bpfmeter
rc=$?
warned=$(grep -c "cannot reopen $TMP/d/x.csv: Not a directory; going on without this output" "$TMP/fail.err")
ok_after=$(awk -F, -v t="$(awk -F, 'END { print $1 }' "$TMP/d.1/x.csv")" 'NR > 1 && $1 > t { print $1 }' "$TMP/ok.csv" | sort -u | wc -l)
back=$(awk -F, 'NR > 1 { print $1 }' "$TMP/d/x.csv" 2>/dev/null | sort -u | wc -l)
if [ $rc -eq 0 ] && [ "$warned" -eq 2 ] && [ "$(grep -c 'x.csv' "$TMP/fail.err")" -eq 2 ] &&
	[ "$(whole "$TMP/d.1/x.csv")" -eq 0 ] && [ "$ok_after" -ge 6 ] && [ "$back" -ge 2 ] &&
	[ "$(head -n 1 "$TMP/d/x.csv")" = "$(head -n 1 "$TMP/ok.csv")" ]; then
	pass $T_ROTFAIL
else
	fail $T_ROTFAIL "rc $rc, warned $warned times, $ok_after intervals in the other sink after, $back in the new file: $(head -c 400 "$TMP/fail.err")"
fi
