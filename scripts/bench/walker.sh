# Sourced by scripts/bench-rss.sh and scripts/bench-kmem.sh: N cgroups kept active by one
# shell that walks them in turn, moving itself into each and starting /bin/true there, so that
# every one of them runs in most intervals.
#
#   walker_start NAME N   make N cgroups below the cgroup2 mount and start the walk
#   walker_stop           end the walk and remove the cgroups (safe to call twice)
walker_cg= walker_pid=

walker_start() {
	local mnt i
	mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	walker_cg=$mnt/bpfmeter-bench-$1-$$
	for i in $(seq "$2"); do mkdir -p "$walker_cg/c$i"; done
	bash -c 'while :; do for d in "$0"/c*/; do echo $BASHPID >"$d/cgroup.procs"; /bin/true; done; done' "$walker_cg" &
	walker_pid=$!
}

walker_stop() {
	[ -z "$walker_pid" ] || { kill "$walker_pid" 2>/dev/null; wait "$walker_pid" 2>/dev/null || :; }
	[ -z "$walker_cg" ] || find "$walker_cg" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || :
	[ -z "$walker_cg" ] || rmdir "$walker_cg" 2>/dev/null || :
	walker_pid= walker_cg=
}
