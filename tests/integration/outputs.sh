#!/usr/bin/env bash
# Several sinks at once, files that already exist, a disk that fills up, hostile names. Only
# the refusal of a file with another header needs no root: run as root, it runs again as nobody.
set -u
. "$(dirname "$0")/../lib.sh"

T_TWO=outputs/two_sinks_receive_identical_rows
T_HDR=outputs/append_with_another_header_refused
T_APP=outputs/append_with_same_header_adds_rows_only
T_FULL=outputs/full_disk_reported_once_other_sinks_go_on
T_NAME=outputs/hostile_cgroup_name_escaped
T_DEV=outputs/a_device_is_written_never_read
T_PIPE=outputs/stdout_on_a_pipe_and_a_fifo_get_the_header_and_rows_without_a_read
T_HUP=outputs/sighup_gives_a_fifo_a_header_again
T_LINK=outputs/another_users_symlink_in_a_sticky_dir_is_not_followed
T_MODE=outputs/files_are_made_0640_and_the_spool_0600
T_SPOOL=outputs/an_unusable_spool_dir_exits_2_before_loading
REPO=$(cd "$(dirname "$0")/../.." && pwd)
as_root=0
root_only $T_TWO $T_APP $T_FULL $T_NAME && as_root=1

if [ $as_root = 1 ]; then
	# Two CSV sinks and two line-protocol sinks in one run: each pair byte for byte the same.
	"$BPFMETER" -i 0.3 -d 1.2 -e cpu-clock -o csv:"$TMP/a.csv" -o csv:- -o influx:"$TMP/a.lp" \
		-o influx:- >"$TMP/stdout" 2>"$TMP/err"
	rc=$?
	grep -v '^bpfmeter_' "$TMP/stdout" >"$TMP/b.csv"
	grep '^bpfmeter_' "$TMP/stdout" >"$TMP/b.lp"
	if [ $rc -eq 0 ] && [ "$(wc -l <"$TMP/a.csv")" -gt 3 ] && cmp -s "$TMP/a.csv" "$TMP/b.csv" &&
		[ "$(wc -l <"$TMP/a.lp")" -gt 2 ] && cmp -s "$TMP/a.lp" "$TMP/b.lp"; then
		pass $T_TWO
	else
		fail $T_TWO "rc $rc; csv $(wc -l <"$TMP/a.csv")/$(wc -l <"$TMP/b.csv") lines, lp $(wc -l <"$TMP/a.lp")/$(wc -l <"$TMP/b.lp"): $(head -c 300 "$TMP/err")"
	fi
	cp "$TMP/a.csv" "$TMP/other.csv"
else
	# Without root: the CSV of a replay of the recording in tests/data, of other events too.
	"$BPFMETER" replay "$REPO/tests/data/recording-three-cgroups.csv" -o csv:"$TMP/other.csv" 2>"$TMP/e"
fi

# A file with another header (other events) is not appended to.
before=$(md5sum <"$TMP/other.csv")
"$BPFMETER" -d 0.5 -e context-switches --energy-source none -o csv:"$TMP/other.csv" >"$TMP/o" 2>"$TMP/e"
rc=$?
if [ $rc -eq 2 ] && grep -q "$TMP/other.csv has another CSV header" "$TMP/e" &&
	[ "$(wc -l <"$TMP/e")" -eq 1 ] && [ "$(md5sum <"$TMP/other.csv")" = "$before" ]; then
	pass $T_HDR
else
	fail $T_HDR "rc $rc: $(cat "$TMP/e")"
fi

# /dev/zero and /dev/full are no CSV files with a header to check: they are written, not read
# (a read of /dev/zero as a header line never ends). Under a memory cap, in case, but for a
# sanitizer build (ASAN_OPTIONS set): its shadow memory is terabytes of address space.
rec=$REPO/tests/data/recording-three-cgroups.csv
cap=1000000
[ -z "${ASAN_OPTIONS:-}" ] || cap=unlimited
if [ ! -x /usr/bin/time ]; then
	skip $T_DEV "GNU time (/usr/bin/time) is not installed"
else
	(ulimit -v $cap; /usr/bin/time -f %M -o "$TMP/zero.rss" timeout 20 \
		"$BPFMETER" replay "$rec" -o csv:/dev/zero 2>"$TMP/zero.err"; echo $? >"$TMP/zero.rc")
	(ulimit -v $cap; /usr/bin/time -f %M -o "$TMP/full.rss" timeout 20 \
		"$BPFMETER" replay "$rec" -o csv:/dev/full 2>"$TMP/devfull.err"; echo $? >"$TMP/devfull.rc")
	if [ "$(cat "$TMP/zero.rc")" -eq 0 ] && [ ! -s "$TMP/zero.err" ] &&
		[ "$(tail -n 1 "$TMP/zero.rss")" -lt 50000 ] && [ "$(cat "$TMP/devfull.rc")" -eq 1 ] &&
		[ "$(tail -n 1 "$TMP/full.rss")" -lt 50000 ] &&
		[ "$(cat "$TMP/devfull.err")" = "bpfmeter: cannot write to /dev/full: No space left on device" ]; then
		pass $T_DEV
	else
		fail $T_DEV "/dev/zero: rc $(cat "$TMP/zero.rc"), $(tail -n 1 "$TMP/zero.rss") KB, $(head -c 200 "$TMP/zero.err"); /dev/full: rc $(cat "$TMP/devfull.rc"), $(tail -n 1 "$TMP/full.rss") KB, $(head -c 200 "$TMP/devfull.err")"
	fi
