#!/usr/bin/env bash
# The systemd unit (scripts/deploy/bpfmeter.service) where systemd is not PID 1: it verifies
# clean, its exposure is at most 3.0, its user, capabilities and no_new_privs applied by
# setpriv to a real session measure a cgroup's CPU time; and the readiness protocol
# (Type=notify) on a socket of our own: READY=1 once attached, RELOADING=1 and READY=1 around
# SIGHUP, STOPPING=1 at SIGTERM; and every system call of a service session allowed by its
# SystemCallFilter=.
set -u
. "$(dirname "$0")/../lib.sh"

T_VERIFY=systemd/unit_verifies_clean
T_EXPOSE=systemd/security_exposure_at_most_3_0
T_READY=systemd/notify_ready_once_attached_and_outputs_open
T_RELOAD=systemd/notify_sighup_reloading_with_monotonic_usec_then_ready
T_STOP=systemd/notify_sigterm_stopping_last_exit_0
T_CAPS=systemd/unit_user_and_capabilities_by_setpriv_measure_cgroup_cpu_time
T_SYSC=systemd/every_system_call_of_a_service_session_passes_the_unit_filter

REPO=$(cd "$(dirname "$0")/../.." && pwd)
UNIT=$REPO/scripts/deploy/bpfmeter.service

# unit_get KEY: the last value the unit's [Service] assigns to KEY.
unit_get() {
	sed -n "s/^$1=//p" "$UNIT" | tail -n 1
}

# --- What systemd-analyze says of the unit, as any user ------------------------------------

if command -v systemd-analyze >/dev/null; then
	# The unit as shipped, but for ExecStart's path: the binary under test. bpfmeter(8) from
	# the tree, for Documentation=man:bpfmeter(8).
	mkdir -p "$TMP/man/man8"
	cp "$REPO/scripts/deploy/bpfmeter.8" "$TMP/man/man8/"
	sed "s|^ExecStart=/usr/bin/bpfmeter |ExecStart=$BPFMETER |" "$UNIT" >"$TMP/bpfmeter.service"
	MANPATH=$TMP/man systemd-analyze verify "$TMP/bpfmeter.service" >"$TMP/verify" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$TMP/verify" ] && grep -q "^ExecStart=$BPFMETER " "$TMP/bpfmeter.service"; then
		pass $T_VERIFY
	else
		fail $T_VERIFY "rc $rc: $(head -c 400 "$TMP/verify")"
	fi

	systemd-analyze security --offline=yes "$UNIT" >"$TMP/security" 2>&1
	level=$(sed -n 's/.*Overall exposure level for bpfmeter.service: \([0-9.]*\) .*/\1/p' "$TMP/security")
	echo "    exposure ${level:-?}"
	if [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 3.0) }'; then
		pass $T_EXPOSE
	else
		fail $T_EXPOSE "exposure '${level}': $(grep -e '✗' "$TMP/security" | head -5)"
	fi
else
	skip $T_VERIFY "systemd-analyze (systemd) is not installed"
	skip $T_EXPOSE "systemd-analyze (systemd) is not installed"
fi

root_only $T_READY $T_RELOAD $T_STOP $T_CAPS $T_SYSC || exit 0

# --- Readiness: a notify socket of our own ---------------------------------------------------

if ! command -v python3 >/dev/null || ! command -v bpftool >/dev/null; then
	for t in $T_READY $T_RELOAD $T_STOP; do
		skip $t "python3 and bpftool are needed (scripts/install-deps.sh)"
	done
else
	# Logs each datagram as one line "RECEIVED_USEC<TAB>fields..." (CLOCK_MONOTONIC), and
	# at the first READY=1 the BPF links its sender holds then (its pid from SCM_CREDENTIALS).
	cat >"$TMP/notify.py" <<'EOF'
import os, socket, struct, subprocess, sys, time
sock, log, links = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sock)
out = open(log, "a", buffering=1)
ready = False
while True:
    msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    pid = 0
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", data[:12])[0]
    msg = msg.decode()
    if not ready and "READY=1" in msg.split("\n"):
        ready = True
        # The sender's BPF links at that moment, as bpftool describes them.
        with open(links, "w") as f:
            f.write("pid %d\n" % pid)
            d = "/proc/%d/fdinfo" % pid
            for fd in os.listdir(d):
                try:
                    info = open(os.path.join(d, fd)).readlines()
                except FileNotFoundError:  # closed meanwhile: sd_notify's own socket
                    continue
                for line in info:
                    if line.startswith("link_id:"):
                        f.flush()
                        subprocess.run(["bpftool", "link", "show", "id", line.split()[1]],
                                       stdout=f, stderr=subprocess.STDOUT)
    out.write("%d\t%s\n" % (usec, msg.replace("\n", "\t")))
