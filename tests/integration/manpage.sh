#!/usr/bin/env bash
# bpfmeter(8), scripts/deploy/bpfmeter.8: man formats it without a warning, and it names every
# long option, subcommand and environment variable that --help (and replay --help) names, so
# the two cannot drift apart.
set -u
. "$(dirname "$0")/../lib.sh"

T_WARN=manpage/man_warnings_prints_nothing
T_OPTS=manpage/every_long_option_of_help_in_the_man_page
T_CMDS=manpage/every_subcommand_and_environment_variable_of_help_in_the_man_page

PAGE=$(cd "$(dirname "$0")/../.." && pwd)/scripts/deploy/bpfmeter.8

if command -v man >/dev/null && man --version 2>/dev/null | grep -q '^man '; then
	warn=$(man --warnings -l "$PAGE" 2>&1 >/dev/null)
	rc=$?
	[ $rc -eq 0 ] && [ -z "$warn" ] && pass $T_WARN || fail $T_WARN "rc $rc: $(head -c 400 <<<"$warn")"
else
	skip $T_WARN "man (man-db) is not installed"
fi

"$BPFMETER" --help >"$TMP/help" 2>&1 && "$BPFMETER" replay --help >>"$TMP/help" 2>&1 ||
	fail $T_OPTS "bpfmeter --help or replay --help failed: $(head -c 300 "$TMP/help")"
# The page's text as written: roff's \- is a -.
sed 's/\\-/-/g' "$PAGE" >"$TMP/page"

opts=$(grep -o -- '--[a-z][a-z0-9-]*' "$TMP/help" | sort -u)
missing=
for o in $opts; do
	grep -qF -- "$o" "$TMP/page" || missing+=" $o"
done
echo "    $(wc -w <<<"$opts") long options in the help"
if [ -n "$opts" ] && [ -z "$missing" ]; then
	pass $T_OPTS
else
	fail $T_OPTS "not in the man page:${missing:- (no options found in the help)}"
fi

# Subcommands: the words after "bpfmeter" in the usage lines; variables: $NAME in the help.
cmds=$(sed -n 's/^ *\(Usage: \)\{0,1\}bpfmeter \([a-z][a-z]*\) .*/\2/p' "$TMP/help" | sort -u)
vars=$(grep -o '\$[A-Z][A-Z_]*' "$TMP/help" | tr -d '$' | sort -u)
missing=
for c in $cmds; do
	sed -n '/^\.SH SUBCOMMANDS/,/^\.SH /p' "$TMP/page" | grep -Eq "^\.BI? \"?$c[ \"]" ||
		missing+=" subcommand $c"
done
for v in $vars; do
	grep -qF "$v" "$TMP/page" || missing+=" variable $v"
done
echo "    subcommands: $(tr '\n' ' ' <<<"$cmds"); variables: $(tr '\n' ' ' <<<"$vars")"
if [ -n "$cmds" ] && [ -z "$missing" ]; then
	pass $T_CMDS
else
	fail $T_CMDS "not in the man page:${missing:- (no subcommands found in the help)}"
fi
