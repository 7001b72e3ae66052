#!/usr/bin/env bash
# The Grafana dashboard (scripts/deploy/grafana-dashboard.json). Grafana is not here, so what
# matters of it is tested: the JSON model is sound (no root: it runs again as nobody), and
# every panel's query, its template variables put in as Grafana would, returns numbers from a
# real Prometheus started here on loopback that scrapes a live bpfmeter (1 s scrapes), which
# measures a simulated package and DRAM (the RAPL simulator on a powercap fixture tree) and
# loads in cgroups laid out as a Kubernetes pod's container, a Docker container and a systemd
# service, so that the pod, container and unit panels have something to show.
set -u
. "$(dirname "$0")/../lib.sh"

T_JSON=dashboard/json_model_valid_ids_unique_every_panel_queries_its_datasource
T_WIN=dashboard/range_windows_are_grafana_intervals
T_VARS=dashboard/template_variables_find_the_live_bpfmeter
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# The run as nobody has the file handed over (rerun_unprivileged copies only tests/).
DASH=${UNPRIV_HANDOFF:-$REPO/scripts/deploy}/grafana-dashboard.json

if ! command -v jq >/dev/null; then
	skip $T_JSON "jq is not installed (run scripts/install-deps.sh)"
	skip $T_WIN "jq is not installed (run scripts/install-deps.sh)"
	skip_root $T_VARS "jq is not installed (run scripts/install-deps.sh)"
	exit 0
fi

# The panels that show data, rows left out (a row's own "panels" holds those of a collapsed
# row: they count too).
PANELS='[.panels[] | ., (.panels // [])[]] | map(select(.type != "row"))'

# (a) The JSON model: it parses, has a uid, schemaVersion and title; panel ids are unique;
# every data panel has a title, a unit, the datasource variable and targets that each have a
# refId (unique in the panel), the datasource and a PromQL expr; the datasource variable is of
# type prometheus, and every query variable uses it.
notjson=$(jq -es 'length == 1 and (.[0] | type == "object")' "$DASH" >/dev/null 2>&1 ||
	echo "$DASH is not one JSON object")