EOF
	python3 "$TMP/notify.py" "$TMP/notify.sock" "$TMP/notify.log" "$TMP/links" &
	BG_PIDS+=($!)
	for i in $(seq 50); do [ -S "$TMP/notify.sock" ] && break; sleep 0.1; done
	# wait_notify N: until the log has N lines (or bpfmeter is gone).
	wait_notify() {
		local i
		for i in $(seq 100); do
			[ "$(wc -l <"$TMP/notify.log" 2>/dev/null || echo 0)" -ge "$1" ] && return 0
			kill -0 "$BPFMETER_PID" 2>/dev/null || return 1
			sleep 0.1
		done
		return 1
	}
	NOTIFY_SOCKET=$TMP/notify.sock "$BPFMETER" -i 0.2 -e '' --energy-source none \
		-o csv:"$TMP/n.csv" >"$TMP/n.out" 2>"$TMP/n.err" &
	BPFMETER_PID=$!
	BG_PIDS+=("$BPFMETER_PID")
	wait_notify 1
	l1=$(sed -n 1p "$TMP/notify.log")
	if [[ $l1 == *$'\t'READY=1$'\t'STATUS=measuring:* ]] &&
		[ "$(head -n 1 "$TMP/links")" = "pid $BPFMETER_PID" ] &&
		grep -q "tp 'sched_switch'" "$TMP/links" && [ -e "$TMP/n.csv" ]; then
		pass $T_READY
	else
		fail $T_READY "first message '$l1'; the sender's links then: $(tr '\n' ' ' <"$TMP/links" 2>/dev/null | head -c 300); $(head -c 300 "$TMP/n.err")"
	fi

	kill -HUP "$BPFMETER_PID"
	wait_notify 3
	l2=$(sed -n 2p "$TMP/notify.log")
	l3=$(sed -n 3p "$TMP/notify.log")
	ready_usec=${l1%%$'\t'*}
	recv_usec=${l2%%$'\t'*}
	mono=$(sed -n 's/.*\tMONOTONIC_USEC=\([0-9]*\)\t.*/\1/p' <<<"$l2")
	echo "    after SIGHUP: '$l2' then '$l3'"
	if [[ $l2 == *$'\t'RELOADING=1$'\t'* ]] && [ -n "$mono" ] && [ "$mono" -gt "$ready_usec" ] &&
		[ "$mono" -le "$recv_usec" ] && [[ $l3 == *$'\t'READY=1$'\t'* ]] && kill -0 "$BPFMETER_PID"; then
		pass $T_RELOAD
	else
		fail $T_RELOAD "after the first READY=1 at ${ready_usec}us: '$l2' (received at ${recv_usec}us), then '$l3'"
	fi

	kill -TERM "$BPFMETER_PID"
	wait "$BPFMETER_PID"
	rc=$?
	last=$(tail -n 1 "$TMP/notify.log")
	if [ $rc -eq 0 ] && [ "$(wc -l <"$TMP/notify.log")" -eq 4 ] && [[ $last == *$'\t'STOPPING=1$'\t'* ]]; then
		pass $T_STOP
	else
		fail $T_STOP "rc $rc, messages: $(cut -f 2- "$TMP/notify.log" | tr '\n' '|')"
	fi
fi

# --- The unit's privileges on a real session -------------------------------------------------