fi

# bpfmeter's open of a FIFO finds a reader only once the reader is in its own open() of it
# (blocked there, waiting for a writer): wait for the cat under timeout PID to get there, or a
# busy host lets bpfmeter win and rightly say that no process reads it. 5 s at most.
fifo_reader_waits() {
	for _ in $(seq 100); do
		grep -qs wait_for_partner "/proc/$(pgrep -P "$1" cat)/wchan" && return
		sleep 0.05
	done
}

# csv:/dev/stdout on a pipe, and a FIFO: the header and every row, no read of our own output
# (that waited for ever); a FIFO that no one reads is one error line, no wait.
"$BPFMETER" replay "$rec" -o csv:"$TMP/want.csv" 2>/dev/null
timeout 20 "$BPFMETER" replay "$rec" -o csv:/dev/stdout 2>"$TMP/pipe.err" | cat >"$TMP/pipe.csv"
prc=${PIPESTATUS[0]}
mkfifo "$TMP/fifo"
timeout 20 cat "$TMP/fifo" >"$TMP/fifo.csv" &
rpid=$!
fifo_reader_waits $rpid
timeout 20 "$BPFMETER" replay "$rec" -o csv:"$TMP/fifo" 2>"$TMP/fifo.err"
frc=$?
wait $rpid
timeout 20 "$BPFMETER" replay "$rec" -o csv:"$TMP/fifo" 2>"$TMP/noreader.err"
nrc=$?
if [ "$prc" -eq 0 ] && cmp -s "$TMP/pipe.csv" "$TMP/want.csv" && [ "$frc" -eq 0 ] &&
	cmp -s "$TMP/fifo.csv" "$TMP/want.csv" && [ "$nrc" -eq 1 ] && [ "$(wc -l <"$TMP/noreader.err")" -eq 1 ] &&
	grep -q "$TMP/fifo: a FIFO that no process reads: start its reader first" "$TMP/noreader.err"; then
	pass $T_PIPE
else
	fail $T_PIPE "pipe rc $prc ($(wc -l <"$TMP/pipe.csv") lines), fifo rc $frc ($(wc -l <"$TMP/fifo.csv") lines), no reader rc $nrc: $(cat "$TMP/pipe.err" "$TMP/fifo.err" "$TMP/noreader.err" | head -c 300)"
fi

if [ $as_root = 0 ]; then
	rerun_unprivileged
	exit
fi

# The same header: rows are appended, the header is not repeated.
n0=$(wc -l <"$TMP/a.csv")
"$BPFMETER" -i 0.3 -d 0.6 -e cpu-clock -o csv:"$TMP/a.csv" >/dev/null 2>"$TMP/e"
rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c '^timestamp,' "$TMP/a.csv")" -eq 1 ] && [ "$(wc -l <"$TMP/a.csv")" -gt "$n0" ]; then
	pass $T_APP
else
	fail $T_APP "rc $rc, headers $(grep -c '^timestamp,' "$TMP/a.csv"): $(cat "$TMP/e")"
fi

# A disk that fills up: said once with the path, the other sink goes on, no half row left.
unshare -m bash -c "mkdir -p '$TMP/tiny' && mount -t tmpfs -o size=4k none '$TMP/tiny' &&
	'$BPFMETER' -i 0.05 -d 3 -e cpu-clock -o csv:'$TMP/tiny/x.csv' -o csv:'$TMP/ok.csv' 2>'$TMP/full.err';
	echo \$? >'$TMP/full.rc'; cp '$TMP/tiny/x.csv' '$TMP/x.csv'" >/dev/null
rc=$(cat "$TMP/full.rc")
fields=$(head -n 1 "$TMP/ok.csv" | awk -F, '{ print NF }')
bad_lines=$(awk -F, -v n="$fields" 'NF != n' "$TMP/x.csv" | wc -l)
intervals_ok=$(awk -F, 'NR > 1 { print $1 }' "$TMP/ok.csv" | sort -u | wc -l)
if [ "$rc" -eq 0 ] && [ "$(grep -c "cannot write to $TMP/tiny/x.csv: No space left on device" "$TMP/full.err")" -eq 1 ] &&
	[ "$bad_lines" -eq 0 ] && [ -z "$(tail -c 1 "$TMP/x.csv")" ] && [ "$intervals_ok" -ge 40 ]; then
	pass $T_FULL
