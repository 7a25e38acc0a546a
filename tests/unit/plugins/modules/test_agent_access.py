# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""itms.cem.agent_access against a copy of the lab CMDB after ``itms-lab rollback`` (rollback.apply, in-process).

The evidence is the connection_state report of the lab CMDB before the rollback, rendered as cem_report writes it.
Writes are counted with the lab's Lab_Access_Writes table (one row per status change, by a trigger).
"""
import datetime
import json
import os
import re
import sqlite3

import pytest
import yaml
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.itms.cem.plugins.module_utils import _access_report, _cmdb, _cmdb_args, _report
from ansible_collections.itms.cem.plugins.module_utils._errors import TransportError
from ansible_collections.itms.cem.plugins.module_utils._profile import load_cmdb_profile
from ansible_collections.itms.cem.plugins.modules import agent_access
from itms_lab import rollback  # tests/lab is on sys.path (tests/unit/conftest.py)

KEEP, ROGUES, REUSED, SEED = 0.8, 9, 3, 4
PENDING, APPROVED, BLOCKED = 0, 1, 2


@pytest.fixture(autouse=True)
def warned(monkeypatch):
    messages = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, msg: messages.append(msg))
    return messages


@pytest.fixture(scope="module")
def report_path(lab_db, lab_profile_path, tmp_path_factory):
    """The pre-rollback connection_state report, as cem_report writes its JSON."""
    client = _cmdb.CmdbClient("sqlite:///" + lab_db)
    try:
        document = _report.build("connection_state", client, load_cmdb_profile(lab_profile_path))
    finally:
        client.close()
    path = str(tmp_path_factory.mktemp("evidence") / "cem-report.json")
    with open(path, "wb") as handle:
        handle.write(_report.render_json(document))
    return path


@pytest.fixture
def rolled(lab_db_copy):
    """(CMDB path, truth): the copy rolled back; its access store holds the lost agents and the rogues, pending."""
    conn = rollback.open_cmdb(lab_db_copy)
    try:
        plan = rollback.apply(conn, KEEP, ROGUES, REUSED, SEED, datetime.datetime.now(datetime.timezone.utc))
    finally:
        conn.close()
    return lab_db_copy, plan


@pytest.fixture
def args(rolled, lab_profile_path, report_path, tmp_path):
    return dict(cmdb_url="sqlite:///" + rolled[0], cmdb_profile=lab_profile_path, decide="from_evidence",
                evidence=dict(reports=[report_path], deny=["DESKTOP-*"]), journal=str(tmp_path / "journal.jsonl"),
                batch_size=10)


def expected(plan):
    """{access id: decision} the evidence gives: the removed agents approved (the report has their GUIDs, also when a
    rogue reuses their name), the rogues that reuse a name held, the other rogues (DESKTOP-*) blocked by the deny-list."""
    reused = set(r["guid"] for r in plan["rogues"] if r["reused_name"])
    return dict((e["id"], "approve" if e["legitimate"] else "hold" if e["guid"] in reused else "block")
                for e in plan["access"])


def statuses(path):
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT Id, Status FROM Lab_CEM_Agent_Access"))
    finally:
        conn.close()


def writes(path):
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute("SELECT AccessId, OldStatus, NewStatus FROM Lab_Access_Writes ORDER BY Id"))
    finally:
        conn.close()


def read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_check_mode_returns_the_plan_and_writes_nothing(run_module, args, rolled):
    path, plan = rolled
    want = expected(plan)
    before = read_bytes(path)
    result, failed = run_module(agent_access.main, dict(args, _ansible_check_mode=True, _ansible_diff=True))
    assert not failed, result.get("msg")
    assert read_bytes(path) == before and not os.path.exists(args["journal"])
    assert dict((e["id"], e["decision"]) for e in result["plan"]) == want
    counts = dict((d, sum(1 for v in want.values() if v == d)) for d in ("approve", "block", "hold"))
    assert (result["approve"], result["block"], result["hold"]) == (counts["approve"], counts["block"], counts["hold"])
    assert counts["approve"] > 40 and counts["block"] == ROGUES - REUSED and counts["hold"] == REUSED
    assert result["changed"] is True and result["applied"] == 0 and result["batches"] == []
    assert result["pending"] == counts["approve"] + counts["block"]
    assert result["rules"] == {"guid_match": counts["approve"], "deny_list": counts["block"],
                               "duplicate_name": counts["hold"]}
    assert [s["kind"] for s in result["evidence"]] == ["report"] and result["evidence"][0]["guid_column"] == "ResourceGuid"
    assert all(e["reason"] for e in result["plan"])
    lines = result["diff"]["after"].splitlines()
    assert lines[0] == "# agents: approved %d, blocked %d, pending %d" % (counts["approve"], counts["block"], counts["hold"])
    assert len(lines) == 1 + result["pending"]
    assert result["diff"]["before"].splitlines()[0] == "# agents: pending %d" % len(want)
    assert result["cmdb_requests"]["writes"] == 0


def test_a_run_writes_each_decision_once_and_a_repeat_changes_nothing(run_module, args, rolled):
    path, plan = rolled
    want = expected(plan)
    result, failed = run_module(agent_access.main, args)
    assert not failed, result.get("msg")
    to_write = sum(1 for d in want.values() if d != "hold")
    assert result["changed"] is True and result["applied"] == to_write and result["pending"] == 0
    assert sum(b["rows"] for b in result["batches"]) == to_write
    assert sum(b["agents"] for b in result["batches"]) == to_write
    assert [b["decision"] for b in result["batches"]] == sorted(b["decision"] for b in result["batches"])  # approve first
    assert all(b["agents"] <= 10 for b in result["batches"]) and result["batches"][0]["key"] == "approve-0001"
    assert result["cmdb_requests"]["rows_written"] == to_write
    found = statuses(path)
    for key, decision in want.items():
        assert found[key] == {"approve": APPROVED, "block": BLOCKED, "hold": PENDING}[decision]
    assert sorted(w[0] for w in writes(path)) == sorted(k for k, d in want.items() if d != "hold")
    journal = [json.loads(line) for line in open(args["journal"])]
    assert journal[0]["event"] == "begin" and journal[-1]["event"] == "finished"
    assert sum(1 for r in journal if r["event"] == "batch_committed") == len(result["batches"])

    before = read_bytes(path)
    again, failed = run_module(agent_access.main, dict(args, _ansible_diff=True))
    assert not failed and again["changed"] is False and again["applied"] == 0 and again["batches"] == []
    assert (again["approve"], again["block"], again["hold"]) == (0, result["block"], result["hold"])  # approved: not read
    assert read_bytes(path) == before and len(writes(path)) == to_write
    assert again["diff"]["before"] == again["diff"]["after"]


def test_max_approvals_refuses_before_any_write(run_module, args, rolled):
    path, plan = rolled
    approvals = sum(1 for d in expected(plan).values() if d == "approve")
    before = read_bytes(path)
    for extra in ({}, dict(_ansible_check_mode=True)):
        result, failed = run_module(agent_access.main, dict(args, max_approvals=approvals - 1, **extra))
        assert failed and result["error_kind"] == "input"
        assert "approves %d agents, more than max_approvals %d; nothing was written" % (approvals, approvals - 1) \
            in result["msg"]
        assert result["would_approve"] == approvals and len(result["first_approvals"]) == 20
        assert all(name.split(" (")[0] in result["msg"] for name in result["first_approvals"])
    assert read_bytes(path) == before and not os.path.exists(args["journal"])
    result, failed = run_module(agent_access.main, dict(args, max_approvals=approvals))
    assert not failed and result["applied"] == approvals + ROGUES - REUSED


def test_apply_block_only_writes_the_blocks(run_module, args, rolled):
    path, plan = rolled
    result, failed = run_module(agent_access.main, dict(args, apply=["block"], max_approvals=0))
    assert not failed and result["applied"] == ROGUES - REUSED
    assert set(w[2] for w in writes(path)) == {BLOCKED}


def test_a_dropped_connection_then_a_rerun_applies_every_decision_once(run_module, args, rolled):
    """The lab's fault trigger aborts the 26th status change: batches 1-2 (10 each) commit, the third rolls back."""
    path, plan = rolled
    want = expected(plan)
    rollback.set_fault(path, 25)
    result, failed = run_module(agent_access.main, args)
    assert failed and result["error_kind"] == "transport"
    assert "lab fault: the CMDB connection dropped" in result["msg"]
    assert result["committed_batches"] == 2 and result["failed_batch"] == "approve-0003"
    assert [b["rows"] for b in result["batches"]] == [10, 10]
    assert len(writes(path)) == 20
    rollback.clear_fault(path)
    journal, store = read_bytes(args["journal"]), read_bytes(path)
    checked, failed = run_module(agent_access.main, dict(args, _ansible_check_mode=True))
    assert not failed and checked["pending"] == sum(1 for d in want.values() if d != "hold") - 20
    assert read_bytes(args["journal"]) == journal and read_bytes(path) == store  # check mode: not even the journal
    again, failed = run_module(agent_access.main, args)
    assert not failed, again.get("msg")
    to_write = sum(1 for d in want.values() if d != "hold")
    assert again["applied"] == to_write - 20 and again["changed"] is True
    done = writes(path)
    assert len(done) == to_write and len(set(w[0] for w in done)) == to_write  # each decision written once
    third, failed = run_module(agent_access.main, args)
    assert not failed and third["changed"] is False and len(writes(path)) == to_write


