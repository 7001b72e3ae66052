#!/usr/bin/env bash
# The live view as a user meets it: a real session in tmux, driven by keys, captured at 80x24
# and 200x50, resized; the terminal back in cooked mode however it ends. The energy is the
# RAPL simulator's, so that the power, energy and share columns are there.
set -u
. "$(dirname "$0")/../lib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
T_FIT80=liveview/screen_fits_80x24
T_FIT200=liveview/screen_fits_200x50
T_RESIZE=liveview/resize_redraws_at_the_new_size
T_NAME=liveview/n_sorts_by_name_and_again_reversed
T_CPU=liveview/c_sorts_by_cpu
T_ENERGY=liveview/e_sorts_by_energy_since_start
T_TREE=liveview/t_tree_indents_and_parents_total_their_subtree
T_GROUP=liveview/g_cycles_group_by
T_HELP=liveview/h_shows_the_keys
T_UNKNOWN=liveview/unknown_keys_ignored
T_QUIT=liveview/q_exits_0_with_summary_and_cooked_terminal
T_INT=liveview/ctrl_c_leaves_a_cooked_terminal
T_TERM=liveview/sigterm_leaves_a_cooked_terminal
T_CRASH=liveview/crash_leaves_a_cooked_terminal
T_STOP=liveview/ctrl_z_stops_with_a_cooked_terminal
T_NOTTY=liveview/stdin_not_a_tty_reads_no_keys
ALL="$T_FIT80 $T_FIT200 $T_RESIZE $T_NAME $T_CPU $T_ENERGY $T_TREE $T_GROUP $T_HELP $T_UNKNOWN
	$T_QUIT $T_INT $T_TERM $T_CRASH $T_STOP $T_NOTTY"
# shellcheck disable=SC2086
need_root_and_cgroup2 $ALL
if ! command -v tmux >/dev/null; then
	for t in $ALL; do skip "$t" "tmux is not installed (run scripts/install-deps.sh)"; done
	exit 0
fi
SIM=$REPO/.output/rapl-sim
[ -x "$SIM" ] || make -s -C "$REPO" sim >/dev/null

# Energy: a laptop's one package at 20 W.
cp -r "$REPO/tests/fixtures/powercap/intel-laptop" "$TMP/pc"
"$SIM" --root "$TMP/pc" intel-rapl:0=const:20 >"$TMP/sim.out" 2>&1 &
BG_PIDS+=("$!")
for _ in $(seq 50); do grep -q ready "$TMP/sim.out" && break; sleep 0.1; done

# A parent busy itself, with two children of its own.
parent=$(make_cgroup lv)
make_cgroup lv/a >/dev/null
make_cgroup lv/b >/dev/null
run_in_cgroup "$parent" stress-ng --cpu 1 --cpu-load 50 --timeout 120s --quiet
run_in_cgroup "$parent/a" stress-ng --cpu 1 --cpu-load 30 --timeout 120s --quiet
run_in_cgroup "$parent/b" stress-ng --cpu 1 --cpu-load 15 --timeout 120s --quiet
P=$(target_of "$parent")

SOCK=$TMP/tmux.sock
tm() { tmux -S "$SOCK" "$@"; }
cleanup_tmux() {
	tm kill-server 2>/dev/null
	cleanup
}
trap cleanup_tmux EXIT

# view NAME W H ARGS...: bpfmeter in a new tmux session of W x H; when it ends, its status
# and the terminal's settings (stty -a, in the pane) go to $TMP/NAME.rc and $TMP/NAME.stty.
# Its pid is in $TMP/NAME.pid.
view() {
	local name=$1 w=$2 h=$3
	shift 3
	rm -f "$TMP/$name".*
	tm new-session -d -s "$name" -x "$w" -y "$h" \
		"ulimit -c 0; sh -c 'echo \$\$ >$TMP/$name.pid; exec $BPFMETER $*'; echo \$? >$TMP/$name.rc; stty -a >$TMP/$name.stty; sleep 600"
	tm set-option -t "$name" status off >/dev/null
	tm resize-window -t "$name" -x "$w" -y "$h" 2>/dev/null
}

# screen NAME: the pane as shown, wrapped lines joined (a line wider than the pane shows). The
# "±" of a power's standard error as "+": one column, one byte, for awk's length() and
# index(), which count bytes.
screen() {
	tm capture-pane -p -J -t "$1" | sed 's/\xc2\xb1/+/g'
}

