#!/usr/bin/env bash
# The Prometheus endpoint (-o prometheus:ADDR:PORT) against a real Prometheus started here on
# loopback (1 s scrapes, a TSDB of its own in $TMP), which scrapes bpfmeter over TLS with basic
# auth (--web-config, a self-signed certificate made here): the series are there, increase()
# agrees with the same session's CSV, the stored counter steps are the CSV's to the microjoule,
# promtool finds nothing to lint, scrapes while intervals of 0.2 s go by under load each hold
# one whole interval, and the server answers 401/404/405 where it should. Bad input (a port in
# use, an address that does not parse, a web config that does not load) is exit status 2 with
# one line, before anything is loaded: that needs no root, and runs again as nobody.
set -u
. "$(dirname "$0")/../lib.sh"

T_BAD=prometheus/bad_port_address_or_web_config_exit_2_before_loading
T_SERIES=prometheus/series_queryable_in_prometheus_over_tls_and_auth
T_INCREASE=prometheus/increase_agrees_with_csv_energy
T_EXACT=prometheus/stored_counter_steps_equal_csv_sums
T_LINT=prometheus/promtool_check_metrics_clean
T_WHOLE=prometheus/scrapes_under_load_hold_whole_intervals
T_AUTH=prometheus/tls_basic_auth_and_status_codes
ROOT_T="$T_SERIES $T_INCREASE $T_EXACT $T_LINT $T_WHOLE $T_AUTH"
REPO=$(cd "$(dirname "$0")/../.." && pwd)

# listening PORT: a socket listens there (seen in /proc, without connecting: busybox nc -l
# takes one connection only).
listening() {
	awk -v p="$(printf '%04X' "$1")" '$4 == "0A" && $2 ~ ":" p "$" { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6
}

# "scrape me", bcrypt at cost 10 (htpasswd -nbB's default), made with crypt(3).
# shellcheck disable=SC2016
HASH='$2b$10$55rGy/X9oVmxlCXSZRYf1.2k2wd0IgR4kzUq0ctuD4mLa9UAC3a7u'

# (a) Bad input: one line naming it, exit status 2, and as nobody too (so before the
# privilege check, which comes before anything is loaded).
bad_case() { # WHAT ARGS...: runs bpfmeter, appends to $why unless it is one line and 2
	local what=$1 rc lines
	shift
	"$BPFMETER" -d 1 "$@" >"$TMP/bad.out" 2>"$TMP/bad.err"
	rc=$?
	lines=$(wc -l <"$TMP/bad.err")
	if [ $rc -ne 2 ] || [ "$lines" -ne 1 ] || ! grep -qF -- "$BAD_WANT" "$TMP/bad.err"; then
		why+="$what: rc $rc, $lines lines, wanted '$BAD_WANT': $(head -c 300 "$TMP/bad.err"); "
	fi
}
if command -v busybox >/dev/null; then
	why=
	busy_port=$(free_port 19310)
	busybox nc -l -p "$busy_port" >/dev/null 2>&1 &
	NC_PID=$!
	BG_PIDS+=("$NC_PID")
	for _ in $(seq 50); do listening "$busy_port" && break; sleep 0.05; done
	BAD_WANT="-o prometheus:127.0.0.1:$busy_port: cannot listen on 127.0.0.1:$busy_port: Address already in use"
	bad_case "a port in use" -o prometheus:127.0.0.1:"$busy_port"
	kill "$NC_PID" 2>/dev/null
	BAD_WANT="'prometheus:localhost:9102': 'localhost' is not an IPv4 address"
	bad_case "a host name" -o prometheus:localhost:9102
	BAD_WANT="'prometheus:[::1:9102': an IPv6 address is [ADDR]:PORT"
	bad_case "a bracket missing" -o 'prometheus:[::1:9102'
	BAD_WANT="--web-config: cannot read $TMP/none.yml: No such file or directory"
	bad_case "a missing web config" -o prometheus:127.0.0.1:0 --web-config "$TMP/none.yml"
	printf 'basic_auth_users:\n  alice: plain\n' >"$TMP/plain.yml"
	BAD_WANT="--web-config: $TMP/plain.yml:2:10: basic_auth_users: the password of 'alice' is not a bcrypt hash"
	bad_case "a password not hashed" -o prometheus:127.0.0.1:0 --web-config "$TMP/plain.yml"
	printf 'tls_server_config:\n  cert_file: c.pem\n  key_file: c.pem\n' >"$TMP/tls.yml"
	echo "not a certificate" >"$TMP/c.pem"
	BAD_WANT="do not make a TLS certificate and key (PEM)"
	bad_case "a certificate that is not one" -o prometheus:127.0.0.1:0 --web-config "$TMP/tls.yml"
	BAD_WANT="--web-config $TMP/plain.yml: there is no -o prometheus: output to apply it to"
	bad_case "a web config without the endpoint" --web-config "$TMP/plain.yml"
	BAD_WANT="invalid value '1x' for --prometheus-keep"
	bad_case "a keep that is no time" -o prometheus:127.0.0.1:0 --prometheus-keep 1x
	if [ -z "$why" ]; then pass $T_BAD; else fail $T_BAD "$why"; fi
