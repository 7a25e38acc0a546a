# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""itms.cem.agent_access_report: the report of a plan of itms.cem.agent_access and a verification."""
import json
import os
import re
import stat

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _access_report
from ansible_collections.itms.cem.plugins.module_utils import _report_files
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError
from ansible_collections.itms.cem.plugins.modules import agent_access_report

GW1, GW2 = "ig-emea.cem.example.com", "ig-amer.cem.example.com"
PLAN = [
    dict(id=1, agent_name="LT-000001", agent_guid="11111111-1111-4111-8111-111111111111", reported_by=GW1,
         created="2026-11-02 10:00:00", status="pending", decision="approve", rule="guid_match",
         reason="GUID 11111111-1111-4111-8111-111111111111 is in cem-report.json (pre-rollback report)"),
    dict(id=2, agent_name="lt-000002.corp.example.com", agent_guid="22222222-2222-4222-8222-222222222222",
         reported_by=GW1, created="2026-11-02 10:01:00", status="pending", decision="approve", rule="name_match",
         reason="name lt-000002.corp.example.com (compared as lt-000002) matches AD (ad.txt)"),
    dict(id=3, agent_name="WKS-000003", agent_guid="33333333-3333-4333-8333-333333333333", reported_by=GW2,
         created="2026-11-02 10:02:00", status="pending", decision="approve", rule="guid_match", reason="GUID match"),
    dict(id=4, agent_name="DESKTOP-AB12CD3", agent_guid="44444444-4444-4444-8444-444444444444", reported_by=GW2,
         created="2026-11-02 10:03:00", status="pending", decision="block", rule="deny_list",
         reason="deny-list pattern DESKTOP-* matches name DESKTOP-AB12CD3"),
    dict(id=5, agent_name="<script>alert(1)</script>", agent_guid=None, reported_by=GW2,
         created="2026-11-02 10:04:00", status="pending", decision="hold", rule="no_evidence",
         reason="no evidence knows <script>alert(1)</script> (the agent has no GUID)"),
]
VERIFIED = [
    dict(id=1, agent_guid=PLAN[0]["agent_guid"], agent_name="LT-000001", reconnected=True, on_internet=True,
         last_success="2026-11-02 12:10:00"),
    # an agent read without verify_since: not a verification
    dict(id=3, agent_guid=PLAN[2]["agent_guid"], agent_name="WKS-000003", status="approved"),
    # the mapping form, matched by GUID (another id)
    dict(id=99, agent_guid=PLAN[1]["agent_guid"].upper(), agent_name="lt-000002",
         reconnected=dict(reconnected=False, on_internet=False, last_success=None)),
]


@pytest.fixture
def args(tmp_path, lab_db):
    return dict(cmdb_url="sqlite:///" + lab_db, dest=str(tmp_path / "out" / "dr-report"), plan=PLAN,
                verification=VERIFIED)


def paths(args):
    return [args["dest"] + ".html", args["dest"] + ".json"]


def test_check_mode_run_repeat(run_module, args, tmp_path):
    result, failed = run_module(agent_access_report.main, dict(args, _ansible_check_mode=True))
    assert not failed and result["changed"] is True and not os.path.exists(str(tmp_path / "out"))
    result, failed = run_module(agent_access_report.main, args)
    assert not failed and result["changed"] is True
    assert [f["path"] for f in result["files"]] == paths(args) and all(os.path.exists(p) for p in paths(args))
    assert result["diff"]["before"] == dict((p, dict(state="absent")) for p in paths(args))
    assert result["diff"]["after"] == dict((p, dict(state="created")) for p in paths(args))
    assert "cmdb_requests" not in result  # it does not connect
    again, failed = run_module(agent_access_report.main, args)
    assert not failed and again["changed"] is False and not any(f["changed"] for f in again["files"])
    again, failed = run_module(agent_access_report.main, dict(args, _ansible_check_mode=True))
    assert again["changed"] is False
    changed, failed = run_module(agent_access_report.main, dict(args, verification=VERIFIED[:2]))
    assert changed["changed"] is True and changed["summary"]["not_verified"] == 2