# wait_for NAME REGEX [SECONDS]: until the pane shows REGEX.
wait_for() {
	local _
	for _ in $(seq $((${3:-10} * 10))); do
		screen "$1" | grep -qE -- "$2" && return 0
		sleep 0.1
	done
	return 1
}

# wait_end NAME: until bpfmeter's status is written (up to 10 s).
wait_end() {
	local _
	for _ in $(seq 100); do
		[ -s "$TMP/$1.rc" ] && [ -s "$TMP/$1.stty" ] && return 0
		sleep 0.1
	done
	return 1
}

# cooked NAME: stty -a in the pane said icanon and echo, not -icanon, -echo.
cooked() {
	grep -qw -- '-icanon' "$TMP/$1.stty" && return 1
	grep -qE -- '(^| )echo( |$)' "$TMP/$1.stty" && grep -qE -- '(^| )icanon( |$)' "$TMP/$1.stty"
}

# fits FILE W H: no line wider than W columns, no more lines than H.
fits() {
	awk -v w="$2" -v h="$3" '{ if (length($0) > w) bad = 1 } END { exit bad || NR > h }' "$1"
}

# rows FILE: the table's rows (below the TARGET line, without a "+N more").
rows() {
	awk 'f && !/^\+[0-9]+ more$/ && NF { print } /^TARGET/ { f = 1 }' "$1"
}

# column FILE HEADING: the figures of the column under HEADING (right-aligned under it).
column() {
	awk -v hd="$2" '
		/^TARGET/ { end = index($0, hd) + length(hd) - 1; f = 1; next }
		f && !/^\+[0-9]+ more$/ && NF { v = substr($0, end - 9, 10); gsub(/ /, "", v); print v }' "$1"
}

# --- Keys, at 200x50 and 80x24 ----------------------------------------------------------------
view k 80 24 -i 4 -e cpu-clock --powercap-root "$TMP/pc"
if ! wait_for k '^TARGET' 15; then
	for t in $ALL; do fail "$t" "no live view in tmux: $(screen k | head -c 400)"; done
	exit 1
fi
screen k >"$TMP/s80"
if fits "$TMP/s80" 80 24 && grep -q 'package W' "$TMP/s80" && grep -q 'ENERGY' "$TMP/s80" &&
	grep -q '^power (powercap): package' "$TMP/s80" && [ "$(head -n 1 "$TMP/s80" | awk '{ print length($0) }')" -eq 80 ]; then
	pass $T_FIT80
else
	fail $T_FIT80 "$(head -c 1200 "$TMP/s80")"
fi

# A new size is drawn at once, not at the next interval (4 s away).
tm resize-window -t k -x 200 -y 50
sleep 0.8
screen k >"$TMP/s200"
w1=$(head -n 1 "$TMP/s200" | awk '{ print length($0) }')
if [ "${w1:-0}" -eq 200 ] && grep -q "^$P/a " "$TMP/s200"; then
	pass $T_RESIZE
else
	fail $T_RESIZE "title line ${w1:-?} columns after the resize to 200: $(head -n 8 "$TMP/s200")"
fi
if fits "$TMP/s200" 200 50; then
	pass $T_FIT200
else
	fail $T_FIT200 "$(awk 'length($0) > 200' "$TMP/s200" | head -c 400) ($(wc -l <"$TMP/s200") lines)"
fi

tm send-keys -t k n
sleep 0.5
screen k >"$TMP/n1"
tm send-keys -t k n
sleep 0.5
screen k >"$TMP/n2"
rows "$TMP/n1" | awk '{ print $1 }' >"$TMP/n1.names"
rows "$TMP/n2" | awk '{ print $1 }' >"$TMP/n2.names"
if [ "$(wc -l <"$TMP/n1.names")" -ge 4 ] && LC_ALL=C sort -c "$TMP/n1.names" 2>/dev/null &&
	LC_ALL=C sort -rc "$TMP/n2.names" 2>/dev/null && grep -qF '[by name;' "$TMP/n1" &&
	grep -q 'by name reversed' "$TMP/n2"; then
	pass $T_NAME
else
	fail $T_NAME "names after n: $(tr '\n' ' ' <"$TMP/n1.names" | head -c 300); after n n: $(tr '\n' ' ' <"$TMP/n2.names" | head -c 300)"
fi

