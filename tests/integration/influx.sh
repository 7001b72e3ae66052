#!/usr/bin/env bash
# The InfluxDB HTTP sink (user/output/out_http.c) against a real InfluxDB 1.x server started here, driven
# by .output/http-push: exact values, an outage with a restart of the server, a spool cap
# smaller than the outage, and a batch the server rejects; then bpfmeter's own points, which
# need root. The rest needs none: run as root, it runs again as nobody.
set -u
. "$(dirname "$0")/../lib.sh"

HTTP_PUSH=${HTTP_PUSH:-$(cd "$(dirname "$0")/../.." && pwd)/.output/http-push}
T_EXACT=influx/every_batch_queryable_with_exact_values
T_OUTAGE=influx/outage_every_batch_arrives_exactly_once
T_CAP=influx/spool_cap_drops_oldest_counted_exactly
T_4XX=influx/rejected_batch_reported_once_and_dropped
T_BM=influx/bpfmeter_intervals_queryable_exactly
T_BMOUT=influx/bpfmeter_outage_every_interval_exactly_once
ALL_T="$T_EXACT $T_OUTAGE $T_CAP $T_4XX $T_BM $T_BMOUT"

skip_all() {
	for t in $ALL_T; do skip "$t" "$1"; done
	exit 0
}
fail_all() {
	for t in $ALL_T; do fail "$t" "$1"; done
	exit 1
}
command -v influxd >/dev/null || skip_all "influxd is not installed (run scripts/install-deps.sh)"
command -v curl >/dev/null || skip_all "curl is not installed (run scripts/install-deps.sh)"
[ -x "$HTTP_PUSH" ] || skip_all "$HTTP_PUSH is not built (make http-push)"

# A write to a pusher that died must fail the check, not kill this script.
trap '' PIPE

IFX=$TMP/influx
mkdir -p "$IFX"
HTTP_PORT=$(free_port 18086)
RPC_PORT=$(free_port $((HTTP_PORT + 1)))
BASE=http://127.0.0.1:$HTTP_PORT
URL="$BASE/write?db=bpfmeter"
# Everything under $IFX, on loopback ports of our own, and nothing else listening: the
# defaults would take the machine's 8086, 8088 and 8082 and write to /var/lib/influxdb.
# Upstream 1.6 reads reporting-disabled, Debian's build reporting-enabled; each ignores the other.
cat >"$IFX/influxd.conf" <<EOF
reporting-disabled = true
reporting-enabled = false
bind-address = "127.0.0.1:$RPC_PORT"
[meta]
  dir = "$IFX/meta"
[data]
  dir = "$IFX/data"
  wal-dir = "$IFX/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$HTTP_PORT"
  log-enabled = false
[ifql]
  enabled = false
[continuous_queries]
  enabled = false
EOF

influx_start() {
	local i
	# Without the pushers' fifos: a writer left open would keep them from ever seeing EOF.
	influxd -config "$IFX/influxd.conf" >>"$IFX/log" 2>&1 3>&- 4>&- &
	INFLUX_PID=$!
	BG_PIDS+=("$INFLUX_PID")
	for i in $(seq 100); do
		kill -0 "$INFLUX_PID" 2>/dev/null || return 1
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/ping")" = 204 ] && return 0
		sleep 0.1
	done
	return 1
}

# Stop influxd and forget its pid, which cleanup() would otherwise kill again once reused.
influx_stop() {
	local i p keep=()
	kill -TERM "$INFLUX_PID" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$INFLUX_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$INFLUX_PID" 2>/dev/null
	wait "$INFLUX_PID" 2>/dev/null
	for p in "${BG_PIDS[@]}"; do [ "$p" = "$INFLUX_PID" ] || keep+=("$p"); done
	BG_PIDS=("${keep[@]}")
}

# query Q: the rows of an InfluxQL query as CSV (name,tags,time,columns...), no header.
query() {
	curl -s -G "$BASE/query" -H 'Accept: application/csv' --data-urlencode db=bpfmeter \
		--data-urlencode epoch=ns --data-urlencode "q=$1" | tail -n +2
}

# pushed FILE KEY: a count http-push printed.
pushed() {
	awk -v k="$2" '$1 == k { print $2 }' "$1"
}

# expect WHAT GOT WANT: note in $why what is not as it should be.
expect() {
	[ "$2" = "$3" ] || why+="$1 is '$2', expected '$3'; "
}

influx_start || fail_all "influxd did not answer /ping on port $HTTP_PORT: $(tail -n 3 "$IFX/log")"
curl -s -XPOST "$BASE/query" --data-urlencode 'q=CREATE DATABASE bpfmeter' >/dev/null