else
	fail $T_FULL "rc $rc, half lines $bad_lines, intervals in the other sink $intervals_ok: $(cat "$TMP/full.err")"
fi

# A cgroup whose name has a space, a comma and an equals sign.
weird=$(make_cgroup 'we ird,x=y')
run_in_cgroup "$weird" stress-ng --cpu 1 --cpu-load 30 --timeout 2s --quiet
"$BPFMETER" -i 0.5 -d 1.5 -e '' -o influx:"$TMP/w.lp" -o csv:"$TMP/w.csv" 2>"$TMP/e"
rc=$?
wait "$BG_PID"
esc="target=$(target_of "$CG_BASE")/we\\ ird\\,x\\=y,"
if [ $rc -eq 0 ] && grep -qF "$esc" "$TMP/w.lp" && grep -qF "\"$(target_of "$weird")\"" "$TMP/w.csv"; then
	pass $T_NAME
else
	fail $T_NAME "rc $rc: no '$esc' in the line protocol or no quoted name in CSV"
fi

# A symlink another user put in a sticky world-writable directory (as in /tmp), to a file of
# root's: not followed, as protected_symlinks would not, one line naming it, before loading.
mkdir -m 1777 "$TMP/sticky"
echo precious >"$TMP/victim"
ln -s "$TMP/victim" "$TMP/sticky/out.csv"
chown -h nobody "$TMP/sticky/out.csv"
"$BPFMETER" -d 0.5 -e cpu-clock -o csv:"$TMP/sticky/out.csv" >/dev/null 2>"$TMP/link.err"
rc=$?
if [ $rc -eq 2 ] && [ "$(wc -l <"$TMP/link.err")" -eq 1 ] &&
	grep -q "$TMP/sticky/out.csv: a symlink of uid 65534 in the sticky world-writable directory" "$TMP/link.err" &&
	[ "$(cat "$TMP/victim")" = precious ]; then
	pass $T_LINK
else
	fail $T_LINK "rc $rc, the file it points to: $(head -c 50 "$TMP/victim"): $(head -c 300 "$TMP/link.err")"
fi

# Energy per interval is a side channel (Platypus): new outputs 0640, the spool 0600, whatever
# the umask lets through.
(umask 022 && "$BPFMETER" replay "$rec" -o csv:"$TMP/m.csv" -o influx:"$TMP/m.lp" \
	-o 'influx+http://127.0.0.1:9/write?db=x' --spool-dir "$TMP/spool" 2>/dev/null)
modes="$(stat -c %a "$TMP/m.csv" "$TMP/m.lp" "$TMP/spool" | tr '\n' ' ')$(stat -c %a "$TMP/spool"/* | sort -u | tr '\n' ' ')"
if [ "$modes" = "640 640 700 600 " ]; then
	pass $T_MODE
else
	fail $T_MODE "modes of the CSV, the line protocol, the spool and its batches: $modes"
fi

# A spool dir that cannot be used: said before anything is loaded, exit 2.
touch "$TMP/notadir"
"$BPFMETER" -d 1 -e cpu-clock -o 'influx+http://127.0.0.1:9/write?db=x' --spool-dir "$TMP/notadir/spool" \
	>/dev/null 2>"$TMP/spool.err"
rc=$?
if [ $rc -eq 2 ] && [ "$(wc -l <"$TMP/spool.err")" -eq 1 ] && grep -q "spool dir $TMP/notadir/spool: " "$TMP/spool.err"; then
	pass $T_SPOOL
else
	fail $T_SPOOL "rc $rc: $(head -c 300 "$TMP/spool.err")"
fi

# SIGHUP reopens a FIFO (no read, no seek): its header again, then rows.
mkfifo "$TMP/hup"
timeout 20 cat "$TMP/hup" >"$TMP/hup.csv" &
reader=$!
fifo_reader_waits $reader
"$BPFMETER" -i 0.2 -d 2 -e cpu-clock -o csv:"$TMP/hup" 2>"$TMP/hup.err" &
pid=$!
sleep 1
kill -HUP $pid
wait $pid
rc=$?
wait $reader
hdr=$(head -n 1 "$TMP/hup.csv")
after=$(awk -v h="$hdr" '$0 == h { n++; next } n == 2 { r++ } END { print r + 0 }' "$TMP/hup.csv")
if [ $rc -eq 0 ] && [ "$(grep -cxF -- "$hdr" "$TMP/hup.csv")" -eq 2 ] && [ "$after" -gt 0 ] &&
	! grep -q 'cannot reopen' "$TMP/hup.err"; then
	pass $T_HUP
else
	fail $T_HUP "rc $rc, headers $(grep -cxF -- "$hdr" "$TMP/hup.csv"), rows after the second $after: $(head -c 300 "$TMP/hup.err")"
fi

rerun_unprivileged