tm send-keys -t k c
sleep 0.5
screen k >"$TMP/c"
column "$TMP/c" 'CPU%' >"$TMP/c.cpu"
if [ "$(wc -l <"$TMP/c.cpu")" -ge 4 ] && sort -grc "$TMP/c.cpu" 2>/dev/null && grep -qF '[by CPU;' "$TMP/c"; then
	pass $T_CPU
else
	fail $T_CPU "CPU% after c: $(tr '\n' ' ' <"$TMP/c.cpu" | head -c 300)"
fi

tm send-keys -t k e
sleep 0.5
screen k >"$TMP/e"
# "12.3 J" or "1.20 Wh": in joules.
column "$TMP/e" 'ENERGY' | awk '/Wh$/ { print $0 * 3600; next } { print $0 + 0 }' >"$TMP/e.j"
if [ "$(wc -l <"$TMP/e.j")" -ge 4 ] && sort -grc "$TMP/e.j" 2>/dev/null && grep -qF '[by energy;' "$TMP/e"; then
	pass $T_ENERGY
else
	fail $T_ENERGY "ENERGY after e: $(tr '\n' ' ' <"$TMP/e.j" | head -c 300)"
fi

# The tree and the flat rows of one interval (the keys redraw it, nothing is measured between):
# the parent's subtree is its own row and its children's together.
tm send-keys -t k c ' '
sleep 0.6
tm send-keys -t k t
sleep 0.4
screen k >"$TMP/t"
tm send-keys -t k t
sleep 0.4
screen k >"$TMP/flat"
flat() { awk -v t="$1" -v e="$(awk '/^TARGET/ { print index($0, "CPU%") + 3; exit }' "$TMP/flat")" \
	'$1 == t { v = substr($0, e - 9, 10); gsub(/ /, "", v); print v }' "$TMP/flat"; }
own=$(flat "$P") ca=$(flat "$P/a") cb=$(flat "$P/b")
# In the tree: "lv" indented under its parent, "a" and "b" under it, deeper.
tree_lv=$(awk -v e="$(awk '/^TARGET/ { print index($0, "CPU%") + 3; exit }' "$TMP/t")" \
	'$1 == "lv" { v = substr($0, e - 9, 10); gsub(/ /, "", v); print v; exit }' "$TMP/t")
ind_lv=$(awk '$1 == "lv" { match($0, /^ */); print RLENGTH; exit }' "$TMP/t")
ind_a=$(awk '$1 == "a" { match($0, /^ */); print RLENGTH; exit }' "$TMP/t")
if [ -n "$tree_lv" ] && [ -n "$own" ] && [ -n "$ca" ] && [ -n "$cb" ] && [ "${ind_a:-0}" -gt "${ind_lv:-0}" ] &&
	grep -q ', tree;' "$TMP/t" &&
	awk -v t="$tree_lv" -v o="$own" -v a="$ca" -v b="$cb" 'BEGIN { d = t - (o + a + b); exit !(d < 0.2 && d > -0.2 && o > 0) }'; then
	pass $T_TREE
	echo "    tree: lv $tree_lv = own $own + a $ca + b $cb (CPU %)"
else
	fail $T_TREE "tree lv '$tree_lv' (indent $ind_lv, a's $ind_a), flat own '$own' a '$ca' b '$cb': $(grep -E '^ *(lv|a|b) ' "$TMP/t" | head -c 400)"
fi

tm send-keys -t k g
sleep 0.4
screen k >"$TMP/g1"
tm send-keys -t k g g g
sleep 0.4
screen k >"$TMP/g4"
if grep -q '^TARGET by container' "$TMP/g1" && grep -q 'per container' "$TMP/g1" &&
	grep -q '^TARGET  ' "$TMP/g4"; then
	pass $T_GROUP
else
	fail $T_GROUP "$(grep '^TARGET' "$TMP/g1" "$TMP/g4")"
fi

tm send-keys -t k h
sleep 0.4
screen k >"$TMP/h"
tm send-keys -t k '?'
sleep 0.4
screen k >"$TMP/h2"
if grep -q '^Keys:' "$TMP/h" && grep -q 'q  *quit' "$TMP/h" && grep -q 'sort by power' "$TMP/h" &&
	! grep -q '^Keys:' "$TMP/h2" && grep -q '^TARGET' "$TMP/h2"; then
	pass $T_HELP
else
	fail $T_HELP "$(head -c 600 "$TMP/h")"
fi

