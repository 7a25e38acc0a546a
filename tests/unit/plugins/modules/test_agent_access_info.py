# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""itms.cem.agent_access_info against a copy of the lab CMDB after ``itms-lab rollback`` (rollback.apply)."""
import datetime
import sqlite3

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.itms.cem.plugins.modules import agent_access_info
from itms_lab import reconnect, rollback  # tests/lab is on sys.path (tests/unit/conftest.py)

PENDING, APPROVED, BLOCKED = 0, 1, 2


@pytest.fixture(autouse=True)
def warned(monkeypatch):
    messages = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, msg: messages.append(msg))
    return messages


@pytest.fixture
def rolled(lab_db_copy):
    conn = rollback.open_cmdb(lab_db_copy)
    try:
        plan = rollback.apply(conn, 0.8, 6, 2, 2, datetime.datetime.now(datetime.timezone.utc))
    finally:
        conn.close()
    return lab_db_copy, plan


@pytest.fixture
def args(rolled, lab_profile_path):
    return dict(cmdb_url="sqlite:///" + rolled[0], cmdb_profile=lab_profile_path)


def sql(path, statement, params=()):
    conn = sqlite3.connect(path)
    try:
        with conn:
            return conn.execute(statement, params).fetchall()
    finally:
        conn.close()


def test_lists_the_waiting_agents_with_the_page_columns_and_counts(run_module, args, rolled):
    path, plan = rolled
    result, failed = run_module(agent_access_info.main, args)
    assert not failed and result["changed"] is False and result["truncated"] is False
    assert len(result["agents"]) == len(plan["access"])
    first = result["agents"][0]
    entry = [e for e in plan["access"] if e["id"] == first["id"]][0]
    assert first["Agent Name"] == first["agent_name"] == entry["agent_name"]
    assert first["Reported by"] == first["reported_by"] == entry["gateway"]
    assert first["Creation Date"] == first["created"] == entry["created"]
    assert first["agent_guid"] == entry["guid"] and first["status"] == "pending"
    assert list(first)[:3] == ["Agent Name", "Reported by", "Creation Date"]
    by_gateway = dict(sql(path, "SELECT ReportedBy, COUNT(*) FROM Lab_CEM_Agent_Access GROUP BY ReportedBy"))
    assert result["counts"]["by_gateway"] == dict((g, {"pending": n}) for g, n in by_gateway.items())
    assert result["counts"]["by_status"] == {"pending": len(plan["access"])}
    assert result["counts"]["total"] == len(plan["access"])


def test_filters(run_module, args, rolled):
    path, plan = rolled
    gateway = plan["access"][0]["gateway"]
    result, failed = run_module(agent_access_info.main, dict(args, gateway=gateway.upper()))
    assert not failed and set(a["reported_by"] for a in result["agents"]) == {gateway}
    assert len(result["agents"]) == sum(1 for e in plan["access"] if e["gateway"] == gateway)
    result, failed = run_module(agent_access_info.main, dict(args, name="desktop-*"))
    assert not failed and len(result["agents"]) == sum(1 for e in plan["access"]
                                                       if e["agent_name"].lower().startswith("desktop-"))
    assert len(result["agents"]) == 4  # the rogues that do not reuse a name
    # Ages: one agent listed three days ago, the others within the last two hours
    old = plan["access"][0]["id"]
    three_days = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
    sql(path, "UPDATE Lab_CEM_Agent_Access SET CreatedDate = ? WHERE Id = ?", (three_days, old))
    result, failed = run_module(agent_access_info.main, dict(args, older_than_hours=24))
    assert not failed and [a["id"] for a in result["agents"]] == [old]
    result, failed = run_module(agent_access_info.main, dict(args, newer_than_hours=2.5))
    assert not failed and len(result["agents"]) == len(plan["access"]) - 1