why=$notjson
[ -n "$why" ] || why=$(jq -r '
	def bad(c; m): if c then empty else m end;
	[.panels[] | ., (.panels // [])[]] as $all | ($all | map(select(.type != "row"))) as $p |
	"${datasource}" as $ds |
	bad(.uid | type == "string" and length > 0; "no dashboard uid"),
	bad(.title | type == "string" and length > 0; "no title"),
	bad(.schemaVersion >= 36; "schemaVersion \(.schemaVersion) is old"),
	bad(($all | map(.id) | length) == ($all | map(.id) | unique | length); "panel ids repeat"),
	bad($p | length > 0; "no panels"),
	bad(.templating.list | map(select(.name == "datasource" and .type == "datasource" and
		.query == "prometheus")) | length == 1; "no datasource variable of type prometheus"),
	(.templating.list[] | select(.type == "query") |
		bad(.datasource.uid == $ds; "variable \(.name) not on \($ds)")),
	($p[] | .title as $t |
		bad($t | type == "string" and length > 0; "panel \(.id) has no title"),
		bad(.datasource.uid == $ds; "\($t): datasource not \($ds)"),
		bad(.fieldConfig.defaults.unit != null or .type == "table"; "\($t): no unit"),
		bad((.targets // []) | length > 0; "\($t): no targets"),
		bad((.targets // []) | map(.refId) | length == (unique | length); "\($t): refIds repeat"),
		((.targets // [])[] |
			bad(.expr | type == "string" and length > 0; "\($t): a target without expr"),
			bad(.refId | type == "string" and length > 0; "\($t): a target without refId"),
			bad(.datasource.uid == $ds; "\($t) \(.refId): datasource not \($ds)")))
	' "$DASH" 2>&1) || why="jq: $why"
why=${why//$'\n'/; }
if [ -z "$why" ]; then pass $T_JSON; else fail $T_JSON "$why"; fi

# (b) Every range a query takes is Grafana's: $__rate_interval for rate() (at least four
# scrapes, whatever the step), $__interval or $__range for increase() and *_over_time(); never
# a fixed window that would show nothing at one scrape interval and smooth away at another.
why=$notjson
[ -n "$why" ] || why=$(jq -r "$PANELS"' | .[] | .title as $t | .targets[] | .expr as $e |
	([$e | scan("\\[[^\\]]*\\]")] | map(select(. != "[$__rate_interval]" and . != "[$__interval]" and
		. != "[$__range]")) | select(length > 0) | "\($t): \(join(" ")) in \($e)"),
	($e | select(test("(?<!i)rate\\([^\\[]*\\[\\$__(interval|range)\\]")) |
		"\($t): rate() not over $__rate_interval in \($e)")' "$DASH" 2>&1) || why="jq: $why"
why=${why//$'\n'/; }
if [ -z "$why" ]; then pass $T_WIN; else fail $T_WIN "$why"; fi

# The rest runs bpfmeter (root) and a real Prometheus.
TQ=dashboard/panel_queries_return_data
root_only $T_VARS $TQ || {
	rerun_unprivileged "$DASH"
	exit
}
for tool in prometheus curl; do
	if ! command -v $tool >/dev/null; then
		skip $T_VARS "$tool is not installed (run scripts/install-deps.sh)"
		skip $TQ "$tool is not installed (run scripts/install-deps.sh)"
		rerun_unprivileged "$DASH"
		exit
	fi
done

# The simulated power (package 15 W + 10 W per busy CPU, DRAM 3 W + 2 W per busy CPU) follows
# the CPU time of everything below this test's cgroup: loads, simulator, bpfmeter, Prometheus.
SIM=$REPO/.output/rapl-sim
[ -x "$SIM" ] || make -s -C "$REPO" sim >/dev/null
tools=$(make_cgroup tools)
uid=1a2b3c4d_5e6f_7081_92a3_b4c5d6e7f809
cid=$(printf 'c%.0s' $(seq 64))
did=$(printf 'd%.0s' $(seq 64))
pod_c=$(make_cgroup "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod$uid.slice/cri-containerd-$cid.scope")
docker_c=$(make_cgroup "system.slice/docker-$did.scope")
unit_c=$(make_cgroup "system.slice/dash-load.service")
cp -r "$REPO/tests/fixtures/powercap/intel-2s" "$TMP/pc"
rm -rf "$TMP/pc/intel-rapl:1" "$TMP/pc/intel-rapl:1:0"
"$SIM" --root "$TMP/pc" intel-rapl:0=load:15:10:"$CG_BASE" \
	intel-rapl:0:0=load:3:2:"$CG_BASE" >"$TMP/sim.out" 2>&1 &
SIM_PID=$!
BG_PIDS+=("$SIM_PID")
echo "$SIM_PID" >"$tools/cgroup.procs"
for _ in $(seq 50); do grep -q ready "$TMP/sim.out" && break; sleep 0.1; done

start_bpfmeter "$TMP/m.csv" "$TMP/m.err" --csv -i 0.5 -e '' --powercap-root "$TMP/pc" \
	--carbon-intensity 400 -o prometheus:127.0.0.1:0
echo "$BPFMETER_PID" >"$tools/cgroup.procs"
BM=$(sed -n 's|^bpfmeter: Prometheus metrics at http://\(127.0.0.1:[0-9]*\)/metrics$|\1|p' "$TMP/m.err")
if [ -z "$BM" ]; then
	fail $T_VARS "bpfmeter did not say where it serves: $(head -c 400 "$TMP/m.err")"
	fail $TQ "bpfmeter did not start"
	rerun_unprivileged "$DASH"
	exit 1
fi

# The loads start once the model has seen the host idle, so that its first fit tells their
# power from the static part.
sleep 3
run_in_cgroup "$pod_c" stress-ng --cpu 1 --cpu-load 40 --timeout 60s --quiet
run_in_cgroup "$docker_c" stress-ng --cpu 1 --cpu-load 20 --timeout 60s --quiet
run_in_cgroup "$unit_c" stress-ng --cpu 1 --cpu-load 20 --timeout 60s --quiet

cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: bpfmeter
    static_configs:
      - targets: ['$BM']
EOF
start_prometheus "$TMP/prometheus.yml" "$tools"

# Until Prometheus holds a few scrapes with a fitted model and the loads in them (at most a
# minute: the queries below say what is missing, should it come to that).
ready='count_over_time(bpfmeter_model_error_watts{domain="package"}[1m]) >= 6 and on ()
	count(bpfmeter_target_power_watts{domain="package",unit="dash-load.service"}) >= 1'
for _ in $(seq 120); do
	[ "$(prom_query "$ready" | jq '.data.result | length')" -ge 1 ] 2>/dev/null && break
	sleep 0.5
done

# Grafana's variables: $__rate_interval is at least four scrape intervals, $__interval the
# step (here as long), $__range the time range (here longer than the data).
subst() { # jq filter of a string: the template variables put in
	# shellcheck disable=SC2016,SC2028
	echo 'gsub("\\$__rate_interval"; "4s") | gsub("\\$__interval"; "4s") | gsub("\\$__range"; "5m") |
		gsub("\\$\\{?job\\}?"; "bpfmeter") | gsub("\\$\\{?host\\}?"; $host) |
		gsub("\\$\\{?domain\\}?"; "package")'
}

# (c) The template variables (Grafana's label_values(SELECTOR, LABEL), which asks Prometheus's
# label values API with match[]=SELECTOR) find this job, this bpfmeter and its package domain.
why=
while IFS=$'\t' read -r name q; do
	sel=${q#label_values(}
	sel=${sel%)}
	label=${sel##*, }
	sel=${sel%, *}
	got=$(curl -s -G "$PBASE/api/v1/label/$label/values" --data-urlencode "match[]=$sel" |
		jq -r '.data[]?' | tr '\n' ' ')
	case $name in
	job) want=bpfmeter ;;
	host) want=$BM ;;
	domain) want=package ;;
	*) want='?' ;;
	esac
	[[ " $got" == *" $want "* ]] || why+="\$$name: label_values($sel, $label) gave '$got', not $want; "
done < <(jq -r --arg host "$BM" '.templating.list[] | select(.type == "query") |
	[.name, (.query.query // .query | '"$(subst)"')] | @tsv' "$DASH")
if [ -z "$why" ]; then pass $T_VARS; else fail $T_VARS "$why"; fi

# (d) Each panel's queries, as an instant query now: at least one series, every value a finite
# number, and not all zero (but for overflow, which nothing here reaches, and bpfmeter's own
# CPU: the kernel counts a process's CPU time in ticks of 10 ms, and bpfmeter uses about 1 ms a
# second here, so a few seconds may hold no tick); the pod, container and unit panels show the
# loads' (LABEL=VALUE of one of the series).
may_be_zero() {
	[ "$1" = 'Slices charged to overflow' ] || [ "$1" = 'bpfmeter CPU' ]
}
shows() { # TITLE: the label value one of its panel's series must have, if any
	case $1 in
	'Power per pod (top 10)' | 'Energy per pod over the time range (top 10)') echo "pod_uid=${uid//_/-}" ;;
	'Power per container (top 10)') echo "container_id=$did" ;;
	'Power per systemd unit (top 10)') echo unit=dash-load.service ;;
	esac
}
jq -r --arg host "$BM" "$PANELS"' | .[] | .title as $t | .targets[] |
	[$t, .refId, (.expr | '"$(subst)"')] | @tsv' "$DASH" >"$TMP/queries"
while IFS=$'\t' read -r title ref q; do
	name=$(echo "$title" | tr '[:upper:]' '[:lower:]' | sed 's/[^a-z0-9]\{1,\}/_/g; s/^_//; s/_$//')
	name="dashboard/query/${name}_$ref"
	if [[ $q == *'$'* ]]; then
		fail "$name" "a template variable is left in: $q"
		continue
	fi
	ans=$(prom_query "$q")
	status=$(jq -r '.status // "no answer"' <<<"$ans" 2>/dev/null)
	if [ "$status" != success ]; then
		fail "$name" "'$title': $status $(jq -r '.error // empty' <<<"$ans" 2>/dev/null) in: $q"
		continue
	fi
	vals=$(jq -r '.data | if .resultType == "vector" then .result[].value[1]
		elif .resultType == "scalar" then .result[1] else empty end' <<<"$ans")
	n=$(grep -c . <<<"$vals")
	res=$(awk -v z="$(may_be_zero "$title" && echo 1 || echo 0)" '
		!/^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ { bad = bad " " $0; next }
		$0 + 0 != 0 { nz++ }
		END { if (bad != "") print "not numbers:" bad; else if (!z && NR && !nz) print "all zero" }' <<<"$vals")
	want=$(shows "$title")
	if [ "$n" -eq 0 ]; then
		fail "$name" "'$title': no series from $q"
	elif [ -n "$res" ]; then
		fail "$name" "'$title': $n series, $res, from $q"
	elif [ -n "$want" ] && ! jq -e --arg l "${want%%=*}" --arg v "${want#*=}" \
		'any(.data.result[]; .metric[$l] == $v)' <<<"$ans" >/dev/null; then
		fail "$name" "'$title': no series with $want among $(jq -c '[.data.result[].metric]' <<<"$ans") from $q"
	else
		pass "$name"
	fi
done <"$TMP/queries"
[ -s "$TMP/queries" ] || fail $TQ "no panel queries in $DASH"

stop_bpfmeter || fail dashboard/bpfmeter_exit_status "bpfmeter exited with status $?: $(tail -n 3 "$TMP/m.err" | tr '\n' ' ')"
kill -TERM "$PROM_PID" "$SIM_PID" 2>/dev/null
wait "$PROM_PID" "$SIM_PID" 2>/dev/null
rerun_unprivileged "$DASH"
