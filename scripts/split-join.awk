# Joins bpfmeter's CSV output of a replayed split-scenario recording with its truth file
# (scripts/bench-split.sh, tests/integration/split.sh).
#
#   awk -F, -v from=N -f scripts/split-join.awk TRUTH OUTPUT.csv > ERRORS
#
# from: the first interval judged (0-based; the ones before are the warm-up). ERRORS gets one
# line per judged row: "cg REL_ERR" (|power_w - true_w| / true_w of a cgroup), "idle ERR_W"
# (power_w - true_w of idle, signed), and, when the output has a power_w_err column, "cover 1"
# or "cover 0" (the truth within two of its standard errors, or not). The last line is a
# summary: "summary truth_rows=... joined=... truth_unjoined=... output_unjoined=...
# intervals=... max_conservation=..." (the largest |sum of the targets' energy - measured| /
# measured of an interval).
FNR == 1 {
	file++
	if (file == 2)
		for (i = 1; i <= NF; i++)
			col[$i] = i
	next
}
file == 1 {
	key = sprintf("%.3f", $1) "," $2
	truth[key] = $4
	if (!(sprintf("%.3f", $1) in ival))
		ival[sprintf("%.3f", $1)] = nival++
	ntruth++
	next
}
{
	ts = sprintf("%.3f", $col["timestamp"])
	if ($col["kind"] == "energy") {
		measured[ts] += $col["energy_j"]
		next
	}
	if ($col["kind"] != "target")
		next
	sum[ts] += $col["energy_j"]
	key = ts "," $col["target"]
	if (!(key in truth)) {
		unjoined++
		next
	}
	if (key in seen)
		next
	seen[key] = 1
	joined++
	if (ival[ts] < from)
		next
	t = truth[key]
	p = $col["power_w"]
	if ($col["target"] == "idle")
		print "idle", p - t
	else if (t > 0)
		print "cg", (p > t ? p - t : t - p) / t
	if ("power_w_err" in col && $col["power_w_err"] != "")
		print "cover", ((p > t ? p - t : t - p) <= 2 * $col["power_w_err"]) ? 1 : 0
}
END {
	worst = 0
	for (ts in measured) {
		d = sum[ts] - measured[ts]
		if (d < 0)
			d = -d
		if (measured[ts] > 0 && d / measured[ts] > worst)
			worst = d / measured[ts]
		n++
	}
	printf "summary truth_rows=%d joined=%d truth_unjoined=%d output_unjoined=%d " \
	       "intervals=%d max_conservation=%.3g\n", ntruth, joined, ntruth - joined, unjoined,
	       n, worst
}
