#!/usr/bin/env bash
# shellcheck disable=SC2154  # collection_root and lab_cli are set by ../setup_lab_env/lab-env.sh, sourced below
# The disaster-recovery run of KB 440752 against the lab: a report before the rollback, the rollback, then
# dr_recover.yml with that report as evidence. --check writes nothing (CMDB bytes, no journal); the run approves
# exactly the legitimate agents of rollback.json, blocks the deny-listed, holds the rogues, and the approved agents
# reconnect; its report's counts equal SQL counts; a repeat changes nothing. Then a fault drops the CMDB writes after
# some batches and a rerun ends with every decision written exactly once; max_approvals stops a flood with nothing
# written.
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
playbooks="$collection_root/playbooks"
inv="$dir/inventory.yml"
check="python $here/check.py $dir"

recap_unchanged() {  # recap_unchanged LOG: every host of the PLAY RECAP has changed=0
  python "$here/../setup_lab_env/recap.py" "$1"
}
# 1. The site before the disaster, and its scheduled report: the pre-rollback evidence.
"$lab_cli" up --dir "$dir" --cmdb-computers 400 --policy-interval 2
ansible-playbook -i "$inv" "$playbooks/report.yml" -e itms_report_dir="$work/pre"
test -s "$work/pre/cem-report.json"

# 2. The rollback: 30 % of the CEM agents lose their registration, 12 rogues knock, 4 of them with a lost agent's name.
"$lab_cli" rollback --dir "$dir" --keep 0.7 --rogues 12 --reused-names 4
$check deny > "$work/evidence.json"   # {"itms_dr_evidence": {"reports": [...], "deny": [rogue names from rollback.json]}}
python - "$work/evidence.json" "$work/pre/cem-report.json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
data["itms_dr_evidence"]["reports"] = [sys.argv[2]]
json.dump(data, open(sys.argv[1], "w"))
PY
dr=(ansible-playbook -i "$inv" "$playbooks/dr_recover.yml" -e "@$work/evidence.json" -e itms_dr_dir="$work/dr"
    -e dr_recovery_max_approvals=1000 -e dr_recovery_batch_size=25)

# 3. --check shows the plan and writes nothing: the CMDB's bytes are the same and there is no journal.
before="$(sha256sum "$dir/cmdb.sqlite" | cut -d' ' -f1)"
"${dr[@]}" --check > "$work/check.log" 2>&1 || { cat "$work/check.log"; exit 1; }
cat "$work/check.log"
test "$before" = "$(sha256sum "$dir/cmdb.sqlite" | cut -d' ' -f1)"
test ! -e "$work/dr"
grep -E -q "approve [0-9]+, block [0-9]+, hold [0-9]+" "$work/check.log"

# 4. The run: exactly the legitimate agents approved, the deny-listed blocked, every other rogue held; they reconnect.
"${dr[@]}" > "$work/run.log" 2>&1 || { cat "$work/run.log"; exit 1; }
cat "$work/run.log"
$check outcome "$work/dr"

# 5. A repeat changes nothing and writes nothing.
writes="$($check writes)"
"${dr[@]}" > "$work/repeat.log" 2>&1 || { cat "$work/repeat.log"; exit 1; }
recap_unchanged "$work/repeat.log"
test "$writes" = "$($check writes)"

# 6. A fresh rollback, a fault that drops the CMDB writes after 30 changes, then a rerun: each decision once.
"$lab_cli" down --dir "$dir"
rm -rf "$dir" "$work/dr"
"$lab_cli" up --dir "$dir" --cmdb-computers 400 --policy-interval 2
ansible-playbook -i "$inv" "$playbooks/report.yml" -e itms_report_dir="$work/pre"
"$lab_cli" rollback --dir "$dir" --keep 0.7 --rogues 12 --reused-names 4
"$lab_cli" fault --dir "$dir" --cmdb-fail-after-writes 30
if "${dr[@]}" > "$work/fault.log" 2>&1; then cat "$work/fault.log"; echo "the run passed through the fault" >&2; exit 1; fi
grep -q "lab fault: the CMDB connection dropped" "$work/fault.log"
# The first batch of 25 was committed; the second failed at its 6th change and was rolled back as a whole.
test "$($check writes)" = 25
"$lab_cli" fault --dir "$dir" --clear
"${dr[@]}" > "$work/resume.log" 2>&1 || { cat "$work/resume.log"; exit 1; }
$check outcome   # the resumed run's report covers what it decided, not the 30 written before the fault
$check once

# 7. max_approvals stops a flood before any write: a new rollback-sized flood of rogues, a cap of 5.
"$lab_cli" down --dir "$dir"
rm -rf "$dir" "$work/dr"
"$lab_cli" up --dir "$dir" --cmdb-computers 400 --policy-interval 2
"$lab_cli" rollback --dir "$dir" --keep 0.7 --rogues 12
before="$(sha256sum "$dir/cmdb.sqlite" | cut -d' ' -f1)"
python - "$work/evidence.json" "$work/flood.json" <<'PY'
import json, sys
json.dump({"access_troubleshooting_evidence": json.load(open(sys.argv[1]))["itms_dr_evidence"]}, open(sys.argv[2], "w"))
PY
if ansible-playbook -i "$inv" "$playbooks/approve_agents.yml" -e "@$work/flood.json" \
     -e access_troubleshooting_max_approvals=5 > "$work/flood.log" 2>&1; then
  cat "$work/flood.log"; echo "max_approvals did not stop the run" >&2; exit 1
fi
grep -q "max_approvals" "$work/flood.log"
test "$before" = "$(sha256sum "$dir/cmdb.sqlite" | cut -d' ' -f1)"