# User=bpfmeter is a system user with no other rights: nobody stands in for it here, where the
# package may not be installed. The capabilities, bounding set and no_new_privs are the unit's.
user=$(unit_get User)
ambient=$(unit_get AmbientCapabilities)
bounding=$(unit_get CapabilityBoundingSet)
nnp=$(unit_get NoNewPrivileges)
# setpriv's names: lower case without CAP_. One this machine's bounding set lacks (a container
# may withhold one) cannot be granted: it is left out and said.
have=$(setpriv -d | sed -n 's/^Capability bounding set: //p')
setpriv_name() {
	tr 'A-Z' 'a-z' <<<"${1#CAP_}"
}
to_setpriv() {
	local c n out=
	for c in $1; do
		n=$(setpriv_name "$c")
		[[ ,$have, != *,$n,* ]] || out+=",+$n"
	done
	echo "${out#,}"
}
capnum() {
	awk -v n="$1" '$1 == "#define" && $2 == n { print $3 }' /usr/include/linux/capability.h
}
amb=$(to_setpriv "$ambient")
bnd=$(to_setpriv "$bounding")
LACKING= want_mask=0
for c in $bounding; do
	if [[ ,$have, == *,$(setpriv_name "$c"),* ]]; then
		want_mask=$((want_mask | (1 << $(capnum "$c"))))
	else
		LACKING+=" $c"
	fi
done
if [ -z "$user" ] || [ -z "$ambient" ] || [ "$ambient" != "$bounding" ] || [ "$nnp" != yes ] ||
	[ "$want_mask" -eq 0 ]; then
	fail $T_CAPS "the unit's User '$user', AmbientCapabilities '$ambient', CapabilityBoundingSet '$bounding', NoNewPrivileges '$nnp'"
	exit 1
fi
[ -z "$LACKING" ] || echo "    this machine's bounding set lacks$LACKING: left out"

bin=$(nobody_copy "$BPFMETER")
outdir=$(mktemp -d "$NOBODY_DIR/out.XXXXXX")
chown 65534:65534 "$outdir"
cg=$(make_cgroup unitcaps)
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,"$amb" --ambient-caps=-all,"$amb" \
	--bounding-set=-all,"$bnd" --no-new-privs -- "$bin" -i 1 -e '' --energy-source none \
	-o csv:"$outdir/c.csv" >"$TMP/c.out" 2>"$TMP/c.err" &
BPFMETER_PID=$!
BG_PIDS+=("$BPFMETER_PID")
for i in $(seq 100); do
	[ -s "$outdir/c.csv" ] && break
	kill -0 "$BPFMETER_PID" 2>/dev/null || break
	sleep 0.1
done
status=$(cat "/proc/$BPFMETER_PID/status" 2>/dev/null)
uid=$(awk '$1 == "Uid:" { print $2 }' <<<"$status")
bnd_hex=$(awk '$1 == "CapBnd:" { print $2 }' <<<"$status")
nnp_now=$(awk '$1 == "NoNewPrivs:" { print $2 }' <<<"$status")
run_in_cgroup "$cg" stress-ng --cpu 1 --cpu-load 50 --timeout 2s --quiet
wait "$BG_PID"
sleep 1.2
kill -INT "$BPFMETER_PID"
wait "$BPFMETER_PID"
rc=$?
want=$(usage_usec "$cg")
got=$(awk -F, -v ct="$(csv_col "$outdir/c.csv" target)" -v cc="$(csv_col "$outdir/c.csv" cpu_ns)" \
	-v t="$(target_of "$cg")" 'NR > 1 && $ct == t { s += $cc } END { printf "%.0f", s / 1000 }' "$outdir/c.csv")
echo "    as uid ${uid:-?}, CapBnd ${bnd_hex:-?} (want $(printf '%016x' "$want_mask")), NoNewPrivs ${nnp_now:-?}: bpfmeter ${got}us, cpu.stat ${want}us"
if [ $rc -eq 0 ] && [ "$uid" = 65534 ] && [ "$nnp_now" = 1 ] &&
	[ "$((16#${bnd_hex:-0}))" -eq "$want_mask" ] && [ "${want:-0}" -gt 200000 ] &&
	within "$got" "$want" 2; then
	pass $T_CAPS
else
	fail $T_CAPS "rc $rc, uid '$uid', CapBnd '$bnd_hex', NoNewPrivs '$nnp_now', bpfmeter ${got}us against cpu.stat ${want}us: $(grep -v '^libbpf' "$TMP/c.err" | head -3)"
fi

# --- The unit's system call filter against what a service session calls ---------------------

# systemd applies SystemCallFilter= only as PID 1; here strace lists every system call of a
# session run with /etc/default/bpfmeter's options (its directories made temporary, the port
# free), a powercap tree, a CSV file, a scrape, SIGHUP and SIGTERM, and each must be one the
# unit allows: its allow lines' groups expanded by systemd-analyze, less its deny lines'.
if ! command -v strace >/dev/null || ! command -v systemd-analyze >/dev/null; then
	skip $T_SYSC "strace and systemd-analyze are needed (scripts/install-deps.sh)"
	exit 0
