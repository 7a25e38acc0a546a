#!/usr/bin/env bash
# CEM reporting against the lab CMDB: playbooks/report.yml end to end, every figure checked against
# an independent count, idempotence, check mode, the default report directory, file modes, CSV formula
# neutralisation, the diff of the figures, and the failure messages of bad input.
set -eux -o pipefail

# ansible-test runs a copy of the target; the collection itself is on ANSIBLE_COLLECTIONS_PATH.
collection_root="${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/itms/cem"
lab="$collection_root/tests/lab"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
db="$work/cmdb.sqlite"
profile="$lab/profiles/cmdb.yml"

ITMS_LAB_PYTHON=python "$lab/itms-lab" cmdb --computers 1500 --seed 42 --db "$db"

report() {
  ansible-playbook -i ../../inventory "$collection_root/playbooks/report.yml" \
    -e "itms_cmdb_url=sqlite:///$db" -e "itms_cmdb_profile=$profile" -e "itms_report_dir=$work/reports" "$@"
}

# check mode first: nothing may be written
report --check | tee "$work/check.log"
grep -q "changed=1" "$work/check.log"
test ! -e "$work/reports/cem-report.json"

report | tee "$work/run1.log"
grep -q "changed=1" "$work/run1.log"
report | tee "$work/run2.log"
grep -q "changed=0" "$work/run2.log"

# every number in the JSON against counts taken with sqlite3 directly
python "$(pwd)/independent_counts.py" "$db" "$work/reports/cem-report.json"

# without itms_report_dir the report goes to ~/itms-cem-reports, never into the installed collection
HOME="$work/home" ansible-playbook -i ../../inventory "$collection_root/playbooks/report.yml" \
  -e "itms_cmdb_url=sqlite:///$db" -e "itms_cmdb_profile=$profile" "$@"
test -s "$work/home/itms-cem-reports/cem-report.json"
test -s "$work/home/itms-cem-reports/cem-report.html"
test ! -e "$collection_root/reports"

# the inventory plugin over the same CMDB: one host per distinct managed computer name
cat > "$work/lab.cmdb.yml" <<INV
plugin: itms.cem.cmdb
cmdb_url: sqlite:///$db
cmdb_profile: $profile
keyed_groups:
  - key: itms_connection_state
    prefix: cem
INV
ANSIBLE_INVENTORY_ENABLED=itms.cem.cmdb ansible-inventory -i "$work/lab.cmdb.yml" --list > "$work/inventory.json"
python - "$db" "$work/inventory.json" "$work/reports/cem-report.json" <<'PY'
import json, sqlite3, sys
listed = json.load(open(sys.argv[2]))
summary = json.load(open(sys.argv[3]))["summary"]
expected = sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(DISTINCT Name) FROM vComputer WHERE IsManaged = 1").fetchone()[0]
cem = sqlite3.connect(sys.argv[1]).execute(
    "SELECT COUNT(DISTINCT c.Name) FROM vComputer c JOIN Inv_AeX_AC_Network_Zone z ON c.Guid = z._ResourceGuid "
    "WHERE c.IsManaged = 1 AND z.IsOnInternet = 1").fetchone()[0]
assert len(listed["_meta"]["hostvars"]) == expected, (len(listed["_meta"]["hostvars"]), expected)
assert len(listed["cem_cem"]["hosts"]) == cem, (len(listed["cem_cem"]["hosts"]), cem)
# the report reconciles with the inventory: its computers plus those without Network Zone inventory
assert summary["managed_computers"] == len(listed["_meta"]["hostvars"]), (summary, len(listed["_meta"]["hostvars"]))
assert summary["computers"] + summary["without_network_zone"] == summary["managed_computers"], summary
print("inventory: %d hosts, %d in cem_cem, as in sqlite3; the report: %d computers + %d without Network Zone "
      "inventory" % (expected, cem, summary["computers"], summary["without_network_zone"]))
PY

# modules one by one, with the bad input cases
ansible-playbook -i ../../inventory tests.yml -e "lab=$lab" -e "lab_db=$db" -e "lab_profile=$profile" -e "work=$work" "$@"

# the SQL Server password never appears, even at -vvv
secret='S3cret-never-shown-4711'
ITMS_CMDB_PASSWORD="$secret" ansible-playbook -vvv -i ../../inventory secrets.yml -e "work=$work" > "$work/vvv.log" 2>&1 || true
grep -q "SQL Server" "$work/vvv.log"
if grep -q "$secret" "$work/vvv.log"; then
  echo "the password leaked into -vvv output" >&2
  exit 1
fi
