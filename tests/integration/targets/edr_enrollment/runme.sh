#!/usr/bin/env bash
# shellcheck disable=SC2154  # collection_root and lab_cli are set by ../setup_lab_env/lab-env.sh, sourced below
# The "Authentication Pending" diagnosis against the lab SEPM and EDR:
# 1. every lab scenario gives exactly its expected failing causes, on the console and in the report (scenarios.yml,
#    one play through the edr_enrollment role), and the info modules read the lab;
# 2. playbooks/edr_enrollment.yml on a healthy lab: no failing cause, one line per cause, the HTML and JSON report;
#    check mode writes nothing; a repeat changes nothing;
# 3. a failing scenario: the report names it, and itms_fail_on_fail fails the play after writing the report;
# 4. bad inputs (an HTML answer, a redirect to another host, a 401 in the middle of paging, expired tokens, a page
#    that is an error string, EDR down, a wrong password): a clear result or message, never a traceback, and at
#    -vvv never a password, client secret or token in the output.
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
playbook="$collection_root/playbooks/edr_enrollment.yml"

"$lab_cli" up --dir "$dir" --cmdb-computers 50
inventory="$dir/inventory.yml"

# console JSON of a scenario, as extra vars of the playbook
python "$here/lab_vars.py" "$dir/lab.json" console healthy > "$work/healthy.json"
python "$here/lab_vars.py" "$dir/lab.json" console edr_certificate_name > "$work/cert-name.json"

run() {  # run LOG [ansible-playbook args...]: runs edr_enrollment.yml, keeps its output, returns its exit code
  local log="$1"
  shift
  set +e
  ansible-playbook -i "$inventory" "$playbook" "$@" > "$log" 2>&1
  local rc=$?
  set -e
  cat "$log"
  return $rc
}

expect_line() {  # expect_line LOG REGEX
  grep -E -q -- "$2" "$1" || { echo "expected a line matching: $2" >&2; exit 1; }
}

clean() {  # clean LOG: no traceback and no secret of the lab in LOG
  if grep -q "Traceback" "$1"; then echo "a traceback in $1" >&2; exit 1; fi
  python "$here/lab_vars.py" "$dir/lab.json" secrets | while IFS= read -r secret; do
    if grep -F -q -- "$secret" "$1"; then echo "a secret of the lab is in $1" >&2; exit 1; fi
  done
}

# 1. Every scenario.
ansible-playbook -i "$inventory" "$here/scenarios.yml" -e "lab_json=$dir/lab.json" -e "lab_cli=$lab_cli" -e "lab_dir=$dir" \
  -e "report_root=$work/scenario-reports"

# 2. The playbook on a healthy lab.
"$lab_cli" edr-scenario --dir "$dir" healthy
run "$work/check.log" --check -e "itms_report_dir=$work/reports" -e "@$work/healthy.json"
test ! -e "$work/reports"
run "$work/healthy.log" -e "itms_report_dir=$work/reports" -e "@$work/healthy.json"
expect_line "$work/healthy.log" "\[PASS\] cause 1 edr_certificate_name: "
expect_line "$work/healthy.log" "\[NOT_CHECKABLE\] cause 7 fips_mode: "
expect_line "$work/healthy.log" "0 failing, 0 needing input, 1 not checkable"
python "$here/report.py" "$work/reports/edr-enrollment.json" "$work/reports/edr-enrollment.html" --fail none
test "$(grep -c -E '"\[(PASS|FAIL|NEEDS_INPUT|NOT_CHECKABLE)\] ' "$work/healthy.log")" = "$(python "$here/report.py" "$work/reports/edr-enrollment.json" --count)"
sums="$(sha256sum "$work/reports/edr-enrollment.html" "$work/reports/edr-enrollment.json")"
run "$work/repeat.log" -e "itms_report_dir=$work/reports" -e "@$work/healthy.json"
python "$here/../setup_lab_env/recap.py" "$work/repeat.log"
test "$sums" = "$(sha256sum "$work/reports/edr-enrollment.html" "$work/reports/edr-enrollment.json")"

# 3. A failing scenario (KB 171881: the SEP Policies address is the IP, the certificate names the host).
"$lab_cli" edr-scenario --dir "$dir" edr_certificate_name
if run "$work/fail.log" -e "itms_report_dir=$work/reports" -e "@$work/cert-name.json" -e itms_fail_on_fail=true; then
  echo "edr_enrollment.yml passed with itms_fail_on_fail and a failing cause" >&2; exit 1
fi
expect_line "$work/fail.log" "\[FAIL\] cause 1 edr_certificate_name: "
expect_line "$work/fail.log" "first failing cause: edr_certificate_name"
python "$here/report.py" "$work/reports/edr-enrollment.json" "$work/reports/edr-enrollment.html" --fail edr_certificate_name
"$lab_cli" edr-scenario --dir "$dir" healthy

# 4. Bad inputs, each at -vvv.
bad() {  # bad NAME --sepm|--edr FAULT expect(ok|fail) REGEX
  local name="$1" side="$2" fault="$3" outcome="$4" regex="$5"
  "$lab_cli" fault --dir "$dir" "$side" "$fault"
  if run "$work/$name.log" -vvv -e "itms_report_dir=$work/bad-$name" -e "@$work/healthy.json"; then
    rc=0
  else
    rc=1
  fi
  "$lab_cli" fault --dir "$dir" --clear
  if [ "$outcome" = ok ] && [ "$rc" != 0 ]; then echo "$name: the play failed" >&2; exit 1; fi
  if [ "$outcome" = fail ] && [ "$rc" = 0 ]; then echo "$name: the play passed" >&2; exit 1; fi
  expect_line "$work/$name.log" "$regex"
  clean "$work/$name.log"
}
bad sepm-html --sepm html fail "HTML"
bad sepm-redirect --sepm redirect fail "another host"
bad sepm-401-paging --sepm unauthorized_mid_paging ok "0 failing"
bad sepm-token --sepm token_expired ok "0 failing"
bad sepm-bad-page --sepm bad_page fail "paging stopped"
bad edr-down --edr down ok "\[NEEDS_INPUT\] related edr_health: "
bad edr-token --edr token_expired ok "0 failing, 0 needing input"
bad edr-html --edr html ok "\[NEEDS_INPUT\] related edr_version: "
bad edr-redirect --edr redirect ok "\[NEEDS_INPUT\] related edr_version: "

# A wrong SEPM password: the play fails saying SEPM refused the logon; the wrong password is not shown either.
set +e
ansible-playbook -i "$inventory" "$playbook" -vvv -e itms_sepm_password=Wrong-Pa55word-xyz -e "@$work/healthy.json" \
  -e "itms_report_dir=$work/bad-password" > "$work/password.log" 2>&1
rc=$?
set -e
cat "$work/password.log"
test "$rc" != 0
expect_line "$work/password.log" "SEPM refused the logon"
clean "$work/password.log"
if grep -F -q "Wrong-Pa55word-xyz" "$work/password.log"; then echo "the wrong password is in the output" >&2; exit 1; fi