else
	skip $T_BAD "busybox is not installed (its nc holds a port; run scripts/install-deps.sh)"
fi

# shellcheck disable=SC2086
root_only $ROOT_T || {
	rerun_unprivileged
	exit
}
for tool in prometheus promtool jq openssl curl; do
	if ! command -v $tool >/dev/null; then
		for t in $ROOT_T; do skip "$t" "$tool is not installed (run scripts/install-deps.sh)"; done
		rerun_unprivileged
		exit
	fi
done

# A self-signed certificate for 127.0.0.1, and the web config that serves it with a password.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$TMP/server.key" -out "$TMP/server.crt" >/dev/null 2>&1
cat >"$TMP/web.yml" <<EOF
tls_server_config:
  cert_file: server.crt
  key_file: server.key
basic_auth_users:
  prom: '$HASH'
EOF

# The package's power follows the CPU time of everything below this test's cgroup: the
# simulator's, bpfmeter's, Prometheus's and the loads'. One socket, one domain.
SIM=$REPO/.output/rapl-sim
[ -x "$SIM" ] || make -s -C "$REPO" sim >/dev/null
tools=$(make_cgroup tools)
busy=$(make_cgroup busy)
cp -r "$REPO/tests/fixtures/powercap/amd-epyc" "$TMP/pc"
rm -rf "$TMP/pc/intel-rapl:1"
"$SIM" --root "$TMP/pc" intel-rapl:0=load:15:10:"$CG_BASE" >"$TMP/sim.out" 2>&1 &
SIM_PID=$!
BG_PIDS+=("$SIM_PID")
echo "$SIM_PID" >"$tools/cgroup.procs"
for _ in $(seq 50); do grep -q ready "$TMP/sim.out" && break; sleep 0.1; done

# A refit only past 5 W of error: at 0.2 s intervals the simulated power is noisy, and a model
# refitted at every interval would make the split (and the window's energy) jump about.
start_bpfmeter "$TMP/m.csv" "$TMP/m.err" --csv -i 0.2 -e '' --powercap-root "$TMP/pc" \
	--error-threshold 5 -o prometheus:127.0.0.1:0 --web-config "$TMP/web.yml"
echo "$BPFMETER_PID" >"$tools/cgroup.procs"
URL=$(sed -n 's|^bpfmeter: Prometheus metrics at \(https://127.0.0.1:[0-9]*\)/metrics$|\1|p' "$TMP/m.err")
if [ -z "$URL" ]; then
	for t in $ROOT_T; do fail "$t" "bpfmeter did not say where it serves: $(head -c 400 "$TMP/m.err")"; done
	rerun_unprivileged
	exit 1
