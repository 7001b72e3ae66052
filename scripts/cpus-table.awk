# SPDX-License-Identifier: BSD-2-Clause
# user/energy/cpus.csv -> the C array of struct cpu_part (user/energy/estimate.h), so that
# every build of bpfmeter, the static one too, carries the table. A line that is not
# vendor,match,name,tdp_w,cores,threads,source with numbers where numbers go fails the build.
BEGIN {
	FS = ","
	print "/* Generated from user/energy/cpus.csv by scripts/cpus-table.awk: do not edit. */"
	print "#include \"estimate.h\""
	print ""
	print "const struct cpu_part cpu_parts[] = {"
}
/^#/ || /^[ \t]*$/ { next }
NR == 1 || $1 == "vendor" { next }
{
	if (NF != 7 || $4 !~ /^[0-9]+(\.[0-9]+)?$/ || $4 + 0 <= 0 || $5 !~ /^[0-9]+$/ ||
	    $6 !~ /^[0-9]+$/ || $5 + 0 < 1 || $6 + 0 < $5 + 0 || $2 == "" || $7 == "" ||
	    $0 ~ /["\\]/) {
		printf "%s:%d: expected vendor,match,name,tdp_w,cores,threads,source: %s\n",
			FILENAME, FNR, $0 > "/dev/stderr"
		bad = 1
		exit 1
	}
	if (seen[tolower($2)]++) {
		printf "%s:%d: '%s' is in the table twice\n", FILENAME, FNR, $2 > "/dev/stderr"
		bad = 1
		exit 1
	}
	printf "\t{ \"%s\", \"%s\", \"%s\", %s, %s, %s, \"%s\" },\n", $1, $2, $3, $4, $5, $6, $7
	n++
}
END {
	if (bad)
		exit 1
	print "};"
	print ""
	printf "const size_t cpu_parts_n = %d;\n", n
}