class DropAfterCommit:
    """A CMDB client whose connection drops right after the k-th COMMIT, before the journal hears of it."""

    def __init__(self, client, commits):
        self.client = client
        self.commits = commits

    def __getattr__(self, name):
        return getattr(self.client, name)

    def write_batches(self, batches, on_batch=None):
        seen = []

        def hook(key, rows):
            seen.append(key)
            if len(seen) == self.commits:
                raise TransportError("The CMDB connection dropped after batch %s." % key)
            on_batch(key, rows)

        return self.client.write_batches(batches, hook)


def test_a_batch_committed_but_not_journaled_is_confirmed_not_written_again(run_module, args, rolled, monkeypatch):
    path, plan = rolled
    real = _cmdb_args.connect
    monkeypatch.setattr(_cmdb_args, "connect", lambda params: DropAfterCommit(real(params), 3))
    result, failed = run_module(agent_access.main, args)
    assert failed and "dropped after batch approve-0003" in result["msg"]
    assert len(writes(path)) == 30 and len(result["batches"]) == 2
    monkeypatch.setattr(_cmdb_args, "connect", real)
    again, failed = run_module(agent_access.main, args)
    assert not failed, again.get("msg")
    to_write = sum(1 for d in expected(plan).values() if d != "hold")
    # The third batch is approved in the store, so the rerun does not read it as pending: nothing is written twice.
    assert len(writes(path)) == to_write and len(set(w[0] for w in writes(path))) == to_write
    assert again["applied"] == to_write - 30