fi
BM_PORT=${URL##*:}
CURL=(curl -s --max-time 5 --cacert "$TMP/server.crt")

# A steady load to measure, started once the model has seen the host idle (so that it tells
# the load's power from the static part), and (for the scrapes under load) twenty cgroups that
# wake up ten times a second each, so a scrape has targets to tear if it could.
sleep 3
run_in_cgroup "$busy" stress-ng --cpu 1 --timeout 45s --quiet
CHURN=()
for i in $(seq 20); do
	run_in_cgroup "$(make_cgroup "churn$i")" bash -c 'while :; do sleep 0.1; done'
	CHURN+=("$BG_PID")
done

cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: bpfmeter
    scheme: https
    tls_config:
      ca_file: $TMP/server.crt
    basic_auth:
      username: prom
      password: scrape me
    static_configs:
      - targets: ['127.0.0.1:$BM_PORT']
EOF
promtool check config "$TMP/prometheus.yml" >"$TMP/promtool-config.out" 2>&1
config_rc=$?
start_prometheus "$TMP/prometheus.yml" "$tools"

# (b) Scrapes as fast as curl goes, for 6 s, while intervals of 0.2 s are published: in each,
# the targets' energy adds up to the measured energy and their power to the measured power,
# which a scrape holding parts of two intervals would not.
sleep 2
mkdir -p "$TMP/scrapes"
end=$((SECONDS + 6))
n=0
while [ $SECONDS -lt $end ] && [ $n -lt 400 ]; do
	n=$((n + 1))
	"${CURL[@]}" -u 'prom:scrape me' "$URL/metrics" >"$TMP/scrapes/$n"
done
res=$(for f in "$TMP"/scrapes/*; do
	awk '
	/^bpfmeter_target_energy_joules_total\{/ && /domain="package"/ { te += $NF }
	/^bpfmeter_target_power_watts\{/ && /domain="package"/ { tp += $NF }
	/^bpfmeter_energy_joules_total\{socket="0",domain="package"\} / { me = $NF }
	/^bpfmeter_power_watts\{socket="0",domain="package"\} / { mp = $NF }
	/^bpfmeter_intervals_total / { n = $NF }
	/^bpfmeter_target_cpu_seconds_total\{/ { nt++ }
	END { d = te - me; if (d < 0) d = -d; e = tp - mp; if (e < 0) e = -e
		printf "%d %d %d %.9f %.9f %.3f\n", n, nt, (me > 0 && d <= 1e-6 && e <= 1e-6), d, e, me }' "$f"
done | awk '{ s++; if ($3) ok++; else bad = bad sprintf("interval %d: energy off by %s J, power by %s W; ", $1, $4, $5)
	if ($2 > maxt) maxt = $2; if (!($1 in seen)) { seen[$1]; k++ } }
	END { printf "%d %d %d %d|%s", s, ok + 0, k, maxt, bad }')
read -r scrapes whole distinct targets <<<"${res%%|*}"
echo "    $scrapes scrapes in 6 s, $distinct intervals among them, up to $targets target series"
if [ "$scrapes" -ge 30 ] && [ "$whole" -eq "$scrapes" ] && [ "$distinct" -ge 10 ] && [ "$targets" -ge 20 ]; then
	pass $T_WHOLE
else
	fail $T_WHOLE "$whole of $scrapes scrapes whole, $distinct intervals, $targets targets: ${res#*|}"
fi

# (c) promtool's lint of a scrape (with the process metrics): nothing to say.
"${CURL[@]}" -u 'prom:scrape me' "$URL/metrics" >"$TMP/scrape.txt"
lint=$(promtool check metrics <"$TMP/scrape.txt" 2>&1)
lint_rc=$?
if [ $lint_rc -eq 0 ] && [ -z "$lint" ] && grep -q '^process_open_fds ' "$TMP/scrape.txt"; then
	pass $T_LINT
else
	fail $T_LINT "rc $lint_rc: $(head -c 400 <<<"$lint")"
fi

# (d) TLS and basic auth as curl sees them; 404, 405 and the index page.
code() { "${CURL[@]}" -o /dev/null -w '%{http_code}' "$@"; }
why=
got=$(code -u 'prom:scrape me' "$URL/metrics") && [ "$got" = 200 ] || why+="right password: $got; "
got=$(code -u 'prom:scrape you' "$URL/metrics"); [ "$got" = 401 ] || why+="wrong password: $got; "
got=$(code -u 'nobody:scrape me' "$URL/metrics"); [ "$got" = 401 ] || why+="unknown user: $got; "
got=$(code "$URL/metrics"); [ "$got" = 401 ] || why+="no password: $got; "
got=$(code "http://127.0.0.1:$BM_PORT/metrics"); [ "$got" != 200 ] || why+="plain HTTP on the TLS port answered 200; "
got=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -u 'prom:scrape me' "$URL/metrics"); [ "$got" != 200 ] ||
	why+="a certificate not trusted was taken; "
got=$(code -u 'prom:scrape me' "$URL/nope"); [ "$got" = 404 ] || why+="/nope: $got; "
got=$(code -u 'prom:scrape me' -X POST -d x "$URL/metrics"); [ "$got" = 405 ] || why+="POST: $got; "
"${CURL[@]}" -u 'prom:scrape me' "$URL/" | grep -q '<a href="/metrics">' || why+="/ links no /metrics; "
"${CURL[@]}" -D - -o /dev/null -u 'prom:scrape me' "$URL/metrics" |
	grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' || why+="no 0.0.4 content type; "
if [ -z "$why" ]; then pass $T_AUTH; else fail $T_AUTH "$why"; fi

# The load alone for 17 s more (the windows below), then bpfmeter stops (SIGINT: exit 0).
kill "${CHURN[@]}" 2>/dev/null
sleep 17
stop_bpfmeter
rc=$?

busy_t=$(target_of "$busy")
sel="target=\"$busy_t\",domain=\"package\""
# The newest sample's time (a raw sample: once bpfmeter stopped, the series are stale to
# instant queries): the queries below are made there.
T=$(prom_query 'bpfmeter_intervals_total[1m]' | jq -r '.data.result[0].values[-1][0] // empty')

# (e) The series, stored by Prometheus from scrapes over TLS with a password.
why=
[ "$config_rc" -eq 0 ] || why+="promtool check config: $(head -c 200 "$TMP/promtool-config.out"); "
for q in 'up{job="bpfmeter"} == 1' bpfmeter_build_info bpfmeter_intervals_total \
	bpfmeter_overflow_slices_total bpfmeter_energy_joules_total bpfmeter_power_watts \
	bpfmeter_model_info bpfmeter_model_error_watts "bpfmeter_target_energy_joules_total{$sel}" \
	"bpfmeter_target_power_watts{$sel}" "bpfmeter_target_cpu_seconds_total{target=\"$busy_t\"}" \
	'bpfmeter_target_cpu_seconds_total{target="idle"}' process_cpu_seconds_total \
	process_resident_memory_bytes process_open_fds process_start_time_seconds; do
	n=$(prom_query "$q" "${T:-0}" | jq '.data.result | length')
	[ "${n:-0}" -ge 1 ] || why+="no series for $q; "
done
if [ -z "$why" ] && [ $rc -eq 0 ]; then
	pass $T_SERIES
else
	fail $T_SERIES "bpfmeter rc $rc; $why$(tail -n 3 "$TMP/prometheus.log" | tr '\n' ' ')"
fi

W=15
csv=$TMP/m.csv
cols() { for c in "$@"; do printf ' -v c_%s=%s' "$c" "$(csv_col "$csv" "$c")"; done; }

# (f) increase() over 15 s against the CSV's energy of the intervals that ended in the window.
# increase() takes the first and the last scrape in the window and extrapolates their
# difference to the window's edges (where a scrape came late or was missed, by up to a scrape
# interval of 1 s at each); a scrape holds the intervals published before it, the CSV window
# those that ended in it (an interval of 0.2 s at each edge may fall either way). Under the
# steady load both make up for most of it: 5% of 15 s is 0.75 s at the load's power.
inc=$(prom_query "sum(increase(bpfmeter_target_energy_joules_total{$sel}[${W}s]))" "$T" |
	jq -r '.data.result[0].value[1] // empty')
# shellcheck disable=SC2046
csv_j=$(awk -F, $(cols timestamp kind target domain energy_j) -v t="$T" -v w=$W -v tg="$busy_t" '
	NR > 1 && $c_kind == "target" && $c_target == tg && $c_domain == "package" &&
	$c_timestamp > t - w && $c_timestamp <= t { j += $c_energy_j }
	END { printf "%.6f", j }' "$csv")
echo "    increase() over ${W}s: ${inc:-none} J; the CSV's intervals in it: $csv_j J"
if [ -n "$inc" ] && within "$inc" "$csv_j" 5; then
	pass $T_INCREASE
else
	fail $T_INCREASE "increase() ${inc:-none} J, CSV $csv_j J (over 5% apart)"
fi

# (g) Exactly: the counter's raw samples in the window, each with the interval count of the
# same scrape: the step between the first and the last is the CSV's sum over the intervals
# between their counts, to the CSV's microjoules.
raw() { # SELECTOR: "timestamp value" of each stored sample in the window
	prom_query "$1[${W}s]" "$T" | jq -r '.data.result[0].values[] | "\(.[0]) \(.[1])"'
}
raw "bpfmeter_target_energy_joules_total{$sel,estimate=\"model\"}" >"$TMP/raw.j"
raw bpfmeter_intervals_total >"$TMP/raw.n"
read -r t1 j1 < <(head -n 1 "$TMP/raw.j")
read -r t2 j2 < <(tail -n 1 "$TMP/raw.j")
n1=$(awk -v t="$t1" '$1 == t { print $2 }' "$TMP/raw.n")
n2=$(awk -v t="$t2" '$1 == t { print $2 }' "$TMP/raw.n")
# shellcheck disable=SC2046
res=$(awk -F, $(cols timestamp kind target domain energy_j estimate) -v a="${n1:-0}" -v b="${n2:-0}" \
	-v tg="$busy_t" -v j1="${j1:-0}" -v j2="${j2:-0}" '
	NR > 1 && !($c_timestamp in seen) { seen[$c_timestamp]; k++ } # the k-th interval
	NR > 1 && $c_kind == "target" && $c_target == tg && $c_domain == "package" && k > a && k <= b {
		j += $c_energy_j; if ($c_estimate != "model") other++ }
	END { d = (j2 - j1) - j; if (d < 0) d = -d; printf "%d %.6f %.6f %.9f", other + 0, j2 - j1, j, d }' "$csv")
read -r other step sum diff <<<"$res"
echo "    samples at intervals ${n1:-?} and ${n2:-?}: the counter stepped $step J, the CSV sums $sum J"
if [ -n "${n1:-}" ] && [ -n "${n2:-}" ] && [ $((n2 - n1)) -ge 50 ] && [ "$other" -eq 0 ] &&
	awk -v d="$diff" 'BEGIN { exit !(d <= 1e-4) }'; then
	pass $T_EXACT
else
	fail $T_EXACT "intervals ${n1:-?}..${n2:-?}, counter step $step J, CSV $sum J, $other rows not split by the model"
fi

kill -TERM "$PROM_PID" "$SIM_PID" 2>/dev/null
wait "$PROM_PID" "$SIM_PID" 2>/dev/null
rerun_unprivileged