# (a) Values as written, to the nanosecond and the last digit of an int64.
floats=(0.1 -3.5 1e-9 123456.789012345 6.02214076e23)
floats_read=(0.1 -3.5 0.000000001 123456.789012345 602214076000000000000000)
ints=(9007199254740993 -42 0 9223372036854775807 -9223372036854775807)
: >"$IFX/a.in"
: >"$IFX/a.want"
for b in 0 1 2 3 4; do
	for j in 0 1 2; do
		k=$(((b * 3 + j) % 5))
		ts=$((1700000000000000000 + b * 1000000 + j * 1000 + 123))
		echo "bm_exact,batch=$b f=${floats[k]},i=${ints[k]}i $ts" >>"$IFX/a.in"
		echo "bm_exact,,$ts,$b,${floats_read[k]},${ints[k]}" >>"$IFX/a.want"
	done
	echo >>"$IFX/a.in"
done
"$HTTP_PUSH" -u "$URL" -s "$IFX/spool-a" -w 10 <"$IFX/a.in" >"$IFX/a.out" 2>"$IFX/a.err"
query 'SELECT batch, f, i FROM bm_exact' >"$IFX/a.got"
why=
expect sent_batches "$(pushed "$IFX/a.out" sent_batches)" 5
expect sent_points "$(pushed "$IFX/a.out" sent_points)" 15
expect spooled_batches "$(pushed "$IFX/a.out" spooled_batches)" 0
expect last_status "$(pushed "$IFX/a.out" last_status)" 204
expect "the difference from what was written" \
	"$(diff "$IFX/a.want" "$IFX/a.got" | head -n 6 | tr '\n' ' ')" ""
[ -z "$why" ] && pass $T_EXACT ||
	fail $T_EXACT "$why stderr: $(head -c 300 "$IFX/a.err" | tr '\n' ' ')"

# (d) A batch the server cannot parse is said once with the answer, dropped, not retried; the
# batches after it still arrive.
{
	printf 'bm_reject,run=d id=1i 1700000100000000001\n\n'
	printf 'bm_reject this line\nbm_reject,run=d\n\n'
	printf 'bm_reject,run=d id=2i 1700000100000000002\n\n'
	printf 'bm_reject,run=d id=3i 1700000100000000003\n'
} >"$IFX/d.in"
"$HTTP_PUSH" -u "$URL" -s "$IFX/spool-d" -w 10 <"$IFX/d.in" >"$IFX/d.out" 2>"$IFX/d.err"
why=
expect "the ids present" "$(query 'SELECT id FROM bm_reject' | cut -d, -f4 | tr '\n' ' ')" "1 2 3 "
expect "messages" "$(grep -c . "$IFX/d.err")" 1
expect "messages with the status and the server's error" "$(grep -c \
	'batch of 2 points rejected, dropped: HTTP 400: {"error":"unable to parse' "$IFX/d.err")" 1
expect rejected_batches "$(pushed "$IFX/d.out" rejected_batches)" 1
expect rejected_points "$(pushed "$IFX/d.out" rejected_points)" 2
expect sent_batches "$(pushed "$IFX/d.out" sent_batches)" 3
expect spooled_batches "$(pushed "$IFX/d.out" spooled_batches)" 0
[ -z "$why" ] && pass $T_4XX ||
	fail $T_4XX "$why stderr: $(head -c 400 "$IFX/d.err" | tr '\n' ' ')"

# (b) and (c) share one outage: a batch every 0.5 s to two pushers, influxd stopped for over
# 10 s in the middle. (b) has room for all of it, (c) a cap of 6 batches: the 4 queued after
# the restart, while the sender still backs off, leave the newest 2 of the outage.
B_PER=2 C_PER=3 STOP_AT=4 AFTER=4 C_CAP=900
mkfifo "$IFX/b.fifo" "$IFX/c.fifo"
"$HTTP_PUSH" -u "$URL" -s "$IFX/spool-b" -c 300 -t 2000 -w 30 \
	<"$IFX/b.fifo" >"$IFX/b.out" 2>"$IFX/b.err" &
PB=$!
"$HTTP_PUSH" -u "$URL" -s "$IFX/spool-c" -m $C_CAP -c 300 -t 2000 -w 30 \
	<"$IFX/c.fifo" >"$IFX/c.out" 2>"$IFX/c.err" &
