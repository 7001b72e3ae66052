#!/usr/bin/env bash
# The DaemonSet (scripts/deploy/daemonset.yaml), read with a YAML parser (tests/deploy.py,
# PyYAML), against the lists the container test runs the image with: exactly the capabilities
# of scripts/deploy/capabilities, exactly the mounts of scripts/deploy/mounts (read-only where
# they say), not privileged, its command the image's ENTRYPOINT plus --host $(NODE_NAME) from
# the downward API, the liveness probe, containerPort and scrape annotations on the port of its
# -o prometheus:. Then the same check on a drifted copy must fail. Needs no root.
set -u
. "$(dirname "$0")/../lib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
T_DRIFT=daemonset/check_fails_on_a_drifted_manifest

if ! python3 -c 'import yaml' 2>/dev/null; then
	for t in capabilities_exactly_the_deploy_set mounts_exactly_the_deploy_set \
		not_privileged_no_escalation_readonly_root liveness_scrape_and_container_port_match_args \
		command_is_the_image_entrypoint_plus_host node_name_from_downward_api \
		requests_within_limits tolerates_every_taint; do
		skip "daemonset/$t" "python3 with PyYAML is not installed (run scripts/install-deps.sh)"
	done
	skip $T_DRIFT "python3 with PyYAML is not installed (run scripts/install-deps.sh)"
	exit 0
fi

python3 "$REPO/tests/deploy.py" check
rc=$?

# A copy with one capability more and a mount made writable: the check must say so, for each.
cp -r "$REPO/scripts/deploy" "$TMP/drift"
sed -i -e 's/add: \["BPF", /add: ["SYS_ADMIN", "BPF", /' \
	-e '/mountPath: \/sys\/kernel\/btf/{n; s/readOnly: true/readOnly: false/}' "$TMP/drift/daemonset.yaml"
DEPLOY_DIR="$TMP/drift" TEST_PREFIX=drift/ python3 "$REPO/tests/deploy.py" check >"$TMP/drift.out" 2>&1
drift_rc=$?
if [ $drift_rc -ne 0 ] && grep -q '^FAIL: drift/daemonset/capabilities_exactly_the_deploy_set: .*CAP_SYS_ADMIN' "$TMP/drift.out" &&
	grep -q '^FAIL: drift/daemonset/mounts_exactly_the_deploy_set: .*btf.*rw' "$TMP/drift.out"; then
	pass $T_DRIFT
else
	fail $T_DRIFT "rc $drift_rc: $(tr '\n' ' ' <"$TMP/drift.out" | head -c 600)"
fi
exit $rc