def test_named_agents_approve_and_block(run_module, args, rolled):
    path, plan = rolled
    reused = set(r["name"].lower() for r in plan["rogues"] if r["reused_name"])
    legit = [e for e in plan["access"] if e["legitimate"] and e["name"].lower() not in reused][:2]
    rogue = [r for r in plan["rogues"] if not r["reused_name"]][0]
    base = dict(cmdb_url=args["cmdb_url"], cmdb_profile=args["cmdb_profile"], journal=args["journal"])
    named = ["CORP\\" + legit[0]["name"].lower(), legit[1]["guid"].upper()]
    result, failed = run_module(agent_access.main, dict(base, state="approved", agents=named, _ansible_diff=True))
    assert not failed, result.get("msg")
    assert result["changed"] is True and result["applied"] == 2 and result["approve"] == 2
    assert sorted(e["id"] for e in result["plan"]) == sorted(e["id"] for e in legit)
    assert all(e["rule"] == "named" and "pending -> approved" in e["reason"] for e in result["plan"])
    found = statuses(path)
    assert [found[e["id"]] for e in legit] == [APPROVED, APPROVED]
    assert "pending" in result["diff"]["before"] and ": approved" in result["diff"]["after"]
    again, failed = run_module(agent_access.main, dict(base, state="approved", agents=named))
    assert not failed and again["changed"] is False and "already approved" in again["plan"][0]["reason"]
    blocked, failed = run_module(agent_access.main, dict(base, state="blocked", agents=[rogue["name"]]))
    assert not failed and blocked["applied"] == 1 and statuses(path)[blocked["plan"][0]["id"]] == BLOCKED
    assert len(writes(path)) == 3


