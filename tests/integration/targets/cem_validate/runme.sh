#!/usr/bin/env bash
# shellcheck disable=SC2154  # collection_root and lab_cli are set by ../setup_lab_env/lab-env.sh, sourced below
# playbooks/validate.yml against the lab: one line per check and never a change (check mode too). It fails naming
# step 5 while the lab's CEM settings policy is disabled and passes once site.yml --tags cem_policy has run; it fails
# naming the check when the gateway's certificate has the wrong SAN, when the CEM policy's port differs from the
# gateway listener (KB 440283), and when the NS clock is skewed.
set -eux -o pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
dir="$work/lab"
cleanup() {
  "$lab_cli" down --dir "$dir" || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=../setup_lab_env/lab-env.sh
. "$here/../setup_lab_env/lab-env.sh"
validate="$collection_root/playbooks/validate.yml"

# validate LOG [ansible-playbook args...]: runs validate.yml, keeps its output, returns its exit code
validate() {
  local log="$1"
  shift
  set +e
  ansible-playbook -i "$dir/inventory.yml" "$validate" "$@" > "$log" 2>&1
  local rc=$?
  set -e
  cat "$log"
  return $rc
}

expect_line() {  # expect_line LOG REGEX
  grep -E -q -- "$2" "$1" || { echo "expected a line matching: $2" >&2; exit 1; }
}

no_changes() {  # no_changes LOG: every host of the recap has changed=0
  python "$here/../setup_lab_env/recap.py" "$1"
}

# 1. A new lab is a site before KB 216202 step 5: its CEM settings policy is disabled. validate.yml names step 5.
"$lab_cli" up --dir "$dir" --cmdb-computers 50
if validate "$work/fresh.log"; then echo "validate.yml passed with the CEM policy disabled" >&2; exit 1; fi
expect_line "$work/fresh.log" "\[FAIL\] +step 5 cem_policy: .*disabled"
expect_line "$work/fresh.log" "First failing step: step 5 \(CEM policy\), check cem_policy"
no_changes "$work/fresh.log"

# 2. Step 5 done (site.yml --tags cem_policy), the lab is healthy: every check passes or is skipped, nothing changes,
#    in check mode too.
ansible-playbook -i "$dir/inventory.yml" "$collection_root/playbooks/site.yml" --tags cem_policy
validate "$work/healthy.log" -v
for check in dns ports certificates clock_skew versions cem_policy gateway_service gateway_registration gateway_profile \
             status_reporting port_consistency; do
  expect_line "$work/healthy.log" "\[PASS\] +step [0-9] $check: "
done
expect_line "$work/healthy.log" "\[SKIP\] +step 3 iis_binding: "
expect_line "$work/healthy.log" "No failing step: 12 checks, none failed"
no_changes "$work/healthy.log"
validate "$work/healthy-check.log" --check --diff
expect_line "$work/healthy-check.log" "No failing step"
no_changes "$work/healthy-check.log"

# 3. A gateway whose certificate does not cover its public name.
"$lab_cli" down --dir "$dir"
"$lab_cli" up --dir "$dir" --gateway-cert wrong_san
if validate "$work/wrong-san.log"; then echo "validate.yml passed with a wrong-SAN gateway certificate" >&2; exit 1; fi
expect_line "$work/wrong-san.log" "\[FAIL\] +step 1 certificates: gateway .*san_missing"
expect_line "$work/wrong-san.log" "First failing step: step 1 \(Prepare\), check certificates"
no_changes "$work/wrong-san.log"

# 4. The CEM policy gives agents a port the gateway does not listen on (KB 440283).
"$lab_cli" down --dir "$dir"
"$lab_cli" up --dir "$dir" --gateway-cert good --policy-port 443
if validate "$work/port.log"; then echo "validate.yml passed with a policy port that differs from the listener" >&2; exit 1; fi
expect_line "$work/port.log" "\[FAIL\] +step 1 port_consistency: .*443"
expect_line "$work/port.log" "\[PASS\] +step 1 certificates: "
expect_line "$work/port.log" "check port_consistency"

# 5. The NS clock runs 15 minutes ahead.
"$lab_cli" down --dir "$dir"
gateway_port="$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["gateway"]["port"])' "$dir/lab.json")"
"$lab_cli" up --dir "$dir" --policy-port "$gateway_port" --date-offset ns=900
if validate "$work/skew.log"; then echo "validate.yml passed with a skewed NS clock" >&2; exit 1; fi
expect_line "$work/skew.log" "\[FAIL\] +step 1 clock_skew: "
expect_line "$work/skew.log" "\[PASS\] +step 1 port_consistency: "

# 6. The gateway profile does not match the gateway's configuration (an element the profile names is missing).
config="$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["gateway"]["config"])' "$dir/lab.json")"
sed -i 's/<StatusReporting /<StatusReport /' "$config"
if validate "$work/profile.log"; then echo "validate.yml passed with a gateway profile that does not match" >&2; exit 1; fi
expect_line "$work/profile.log" "\[FAIL\] +step 2 gateway_profile: lab-ig: the gateway profile does not match this host: .*status_reporting"
no_changes "$work/profile.log"
