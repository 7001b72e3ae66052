#!/usr/bin/env bash
# The Debian package on this machine: built (scripts/deploy/mkdeb.sh, as make deb), installed,
# bpfmeter check run from /usr/bin, the user, man page, conffile and unit in place, then purged
# with nothing of it left. Root only; it leaves the machine as it found it, and does not run
# where a bpfmeter package, user or /var/lib/bpfmeter is there already (purge would take them).
set -u
. "$(dirname "$0")/../lib.sh"

T_BUILD=package/make_deb_builds_a_package_with_shlibs_depends
T_INST=package/installs_user_man_page_conffile_unit_verifies_clean
T_CHECK=package/installed_bpfmeter_check_runs_from_usr_bin_and_reports
T_PURGE=package/purge_leaves_no_file_user_or_state_behind
ALL="$T_BUILD $T_INST $T_CHECK $T_PURGE"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
why=
[ "$(id -u)" -eq 0 ] || why="needs root to install a package"
for t in dpkg-deb dpkg-shlibdeps apt-get adduser deb-systemd-helper; do
	[ -n "$why" ] || command -v $t >/dev/null || why="$t is not installed (scripts/install-deps.sh)"
done
if [ -z "$why" ]; then
	if dpkg-query -W -f='${Status}' bpfmeter 2>/dev/null | grep -q installed; then
		why="a bpfmeter package is installed already"
	elif getent passwd bpfmeter >/dev/null || getent group bpfmeter >/dev/null; then
		why="a user or group bpfmeter exists already, which purge would remove"
	elif [ -e /var/lib/bpfmeter ]; then
		why="/var/lib/bpfmeter exists already, which purge would remove"
	fi
fi
if [ -n "$why" ]; then
	for t in $ALL; do skip_root $t "$why"; done
	exit 0
fi

# What has bpfmeter in its name where a package puts things, before and after.
leftovers() {
	find /etc /var/lib /lib/systemd /usr/bin /usr/sbin /usr/lib/sysusers.d /usr/lib/tmpfiles.d \
		/usr/share/man/man8 /usr/share/doc -name '*bpfmeter*' 2>/dev/null | sort
}
leftovers >"$TMP/before"

# apt-get waits for the lock where another apt or dpkg runs; what the package depends on is
# installed already (scripts/install-deps.sh), so nothing is downloaded.
apt_q() {
	DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300 "$@"
}
purged=0
purge() {
	[ $purged = 1 ] && return 0
	purged=1
	apt_q purge bpfmeter >"$TMP/purge.out" 2>&1
}
trap 'purge; cleanup' EXIT

# --- Build ------------------------------------------------------------------------------------
version=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo 0.1)
deb=$(cd "$TMP" && "$REPO/scripts/deploy/mkdeb.sh" "$TMP/work" "$version" 2>"$TMP/build.err")
depends=$(dpkg-deb -f "$TMP/$deb" Depends 2>/dev/null)
if [ -n "$deb" ] && [ -f "$TMP/$deb" ] && [[ $depends == *libbpf1* ]] && [[ $depends == *libc6* ]] &&
	[[ $depends == *adduser* ]]; then
	pass $T_BUILD
else
	fail $T_BUILD "'$deb': Depends '$depends': $(head -c 300 "$TMP/build.err")"
	exit 1
fi
# The package's files that were not here before: after purge none may be left.
dpkg-deb -c "$TMP/$deb" | awk '{ print substr($6, 2) }' | grep -v '^/$' | sed 's|/$||' >"$TMP/contents"
while read -r p; do
	[ -e "$p" ] || echo "$p"
done <"$TMP/contents" >"$TMP/new"

# --- Install ----------------------------------------------------------------------------------
apt_q install "$TMP/$deb" >"$TMP/install.out" 2>&1
rc=$?
pw=$(getent passwd bpfmeter)
IFS=: read -r _ _ uid _ _ home shell <<<"$pw"
conf=$(dpkg-query -W -f='${Conffiles}' bpfmeter 2>/dev/null)
manpath=$(man -w bpfmeter 2>/dev/null)
verify=$(systemd-analyze verify /lib/systemd/system/bpfmeter.service 2>&1)
vrc=$?
echo "    user: $pw; man: $manpath"
if [ $rc -eq 0 ] && [ -n "$pw" ] && [ "$uid" -lt 1000 ] && [ "$home" = /var/lib/bpfmeter ] &&
	[[ $shell == */nologin ]] && getent group bpfmeter >/dev/null &&
	[ "$manpath" = /usr/share/man/man8/bpfmeter.8.gz ] && [[ $conf == *" /etc/default/bpfmeter "* ]] &&
	[ $vrc -eq 0 ] && [ -z "$verify" ] &&
	[ -L /etc/systemd/system/multi-user.target.wants/bpfmeter.service ]; then
	pass $T_INST
else
	fail $T_INST "rc $rc, user '$pw', man '$manpath', conffiles '$conf', verify $vrc '$verify', enabled: $(ls /etc/systemd/system/multi-user.target.wants/ 2>&1 | tr '\n' ' '): $(tail -n 3 "$TMP/install.out")"
	if [ $rc -ne 0 ]; then
		fail $T_CHECK "the package did not install"
		fail $T_PURGE "the package did not install"
		exit 1
	fi
fi

# The installed binary, with no PATH to find another: it says the version of the tree's
# bpfmeter, which make install packaged (stripped, so not the same bytes); check
# reports each feature, then that it can measure here (CPU shares without RAPL: status 0).
v=$(env -i /usr/bin/bpfmeter --version 2>&1)
tree_v=$("$REPO/bpfmeter" --version 2>&1)
env -i /usr/bin/bpfmeter check >"$TMP/check.out" 2>"$TMP/check.err"
rc=$?
echo "    /usr/bin/bpfmeter --version: $v; check: $(tail -n 1 "$TMP/check.out")"
if [ $rc -eq 0 ] && [ "$v" = "$tree_v" ] && grep -q '^bpfmeter check on ' "$TMP/check.out" &&
	grep -q '^  ok       hook ' "$TMP/check.out" && tail -n 1 "$TMP/check.out" | grep -q '^bpfmeter can measure here'; then
	pass $T_CHECK
else
	fail $T_CHECK "rc $rc, version '$v' (the tree's '$tree_v'): $(head -c 300 "$TMP/check.out" "$TMP/check.err")"
fi

# --- Purge ------------------------------------------------------------------------------------
# As the service would have: its state directory with a model in it.
install -d -o bpfmeter -g bpfmeter -m 750 /var/lib/bpfmeter
install -o bpfmeter -g bpfmeter -m 600 /dev/null /var/lib/bpfmeter/model.state
purge
rc=$?
left=$(while read -r p; do [ ! -e "$p" ] && [ ! -L "$p" ] || echo "$p"; done <"$TMP/new")
leftovers >"$TMP/after"
extra=$(comm -13 "$TMP/before" "$TMP/after" | tr '\n' ' ')
if [ $rc -eq 0 ] && ! dpkg-query -W -f='${Status}' bpfmeter 2>/dev/null | grep -q 'installed' &&
	[ -z "$left" ] && [ -z "$extra" ] && ! getent passwd bpfmeter >/dev/null &&
	! getent group bpfmeter >/dev/null && [ ! -e /var/lib/bpfmeter ]; then
	pass $T_PURGE
else
	fail $T_PURGE "rc $rc; left of the package: $left; new: $extra; user: $(getent passwd bpfmeter); $(tail -n 3 "$TMP/purge.out")"
fi