def test_status_and_limit(run_module, args, rolled, warned):
    path, plan = rolled
    ids = sorted(e["id"] for e in plan["access"])
    sql(path, "UPDATE Lab_CEM_Agent_Access SET Status = ? WHERE Id = ?", (APPROVED, ids[0]))
    sql(path, "UPDATE Lab_CEM_Agent_Access SET Status = ? WHERE Id = ?", (BLOCKED, ids[1]))
    result, failed = run_module(agent_access_info.main, args)
    assert not failed and result["counts"]["by_status"] == {"pending": len(ids) - 2, "blocked": 1}
    result, failed = run_module(agent_access_info.main, dict(args, status=["approved"]))
    assert [a["id"] for a in result["agents"]] == [ids[0]] and result["agents"][0]["status"] == "approved"
    result, failed = run_module(agent_access_info.main, dict(args, limit=5))
    assert not failed and result["truncated"] is True and [a["id"] for a in result["agents"]] == ids[1:6]
    assert result["counts"]["total"] == len(ids) - 1
    assert warned and "only the first 5 are returned" in warned[-1]
    result, failed = run_module(agent_access_info.main, dict(args, limit=0))
    assert not failed and result["truncated"] is False and len(result["agents"]) == len(ids) - 1


def test_verify_since_tells_which_approved_agents_are_back(run_module, args, rolled, warned):
    path, plan = rolled
    legit = sorted((e for e in plan["access"] if e["legitimate"]), key=lambda e: e["id"])[:3]
    since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for entry in legit[:2]:
        sql(path, "UPDATE Lab_CEM_Agent_Access SET Status = ?, DecidedDate = ? WHERE Id = ?", (APPROVED, since, entry["id"]))
    assert len(reconnect.Reconnector(path, interval=0).run_once()) == 2  # the lab agents come back
    sql(path, "UPDATE Lab_CEM_Agent_Access SET Status = ? WHERE Id = ?", (APPROVED, legit[2]["id"]))  # not back yet
    result, failed = run_module(agent_access_info.main, dict(args, status=["approved"], verify_since=since))
    assert not failed, result.get("msg")
    back = dict((a["id"], (a["reconnected"], a["on_internet"])) for a in result["agents"])
    assert back == {legit[0]["id"]: (True, True), legit[1]["id"]: (True, True), legit[2]["id"]: (False, False)}
    assert [a["last_success"] is not None for a in result["agents"]] == [a["reconnected"] for a in result["agents"]]
    assert result["verification"] == dict(since=since, approved=3, reconnected=2, not_reconnected=1, without_guid=0)
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).isoformat()
    result, failed = run_module(agent_access_info.main, dict(args, status=["approved"], verify_since=later))
    assert not failed and result["verification"]["reconnected"] == 0  # back, but before that time
    sql(path, "UPDATE Lab_CEM_Agent_Access SET AgentGuid = NULL WHERE Id = ?", (legit[2]["id"],))
    result, failed = run_module(agent_access_info.main, dict(args, status=["approved"], verify_since=since))
    assert result["verification"]["without_guid"] == 1 and "no GUID in the access store" in warned[-1]


def test_argument_errors(run_module, args):
    result, failed = run_module(agent_access_info.main, dict(args, verify_since="2026-11-02T12:00:00Z"))
    assert failed and "status does not include approved" in result["msg"]
    result, failed = run_module(agent_access_info.main, dict(args, status=["approved"], verify_since="yesterday"))
    assert failed and "'yesterday' is not an ISO 8601 time" in result["msg"]
    result, failed = run_module(agent_access_info.main, dict(args, limit=-1))
    assert failed and "limit is -1" in result["msg"]
    result, failed = run_module(agent_access_info.main, dict(args, status=[]))
    assert failed and "status is empty" in result["msg"]


def test_without_a_profile_mapping_the_message_says_what_to_map(run_module, args):
    result, failed = run_module(agent_access_info.main, dict(args, cmdb_profile=None))
    assert failed and result["error_kind"] == "profile_mismatch"
    assert "tables.agent_access" in result["msg"] and "Extended Events" in result["msg"]