# Keys that mean nothing change nothing, nor does a stray escape sequence (an arrow key).
tm send-keys -t k x Z 1 Up
sleep 0.4
screen k >"$TMP/x"
if [ "$(grep '^TARGET' "$TMP/x")" = "$(grep '^TARGET' "$TMP/h2")" ] && ! grep -q '^Keys:' "$TMP/x" &&
	grep -q 'by CPU;' "$TMP/x" && [ ! -e "$TMP/k.rc" ]; then
	pass $T_UNKNOWN
else
	fail $T_UNKNOWN "$(head -n 7 "$TMP/x")"
fi

tm send-keys -t k q
if wait_end k && [ "$(cat "$TMP/k.rc")" = 0 ] && screen k | grep -q 'Session summary' && cooked k; then
	pass $T_QUIT
else
	fail $T_QUIT "rc '$(cat "$TMP/k.rc" 2>/dev/null)', stty: $(grep -o -- '-\?icanon\|-\?echo ' "$TMP/k.stty" 2>/dev/null | tr '\n' ' ')"
fi

# --- However it ends, the terminal is cooked again ---------------------------------------------
# ends_cooked NAME TEST RC HOW: a view ended by HOW (keys: C-c; or a signal: -TERM), with exit
# status RC and the terminal cooked (and the summary out, where it ends the session).
ends_cooked() {
	local n=$1 t=$2 rc=$3 how=$4 summary=ok
	view "$n" 80 24 -i 1 -e cpu-clock --energy-source none
	wait_for "$n" '^TARGET'
	case $how in
	-*) kill "$how" "$(cat "$TMP/$n.pid")" ;;
	*) tm send-keys -t "$n" "$how" ;;
	esac
	wait_end "$n"
	[ "$how" != C-c ] || screen "$n" | grep -q 'Session summary' || summary=missing
	if [ "$(cat "$TMP/$n.rc")" = "$rc" ] && cooked "$n" && [ $summary = ok ]; then
		pass "$t"
	else
		fail "$t" "rc '$(cat "$TMP/$n.rc" 2>/dev/null)', summary $summary, stty: $(head -c 300 "$TMP/$n.stty" 2>/dev/null)"
	fi
}
ends_cooked int $T_INT 0 C-c
ends_cooked term $T_TERM 0 -TERM
# A crash (SIGABRT, as from abort(3)): the terminal back before the signal ends the process.
ends_cooked crash $T_CRASH 134 -ABRT

# Ctrl-Z: stopped, the terminal cooked for the shell. bpfmeter runs as a job of a shell with job
# control (set -m), as from an interactive one: in the pane's own process group, an orphan, the
# kernel would not stop it.
rm -f "$TMP"/stop.*
tm new-session -d -s stop -x 80 -y 24 \
	"sh -c 'set -m; sh -c \"echo \\\$\\\$ >$TMP/stop.pid; exec $BPFMETER -i 1 -e cpu-clock --energy-source none\"; echo \$? >$TMP/stop.rc; sleep 600'"
wait_for stop '^TARGET'
pty=$(tm display-message -p -t stop '#{pane_tty}')
raw=$(stty -a -F "$pty" | grep -ow -- '-\?icanon')
tm send-keys -t stop C-z
sleep 0.8
state=$(awk '{ print $3 }' "/proc/$(cat "$TMP/stop.pid")/stat")
stopped=$(stty -a -F "$pty" | grep -ow -- '-\?icanon')
stopped_echo=$(stty -a -F "$pty" | grep -ow -- '-\?echo')
kill -KILL "$(cat "$TMP/stop.pid")"
if [ "$raw" = -icanon ] && [ "$state" = T ] && [ "$stopped" = icanon ] && [ "$stopped_echo" = echo ]; then
	pass $T_STOP
else
	fail $T_STOP "running '$raw', after Ctrl-Z: state '$state', '$stopped' '$stopped_echo'"
fi

# stdin not a terminal: the view is drawn, no key is read, the terminal's mode is left alone.
view notty 80 24 -i 1 -e cpu-clock --energy-source none "</dev/null"
wait_for notty '^TARGET'
tm send-keys -t notty q
sleep 1.5
alive=0
kill -0 "$(cat "$TMP/notty.pid")" 2>/dev/null && alive=1
kill -INT "$(cat "$TMP/notty.pid")" 2>/dev/null
if [ $alive = 1 ] && wait_end notty && [ "$(cat "$TMP/notty.rc")" = 0 ] && cooked notty; then
	pass $T_NOTTY
else
	fail $T_NOTTY "alive after q: $alive, rc '$(cat "$TMP/notty.rc" 2>/dev/null)'"
fi