PC=$!
BG_PIDS+=("$PB" "$PC")
exec 3>"$IFX/b.fifo" 4>"$IFX/c.fifo"
i=0 restart_id= after=0 down=0 stopped_at=
while [ $after -lt $AFTER ]; do
	if [ $i = $STOP_AT ]; then
		influx_stop
		stopped_at=$EPOCHREALTIME down=1
	fi
	if [ $down = 1 ] &&
		awk -v a="$stopped_at" -v b="$EPOCHREALTIME" 'BEGIN { exit b - a < 10.5 }'; then
		influx_start || fail_all "influxd did not come back: $(tail -n 3 "$IFX/log")"
		down=0 restart_id=$i
	fi
	[ -n "$restart_id" ] && after=$((after + 1))
	for j in $(seq 0 $((B_PER - 1))); do
		echo "bm_outage,run=b id=${i}i,p=${j}i $((1700000200000000000 + i * 1000 + j))"
	done >&3
	echo >&3
	for j in $(seq 0 $((C_PER - 1))); do
		echo "bm_capped,run=c id=${i}i,p=${j}i $((1700000300000000000 + i * 1000 + j))"
	done >&4
	echo >&4
	i=$((i + 1))
	sleep 0.5
done
n=$i
exec 3>&- 4>&-
# They wait at most 30 s for their spools to drain; a hang must not stall the whole suite.
for _ in $(seq 400); do
	kill -0 $PB 2>/dev/null || kill -0 $PC 2>/dev/null || break
	sleep 0.1
done
kill -KILL $PB $PC 2>/dev/null
wait $PB $PC
echo "    $n batches; influxd stopped before batch $STOP_AT, back before batch $restart_id"

# per_id MEASUREMENT: "id points" for each batch id present.
per_id() {
	query "SELECT id, p FROM $1" | awk -F, '{ n[$4]++ } END { for (i in n) print i, n[i] }' |
		sort -n
}

per_id bm_outage >"$IFX/b.got"
why=
expect "batch ids present" "$(wc -l <"$IFX/b.got")" $n
expect "batches not of $B_PER points or unknown" \
	"$(awk -v n=$n -v per=$B_PER '$2 != per || $1 >= n' "$IFX/b.got" | head -n 3 | tr '\n' ' ')" ""
expect "points present" "$(query 'SELECT count(p) FROM bm_outage' | cut -d, -f4)" $((n * B_PER))
expect sent_batches "$(pushed "$IFX/b.out" sent_batches)" $n
expect sent_points "$(pushed "$IFX/b.out" sent_points)" $((n * B_PER))
expect dropped_batches "$(pushed "$IFX/b.out" dropped_batches)" 0
expect spooled_batches "$(pushed "$IFX/b.out" spooled_batches)" 0
expect "unreachable messages" "$(grep -c ': unreachable (.*): spooling to ' "$IFX/b.err")" 1
expect "reachable again messages" \
	"$(grep -c ': reachable again: sending [0-9]* spooled batches$' "$IFX/b.err")" 1
[ -z "$why" ] && pass $T_OUTAGE ||
	fail $T_OUTAGE "$why stderr: $(head -c 600 "$IFX/b.err" | tr '\n' ' ')"
echo "    (b) $(tr '\n' ' ' <"$IFX/b.out")"

# (c) The batches missing are missing whole, were queued while the server was down, and are
# the oldest: at most one batch of the outage, the one being sent when its turn came, may
# remain while an older one went.
per_id bm_capped >"$IFX/c.got"
dropped_b=$(pushed "$IFX/c.out" dropped_batches)
dropped_p=$(pushed "$IFX/c.out" dropped_points)
missing=$(awk -v n=$n '{ have[$1] = 1 } END { for (i = 0; i < n; i++) if (!have[i]) print i }' \
	"$IFX/c.got")
last_missing=$(echo "$missing" | tail -n 1)
why=
[ "${dropped_b:-0}" -gt 0 ] || why+="nothing dropped; "
expect dropped_points "$dropped_p" $((dropped_b * C_PER))
expect "the last running total said" \
	"$(grep -o 'dropped [0-9]* oldest points so far' "$IFX/c.err" | tail -n 1 | cut -d' ' -f2)" \
	"$dropped_p"
expect "batches missing" "$(echo "$missing" | grep -c .)" "$dropped_b"
expect "points present" "$(query 'SELECT count(p) FROM bm_capped' | cut -d, -f4)" \
	$((n * C_PER - dropped_p))
expect "batches in part" \
	"$(awk -v per=$C_PER '$2 != per' "$IFX/c.got" | head -n 3 | tr '\n' ' ')" ""
expect "batches missing not queued in the outage" "$(echo "$missing" |
	awk -v a=$STOP_AT -v b="$restart_id" 'NF && ($1 < a || $1 >= b)' | tr '\n' ' ')" ""
expect "the newest batch of the outage present" \
	"$(awk -v id=$((restart_id - 1)) '$1 == id' "$IFX/c.got" | wc -l)" 1