def test_unknown_names_fail_with_near_matches_and_nothing_written(run_module, args, rolled):
    path, plan = rolled
    legit = [e for e in plan["access"] if e["legitimate"]][0]
    typo = legit["name"][:-1] + ("0" if legit["name"][-1] != "0" else "1")
    before = read_bytes(path)
    result, failed = run_module(agent_access.main, dict(cmdb_url=args["cmdb_url"], cmdb_profile=args["cmdb_profile"],
                                                        state="approved", agents=[legit["name"], typo, "nosuchpc"]))
    assert failed and result["error_kind"] == "input"
    assert result["msg"].startswith("2 of the agents named are not in the access store: %s (near: " % typo)
    assert legit["name"].lower() in result["msg"] and "nosuchpc" in result["msg"]
    assert result["unknown"] == [typo, "nosuchpc"]
    assert read_bytes(path) == before


def test_a_name_shared_by_two_guids_is_not_approved_by_name(run_module, args, rolled):
    path, plan = rolled
    shared = [r for r in plan["rogues"] if r["reused_name"]][0]
    base = dict(cmdb_url=args["cmdb_url"], cmdb_profile=args["cmdb_profile"], agents=[shared["name"]])
    result, failed = run_module(agent_access.main, dict(base, state="approved"))
    assert failed and "Name the agent to approve by its GUID" in result["msg"] and shared["guid"] in result["msg"]
    blocked, failed = run_module(agent_access.main, dict(base, state="blocked"))
    assert not failed and blocked["applied"] == 2  # blocking a name blocks every agent that presents it


def test_an_administrator_block_is_not_lifted_by_evidence(run_module, args, rolled):
    path, plan = rolled
    legit = [e for e in plan["access"] if e["legitimate"] and expected(plan)[e["id"]] == "approve"][0]
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE Lab_CEM_Agent_Access SET Status = ? WHERE Id = ?", (BLOCKED, legit["id"]))
    conn.close()
    result, failed = run_module(agent_access.main, dict(args, _ansible_check_mode=True))
    entry = [e for e in result["plan"] if e["id"] == legit["id"]][0]
    assert not failed and entry["decision"] == "hold" and entry["rule"] == "administrator_block"
    assert "guid_match" not in entry["reason"] and "an administrator blocked this agent" in entry["reason"]


def test_gateway_filter(run_module, args, rolled):
    path, plan = rolled
    gateway = plan["access"][0]["gateway"]
    result, failed = run_module(agent_access.main, dict(args, gateway=gateway.upper(), _ansible_check_mode=True))
    assert not failed and len(result["plan"]) == sum(1 for e in plan["access"] if e["gateway"] == gateway)
    assert set(e["reported_by"] for e in result["plan"]) == {gateway}


def test_without_a_profile_mapping_the_message_says_what_to_map(run_module, args, rolled):
    result, failed = run_module(agent_access.main, dict(args, cmdb_profile=None))
    assert failed and result["error_kind"] == "profile_mismatch"
    assert "does not map the access store (tables.agent_access)" in result["msg"]
    assert "Extended Events" in result["msg"]


def test_without_access_write_a_run_fails_before_any_write(run_module, args, rolled, lab_profile_path):
    path, plan = rolled
    with open(lab_profile_path) as handle:
        profile = yaml.safe_load(handle)
    profile.pop("access")
    before = read_bytes(path)
    checked, failed = run_module(agent_access.main, dict(args, cmdb_profile=profile, _ansible_check_mode=True))
    assert not failed and checked["pending"] > 0  # the plan needs no write definition
    result, failed = run_module(agent_access.main, dict(args, cmdb_profile=profile))
    assert failed and result["error_kind"] == "profile_mismatch" and "access.write" in result["msg"]
    assert read_bytes(path) == before