fi
# expand NAME...: the system calls of each name or @group, recursively.
declare -A SEEN=()
expand() {
	local n
	for n in "$@"; do
		if [[ $n == @* ]]; then
			[ -n "${SEEN[$n]:-}" ] && continue
			SEEN[$n]=1
			expand $(systemd-analyze syscall-filter "$n" | sed -n '2,$s/^ *\([@a-z0-9_-]*\).*/\1/p')
		else
			echo "$n"
		fi
	done
}
allow=() deny=()
while read -r line; do
	if [[ $line == '~'* ]]; then deny+=(${line#\~}); else allow+=($line); fi
done < <(sed -n 's/^SystemCallFilter=//p' "$UNIT")
expand "${allow[@]}" | sort -u >"$TMP/allowed"
SEEN=()
expand "${deny[@]}" | sort -u >"$TMP/denied"
comm -23 "$TMP/allowed" "$TMP/denied" >"$TMP/permitted"
opts=$(sed -n 's/^BPFMETER_OPTS="\(.*\)"$/\1/p' "$REPO/scripts/deploy/bpfmeter.default")
opts=${opts//\/var\/lib\/bpfmeter/$TMP\/state}
opts=${opts//prometheus::9102/prometheus:127.0.0.1:0}
cp -r "$REPO/tests/fixtures/powercap/intel-2s" "$TMP/sc-pc"
cg=$(make_cgroup syscalls)
# shellcheck disable=SC2086 # the defaults file's options, split as systemd splits $BPFMETER_OPTS
strace -f -qq -o "$TMP/strace" "$BPFMETER" $opts -i 0.3 --powercap-root "$TMP/sc-pc" \
	-o csv:"$TMP/sc.csv" >"$TMP/sc.out" 2>"$TMP/sc.err" &
STRACE_PID=$!
BG_PIDS+=("$STRACE_PID")
url=
for _ in $(seq 100); do
	url=$(sed -n 's/.*Prometheus metrics at \(http[^ ]*\).*/\1/p' "$TMP/sc.err")
	[ -n "$url" ] && [ -s "$TMP/sc.csv" ] && break
	sleep 0.1
done
# The signals go to bpfmeter, strace's child (strace itself would detach on them). Its pid is
# read once bpfmeter has spoken: before, strace's child may be one of the short-lived probes it
# forks at its start, and a signal sent there left bpfmeter running and the test waiting.
BPFMETER_PID=$(pgrep -P "$STRACE_PID" | head -n 1)
run_in_cgroup "$cg" stress-ng --cpu 1 --timeout 1s --quiet
wait "$BG_PID"
scraped=$(curl -s "$url" | grep -c '^bpfmeter_')
kill -HUP "$BPFMETER_PID"
sleep 0.7
kill -TERM "$BPFMETER_PID"
wait_exit "$STRACE_PID" 10
rc=$?
if [ $rc -eq 124 ]; then
	echo "    bpfmeter ($BPFMETER_PID) was still running 10 s after SIGTERM: killed"
	kill -KILL "$BPFMETER_PID" "$STRACE_PID" 2>/dev/null
	wait "$STRACE_PID"
fi
# strace's lines: "PID name(...", the first call of a line after its pid.
awk '{ if (match($2, /^[a-z0-9_]+\(/)) print substr($2, 1, RLENGTH - 1) }' "$TMP/strace" |
	sort -u >"$TMP/called"
outside=$(comm -23 "$TMP/called" "$TMP/permitted" | tr '\n' ' ')
echo "    $(wc -l <"$TMP/called") distinct system calls, $(wc -l <"$TMP/permitted") permitted by the unit; $scraped metric lines scraped"
if [ $rc -eq 0 ] && [ "${scraped:-0}" -gt 0 ] && [ "$(wc -l <"$TMP/called")" -gt 20 ] &&
	grep -qx bpf "$TMP/called" && [ -z "$outside" ]; then
	pass $T_SYSC
else
	fail $T_SYSC "rc $rc, $scraped lines scraped; called but not permitted: ${outside:-none}; $(grep -v '^libbpf' "$TMP/sc.err" | head -2)"
fi