overtaken=$(awk -v a=$STOP_AT -v m="${last_missing:--1}" '$1 >= a && $1 < m' "$IFX/c.got" | wc -l)
[ "$overtaken" -le 1 ] || why+="$overtaken newer batches kept while older ones went; "
expect sent_batches "$(pushed "$IFX/c.out" sent_batches)" $((n - dropped_b))
expect spooled_batches "$(pushed "$IFX/c.out" spooled_batches)" 0
[ -z "$why" ] && pass $T_CAP || fail $T_CAP "$why missing: $(echo $missing)"
echo "    (c) missing batches $(echo $missing); $(tr '\n' ' ' <"$IFX/c.out")"

# (e) and (f) run bpfmeter, which needs root; (a) to (d) need none: run as root, they run
# again as nobody.
if [ "$(id -u)" -ne 0 ]; then
	skip_root $T_BM "needs root to load BPF programs"
	skip_root $T_BMOUT "needs root to load BPF programs"
else
	# (e) bpfmeter itself: every interval's points, as its own line-protocol file has them.
	"$BPFMETER" -i 0.5 -d 3 -e cpu-clock --energy-source none --spool-dir "$IFX/spool-bm" \
		-o "influx+$BASE/write?db=bpfmeter" -o influx:"$IFX/bm.lp" >"$IFX/bm.out" 2>"$IFX/bm.err"
	rc=$?
	# (time, target, cpu_ns) of every bpfmeter_target point, from the file and from the server.
	awk '/^bpfmeter_target,/ { match($0, /target=[^,]*,/); t = substr($0, RSTART + 7, RLENGTH - 8)
		match($0, / cpu_ns=[0-9]+i/); c = substr($0, RSTART + 8, RLENGTH - 9)
		print $NF, t, c }' "$IFX/bm.lp" | sort >"$IFX/bm.want"
	query 'SELECT target, cpu_ns FROM bpfmeter_target' | awk -F, '{ print $3, $4, $5 }' | sort >"$IFX/bm.got"
	intervals=$(awk '{ print $1 }' "$IFX/bm.want" | sort -u | wc -l)
	if [ $rc -eq 0 ] && [ "$intervals" -ge 6 ] && cmp -s "$IFX/bm.want" "$IFX/bm.got"; then
		pass $T_BM
	else
		fail $T_BM "rc $rc, $intervals intervals, $(wc -l <"$IFX/bm.want") points written, $(wc -l <"$IFX/bm.got") queried: $(head -c 300 "$IFX/bm.err")"
	fi

	# (f) bpfmeter through a 10 s outage of the server: every interval there once at the end.
	"$BPFMETER" -i 0.5 -d 15 -e '' --energy-source none --spool-dir "$IFX/spool-bm2" \
		-o "influx+$BASE/write?db=bpfmeter2" -o influx:"$IFX/bm2.lp" >"$IFX/bm2.out" 2>"$IFX/bm2.err" &
	BM_PID=$!
	curl -s -XPOST "$BASE/query" --data-urlencode 'q=CREATE DATABASE bpfmeter2' >/dev/null
	sleep 2
	influx_stop
	sleep 10.5
	influx_start || fail $T_BMOUT "influxd did not come back"
	wait "$BM_PID"
	rc=$?
	awk '/^bpfmeter_target,/ { match($0, /target=[^,]*,/); print $NF, substr($0, RSTART + 7, RLENGTH - 8) }' \
		"$IFX/bm2.lp" | sort >"$IFX/bm2.want"
	curl -s -G "$BASE/query" -H 'Accept: application/csv' --data-urlencode db=bpfmeter2 \
		--data-urlencode epoch=ns --data-urlencode 'q=SELECT target, cpu_ns FROM bpfmeter_target' |
		tail -n +2 | awk -F, '{ print $3, $4 }' | sort >"$IFX/bm2.got"
	intervals=$(awk '{ print $1 }' "$IFX/bm2.want" | sort -u | wc -l)
	if [ $rc -eq 0 ] && [ "$intervals" -ge 28 ] && cmp -s "$IFX/bm2.want" "$IFX/bm2.got" &&
		grep -q 'unreachable' "$IFX/bm2.err" && grep -q 'reachable again' "$IFX/bm2.err"; then
		pass $T_BMOUT
	else
		fail $T_BMOUT "rc $rc, $intervals intervals, $(wc -l <"$IFX/bm2.want") points written, $(wc -l <"$IFX/bm2.got") queried: $(grep -v '^libbpf' "$IFX/bm2.err" | head -5)"
	fi
fi

influx_stop
rerun_unprivileged