def test_content(run_module, args):
    result, failed = run_module(agent_access_report.main, args)
    assert result["summary"] == dict(agents=5, approve=3, block=1, hold=1, reconnected=1, not_reconnected=1,
                                     not_verified=1)
    with open(paths(args)[1]) as handle:
        document = json.load(handle)
    assert document["report"] == "agent_access" and document["summary"] == result["summary"]
    assert document["source"]["cmdb"] == args["cmdb_url"] and document["source"]["profile"] == "itms-8.8-documented"
    assert document["columns"] == _access_report.REPORT_COLUMNS
    rows = dict((r[1], r) for r in document["rows"])
    assert [r[0] for r in document["rows"]] == ["approve", "approve", "approve", "block", "hold"]
    assert rows["LT-000001"][8:] == ["yes", "2026-11-02 12:10:00"]
    assert rows["lt-000002.corp.example.com"][8:] == ["no", None]
    assert rows["WKS-000003"][8:] == [None, None]  # not verified
    assert rows["DESKTOP-AB12CD3"][6:8] == ["deny_list", PLAN[3]["reason"]]
    charts = dict((c["id"], c) for c in document["charts"])
    assert charts["decisions"]["data"] == [dict(label="approve", value=3), dict(label="block", value=1),
                                           dict(label="hold", value=1)]
    assert charts["gateways"]["data"] == [dict(label=GW2, value=3), dict(label=GW1, value=2)]
    assert charts["reconnection"]["data"][:2] == [dict(label="reconnected", value=1),
                                                  dict(label="not reconnected", value=1)]
    assert document["notes"][0] == ("1 approved agent(s) have not reconnected: lt-000002.corp.example.com. "
                                    "Filter the table on 'no'.")
    assert result["notes"] == document["notes"]
    with open(paths(args)[0], encoding="utf-8") as handle:
        html = handle.read()
    assert "<script>alert(1)</script>" not in html  # names from the agents are escaped in the page
    assert '<h1>Agent access decisions (KB 440752)</h1>' in html and "Decisions by rule" in html
    summary = json.loads(re.search(r'id="report-summary">(.*?)</script>', html).group(1))
    assert summary == result["summary"]


def test_mode_and_formats(run_module, args):
    result, failed = run_module(agent_access_report.main, dict(args, mode="0640", formats=["json"]))
    assert not failed and [f["path"] for f in result["files"]] == [args["dest"] + ".json"]
    assert stat.S_IMODE(os.stat(args["dest"] + ".json").st_mode) == 0o640
    again, failed = run_module(agent_access_report.main, dict(args, mode="0600", formats=["json"]))
    assert again["changed"] is True and stat.S_IMODE(os.stat(args["dest"] + ".json").st_mode) == 0o600
    assert not os.path.exists(args["dest"] + ".html")


def test_a_bad_plan_fails(run_module, args):
    result, failed = run_module(agent_access_report.main, dict(args, plan=[dict(id=1, decision="maybe")]))
    assert failed and result["error_kind"] == "input" and "plan must be the plan of itms.cem.agent_access" in result["msg"]
    result, failed = run_module(agent_access_report.main, dict(args, cmdb_url="mssql://u:pw@h/db"))
    assert failed and "holds a password" in result["msg"] and "pw" not in json.dumps(result).replace("password", "")


@pytest.mark.parametrize("dest,formats,want", [
    ("/r/dr-report", None, [("/r/dr-report.html", "html"), ("/r/dr-report.json", "json")]),
    ("/r/dr-report.html", ["json", "json"], [("/r/dr-report.json", "json")]),
    ("/r/run-1.2", ["html"], [("/r/run-1.2.html", "html")]),
])
def test_outputs(dest, formats, want):
    assert _report_files.outputs(dest, formats) == want


def test_outputs_refuses_an_unknown_format():
    with pytest.raises(InputError):
        _report_files.outputs("/r/x", ["csv"])