def test_argument_errors(run_module, args):
    result, failed = run_module(agent_access.main, dict(args, max_approvals=-1))
    assert failed and "max_approvals is -1" in result["msg"]
    result, failed = run_module(agent_access.main, dict(args, state="approved"))
    assert failed and "mutually exclusive" in result["msg"]
    result, failed = run_module(agent_access.main, dict(cmdb_url=args["cmdb_url"], state="approved", agents=[]))
    assert failed and "needs the agents" in result["msg"]
    result, failed = run_module(agent_access.main, dict(args, evidence=dict(reports=["/nonexistent/r.json"])))
    assert failed and "Cannot read the evidence file /nonexistent/r.json" in result["msg"]


def test_diff_is_capped_with_a_note():
    plan = [dict(id=i, agent_name="PC%03d" % i, agent_guid=None, reported_by="gw", status="pending",
                 decision="approve") for i in range(7)]
    diff = _access_report.diff(plan, plan, max_lines=5)
    after = diff["after"].splitlines()
    assert after[0] == "# agents: approved 7"
    assert after[1] == "PC000 (no GUID, reported by gw) id 0: approved"
    assert len(after) == 7 and after[-1].startswith("# ... and 2 more changes not shown (the first 5 are)")
    assert diff["before"].splitlines()[1] == "PC000 (no GUID, reported by gw) id 0: pending"


def test_without_evidence_every_agent_is_held_and_nothing_written(run_module, args, rolled):
    path, plan = rolled
    before = read_bytes(path)
    result, failed = run_module(agent_access.main, dict(args, evidence=None))
    assert not failed and result["changed"] is False and result["applied"] == 0
    assert (result["approve"], result["block"], result["hold"]) == (0, 0, len(plan["access"]))
    assert result["rules"] == {"no_evidence": len(plan["access"]) - 2 * REUSED, "duplicate_name": 2 * REUSED}
    assert read_bytes(path) == before


def test_exports_names_and_allow_patterns(run_module, args, rolled, tmp_path):
    """Evidence options other than reports reach the decision core through the argument spec."""
    path, plan = rolled
    reused = set(r["name"].lower() for r in plan["rogues"] if r["reused_name"])
    legit = [e for e in plan["access"] if e["legitimate"] and e["name"].lower() not in reused]
    export = tmp_path / "sepm.csv"
    export.write_text("Host;Agent ID\n" + "".join("%s;{%s}\n" % (e["name"], e["guid"].upper()) for e in legit[:5]))
    names = tmp_path / "ad.txt"
    names.write_text("# AD\n%s\n" % legit[5]["name"])
    evidence = dict(exports=[dict(path=str(export), name_column="Host", guid_column="Agent ID", label="SEPM")],
                    name_files=[dict(path=str(names), label="AD")], names=[dict(label="CMDB list", names=[legit[6]["name"]])],
                    allow=["NOPE-*"], deny=[plan["rogues"][0]["guid"]])
    result, failed = run_module(agent_access.main, dict(args, evidence=evidence, _ansible_check_mode=True))
    assert not failed, result.get("msg")
    decided = dict((e["id"], e) for e in result["plan"])
    assert [decided[e["id"]]["rule"] for e in legit[:7]] == ["guid_match"] * 5 + ["name_match"] * 2
    assert "SEPM (sepm.csv)" in decided[legit[0]["id"]]["reason"] and "AD (ad.txt)" in decided[legit[5]["id"]]["reason"]
    assert result["approve"] == 7 and result["block"] == 1
    assert [s["source"] for s in result["evidence"]] == ["SEPM (sepm.csv)", "AD (ad.txt)", "CMDB list"]


def test_the_documented_rules_are_the_rules():
    from ansible_collections.itms.cem.plugins.module_utils._access_decide import RULES

    documented = yaml.safe_load(agent_access.RETURN)["plan"]["contains"]["rule"]["description"][0]
    assert re.findall(r"C\((\w+)\)", documented) == list(RULES) + ["administrator_block", "named"]
